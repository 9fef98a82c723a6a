"""The guide's fields on GitLab (issue 14): users looked up once, assignees and what the tier keeps of
them, due dates, milestone dates, blocking links and their fall-back, request by request; first
the fake's own GitLab quirks, through python-gitlab, then the adapter over it."""

from __future__ import annotations

import gitlab
import pytest
from gitlab import exceptions as glexc

from guidesync.errors import Forbidden, Invalid
from guidesync.trackers.gitlab import GitLabTracker
from tests.conftest import TOKEN
from tests.fakes.gitlab import FakeGitLab
from tests.tracker_contract import policy

REPO = "acme/shop"
API = "/api/v4"
ISSUES = f"{API}/projects/acme%2Fshop/issues"
MILESTONES = f"{API}/projects/acme%2Fshop/milestones"
LICENSE = "Blocked issues not available for current license"


def lines(log) -> list[str]:
    return [f"{e.method} {e.path}" for e in log]


@pytest.fixture
def server():
    server = FakeGitLab(token=TOKEN, projects=(REPO, "acme/other")).start()
    server.add_user("alice")
    server.add_user("bob")
    server.add_user("carol")
    server.add_user("outsider", projects=())  # not a member of the (private) project
    server.add_user("gone", state="blocked")
    yield server
    server.stop()
    assert not server.errors, server.errors[0]


@pytest.fixture
def project(server):
    client = gitlab.Gitlab(server.url, private_token=TOKEN, per_page=100, retry_transient_errors=False)
    return client.projects.get(REPO)


def uid(server: FakeGitLab, name: str) -> int:
    return server._users[name]["id"]


def names(issue) -> list[str]:
    people = issue["assignees"] if isinstance(issue, dict) else issue.assignees
    return [a["username"] for a in people]


def tracker(server: FakeGitLab, **kw) -> GitLabTracker:
    return GitLabTracker(REPO, TOKEN, url=server.url, policy=policy(), timeout=5, **kw)


def fresh(server: FakeGitLab, **kw) -> GitLabTracker:
    """A tracker whose web address is known (one request), and an empty log."""
    t = tracker(server, **kw)
    t.learn_web()
    server.reset_log()
    return t


def sent(t: GitLabTracker) -> int:
    """The requests ``t`` counted since :func:`fresh`."""
    return t.policy.stats.sent - 1


# ====================================================================== the fake itself


def test_fake_users_are_found_whatever_the_case_zero_or_one(server, project):
    gl = project.manager.gitlab
    server.add_user("Dora")
    for asked in ("dora", "DORA", "Dora"):
        (row,) = gl.http_get("/users", query_data={"username": asked})
        assert row["username"] == "Dora" and row["id"] == uid(server, "dora") and row["state"] == "active"
    assert gl.http_get("/users", query_data={"username": "nobody"}) == []
    assert gl.http_get("/users", query_data={"username": "dor"}) == []  # exact, not a search
    assert gl.http_get("/users", query_data={"username": "gone"}) == []  # blocked: not listed to a non-admin


def test_fake_free_keeps_only_the_first_assignee(server, project):
    ids = [uid(server, "bob"), uid(server, "alice")]
    issue = project.issues.create({"title": "t", "assignee_ids": ids})
    assert names(issue) == ["bob"] and issue.assignee["username"] == "bob"
    server.tier = "premium"
    issue = project.issues.create({"title": "t", "assignee_ids": ids})
    assert names(issue) == ["bob", "alice"] and issue.assignee["username"] == "bob"
    server.edition = "ce"  # the Community Edition has one assignee whatever the tier
    assert names(project.issues.create({"title": "t", "assignee_ids": ids})) == ["bob"]


def test_fake_free_takes_the_first_before_dropping_who_may_not_read(server, project):
    outsider, alice, bob = uid(server, "outsider"), uid(server, "alice"), uid(server, "bob")
    assert names(project.issues.create({"title": "t", "assignee_ids": [outsider, alice]})) == []
    issue = project.issues.create({"title": "t", "assignee_ids": [alice]})
    # nothing left after the filter: the assignees stay as they are
    answer = project.manager.gitlab.http_put(f"/projects/{project.id}/issues/{issue.iid}",
                                             post_data={"assignee_ids": [outsider, bob]})
    assert names(answer) == ["alice"]
    server.tier = "premium"  # the filter drops the outsider, and the blocked user, silently
    blocked = uid(server, "gone")
    assert names(project.issues.create({"title": "t", "assignee_ids": [outsider, alice, blocked, bob]})) == ["alice", "bob"]
    server.set_visibility(REPO, "public")  # anybody may read a public project's issues
    assert names(project.issues.create({"title": "t", "assignee_ids": [outsider]})) == ["outsider"]


