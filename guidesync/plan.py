"""(guides, base, tracker snapshot) -> a plan of frozen steps. Pure: no network, no disk.

Checkbox state is decided three-way per linked task (:func:`decide_state`); content (title, body,
milestone) flows from the guide to the tracker and is compared with the hash last written. The
plan also carries the guards that stop a run which looks like a mistake (mass closing, a guide
that lost all its links) until ``--force``.
"""

from __future__ import annotations

from collections import defaultdict
from difflib import SequenceMatcher
from dataclasses import dataclass, field, replace
from typing import Callable, Mapping

from .model import Guide, Milestone, Problem, Task
from .render import ZWSP, IssueContent, content_hash, milestone_description, neutralize, read_marker, render_issue
from .state import MilestoneRecord, Record, State
from .trackers.base import RemoteIssue, RemoteMilestone

OPEN, COMPLETED, NOT_PLANNED, GONE = "open", "completed", "not_planned", "gone"
MODES = ("push", "pull", "sync")
#: How alike a leftover issue's title and a task must be for the task to take the issue over.
SIMILAR_HERE, SIMILAR_ELSEWHERE = 0.6, 0.9


@dataclass(frozen=True)
class Snapshot:
    """What the tracker looks like now, as far as this run read it."""

    issues: Mapping[int, RemoteIssue] = field(default_factory=dict)  # listed or fetched this run
    milestones: Mapping[int, RemoteMilestone] | None = None  # None: unchanged since the base
    gone: frozenset[int] = frozenset()  # deleted or moved away
    complete: bool = False  # ``issues`` holds every managed issue
    offline: bool = False  # no tracker was asked at all


@dataclass(frozen=True)
class Options:
    mode: str = "sync"
    labels: tuple[str, ...] = ("guidesync",)
    on_removed: str = "close"
    max_close: int = 50
    all_guides: bool = True  # the guides are every configured guide, so a record whose guide is gone was removed
    frozen_guides: frozenset[str] = frozenset()  # guides with errors: their records are left untouched
    guide_url: Callable[[str], str] = lambda path: path
    owns_link: Callable[[str, int], bool] = lambda url, number: True
    limits: Mapping[str, int] = field(default_factory=lambda: {"title": 255, "body": 65536})


@dataclass(frozen=True)
class MilestoneStep:
    key: str
    title: str
    description: str
    number: int | None  # None: create it
    update_title: bool = False
    update_description: bool = False
    adopted: bool = False  # an existing tracker milestone of the same title
    group: bool = False
    notes: tuple[str, ...] = ()

    @property
    def create(self) -> bool:
        return self.number is None

    @property
    def record(self) -> MilestoneRecord | None:
        if self.number is None:
            return None
        return MilestoneRecord(self.number, self.title, content_hash(self.title, self.description))

    @property
    def writes(self) -> bool:
        return self.create or self.update_title or self.update_description


@dataclass(frozen=True)
class TaskStep:
    """Everything to do for one task (or one issue whose task left the guides)."""

    task: Task | None
    number: int | None  # None: the issue is to be created
    content: IssueContent | None = None
    milestone_key: str | None = None
    create: bool = False
    adopt_url: str | None = None  # an existing issue found by its marker: write its link
    update: bool = False  # push title/body/milestone/labels
    labels: tuple[str, ...] | None = None  # the full label set to send with the update (label lost)
    close: str | None = None  # close with this reason
    reopen: bool = False
    comment: str | None = None
    set_box: bool | None = None  # write this box state into the guide
    forget: bool = False  # drop the base record
    record: Record | None = None  # the base record once every step above has succeeded
    fallback: Record | None = None  # the record if the state steps did not all happen
    notes: tuple[str, ...] = ()

    @property
    def tracker_writes(self) -> int:
        return int(self.create) + int(self.update) + int(self.close is not None) + int(self.reopen) + int(self.comment is not None)

    @property
    def guide_edit(self) -> bool:
        return self.set_box is not None or self.adopt_url is not None or self.create

    @property
    def is_noop(self) -> bool:
        return not (self.tracker_writes or self.guide_edit or self.forget)


