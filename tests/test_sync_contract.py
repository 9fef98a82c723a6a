"""The sync scenarios every forge must pass, through the real client libraries over HTTP.

Each test runs against the fake GitHub (PyGithub) and the fake GitLab (python-gitlab) in every host
layout of conftest.LAYOUTS (github.com, GitHub Enterprise Server, GHE.com, GitLab at the root of
its host, under a relative root, and reached by another name than its external_url), so a
behaviour cannot drift between forges, nor depend on where the pages live. The few slow scenarios
run on one layout per forge.
"""

from __future__ import annotations

import difflib
import json
import math

import pytest

from tests.conftest import FORGES, LAYOUTS, LINK, links, number_of

PHASE = "phase-1-foundation.md"
IMPL = "checkout-redesign.md"




def changed_chars(before: str, after: str) -> list[tuple[str, str]]:
    sm = difflib.SequenceMatcher(None, before, after, autojunk=False)
    return [(before[i1:i2], after[j1:j2]) for op, i1, i2, j1, j2 in sm.get_opcodes() if op != "equal"]


@pytest.fixture(params=list(LAYOUTS))
def ws(request, make_workspace):
    return make_workspace(request.param)


@pytest.fixture(params=FORGES)
def ws_one_layout(request, make_workspace):
    """For the slow scenarios: one layout per forge."""
    return make_workspace(request.param)


HOURS = 3600


def test_first_push_creates_milestones_issues_links_and_closes_checked(ws):
    out = ws.run("push")
    assert out.code == 0, out.text
    issues = ws.forge.issues()
    assert len(issues) == 10
    assert sorted(ws.forge.milestones().values()) == [
        "Checkout Redesign - Milestone 1: Cart API",
        "Checkout Redesign - Milestone 2: Single-page checkout",
        "Phase 1: Foundation",
    ]
    assert all("guidesync" in i["labels"] for i in issues.values())
    phase, impl = ws.read(PHASE), ws.read(IMPL)
    assert len(links(phase)) == 4 and len(links(impl)) == 6
    for n, line in {**links(phase), **links(impl)}.items():
        assert issues[n]["url"] in line
    n = number_of(phase, "PostgreSQL schema")
    assert issues[n]["state"] == "closed" and issues[n]["milestone"] == "Phase 1: Foundation"
    n = number_of(impl, "CheckoutPage")
    assert issues[n]["state"] == "closed"
    assert issues[n]["milestone"] == "Checkout Redesign - Milestone 2: Single-page checkout"
    n = number_of(impl, "Cache cart totals")
    assert issues[n]["state"] == "open" and issues[n]["milestone"] == "Checkout Redesign - Milestone 1: Cart API"
    # Plain bullets gained a box with the link.
    assert "- [ ] Cache cart totals for 30 seconds ([#" in impl
    # Sub-items travel in the body as a task list.
    ci = issues[number_of(phase, "CI pipeline")]
    assert "- [x] lint job" in ci["body"] and "- [ ] test job" in ci["body"]
    # The second push writes nothing to the tracker or the guides. It reads back the issues the
    # first one wrote, so the base's listing mark moves on once; after that the base is stable too.
    before = (ws.read(PHASE), ws.read(IMPL))
    writes = ws.forge.writes()
    out = ws.run("push")
    assert out.code == 0, out.text
    assert ws.forge.writes() == writes
    assert (ws.read(PHASE), ws.read(IMPL)) == before
    state = ws.state_text()
    ws.run("push")
    assert ws.forge.writes() == writes
    assert ws.state_text() == state


def test_first_push_request_budget(ws):
    """N creates + M milestone creates + closes of checked tasks + at most ceil(N/100)+5 others."""
    ws.run("push")
    c = ws.forge.counts()
    n, m, closes = 10, 3, 2
    assert c["writes"] == n + m + closes + 1  # + the label
    assert c["total"] - (n + m + closes) <= math.ceil(n / 100) + 5
    # No per-task GET.
    assert not ws.forge.server.requests("GET", r"/issues/\d+$")


def test_pull_of_two_closed_issues_changes_exactly_two_characters(ws):
    ws.run("push")
    phase, impl = ws.read(PHASE), ws.read(IMPL)
    a, b = number_of(phase, "Seed script"), number_of(impl, "Cache cart totals")
    ws.forge.close(a)
    ws.forge.close(b)
    writes = ws.forge.writes()
    out = ws.run("pull")
    assert out.code == 0, out.text
    assert ws.forge.writes() == writes  # pull never writes to the tracker
    assert changed_chars(phase, ws.read(PHASE)) == [(" ", "x")]
    assert changed_chars(impl, ws.read(IMPL)) == [(" ", "x")]
    assert "- [x] Seed script" in ws.read(PHASE)


