"""The GitLab adapter against the stateful fake GitLab, through real HTTP (no real sleeps)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import gitlab.utils
import pytest

from guidesync.trackers import make_tracker
from guidesync.trackers.base import BudgetExhausted, CallPolicy, RemoteIssue, TrackerError
from guidesync.trackers.gitlab import GitLabTracker, instance_root
from tests.fakes.gitlab import FakeGitLab

TOKEN = "glpat-s3cr3t-T0KEN-value"
PROJECTS = ("acme/shop", "acme/platform/shop", "acme/other")


Fake = FakeGitLab


@pytest.fixture(autouse=True)
def no_library_sleep(monkeypatch):
    """python-gitlab must never sleep (or retry) by itself: CallPolicy does."""

    def forbidden(seconds):
        raise AssertionError(f"python-gitlab slept {seconds} s")

    monkeypatch.setattr(gitlab.utils.time, "sleep", forbidden)


@pytest.fixture
def fake():
    with Fake(token=TOKEN, projects=PROJECTS) as server:
        yield server


def make(fake: FakeGitLab, repository: str = "acme/shop", token: str | None = TOKEN, **kw):
    sleeps: list[float] = []
    policy = CallPolicy(write_interval=0, sleep=sleeps.append, **kw)
    tracker = GitLabTracker(repository, token, url=fake.url, policy=policy, timeout=5)
    return tracker, sleeps


def assert_counts(fake: FakeGitLab, tracker: GitLabTracker) -> None:
    counts = fake.counts()
    stats = tracker.policy.stats
    assert counts["total"] == stats.sent
    assert counts["writes"] == stats.writes


# ------------------------------------------------------------------ construction


def test_registry_builds_the_gitlab_adapter(fake):
    policy = CallPolicy(write_interval=0, sleep=lambda s: None)
    tracker = make_tracker("gitlab", "acme/shop", TOKEN, url=fake.url + "/", policy=policy, timeout=5)
    assert isinstance(tracker, GitLabTracker) and tracker.name == "gitlab"
    assert tracker.policy is policy
    assert tracker.limits() == {"title": 255, "body": 1_000_000}
    assert fake.counts()["total"] == 0  # the project object is lazy: no request spent


def test_timestamps():
    from guidesync.trackers.base import api_time as _time

    utc = timezone.utc
    assert _time("2026-01-01T00:00:05.000Z") == datetime(2026, 1, 1, 0, 0, 5, tzinfo=utc)
    assert _time("2026-01-01T00:00:05.12Z") == datetime(2026, 1, 1, 0, 0, 5, 120000, tzinfo=utc)
    assert _time("2026-01-01T02:00:05.1234567+02:00") == datetime(2026, 1, 1, 0, 0, 5, 123456, tzinfo=utc)
    assert _time("2026-01-01T00:00:05Z") == datetime(2026, 1, 1, 0, 0, 5, tzinfo=utc)
    assert _time(None) is None and _time("garbage") is None


def test_instance_root():
    assert instance_root("https://gitlab.com/") == "https://gitlab.com"
    assert instance_root("http://host/gitlab/api/v4/") == "http://host/gitlab"
    assert instance_root("") == "https://gitlab.com"


# ------------------------------------------------------------------------ issues


def test_issue_lifecycle(fake):
    tracker, sleeps = make(fake)
    assert tracker.ensure_label("guide") is True
    assert tracker.ensure_label("guide") is False
    assert "guide" in fake.labels("acme/shop")

    ms = tracker.create_milestone("Phase 1", "first phase")
    assert (ms.title, ms.description, ms.state, ms.group) == ("Phase 1", "first phase", "open", False)
    assert ms.number in fake.milestones("acme/shop")  # the global id

    issue = tracker.create_issue("Do it", "Body text", ms.number, ["guide", "phase-1"])
    assert isinstance(issue, RemoteIssue)
    assert issue.number == 1 and issue.issue_state == "open" and issue.milestone == ms.number
    assert issue.labels == ("guide", "phase-1") and issue.body == "Body text"
    assert issue.url == f"{fake.url}/acme/shop/-/issues/1"
    assert issue.updated_at is not None and issue.updated_at.tzinfo is not None
    post = fake.requests("POST", r"/issues$")[-1]
    assert post.body["labels"] == "guide,phase-1" and post.body["milestone_id"] == ms.number

    assert tracker.get_issue(1) == issue

    updated = tracker.update_issue(1, title="Do it now", body="New body", milestone=None, labels=("guide",))
    assert (updated.title, updated.body, updated.milestone, updated.labels) == ("Do it now", "New body", None, ("guide",))
    put = fake.requests("PUT", r"/issues/1$")[-1]
    assert put.body["milestone_id"] == 0
    assert fake.issues("acme/shop")[1]["milestone"] is None

    updated = tracker.update_issue(1, milestone=ms.number)
    assert updated.milestone == ms.number and updated.title == "Do it now"
    assert tracker.update_issue(1).title == "Do it now"  # nothing to change: a read, no 400

    closed = tracker.close_issue(1, "not_planned")
    assert closed.issue_state == "completed"  # GitLab has no close reasons
    assert fake.requests("PUT", r"/issues/1$")[-1].body == {"state_event": "close"}
    assert fake.issues("acme/shop")[1]["state"] == "closed"
    reopened = tracker.reopen_issue(1)
    assert reopened.issue_state == "open"

    tracker.comment(1, "Synced from the guide")
    assert [n["body"] for n in fake.notes("acme/shop", 1)] == ["Synced from the guide"]

    renamed = tracker.update_milestone(ms.number, title="Phase one", description="d2")
    assert (renamed.number, renamed.title, renamed.description) == (ms.number, "Phase one", "d2")
    assert fake.requests("PUT", r"/milestones/\d+$")
    assert tracker.update_milestone(ms.number).title == "Phase one"

    assert sleeps == [] and tracker.policy.stats.retries == 0
    assert_counts(fake, tracker)
    assert tracker.policy.stats.remaining is not None


def test_ensure_label_conflict_is_fine(fake):
    tracker, _ = make(fake)
    fake.add_fault(method="GET", path=r"/labels/", kind="status", status=404,
                   body={"message": "404 Label Not Found"})
    fake.create_label("acme/shop", "guide")  # created by someone else in between
    assert tracker.ensure_label("guide") is True
    assert [r.status for r in fake.requests(path=r"/labels")] == [404, 409]


def test_list_250_issues_in_three_requests(fake):
    for n in range(250):
        fake.create_issue("acme/shop", f"Item {n}", labels=["guide"])
    fake.create_issue("acme/shop", "not managed", labels=["other"])
    fake.close_issue("acme/shop", 7)
    fake.reset_log()
    tracker, _ = make(fake)
    listing = tracker.list_issues("guide", None, {})
    assert len(listing.items) == 250 and len({i.number for i in listing.items}) == 250
    assert listing.etags == {}
    assert listing.server_time == fake.clock.now()
    calls = fake.requests("GET", r"/issues$")
    assert len(calls) == 3 == fake.counts()["total"] == tracker.policy.stats.sent
    first = calls[0].query
    assert first["labels"] == ["guide"] and first["order_by"] == ["updated_at"]
    assert first["sort"] == ["desc"] and first["per_page"] == ["100"] and "state" not in first
    assert [c.query.get("page", ["1"])[0] for c in calls] == ["1", "2", "3"]
    states = {i.number: i.issue_state for i in listing.items}
    assert states[7] == "completed" and states[8] == "open"
    times = [i.updated_at for i in listing.items]
    assert times == sorted(times, reverse=True)  # newest change first


def test_list_issues_updated_after(fake):
    for n in range(5):
        fake.create_issue("acme/shop", f"i{n}", labels=["guide"])
    fake.edit_issue("acme/shop", 2, title="touched")
    since = datetime.fromisoformat(fake.issues("acme/shop")[2]["updated_at"].replace("Z", "+00:00"))
    tracker, _ = make(fake)
    listing = tracker.list_issues("guide", since, {})
    assert [i.number for i in listing.items] == [2]
    assert fake.requests("GET", r"/issues$")[-1].query["updated_after"] == [since.strftime("%Y-%m-%dT%H:%M:%SZ")]
    later = tracker.list_issues("guide", fake.clock.now() + timedelta(hours=1), {})
    assert later.items == ()
    # a naive-looking but aware non-UTC time is converted to UTC
    tz = timezone(timedelta(hours=2))
    tracker.list_issues("guide", since.astimezone(tz), {})
    assert fake.requests("GET", r"/issues$")[-1].query["updated_after"] == [since.strftime("%Y-%m-%dT%H:%M:%SZ")]


def test_moved_and_deleted_issues(fake):
    fake.create_issue("acme/shop", "moving", labels=["guide"])
    fake.create_issue("acme/shop", "deleted", labels=["guide"])
    fake.create_issue("acme/shop", "staying", labels=["guide"])
    fake.move_issue("acme/shop", 1, "acme/other")
    fake.delete_issue("acme/shop", 2)
    tracker, _ = make(fake)
    assert tracker.get_issue(1) is None  # moved away: closed with moved_to_id
    assert tracker.get_issue(2) is None  # deleted: 404
    assert tracker.get_issue(99) is None
    assert tracker.get_issue(3).title == "staying"
    assert [i.number for i in tracker.list_issues("guide", None, {}).items] == [3]
    with pytest.raises(TrackerError) as err:
        tracker.close_issue(1, "completed")
    assert err.value.kind == "gone"
    with pytest.raises(TrackerError) as err:
        tracker.update_issue(2, title="x")
    assert err.value.kind == "not_found"
    assert_counts(fake, tracker)


# -------------------------------------------------------------------- milestones


def test_milestones_with_inherited_group_milestones(fake):
    top = fake.create_group_milestone("acme", "Q1", description="group goal")
    mid = fake.create_group_milestone("acme/platform", "Platform Q1")
    own = fake.create_milestone("acme/platform/shop", "v1", description="own")
    fake.create_milestone("acme/platform/shop", "v0", state="closed")
    fake.create_milestone("acme/shop", "elsewhere")  # another project's: not listed
    tracker, _ = make(fake, "acme/platform/shop")
    listing = tracker.list_milestones({"milestones": "W/\"old\""})
    assert listing.etags == {}
    assert listing.server_time == fake.clock.now()
    got = {m.number: m for m in listing.items}
    assert set(got) == {top, mid, own, own + 1}
    assert got[top].group and got[mid].group and not got[own].group
    assert (got[top].title, got[top].description, got[top].state) == ("Q1", "group goal", "open")
    assert got[own + 1].state == "closed"
    calls = fake.requests("GET", r"/milestones$")
    # the listing, and once (the base keeps it) whether the server filters them by updated_after
    assert len(calls) == 2 == tracker.policy.stats.sent
    assert calls[0].path.endswith("/projects/acme%2Fplatform%2Fshop/milestones")
    q = calls[0].query
    assert q["include_ancestors"] == ["true"] and q["state"] == ["all"] and q["per_page"] == ["100"]
    assert "updated_after" not in q and calls[1].query["updated_after"] == ["2999-01-01T00:00:00Z"]
    assert tracker.capabilities == {"milestones_since": True}

    issue = tracker.create_issue("Grouped", "", top, ["guide"])
    assert issue.milestone == top
    assert fake.issues("acme/platform/shop")[1]["milestone"]["group_id"] == fake.group_id("acme")
    assert issue.url == f"{fake.url}/acme/platform/shop/-/issues/1"
    assert tracker.issue_number_from_url(issue.url) == 1


def test_milestones_paginate(fake):
    for n in range(130):
        fake.create_milestone("acme/shop", f"m{n:03d}")
    tracker, _ = make(fake)
    listing = tracker.list_milestones({})
    assert len(listing.items) == 130
    # two pages, and the question whether updated_after filters them (asked once)
    assert len(fake.requests("GET", r"/milestones$")) == 3 == tracker.policy.stats.sent


def test_milestone_title_conflict(fake):
    tracker, _ = make(fake)
    tracker.create_milestone("v1", "")
    with pytest.raises(TrackerError) as err:
        tracker.create_milestone("v1", "")
    assert err.value.kind == "conflict" and err.value.status == 400
    assert "already being used" in str(err.value)
    fake.create_group_milestone("acme", "Q1")
    with pytest.raises(TrackerError) as err:
        tracker.create_milestone("Q1", "")  # a group milestone of that title exists
    assert err.value.kind == "conflict"


# ----------------------------------------------------------------- URLs / paths


def test_subgroup_project_and_urls(fake):
    tracker, _ = make(fake, "acme/platform/shop")
    issue = tracker.create_issue("Deep", "", None, [])
    assert fake.issues("acme/platform/shop")[1]["title"] == "Deep"
    assert fake.issues("acme/shop") == {}
    assert all("/projects/acme%2Fplatform%2Fshop/" in e.path for e in fake.log)
    assert tracker.issue_number_from_url(issue.url) == 1
    assert tracker.issue_number_from_url(f"{fake.url}/acme/platform/shop/-/issues/12") == 12
    assert tracker.issue_number_from_url(f"{fake.url}/ACME/Platform/Shop/-/issues/12/") == 12
    assert tracker.issue_number_from_url(f"{fake.url}/acme/platform/shop/-/issues/12#note_5") == 12
    assert tracker.issue_number_from_url(f"{fake.url}/acme/shop/-/issues/12") is None
    assert tracker.issue_number_from_url(f"{fake.url}/acme/platform/shop/-/merge_requests/12") is None
    assert tracker.issue_number_from_url("https://elsewhere.example/acme/platform/shop/-/issues/12") is None
    assert tracker.issue_number_from_url("not a url") is None
    assert tracker.guide_url("docs/guides/setup guide.md", "main") == \
        f"{fake.url}/acme/platform/shop/-/blob/main/docs/guides/setup%20guide.md"
    assert tracker.guide_url("g.md", "release/1.0") == f"{fake.url}/acme/platform/shop/-/blob/release/1.0/g.md"


def test_project_by_numeric_id(fake):
    pid = fake.project_id("acme/platform/shop")
    tracker, _ = make(fake, str(pid))
    issue = tracker.create_issue("By id", "", None, ["guide"])
    assert fake.requests("POST")[-1].path.endswith(f"/projects/{pid}/issues")
    assert tracker.policy.stats.sent == 1
    # the web URLs need the project's path: one GET of the project, once
    assert tracker.issue_number_from_url(issue.url) == 1
    assert tracker.guide_url("a.md", "main") == f"{fake.url}/acme/platform/shop/-/blob/main/a.md"
    assert len(fake.requests("GET", rf"/projects/{pid}$")) == 1
    assert_counts(fake, tracker)


def test_instance_under_a_path_prefix():
    with Fake(token=TOKEN, projects=("acme/shop",), prefix="/gitlab") as fake:
        assert fake.url.endswith("/gitlab")
        tracker, _ = make(fake)
        assert tracker.ensure_label("guide") is True
        for n in range(3):
            tracker.create_issue(f"p{n}", "", None, ["guide"])
        listing = tracker.list_issues("guide", None, {})
        assert [i.number for i in listing.items] == [3, 2, 1]  # newest first
        assert all(e.path.startswith("/gitlab/api/v4/projects/acme%2Fshop/") for e in fake.log)
        assert listing.items[-1].url == f"{fake.url}/acme/shop/-/issues/1"
        assert tracker.issue_number_from_url(listing.items[-1].url) == 1
        assert tracker.issue_number_from_url(f"{fake.root_url}/acme/shop/-/issues/1") is None
        assert tracker.guide_url("g.md", "main") == f"{fake.url}/acme/shop/-/blob/main/g.md"
        # the API root given instead of the instance root works too
        other = GitLabTracker("acme/shop", TOKEN, url=fake.url + "/api/v4/",
                              policy=CallPolicy(write_interval=0, sleep=lambda s: None))
        assert other.get_issue(2).title == "p1"
        assert fake.counts()["total"] == tracker.policy.stats.sent + other.policy.stats.sent


# ------------------------------------------------------------ errors / policy


def test_rate_limited_listing_is_retried_by_the_policy(fake):
    for n in range(3):
        fake.create_issue("acme/shop", f"i{n}", labels=["guide"])
    fake.rate_limit(r"/issues$", method="GET", retry_after=1)
    tracker, sleeps = make(fake)
    listing = tracker.list_issues("guide", None, {})
    assert len(listing.items) == 3
    assert tracker.policy.stats.retries == 1
    assert sleeps == [1.0]
    assert [e.status for e in fake.requests("GET", r"/issues$")] == [429, 200]
    assert_counts(fake, tracker)


def test_rate_limit_reset_when_no_retry_after(fake, monkeypatch):
    """RateLimit-Reset is the server's epoch: measured against the answer's own Date (the fake's
    clock), not the runner's (here a day off)."""
    import guidesync.trackers.base as mod

    monkeypatch.setattr(mod.time, "time", lambda: fake.clock.now().timestamp() + 86400)
    reset = int(fake.clock.now().timestamp()) + 3
    fake.add_fault(method="GET", path=r"/milestones$", kind="status", status=429,
                   body={"message": "Retry later"},
                   headers={"RateLimit-Remaining": "0", "RateLimit-Reset": str(reset)})
    tracker, sleeps = make(fake)
    assert tracker.list_milestones({}).items == ()
    assert sleeps == [3.0] and tracker.policy.stats.retries == 1


