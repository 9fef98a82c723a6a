"""Issue 10, identity: the repository's web address is learned (from the tracker, the CI or the
configuration, once, kept in the base), never derived from the API URL; and an issue link is
recognised in every way it may be written.

The adapters run against the fakes with their pages on another host than their API (GHE.com with
data residency, GitLab reached by another name than its external_url), through the real clients.
"""

from __future__ import annotations

import json

import pytest

from guidesync import commands
from guidesync.ci.summary import summary_rows
from guidesync.config import Config
from guidesync.trackers.base import CallPolicy, issue_number_in, web_key
from guidesync.trackers.github import GitHubTracker
from guidesync.trackers.gitlab import GitLabTracker
from tests.fakes.github import FakeGitHub
from tests.fakes.gitlab import FakeGitLab

TOKEN = "test-token-7f3a"
PAGES = "https://octo.ghe.test"
HOURS = 3600


def policy() -> CallPolicy:
    return CallPolicy(write_interval=0, sleep=lambda s: None)


# -- comparing web addresses -------------------------------------------------------------------------


@pytest.mark.parametrize("url", [
    "https://octo.ghe.test/acme/shop/issues/12",
    "https://octo.ghe.test/acme/shop/issues/12/",
    "https://octo.ghe.test/acme/shop/issues/12#issuecomment-99",
    "https://octo.ghe.test/acme/shop/issues/12?notification_referrer_id=x#issuecomment-99",
    "https://OCTO.ghe.test/ACME/Shop/Issues/12",
    "http://octo.ghe.test/acme/shop/issues/12",       # http names the same page (it is sent to https)
    "https://octo.ghe.test:443/acme/shop/issues/12",  # the default port, written out
    "  https://octo.ghe.test/acme/shop/issues/12  ",
])
def test_an_issue_link_in_any_variant_is_recognised(url):
    assert issue_number_in(url, ["https://octo.ghe.test/acme/shop"], ("issues",)) == 12


@pytest.mark.parametrize("url", [
    "https://api.octo.ghe.test/acme/shop/issues/12",    # another host
    "https://octo.ghe.test:8443/acme/shop/issues/12",   # another port
    "https://octo.ghe.test/acme/shop-old/issues/12",    # another repository
    "https://octo.ghe.test/acme/shop/pull/12",          # a pull request
    "https://octo.ghe.test/acme/shop/issues/12/comments",
    "https://octo.ghe.test/acme/shop/issues/twelve",
    "https://octo.ghe.test/acme/shop/issues/",
    "https://octo.ghe.test/acme/shop/issues/１２",        # digits, but not ASCII ones
    "ftp://octo.ghe.test/acme/shop/issues/12",
    "octo.ghe.test/acme/shop/issues/12",
    "https://octo.ghe.test:99999/acme/shop/issues/12",  # not a port
    "not a url",
])
def test_anything_else_is_not_an_issue_of_this_repository(url):
    assert issue_number_in(url, ["https://octo.ghe.test/acme/shop"], ("issues",)) is None


def test_web_key():
    assert web_key("HTTPS://User@Host.Example:443/A/B/?q#f") == ("host.example", "/a/b")
    assert web_key("http://host.example:8080/x") == ("host.example:8080", "/x")
    assert web_key("mailto:a@b") is None


# -- GitHub: pages on another host than the API ----------------------------------------------------


@pytest.fixture
def ghe():
    with FakeGitHub(token=TOKEN, repos=("acme/shop", "acme/other"), web_url=PAGES) as fake:
        yield fake


def learning(fake) -> list:
    return fake.requests("GET", r"/(repos/[^/]+/[^/]+|projects/[^/]+)$")


