"""The safety state machine of issue 10: guide edits, tracker edits and runs in random order, with
the safety rules checked after every step against the guide files on disk and the fake's issues.

The machine (:class:`SafetyMachine`, a hypothesis ``RuleBasedStateMachine``) runs the real
guidesync commands with the real PyGithub / python-gitlab clients over HTTP against the fake
forges of ``tests/fakes``. Every task it writes carries a unique token ("Task t17 ..."), and every
guide a unique id in its title ("g3"), so the checks below never need guidesync's own reading of
the guides:

``closed-while-task-exists/*``
    guidesync closed an issue while its task exists in some guide (allowed only: the task links
    that very issue and its box is checked, and the issue was closed as completed).
``closed-person-issue``
    guidesync closed an issue a person made that no task ever linked.
``person-issue-rewritten``
    guidesync changed the title or body of an issue without its marker (made by a person).
``box-checked/*``
    guidesync checked a box although the task's issue was not closed as completed by a person
    after the base last saw it open (on GitLab: an issue guidesync itself closed, e.g. as removed,
    must never check a box later).
``duplicate-open``
    two open issues made by guidesync for one task.
``linked-foreign-issue``
    guidesync wrote a link to an issue made for another task (or a person's issue) into a task.
``settle/*``
    after a settling ``sync`` an unchecked task is not linked to exactly one open issue of its own.
``milestone-takeover``
    guidesync renamed the milestone of one guide to the title of another guide.
``exit-1``, ``exit-2``, ``fatal``, ``crash``, ``guard-wrote``, ``guide-bytes``
    a run failed without a cause in the input, refused the input, crashed, a guard stop wrote
    something, or a run changed bytes of a guide outside boxes and links.

Documented behaviour is not a violation: a task whose issue a person deleted keeps its link and
gets no new issue; an issue a person closed as not planned leaves its box alone; a link to another
host is "not an issue of this repository" and its task is left alone (its *old* issue must still
not be closed); an issue of a deleted task that a person reopened is the person's (no duplicate).
A run that stops on a guard (exit 3) is fine; the settling sync confirms it with ``--force``, as
the person who made the edit would. The hooks for later options: ``config`` (merged into the
configuration of every schedule) and ``skip`` (rule names never drawn).

Running it: ``tests/test_safety_machine.py`` (both forges, a bounded budget) and, for longer
campaigns and one minimal schedule per kind of violation, ``python -m tests.safety_model``
(``--help``); ``python -m tests.safety_model --replay [NAME ...]`` replays the hand-minimised
schedules in :data:`SCHEDULES` (one per violation found on the code this was written against)
and prints what each still breaks. Environment variables:

``GUIDESYNC_MACHINE_EXAMPLES`` (schedules per forge), ``GUIDESYNC_MACHINE_STEPS`` (steps per
schedule), ``GUIDESYNC_MACHINE_SEED`` (seed; default: derandomized), ``GUIDESYNC_MACHINE_SHRINK_SECONDS``
(shrinking budget per forge), ``GUIDESYNC_MACHINE_ONLY`` (comma-separated kinds, prefix match:
only those fail the test, the others are recorded), ``GUIDESYNC_MACHINE_SKIP`` (comma-separated
rule names never drawn), ``GUIDESYNC_MACHINE_CONFIG`` (JSON merged into config/guidesync.yaml,
e.g. ``{"on_removed": "keep"}``; the seam for options like ``import_issues`` or ``sub_issues``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from hypothesis import HealthCheck, Phase, Verbosity, settings as Settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule, run_state_machine_as_test

from guidesync import commands
from guidesync.core.base import loads
from guidesync.sync import Fatal, RunResult
from tests.campaign import Ops

# ------------------------------------------------------------------------------ settings

ENV_EXAMPLES = "GUIDESYNC_MACHINE_EXAMPLES"
ENV_STEPS = "GUIDESYNC_MACHINE_STEPS"
ENV_SEED = "GUIDESYNC_MACHINE_SEED"
ENV_SHRINK = "GUIDESYNC_MACHINE_SHRINK_SECONDS"
ENV_ONLY = "GUIDESYNC_MACHINE_ONLY"
ENV_SKIP = "GUIDESYNC_MACHINE_SKIP"
ENV_CONFIG = "GUIDESYNC_MACHINE_CONFIG"

DEFAULT_EXAMPLES = 25
DEFAULT_STEPS = 18
DEFAULT_SHRINK_SECONDS = 15


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def env_list(name: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in os.environ.get(name, "").split(",") if x.strip())


def env_config() -> dict[str, Any]:
    raw = os.environ.get(ENV_CONFIG, "").strip()
    return dict(json.loads(raw)) if raw else {}


def machine_settings(examples: int | None = None, steps: int | None = None, seed: int | None = None,
                     shrink: bool = True, verbose: bool = False) -> Settings:
    """Bounded, database-free, reproducible: derandomized unless a seed is given (then the
    caller wraps the test with ``hypothesis.seed``)."""
    phases = [Phase.explicit, Phase.generate] + ([Phase.shrink] if shrink else [])
    return Settings(
        max_examples=examples if examples is not None else env_int(ENV_EXAMPLES, DEFAULT_EXAMPLES),
        stateful_step_count=steps if steps is not None else env_int(ENV_STEPS, DEFAULT_STEPS),
        deadline=None,
        database=None,
        derandomize=seed is None,
        phases=phases,
        suppress_health_check=list(HealthCheck),
        print_blob=False,
        verbosity=Verbosity.verbose if verbose else Verbosity.normal,
    )


# ------------------------------------------------------------------------------ violations


class SafetyViolation(AssertionError):
    """A safety rule broken. One subclass per kind, so hypothesis keeps and shrinks each kind
    of violation as a distinct bug."""

    kind = "?"


_KINDS: dict[str, type[SafetyViolation]] = {}


def violation_type(kind: str) -> type[SafetyViolation]:
    if kind not in _KINDS:
        name = "Violation_" + re.sub(r"\W+", "_", kind).strip("_")
        _KINDS[kind] = type(name, (SafetyViolation,), {"kind": kind, "__module__": __name__})
    return _KINDS[kind]


@dataclass
class Found:
    kind: str
    message: str
    schedule: list[str]
    forge: str
    count: int = 1


@dataclass
class Stats:
    """Shared by every schedule of one campaign (or one pytest test)."""

    forge: str = ""
    schedules: int = 0
    steps: int = 0
    rules: Counter = field(default_factory=Counter)
    runs: Counter = field(default_factory=Counter)
    exit_codes: Counter = field(default_factory=Counter)
    violations: dict[str, Found] = field(default_factory=dict)  # kind -> the shortest schedule seen
    seconds: float = 0.0

    def record(self, kind: str, message: str, schedule: list[str]) -> None:
        old = self.violations.get(kind)
        if old is None:
            self.violations[kind] = Found(kind, message, list(schedule), self.forge)
            return
        old.count += 1
        if len(schedule) < len(old.schedule):
            old.message, old.schedule = message, list(schedule)

    def summary(self) -> str:
        def fmt(c: Counter) -> str:
            return ", ".join(f"{k} {v}" for k, v in sorted(c.items(), key=lambda kv: str(kv[0]))) or "none"

        lines = [
            f"safety machine [{self.forge}]: {self.schedules} schedules, {self.steps} steps, "
            f"{sum(self.runs.values())} guidesync runs, {self.seconds:.1f} s",
            f"  rules: {fmt(self.rules)}",
            f"  runs: {fmt(self.runs)}; exit codes: {fmt(self.exit_codes)}",
            f"  violations (kind: occurrences): {fmt(Counter({k: f.count for k, f in self.violations.items()}))}",
        ]
        return "\n".join(lines)

    def report(self) -> str:
        out = []
        for kind, f in sorted(self.violations.items()):
            out.append(f"[{f.forge}] {kind} ({f.count}x), shortest schedule ({len(f.schedule)} steps):")
            out += [f"  {i:3d}. {s}" for i, s in enumerate(f.schedule)]
            out.append("  -> " + f.message.replace("\n", "\n     "))
        return "\n".join(out)


# ------------------------------------------------------------------------------ guide model

WORDS = ("cache", "cart", "totals", "index", "orders", "retry", "billing", "audit", "export", "search",
         "login", "queue", "report", "upload")
NAMES = ("Alpha", "Beta", "Gamma", "Delta", "Epsilon", "Zeta")
TOKEN = re.compile(r"\bTask t(\d+)\b")
GID = re.compile(r"\bg(\d+)\b")
TASK_LINE = re.compile(
    r"^(?: {2})?- (?:\[(?P<box>[ xX])\] )?(?P<text>Task t(?P<tok>\d+)(?: [a-z]+)*)"
    r"(?P<link> \(\[#(?P<num>\d+)\]\((?P<url>[^()\s]+)\)\))?$"
)


@dataclass
class TaskModel:
    token: int
    words: str
    checked: bool = False
    has_box: bool = True
    link: str | None = None  # " ([#12](https://...))" exactly as on disk
    depth: int = 0  # 1: a nested item under the task before it (with ``sub_issues: true``, a sub-issue)

    @property
    def text(self) -> str:
        return f"Task t{self.token} {self.words}"

    def line(self) -> str:
        box = ("[x] " if self.checked else "[ ] ") if self.has_box else ""
        return f"{'  ' * self.depth}- {box}{self.text}{self.link or ''}"

    @property
    def link_number(self) -> int | None:
        m = re.match(r" \(\[#(\d+)\]\(([^()\s]+)\)\)$", self.link or "")
        return int(m.group(1)) if m else None

    @property
    def link_url(self) -> str | None:
        m = re.match(r" \(\[#(\d+)\]\(([^()\s]+)\)\)$", self.link or "")
        return m.group(2) if m else None


@dataclass
class MilestoneModel:
    number: int
    name: str
    tasks: list[TaskModel] = field(default_factory=list)


@dataclass
class GuideModel:
    gid: int
    path: str  # relative to the workspace root
    kind: str  # "phase" | "impl"
    number: int  # the phase number (phase guides)
    name: str
    milestones: list[MilestoneModel] = field(default_factory=list)

    def milestone_title(self, ms: MilestoneModel) -> str:
        if self.kind == "phase":
            return f"Phase {self.number}: {self.name} g{self.gid}"
        return f"Feature g{self.gid} - Milestone {ms.number}: {ms.name}"

    def render(self) -> str:
        if self.kind == "phase":
            ms = self.milestones[0]
            lines = [f"# Phase {self.number}: {self.name} g{self.gid} - Detailed Implementation Guide", "",
                     "## Overview", "", f"Work package of guide g{self.gid}.", "", "## Deliverables Checklist", ""]
            lines += [t.line() for t in ms.tasks]
            lines += ["", "## Notes", "", "Nothing else here.", ""]
            return "\n".join(lines)
        lines = [f"# Implementation Guide: Feature g{self.gid}", "", "## Overview", "",
                 f"The feature of guide g{self.gid}.", "", "## Implementation Milestones", ""]
        for ms in self.milestones:
            lines += [f"### Milestone {ms.number}: {ms.name}", f"**Goal**: The goal of milestone {ms.number}.", "",
                      "**Changes Required**:", ""]
            lines += [t.line() for t in ms.tasks]
            lines += ["", "**Verification**:", f"Check milestone {ms.number}.", "", "---", ""]
        lines += ["## Testing Strategy", "", "Unit tests.", ""]
        return "\n".join(lines)

    def tasks(self) -> list[tuple[MilestoneModel, TaskModel]]:
        return [(ms, t) for ms in self.milestones for t in ms.tasks]

    def find(self, token: int) -> tuple[MilestoneModel, int] | None:
        for ms in self.milestones:
            for i, t in enumerate(ms.tasks):
                if t.token == token:
                    return ms, i
        return None


@dataclass
class Buried:
    """A deleted task, as it was when deleted (for re-adding it)."""

    task: TaskModel
    gid: int
    milestone: int  # MilestoneModel.number
    index: int


# ------------------------------------------------------------------------------ the forge


class Tracker(Ops):
    """The fake forge seen one way, and a person's hands on it (no HTTP: the direct state API);
    the campaign's view of the issues, milestones named by title."""

    def issues(self) -> dict[int, dict[str, Any]]:
        """{n: {state (open/completed/not_planned), title, body, url, milestone (title), labels}}."""
        return {n: {"state": i["state"], "title": i["title"], "body": i["body"], "url": i["url"],
                    "milestone": i["milestone_title"], "labels": i["labels"]}
                for n, i in super().issues().items()}

    def milestones(self) -> dict[int, str]:
        return {n: m["title"] for n, m in self.server.milestones(self.repo).items()}

    def issue_url(self, n: int) -> str:
        web = self.server.root_url
        return f"{web}/{self.repo}/issues/{n}" if self.github else f"{web}/{self.repo}/-/issues/{n}"

    def create(self, title: str, body: str, labels: list[str]) -> int:
        return self.server.create_issue(self.repo, title, body, labels=labels)

    def close(self, n: int, not_planned: bool = False) -> None:
        if self.github:
            self.server.close_issue(self.repo, n, reason="not_planned" if not_planned else "completed")
        else:
            self.server.close_issue(self.repo, n)

    def reopen(self, n: int) -> None:
        self.server.reopen_issue(self.repo, n)

    def retitle(self, n: int, title: str) -> None:
        self.server.edit_issue(self.repo, n, title=title)

    def set_body(self, n: int, body: str) -> None:
        if self.github:
            self.server.edit_issue(self.repo, n, body=body)
        else:
            self.server.edit_issue(self.repo, n, description=body)

    def delete(self, n: int) -> None:
        self.server.delete_issue(self.repo, n)

    def tick(self, seconds: float) -> None:
        self.server.clock.tick(seconds)


