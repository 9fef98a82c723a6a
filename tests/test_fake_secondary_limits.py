"""The fake GitHub's content-creation (secondary) limits, driven through the real PyGithub client
over HTTP (tests/fakes/secondary_limits.py says what is modelled and why)."""

from __future__ import annotations

import copy
from datetime import timedelta

import github
import pytest

from tests.fakes.github import RATE_DOCS, FakeGitHub
from tests.openapi_github import validate_log
from tests.test_fake_subissues_github import REPO, SUB_MUTATION, client  # noqa: F401 - the same PyGithub client


@pytest.fixture
def fake():
    with FakeGitHub(repos=(REPO,)) as server:
        yield server
    assert not server.errors, server.errors[0]
    rest = [e for e in server.log if e.path != server.graphql_path]
    errors = validate_log(rest)
    assert not errors, "\n".join(errors[:10])


@pytest.fixture
def repo(fake):
    g = client(fake)
    yield g.get_repo(REPO)
    g.close()


def refused(call) -> github.GithubException:
    """The exception PyGithub raises for a request the fake refuses."""
    with pytest.raises(github.GithubException) as exc:
        call()
    return exc.value


def at(fake: FakeGitHub, seconds: float):
    """Move the server clock to ``seconds`` after its start."""
    fake.clock.set(fake.clock.START + timedelta(seconds=seconds))


def state(fake: FakeGitHub) -> dict:
    issues = fake.issues(REPO)
    return copy.deepcopy({"issues": issues, "milestones": fake.milestones(REPO),
                          "labels": fake.labels(REPO),
                          "comments": {n: fake.comments(REPO, n) for n in issues},
                          "subs": {n: fake.sub_issues(REPO, n) for n in issues},
                          "blocked": {n: fake.blocked_by(REPO, n) for n in issues}})


# ------------------------------------------------------------------- off by default


def test_off_by_default_but_recorded(repo, fake):
    for i in range(5):
        repo.create_issue(f"t{i}")
    assert fake.content.limits is None and fake.secondary_hits == 0
    assert fake.content_times == [fake.clock.START + timedelta(seconds=i) for i in range(5)]  # each create ticks 1 s
    assert fake.content_peak(60) == 5


# ------------------------------------------------------------------------- windows


def test_the_81st_in_a_minute_is_refused_and_fits_60_s_after_the_oldest(repo, fake):
    fake.limit_content()  # 80 / 500
    fake.spend_content(79)  # a person, on the web, at 00:00:00
    repo.create_issue("80th")  # arrives at 00:00:00, ticks the clock to 00:00:01
    exc = refused(lambda: repo.create_issue("81st"))
    assert exc.status == 403 and "secondary rate limit" in exc.data["message"]
    assert exc.headers["retry-after"] == "59"  # room at 00:01:00
    assert sorted(i["title"] for i in fake.issues(REPO).values()) == ["80th"]
    at(fake, 59)
    assert refused(lambda: repo.create_issue("early")).headers["retry-after"] == "1"
    assert (fake.secondary_hits, fake.early_retries) == (2, 1)
    at(fake, 60)
    assert repo.create_issue("fits").title == "fits"
    assert fake.content_used(60) == 1  # the 80 of 00:00:00 have left the minute
    assert fake.content_peak(60) == 80 and fake.content_peak(60, web=False) == 1
    assert len(fake.content_times) == 2  # the refusals are not counted


def test_minute_window_slides_with_api_requests_only(repo, fake):
    fake.limit_content(per_minute=3, per_hour=100)
    for i in range(3):
        repo.create_issue(f"t{i}")  # at 0, 1, 2 s
    assert refused(lambda: repo.create_issue("x")).headers["retry-after"] == "57"  # at 3 s
    at(fake, 59)
    refused(lambda: repo.create_issue("early"))  # the first is still in (-1, 59]
    at(fake, 60)  # the first has left (0, 60]
    repo.create_issue("t3")  # ticks the clock to 61
    fake.spend_content()  # (1, 61] holds 2, 60 and 61 now
    assert refused(lambda: repo.create_issue("y")).headers["retry-after"] == "1"  # the one of 2 s leaves at 62
    assert [i["title"] for i in fake.issues(REPO).values()] == ["t0", "t1", "t2", "t3"]
    assert fake.content_peak(60) == 3 and (fake.secondary_hits, fake.early_retries) == (3, 1)


def test_the_501st_in_an_hour_is_refused_until_the_oldest_is_an_hour_old(repo, fake):
    fake.limit_content()
    fake.spend_content(499)  # at 00:00:00
    at(fake, 120)  # the minute window is empty again, the hour holds 499
    repo.create_issue("500th")
    exc = refused(lambda: repo.create_issue("501st"))  # at 00:02:01
    assert exc.headers["retry-after"] == str(3600 - 121)
    at(fake, 3599)
    refused(lambda: repo.create_issue("early"))
    assert (fake.secondary_hits, fake.early_retries) == (2, 1)
    at(fake, 3600)
    repo.create_issue("fits")
    assert fake.content_used(3600) == 2
    assert fake.content_peak(3600) == 500
    assert sorted(i["title"] for i in fake.issues(REPO).values()) == ["500th", "fits"]


