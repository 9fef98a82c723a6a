"""``guidesync doctor`` (issue 17, point 2) on both fakes: a good token, a read-only token, a refused
token and an unknown repository; one line per check, exit 1 on what would stop a sync, ``--json``,
read-only (GETs and GraphQL queries only, exact request counts), and the token's value never shown."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from guidesync.cli import app
from guidesync.doctor import doctor
from tests.conftest import FORGES, TOKEN

#: requests doctor sends to a healthy tracker: GitHub: the repository, the label, /rate_limit, /meta
#: and one GraphQL query; GitLab: the project, the token's scopes, the label, /version and one
#: GraphQL query
REQUESTS = {"github": 5, "gitlab": 5}


def statuses(outcome) -> dict[str, str]:
    return {c.name: c.status for c in outcome.data}


def only_reads(server) -> None:
    """Nothing but GETs and GraphQL queries reached the server."""
    for entry in server.log:
        if entry.method == "GET":
            continue
        assert entry.path.endswith("/graphql") and entry.method == "POST", (entry.method, entry.path)
        assert not str((entry.body or {}).get("query", "")).lstrip().startswith("mutation"), entry.body


@pytest.mark.parametrize("forge", FORGES)
def test_a_good_token_passes_every_check(make_workspace, forge):
    ws = make_workspace(forge)
    before = (ws.forge.issues(), ws.forge.milestones())
    out = doctor(ws.context())
    assert out.code == 0, out.text
    checks = statuses(out)
    assert set(checks.values()) == {"ok"}, out.text
    common = ["config", "repository", "token", "url", "state file", "tracker", "label", "rate limit", "server",
              "graphql", "sub-issues", "dependencies"]
    own = ["repository", "permissions"] if forge == "github" else ["project", "token scopes", "access level"]
    assert set(common + own) <= set(checks)
    lines = out.text.splitlines()
    assert len(lines) == len(out.data) + 1 and lines[-1].endswith("0 failed, 0 warnings: ready to sync")
    assert f"token         from {'GITHUB_TOKEN' if forge == 'github' else 'GITLAB_TOKEN'}" in out.text
    assert TOKEN not in out.text
    assert ws.forge.counts()["total"] == REQUESTS[forge]
    only_reads(ws.forge.server)
    assert (ws.forge.issues(), ws.forge.milestones()) == before
    assert not (ws.root / ".guidesync").exists()  # no state file written either


@pytest.mark.parametrize("forge", FORGES)
def test_a_read_only_token_fails_the_right_check(make_workspace, forge):
    ws = make_workspace(forge)
    ws.forge.server.read_only = True
    out = doctor(ws.context())
    assert out.code == 1
    failed = {name for name, status in statuses(out).items() if status == "fail"}
    assert failed == ({"permissions"} if forge == "github" else {"token scopes"}), out.text
    line = next(l for l in out.text.splitlines() if l.startswith("FAIL"))
    assert "read-only" in line
    assert ws.forge.counts()["total"] == REQUESTS[forge]
    only_reads(ws.forge.server)


@pytest.mark.parametrize("forge", FORGES)
def test_a_refused_token_stops_at_the_first_answer(make_workspace, forge):
    ws = make_workspace(forge)
    out = doctor(ws.context(token="not-the-token-0000"))
    assert out.code == 1
    assert out.text.splitlines()[-2] == ("FAIL  tracker     the tracker rejected the token (401): check that it is "
                                         "valid and not expired")
    assert ws.forge.counts()["total"] == 1
    assert "not-the-token-0000" not in out.text


@pytest.mark.parametrize("forge", FORGES)
def test_an_unknown_repository_is_named(make_workspace, forge):
    ws = make_workspace(forge)
    ws.write_config(repository="acme/nope")
    out = doctor(ws.context())
    assert out.code == 1
    fails = [c for c in out.data if c.status == "fail"]
    assert len(fails) == 1 and fails[0].name == ("repository" if forge == "github" else "project")
    assert fails[0].detail.startswith("acme/nope not found on ") and "or the token cannot see it" in fails[0].detail
    assert ws.forge.counts()["total"] == 1


@pytest.mark.parametrize("forge", FORGES)
def test_json_through_the_cli(make_workspace, forge):
    ws = make_workspace(forge)
    result = CliRunner().invoke(app, ["doctor", "--json"], env=ws.forge.env())
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["ok"] is True and all(set(c) == {"check", "status", "detail"} for c in data["checks"])
    assert TOKEN not in result.output
    ws.forge.server.read_only = True
    result = CliRunner().invoke(app, ["doctor", "--json"], env=ws.forge.env())
    assert result.exit_code == 1 and json.loads(result.stdout)["ok"] is False


def test_what_stops_before_the_tracker(make_workspace):
    ws = make_workspace("github")
    out = doctor(ws.context(token=""))  # no token at all
    assert out.code == 1 and out.data[-1].name == "token" and out.data[-1].detail.startswith("none: set GITHUB_TOKEN")
    assert ws.forge.counts()["total"] == 0
    (ws.root / "config" / "guidesync.yaml").write_text("trackr: github\nmax_close: -1\n")
    out = doctor(ws.context())
    assert out.code == 2
    assert [c.detail.split(": ", 1)[1] for c in out.data] == ["unknown key 'trackr' (did you mean 'tracker'?)",
                                                              "key 'max_close' must not be negative"]


def test_what_the_base_learned_is_reported(make_workspace):
    """After a push on GitLab Free: one assignee kept, blocked-by as relates_to; doctor says so from
    the base (it sends no write to find out)."""
    ws = make_workspace("gitlab", guides=("phase-1-foundation.md",))
    for login in ("alice", "bob"):
        ws.forge.server.add_user(login)
        ws.forge.server.add_member("acme/shop", login)
    ws.write("extra.md", "# Phase 3: Extra - Detailed Implementation Guide\n\n## Overview\n\nx\n\n"
             "## Deliverables Checklist\n\n- [ ] One [assignee:: alice, bob] [id:: one]\n- [ ] Two [blocked-by:: one]\n")
    assert ws.run("push").code == 0
    ws.forge.server.reset_log()
    out = doctor(ws.context())
    checks = {c.name: c.detail for c in out.data}
    assert out.code == 0, out.text
    assert checks["state file"].endswith(" linked issues") and checks["label"] == "'guidesync' exists"
    assert checks["dependencies"] == "blocked-by: recorded as relates_to links (no blocking links on this tier)"
    assert checks["assignees"] == "an issue keeps at most 1 assignee(s) here"
    assert checks["tier"].startswith("Free")
    assert ws.forge.counts()["total"] == REQUESTS["gitlab"]
    only_reads(ws.forge.server)
