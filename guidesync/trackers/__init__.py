"""Tracker adapters behind one interface (:class:`~guidesync.trackers.base.Tracker`)."""

from __future__ import annotations

from importlib import import_module

from .base import CallPolicy, Tracker

#: configured name -> (module, class)
REGISTRY = {
    "github": ("guidesync.trackers.github", "GitHubTracker"),
    "gitlab": ("guidesync.trackers.gitlab", "GitLabTracker"),
}


def make_tracker(name: str, repository: str, token: str | None, *, url: str, policy: CallPolicy, timeout: float = 30,
                 web_url: str | None = None, repository_url: str | None = None,
                 hierarchy_mode: str | None = None, capabilities: dict | None = None) -> Tracker:
    """Build the adapter for ``name`` ("github" or "gitlab"). ``web_url``: the web root named by
    the configuration or the CI; ``repository_url``, ``hierarchy_mode``, ``capabilities``: what the base kept."""
    module, cls = REGISTRY[name]
    return getattr(import_module(module), cls)(repository, token, url=url, policy=policy, timeout=timeout,
                                               web_url=web_url, repository_url=repository_url,
                                               hierarchy_mode=hierarchy_mode, capabilities=capabilities)
