"""Guide metadata on GitHub (issue 14): assignees, labels, milestone due days and issue
dependencies, in the fake GitHub (its quirks, proven over real HTTP with PyGithub) and through the
GitHub adapter, request by request. Every fake's REST traffic is checked against GitHub's OpenAPI
description when a test ends (``serve``)."""

from __future__ import annotations

import json

import github
import pytest

from guidesync.errors import Forbidden, Invalid, NotFound
from guidesync.trackers.github import GitHubTracker
from tests.conftest import TOKEN
from tests.fakes.github import FakeGitHub
from tests.openapi_github import load_spec, validate_log
from tests.test_tracker_github import serve
from tests.tracker_contract import LABEL, policy

REPO = "acme/shop"
GHES = {"prefix": "/api/v3", "ghes_version": "3.17.0"}


@pytest.fixture
def server(request):
    kw = getattr(request, "param", {})
    yield from serve(repos=(REPO, "acme/other"), **kw)


@pytest.fixture
def unchecked():
    """A fake whose traffic is not checked against the description: for requests that break it
    on purpose, to see what the fake answers."""
    with FakeGitHub(token=TOKEN, repos=(REPO,)) as fake:
        yield fake
    assert not fake.errors, fake.errors[0]


def gh(server: FakeGitHub, **kw) -> GitHubTracker:
    return GitHubTracker(REPO, TOKEN, url=server.url, policy=policy(), timeout=5, web_url=server.web_root, **kw)


def call(server: FakeGitHub, verb: str, path: str, body=None, **params):
    """One request straight to the fake through PyGithub: (status, answer)."""
    client = github.Github(auth=github.Auth.Token(TOKEN), base_url=server.url, retry=None,
                           seconds_between_requests=0, seconds_between_writes=0, lazy=True)
    status, _, output = client.requester.requestJson(verb, f"/repos/{REPO}{path}", parameters=params or None,
                                                     input=body)
    return status, (json.loads(output) if output else None)


def lines(log) -> list[str]:
    return [f"{e.method} {e.path}" for e in log]


# ================================================================== the fake: assignees


def test_fake_tells_who_can_be_assigned(server):
    server.add_collaborator(REPO, "Alice")
    assert call(server, "GET", "/assignees/alice")[0] == 204  # logins are case-insensitive
    assert call(server, "GET", "/assignees/ALICE")[0] == 204
    status, answer = call(server, "GET", "/assignees/mallory")
    assert (status, answer["message"]) == (404, "Not Found")
    assert call(server, "GET", "/assignees/acme")[0] == 404  # an organisation owner cannot be assigned
    server.remove_collaborator(REPO, "alice")
    assert call(server, "GET", "/assignees/alice")[0] == 404
    status, listed = call(server, "GET", "/assignees")
    assert (status, listed) == (200, [])


def test_fake_a_personal_repositorys_owner_can_be_assigned(server):
    server.add_repo("carol/notes", owner_type="User")
    client = github.Github(auth=github.Auth.Token(TOKEN), base_url=server.url, retry=None, lazy=True)
    status, _, _ = client.requester.requestJson("GET", "/repos/carol/notes/assignees/carol")
    assert status == 204


def test_fake_assignees_replace_the_set_and_answers_carry_users(server):
    server.add_collaborator(REPO, "Alice", "bob", "carol")
    status, made = call(server, "POST", "/issues", {"title": "t", "assignees": ["alice", "BOB", "alice"]})
    assert status == 201
    assert [a["login"] for a in made["assignees"]] == ["Alice", "bob"]  # as GitHub spells them, once each
    assert made["assignee"]["login"] == "Alice" and made["assignee"]["type"] == "User"
    n = made["number"]
    _, edited = call(server, "PATCH", f"/issues/{n}", {"assignees": ["carol"]})
    assert [a["login"] for a in edited["assignees"]] == ["carol"]  # replaced, not added
    _, edited = call(server, "PATCH", f"/issues/{n}", {"title": "t2"})
    assert [a["login"] for a in edited["assignees"]] == ["carol"]  # not named: left alone
    _, cleared = call(server, "PATCH", f"/issues/{n}", {"assignees": []})
    assert (cleared["assignees"], cleared["assignee"]) == ([], None)
    server.assign(REPO, n, "bob")  # a person on the web
    assert server.assignees(REPO, n) == ["bob"]


