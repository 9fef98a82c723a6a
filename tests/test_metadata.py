"""Fields in the guide reach the tracker (issue 14), end to end on the in-memory tracker: assignees,
labels and due dates three-way, milestone dates, blocked-by; fields never part of a title; a quiet
sync still costs what it costs without fields."""

from __future__ import annotations

import json

import pytest

from tests.conftest import links

HOUR = 3600.0
GUIDE = "billing.md"
TEXT = """# Phase 6: Billing - Detailed Implementation Guide

**Due**: 2026-12-20

## Deliverables Checklist

- [ ] Retry failed charges [assignee:: alice] [labels:: payments, backend] [due:: 2026-12-18]
- [ ] Ledger reconciliation [id:: recon] [blocked-by:: ledger-schema]
- [ ] Ledger schema [id:: ledger-schema] 📅 2026-12-02
- [ ] Plain task
"""


@pytest.fixture
def ws(make_workspace):
    ws = make_workspace("memory", guides=())
    ws.write(GUIDE, TEXT)
    return ws


def remote(ws):
    return ws.forge.server.remote


def later(ws, hours: float = 2) -> None:
    ws.forge.server.clock.tick(hours * HOUR)


def numbers(ws) -> dict[str, int]:
    return {line.split("] ", 1)[1].split(" [")[0].split(" 📅")[0].split(" ([#")[0]: n
            for n, line in links(ws.read(GUIDE)).items()}


def issue(ws, title: str):
    return remote(ws).issues[numbers(ws)[title]]


def test_a_first_push_sends_the_fields_and_keeps_them_out_of_titles(ws):
    out = ws.run("push")
    assert out.code == 0, out.text
    retry = issue(ws, "Retry failed charges")
    assert retry.title == "Retry failed charges"
    assert retry.assignees == ["alice"]
    assert set(retry.labels) == {"guidesync", "payments", "backend"}
    assert "**Due**: 2026-12-18" in retry.body and "**Assignees**: alice" in retry.body
    schema = issue(ws, "Ledger schema")
    assert schema.title == "Ledger schema" and "**Due**: 2026-12-02" in schema.body
    recon = issue(ws, "Ledger reconciliation")
    assert recon.blocked_by == [schema.number]
    assert f"**Blocked by**: #{schema.number}" in recon.body
    (ms,) = remote(ws).milestones.values()
    assert ms.due == "2026-12-20" and "**Due**: 2026-12-20" in ms.description
    base = json.loads(ws.state_text())
    assert base["tasks"][str(recon.number)]["blocked_by"] == [schema.number]
    assert base["tasks"][str(retry.number)]["assignees"] == ["alice"]
    assert base["tasks"][str(retry.number)]["labels"] == ["payments", "backend"]
    assert sorted(base["guide_labels"]) == ["backend", "payments"]
    assert base["milestones"]["guides/billing.md#phase"]["due"] == "2026-12-20"
    # the guide keeps every byte of its fields: only the links were added
    text = ws.read(GUIDE)
    assert "[assignee:: alice] [labels:: payments, backend] [due:: 2026-12-18] ([#" in text
    assert "Ledger schema [id:: ledger-schema] 📅 2026-12-02 ([#" in text


def test_the_body_names_a_blocker_created_in_the_same_run_and_the_next_sync_is_quiet(ws):
    assert ws.run("push").code == 0
    later(ws)
    before = dict(remote(ws).counts)
    out = ws.run("sync")
    assert out.code == 0, out.text
    assert out.data.plan.changes == ()
    assert remote(ws).counts["total"] - before["total"] == 2  # issues and milestones since the mark
    assert remote(ws).counts["writes"] == before["writes"]


def test_fields_three_way_people_keep_what_they_added_and_the_guide_changes_exactly_its_own(ws):
    assert ws.run("push").code == 0
    n = numbers(ws)["Retry failed charges"]
    later(ws)
    # somebody adds bob and a label on the tracker
    remote(ws).edit_issue(n, assignees=["alice", "bob"], labels=[*remote(ws).issues[n].labels, "urgent"])
    later(ws)
    assert ws.run("sync").code == 0
    assert remote(ws).issues[n].assignees == ["alice", "bob"]  # a quiet guide changes nothing
    assert "urgent" in remote(ws).issues[n].labels
    later(ws)
    ws.write(GUIDE, ws.read(GUIDE).replace("[assignee:: alice] [labels:: payments, backend]",
                                           "[assignee:: carol] [labels:: payments]"))
    out = ws.run("sync")
    assert out.code == 0, out.text
    got = remote(ws).issues[n]
    assert got.assignees == ["bob", "carol"]  # alice (the guide's) went, bob (a person's) stayed
    assert set(got.labels) == {"guidesync", "payments", "urgent"}  # backend went, urgent stayed


def test_an_assignee_the_tracker_cannot_assign_is_left_off_with_a_warning_naming_the_line(ws):
    ws.write(GUIDE, TEXT.replace("[assignee:: alice]", "[assignee:: alice, mallory]"))
    out = ws.run("push")
    assert out.code == 0, out.text
    assert issue(ws, "Retry failed charges").assignees == ["alice"]
    assert any("'mallory' cannot be assigned" in w and f"guides/{GUIDE}:7" in w for w in out.data.warnings), out.data.warnings