def test_fake_assignee_id_wins_and_empty_or_zero_clears(server, project):
    gl, path = project.manager.gitlab, f"/projects/{project.id}/issues"
    alice, bob = uid(server, "alice"), uid(server, "bob")
    issue = gl.http_post(path, post_data={"title": "t", "assignee_id": alice, "assignee_ids": [bob]})
    assert names(issue) == ["alice"]
    assert names(gl.http_put(f"{path}/{issue['iid']}", post_data={"assignee_ids": f"{bob}"})) == ["bob"]  # comma-separated
    assert names(gl.http_put(f"{path}/{issue['iid']}", post_data={"assignee_id": 0})) == []
    gl.http_put(f"{path}/{issue['iid']}", post_data={"assignee_ids": [bob]})
    assert names(gl.http_put(f"{path}/{issue['iid']}", post_data={"assignee_ids": []})) == []
    with pytest.raises(glexc.GitlabHttpError) as exc:
        gl.http_put(f"{path}/{issue['iid']}", post_data={"assignee_ids": ["alice"]})
    assert exc.value.response_code == 400 and "assignee_ids is invalid" in str(exc.value)
    with pytest.raises(glexc.GitlabHttpError) as exc:  # at least one parameter
        gl.http_put(f"{path}/{issue['iid']}", post_data={"nothing": 1})
    assert exc.value.response_code == 400
    notes = [n["body"] for n in server.notes(REPO, issue["iid"], include_system=True)]
    assert "assigned to @bob and unassigned @alice" in notes and "unassigned @bob" in notes


def test_fake_issue_due_dates_as_rails_casts_them(server, project):
    gl = project.manager.gitlab
    issue = project.issues.create({"title": "t", "due_date": "2026-12-18"})
    assert issue.due_date == "2026-12-18"
    path = f"/projects/{project.id}/issues/{issue.iid}"
    for sent, kept in (("2026-12-20T23:30:00Z", "2026-12-20"), ("", None), ("2027-01-02", "2027-01-02"),
                       (None, None), ("2026-02-30", None), ("soon", None)):
        assert gl.http_put(path, post_data={"due_date": sent})["due_date"] == kept, sent
    server.edit_issue(REPO, issue.iid, due_date="2026-12-24")
    assert [i.due_date for i in project.issues.list()] == ["2026-12-24"]
    assert "removed due date" in [n["body"] for n in server.notes(REPO, issue.iid, include_system=True)]


def test_fake_milestone_dates_and_their_rule(server, project):
    gl = project.manager.gitlab
    m = project.milestones.create({"title": "M2", "start_date": "2026-12-01", "due_date": "2026-12-24"})
    assert (m.start_date, m.due_date, m.expired) == ("2026-12-01", "2026-12-24", False)
    for start, due in (("2026-12-24", "2026-12-24"), ("2026-12-25", "2026-12-24")):  # due must come after start
        with pytest.raises(glexc.GitlabCreateError) as exc:
            project.milestones.create({"title": f"bad {start}", "start_date": start, "due_date": due})
        assert exc.value.response_code == 400
        assert str(exc.value.error_message) == 'Failed to create milestone {:due_date=>["must be greater than start date"]}'
    path = f"/projects/{project.id}/milestones/{m.id}"
    with pytest.raises(glexc.GitlabHttpError) as exc:  # against the start it already has
        gl.http_put(path, post_data={"due_date": "2026-11-30"})
    assert exc.value.error_message.startswith("Failed to update milestone {:due_date=>")
    assert gl.http_put(path, post_data={"start_date": ""})["start_date"] is None  # blank clears
    assert gl.http_put(path, post_data={"due_date": "2026-11-30"})["due_date"] == "2026-11-30"
    assert gl.http_put(path, post_data={"due_date": None})["due_date"] is None
    assert gl.http_put(path, post_data={"due_date": "2025-12-31"})["expired"] is True  # before the fake's today


