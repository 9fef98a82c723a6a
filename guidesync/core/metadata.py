"""The guides' fields in the plan: which tasks block which (by their ``id``), and per task step the
assignees, labels and due date to change. Pure.

Fields flow from the guide to the tracker, three-way: the base remembers what guidesync set, so a
change in the guide changes exactly that (an assignee or label people added on the tracker stays;
one dropped from the guide is taken off). Blocked-by is recorded by the executor (the tracker's
dependencies, or a link), which knows the issue numbers of tasks created in the same run.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Iterable

from .base import GONE, REMOVED, Base, Record
from .match import Matching
from .model import Guide, Task
from .planmodel import FieldChange, Options, TaskStep
from .steps import Blockers


def blockers(every: Iterable[Guide], matching: Matching) -> Blockers:
    """Task key -> the tasks that block it: (their key, their issue number now, or None when it is
    to be created). Ids that name no task are lint errors (:func:`~.fields.check_ids`) and left out."""
    tasks = [t for g in every for t in g.tasks]
    if not any(t.fields.blocked_by for t in tasks):
        return {}
    number_of = {m.task.key: m.number for m in matching.matches}
    by_id: dict[str, Task] = {}
    for t in tasks:
        if t.fields.id is not None:
            by_id.setdefault(t.fields.id, t)
    out: dict[str, tuple[tuple[str, int | None], ...]] = {}
    for t in tasks:
        found = []
        for dep in t.fields.blocked_by:
            b = by_id.get(dep)
            if b is None or b.key == t.key:
                continue
            number = number_of.get(b.key, b.link.number if b.link is not None else None)
            found.append((b.key, number))
        if found:
            out[t.key] = tuple(found)
    return out


def _kept(rec: Record | None) -> Record | None:
    """The base record whose fields guidesync set, if it is one it manages."""
    if rec is None or rec.unmanaged or rec.issue_state in (GONE, REMOVED):
        return None
    return rec


def with_fields(steps: list[TaskStep], base: Base, opts: Options) -> list[TaskStep]:
    """Each task step with the field changes a push sends, and records that remember them."""
    out: list[TaskStep] = []
    for step in steps:
        out.append(_with_fields(step, base, opts) if step.task is not None and step.record is not None else step)
    return out


def _with_fields(step: TaskStep, base: Base, opts: Options) -> TaskStep:
    assert step.task is not None and step.record is not None
    if step.record.unmanaged or step.record.issue_state == GONE:
        return step
    old = _kept(base.records.get(step.number)) if step.number is not None else None
    old_a, old_l, old_d = (old.assignees, old.labels, old.due) if old else ((), (), None)
    old_b = old.blocked_by if old else ()
    f = step.task.fields
    labels = tuple(x for x in f.labels if x not in opts.labels)
    change = FieldChange(
        assign=tuple(a for a in f.assignees if a not in old_a),
        unassign=tuple(a for a in old_a if a not in f.assignees),
        add_labels=tuple(x for x in labels if x not in old_l),
        remove_labels=tuple(x for x in old_l if x not in labels and x not in opts.labels),
        due=f.due,
        set_due=f.due != old_d,
    )
    keep = {"assignees": old_a, "labels": old_l, "due": old_d, "blocked_by": old_b}
    fallback = replace(step.fallback, **keep) if step.fallback is not None and not step.fallback.unmanaged else step.fallback
    if not opts.pushes:
        return replace(step, record=replace(step.record, **keep), fallback=fallback, blockers=())
    if change.empty:
        return replace(step, record=replace(step.record, **keep), fallback=fallback)
    record = replace(step.record, assignees=f.assignees, labels=labels, due=f.due, blocked_by=old_b)
    notes = step.notes if step.create else step.notes + (describe(change),)
    return replace(step, fields=change, update=step.update or not step.create, record=record, fallback=fallback,
                   notes=notes)


def describe(change: FieldChange) -> str:
    """The field changes in a few words, for the plan."""
    parts = [f"assign {', '.join(change.assign)}"] if change.assign else []
    parts += [f"unassign {', '.join(change.unassign)}"] if change.unassign else []
    parts += [f"add label {', '.join(change.add_labels)}"] if change.add_labels else []
    parts += [f"remove label {', '.join(change.remove_labels)}"] if change.remove_labels else []
    parts += [f"due {change.due}" if change.due else "no due date"] if change.set_due else []
    return "fields: " + "; ".join(parts)


def new_labels(steps: Iterable[TaskStep], base: Base) -> tuple[str, ...]:
    """The labels a push adds that the base does not know to exist yet, in first-use order."""
    known = set(base.labels)
    out: list[str] = []
    for s in steps:
        for x in (s.fields.add_labels if s.fields is not None else ()):
            if x not in known and x not in out:
                out.append(x)
    return tuple(out)
