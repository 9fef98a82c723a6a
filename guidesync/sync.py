"""One run: read the tracker, plan, carry the plan out, write guides and base back.

Order of effects, so that any crash leaves a state the next run converges from:
1. read everything (:mod:`guidesync.fetch`; listings fail -> nothing is written);
2. tracker writes (each issue created carries a marker, so a lost response is adopted next run);
3. the journal, when issues were (or may have been) created: the old base plus those issues;
4. guide write-back (atomic, refused if the file changed meanwhile);
5. base write (atomic), recording only what really happened.

The executor says what became of each step; the guide edits and the bases to write follow from
the plan and those outcomes alone (:mod:`guidesync.core.outcome`); the base file is written by its
store (:mod:`guidesync.store`).
"""

from __future__ import annotations

from .errors import Ambiguous, Auth, Conflict, Forbidden, Gone, NotFound, RunError

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Callable

from .fetch import SINCE_OVERLAP
from .guides import LoadedGuide
from .core.outcome import (Fetched, MilestoneOutcome, Outcomes, RunEnd, StepOutcome, guide_edits, journal, listings_written,
                      next_base)
from .core.planmodel import COUNT_KEYS, EVENT_COUNTS
from .metadata import Blocked, Fields, known_blockers, record_blockers, task_index
from .core.render import content_hash, with_blockers
from .projects import ProjectResult, sync_project, tasks_of
from .trackers.projects import ProjectsClient
from .subissues import Attached, attach_children
from .core.plan import MilestoneStep, Plan, Snapshot, TaskStep
from .core.render import read_marker
from .core.base import Base
from .store import BaseStore
from .trackers.base import UNSET, BudgetExhausted, RemoteIssue, Tracker, TrackerError
from .core.edit import Edit, Insert, WritebackError, apply_edits
from .writeback import ConcurrentEdit, replace_file


class Fatal(RunError):
    """The run cannot go on (bad token, unknown repository, …)."""


@dataclass
class Event:
    action: str  # created, adopted, updated, closed, reopened, commented, checked, unchecked, linked, forgotten, milestone_created, milestone_updated
    issue: int | None = None
    url: str | None = None
    guide: str | None = None
    line: int | None = None
    title: str | None = None
    detail: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class RunResult:
    mode: str
    dry_run: bool
    plan: Plan
    events: list[Event] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    guides_changed: list[str] = field(default_factory=list)
    state_changed: bool = False
    complete: bool = True
    full_listing: bool = False

    def counts(self) -> dict[str, int]:
        """What the run did, in the plan's counts vocabulary, plus the links written and guides changed."""
        out = {k: 0 for k in COUNT_KEYS}
        out["linked"] = 0
        for e in self.events:
            key = EVENT_COUNTS.get(e.action, e.action)
            if key in out:
                out[key] += 1
        out["guides_changed"] = len(self.guides_changed)
        return out


