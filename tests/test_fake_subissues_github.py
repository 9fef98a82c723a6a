"""Sub-issues in tests/fakes/github.py, driven through the real PyGithub client over HTTP."""

from __future__ import annotations

import github
import pytest

from tests.fakes.github import FakeGitHub
from tests.openapi_github import validate_log

REPO = "acme/shop"
SUB_MUTATION = "issue { number } subIssue { number }"


def client(fake: FakeGitHub) -> github.Github:
    return github.Github(auth=github.Auth.Token("test-token"), base_url=fake.url,
                         seconds_between_requests=0, seconds_between_writes=0, retry=None,
                         per_page=100, lazy=True)


def rest_log(fake: FakeGitHub) -> list:
    """The REST part of the log (GraphQL is not in the OpenAPI description)."""
    return [e for e in fake.log if e.path != fake.graphql_path]


@pytest.fixture
def fake():
    with FakeGitHub(repos=(REPO, "acme/other", "evil/shop")) as server:
        yield server
    assert not server.errors, server.errors[0]


from tests.test_fake_github import gh, repo  # noqa: E402,F401 - the same client fixtures, over this module's fake


def make(repo, n: int, prefix: str = "item") -> list:
    return [repo.create_issue(f"{prefix} {i}") for i in range(n)]


def raw(issue, method: str, suffix: str, body: dict | None = None):
    return issue._requester.requestJsonAndCheck(method, f"{issue.url}{suffix}", input=body)


# --------------------------------------------------------------------- REST


def test_add_list_remove_prioritize_through_pygithub(repo, fake):
    parent, a, b, c = make(repo, 4)
    for child in (a, b, c):
        answered = parent.add_sub_issue(child)
        assert answered.number == parent.number  # the parent, by default
    assert [i.number for i in parent.get_sub_issues()] == [a.number, b.number, c.number]
    parent.prioritize_sub_issue(c, a)  # after a
    assert [n for _, n in fake.sub_issues(REPO, parent.number)] == [a.number, c.number, b.number]
    raw(parent, "PATCH", "/sub_issues/priority", {"sub_issue_id": b.id, "before_id": a.id})
    assert [n for _, n in fake.sub_issues(REPO, parent.number)] == [b.number, a.number, c.number]
    parent.remove_sub_issue(a)
    assert [n for _, n in fake.sub_issues(REPO, parent.number)] == [b.number, c.number]
    fresh = repo.get_issue(parent.number)
    assert fresh.sub_issues_summary.total == 2 and fresh.sub_issues_summary.completed == 0
    assert repo.get_issue(a.number).parent_issue_url is None
    assert repo.get_issue(b.number).parent_issue_url == parent.url
    _, got = raw(repo.get_issue(b.number), "GET", "/parent")
    assert got["number"] == parent.number
    assert not validate_log(fake.log)


def test_answer_knob_child(repo, fake):
    fake.sub_issue_answer = "child"
    parent, a = make(repo, 2)
    assert parent.add_sub_issue(a).number == a.number
    assert parent.remove_sub_issue(a).number == a.number


def test_summary_counts_closed_children_and_percent(repo, fake):
    parent, *kids = make(repo, 3)
    for k in kids:
        parent.add_sub_issue(k)
    kids[0].edit(state="closed")
    summary = repo.get_issue(parent.number).sub_issues_summary
    assert (summary.total, summary.completed, summary.percent_completed) == (2, 1, 50)


def test_get_parent_without_parent_is_404(repo):
    (lone,) = make(repo, 1)
    with pytest.raises(github.UnknownObjectException):
        raw(lone, "GET", "/parent")


def test_number_instead_of_id_is_404_and_string_id_is_422(repo):
    parent, child = make(repo, 2)
    with pytest.raises(github.UnknownObjectException):
        parent.add_sub_issue(child.number)  # an int is sent unchanged: the number, not the id
    with pytest.raises(github.GithubException) as exc:
        raw(parent, "POST", "/sub_issues", {"sub_issue_id": str(child.id)})
    assert exc.value.status == 422 and "is not an integer" in exc.value.data["message"]