def test_fake_refuses_a_login_that_cannot_be_assigned_by_default(server):
    server.add_collaborator(REPO, "alice")
    status, answer = call(server, "POST", "/issues", {"title": "t", "assignees": ["alice", "mallory"]})
    assert status == 422
    assert answer["errors"] == [{"value": "mallory", "resource": "Issue", "field": "assignees", "code": "invalid"}]
    assert server.issues(REPO) == {}  # nothing written
    n = server.create_issue(REPO, "t", assignees=["alice"])
    assert call(server, "PATCH", f"/issues/{n}", {"assignees": ["mallory"]})[0] == 422
    assert server.assignees(REPO, n) == ["alice"]


def test_fake_silently_drops_a_login_that_cannot_be_assigned_when_told_to(server):
    """The REST description: "Assignees are silently dropped otherwise" (a requester without
    push access); the request succeeds and the issue is written without them."""
    server.unassignable = "drop"
    server.add_collaborator(REPO, "alice")
    status, made = call(server, "POST", "/issues", {"title": "t", "assignees": ["alice", "mallory"]})
    assert status == 201
    assert [a["login"] for a in made["assignees"]] == ["alice"]
    _, edited = call(server, "PATCH", f"/issues/{made['number']}", {"assignees": ["mallory"]})
    assert edited["assignees"] == []  # the whole set is replaced by what could be kept: nobody


# ================================================================== the fake: labels


def test_fake_creates_a_missing_label_named_in_an_issue_write(server):
    status, made = call(server, "POST", "/issues", {"title": "t", "labels": ["payments"]})
    assert status == 201 and [lb["name"] for lb in made["labels"]] == ["payments"]
    call(server, "PATCH", f"/issues/{made['number']}", {"labels": ["payments", "Backend"]})
    labels = server.labels(REPO)
    assert sorted(labels) == ["Backend", "payments"]
    assert {(lb["color"], lb["description"]) for lb in labels.values()} == {("ededed", None)}


# ================================================================== the fake: milestone due days


@pytest.mark.parametrize(("sent", "kept"), [
    ("2026-12-18T00:00:00Z", "2026-12-17T08:00:00Z"),  # midnight UTC is the evening before in Pacific time
    ("2026-12-18T12:00:00Z", "2026-12-18T08:00:00Z"),  # winter: Pacific midnight is 08:00 UTC
    ("2026-12-18T00:00:00-08:00", "2026-12-18T08:00:00Z"),
    ("2020-09-24T06:59:00Z", "2020-09-23T07:00:00Z"),  # PowerShellForGitHub PR #133's two examples
    ("2020-09-24T07:01:00Z", "2020-09-24T07:00:00Z"),
    ("2026-07-01T12:00:00Z", "2026-07-01T07:00:00Z"),  # summer: 07:00 UTC
    ("2026-03-08T12:00:00Z", "2026-03-08T08:00:00Z"),  # daylight saving starts at 02:00 that day
    ("2026-03-09T12:00:00Z", "2026-03-09T07:00:00Z"),
    ("2026-11-01T12:00:00Z", "2026-11-01T07:00:00Z"),  # and ends at 02:00 that day
    ("2026-11-02T12:00:00Z", "2026-11-02T08:00:00Z"),
])
def test_fake_keeps_only_the_day_in_pacific_time(server, sent, kept):
    status, made = call(server, "POST", "/milestones", {"title": "M", "due_on": sent})
    assert (status, made["due_on"]) == (201, kept)
    assert server.milestones(REPO)[made["number"]]["due_on"] == kept


def test_fake_due_on_null_clears_on_an_edit_and_is_refused_on_a_create(server, unchecked):
    assert call(unchecked, "POST", "/milestones", {"title": "M", "due_on": None})[0] == 422
    _, made = call(server, "POST", "/milestones", {"title": "M", "due_on": "2026-12-18T12:00:00Z"})
    _, edited = call(server, "PATCH", f"/milestones/{made['number']}", {"due_on": None})
    assert edited["due_on"] is None
    _, edited = call(server, "PATCH", f"/milestones/{made['number']}", {"title": "M2"})
    assert edited["due_on"] is None


# ================================================================== the fake: dependencies


