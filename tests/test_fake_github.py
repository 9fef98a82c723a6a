"""Drive tests/fakes/github.py through the real PyGithub client over HTTP."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import github
import pytest
import requests

from tests.fakes.github import FakeGitHub

REPO = "acme/shop"


def client(fake: FakeGitHub, token: str = "test-token") -> github.Github:
    return github.Github(
        auth=github.Auth.Token(token),
        base_url=fake.url,
        seconds_between_requests=0,
        seconds_between_writes=0,
        retry=None,
        per_page=100,
        lazy=True,
    )


@pytest.fixture
def fake():
    with FakeGitHub(repos=(REPO, "acme/other")) as server:
        yield server
    assert not server.errors, server.errors[0]


@pytest.fixture
def gh(fake):
    g = client(fake)
    yield g
    g.close()


@pytest.fixture
def repo(gh):
    return gh.get_repo(REPO)


# ------------------------------------------------------------------ basics


def test_repository_shape(repo, fake):
    assert repo.full_name == REPO
    assert repo.default_branch == "main"
    assert repo.archived is False
    assert repo.permissions.push is True
    assert repo.html_url == f"{fake.root_url}/{REPO}"


def test_create_issue_full_shape(repo, fake):
    ms = repo.create_milestone("Phase 1", description="first")
    issue = repo.create_issue("Write docs", body="- [ ] a", milestone=ms, labels=["docs", "P1"])
    assert issue.number == 1
    assert issue.title == "Write docs"
    assert issue.body == "- [ ] a"
    assert issue.state == "open"
    assert issue.state_reason is None
    assert sorted(lb.name for lb in issue.labels) == ["P1", "docs"]
    assert issue.milestone.number == ms.number
    assert issue.milestone.open_issues == 1
    assert issue.html_url == f"{fake.root_url}/{REPO}/issues/1"
    assert issue.created_at == issue.updated_at
    assert issue.closed_at is None
    assert issue.locked is False
    # unknown labels were created like GitHub does
    assert set(fake.labels(REPO)) == {"docs", "P1"}
    last = fake.requests("POST", r"/issues$")[-1]
    assert last.status == 201 and last.body["title"] == "Write docs"
    assert last.headers["authorization"] == "<redacted>"


def test_create_issue_validation(gh, fake):
    req = gh.requester
    with pytest.raises(github.GithubException) as exc:
        req.requestJsonAndCheck("POST", f"/repos/{REPO}/issues", input={"title": "x", "milestone": 99})
    assert exc.value.status == 422
    assert exc.value.data["message"] == "Validation Failed"
    assert exc.value.data["errors"][0]["field"] == "milestone"
    with pytest.raises(github.GithubException) as exc:
        req.requestJsonAndCheck("POST", f"/repos/{REPO}/issues", input={"body": "no title"})
    assert exc.value.status == 422
    assert exc.value.data["errors"][0] == {"resource": "Issue", "code": "missing_field", "field": "title"}
    assert fake.issues(REPO) == {}


def test_edit_close_reopen_issue(repo, fake):
    issue = repo.create_issue("T")
    issue.edit(state="closed", state_reason="not_planned")
    assert (issue.state, issue.state_reason) == ("closed", "not_planned")
    assert issue.closed_at is not None
    issue.edit(state="open")
    assert (issue.state, issue.state_reason, issue.closed_at) == ("open", "reopened", None)
    issue.edit(title="T2", body="new", labels=["a"])
    fresh = repo.get_issue(issue.number)
    assert (fresh.title, fresh.body, [lb.name for lb in fresh.labels]) == ("T2", "new", ["a"])
    ms = repo.create_milestone("M")
    issue.edit(milestone=ms)
    assert fake.issues(REPO)[issue.number]["milestone"]["title"] == "M"
    issue.edit(milestone=None)
    assert fake.issues(REPO)[issue.number]["milestone"] is None


def test_list_and_paginate_250(gh, repo, fake):
    for i in range(250):
        fake.create_issue(REPO, f"Issue {i + 1}")
    fake.reset_log()
    issues = list(repo.get_issues(state="all"))
    assert len(issues) == 250
    assert [i.number for i in issues[:3]] == [250, 249, 248]  # created desc by default
    gets = fake.requests("GET", r"/issues$")
    assert len(gets) == 3
    assert [g.query.get("page") for g in gets] == [None, ["2"], ["3"]]

    base = f"{fake.url}/repos/{REPO}/issues"
    req = gh.requester
    h1, d1 = req.requestJsonAndCheck("GET", f"/repos/{REPO}/issues", {"state": "all", "per_page": 100})
    assert len(d1) == 100
    assert h1["link"] == (
        f'<{base}?per_page=100&state=all&page=2>; rel="next", '
        f'<{base}?per_page=100&state=all&page=3>; rel="last"'
    )
    h2, _ = req.requestJsonAndCheck("GET", f"/repos/{REPO}/issues", {"state": "all", "per_page": 100, "page": 2})
    assert h2["link"] == (
        f'<{base}?page=1&per_page=100&state=all>; rel="prev", '
        f'<{base}?page=3&per_page=100&state=all>; rel="next", '
        f'<{base}?page=3&per_page=100&state=all>; rel="last", '
        f'<{base}?page=1&per_page=100&state=all>; rel="first"'
    )
    h3, d3 = req.requestJsonAndCheck("GET", f"/repos/{REPO}/issues", {"state": "all", "per_page": 100, "page": 3})
    assert len(d3) == 50
    assert h3["link"] == (
        f'<{base}?page=2&per_page=100&state=all>; rel="prev", '
        f'<{base}?page=1&per_page=100&state=all>; rel="first"'
    )
    # default per_page is 30, max 100; single page -> no Link
    _, d = req.requestJsonAndCheck("GET", f"/repos/{REPO}/issues")
    assert len(d) == 30
    _, d = req.requestJsonAndCheck("GET", f"/repos/{REPO}/issues", {"per_page": 500})
    assert len(d) == 100
    h, _ = req.requestJsonAndCheck("GET", f"/repos/{REPO}/milestones")
    assert "link" not in h


def test_canonical_links_follow_repository_id():
    with FakeGitHub(canonical_links=True) as fake:
        for i in range(150):
            fake.create_issue(REPO, f"I{i}")
        g = client(fake)
        assert len(list(g.get_repo(REPO).get_issues())) == 150
        paths = [r.path for r in fake.requests("GET")]
        assert paths[0] == f"/repos/{REPO}/issues"
        assert paths[1].startswith("/repositories/") and paths[1].endswith("/issues")
        assert not fake.errors


def test_filters_state_sort_direction(repo, fake):
    a = fake.create_issue(REPO, "a")
    b = fake.create_issue(REPO, "b")
    c = fake.create_issue(REPO, "c")
    fake.close_issue(REPO, b)
    fake.add_comment(REPO, c, "x")
    fake.add_comment(REPO, c, "y")
    fake.add_comment(REPO, a, "x")
    assert [i.number for i in repo.get_issues()] == [c, a]
    assert [i.number for i in repo.get_issues(state="closed")] == [b]
    assert [i.number for i in repo.get_issues(state="all", direction="asc")] == [a, b, c]
    assert [i.number for i in repo.get_issues(state="all", sort="updated")] == [a, c, b]
    assert [i.number for i in repo.get_issues(state="all", sort="comments")] == [c, a, b]


def test_since_filter(repo, fake):
    n1 = fake.create_issue(REPO, "old")
    n2 = fake.create_issue(REPO, "touched")
    fake.clock.tick(3600)
    cutoff = fake.clock.now()
    fake.edit_issue(REPO, n2, body="edited")
    n3 = fake.create_issue(REPO, "new")
    got = {i.number for i in repo.get_issues(state="all", since=cutoff)}
    assert got == {n2, n3}
    assert n1 not in got
    assert fake.issues(REPO)[n2]["updated_at"] > fake.clock.iso(cutoff)


def test_listing_parameters_combine_as_on_github(gh, repo, fake):
    """state (default open), labels (all of them), since (updated at or after), sort (created,
    updated or comments; default created) and direction (default desc) together, across pages;
    a value GitHub does not know is a 422."""
    numbers = [fake.create_issue(REPO, f"i{k}", labels=["guide"] if k % 2 else []) for k in range(7)]
    fake.clock.tick(3600)
    cutoff = fake.clock.now()
    for n in (numbers[5], numbers[1], numbers[3]):  # touched in this order, after the cutoff
        fake.edit_issue(REPO, n, body="touched")
    fake.close_issue(REPO, numbers[1])
    req = gh.requester
    _, data = req.requestJsonAndCheck("GET", f"/repos/{REPO}/issues", {"labels": "guide"})
    assert [i["number"] for i in data] == [numbers[5], numbers[3]]  # open only, newest created first
    params = {"labels": "guide", "state": "all", "since": fake.clock.iso(cutoff), "sort": "updated",
              "direction": "asc", "per_page": 2}
    h, data = req.requestJsonAndCheck("GET", f"/repos/{REPO}/issues", params)
    assert [i["number"] for i in data] == [numbers[5], numbers[3]]
    assert 'rel="next"' in h["link"]
    _, rest = req.requestJsonAndCheck("GET", f"/repos/{REPO}/issues", {**params, "page": 2})
    assert [i["number"] for i in rest] == [numbers[1]]  # closed last: its close is the newest update
    for bad in ({"sort": "title"}, {"direction": "up"}, {"state": "opened"}, {"since": "yesterday"}):
        with pytest.raises(github.GithubException) as exc:
            req.requestJsonAndCheck("GET", f"/repos/{REPO}/issues", bad)
        assert exc.value.status == 422
    # milestones: state open by default, sorted by due_on ascending by default
    fake.create_milestone(REPO, "later", due_on="2026-09-01")
    fake.create_milestone(REPO, "sooner", due_on="2026-03-01")
    fake.create_milestone(REPO, "done", due_on="2026-01-15", state="closed")
    _, data = req.requestJsonAndCheck("GET", f"/repos/{REPO}/milestones")
    assert [m["title"] for m in data] == ["sooner", "later"]
    _, data = req.requestJsonAndCheck("GET", f"/repos/{REPO}/milestones", {"state": "all"})
    assert [m["title"] for m in data] == ["done", "sooner", "later"]
    _, data = req.requestJsonAndCheck("GET", f"/repos/{REPO}/milestones", {"state": "closed", "direction": "desc"})
    assert [m["title"] for m in data] == ["done"]


def test_labels_and_milestone_filters(repo, fake):
    m1 = fake.create_milestone(REPO, "M1")
    both = fake.create_issue(REPO, "both", labels=["guide", "phase-1"], milestone=m1)
    fake.create_issue(REPO, "guide only", labels=["guide"])
    fake.create_issue(REPO, "none")
    assert [i.number for i in repo.get_issues(labels=["guide", "phase-1"])] == [both]
    assert len(list(repo.get_issues(labels=["guide"]))) == 2
    assert len(list(repo.get_issues(labels=["GUIDE"]))) == 2  # label names are case-insensitive
    assert [i.number for i in repo.get_issues(milestone="*")] == [both]
    assert len(list(repo.get_issues(milestone="none"))) == 2
    assert [i.number for i in repo.get_issues(milestone=repo.get_milestone(m1))] == [both]


# ------------------------------------------------------------- ETag / 304


def test_etag_not_modified_is_not_charged(gh, fake):
    fake.create_issue(REPO, "x")
    req = gh.requester
    url = f"/repos/{REPO}/issues"
    params = {"state": "all"}
    headers, data = req.requestJsonAndCheck("GET", url, params)
    etag = headers["etag"]
    assert etag.startswith('W/"') and len(data) == 1
    remaining = int(headers["x-ratelimit-remaining"])
    charged = fake.counts()["charged"]

    h304, body = req.requestJsonAndCheck("GET", url, params, headers={"If-None-Match": etag})
    assert body is None  # PyGithub returns (headers, None) for 304, no exception
    assert h304["etag"] == etag
    assert int(h304["x-ratelimit-remaining"]) == remaining
    assert fake.counts()["charged"] == charged
    assert fake.counts()["not_modified"] == 1
    assert fake.log[-1].status == 304 and fake.log[-1].charged is False

    fake.edit_issue(REPO, 1, title="changed")
    h200, body = req.requestJsonAndCheck("GET", url, params, headers={"If-None-Match": etag})
    assert body[0]["title"] == "changed" and h200["etag"] != etag
    assert int(h200["x-ratelimit-remaining"]) == remaining - 1


def test_etag_on_single_issue_and_milestones(gh, fake):
    n = fake.create_issue(REPO, "x")
    fake.create_milestone(REPO, "M")
    for url in (f"/repos/{REPO}/issues/{n}", f"/repos/{REPO}/milestones"):
        h, _ = gh.requester.requestJsonAndCheck("GET", url)
        h2, body = gh.requester.requestJsonAndCheck("GET", url, headers={"If-None-Match": h["etag"]})
        assert body is None
    assert fake.counts()["not_modified"] == 2


# ------------------------------------------------------------- milestones


def test_milestones_crud_and_live_counts(repo, fake):
    m = repo.create_milestone("Phase 1", description="d", due_on=datetime(2026, 3, 1, tzinfo=timezone.utc).date())
    assert (m.number, m.title, m.state, m.open_issues, m.closed_issues) == (1, "Phase 1", "open", 0, 0)
    assert m.html_url == f"{fake.root_url}/{REPO}/milestone/1"
    a = fake.create_issue(REPO, "a", milestone=1)
    fake.create_issue(REPO, "b", milestone="Phase 1")
    fake.close_issue(REPO, a)
    fresh = repo.get_milestone(1)
    assert (fresh.open_issues, fresh.closed_issues) == (1, 1)
    fresh.edit("Phase 1 (renamed)", state="closed")
    assert fake.milestones(REPO)[1]["title"] == "Phase 1 (renamed)"
    assert fake.milestones(REPO)[1]["closed_at"] is not None
    assert [x.number for x in repo.get_milestones()] == []
    assert [x.number for x in repo.get_milestones(state="all")] == [1]
    fresh.delete()
    assert fake.milestones(REPO) == {}
    assert all(i["milestone"] is None for i in fake.issues(REPO).values())
    with pytest.raises(github.UnknownObjectException):
        repo.get_milestone(1).title


def test_duplicate_milestone_is_422(repo):
    repo.create_milestone("Phase 1")
    with pytest.raises(github.GithubException) as exc:
        repo.create_milestone("Phase 1")
    assert exc.value.status == 422
    assert exc.value.data["message"] == "Validation Failed"
    assert exc.value.data["errors"] == [{"resource": "Milestone", "code": "already_exists", "field": "title"}]


def test_milestone_sorting(repo, fake):
    fake.create_milestone(REPO, "late", due_on="2026-06-01")
    fake.create_milestone(REPO, "nodue")
    fake.create_milestone(REPO, "early", due_on="2026-02-01T00:00:00Z")
    fake.create_issue(REPO, "x", milestone=1)
    fake.close_issue(REPO, fake.create_issue(REPO, "y", milestone=2))
    assert [m.title for m in repo.get_milestones()] == ["early", "late", "nodue"]
    assert [m.title for m in repo.get_milestones(direction="desc")] == ["nodue", "late", "early"]
    assert [m.title for m in repo.get_milestones(sort="completeness", direction="desc")][0] == "nodue"
    assert fake.milestones(REPO)[3]["due_on"] == "2026-01-31T08:00:00Z"  # the day in Pacific time: Jan 31


# ----------------------------------------------------------------- labels


def test_labels_crud(repo, fake):
    lb = repo.create_label("needs review", "ff0000", "check me")
    assert (lb.name, lb.color, lb.description) == ("needs review", "ff0000", "check me")
    with pytest.raises(github.GithubException) as exc:
        repo.create_label("Needs Review", "00ff00")
    assert exc.value.status == 422
    assert exc.value.data["errors"][0]["code"] == "already_exists"
    assert repo.get_label("needs review").color == "ff0000"
    for i in range(120):
        fake.create_label(REPO, f"l{i:03d}")
    assert len(list(repo.get_labels())) == 121
    assert len(fake.requests("GET", r"/labels$")) == 2
    n = fake.create_issue(REPO, "x", labels=["needs review", "l001"])
    repo.get_label("needs review").delete()
    assert [x["name"] for x in fake.issues(REPO)[n]["labels"]] == ["l001"]
    with pytest.raises(github.UnknownObjectException):
        repo.get_label("needs review").color


def test_issue_label_endpoints(repo, fake):
    issue = repo.create_issue("x", labels=["a"])
    issue.add_to_labels("b", "c")
    assert [x["name"] for x in fake.issues(REPO)[1]["labels"]] == ["a", "b", "c"]
    issue.remove_from_labels("b")
    assert [x["name"] for x in fake.issues(REPO)[1]["labels"]] == ["a", "c"]
    issue.set_labels("z")
    assert [x["name"] for x in fake.issues(REPO)[1]["labels"]] == ["z"]
    fake.remove_label(REPO, 1, "z")
    assert fake.issues(REPO)[1]["labels"] == []


# --------------------------------------------------------------- comments


def test_comments_and_locking(repo, fake):
    issue = repo.create_issue("x")
    before = fake.issues(REPO)[1]["updated_at"]
    issue.create_comment("first")
    assert fake.issues(REPO)[1]["updated_at"] > before  # comments bump updated_at
    for i in range(104):
        fake.add_comment(REPO, 1, f"c{i}")
    comments = list(repo.get_issue(1).get_comments())
    assert len(comments) == 105 and comments[0].body == "first"
    assert fake.issues(REPO)[1]["comments"] == 105

    fake.lock_issue(REPO, 1, "resolved")
    with pytest.raises(github.GithubException) as exc:
        issue.create_comment("blocked")
    assert exc.value.status == 403
    assert exc.value.data["message"] == "Unable to create comment because issue is locked."
    issue.edit(title="still editable")  # the owner may edit a locked issue
    assert fake.issues(REPO)[1]["title"] == "still editable"
    fake.locked_comments_forbidden = False  # a collaborator's PAT may comment
    issue.create_comment("allowed")
    issue.unlock()
    assert fake.issues(REPO)[1]["locked"] is False


# ------------------------------------------------- deleted / moved issues


def test_deleted_issue_is_410(repo, fake):
    n = fake.create_issue(REPO, "gone")
    fake.delete_issue(REPO, n)
    with pytest.raises(github.GithubException) as exc:
        repo.get_issue(n).title  # lazy: fetched on attribute access
    assert exc.value.status == 410
    assert exc.value.data["message"] == "This issue was deleted"
    assert n not in fake.issues(REPO)
    assert [i.number for i in repo.get_issues(state="all")] == []


def test_transferred_issue_redirects(repo, fake):
    n = fake.create_issue(REPO, "moving", labels=["a"])
    fake.create_issue("acme/other", "existing")
    new = fake.transfer_issue(REPO, n, "acme/other")
    assert new == 2
    issue = repo.get_issue(n)
    assert issue.title == "moving"
    assert issue.number == new
    assert issue.repository_url.endswith("/repos/acme/other")
    codes = [r.status for r in fake.requests("GET", r"/issues/\d+$")]
    assert codes == [301, 200]
    assert n not in fake.issues(REPO) and fake.issues("acme/other")[new]["title"] == "moving"


# -------------------------------------------------------------- permissions


def test_bad_and_missing_token(fake):
    with pytest.raises(github.BadCredentialsException) as exc:
        client(fake, token="wrong").get_repo(REPO).default_branch
    assert exc.value.status == 401
    r = requests.get(f"{fake.url}/repos/{REPO}", timeout=5)
    assert r.status_code == 401 and r.json()["message"] == "Bad credentials"
    r = requests.get(f"{fake.url}/user", headers={"Authorization": "Bearer test-token"}, timeout=5)
    assert r.status_code == 200 and r.json()["login"] == fake.login
    assert fake.counts()["charged"] == 1


def test_unknown_repo_and_route(gh, fake):
    with pytest.raises(github.UnknownObjectException):
        gh.get_repo("acme/nope").default_branch
    r = requests.get(f"{fake.url}/nope", headers={"Authorization": "token test-token"}, timeout=5)
    assert r.status_code == 404 and r.json()["message"] == "Not Found"
    assert gh.get_repo("ACME/Shop").id == gh.get_repo(REPO).id  # names are case-insensitive


def test_read_only_token(repo, fake):
    fake.read_only = True
    with pytest.raises(github.GithubException) as exc:
        repo.create_issue("x")
    assert exc.value.status == 403
    assert exc.value.data["message"] == "Resource not accessible by integration"
    assert fake.issues(REPO) == {}
    assert repo.get_issues().totalCount == 0  # reads still work


def test_archived_repo_is_read_only(repo, fake):
    n = fake.create_issue(REPO, "x")
    fake.archive(REPO)
    for action in (lambda: repo.create_issue("y"), lambda: repo.get_issue(n).edit(title="z"),
                   lambda: repo.create_milestone("m"), lambda: repo.create_label("l", "ffffff")):
        with pytest.raises(github.GithubException) as exc:
            action()
        assert exc.value.status == 403
        assert exc.value.data["message"] == "Repository was archived so is read-only."
    assert client(fake).get_repo(REPO).archived is True


# --------------------------------------------------------------- rate limit


def test_rate_limit_headers_and_exhaustion():
    with FakeGitHub(rate_limit=3) as fake:
        g = client(fake)
        h, _ = g.requester.requestJsonAndCheck("GET", f"/repos/{REPO}")
        assert (h["x-ratelimit-limit"], h["x-ratelimit-remaining"], h["x-ratelimit-used"]) == ("3", "2", "1")
        assert h["x-ratelimit-resource"] == "core"
        assert int(h["x-ratelimit-reset"]) == int(fake.clock.now().timestamp()) + 3600
        assert h["x-github-request-id"]
        assert h["content-type"].startswith("application/json")
        assert parsedate_to_datetime(h["date"]) == fake.clock.now()
        rl = g.get_rate_limit()  # not charged
        assert rl.resources.core.remaining == 2
        assert g.rate_limiting == (2, 3)
        g.get_repo(REPO).create_issue("a")
        assert fake.clock.http() == h["date"].replace("00:00:00", "00:00:01")  # mutation ticked
        g.requester.requestJsonAndCheck("GET", f"/repos/{REPO}/issues")
        with pytest.raises(github.RateLimitExceededException) as exc:
            g.requester.requestJsonAndCheck("GET", f"/repos/{REPO}/issues")
        assert exc.value.status == 403
        assert exc.value.headers["x-ratelimit-remaining"] == "0"
        assert fake.rate_remaining == 0
        fake.clock.tick(3600)  # window resets with the server clock
        g.requester.requestJsonAndCheck("GET", f"/repos/{REPO}")
        assert fake.rate_remaining == 2
        assert not fake.errors


def test_secondary_rate_limit_and_429(repo, fake):
    fake.secondary_rate_limit(r"/issues$", method="POST", retry_after=1)
    t0 = time.monotonic()
    with pytest.raises(github.RateLimitExceededException) as exc:
        repo.create_issue("x")
    assert time.monotonic() - t0 < 0.5  # retry=None: PyGithub does not honour Retry-After
    assert exc.value.status == 403
    assert exc.value.headers["retry-after"] == "1"
    assert "secondary rate limit" in exc.value.data["message"]
    assert fake.issues(REPO) == {}
    repo.create_issue("x")  # fault fired once only
    fake.too_many_requests(r"/issues$", method="GET", retry_after=0)
    with pytest.raises(github.GithubException) as exc:
        list(repo.get_issues())
    assert exc.value.status == 429 and exc.value.headers["retry-after"] == "0"
    assert len(list(repo.get_issues())) == 1


# ------------------------------------------------------------------- faults


def test_fault_drop_after_applies_but_client_errors(repo, fake):
    fake.add_fault(method="POST", path=r"/issues$", kind="drop_after")
    with pytest.raises(requests.exceptions.ConnectionError):
        repo.create_issue("created anyway")
    assert [i["title"] for i in fake.issues(REPO).values()] == ["created anyway"]
    entry = fake.requests("POST")[-1]
    assert entry.status == 0 and entry.charged is True
    assert repo.create_issue("next").number == 2  # the client recovers on a new connection


def test_fault_drop_before_does_not_apply(repo, fake):
    fake.add_fault(method="POST", path=r"/issues$", kind="drop_before", nth=2)
    repo.create_issue("one")
    with pytest.raises(requests.exceptions.ConnectionError):
        repo.create_issue("two")
    assert [i["title"] for i in fake.issues(REPO).values()] == ["one"]
    entry = fake.requests("POST")[-1]
    assert entry.status == 0 and entry.charged is False
    repo.create_issue("three")
    assert [i["number"] for i in fake.issues(REPO).values()] == [1, 2]


def test_fault_status_and_delay(repo, fake):
    fault = fake.add_fault(method="GET", path=r"/milestones", kind="status", status=502,
                           body={"message": "Server Error"}, times=2)
    for _ in range(2):
        with pytest.raises(github.GithubException) as exc:
            list(repo.get_milestones())
        assert exc.value.status == 502
    assert list(repo.get_milestones()) == []
    assert fault.fired == 2
    fake.add_fault(method=None, path=r"/labels", kind="delay", delay=0.05)
    t0 = time.monotonic()
    assert list(repo.get_labels()) == []
    assert time.monotonic() - t0 >= 0.05


# --------------------------------------------------------------------- GHE


def test_enterprise_prefix():
    with FakeGitHub(prefix="/api/v3", web_url="https://ghe.example.com") as fake:
        assert fake.url.endswith("/api/v3")
        g = client(fake)
        repo = g.get_repo(REPO)
        issue = repo.create_issue("on GHE", labels=["x"])
        assert issue.html_url == "https://ghe.example.com/acme/shop/issues/1"
        assert issue.url == f"{fake.url}/repos/{REPO}/issues/1"
        assert [i.title for i in repo.get_issues()] == ["on GHE"]
        assert all(r.path.startswith("/api/v3/") for r in fake.log)
        r = requests.get(f"{fake.root_url}/repos/{REPO}", headers={"Authorization": "token test-token"}, timeout=5)
        assert r.status_code == 404
        assert not fake.errors


def test_direct_state_api_ticks_clock(fake):
    t0 = fake.clock.now()
    n = fake.create_issue(REPO, "x", body="b", labels=["l"])
    assert fake.clock.now() > t0
    created = fake.issues(REPO)[n]
    fake.edit_issue(REPO, n, title="y")
    edited = fake.issues(REPO)[n]
    assert edited["updated_at"] > created["updated_at"]
    assert edited["created_at"] == created["created_at"]
    fake.reopen_issue(REPO, n)
    fake.close_issue(REPO, n, reason="not_planned")
    assert fake.issues(REPO)[n]["state_reason"] == "not_planned"
    fake.delete_label(REPO, "l")
    assert fake.labels(REPO) == {} and fake.issues(REPO)[n]["labels"] == []
    assert fake.comments(REPO, n) == []


def test_keep_alive_reuses_one_connection(repo, fake):
    for i in range(10):
        repo.create_issue(f"i{i}")
    assert len(list(repo.get_issues())) == 10
    assert fake.connections == 1
    assert fake.counts() == {"total": 11, "charged": 11, "writes": 10, "not_modified": 0}
