"""The fake GitHub's state API (``issues(repo)``, ``close_issue(repo, n)``, ``clock.tick()`` …) over
a :class:`~guidesync.trackers.memory.Remote`, so that engine scenarios written against the fake
forges run on the in-memory tracker unchanged: no server, no HTTP, no client library.

Answers are shaped like the fake GitHub's (``state`` open/closed with ``state_reason``,
``milestone`` and ``labels`` as objects, ``html_url``); the repository argument is the Remote's.
"""

from __future__ import annotations

from typing import Any, Iterable

from guidesync.trackers.memory import Remote


class MemoryServer:
    """Looks like :class:`tests.fakes.github.FakeGitHub` to the tests; sends nothing anywhere."""

    _made = 0

    def __init__(self, repository: str = "acme/shop"):
        MemoryServer._made += 1
        #: the API address the configuration names, one per server: never contacted (the tracker
        #: is made in memory, see tests.conftest), but the configuration must name one
        self.url = f"http://127.0.0.1:9/memory-{MemoryServer._made}"
        self.remote = Remote(repository)
        self.clock = self.remote.clock
        self.errors: list[str] = []  # a fake server's own crashes: none here

    @property
    def root_url(self) -> str:
        return self.remote.url.rsplit("/", 2)[0]

    def stop(self) -> None:
        pass

    def counts(self) -> dict[str, int]:
        return dict(self.remote.counts)

    def reset_log(self) -> None:
        self.remote.counts.update(total=0, writes=0)

    # -- what the tests read -------------------------------------------------------------------

    def issues(self, repo: str = "") -> dict[int, dict[str, Any]]:
        out = {}
        for n, i in sorted(self.remote.issues.items()):
            if i.deleted:
                continue
            ms = self.remote.milestones.get(i.milestone) if i.milestone is not None else None
            out[n] = {
                "number": n, "title": i.title, "body": i.body or None,
                "state": "open" if i.state == "open" else "closed",
                "state_reason": None if i.state == "open" else i.state,
                "milestone": {"number": ms.number, "title": ms.title} if ms else None,
                "labels": [{"name": name} for name in i.labels],
                "html_url": f"{self.remote.url}/issues/{n}", "locked": i.locked,
            }
        return out

    def milestones(self, repo: str = "") -> dict[int, dict[str, Any]]:
        return {n: {"number": n, "title": m.title, "description": m.description, "state": m.state}
                for n, m in sorted(self.remote.milestones.items())}

    def comments(self, repo: str, n: int) -> list[dict[str, Any]]:
        return [{"body": body} for body in self.remote.issues[n].comments]

    def sub_issues(self, repo: str, n: int) -> list[tuple[str, int]]:
        """(repository, number) of the sub-issues of ``n``, in order (as the fake GitHub)."""
        return [(self.remote.repository, c) for c in self.remote.sub_issues(n)]

    def parent_of(self, repo: str, n: int) -> tuple[str, int] | None:
        parent = self.remote.parent_of(n)
        return None if parent is None else (self.remote.repository, parent)

    # -- what people do ------------------------------------------------------------------------

    def create_issue(self, repo: str, title: str, body: str = "", milestone: int | str | None = None,
                     labels: Iterable[str] = ()) -> int:
        if isinstance(milestone, str):
            milestone = next(m.number for m in self.remote.milestones.values() if m.title == milestone)
        return self.remote.create_issue(title, body, labels, milestone)

    def edit_issue(self, repo: str, n: int, **fields: Any) -> None:
        """The fake GitHub's fields: title, body, state (+ state_reason), milestone, labels."""
        if "state" in fields:
            reason = fields.pop("state_reason", None) or "completed"
            fields["state"] = "open" if fields["state"] == "open" else ("not_planned" if reason == "not_planned" else "completed")
        self.remote.edit_issue(n, **fields)

    def close_issue(self, repo: str, n: int, reason: str = "completed") -> None:
        self.remote.close_issue(n, "not_planned" if reason in ("not_planned", "duplicate") else "completed")

    def reopen_issue(self, repo: str, n: int) -> None:
        self.remote.reopen_issue(n)

    def delete_issue(self, repo: str, n: int) -> None:
        self.remote.delete_issue(n)

    def lock_issue(self, repo: str, n: int, reason: str | None = None) -> None:
        self.remote.lock_issue(n)

    def remove_label(self, repo: str, n: int, name: str) -> None:
        issue = self.remote.issues[n]
        self.remote.edit_issue(n, labels=[label for label in issue.labels if label.lower() != name.lower()])

    def add_sub_issue(self, repo: str, parent: int, child: int, child_repo: str | None = None,
                      *, replace: bool = False) -> None:
        """Attach directly, under GitHub's rules (ValueError with the refusal, as the fake GitHub)."""
        why = self.remote.refusal(parent, child, replace)
        if why is not None:
            raise ValueError(why)
        self.remote.add_sub_issue(parent, child, replace=replace)

    def rename_milestone(self, repo: str, n: int, title: str) -> None:
        self.remote.edit_milestone(n, title=title)

    def delete_milestone(self, repo: str, n: int) -> None:
        self.remote.delete_milestone(n)
