"""The tracker contract: what the engine may rely on from any :class:`~guidesync.trackers.base.Tracker`.

One class of tests (like vdirsyncer's ``StorageTests``), subclassed once per tracker: the GitHub
adapter over the fake GitHub, the GitLab adapter over the fake GitLab, and the in-memory tracker.
A subclass gives two fixtures: ``person``, somebody acting on the tracker's side (a
:class:`Person`), and ``tracker``, a fresh tracker on the same repository (``person.tracker()``).

:class:`HierarchyContract` holds the sub-issue operations to the same standard, once per way a
tracker makes them (``Person.hierarchy``): GitHub's REST sub-issues ("sub_issues"), GitHub's or
GitLab's GraphQL ("graphql"), GitLab's issue links ("links", no parent, no order) and nothing
("none"). What the remote holds is read through the Person, never through the tracker.
"""

from __future__ import annotations

import pytest

from guidesync.errors import Conflict, Forbidden, Gone, Invalid, NotFound
from guidesync.trackers.base import CallPolicy, Tracker

LABEL = "guidesync"


class Person:
    """What people do on the tracker, outside guidesync (each forge's fake, or the memory remote)."""

    reasons = True  # the tracker keeps close reasons (GitLab has none)
    etags = True  # an unchanged listing can come back "not modified"

    def tracker(self, **kw: object) -> Tracker:
        """A new tracker on the repository (``kw``: e.g. the ``hierarchy_mode`` a base kept)."""
        raise NotImplementedError

    def close(self, n: int, reason: str = "completed") -> None:
        raise NotImplementedError

    def retitle(self, n: int, title: str) -> None:
        raise NotImplementedError

    def delete(self, n: int) -> None:
        raise NotImplementedError

    def delete_milestone(self, number: int) -> None:
        raise NotImplementedError

    def lock(self, n: int) -> None:  # pragma: no cover - where the forge (or its fake) cannot lock
        pytest.skip("issues cannot be locked here")

    def later(self, seconds: float) -> None:
        raise NotImplementedError

    def comments(self, n: int) -> list[str]:
        raise NotImplementedError

    def requests(self) -> dict[str, int]:
        """What the tracker's side saw: {"total", "writes"}."""
        raise NotImplementedError

    # -- hierarchy ---------------------------------------------------------------------------
    hierarchy = "sub_issues"  # the mode the tracker should work in here
    learned = None  # the mode it learns first, when not that one (a fallback follows)
    probe_requests = 1  # what learning it costs
    fallback_requests = 0  # requests the first create of a child spends on the fallback

    def children(self, n: int) -> list[int]:
        """The sub-issues of ``n`` in the remote's order (links: the linked issues, sorted)."""
        raise NotImplementedError

    def parent(self, n: int) -> int | None:
        raise NotImplementedError

    def adopt(self, parent: int, child: int) -> None:
        """Somebody puts ``child`` under ``parent`` by hand."""
        raise NotImplementedError

    # -- metadata ----------------------------------------------------------------------------
    def blockers(self, n: int) -> list[int]:
        """The issues recorded on the tracker as blocking ``n`` (dependencies or links)."""
        raise NotImplementedError


def policy() -> CallPolicy:
    return CallPolicy(write_interval=0, sleep=lambda s: None)


