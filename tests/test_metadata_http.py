"""Fields in the guide over HTTP (issue 14): whole runs through the real PyGithub and python-gitlab
adapters against the stateful fakes (GitHub's traffic checked against the OpenAPI description), with
time passing between runs. The engine's three-way rules are in tests/test_metadata.py (in memory);
here what each tracker makes of them: assignees checked once per login, labels, due dates where
the tracker has them, milestone days, blocked-by as a dependency or a link, and a quiet sync that
costs what it costs without fields."""

from __future__ import annotations

import json

import pytest

from tests.conftest import links

HOUR = 3600.0
GUIDE = "billing.md"
TEXT = """# Phase 6: Billing - Detailed Implementation Guide

**Due**: 2026-12-20

## Deliverables Checklist

- [ ] Retry failed charges [assignee:: alice, mallory] [labels:: payments] [due:: 2026-12-18]
- [ ] Ledger reconciliation [id:: recon] [blocked-by:: ledger-schema] [assignee:: alice]
- [ ] Ledger schema [id:: ledger-schema] [assignee:: bob]
"""

#: (fake, tier): github.com; GitHub Enterprise Server (no dependencies); GitLab Free and Premium
CASES = {
    "github": ("github", {}),
    "ghes": ("github", {"prefix": "/api/v3", "ghes_version": "3.17.0"}),
    "gitlab-free": ("gitlab", {}),
    "gitlab-premium": ("gitlab", {}),
}


@pytest.fixture(params=list(CASES))
def ws(request, make_workspace):
    forge, kw = CASES[request.param]
    ws = make_workspace(forge, guides=(), **kw)
    server = ws.forge.server
    if forge == "github":
        server.add_collaborator(ws.forge.repo, "alice", "bob")
    else:
        server.tier = "premium" if request.param == "gitlab-premium" else "free"
        for name in ("alice", "bob"):
            server.add_user(name)
    ws.case = request.param
    ws.write(GUIDE, TEXT)
    return ws


def numbers(ws) -> dict[str, int]:
    return {line.split("] ", 1)[1].split(" [")[0]: n for n, line in links(ws.read(GUIDE)).items()}


def assignees(ws, n: int) -> list[str]:
    if ws.forge.name == "github":
        return ws.forge.server.assignees(ws.forge.repo, n)
    issue = ws.forge.server.issues(ws.forge.repo)[n]
    return [a["username"] for a in issue.get("assignees", [])]


def test_a_first_push_sends_every_field_the_tracker_has_and_a_quiet_sync_costs_two_requests(ws):
    out = ws.run("push")
    assert out.code == 0, out.text
    n = numbers(ws)
    issues = ws.forge.issues()
    assert issues[n["Retry failed charges"]]["title"] == "Retry failed charges"
    assert "payments" in issues[n["Retry failed charges"]]["labels"]
    free = ws.case == "gitlab-free"
    assert assignees(ws, n["Retry failed charges"]) == ["alice"]  # mallory left off, named with the line
    assert any("'mallory' cannot be assigned" in w and f"guides/{GUIDE}:7" in w for w in out.data.warnings)
    assert assignees(ws, n["Ledger schema"]) == ["bob"]
    base = json.loads(ws.state_text())
    how = {"github": "native", "ghes": "body", "gitlab-free": "related", "gitlab-premium": "native"}[ws.case]
    assert base["capabilities"]["dependencies"] == how
    recon, schema = n["Ledger reconciliation"], n["Ledger schema"]
    assert base["tasks"][str(recon)]["blocked_by"] == [schema]
    assert f"**Blocked by**: #{schema}" in issues[recon]["body"]
    server, repo = ws.forge.server, ws.forge.repo
    if ws.case == "github":
        assert server.blocked_by(repo, recon) == [(repo, schema)]
    elif ws.forge.name == "gitlab":
        kinds = {iid: kind for _, iid, kind in server.links(repo, recon)}
        assert kinds == {schema: "is_blocked_by" if not free else "relates_to"}
        assert server.issues(repo)[n["Retry failed charges"]]["due_date"] == "2026-12-18"
    # the milestone's due day, as the tracker keeps it
    (rec,) = base["milestones"].values()
    assert rec["due"] == "2026-12-20"
    ws.forge.server.clock.tick(3 * HOUR)
    assert ws.run("sync").code == 0  # settles
    ws.forge.server.clock.tick(3 * HOUR)
    before = len(ws.forge.server.log)
    quiet = ws.run("sync")
    assert quiet.code == 0, quiet.text
    assert len(ws.forge.server.log) - before == 2


def test_a_guide_edit_changes_exactly_what_it_changed(ws):
    assert ws.run("push").code == 0
    n = numbers(ws)["Ledger schema"]
    ws.forge.server.clock.tick(3 * HOUR)
    ws.write(GUIDE, ws.read(GUIDE).replace("[id:: ledger-schema] [assignee:: bob]", "[id:: ledger-schema] [assignee:: alice]"))
    out = ws.run("sync")
    assert out.code == 0, out.text
    assert assignees(ws, n) == ["alice"]


def test_labels_three_way_a_persons_label_stays_the_one_dropped_from_the_guide_goes(ws):
    assert ws.run("push").code == 0
    n = numbers(ws)["Retry failed charges"]
    ws.forge.server.clock.tick(3 * HOUR)
    now = ws.forge.issues()[n]["labels"]
    ws.forge.server.edit_issue(ws.forge.repo, n, labels=[*now, "urgent"])  # a person adds one
    ws.forge.server.clock.tick(3 * HOUR)
    ws.write(GUIDE, ws.read(GUIDE).replace("[labels:: payments]", "[labels:: backend]"))
    out = ws.run("sync")
    assert out.code == 0, out.text
    assert sorted(ws.forge.issues()[n]["labels"]) == ["backend", "guidesync", "urgent"]
