"""One run: read the tracker, plan, carry the plan out, write guides and base back.

Order of effects, so that any crash leaves a state the next run converges from:
1. read everything (listings fail -> nothing is written);
2. tracker writes (each issue created carries a marker, so a lost response is adopted next run);
3. guide write-back (atomic, refused if the file changed meanwhile);
4. base write (atomic), recording only what really happened.
"""

from __future__ import annotations

from .errors import Ambiguous, Auth, Conflict, Forbidden, Gone, NotFound, RunError

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable

from .guides import LoadedGuide
from .model import IssueLink, plain_url
from .plan import MilestoneStep, Plan, Snapshot, TaskStep
from .render import read_marker
from .state import GONE, REMOVED, MilestoneRecord, Record, State, dumps, format_time, parse_time
from .trackers.base import BudgetExhausted, RemoteIssue, Tracker, TrackerError
from .writeback import ConcurrentEdit, Edit, WritebackError, apply_edits, replace_file

#: Listings start this long before the newest change seen, so clock skew between the tracker's
#: servers cannot hide a change.
SINCE_OVERLAP = timedelta(seconds=120)
TRACKER_WRITES = frozenset({"created", "updated", "closed", "reopened", "milestone_created", "milestone_updated"})


class Fatal(RunError):
    """The run cannot go on (bad token, unknown repository, …)."""


@dataclass(frozen=True)
class Fetched:
    snapshot: Snapshot
    etags: dict[str, str]
    since: str | None
    full_at: str | None
    full: bool
    server_time: datetime | None = None  # the tracker's clock when this run started reading
    since_if_quiet: str | None = None  # the mark to keep when the run finds nothing to do


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
        keys = ("created", "adopted", "updated", "closed", "reopened", "checked", "unchecked", "linked", "forgotten",
                "milestone_created", "milestone_updated")
        out = {k: 0 for k in keys}
        for e in self.events:
            if e.action in out:
                out[e.action] += 1
        out["guides_changed"] = len(self.guides_changed)
        return out


def full_listing_due(state: State, hours: float, now: datetime | None) -> bool:
    if state.since is None:
        return True
    if hours <= 0 or now is None:
        return False
    last = parse_time(state.full_at)
    return last is None or now - last >= timedelta(hours=hours)