# ------------------------------------------------------------------------------ workspaces


def standalone_workspace_factory(tmp: Path) -> tuple[Callable[..., Any], Callable[[], list[str]]]:
    """A make_workspace look-alike for runs outside pytest (``python -m tests.safety_model``):
    returns (make, finish); ``finish`` stops the servers and validates every GitHub request
    against the OpenAPI description, like the fixture does."""
    from tests.conftest import GitHubForge, GitLabForge, Workspace

    made: list[Any] = []

    def make(forge: str = "github", guides: tuple[str, ...] = (), **kw: Any):
        root = tmp / f"ws{len(made)}"
        (root / "guides").mkdir(parents=True)
        ws = Workspace(root, GitHubForge(**kw) if forge == "github" else GitLabForge(**kw))
        ws.write_config()
        made.append(ws)
        return ws

    def finish() -> list[str]:
        errors: list[str] = []
        for ws in made:
            ws.forge.server.stop()
        for ws in made:
            if ws.forge.name == "github":
                from tests.openapi_github import validate_log

                errors += validate_log(ws.forge.server.log, prefix=getattr(ws.forge.server, "prefix", "") or "")
            shutil.rmtree(ws.root, ignore_errors=True)
        made.clear()
        return errors

    return make, finish


# ------------------------------------------------------------------------------ the machine


@dataclass
class RunInfo:
    code: int | str
    text: str
    wrote: int
    changed: list[str]


def _words(data: st.DataObject, label: str = "words") -> str:
    return " ".join(data.draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=3), label=label))


def counted(fn: Callable[..., None]) -> Callable[..., None]:
    """Count the rule in the campaign's totals (steps, and steps by rule)."""
    import functools

    @functools.wraps(fn)
    def wrapper(self: "SafetyMachine", *args: Any, **kwargs: Any) -> None:
        self.stats.steps += 1
        self.stats.rules[fn.__name__] += 1
        self.busy = True  # still set if the rule did not finish (hypothesis may stop a draw half-way)
        fn(self, *args, **kwargs)
        self.busy = False

    return wrapper


def _key(x: Any) -> Any:
    if isinstance(x, GuideModel):
        return x.path
    if isinstance(x, MilestoneModel):
        return f"milestone {x.number}"
    if isinstance(x, Buried):
        return f"t{x.task.token}"
    if isinstance(x, tuple) and len(x) == 3 and isinstance(x[2], TaskModel):
        return f"t{x[2].token}"
    return x


def _on(name: str) -> Callable[[Any], bool]:
    return lambda self: name not in self.skip


