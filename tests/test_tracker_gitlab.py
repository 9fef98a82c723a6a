"""The tracker contract, met by the GitLab adapter over the fake GitLab."""

from __future__ import annotations

import pytest

from guidesync.trackers.gitlab import GitLabTracker
from tests.conftest import TOKEN
from tests.fakes.gitlab import FakeGitLab
from tests.tracker_contract import HierarchyContract, MetadataContract, Person, TrackerContract, policy

REPO = "acme/shop"


class GitLabPerson(Person):
    reasons = False  # GitLab closes without a reason
    etags = False  # and has no conditional listings

    def __init__(self, server: FakeGitLab):
        self.server = server

    hierarchy = "graphql"  # child tasks

    def tracker(self, **kw) -> GitLabTracker:
        return GitLabTracker(REPO, TOKEN, url=self.server.url, policy=policy(), timeout=5, **kw)

    def close(self, n: int, reason: str = "completed") -> None:
        self.server.close_issue(REPO, n)

    def retitle(self, n: int, title: str) -> None:
        self.server.edit_issue(REPO, n, title=title)

    def delete(self, n: int) -> None:
        self.server.delete_issue(REPO, n)

    def delete_milestone(self, number: int) -> None:
        self.server.delete_milestone(REPO, number)

    def later(self, seconds: float) -> None:
        self.server.clock.tick(seconds)

    def comments(self, n: int) -> list[str]:
        return [c["body"] for c in self.server.notes(REPO, n)]

    def requests(self) -> dict[str, int]:
        return self.server.counts()

    def children(self, n: int) -> list[int]:
        if self.hierarchy == "links":
            return sorted(iid for path, iid, kind in self.server.links(REPO, n) if kind == "relates_to")
        return self.server.children(REPO, n)

    def parent(self, n: int) -> int | None:
        return next((p for p in self.server.issues(REPO) if n in self.server.children(REPO, p)), None)

    def adopt(self, parent: int, child: int) -> None:
        self.server.set_parent(REPO, child, parent)

    def blockers(self, n: int) -> list[int]:
        kinds = ("is_blocked_by",) if self.server.tier in ("premium", "ultimate") else ("relates_to",)
        return sorted(iid for _, iid, kind in self.server.links(REPO, n) if kind in kinds)


class LinksPerson(GitLabPerson):
    """A GitLab whose GraphQL API is not reachable (a proxy lets /api/v4 through only)."""

    hierarchy = "links"


class NoTasksPerson(GitLabPerson):
    """A GitLab without tasks: GraphQL knows the hierarchy widget, but ``issue_type=task`` is
    refused (400): the first child is made an issue again, and links are used from then on."""

    hierarchy = "links"
    learned = "graphql"
    fallback_requests = 1


def serve(person: type[GitLabPerson], **knobs):
    server = FakeGitLab(token=TOKEN, projects=(REPO,)).start()
    for name, value in knobs.items():
        setattr(server, name, value)
    yield person(server)
    server.stop()
    assert not server.errors, server.errors[0]


class TestGitLabTracker(TrackerContract, HierarchyContract):
    """Child tasks through GraphQL's workItemUpdate hierarchy widget."""

    @pytest.fixture
    def person(self):
        yield from serve(GitLabPerson)


class TestGitLabLinksHierarchy(HierarchyContract):
    @pytest.fixture
    def person(self):
        yield from serve(LinksPerson, graphql_enabled=False)


class TestGitLabWithoutTasksHierarchy(HierarchyContract):
    @pytest.fixture
    def person(self):
        yield from serve(NoTasksPerson, tasks_available=False)


def metadata(tier: str):
    for person in serve(GitLabPerson, tier=tier):
        for name in ("alice", "bob"):
            person.server.add_user(name)
        yield person


class TestGitLabFreeMetadata(MetadataContract):
    """GitLab Free: one assignee kept (learned from the answer), due dates, milestone start and due
    dates, and related links where blocking links need Premium."""

    issue_due, milestone_start, max_assignees, dependencies = True, True, 1, "related"

    @pytest.fixture
    def person(self):
        yield from metadata("free")


class TestGitLabPremiumMetadata(MetadataContract):
    issue_due, milestone_start, dependencies = True, True, "native"

    @pytest.fixture
    def person(self):
        yield from metadata("premium")