def test_checkbox_changes_close_and_reopen_exactly_those_issues(ws):
    ws.run("push")
    phase = ws.read(PHASE)
    done = number_of(phase, "PostgreSQL schema")
    todo = number_of(phase, "Seed script")
    phase = phase.replace("- [x] PostgreSQL schema", "- [ ] PostgreSQL schema").replace("- [ ] Seed script", "- [x] Seed script")
    ws.write(PHASE, phase)
    before = ws.forge.issues()
    ws.forge.server.reset_log()
    out = ws.run("push")
    assert out.code == 0, out.text
    after = ws.forge.issues()
    assert after[done]["state"] == "open" and after[todo]["state"] == "closed"
    changed = {n for n in after if after[n]["state"] != before[n]["state"]}
    assert changed == {done, todo}
    assert ws.forge.writes() == 2


def test_editing_task_text_updates_the_title_without_a_new_issue(ws):
    ws.run("push")
    impl = ws.read(IMPL)
    n = number_of(impl, "Cache cart totals")
    ws.write(IMPL, impl.replace("Cache cart totals for 30 seconds", "Cache cart totals for 60 seconds"))
    out = ws.run("push")
    assert out.code == 0, out.text
    issues = ws.forge.issues()
    assert len(issues) == 10
    assert issues[n]["title"] == "Cache cart totals for 60 seconds"


def test_moving_a_task_to_another_milestone_moves_its_issue(ws):
    ws.run("push")
    impl = ws.read(IMPL)
    n = number_of(impl, "Cache cart totals")
    line = links(impl)[n]
    impl = impl.replace(line + "\n", "")
    impl = impl.replace("- [ ] Inline address validation", line + "\n- [ ] Inline address validation")
    ws.write(IMPL, impl)
    out = ws.run("push")
    assert out.code == 0, out.text
    assert ws.forge.issues()[n]["milestone"] == "Checkout Redesign - Milestone 2: Single-page checkout"
    assert len(ws.forge.issues()) == 10


def test_deleting_a_task_closes_its_issue_as_not_planned_with_a_comment(ws):
    ws.run("push")
    phase = ws.read(PHASE)
    n = number_of(phase, "Seed script")
    ws.write(PHASE, phase.replace(links(phase)[n] + "\n", ""))
    out = ws.run("push")
    assert out.code == 0, out.text
    issue = ws.forge.issues()[n]
    assert issue["state"] == "closed"
    if ws.forge.name == "github":
        assert issue["reason"] == "not_planned"
    assert any("removed from the guide" in c for c in ws.forge.comments(n))
    assert json.loads(ws.state_text())["tasks"][str(n)]["state"] == "removed"  # a tombstone
    # Converged: the next run does nothing.
    writes = ws.forge.writes()
    ws.run("sync")
    assert ws.forge.writes() == writes


def _all_linked_once(ws):
    issues = ws.forge.issues()
    assert len(issues) == 10
    assert len({i["title"] for i in issues.values()}) == 10
    linked = {**links(ws.read(PHASE)), **links(ws.read(IMPL))}
    assert sorted(linked) == sorted(issues)


def test_lost_response_on_fourth_create_is_found_by_its_marker_in_the_same_run(ws):
    ws.forge.server.add_fault(method="POST", path=ws.forge.create_path, kind="drop_after", nth=4)
    out = ws.run("push")
    assert out.code == 0, out.text
    assert "found it as #4 by its marker" in out.text
    _all_linked_once(ws)
    writes = ws.forge.writes()
    assert ws.run("push").code == 0 and ws.forge.writes() == writes


def test_lost_response_on_fourth_create_then_rerun_has_no_duplicate(ws):
    """The answer to the 4th create is lost and so is the look-up for it: the run stops short of
    linking it; the second run adopts it by its marker."""
    ws.forge.server.add_fault(method="POST", path=ws.forge.create_path, kind="drop_after", nth=4)
    ws.forge.server.add_fault(method="GET", path=r"/issues$", kind="drop_before", nth=2, times=10)
    out = ws.run("push")
    assert out.code == 1
    assert "marker" in out.text
    assert len(ws.forge.issues()) == 10  # the 4th was created though its answer was lost
    ws.forge.server.clear_faults()
    out = ws.run("push")
    assert out.code == 0, out.text
    issues = ws.forge.issues()
    assert len(issues) == 10
    titles = [i["title"] for i in issues.values()]
    assert len(set(titles)) == 10
    linked = {**links(ws.read(PHASE)), **links(ws.read(IMPL))}
    assert sorted(linked) == sorted(issues)