def fetch(tracker: Tracker, state: State, label: str, linked: set[int], *, full: bool, full_sync_hours: float,
          keys: set[str] | None = None) -> Fetched:
    """Read what the plan needs, in as few requests as the base allows.

    ``linked``: issue numbers every guide links (so a record no guide links is read, whatever its guide);
    ``keys``: the keys of tasks without a link (a removed task typed in again finds its old issue).
    ``--full`` sends no ETags, so nothing is taken on trust."""
    etags = {} if full else state.etags
    ms_etags = {k: v for k, v in etags.items() if k.startswith("milestones")}
    ms = tracker.list_milestones(ms_etags)
    now = ms.server_time
    use_full = full or full_listing_due(state, full_sync_hours, now)
    since = None if use_full else parse_time(state.since)
    # A full listing is the check that nothing was missed: it takes nothing on trust (no ETag).
    issue_etags = {} if use_full else {k: v for k, v in etags.items() if k.startswith("issues")}
    listing = tracker.list_issues(label, since, issue_etags)
    issues: dict[int, RemoteIssue] = {i.number: i for i in listing.items or ()}
    def settled(r: Record) -> bool:  # nothing to learn about it unless a task links it
        return r.state in (GONE, REMOVED) or r.unmanaged

    need = {n for n in linked if n not in issues and (n not in state.records or state.records[n].state == REMOVED
                                                      or state.records[n].unmanaged)}
    need |= {n for n, r in state.records.items() if r.state == REMOVED and keys and r.key in keys and n not in issues}
    # Records no guide links any more: a task whose link was lost (adopted again by its key) or
    # a removed task (closed if still open). Either way the plan needs the issue as it is now.
    need |= {
        n for n, r in state.records.items()
        if n not in linked and n not in issues and not settled(r)
    }  # ``linked`` covers every guide, so these are few: removed tasks, lost links, tasks moved without them
    if use_full:
        # Managed issues missing from a full listing lost their label, or were deleted or moved.
        need |= {n for n, r in state.records.items() if n not in issues and not settled(r)}
    gone: set[int] = set()
    for n in sorted(need):
        found = tracker.get_issue(n)
        if found is None:
            gone.add(n)
        else:
            issues[n] = found
    if listing.items:
        newest = max((i.updated_at for i in listing.items if i.updated_at), default=None)
        since_next = format_time(newest - SINCE_OVERLAP) if newest else state.since
    elif listing.items is None or state.since is not None:
        since_next = state.since
    else:
        t = listing.server_time or now
        since_next = format_time(t - SINCE_OVERLAP) if t else None
    milestones = None if ms.items is None else {m.number: m for m in ms.items}
    etags = {**ms.etags, **listing.etags}
    snapshot = Snapshot(issues=issues, milestones=milestones, gone=frozenset(gone), complete=use_full)
    full_at = format_time(listing.server_time or now) if use_full else state.full_at
    # If the plan finds nothing to do about what was listed, nothing changed up to the listing's
    # own time: the mark may move up to it (else a burst of writes is listed again run after run).
    quiet = None
    if listing.items and listing.server_time is not None:
        last = parse_time(since_next)
        quiet = format_time(max(listing.server_time - SINCE_OVERLAP, last) if last else listing.server_time - SINCE_OVERLAP)
    return Fetched(snapshot, etags, since_next, full_at, use_full, now or listing.server_time, quiet)