class Executor:
    """Carries out a plan through a tracker; :meth:`outcomes` says what actually happened."""

    def __init__(self, plan: Plan, tracker: Tracker, labels: tuple[str, ...], result: RunResult, *,
                 label: bool = False, progress: Callable[[int, int], None] | None = None, started: datetime | None = None,
                 snapshot: Snapshot | None = None, known_labels: tuple[str, ...] = (), base: Base | None = None,
                 project: Any = None):
        self.started = started  # tracker time when the run began: issues it creates are newer
        self.plan = plan
        self.tracker = tracker
        self.labels = labels
        self.result = result
        self.progress = progress
        self.label_ok = label  # the managed label is known to exist
        self.stopped = False
        self.tasks: dict[int, StepOutcome] = {}  # by step index: what happened
        self.milestones: dict[str, MilestoneOutcome] = {}
        self.attached = Attached(mode=tracker.hierarchy_mode)
        self.blocked = Blocked()
        self.fields = Fields(tracker, snapshot or Snapshot(), result.warnings.append)
        self.known_labels = set(known_labels)  # labels of the guides' fields known to exist
        self.named: dict[int, str] = {}  # issues created naming blockers made earlier in the run: their hash
        self._index: dict[str, int] | None = None  # task key -> step index, made once when a blocker needs it
        self.base = base or Base()
        self.project_settings = project  # ``project:`` of the configuration (GitHub only), or None
        self.project: ProjectResult | None = None

    def outcomes(self) -> Outcomes:
        """What happened so far (all of it once :meth:`run` returned)."""
        return Outcomes(dict(self.tasks), dict(self.milestones), self.label_ok, dict(self.attached.parents),
                        self.attached.mode, frozenset(self.attached.gone),
                        {**self.named, **self.attached.listed, **self.blocked.listed}, dict(self.blocked.recorded),
                        dict(getattr(self.tracker, "capabilities", {}) or {}), tuple(sorted(self.known_labels)),
                        *self._project_outcome())

    def _project_outcome(self) -> tuple[dict[str, Any] | None, dict[int, tuple[str | None, str | None, str | None]]]:
        if self.project is None:
            return None, {}
        return self.project.project, {n: (st.item, st.status, st.date) for n, st in self.project.states.items()}

    def _fail(self, exc: Exception, what: str) -> str:
        """Report a failed write; what it means for the rest of the run. Returns the message."""
        if isinstance(exc, BudgetExhausted):
            self.stopped = True
            self.result.complete = False
            self.result.warnings.append(str(exc))
            return str(exc)
        assert isinstance(exc, TrackerError)
        if isinstance(exc, Auth):
            raise Fatal(str(exc)) from None
        if isinstance(exc, Forbidden) and not self.stopped:
            # No permission (read-only token, archived repository): every further write would fail alike.
            self.stopped = True
            message = f"{what}: {exc}; no further tracker writes in this run"
        elif isinstance(exc, Ambiguous):
            again = "finds it by its title" if what.startswith("milestone") else "finds the issue by its marker"
            message = f"{what}: the answer was lost ({exc}); the next run {again}"
        else:
            message = f"{what}: {exc}"
        self.result.errors.append(message)
        return message

    def run(self) -> None:
        self._label()
        for ms in self.plan.milestones:
            if self.stopped:
                self.milestones[ms.key] = MilestoneOutcome(ms.number)
                continue
            self._milestone(ms)
        total = sum(1 for s in self.plan.tasks if s.tracker_writes)
        done = 0
        for i, step in enumerate(self.plan.tasks):
            if step.tracker_writes:
                done += 1
                if self.progress:
                    self.progress(done, total)
            if self.stopped and step.tracker_writes:
                self.tasks[i] = StepOutcome(error="not tried: the run's tracker writes had stopped")
                continue
            self._task(i, step)
        self._imports()
        if (self.plan.parents or self.plan.detach) and not self.stopped:
            self.attached = attach_children(self.plan, self.tracker, self.tasks, warn=self.result.warnings.append,
                                            fail=self._fail, stopped=lambda: self.stopped)
            for child, parent in self.attached.events:
                self.result.events.append(Event("attached", child, detail=f"sub-issue of #{parent}"))
            for parent, child in self.attached.detached:
                self.result.events.append(Event("detached", child, detail=f"no longer a sub-issue of #{parent}"))
            for parent in self.attached.listed:
                self.result.events.append(Event("updated", parent, detail="its body lists its sub-items"))
        if not self.stopped and any(s.blockers or (s.record is not None and s.record.blocked_by) for s in self.plan.tasks):
            self.blocked = record_blockers(self.plan, self.tracker, self.tasks, warn=self.result.warnings.append,
                                           fail=self._fail, stopped=lambda: self.stopped, named=frozenset(self.named))
            for n, what in self.blocked.events:
                self.result.events.append(Event("updated" if what.startswith("its body") else "blocked", n, detail=what))
        if self.project_settings is not None and not self.stopped and self.tracker.name == "github":
            self._project()

    def _imports(self) -> None:
        """Issues opened on the tracker that join a guide: each gets the managed and "imported"
        labels (the mark no other run imports it by), then its line is written with the guides."""
        for k, imp in enumerate(self.plan.imports):
            if self.stopped:
                break
            if imp.waits:  # a push sees it; a pull or sync imports it
                continue
            i = len(self.plan.tasks) + k
            try:
                if imp.label is not None:
                    now = self.fields.snapshot.issues.get(imp.number)
                    for label in imp.label:
                        if now is not None and label in now.labels:
                            continue
                        if label not in self.known_labels and label not in self.labels:
                            self.tracker.ensure_label(label)
                            self.known_labels.add(label)
                    self.tracker.update_issue(imp.number, labels=imp.label)
            except (TrackerError, BudgetExhausted) as exc:
                self._fail(exc, f"{imp.guide}: importing issue #{imp.number}")
                continue
            self.tasks[i] = StepOutcome(done=True, imported=True)
            self.result.events.append(Event("imported", imp.number, imp.url, imp.guide, imp.after + 1, imp.title))

    def _project(self) -> None:
        """The project (v2) phase, after every issue write: never fails the issue sync."""
        created = {i: o.created.number for i, o in self.tasks.items() if o.created is not None}
        items = tasks_of(self.plan, created, self.base.records)
        self.project = sync_project(ProjectsClient(self.tracker, self.project_settings, self.base.project),  # type: ignore[arg-type]
                                    self.base.project, items)
        self.result.warnings.extend(self.project.warnings)
        for n in self.project.added:
            self.result.events.append(Event("added_to_project", n))

    def _label(self) -> None:
        if self.plan.ensure_label and not self.label_ok:
            try:
                for label in self.labels:
                    self.tracker.ensure_label(label)
                self.label_ok = True
            except (TrackerError, BudgetExhausted) as exc:
                self._fail(exc, "creating the label")
        for label in self.plan.new_labels:  # named by the guides' fields: made once, then known
            if label in self.known_labels or self.stopped:
                continue
            try:
                self.tracker.ensure_label(label)
                self.known_labels.add(label)
            except (TrackerError, BudgetExhausted) as exc:
                self._fail(exc, f"creating the label {label!r}")

    def _milestone(self, ms: MilestoneStep) -> None:
        # Recorded as each write happens: whatever stops the run (a Fatal, the process killed), the
        # base learns what did happen.
        self.milestones[ms.key] = MilestoneOutcome(ms.number)
        try:
            if ms.create:
                try:
                    dates = {k: v for k, v in (("due", ms.due), ("start", ms.start)) if v is not None}
                    remote = self.tracker.create_milestone(ms.title, ms.description, **dates)
                except TrackerError as exc:
                    if not isinstance(exc, Conflict):
                        raise
                    remote = self._existing_milestone(ms.title)
                self.milestones[ms.key] = MilestoneOutcome(remote.number)
                # named by the number people see (a GitLab milestone's iid, not its global id)
                self.result.events.append(Event("milestone_created", remote.shown or remote.number, title=ms.title))
            elif ms.update_title or ms.update_description or ms.update_dates:
                self.tracker.update_milestone(
                    ms.number,  # type: ignore[arg-type]
                    **({"title": ms.title} if ms.update_title else {}),
                    **({"description": ms.description} if ms.update_description else {}),
                    **({"due": ms.due, "start": ms.start} if ms.update_dates else {}),
                )
                self.result.events.append(Event("milestone_updated", title=ms.title))
            number = self.milestones[ms.key].number
            if number is not None:
                self.milestones[ms.key] = MilestoneOutcome(number, replace(ms, number=number).record)
        except (TrackerError, BudgetExhausted) as exc:
            if ms.create:  # a number the tracker no longer has must not be kept
                self.milestones[ms.key] = replace(self.milestones[ms.key], dropped=True)
            self._fail(exc, f"milestone {ms.title!r}")

    def _ms_number(self, key: str | None) -> int | None:
        ms = self.milestones.get(key or "")
        return None if ms is None else ms.number

    def _create(self, step: TaskStep, milestone: int, where: str) -> RemoteIssue:
        """Create the issue; if the answer is lost, look for it by its marker before giving up
        (re-raising the lost answer: the caller marks the creation unsure)."""
        assert step.content is not None and step.task is not None
        try:
            kw: dict[str, Any] = {"task": True} if self.plan.parents and step.task is not None and step.task.parent else {}
            fields = self.fields.for_create(step)
            labels = self.labels + tuple(x for x in (step.fields.add_labels if step.fields else ()) if x not in self.labels)
            body, named = step.content.body, None
            if any(number is None for _, number in step.blockers):
                # a blocker created earlier in this run: its number is known now, so the body names it
                if self._index is None:
                    self._index = task_index(self.plan)
                numbers = known_blockers(self.plan, step, self.tasks, self._index)
                if numbers is not None:
                    body = with_blockers(body, numbers)
                    named = content_hash(step.content.title, body)
            issue = self.tracker.create_issue(step.content.title, body, milestone, labels, **kw, **fields)
            if named is not None:
                self.named[issue.number] = named
            self.fields.kept(step, fields, issue)
            return issue
        except TrackerError as exc:
            if not isinstance(exc, Ambiguous):
                raise
            found = self._find_by_marker(step.task.key)
            if found is None:
                raise
            self.result.warnings.append(f"{where}: the answer to its creation was lost; found it as #{found.number} by its marker")
            return found

    def _find_by_marker(self, key: str) -> RemoteIssue | None:
        since = self.started - SINCE_OVERLAP if self.started else None
        try:
            listing = self.tracker.list_issues(self.labels[0], since, {})
        except (TrackerError, BudgetExhausted):
            return None
        for issue in listing.items or ():
            found = read_marker(issue.body)
            if found and found[1] == key:
                return issue
        return None

    def _existing_milestone(self, title: str):
        listing = self.tracker.list_milestones({})
        for m in listing.items or ():
            if m.title == title:
                return m
        raise TrackerError("invalid", f"milestone {title!r} exists but cannot be found")

    def _task(self, i: int, step: TaskStep) -> None:
        # Recorded as each write happens, like a milestone's (an issue created is never forgotten).
        self.tasks[i] = StepOutcome()
        task = step.task
        where = f"{task.guide}:{task.line + 1}" if task else f"issue #{step.number}"
        guide = task.guide if task else None
        n = step.number
        try:
            # a step's writes (a comment and a close) go out together or not at all in this run
            self.tracker.policy.room(step.tracker_writes)
            if step.create:
                assert step.content is not None
                ms = self._ms_number(step.milestone_key)
                if ms is None:
                    message = f"{where}: not created, its milestone could not be created"
                    self.result.errors.append(message)
                    self.tasks[i] = StepOutcome(error=message)
                    return
                issue = self._create(step, ms, where)
                self.tasks[i] = StepOutcome(created=issue)
                n = issue.number
                self.result.events.append(Event("created", n, issue.url, guide, task.line if task else None, step.content.title))
            elif step.update:
                self._update(step, guide)
            if step.comment and n is not None:
                self._comment(n, step.comment, where)
            if step.close and n is not None:
                self.tracker.close_issue(n, step.close)
                self.tasks[i] = replace(self.tasks[i], closed=True)
                self.result.events.append(Event("closed", n, detail=step.close, guide=guide))
            if step.reopen and n is not None:
                self.tracker.reopen_issue(n)
                self.result.events.append(Event("reopened", n, guide=guide))
            if step.forget:
                self.result.events.append(Event("forgotten", n, detail="; ".join(step.notes) or None))
            self.tasks[i] = replace(self.tasks[i], done=True)
        except (TrackerError, BudgetExhausted) as exc:
            if isinstance(exc, (Gone, NotFound)) and n is not None and not step.create:
                message = f"{where}: issue #{n} was deleted or moved away on the tracker; remove its link to create a new issue"
                self.result.warnings.append(message)
                self.tasks[i] = replace(self.tasks[i], gone=True, error=message)
                return
            if step.create and self.tasks[i].created is None and isinstance(exc, Ambiguous):
                self.tasks[i] = replace(self.tasks[i], unsure=True)  # remembered in the base: the next run looks for it
            self.tasks[i] = replace(self.tasks[i], error=self._fail(exc, where))

    def _update(self, step: TaskStep, guide: str | None) -> None:
        assert step.content is not None and step.number is not None
        fields = self.fields.for_update(step, step.labels)
        # The milestone only when it changes: the issue's as last listed, else as last written. A
        # milestone gone from a changed-only listing (a GitLab milestone promoted to the group
        # took its issues along) is never sent back: GitLab would silently clear it.
        milestone = self._ms_number(step.milestone_key)
        listed = self.fields.snapshot.issues.get(step.number)
        now = listed.milestone if listed is not None else (step.record.milestone if step.record is not None else UNSET)
        answer = self.tracker.update_issue(
            step.number, title=step.content.title, body=step.content.body,
            **({} if now == milestone else {"milestone": milestone}), **fields,
        )
        self.fields.kept(step, fields, answer)
        self.result.events.append(Event("updated", step.number, guide=guide, title=step.content.title))

    def _comment(self, n: int, text: str, where: str) -> None:
        try:
            self.tracker.comment(n, text)
        except TrackerError as exc:
            if not isinstance(exc, Forbidden):  # e.g. a locked issue: close it all the same
                raise
            self.result.warnings.append(f"{where}: the comment was refused ({exc}); closing it anyway")