def test_rate_limit_too_long_stops_cleanly(fake):
    fake.rate_limit(r"/issues$", method="GET", retry_after=3600)
    tracker, sleeps = make(fake)
    with pytest.raises(BudgetExhausted):
        tracker.list_issues("guide", None, {})
    assert sleeps == [] and tracker.policy.stats.sent == 1


def test_low_budget_stops_writes(fake):
    fake.rate_limit_limit = 25
    tracker, _ = make(fake, reserve=24)
    tracker.get_issue(1)
    assert tracker.policy.stats.remaining == 24
    with pytest.raises(BudgetExhausted):
        tracker.create_issue("x", "", None, [])
    assert fake.requests("POST") == []


def test_transient_read_is_retried(fake):
    fake.create_issue("acme/shop", "one")
    fake.add_fault(method="GET", path=r"/issues/1$", kind="status", status=502, body={"message": "bad gateway"})
    fake.add_fault(method="GET", path=r"/issues/1$", kind="drop_before", nth=2)
    tracker, sleeps = make(fake)
    assert tracker.get_issue(1).title == "one"
    assert tracker.policy.stats.retries == 2 and sleeps == [1.0, 2.0]
    assert [e.status for e in fake.requests("GET")] == [502, 0, 200]
    assert_counts(fake, tracker)