def test_fake_blocking_links_need_premium_before_anything_else(server, project):
    a, b, c = (project.issues.create({"title": t}) for t in "abc")
    link = {"target_project_id": project.id, "target_issue_iid": b.iid}
    with pytest.raises(glexc.GitlabCreateError) as exc:
        a.links.create({**link, "link_type": "blocks"})
    assert exc.value.response_code == 403 and exc.value.error_message == LICENSE
    a.links.create({**link, "link_type": "relates_to"})
    with pytest.raises(glexc.GitlabCreateError) as exc:  # the licence is checked before the pair
        a.links.create({**link, "link_type": "is_blocked_by"})
    assert exc.value.response_code == 403
    with pytest.raises(glexc.GitlabCreateError) as exc:  # linked already: either way, any type
        b.links.create({"target_project_id": project.id, "target_issue_iid": a.iid})
    assert exc.value.response_code == 409 and exc.value.error_message == "Issue(s) already assigned"
    server.tier = "premium"
    with pytest.raises(glexc.GitlabCreateError) as exc:
        a.links.create({**link, "link_type": "blocks"})
    assert exc.value.response_code == 409
    # is_blocked_by is stored as a blocks link from the other issue
    answer = project.manager.gitlab.http_post(f"/projects/{project.id}/issues/{c.iid}/links",
                                              post_data={**link, "link_type": "is_blocked_by"})
    assert (answer["source_issue"]["iid"], answer["target_issue"]["iid"], answer["link_type"]) == (b.iid, c.iid, "blocks")
    assert [(r.iid, r.link_type) for r in c.links.list()] == [(b.iid, "is_blocked_by")]
    assert [(r.iid, r.link_type) for r in b.links.list()] == [(a.iid, "relates_to"), (c.iid, "blocks")]
    row = c.links.list()[0]
    b.links.delete(row.issue_link_id)  # from either end
    assert c.links.list() == []
    server.edition = "ce"  # the Community Edition knows relates_to only, whatever the tier
    with pytest.raises(glexc.GitlabCreateError) as exc:
        c.links.create({**link, "link_type": "blocks"})
    assert exc.value.response_code == 400 and "link_type does not have a valid value" in str(exc.value)


# ====================================================================== the adapter: users


def test_a_login_is_looked_up_once_a_run_whatever_its_case(server):
    t = fresh(server)
    assert t.assignable("alice") and t.assignable("Alice") and t.assignable("ALICE")
    assert not t.assignable("nobody") and not t.assignable("nobody")
    assert not t.assignable("gone")  # blocked: GitLab does not list it
    assert not t.assignable("  ")  # no request for no name
    assert lines(server.log) == [f"GET {API}/users"] * 3
    assert [e.query for e in server.log] == [{"username": [n]} for n in ("alice", "nobody", "gone")]
    assert server.counts()["total"] == sent(t) == 3
    assert tracker(server).assignable("alice")  # the next run asks again
    assert len(server.log) == 4


def test_assignees_an_answer_shows_cost_no_look_up(server):
    n = server.create_issue(REPO, "Task", labels=["guidesync"])
    server.edit_issue(REPO, n, assignees=["carol"])
    t = fresh(server)
    (issue,) = t.list_issues("guidesync", None, {}).items
    assert issue.assignees == ("carol",)
    assert t.assignable("carol")
    t.update_issue(n, assignees=("carol", "alice"))
    assert lines(server.log) == [f"GET {ISSUES}", f"GET {API}/users", f"PUT {ISSUES}/{n}"]  # only alice looked up
    assert server.log[1].query == {"username": ["alice"]}
    assert server.log[2].body == {"assignee_ids": [uid(server, "carol"), uid(server, "alice")]}
    assert t.capabilities == {"assignees": 1}  # Free kept the first


# ====================================================================== the adapter: assignees


def test_free_keeps_one_learned_from_the_first_answer_then_one_is_sent(server):
    t = fresh(server)
    first = t.create_issue("One", "body", None, ["guidesync"], assignees=("alice", "bob"))
    assert first.assignees == ("alice",)
    assert t.capabilities == {"assignees": 1}
    assert lines(server.log) == [f"GET {API}/users", f"GET {API}/users", f"POST {ISSUES}"]
    assert server.log[2].body["assignee_ids"] == [uid(server, "alice"), uid(server, "bob")]
    server.reset_log()
    second = t.create_issue("Two", "body", None, ["guidesync"], assignees=("bob", "alice"))
    assert lines(server.log) == [f"POST {ISSUES}"] and server.log[0].body["assignee_ids"] == [uid(server, "bob")]
    assert second.assignees == ("bob",)
    server.reset_log()
    t.update_issue(first.number, assignees=("bob", "alice"))
    assert lines(server.log) == [f"PUT {ISSUES}/{first.number}"]
    assert server.log[0].body == {"assignee_ids": [uid(server, "bob")]}
    assert names(server.issues(REPO)[first.number]) == ["bob"]
    assert sent(t) == 3 + 1 + 1