class Executor:
    """Carries out a plan through a tracker; remembers what actually happened."""

    def __init__(self, plan: Plan, tracker: Tracker, state: State, labels: tuple[str, ...], result: RunResult,
                 progress: Callable[[int, int], None] | None = None, started: datetime | None = None):
        self.started = started  # tracker time when the run began: issues it creates are newer
        self.plan = plan
        self.tracker = tracker
        self.state = state
        self.labels = labels
        self.result = result
        self.progress = progress
        self.ms_numbers: dict[str, int | None] = {}
        self.ms_records: dict[str, MilestoneRecord] = dict(
            state.milestones if plan.milestone_records is None else plan.milestone_records)
        self.label_ok = state.label
        self.stopped = False
        # per step index: what happened
        self.created: dict[int, RemoteIssue] = {}
        self.ok: dict[int, bool] = {}
        self.closed_ok: dict[int, bool] = {}
        self.gone: set[int] = set()
        self.unsure: set[str] = set()

    def _fail(self, exc: Exception, what: str) -> None:
        if isinstance(exc, BudgetExhausted):
            self.stopped = True
            self.result.complete = False
            self.result.warnings.append(str(exc))
            return
        assert isinstance(exc, TrackerError)
        if isinstance(exc, Auth):
            raise Fatal(str(exc)) from None
        if isinstance(exc, Forbidden) and not self.stopped:
            # No permission (read-only token, archived repository): every further write would fail alike.
            self.stopped = True
            self.result.errors.append(f"{what}: {exc}; no further tracker writes in this run")
            return
        if isinstance(exc, Ambiguous):
            again = "finds it by its title" if what.startswith("milestone") else "finds the issue by its marker"
            self.result.errors.append(f"{what}: the answer was lost ({exc}); the next run {again}")
        else:
            self.result.errors.append(f"{what}: {exc}")

    def run(self) -> None:
        self._label()
        for ms in self.plan.milestones:
            if self.stopped:
                self.ms_numbers[ms.key] = ms.number
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
                self.ok[i] = False
                continue
            self.ok[i] = self._task(i, step)

    def _label(self) -> None:
        if not self.plan.ensure_label or self.label_ok:
            return
        try:
            for label in self.labels:
                self.tracker.ensure_label(label)
            self.label_ok = True
        except (TrackerError, BudgetExhausted) as exc:
            self._fail(exc, "creating the label")

    def _milestone(self, ms: MilestoneStep) -> None:
        self.ms_numbers[ms.key] = ms.number
        try:
            if ms.create:
                try:
                    remote = self.tracker.create_milestone(ms.title, ms.description)
                except TrackerError as exc:
                    if not isinstance(exc, Conflict):
                        raise
                    remote = self._existing_milestone(ms.title)
                self.ms_numbers[ms.key] = remote.number
                # named by the number people see (a GitLab milestone's iid, not its global id)
                self.result.events.append(Event("milestone_created", remote.shown or remote.number, title=ms.title))
            elif ms.update_title or ms.update_description:
                self.tracker.update_milestone(
                    ms.number,  # type: ignore[arg-type]
                    **({"title": ms.title} if ms.update_title else {}),
                    **({"description": ms.description} if ms.update_description else {}),
                )
                self.result.events.append(Event("milestone_updated", title=ms.title))
            number = self.ms_numbers[ms.key]
            if number is not None:
                self.ms_records[ms.key] = MilestoneRecord(number, ms.title, replace(ms, number=number).record.hash)  # type: ignore[union-attr]
        except (TrackerError, BudgetExhausted) as exc:
            if ms.create:
                self.ms_records.pop(ms.key, None)  # a number the tracker no longer has must not be kept
            self._fail(exc, f"milestone {ms.title!r}")

    def _create(self, step: TaskStep, milestone: int, where: str) -> RemoteIssue:
        """Create the issue; if the answer is lost, look for it by its marker before giving up."""
        assert step.content is not None and step.task is not None
        try:
            return self.tracker.create_issue(step.content.title, step.content.body, milestone, self.labels)
        except TrackerError as exc:
            if not isinstance(exc, Ambiguous):
                raise
            found = self._find_by_marker(step.task.key)
            if found is None:
                self.unsure.add(step.task.key)  # remembered in the base: the next run looks for it
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

    def _task(self, i: int, step: TaskStep) -> bool:
        task = step.task
        where = f"{task.guide}:{task.line + 1}" if task else f"issue #{step.number}"
        n = step.number
        try:
            if step.create:
                assert step.content is not None
                ms = self.ms_numbers.get(step.milestone_key or "")
                if ms is None:
                    self.result.errors.append(f"{where}: not created, its milestone could not be created")
                    return False
                issue = self._create(step, ms, where)
                self.created[i] = issue
                n = issue.number
                self.result.events.append(Event("created", n, issue.url, task.guide if task else None, task.line if task else None, step.content.title))
            elif step.update:
                assert step.content is not None and n is not None
                ms = self.ms_numbers.get(step.milestone_key or "")
                labels = step.labels if step.labels is not None else None
                self.tracker.update_issue(
                    n, title=step.content.title, body=step.content.body, milestone=ms,
                    **({"labels": labels} if labels is not None else {}),
                )
                self.result.events.append(Event("updated", n, guide=task.guide if task else None, title=step.content.title))
            if step.comment and n is not None:
                try:
                    self.tracker.comment(n, step.comment)
                except TrackerError as exc:
                    if not isinstance(exc, Forbidden):  # e.g. a locked issue: close it all the same
                        raise
                    self.result.warnings.append(f"{where}: the comment was refused ({exc}); closing it anyway")
            if step.close and n is not None:
                self.tracker.close_issue(n, step.close)
                self.closed_ok[i] = True
                self.result.events.append(Event("closed", n, detail=step.close, guide=task.guide if task else None))
            if step.reopen and n is not None:
                self.tracker.reopen_issue(n)
                self.result.events.append(Event("reopened", n, guide=task.guide if task else None))
            if step.forget:
                self.result.events.append(Event("forgotten", n, detail="; ".join(step.notes) or None))
            return True
        except (TrackerError, BudgetExhausted) as exc:
            if isinstance(exc, (Gone, NotFound)) and n is not None and not step.create:
                self.gone.add(n)
                self.result.warnings.append(f"{where}: issue #{n} was deleted or moved away on the tracker; remove its link to create a new issue")
                return False
            self._fail(exc, where)
            return False


