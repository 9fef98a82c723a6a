"""How far the guides have come: per milestone now, and done and total tasks over the history.

Pure: guides (and the tallies the history reader made of past versions) in, values out. The day
it is (``today``, ``YYYY-MM-DD``) is handed in; nothing here reads a clock.

- :func:`progress`: per guide and milestone, done/total, the due date and whether it is overdue,
  sub-item counts (with ``sub_issues`` on) and the tasks as a report lists them;
- :func:`tally`: what one version of a guide counts, independent of its path (the history reader
  caches it by blob id, so a rename costs nothing);
- :func:`burnup`: the burn-up series, one point per commit that changed a guide, from the changes
  alone (the cost is the number of changed guides, never commits times guides).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

from .model import Guide, Milestone, Task


@dataclass(frozen=True)
class TaskProgress:
    """A task as the report lists it."""

    text: str
    checked: bool
    line: int  # 0-based, like the model
    depth: int = 0  # 0 for a top-level task; sub-items (``sub_issues`` on) below it
    due: str | None = None
    overdue: bool = False  # due before today and not done
    issue: int | None = None
    url: str | None = None


@dataclass(frozen=True)
class MilestoneProgress:
    key: str
    title: str
    line: int
    done: int
    total: int
    due: str | None = None
    start: str | None = None
    overdue: bool = False  # due before today with tasks left
    overdue_tasks: int = 0  # open tasks whose own due date has passed
    sub_items: int | None = None  # None: sub-issues are off (or the milestone has none)
    sub_items_done: int | None = None
    tasks: tuple[TaskProgress, ...] = ()

    @property
    def percent(self) -> int:
        return percent(self.done, self.total)


@dataclass(frozen=True)
class GuideProgress:
    path: str
    title: str
    kind: str
    milestones: tuple[MilestoneProgress, ...] = ()

    @property
    def done(self) -> int:
        return sum(m.done for m in self.milestones)

    @property
    def total(self) -> int:
        return sum(m.total for m in self.milestones)

    @property
    def percent(self) -> int:
        return percent(self.done, self.total)


def percent(done: int, total: int) -> int:
    """Whole per cent, rounded down: 100 only when everything is done."""
    return done * 100 // total if total else 0


def ratio(done: int, total: int) -> float:
    return done / total if total else 0.0


def _overdue(due: str | None, today: str | None) -> bool:
    return bool(due and today and due < today)  # YYYY-MM-DD compares as text


def _task(t: Task, today: str | None) -> TaskProgress:
    due = t.fields.due
    return TaskProgress(text=" ".join(t.text.split()), checked=t.checked, line=t.line, depth=t.depth, due=due,
                        overdue=not t.checked and _overdue(due, today),
                        issue=t.link.number if t.link else None, url=t.link.url if t.link else None)


def milestone_progress(m: Milestone, today: str | None = None) -> MilestoneProgress:
    tasks = tuple(_task(t, today) for t in m.tasks)
    done = sum(1 for t in m.tasks if t.checked)
    subs = [t for t in m.tasks if t.parent]
    due = m.fields.due
    return MilestoneProgress(
        key=m.key, title=m.title, line=m.line, done=done, total=len(m.tasks), due=due, start=m.fields.start,
        overdue=done < len(m.tasks) and _overdue(due, today),
        overdue_tasks=sum(1 for t in tasks if t.overdue),
        sub_items=len(subs) if subs else None, sub_items_done=sum(1 for t in subs if t.checked) if subs else None,
        tasks=tasks)


def progress(guides: Iterable[Guide], today: str | None = None) -> tuple[GuideProgress, ...]:
    """Per guide, in the order given, its milestones' progress as of ``today`` (None: nothing is overdue)."""
    return tuple(GuideProgress(g.path, g.title, g.kind.value, tuple(milestone_progress(m, today) for m in g.milestones))
                 for g in guides)


def totals(guides: Iterable[GuideProgress]) -> tuple[int, int]:
    """(done, total) over every guide."""
    done = total = 0
    for g in guides:
        done += g.done
        total += g.total
    return done, total


# ------------------------------------------------------------------------------------ history


@dataclass(frozen=True)
class Tally:
    """What one version of a guide counts: tasks done and in all."""

    done: int
    total: int


def tally(guide: Guide) -> Tally:
    tasks = guide.tasks
    return Tally(sum(1 for t in tasks if t.checked), len(tasks))


@dataclass(frozen=True)
class Change:
    """A commit that changed guides: each changed path's tally after it (None: it is no longer a
    guide there: deleted, renamed away, or it follows no template any more)."""

    commit: str
    time: int  # committer time, seconds since the epoch (UTC)
    guides: Mapping[str, Tally | None]


@dataclass(frozen=True)
class Point:
    """One point of the burn-up: every guide's done and total tasks right after ``commit``."""

    commit: str
    time: int
    done: int
    total: int
    guides: int  # how many guides there were


def burnup(changes: Iterable[Change]) -> tuple[Point, ...]:
    """The burn-up series, one point per change, in the order given (oldest first). Each point
    costs what the commit changed: the sums are carried from point to point."""
    current: dict[str, Tally] = {}
    done = total = 0
    out: list[Point] = []
    for change in changes:
        for path, new in change.guides.items():
            old = current.pop(path, None)
            if old is not None:
                done, total = done - old.done, total - old.total
            if new is not None:
                current[path] = new
                done, total = done + new.done, total + new.total
        out.append(Point(change.commit, change.time, done, total, len(current)))
    return tuple(out)
