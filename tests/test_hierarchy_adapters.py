"""The hierarchy operations of each adapter, request by request: what goes over the wire in each
mode (the exact log of a first push), lost answers, refusals, fall-backs and limits. The behaviour
every tracker shares is in tests/tracker_contract.py (HierarchyContract)."""

from __future__ import annotations

import pytest

from guidesync.errors import Conflict, Forbidden, Invalid
from guidesync.trackers.github import GitHubTracker
from guidesync.trackers.gitlab import GitLabTracker
from guidesync.trackers.memory import MemoryTracker, Remote
from tests.conftest import TOKEN
from tests.fakes.github import FakeGitHub
from tests.fakes.gitlab import FakeGitLab
from tests.fakes.memory import MemoryServer
from tests.test_tracker_github import serve
from tests.tracker_contract import LABEL, policy

REPO = "acme/shop"


def lines(log) -> list[str]:
    return [f"{e.method} {e.path}" for e in log]


# ------------------------------------------------------------------------------ GitHub


@pytest.fixture
def github_server(request):
    kw = getattr(request, "param", {})
    yield from serve(repos=(REPO, "acme/other"), **kw)


def gh(server: FakeGitHub, **kw) -> GitHubTracker:
    return GitHubTracker(REPO, TOKEN, url=server.url, policy=policy(), timeout=5, web_url=server.web_root, **kw)


def first_push(tracker, n: int = 3) -> tuple[int, list[int]]:
    parent = tracker.create_issue("Parent", "", None, [LABEL]).number
    tracker.hierarchy(parent)
    kids = [tracker.create_issue(f"Child {i}", "", None, [LABEL], task=True).number for i in range(n)]
    return parent, kids


def test_github_rest_first_push_is_the_creates_and_one_post_per_child(github_server):
    t = gh(github_server)
    parent = t.create_issue("Parent", "", None, [LABEL]).number
    github_server.reset_log()
    assert t.hierarchy(parent) == "sub_issues"
    (probe,) = github_server.log
    assert (probe.method, probe.path, probe.query) == ("GET", f"/repos/{REPO}/issues/{parent}/sub_issues", {"per_page": ["1"]})
    github_server.reset_log()
    kids = [t.create_issue(f"Child {i}", "", None, [LABEL], task=True).number for i in range(3)]
    for kid in kids:
        t.attach(parent, kid)
    assert lines(github_server.log) == [f"POST /repos/{REPO}/issues"] * 3 + [f"POST /repos/{REPO}/issues/{parent}/sub_issues"] * 3
    assert [e.body for e in github_server.log[3:]] == [{"sub_issue_id": github_server.issue_id(REPO, k)} for k in kids]
    assert [n for _, n in github_server.sub_issues(REPO, parent)] == kids
    assert t.policy.stats.sent == 1 + 1 + 6  # the parent, the probe, 3 creates, 3 attaches


def test_github_rest_place_and_move_bodies(github_server):
    t = gh(github_server, hierarchy_mode="sub_issues")
    first, (a, b) = first_push(t, 2)
    second = t.create_issue("Second", "", None, [LABEL]).number
    t.attach(first, a)
    t.attach(first, b)
    github_server.reset_log()
    t.attach(first, a, after=b)  # already there: refused as a duplicate, checked, then placed
    assert lines(github_server.log) == [f"POST /repos/{REPO}/issues/{first}/sub_issues", f"GET /repos/{REPO}/issues/{a}/parent",
                                        f"PATCH /repos/{REPO}/issues/{first}/sub_issues/priority"]
    assert github_server.log[2].body == {"sub_issue_id": github_server.issue_id(REPO, a),
                                         "after_id": github_server.issue_id(REPO, b)}
    assert [n for _, n in github_server.sub_issues(REPO, first)] == [b, a]
    github_server.reset_log()
    t.attach(second, a, move_from=first)
    assert [e.body for e in github_server.log] == [{"sub_issue_id": github_server.issue_id(REPO, a), "replace_parent": True}]
    assert github_server.parent_of(REPO, a) == (REPO, second)


def test_github_ids_unknown_to_this_run_are_read_once(github_server):
    parent = github_server.create_issue(REPO, "Made by hand")
    kids = [github_server.create_issue(REPO, f"Child {i}") for i in range(2)]
    t = gh(github_server, hierarchy_mode="sub_issues")
    t.attach(parent, kids[0])
    t.attach(parent, kids[1], after=kids[0])
    assert lines(github_server.log) == [
        f"GET /repos/{REPO}/issues/{kids[0]}", f"POST /repos/{REPO}/issues/{parent}/sub_issues",
        f"GET /repos/{REPO}/issues/{kids[1]}", f"POST /repos/{REPO}/issues/{parent}/sub_issues",
        f"PATCH /repos/{REPO}/issues/{parent}/sub_issues/priority",
    ]


