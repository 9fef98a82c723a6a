"""The tracker contract, met by the GitHub adapter over the fake GitHub (its traffic checked against
GitHub's OpenAPI description)."""

from __future__ import annotations

import pytest

from guidesync.trackers.github import GitHubTracker
from tests.conftest import TOKEN
from tests.fakes.github import FakeGitHub
from tests.openapi_github import validate_log
from tests.tracker_contract import Person, TrackerContract, policy

REPO = "acme/shop"


class GitHubPerson(Person):
    def __init__(self, server: FakeGitHub):
        self.server = server

    def tracker(self) -> GitHubTracker:
        return GitHubTracker(REPO, TOKEN, url=self.server.url, policy=policy(), timeout=5)

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


class TestGitHubTracker(TrackerContract):
    @pytest.fixture
    def person(self):
        server = FakeGitHub(token=TOKEN, repos=(REPO,)).start()
        yield GitHubPerson(server)
        server.stop()
        errors = list(dict.fromkeys(validate_log(server.log)))
        assert not errors, "\n".join(errors[:20])