def test_assignee_lookups_are_cached_per_run(ws):
    ws.write(GUIDE, TEXT.replace("- [ ] Plain task", "- [ ] Plain task [assignee:: alice]\n- [ ] Other [assignee:: alice]"))
    tracker_calls = []
    from guidesync.trackers import memory

    real = memory.MemoryTracker.assignable

    def counting(self, login):
        tracker_calls.append(login)
        return real(self, login)

    memory.MemoryTracker.assignable = counting
    try:
        assert ws.run("push").code == 0
    finally:
        memory.MemoryTracker.assignable = real
    assert tracker_calls == ["alice"]


def test_a_tier_that_keeps_one_assignee_is_learned_once_and_warned(ws):
    remote(ws).max_assignees = 1
    ws.write(GUIDE, TEXT.replace("[assignee:: alice]", "[assignee:: alice, bob]"))
    out = ws.run("push")
    assert out.code == 0, out.text
    assert issue(ws, "Retry failed charges").assignees == ["alice"]
    assert any("left off bob" in w for w in out.data.warnings), out.data.warnings
    assert json.loads(ws.state_text())["capabilities"] == {"assignees": 1, "dependencies": "native"}


def test_dropping_a_blocker_in_the_guide_takes_the_dependency_away(ws):
    assert ws.run("push").code == 0
    recon = issue(ws, "Ledger reconciliation")
    later(ws)
    ws.write(GUIDE, ws.read(GUIDE).replace(" [blocked-by:: ledger-schema]", ""))
    out = ws.run("sync")
    assert out.code == 0, out.text
    assert recon.blocked_by == []
    assert "Blocked by" not in recon.body
    assert "blocked_by" not in json.loads(ws.state_text())["tasks"][str(recon.number)]


def test_a_server_without_dependencies_says_it_in_the_body_and_warns_once(ws):
    remote(ws).dependencies = "body"
    out = ws.run("push")
    assert out.code == 0, out.text
    recon = issue(ws, "Ledger reconciliation")
    assert recon.blocked_by == []
    assert f"**Blocked by**: #{numbers(ws)['Ledger schema']}" in recon.body
    assert sum("no issue dependencies" in w for w in out.data.warnings) == 1
    assert json.loads(ws.state_text())["capabilities"]["dependencies"] == "body"


def test_milestone_dates_change_when_the_guide_changes_them(ws):
    remote(ws).milestone_start = True  # as on GitLab
    assert ws.run("push").code == 0
    later(ws)
    ws.write(GUIDE, ws.read(GUIDE).replace("**Due**: 2026-12-20", "**Due**: 2026-12-27\n\n**Start**: 2026-12-01"))
    out = ws.run("sync")
    assert out.code == 0, out.text
    (ms,) = remote(ws).milestones.values()
    assert (ms.due, ms.start) == ("2026-12-27", "2026-12-01")


def test_bad_fields_are_lint_errors_with_lines_and_the_guide_is_not_synced(ws):
    ws.write(GUIDE, TEXT.replace("[due:: 2026-12-18]", "[due:: 2026-02-30]").replace("[blocked-by:: ledger-schema]",
                                                                                      "[blocked-by:: nowhere]"))
    out = ws.run("push")
    assert out.code != 0
    text = out.text
    assert f"guides/{GUIDE}:7" in text and "is not a day" in text
    assert f"guides/{GUIDE}:8" in text and "'nowhere': no task has this id" in text
    assert remote(ws).issues == {}


def test_a_label_named_by_a_field_is_made_once(ws):
    assert ws.run("push").code == 0
    made = dict(remote(ws).labels)
    assert {"payments", "backend"} <= set(made)
    later(ws)
    ws.write(GUIDE, ws.read(GUIDE).replace("- [ ] Plain task", "- [ ] Plain task [labels:: payments]"))
    before = dict(remote(ws).counts)
    out = ws.run("sync")
    assert out.code == 0, out.text
    # the label is known from the base: the update is the only write, and no label is read
    assert remote(ws).counts["writes"] - before["writes"] == 1


def test_a_blocker_created_earlier_in_the_run_is_named_at_creation_without_a_second_write(ws):
    ws.write(GUIDE, "# Phase 6: Billing - Detailed Implementation Guide\n\n## Deliverables Checklist\n\n"
             "- [ ] Schema [id:: schema]\n- [ ] Reconcile [blocked-by:: schema]\n")
    out = ws.run("push")
    assert out.code == 0, out.text
    recon = issue(ws, "Reconcile")
    assert f"**Blocked by**: #{numbers(ws)['Schema']}" in recon.body
    # one milestone, the label, two creates, one dependency: no body rewritten
    assert remote(ws).counts["writes"] == 1 + 1 + 2 + 1
    later(ws)
    assert ws.run("sync").data.plan.changes == ()
