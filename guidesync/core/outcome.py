"""What a run did, and what it leaves behind: the guide edits and the next base, pure.

The executor (:mod:`guidesync.sync`) turns each plan step into an outcome; everything written
afterwards follows from the plan, what was read and those outcomes alone. No network, no disk.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Callable, Iterable, Mapping, NamedTuple

from .model import IssueLink, Task, plain_url
from .plan import Plan, Snapshot, TaskStep
from .base import GONE, MilestoneRecord, Record, Base
from .model import RemoteIssue
from .edit import Edit, Insert

#: Event actions that write to the tracker (a listing they change is read afresh next run).
TRACKER_WRITES = frozenset({"created", "updated", "closed", "reopened", "milestone_created", "milestone_updated"})


@dataclass(frozen=True)
class Fetched:
    """What the run read: the snapshot the plan saw, and the listing marks the next base keeps."""

    snapshot: Snapshot
    etags: dict[str, str]
    since: str | None
    full_at: str | None
    full: bool
    server_time: datetime | None = None  # the tracker's clock when this run started reading
    since_if_quiet: str | None = None  # the mark to keep when the run finds nothing to do


@dataclass(frozen=True)
class StepOutcome:
    """What became of one task step (a step the run never reached has the default: nothing)."""

    done: bool = False  # every tracker write of the step happened (a step with none is done once visited)
    created: RemoteIssue | None = None  # the issue it created (or found by its marker after a lost answer)
    closed: bool = False  # it closed its issue
    gone: bool = False  # the tracker says its issue was deleted or moved away
    unsure: bool = False  # the answer to its creation was lost, and no issue carrying its marker was found
    error: str | None = None  # why it is not done
    written: bool = False  # its guide edit (link, box) reached the guide
    imported: bool = False  # an import's tracker side is done: its line is to be written


@dataclass(frozen=True)
class MilestoneOutcome:
    number: int | None  # the milestone's number after the step (None: it has none, e.g. not created)
    record: MilestoneRecord | None = None  # what the base records for it, if the step succeeded
    dropped: bool = False  # its creation failed: a number the tracker may not have must not be kept


NOTHING = StepOutcome()


def issue_number(step: TaskStep, outcome: StepOutcome | None) -> int | None:
    """The issue a step ended on: the one it created (None while it has none), or its own."""
    if step.create:
        return outcome.created.number if outcome is not None and outcome.created is not None else None
    return step.number


@dataclass(frozen=True)
class Outcomes:
    """Every step's outcome: task steps by their index in ``plan.tasks``, milestones by key."""

    tasks: Mapping[int, StepOutcome] = field(default_factory=dict)
    milestones: Mapping[str, MilestoneOutcome] = field(default_factory=dict)
    label: bool = False  # the managed label is known to exist
    parents: Mapping[int, tuple[int, ...]] = field(default_factory=dict)  # parent issue -> children attached now
    hierarchy: str | None = None  # how the tracker makes sub-issues, if this run learned or knew it
    gone: frozenset[int] = frozenset()  # issues the sub-issue step found deleted or moved away
    listed: Mapping[int, str] = field(default_factory=dict)  # issue -> hash of the body rewritten after its step
    # (a parent's body listing its sub-items, a body naming blockers created in the same run)
    blocked: Mapping[int, tuple[int, ...]] = field(default_factory=dict)  # issue -> the issues recorded as blocking it now
    capabilities: Mapping[str, object] | None = None  # what the tracker was found to allow (None: as in the base)
    labels: tuple[str, ...] = ()  # labels of the guides' fields known to exist now
    project: Mapping[str, object] | None = None  # the GitHub project as learned (None: as in the base)
    #: issue -> (project item, status option, date) set on the project now
    project_items: Mapping[int, tuple[str | None, str | None, str | None]] = field(default_factory=dict)

    def step(self, i: int) -> StepOutcome:
        return self.tasks.get(i, NOTHING)

    def milestone_number(self, key: str | None, default: int | None = None) -> int | None:
        """The number of milestone ``key`` after its step; ``default`` if it had no step."""
        ms = self.milestones.get(key or "")
        return default if ms is None else ms.number

    @property
    def journal_due(self) -> bool:
        """Issues were created, or may have been: the base must learn of them before the guides are written."""
        return any(o.created is not None or o.unsure or o.imported for o in self.tasks.values())

    def with_written(self, written: Iterable[int]) -> Outcomes:
        """These outcomes, the steps of ``written`` having reached their guide."""
        tasks = dict(self.tasks)
        for i in written:
            tasks[i] = replace(tasks.get(i, NOTHING), written=True)
        return replace(self, tasks=tasks)


