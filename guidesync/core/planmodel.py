"""The planner's values: what it reads (the tracker :class:`Snapshot`, the run's :class:`Options`)
and what it decides (a :class:`Plan` of frozen :class:`MilestoneStep` and :class:`TaskStep`). Pure data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

from .model import Problem, Task
from .render import IssueContent, content_hash
from .base import MilestoneRecord, Record
from .model import RemoteIssue, RemoteMilestone

OPEN, COMPLETED, NOT_PLANNED, DUPLICATE = "open", "completed", "not_planned", "duplicate"
MODES = ("push", "pull", "sync")


#: The counts vocabulary, one for the plan (what a run would do) and the run's result (what it did).
COUNT_KEYS = ("milestones_created", "milestones_updated", "created", "adopted", "updated", "closed", "reopened",
              "checked", "unchecked", "forgotten", "attached", "imported")
#: A run's event -> the count it adds to (events name one thing done; counts are totals).
EVENT_COUNTS = {"milestone_created": "milestones_created", "milestone_updated": "milestones_updated"}


@dataclass(frozen=True)
class Snapshot:
    """What the tracker looks like now, as far as this run read it."""

    issues: Mapping[int, RemoteIssue] = field(default_factory=dict)  # listed or fetched this run
    milestones: Mapping[int, RemoteMilestone] | None = None  # None: unchanged since the base
    #: ``milestones`` holds only those changed since the listing mark (GitLab's ``updated_after``):
    #: one it lacks is as the base knows it, or was deleted meanwhile (see
    #: :func:`~guidesync.core.milestones.needs_every_milestone`)
    milestones_partial: bool = False
    gone: frozenset[int] = frozenset()  # deleted or moved away
    complete: bool = False  # ``issues`` holds every managed issue
    offline: bool = False  # no tracker was asked at all


@dataclass(frozen=True)
class Options:
    mode: str = "sync"
    labels: tuple[str, ...] = ("guidesync",)
    on_removed: str = "close"
    max_close: int = 50
    all_guides: bool = True  # no paths given: a record whose guide is not among ``guides`` is acted on (its guide is gone)
    frozen_guides: frozenset[str] = frozenset()  # guides with errors: their records are left untouched, and no
    # issue is closed as removed while any guide has errors (a task may have moved into it)
    adopt: frozenset[tuple[str, int]] = frozenset()  # (guide, 0-based line): linked issues to take over explicitly
    adopt_all: bool = False  # ``--adopt``: take over every hand-linked issue
    guide_url: Callable[[str], str] = lambda path: path
    owns_link: Callable[[str, int], bool] = lambda url, number: True
    limits: Mapping[str, int] = field(default_factory=lambda: {"title": 255, "body": 65536})
    sub_issues: bool = False  # ``sub_issues: true``: a task's checkbox sub-items are its sub-issues
    hierarchy_mode: str | None = None  # how the tracker makes them, once learned (see Tracker.hierarchy_mode)
    import_issues: str = "off"  # issues opened on the tracker join their guide: "off" | "labeled" | "milestone"


    @property
    def pushes(self) -> bool:
        """This run writes the tracker."""
        return self.mode in ("push", "sync")

    @property
    def pulls(self) -> bool:
        """This run writes the guides."""
        return self.mode in ("pull", "sync")


@dataclass(frozen=True)
class FieldChange:
    """What a push changes of an issue's assignees, labels and due date: exactly what the guide
    changed since the base (what people set on the tracker stays)."""

    assign: tuple[str, ...] = ()
    unassign: tuple[str, ...] = ()
    add_labels: tuple[str, ...] = ()
    remove_labels: tuple[str, ...] = ()
    due: str | None = None
    set_due: bool = False  # send ``due`` (None clears it)

    @property
    def empty(self) -> bool:
        return not (self.assign or self.unassign or self.add_labels or self.remove_labels or self.set_due)


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
    due: str | None = None  # the guide's dates (YYYY-MM-DD)
    start: str | None = None
    update_dates: bool = False  # send them: they changed in the guide since the base

    @property
    def create(self) -> bool:
        return self.number is None

    @property
    def record(self) -> MilestoneRecord | None:
        if self.number is None:
            return None
        return MilestoneRecord(self.number, self.title, content_hash(self.title, self.description), self.due, self.start)

    @property
    def writes(self) -> bool:
        return self.create or self.update_title or self.update_description or self.update_dates


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
    close: str | None = None  # close with this reason (completed, not_planned, duplicate)
    reopen: bool = False
    comment: str | None = None
    set_box: bool | None = None  # write this box state into the guide
    append_link: bool = False  # the task line ends with another repository's link: add ours after it
    waits: bool = False  # a change seen on the tracker that this run cannot write into the guide (push)
    forget: bool = False  # the task left the guides: drop the base record, or keep ``record`` (a tombstone)
    fields: FieldChange | None = None  # assignees, labels and due date to change (with the update or creation)
    #: the tasks that block this one (``blocked-by``): (their key, their issue number, None while
    #: it is to be created in this run), in the guide's order
    blockers: tuple[tuple[str, int | None], ...] = ()
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
class ParentStep:
    """A task with sub-items: its children, in guide order, and those the base says are attached."""

    parent: int  # index of the parent's step in ``Plan.tasks``
    children: tuple[int, ...]  # indexes of its children's steps, in guide order
    attached: tuple[int, ...] = ()  # issue numbers guidesync attached to it, by the base
    #: while the hierarchy mode is unknown (a first push): the parent's content with its sub-items
    #: listed in the body, sent if the tracker turns out to have no sub-issues
    listed: IssueContent | None = None


@dataclass(frozen=True)
class ImportStep:
    """An issue opened on the tracker, in a milestone a guide section owns, that joins that section's
    task list as a new task line linking it (``import_issues``)."""

    number: int
    url: str
    title: str  # the issue's title as the tracker has it
    text: str  # the task text written into the guide: the title, Markdown-safe
    guide: str
    milestone_key: str
    after: int  # the new line goes after this line of the guide (the end of the list's last item)
    like: int  # the line whose bullet, indentation and box style it copies
    checked: bool
    record: Record  # the base record once its line is in the guide
    label: tuple[str, ...] | None = None  # the issue's whole new label set (the imported mark), None: has it
    waits: bool = False  # seen by a push, which does not import: a pull or sync will


@dataclass(frozen=True)
class Plan:
    milestones: tuple[MilestoneStep, ...] = ()
    tasks: tuple[TaskStep, ...] = ()
    ensure_label: bool = False
    problems: tuple[Problem, ...] = ()
    guards: tuple[str, ...] = ()
    unsure_found: Mapping[int, str] = field(default_factory=dict)  # unsure creations found: issue -> marker key
    milestone_records: Mapping[str, MilestoneRecord] | None = None  # the base's milestone records, checked; None: as in the base
    parents: tuple[ParentStep, ...] = ()  # sub-issues: every task with sub-items
    children_of: Mapping[int, int] = field(default_factory=dict)  # child issue -> parent guidesync attached it to
    detach: tuple[tuple[int, int], ...] = ()  # (parent, child): its item is a top-level task now
    new_labels: tuple[str, ...] = ()  # labels the guides' fields name that the tracker may not have yet
    imports: tuple[ImportStep, ...] = ()  # issues opened on the tracker that join a guide (or wait for a pull)

    @property
    def importing(self) -> tuple[ImportStep, ...]:
        """The imports this run makes (a push only sees them)."""
        return tuple(i for i in self.imports if not i.waits)

    @property
    def changes(self) -> tuple[TaskStep | ImportStep, ...]:
        return tuple(s for s in self.tasks if not s.is_noop) + self.importing

    @property
    def changes_to_known(self) -> tuple[TaskStep | ImportStep, ...]:
        """The changes about issues the tracker already has: all but making the issues of new
        tasks. None: whatever the listing showed needs nothing, so the next listing may start at
        this one's time (it then re-lists exactly what this run writes)."""
        return tuple(s for s in self.changes
                     if not (isinstance(s, TaskStep) and s.create and s.number is None and s.adopt_url is None))

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
            "attached": sum(1 for p in self.parents for i in p.children
                            if self.tasks[i].number is None or self.tasks[i].number not in p.attached),
            "imported": len(self.importing),
        }
        assert tuple(c) == COUNT_KEYS
        return c