def test_fake_dependencies_add_list_remove(server):
    a, b, c = (server.create_issue(REPO, name) for name in "abc")
    other = server.create_issue("acme/other", "elsewhere")
    status, answer = call(server, "POST", f"/issues/{a}/dependencies/blocked_by", {"issue_id": server.issue_id(REPO, b)})
    assert status == 201 and answer["number"] == a
    assert answer["issue_dependencies_summary"] == {"blocked_by": 1, "total_blocked_by": 1, "blocking": 0, "total_blocking": 0}
    assert server.log[-1].status == 201
    call(server, "POST", f"/issues/{a}/dependencies/blocked_by", {"issue_id": server.issue_id("acme/other", other)})
    _, listed = call(server, "GET", f"/issues/{a}/dependencies/blocked_by")
    assert [i["number"] for i in listed] == [b, other]
    _, blocking = call(server, "GET", f"/issues/{b}/dependencies/blocking")
    assert [i["number"] for i in blocking] == [a]
    server.close_issue(REPO, b)
    summary = call(server, "GET", f"/issues/{a}")[1]["issue_dependencies_summary"]
    assert (summary["blocked_by"], summary["total_blocked_by"]) == (1, 2)  # a closed blocker no longer blocks
    status, removed = call(server, "DELETE", f"/issues/{a}/dependencies/blocked_by/{server.issue_id(REPO, b)}")
    assert (status, removed["number"]) == (200, a)
    assert server.blocked_by(REPO, a) == [("acme/other", other)]
    assert call(server, "DELETE", f"/issues/{a}/dependencies/blocked_by/{server.issue_id(REPO, b)}")[0] == 404
    assert call(server, "DELETE", f"/issues/{a}/dependencies/blocked_by/{server.issue_id(REPO, c)}")[0] == 404


def test_fake_dependency_refusals(server, unchecked):
    a, b = (server.create_issue(REPO, name) for name in "ab")
    pr = server.create_pull_request(REPO, "a pull request")
    path = f"/issues/{a}/dependencies/blocked_by"
    call(server, "POST", path, {"issue_id": server.issue_id(REPO, b)})
    for body in ({"issue_id": server.issue_id(REPO, b)},  # there already
                 {"issue_id": server.issue_id(REPO, a)},  # itself
                 {"issue_id": server.issue_id(REPO, pr)}):  # a pull request cannot block
        assert call(server, "POST", path, body)[0] == 422, body
    assert "already blocked" in answer_of(server, path, {"issue_id": server.issue_id(REPO, b)})
    x, y = (unchecked.create_issue(REPO, name) for name in "xy")
    for body in ({"issue_id": str(unchecked.issue_id(REPO, y))}, {}):  # a string, not an integer; none
        status, answer = call(unchecked, "POST", f"/issues/{x}/dependencies/blocked_by", body)
        assert status == 422 and answer["message"].startswith("Invalid request."), body
    assert call(server, "POST", path, {"issue_id": b})[0] == 404  # the issue NUMBER, not its id
    assert call(server, "POST", "/issues/999/dependencies/blocked_by", {"issue_id": server.issue_id(REPO, b)})[0] == 404
    server.dependency_limit = 1
    c = server.create_issue(REPO, "c")
    assert call(server, "POST", path, {"issue_id": server.issue_id(REPO, c)})[0] == 422
    assert server.blocked_by(REPO, a) == [(REPO, b)]
    with pytest.raises(ValueError, match="itself"):
        server.add_dependency(REPO, a, a)


def answer_of(server, path, body) -> str:
    return call(server, "POST", path, body)[1]["errors"][0]["message"]


@pytest.mark.parametrize("server", [GHES, {"prefix": "/api/v3", "ghes_version": "3.15.2"}], indirect=True)
def test_fake_ghes_has_no_dependency_routes(server):
    a, b = (server.create_issue(REPO, name) for name in "ab")
    assert call(server, "GET", f"/issues/{a}/dependencies/blocked_by")[0] == 404
    assert call(server, "POST", f"/issues/{a}/dependencies/blocked_by", {"issue_id": server.issue_id(REPO, b)})[0] == 404
    assert call(server, "DELETE", f"/issues/{a}/dependencies/blocked_by/{server.issue_id(REPO, b)}")[0] == 404
    assert "issue_dependencies_summary" not in call(server, "GET", f"/issues/{a}")[1]