def test_a_limit_handed_back_is_used_from_the_start(server):
    t = fresh(server, capabilities={"assignees": 1})
    t.create_issue("One", "body", None, ["guidesync"], assignees=("alice", "bob"))
    assert [e.body.get("assignee_ids") for e in server.log if e.method == "POST"] == [[uid(server, "alice")]]
    assert len(server.log) == 3  # the two look-ups still happen: they say who exists


def test_premium_keeps_them_all_and_learns_no_limit(server):
    server.tier = "premium"
    t = fresh(server)
    issue = t.create_issue("One", "body", None, ["guidesync"], assignees=("alice", "bob", "carol"))
    assert issue.assignees == ("alice", "bob", "carol") and t.capabilities == {}
    # a user who may not read the issue is dropped by GitLab: that teaches no limit
    issue = t.update_issue(issue.number, assignees=("alice", "outsider", "bob"))
    assert issue.assignees == ("alice", "bob") and t.capabilities == {}
    assert server.log[-1].body == {"assignee_ids": [uid(server, n) for n in ("alice", "outsider", "bob")]}
    assert len(server.log) == 3 + 1 + 1 + 1


def test_an_empty_set_clears_and_only_unknown_logins_leave_them(server):
    t = fresh(server)
    issue = t.create_issue("One", "body", None, ["guidesync"], assignees=("alice",))
    server.reset_log()
    assert t.update_issue(issue.number, assignees=("nobody",)).assignees == ("alice",)
    assert lines(server.log) == [f"GET {API}/users", f"GET {ISSUES}/{issue.number}"]  # nothing to send: read
    server.reset_log()
    assert t.update_issue(issue.number, assignees=()).assignees == ()
    assert lines(server.log) == [f"PUT {ISSUES}/{issue.number}"] and server.log[0].body == {"assignee_ids": []}
    server.reset_log()
    t.create_issue("Two", "body", None, ["guidesync"])  # none asked: none sent
    assert "assignee_ids" not in server.log[0].body and "due_date" not in server.log[0].body


# ====================================================================== the adapter: dates


def test_issue_due_dates_are_sent_read_and_cleared(server):
    t = fresh(server)
    issue = t.create_issue("One", "body", None, ["guidesync"], due="2026-12-18")
    assert issue.due == "2026-12-18" and server.log[0].body["due_date"] == "2026-12-18"
    assert t.update_issue(issue.number, due="2026-12-20").due == "2026-12-20"
    assert t.update_issue(issue.number, due=None).due is None
    assert [e.body for e in server.log[1:]] == [{"due_date": "2026-12-20"}, {"due_date": ""}]
    server.edit_issue(REPO, issue.number, due_date="2027-01-05")
    assert [i.due for i in t.list_issues("guidesync", None, {}).items] == ["2027-01-05"]
    assert t.get_issue(issue.number).due == "2027-01-05"
    assert len(server.log) == 5


def test_milestone_dates_are_sent_read_and_cleared(server):
    t = fresh(server, capabilities={"milestones_since": True})  # learned: the listing is one request
    m = t.create_milestone("M2", "", start="2026-12-01", due="2026-12-24")
    assert (m.start, m.due) == ("2026-12-01", "2026-12-24")
    assert server.log[0].body == {"title": "M2", "description": "", "start_date": "2026-12-01", "due_date": "2026-12-24"}
    plain = t.create_milestone("M3", "")
    assert (plain.start, plain.due) == (None, None) and server.log[1].body == {"title": "M3", "description": ""}
    m = t.update_milestone(m.number, due="2026-12-31", start=None)
    assert (m.start, m.due) == (None, "2026-12-31") and server.log[2].body == {"due_date": "2026-12-31", "start_date": ""}
    assert t.update_milestone(m.number, due=None).due is None
    listed = {x.title: (x.start, x.due) for x in t.list_milestones({}).items}
    assert listed == {"M2": (None, None), "M3": (None, None)}
    with pytest.raises(Invalid, match="must be greater than start date"):  # GitLab's rule: due after start
        t.create_milestone("One day", "", start="2026-12-24", due="2026-12-24")
    assert len(server.log) == 6


# ====================================================================== the adapter: dependencies


def test_block_on_free_learns_related_once_and_keeps_the_link(server):
    a, b, c = (server.create_issue(REPO, t) for t in "abc")
    t = fresh(server)
    assert t.block(a, b) == "related"
    assert t.capabilities == {"dependencies": "related"}
    assert lines(server.log) == [f"POST {ISSUES}/{b}/links"] * 2
    assert [(e.body["link_type"], e.status) for e in server.log] == [("blocks", 403), ("relates_to", 201)]
    assert server.log[1].body == {"target_project_id": REPO, "target_issue_iid": a, "link_type": "relates_to"}
    assert server.links(REPO, a) == [(REPO, b, "relates_to")]
    server.reset_log()
    assert t.block(c, b) == "related" and t.block(a, b) == "related"  # the second: there already (409)
    assert [(e.body["link_type"], e.status) for e in server.log] == [("relates_to", 201), ("relates_to", 409)]
    later = fresh(server, capabilities=t.capabilities)  # the next run knows
    assert later.block(c, a) == "related" and len(server.log) == 1