def test_plural_delete_is_404(repo):
    parent, child = make(repo, 2)
    parent.add_sub_issue(child)
    with pytest.raises(github.UnknownObjectException):
        raw(parent, "DELETE", "/sub_issues", {"sub_issue_id": child.id})
    with pytest.raises(github.UnknownObjectException):  # not a child of this parent
        raw(child, "DELETE", "/sub_issue", {"sub_issue_id": parent.id})


def test_one_parent_and_replace_parent(repo, fake):
    p1, p2, child = make(repo, 3)
    p1.add_sub_issue(child)
    with pytest.raises(github.GithubException) as exc:
        p2.add_sub_issue(child)
    assert exc.value.status == 422
    assert "Sub issue may only have one parent" in exc.value.data["message"]
    assert exc.value.data["errors"][0]["message"] == "Sub issue may only have one parent"
    with pytest.raises(github.GithubException) as exc:  # already here: the "duplicate" wording
        p1.add_sub_issue(child)
    assert exc.value.data["errors"][0]["message"] == "Issue may not contain duplicate sub-issues"
    raw(p2, "POST", "/sub_issues", {"sub_issue_id": child.id, "replace_parent": True})
    assert fake.parent_of(REPO, child.number) == (REPO, p2.number)
    assert fake.sub_issues(REPO, p1.number) == []
    assert not validate_log(fake.log)


def test_limit_is_100_with_closed_children_counted_and_listing_pages(repo, fake):
    (parent,) = make(repo, 1, "parent")
    for n in range(2, 102):
        fake.create_issue(REPO, f"kid {n}")
        fake.add_sub_issue(REPO, parent.number, n)
    fake.close_issue(REPO, 2)
    extra = repo.create_issue("one too many")
    with pytest.raises(github.GithubException) as exc:
        parent.add_sub_issue(extra)
    assert exc.value.status == 422
    assert "Parent cannot have more than 100 sub-issues" in exc.value.data["message"]
    listed = list(parent.get_sub_issues())
    assert len(listed) == 100 and listed[0].number == 2
    # pagination: per_page 30 by default, Link header; per_page is capped at 100
    _, page = raw(parent, "GET", "/sub_issues?per_page=30&page=4")
    assert [i["number"] for i in page] == list(range(92, 102))
    assert fake.requests("GET", r"/sub_issues$")[0].query.get("per_page") == ["100"]
    parent.remove_sub_issue(repo.get_issue(2))
    parent.add_sub_issue(extra)  # room again
    assert not validate_log(fake.log)


def test_link_header_on_sub_issue_listing(repo, fake, gh):
    (parent,) = make(repo, 1)
    for n in range(2, 8):
        fake.create_issue(REPO, f"kid {n}")
        fake.add_sub_issue(REPO, parent.number, n)
    import requests

    r = requests.get(f"{parent.url}/sub_issues", params={"per_page": 2},
                     headers={"Authorization": "token test-token"})
    assert r.status_code == 200 and len(r.json()) == 2
    assert 'rel="next"' in r.headers["Link"] and "page=3" in r.headers["Link"]


def test_depth_limit_8(repo, fake):
    chain = make(repo, 9)
    for upper, lower in zip(chain, chain[1:8]):
        upper.add_sub_issue(lower)  # 8 levels: chain[0] .. chain[7]
    with pytest.raises(github.GithubException) as exc:
        chain[7].add_sub_issue(chain[8])
    assert exc.value.status == 422 and "maximum depth" in exc.value.data["message"]
    # a subtree counts with its height
    top, mid, leaf = make(repo, 3, "tree")
    mid.add_sub_issue(leaf)
    with pytest.raises(github.GithubException):
        chain[6].add_sub_issue(mid)  # depth 7 + height 2 = 9
    chain[5].add_sub_issue(mid)  # 6 + 2 = 8