def test_idempotent_write_is_retried_after_a_drop(fake):
    fake.create_issue("acme/shop", "one")
    fake.add_fault(method="PUT", path=r"/issues/1$", kind="drop_after")
    tracker, sleeps = make(fake)
    assert tracker.close_issue(1, "completed").issue_state == "completed"
    assert len(fake.requests("PUT")) == 2 and sleeps == [1.0]


def test_dropped_create_is_ambiguous_and_not_retried(fake):
    fake.add_fault(method="POST", path=r"/issues$", kind="drop_after")
    tracker, sleeps = make(fake)
    with pytest.raises(TrackerError) as err:
        tracker.create_issue("ghost", "", None, ["guide"])
    assert err.value.kind == "ambiguous"
    assert len(fake.requests("POST", r"/issues$")) == 1
    assert [i["title"] for i in fake.issues("acme/shop").values()] == ["ghost"]  # it was applied
    assert tracker.policy.stats.retries == 0 and sleeps == []
    assert TOKEN not in str(err.value)


def test_dropped_comment_and_milestone_are_ambiguous(fake):
    fake.create_issue("acme/shop", "one")
    fake.add_fault(method="POST", path=r"/notes$", kind="drop_after")
    fake.add_fault(method="POST", path=r"/milestones$", kind="status", status=503)
    tracker, _ = make(fake)
    with pytest.raises(TrackerError) as err:
        tracker.comment(1, "hello")
    assert err.value.kind == "ambiguous"
    with pytest.raises(TrackerError) as err:
        tracker.create_milestone("v1", "")
    assert err.value.kind == "ambiguous" and err.value.status == 503
    assert len(fake.requests("POST")) == 2