def test_500_api_creates_then_the_hour_is_full(repo, fake):
    fake.limit_content()
    for i in range(500):
        repo.create_issue(f"t{i}")  # one per fake second: the minute window never fills
    exc = refused(lambda: repo.create_issue("x"))
    assert exc.headers["retry-after"] == "3100"  # at 500 s; the first (0 s) leaves the hour at 3600 s
    assert fake.content_peak(60) == 60 and fake.content_peak(3600) == 500
    assert len(fake.issues(REPO)) == 500


# --------------------------------------------------------- a refusal changes nothing


def test_a_refused_request_changes_nothing(repo, fake):
    ms = repo.create_milestone("M")
    parent, child = repo.create_issue("parent", milestone=ms), repo.create_issue("child")
    comment = parent.create_comment("c")
    repo.create_label("old", "ededed")
    old = repo.get_label("old")
    fake.limit_content(per_minute=0, per_hour=0)  # nothing more fits
    before, clock, used = state(fake), fake.clock.now(), fake.rate_used
    requester = parent._requester
    calls = [
        lambda: repo.create_issue("new"),
        lambda: parent.edit(title="renamed", state="closed"),
        lambda: parent.create_comment("more"),
        lambda: comment.edit("changed"),
        lambda: comment.delete(),
        lambda: parent.add_to_labels("x"),
        lambda: parent.set_labels("y"),
        lambda: parent.remove_from_labels("old"),
        lambda: repo.create_milestone("N"),
        lambda: ms.edit("M2"),
        lambda: ms.delete(),
        lambda: repo.create_label("new", "ededed"),
        lambda: old.delete(),
        lambda: parent.lock("resolved"),
        lambda: parent.add_sub_issue(child),
        lambda: requester.requestJsonAndCheck("POST", f"{child.url}/dependencies/blocked_by",
                                              input={"issue_id": parent.id}),
    ]
    for call in calls:
        exc = refused(call)
        assert exc.status == 403 and exc.data["documentation_url"] == RATE_DOCS + "#about-secondary-rate-limits"
    assert state(fake) == before and fake.clock.now() == clock  # no handler ran (a write ticks the clock)
    assert fake.secondary_hits == len(calls)
    assert fake.early_retries == len(calls) - 1  # all within the first refusal's wait
    assert fake.rate_used == used + len(calls)  # refusals cost primary requests, as any request
    assert len(fake.content_times) == 5  # the writes before the limit


def test_get_is_never_counted_nor_refused(repo, fake):
    issue = repo.create_issue("a")
    fake.limit_content(per_minute=1, per_hour=1)
    for _ in range(5):
        repo.get_issue(issue.number)
        list(repo.get_issues(state="all"))
        repo.get_labels().totalCount
    assert len(fake.content_times) == 1 and fake.secondary_hits == 0


def test_spend_content_counts_in_the_same_budget(repo, fake):
    fake.limit_content(per_minute=80, per_hour=10)
    fake.spend_content(9)
    repo.create_issue("10th")
    refused(lambda: repo.create_issue("11th"))
    assert fake.content.web_times == [fake.clock.START] * 9
    assert fake.content_used(3600) == 10


# ------------------------------------------------------------------------- headers


@pytest.mark.parametrize("retry_after, status, expected", [
    ("auto", 403, "60"), (30, 429, "30"), (None, 403, None), (None, 429, None), (7.2, 403, "8"),
])
def test_refusal_headers_as_configured(repo, fake, retry_after, status, expected):
    fake.limit_content(per_minute=1, per_hour=500, retry_after=retry_after, status=status)
    repo.create_issue("one")  # at 0, ticks to 1 s
    at(fake, 0)  # so that "auto" is exactly the minute
    exc = refused(lambda: repo.create_issue("two"))
    assert exc.status == status
    assert exc.data["message"].startswith("You have exceeded a secondary rate limit.")
    assert exc.headers.get("retry-after") == expected
    # the primary headers are there as usual, and do not say "exhausted"
    assert exc.headers["x-ratelimit-resource"] == "core"
    assert int(exc.headers["x-ratelimit-remaining"]) > 0
    assert int(exc.headers["x-ratelimit-reset"]) == fake.rate_reset
    assert exc.headers["x-github-request-id"] in exc.data["message"]
    wait = 60 if expected is None else int(expected)  # no retry-after: "wait at least one minute"
    assert fake.content.not_before == fake.clock.START + timedelta(seconds=wait)