def test_github_learns_the_web_address_from_the_repository_once(ghe):
    tracker = GitHubTracker("acme/shop", TOKEN, url=ghe.url, policy=policy())
    assert tracker.repository_url is None
    n = ghe.create_issue("acme/shop", "one")
    url = ghe.issues("acme/shop")[n]["html_url"]
    assert url == f"{PAGES}/acme/shop/issues/{n}"
    assert tracker.issue_number_from_url(url) == n
    assert tracker.issue_number_from_url(url + "#issuecomment-5") == n
    assert tracker.issue_number_from_url(f"{ghe.url}/acme/shop/issues/{n}") is None  # the API's host
    assert tracker.issue_number_from_url(f"{PAGES}/acme/other/issues/{n}") is None
    assert tracker.guide_url("guides/a b.md", "main") == f"{PAGES}/acme/shop/blob/main/guides/a%20b.md"
    assert tracker.repository_url == f"{PAGES}/acme/shop"
    assert len(learning(ghe)) == 1 == ghe.counts()["total"]
    # closing is not refused as "transferred", and asks nothing more
    assert tracker.close_issue(n, "completed").issue_state == "completed"
    assert tracker.get_issue(n).number == n
    assert len(learning(ghe)) == 1


def test_github_with_the_address_from_the_base_asks_nothing(ghe):
    n = ghe.create_issue("acme/shop", "one", labels=["guidesync"])
    tracker = GitHubTracker("acme/shop", TOKEN, url=ghe.url, policy=policy(), repository_url=f"{PAGES}/acme/shop/")
    assert tracker.learn_web([(f"{PAGES}/acme/shop/issues/{n}", n)]) == f"{PAGES}/acme/shop"
    assert tracker.issue_number_from_url(f"{PAGES}/acme/shop/issues/{n}") == n
    assert [i.number for i in tracker.list_issues("guidesync", None, {}).items] == [n]
    assert tracker.reopen_issue(n).issue_state == "open"
    assert learning(ghe) == []


def test_github_with_a_stale_address_in_the_base_asks_once_and_keeps_the_new_one(ghe):
    """The base says the pages were on another host (the instance moved): the first answer that
    does not fit makes the adapter ask once; nothing is taken for transferred."""
    n = ghe.create_issue("acme/shop", "one", labels=["guidesync"])
    tracker = GitHubTracker("acme/shop", TOKEN, url=ghe.url, policy=policy(),
                            repository_url="https://old.example.test/acme/shop")
    assert tracker.close_issue(n, "completed").issue_state == "completed"
    assert tracker.repository_url == f"{PAGES}/acme/shop"
    assert tracker.get_issue(n) is not None and tracker.list_issues("guidesync", None, {}).items
    assert len(learning(ghe)) == 1
    # links written with the old address are still recognised in this run (both are known)
    assert tracker.issue_number_from_url(f"https://old.example.test/acme/shop/issues/{n}") == n


def test_github_a_link_the_base_knows_that_does_not_fit_makes_it_ask_before_planning(ghe):
    n = ghe.create_issue("acme/shop", "one")
    tracker = GitHubTracker("acme/shop", TOKEN, url=ghe.url, policy=policy(),
                            repository_url="https://old.example.test/acme/shop")
    tracker.learn_web([(f"{PAGES}/acme/shop/issues/{n}", n), (f"{PAGES}/acme/shop/issues/{n}", n)])
    assert tracker.repository_url == f"{PAGES}/acme/shop" and len(learning(ghe)) == 1
    tracker.learn_web([("https://elsewhere.example/acme/shop/issues/1", 1)])  # asked already: not again
    assert len(learning(ghe)) == 1


def test_github_a_transferred_issue_is_still_gone(ghe):
    n = ghe.create_issue("acme/shop", "moving")
    tracker = GitHubTracker("acme/shop", TOKEN, url=ghe.url, policy=policy(), repository_url=f"{PAGES}/acme/shop")
    ghe.transfer_issue("acme/shop", n, "acme/other")
    assert tracker.get_issue(n) is None  # the redirect leads to acme/other's issue
    assert len(learning(ghe)) == 1  # it checked its own address once before saying so


