"""The planner: the three-way checkbox decision table and make_plan on hand-built values.

The expectations of the decision table are written from the rules in issue 3 point 4, not read off
the code:

- box newly checked -> close the issue as completed; newly unchecked -> reopen it;
- issue newly closed -> check the box; newly reopened -> uncheck it;
- closed as *not planned* never checks a box, and is reported;
- no base yet: the task is done if either side says so;
- both sides changed and disagree: the guide wins.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from guidesync.core.model import Guide, GuideKind, IssueLink, Milestone, SubItem, Task
from guidesync.core.plan import (
    COMPLETED,
    GONE,
    NOT_PLANNED,
    OPEN,
    MilestoneStep,
    Options,
    Snapshot,
    StateDecision,
    decide_state,
    make_plan,
    revive,
)
from guidesync.core.render import content_hash, marker, milestone_description, render_issue
from guidesync.core.base import MilestoneRecord, Record, Base
from guidesync.trackers.base import RemoteIssue, RemoteMilestone

# -- the decision table ---------------------------------------------------------------------------

T, F = True, False
O, C, N = OPEN, COMPLETED, NOT_PLANNED


def nothing(checked: bool, state: str) -> StateDecision:
    return StateDecision(checked=checked, issue_state=state)


CLOSE = StateDecision(close=COMPLETED, checked=True, issue_state=COMPLETED)
REOPEN = StateDecision(reopen=True, checked=False, issue_state=OPEN)
CHECK = StateDecision(set_box=True, checked=True, issue_state=COMPLETED)
UNCHECK = StateDecision(set_box=False, checked=False, issue_state=OPEN)

# (guide box, remote state, base, expected decision, must be reported)
TABLE = [
    # -- no base (found by its marker): done if either side says done; not planned never checks a
    #    box and is reported. (A task back after its issue was closed as removed: see revive.)
    (F, O, None, nothing(F, O), False),
    (T, O, None, CLOSE, False),
    (F, C, None, CHECK, False),
    (T, C, None, nothing(T, C), False),
    (F, N, None, nothing(F, N), True),
    (T, N, None, nothing(T, N), True),  # already closed: nothing to write; reported
    # -- base (False, open)
    (F, O, (F, O), nothing(F, O), False),
    (T, O, (F, O), CLOSE, False),  # box newly checked
    (F, C, (F, O), CHECK, False),  # issue newly closed
    (T, C, (F, O), nothing(T, C), False),  # both changed, they agree
    (F, N, (F, O), nothing(F, N), True),  # newly closed as not planned: box untouched, reported
    (T, N, (F, O), nothing(T, N), True),  # checked and closed as not planned: both closed; reported
    # -- base (False, completed): e.g. a check that a pull could not write yet
    (F, O, (F, C), nothing(F, O), False),  # reopened, box already unchecked
    (T, O, (F, C), CLOSE, False),  # both changed and disagree: the guide wins
    (F, C, (F, C), nothing(F, C), False),
    (T, C, (F, C), nothing(T, C), False),  # newly checked, already closed
    (F, N, (F, C), nothing(F, N), True),
    (T, N, (F, C), nothing(T, N), True),
    # -- base (False, not planned)
    (F, O, (F, N), nothing(F, O), False),  # reopened, box already unchecked
    (T, O, (F, N), CLOSE, False),  # both changed and disagree: the guide wins
    (F, C, (F, N), nothing(F, C), True),  # closed as completed, but the base never saw it open: box left
    (T, C, (F, N), nothing(T, C), False),  # both changed, they agree
    (F, N, (F, N), nothing(F, N), False),  # unchanged (reported when it happened)
    (T, N, (F, N), nothing(T, N), False),  # newly checked, issue already closed
    # -- base (True, open): e.g. a close that a pull could not write yet
    (F, O, (T, O), nothing(F, O), False),  # newly unchecked, issue already open
    (T, O, (T, O), nothing(T, O), False),  # unchanged on both sides
    (F, C, (T, O), REOPEN, False),  # both changed and disagree: the guide wins
    (T, C, (T, O), nothing(T, C), False),  # issue newly closed, box already checked
    (F, N, (T, O), REOPEN, False),  # both changed and disagree: the guide wins
    (T, N, (T, O), nothing(T, N), True),  # closed as not planned: box left alone, reported
    # -- base (True, completed)
    (F, O, (T, C), nothing(F, O), False),  # both changed, they agree
    (T, O, (T, C), UNCHECK, False),  # issue newly reopened
    (F, C, (T, C), REOPEN, False),  # box newly unchecked
    (T, C, (T, C), nothing(T, C), False),
    (F, N, (T, C), REOPEN, False),  # both changed and disagree: the guide wins
    (T, N, (T, C), nothing(T, N), True),  # re-closed as not planned: box left alone, reported
    # -- base (True, not planned)
    (F, O, (T, N), nothing(F, O), False),  # both changed, they agree
    (T, O, (T, N), UNCHECK, False),  # issue newly reopened
    (F, C, (T, N), REOPEN, False),  # both changed and disagree: the guide wins
    (T, C, (T, N), nothing(T, C), False),  # re-closed as completed, box already checked
    (F, N, (T, N), REOPEN, False),  # box newly unchecked
    (T, N, (T, N), nothing(T, N), False),
]


def test_the_table_covers_every_combination():
    bases = [None] + [(b, s) for b in (F, T) for s in (O, C, N)]
    combos = {(g, r, b) for g in (F, T) for r in (O, C, N) for b in bases}
    assert {(g, r, b) for g, r, b, _, _ in TABLE} == combos
    assert len(TABLE) == len(combos) == 42


@pytest.mark.parametrize(
    "guide, remote, base, expected, reported",
    TABLE,
    ids=[f"box={'x' if g else '_'}-remote={r}-base={b[0] and 'x' or '_'}/{b[1]}" if b else f"box={'x' if g else '_'}-remote={r}-base=none" for g, r, b, _, _ in TABLE],
)
def test_decide_state(guide, remote, base, expected, reported):
    d = decide_state(guide, remote, base)
    assert (d.close, d.reopen, d.set_box, d.checked, d.issue_state) == (
        expected.close, expected.reopen, expected.set_box, expected.checked, expected.issue_state,
    )
    if reported:
        assert d.note
    # Never two writes for one task, and a not-planned issue never checks a box.
    assert sum((d.close is not None, d.reopen, d.set_box is not None)) <= 1
    if remote == NOT_PLANNED:
        assert d.set_box is not True
    # The agreed state is a fixed point: with it as the base and nothing changed, nothing happens.
    again = decide_state(d.checked, d.issue_state, (d.checked, d.issue_state))
    assert (again.close, again.reopen, again.set_box) == (None, False, None)


# -- hand-built guides ------------------------------------------------------------------------------

PHASE = "guides/phase-1.md"
PHASE_MS = f"{PHASE}#phase"
IMPL = "guides/checkout.md"
M1, M2 = f"{IMPL}#milestone-1", f"{IMPL}#milestone-2"
ISSUES = "https://github.com/acme/shop/issues/"


def url(n: int) -> str:
    return f"{ISSUES}{n}"


def owns(link_url: str, n: int) -> bool:
    return link_url == url(n)


def task(text: str, *, guide: str = PHASE, ms: str = PHASE_MS, checked: bool = False, link: int | None = None,
         line: int = 10, has_box: bool = True, subitems: tuple[SubItem, ...] = (), link_url: str | None = None) -> Task:
    lk = IssueLink(link, link_url or url(link)) if link is not None else None
    return Task(guide, ms, text, checked, has_box, line, line + 1, lk, subitems)


def phase_guide(*tasks: Task, path: str = PHASE) -> Guide:
    key = f"{path}#phase"
    tasks = tuple(replace(t, guide=path, milestone=key, line=10 + i, end_line=11 + i) for i, t in enumerate(tasks))
    return Guide(path, "Phase 1: Foundation - Detailed Implementation Guide", GuideKind.PHASE,
                 (Milestone(key, "Phase 1: Foundation", "Set up the skeleton.", 0, tasks),))


def impl_guide(first: tuple[Task, ...], second: tuple[Task, ...]) -> Guide:
    def fix(ts, key, start):
        return tuple(replace(t, guide=IMPL, milestone=key, line=start + i, end_line=start + i + 1) for i, t in enumerate(ts))

    return Guide(IMPL, "Implementation Guide: Checkout", GuideKind.IMPLEMENTATION, (
        Milestone(M1, "Checkout - Milestone 1: Cart API", "Goal: cart.", 5, fix(first, M1, 10)),
        Milestone(M2, "Checkout - Milestone 2: Page", "Goal: page.", 20, fix(second, M2, 25)),
    ))


def opts(**kw) -> Options:
    kw.setdefault("owns_link", owns)
    return Options(**kw)


def content(guide: Guide, t: Task, options: Options | None = None):
    options = options or opts()
    ms = next(m for m in guide.milestones if m.key == t.milestone)
    t = next(x for x in ms.tasks if x.text == t.text)
    return render_issue(t, guide, ms, options.guide_url(guide.path), dict(options.limits))


def ms_records(guide: Guide, numbers: dict[str, int], options: Options | None = None) -> dict[str, MilestoneRecord]:
    options = options or opts()
    out = {}
    for m in guide.milestones:
        desc = milestone_description(m, guide, options.guide_url(guide.path))
        out[m.key] = MilestoneRecord(numbers[m.key], m.title, content_hash(m.title, desc))
    return out


def remote_ms(guide: Guide, numbers: dict[str, int], options: Options | None = None) -> dict[int, RemoteMilestone]:
    options = options or opts()
    return {
        numbers[m.key]: RemoteMilestone(numbers[m.key], m.title, milestone_description(m, guide, options.guide_url(guide.path)))
        for m in guide.milestones
    }


def remote(guide: Guide, t: Task, n: int, state: str = OPEN, milestone: int | None = 1, labels=("guidesync",), **kw) -> RemoteIssue:
    c = content(guide, t)
    return RemoteIssue(n, url(n), kw.get("title", c.title), kw.get("body", c.body), state, milestone, tuple(labels))


def in_step(guide: Guide, t: Task, n: int, *, checked: bool | None = None, state: str | None = None, milestone: int = 1) -> Record:
    """The record of a task synced at the last run, as it is now in the guide."""
    ms = next(m for m in guide.milestones if m.key == t.milestone)
    t = next(x for x in ms.tasks if x.text == t.text)
    c = content(guide, t)
    return Record(t.guide, t.key, t.checked if checked is None else checked,
                  state or (COMPLETED if t.checked else OPEN), c.hash, milestone)


def synced(guide: Guide, links: dict[int, Task], **remote_states: str) -> tuple[Base, Snapshot]:
    """A base and a snapshot in which every linked task of a phase guide is in step (milestone 1)."""
    records, issues = {}, {}
    for n, t in links.items():
        st = remote_states.get(f"n{n}", COMPLETED if t.checked else OPEN)
        records[n] = in_step(guide, t, n)
        issues[n] = remote(guide, t, n, st)
    state = Base(label=True, milestones=ms_records(guide, {PHASE_MS: 1}), records=records)
    snap = Snapshot(issues=issues, milestones=remote_ms(guide, {PHASE_MS: 1}), complete=True)
    return state, snap


def only(plan, number=None, text=None):
    found = [s for s in plan.tasks if (number is None or s.number == number) and (text is None or (s.task and s.task.text == text))]
    assert len(found) == 1, found
    return found[0]


# -- create and adopt --------------------------------------------------------------------------------


def test_unlinked_tasks_are_created_checked_ones_closed_at_once():
    g = phase_guide(task("Skeleton"), task("Schema", checked=True))
    plan = make_plan([g], Base(), Snapshot(milestones={}, complete=True), opts())
    (ms,) = plan.milestones
    assert ms.create and ms.number is None and ms.title == "Phase 1: Foundation"
    a, b = plan.tasks
    assert (a.create, a.number, a.close, a.milestone_key) == (True, None, None, PHASE_MS)
    assert (b.create, b.number, b.close) == (True, None, COMPLETED)
    assert a.content.title == "Skeleton" and marker(g.tasks[0]) in a.content.body
    assert (b.record.checked, b.record.issue_state) == (True, COMPLETED)
    # If the close after the create fails, the base says open/unchecked so the next run closes it.
    assert (b.fallback.checked, b.fallback.issue_state) == (False, OPEN)
    assert a.record.hash == a.content.hash
    assert plan.ensure_label
    assert plan.counts()["created"] == 2 and plan.counts()["closed"] == 1 and plan.counts()["milestones_created"] == 1
    assert plan.guards == () and plan.problems == ()


def test_no_label_creation_when_the_base_knows_it_exists():
    g = phase_guide(task("Skeleton"))
    plan = make_plan([g], Base(label=True), Snapshot(milestones={}, complete=True), opts())
    assert not plan.ensure_label and plan.tasks[0].create


def test_an_issue_carrying_the_task_marker_is_adopted_not_created():
    g = phase_guide(task("Skeleton"), task("Schema"))
    skeleton = g.tasks[0]
    body = content(g, skeleton).body
    assert marker(skeleton) in body
    snap = Snapshot(issues={7: remote(g, skeleton, 7, body=body)}, milestones={}, complete=True)
    plan = make_plan([g], Base(), snap, opts())
    step = only(plan, text="Skeleton")
    assert (step.create, step.number, step.adopt_url) == (False, 7, url(7))
    assert step.guide_edit and step.record is not None and step.record.key == skeleton.key
    assert only(plan, text="Schema").create
    assert plan.counts()["created"] == 1 and plan.counts()["adopted"] == 1


def test_an_issue_with_another_tasks_marker_is_not_adopted():
    g = phase_guide(task("Skeleton"))
    other = phase_guide(task("Something else entirely")).tasks[0]
    snap = Snapshot(issues={7: remote(g, g.tasks[0], 7, title="Something else entirely", body=marker(other) + "\nold")},
                    milestones={}, complete=True)
    plan = make_plan([g], Base(), snap, opts())
    assert plan.tasks[0].create and plan.tasks[0].adopt_url is None
    assert any("#7" in p.message and "no task matches it" in p.message for p in plan.problems)


def test_a_leftover_issue_of_a_reworded_task_is_adopted_not_duplicated():
    """A run created #7 but its link never reached the guide; then the task was reworded, so the
    marker key no longer matches. Same guide, same milestone, a close title: adopted and updated."""
    before = phase_guide(task("Add the health check endpoint"))
    after = phase_guide(task("Add the health check endpoint with a timeout"))
    snap = Snapshot(issues={7: remote(before, before.tasks[0], 7)}, milestones=remote_ms(after, {PHASE_MS: 1}), complete=True)
    journal = {7: Record(before.path, before.tasks[0].key, False, OPEN, "", 1, pending=True)}
    state = Base(label=True, milestones=ms_records(after, {PHASE_MS: 1}), records=journal)
    step = make_plan([after], state, snap, opts()).tasks[0]
    assert not step.create and step.adopt_url == url(7) and step.update


def test_a_similar_issue_nobody_journalled_is_never_taken_over():
    """Adoption by likeness is a guess: only for an interrupted run's journalled creation. An issue
    with another task's marker and no journal (closed, forgotten, another branch's) stays its own."""
    before = phase_guide(task("Feature added at hour 24"))
    after = phase_guide(task("Feature added at hour 31"))
    snap = Snapshot(issues={7: remote(before, before.tasks[0], 7)}, milestones=remote_ms(after, {PHASE_MS: 1}), complete=True)
    state = Base(label=True, milestones=ms_records(after, {PHASE_MS: 1}))
    (step,) = make_plan([after], state, snap, opts()).tasks
    assert step.create and step.number is None


def test_a_journalled_leftover_alike_two_tasks_is_taken_by_neither():
    before = phase_guide(task("Add the health check endpoint"))
    after = phase_guide(task("Add the health check endpoint now"), task("Add the health check endpoints"))
    snap = Snapshot(issues={7: remote(before, before.tasks[0], 7)}, milestones=remote_ms(after, {PHASE_MS: 1}), complete=True)
    journal = {7: Record(before.path, before.tasks[0].key, False, OPEN, "", 1, pending=True)}
    state = Base(label=True, milestones=ms_records(after, {PHASE_MS: 1}), records=journal)
    plan = make_plan([after], state, snap, opts())
    assert [s.create for s in plan.tasks if s.task] == [True, True]


def test_a_marker_in_a_deleted_issue_is_not_adopted():
    g = phase_guide(task("Skeleton"))
    snap = Snapshot(issues={7: remote(g, g.tasks[0], 7)}, milestones={}, gone=frozenset({7}), complete=True)
    plan = make_plan([g], Base(), snap, opts())
    assert plan.tasks[0].create


def test_adopted_and_checked_task_closes_the_issue_and_moves_it_to_its_milestone():
    g = phase_guide(task("Skeleton", checked=True))
    snap = Snapshot(issues={7: remote(g, g.tasks[0], 7, milestone=None)}, milestones=remote_ms(g, {PHASE_MS: 1}), complete=True)
    step = make_plan([g], Base(), snap, opts()).tasks[0]
    assert step.adopt_url == url(7) and step.close == COMPLETED
    assert step.update and step.record.milestone == 1  # it was in no milestone


def test_adopted_issue_already_in_step_is_not_updated():
    g = phase_guide(task("Skeleton"))
    snap = Snapshot(issues={7: remote(g, g.tasks[0], 7, milestone=1)}, milestones=remote_ms(g, {PHASE_MS: 1}), complete=True)
    step = make_plan([g], Base(), snap, opts()).tasks[0]
    assert step.adopt_url == url(7) and not step.update and step.tracker_writes == 0


def test_adopted_issue_is_moved_into_a_milestone_created_in_the_same_run():
    # The milestone does not exist yet (want_ms is None) and the issue is in no milestone, so
    # the planner's content comparison (steps._content_changed) compares None with None and plans
    # no update; the executor then records the new milestone number in the base anyway, so the
    # issue is never moved.
    g = phase_guide(task("Skeleton"))
    snap = Snapshot(issues={7: remote(g, g.tasks[0], 7, milestone=None)}, milestones={}, complete=True)
    plan = make_plan([g], Base(), snap, opts())
    assert plan.milestones[0].create
    assert plan.tasks[0].adopt_url == url(7) and plan.tasks[0].update


def test_a_task_whose_link_was_lost_is_not_created_again_when_its_issue_was_not_listed():
    # The base knows issue #5 for this task, but the link was deleted from the line (a hand edit or
    # a merge). An incremental listing does not include #5 (unchanged), so the planner cannot build
    # its URL - and plans a second issue instead of adopting #5.
    g = phase_guide(task("Skeleton"))
    state = Base(label=True, milestones=ms_records(g, {PHASE_MS: 1}), records={5: in_step(g, g.tasks[0], 5)})
    plan = make_plan([g], state, Snapshot(milestones=None), opts())
    assert not any(s.create for s in plan.tasks)


# -- content --------------------------------------------------------------------------------------------


def test_in_step_task_is_a_noop():
    g = phase_guide(task("Skeleton", link=3), task("Schema", link=4, checked=True))
    state, snap = synced(g, {3: g.tasks[0], 4: g.tasks[1]})
    plan = make_plan([g], state, snap, opts())
    assert plan.changes == () and plan.milestones[0].writes is False
    assert all(s.record == state.records[s.number] for s in plan.tasks)


def test_text_change_updates_the_issue_no_new_issue():
    g = phase_guide(task("Skeleton", link=3))
    state, snap = synced(g, {3: g.tasks[0]})
    edited = phase_guide(task("Skeleton with health check", link=3))
    step = make_plan([edited], state, snap, opts()).tasks[0]
    new = content(edited, edited.tasks[0])
    assert new.hash != state.records[3].hash
    assert (step.number, step.update, step.create, step.content.title) == (3, True, False, "Skeleton with health check")
    assert step.record.hash == new.hash and step.record.milestone == 1
    # Nothing else changes.
    assert (step.close, step.reopen, step.set_box) == (None, False, None)


def test_sub_item_change_updates_the_body():
    g = phase_guide(task("CI", link=3, subitems=(SubItem("lint", False, 1),)))
    state, snap = synced(g, {3: g.tasks[0]})
    edited = phase_guide(task("CI", link=3, subitems=(SubItem("lint", True, 1),)))
    step = make_plan([edited], state, snap, opts()).tasks[0]
    assert step.update and "- [x] lint" in step.content.body


def test_missing_label_is_put_back_with_an_update():
    g = phase_guide(task("Skeleton", link=3))
    state, snap = synced(g, {3: g.tasks[0]})
    snap = replace(snap, issues={3: replace(snap.issues[3], labels=("bug",))})
    step = make_plan([g], state, snap, opts()).tasks[0]
    assert step.update and step.labels == ("bug", "guidesync")


def test_task_moved_to_another_milestone_moves_the_issue():
    g = impl_guide((task("Cart endpoint", link=3), task("Pricing", link=4)), (task("Page", link=5),))
    numbers = {M1: 11, M2: 12}
    records = {
        3: in_step(g, g.milestones[0].tasks[0], 3, milestone=11),
        4: in_step(g, g.milestones[0].tasks[1], 4, milestone=11),
        5: in_step(g, g.milestones[1].tasks[0], 5, milestone=12),
    }
    state = Base(label=True, milestones=ms_records(g, numbers), records=records)
    snap = Snapshot(issues={}, milestones=remote_ms(g, numbers))
    # Move "Pricing" from milestone 1 to milestone 2.
    moved = impl_guide((task("Cart endpoint", link=3),), (task("Page", link=5), task("Pricing", link=4)))
    plan = make_plan([moved], state, snap, opts())
    step = only(plan, number=4)
    assert step.update and step.milestone_key == M2 and step.record.milestone == 12
    assert not only(plan, number=3).update and not only(plan, number=5).update
    assert not any(s.create or s.forget for s in plan.tasks)


# -- removed tasks ------------------------------------------------------------------------------------------


def test_removed_task_closes_its_issue_not_planned_with_a_comment_and_is_forgotten():
    g = phase_guide(task("Skeleton", link=3), task("Schema", link=4))
    state, snap = synced(g, {3: g.tasks[0], 4: g.tasks[1]})
    shorter = phase_guide(task("Skeleton", link=3))
    plan = make_plan([shorter], state, snap, opts())
    step = only(plan, number=4)
    assert step.task is None and step.close == NOT_PLANNED and step.forget
    assert step.comment and PHASE in step.comment and "removed" in step.comment
    assert step.fallback == state.records[4]
    assert plan.counts()["closed"] == 1 and plan.counts()["forgotten"] == 1
    assert plan.guards == ()


def test_removed_task_with_on_removed_keep_is_only_forgotten():
    g = phase_guide(task("Skeleton", link=3), task("Schema", link=4))
    state, snap = synced(g, {3: g.tasks[0], 4: g.tasks[1]})
    plan = make_plan([phase_guide(task("Skeleton", link=3))], state, snap, opts(on_removed="keep"))
    step = only(plan, number=4)
    assert step.forget and step.close is None and step.comment is None and step.tracker_writes == 0


def test_removed_task_whose_issue_is_already_closed_is_only_forgotten():
    g = phase_guide(task("Skeleton", link=3), task("Schema", link=4, checked=True))
    state, snap = synced(g, {3: g.tasks[0], 4: g.tasks[1]})
    step = only(make_plan([phase_guide(task("Skeleton", link=3))], state, snap, opts()), number=4)
    assert step.forget and step.close is None and step.comment is None


# -- modes ---------------------------------------------------------------------------------------------------


def test_push_does_not_write_boxes_and_keeps_the_old_base():
    g = phase_guide(task("Skeleton", link=3))
    state, snap = synced(g, {3: g.tasks[0]}, n3=COMPLETED)  # closed on the tracker since the base
    sync_step = make_plan([g], state, snap, opts(mode="sync")).tasks[0]
    assert sync_step.set_box is True and (sync_step.record.checked, sync_step.record.issue_state) == (True, COMPLETED)
    push_step = make_plan([g], state, snap, opts(mode="push")).tasks[0]
    assert push_step.set_box is None and push_step.tracker_writes == 0
    # The base still says (unchecked, open), so the next pull or sync sees "newly closed" and checks it.
    assert (push_step.record.checked, push_step.record.issue_state) == (False, OPEN)
    assert (push_step.fallback.checked, push_step.fallback.issue_state) == (False, OPEN)
    pull_step = make_plan([g], state, snap, opts(mode="pull")).tasks[0]
    assert pull_step.set_box is True and (pull_step.record.checked, pull_step.record.issue_state) == (True, COMPLETED)


def test_pull_does_not_write_the_tracker_and_keeps_the_old_base():
    g = phase_guide(task("Skeleton", link=3))
    state, snap = synced(g, {3: g.tasks[0]})
    edited = phase_guide(task("Skeleton, renamed", link=3, checked=True))  # checked and edited
    sync_step = make_plan([edited], state, snap, opts(mode="sync")).tasks[0]
    assert sync_step.close == COMPLETED and sync_step.update
    pull = make_plan([edited], state, snap, opts(mode="pull"))
    step = pull.tasks[0]
    assert step.tracker_writes == 0 and step.close is None and not step.update
    assert pull.milestones == () and not pull.ensure_label
    # The base keeps the old box/state and the old hash: the next push still closes and updates.
    assert (step.record.checked, step.record.issue_state, step.record.hash) == (False, OPEN, state.records[3].hash)


def test_pull_creates_nothing_and_forgets_nothing():
    g = phase_guide(task("Skeleton", link=3), task("Schema", link=4))
    state, snap = synced(g, {3: g.tasks[0], 4: g.tasks[1]})
    guide = phase_guide(task("Skeleton", link=3), task("New task"))
    plan = make_plan([guide], state, snap, opts(mode="pull"))
    new = only(plan, text="New task")
    assert not new.create and new.tracker_writes == 0 and new.record is None
    gone = only(plan, number=4)
    assert not gone.forget and gone.tracker_writes == 0 and gone.record == state.records[4]
    assert all(s.tracker_writes == 0 for s in plan.tasks)


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError):
        make_plan([], Base(), Snapshot(), Options(mode="plan"))


# -- guards -----------------------------------------------------------------------------------------------------


def test_closing_more_than_max_close_needs_force():
    g = phase_guide(*(task(f"Task {i}", link=i) for i in range(1, 5)))
    state, snap = synced(g, {i: g.tasks[i - 1] for i in range(1, 5)})
    checked = phase_guide(*(task(f"Task {i}", link=i, checked=True) for i in range(1, 5)))
    plan = make_plan([checked], state, snap, opts(max_close=3))
    assert len([s for s in plan.tasks if s.close]) == 4
    (guard,) = plan.guards
    assert "close 4 issues" in guard and "max_close is 3" in guard and "--force" in guard
    assert make_plan([checked], state, snap, opts(max_close=4)).guards == ()


def test_creating_checked_tasks_does_not_count_towards_max_close():
    g = phase_guide(*(task(f"Task {i}", checked=True) for i in range(5)))
    plan = make_plan([g], Base(), Snapshot(milestones={}, complete=True), opts(max_close=1))
    assert plan.counts()["closed"] == 5 and plan.guards == ()


def test_a_guide_whose_linked_tasks_all_vanished_needs_force():
    g = phase_guide(task("Skeleton", link=3), task("Schema", link=4))
    state, snap = synced(g, {3: g.tasks[0], 4: g.tasks[1]})
    truncated = phase_guide()  # the checklist is gone
    plan = make_plan([truncated], state, snap, opts())
    assert any(PHASE in gd and "had 2 linked tasks and now has none" in gd for gd in plan.guards)
    # Also when the guide file is gone altogether, and with on_removed: keep.
    assert make_plan([], state, snap, opts()).guards
    assert make_plan([truncated], state, snap, opts(on_removed="keep")).guards


def test_a_guide_losing_some_links_is_no_guard():
    g = phase_guide(task("Skeleton", link=3), task("Schema", link=4))
    state, snap = synced(g, {3: g.tasks[0], 4: g.tasks[1]})
    assert make_plan([phase_guide(task("Skeleton", link=3))], state, snap, opts()).guards == ()


# -- links that cannot be synced --------------------------------------------------------------------------------


def test_two_tasks_linking_one_issue_is_an_error_and_neither_is_synced():
    before = phase_guide(task("Skeleton", link=3), task("Seed", link=4))
    state, snap = synced(before, {3: before.tasks[0], 4: before.tasks[1]})
    # A copy-paste gave a second task the link of #3.
    g = phase_guide(task("Skeleton", link=3), task("Schema", link=3, checked=True), task("Seed", link=4))
    plan = make_plan([g], state, snap, opts())
    errors = [p for p in plan.problems if p.severity == "error"]
    assert errors and all("#3" in p.message for p in errors) and {p.line for p in errors} == {10, 11}
    assert not [s for s in plan.tasks if s.number == 3]  # no step: not closed, not forgotten, not updated
    assert only(plan, number=4).is_noop
    assert plan.guards == ()


def test_a_link_to_another_repository_is_part_of_the_task_text():
    foreign = "https://github.com/other/lib/issues/9"
    g = phase_guide(task("Upstream fix", link=9, link_url=foreign, checked=True), task("Skeleton"))
    plan = make_plan([g], Base(), Snapshot(milestones={}, complete=True), opts())
    assert plan.problems == ()
    first, second = plan.tasks
    assert first.create and first.append_link and first.task.text == f"Upstream fix ([#9]({foreign}))"
    assert first.close == COMPLETED and second.create and not second.append_link


def test_an_unrecognised_link_to_a_number_guidesync_knows_is_left_alone_and_never_a_removal():
    odd = "https://elsewhere.example/acme/shop/issues/4"
    g = phase_guide(task("Skeleton", link=4))
    state, snap = synced(g, {4: g.tasks[0]})
    moved = phase_guide(task("Skeleton", link=4, link_url=odd))
    plan = make_plan([moved], state, snap, opts())
    (warning,) = plan.problems
    assert warning.severity == "warning" and odd in warning.message
    assert all(s.close is None and not s.forget and not s.create for s in plan.tasks)


def test_a_foreign_link_does_not_collide_with_our_issue_of_the_same_number():
    foreign = "https://github.com/other/lib/issues/4"
    g = phase_guide(task("Upstream fix", link=4, link_url=foreign), task("Our task", link=4))
    state, snap = synced(g, {4: g.tasks[1]})
    plan = make_plan([g], state, snap, opts())
    assert not [p for p in plan.problems if p.severity == "error"]
    assert only(plan, number=4).task.text == "Our task"


def test_records_of_frozen_guides_are_left_untouched():
    g = phase_guide(task("Skeleton", link=3), task("Schema", link=4))
    state, snap = synced(g, {3: g.tasks[0], 4: g.tasks[1]})
    # The guide has errors, so the caller leaves it out and freezes it: nothing closes or forgets.
    plan = make_plan([], state, snap, opts(frozen_guides=frozenset({PHASE})))
    assert plan.tasks == () and plan.guards == ()
    # Without freezing, the same input closes both issues (and trips the emptied-guide guard).
    plan = make_plan([], state, snap, opts())
    assert {s.number for s in plan.tasks if s.close == NOT_PLANNED} == {3, 4} and plan.guards


def test_records_of_guides_out_of_scope_are_left_alone_when_paths_were_given():
    g = phase_guide(task("Skeleton", link=3))
    state, snap = synced(g, {3: g.tasks[0]})
    other = phase_guide(task("Elsewhere"), path="guides/phase-2.md")
    plan = make_plan([other], state, snap, opts(all_guides=False))
    assert [s.number for s in plan.tasks] == [None]


# -- milestones ----------------------------------------------------------------------------------------------------


def test_milestone_of_the_same_title_is_adopted():
    g = phase_guide(task("Skeleton"))
    snap = Snapshot(milestones={4: RemoteMilestone(4, "Phase 1: Foundation", "old text")}, complete=True)
    plan = make_plan([g], Base(), snap, opts())
    (ms,) = plan.milestones
    assert (ms.number, ms.create, ms.adopted, ms.update_description) == (4, False, True, True)
    assert ms.record == MilestoneRecord(4, "Phase 1: Foundation", content_hash(ms.title, ms.description))
    assert plan.counts()["milestones_created"] == 0


def test_project_milestone_is_preferred_to_a_group_milestone_of_the_same_title():
    g = phase_guide(task("Skeleton"))
    snap = Snapshot(milestones={
        2: RemoteMilestone(2, "Phase 1: Foundation", "", group=True),
        9: RemoteMilestone(9, "Phase 1: Foundation", ""),
    }, complete=True)
    assert make_plan([g], Base(), snap, opts()).milestones[0].number == 9
    only_group = Snapshot(milestones={2: RemoteMilestone(2, "Phase 1: Foundation", "x", group=True)}, complete=True)
    (ms,) = make_plan([g], Base(), only_group, opts()).milestones
    assert ms.number == 2 and ms.group and not ms.update_description  # a group milestone is not edited


def test_milestone_deleted_on_the_tracker_is_created_again():
    g = phase_guide(task("Skeleton", link=3))
    state, snap = synced(g, {3: g.tasks[0]})
    snap = replace(snap, milestones={})  # milestone 1 is gone
    plan = make_plan([g], state, snap, opts())
    (ms,) = plan.milestones
    assert ms.create and any("deleted" in n for n in ms.notes)
    step = plan.tasks[0]
    assert step.update  # the issue goes to the new milestone
    # A listing not modified since the base keeps the remembered number.
    assert make_plan([g], state, replace(snap, milestones=None), opts()).milestones[0].number == 1


def test_milestone_renamed_on_the_tracker_is_kept_by_number():
    g = phase_guide(task("Skeleton", link=3))
    state, snap = synced(g, {3: g.tasks[0]})
    snap = replace(snap, milestones={1: replace(snap.milestones[1], title="Renamed by hand")})
    (ms,) = make_plan([g], state, snap, opts()).milestones
    assert (ms.number, ms.create, ms.update_title, ms.update_description) == (1, False, False, False)


def test_milestone_renamed_in_the_guide_is_updated():
    g = phase_guide(task("Skeleton", link=3))
    state, snap = synced(g, {3: g.tasks[0]})
    renamed = replace(g, milestones=(replace(g.milestones[0], title="Phase 1: Groundwork"),))
    (ms,) = make_plan([renamed], state, snap, opts()).milestones
    assert ms.number == 1 and ms.update_title and not ms.create


def test_milestone_without_tasks_gets_no_step():
    g = impl_guide((task("Cart endpoint"),), ())
    plan = make_plan([g], Base(), Snapshot(milestones={}, complete=True), opts())
    assert [m.key for m in plan.milestones] == [M1]


# -- offline ---------------------------------------------------------------------------------------------------------


def test_offline_plan_creates_unlinked_and_leaves_unknown_links_alone():
    g = phase_guide(task("Skeleton"), task("Schema", link=4, checked=True))
    plan = make_plan([g], Base(), Snapshot(offline=True), opts())
    new, linked = only(plan, text="Skeleton"), only(plan, text="Schema")
    assert new.create and linked.number == 4
    assert linked.tracker_writes == 0 and linked.set_box is None and any("offline" in n for n in linked.notes)
    assert [m.create for m in plan.milestones] == [True]


def test_offline_plan_decides_against_the_base():
    g = phase_guide(task("Skeleton", link=3))
    state, _ = synced(g, {3: g.tasks[0]})
    checked = phase_guide(task("Skeleton", link=3, checked=True))
    plan = make_plan([checked], state, Snapshot(offline=True), opts())
    (ms,) = plan.milestones
    assert ms.number == 1 and not ms.create  # the remembered milestone is trusted offline
    assert plan.tasks[0].close == COMPLETED and not plan.tasks[0].update


# -- deleted issues ---------------------------------------------------------------------------------------------------


def test_issue_deleted_on_the_tracker_is_reported_not_recreated():
    g = phase_guide(task("Skeleton", link=3))
    state, snap = synced(g, {3: g.tasks[0]})
    snap = replace(snap, issues={}, gone=frozenset({3}))
    step = make_plan([g], state, snap, opts()).tasks[0]
    assert step.tracker_writes == 0 and not step.create and step.record.issue_state == GONE
    assert any("deleted" in n for n in step.notes)


def test_make_plan_is_deterministic():
    before = phase_guide(task("Skeleton", link=3), task("Seed", link=5), task("Gone", link=6))
    state, snap = synced(before, {3: before.tasks[0], 5: before.tasks[1], 6: before.tasks[2]}, n5=COMPLETED)
    g = phase_guide(task("Skeleton, edited", link=3, checked=True), task("Schema"), task("Seed", link=5))
    a = make_plan([g], state, snap, opts())
    b = make_plan([g], state, snap, opts())
    assert a == b and len(a.changes) == 4  # close+update #3, create, check #5, close #6
    assert isinstance(a.milestones[0], MilestoneStep)


@pytest.mark.parametrize("checked, remote, expected", [
    (F, O, nothing(F, O)), (F, C, REOPEN), (F, N, REOPEN),
    (T, O, CLOSE), (T, C, nothing(T, C)), (T, N, nothing(T, N)),
])
def test_a_task_back_after_its_issue_was_closed_as_removed_decides(checked, remote, expected):
    d = revive(checked, remote)
    assert (d.close, d.reopen, d.set_box, d.checked, d.issue_state) == (
        expected.close, expected.reopen, expected.set_box, expected.checked, expected.issue_state)
    assert d.set_box is None  # never a box checked from the tracker's side