def test_error_kinds_and_no_token_in_messages(fake):
    messages: list[str] = []

    def kind_of(fn) -> str:
        with pytest.raises(TrackerError) as err:
            fn()
        messages.append(str(err.value))
        messages.extend(str(a) for a in err.value.args)
        return err.value.kind

    bad, _ = make(fake, token="wrong-" + TOKEN)
    assert kind_of(lambda: bad.get_issue(1)) == "auth"
    assert kind_of(lambda: bad.list_issues("guide", None, {})) == "auth"
    anonymous, _ = make(fake, token=None)
    assert kind_of(lambda: anonymous.list_milestones({})) == "auth"

    missing, _ = make(fake, "acme/nope")
    assert kind_of(lambda: missing.list_issues("guide", None, {})) == "not_found"
    assert kind_of(lambda: missing.create_issue("x", "", None, [])) == "not_found"
    assert "404 Project Not Found" in messages[-1]

    tracker, _ = make(fake)
    assert kind_of(lambda: tracker.create_issue("x" * 256, "", None, [])) == "invalid"
    assert "title is too long" in messages[-1]
    assert kind_of(lambda: tracker.update_milestone(424242, title="x")) == "not_found"

    fake.archive("acme/shop")
    assert kind_of(lambda: tracker.create_issue("x", "", None, [])) == "forbidden"
    assert kind_of(lambda: tracker.ensure_label("guide")) == "forbidden"  # GET 404, POST 403
    fake.archive("acme/shop", False)

    fake.add_fault(method="POST", path=r"/labels$", kind="status", status=422,
                   body={"message": "unprocessable"})
    assert kind_of(lambda: tracker.ensure_label("fresh")) == "invalid"

    fake.add_fault(method="GET", path=r"/issues/1$", kind="status", status=500, times=10)
    assert kind_of(lambda: tracker.get_issue(1)) == "transient"
    assert tracker.policy.stats.retries == 4  # CallPolicy's max_retries, no more

    for text in messages:
        assert TOKEN not in text
        assert "private-token" not in text.lower()


def test_connection_refused_is_transient():
    with Fake(token=TOKEN) as fake:
        url = fake.url
    policy = CallPolicy(write_interval=0, sleep=lambda s: None, max_retries=1)
    tracker = GitLabTracker("acme/shop", TOKEN, url=url, policy=policy, timeout=2)
    with pytest.raises(TrackerError) as err:
        tracker.get_issue(1)
    assert err.value.kind == "transient" and TOKEN not in str(err.value)
    assert policy.stats.sent == 2 and policy.stats.retries == 1