class SafetyMachine(RuleBasedStateMachine):
    """One schedule: a fresh workspace and fake forge, two guides pushed, then random steps."""

    def __init__(self, forge: str, make_workspace: Callable[..., Any], stats: Stats,
                 config: dict[str, Any] | None = None, only: tuple[str, ...] = (), skip: tuple[str, ...] = (),
                 survey: bool = False):
        super().__init__()
        self.forge_name = forge
        self.make_workspace = make_workspace
        self.stats = stats
        self.config = dict(config or {})
        self.only = only
        self.skip = frozenset(skip)
        self.survey = survey
        #: ``sub_issues: true``: nested items in the guides, and the rules that nest and un-nest them
        self.sub_issues = bool(self.config.get("sub_issues"))
        self.ws: Any = None
        self.failed = False
        self.busy = False
        self.log: list[str] = []
        self.guides: dict[int, GuideModel] = {}
        self.graveyard: dict[int, Buried] = {}
        self.freed: dict[str, GuideModel] = {}  # path -> the guide that last held it (deleted or moved away)
        self.next_token = 1
        self.next_gid = 1
        self.next_path = 1
        self.uid = 0
        # what the checks remember
        self.owner: dict[int, int] = {}  # issue -> token it was created for (by guidesync)
        self.person: dict[int, tuple[str, str]] = {}  # person's issue -> (title, body) it must keep
        self.person_linked_by: dict[int, int] = {}  # person's issue -> last token whose line linked it
        self.last_close: dict[int, tuple[str, str, int]] = {}  # issue -> (who, reason, step)
        self.person_deleted: set[int] = set()
        self.base_open_since: dict[int, int] = {}  # issue -> first step after which the base had it open
        self.ms_gid: dict[int, int] = {}  # milestone number -> the guide whose title it first had
        self.reopened_orphans: set[int] = set()  # reopened by a person while their task was gone: theirs now

    # -- plumbing ------------------------------------------------------------------------

    @property
    def step_no(self) -> int:
        return len(self.log)

    def note(self, text: str) -> None:
        self.log.append(text)

    def violation(self, kind: str, message: str) -> None:
        self.stats.record(kind, message, self.log)
        armed = not self.survey and (not self.only or any(kind.startswith(o) for o in self.only))
        if armed:
            self.failed = True
            schedule = "\n".join(f"  {i:2d}. {s}" for i, s in enumerate(self.log))
            raise violation_type(kind)(f"[{self.forge_name}] {kind}: {message}\nschedule:\n{schedule}")

    def file(self, path: str) -> Path:
        return self.ws.root / path

    def write_guide(self, g: GuideModel) -> None:
        self.file(g.path).write_bytes(g.render().encode("utf-8"))

    def read_back(self) -> None:
        """Take guidesync's boxes and links from disk into the model; any other byte that differs
        from the model is a violation (guidesync owns only boxes and links)."""
        for g in self.guides.values():
            p = self.file(g.path)
            if not p.exists():
                self.violation("guide-bytes", f"{g.path} vanished")
                continue
            text = p.read_bytes().decode("utf-8")
            by_token: dict[int, re.Match[str]] = {}
            for line in text.split("\n"):
                m = TASK_LINE.match(line)
                if m:
                    by_token[int(m["tok"])] = m
            for _ms, t in g.tasks():
                m = by_token.get(t.token)
                if m is None:
                    continue
                t.has_box = m["box"] is not None
                t.checked = (m["box"] or " ") in "xX"
                t.link = m["link"]
            if g.render() != text:
                import difflib

                diff = "".join(difflib.unified_diff(g.render().splitlines(True), text.splitlines(True), "model", "disk"))
                self.violation("guide-bytes", f"{g.path} differs outside boxes and links:\n{diff[:2000]}")
                # go on from what is on disk
                for ms in g.milestones:
                    ms.tasks = [t for t in ms.tasks if t.token in by_token]

    def tasks_on_disk(self) -> dict[int, tuple[GuideModel, MilestoneModel, TaskModel]]:
        return {t.token: (g, ms, t) for g in self.guides.values() for ms, t in g.tasks()}

    def pick(self, data: st.DataObject, items: list[Any], label: str) -> Any:
        """One of ``items``, drawn by a short key (so hypothesis prints "t3", not the model)."""
        keys = [_key(x) for x in items]
        return items[keys.index(data.draw(st.sampled_from(keys), label=label))]

    def new_task(self, data: st.DataObject, box: str | None = None) -> TaskModel:
        tok = self.next_token
        self.next_token += 1
        box = box or data.draw(st.sampled_from(["[ ]", "[ ]", "[x]", "plain"]), label="box")
        return TaskModel(tok, _words(data), checked=box == "[x]", has_box=box != "plain")

    def fresh_path(self, kind: str) -> str:
        while True:
            path = f"guides/{'phase' if kind == 'phase' else 'feature'}-{self.next_path}.md"
            self.next_path += 1
            if path not in self.freed and not any(g.path == path for g in self.guides.values()):
                return path

    def new_guide_model(self, path: str, kind: str, number: int, tasks: list[list[TaskModel]]) -> GuideModel:
        gid = self.next_gid
        self.next_gid += 1
        if kind == "phase":
            mss = [MilestoneModel(1, "Checklist", tasks[0])]
        else:
            mss = [MilestoneModel(i + 1, NAMES[(gid + i) % len(NAMES)], ts) for i, ts in enumerate(tasks)]
        return GuideModel(gid, path, kind, number, NAMES[gid % len(NAMES)], mss)

    # -- runs and the checks after them -----------------------------------------------------

    def files(self) -> dict[str, bytes | None]:
        out: dict[str, bytes | None] = {}
        for p in sorted((self.ws.root / "guides").rglob("*.md")):
            out[p.relative_to(self.ws.root).as_posix()] = p.read_bytes()
        return out

    def run(self, mode: str, paths: tuple[str, ...] = (), *, force: bool = False, hours: int = 0,
            full: bool = False, label: str | None = None) -> RunInfo:
        tr = self.tracker
        if hours:
            tr.tick(hours * 3600)
        self.read_back()
        self.note_person_links()
        before = tr.issues()
        before_tasks = {k: (v[2].checked, v[2].link_number, v[2].link_url) for k, v in self.tasks_on_disk().items()}
        before_files = self.files()
        writes0 = tr.server.counts()["writes"]
        errors0 = len(tr.server.errors)
        code: int | str
        text = ""
        result: RunResult | None = None
        try:
            out = self.ws.run(mode, *[str(self.file(p)) for p in paths], force=force, full=full)
            code, text = out.code, out.text
            if isinstance(out.data, RunResult):
                result = out.data
        except commands.ERRORS as exc:
            code, text = 2, str(exc)
        except Fatal as exc:
            code, text = "fatal", str(exc)
        except Exception:  # noqa: BLE001 - a crash is a finding like any other
            code, text = "crash", traceback.format_exc()
        after = tr.issues()
        wrote = tr.server.counts()["writes"] - writes0
        after_files = self.files()
        changed = [k for k in sorted(set(before_files) | set(after_files)) if before_files.get(k) != after_files.get(k)]
        self.stats.runs[mode + (" <guide>" if paths else "")] += 1
        self.stats.exit_codes[code] += 1
        events = []
        if result is not None:
            for e in result.events:
                if e.action in ("created", "closed", "reopened", "checked", "unchecked", "updated", "linked"):
                    events.append(f"{e.action} #{e.issue}" + (f" [{e.detail.replace('_', ' ')}]" if e.detail else ""))
        flags = (" --force" if force else "") + (" --full" if full else "")
        where = " " + " ".join(paths) if paths else ""
        self.note(f"{label or 'run'}: {mode}{where}{flags}" + (f" (clock +{hours} h)" if hours else "")
                  + f" -> exit {code}" + (f": {', '.join(events)}" if events else ""))
        self.read_back()
        self.check_run(mode, paths, code, text, result, before, after, before_tasks, wrote, changed, errors0)
        return RunInfo(code, text, wrote, changed)

    def check_run(self, mode: str, paths: tuple[str, ...], code: int | str, text: str, result: RunResult | None,
                  before: dict[int, dict[str, Any]], after: dict[int, dict[str, Any]],
                  before_tasks: dict[int, tuple[bool, int | None, str | None]], wrote: int, changed: list[str],
                  errors0: int) -> None:
        tr = self.tracker
        step = self.step_no - 1
        disk = self.tasks_on_disk()
        # -- who made what: new issues belong to the task named in their title
        for n, i in after.items():
            if n in before or n in self.person or n in self.owner:
                continue
            m = TOKEN.search(i["title"])
            if m is None:
                self.violation("created-without-token", f"guidesync created #{n} {i['title']!r}, no task token in it")
                continue
            self.owner[n] = int(m.group(1))
        closed_now = {n for n, i in after.items() if i["state"] != "open" and (n not in before or before[n]["state"] == "open")}
        for n in closed_now:
            self.last_close[n] = ("guidesync", after[n]["state"], step)
        # -- exit codes
        if code == 2:
            self.violation("exit-2", f"a run refused input this step did not make invalid:\n{text[:1500]}")
        elif code == "fatal":
            self.violation("fatal", f"the run could not read the tracker: {text[:500]}")
        elif code == "crash":
            self.violation("crash", text[-3000:])
        elif code == 1:
            errs = result.errors if result is not None else [text]
            self.violation("exit-1", "the run failed: " + " | ".join(errs)[:1500])
        elif code == 3 and (wrote or changed):
            self.violation("guard-wrote", f"a guard stop wrote {wrote} tracker writes and changed {changed}")
        if len(tr.server.errors) > errors0:
            self.violation("fake-crash", tr.server.errors[-1][-2000:])
        # -- rule: no issue closed while its task exists
        for n in sorted(closed_now):
            tok = self.owner.get(n)
            if n in self.person:
                tok = self.person_linked_by.get(n)
                if tok is None:
                    self.violation("closed-person-issue", f"guidesync closed #{n}, a person's issue no task ever linked")
                    continue
            if tok is None or tok not in disk:
                continue  # its task is gone: closing is allowed
            g, ms, t = disk[tok]
            if t.link_number == n and t.checked and after[n]["state"] == "completed":
                continue
            if t.link_number is None:
                sub = "task-unlinked"
            elif t.link_number in self.person:
                sub = "task-links-a-persons-issue"
            elif t.link_number != n and self.owner.get(t.link_number) == tok:
                sub = "task-got-a-new-issue"
            elif t.link_number != n:
                sub = "task-links-another-issue"
            elif not self.link_on_host(t.link_url or ""):
                sub = "link-to-other-host"
            elif t.link_url != tr.issue_url(n):
                sub = "link-variant"
            elif paths and g.path not in paths:
                sub = "task-outside-the-run"
            elif t.checked:
                sub = "checked-but-closed-as-" + after[n]["state"]
            else:
                sub = "task-unchecked"
            how = f"closed as {after[n]['state']}" if tr.github else "closed"
            self.violation(
                f"closed-while-task-exists/{sub}",
                f"#{n} {how} by `{mode}{' ' + ' '.join(paths) if paths else ''}` while its task "
                f"t{tok} is in {g.path} ({g.milestone_title(ms)!r}): {t.line()!r}",
            )
        # -- rule: a person's issue is never retitled or rewritten
        for n, (title, body) in sorted(self.person.items()):
            i = after.get(n)
            if i is None:
                continue
            if (i["title"], i["body"]) != (title, body):
                what = [w for w, a, b in (("title", i["title"], title), ("body", i["body"], body)) if a != b]
                self.violation("person-issue-rewritten",
                               f"guidesync changed the {' and '.join(what)} of #{n}, a person's issue: now "
                               f"{i['title']!r} / {i['body'][:120]!r}")
                self.person[n] = (i["title"], i["body"])
        # -- rule: a box is checked only for an issue a person closed as completed after the base saw it open
        for tok, (g, ms, t) in sorted(disk.items()):
            was = before_tasks.get(tok)
            if was is None or was[0] or not t.checked:
                continue
            n = t.link_number
            i = after.get(n) if n is not None else None
            close = self.last_close.get(n) if n is not None else None
            if i is None or i["state"] != "completed":
                self.violation("box-checked/issue-not-closed-as-completed",
                               f"t{tok}'s box was checked; its issue #{n} is {i['state'] if i else 'missing'}")
            elif close is None or close[0] != "person":
                self.violation("box-checked/after-guidesync-closed-it",
                               f"t{tok}'s box was checked from #{n}, which guidesync itself closed at step {close[2] if close else '?'}")
            elif not (n in self.base_open_since and self.base_open_since[n] < close[2]):
                self.violation("box-checked/closed-before-the-base-saw-it-open",
                               f"t{tok}'s box was checked from #{n}, closed by a person at step {close[2]} before the base "
                               "ever recorded it open")
        # -- rule: guidesync links a task only to its own issue
        for tok, (g, ms, t) in sorted(disk.items()):
            was = before_tasks.get(tok)
            n = t.link_number
            if n is None or (was is not None and was[1] == n and was[2] == t.link_url):
                continue
            if self.owner.get(n, tok) != tok or (n in self.person and was is not None and was[1] != n):
                self.violation("linked-foreign-issue",
                               f"guidesync linked t{tok} to #{n}, made for "
                               + (f"t{self.owner[n]}" if n in self.owner else "a person"))
        # -- rule: one open issue per task
        open_by_task: dict[int, list[int]] = {}
        for n, i in after.items():
            if i["state"] == "open" and n in self.owner and n not in self.reopened_orphans:
                open_by_task.setdefault(self.owner[n], []).append(n)
        for tok, ns in sorted(open_by_task.items()):
            if len(ns) > 1:
                self.violation("duplicate-open", f"task t{tok} has {len(ns)} open issues: {sorted(ns)}")
        # -- milestones stay with their guide
        for number, title in sorted(tr.milestones().items()):
            m = GID.search(title)
            if m is None:
                continue
            gid = int(m.group(1))
            first = self.ms_gid.setdefault(number, gid)
            if first != gid:
                self.violation("milestone-takeover",
                               f"milestone #{number} of guide g{first} was renamed to {title!r} (guide g{gid})")
                self.ms_gid[number] = gid
        # -- what the base saw
        state_text = self.ws.state_text()
        if state_text:
            for n, rec in loads(state_text).records.items():
                if rec.issue_state == "open":
                    self.base_open_since.setdefault(n, step)
        self.note_person_links()

    def note_person_links(self) -> None:
        """Remember which task last linked each person's issue (that task is the issue's task)."""
        for tok, (g, ms, t) in self.tasks_on_disk().items():
            if t.link_number in self.person:
                self.person_linked_by[t.link_number] = tok

    def link_on_host(self, url: str) -> bool:
        return url.lower().startswith(self.tracker.server.root_url.lower() + "/")

    def settle(self, label: str = "settle") -> None:
        """``sync`` until a run changes nothing (a guard stop is confirmed with --force, as the
        person who made the edit would), then: every unchecked task has exactly one open issue,
        its own, linked."""
        force = False
        for _ in range(4):
            info = self.run("sync", force=force, label=label)
            if info.code == 3 and not force:
                force = True
                continue
            if info.code not in (0, 3) or (not info.wrote and not info.changed):
                break
        else:
            self.violation("settle/no-convergence", "four syncs in a row still changed something")
        issues = self.tracker.issues()
        open_by_task: dict[int, list[int]] = {}
        for n, i in issues.items():
            if i["state"] == "open" and n in self.owner and n not in self.reopened_orphans:
                open_by_task.setdefault(self.owner[n], []).append(n)
        for tok, (g, ms, t) in sorted(self.tasks_on_disk().items()):
            if t.checked:
                continue
            n = t.link_number
            where = f"t{tok} in {g.path}: {t.line()!r}"
            if n is None:
                self.violation("settle/task-unlinked", f"{where} has no issue after a settling sync")
                continue
            if not self.link_on_host(t.link_url or ""):
                continue  # documented: a link elsewhere leaves the task alone
            i = issues.get(n)
            close = self.last_close.get(n)
            if i is None:
                if n in self.person_deleted:
                    continue  # documented: the link stays, nothing is recreated
                self.violation("settle/linked-issue-missing", f"{where}: #{n} does not exist")
                continue
            if n in self.person and i["state"] != "open":
                continue  # documented: a hand-linked person's issue is reported and never synced (until adopted)
            if i["state"] != "open":
                if close is not None and close[0] == "person" and i["state"] == "not_planned":
                    continue  # documented: not planned leaves the box alone
                who = close[0] if close else "?"
                self.violation(f"settle/linked-issue-closed-by-{who}",
                               f"{where}: unchecked, but its issue #{n} is closed ({i['state']}, by {who})")
                continue
            mine = self.owner.get(n) == tok or (n in self.person and self.person_linked_by.get(n) == tok)
            if not mine:
                self.violation("settle/linked-to-another-tasks-issue",
                               f"{where}: #{n} was made for " + (f"t{self.owner[n]}" if n in self.owner else "a person"))
                continue
            if len(open_by_task.get(tok, [])) > 1:
                self.violation("settle/duplicates", f"{where}: open issues {sorted(open_by_task[tok])}")

    # -- setup and teardown -----------------------------------------------------------------

    @property
    def tracker(self) -> Tracker:
        return self._tracker

    @initialize()
    @counted
    def start(self) -> None:
        self.stats.schedules += 1
        self.ws = self.make_workspace(self.forge_name, guides=())
        if self.config:
            self.ws.write_config(**self.config)
        self._tracker = Tracker(self.ws.forge)

        def tasks(n: int, checked: tuple[int, ...] = ()) -> list[TaskModel]:
            out = []
            for i in range(n):
                tok = self.next_token
                self.next_token += 1
                out.append(TaskModel(tok, " ".join(WORDS[(tok + k) % len(WORDS)] for k in range(2)), checked=i in checked))
            return out

        g1 = self.new_guide_model(self.fresh_path("phase"), "phase", 1, [tasks(3)])
        g2 = self.new_guide_model(self.fresh_path("impl"), "impl", 0, [tasks(2), tasks(1, checked=(0,))])
        if self.sub_issues:  # t2 nested under t1, t5 under t4
            g1.milestones[0].tasks[1].depth = 1
            g2.milestones[0].tasks[1].depth = 1
        for g in (g1, g2):
            self.guides[g.gid] = g
            self.write_guide(g)
        self.note(f"setup: {g1.path} (phase g{g1.gid}: t1-t3), {g2.path} (impl g{g2.gid}: M1 t4 t5, M2 t6 checked)"
                  + (" (t2 nested under t1, t5 under t4)" if self.sub_issues else "")
                  + (f", config {self.config}" if self.config else ""))
        self.run("push", label="first run")

    def teardown(self) -> None:
        try:
            # A schedule that failed, or that hypothesis cut off in the middle of a rule, is not settled.
            if self.ws is not None and not self.failed and not self.busy:
                self.settle("final settle")
        finally:
            if self.ws is not None:
                self.ws.forge.server.stop()

    # -- guide edits ----------------------------------------------------------------------

    def _edit(self) -> None:
        self.read_back()

    @precondition(_on("add_task"))
    @rule(data=st.data())
    @counted
    def add_task(self, data: st.DataObject) -> None:
        self._edit()
        g = self.pick(data, sorted(self.guides.values(), key=lambda g: g.gid), "guide")
        ms = self.pick(data, g.milestones, "milestone")
        t = self.new_task(data)
        at = data.draw(st.integers(0, len(ms.tasks)), label="position")
        ms.tasks.insert(at, t)
        self.write_guide(g)
        self.note(f"add {t.line()!r} to {g.path} ({g.milestone_title(ms)})")

    @precondition(lambda self: self.sub_issues and "add_nested" not in self.skip
                  and any(ms.tasks for g in self.guides.values() for ms in g.milestones))
    @rule(data=st.data())
    @counted
    def add_nested(self, data: st.DataObject) -> None:
        """A nested checkbox item added under a task (right after it or after its other items)."""
        self._edit()
        g = self.pick(data, sorted((g for g in self.guides.values() if any(ms.tasks for ms in g.milestones)),
                                   key=lambda g: g.gid), "guide")
        ms = self.pick(data, [m for m in g.milestones if m.tasks], "milestone")
        t = self.new_task(data, data.draw(st.sampled_from(["[ ]", "[ ]", "[x]"]), label="box"))
        t.depth = 1
        at = data.draw(st.integers(1, len(ms.tasks)), label="position")
        ms.tasks.insert(at, t)
        self.write_guide(g)
        self.note(f"add the nested item {t.line()!r} to {g.path} ({g.milestone_title(ms)}) after t{ms.tasks[at - 1].token}")

    @precondition(lambda self: self.sub_issues and "nest_or_unnest" not in self.skip and self.forge_name != "gitlab"
                  and any(ms.tasks.index(t) > 0 or t.depth for _, ms, t in self._existing()))
    @rule(data=st.data())
    @counted
    def nest_or_unnest(self, data: st.DataObject) -> None:
        """A task indented under the one before it, or a nested item made a task of its own (its
        issue moves under another parent, or out from under one). Not drawn on GitLab, where an
        item changing level was the known bug gitlab-item-changed-level (tests/campaign.py), fixed."""
        self._edit()
        g, ms, t = self.pick(data, [v for v in self._existing() if v[1].tasks.index(v[2]) > 0 or v[2].depth], "task")
        t.depth = 0 if t.depth else 1
        self.write_guide(g)
        self.note(f"{'nest' if t.depth else 'un-nest'} t{t.token} in {g.path}: {t.line()!r}")

    def _existing(self) -> list[tuple[GuideModel, MilestoneModel, TaskModel]]:
        return [v for _, v in sorted(self.tasks_on_disk().items())]

    @precondition(lambda self: "delete_task" not in self.skip and self.tasks_on_disk())
    @rule(data=st.data())
    @counted
    def delete_task(self, data: st.DataObject) -> None:
        self._edit()
        g, ms, t = self.pick(data, self._existing(), "task")
        i = ms.tasks.index(t)
        del ms.tasks[i]
        self.graveyard[t.token] = Buried(replace(t), g.gid, ms.number, i)
        self.write_guide(g)
        self.note(f"delete t{t.token} from {g.path}: {t.line()!r}")

    def _place_buried(self, data: st.DataObject, b: Buried, t: TaskModel) -> tuple[GuideModel, MilestoneModel]:
        g = self.guides.get(b.gid)
        ms = next((m for m in g.milestones if m.number == b.milestone), None) if g else None
        if g is None or ms is None:  # its guide is gone: pasted into another one
            g = self.pick(data, sorted(self.guides.values(), key=lambda g: g.gid), "guide")
            ms = self.pick(data, g.milestones, "milestone")
        ms.tasks.insert(min(b.index, len(ms.tasks)), t)
        del self.graveyard[t.token]
        self.write_guide(g)
        return g, ms

    @precondition(lambda self: "readd_typed" not in self.skip and self.graveyard)
    @rule(data=st.data())
    @counted
    def readd_typed(self, data: st.DataObject) -> None:
        """A deleted task typed in again: same text, an empty box, no link."""
        self._edit()
        b = self.pick(data, [self.graveyard[k] for k in sorted(self.graveyard)], "deleted task")
        t = replace(b.task, checked=False, has_box=True, link=None)
        g, ms = self._place_buried(data, b, t)
        self.note(f"re-add t{t.token} typed again: {t.line()!r} in {g.path} ({g.milestone_title(ms)})")

    @precondition(lambda self: "readd_restored" not in self.skip and any(b.task.link for b in self.graveyard.values()))
    @rule(data=st.data())
    @counted
    def readd_restored(self, data: st.DataObject) -> None:
        """A deleted task restored as `git revert` would: its old line, box and link included."""
        self._edit()
        b = self.pick(data, [self.graveyard[k] for k in sorted(self.graveyard) if self.graveyard[k].task.link], "deleted task")
        t = replace(b.task)
        g, ms = self._place_buried(data, b, t)
        self.note(f"re-add t{t.token} restored with its old line: {t.line()!r} in {g.path} ({g.milestone_title(ms)})")

    @precondition(lambda self: "reword" not in self.skip and self.tasks_on_disk())
    @rule(data=st.data())
    @counted
    def reword(self, data: st.DataObject) -> None:
        self._edit()
        g, ms, t = self.pick(data, self._existing(), "task")
        old = t.text
        words = t.words.split()
        how = data.draw(st.sampled_from(["append", "replace"]), label="how")
        new = data.draw(st.sampled_from(WORDS), label="word")
        if how == "append" or len(words) < 2:
            words.append(new)
        else:
            words[-1] = new
        t.words = " ".join(words)
        self.write_guide(g)
        self.note(f"reword t{t.token} in {g.path}: {old!r} -> {t.text!r}")

    @precondition(lambda self: "move_milestone" not in self.skip
                  and any(len(g.milestones) > 1 and g.tasks() for g in self.guides.values()))
    @rule(data=st.data())
    @counted
    def move_milestone(self, data: st.DataObject) -> None:
        self._edit()
        g, ms, t = self.pick(data, [v for v in self._existing() if len(v[0].milestones) > 1], "task")
        target = self.pick(data, [m for m in g.milestones if m is not ms], "milestone")
        ms.tasks.remove(t)
        target.tasks.insert(data.draw(st.integers(0, len(target.tasks)), label="position"), t)
        self.write_guide(g)
        self.note(f"move t{t.token} in {g.path} from {g.milestone_title(ms)!r} to {g.milestone_title(target)!r}")

    @precondition(lambda self: "move_guide" not in self.skip and len(self.guides) > 1 and self.tasks_on_disk())
    @rule(data=st.data())
    @counted
    def move_guide(self, data: st.DataObject) -> None:
        self._edit()
        g, ms, t = self.pick(data, self._existing(), "task")
        other = self.pick(data, sorted((x for x in self.guides.values() if x is not g), key=lambda x: x.gid), "guide")
        target = self.pick(data, other.milestones, "milestone")
        ms.tasks.remove(t)
        target.tasks.insert(data.draw(st.integers(0, len(target.tasks)), label="position"), t)
        self.write_guide(g)
        self.write_guide(other)
        self.note(f"move t{t.token} from {g.path} to {other.path} ({other.milestone_title(target)!r})")

    def _free_paths(self) -> list[str]:
        used = {g.path for g in self.guides.values()}
        return sorted(p for p in self.freed if p not in used)

    @precondition(_on("rename_guide"))
    @rule(data=st.data())
    @counted
    def rename_guide(self, data: st.DataObject) -> None:
        """`git mv` of a guide file (to a new name, or to a name an earlier guide had)."""
        self._edit()
        g = self.pick(data, sorted(self.guides.values(), key=lambda g: g.gid), "guide")
        choices = ["new name"] + (["an old guide's name"] if self._free_paths() else [])
        how = data.draw(st.sampled_from(choices), label="to")
        new = self.fresh_path(g.kind) if how == "new name" else self.pick(data, self._free_paths(), "path")
        old = g.path
        self.file(new).parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.file(old), self.file(new))
        self.freed[old] = replace(g)
        self.freed.pop(new, None)
        g.path = new
        self.note(f"git mv {old} {new} (guide g{g.gid})")

    @precondition(lambda self: "delete_guide" not in self.skip and len(self.guides) > 1)
    @rule(data=st.data())
    @counted
    def delete_guide(self, data: st.DataObject) -> None:
        self._edit()
        g = self.pick(data, sorted(self.guides.values(), key=lambda g: g.gid), "guide")
        for ms in g.milestones:
            for i, t in enumerate(ms.tasks):
                self.graveyard[t.token] = Buried(replace(t), g.gid, ms.number, i)
        self.file(g.path).unlink()
        del self.guides[g.gid]
        self.freed[g.path] = g
        self.note(f"delete the guide {g.path} (g{g.gid}, tasks {', '.join(f't{t.token}' for _, t in g.tasks()) or 'none'})")

    def _create_guide(self, data: st.DataObject, path: str, kind: str, number: int) -> GuideModel:
        n_ms = 1 if kind == "phase" else data.draw(st.integers(1, 2), label="milestones")
        tasks = [[self.new_task(data, "[ ]") for _ in range(data.draw(st.integers(1, 2), label="tasks"))] for _ in range(n_ms)]
        g = self.new_guide_model(path, kind, number, tasks)
        self.guides[g.gid] = g
        self.file(path).parent.mkdir(parents=True, exist_ok=True)
        self.write_guide(g)
        return g

    @precondition(lambda self: "new_guide" not in self.skip and len(self.guides) < 4)
    @rule(data=st.data())
    @counted
    def new_guide(self, data: st.DataObject) -> None:
        self._edit()
        kind = data.draw(st.sampled_from(["phase", "impl"]), label="kind")
        g = self._create_guide(data, self.fresh_path(kind), kind, data.draw(st.integers(1, 9), label="phase"))
        self.note(f"new guide {g.path} ({g.kind} g{g.gid}: {', '.join(f't{t.token}' for _, t in g.tasks())})")

    @precondition(lambda self: "new_guide_at_old_path" not in self.skip and len(self.guides) < 4 and self._free_paths())
    @rule(data=st.data())
    @counted
    def new_guide_at_old_path(self, data: st.DataObject) -> None:
        """A new guide where a deleted or moved guide used to be, of the same phase number or not."""
        self._edit()
        path = self.pick(data, self._free_paths(), "path")
        old = self.freed[path]
        kind = data.draw(st.sampled_from([old.kind, "impl" if old.kind == "phase" else "phase"]), label="kind")
        number = data.draw(st.sampled_from([old.number, old.number + 10]), label="phase") if kind == "phase" else 0
        g = self._create_guide(data, path, kind, number)
        del self.freed[path]
        self.note(f"new guide at the old path {path} of g{old.gid}: {g.kind} g{g.gid}"
                  + (f" phase {number}" if kind == "phase" else "") + f" ({', '.join(f't{t.token}' for _, t in g.tasks())})")

    def _person_issue(self, data: st.DataObject) -> int:
        """A person's issue no task links (made now if need be), without a guidesync marker."""
        linked = {t.link_number for _, _, t in self._existing()}
        issues = self.tracker.issues()
        free = sorted(n for n in self.person if n in issues and n not in linked and issues[n]["state"] == "open")
        if free and data.draw(st.booleans(), label="reuse a person's issue"):
            return self.pick(data, free, "person's issue")
        self.uid += 1
        labels = data.draw(st.sampled_from([[], ["guidesync"]]), label="labels")
        title, body = f"Person's issue p{self.uid}", f"Written by hand, number {self.uid}."
        n = self.tracker.create(title, body, labels)
        self.person[n] = (title, body)
        self.note(f"tracker: a person opens #{n} {title!r}" + (" with the guidesync label" if labels else ""))
        return n

    @precondition(lambda self: "corrupt_link" not in self.skip and any(t.link for _, _, t in self._existing()))
    @rule(data=st.data())
    @counted
    def corrupt_link(self, data: st.DataObject) -> None:
        self._edit()
        g, ms, t = self.pick(data, [v for v in self._existing() if v[2].link], "linked task")
        variant = data.draw(st.sampled_from(["person's issue", "other host", "#issuecomment-1", "?x=1", "trailing /"]), label="variant")
        n, url = t.link_number, t.link_url
        assert n is not None and url is not None
        if variant == "person's issue":
            p = self._person_issue(data)
            t.link = f" ([#{p}]({self.tracker.issue_url(p)}))"
        elif variant == "other host":
            t.link = f" ([#{n}]({re.sub(r'^https?://[^/]+', 'https://tracker.example.invalid', url)}))"
        elif variant == "#issuecomment-1":
            t.link = f" ([#{n}]({url}#issuecomment-1))"
        elif variant == "?x=1":
            t.link = f" ([#{n}]({url}?x=1))"
        else:
            t.link = f" ([#{n}]({url}/))"
        self.write_guide(g)
        self.note(f"corrupt the link of t{t.token} in {g.path} ({variant}): {t.line()!r}")

    @precondition(lambda self: "paste_person_link" not in self.skip and any(not t.link for _, _, t in self._existing()))
    @rule(data=st.data())
    @counted
    def paste_person_link(self, data: st.DataObject) -> None:
        """A person links an unlinked task to an issue made by hand."""
        self._edit()
        g, ms, t = self.pick(data, [v for v in self._existing() if not v[2].link], "unlinked task")
        p = self._person_issue(data)
        self._edit()
        t.link = f" ([#{p}]({self.tracker.issue_url(p)}))"
        if not t.has_box:
            t.has_box = True
        self.write_guide(g)
        self.note(f"paste a link to the person's issue #{p} onto t{t.token} in {g.path}: {t.line()!r}")

    @precondition(lambda self: "toggle_box" not in self.skip and self.tasks_on_disk())
    @rule(data=st.data())
    @counted
    def toggle_box(self, data: st.DataObject) -> None:
        self._edit()
        g, ms, t = self.pick(data, self._existing(), "task")
        t.checked = not t.checked
        t.has_box = True
        self.write_guide(g)
        self.note(f"{'check' if t.checked else 'uncheck'} the box of t{t.token} in {g.path}")

    # -- tracker edits --------------------------------------------------------------------

    def _issues_where(self, pred: Callable[[int, dict[str, Any]], bool]) -> list[int]:
        return sorted(n for n, i in self.tracker.issues().items() if pred(n, i))

    def _who(self, n: int) -> str:
        if n in self.person:
            return "a person's issue"
        return f"t{self.owner[n]}'s issue" if n in self.owner else "issue"

    @precondition(lambda self: "tracker_close" not in self.skip and self._issues_where(lambda n, i: i["state"] == "open"))
    @rule(data=st.data())
    @counted
    def tracker_close(self, data: st.DataObject) -> None:
        n = self.pick(data, self._issues_where(lambda n, i: i["state"] == "open"), "open issue")
        self.tracker.close(n)
        self.last_close[n] = ("person", "completed", self.step_no)
        self.note(f"tracker: a person closes #{n} ({self._who(n)}) as completed")

    @precondition(lambda self: "tracker_close_not_planned" not in self.skip and self.tracker.github
                  and self._issues_where(lambda n, i: i["state"] == "open"))
    @rule(data=st.data())
    @counted
    def tracker_close_not_planned(self, data: st.DataObject) -> None:
        n = self.pick(data, self._issues_where(lambda n, i: i["state"] == "open"), "open issue")
        self.tracker.close(n, not_planned=True)
        self.last_close[n] = ("person", "not_planned", self.step_no)
        self.note(f"tracker: a person closes #{n} ({self._who(n)}) as not planned")

    @precondition(lambda self: "tracker_reopen" not in self.skip and self._issues_where(lambda n, i: i["state"] != "open"))
    @rule(data=st.data())
    @counted
    def tracker_reopen(self, data: st.DataObject) -> None:
        n = self.pick(data, self._issues_where(lambda n, i: i["state"] != "open"), "closed issue")
        self.tracker.reopen(n)
        if n in self.owner and self.owner[n] not in self.tasks_on_disk():
            self.reopened_orphans.add(n)
        self.note(f"tracker: a person reopens #{n} ({self._who(n)})")

    @precondition(lambda self: "tracker_retitle" not in self.skip and self._issues_where(lambda n, i: True))
    @rule(data=st.data())
    @counted
    def tracker_retitle(self, data: st.DataObject) -> None:
        n = self.pick(data, self._issues_where(lambda n, i: True), "issue")
        self.uid += 1
        title = f"{self.tracker.issues()[n]['title']} (edited by hand {self.uid})"
        self.tracker.retitle(n, title)
        if n in self.person:
            self.person[n] = (title, self.person[n][1])
        self.note(f"tracker: a person retitles #{n} ({self._who(n)}) to {title!r}")

    @precondition(lambda self: "tracker_edit_body" not in self.skip and self._issues_where(lambda n, i: True))
    @rule(data=st.data())
    @counted
    def tracker_edit_body(self, data: st.DataObject) -> None:
        n = self.pick(data, self._issues_where(lambda n, i: True), "issue")
        self.uid += 1
        body = self.tracker.issues()[n]["body"] + f"\n\nNote added by hand {self.uid}."
        self.tracker.set_body(n, body)
        if n in self.person:
            self.person[n] = (self.person[n][0], body)
        self.note(f"tracker: a person adds a note to the body of #{n} ({self._who(n)})")

    @precondition(lambda self: "tracker_delete" not in self.skip and self._issues_where(lambda n, i: True))
    @rule(data=st.data())
    @counted
    def tracker_delete(self, data: st.DataObject) -> None:
        n = self.pick(data, self._issues_where(lambda n, i: True), "issue")
        self.tracker.delete(n)
        self.person_deleted.add(n)
        self.note(f"tracker: a person deletes #{n} ({self._who(n)})")

    # -- runs -----------------------------------------------------------------------------

    HOURS = st.integers(1, 30)
    FORCE = st.sampled_from([False, False, True])

    @precondition(_on("run_sync"))
    @rule(hours=HOURS, force=FORCE)
    @counted
    def run_sync(self, hours: int, force: bool) -> None:
        self.run("sync", force=force, hours=hours)

    @precondition(_on("run_push"))
    @rule(hours=HOURS, force=FORCE)
    @counted
    def run_push(self, hours: int, force: bool) -> None:
        self.run("push", force=force, hours=hours)

    @precondition(_on("run_pull"))
    @rule(hours=HOURS, force=FORCE)
    @counted
    def run_pull(self, hours: int, force: bool) -> None:
        self.run("pull", force=force, hours=hours)

    @precondition(_on("run_scoped"))
    @rule(data=st.data(), hours=HOURS, force=FORCE)
    @counted
    def run_scoped(self, data: st.DataObject, hours: int, force: bool) -> None:
        """`push <one guide>` (now and then `sync <one guide>`)."""
        g = self.pick(data, sorted(self.guides.values(), key=lambda g: g.gid), "guide")
        mode = data.draw(st.sampled_from(["push", "push", "sync"]), label="mode")
        self.run(mode, (g.path,), force=force, hours=hours)

    @precondition(_on("settle_now"))
    @rule(hours=HOURS)
    @counted
    def settle_now(self, hours: int) -> None:
        self.tracker.tick(hours * 3600)
        self.settle()


