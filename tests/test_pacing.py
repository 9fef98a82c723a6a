"""Pacing to GitHub's content-creation limits across runs (issue 18).

The window (guidesync/trackers/pacing.py) and the call policy are tested on an injected clock;
whole runs go over HTTP to the fake GitHub with its model of the secondary limits switched on
(tests/fakes/secondary_limits.py), the runs' clock being the fake's and time moved on between
runs as a schedule would.
"""

from __future__ import annotations

import json
import random
import re

import pytest

from bench import generate
from guidesync.core import base as basefile
from guidesync.errors import BudgetExhausted, RateLimited
from guidesync.trackers.pacing import GITHUB, ContentLimits, ContentWindow
from guidesync.trackers.policy import CallPolicy
from tests.test_scale import _assert_consistent as assert_consistent, counted, state

TASK_LINE = re.compile(r"^\s*(?:[-*+]|\d+[.)]) (?:\[[ xX]\] )?(Task \d+.*)$", re.M)  # bench/generate.py's tasks


class Clock:
    def __init__(self, t: float = 1_800_000_000.0):
        self.t = t
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds


# ------------------------------------------------------------------------------ the window


def test_window_waits_for_the_minute_and_the_hour():
    w = ContentWindow(ContentLimits(3, 5))
    for t in (0, 10, 20):
        assert w.wait(t) == 0
        w.add(t)
    assert w.wait(30) == 32  # the write at 0 leaves the minute at 60, and 2 s of margin
    assert w.full_for(30) == "minute"
    w.add(60)
    w.add(70)
    assert w.counts(70) == (3, 5)
    assert w.full_for(70) == "hour"
    assert w.wait(70) == 3532  # the write at 0 leaves the hour at 3600 (and the margin)
    assert w.wait(3602) == 0
    assert w.kept(3602) == (10, 20, 60, 70)  # the write at 0 left
    assert w.wait(3602, writes=2) == 10  # two more: the write at 10 must leave too
    assert w.wait(3602, writes=6) == float("inf")  # more than the hour allows at all


def test_window_kept_rounds_up_and_starts_from_the_base():
    w = ContentWindow(GITHUB, [100.2, 99.0])
    assert w.kept(200) == (99, 101)
    assert ContentWindow(GITHUB, w.kept(200)).counts(130) == (2, 2)


def test_policy_waits_in_the_minute_and_stops_at_the_hour():
    clock = Clock()
    p = CallPolicy(write_interval=0, sleep=clock.sleep, clock=clock, limits=ContentLimits(80, 500), max_wait=120)
    t0 = clock.t
    made = 0
    with pytest.raises(BudgetExhausted, match="500 content-creating requests in the last hour"):
        while True:
            p.call(lambda: None, write=True)
            made += 1
    assert made == 500
    # 80 at once, then a minute's wait (and 2 s of margin), and so on: 6 full minutes, then 20
    assert clock.slept == [62.0] * 6
    assert clock.t - t0 == 372
    assert p.stats.paced == 372 and p.stats.content == (20, 500)
    # reads are never paced
    p.call(lambda: None)
    # the next run, an hour after the first write, starts from the kept window
    kept = p.content_kept()
    assert len(kept) == 500
    clock.t = t0 + 3602
    q = CallPolicy(write_interval=0, sleep=clock.sleep, clock=clock, limits=ContentLimits(80, 500), content=kept)
    assert q.stats.content == (0, 420)  # the first minute's 80 have left the hour
    again = 0
    with pytest.raises(BudgetExhausted):
        while True:
            q.call(lambda: None, write=True)
            again += 1
    # the same pace as the run before: each minute's room comes back an hour after it was used
    assert again == 500 and clock.slept == [62.0] * 12 and clock.t == t0 + 3602 + 372


def test_policy_without_limits_keeps_no_window():
    p = CallPolicy(write_interval=0, limits=ContentLimits(0, 0))
    p.call(lambda: None, write=True)
    assert p.window is None and p.content_kept() is None and "content" not in p.stats.as_dict()


def _limited(retry_after: float | None = None) -> RateLimited:
    return RateLimited("rate_limited", "secondary rate limit", status=403, retry_after=retry_after)


