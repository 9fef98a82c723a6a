"""Sub-issues (``sub_issues: true``): which issue is whose parent, and in what order. Pure.

The guide decides: a task's checkbox sub-items are its children, in guide order. The base remembers
the children guidesync attached to each parent (``Record.children``), so a run knows what to change
without listing every parent's sub-issues: a no-op sync costs what it cost before. What people
attach by hand is never detached; a child guidesync did not attach and that already has another
parent is left there and reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

from dataclasses import replace

from .base import GONE, Base
from .model import Guide, Milestone, SubItem
from .planmodel import Options, ParentStep, TaskStep
from .render import render_issue

#: hierarchy modes in which the tracker itself keeps the children, in order
NATIVE = ("sub_issues", "graphql")
#: modes that keep the order of the children
ORDERED = NATIVE


def parent_steps(tasks: Sequence[TaskStep], base: Base) -> tuple[ParentStep, ...]:
    """One step per task that has sub-items: its children's step indexes in guide order, and the
    children the base says guidesync attached to its issue."""
    index_of = {s.task.key: i for i, s in enumerate(tasks) if s.task is not None and _managed(s, base)}
    children: dict[int, list[int]] = {}
    for i, step in enumerate(tasks):
        if (step.task is not None and step.task.parent is not None and step.task.parent in index_of
                and _managed(step, base)):
            children.setdefault(index_of[step.task.parent], []).append(i)
    out = []
    for parent, kids in sorted(children.items()):
        kids.sort(key=lambda i: tasks[i].task.line)  # type: ignore[union-attr]  # guide order, not step order
        number = tasks[parent].number
        rec = base.records.get(number) if number is not None else None
        out.append(ParentStep(parent, tuple(kids), rec.children if rec is not None else ()))
    return tuple(out)


def _managed(step: TaskStep, base: Base) -> bool:
    """May guidesync attach to or from this step's issue? Not a person's issue linked by hand, not
    an issue whose link it is unsure of (such a step has no issue to act on), not one the base knows
    was deleted or moved away."""
    if step.record is not None and step.record.unmanaged:
        return False
    if step.number is not None and step.number in base.records and base.records[step.number].issue_state == GONE:
        return False
    return step.create or step.number is not None


def detaches(tasks: Sequence[TaskStep], base: Base) -> tuple[tuple[int, int], ...]:
    """(parent, child) for each child guidesync attached whose item is now a top-level task: the
    guide took it from its parent, so it is taken from under the parent's issue too. A child whose
    item left the guides stays where it is (its issue is closed, not moved)."""
    top = {s.number for s in tasks if s.task is not None and s.number is not None and s.task.parent is None
           and _managed(s, base)}
    return tuple((n, c) for n, rec in sorted(base.records.items()) if rec.issue_state != GONE
                 for c in rec.children if c in top)


def attached_elsewhere(base: Base) -> dict[int, int]:
    """child issue -> the parent issue guidesync attached it to, by the base."""
    return {c: n for n, rec in base.records.items() for c in rec.children}


@dataclass(frozen=True)
class Move:
    """One attach call: ``child`` under ``parent``, right after ``after`` (None: at the end)."""

    child: int
    after: int | None = None
    move_from: int | None = None


def moves(desired: Sequence[int], attached: Sequence[int], elsewhere: Mapping[int, int], parent: int,
          ordered: bool = True) -> list[Move]:
    """The attach calls that turn the children guidesync attached (``attached``, in the tracker's
    order) into ``desired``: new children are appended in guide order (a first push needs no other
    call), then, where the tracker keeps order, each child out of place among the desired ones is
    moved right after the one before it. Children that left the guide, or that people attached,
    stay attached where they are (no destructive action)."""
    out: list[Move] = []
    current = [c for c in attached]
    for child in desired:
        if child not in current:
            old = elsewhere.get(child)
            out.append(Move(child, None, old if old is not None and old != parent else None))
            current.append(child)
    if not ordered:
        return out
    wanted = set(desired)
    for k in range(1, len(desired)):
        before, child = desired[k - 1], desired[k]
        order = [c for c in current if c in wanted]  # others (left the guide, added by hand) do not count
        if order.index(child) != order.index(before) + 1:
            out.append(Move(child, before))
            current.remove(child)
            current.insert(current.index(before) + 1, child)
    return out


def with_listed(parents: tuple[ParentStep, ...], tasks: Sequence[TaskStep], guides: Sequence[Guide],
                opts: Options) -> tuple[ParentStep, ...]:
    """While the mode is unknown (a first push), each parent step carries the content its issue
    gets if the tracker turns out to have no sub-issues: its body lists the sub-items."""
    if opts.hierarchy_mode is not None or not parents:
        return parents
    listed = {g.path: listed_children(g, replace(opts, hierarchy_mode="none")) for g in guides}
    out = []
    for p in parents:
        task = tasks[p.parent].task
        guide = listed.get(task.guide) if task is not None else None
        found = next(((guide, ms, t) for ms in guide.milestones for t in ms.tasks if t.key == task.key), None) \
            if guide is not None and task is not None else None
        if found is None:
            out.append(p)
            continue
        g, ms, t = found
        out.append(replace(p, listed=render_issue(t, g, ms, opts.guide_url(g.path), dict(opts.limits))))
    return tuple(out)


def listed_children(guide: Guide, opts: Options) -> Guide:
    """Where the tracker has no sub-issues ("links", "none"), each parent's issue body lists its
    sub-items as a task list, as it did before sub-issues; the sub-items are still issues of their own."""
    if not opts.sub_issues or opts.hierarchy_mode in (None, *NATIVE):
        return guide
    return replace(guide, milestones=tuple(_listed(ms) for ms in guide.milestones))


def _listed(ms: Milestone) -> Milestone:
    if not any(t.parent for t in ms.tasks):
        return ms
    tasks = list(ms.tasks)
    for i, task in enumerate(tasks):
        below = []
        for later in ms.tasks[i + 1:]:
            if later.depth <= task.depth:
                break
            below.append(SubItem(later.text, later.checked, later.depth - task.depth))
        if below:
            tasks[i] = replace(task, subitems=task.subitems + tuple(below))
    return replace(ms, tasks=tuple(tasks))