def test_cycle_self_and_pull_request_and_other_owner(repo, fake, gh):
    a, b, c = make(repo, 3)
    a.add_sub_issue(b)
    b.add_sub_issue(c)
    for parent, child in ((c, a), (b, b)):
        with pytest.raises(github.GithubException) as exc:
            raw(parent, "POST", "/sub_issues", {"sub_issue_id": child.id, "replace_parent": True})
        assert exc.value.status == 422
    pr = fake.create_pull_request(REPO, "a PR")
    with pytest.raises(github.GithubException) as exc:
        a.add_sub_issue(fake.issue_id(REPO, pr))
    assert exc.value.status == 422 and "Pull requests" in exc.value.data["message"]
    other = gh.get_repo("acme/other").create_issue("same owner, other repo")
    a.add_sub_issue(other)  # allowed: same owner
    assert fake.sub_issues(REPO, a.number)[-1] == ("acme/other", other.number)
    foreign = gh.get_repo("evil/shop").create_issue("another owner")
    with pytest.raises(github.GithubException) as exc:
        a.add_sub_issue(foreign)
    assert exc.value.status == 422 and "repository owner" in exc.value.data["message"]
    assert not validate_log(fake.log)


def test_reprioritize_errors(repo):
    parent, a, b, stranger = make(repo, 4)
    parent.add_sub_issue(a)
    parent.add_sub_issue(b)
    bodies = [
        {"sub_issue_id": a.id},  # neither after nor before
        {"sub_issue_id": a.id, "after_id": b.id, "before_id": b.id},  # both
        {"sub_issue_id": stranger.id, "after_id": b.id},  # not a child
        {"sub_issue_id": a.id, "after_id": stranger.id},  # anchor not a child
        {"sub_issue_id": a.id, "after_id": a.id},  # itself
    ]
    for body in bodies:
        with pytest.raises(github.GithubException) as exc:
            raw(parent, "PATCH", "/sub_issues/priority", body)
        assert exc.value.status == 422 and isinstance(exc.value.data["errors"][0], str)
    with pytest.raises(github.GithubException):  # PyGithub's None sends "after_id": null
        parent.prioritize_sub_issue(b, None)


def test_updated_at_does_not_move(repo, fake):
    parent, child = make(repo, 2)
    before = (repo.get_issue(parent.number).updated_at, repo.get_issue(child.number).updated_at)
    parent.add_sub_issue(child)
    after = (repo.get_issue(parent.number).updated_at, repo.get_issue(child.number).updated_at)
    assert before == after  # so a "since" listing taken before the link does not show it


def test_deleted_and_transferred_children(repo, fake):
    parent, a, b = make(repo, 3)
    parent.add_sub_issue(a)
    parent.add_sub_issue(b)
    fake.delete_issue(REPO, a.number)
    assert [n for _, n in fake.sub_issues(REPO, parent.number)] == [b.number]
    new = fake.transfer_issue(REPO, b.number, "acme/other")
    assert fake.sub_issues(REPO, parent.number) == [("acme/other", new)]


def test_read_only_and_archived_refuse(repo, fake):
    parent, child = make(repo, 2)
    fake.read_only = True
    with pytest.raises(github.GithubException) as exc:
        parent.add_sub_issue(child)
    assert exc.value.status == 403


# ----------------------------------------------------------- layouts / GHES


def test_ghe_com_layout_has_sub_issues():
    with FakeGitHub(repos=(REPO,), web_url="https://octo.ghe.test") as fake:
        g = client(fake)
        r = g.get_repo(REPO)
        p, c = r.create_issue("p"), r.create_issue("c")
        p.add_sub_issue(c)
        assert r.get_issue(c.number).parent_issue_url == p.url
        _, meta = g.requester.requestJsonAndCheck("GET", "/meta")
        assert "installed_version" not in meta
        assert not validate_log(fake.log)


