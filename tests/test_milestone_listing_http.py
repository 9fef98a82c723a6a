"""GitLab: a quiet sync costs two requests whatever the number of milestones (issue 18), over HTTP
with the fake GitLab.

GitLab 15.10+ filters a milestone listing by ``updated_after``; an older GitLab ignores the
parameter and lists every milestone. Which of the two a server is, is asked of the server once,
right after the first listing that shows a milestone (a listing from a time no milestone can have
changed after: none listed, or all), and kept in the base (``capabilities.milestones_since``). From
then on a quiet run lists the issues and the milestones changed since the same mark: 2 requests,
at M = 150 as at M = 4 (a full listing of M = 150 is two pages). The fallback lists every milestone,
as before: ceil(M/100) + 1 requests.

Scheduled runs are an hour apart: the fake's clock is moved on by an hour before every run, else
the last two minutes of writes stay inside every listing's window (the mark's overlap).
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime, timedelta, timezone

import pytest

from bench import generate
from guidesync.core.base import Base, format_time
from guidesync.fetch import SINCE_OVERLAP, fetch
from guidesync.trackers.base import Listing, RemoteIssue
from guidesync.trackers.gitlab import GitLabTracker
from tests.conftest import TOKEN, number_of
from tests.fakes.gitlab import FakeGitLab
from tests.tracker_contract import policy

REPO = "acme/shop"
M = 150  # two pages of milestones
HOUR = 3600
PROBE = "2999-01-01T00:00:00Z"  # the updated_after of the one question (see GitLabTracker)
LINK = re.compile(r"\(\[#(\d+)\]\(")


def workspace(make_workspace, version: str, m: int = M, n: int | None = None):
    ws = make_workspace("gitlab", guides=())
    ws.forge.server.version = version
    generate.write(ws.root / "guides", n or m, m)
    return ws


def run(ws, mode: str = "sync", *, later: float = HOUR, **kw):
    """One scheduled run, ``later`` seconds after the last: (outcome, the requests it sent)."""
    ws.forge.server.clock.tick(later)
    start = len(ws.forge.server.log)
    out = ws.run(mode, **kw)
    assert out.code == 0, out.text
    return out, ws.forge.server.log[start:]


def shown(log) -> list[tuple[str, str, str | None]]:
    """(method, last path segment, updated_after) of each request: what a run asked."""
    return [(e.method, e.path.rsplit("/", 1)[-1], (e.query.get("updated_after") or [None])[0]) for e in log]


def probes(log) -> int:
    return sum(1 for e in log if e.path.endswith("/milestones") and e.query.get("updated_after") == [PROBE])


def state(ws) -> dict:
    return json.loads(ws.state_text())


def pushed(ws):
    """The first push, then the settling sync an hour later (it reads back what the push wrote, and
    asks its one question): the logs of both."""
    _, push = run(ws, "push", later=0)
    _, settling = run(ws)
    return push, settling


@pytest.mark.parametrize("version", ["16.11.0-ee", "15.10.0"])
def test_a_quiet_sync_costs_two_requests_at_150_milestones(make_workspace, version):
    ws = workspace(make_workspace, version)
    push, settling = pushed(ws)
    assert len(ws.forge.milestones()) == M
    assert probes(push) == 0  # no milestone yet when the push listed them: nothing to learn from
    # the settling sync lists every milestone (two pages), asks once, and keeps the answer
    ms = [e for e in settling if e.path.endswith("/milestones") and e.method == "GET"]
    assert [e.query.get("page") for e in ms] == [None, ["2"], None] and probes(settling) == 1
    assert state(ws)["capabilities"] == {"milestones_since": True}
    runs = [run(ws)[1] for _ in range(3)]
    for log in runs:
        mark = state(ws)["since"]
        assert len(log) == 2, shown(log)
        (ms_get, issues_get) = log
        assert ms_get.path.endswith("/milestones") and issues_get.path.endswith("/issues")
        # both from the one listing mark, the milestones as before (all states, the groups' too)
        assert ms_get.query["updated_after"] == issues_get.query["updated_after"]
        assert ms_get.query["include_ancestors"] == ["true"] and ms_get.query["state"] == ["all"]
        assert ms_get.response == [] and issues_get.response == []
        assert mark is not None
    assert probes([e for log in runs for e in log]) == 0  # asked once, never on a quiet run


def test_an_older_gitlab_lists_every_milestone_and_stays_correct(make_workspace):
    """GitLab 15.9 ignores updated_after on milestones: learned once, then every run lists them all
    (ceil(M/100) + 1 requests), and the syncs still do their work."""
    ws = workspace(make_workspace, "15.9.0")
    _, settling = pushed(ws)
    assert probes(settling) == 1 and state(ws)["capabilities"] == {"milestones_since": False}
    for _ in range(2):
        _, log = run(ws)
        assert len(log) == math.ceil(M / 100) + 1 == 3, shown(log)
        assert [s[2] for s in shown(log)[:2]] == [None, None]  # the milestones: no updated_after sent
        assert probes(log) == 0
    # correct all the same: a person closes an issue, its box is checked; a new task gets its
    # issue, in its section's milestone
    guide = ws.root / "guides" / "feature-00002.md"
    text = guide.read_text(encoding="utf-8")
    closed = number_of(text, "Task 1: implement")
    ws.forge.close(closed)
    line = next(x for x in text.splitlines() if "Task 1: implement" in x)
    guide.write_text(text.replace(line, "- [ ] Seed data for step 1\n" + line, 1), encoding="utf-8")
    _, log = run(ws)
    text = guide.read_text(encoding="utf-8")
    assert next(x for x in text.splitlines() if "Task 1: implement" in x).startswith("- [x] ")
    created = [e for e in log if e.method == "POST" and e.path.endswith("/issues")]
    assert len(created) == 1 and number_of(text, "Seed data for step 1") == created[0].response["iid"]
    assert created[0].body["milestone_id"] == ws.forge.server.issues(REPO)[closed]["milestone"]["id"]
    # every milestone listed as on every run, nothing else; no milestone made again
    assert len(log) == 3 + 1 and len(ws.forge.milestones()) == M


def test_a_person_renaming_or_closing_a_milestone_is_seen_by_the_changed_only_listing(make_workspace):
    ws = workspace(make_workspace, "17.8.0-ee", m=12)
    pushed(ws)
    ids = sorted(ws.forge.milestones())
    server = ws.forge.server
    server.clock.tick(600)
    server.rename_milestone(REPO, ids[0], "Renamed by a person")
    server.close_milestone(REPO, ids[1])
    _, log = run(ws)
    assert len(log) == 2, shown(log)
    listed = {m["id"]: (m["title"], m["state"]) for m in log[0].response}
    assert listed == {ids[0]: ("Renamed by a person", "active"), ids[1]: (server.milestones(REPO)[ids[1]]["title"], "closed")}
    assert not [e for e in log if e.is_write]  # as before: a person's rename or close is theirs
    # seen once: the next run's listing starts after it
    _, log = run(ws)
    assert len(log) == 2 and log[0].response == []
    # the guide renames its section: that milestone is written, every milestone listed first
    guide = next(p for p in sorted((ws.root / "guides").glob("*.md")) if "Phase" in p.read_text(encoding="utf-8"))
    text = guide.read_text(encoding="utf-8")
    title = re.search(r"^# (Phase \d+: [^\n]+?) - Detailed", text, re.M).group(1)
    guide.write_text(text.replace(f"# {title} - Detailed", f"# {title} again - Detailed", 1), encoding="utf-8")
    _, log = run(ws)
    calls = shown(log)
    assert calls[:3] == [("GET", "milestones", calls[0][2]), ("GET", "issues", calls[0][2]), ("GET", "milestones", None)]
    written = [e for e in log if e.is_write and "/milestones/" in e.path]
    assert len(written) == 1 and written[0].method == "PUT" and written[0].body["title"] == f"{title} again"


def test_a_milestone_deleted_between_full_listings_is_made_again_never_written_into_blind(make_workspace):
    """Deleted on the tracker, a milestone is missing from a changed-only listing like any unchanged
    one. GitLab takes it off each of its issues (each updated): the issue listing shows them, so
    the run lists every milestone, and does what a full listing did before: the milestone made
    again, its issues moved into it. One deleted after its issues left it shows nowhere; the task
    added to its section later makes that run list every milestone before it creates the issue."""
    ws = workspace(make_workspace, "17.8.0-ee", m=12, n=24)
    pushed(ws)
    server = ws.forge.server
    issues = server.issues(REPO)
    by_ms: dict[int, list[int]] = {}
    for n, i in issues.items():
        by_ms.setdefault(i["milestone"]["id"], []).append(n)
    first, second = sorted(by_ms)[:2]
    title = server.milestones(REPO)[first]["title"]
    server.delete_milestone(REPO, first)
    out, log = run(ws)
    calls = shown(log)
    assert calls[:3] == [("GET", "milestones", calls[0][2]), ("GET", "issues", calls[0][2]), ("GET", "milestones", None)]
    assert calls[0][2] is not None
    made = [e for e in log if e.method == "POST" and e.path.endswith("/milestones")]
    assert len(made) == 1 and made[0].body["title"] == title
    again = made[0].response["id"]
    assert sorted(n for n, i in server.issues(REPO).items() if (i["milestone"] or {}).get("id") == again) == sorted(by_ms[first])
    assert len(log) == 3 + 1 + len(by_ms[first])
    assert any("was deleted on the tracker; it is created again" in w for w in out.data.warnings)
    assert len(run(ws)[1]) == 2  # quiet again

    # a person takes the issues out of the second milestone, then deletes it: nothing shows that
    for n in by_ms[second]:
        server.edit_issue(REPO, n, milestone_id=0)
    _, log = run(ws)  # the issues left a milestone the listing did not show: every one listed; the person's move stays
    assert [(m, p) for m, p, _ in shown(log)] == [("GET", "milestones"), ("GET", "issues"), ("GET", "milestones")]
    server.clock.tick(60)
    title = server.milestones(REPO)[second]["title"]
    server.delete_milestone(REPO, second)
    _, log = run(ws)
    assert len(log) == 2 and log[1].response == []  # a quiet run: nothing to see, nothing done
    guide = next(p for p in sorted((ws.root / "guides").glob("*.md")) if f"[#{by_ms[second][0]}](" in p.read_text(encoding="utf-8"))
    text = guide.read_text(encoding="utf-8")
    line = next(x for x in text.splitlines() if f"[#{by_ms[second][0]}](" in x)
    guide.write_text(text.replace(line, "- [ ] Seed data\n" + line, 1), encoding="utf-8")
    _, log = run(ws)
    assert shown(log)[2] == ("GET", "milestones", None)  # every milestone, before anything is written
    made = [e for e in log if e.method == "POST" and e.path.endswith("/milestones")]
    assert len(made) == 1 and made[0].body["title"] == title
    created = [e for e in log if e.method == "POST" and e.path.endswith("/issues")]
    assert len(created) == 1 and created[0].body["milestone_id"] == made[0].response["id"]


def test_a_base_of_the_previous_version_learns_it_once(make_workspace):
    """A base written before the capability existed has no key: the next run lists every milestone
    and asks once; the runs after it cost two requests. Counted over several hourly runs."""
    ws = workspace(make_workspace, "16.11.0-ee")
    pushed(ws)
    path = ws.root / ".guidesync" / "state.json"
    old = state(ws)
    del old["capabilities"]
    path.write_text(json.dumps(old, indent=2) + "\n", encoding="utf-8")
    logs = [run(ws)[1] for _ in range(4)]
    assert [len(log) for log in logs] == [math.ceil(M / 100) + 1 + 1, 2, 2, 2]
    assert [probes(log) for log in logs] == [1, 0, 0, 0]
    assert state(ws)["capabilities"] == {"milestones_since": True}


def test_full_listings_list_every_milestone(make_workspace):
    """``--full`` and the daily full listing (``full_sync_hours``) take nothing on trust: every
    milestone, every issue. The daily one is known due only from the server's clock, which the
    first (changed-only) listing gives: one request more, once a day."""
    ws = workspace(make_workspace, "16.11.0-ee")
    pushed(ws)
    n_pages = math.ceil(M / 100)  # issues: N = M here
    _, log = run(ws, full=True)
    assert shown(log) == [("GET", "milestones", None)] * 2 + [("GET", "issues", None)] * n_pages
    _, log = run(ws, later=25 * HOUR)
    calls = shown(log)
    assert calls[0][2] is not None and calls[1:] == [("GET", "milestones", None)] * 2 + [("GET", "issues", None)] * n_pages
    assert len(run(ws)[1]) == 2


# ------------------------------------------------------------------------ the adapter itself


@pytest.fixture
def fake():
    server = FakeGitLab(token=TOKEN, projects=(REPO,)).start()
    yield server
    server.stop()


def adapter(fake, **capabilities) -> GitLabTracker:
    return GitLabTracker(REPO, TOKEN, url=fake.url, policy=policy(), timeout=5, capabilities=capabilities)


def test_the_question_waits_for_a_milestone_and_a_failed_one_is_asked_again(fake):
    t = adapter(fake)
    assert t.list_milestones({}).items == () and t.capabilities == {}  # none yet: nothing to learn from
    assert len(fake.log) == 1
    fake.create_milestone(REPO, "v1")
    fake.add_fault(method="GET", path=r"/milestones$", kind="status", status=503, nth=2, times=10)
    listing = t.list_milestones({})  # the listing is fine, the question is not answered: undecided
    assert [m.title for m in listing.items] == ["v1"] and not listing.partial and t.capabilities == {}
    fake.clear_faults()
    t.list_milestones({})
    assert t.capabilities == {"milestones_since": True}


@pytest.mark.parametrize("version,learned", [("16.11.0-ee", True), ("15.9.0", False)])
def test_since_is_sent_only_where_the_server_honours_it(fake, version, learned):
    fake.version = version
    old = fake.create_milestone(REPO, "old")
    fake.clock.tick(HOUR)
    mark = fake.clock.now()
    fake.clock.tick(60)
    fake.create_milestone(REPO, "new")
    t = adapter(fake)
    first = t.list_milestones({}, since=mark)  # not learned yet: every milestone, then the question
    assert not first.partial and len(first.items) == 2 and t.capabilities == {"milestones_since": learned}
    fake.reset_log()
    again = t.list_milestones({}, since=mark)
    assert [m.title for m in again.items] == (["new"] if learned else ["new", "old"]) and again.partial is learned
    (call,) = fake.log
    assert call.query.get("updated_after") == ([mark.strftime("%Y-%m-%dT%H:%M:%SZ")] if learned else None)
    # what an earlier run learned is taken as it is: no question
    kept = adapter(fake, milestones_since=learned)
    fake.reset_log()
    assert kept.list_milestones({}).items and len(fake.log) == 1
    assert old in {m.number for m in kept.list_milestones({}).items}


def test_the_next_mark_never_starts_after_the_milestone_listing():
    """A change made to a milestone while the listings ran (a slow listing, a wait for the rate
    limit) is listed again by the next run, not missed: its mark is at most the milestone
    listing's time less the overlap, even when the issue listing came much later."""
    t0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)

    class Slow:
        def list_milestones(self, etags, since=None):
            return Listing((), {}, t0, partial=since is not None)

        def list_issues(self, label, since, etags):
            late = t0 + timedelta(minutes=10)
            return Listing((RemoteIssue(7, "u", "t", "b", "open", None, ("guidesync",), updated_at=late - timedelta(seconds=5)),),
                           {}, late)

        def get_issue(self, number):
            raise AssertionError("not asked")

    base = Base(since="2026-03-01T11:00:00Z", full_at="2026-03-01T11:00:00Z", records={})
    got = fetch(Slow(), base, "guidesync", {7}, full=False, full_sync_hours=24)
    assert got.snapshot.milestones_partial and got.snapshot.milestones == {}
    bound = format_time(t0 - SINCE_OVERLAP)
    assert got.since == bound and got.since_if_quiet == bound


def test_doctor_says_what_the_base_learned_about_milestone_listings(make_workspace):
    from guidesync.doctor import doctor

    details = []
    for version in ("16.11.0-ee", "15.9.0"):
        ws = workspace(make_workspace, version, m=4, n=8)
        before = {c.name: c.detail for c in doctor(ws.context()).data}["milestones"]
        pushed(ws)
        details.append((before, {c.name: c.detail for c in doctor(ws.context()).data}["milestones"]))
    assert details == [
        ("not learned yet (at the first run that lists a milestone)", "a run lists only those changed since the last (updated_after)"),
        ("not learned yet (at the first run that lists a milestone)",
         "every run lists them all: this GitLab ignores updated_after (15.10 and later filter by it)"),
    ]
