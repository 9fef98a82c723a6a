"""A listing of only the milestones changed since the mark (GitLab 15.10+'s ``updated_after``,
issue 18), in the pure core: what a plan takes from it, and when it needs every milestone.

A milestone missing from such a listing is unchanged or deleted; nothing tells which. A plan that
relies on none of them is used as it is (a quiet run costs the two listings); a plan that writes
into one (a milestone written, an issue created in it or moved into it, or a managed issue seen
leaving the milestone the base recorded) asks for every milestone first, so it decides as a plan
from a full listing does: a deleted milestone is made again, never written into blind.
"""

from __future__ import annotations

from dataclasses import replace

from guidesync.core.base import Base
from guidesync.core.milestones import needs_every_milestone
from guidesync.core.plan import Snapshot, make_plan
from guidesync.trackers.base import RemoteMilestone
from tests.test_plan import M1, M2, PHASE_MS, impl_guide, in_step, ms_records, opts, phase_guide, remote, remote_ms, synced, task


def quiet_repository():
    """A phase guide of two linked tasks in step with milestone 1, and a changed-only listing of
    the milestones that holds none (nothing changed since the mark)."""
    g = phase_guide(task("Skeleton", link=7), task("Schema", link=8))
    base, snap = synced(g, {7: g.tasks[0], 8: g.tasks[1]})
    return g, base, replace(snap, issues={}, milestones={}, milestones_partial=True, complete=False)


def test_a_quiet_changed_only_listing_keeps_the_recorded_milestones_and_asks_for_nothing_more():
    g, base, snap = quiet_repository()
    plan = make_plan([g], base, snap, opts())
    (ms,) = plan.milestones
    assert (ms.number, ms.writes, ms.notes) == (1, False, ())
    assert all(s.is_noop for s in plan.tasks)
    assert not needs_every_milestone(plan, base, snap)
    # the same empty answer from a full listing says the milestone was deleted: made again
    full = make_plan([g], base, replace(snap, milestones_partial=False, complete=True), opts())
    assert full.milestones[0].create and "deleted on the tracker" in full.milestones[0].notes[0]


def test_a_creation_into_a_milestone_the_listing_did_not_show_needs_every_milestone():
    g, base, snap = quiet_repository()
    grown = phase_guide(task("Skeleton", link=7), task("Schema", link=8), task("Seed data"))
    plan = make_plan([grown], base, snap, opts())
    assert [s.create for s in plan.tasks].count(True) == 1
    assert needs_every_milestone(plan, base, snap)
    # shown by the listing (a person renamed it, say): it exists, the listing is enough
    shown = replace(snap, milestones={1: RemoteMilestone(1, "Renamed by a person", "", state="closed")})
    plan = make_plan([grown], base, shown, opts())
    assert not plan.milestones[0].writes and not needs_every_milestone(plan, base, shown)


def test_a_milestone_write_needs_every_milestone():
    g, base, snap = quiet_repository()
    renamed = replace(g, milestones=(replace(g.milestones[0], title="Phase 1: Groundwork"),))
    plan = make_plan([renamed], base, snap, opts())
    assert plan.milestones[0].update_title and needs_every_milestone(plan, base, snap)
    # a new section: a milestone of that title may exist (an earlier run's lost answer, a
    # person's, a group's): only a full listing can say
    plan = make_plan([g], Base(label=True), replace(snap, milestones={}), opts())
    assert plan.milestones[0].create and needs_every_milestone(plan, Base(label=True), snap)


def test_an_edit_in_place_does_not_but_a_move_into_an_unlisted_milestone_does():
    g = impl_guide((task("Cart endpoint", link=3), task("Pricing", link=4)), (task("Page", link=5),))
    numbers = {M1: 11, M2: 12}
    records = {3: in_step(g, g.milestones[0].tasks[0], 3, milestone=11),
               4: in_step(g, g.milestones[0].tasks[1], 4, milestone=11),
               5: in_step(g, g.milestones[1].tasks[0], 5, milestone=12)}
    base = Base(label=True, milestones=ms_records(g, numbers), records=records)
    snap = Snapshot(issues={}, milestones={}, milestones_partial=True)
    edited = impl_guide((task("Cart endpoint v2", link=3), task("Pricing", link=4)), (task("Page", link=5),))
    plan = make_plan([edited], base, snap, opts())
    assert [s.number for s in plan.tasks if s.update] == [3]
    assert not needs_every_milestone(plan, base, snap)  # milestone 11 stays what the issue has
    moved = impl_guide((task("Cart endpoint", link=3),), (task("Page", link=5), task("Pricing", link=4)))
    plan = make_plan([moved], base, snap, opts())
    assert [s.number for s in plan.tasks if s.update] == [4]
    assert needs_every_milestone(plan, base, snap)
    assert not needs_every_milestone(plan, base, replace(snap, milestones=remote_ms(g, numbers)))


def test_an_issue_seen_leaving_an_unlisted_milestone_needs_every_milestone():
    """GitLab deletes a milestone by taking it off each of its issues (each updated): the changed
    issues show it, the changed-only milestone listing cannot."""
    g, base, snap = quiet_repository()
    emptied = replace(snap, issues={7: remote(g, g.tasks[0], 7, milestone=None)})
    plan = make_plan([g], base, emptied, opts())
    assert all(s.is_noop for s in plan.tasks)  # the plan alone would leave it so
    assert needs_every_milestone(plan, base, emptied)
    # from that full listing: the milestone is made again and the issues moved into it
    full = make_plan([g], base, replace(emptied, milestones={}, milestones_partial=False), opts())
    assert full.milestones[0].create and {s.number for s in full.tasks if s.update} == {7, 8}
    # an issue still in its milestone, or one whose milestone the listing shows, proves nothing
    for seen in (replace(snap, issues={7: remote(g, g.tasks[0], 7, milestone=1)}),
                 replace(emptied, milestones=remote_ms(g, {PHASE_MS: 1}))):
        assert not needs_every_milestone(make_plan([g], base, seen, opts()), base, seen)


def test_a_pull_or_a_full_listing_never_needs_more():
    g, base, snap = quiet_repository()
    grown = phase_guide(task("Skeleton", link=7), task("Schema", link=8), task("Seed data"))
    pull = make_plan([grown], base, snap, opts(mode="pull"))
    assert not pull.milestones and not needs_every_milestone(pull, base, snap)
    full = replace(snap, milestones_partial=False, milestones=remote_ms(g, {PHASE_MS: 1}))
    assert not needs_every_milestone(make_plan([grown], base, full, opts()), base, full)
