"""guidesync.core.outcome: guide edits and the next base as pure functions of the plan and the outcomes."""

from __future__ import annotations

import ast
from pathlib import Path

from guidesync.core import outcome
from guidesync.core.model import IssueLink, Task
from guidesync.core.outcome import (Fetched, MilestoneOutcome, Outcomes, RunEnd, StepOutcome, guide_edits, journal,
                               listings_written, next_base, next_etags, next_milestones, next_records, next_unsure)
from guidesync.core.plan import Plan, Snapshot, TaskStep
from guidesync.core.base import GONE, MilestoneRecord, Record, Base
from guidesync.trackers.base import RemoteIssue
from guidesync.core.edit import Edit

URL = "https://example.test/o/r/issues/"
END = RunEnd("github", "o/r")


def task(line: int, *, checked: bool = False, has_box: bool = True, text: str = "") -> Task:
    return Task("g.md", "g.md#phase", text or f"task {line}", checked, has_box, line, line + 1)


def rec(state: str = "open", milestone: int | None = 7, checked: bool = False) -> Record:
    return Record("g.md", "k", checked, state, "h", milestone)


def issue(n: int, url: str | None = None) -> RemoteIssue:
    return RemoteIssue(n, URL + str(n) if url is None else url, "t", "b", "open", None, ())


def number_of(url: str) -> int | None:
    return int(url.rsplit("/", 1)[1]) if url.startswith(URL) else None


def fetched(**kw) -> Fetched:
    values = dict(snapshot=Snapshot(), etags={"issues:1": "a", "milestones:1": "b"}, since="S", full_at="F", full=False,
                  since_if_quiet="Q")
    values.update(kw)
    return Fetched(**values)


# -- Outcomes -----------------------------------------------------------------------------------


def test_a_step_never_reached_has_done_nothing():
    o = Outcomes()
    assert o.step(3) == StepOutcome() and not o.step(3).done
    assert not o.journal_due


def test_milestone_number_tells_a_step_without_number_from_no_step():
    o = Outcomes(milestones={"a": MilestoneOutcome(None), "b": MilestoneOutcome(4)})
    assert o.milestone_number("a", 9) is None
    assert o.milestone_number("b", 9) == 4
    assert o.milestone_number("c", 9) == 9 and o.milestone_number(None) is None


def test_with_written_marks_only_those_steps_and_keeps_the_rest():
    o = Outcomes({0: StepOutcome(done=True), 1: StepOutcome(created=issue(5))})
    w = o.with_written([1])
    assert w.step(1) == StepOutcome(created=issue(5), written=True)
    assert w.step(0) == StepOutcome(done=True)
    assert not o.step(1).written  # the original is unchanged


def test_the_journal_is_due_when_an_issue_was_or_may_have_been_created():
    assert Outcomes({0: StepOutcome(created=issue(1))}).journal_due
    assert Outcomes({0: StepOutcome(unsure=True)}).journal_due
    assert not Outcomes({0: StepOutcome(done=True, closed=True)}).journal_due


# -- guide edits --------------------------------------------------------------------------------


def test_a_created_issue_is_linked_and_a_bullet_gets_its_box():
    plan = Plan(tasks=(TaskStep(task(2, has_box=False, checked=False), None, create=True, append_link=True),))
    edits, warnings = guide_edits(plan, Outcomes({0: StepOutcome(done=False, created=issue(8))}), number_of)
    # linked even though a later write of the step failed: the issue exists
    assert edits == {"g.md": [(0, Edit(2, checked=False, link=IssueLink(8, URL + "8"), append=True))]}
    assert warnings == []


def test_no_edit_for_a_creation_that_did_not_happen():
    plan = Plan(tasks=(TaskStep(task(2), None, create=True),))
    assert guide_edits(plan, Outcomes({0: StepOutcome(error="x")}), number_of) == ({}, [])
    assert guide_edits(plan, Outcomes(), number_of) == ({}, [])


def test_a_link_that_is_not_the_issues_own_page_is_not_written():
    plan = Plan(tasks=(TaskStep(task(2), None, create=True), TaskStep(task(4), None, create=True)))
    asked: list[str] = []

    def reading(url: str) -> int | None:
        asked.append(url)
        return number_of(url)

    outcomes = Outcomes({0: StepOutcome(done=True, created=issue(8, URL + "9")),
                         1: StepOutcome(done=True, created=issue(9, "https://x/(y)"))})
    edits, warnings = guide_edits(plan, outcomes, reading)
    assert edits == {}
    assert len(warnings) == 2 and warnings[0].startswith("g.md:3: issue #8: the tracker gave")
    assert "g.md:5: issue #9" in warnings[1]
    assert asked == [URL + "9"]  # a URL that is not plain is refused before the tracker reads it