def test_the_openapi_check_covers_the_new_routes(server):
    """The fake's answers fit GitHub's description (``serve`` checks the whole log); a wrong body
    on these routes is caught by the check itself."""
    spec = load_spec()
    path = f"/repos/{REPO}/issues/1/dependencies/blocked_by"
    assert spec.validate("POST", path, {}, {"issue_id": 5}) == []
    assert spec.validate("POST", path, {}, {"issue_id": "5"})  # a string
    assert spec.validate("DELETE", path + "/abc", {}, None)  # the id is an integer
    assert spec.validate("GET", f"/repos/{REPO}/assignees/alice", {}, None) == []
    assert spec.validate("PATCH", f"/repos/{REPO}/milestones/1", {}, {"due_on": None}) == []  # clears: allowed
    assert spec.validate("POST", f"/repos/{REPO}/milestones", {}, {"title": "M", "due_on": None})  # not on a create
    server.add_collaborator(REPO, "alice")
    a, b = (server.create_issue(REPO, name, assignees=["alice"]) for name in "ab")
    call(server, "POST", f"/issues/{a}/dependencies/blocked_by", {"issue_id": server.issue_id(REPO, b)})
    call(server, "GET", "/assignees/alice")
    call(server, "GET", "/assignees/nobody")
    call(server, "POST", "/issues", {"title": "x", "assignees": ["nobody"]})
    rest = [e for e in server.log if e.path != server.graphql_path]
    assert [e.status for e in rest] == [201, 204, 404, 422]
    assert validate_log(rest, prefix=server.prefix) == []


# ================================================================== the adapter: assignees


def test_assignable_is_asked_once_per_login_and_run(server):
    server.add_collaborator(REPO, "alice")
    t = gh(server)
    assert t.assignable("alice") is True
    assert t.assignable("Alice") is True  # the same login
    assert t.assignable("mallory") is False
    assert t.assignable("mallory") is False
    assert lines(server.log) == [f"GET /repos/{REPO}/assignees/alice", f"GET /repos/{REPO}/assignees/mallory"]
    assert t.policy.stats.sent == 2
    assert t.assignable(" ") is False and t.policy.stats.sent == 2  # no login: no request (it would list them all)
    assert gh(server).assignable("alice") is True  # another run asks again
    assert len(server.log) == 3


def test_assignable_raises_other_answers_and_remembers_nothing(server):
    server.add_fault(method="GET", path=r"/assignees/", kind="status", status=403,
                     body={"message": "Resource not accessible by integration", "documentation_url": "x"})
    t = gh(server)
    with pytest.raises(Forbidden):
        t.assignable("alice")
    server.add_collaborator(REPO, "alice")
    assert t.assignable("alice") is True
    assert len(server.log) == 2


def test_assignees_are_sent_parsed_and_replaced(server):
    server.add_collaborator(REPO, "Alice", "bob")
    t = gh(server)
    made = t.create_issue("Retry failed charges", "body", None, [LABEL], assignees=("alice", "bob"), due="2026-12-18")
    assert made.assignees == ("Alice", "bob")
    assert made.due is None  # GitHub issues have no due date
    (create,) = server.log
    assert create.body == {"title": "Retry failed charges", "body": "body", "labels": [LABEL], "assignees": ["alice", "bob"]}
    server.reset_log()
    assert t.update_issue(made.number, assignees=("bob",), due="2026-12-20").assignees == ("bob",)
    assert t.update_issue(made.number, title="Retry").assignees == ("bob",)
    assert t.update_issue(made.number, assignees=()).assignees == ()
    assert [e.body for e in server.log] == [{"assignees": ["bob"]}, {"title": "Retry"}, {"assignees": []}]
    plain = t.create_issue("No one", "", None, [LABEL])
    assert "assignees" not in server.log[-1].body and plain.assignees == ()


def test_listings_and_reads_carry_the_assignees(server):
    server.add_collaborator(REPO, "alice")
    n = server.create_issue(REPO, "by hand", labels=[LABEL], assignees=["alice"])
    t = gh(server)
    (listed,) = t.list_issues(LABEL, None, {}).items
    assert listed.assignees == ("alice",)
    assert t.get_issue(n).assignees == ("alice",)


def test_a_login_refused_meanwhile_is_left_off_and_sent_once_more(server):
    """assignable said yes; by the create the person had left: GitHub refuses the whole create
    (nothing written), so it is sent once more without that login."""
    server.add_collaborator(REPO, "alice", "bob")
    t = gh(server)
    assert t.assignable("alice") and t.assignable("bob")
    server.remove_collaborator(REPO, "bob")
    server.reset_log()
    made = t.create_issue("t", "", None, [LABEL], assignees=("alice", "bob"))
    assert made.assignees == ("alice",)
    assert [e.body.get("assignees") for e in server.log] == [["alice", "bob"], ["alice"]]
    assert [e.status for e in server.log] == [422, 201]
    assert len(server.issues(REPO)) == 1
    assert t.assignable("bob") is False and len(server.log) == 2  # learned from the refusal
    server.reset_log()
    assert t.update_issue(made.number, assignees=("alice", "bob")).assignees == ("alice",)
    assert [e.status for e in server.log] == [422, 200]