def guide_edits(plan: Plan, ex: Executor | None) -> dict[str, list[tuple[int, Edit]]]:
    """Edits per guide path, each with the index of the plan step it comes from."""
    out: dict[str, list[tuple[int, Edit]]] = {}
    for i, step in enumerate(plan.tasks):
        task = step.task
        if task is None:
            continue
        link: IssueLink | None = None
        checked: bool | None = None
        if step.create:
            issue = ex.created.get(i) if ex else None
            if issue is None:
                continue
            link = _checked_link(ex, task, issue.number, issue.url)
            if not task.has_box:
                checked = task.checked
        elif step.adopt_url is not None and step.number is not None:
            if ex is None or not ex.ok.get(i, False):
                continue
            link = _checked_link(ex, task, step.number, step.adopt_url)
            if not task.has_box:
                checked = task.checked
        if step.set_box is not None:
            if ex is None or ex.ok.get(i, False):
                checked = step.set_box
        if link is None and checked is None:
            continue
        out.setdefault(task.guide, []).append((i, Edit(task.line, checked=checked, link=link, append=step.append_link)))
    return out


def _checked_link(ex: Executor, task: Any, number: int, url: str) -> IssueLink | None:
    """The link to write for issue ``number``, if ``url`` is that issue's page on the tracker (a
    plain URL, that the tracker itself reads as this issue); else None, with a warning."""
    if plain_url(url) and ex.tracker.issue_number_from_url(url) == number:
        return IssueLink(number, url)
    shown = repr(url[:200]) if url else "no usable URL"
    ex.result.warnings.append(f"{task.guide}:{task.line + 1}: issue #{number}: the tracker gave {shown} as its page, which is "
                              "not this issue's page on the tracker; the link is not written")
    return None


def new_records(plan: Plan, state: State, ex: Executor, written: set[int], created_only: bool = False) -> dict[int, Record]:
    """The base after this run: a step's record only where its effects really happened.
    ``created_only``: the old base plus the issues this run created (the journal)."""
    records = dict(state.records)
    for i, step in enumerate(plan.tasks):
        if created_only and not step.create:
            continue
        ok = ex.ok.get(i, False)
        needs_guide = step.guide_edit
        guide_ok = (not needs_guide) or i in written
        if step.create:
            issue = ex.created.get(i)
            if issue is None or step.record is None:
                continue
            rec = step.record if ok else step.fallback or step.record
            ms = ex.ms_numbers.get(step.milestone_key or "")
            # Recorded even when the guide could not be written: the next run links it (by its
            # marker) or, if its task is gone, closes it; it never becomes an unknown duplicate.
            records[issue.number] = replace(rec, milestone=ms, pending=not guide_ok)
            continue
        n = step.number
        if n is None:
            continue
        if n in ex.gone:
            old = records.get(n) or step.fallback
            if old is not None:
                records[n] = replace(old, state=GONE)
            continue
        if step.forget:
            if ok and step.record is not None:
                records[n] = step.record  # a tombstone: the task left, its issue is remembered
            elif ok:
                records.pop(n, None)
            continue
        if step.record is None:
            continue
        if ok and guide_ok:
            rec = step.record
            if step.update or rec.milestone is None:
                rec = replace(rec, milestone=ex.ms_numbers.get(step.milestone_key or "", rec.milestone))
            records[n] = rec
        elif step.fallback is not None and n in records:
            records[n] = step.fallback
    return records