def test_rate_limit_with_retry_after_is_waited_out(ws):
    ws.forge.rate_limit(ws.forge.create_path, method="POST", nth=2, retry_after=1)
    out = ws.run("push")
    assert out.code == 0, out.text
    assert 1.0 in ws.sleeps
    assert len(ws.forge.issues()) == 10


def test_three_way_pull_and_push_in_one_sync(ws):
    ws.run("push")
    phase = ws.read(PHASE)
    closed_on_tracker = number_of(phase, "Seed script")
    ws.forge.close(closed_on_tracker)
    checked_in_guide = number_of(phase, "services/api")
    ws.write(PHASE, phase.replace("- [ ] `services/api/`", "- [x] `services/api/`"))
    out = ws.run("sync")
    assert out.code == 0, out.text
    assert "- [x] Seed script" in ws.read(PHASE)
    assert ws.forge.issues()[checked_in_guide]["state"] == "closed"
    writes = ws.forge.writes()
    ws.run("sync")
    assert ws.forge.writes() == writes


def test_reopened_issue_unchecks_the_box(ws):
    ws.run("push")
    n = number_of(ws.read(PHASE), "PostgreSQL schema")
    ws.forge.reopen(n)
    ws.run("pull")
    assert "- [ ] PostgreSQL schema" in ws.read(PHASE)


def test_dry_run_writes_nothing_anywhere(ws):
    before = ws.read(PHASE)
    out = ws.run("push", dry_run=True)
    assert out.code == 0
    assert ws.forge.writes() == 0
    assert ws.read(PHASE) == before
    assert ws.state_text() == ""


def test_no_op_sync_request_count(ws):
    """With the base present, a sync where nothing changed costs ceil(M/100) + 3 requests at most."""
    ws.run("push")
    ws.run("sync")  # reads back the issues the push wrote
    ws.forge.server.reset_log()
    out = ws.run("sync")
    assert out.code == 0
    c = ws.forge.counts()
    assert c["writes"] == 0
    assert c["total"] <= math.ceil(3 / 100) + 3


def test_a_link_deleted_by_hand_is_written_again_not_a_second_issue(ws):
    ws.run("push")
    ws.run("sync")
    phase = ws.read(PHASE)
    n = number_of(phase, "Seed script")
    line = links(phase)[n]
    ws.write(PHASE, phase.replace(line, LINK.sub("", line)))
    out = ws.run("sync")
    assert out.code == 0, out.text
    assert len(ws.forge.issues()) == 10
    assert ws.read(PHASE) == phase
    assert ws.forge.issues()[n]["state"] == "open"


def test_a_read_that_times_out_is_retried(ws_one_layout):
    """The tracker answers a listing later than the client waits (timeout: 1 s): the read is
    retried, and the run ends as if nothing happened."""
    ws = ws_one_layout
    ws.write_config(timeout=1)
    ws.forge.server.add_fault(method="GET", path=r"/issues$", kind="delay", delay=1.6, nth=1)
    out = ws.run("push")
    assert out.code == 0, out.text
    assert out.stats["retries"] >= 1
    _all_linked_once(ws)


def test_gitlab_subgroup_project_on_a_self_hosted_instance_under_a_path(make_workspace):
    ws = make_workspace("gitlab", repo="acme/platform/shop", prefix="/gitlab")
    out = ws.run("push")
    assert out.code == 0, out.text
    issues = ws.forge.issues()
    assert len(issues) == 10
    assert all(i["url"].startswith(ws.forge.server.url + "/acme/platform/shop/-/issues/") for i in issues.values())
    project = "/gitlab/api/v4/projects/acme%2Fplatform%2Fshop"
    assert all(e.path.startswith(project + "/") or e.path == project for e in ws.forge.server.log)
    assert len(ws.forge.server.requests("GET", project + "$")) == 1  # its web address, once
    assert "/acme/platform/shop/-/blob/HEAD/guides/" in next(iter(issues.values()))["body"]
    writes = ws.forge.writes()
    assert ws.run("sync").code == 0 and ws.forge.writes() == writes


# -- identity: links are the repository's wherever its pages live, hours apart -------------------------


def _states(ws) -> dict[int, str]:
    return {n: i["state"] for n, i in ws.forge.issues().items()}


