"""Attaching sub-issues after the task steps (``sub_issues: true``): the tracker half of
:mod:`guidesync.core.hierarchy`.

Runs once every task step is done, so that every child and parent has its number. The hierarchy
mode is learned from the server once (:meth:`Tracker.hierarchy`) and kept in the base. An attach
that fails leaves the child where it was: the base records only what was attached, so the next run
tries again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from .core.hierarchy import ORDERED, moves
from .core.outcome import StepOutcome, issue_number as _number
from .core.planmodel import ParentStep, Plan, TaskStep
from .errors import BudgetExhausted, Conflict, Gone, Invalid, NotFound, TrackerError
from .trackers.base import Tracker

#: what the run says once when the tracker has no sub-issues
NO_HIERARCHY = {
    "none": "sub_issues: this server has no sub-issues; each parent's issue lists its sub-items in its body instead",
    "links": "sub_issues: this server has no child tasks here; sub-items are linked to their parent as related "
             "issues and listed in the parent's body",
}


@dataclass
class Attached:
    """What the attach step did: per parent issue the children now attached, in the tracker's order."""

    parents: dict[int, tuple[int, ...]] = field(default_factory=dict)
    mode: str | None = None
    events: list[tuple[int, int]] = field(default_factory=list)  # (child, parent) attached or moved
    gone: set[int] = field(default_factory=set)  # issues an attach found deleted or moved away
    listed: dict[int, str] = field(default_factory=dict)  # parent issue -> hash of the body listing its sub-items
    detached: list[tuple[int, int]] = field(default_factory=list)  # (parent, child) taken apart


def attach_children(plan: Plan, tracker: Tracker, outcomes: dict[int, StepOutcome], *, warn: Callable[[str], None],
                    fail: Callable[[Exception, str], str], stopped: Callable[[], bool]) -> Attached:
    """Attach every parent's children in guide order. ``fail`` reports a tracker error (and may stop
    the run); a child that has another parent guidesync did not set is left there with a warning."""
    done = Attached(mode=tracker.hierarchy_mode)
    _detach(plan, tracker, done, warn, fail)
    warned = False
    for p in plan.parents:
        if stopped():
            break
        if _gone(outcomes.get(p.parent)):
            continue  # deleted on the tracker: the run reports it; nothing to attach to
        parent = _number(plan.tasks[p.parent], outcomes.get(p.parent))
        steps = {n: plan.tasks[i] for n, i in ((_number(plan.tasks[i], outcomes.get(i)), i) for i in p.children
                                               if not _gone(outcomes.get(i))) if n is not None}
        desired = list(steps)  # guide order (dicts keep it)
        if parent is None or not desired:
            continue
        if done.mode is None:
            try:
                done.mode = tracker.hierarchy(parent)
            except (TrackerError, BudgetExhausted) as exc:
                fail(exc, "sub-issues: asking the tracker whether it has them")
                return done
        if done.mode in NO_HIERARCHY and not warned:
            warn(NO_HIERARCHY[done.mode])  # once per run
            warned = True
        if done.mode in NO_HIERARCHY and p.listed is not None:
            # The plan did not know the mode (a first push), and the parent was written without the
            # list: its body lists the sub-items now, as later runs' plans have it.
            try:
                tracker.update_issue(parent, body=p.listed.body)
                done.listed[parent] = p.listed.hash
            except (TrackerError, BudgetExhausted) as exc:
                fail(exc, f"listing the sub-items in issue #{parent}'s body")
        if done.mode == "none":
            continue
        if not _attach(p, parent, steps, tracker, done, warn, fail, dict(plan.children_of)):
            break
    moved = {child: parent for child, parent in done.events}
    for parent, kids in done.parents.items():  # a child moved in this run left its old parent
        done.parents[parent] = tuple(c for c in kids if moved.get(c, parent) == parent)
    return done


def _detach(plan: Plan, tracker: Tracker, done: Attached, warn: Callable[[str], None],
            fail: Callable[[Exception, str], str]) -> None:
    """Take each child whose item is a top-level task now from under the parent guidesync put it under."""
    for parent, child in plan.detach:
        try:
            tracker.detach(parent, child)
        except (NotFound, Gone, Invalid, Conflict) as exc:
            warn(f"issue #{child} was left under #{parent}: {exc}")
            continue
        except (TrackerError, BudgetExhausted) as exc:
            fail(exc, f"taking issue #{child} from under #{parent}")
            return
        done.detached.append((parent, child))
        kept = done.parents.get(parent, tuple(c for c, p in plan.children_of.items() if p == parent))
        done.parents[parent] = tuple(c for c in kept if c != child)


def _attach(p: ParentStep, parent: int, steps: dict[int, TaskStep], tracker: Tracker, done: Attached,
            warn: Callable[[str], None], fail: Callable[[Exception, str], str], children_of: dict[int, int]) -> bool:
    """One parent's attach calls (``steps``: child issue -> its step, in guide order); False when
    the run should stop attaching."""
    current = [c for c in p.attached if (parent, c) not in done.detached]
    for mv in moves(list(steps), current, children_of, parent, ordered=done.mode in ORDERED):
        step = steps.get(mv.child)
        place = f"{step.task.guide}:{step.task.line + 1}" if step is not None and step.task is not None else f"#{mv.child}"
        try:
            tracker.attach(parent, mv.child, after=mv.after, move_from=mv.move_from)
        except Conflict as exc:
            warn(f"{place}: issue #{mv.child} is left where it is, not made a sub-issue of #{parent}: {exc}")
            continue
        except (NotFound, Gone) as exc:
            # Deleted or moved away since it was read: which of the two, the base remembers (as it
            # does for any issue found gone), so later runs do not try again.
            warn(f"{place}: issue #{mv.child} was not made a sub-issue of #{parent}: {exc}")
            done.gone |= {n for n in (parent, mv.child) if _missing(tracker, n)}
            if parent in done.gone:
                break
            continue
        except Invalid as exc:
            # Refused for this pair (a GitLab task cannot have children, a limit): reported with its
            # line, and the run goes on; the next one tries again.
            warn(f"{place}: issue #{mv.child} was not made a sub-issue of #{parent}: {exc}")
            continue
        except (TrackerError, BudgetExhausted) as exc:
            fail(exc, f"{place}: attaching issue #{mv.child} to #{parent}")
            done.parents[parent] = tuple(current)
            return False
        if mv.child in current:
            current.remove(mv.child)
        at = current.index(mv.after) + 1 if mv.after in current else len(current)
        current.insert(at, mv.child)
        done.events.append((mv.child, parent))
    done.parents[parent] = tuple(current)
    return True


def _missing(tracker: Tracker, number: int) -> bool:
    """Is this issue deleted or moved away? (One read, after an attach said one of two is.)"""
    try:
        return tracker.get_issue(number) is None
    except (NotFound, Gone):
        return True
    except (TrackerError, BudgetExhausted):
        return False


def _gone(outcome: StepOutcome | None) -> bool:
    return outcome is not None and outcome.gone