@dataclass(frozen=True)
class RunEnd:
    """What the next base takes from the run besides the plan and the outcomes."""

    tracker: str
    repository: str
    repository_url: str | None = None  # the repository's web address as the tracker knows it now
    errors: bool = False  # the run reported an error
    complete: bool = True  # False: a request budget ran out and work was left undone
    wrote: frozenset[str] = frozenset()  # listings the run changed by writing: "issues", "milestones"
    quiet: bool = False  # a plan in both directions found nothing to do about known issues: the listing mark may move up
    hold_mark: bool = False  # a run over some guides only (paths given) skipped the others' changes: the mark stays
    imports: str | None = None  # the ``import_issues`` mode this run listed for (None: as in the base)
    #: the content-creation window after this run's writes (None: as in the base)
    content: tuple[int, ...] | None = None


def listings_written(actions: Iterable[str]) -> frozenset[str]:
    """The listings (``issues``, ``milestones``) that events with these actions changed."""
    return frozenset("milestones" if a.startswith("milestone_") else "issues" for a in actions if a in TRACKER_WRITES)


class GuideEdits(NamedTuple):
    edits: dict[str, list[tuple[int, Edit | Insert]]]  # per guide path, each with the index of its plan step
    # (an import's index is ``len(plan.tasks)`` + its index in ``plan.imports``)
    warnings: list[str]  # links not written: the tracker's URL is not the issue's page


def guide_edits(plan: Plan, outcomes: Outcomes, issue_number: Callable[[str], int | None]) -> GuideEdits:
    """The edits the guides get: links of the issues created or adopted, boxes the plan sets for
    steps that were done. ``issue_number``: the tracker's reading of an issue URL (None: not its own)."""
    out: dict[str, list[tuple[int, Edit]]] = {}
    warnings: list[str] = []
    for i, step in enumerate(plan.tasks):
        task = step.task
        if task is None:
            continue
        o = outcomes.step(i)
        link: IssueLink | None = None
        checked: bool | None = None
        if step.create:
            if o.created is None:
                continue
            link = _checked_link(task, o.created.number, o.created.url, issue_number, warnings)
            if not task.has_box:
                checked = task.checked
        elif step.adopt_url is not None and step.number is not None:
            if not o.done:
                continue
            link = _checked_link(task, step.number, step.adopt_url, issue_number, warnings)
            if not task.has_box:
                checked = task.checked
        if step.set_box is not None and o.done:
            checked = step.set_box
        if link is None and checked is None:
            continue
        out.setdefault(task.guide, []).append((i, Edit(task.line, checked=checked, link=link, append=step.append_link)))
    for k, imp in enumerate(plan.imports):
        i = len(plan.tasks) + k
        if outcomes.step(i).imported and not (plain_url(imp.url) and issue_number(imp.url) == imp.number):
            warnings.append(f"{imp.guide}: issue #{imp.number}: the tracker gave {imp.url[:200]!r} as its page, which "
                            "is not this issue's page on the tracker; it is not imported")
        elif outcomes.step(i).imported:
            out.setdefault(imp.guide, []).append(
                (i, Insert(imp.after, imp.like, imp.checked, imp.text, IssueLink(imp.number, imp.url))))
    return GuideEdits(out, warnings)


