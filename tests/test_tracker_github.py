"""The tracker contract, met by the GitHub adapter over the fake GitHub (its traffic checked against
GitHub's OpenAPI description)."""

from __future__ import annotations

import pytest

from guidesync.trackers.github import GitHubTracker
from tests.conftest import TOKEN
from tests.fakes.github import FakeGitHub
from tests.openapi_github import validate_log
from tests.tracker_contract import HierarchyContract, MetadataContract, Person, TrackerContract, policy

REPO = "acme/shop"


class GitHubPerson(Person):
    def __init__(self, server: FakeGitHub):
        self.server = server

    def tracker(self, **kw) -> GitHubTracker:
        return GitHubTracker(REPO, TOKEN, url=self.server.url, policy=policy(), timeout=5, **kw)

    def close(self, n: int, reason: str = "completed") -> None:
        self.server.close_issue(REPO, n, reason=reason)

    def retitle(self, n: int, title: str) -> None:
        self.server.edit_issue(REPO, n, title=title)

    def delete(self, n: int) -> None:
        self.server.delete_issue(REPO, n)

    def lock(self, n: int) -> None:
        self.server.lock_issue(REPO, n)

    def delete_milestone(self, number: int) -> None:
        self.server.delete_milestone(REPO, number)

    def later(self, seconds: float) -> None:
        self.server.clock.tick(seconds)

    def comments(self, n: int) -> list[str]:
        return [c["body"] for c in self.server.comments(REPO, n)]

    def requests(self) -> dict[str, int]:
        return self.server.counts()

    def children(self, n: int) -> list[int]:
        return [number for _, number in self.server.sub_issues(REPO, n)]

    def parent(self, n: int) -> int | None:
        found = self.server.parent_of(REPO, n)
        return found[1] if found else None

    def adopt(self, parent: int, child: int) -> None:
        self.server.add_sub_issue(REPO, parent, child)

    def blockers(self, n: int) -> list[int]:
        return [b for repo, b in self.server.blocked_by(REPO, n) if repo == REPO]


class GHESPerson(GitHubPerson):
    """GitHub Enterprise Server (API under /api/v3): no REST sub-issues, GraphQL from 3.17."""

    hierarchy = "graphql"
    probe_requests = 2  # the REST listing (404), then GraphQL introspection


class OldGHESPerson(GitHubPerson):
    hierarchy = "none"
    probe_requests = 2


def serve(repos=(REPO,), **kw):
    """A started fake GitHub; when the test is done, its REST traffic is checked against GitHub's
    OpenAPI description (GraphQL is not in it: the fake checks that against its own schema)."""
    server = FakeGitHub(token=TOKEN, repos=repos, **kw).start()
    yield server
    server.stop()
    assert not server.errors, server.errors[0]
    rest = [e for e in server.log if e.path != server.graphql_path]
    errors = list(dict.fromkeys(validate_log(rest, prefix=server.prefix)))
    assert not errors, "\n".join(errors[:20])


class TestGitHubTracker(TrackerContract, HierarchyContract):
    """github.com: the REST sub-issue operations."""

    @pytest.fixture
    def person(self):
        yield from (GitHubPerson(server) for server in serve())


class TestGitHubEnterprise317Hierarchy(HierarchyContract):
    """GHES 3.17: addSubIssue and reprioritizeSubIssue through GraphQL."""

    @pytest.fixture
    def person(self):
        yield from (GHESPerson(server) for server in serve(prefix="/api/v3", ghes_version="3.17.0"))


class TestGitHubEnterprise315Hierarchy(HierarchyContract):
    """GHES 3.15: no sub-issues at all; attach does nothing."""

    @pytest.fixture
    def person(self):
        yield from (OldGHESPerson(server) for server in serve(prefix="/api/v3", ghes_version="3.15.2"))


def people(server: FakeGitHub) -> FakeGitHub:
    server.add_collaborator(REPO, "alice", "bob")
    return server


class TestGitHubMetadata(MetadataContract):
    """github.com: assignees checked per login, due days in Pacific time, REST issue dependencies."""

    @pytest.fixture
    def person(self):
        yield from (GitHubPerson(people(server)) for server in serve())


class TestGitHubEnterpriseMetadata(MetadataContract):
    """GHES: no issue dependencies, so blocked-by is said in the body only (learned once)."""

    dependencies = "body"

    @pytest.fixture
    def person(self):
        yield from (GitHubPerson(people(server)) for server in serve(prefix="/api/v3", ghes_version="3.17.0"))