def test_github_a_told_web_root_that_the_server_contradicts_does_not_make_issues_foreign(ghe):
    """web_url set to a proxy name the server does not use: links by either name are the
    repository's; GitHub's own answers are checked against what GitHub says (asked once)."""
    n = ghe.create_issue("acme/shop", "one")
    tracker = GitHubTracker("acme/shop", TOKEN, url=ghe.url, policy=policy(), web_url="https://proxy.example.test")
    assert tracker.guide_url("g.md", "main") == "https://proxy.example.test/acme/shop/blob/main/g.md"
    assert ghe.counts()["total"] == 0
    assert tracker.close_issue(n, "completed").issue_state == "completed"
    assert tracker.issue_number_from_url(f"https://proxy.example.test/acme/shop/issues/{n}") == n
    assert tracker.issue_number_from_url(f"{PAGES}/acme/shop/issues/{n}") == n
    assert tracker.repository_url == f"{PAGES}/acme/shop" and len(learning(ghe)) == 1


# -- GitLab: reached by another name than its external_url ---------------------------------------------


@pytest.fixture
def external():
    with FakeGitLab(token=TOKEN, projects=("acme/platform/shop",), external_url="https://gitlab.example.test") as fake:
        yield fake


def test_gitlab_learns_the_web_address_from_the_project_once(external):
    tracker = GitLabTracker("acme/platform/shop", TOKEN, url=external.url, policy=policy())
    n = external.create_issue("acme/platform/shop", "one")
    url = external.issues("acme/platform/shop")[n]["web_url"]
    assert url.startswith("https://gitlab.example.test/acme/platform/shop/-/issues/")
    for variant in (url, url + "#note_3", url.upper() + "/", url.replace("https:", "http:") + "?x=1",
                    f"https://gitlab.example.test/acme/platform/shop/-/work_items/{n}",
                    f"https://gitlab.example.test/acme/platform/shop/issues/{n}"):
        assert tracker.issue_number_from_url(variant) == n, variant
    assert tracker.issue_number_from_url(f"{external.url}/acme/platform/shop/-/issues/{n}") is None
    assert tracker.issue_number_from_url(f"https://gitlab.example.test/acme/platform/shop/-/merge_requests/{n}") is None
    assert tracker.guide_url("g.md", "main") == "https://gitlab.example.test/acme/platform/shop/-/blob/main/g.md"
    assert len(learning(external)) == 1 == external.counts()["total"]


def test_gitlab_by_numeric_id_with_the_address_in_the_base_asks_nothing(external):
    pid = external.project_id("acme/platform/shop")
    n = external.create_issue("acme/platform/shop", "one", labels=["guidesync"])
    tracker = GitLabTracker(str(pid), TOKEN, url=external.url, policy=policy(),
                            repository_url="https://gitlab.example.test/acme/platform/shop")
    assert tracker.issue_number_from_url(f"https://gitlab.example.test/acme/platform/shop/-/issues/{n}") == n
    assert tracker.guide_url("g.md", "main") == "https://gitlab.example.test/acme/platform/shop/-/blob/main/g.md"
    assert [i.number for i in tracker.list_issues("guidesync", None, {}).items] == [n]
    assert learning(external) == []


def test_gitlab_by_numeric_id_with_a_told_root_asks_once_for_its_path(external):
    pid = external.project_id("acme/platform/shop")
    tracker = GitLabTracker(str(pid), TOKEN, url=external.url, policy=policy(), web_url="https://gitlab.example.test/")
    assert tracker.guide_url("g.md", "main") == "https://gitlab.example.test/acme/platform/shop/-/blob/main/g.md"
    assert tracker.guide_url("h.md", "main").endswith("/h.md")
    assert len(learning(external)) == 1


def test_gitlab_with_a_stale_address_in_the_base_asks_once(external):
    n = external.create_issue("acme/platform/shop", "one", labels=["guidesync"])
    tracker = GitLabTracker("acme/platform/shop", TOKEN, url=external.url, policy=policy(),
                            repository_url="https://gitlab.old.test/acme/platform/shop")
    tracker.list_issues("guidesync", None, {})
    assert tracker.repository_url == "https://gitlab.example.test/acme/platform/shop"
    assert tracker.issue_number_from_url(f"https://gitlab.example.test/acme/platform/shop/-/issues/{n}") == n
    assert len(learning(external)) == 1