class TrackerContract:
    @pytest.fixture
    def person(self) -> Person:
        raise NotImplementedError

    @pytest.fixture
    def tracker(self, person: Person) -> Tracker:
        tracker = person.tracker()
        tracker.learn_web()  # as every run starts (an adapter may ask for the address once)
        return tracker

    # -- issues ------------------------------------------------------------------------------

    def test_create_then_get_and_list(self, tracker, person):
        a = tracker.create_issue("First", "body one", None, [LABEL])
        b = tracker.create_issue("Second", "", None, [LABEL, "extra"])
        assert b.number != a.number
        assert (a.title, a.body, a.issue_state, a.milestone, LABEL in a.labels) == ("First", "body one", "open", None, True)
        assert a.updated_at is not None and not a.locked
        assert tracker.issue_number_from_url(a.url) == a.number
        got = tracker.get_issue(a.number)
        assert (got.number, got.title, got.body, got.issue_state, got.url) == (a.number, "First", "body one", "open", a.url)
        listed = tracker.list_issues(LABEL, None, {})
        assert {i.number for i in listed.items} == {a.number, b.number}
        assert listed.server_time is not None

    def test_listing_takes_only_the_label_and_every_state(self, tracker, person):
        kept = tracker.create_issue("Kept", "", None, [LABEL])
        tracker.create_issue("Other", "", None, ["other"])
        person.close(kept.number)
        (only,) = tracker.list_issues(LABEL, None, {}).items
        assert only.number == kept.number and only.issue_state == "completed"

    def test_update_title_body_labels_milestone(self, tracker, person):
        ms = tracker.create_milestone("Phase 1", "")
        n = tracker.create_issue("Old", "old body", None, [LABEL]).number
        updated = tracker.update_issue(n, title="New", body="new body", milestone=ms.number, labels=(LABEL, "more"))
        assert (updated.title, updated.body, updated.milestone) == ("New", "new body", ms.number)
        assert set(updated.labels) == {LABEL, "more"}
        cleared = tracker.update_issue(n, milestone=None)
        assert cleared.milestone is None and cleared.title == "New"
        assert tracker.get_issue(n).title == "New"

    def test_close_with_a_reason_and_reopen(self, tracker, person):
        n = tracker.create_issue("Task", "", None, [LABEL]).number
        closed = tracker.close_issue(n, "not_planned")
        assert closed.issue_state == ("not_planned" if person.reasons else "completed")
        assert tracker.get_issue(n).issue_state == closed.issue_state
        assert tracker.reopen_issue(n).issue_state == "open"
        assert tracker.close_issue(n, "completed").issue_state == "completed"

    def test_a_person_closing_with_a_reason_is_seen(self, tracker, person):
        n = tracker.create_issue("Task", "", None, [LABEL]).number
        person.close(n, "not_planned")
        assert tracker.get_issue(n).issue_state == ("not_planned" if person.reasons else "completed")

    def test_an_unknown_issue_is_not_found(self, tracker):
        assert tracker.get_issue(999) is None
        with pytest.raises(NotFound):
            tracker.update_issue(999, title="x")
        with pytest.raises(NotFound):
            tracker.close_issue(999, "completed")
        with pytest.raises(NotFound):
            tracker.comment(999, "hello")

    def test_a_deleted_issue_is_none_and_refuses_writes(self, tracker, person):
        n = tracker.create_issue("Doomed", "", None, [LABEL]).number
        person.delete(n)
        assert tracker.get_issue(n) is None
        assert tracker.list_issues(LABEL, None, {}).items == ()
        with pytest.raises((NotFound, Gone)):
            tracker.update_issue(n, title="back")

    def test_an_unknown_milestone_is_refused_or_left_off(self, tracker):
        try:
            created = tracker.create_issue("Task", "", 9999, [LABEL])
        except (Invalid, NotFound):
            return  # GitHub: 422
        assert created.milestone is None  # GitLab leaves it off

    # -- comments ----------------------------------------------------------------------------

    def test_comment(self, tracker, person):
        n = tracker.create_issue("Task", "", None, [LABEL]).number
        tracker.comment(n, "Closed: the task left its guide.")
        assert person.comments(n) == ["Closed: the task left its guide."]

    def test_a_locked_issue_refuses_comments(self, tracker, person):
        n = tracker.create_issue("Task", "", None, [LABEL]).number
        person.lock(n)
        assert tracker.get_issue(n).locked
        with pytest.raises(Forbidden):
            tracker.comment(n, "hello")

    # -- milestones and labels ---------------------------------------------------------------

    def test_milestones_create_update_list(self, tracker):
        a = tracker.create_milestone("Phase 1", "first")
        b = tracker.create_milestone("Phase 2", "")
        assert (a.title, a.description, a.state) == ("Phase 1", "first", "open") and a.number != b.number
        renamed = tracker.update_milestone(a.number, title="Phase 1: Groundwork")
        assert renamed.title == "Phase 1: Groundwork" and renamed.description == "first"
        assert tracker.update_milestone(b.number, description="second").description == "second"
        listed = {m.number: m.title for m in tracker.list_milestones({}).items}
        assert listed == {a.number: "Phase 1: Groundwork", b.number: "Phase 2"}
        with pytest.raises(Conflict):
            tracker.create_milestone("Phase 2", "")

    def test_numbers_are_never_given_twice(self, tracker, person):
        gone = tracker.create_issue("Doomed", "", None, [LABEL]).number
        person.delete(gone)
        assert tracker.create_issue("Next", "", None, [LABEL]).number != gone
        ms = tracker.create_milestone("Doomed", "").number
        person.delete_milestone(ms)
        again = tracker.create_milestone("Doomed", "")
        assert again.number != ms and [m.number for m in tracker.list_milestones({}).items] == [again.number]

    def test_ensure_label_is_idempotent(self, tracker, person):
        before = tracker.policy.stats.sent
        assert tracker.ensure_label(LABEL) is True
        assert tracker.policy.stats.sent - before == 2  # read (missing), then create
        assert tracker.ensure_label(LABEL) is False
        assert tracker.policy.stats.sent - before == 3  # read only
        assert person.tracker().ensure_label(LABEL) is False
        n = tracker.create_issue("Task", "", None, [LABEL]).number
        assert LABEL in tracker.get_issue(n).labels

    # -- listings: since and not modified ----------------------------------------------------

    def test_since_lists_only_what_changed_after_the_mark(self, tracker, person):
        a = tracker.create_issue("A", "", None, [LABEL]).number
        b = tracker.create_issue("B", "", None, [LABEL]).number
        person.later(3600)
        mark = tracker.list_issues(LABEL, None, {}).server_time
        assert tracker.list_issues(LABEL, mark, {}).items == ()
        person.later(60)
        person.retitle(b, "B, retitled")
        (changed,) = tracker.list_issues(LABEL, mark, {}).items
        assert changed.number == b and changed.title == "B, retitled" and changed.updated_at >= mark
        assert {i.number for i in tracker.list_issues(LABEL, None, {}).items} == {a, b}

    def test_an_unchanged_listing_is_not_modified_and_free(self, tracker, person):
        n = tracker.create_issue("A", "", None, [LABEL]).number
        tracker.create_milestone("Phase 1", "")
        first = tracker.list_issues(LABEL, None, {})
        ms = tracker.list_milestones({})
        stats = tracker.policy.stats
        charged, sent = stats.charged, stats.sent
        again = tracker.list_issues(LABEL, None, first.etags)
        ms_again = tracker.list_milestones(ms.etags)
        assert stats.sent == sent + 2
        if person.etags:
            assert again.items is None and ms_again.items is None and stats.charged == charged
            assert again.etags == first.etags
        else:
            assert again.items == first.items and ms_again.items == ms.items
        person.later(60)
        person.retitle(n, "A, retitled")
        changed = tracker.list_issues(LABEL, None, first.etags)
        assert [i.title for i in changed.items] == ["A, retitled"]

    # -- requests ----------------------------------------------------------------------------

    def test_requests_are_counted_as_the_tracker_sees_them(self, tracker, person):
        seen, stats = person.requests(), tracker.policy.stats
        sent, writes = stats.sent, stats.writes
        n = tracker.create_issue("A", "", None, [LABEL]).number
        tracker.get_issue(n)
        tracker.update_issue(n, title="B")
        tracker.list_issues(LABEL, None, {})
        assert (stats.sent - sent, stats.writes - writes) == (4, 2)
        now = person.requests()
        assert (now["total"] - seen["total"], now["writes"] - seen["writes"]) == (4, 2)

    # -- web addresses -----------------------------------------------------------------------

    def test_web_addresses(self, tracker):
        address = tracker.learn_web()
        assert address.startswith(("http://", "https://"))
        assert tracker.guide_url("guides/phase 1.md", "main").startswith(address + "/")
        assert "phase%201.md" in tracker.guide_url("guides/phase 1.md", "main")
        n = tracker.create_issue("A", "", None, [LABEL])
        assert tracker.issue_number_from_url(n.url + "/") == n.number
        assert tracker.issue_number_from_url("https://elsewhere.example/other/repo/issues/1") is None
        assert set(tracker.limits()) >= {"title", "body"}



