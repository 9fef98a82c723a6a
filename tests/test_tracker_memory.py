"""The tracker contract, met by the in-memory tracker (guidesync.trackers.memory)."""

from __future__ import annotations

import pytest

from guidesync.trackers.memory import MemoryTracker, Remote
from tests.tracker_contract import HierarchyContract, MetadataContract, Person, TrackerContract, policy


class MemoryPerson(Person):
    def __init__(self, remote: Remote):
        self.remote = remote

    def tracker(self, **kw) -> MemoryTracker:
        return MemoryTracker(self.remote, policy=policy(), **kw)

    def close(self, n: int, reason: str = "completed") -> None:
        self.remote.close_issue(n, reason)

    def retitle(self, n: int, title: str) -> None:
        self.remote.edit_issue(n, title=title)

    def delete(self, n: int) -> None:
        self.remote.delete_issue(n)

    def lock(self, n: int) -> None:
        self.remote.lock_issue(n)

    def delete_milestone(self, number: int) -> None:
        self.remote.delete_milestone(number)

    def later(self, seconds: float) -> None:
        self.remote.clock.tick(seconds)

    def comments(self, n: int) -> list[str]:
        return list(self.remote.issues[n].comments)

    def requests(self) -> dict[str, int]:
        return dict(self.remote.counts)

    def children(self, n: int) -> list[int]:
        if self.hierarchy == "links":
            return sorted(c for p, c in self.remote.links if p == n)
        return self.remote.sub_issues(n)

    def parent(self, n: int) -> int | None:
        return self.remote.parent_of(n)

    def adopt(self, parent: int, child: int) -> None:
        self.remote.add_sub_issue(parent, child)

    def blockers(self, n: int) -> list[int]:
        return list(self.remote.issues[n].blocked_by)


class TestMemoryTracker(TrackerContract, HierarchyContract, MetadataContract):
    @pytest.fixture
    def person(self):
        remote = Remote()
        remote.people = {"alice", "bob"}
        return MemoryPerson(remote)


class TestMemoryGitLabFree(MetadataContract):
    """The in-memory tracker as GitLab Free: one assignee kept, due dates, related links."""

    issue_due, milestone_start, max_assignees, dependencies = True, True, 1, "related"

    @pytest.fixture
    def person(self):
        remote = Remote()
        remote.people, remote.max_assignees, remote.dependencies, remote.issue_due = {"alice", "bob"}, 1, "related", True
        remote.milestone_start = True
        return MemoryPerson(remote)


class TestMemoryWithoutDependencies(MetadataContract):
    dependencies = "body"

    @pytest.fixture
    def person(self):
        remote = Remote()
        remote.people, remote.dependencies = {"alice", "bob"}, "body"
        return MemoryPerson(remote)


@pytest.mark.parametrize("mode", ["links", "none"])
class TestMemoryOtherModesHierarchy(HierarchyContract):
    @pytest.fixture
    def person(self, mode):
        remote = Remote()
        remote.hierarchy_mode = mode
        person = MemoryPerson(remote)
        person.hierarchy = mode
        return person


def test_a_new_tracker_has_its_own_remote():
    a, b = MemoryTracker(), MemoryTracker()
    a.create_issue("A", "", None, ["guidesync"])
    assert b.list_issues("guidesync", None, {}).items == ()