def test_an_adopted_issue_is_linked_only_once_its_step_is_done():
    step = TaskStep(task(1), 5, adopt_url=URL + "5", set_box=True)
    plan = Plan(tasks=(step,))
    assert guide_edits(plan, Outcomes({0: StepOutcome(error="x")}), number_of) == ({}, [])
    edits, _ = guide_edits(plan, Outcomes({0: StepOutcome(done=True)}), number_of)
    assert edits == {"g.md": [(0, Edit(1, checked=True, link=IssueLink(5, URL + "5")))]}


def test_a_box_is_set_only_when_its_step_is_done():
    plan = Plan(tasks=(TaskStep(task(1), 5, set_box=False, close="completed"), TaskStep(None, 6, set_box=True)))
    assert guide_edits(plan, Outcomes({0: StepOutcome(error="x")}), number_of).edits == {}
    edits, _ = guide_edits(plan, Outcomes({0: StepOutcome(done=True), 1: StepOutcome(done=True)}), number_of)
    assert edits == {"g.md": [(0, Edit(1, checked=False))]}  # a step without a task has no line to edit


# -- records ------------------------------------------------------------------------------------


def created_step(**kw) -> TaskStep:
    return TaskStep(task(1), None, create=True, milestone_key="m", record=rec(), fallback=rec(checked=True), **kw)


def test_a_created_issue_is_recorded_pending_until_its_link_is_written():
    plan = Plan(tasks=(created_step(),))
    made = Outcomes({0: StepOutcome(done=True, created=issue(8))}, {"m": MilestoneOutcome(3)})
    assert next_records(plan, Base(), made) == {8: Record("g.md", "k", False, "open", "h", 3, pending=True)}
    assert next_records(plan, Base(), made.with_written([0]))[8] == rec(milestone=3)


def test_a_created_issue_whose_later_writes_failed_gets_the_fallback():
    plan = Plan(tasks=(created_step(),))
    made = Outcomes({0: StepOutcome(created=issue(8), error="x")}).with_written([0])
    assert next_records(plan, Base(), made) == {8: rec(checked=True, milestone=None)}


def test_an_issue_gone_from_the_tracker_is_recorded_gone():
    base = Base(records={5: rec()})
    plan = Plan(tasks=(TaskStep(task(1), 5, update=True, record=rec("completed")),))
    assert next_records(plan, base, Outcomes({0: StepOutcome(gone=True)})) == {5: rec(GONE)}


def test_a_forgotten_task_leaves_a_tombstone_or_nothing_once_done():
    base = Base(records={5: rec(), 6: rec()})
    tomb = rec("removed")
    plan = Plan(tasks=(TaskStep(None, 5, forget=True, record=tomb), TaskStep(None, 6, forget=True)))
    assert next_records(plan, base, Outcomes({0: StepOutcome(done=True), 1: StepOutcome(done=True)})) == {5: tomb}
    assert next_records(plan, base, Outcomes()) == base.records


def test_a_step_done_but_not_written_to_its_guide_falls_back():
    base = Base(records={5: rec()})
    step = TaskStep(task(1), 5, set_box=True, record=rec("completed", checked=True), fallback=rec("completed"))
    plan = Plan(tasks=(step,))
    done = Outcomes({0: StepOutcome(done=True)})
    assert next_records(plan, base, done) == {5: rec("completed")}
    assert next_records(plan, base, done.with_written([0])) == {5: rec("completed", checked=True)}
    assert next_records(plan, Base(), done) == {}  # no fallback for an issue the base does not know


def test_an_update_records_the_milestone_number_of_its_step():
    base = Base(records={5: rec()})
    plan = Plan(tasks=(TaskStep(task(1), 5, update=True, milestone_key="m", record=rec(milestone=1)),
                       TaskStep(task(2), 6, milestone_key="n", record=rec(milestone=None))))
    done = Outcomes({0: StepOutcome(done=True), 1: StepOutcome(done=True)}, {"m": MilestoneOutcome(4)})
    records = next_records(plan, base, done)
    assert records[5].milestone == 4
    assert records[6].milestone is None  # no milestone step for "n": the record's own number stays


def test_the_journal_holds_only_the_created_issues_and_the_unsure_ones():
    base = Base(tracker="github", repository="o/r", since="old", records={5: rec()}, unsure=("gone-key",))
    plan = Plan(tasks=(created_step(), TaskStep(task(3), 5, update=True, record=rec("completed")),
                       TaskStep(task(4, text="lost"), None, create=True, record=rec())),
                unsure_found={9: "gone-key"})
    outcomes = Outcomes({0: StepOutcome(done=True, created=issue(8)), 1: StepOutcome(done=True), 2: StepOutcome(unsure=True)})
    early = journal(plan, base, outcomes, END)
    assert early is not None
    assert early.records == {5: rec(), 8: Record("g.md", "k", False, "open", "h", None, pending=True)}
    assert early.unsure == (task(4, text="lost").key,)
    assert early.since == "old"  # nothing else of the base changes
    assert journal(plan, base, Outcomes({1: StepOutcome(done=True)}), END) is None