def test_ghes_layout_rest_sub_issues_are_404_and_meta_has_version():
    with FakeGitHub(repos=(REPO,), prefix="/api/v3") as fake:
        g = client(fake)
        r = g.get_repo(REPO)
        p, c = r.create_issue("p"), r.create_issue("c")
        for call in (lambda: p.add_sub_issue(c), lambda: list(p.get_sub_issues()),
                     lambda: p.remove_sub_issue(c), lambda: p.prioritize_sub_issue(c, c),
                     lambda: raw(p, "GET", "/parent")):
            with pytest.raises(github.UnknownObjectException):
                call()
        shown = r.get_issue(p.number).raw_data
        assert "sub_issues_summary" not in shown and "parent_issue_url" not in shown
        headers, meta = g.requester.requestJsonAndCheck("GET", "/meta")
        assert meta["installed_version"] == "3.17.0"
        assert headers["x-github-enterprise-version"] == "3.17.0"
        fake.ghes_version = "3.15.2"
        assert g.requester.requestJsonAndCheck("GET", "/meta")[1]["installed_version"] == "3.15.2"
        assert not validate_log(rest_log(fake), prefix="/api/v3")


# ------------------------------------------------------------------ GraphQL


def test_graphql_url_follows_pygithub(fake, gh):
    assert gh.requester.graphql_url == fake.root_url + "/graphql" == fake.graphql_url
    with FakeGitHub(repos=(REPO,), prefix="/api/v3") as ghes:
        g = client(ghes)
        assert g.requester.graphql_url == ghes.root_url + "/api/graphql" == ghes.graphql_url
        _, data = g.requester.graphql_query('{ __type(name: "AddSubIssueInput") { name } }', {})
        assert data["data"]["__type"] == {"name": "AddSubIssueInput"}
        ghes.ghes_version = "3.16.3"  # sub-issues in the UI; GraphQL documented from 3.17
        _, data = g.requester.graphql_query('{ __type(name: "AddSubIssueInput") { name } }', {})
        assert data["data"]["__type"] is None
        with pytest.raises(github.GithubException) as exc:
            g.requester.graphql_named_mutation("addSubIssue", {"issueId": "x", "subIssueId": "y"},
                                               SUB_MUTATION)
        errors = exc.value.data["errors"]
        assert any(e["message"] == "Field 'addSubIssue' doesn't exist on type 'Mutation'" for e in errors)


def test_graphql_add_remove_reprioritize(repo, fake, gh):
    parent, a, b = make(repo, 3)
    rq = gh.requester
    _, out = rq.graphql_named_mutation("addSubIssue", {"issueId": parent.node_id,
                                                       "subIssueId": a.node_id}, SUB_MUTATION)
    assert out == {"issue": {"number": parent.number}, "subIssue": {"number": a.number}}
    _, out = rq.graphql_named_mutation("addSubIssue", {"issueId": parent.node_id,
                                                       "subIssueUrl": b.html_url}, SUB_MUTATION)
    assert out["subIssue"]["number"] == b.number
    rq.graphql_named_mutation("reprioritizeSubIssue", {"issueId": parent.node_id,
                                                       "subIssueId": b.node_id,
                                                       "beforeId": a.node_id}, "issue { number }")
    q = """query($o: String!, $n: String!, $num: Int!) { repository(owner: $o, name: $n) {
             issue(number: $num) { subIssuesSummary { total percentCompleted }
               subIssues(first: 10) { totalCount nodes { number parent { number } } } } } }"""
    _, data = rq.graphql_query(q, {"o": "acme", "n": "shop", "num": parent.number})
    issue = data["data"]["repository"]["issue"]
    assert [x["number"] for x in issue["subIssues"]["nodes"]] == [b.number, a.number]
    assert issue["subIssues"]["nodes"][0]["parent"] == {"number": parent.number}
    assert issue["subIssuesSummary"] == {"total": 2, "percentCompleted": 0}
    _, out = rq.graphql_named_mutation("removeSubIssue", {"issueId": parent.node_id,
                                                          "subIssueId": a.node_id}, SUB_MUTATION)
    assert out["subIssue"]["number"] == a.number
    assert [n for _, n in fake.sub_issues(REPO, parent.number)] == [b.number]