def test_github_listing_fills_the_ids(github_server):
    parent = github_server.create_issue(REPO, "Parent")
    child = github_server.create_issue(REPO, "Child")
    for n in (parent, child):
        github_server.edit_issue(REPO, n, labels=[LABEL])
    t = gh(github_server, hierarchy_mode="sub_issues")
    t.list_issues(LABEL, None, {})
    github_server.reset_log()
    t.attach(parent, child)
    assert lines(github_server.log) == [f"POST /repos/{REPO}/issues/{parent}/sub_issues"]


@pytest.mark.parametrize("kind", ["drop_after", "drop_before"])
def test_github_a_lost_answer_is_checked_not_guessed(github_server, kind):
    t = gh(github_server, hierarchy_mode="sub_issues")
    parent, (a,) = first_push(t, 1)
    github_server.reset_log()
    github_server.add_fault(method="POST", path=r"/sub_issues$", kind=kind)
    t.attach(parent, a)
    assert [n for _, n in github_server.sub_issues(REPO, parent)] == [a]
    expected = [f"POST /repos/{REPO}/issues/{parent}/sub_issues", f"GET /repos/{REPO}/issues/{a}/parent"]
    if kind == "drop_before":  # it did not happen: sent once more
        expected.append(f"POST /repos/{REPO}/issues/{parent}/sub_issues")
    assert lines(github_server.log) == expected


def test_github_conflict_names_both_parents_and_changes_nothing(github_server):
    t = gh(github_server, hierarchy_mode="sub_issues")
    parent, (a,) = first_push(t, 1)
    other = github_server.create_issue(REPO, "Somebody's epic")
    github_server.add_sub_issue(REPO, other, a)
    with pytest.raises(Conflict) as exc:
        t.attach(parent, a)
    assert f"#{other}" in str(exc.value) and f"#{parent}" in str(exc.value) and f"#{a}" in str(exc.value)
    assert github_server.parent_of(REPO, a) == (REPO, other)


def test_github_a_parent_in_another_repository_is_a_conflict_and_not_ours(github_server):
    t = gh(github_server, hierarchy_mode="sub_issues")
    parent, (a,) = first_push(t, 1)
    elsewhere = github_server.create_issue("acme/other", "Epic over there")
    github_server.add_sub_issue("acme/other", elsewhere, a, child_repo=REPO)
    assert t.parent_of(a) is None
    with pytest.raises(Conflict, match=f"acme/other#{elsewhere}"):
        t.attach(parent, a)


def test_github_the_limit_is_githubs_refusal(github_server):
    github_server.sub_issue_limit = 2
    t = gh(github_server, hierarchy_mode="sub_issues")
    parent, kids = first_push(t, 3)
    t.attach(parent, kids[0])
    t.attach(parent, kids[1])
    with pytest.raises(Invalid, match="more than 2 sub-issues"):
        t.attach(parent, kids[2])


@pytest.mark.parametrize("github_server", [{"prefix": "/api/v3", "ghes_version": "3.17.0"}], indirect=True)
def test_ghes_graphql_first_push(github_server):
    t = gh(github_server)
    parent = t.create_issue("Parent", "", None, [LABEL]).number
    github_server.reset_log()
    assert t.hierarchy(parent) == "graphql"
    assert lines(github_server.log) == [f"GET /api/v3/repos/{REPO}/issues/{parent}/sub_issues", "POST /api/graphql"]
    github_server.reset_log()
    kids = [t.create_issue(f"Child {i}", "", None, [LABEL], task=True).number for i in range(3)]
    for kid in kids:
        t.attach(parent, kid)
    assert lines(github_server.log) == [f"POST /api/v3/repos/{REPO}/issues"] * 3 + ["POST /api/graphql"] * 3
    assert [e.body["variables"]["input"] for e in github_server.log[3:]] == [
        {"issueId": github_server.node_id(REPO, parent), "subIssueId": github_server.node_id(REPO, k)} for k in kids]
    assert [n for _, n in github_server.sub_issues(REPO, parent)] == kids
    github_server.reset_log()
    t.attach(parent, kids[0], after=kids[2])  # refused as a duplicate, checked, placed
    assert lines(github_server.log) == ["POST /api/graphql"] * 3
    assert "reprioritizeSubIssue" in github_server.log[2].body["query"]
    assert [n for _, n in github_server.sub_issues(REPO, parent)] == [kids[1], kids[2], kids[0]]


