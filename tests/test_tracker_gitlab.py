"""The tracker contract, met by the GitLab adapter over the fake GitLab."""

from __future__ import annotations

import pytest

from guidesync.trackers.gitlab import GitLabTracker
from tests.conftest import TOKEN
from tests.fakes.gitlab import FakeGitLab
from tests.tracker_contract import Person, TrackerContract, policy

REPO = "acme/shop"


class GitLabPerson(Person):
    reasons = False  # GitLab closes without a reason
    etags = False  # and has no conditional listings

    def __init__(self, server: FakeGitLab):
        self.server = server

    def tracker(self) -> GitLabTracker:
        return GitLabTracker(REPO, TOKEN, url=self.server.url, policy=policy(), timeout=5)

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


class TestGitLabTracker(TrackerContract):
    @pytest.fixture
    def person(self):
        server = FakeGitLab(token=TOKEN, projects=(REPO,)).start()
        yield GitLabPerson(server)
        server.stop()
