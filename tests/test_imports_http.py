"""``import_issues`` over HTTP (issue 15): the real PyGithub and python-gitlab adapters against the
stateful fakes, with time passing between runs. Issues people open in a guide's milestone join
the guide once: a closed one checked, none into a guide with errors, none twice after a crash
between the guide write and the base write, and none by a push."""

from __future__ import annotations

import json

import pytest

from tests.conftest import FORGES, links
from tests.test_imports import killed_at_the_base_write, pushed

HOUR = 3600.0
GUIDE = "billing.md"
TEXT = ("# Phase 6: Billing - Detailed Implementation Guide\n\n## Deliverables Checklist\n\n"
        "- [ ] Retry failed charges\n- [ ] Ledger schema\n\n## Notes\n\nSee above.\n")


@pytest.fixture(params=FORGES)
def ws(request, make_workspace):
    return pushed(make_workspace, request.param, TEXT, hours=3)


def later(ws, hours: float = 3) -> None:
    ws.forge.server.clock.tick(hours * HOUR)


def milestone(ws) -> int:
    (rec,) = json.loads(ws.state_text())["milestones"].values()
    return rec["number"]


def person_opens(ws, title: str, labels=("guidesync",), closed: bool = False) -> int:
    server, repo = ws.forge.server, ws.forge.repo
    n = server.create_issue(repo, title, "written by a person", milestone(ws), labels)  # both fakes alike
    if closed:
        server.close_issue(repo, n)
    later(ws)
    return n


def test_a_labelled_issue_joins_the_guide_once_and_is_not_rewritten(ws):
    n = person_opens(ws, "Refund [partial] charges")
    before = ws.forge.issues()[n]
    out = ws.run("sync")
    assert out.code == 0, out.text
    text = ws.read(GUIDE)
    assert f"- [ ] Refund \\[partial\\] charges ([#{n}]({before['url']}))\n\n## Notes" in text
    after = ws.forge.issues()[n]
    assert (after["title"], after["body"]) == (before["title"], before["body"])
    assert "guidesync:imported" in after["labels"]
    later(ws)
    again = ws.run("sync")
    assert again.code == 0 and again.data.counts()["imported"] == 0
    assert ws.read(GUIDE).count(f"[#{n}]") == 1
    assert (ws.forge.issues()[n]["title"], ws.forge.issues()[n]["body"]) == (before["title"], before["body"])


def test_an_issue_closed_before_import_is_imported_checked(ws):
    n = person_opens(ws, "Already done", closed=True)
    assert ws.run("pull").code == 0
    assert f"- [x] Already done ([#{n}]" in ws.read(GUIDE)
    assert ws.forge.issues()[n]["state"] == "closed"


def test_a_push_never_imports(ws):
    n = person_opens(ws, "Waits for a pull")
    assert ws.run("push").code == 0
    assert f"[#{n}]" not in ws.read(GUIDE)


def test_no_import_into_a_guide_with_errors(ws):
    n = person_opens(ws, "Not while broken")
    ws.write(GUIDE, ws.read(GUIDE).replace("- [ ] Ledger schema", "- [ ] Ledger schema [due:: someday]"))
    out = ws.run("pull")
    assert out.code != 0
    assert f"[#{n}]" not in ws.read(GUIDE)
    assert f"issue #{n} ('Not while broken') is in this guide's milestone but is not imported" in out.text
    assert "guidesync:imported" not in ws.forge.issues()[n]["labels"]


def test_killed_between_the_guide_write_and_the_base_write_it_is_not_imported_twice(ws, monkeypatch):
    n = person_opens(ws, "Crash window")
    killed_at_the_base_write(ws, monkeypatch, "pull")
    assert ws.read(GUIDE).count(f"[#{n}]") == 1
    later(ws)
    out = ws.run("sync")
    assert out.code == 0, out.text
    assert ws.read(GUIDE).count(f"[#{n}]") == 1 and out.data.counts()["imported"] == 0
    assert len(links(ws.read(GUIDE))) == 3