@pytest.mark.parametrize("github_server", [{"prefix": "/api/v3", "ghes_version": "3.17.0"}], indirect=True)
def test_ghes_graphql_errors_keep_their_kind(github_server):
    t = gh(github_server, hierarchy_mode="graphql")
    parent, (a,) = first_push(t, 1)
    github_server.archive(REPO)
    with pytest.raises(Forbidden, match="GraphQL"):
        t.attach(parent, a)


@pytest.mark.parametrize("github_server", [{"prefix": "/api/v3", "ghes_version": "3.15.2"}], indirect=True)
def test_old_ghes_has_none_and_spends_nothing_after_learning(github_server):
    t = gh(github_server)
    parent, kids = first_push(t, 2)
    assert t.hierarchy_mode == "none"
    github_server.reset_log()
    t.attach(parent, kids[0])
    assert t.parent_of(kids[0]) is None
    assert github_server.log == []


@pytest.mark.parametrize("github_server", [{"prefix": "/api/v3", "ghes_version": "3.17.0"}], indirect=True)
def test_ghes_without_graphql_is_none(github_server):
    github_server.graphql_enabled = False
    t = gh(github_server)
    parent = t.create_issue("Parent", "", None, [LABEL]).number
    assert t.hierarchy(parent) == "none"


def test_an_unknown_mode_handed_back_is_learned_again(github_server):
    assert gh(github_server, hierarchy_mode="carrier pigeon").hierarchy_mode is None


# ------------------------------------------------------------------------------ GitLab


@pytest.fixture
def gitlab_server():
    server = FakeGitLab(token=TOKEN, projects=(REPO, "acme/other")).start()
    yield server
    server.stop()
    assert not server.errors, server.errors[0]


def gl(server: FakeGitLab, repository: str = REPO, **kw) -> GitLabTracker:
    return GitLabTracker(repository, TOKEN, url=server.url, policy=policy(), timeout=5, **kw)


ISSUES = "/api/v4/projects/acme%2Fshop/issues"


def test_gitlab_graphql_first_push(gitlab_server):
    t = gl(gitlab_server)
    parent = t.create_issue("Parent", "", None, [LABEL]).number
    gitlab_server.reset_log()
    assert t.hierarchy(parent) == "graphql"
    (probe,) = gitlab_server.log
    assert probe.path == "/api/graphql" and probe.body["variables"] == {"name": "WorkItemWidgetHierarchyUpdateInput"}
    gitlab_server.reset_log()
    kids = [t.create_issue(f"Child {i}", "", None, [LABEL], task=True).number for i in range(3)]
    for kid in kids:
        t.attach(parent, kid)
    assert lines(gitlab_server.log) == [f"POST {ISSUES}"] * 3 + ["POST /api/graphql"] * 3
    assert [e.body["issue_type"] for e in gitlab_server.log[:3]] == ["task"] * 3
    assert [e.body["variables"]["input"] for e in gitlab_server.log[3:]] == [
        {"id": gitlab_server.issue_gid(REPO, k), "hierarchyWidget": {"parentId": gitlab_server.issue_gid(REPO, parent)}}
        for k in kids]
    assert gitlab_server.children(REPO, parent) == kids
    gitlab_server.reset_log()
    t.attach(parent, kids[0], after=kids[2])  # one mutation: the parent and the place
    (move,) = gitlab_server.log
    assert move.body["variables"]["input"]["hierarchyWidget"] == {
        "parentId": gitlab_server.issue_gid(REPO, parent), "adjacentWorkItemId": gitlab_server.issue_gid(REPO, kids[2]),
        "relativePosition": "AFTER"}
    assert gitlab_server.children(REPO, parent) == [kids[1], kids[2], kids[0]]
    gitlab_server.reset_log()
    t.attach(parent, kids[0])  # known to be there: nothing to send
    assert gitlab_server.log == []


def test_gitlab_a_later_run_reads_ids_and_the_parent_first(gitlab_server):
    t = gl(gitlab_server, hierarchy_mode="graphql")
    parent, (a,) = first_push(t, 1)
    gitlab_server.reset_log()
    later = gl(gitlab_server, hierarchy_mode="graphql")
    later.attach(parent, a)
    assert lines(gitlab_server.log) == [f"GET {ISSUES}/{a}", "POST /api/graphql", f"GET {ISSUES}/{parent}", "POST /api/graphql"]
    assert gitlab_server.children(REPO, parent) == [a]