def test_rate_limited_without_a_wait_waits_a_minute_then_longer_then_stops():
    clock = Clock()
    p = CallPolicy(write_interval=0, sleep=clock.sleep, clock=clock, max_wait=240, max_retries=10)
    answers = iter([_limited(), _limited(), _limited(), None])

    def call():
        a = next(answers)
        if a is not None:
            raise a

    p.call(call, write=True)
    assert clock.slept == [60.0, 120.0, 240.0]
    assert p.stats.limited == 3 and p.stats.retries == 3
    # the next such answer in the same run would wait 480 s: longer than max_wait, so it stops
    with pytest.raises(BudgetExhausted, match="max_retry_wait"):
        p.call(lambda: (_ for _ in ()).throw(_limited()), write=True)
    assert clock.slept == [60.0, 120.0, 240.0] and p.stats.limited == 4


def test_rate_limited_with_a_wait_honours_it():
    clock = Clock()
    p = CallPolicy(write_interval=0, sleep=clock.sleep, clock=clock)
    answers = iter([_limited(7), None])

    def call():
        a = next(answers)
        if a is not None:
            raise a

    p.call(call, write=True)
    assert clock.slept == [7.0] and p.stats.as_dict()["limited"] == 1


def test_base_keeps_the_window_and_reads_files_without_it():
    old = basefile.dumps(basefile.Base(tracker="github", repository="acme/shop"))
    assert "content_window" not in old  # as files written before the window existed
    assert basefile.loads(old).content == ()
    text = basefile.dumps(basefile.Base(tracker="github", repository="acme/shop", content=(30, 10, 20)))
    assert '"content_window": [10, 20, 30]' in text
    assert basefile.loads(text).content == (10, 20, 30)
    with pytest.raises(basefile.BaseFileError, match="content_window"):
        basefile.loads(text.replace("[10, 20, 30]", '["10"]'))


# ------------------------------------------------------------------------------ whole runs


def paced_workspace(make_workspace, n: int, m: int, *, per_minute: int = 80, per_hour: int = 500, **limit_kw):
    """A fresh fake GitHub that enforces the content-creation limits, n generated tasks over m
    milestones, none checked (a plan just written), and guidesync told the same limits."""
    ws = make_workspace("github", guides=())
    generate.write(ws.root / "guides", n, m, checked_every=0, sub_every=0)
    ws.forge.server.limit_content(per_minute=per_minute, per_hour=per_hour, **limit_kw)
    ws.write_config(content_per_minute=per_minute, content_per_hour=per_hour, max_retry_wait=120)
    return ws


def task_lines(ws) -> list[tuple[str, bool]]:
    """Every task of the guides in file order: (its text, whether it is linked)."""
    out = []
    for p in sorted((ws.root / "guides").glob("*.md")):
        for m in TASK_LINE.finditer(p.read_text(encoding="utf-8")):
            out.append((m.group(1), "([#" in m.group(1)))
    return out


def issue_pages(log) -> int:
    return sum(1 for e in log if e.method == "GET" and e.path.endswith("/issues"))


def test_a_first_push_beyond_the_hourly_budget_stops_cleanly_and_the_next_run_resumes(make_workspace):
    n, m = 520, 5
    ws = paced_workspace(make_workspace, n, m)
    server = ws.forge.server
    out, c, log = counted(ws, "push", as_json=True)
    data = json.loads(out.text)
    assert out.code == 0 and data["complete"] is False and data["errors"] == []
    assert any("500 content-creating requests in the last hour" in w for w in data["warnings"]), data["warnings"]
    assert c["writes"] == 500 and data["requests"]["content"] == {"last_minute": 60, "last_hour": 500}
    assert data["requests"]["limited"] == 0 and server.secondary_hits == 0
    # milestones first, then tasks guide by guide: the linked tasks are the first ones, in order
    assert len(ws.forge.milestones()) == m
    made = 500 - 1 - m  # the label, the milestones, then issues
    assert [linked for _, linked in task_lines(ws)] == [True] * made + [False] * (n - made)
    assert_consistent(ws)
    assert len(state(ws)["content_window"]) == 500

    server.clock.tick(3600)  # the next scheduled run, an hour later
    out, c, log = counted(ws, "sync", as_json=True)
    data = json.loads(out.text)
    assert out.code == 0 and data["complete"] is True, data["warnings"]
    assert c["writes"] == n - made
    # it listed what the last run wrote (494 issues: 5 pages), and nothing twice
    assert issue_pages(log) == 5
    assert server.secondary_hits == 0 and server.early_retries == 0
    assert server.content_peak(3600, web=False) <= 500 and server.content_peak(60, web=False) <= 80
    assert len(ws.forge.issues()) == n and all(linked for _, linked in task_lines(ws))
    assert_consistent(ws)

    # the sync after re-lists the k = 26 issues the last run wrote: one page, then a no-op costs 2
    server.clock.tick(3600)
    out, c, log = counted(ws, "sync")
    assert out.code == 0 and c["writes"] == 0 and issue_pages(log) == 1 and c["total"] == 2
    for _ in range(2):
        server.clock.tick(3600)
        out, c, log = counted(ws, "sync")
        assert c["total"] == 2 and c["writes"] == 0
    assert c["charged"] == 0  # once the mark has settled, both are answered 304


