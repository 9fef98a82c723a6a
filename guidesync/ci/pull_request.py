"""The write-back pull request (``commit: pull-request``, GitHub only)."""

from __future__ import annotations

from typing import Any

from ..trackers.base import CallPolicy
from ..trackers.github import GitHubTracker

TITLE = "guidesync: write back issue links and checkboxes"


def ensure_pull_request(cfg: Any, *, token: str, base: str, head: str, body: str) -> tuple[int, str, bool]:
    """Open the write-back pull request, or find the open one. (number, url, opened now).

    Through the GitHub adapter, so that the same rules hold as for the issues: the configured host
    only, no redirect followed, the call policy's retries."""
    assert cfg.repository is not None
    policy = CallPolicy(write_interval=0, max_retries=cfg.max_retries, max_wait=cfg.max_retry_wait, reserve=0)
    tracker = GitHubTracker(cfg.repository, token, url=cfg.api_url, policy=policy, timeout=cfg.timeout)
    return tracker.pull_request(head=head, base=base, title=TITLE, body=body)