def _checked_link(task: Task, number: int, url: str, issue_number: Callable[[str], int | None],
                  warnings: list[str]) -> IssueLink | None:
    """The link to write for issue ``number``, if ``url`` is that issue's page on the tracker (a
    plain URL, that the tracker itself reads as this issue); else None, with a warning."""
    if plain_url(url) and issue_number(url) == number:
        return IssueLink(number, url)
    shown = repr(url[:200]) if url else "no usable URL"
    warnings.append(f"{task.guide}:{task.line + 1}: issue #{number}: the tracker gave {shown} as its page, which is "
                    "not this issue's page on the tracker; the link is not written")
    return None


def journal(plan: Plan, base: Base, outcomes: Outcomes, end: RunEnd) -> Base | None:
    """The base to write before the guides, if issues were created (or may have been): the old base
    plus those issues (pending) and every creation the run is unsure of. None: no journal needed."""
    if not outcomes.journal_due:
        return None
    return replace(base, tracker=end.tracker, repository=end.repository, unsure=next_unsure(plan, base, outcomes),
                   records=next_records(plan, base, outcomes, created_only=True),
                   content=base.content if end.content is None else end.content)


def next_base(plan: Plan, base: Base, outcomes: Outcomes, fetched: Fetched, end: RunEnd) -> Base:
    """The base after this run: records only where a step's effects really happened."""
    # A close a push saw but could not write into the guide must be listed again by the next
    # run: the mark stays where it was, and no ETag hides the listing behind a 304.
    # A run over some guides only (paths given) skipped the others' changes: likewise.
    # An import a push saw but does not make waits likewise.
    waiting = end.hold_mark or any(s.waits for s in plan.tasks) or any(i.waits for i in plan.imports)
    quiet_mark = end.quiet and fetched.since_if_quiet and not end.errors
    return Base(
        tracker=end.tracker,
        repository=end.repository,
        repository_url=end.repository_url or base.repository_url,
        since=base.since if waiting else (fetched.since_if_quiet if quiet_mark else fetched.since),
        full_at=fetched.full_at,
        label=outcomes.label,
        hierarchy=outcomes.hierarchy or base.hierarchy,
        capabilities=dict(base.capabilities) if outcomes.capabilities is None else {**base.capabilities, **outcomes.capabilities},
        labels=tuple(sorted(set(base.labels) | set(outcomes.labels))),
        project=dict(base.project) if outcomes.project is None else dict(outcomes.project),
        imports=end.imports if end.imports is not None else base.imports,
        content=base.content if end.content is None else end.content,
        etags=next_etags(fetched.etags, end, waiting),
        milestones=next_milestones(plan, base, outcomes),
        records=next_records(plan, base, outcomes),
        unsure=next_unsure(plan, base, outcomes),
    )


def next_etags(etags: Mapping[str, str], end: RunEnd, waiting: bool = False) -> dict[str, str]:
    """The ETags worth keeping: none after a failed run (what failed must be seen afresh, not
    hidden behind a 304), none for a listing this run changed by writing (kept, it could make
    a later change that restores that listing look "not modified"), and none for the issues
    listing while changes wait to be listed again (``waiting``)."""
    if end.errors or not end.complete:
        return {}
    stale = set(end.wrote) | ({"issues"} if waiting else set())
    return {k: v for k, v in etags.items() if not k.startswith(tuple(stale))}


def next_unsure(plan: Plan, base: Base, outcomes: Outcomes) -> tuple[str, ...]:
    """Unsure creations stay on the list until a run finds them (or fails to close one it found)."""
    kept = {plan.unsure_found[s.number] for i, s in enumerate(plan.tasks)
            if s.number in plan.unsure_found and s.close and not outcomes.step(i).done}
    lost = {plan.tasks[i].task.key for i, o in outcomes.tasks.items() if o.unsure}  # type: ignore[union-attr]
    return tuple(sorted((set(base.unsure) - set(plan.unsure_found.values())) | kept | lost))