def test_quiet_syncs_hours_apart_change_nothing_and_a_checked_box_still_closes_its_issue(ws):
    """Runs hours apart (nothing listed as changed any more): every link is still the task's own
    issue. Nothing is closed as removed, no box moves, and checking a box closes that issue."""
    assert ws.run("push").code == 0
    phase, impl, states = ws.read(PHASE), ws.read(IMPL), _states(ws)
    writes = ws.forge.writes()
    for _ in range(2):
        ws.forge.server.clock.tick(2 * HOURS)
        out = ws.run("sync")
        assert out.code == 0, out.text
        assert ws.forge.writes() == writes, [(e.method, e.path) for e in ws.forge.server.log if e.is_write][-5:]
        assert (ws.read(PHASE), ws.read(IMPL), _states(ws)) == (phase, impl, states)
    n = number_of(phase, "Seed script")
    ws.write(PHASE, phase.replace("- [ ] Seed script", "- [x] Seed script"))
    ws.forge.server.clock.tick(3 * HOURS)
    out = ws.run("sync")
    assert out.code == 0, out.text
    assert "transferred" not in out.text and "deleted or moved" not in out.text
    assert ws.forge.writes() == writes + 1
    after = _states(ws)
    assert after[n] == "closed" and {k: v for k, v in after.items() if k != n} == {k: v for k, v in states.items() if k != n}
    if ws.forge.name == "github":
        assert ws.forge.issues()[n]["reason"] == "completed"
    ws.forge.server.clock.tick(3 * HOURS)
    assert ws.run("sync").code == 0 and ws.forge.writes() == writes + 1


def _variant(url: str, n: int) -> str:
    """The issue's own URL written another way: other case in host and path, a trailing slash, a
    query and a comment's fragment, and http for https."""
    scheme, rest = url.split("://", 1)
    fragment = "#issuecomment-1" if "/-/" not in url else "#note_1"
    return ("http" if scheme == "https" else scheme) + "://" + rest.upper() + "/?from=mail" + fragment


def test_a_link_written_another_way_is_still_the_tasks_issue(ws):
    """A link typed or pasted by hand (a comment's fragment, a query, a trailing slash, other case,
    http) names the same issue: it is left as written, its issue is not closed as removed, and
    checking its box closes it."""
    assert ws.run("push").code == 0
    phase = ws.read(PHASE)
    n = number_of(phase, "Seed script")
    url = ws.forge.issues()[n]["url"]
    odd = _variant(url, n)
    assert odd != url
    phase = phase.replace(f"]({url})", f"]({odd})")
    ws.write(PHASE, phase)
    writes = ws.forge.writes()
    ws.forge.server.clock.tick(2 * HOURS)
    out = ws.run("sync")
    assert out.code == 0, out.text
    assert ws.forge.writes() == writes
    assert ws.forge.issues()[n]["state"] == "open"
    assert ws.read(PHASE) == phase
    ws.write(PHASE, phase.replace("- [ ] Seed script", "- [x] Seed script"))
    ws.forge.server.clock.tick(2 * HOURS)
    out = ws.run("sync")
    assert out.code == 0, out.text
    assert ws.forge.writes() == writes + 1
    assert ws.forge.issues()[n]["state"] == "closed" and len(ws.forge.issues()) == 10
    if ws.forge.name == "github":
        assert ws.forge.issues()[n]["reason"] == "completed"
    assert f"]({odd})" in ws.read(PHASE)


def _learning_requests(ws) -> list:
    """GETs of the repository (GitHub) or project (GitLab) itself: how the web address is learned."""
    return ws.forge.server.requests("GET", r"/(repos/[^/]+/[^/]+|projects/[^/]+)$")


def test_the_web_address_is_learned_once_and_kept_in_the_base(ws):
    assert ws.run("push").code == 0
    assert len(_learning_requests(ws)) == 1
    kept = json.loads(ws.state_text())["repository_url"]
    assert kept.lower() + "/" in next(iter(ws.forge.issues().values()))["url"].lower()
    ws.forge.server.reset_log()
    for _ in range(2):
        ws.forge.server.clock.tick(2 * HOURS)
        assert ws.run("sync").code == 0
    assert _learning_requests(ws) == [] and ws.forge.writes() == 0
    # a base written by an earlier version has no web address: the next run asks once, keeps it
    state = json.loads(ws.state_text())
    del state["repository_url"]
    (ws.root / ".guidesync" / "state.json").write_text(json.dumps(state))
    ws.forge.server.clock.tick(2 * HOURS)
    out = ws.run("sync")
    assert out.code == 0, out.text
    assert len(_learning_requests(ws)) == 1 and ws.forge.writes() == 0
    assert json.loads(ws.state_text())["repository_url"] == kept