# ------------------------------------------------------------------------------ campaigns


def run_machine(forge: str, make_workspace: Callable[..., Any], stats: Stats, *, settings: Settings | None = None,
                config: dict[str, Any] | None = None, only: tuple[str, ...] | None = None,
                skip: tuple[str, ...] | None = None, survey: bool = False, seed: int | None = None) -> None:
    """Run the machine on one forge; raises the (shrunk) violation(s) hypothesis found."""
    stats.forge = stats.forge or forge
    cfg = env_config() if config is None else config
    only = env_list(ENV_ONLY) if only is None else only
    skip = env_list(ENV_SKIP) if skip is None else skip
    if seed is None and os.environ.get(ENV_SEED, "").strip():
        seed = int(os.environ[ENV_SEED])
    settings = settings or machine_settings(seed=seed)

    def factory() -> SafetyMachine:
        return SafetyMachine(forge, make_workspace, stats, cfg, only, skip, survey)

    t0 = time.perf_counter()
    try:
        if seed is not None:
            factory._hypothesis_internal_use_seed = seed  # type: ignore[attr-defined]
        run_state_machine_as_test(factory, settings=settings)
    finally:
        stats.seconds += time.perf_counter() - t0


class Scripted:
    """Stands in for hypothesis' ``data`` when a schedule is replayed by hand: each draw answers the
    value given for its label (the keys :meth:`SafetyMachine.pick` draws: "t3", a path, an issue
    number, "milestone 2"), or a default for the labels that have one."""

    DEFAULTS: dict[str, Any] = {"box": "[ ]", "words": ["cache"], "position": 0, "tasks": 1, "milestones": 1,
                                "labels": [], "reuse a person's issue": False, "mode": "push", "how": "append",
                                "word": "audit", "to": "new name", "milestone": "milestone 1"}

    def __init__(self, values: dict[str, Any]):
        self.values = values

    def draw(self, strategy: Any, label: str | None = None) -> Any:
        if label in self.values:
            return self.values[label]
        if label in self.DEFAULTS:
            return self.DEFAULTS[label]
        raise KeyError(f"the replayed step needs a value for {label!r}")