def test_gitlab_by_numeric_project_id_still_tells_its_own_parents(gitlab_server):
    pid = str(gitlab_server.project_id(REPO))
    t = gl(gitlab_server, pid, hierarchy_mode="graphql")
    parent, (a,) = first_push(t, 1)
    t.attach(parent, a)
    later = gl(gitlab_server, pid, hierarchy_mode="graphql")
    assert later.parent_of(a) == parent
    other = later.create_issue("Other", "", None, [LABEL]).number
    gitlab_server.set_parent(REPO, a, other)
    with pytest.raises(Conflict, match=f"#{other}"):
        gl(gitlab_server, pid, hierarchy_mode="graphql").attach(parent, a)


def test_gitlab_a_child_that_is_not_a_task_becomes_one_first(gitlab_server):
    """Only a task can be an issue's child on GitLab: an issue (a task written at the top level,
    indented later) is made a task, then nested; a task as the parent stays GitLab's refusal."""
    t = gl(gitlab_server, hierarchy_mode="graphql")
    parent = t.create_issue("Parent", "", None, [LABEL]).number
    plain = t.create_issue("An issue, not a task", "", None, [LABEL]).number
    t.attach(parent, plain)
    assert gitlab_server.issues(REPO)[plain]["issue_type"] == "task"
    assert t.parent_of(plain) == parent
    puts = [e for e in gitlab_server.log if e.method == "PUT"]
    assert [e.body for e in puts] == [{"issue_type": "task"}]
    other = t.create_issue("Another", "", None, [LABEL], task=True).number
    with pytest.raises(Invalid, match="not allowed to add this type"):
        t.attach(plain, other)  # a task cannot have children


def test_gitlab_without_tasks_falls_back_to_links_for_the_run(gitlab_server):
    gitlab_server.tasks_available = False
    t = gl(gitlab_server)
    parent, kids = first_push(t, 2)
    assert t.hierarchy_mode == "links"
    assert [gitlab_server.issues(REPO)[k]["issue_type"] for k in kids] == ["issue", "issue"]
    creates = [e for e in gitlab_server.log if e.method == "POST" and e.path == ISSUES]
    assert [e.body.get("issue_type") for e in creates] == [None, "task", None, None]  # parent, refused, retried, 2nd
    for kid in kids:
        t.attach(parent, kid)
    assert sorted(iid for _, iid, kind in gitlab_server.links(REPO, parent) if kind == "relates_to") == kids
    assert t.parent_of(kids[0]) is None


def test_gitlab_links_are_idempotent_and_a_move_takes_the_old_one_away(gitlab_server):
    gitlab_server.graphql_enabled = False
    t = gl(gitlab_server)
    first, (a,) = first_push(t, 1)
    assert t.hierarchy_mode == "links"
    second = t.create_issue("Second", "", None, [LABEL]).number
    t.attach(first, a)
    gitlab_server.reset_log()
    t.attach(first, a)  # 409 already linked: fine
    assert [e.status for e in gitlab_server.log] == [409]
    t.attach(second, a, move_from=first)
    assert [iid for _, iid, _ in gitlab_server.links(REPO, second)] == [a]
    assert gitlab_server.links(REPO, first) == []


# ------------------------------------------------------------------------------ memory


def test_memory_keeps_githubs_limits():
    remote = Remote()
    t = MemoryTracker(remote, policy=policy())
    parent, kids = first_push(t, 101)
    for kid in kids[:100]:
        t.attach(parent, kid)
    with pytest.raises(Invalid, match="more than 100"):
        t.attach(parent, kids[100])
    chain = [t.create_issue(f"Level {i}", "", None, [LABEL]).number for i in range(9)]
    for up, down in zip(chain, chain[1:8]):
        t.attach(up, down)
    with pytest.raises(Invalid, match="8 levels"):
        t.attach(chain[7], chain[8])
    with pytest.raises(Invalid, match="ancestor"):
        t.attach(chain[3], chain[0])


def test_memory_server_shows_sub_issues_like_the_fake_github():
    server = MemoryServer()
    t = MemoryTracker(server.remote, policy=policy())
    parent, (a, b) = first_push(t, 2)
    t.attach(parent, a)
    server.add_sub_issue(REPO, parent, b)
    assert server.sub_issues(REPO, parent) == [(server.remote.repository, a), (server.remote.repository, b)]
    assert server.parent_of(REPO, b) == (server.remote.repository, parent)
    with pytest.raises(ValueError, match="one parent"):
        server.add_sub_issue(REPO, a, b)
