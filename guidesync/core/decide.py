"""The checkbox decision table: (guide box, tracker state, base) -> what to change. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from .planmodel import COMPLETED, NOT_PLANNED, OPEN


@dataclass(frozen=True)
class StateDecision:
    close: str | None = None
    reopen: bool = False
    set_box: bool | None = None
    checked: bool = False  # the agreed box state afterwards
    issue_state: str = OPEN  # the agreed tracker state afterwards
    note: str | None = None


def decide_state(guide_checked: bool, remote: str, base: tuple[bool, str] | None) -> StateDecision:
    """The checkbox decision table (guide box, tracker state, base) -> what to change.

    A box newly checked closes the issue; newly unchecked reopens it; an issue newly closed checks
    the box; newly reopened unchecks it. Closed as not planned never checks a box, and neither does
    a close the base never saw open. With no base (an issue found by its marker, whose creation
    this checkout's base never recorded, e.g. a pending write-back), the task is done if either side
    says so. A task that comes back after guidesync closed its issue as removed: :func:`revive`.
    When both sides changed and disagree, the guide wins.
    """
    g, r = guide_checked, remote
    if base is None:
        if r == OPEN:
            return StateDecision(close=COMPLETED, checked=True, issue_state=COMPLETED) if g else StateDecision(checked=False, issue_state=OPEN)
        if r == COMPLETED:
            return StateDecision(checked=True, issue_state=COMPLETED) if g else StateDecision(set_box=True, checked=True, issue_state=COMPLETED)
        return StateDecision(checked=g, issue_state=r, note="closed as not planned on the tracker; its box is left as it is")
    bc, bs = base
    guide_changed, remote_changed = g != bc, r != bs
    if not guide_changed and not remote_changed:
        return StateDecision(checked=g, issue_state=r)
    if guide_changed and not remote_changed:
        if g and r == OPEN:
            return StateDecision(close=COMPLETED, checked=True, issue_state=COMPLETED)
        if not g and r != OPEN:
            return StateDecision(reopen=True, checked=False, issue_state=OPEN)
        return StateDecision(checked=g, issue_state=r)
    if remote_changed and not guide_changed:
        if r == COMPLETED and not g:
            if bs != OPEN:  # a box is checked only for a close the base saw happen to an open issue
                return StateDecision(checked=g, issue_state=r, note="closed on the tracker since it was closed as not planned; its box is left as it is")
            return StateDecision(set_box=True, checked=True, issue_state=COMPLETED)
        if r == OPEN and g:
            return StateDecision(set_box=False, checked=False, issue_state=OPEN)
        if r == NOT_PLANNED:
            return StateDecision(checked=g, issue_state=r, note="closed as not planned on the tracker; its box is left as it is")
        return StateDecision(checked=g, issue_state=r)
    # Both sides changed.
    if (g and r == COMPLETED) or (not g and r == OPEN):
        return StateDecision(checked=g, issue_state=r)
    if g and r == NOT_PLANNED:
        return StateDecision(checked=True, issue_state=r, note="checked in the guide but closed as not planned on the tracker")
    note = "changed on both sides; the guide wins"
    if g:
        return StateDecision(close=COMPLETED, checked=True, issue_state=COMPLETED, note=note)
    return StateDecision(reopen=True, checked=False, issue_state=OPEN, note=note)


def revive(guide_checked: bool, remote: str) -> StateDecision:
    """A task back in a guide after guidesync closed its issue as removed (typed in again, restored
    with its link): the guide says whether the work is done. An unchecked task ends with an open issue; a
    checked one closes an open issue; no box is ever checked from the tracker's side."""
    if guide_checked:
        if remote == OPEN:
            return StateDecision(close=COMPLETED, checked=True, issue_state=COMPLETED)
        if remote == NOT_PLANNED:
            return StateDecision(checked=True, issue_state=remote, note="checked in the guide but closed as not planned on the tracker")
        return StateDecision(checked=True, issue_state=remote)
    if remote == OPEN:
        return StateDecision(checked=False, issue_state=OPEN)
    return StateDecision(reopen=True, checked=False, issue_state=OPEN,
                         note="its task is in the guide and unchecked, so its closed issue is reopened")