Step = tuple[str, dict[str, Any]]

#: Hand-minimised schedules of the violations the machine found (see ``--replay``): name ->
#: (what it shows, steps). The machine starts from its setup: guides/phase-1.md holds t1-t3
#: (issues #4-#6), guides/feature-2.md milestone 1 t4, t5 (#1, #2), milestone 2 t6 checked (#3).
SCHEDULES: dict[str, tuple[str, list[Step]]] = {
    "paste-person-link": ("a link to a person's issue pasted onto an unlinked task: the issue is rewritten", [
        ("add_task", {"guide": "guides/phase-1.md", "words": ["export"]}),
        ("paste_person_link", {"unlinked task": "t7"}),
        ("settle_now", {"hours": 1}),
    ]),
    "corrupt-to-person": ("a task's link changed to a person's issue: that issue is rewritten, the task's own closed", [
        ("corrupt_link", {"linked task": "t1", "variant": "person's issue"}),
        ("settle_now", {"hours": 1}),
    ]),
    "link-issuecomment": ("a link with #issuecomment-1: the issue is closed as removed", [
        ("corrupt_link", {"linked task": "t1", "variant": "#issuecomment-1"}),
        ("settle_now", {"hours": 1}),
    ]),
    "link-query": ("a link with ?x=1: the issue is closed as removed", [
        ("corrupt_link", {"linked task": "t1", "variant": "?x=1"}),
        ("settle_now", {"hours": 1}),
    ]),
    "link-slash": ("a link with a trailing / (GitLab: //): the issue is closed as removed", [
        ("corrupt_link", {"linked task": "t1", "variant": "trailing /"}),
        ("corrupt_link", {"linked task": "t1", "variant": "trailing /"}),
        ("settle_now", {"hours": 1}),
    ]),
    "link-other-host": ("a link to another host: the task is left alone, its issue closed as removed", [
        ("corrupt_link", {"linked task": "t1", "variant": "other host"}),
        ("settle_now", {"hours": 1}),
    ]),
    "scoped-push-after-move": ("a task moved to another guide, then `push <old guide>`: its issue is closed", [
        ("move_guide", {"task": "t1", "guide": "guides/feature-2.md"}),
        ("run_scoped", {"guide": "guides/phase-1.md", "mode": "push", "hours": 1, "force": False}),
    ]),
    "restored-with-link": ("a deleted task restored with its old line (git revert): linked to its closed issue", [
        ("delete_task", {"task": "t1"}),
        ("run_push", {"hours": 1, "force": False}),
        ("readd_restored", {"deleted task": "t1"}),
        ("settle_now", {"hours": 1}),
    ]),
    "retyped-after-full-listing": ("a deleted task typed in again after a day: it takes its old closed issue", [
        ("delete_task", {"task": "t1"}),
        ("run_push", {"hours": 1, "force": False}),
        ("readd_typed", {"deleted task": "t1"}),
        ("settle_now", {"hours": 25}),
    ]),
    "similar-new-task": ("a new task worded like a deleted one: it takes the deleted task's closed issue", [
        ("delete_task", {"task": "t1"}),
        ("run_push", {"hours": 1, "force": False}),
        ("add_task", {"guide": "guides/phase-1.md", "words": ["cart", "totals"]}),
        ("settle_now", {"hours": 1}),
    ]),
    "retyped-in-another-guide": ("a guide deleted and one of its tasks typed into another guide: two open issues, "
                                 "then the old one is closed", [
        ("delete_guide", {"guide": "guides/feature-2.md"}),
        ("readd_typed", {"deleted task": "t4", "guide": "guides/phase-1.md"}),
        ("run_scoped", {"guide": "guides/phase-1.md", "mode": "push", "hours": 1, "force": False}),
        ("settle_now", {"hours": 1}),
    ]),
    "new-guide-at-old-path": ("a guide deleted and a new one written at its path: the old milestone is renamed", [
        ("delete_guide", {"guide": "guides/phase-1.md"}),
        ("new_guide_at_old_path", {"path": "guides/phase-1.md", "kind": "phase", "phase": 1}),
        ("settle_now", {"hours": 1}),
    ]),
    "guide-renamed-onto-old-path": ("a phase guide moved onto the path of another (moved away): the run fails on "
                                    "the milestone title", [
        ("new_guide", {"kind": "phase", "phase": 2}),
        ("run_sync", {"hours": 1, "force": False}),
        ("rename_guide", {"guide": "guides/phase-1.md", "to": "new name"}),
        ("rename_guide", {"guide": "guides/phase-3.md", "to": "an old guide's name", "path": "guides/phase-1.md"}),
        ("settle_now", {"hours": 1}),
    ]),
    "close-seen-by-push": ("a person's close seen by `push` (which cannot check the box) is lost once another "
                           "change moves the listing mark", [
        ("tracker_close", {"open issue": 4}),
        ("run_push", {"hours": 1, "force": False}),
        ("tracker_retitle", {"issue": 5}),
        ("run_push", {"hours": 1, "force": False}),
        ("settle_now", {"hours": 1}),
    ]),
    "unlabelled-person-issue-closed": ("a pasted person's issue without the label, first seen by `pull`: it never "
                                       "gets the label, so its close is not read (until a full listing)", [
        ("add_task", {"guide": "guides/phase-1.md", "words": ["export"]}),
        ("paste_person_link", {"unlinked task": "t7"}),
        ("run_pull", {"hours": 1, "force": False}),
        ("tracker_close", {"open issue": 7}),
        ("settle_now", {"hours": 1}),
    ]),
    "pasted-closed-issue": ("a person's issue pasted and closed before any sync: its box is checked", [
        ("add_task", {"guide": "guides/phase-1.md", "words": ["export"]}),
        ("paste_person_link", {"unlinked task": "t7", "labels": ["guidesync"]}),
        ("tracker_close", {"open issue": 7}),
        ("settle_now", {"hours": 1}),
    ]),
}