def write_guides(edits: dict[str, list[tuple[int, Edit | Insert]]], loaded: dict[str, LoadedGuide], result: RunResult,
                 plan: Plan) -> set[int]:
    """Apply the edits, one atomic write per guide. Returns the indexes of the steps written."""
    written: set[int] = set()
    for path, items in sorted(edits.items()):
        lg = loaded[path]
        try:
            new_text = apply_edits(lg.text, [e for _, e in items])
            if replace_file(lg.file, new_text.encode("utf-8"), lg.raw):
                result.guides_changed.append(path)
            written.update(i for i, _ in items)
        except ConcurrentEdit as exc:
            result.errors.append(str(exc))
        except (WritebackError, OSError) as exc:
            result.errors.append(f"{path}: not written: {exc}")
        for i, e in items:
            if i in written and not isinstance(e, Insert):  # an import's own event says it
                if e.link is not None:
                    result.events.append(Event("linked", e.link.number, e.link.url, path, e.line))
                if e.checked is not None and (e.link is None or e.checked):
                    number = e.link.number if e.link else plan.tasks[i].number
                    result.events.append(Event("checked" if e.checked else "unchecked", number, guide=path, line=e.line))
    return written


@dataclass(frozen=True)
class RunOptions:
    """How a run writes, besides the plan, the tracker and the base."""

    labels: tuple[str, ...]  # the managed label first
    tracker_name: str  # recorded in the base: "github" or "gitlab"
    repository: str
    progress: Callable[[int, int], None] | None = None  # (tracker writes done, total)
    quiet: bool = False  # a plan in both directions found nothing to do (the listing mark may move up)
    hold_mark: bool = False  # a run over some guides only: the listing mark stays
    project: Any = None  # ``project:`` of the configuration (GitHub Projects v2), or None
    imports: str | None = None  # the ``import_issues`` mode (kept in the base)