def test_without_retry_after_a_storm_keeps_pushing_the_minute(repo, fake):
    fake.limit_content(per_minute=1, per_hour=500, retry_after=None)
    repo.create_issue("one")  # at 0
    at(fake, 60)
    repo.create_issue("two")  # at 60, ticks to 61
    refused(lambda: repo.create_issue("x"))  # at 61: must wait until 121
    for t in (90, 120, 150):  # each early retry is refused and moves the wait a minute on
        at(fake, t)
        refused(lambda: repo.create_issue("storm"))
    assert (fake.secondary_hits, fake.early_retries) == (4, 3)
    at(fake, 209)
    refused(lambda: repo.create_issue("still early"))
    at(fake, 269)
    repo.create_issue("after a quiet minute")
    assert fake.early_retries == 4


def test_refuse_early_off_only_counts(repo, fake):
    fake.limit_content(per_minute=1, per_hour=500, retry_after=120, refuse_early=False)
    repo.create_issue("one")
    refused(lambda: repo.create_issue("x"))  # at 1 s: told 120 s
    at(fake, 61)  # the window has room, the announced wait has not passed
    repo.create_issue("two")
    assert (fake.secondary_hits, fake.early_retries) == (1, 1)


def test_constructor_argument_and_unlimit():
    with FakeGitHub(repos=(REPO,), content_limits=(2, 3)) as fake:
        g = client(fake)
        r = g.get_repo(REPO)
        r.create_issue("a")
        r.create_issue("b")
        refused(lambda: r.create_issue("c"))
        fake.unlimit_content()
        r.create_issue("d")
        assert fake.content.limits is None and len(fake.content_times) == 3
        g.close()
    with pytest.raises(ValueError):
        FakeGitHub(content_limits=(80, 500)).limit_content(status=500)


# ------------------------------------------------------------------------- GraphQL


def test_graphql_query_not_counted_mutation_counted_and_refused(repo, fake):
    parent, a, b = (repo.create_issue(t) for t in ("p", "a", "b"))
    rq = parent._requester
    fake.limit_content(per_minute=4, per_hour=500)  # 3 creates already in the minute
    for _ in range(3):
        rq.graphql_query("query($id: ID!) { node(id: $id) { ... on Issue { number } } }", {"id": parent.node_id})
    rq.graphql_named_mutation("addSubIssue", {"issueId": parent.node_id, "subIssueId": a.node_id}, SUB_MUTATION)
    assert len(fake.content_times) == 4
    before = fake.graphql_used
    exc = refused(lambda: rq.graphql_named_mutation("addSubIssue", {"issueId": parent.node_id,
                                                                    "subIssueId": b.node_id}, SUB_MUTATION))
    assert exc.status == 403 and "secondary rate limit" in exc.data["message"]
    assert exc.headers["x-ratelimit-resource"] == "graphql" and int(exc.headers["x-ratelimit-remaining"]) > 0
    assert fake.graphql_used == before + 1
    assert fake.sub_issues(REPO, parent.number) == [(REPO, a.number)]
    # queries still answered while the mutations wait
    _, data = rq.graphql_query("query($id: ID!) { node(id: $id) { ... on Issue { number } } }", {"id": b.node_id})
    assert data["data"]["node"] == {"number": b.number}
    assert fake.secondary_hits == 1


def test_graphql_refusal_as_http_200_with_a_rate_limited_error(repo, fake):
    parent, a = repo.create_issue("p"), repo.create_issue("a")
    fake.limit_content(per_minute=2, per_hour=500, graphql_status=200)
    rq = parent._requester
    mutation = "mutation($i: AddSubIssueInput!) { addSubIssue(input: $i) { issue { number } } }"
    headers, data = rq.requestJsonAndCheck("POST", rq.graphql_url, input={  # HTTP 200: no exception
        "query": mutation, "variables": {"i": {"issueId": parent.node_id, "subIssueId": a.node_id}}})
    assert set(data) == {"errors"}
    error = data["errors"][0]
    assert error["type"] == "RATE_LIMITED" and "secondary rate limit" in error["message"]
    assert headers["retry-after"] == "58"
    assert fake.log[-1].status == 200
    assert fake.sub_issues(REPO, parent.number) == []


def test_a_named_operation_counts_as_its_kind(repo, fake):
    fake.limit_content(per_minute=0, per_hour=0)
    rq = repo._requester
    doc = "query Q { viewer { login } } mutation M($i: AddSubIssueInput!) { addSubIssue(input: $i) { issue { number } } }"

    def post(name: str):
        return rq.requestJsonAndCheck("POST", rq.graphql_url, input={"query": doc, "operationName": name})

    assert post("Q")[1]["data"] == {"viewer": {"login": fake.login}}
    assert refused(lambda: post("M")).status == 403
    assert "No operation named" in post("Nope")[1]["errors"][0]["message"]  # nothing would run
    assert fake.secondary_hits == 1 and fake.content_times == []
