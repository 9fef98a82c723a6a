"""Sub-issues end to end, on the in-memory tracker (the engine's part; the adapters' part runs over
HTTP in the tracker contract): nested checkbox items become issues attached to their parent's, in
guide order; reordering and moving follow the guide; nothing is destroyed on uncertainty."""

from __future__ import annotations

import json

import pytest

from tests.conftest import links

HOUR = 3600.0
NESTED = "nested.md"
GUIDE = """# Phase 3: Payments - Detailed Implementation Guide

## Deliverables Checklist

- [ ] Charge cards
  - [ ] Card form
    - [ ] Card number field
  - plain note, part of the body
  - [ ] Retry failed charges
  - [ ] Receipts
- [ ] Refunds
  - [ ] Refund button
"""


@pytest.fixture
def ws(make_workspace):
    ws = make_workspace("memory", guides=())
    ws.write(NESTED, GUIDE)
    ws.write_config(sub_issues=True)
    return ws


def later(ws, hours: float = 2) -> None:
    ws.forge.server.clock.tick(hours * HOUR)


def remote(ws):
    return ws.forge.server.remote


def numbers(ws) -> dict[str, int]:
    """Task text -> its issue number, from the links written into the guide."""
    return {line.strip()[6:].rsplit(" ([#", 1)[0]: n for n, line in links(ws.read(NESTED)).items()}


def children(ws, n: int) -> list[int]:
    return remote(ws).sub_issues(n)


def test_a_first_push_makes_each_nested_item_an_issue_under_its_parent_in_guide_order(ws):
    before = dict(remote(ws).counts)
    out = ws.run("push")
    assert out.code == 0, out.text
    n = numbers(ws)
    assert set(n) == {"Charge cards", "Card form", "Card number field", "Retry failed charges", "Receipts",
                      "Refunds", "Refund button"}
    assert children(ws, n["Charge cards"]) == [n["Card form"], n["Retry failed charges"], n["Receipts"]]
    assert children(ws, n["Card form"]) == [n["Card number field"]]
    assert children(ws, n["Refunds"]) == [n["Refund button"]]
    assert remote(ws).issues[n["Charge cards"]].body.count("plain note, part of the body") == 1
    assert "Card form" not in remote(ws).issues[n["Charge cards"]].body  # a sub-issue, not body text
    writes = remote(ws).counts["writes"] - before["writes"]
    # one milestone, the label, 7 issues, 5 attaches: nothing else written
    assert writes == 1 + 1 + 7 + 5
    base = json.loads(ws.state_text())
    assert base["hierarchy"] == "sub_issues"
    assert base["tasks"][str(n["Charge cards"])]["children"] == [n["Card form"], n["Retry failed charges"], n["Receipts"]]


def test_a_quiet_sync_attaches_nothing_and_costs_what_it_costs_without_sub_issues(ws, make_workspace):
    assert ws.run("push").code == 0
    later(ws)
    before = dict(remote(ws).counts)
    out = ws.run("sync")
    assert out.code == 0 and out.data.counts()["attached"] == 0
    cost = remote(ws).counts["total"] - before["total"]
    flat = make_workspace("memory", guides=())
    flat.write(NESTED, GUIDE)
    assert flat.run("push").code == 0
    later(flat)
    flat_before = dict(flat.forge.server.remote.counts)
    assert flat.run("sync").code == 0
    assert cost == flat.forge.server.remote.counts["total"] - flat_before["total"]


def test_reordering_nested_items_reorders_the_sub_issues(ws):
    assert ws.run("push").code == 0
    n = numbers(ws)
    text = ws.read(NESTED)
    lines = text.splitlines(keepends=True)
    receipts = next(i for i, l in enumerate(lines) if "Receipts" in l)
    form = next(i for i, l in enumerate(lines) if "Card form" in l)
    moved = lines[receipts]
    del lines[receipts]
    lines.insert(form, moved)
    ws.write(NESTED, "".join(lines))
    later(ws)
    out = ws.run("push")
    assert out.code == 0, out.text
    assert children(ws, n["Charge cards"]) == [n["Receipts"], n["Card form"], n["Retry failed charges"]]
    later(ws)
    again = ws.run("push")
    assert again.data.counts()["attached"] == 0 and not [e for e in again.data.events if e.action == "attached"]