def execute(plan: Plan, *, tracker: Tracker, store: BaseStore, fetched: Fetched, loaded: list[LoadedGuide],
            result: RunResult, options: RunOptions) -> RunResult:
    """Carry out ``plan`` and write everything back, in the order the module docstring gives
    (whatever stops the tracker writes, what did happen is written). The caller holds the run lock."""
    base = store.base
    ex = Executor(plan, tracker, options.labels, result, label=base.label, progress=options.progress,
                  started=fetched.server_time, snapshot=fetched.snapshot, known_labels=base.labels, base=base,
                  project=options.project)
    try:
        ex.run()
    finally:
        outcomes = ex.outcomes()
        # the window moves only with writes: a run that wrote nothing keeps the base's bytes
        content = tracker.policy.content_kept() if tracker.policy.stats.writes else None
        end = RunEnd(options.tracker_name, options.repository, quiet=options.quiet, hold_mark=options.hold_mark,
                     imports=options.imports, content=content)
        early = journal(plan, base, outcomes, end)
        if early is not None:
            # Journal first: if the process dies while the guides are written, the next run still
            # knows every issue this one created (as pending) and every creation it is unsure of.
            _save(store, early, result)
        edits, warnings = guide_edits(plan, outcomes, tracker.issue_number_from_url)
        result.warnings.extend(warnings)
        by_path = {lg.guide.path: lg for lg in loaded}
        outcomes = outcomes.with_written(write_guides(edits, by_path, result, plan))
        end = replace(end, repository_url=getattr(tracker, "repository_url", None), errors=bool(result.errors),
                      complete=result.complete, wrote=listings_written(e.action for e in result.events))
        _save(store, next_base(plan, base, outcomes, fetched, end), result)
        result.state_changed = store.changed
    return result


def _save(store: BaseStore, base: Base, result: RunResult) -> None:
    error = store.save(base)
    if error is not None:
        result.errors.append(error)