@dataclass(frozen=True)
class Plan:
    milestones: tuple[MilestoneStep, ...] = ()
    tasks: tuple[TaskStep, ...] = ()
    ensure_label: bool = False
    problems: tuple[Problem, ...] = ()
    guards: tuple[str, ...] = ()
    unsure_found: Mapping[int, str] = field(default_factory=dict)  # unsure creations found: issue -> marker key

    @property
    def changes(self) -> tuple[TaskStep, ...]:
        return tuple(s for s in self.tasks if not s.is_noop)

    def counts(self) -> dict[str, int]:
        c = {
            "milestones_created": sum(1 for m in self.milestones if m.create),
            "milestones_updated": sum(1 for m in self.milestones if not m.create and m.writes),
            "created": sum(1 for s in self.tasks if s.create),
            "adopted": sum(1 for s in self.tasks if s.adopt_url),
            "updated": sum(1 for s in self.tasks if s.update),
            "closed": sum(1 for s in self.tasks if s.close),
            "reopened": sum(1 for s in self.tasks if s.reopen),
            "checked": sum(1 for s in self.tasks if s.set_box is True),
            "unchecked": sum(1 for s in self.tasks if s.set_box is False),
            "forgotten": sum(1 for s in self.tasks if s.forget),
        }
        return c


@dataclass(frozen=True)
class StateDecision:
    close: str | None = None
    reopen: bool = False
    set_box: bool | None = None
    checked: bool = False  # the agreed box state afterwards
    state: str = OPEN  # the agreed tracker state afterwards
    note: str | None = None


def decide_state(guide_checked: bool, remote: str, base: tuple[bool, str] | None) -> StateDecision:
    """The checkbox decision table (guide box, tracker state, base) -> what to change.

    A box newly checked closes the issue; newly unchecked reopens it; an issue newly closed checks
    the box; newly reopened unchecks it. Closed as not planned never checks a box. With no base,
    the task is done if either side says so. When both sides changed and disagree, the guide wins.
    """
    g, r = guide_checked, remote
    if base is None:
        if r == OPEN:
            return StateDecision(close=COMPLETED, checked=True, state=COMPLETED) if g else StateDecision(checked=False, state=OPEN)
        if r == COMPLETED:
            return StateDecision(checked=True, state=COMPLETED) if g else StateDecision(set_box=True, checked=True, state=COMPLETED)
        return StateDecision(checked=g, state=r, note="closed as not planned on the tracker; its box is left as it is")
    bc, bs = base
    guide_changed, remote_changed = g != bc, r != bs
    if not guide_changed and not remote_changed:
        return StateDecision(checked=g, state=r)
    if guide_changed and not remote_changed:
        if g and r == OPEN:
            return StateDecision(close=COMPLETED, checked=True, state=COMPLETED)
        if not g and r != OPEN:
            return StateDecision(reopen=True, checked=False, state=OPEN)
        return StateDecision(checked=g, state=r)
    if remote_changed and not guide_changed:
        if r == COMPLETED and not g:
            return StateDecision(set_box=True, checked=True, state=COMPLETED)
        if r == OPEN and g:
            return StateDecision(set_box=False, checked=False, state=OPEN)
        if r == NOT_PLANNED:
            return StateDecision(checked=g, state=r, note="closed as not planned on the tracker; its box is left as it is")
        return StateDecision(checked=g, state=r)
    # Both sides changed.
    if (g and r == COMPLETED) or (not g and r == OPEN):
        return StateDecision(checked=g, state=r)
    if g and r == NOT_PLANNED:
        return StateDecision(checked=True, state=r, note="checked in the guide but closed as not planned on the tracker")
    note = "changed on both sides; the guide wins"
    if g:
        return StateDecision(close=COMPLETED, checked=True, state=COMPLETED, note=note)
    return StateDecision(reopen=True, checked=False, state=OPEN, note=note)