class HierarchyContract:
    """Sub-issues (GitLab: child tasks), for every mode; the subclass gives ``person`` and uses
    the ``tracker`` fixture of :class:`TrackerContract` (or its own)."""

    @pytest.fixture
    def tracker(self, person: Person) -> Tracker:
        tracker = person.tracker()
        tracker.learn_web()
        return tracker

    @staticmethod
    def family(tracker: Tracker, children: int = 3) -> tuple[int, list[int]]:
        """A parent and its would-be children, made by the tracker; the mode learned first."""
        parent = tracker.create_issue("Parent", "", None, [LABEL]).number
        tracker.hierarchy(parent)
        return parent, [tracker.create_issue(f"Child {i}", "", None, [LABEL], task=True).number for i in range(children)]

    @staticmethod
    def keeps_parents(person: Person) -> bool:
        return person.hierarchy in ("sub_issues", "graphql")

    def test_the_mode_is_learned_once_in_at_most_two_requests(self, tracker, person):
        probe = tracker.create_issue("Probe", "", None, [LABEL]).number
        before = person.requests()["total"]
        assert tracker.hierarchy_mode is None
        learned = person.learned or person.hierarchy
        assert tracker.hierarchy(probe) == learned == tracker.hierarchy_mode
        spent = person.requests()["total"] - before
        assert spent == person.probe_requests <= 2
        assert tracker.hierarchy(probe) == learned
        assert person.requests()["total"] - before == spent  # asked once
        later = person.tracker(hierarchy_mode=learned)  # a later run, handed the mode the base kept
        assert later.hierarchy_mode == learned and later.hierarchy(probe) == learned
        assert person.requests()["total"] - before == spent

    def test_a_first_push_costs_the_creates_and_one_request_per_child(self, tracker, person):
        parent = tracker.create_issue("Parent", "", None, [LABEL]).number
        tracker.hierarchy(parent)
        before, stats = person.requests(), tracker.policy.stats
        sent = stats.sent
        kids = [tracker.create_issue(f"Child {i}", "", None, [LABEL], task=True).number for i in range(3)]
        for kid in kids:
            tracker.attach(parent, kid)
        assert tracker.hierarchy_mode == person.hierarchy
        expected = 3 + person.fallback_requests + (0 if person.hierarchy == "none" else 3)
        now = person.requests()
        assert now["total"] - before["total"] == stats.sent - sent == expected
        assert now["writes"] - before["writes"] == expected
        if self.keeps_parents(person):
            assert person.children(parent) == kids
            assert [person.parent(k) for k in kids] == [parent] * 3
        elif person.hierarchy == "links":
            assert person.children(parent) == sorted(kids)
        else:
            assert person.children(parent) == []

    def test_attach_in_order_and_reorder_with_after(self, tracker, person):
        parent, (a, b, c) = self.family(tracker)
        tracker.attach(parent, a)
        tracker.attach(parent, b, after=a)
        tracker.attach(parent, c, after=b)
        if not self.keeps_parents(person):
            pytest.skip(f"{person.hierarchy}: the remote keeps no order")
        assert person.children(parent) == [a, b, c]
        tracker.attach(parent, a, after=c)
        assert person.children(parent) == [b, c, a]
        tracker.attach(parent, c, after=a)
        assert person.children(parent) == [b, a, c]
        assert person.requests()["total"] > 0

    def test_move_to_another_parent_with_move_from(self, tracker, person):
        first, (a, b) = self.family(tracker, 2)
        second = tracker.create_issue("Second parent", "", None, [LABEL]).number
        tracker.attach(first, a)
        tracker.attach(first, b, after=a)
        tracker.attach(second, a, move_from=first)
        if person.hierarchy == "none":
            assert person.children(first) == person.children(second) == []
            return
        assert person.children(second) == [a]
        assert person.children(first) == [b]
        if self.keeps_parents(person):
            assert person.parent(a) == second and tracker.parent_of(a) == second
        tracker.attach(second, a, move_from=first)  # the same move again (a lost answer, a re-run)
        assert person.children(second) == [a] and person.children(first) == [b]

    def test_a_child_under_a_parent_guidesync_did_not_set_is_a_conflict(self, tracker, person):
        parent, (a,) = self.family(tracker, 1)
        other = tracker.create_issue("Somebody's epic", "", None, [LABEL]).number
        if not self.keeps_parents(person):
            pytest.skip(f"{person.hierarchy}: no parents here")
        person.adopt(other, a)
        later = person.tracker(hierarchy_mode=tracker.hierarchy_mode)  # a later run
        with pytest.raises(Conflict) as exc:
            later.attach(parent, a)
        assert f"#{a}" in str(exc.value) and f"#{other}" in str(exc.value) and f"#{parent}" in str(exc.value)
        assert person.parent(a) == other and person.children(parent) == []
        later.attach(parent, a, move_from=other)  # told it may leave that parent: it moves
        assert person.parent(a) == parent

    def test_attach_again_is_idempotent(self, tracker, person):
        parent, (a, b) = self.family(tracker, 2)
        tracker.attach(parent, a)
        tracker.attach(parent, b)
        expected = person.children(parent)
        tracker.attach(parent, a)
        tracker.attach(parent, b)
        assert person.children(parent) == expected
        later = person.tracker(hierarchy_mode=tracker.hierarchy_mode)  # another run, knowing nothing
        later.attach(parent, a)
        later.attach(parent, b, after=a)
        assert person.children(parent) == expected
        tracker.attach(parent, parent)  # never its own child
        assert person.parent(parent) is None

    def test_parent_of(self, tracker, person):
        parent, (a, b) = self.family(tracker, 2)
        assert tracker.parent_of(a) is None
        tracker.attach(parent, a)
        expected = parent if self.keeps_parents(person) else None
        assert tracker.parent_of(a) == expected
        assert person.tracker(hierarchy_mode=tracker.hierarchy_mode).parent_of(a) == expected
        assert tracker.parent_of(b) is None

    def test_detach_takes_a_child_from_under_its_parent_and_is_idempotent(self, tracker, person):
        parent, (a, b) = self.family(tracker, 2)
        tracker.attach(parent, a)
        tracker.attach(parent, b, after=a)
        tracker.detach(parent, a)
        if person.hierarchy == "none":
            assert person.children(parent) == []
            return
        assert person.children(parent) == [b]
        if self.keeps_parents(person):
            assert person.parent(a) is None and tracker.parent_of(a) is None
        tracker.detach(parent, a)  # again (a lost answer, a re-run): nothing to do
        person.tracker(hierarchy_mode=tracker.hierarchy_mode).detach(parent, a)
        assert person.children(parent) == [b]
        tracker.attach(parent, a, after=b)  # and back under it
        assert a in person.children(parent)


