"""Sub-issues, the pure half: reading nested items as child tasks, the attach calls, the base."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings, strategies as st

from guidesync.core.base import Base, Record, dumps, loads
from guidesync.core.hierarchy import attached_elsewhere, listed_children, moves, parent_steps
from guidesync.core.model import Task
from guidesync.core.outcome import Outcomes, with_children
from guidesync.core.parse import HIERARCHY, Hierarchy, parse_guide
from guidesync.core.plan import Options, Snapshot, make_plan

GUIDE = """# Phase 1: Core - Detailed Implementation Guide

## Deliverables Checklist

- [ ] Parent A
  - [ ] Child A1
    - [x] Grandchild A1a
  - plain note
  - [ ] Child A2 ([#7](https://github.com/o/r/issues/7))
- [ ] Parent B
"""


def tasks(text: str = GUIDE, hierarchy: Hierarchy | None = HIERARCHY["github"]) -> list[Task]:
    guide = parse_guide(text, "g.md", hierarchy=hierarchy)
    assert guide is not None
    return list(guide.tasks)


def test_nested_checkbox_items_are_tasks_in_guide_order_under_their_parent():
    got = tasks()
    assert [(t.line, t.depth, t.text) for t in got] == [
        (4, 0, "Parent A"), (5, 1, "Child A1"), (6, 2, "Grandchild A1a"), (8, 1, "Child A2"), (9, 0, "Parent B")]
    a, a1, a1a, a2, b = got
    assert (a1.parent, a1a.parent, a2.parent, b.parent, a.parent) == (a.key, a1.key, a.key, None, None)
    assert a1a.checked and a2.link is not None and a2.link.number == 7
    assert [s.text for s in a.subitems] == ["plain note"]  # plain bullets stay text in the parent's body


def test_with_sub_issues_off_nested_items_stay_in_the_body_and_keys_do_not_change():
    off = tasks(hierarchy=None)
    assert [t.text for t in off] == ["Parent A", "Parent B"]
    assert [s.text for s in off[0].subitems][:2] == ["Child A1", "Grandchild A1a"]
    on = tasks()
    assert (off[0].key, off[1].key) == (on[0].key, on[4].key)


def test_past_the_depth_limit_the_rest_stays_in_the_body_with_a_warning():
    guide = parse_guide(GUIDE, "g.md", hierarchy=HIERARCHY["gitlab"])
    assert [t.text for t in guide.tasks] == ["Parent A", "Child A1", "Child A2", "Parent B"]
    assert [s.text for s in guide.tasks[1].subitems] == ["Grandchild A1a"]
    assert [(p.line, p.severity) for p in guide.problems] == [(6, "warning")]
    assert "deeper than 2 levels" in guide.problems[0].message


def test_past_the_per_parent_limit_the_rest_stays_in_the_body_with_a_warning():
    text = "# Phase 1: C - Detailed Implementation Guide\n\n## Deliverables Checklist\n\n- [ ] P\n" + "".join(
        f"  - [ ] c{i}\n" for i in range(4))
    guide = parse_guide(text, "g.md", hierarchy=Hierarchy(max_depth=7, max_children=3))
    assert [t.text for t in guide.tasks] == ["P", "c0", "c1", "c2"]
    assert [s.text for s in guide.tasks[0].subitems] == ["c3"]
    assert [p.line for p in guide.problems] == [8] and "more than 3 sub-items" in guide.problems[0].message


def test_github_allows_eight_levels():
    text = "# Phase 1: C - Detailed Implementation Guide\n\n## Deliverables Checklist\n\n" + "".join(
        "  " * d + f"- [ ] level {d}\n" for d in range(9))
    guide = parse_guide(text, "g.md", hierarchy=HIERARCHY["github"])
    assert [t.depth for t in guide.tasks] == list(range(8))
    assert [s.text for s in guide.tasks[-1].subitems] == ["level 8"] and len(guide.problems) == 1


def test_parent_steps_list_children_in_guide_order_with_what_the_base_attached():
    guide = parse_guide(GUIDE, "g.md", hierarchy=HIERARCHY["github"])
    a2 = guide.tasks[3]
    base = Base(records={7: Record("g.md", a2.key, False, "open", "", None)})
    plan = make_plan([guide], base, Snapshot(offline=True), Options(mode="push", sub_issues=True))
    by_text = {s.task.text: i for i, s in enumerate(plan.tasks) if s.task}
    assert [(p.parent, p.children) for p in plan.parents] == [
        (by_text["Parent A"], (by_text["Child A1"], by_text["Child A2"])),
        (by_text["Child A1"], (by_text["Grandchild A1a"],))]
    assert plan.counts()["attached"] == 3


def test_without_sub_issues_or_in_pull_there_are_no_parent_steps():
    guide = parse_guide(GUIDE, "g.md", hierarchy=HIERARCHY["github"])
    assert make_plan([guide], Base(), Snapshot(offline=True), Options(mode="push")).parents == ()
    assert make_plan([guide], Base(), Snapshot(offline=True), Options(mode="pull", sub_issues=True)).parents == ()


def test_where_the_tracker_has_no_sub_issues_the_parent_body_lists_them():
    guide = parse_guide(GUIDE, "g.md", hierarchy=HIERARCHY["github"])
    native = listed_children(guide, Options(sub_issues=True, hierarchy_mode="sub_issues"))
    assert native is guide
    listed = listed_children(guide, Options(sub_issues=True, hierarchy_mode="none"))
    assert [(s.text, s.depth) for s in listed.tasks[0].subitems] == [
        ("plain note", 1), ("Child A1", 1), ("Grandchild A1a", 2), ("Child A2", 1)]
    assert [t.key for t in listed.tasks] == [t.key for t in guide.tasks]


def test_a_first_push_appends_in_order_and_needs_no_other_call():
    assert [(m.child, m.after) for m in moves([3, 4, 5], [], {}, 1)] == [(3, None), (4, None), (5, None)]


def test_nothing_to_do_when_the_order_is_already_right():
    assert moves([3, 4, 5], [3, 4, 5], {}, 1) == []
    assert moves([3, 5], [3, 4, 5], {}, 1) == []  # a child that left the guide stays attached


def test_a_reorder_moves_each_child_out_of_place_after_the_one_before_it():
    got = moves([5, 3, 4], [3, 4, 5], {}, 1)
    assert [(m.child, m.after) for m in got] == [(3, 5), (4, 3)]


def test_a_child_moved_from_another_parent_says_where_it_comes_from():
    got = moves([3, 9], [3], {9: 2}, 1)
    assert [(m.child, m.after, m.move_from) for m in got] == [(9, None, 2)]


def test_unordered_trackers_only_attach():
    assert [(m.child, m.after) for m in moves([5, 3], [3], {}, 1, ordered=False)] == [(5, None)]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 30), unique=True, max_size=8), st.lists(st.integers(1, 30), unique=True, max_size=8))
def test_the_moves_put_the_desired_children_in_order(desired, attached):
    """Applied to the tracker's list, the moves put the desired children in guide order (others may
    sit between them), keep every child attached before (nothing detached), attach each new child
    once, and move nothing when the order is already right."""
    current = list(attached)
    got = moves(desired, attached, {}, 0)
    for m in got:
        if m.child in current:
            current.remove(m.child)
        current.insert(current.index(m.after) + 1 if m.after is not None else len(current), m.child)
    assert [c for c in current if c in set(desired)] == desired
    if [c for c in attached if c in set(desired)] == desired:
        assert got == []
    assert set(attached) <= set(current) and len(current) == len(set(current))
    assert sum(1 for m in got if m.after is None) == len(set(desired) - set(attached))


def test_the_base_remembers_children_and_the_hierarchy_mode_and_old_files_still_load():
    base = Base(tracker="github", repository="o/r", hierarchy="sub_issues",
                records={1: Record("g.md", "k", False, "open", "h", 2, children=(3, 4)),
                         3: Record("g.md", "k3", False, "open", "h", 2)})
    text = dumps(base)
    assert '"children": [3, 4]' in text and '"hierarchy": "sub_issues"' in text
    assert loads(text) == base
    old = dumps(Base(tracker="github", repository="o/r", records={3: Record("g.md", "k3", False, "open", "h", 2)}))
    assert "children" not in old and "hierarchy" not in old and loads(old).records[3].children == ()


@pytest.mark.parametrize("bad", ['"children": [1, "x"]', '"children": 3'])
def test_a_malformed_children_list_is_a_clear_error(bad):
    from guidesync.core.base import BaseFileError

    text = dumps(Base(records={3: Record("g.md", "k3", False, "open", "h", 2)})).replace('"guide"', bad + ', "guide"')
    with pytest.raises(BaseFileError, match="malformed entry"):
        loads(text)


def test_the_next_base_keeps_children_attaches_new_ones_and_drops_moved_ones():
    old = Base(records={1: Record("g", "a", False, "open", "", None, children=(5, 6)),
                        2: Record("g", "b", False, "open", "", None, children=(7,)),
                        5: Record("g", "c", False, "open", "", None)})
    fresh = {n: Record(r.guide, r.key, r.checked, r.issue_state, r.hash, r.milestone) for n, r in old.records.items()}
    got = with_children(dict(fresh), old, Outcomes(parents={2: (7, 6)}))
    assert (got[1].children, got[2].children, got[5].children) == ((5,), (7, 6), ())
    assert attached_elsewhere(old) == {5: 1, 6: 1, 7: 2}


def test_no_sub_issue_is_attached_to_or_from_an_issue_guidesync_does_not_manage():
    from guidesync.core.planmodel import TaskStep

    a, a1, a1a, a2, b = tasks()
    mine = Record("g.md", a.key, False, "open", "", None)
    theirs = Record("g.md", a2.key, False, "open", "", None, unmanaged=True)
    steps = [TaskStep(a, 1, record=mine), TaskStep(a1, None, create=True), TaskStep(a1a, None, create=True),
             TaskStep(a2, 7, record=theirs), TaskStep(b, 2, record=mine)]
    assert [(p.parent, p.children) for p in parent_steps(steps, Base())] == [(0, (1,)), (1, (2,))]
    steps[0] = TaskStep(a, 1, record=replace(mine, unmanaged=True))  # a person's issue as the parent
    assert [(p.parent, p.children) for p in parent_steps(steps, Base())] == [(1, (2,))]
    steps[0] = TaskStep(a, None)  # a link guidesync is unsure of: no issue to act on
    assert [(p.parent, p.children) for p in parent_steps(steps, Base())] == [(1, (2,))]