class _Planner:
    def __init__(self, guides: tuple[Guide, ...], state: State, snap: Snapshot, opts: Options):
        self.guides = guides
        self.state = state
        self.snap = snap
        self.opts = opts
        self.problems: list[Problem] = []
        self.ms_numbers: dict[str, int | None] = {}
        self.pushing = opts.mode in ("push", "sync")
        self._unsure_numbers: dict[int, str] = {}
        self.pulling = opts.mode in ("pull", "sync")

    # -- milestones -------------------------------------------------------------------------

    def milestones(self) -> list[MilestoneStep]:
        steps: list[MilestoneStep] = []
        remote = self.snap.milestones
        by_title: dict[str, RemoteMilestone] = {}
        for m in (remote or {}).values():
            if m.title not in by_title or not m.group:
                by_title[m.title] = m
        for guide in self.guides:
            for ms in guide.milestones:
                if not ms.tasks:
                    continue
                desc = milestone_description(ms, guide, self.opts.guide_url(guide.path))
                step = self._milestone(ms, desc, by_title)
                self.ms_numbers[ms.key] = step.number
                steps.append(step)
        return steps

    def _milestone(self, ms: Milestone, desc: str, by_title: Mapping[str, RemoteMilestone]) -> MilestoneStep:
        rec = self.state.milestones.get(ms.key)
        remote = self.snap.milestones
        dhash = content_hash(ms.title, desc)
        notes: tuple[str, ...] = ()
        if rec is not None and (remote is None or rec.number in remote or self.snap.offline):
            title_changed = rec.title != ms.title
            return MilestoneStep(
                ms.key, ms.title, desc, rec.number,
                update_title=title_changed and self.pushing,
                update_description=(rec.hash != dhash) and self.pushing,
            )
        if rec is not None:
            notes = (f"milestone #{rec.number} was deleted on the tracker; it is created again",)
        found = by_title.get(ms.title)
        if found is not None:
            return MilestoneStep(
                ms.key, ms.title, desc, found.number,
                update_description=self.pushing and not found.group and found.description != desc,
                adopted=True, group=found.group, notes=notes,
            )
        return MilestoneStep(ms.key, ms.title, desc, None, notes=notes)

    # -- tasks ------------------------------------------------------------------------------

    def tasks(self) -> list[TaskStep]:
        steps: list[TaskStep] = []
        claimed: dict[int, Task] = {}
        unlinked: list[tuple[Guide, Milestone, Task]] = []
        linked: list[tuple[Guide, Milestone, Task]] = []
        uses: dict[int, int] = defaultdict(int)
        for guide in self.guides:
            for task in guide.tasks:
                if task.link is not None and self.opts.owns_link(task.link.url, task.link.number):
                    uses[task.link.number] += 1
        for guide in self.guides:
            for ms in guide.milestones:
                for task in ms.tasks:
                    if task.link is None:
                        unlinked.append((guide, ms, task))
                        continue
                    n = task.link.number
                    if not self.opts.owns_link(task.link.url, n):
                        self._warn(task, f"the link {task.link.url} is not an issue of this repository; the task is left alone")
                        continue
                    claimed[n] = task
                    if uses[n] > 1:
                        self._error(task, f"issue #{n} is linked by {uses[n]} tasks; none of them is synced until only one keeps the link")
                    else:
                        linked.append((guide, ms, task))
        for guide, ms, task in linked:
            steps.append(self._linked(guide, ms, task, task.link.number, None))  # type: ignore[union-attr]
        # Unlinked tasks: adopt an issue that carries their marker, else create one.
        markers: dict[str, int] = {}
        for n, rec in self.state.records.items():
            if n not in claimed and rec.state != GONE:
                markers.setdefault(rec.key, n)
        for n, issue in sorted(self.snap.issues.items()):
            found = read_marker(issue.body)
            if found and n not in claimed:
                markers[found[1]] = n
        to_create: list[tuple[Guide, Milestone, Task]] = []
        for guide, ms, task in unlinked:
            n = markers.pop(task.key, None)
            if n is not None and n not in self.snap.gone:
                claimed[n] = task
                url = self._url_of(n)
                if url is not None:
                    steps.append(self._linked(guide, ms, task, n, url))
                else:  # never create a second issue for a task the base knows
                    steps.append(TaskStep(task, n, notes=(f"its issue #{n} was not read this run; it is linked again on the next",)))
                continue
            to_create.append((guide, ms, task))
        # Issues whose link never reached the guide: no base record, or one still pending.
        leftovers = {
            n for n in markers.values()
            if n not in claimed and n not in self.snap.gone and n in self.snap.issues
            and (n not in self.state.records or self.state.records[n].pending)
        }
        for guide, ms, task in to_create:
            n = self._similar_leftover(task, ms, leftovers) if leftovers else None
            if n is not None:
                leftovers.discard(n)
                claimed[n] = task
                steps.append(self._linked(guide, ms, task, n, self.snap.issues[n].url))
            else:
                steps.append(self._create(guide, ms, task))
        steps += self._removed(claimed)
        steps += self._unsure(leftovers, claimed)
        for n in sorted(leftovers - set(self.state.records) - set(self._unsure_numbers)):  # pending records are closed as removed
            issue = self.snap.issues[n]
            if issue.state == OPEN:
                self.problems.append(Problem(
                    (read_marker(issue.body) or ("?", ""))[0], None,
                    f"issue #{n} ({issue.title!r}) carries a guidesync marker but no task matches it: left by an "
                    "interrupted run or created from another branch; link it from its task or close it", "warning"))
        return steps

    def _unsure(self, leftovers: set[int], claimed: Mapping[int, Task]) -> list[TaskStep]:
        """Issues this checkout created without hearing back, whose task is gone: closed as removed."""
        steps: list[TaskStep] = []
        unsure = set(self.state.unsure)
        for n, issue in sorted(self.snap.issues.items()):
            found = read_marker(issue.body)
            if not found or found[1] not in unsure or n in self.state.records:
                continue
            self._unsure_numbers[n] = found[1]
            if n in claimed or n not in leftovers:
                continue
            if issue.state == OPEN and self.pushing:
                comment = neutralize(f"guidesync created this issue for a task of {found[0]} that has left the guide "
                                     "since, so it closed the issue as not planned.")
                steps.append(TaskStep(None, n, close=NOT_PLANNED, comment=comment, forget=True,
                                      notes=(f"created by an interrupted run for a task no longer in {found[0]}",)))
        return steps

    def _similar_leftover(self, task: Task, ms: Milestone, leftovers: set[int]) -> int | None:
        """An issue made for this task whose link never reached the guide, and whose task has been
        reworded or moved since (so its marker key no longer matches): in the same guide and
        milestone a close title will do; elsewhere the title must be all but the same."""
        want_ms = self.ms_numbers.get(ms.key)
        text = " ".join(task.text.split()).casefold()
        best, best_score = None, 0.0
        for n in sorted(leftovers):
            issue = self.snap.issues[n]
            found = read_marker(issue.body)
            guide = found[0] if found else (self.state.records[n].guide if n in self.state.records else None)
            same_place = guide == task.guide and (want_ms is None or issue.milestone in (None, want_ms))
            score = SequenceMatcher(None, text, issue.title.replace(ZWSP, "").casefold()).ratio()
            if score >= (SIMILAR_HERE if same_place else SIMILAR_ELSEWHERE) and score > best_score:
                best, best_score = n, score
        return best

    def _url_of(self, number: int) -> str | None:
        issue = self.snap.issues.get(number)
        return issue.url if issue else None

    def _content(self, guide: Guide, ms: Milestone, task: Task) -> IssueContent:
        return render_issue(task, guide, ms, self.opts.guide_url(guide.path), dict(self.opts.limits))

    def _create(self, guide: Guide, ms: Milestone, task: Task) -> TaskStep:
        content = self._content(guide, ms, task)
        if not self.pushing:
            return TaskStep(task, None, content, ms.key, notes=("not on the tracker yet (push creates it)",))
        close = COMPLETED if task.checked else None
        record = Record(task.guide, task.key, task.checked, COMPLETED if close else OPEN, content.hash, None)
        fallback = replace(record, checked=False, state=OPEN)
        return TaskStep(task, None, content, ms.key, create=True, close=close, record=record, fallback=fallback)

    def _linked(self, guide: Guide, ms: Milestone, task: Task, n: int, adopt_url: str | None) -> TaskStep:
        rec = self.state.records.get(n)
        remote = self.snap.issues.get(n)
        content = self._content(guide, ms, task)
        if n in self.snap.gone or (remote is None and rec is not None and rec.state == GONE):
            gone_rec = Record(task.guide, task.key, task.checked, GONE, rec.hash if rec else "", rec.milestone if rec else None)
            return TaskStep(task, n, content, ms.key, record=gone_rec, fallback=gone_rec,
                            notes=(f"issue #{n} was deleted or moved away on the tracker; remove its link to create a new issue",))
        if remote is None and rec is None:
            return TaskStep(task, n, content, ms.key, notes=("not checked against the tracker (offline)",))
        r_state = remote.state if remote is not None else rec.state  # type: ignore[union-attr]
        base = (rec.checked, rec.state) if rec is not None and rec.state != GONE else None
        d = decide_state(task.checked, r_state, base)
        notes = [d.note] if d.note else []
        # Content flows from the guide to the tracker.
        want_ms = self.ms_numbers.get(ms.key)
        remote_key = read_marker(remote.body)[1] if remote is not None and read_marker(remote.body) else None
        if rec is not None and rec.state != GONE:
            # The marker tells what the issue last received: a run that died after updating it but
            # before writing the base left the base's hash behind.
            content_changed = (rec.hash != content.hash or want_ms is None or rec.milestone != want_ms
                               or (remote_key is not None and remote_key != task.key))
        elif remote is not None:
            content_changed = (
                want_ms is None or remote.title != content.title or remote.body.rstrip() != content.body.rstrip()
                or remote.milestone != want_ms
            )
        else:
            content_changed = True
        missing_label = remote is not None and not set(self.opts.labels) <= set(remote.labels)
        if missing_label:
            notes.append("its guidesync label was removed on the tracker; it is added back")
        update = self.pushing and (content_changed or missing_label)
        labels = tuple(remote.labels) + tuple(l for l in self.opts.labels if l not in remote.labels) if missing_label and remote else None
        close = d.close if self.pushing else None
        reopen = d.reopen and self.pushing
        set_box = d.set_box if self.pulling else None
        state_ok = (d.close is None or close is not None) and (not d.reopen or reopen) and (d.set_box is None or set_box is not None)
        new_hash = content.hash if update or not content_changed else (rec.hash if rec else "")
        new_ms = want_ms if update or not content_changed else (rec.milestone if rec else None)
        if state_ok:
            record = Record(task.guide, task.key, d.checked, d.state, new_hash, new_ms)
        elif base is not None:
            record = Record(task.guide, task.key, base[0], base[1], new_hash, new_ms)
        else:
            record = Record(task.guide, task.key, False, OPEN, new_hash, new_ms)
        fallback = Record(task.guide, task.key, base[0], base[1], rec.hash, rec.milestone) if rec is not None and base is not None else (
            Record(task.guide, task.key, False, OPEN, rec.hash if rec else "", rec.milestone if rec else None)
        )
        if not state_ok:
            missing = "the tracker" if not self.pushing else "the guide"
            notes.append(f"a change waits for a sync that writes {missing}")
        return TaskStep(
            task, n, content, ms.key,
            adopt_url=adopt_url,
            update=update,
            labels=labels if update else None,
            close=close,
            reopen=reopen,
            set_box=set_box,
            record=record,
            fallback=fallback,
            notes=tuple(notes),
        )

    def _removed(self, claimed: Mapping[int, Task]) -> list[TaskStep]:
        in_scope = {g.path for g in self.guides}
        steps: list[TaskStep] = []
        for n, rec in sorted(self.state.records.items()):
            if n in claimed:
                continue
            if rec.guide in self.opts.frozen_guides or (rec.guide not in in_scope and not self.opts.all_guides):
                continue
            if not self.pushing:
                steps.append(TaskStep(None, n, record=rec, fallback=rec, notes=(f"left the guide {rec.guide} (push closes its issue)",)))
                continue
            remote = self.snap.issues.get(n)
            r = remote.state if remote is not None else rec.state
            if self.opts.on_removed == "close" and r == OPEN and n not in self.snap.gone:
                comment = neutralize(
                    f"This task was removed from the guide {rec.guide}, so guidesync closed this issue as not planned."
                )
                steps.append(TaskStep(None, n, close=NOT_PLANNED, comment=comment, forget=True, fallback=rec,
                                      notes=(f"left the guide {rec.guide}",)))
            else:
                steps.append(TaskStep(None, n, forget=True, fallback=rec, notes=(f"left the guide {rec.guide}; issue kept",)))
        return steps

    # -- guards -----------------------------------------------------------------------------

    def guards(self, steps: list[TaskStep]) -> list[str]:
        out: list[str] = []
        closing = [s for s in steps if s.close and not s.create]
        if len(closing) > self.opts.max_close:
            out.append(
                f"this run would close {len(closing)} issues (max_close is {self.opts.max_close}); "
                "check the guides, then run again with --force"
            )
        linked_now: dict[str, int] = defaultdict(int)
        for guide in self.guides:
            linked_now[guide.path] = sum(1 for t in guide.tasks if t.link is not None)
        had: dict[str, int] = defaultdict(int)
        for rec in self.state.records.values():
            had[rec.guide] += 1
        dropping: dict[str, int] = defaultdict(int)
        for s in steps:
            if s.forget and s.fallback is not None:
                dropping[s.fallback.guide] += 1
        for path, count in sorted(dropping.items()):
            if linked_now.get(path, 0) == 0 and had[path] > 0:
                out.append(
                    f"{path} had {had[path]} linked tasks and now has none (deleted, truncated or mis-merged?); "
                    "run again with --force if that is intended"
                )
        return out

    def _warn(self, task: Task, message: str) -> None:
        self.problems.append(Problem(task.guide, task.line, message, "warning"))

    def _error(self, task: Task, message: str) -> None:
        self.problems.append(Problem(task.guide, task.line, message, "error"))


def make_plan(guides: tuple[Guide, ...] | list[Guide], state: State, snapshot: Snapshot, options: Options) -> Plan:
    """Decide everything a run would do. Pure."""
    if options.mode not in MODES:
        raise ValueError(f"unknown mode {options.mode!r}")
    planner = _Planner(tuple(guides), state, snapshot, options)
    ms_steps = planner.milestones() if planner.pushing else []
    if not planner.pushing:
        for guide in planner.guides:
            for ms in guide.milestones:
                rec = state.milestones.get(ms.key)
                planner.ms_numbers[ms.key] = rec.number if rec else None
    steps = planner.tasks()
    guards = planner.guards(steps)
    needs_label = planner.pushing and not state.label and any(s.create for s in steps)
    found = dict(planner._unsure_numbers)
    return Plan(tuple(ms_steps), tuple(steps), needs_label, tuple(planner.problems), tuple(guards), found)
