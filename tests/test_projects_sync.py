"""The GitHub project (v2) phase in whole runs (``project:`` in the configuration), through the
real PyGithub adapter against the fake GitHub's GraphQL: every managed issue lands on the board
with its status from the box and its date from ``due``; a quiet sync sends nothing to the project;
the Actions job's token, which cannot reach Projects, is said clearly, in ``plan`` too, and never
fails the issue sync."""

from __future__ import annotations

import json

import pytest

from tests.conftest import links

HOUR = 3600.0
GUIDE = """# Phase 6: Billing - Detailed Implementation Guide

## Deliverables Checklist

- [ ] Retry failed charges [due:: 2026-12-18]
- [x] Ledger schema
"""
PROJECT = {"owner": "acme", "number": 1, "date_field": "Target"}


@pytest.fixture
def ws(make_workspace):
    ws = make_workspace("github", guides=())
    ws.write("billing.md", GUIDE)
    ws.write_config(project=PROJECT)
    ws.forge.server.projects.create_project("acme", fields={"Target": "DATE"})
    return ws


def board(ws) -> dict[int, dict]:
    server = ws.forge.server
    by_node = {server.node_id("acme/shop", n): n for n in server.issues("acme/shop")}
    return {by_node[c]: v for c, v in server.projects.items("acme", 1).items()}


def graphql(ws) -> int:
    server = ws.forge.server
    return sum(1 for e in server.log if e.path == server.graphql_path)


def test_a_push_puts_every_issue_on_the_board_and_a_quiet_sync_sends_nothing(ws):
    out = ws.run("push")
    assert out.code == 0, out.text
    n = {line.split("] ", 1)[1].split(" [")[0].split(" ([#")[0]: k for k, line in links(ws.read("billing.md")).items()}
    items = board(ws)
    assert items[n["Retry failed charges"]]["Status"] == "Todo" and items[n["Retry failed charges"]]["Target"] == "2026-12-18"
    assert items[n["Ledger schema"]]["Status"] == "Done"
    base = json.loads(ws.state_text())
    assert base["project"]["number"] == 1 and all("project_item" in base["tasks"][str(k)] for k in n.values())
    ws.forge.server.clock.tick(2 * HOUR)
    before, requests = graphql(ws), len(ws.forge.server.log)
    out = ws.run("sync")
    assert out.code == 0, out.text
    assert graphql(ws) == before and len(ws.forge.server.log) - requests == 2
    # a box checked in the guide moves the card
    ws.forge.server.clock.tick(2 * HOUR)
    ws.write("billing.md", ws.read("billing.md").replace("- [ ] Retry", "- [x] Retry"))
    assert ws.run("sync").code == 0
    assert board(ws)[n["Retry failed charges"]]["Status"] == "Done"


def test_the_actions_token_is_said_clearly_and_never_fails_the_issue_sync(ws):
    ws.forge.server.projects.token_kind = "actions"
    plan = ws.run("plan")
    assert plan.code == 0, plan.text
    assert "project" in plan.text and "token" in plan.text.lower()
    out = ws.run("push")
    assert out.code == 0, out.text
    assert len(links(ws.read("billing.md"))) == 2  # the issues are synced
    assert any("token" in w.lower() and "project" in w.lower() for w in out.data.warnings), out.data.warnings
    assert board(ws) == {}