def test_moving_a_nested_item_under_another_parent_moves_its_issue(ws):
    assert ws.run("push").code == 0
    n = numbers(ws)
    text = ws.read(NESTED)
    line = next(l for l in text.splitlines(keepends=True) if "Retry failed charges" in l)
    text = text.replace(line, "")
    text = text.replace(next(l for l in text.splitlines(keepends=True) if "Refund button" in l),
                        next(l for l in text.splitlines(keepends=True) if "Refund button" in l) + line)
    ws.write(NESTED, text)
    later(ws)
    out = ws.run("push")
    assert out.code == 0, out.text
    assert n["Retry failed charges"] not in children(ws, n["Charge cards"])
    assert children(ws, n["Refunds"]) == [n["Refund button"], n["Retry failed charges"]]
    assert remote(ws).issues[n["Retry failed charges"]].state == "open"
    base = json.loads(ws.state_text())["tasks"]
    assert base[str(n["Charge cards"])]["children"] == [n["Card form"], n["Receipts"]]


def test_a_sub_item_syncs_both_ways_like_a_task(ws):
    assert ws.run("push").code == 0
    n = numbers(ws)
    ws.write(NESTED, ws.read(NESTED).replace("- [ ] Receipts", "- [x] Receipts"))
    later(ws)
    assert ws.run("sync").code == 0
    assert remote(ws).issues[n["Receipts"]].state == "completed"
    remote(ws).close_issue(n["Card number field"], "completed")
    later(ws)
    assert ws.run("sync").code == 0
    assert "- [x] Card number field" in ws.read(NESTED)


def test_a_removed_sub_item_is_closed_as_not_planned_and_stays_attached(ws):
    assert ws.run("push").code == 0
    n = numbers(ws)
    ws.write(NESTED, "".join(l for l in ws.read(NESTED).splitlines(keepends=True) if "Receipts" not in l))
    later(ws)
    assert ws.run("push").code == 0
    assert remote(ws).issues[n["Receipts"]].state == "not_planned"
    assert n["Receipts"] in children(ws, n["Charge cards"])  # nothing detached


def test_turning_sub_issues_off_leaves_their_issues_alone_and_says_so(ws):
    assert ws.run("push").code == 0
    n = numbers(ws)
    ws.write_config(sub_issues=False)
    later(ws)
    out = ws.run("push")
    assert out.code == 0, out.text
    for text in ("Card form", "Card number field", "Retry failed charges", "Receipts", "Refund button"):
        assert remote(ws).issues[n[text]].state == "open", text
    assert "sub_issues off" in out.text
    assert children(ws, n["Charge cards"]) == [n["Card form"], n["Retry failed charges"], n["Receipts"]]
    ws.write_config(sub_issues=True)
    later(ws)
    back = ws.run("push")
    assert back.code == 0 and back.data.counts()["created"] == 0 and back.data.counts()["attached"] == 0


def test_a_child_somebody_put_under_another_parent_is_left_there_with_a_warning(ws):
    outsider = remote(ws).create_issue("Somebody's epic", "")
    ws.write(NESTED, GUIDE.replace("  - [ ] Refund button\n", ""))
    assert ws.run("push").code == 0
    n = numbers(ws)
    # The person moves one of the children under their own issue; then the guide adds a new one.
    remote(ws).add_sub_issue(outsider, n["Receipts"], replace=True)
    ws.write(NESTED, ws.read(NESTED) + "  - [ ] Refund button\n")
    later(ws)
    out = ws.run("push")
    assert out.code == 0, out.text
    assert remote(ws).parent_of(n["Receipts"]) == outsider  # not taken back
    assert children(ws, numbers(ws)["Refunds"]) == [numbers(ws)["Refund button"]]