def test_someone_elses_content_fills_the_window_waits_grow_and_the_run_stops(make_workspace):
    """A person's work on the web counts in the same budget: GitHub refuses without saying how
    long to wait. guidesync waits a minute, then two, then stops; never retries early."""
    ws = paced_workspace(make_workspace, 20, 2, retry_after=None)
    server = ws.forge.server
    server.spend_content(500)
    out, c, _ = counted(ws, "push", as_json=True)
    data = json.loads(out.text)
    assert out.code == 0 and data["complete"] is False and data["errors"] == []
    assert ws.sleeps == [60.0, 120.0]
    assert data["requests"]["limited"] == 3 and server.secondary_hits == 3 and server.early_retries == 0
    assert ws.forge.issues() == {}
    server.clock.tick(3600)
    out, c, _ = counted(ws, "sync", as_json=True)
    data = json.loads(out.text)
    assert out.code == 0 and data["complete"] is True
    assert len(ws.forge.issues()) == 20 and server.early_retries == 0
    assert_consistent(ws)


@pytest.mark.parametrize("seed", range(4))
def test_random_schedules_never_exceed_the_limits(make_workspace, seed):
    """Small limits (so that a few dozen tasks span several runs), random gaps between runs and
    random commands: no run is refused, none retries early, no task gets two issues, and in the
    end every task is linked."""
    rng = random.Random(seed)
    per_minute, per_hour = rng.randint(3, 8), rng.randint(12, 30)
    n, m = rng.randint(20, 45), rng.randint(2, 4)
    ws = paced_workspace(make_workspace, n, m, per_minute=per_minute, per_hour=per_hour)
    server = ws.forge.server
    runs = 0
    while True:
        runs += 1
        assert runs < 40, "does not converge"
        out = ws.run(rng.choice(["push", "sync", "sync"]), as_json=True)
        data = json.loads(out.text)
        assert out.code == 0 and data["errors"] == [], data
        assert server.secondary_hits == 0 and server.early_retries == 0
        assert_consistent(ws)
        if data["complete"] and all(linked for _, linked in task_lines(ws)):
            break
        server.clock.tick(rng.choice([300, 1800, 3600, 5400]))
    assert server.content_peak(60, web=False) <= per_minute
    assert server.content_peak(3600, web=False) <= per_hour
    assert len(ws.forge.issues()) == n


def issues_listed(log) -> list[int]:
    """The issues the listing answers held (GitHub's number, GitLab's iid), page by page."""
    out = []
    for e in log:
        if e.method == "GET" and e.path.endswith("/issues") and isinstance(e.response, list):
            out += [int(i.get("number") or i.get("iid")) for i in e.response]
    return out