def test_a_silently_dropped_login_shows_in_the_answer(server):
    server.unassignable = "drop"
    server.add_collaborator(REPO, "alice")
    made = gh(server).create_issue("t", "", None, [LABEL], assignees=("alice", "mallory"))
    assert made.assignees == ("alice",)
    assert len(server.log) == 1


def test_other_refusals_are_not_retried(server):
    t = gh(server)
    n = t.create_issue("t", "", None, [LABEL]).number
    server.reset_log()
    with pytest.raises(Invalid):
        t.update_issue(n, milestone=42, assignees=())  # the milestone is refused, not the assignees
    assert len(server.log) == 1


# ================================================================== the adapter: milestone due days


@pytest.mark.parametrize(("day", "answered"), [
    ("2026-12-18", "2026-12-18T08:00:00Z"),  # winter
    ("2026-07-01", "2026-07-01T07:00:00Z"),  # summer
    ("2026-03-08", "2026-03-08T08:00:00Z"),  # daylight saving starts that day
    ("2026-03-09", "2026-03-09T07:00:00Z"),
    ("2026-11-01", "2026-11-01T07:00:00Z"),  # and ends that day
    ("2026-11-02", "2026-11-02T08:00:00Z"),
    ("2026-01-01", "2026-01-01T08:00:00Z"),
    ("2026-12-31", "2026-12-31T08:00:00Z"),
])
def test_a_milestone_due_day_lands_on_that_day_in_pacific_time(server, day, answered):
    t = gh(server)
    made = t.create_milestone("Milestone 2: Query API", "d", due=day, start="2026-06-01")
    assert made.due == day and made.start is None
    (create,) = server.log
    assert create.body == {"title": "Milestone 2: Query API", "description": "d", "due_on": f"{day}T12:00:00Z"}
    assert server.milestones(REPO)[made.number]["due_on"] == answered
    (listed,) = t.list_milestones({}).items
    assert listed.due == day


def test_a_milestone_due_day_changes_and_clears(server):
    t = gh(server)
    made = t.create_milestone("M", "", due=None)
    assert made.due is None and "due_on" not in server.log[-1].body  # a create refuses null
    assert t.update_milestone(made.number, due="2026-12-24").due == "2026-12-24"
    assert t.update_milestone(made.number, title="M2").due == "2026-12-24"
    assert t.update_milestone(made.number, due=None).due is None
    assert t.update_milestone(made.number, start="2026-12-01").due is None
    assert [e.body for e in server.log[1:]] == [{"due_on": "2026-12-24T12:00:00Z"}, {"title": "M2"}, {"due_on": None}, {}]
    with pytest.raises(Invalid, match="not a day"):
        t.update_milestone(made.number, due="24/12/2026")
    assert len(server.log) == 5  # a bad day is not sent


def test_a_due_date_set_by_hand_reads_as_its_pacific_day(server):
    server.create_milestone(REPO, "late evening", due_on="2026-12-19T06:30:00Z")  # Dec 18, 22:30 in Pacific time
    (listed,) = gh(server).list_milestones({}).items
    assert listed.due == "2026-12-18"


# ================================================================== the adapter: dependencies


def test_block_is_one_post_naming_the_blockers_id(server):
    t = gh(server)
    a, b = (t.create_issue(name, "", None, [LABEL]).number for name in "ab")
    server.reset_log()
    assert t.block(a, b) == "native"
    (post,) = server.log
    assert (post.method, post.path, post.body) == ("POST", f"/repos/{REPO}/issues/{a}/dependencies/blocked_by",
                                                   {"issue_id": server.issue_id(REPO, b)})
    assert t.capabilities == {"dependencies": "native"}
    assert server.blocked_by(REPO, a) == [(REPO, b)]


def test_block_again_is_checked_not_failed(server):
    t = gh(server, capabilities={"dependencies": "native"})
    a, b = (t.create_issue(name, "", None, [LABEL]).number for name in "ab")
    t.block(a, b)
    server.reset_log()
    assert t.block(a, b) == "native"
    assert lines(server.log) == [f"POST /repos/{REPO}/issues/{a}/dependencies/blocked_by",
                                 f"GET /repos/{REPO}/issues/{a}/dependencies/blocked_by"]
    assert server.log[0].status == 422
    assert server.blocked_by(REPO, a) == [(REPO, b)]