def test_block_on_premium_makes_a_blocks_link_once(server):
    server.tier = "premium"
    a, b = (server.create_issue(REPO, t) for t in "ab")
    t = fresh(server)
    assert t.block(a, b) == "native" and t.capabilities == {"dependencies": "native"}
    assert lines(server.log) == [f"POST {ISSUES}/{b}/links"] and server.log[0].body["link_type"] == "blocks"
    assert server.links(REPO, a) == [(REPO, b, "is_blocked_by")] and server.links(REPO, b) == [(REPO, a, "blocks")]
    assert t.block(a, b) == "native"  # idempotent: 409 is done
    assert [e.status for e in server.log] == [201, 409]
    assert fresh(server).block(a, b) == "native"  # a 409 to a blocks link says the tier has them
    assert sent(t) == 2


def test_a_lost_answer_to_a_link_is_sent_again_and_done(server):
    server.tier = "premium"
    a, b = (server.create_issue(REPO, t) for t in "ab")
    server.add_fault(method="POST", path=r"/links$", kind="drop_after")
    t = fresh(server)
    assert t.block(a, b) == "native"  # made, its answer lost; sent again: 409, there already
    assert [e.status for e in server.log] == [0, 409] and t.policy.stats.retries == 1
    assert server.links(REPO, a) == [(REPO, b, "is_blocked_by")]


def test_unblock_deletes_the_link_block_made(server):
    server.tier = "premium"
    a, b, c = (server.create_issue(REPO, t) for t in "abc")
    t = fresh(server)
    t.block(a, b)
    t.block(a, c)
    server.reset_log()
    t.unblock(a, b)
    link = next(r["issue_link_id"] for r in server.log[0].response if r["iid"] == b)
    assert lines(server.log) == [f"GET {ISSUES}/{a}/links", f"DELETE {ISSUES}/{a}/links/{link}"]
    assert server.links(REPO, a) == [(REPO, c, "is_blocked_by")]
    server.reset_log()
    t.unblock(a, b)  # no longer there: fine, one read
    assert lines(server.log) == [f"GET {ISSUES}/{a}/links"]
    server.delete_issue(REPO, c)
    t.unblock(a, c)
    server.delete_issue(REPO, a)
    t.unblock(a, b)  # the issue itself is gone: fine
    assert len(server.log) == 3


def test_unblock_on_free_deletes_the_related_link_but_not_a_sub_issue_link(server):
    a, b = (server.create_issue(REPO, t) for t in "ab")
    t = fresh(server)
    t.block(a, b)
    server.reset_log()
    t.unblock(a, b)
    assert lines(server.log)[0] == f"GET {ISSUES}/{a}/links" and len(server.log) == 2
    assert server.links(REPO, a) == []
    # where sub-issues are relates_to links, one may be both: it stays
    links = fresh(server, hierarchy_mode="links", capabilities={"dependencies": "related"})
    links.attach(b, a)
    assert links.block(a, b) == "related"
    assert [e.status for e in server.log] == [201, 409]
    links.unblock(a, b)
    assert server.links(REPO, a) == [(REPO, b, "relates_to")] and len(server.log) == 2


def test_a_community_edition_has_no_blocking_links(server):
    server.tier, server.edition = "premium", "ce"
    a, b = (server.create_issue(REPO, t) for t in "ab")
    t = fresh(server)
    assert t.block(a, b) == "related"
    assert [(e.body["link_type"], e.status) for e in server.log] == [("blocks", 400), ("relates_to", 201)]


def test_another_refusal_is_not_taken_for_the_tier(server):
    a, b = (server.create_issue(REPO, t) for t in "ab")
    server.archive(REPO)
    t = fresh(server)
    with pytest.raises(Forbidden):
        t.block(a, b)
    assert t.capabilities == {} and len(server.log) == 1


def test_a_body_only_server_sends_nothing(server):
    a, b = (server.create_issue(REPO, t) for t in "ab")
    t = fresh(server, capabilities={"dependencies": "body"})
    assert t.block(a, b) == "body"
    t.unblock(a, b)
    assert server.log == []