def test_status_counts_sub_items(ws):
    from guidesync import commands

    assert ws.run("push").code == 0
    ws.write(NESTED, ws.read(NESTED).replace("- [ ] Receipts", "- [x] Receipts"))
    data = commands.status(ws.context(), as_json=True).data
    ms = data[0]["milestones"][0]
    assert (ms["tasks"], ms["sub_items"], ms["sub_items_done"]) == (7, 5, 1)
    assert [(p["task"], p["sub_items"], p["done"]) for p in ms["parents"]] == [
        ("Charge cards", 4, 1), ("Card form", 1, 0), ("Refunds", 1, 0)]


def test_where_the_tracker_has_no_sub_issues_the_parent_body_lists_them_and_each_run_says_so(ws):
    remote(ws).hierarchy_mode = "none"
    first = ws.run("push")
    assert first.code == 0, first.text
    n = numbers(ws)
    assert len(n) == 7 and children(ws, n["Charge cards"]) == []  # still an issue each, none attached
    assert sum("has no sub-issues" in w for w in first.data.warnings) == 1
    assert json.loads(ws.state_text())["hierarchy"] == "none"
    # learned after the parents were created: their bodies are made to list the sub-items at once
    body = remote(ws).issues[n["Charge cards"]].body
    assert "Card form" in body and "Card number field" in body and "Receipts" in body
    assert first.data.counts()["updated"] == 3  # the three parents
    later(ws)
    second = ws.run("push")  # the mode is known now: the plan renders the same bodies
    assert second.code == 0 and sum("has no sub-issues" in w for w in second.data.warnings) == 1
    assert second.data.counts()["updated"] == 0 and second.data.counts()["created"] == 0


def test_a_parent_deleted_on_the_tracker_is_remembered_gone_and_not_attached_to_again(ws):
    assert ws.run("push").code == 0
    n = numbers(ws)
    remote(ws).delete_issue(n["Refunds"])
    ws.write(NESTED, ws.read(NESTED) + "  - [ ] Refund reason\n")
    later(ws)
    first = ws.run("sync")
    assert first.code == 0 and any("was not made a sub-issue" in w for w in first.data.warnings)
    assert json.loads(ws.state_text())["tasks"][str(n["Refunds"])]["state"] == "gone"
    writes = remote(ws).counts["writes"]
    later(ws)
    second = ws.run("sync")
    assert second.code == 0 and not any("sub-issue" in w for w in second.data.warnings)
    assert any(f"issue #{n['Refunds']} was deleted" in w for w in second.data.warnings)
    assert remote(ws).counts["writes"] == writes  # nothing tried again


def test_a_sub_item_moved_to_the_top_level_is_taken_from_under_its_parent(ws):
    assert ws.run("push").code == 0
    n = numbers(ws)
    text = ws.read(NESTED)
    line = next(l for l in text.splitlines(keepends=True) if "Receipts" in l)
    ws.write(NESTED, text.replace(line, "") + line.lstrip())  # now a top-level task at the end
    later(ws)
    out = ws.run("push")
    assert out.code == 0, out.text
    assert children(ws, n["Charge cards"]) == [n["Card form"], n["Retry failed charges"]]
    assert remote(ws).parent_of(n["Receipts"]) is None and remote(ws).issues[n["Receipts"]].state == "open"
    assert [e.action for e in out.data.events if e.issue == n["Receipts"]] == ["detached"]
    base = json.loads(ws.state_text())["tasks"]
    assert base[str(n["Charge cards"])]["children"] == [n["Card form"], n["Retry failed charges"]]
    later(ws)
    again = ws.run("push")
    assert not [e for e in again.data.events if e.action in ("detached", "attached")]