def test_a_real_refusal_is_raised(server):
    t = gh(server)
    a = t.create_issue("a", "", None, [LABEL]).number
    server.reset_log()
    with pytest.raises(Invalid, match="itself"):
        t.block(a, a)
    assert [e.status for e in server.log] == [422, 200]  # refused; not there: the refusal stands


def test_a_blocker_unknown_to_this_run_is_read_once(server):
    a, b = (server.create_issue(REPO, name) for name in "ab")
    t = gh(server)
    t.block(a, b)
    assert lines(server.log) == [f"GET /repos/{REPO}/issues/{b}", f"POST /repos/{REPO}/issues/{a}/dependencies/blocked_by"]


def test_a_lost_answer_is_sent_again_and_found_done(server):
    t = gh(server)
    a, b = (t.create_issue(name, "", None, [LABEL]).number for name in "ab")
    server.reset_log()
    server.add_fault(method="POST", path=r"/dependencies/blocked_by$", kind="drop_after")
    assert t.block(a, b) == "native"
    assert [e.status for e in server.log] == [0, 422, 200]  # dropped (done), refused as there already, checked
    assert server.blocked_by(REPO, a) == [(REPO, b)]


def test_block_on_an_issue_that_does_not_exist_is_not_a_server_without_dependencies(server):
    t = gh(server)
    b = t.create_issue("b", "", None, [LABEL]).number
    server.reset_log()
    with pytest.raises(NotFound):
        t.block(999, b)
    assert lines(server.log) == [f"POST /repos/{REPO}/issues/999/dependencies/blocked_by",
                                 f"GET /repos/{REPO}/issues/{b}/dependencies/blocked_by"]
    assert "dependencies" not in t.capabilities


@pytest.mark.parametrize("server", [GHES], indirect=True)
def test_a_server_without_dependencies_is_learned_in_two_requests_then_none(server):
    t = gh(server)
    a, b, c = (t.create_issue(name, "", None, [LABEL]).number for name in "abc")
    server.reset_log()
    assert t.block(a, b) == "body"
    assert lines(server.log) == [f"POST /api/v3/repos/{REPO}/issues/{a}/dependencies/blocked_by",
                                 f"GET /api/v3/repos/{REPO}/issues/{b}/dependencies/blocked_by"]
    assert t.capabilities == {"dependencies": "body"}
    server.reset_log()
    assert t.block(a, c) == "body"
    t.unblock(a, b)
    assert server.log == []
    later = gh(server, capabilities=dict(t.capabilities))  # the base hands it back next run
    assert later.block(b, c) == "body"
    later.unblock(b, c)
    assert server.log == []


def test_a_capability_handed_back_costs_no_probe(server):
    t = gh(server, capabilities={"dependencies": "native"})
    b = t.create_issue("b", "", None, [LABEL]).number
    server.reset_log()
    with pytest.raises(NotFound):
        t.block(999, b)  # known to have them: a 404 is the issue's
    assert len(server.log) == 1
    assert gh(server, capabilities={"dependencies": "carrier pigeon"}).capabilities == {}


def test_unblock_is_one_delete_and_idempotent(server):
    t = gh(server)
    a, b = (t.create_issue(name, "", None, [LABEL]).number for name in "ab")
    t.block(a, b)
    server.reset_log()
    t.unblock(a, b)
    (delete,) = server.log
    assert (delete.method, delete.path) == ("DELETE", f"/repos/{REPO}/issues/{a}/dependencies/blocked_by/{server.issue_id(REPO, b)}")
    assert server.blocked_by(REPO, a) == []
    t.unblock(a, b)  # no longer there: fine
    assert [e.status for e in server.log] == [200, 404]


def test_unblock_from_a_deleted_blocker_is_fine(server):
    a, b = (server.create_issue(REPO, name) for name in "ab")
    server.add_dependency(REPO, a, b)
    server.delete_issue(REPO, b)
    t = gh(server)
    t.unblock(a, b)  # its id cannot be read (410): so its dependency is gone too
    assert lines(server.log) == [f"GET /repos/{REPO}/issues/{b}"]
    assert server.blocked_by(REPO, a) == []