def write_guides(edits: dict[str, list[tuple[int, Edit]]], loaded: dict[str, LoadedGuide], result: RunResult,
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
            if i in written:
                if e.link is not None:
                    result.events.append(Event("linked", e.link.number, e.link.url, path, e.line))
                if e.checked is not None and (e.link is None or e.checked):
                    number = e.link.number if e.link else plan.tasks[i].number
                    result.events.append(Event("checked" if e.checked else "unchecked", number, guide=path, line=e.line))
    return written


def execute(
    plan: Plan,
    *,
    tracker: Tracker,
    loaded: list[LoadedGuide],
    state: State,
    fetched: Fetched,
    labels: tuple[str, ...],
    state_path: Path,
    state_raw: bytes | None,
    tracker_name: str,
    repository: str,
    result: RunResult,
    progress: Callable[[int, int], None] | None = None,
    quiet: bool = False,
    hold_mark: bool = False,
) -> RunResult:
    """Carry out ``plan`` and write everything back. The caller holds the run lock.
    ``quiet``: a plan in both directions found nothing to do (the listing mark may move up)."""
    ex = Executor(plan, tracker, state, labels, result, progress, started=fetched.server_time)
    try:
        ex.run()
    finally:
        # Unsure creations stay on the list until a run finds them (or fails to close one it found).
        kept = {plan.unsure_found[s.number] for i, s in enumerate(plan.tasks)
                if s.number in plan.unsure_found and s.close and not ex.ok.get(i, False)}
        unsure = tuple(sorted((set(state.unsure) - set(plan.unsure_found.values())) | kept | ex.unsure))
        on_disk = state_raw
        if ex.created or ex.unsure:
            # Journal first: if the process dies while the guides are written, the next run still
            # knows every issue this one created (as pending) and every creation it is unsure of.
            journal = replace(state, tracker=tracker_name, repository=repository, unsure=unsure,
                              records=new_records(plan, state, ex, written=set(), created_only=True))
            on_disk = _write_state(state_path, journal, on_disk, result)
        by_path = {lg.guide.path: lg for lg in loaded}
        written = write_guides(guide_edits(plan, ex), by_path, result, plan)
        quiet_mark = quiet and fetched.since_if_quiet and not result.errors
        # A close a push saw but could not write into the guide must be listed again by the next
        # run: the mark stays where it was, and no ETag hides the listing behind a 304.
        # A run over some guides only (paths given) skipped the others' changes: likewise.
        waiting = hold_mark or any(s.waits for s in plan.tasks)
        new_state = State(
            tracker=tracker_name,
            repository=repository,
            repository_url=getattr(tracker, "repository_url", None) or state.repository_url,
            since=state.since if waiting else (fetched.since_if_quiet if quiet_mark else fetched.since),
            full_at=fetched.full_at,
            label=ex.label_ok,
            etags=_next_etags(fetched, result, waiting),
            milestones=ex.ms_records,
            records=new_records(plan, state, ex, written),
            unsure=unsure,
        )
        final = _write_state(state_path, new_state, on_disk, result)
        result.state_changed = final != state_raw
    return result


def _next_etags(fetched: Fetched, result: RunResult, waiting: bool = False) -> dict[str, str]:
    """The ETags worth keeping: none after a failed run (what failed must be seen afresh, not
    hidden behind a 304), none for a listing this run changed by writing (kept, it could make
    a later change that restores that listing look "not modified"), and none for the issues
    listing while changes wait to be listed again (``waiting``)."""
    if result.errors or not result.complete:
        return {}
    stale = {"milestones" if e.action.startswith("milestone_") else "issues"
             for e in result.events if e.action in TRACKER_WRITES}
    if waiting:
        stale.add("issues")
    return {k: v for k, v in fetched.etags.items() if not k.startswith(tuple(stale))}


def _write_state(path: Path, state: State, expected: bytes | None, result: RunResult) -> bytes | None:
    """Write the base atomically; the bytes now on disk (``expected`` if it could not be written)."""
    data = dumps(state).encode("utf-8")
    try:
        replace_file(path, data, expected)
        return data
    except (WritebackError, OSError) as exc:
        result.errors.append(f"{path}: not written: {exc}")
        return expected