class MetadataContract:
    """Fields (issue 14): assignees, due dates, milestone dates and blocked-by, as every tracker
    must give them to the engine. The Person says what the tracker's side allows:
    ``assignable`` (logins people can assign; others are not), ``issue_due`` (issues have a due
    date: GitLab), ``milestone_start`` (milestones have a start date: GitLab), ``max_assignees``
    (what the tier keeps: 1 on GitLab Free, None: no limit) and ``dependencies`` (how blocked-by
    ends up: "native", "related" or "body")."""

    assignable = ("alice", "bob")
    issue_due = False
    milestone_start = False
    max_assignees: int | None = None
    dependencies = "native"

    @pytest.fixture
    def tracker(self, person: Person) -> Tracker:
        tracker = person.tracker()
        tracker.learn_web()
        return tracker

    def test_assignable_is_asked_once_per_login(self, tracker, person):
        before = person.requests()["total"]
        assert tracker.assignable("alice") is True
        assert tracker.assignable("alice") is True
        assert tracker.assignable("nobody-here") is False
        assert person.requests()["total"] - before == 2

    def test_assignees_are_sent_kept_and_replaced(self, tracker, person):
        want = ("alice", "bob")
        created = tracker.create_issue("T", "", None, [LABEL], assignees=want)
        kept = want[: self.max_assignees] if self.max_assignees else want
        assert created.assignees == kept
        assert tracker.get_issue(created.number).assignees == kept
        assert {i.number: i.assignees for i in tracker.list_issues(LABEL, None, {}).items}[created.number] == kept
        if self.max_assignees:
            assert tracker.capabilities["assignees"] == self.max_assignees
        assert tracker.update_issue(created.number, assignees=("bob",)).assignees == ("bob",)
        assert tracker.update_issue(created.number, assignees=()).assignees == ()

    def test_due_dates_of_issues(self, tracker, person):
        n = tracker.create_issue("T", "", None, [LABEL], due="2026-12-18").number
        assert tracker.get_issue(n).due == ("2026-12-18" if self.issue_due else None)
        assert tracker.update_issue(n, due=None).due is None

    @pytest.mark.parametrize("day", ["2026-12-18", "2026-07-04", "2026-03-08", "2026-11-01"])
    def test_milestone_dates_land_on_the_day(self, tracker, person, day):
        ms = tracker.create_milestone(f"M {day}", "", due=day, start="2026-01-05")
        assert ms.due == day
        assert ms.start == ("2026-01-05" if self.milestone_start else None)
        (listed,) = [m for m in tracker.list_milestones({}).items if m.number == ms.number]
        assert listed.due == day
        moved = tracker.update_milestone(ms.number, due="2026-12-31")
        assert moved.due == "2026-12-31"
        assert tracker.update_milestone(ms.number, due=None).due is None

    def test_block_and_unblock_are_idempotent_and_learned_once(self, tracker, person):
        a = tracker.create_issue("Blocked", "", None, [LABEL]).number
        b = tracker.create_issue("Blocker", "", None, [LABEL]).number
        c = tracker.create_issue("Another", "", None, [LABEL]).number
        assert tracker.block(a, b) == self.dependencies
        assert tracker.capabilities["dependencies"] == self.dependencies
        assert tracker.block(a, b) == self.dependencies  # already there: fine
        before = person.requests()["total"]
        assert tracker.block(a, c) == self.dependencies
        spent = person.requests()["total"] - before
        assert spent == (0 if self.dependencies == "body" else spent) and spent <= 2
        assert sorted(person.blockers(a)) == ([] if self.dependencies == "body" else sorted([b, c]))
        tracker.unblock(a, b)
        tracker.unblock(a, b)  # no longer there: fine
        assert person.blockers(a) == ([] if self.dependencies == "body" else [c])

    def test_a_kept_capability_costs_nothing_to_learn_again(self, tracker, person):
        a = tracker.create_issue("Blocked", "", None, [LABEL]).number
        b = tracker.create_issue("Blocker", "", None, [LABEL]).number
        tracker.block(a, b)
        again = person.tracker(capabilities=dict(tracker.capabilities))
        again.learn_web()
        assert again.capabilities["dependencies"] == self.dependencies