def replay(forge: str, steps: list[Step], make_workspace: Callable[..., Any], *, config: dict[str, Any] | None = None,
           settle: bool = True) -> SafetyMachine:
    """Run one schedule by hand (no hypothesis); every violation is recorded (none raised):
    see the returned machine's ``stats.violations`` and ``log``."""
    import inspect

    m = SafetyMachine(forge, make_workspace, Stats(forge=forge), config or {}, survey=True)
    m.start()
    try:
        for name, values in steps:
            fn = getattr(m, name)
            params = inspect.signature(inspect.unwrap(fn)).parameters
            kwargs = {k: values[k] for k in params if k in values and k != "data"}
            if "data" in params:
                kwargs["data"] = Scripted(values)
            fn(**kwargs)
    finally:
        if not settle:
            m.failed = True  # no final settle
        m.teardown()
    return m


def _print_found(f: Found, survey_count: int | None = None) -> None:
    extra = f"{survey_count}x in the survey; " if survey_count is not None else ""
    print(f"\n[{f.forge}] {f.kind} ({extra}shortest schedule: {len(f.schedule)} steps):")
    for i, s in enumerate(f.schedule):
        print(f"  {i:2d}. {s}")
    print("  -> " + f.message.replace("\n", "\n     "))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.safety_model",
                                 description="A longer run of the safety state machine: a survey that records every kind "
                                             "of violation with the shortest schedule seen (violations do not stop a "
                                             "schedule), then, with --minimize or --only, hypothesis shrinks one schedule "
                                             "per kind (that kind alone fails; the others are recorded).")
    ap.add_argument("--forge", choices=("github", "gitlab", "both"), default="both")
    ap.add_argument("--examples", type=int, default=200, help="schedules per forge in the survey")
    ap.add_argument("--steps", type=int, default=20, help="steps per schedule at most")
    ap.add_argument("--seed", type=int, default=None, help="default: derandomized")
    ap.add_argument("--minimize", action="store_true", help="after the survey, shrink one schedule per kind found")
    ap.add_argument("--only", default="", help="skip the survey; shrink these kinds (comma-separated, prefix match)")
    ap.add_argument("--minimize-examples", type=int, default=150, help="schedules per kind while looking for it")
    ap.add_argument("--shrink-seconds", type=int, default=60, help="shrinking budget per kind")
    ap.add_argument("--skip", default=os.environ.get(ENV_SKIP, ""), help="rules never drawn (comma-separated)")
    ap.add_argument("--json", default=None, help="write the findings here")
    ap.add_argument("--replay", nargs="*", default=None, metavar="NAME",
                    help="replay the hand-minimised schedules (all, or these; see SCHEDULES) and print what each breaks")
    args = ap.parse_args(argv)
    if args.replay is not None:
        return replay_main(args.replay, ("github", "gitlab") if args.forge == "both" else (args.forge,))
    from hypothesis.internal.conjecture import engine

    engine.MAX_SHRINKING_SECONDS = args.shrink_seconds  # documented as monkeypatchable
    forges = ("github", "gitlab") if args.forge == "both" else (args.forge,)
    skip = tuple(x for x in args.skip.split(",") if x)
    only = tuple(x for x in args.only.split(",") if x)
    findings: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="guidesync-safety-") as tmp:
        for forge in forges:
            kinds: list[str] = list(only)
            survey = Stats()
            if not only:
                make, finish = standalone_workspace_factory(Path(tmp) / forge)
                run_machine(forge, make, survey, survey=True, skip=skip, only=(), seed=args.seed,
                            settings=machine_settings(args.examples, args.steps, args.seed, shrink=False))
                errors = finish()
                print(survey.summary())
                if errors:
                    print("  OpenAPI: " + "\n  ".join(errors[:10]))
                kinds = sorted(survey.violations)
            for kind in kinds:
                best = survey.violations.get(kind)
                if args.minimize or only:
                    mstats = Stats()
                    make, finish = standalone_workspace_factory(Path(tmp) / f"{forge}-min")
                    try:
                        run_machine(forge, make, mstats, only=(kind,), skip=skip, seed=args.seed,
                                    settings=machine_settings(args.minimize_examples, args.steps, args.seed))
                    except SafetyViolation:
                        pass  # the expected outcome: hypothesis raises the shrunk schedule
                    except BaseException as exc:  # noqa: BLE001 - e.g. an ExceptionGroup of several schedules
                        if not isinstance(exc, Exception):
                            raise
                    finish()
                    shrunk = [f for k, f in mstats.violations.items() if k.startswith(kind)]
                    for f in shrunk:
                        if best is None or f.kind != best.kind or len(f.schedule) <= len(best.schedule):
                            best = replace(f, count=best.count if best is not None and best.kind == f.kind else f.count)
                        if f.kind != kind:
                            _print_found(f)
                if best is None:
                    print(f"\n[{forge}] {kind}: not found")
                    continue
                findings[f"{forge}:{best.kind}"] = {"forge": forge, "kind": best.kind, "count": best.count,
                                                    "message": best.message, "schedule": best.schedule}
                _print_found(best, best.count if not only else None)
            print()
    if args.json:
        Path(args.json).write_text(json.dumps(findings, indent=2))
    return 0


def replay_main(names: list[str], forges: tuple[str, ...]) -> int:
    broken = 0
    with tempfile.TemporaryDirectory(prefix="guidesync-replay-") as tmp:
        for name in names or sorted(SCHEDULES):
            what, steps = SCHEDULES[name]
            print(f"{name}: {what}")
            for forge in forges:
                make, finish = standalone_workspace_factory(Path(tmp) / f"{name}-{forge}")
                m = replay(forge, steps, make)
                errors = finish()
                kinds = sorted(m.stats.violations) + (["openapi"] if errors else [])
                broken += bool(kinds)
                print(f"  [{forge}] " + ("; ".join(kinds) if kinds else "no violation"))
                for i, line in enumerate(m.log):
                    print(f"      {i:2d}. {line}")
                for k in sorted(m.stats.violations):
                    print(f"      -> {k}: " + m.stats.violations[k].message.replace("\n", "\n         ")[:600])
    print(f"\n{broken} replays break a rule")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