def test_unsure_creations_stay_until_found_and_closed():
    plan = Plan(tasks=(TaskStep(None, 9, close="not_planned"),), unsure_found={9: "k1"})
    base = Base(unsure=("k1", "k2"))
    assert next_unsure(plan, base, Outcomes({0: StepOutcome(done=True)})) == ("k2",)
    assert next_unsure(plan, base, Outcomes({0: StepOutcome(error="x")})) == ("k1", "k2")


def test_milestone_records_follow_their_steps():
    old = MilestoneRecord(1, "A", "h")
    base = Base(milestones={"a": old, "b": MilestoneRecord(2, "B", "h"), "c": MilestoneRecord(3, "C", "h")})
    new = MilestoneRecord(5, "A2", "h2")
    outcomes = Outcomes(milestones={"a": MilestoneOutcome(5, new), "b": MilestoneOutcome(None, dropped=True),
                                    "c": MilestoneOutcome(3)})
    assert next_milestones(Plan(), base, outcomes) == {"a": new, "c": MilestoneRecord(3, "C", "h")}
    checked = Plan(milestone_records={"z": old})  # the plan's checked records replace the base's
    assert next_milestones(checked, base, Outcomes()) == {"z": old}


# -- marks and ETags ----------------------------------------------------------------------------


def test_listings_written_by_the_events():
    assert listings_written(["created", "linked", "checked"]) == {"issues"}
    assert listings_written(["milestone_updated", "commented"]) == {"milestones"}
    assert listings_written(["linked", "forgotten", "adopted"]) == frozenset()


def test_etags_kept_only_for_listings_a_clean_run_did_not_change():
    etags = {"issues:1": "a", "milestones:1": "b"}
    assert next_etags(etags, END) == etags
    assert next_etags(etags, RunEnd("github", "o/r", errors=True)) == {}
    assert next_etags(etags, RunEnd("github", "o/r", complete=False)) == {}
    assert next_etags(etags, RunEnd("github", "o/r", wrote=frozenset({"milestones"}))) == {"issues:1": "a"}
    assert next_etags(etags, END, waiting=True) == {"milestones:1": "b"}


def test_next_base_moves_the_mark_as_the_run_allows():
    base = Base(since="B", repository_url="https://example.test/o/r", label=False)
    plan = Plan()
    assert next_base(plan, base, Outcomes(), fetched(), END).since == "S"
    assert next_base(plan, base, Outcomes(), fetched(), RunEnd("github", "o/r", quiet=True)).since == "Q"
    assert next_base(plan, base, Outcomes(), fetched(), RunEnd("github", "o/r", quiet=True, errors=True)).since == "S"
    assert next_base(plan, base, Outcomes(), fetched(), RunEnd("github", "o/r", quiet=True, hold_mark=True)).since == "B"
    waiting = Plan(tasks=(TaskStep(task(1), 5, waits=True),))
    after = next_base(waiting, base, Outcomes(), fetched(), END)
    assert after.since == "B" and after.etags == {"milestones:1": "b"}


def test_next_base_takes_the_rest_from_the_run():
    base = Base(tracker="x", repository="y", repository_url="https://old", full_at="old", etags={"z": "1"})
    plan = Plan(tasks=(created_step(),))
    outcomes = Outcomes({0: StepOutcome(done=True, created=issue(8), written=True)}, {"m": MilestoneOutcome(2)}, label=True)
    after = next_base(plan, base, outcomes, fetched(), END)
    assert after == Base(tracker="github", repository="o/r", repository_url="https://old", since="S", full_at="F",
                          label=True, etags={"issues:1": "a", "milestones:1": "b"}, milestones={},
                          records={8: rec(milestone=2)}, unsure=())
    learned = RunEnd("github", "o/r", repository_url="https://new")
    assert next_base(plan, base, outcomes, fetched(), learned).repository_url == "https://new"



def test_plan_and_result_count_in_one_vocabulary():
    """The plan's counts and the run's counts share their keys; milestone events count as milestones_*."""
    from guidesync.core.planmodel import COUNT_KEYS
    from guidesync.sync import Event, RunResult

    plan = Plan(tasks=(created_step(),))
    result = RunResult("push", False, plan, events=[Event("milestone_created", 1), Event("created", 2), Event("linked", 2)])
    counts = result.counts()
    assert tuple(plan.counts()) == COUNT_KEYS
    assert set(plan.counts()) <= set(counts) and set(counts) - set(plan.counts()) == {"linked", "guides_changed"}
    assert (counts["milestones_created"], counts["created"], counts["linked"]) == (1, 1, 1)
    assert plan.counts()["created"] == 1