@pytest.mark.parametrize("forge", ["github", "gitlab"])
def test_the_sync_after_a_push_relists_exactly_what_it_wrote(make_workspace, forge):
    """k writes, then a listing of exactly those k issues: after the first push (k = N creates),
    and after a run that created some and changed others."""
    from tests.test_scale import edit_guides, generated

    n = 230
    ws = generated(make_workspace, forge, n, 4)
    clock = ws.forge.server.clock
    out, c, _ = counted(ws, "push")
    assert out.code == 0
    clock.tick(3600)
    out, c, log = counted(ws, "sync")
    listed = issues_listed(log)
    assert sorted(listed) == sorted(ws.forge.issues()) and len(listed) == n  # each once: no second listing
    assert issue_pages(log) == 3
    clock.tick(3600)
    out, c, log = counted(ws, "sync")
    assert issues_listed(log) == [] and c["writes"] == 0
    # 3 new tasks and 2 edited ones: 5 writes, then exactly those 5 issues are listed
    edit_guides(ws, lambda name, text: text.replace("- [ ] Task 2:", "- [ ] Task 2 (revised):")
                .replace("- [ ] Task 5:", "- [ ] Task 5 (revised):"))
    edit_guides(ws, lambda name, text: text.replace("- [ ] Task 1: ", "- [ ] New task A\n- [ ] New task B\n"
                                                    "- [ ] New task C\n- [ ] Task 1: ", 1))
    clock.tick(3600)
    before = set(ws.forge.issues())
    out, c, log = counted(ws, "sync")
    assert out.code == 0 and c["writes"] == 5, out.text
    written = (set(ws.forge.issues()) - before) | {n for n, i in ws.forge.issues().items()
                                                   if "(revised)" in i["title"]}
    assert len(written) == 5
    clock.tick(3600)
    out, c, log = counted(ws, "sync")
    assert sorted(issues_listed(log)) == sorted(written) and c["writes"] == 0
    # a person comments on an issue (it is listed, needing nothing) while 2 tasks are added: the
    # run lists it and creates 2; the next lists exactly those 2, not the commented one again
    clock.tick(3600)
    commented = min(ws.forge.issues())
    server = ws.forge.server
    (server.add_comment if forge == "github" else server.add_note)(ws.forge.repo, commented, "Looks good")
    clock.tick(600)  # (a change less than the listing's 2-minute overlap before it is listed again, on purpose)
    edit_guides(ws, lambda name, text: text.replace("- [ ] Task 1: ", "- [ ] New task D\n- [ ] New task E\n"
                                                    "- [ ] Task 1: ", 1))
    before = set(ws.forge.issues())
    out, c, log = counted(ws, "sync")
    assert issues_listed(log) == [commented] and c["writes"] == 2
    created = set(ws.forge.issues()) - before
    clock.tick(3600)
    out, c, log = counted(ws, "sync")
    assert sorted(issues_listed(log)) == sorted(created) and c["writes"] == 0


def test_a_secondary_limit_answer_is_read_as_github_documents():
    """retry-after first; else x-ratelimit-reset only when x-ratelimit-remaining is 0; else no
    wait of its own (the policy then waits at least a minute)."""
    import time

    from github import GithubException

    from guidesync.trackers.github import translate

    body = {"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}
    reset = str(int(time.time()) + 1800)

    def read(headers):
        return translate(GithubException(403, body, headers), "creating issue")

    assert read({"retry-after": "42", "x-ratelimit-remaining": "4000", "x-ratelimit-reset": reset}).retry_after == 42
    unknown = read({"x-ratelimit-remaining": "4000", "x-ratelimit-reset": reset})
    assert isinstance(unknown, RateLimited) and unknown.retry_after is None
    spent = read({"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset}).retry_after
    assert 1790 <= spent <= 1800
    assert isinstance(translate(GithubException(429, body, {}), "creating issue"), RateLimited)


def test_doctor_says_what_the_window_holds(make_workspace):
    from guidesync.doctor import doctor

    ws = paced_workspace(make_workspace, 30, 2, per_minute=5, per_hour=20)
    out = ws.run("push", as_json=True)
    assert json.loads(out.text)["complete"] is False
    checks = {c.name: c.detail for c in doctor(ws.context()).data}
    assert checks["content window"].startswith("20 writes in the last hour of 20 allowed, ")
    minutes = re.search(r"; room again in (\d+) min$", checks["content window"])
    assert minutes and 50 <= int(minutes.group(1)) <= 60, checks["content window"]  # the first write's hour
    ws.forge.server.clock.tick(3602)
    checks = {c.name: c.detail for c in doctor(ws.context()).data}
    assert checks["content window"] == "0 writes in the last hour of 20 allowed, 0 in the last minute; room for more now"


def test_a_reset_is_measured_on_the_servers_clock():
    """x-ratelimit-reset is the server's epoch: against the answer's own Date, not the runner's
    clock; a reset the server says is past gives no wait of its own (the policy's minute applies)."""
    from email.utils import formatdate

    from guidesync.trackers.policy import retry_wait

    server_now = 1_800_000_000
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(server_now + 900),
               "date": formatdate(server_now, usegmt=True)}
    assert retry_wait(headers, "x-ratelimit-reset", spent="x-ratelimit-remaining") == 900
    past = {**headers, "x-ratelimit-reset": str(server_now - 5)}
    assert retry_wait(past, "x-ratelimit-reset", spent="x-ratelimit-remaining") is None
    later = {**headers, "retry-after": formatdate(server_now + 30, usegmt=True)}
    assert retry_wait(later, "x-ratelimit-reset") == 30
