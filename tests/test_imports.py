"""Issues opened on the tracker join their guide (issue 15, ``import_issues``), end to end on the
in-memory tracker: where the line goes and how it looks, imported once whatever crashes, never by
push, not into a guide with errors, and never rewriting the person's issue."""

from __future__ import annotations

import json

import pytest

import guidesync.sync as sync_module

HOUR = 3600.0
GUIDE = "billing.md"
TEXT = ("# Phase 6: Billing - Detailed Implementation Guide\r\n\r\n## Deliverables Checklist\r\n\r\n"
        "* [ ] Retry failed charges\r\n  * a note under it\r\n* [x] Ledger schema\r\n\r\n## Notes\r\n\r\nSee above.\r\n")


class Killed(BaseException):
    """The process dies here (not an Exception: nothing catches it)."""


def pushed(make_workspace, forge: str = "memory", text: str = TEXT, hours: float = 2) -> object:
    """A workspace whose one guide, GUIDE (``text``), was pushed with ``import_issues: labeled``
    ``hours`` ago (the suites over HTTP and of the safety machine's findings start the same way)."""
    ws = make_workspace(forge, guides=())
    ws.write(GUIDE, text)
    ws.write_config(import_issues="labeled")
    out = ws.run("push")
    assert out.code == 0, out.text
    later(ws, hours)
    return ws


@pytest.fixture
def ws(make_workspace):
    return pushed(make_workspace)


def remote(ws):
    return ws.forge.server.remote


def later(ws, hours: float = 2) -> None:
    ws.forge.server.clock.tick(hours * HOUR)


def milestone(ws) -> int:
    (n,) = remote(ws).milestones
    return n


def person_opens(ws, title: str, labels=("guidesync",), body: str = "found while testing") -> int:
    n = remote(ws).create_issue(title, body, labels, milestone(ws))
    later(ws)
    return n


def test_a_labelled_issue_in_a_guide_milestone_becomes_the_last_task_line_in_the_lists_own_style(ws):
    n = person_opens(ws, "Refund *partial* [charges] #12")
    body = remote(ws).issues[n].body
    before = ws.read(GUIDE)
    out = ws.run("pull")
    assert out.code == 0, out.text
    url = f"{remote(ws).url}/issues/{n}"
    line = f"* [ ] Refund \\*partial\\* \\[charges\\] #12 ([#{n}]({url}))"
    # nothing else changed: one line after the list's last item, CRLF like the file
    assert ws.read(GUIDE) == before.replace("\r\n\r\n## Notes", f"\r\n{line}\r\n\r\n## Notes")
    assert remote(ws).issues[n].title == "Refund *partial* [charges] #12" and remote(ws).issues[n].body == body
    assert set(remote(ws).issues[n].labels) == {"guidesync", "guidesync:imported"}
    rec = json.loads(ws.state_text())["tasks"][str(n)]
    assert rec["imported"] is True and "pending" not in rec
    assert out.data.counts()["imported"] == 1
    assert any(e.action == "imported" and e.issue == n for e in out.data.events)
    # from now on an ordinary linked task: nothing imported again, nothing rewritten, a quiet sync
    later(ws)
    before = dict(remote(ws).counts)
    again = ws.run("sync")
    assert again.code == 0, again.text
    assert again.data.counts()["imported"] == 0 and ws.read(GUIDE).count(f"[#{n}]") == 1
    assert remote(ws).counts["writes"] == before["writes"]
    assert remote(ws).issues[n].body == body


def test_the_imported_task_then_syncs_like_any_other(ws):
    n = person_opens(ws, "Refunds")
    assert ws.run("sync").code == 0
    later(ws)
    remote(ws).close_issue(n)
    later(ws)
    assert ws.run("sync").code == 0
    assert f"* [x] Refunds ([#{n}]" in ws.read(GUIDE)


def test_an_issue_closed_before_import_is_imported_checked_and_not_planned_unchecked(ws):
    done = person_opens(ws, "Done already")
    remote(ws).close_issue(done)
    dropped = person_opens(ws, "Dropped")
    remote(ws).close_issue(dropped, "not_planned")
    later(ws)
    assert ws.run("sync").code == 0
    text = ws.read(GUIDE)
    assert f"* [x] Done already ([#{done}]" in text and f"* [ ] Dropped ([#{dropped}]" in text
    assert remote(ws).issues[dropped].state == "not_planned" and remote(ws).issues[done].state == "completed"


def test_push_never_imports_and_unlabelled_or_unowned_issues_stay_out(ws):
    person_opens(ws, "Imported by pull only")
    assert ws.run("push").code == 0
    assert "Imported by pull only" not in ws.read(GUIDE)
    remote(ws).create_issue("No label", "", ("bug",), milestone(ws))
    remote(ws).create_issue("No milestone", "", ("guidesync",), None)
    later(ws)
    out = ws.run("pull")
    assert out.code == 0 and out.data.counts()["imported"] == 1
    assert "No label" not in ws.read(GUIDE) and "No milestone" not in ws.read(GUIDE)


def test_milestone_mode_takes_every_issue_of_the_milestone_and_labels_it(ws):
    ws.write_config(import_issues="milestone")
    n = remote(ws).create_issue("Unlabelled", "", ("bug",), milestone(ws))
    later(ws)
    assert ws.run("pull").code == 0
    assert f"* [ ] Unlabelled ([#{n}]" in ws.read(GUIDE)
    assert set(remote(ws).issues[n].labels) == {"bug", "guidesync", "guidesync:imported"}