def next_milestones(plan: Plan, base: Base, outcomes: Outcomes) -> dict[str, MilestoneRecord]:
    records = dict(base.milestones if plan.milestone_records is None else plan.milestone_records)
    for key, ms in outcomes.milestones.items():
        if ms.record is not None:
            records[key] = ms.record
        elif ms.dropped:
            records.pop(key, None)
    return records


def next_records(plan: Plan, base: Base, outcomes: Outcomes, created_only: bool = False) -> dict[int, Record]:
    """The records after this run: a step's record only where its effects really happened.
    ``created_only``: the old base plus the issues this run created (the journal)."""
    records = dict(base.records)
    gone = {plan.tasks[i].number for i, o in outcomes.tasks.items() if o.gone}
    for i, step in enumerate(plan.tasks):
        if created_only and not step.create:
            continue
        o = outcomes.step(i)
        guide_ok = (not step.guide_edit) or o.written
        if step.create:
            if o.created is None or step.record is None:
                continue
            rec = step.record if o.done else step.fallback or step.record
            # Recorded even when the guide could not be written: the next run links it (by its
            # marker) or, if its task is gone, closes it; it never becomes an unknown duplicate.
            records[o.created.number] = replace(rec, milestone=outcomes.milestone_number(step.milestone_key),
                                                pending=not guide_ok)
            continue
        n = step.number
        if n is None:
            continue
        if n in gone:
            old = records.get(n) or step.fallback
            if old is not None:
                records[n] = replace(old, issue_state=GONE)
            continue
        if step.forget:
            if o.done and step.record is not None:
                records[n] = step.record  # a tombstone: the task left, its issue is remembered
            elif o.done:
                records.pop(n, None)
            continue
        if step.record is None:
            continue
        if o.done and guide_ok:
            rec = step.record
            if step.update or rec.milestone is None:
                rec = replace(rec, milestone=outcomes.milestone_number(step.milestone_key, rec.milestone))
            records[n] = rec
        elif step.fallback is not None and n in records:
            records[n] = step.fallback
    for k, imp in enumerate(plan.imports):
        o = outcomes.step(len(plan.tasks) + k)
        if o.imported:  # pending until its line is in the guide: the next pull writes it then
            records[imp.number] = replace(imp.record, pending=not o.written)
    return records if created_only else with_children(records, base, outcomes)


def with_children(records: dict[int, Record], base: Base, outcomes: Outcomes) -> dict[int, Record]:
    """Each record keeps the sub-issues guidesync attached to it (a step's record does not know
    them); a parent this run attached to gets what is attached now, and a child moved to another
    parent leaves its old one's list."""
    moved = {c for kids in outcomes.parents.values() for c in kids}
    for n in outcomes.gone & records.keys():
        records[n] = replace(records[n], issue_state=GONE)
    for n, digest in outcomes.listed.items():
        if n in records:
            records[n] = replace(records[n], hash=digest)
    for n, blockers in outcomes.blocked.items():
        if n in records:
            records[n] = replace(records[n], blocked_by=blockers)
    for n, rec in records.items():  # a step's record does not know the project: the base's, or this run's
        old = base.records.get(n)
        item, status, date = outcomes.project_items.get(n) or (
            (old.project_item, old.project_status, old.project_date) if old is not None else (None, None, None))
        if (rec.project_item, rec.project_status, rec.project_date) != (item, status, date):
            records[n] = replace(rec, project_item=item, project_status=status, project_date=date)
    for n, rec in records.items():
        if n in outcomes.parents:
            kids = outcomes.parents[n]
        else:
            old = base.records.get(n)
            kids = tuple(c for c in (old.children if old is not None else rec.children) if c not in moved)
        if kids != rec.children:
            records[n] = replace(rec, children=kids)
    return records