# -- whole runs ---------------------------------------------------------------------------------------


def _run(ws, mode: str = "sync", extra_env: dict[str, str] | None = None):
    ctx = ws.context()
    ctx.env = {**ctx.env, **(extra_env or {})}
    return commands.sync(ctx, mode)


def test_in_github_actions_the_ci_names_the_pages_and_nothing_is_asked(make_workspace):
    ws = make_workspace("ghe.com")
    env = {"GITHUB_ACTIONS": "true", "GITHUB_API_URL": ws.forge.server.url, "GITHUB_SERVER_URL": PAGES}
    out = _run(ws, "push", env)
    assert out.code == 0, out.text
    assert learning(ws.forge.server) == []
    assert "repository_url" not in json.loads(ws.state_text())  # what the CI says is not kept
    ws.forge.server.clock.tick(2 * HOURS)
    writes = ws.forge.writes()
    assert _run(ws, "sync", env).code == 0 and ws.forge.writes() == writes
    assert learning(ws.forge.server) == []


def test_web_url_in_the_config_names_the_pages_and_nothing_is_asked(make_workspace):
    ws = make_workspace("gitlab-external")
    ws.write_config(web_url="https://gitlab.example.test/")
    out = ws.run("push")
    assert out.code == 0, out.text
    assert learning(ws.forge.server) == []
    body = next(iter(ws.forge.issues().values()))["body"]
    assert "https://gitlab.example.test/acme/shop/-/blob/HEAD/guides/" in body
    ws.forge.server.clock.tick(2 * HOURS)
    writes = ws.forge.writes()
    assert ws.run("sync").code == 0 and ws.forge.writes() == writes


@pytest.mark.parametrize("layout", ["ghe.com", "gitlab-external"])
def test_a_stale_address_in_the_base_is_learned_again_and_nothing_is_closed(make_workspace, layout):
    """The base keeps the address of the pages' old host (the instance moved): the first run after
    that asks once, closes nothing, checks no box, and keeps the new address."""
    ws = make_workspace(layout)
    assert ws.run("push").code == 0
    state = json.loads(ws.state_text())
    real = state["repository_url"]
    state["repository_url"] = "https://moved-away.example.test/acme/shop"
    (ws.root / ".guidesync" / "state.json").write_text(json.dumps(state))
    guides = (ws.read("phase-1-foundation.md"), ws.read("checkout-redesign.md"))
    before = {n: i["state"] for n, i in ws.forge.issues().items()}
    ws.forge.server.reset_log()
    ws.forge.server.clock.tick(2 * HOURS)
    out = ws.run("sync")
    assert out.code == 0, out.text
    assert ws.forge.writes() == 0
    assert {n: i["state"] for n, i in ws.forge.issues().items()} == before
    assert (ws.read("phase-1-foundation.md"), ws.read("checkout-redesign.md")) == guides
    assert len(learning(ws.forge.server)) == 1
    assert json.loads(ws.state_text())["repository_url"] == real


def test_the_job_summary_links_unlinked_issues_by_the_learned_address():
    cfg = Config(tracker="gitlab", repository="acme/shop", url="http://gitlab.internal")
    data = {"events": [{"action": "closed", "issue": 7, "detail": "not_planned"}]}
    rows, _ = summary_rows(data, {}, cfg, False, "https://gitlab.example.test/acme/shop")
    assert rows[0].ref == "[#7](https://gitlab.example.test/acme/shop/-/issues/7)"
    rows, _ = summary_rows(data, {}, cfg, False, None)
    assert rows[0].ref == "#7"  # never worked out from the API URL
    cfg = Config(tracker="github", repository="acme/shop", url="https://api.octo.ghe.com")
    rows, _ = summary_rows(data, {}, cfg, False, "https://octo.ghe.com/acme/shop")
    assert rows[0].ref == "[#7](https://octo.ghe.com/acme/shop/issues/7)"