def test_graphql_rule_errors_are_http_200_with_errors(repo, fake, gh):
    p1, p2, child = make(repo, 3)
    p1.add_sub_issue(child)
    import requests

    query = ("mutation($input: AddSubIssueInput!) { addSubIssue(input: $input) "
             "{ issue { number } } }")
    r = requests.post(fake.graphql_url, headers={"Authorization": "bearer test-token"},
                      json={"query": query, "variables": {"input": {
                          "issueId": p2.node_id, "subIssueId": child.node_id}}})
    assert r.status_code == 200
    body = r.json()
    assert body["data"] == {"addSubIssue": None}
    err = body["errors"][0]
    assert err["type"] == "VALIDATION" and err["path"] == ["addSubIssue"]
    assert "Sub issue may only have one parent" in err["message"] and err["locations"]
    # replaceParent moves it
    gh.requester.graphql_named_mutation("addSubIssue", {"issueId": p2.node_id,
                                                        "subIssueId": child.node_id,
                                                        "replaceParent": True}, "issue { number }")
    assert fake.parent_of(REPO, child.number) == (REPO, p2.number)
    # unknown node -> NOT_FOUND -> PyGithub's UnknownObjectException
    with pytest.raises(github.UnknownObjectException):
        gh.requester.graphql_named_mutation("addSubIssue", {"issueId": "I_bm9wZQ",
                                                            "subIssueId": child.node_id},
                                            "issue { number }")


def test_graphql_validation_against_the_schema(fake, gh):
    import requests

    def post(query: str, variables: dict | None = None) -> dict:
        r = requests.post(fake.graphql_url, headers={"Authorization": "bearer test-token"},
                          json={"query": query, "variables": variables or {}})
        assert r.status_code == 200
        return r.json()

    out = post('mutation { addSubIssue(input: {issueId: "a", subIssueId: "b"}, extra: 1) { issue { id } } }')
    assert out["errors"][0]["extensions"]["code"] == "argumentNotAccepted"
    assert "data" not in out
    out = post('mutation { addSubIssue(input: {issueId: "a"}) { issue { nope } } }')
    assert out["errors"][0]["message"] == "Field 'nope' doesn't exist on type 'Issue'"
    out = post('mutation { addSubIssue(input: {issueId: "a", subIssueIds: "b"}) { issue { id } } }')
    assert out["errors"][0]["extensions"]["code"] == "argumentLiteralsIncompatible"
    out = post("mutation($input: AddSubIssueInput!) { addSubIssue(input: $input) { issue { id } } }",
               {"input": {"issueId": "a", "parentId": "b"}})
    assert out["errors"][0]["extensions"]["problems"][0] == {
        "path": ["parentId"], "explanation": "Field is not defined on AddSubIssueInput"}
    out = post("mutation { addSubIssue { issue { id } } }")
    assert out["errors"][0]["extensions"]["code"] == "missingRequiredArguments"
    out = post("mutation { addSubIssue(input: {issueId: \"a\"}) }")
    assert out["errors"][0]["extensions"]["code"] == "selectionMismatch"
    out = post("mutation { addSubIssue(input: {issueId: $x}) { issue { id } } }")
    assert out["errors"][0]["extensions"]["code"] == "variableNotDefined"
    out = post("mutation { addSubIssue(input: {issueId: \"a\"} { issue { id } } }")
    assert out["errors"][0]["message"].startswith("Parse error on")
    out = post('{ __type(name: "ReprioritizeSubIssueInput") { inputFields { name } } }')
    assert {f["name"] for f in out["data"]["__type"]["inputFields"]} == {
        "afterId", "beforeId", "clientMutationId", "issueId", "subIssueId"}


def test_graphql_needs_a_token(fake):
    import requests

    r = requests.post(fake.graphql_url, json={"query": "{ viewer { login } }"})
    assert r.status_code == 401
    assert r.json()["message"] == "This endpoint requires you to be authenticated."
    r = requests.post(fake.graphql_url, headers={"Authorization": "bearer test-token"},
                      json={"query": "{ viewer { login } }"})
    assert r.json() == {"data": {"viewer": {"login": "guidesync-bot"}}}
    assert r.headers["x-ratelimit-resource"] == "graphql"