def test_turning_imports_on_imports_the_issues_already_there(make_workspace):
    ws = make_workspace("memory", guides=())
    ws.write(GUIDE, TEXT)
    assert ws.run("push").code == 0
    later(ws, 48)
    old = remote(ws).create_issue("Old one", "", ("guidesync",), next(iter(remote(ws).milestones)))
    later(ws, 48)
    assert ws.run("sync").code == 0  # the mark moves past it
    later(ws, 48)
    ws.write_config(import_issues="labeled")
    out = ws.run("sync")
    assert out.code == 0, out.text
    assert f"[#{old}]" in ws.read(GUIDE) and out.data.full_listing
    assert json.loads(ws.state_text())["import_issues"] == "labeled"
    later(ws)
    assert not ws.run("sync").data.full_listing  # once


def test_an_issue_in_a_milestone_of_a_guide_with_errors_waits_reported(ws):
    n = person_opens(ws, "Waits")
    ws.write(GUIDE, ws.read(GUIDE).replace("* [ ] Retry failed charges", "* [ ] Retry failed charges [due:: 2026-02-30]"))
    out = ws.run("pull")
    assert f"[#{n}]" not in ws.read(GUIDE)
    assert f"issue #{n} ('Waits') is in this guide's milestone but is not imported while the guide has errors" in out.text
    assert "guidesync:imported" not in remote(ws).issues[n].labels


def test_another_runs_import_is_not_imported_again(ws):
    n = person_opens(ws, "Imported on another branch", labels=("guidesync", "guidesync:imported"))
    out = ws.run("pull")
    assert f"[#{n}]" not in ws.read(GUIDE)
    assert "another run (another branch?) imported it" in "\n".join(out.data.warnings)


def test_killed_before_the_guide_write_the_next_run_imports_it_once(ws, monkeypatch):
    n = person_opens(ws, "Survives a crash")

    def killed(*a, **k):
        raise Killed()

    with monkeypatch.context() as m:
        m.setattr(sync_module, "write_guides", killed)
        with pytest.raises(Killed):
            ws.run("pull")
    assert f"[#{n}]" not in ws.read(GUIDE)
    assert json.loads(ws.state_text())["tasks"][str(n)]["pending"] is True  # the journal knows it
    later(ws)
    assert ws.run("pull").code == 0
    assert ws.read(GUIDE).count(f"[#{n}]") == 1
    later(ws)
    assert ws.run("pull").code == 0 and ws.read(GUIDE).count(f"[#{n}]") == 1


def killed_at_the_base_write(ws, monkeypatch, mode: str) -> None:
    """Run ``mode`` and kill it after its guide write: the journal (the first base write) is
    saved, the final base write dies."""
    real, calls = sync_module._save, []

    def save(store, base, result):
        calls.append(1)
        if len(calls) == 2:
            raise Killed()
        return real(store, base, result)

    with monkeypatch.context() as m:
        m.setattr(sync_module, "_save", save)
        with pytest.raises(Killed):
            ws.run(mode)


def test_killed_between_the_guide_write_and_the_base_write_no_double_import(ws, monkeypatch):
    n = person_opens(ws, "Written, base not")
    killed_at_the_base_write(ws, monkeypatch, "pull")
    assert ws.read(GUIDE).count(f"[#{n}]") == 1
    later(ws)
    out = ws.run("sync")
    assert out.code == 0, out.text
    assert ws.read(GUIDE).count(f"[#{n}]") == 1 and out.data.counts()["imported"] == 0
    assert "pending" not in json.loads(ws.state_text())["tasks"][str(n)]


def test_an_imported_issue_that_leaves_the_milestone_stays_in_the_guide(ws):
    n = person_opens(ws, "Moves away")
    assert ws.run("sync").code == 0
    other = remote(ws).create_milestone("Elsewhere")
    remote(ws).edit_issue(n, milestone=other)
    later(ws)
    out = ws.run("sync")
    assert out.code == 0, out.text
    assert f"[#{n}]" in ws.read(GUIDE)
    assert any(f"issue #{n}" in w and "another milestone" in w for w in out.data.warnings), out.data.warnings


def test_plan_shows_the_imports_and_writes_nothing(ws):
    n = person_opens(ws, "Planned import")
    before = ws.read(GUIDE)
    out = ws.run("pull", dry_run=True)
    assert out.code == 0 and ws.read(GUIDE) == before
    assert f"(import #{n}" in out.text and "1 issues to import" in out.text


def test_status_counts_the_imports_and_the_job_summary_lists_them(ws):
    from guidesync import commands
    from guidesync.ci.summary import summary_rows

    n = person_opens(ws, "Counted")
    planned = ws.run("pull", dry_run=True, as_json=True)
    rows, _ = summary_rows(planned.data, {}, None, planned=True)
    assert any(r.number == n and r.what == ["import"] for r in rows)
    out = ws.run("pull", as_json=True)
    assert out.code == 0
    rows, _ = summary_rows(out.data, {}, None, planned=False)
    assert any(r.number == n and "imported" in r.what for r in rows)
    status = commands.status(ws.context(), as_json=True)
    (ms,) = status.data[0]["milestones"]
    assert ms["imported"] == 1 and ms["tasks"] == 3
