"""A tracker held in memory: the :class:`~guidesync.trackers.base.Tracker` the adapters give,
without a forge (for ``guidesync demo`` and for the engine's tests).

:class:`Remote` is the tracker's side: its issues, milestones and labels, its clock, and what
people do there (open, edit, close, delete, lock an issue). :class:`MemoryTracker` is one run's
view of it, answering as the adapters do: numbers from 1, close reasons, since-listings newest
first, a listing that did not change comes back "not modified" (free) when its ETag is given,
each call one request (a listing one per 100 items) counted by its :class:`CallPolicy`, the
errors the adapters raise (NotFound, Gone, Conflict, Invalid, Forbidden), and a fixed web root.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable, TypeVar
from urllib.parse import quote

from .base import (UNSET, CallPolicy, HIERARCHY_MODES, MAX_CHILDREN, MAX_DEPTH, Listing, RemoteIssue, RemoteMilestone,
                   TrackerError, Unset, WebAddress, given)

T = TypeVar("T")
WEB_ROOT = "https://tracker.example"
PER_PAGE = 100
LIMITS = {"title": 255, "body": 65536}


class Clock:
    """The tracker's time: it moves when told (:meth:`tick`) and by ``step`` seconds with every
    change, as a server's clock moves between two requests."""

    START = datetime(2026, 1, 1, tzinfo=timezone.utc)

    def __init__(self, start: datetime = START, step: float = 1.0):
        self._now, self.step = start, step

    def now(self) -> datetime:
        return self._now

    def tick(self, seconds: float = 1.0) -> datetime:
        self._now += timedelta(seconds=seconds)
        return self._now

    def stamp(self) -> datetime:
        """The time of a change made now."""
        return self.tick(self.step)


@dataclass
class _Issue:
    number: int
    title: str
    body: str
    labels: list[str]
    milestone: int | None
    updated_at: datetime
    state: str = "open"  # open | completed | not_planned
    locked: bool = False
    deleted: bool = False
    comments: list[str] = field(default_factory=list)
    parent: int | None = None  # sub-issues: the parent's number
    children: list[int] = field(default_factory=list)  # in order
    assignees: list[str] = field(default_factory=list)
    due: str | None = None
    blocked_by: list[int] = field(default_factory=list)  # dependencies (or links) recorded on it


class Remote:
    """What the tracker holds, and what people do there (the ``number`` arguments are issue numbers)."""

    def __init__(self, repository: str = "acme/shop", *, clock: Clock | None = None, web_root: str = WEB_ROOT):
        self.repository = repository
        self.url = f"{web_root.rstrip('/')}/{repository}"
        self.clock = clock or Clock()
        self.issues: dict[int, _Issue] = {}
        self.milestones: dict[int, RemoteMilestone] = {}
        self.labels: dict[str, str] = {}  # lower case -> as named
        self.counts = {"total": 0, "writes": 0}  # requests the trackers sent
        #: how this tracker makes sub-issues (what ``hierarchy`` learns): "sub_issues" (and
        #: "graphql", the same here) keep parents and order under GitHub's limits, "links" only
        #: (parent, child) links without order or parent, "none" nothing
        self.hierarchy_mode = "sub_issues"
        self.links: set[tuple[int, int]] = set()
        #: people who can be assigned issues (as on GitHub, an unknown login is dropped silently);
        #: ``max_assignees`` 1 is GitLab Free; ``dependencies`` how blocked-by is kept ("native",
        #: "related" or "body": the server has none)
        self.people: set[str] = {"alice", "bob", "carol"}
        self.max_assignees: int | None = None
        self.dependencies = "native"
        self.issue_due = False  # issues have a due date (GitLab), or not (GitHub)
        self.milestone_start = False  # milestones have a start date (GitLab), or not (GitHub)
        self._last = {"issue": 0, "milestone": 0}  # numbers are never given twice

    def _number(self, kind: str) -> int:
        self._last[kind] += 1
        return self._last[kind]

    def label(self, name: str) -> str:
        return self.labels.setdefault(name.lower(), name)  # labels are made as issues get them

    def create_issue(self, title: str, body: str = "", labels: Iterable[str] = (), milestone: int | None = None) -> int:
        if milestone is not None and milestone not in self.milestones:
            raise TrackerError("invalid", f"milestone {milestone} does not exist", status=422)
        number = self._number("issue")
        self.issues[number] = _Issue(number, title, body, [self.label(n) for n in dict.fromkeys(labels)], milestone,
                                     self.clock.stamp())
        return number

    def edit_issue(self, number: int, **fields: Any) -> None:
        """``title``, ``body``, ``labels``, ``milestone``, ``state`` (open, completed, not_planned), ``locked``."""
        issue = self.issues[number]
        if fields.get("milestone") is not None and fields["milestone"] not in self.milestones:
            raise TrackerError("invalid", f"milestone {fields['milestone']} does not exist", status=422)
        if "labels" in fields:
            fields["labels"] = [self.label(n) for n in dict.fromkeys(fields["labels"])]
        if "assignees" in fields:
            fields["assignees"] = self._assignees(fields["assignees"])
        if any(getattr(issue, k) != v for k, v in fields.items()):
            for k, v in fields.items():
                setattr(issue, k, v)
            issue.updated_at = self.clock.stamp()

    def _assignees(self, logins: Iterable[str]) -> list[str]:
        kept = [x for x in dict.fromkeys(logins) if x.lower() in self.people]
        return kept[: self.max_assignees] if self.max_assignees else kept

    def block(self, number: int, blocker: int) -> None:
        issue = self.issues[number]
        if number == blocker or blocker not in self.issues:
            raise TrackerError("invalid", f"#{blocker} cannot block #{number}", status=422)
        if blocker not in issue.blocked_by:
            issue.blocked_by.append(blocker)
            issue.updated_at = self.clock.stamp()

    def unblock(self, number: int, blocker: int) -> None:
        issue = self.issues[number]
        if blocker in issue.blocked_by:
            issue.blocked_by.remove(blocker)
            issue.updated_at = self.clock.stamp()

    def close_issue(self, number: int, reason: str = "completed") -> None:
        self.edit_issue(number, state=reason)

    def reopen_issue(self, number: int) -> None:
        self.edit_issue(number, state="open")

    def lock_issue(self, number: int) -> None:
        self.edit_issue(number, locked=True)

    def delete_issue(self, number: int) -> None:
        self.issues[number].deleted = True
        self.clock.stamp()

    def add_comment(self, number: int, body: str) -> None:
        self.issues[number].comments.append(body)
        self.issues[number].updated_at = self.clock.stamp()

    # -- sub-issues: GitHub's rules (100 children per parent, 8 levels, one parent) -----------

    def _children(self, number: int) -> list[int]:
        return [c for c in self.issues[number].children if not self.issues[c].deleted]

    def _depth(self, number: int) -> int:
        depth, seen = 1, {number}
        while (up := self.issues[number].parent) is not None and up not in seen:
            seen.add(up)
            number, depth = up, depth + 1
        return depth

    def _height(self, number: int) -> int:
        return 1 + max((self._height(c) for c in self._children(number)), default=0)

    def refusal(self, parent: int, child: int, replace: bool = False) -> str | None:
        """Why ``child`` cannot go under ``parent`` (None: it can)."""
        p, c = self.issues[parent], self.issues[child]
        if parent == child:
            return "an issue cannot be a sub-issue of itself"
        if c.parent == parent:
            return "Issue may not contain duplicate sub-issues"
        if c.parent is not None and not replace:
            return "Sub issue may only have one parent"
        if len(self._children(parent)) >= MAX_CHILDREN:
            return f"Parent cannot have more than {MAX_CHILDREN} sub-issues"
        up, seen = p.parent, set()
        while up is not None and up not in seen:
            if up == child:
                return "Sub issue cannot be an ancestor of its parent issue"
            seen.add(up)
            up = self.issues[up].parent
        if self._depth(parent) + self._height(child) > MAX_DEPTH:
            return f"it would exceed {MAX_DEPTH} levels of nested sub-issues"
        return None

    def add_sub_issue(self, parent: int, child: int, *, replace: bool = False) -> None:
        """Put ``child`` last under ``parent`` (``replace``: moving it from its parent)."""
        why = self.refusal(parent, child, replace)
        if why is not None:
            raise TrackerError("invalid", why, status=422)
        c = self.issues[child]
        if c.parent is not None:
            self.issues[c.parent].children.remove(child)
        self.issues[parent].children.append(child)
        c.parent = parent
        self.clock.tick()  # updated_at untouched, as on GitHub

    def place(self, parent: int, child: int, after: int) -> None:
        order = self.issues[parent].children
        if child not in order or after not in order or after == child:
            raise TrackerError("invalid", f"#{child} and #{after} are not both sub-issues of #{parent}", status=422)
        order.remove(child)
        order.insert(order.index(after) + 1, child)
        self.clock.tick()

    def sub_issues(self, number: int) -> list[int]:
        return self._children(number)

    def parent_of(self, number: int) -> int | None:
        return self.issues[number].parent

    def create_milestone(self, title: str, description: str = "", due: str | None = None, start: str | None = None) -> int:
        if any(m.title == title for m in self.milestones.values()):
            raise TrackerError("conflict", f"milestone {title!r} already exists", status=422)
        number = self._number("milestone")
        self.milestones[number] = RemoteMilestone(number, title, description, due=due,
                                                  start=start if self.milestone_start else None)
        self.clock.stamp()
        return number

    def delete_milestone(self, number: int) -> None:
        """Gone, and off every issue that was in it (their ``updated_at`` unchanged, as on GitHub)."""
        del self.milestones[number]
        for issue in self.issues.values():
            if issue.milestone == number:
                issue.milestone = None
        self.clock.stamp()

    def edit_milestone(self, number: int, **fields: Any) -> None:
        """``title``, ``description``, ``state`` (open, closed), ``due``, ``start``."""
        if not self.milestone_start:
            fields.pop("start", None)
        if any(m.title == fields.get("title") and m.number != number for m in self.milestones.values()):
            raise TrackerError("conflict", f"milestone {fields['title']!r} already exists", status=422)
        self.milestones[number] = replace(self.milestones[number], **fields)
        self.clock.stamp()


class MemoryTracker:
    """The :class:`~guidesync.trackers.base.Tracker` over a :class:`Remote` (a new one when none is given)."""

    name = "memory"

    def __init__(self, remote: Remote | None = None, *, policy: CallPolicy | None = None,
                 hierarchy_mode: str | None = None, capabilities: dict[str, Any] | None = None):
        self.remote = remote or Remote()
        self.capabilities = dict(capabilities or {})
        self._people: dict[str, bool] = {}  # assignable logins, asked once per run
        self.policy = policy or CallPolicy(write_interval=0)
        self.hierarchy_mode = hierarchy_mode if hierarchy_mode in HIERARCHY_MODES else None
        self.web = WebAddress(lambda: self.remote.url, ("issues",), told=self.remote.url)

    # -- plumbing: each call one request, under the policy ---------------------------------

    def _call(self, fn: Callable[[], T], *, write: bool = False, idempotent: bool = True) -> T:
        def sent() -> T:
            self.remote.counts["total"] += 1
            self.remote.counts["writes"] += write
            return fn()

        return self.policy.call(sent, write=write, idempotent=idempotent)

    def _live(self, number: int) -> _Issue:
        issue = self.remote.issues.get(number)
        if issue is None:
            raise TrackerError("not_found", f"issue #{number}: not found", status=404)
        if issue.deleted:
            raise TrackerError("gone", f"issue #{number}: this issue was deleted", status=410)
        return issue

    def _issue(self, number: int) -> RemoteIssue:
        i = self._live(number)
        return RemoteIssue(i.number, f"{self.remote.url}/issues/{i.number}", i.title, i.body, i.state, i.milestone,
                           tuple(i.labels), i.updated_at, i.locked, tuple(i.assignees), i.due)

    def _write(self, number: int, **fields: Any) -> RemoteIssue:
        def change() -> RemoteIssue:
            self._live(number)
            self.remote.edit_issue(number, **fields)
            return self._issue(number)

        return self._call(change, write=True)

    def _listing(self, key: str, items: list[Any], etags: dict[str, str]) -> Listing:
        """One request per page (the first asked conditionally): not modified, and free, when
        ``etags`` holds the ETag of what it lists now."""
        etag = 'W/"' + hashlib.sha256(repr(items).encode()).hexdigest()[:32] + '"'
        if etags.get(key) == etag:
            self._call(self.policy.stats.free)
            return Listing(None, {key: etag}, self.remote.clock.now())
        for _ in range(max(1, -(-len(items) // PER_PAGE))):
            self._call(lambda: None)
        return Listing(tuple(items), {key: etag}, self.remote.clock.now())

    # -- the interface ---------------------------------------------------------------------

    @property
    def repository_url(self) -> str | None:
        return self.web.learned  # None: the address is told, never learned

    def learn_web(self, links: Iterable[tuple[str, int]] = ()) -> str:
        return self.web.ensure()

    def issue_number_from_url(self, url: str) -> int | None:
        return self.web.number(url)

    def guide_url(self, path: str, branch: str) -> str:
        return f"{self.web.ensure()}/blob/{quote(branch)}/{quote(path)}"

    def limits(self) -> dict[str, int]:
        return dict(LIMITS)

    def check_access(self) -> None:
        self._call(lambda: None)

    def list_milestones(self, etags: dict[str, str], since: datetime | None = None) -> Listing:
        return self._listing("milestones", sorted(self.remote.milestones.values(), key=lambda m: m.number), etags)

    def list_issues(self, label: str, since: datetime | None, etags: dict[str, str]) -> Listing:
        mark = since.astimezone(timezone.utc).replace(microsecond=0) if since is not None else None  # whole seconds
        found = [i for i in self.remote.issues.values() if not i.deleted and (not label or label.lower() in map(str.lower, i.labels))
                 and (mark is None or i.updated_at >= mark)]
        found.sort(key=lambda i: (i.updated_at, i.number), reverse=True)
        return self._listing("issues", [self._issue(i.number) for i in found], etags)

    def get_issue(self, number: int) -> RemoteIssue | None:
        try:
            return self._call(lambda: self._issue(number))
        except TrackerError as exc:
            if exc.kind in ("gone", "not_found"):
                return None
            raise

    def ensure_label(self, name: str) -> bool:
        if self._call(lambda: name.lower() in self.remote.labels):
            return False
        self._call(lambda: self.remote.label(name), write=True)
        return True

    def create_milestone(self, title: str, description: str, *, due: str | None = None,
                         start: str | None = None) -> RemoteMilestone:
        return self._call(lambda: self.remote.milestones[self.remote.create_milestone(title, description, due, start)],
                          write=True, idempotent=False)

    def update_milestone(self, number: int, *, title: str | Unset = UNSET, description: str | Unset = UNSET,
                         due: str | None | Unset = UNSET, start: str | None | Unset = UNSET) -> RemoteMilestone:
        def change() -> RemoteMilestone:
            if number not in self.remote.milestones:
                raise TrackerError("not_found", f"milestone {number}: not found", status=404)
            self.remote.edit_milestone(number, **given(title=title, description=description, due=due, start=start))
            return self.remote.milestones[number]

        return self._call(change, write=True)

    def create_issue(self, title: str, body: str, milestone: int | None, labels: Iterable[str], *,
                     task: bool = False, assignees: Iterable[str] = (), due: str | None = None) -> RemoteIssue:
        def create() -> RemoteIssue:
            if len(title) > LIMITS["title"] or not title.strip():
                raise TrackerError("invalid", f"creating issue {title[:60]!r}: title is invalid", status=422)
            number = self.remote.create_issue(title, body, labels, milestone)
            issue = self.remote.issues[number]
            issue.assignees = self.remote._assignees(self._sendable(assignees))
            issue.due = due if self.remote.issue_due else None
            return self._issue(number)

        answer = self._call(create, write=True, idempotent=False)
        self._learn(assignees, answer)
        return answer

    def update_issue(self, number: int, *, title: str | Unset = UNSET, body: str | Unset = UNSET,
                     milestone: int | None | Unset = UNSET, labels: tuple[str, ...] | Unset = UNSET,
                     assignees: tuple[str, ...] | Unset = UNSET, due: str | None | Unset = UNSET) -> RemoteIssue:
        people = UNSET if isinstance(assignees, Unset) else self._sendable(assignees)
        answer = self._write(number, **given(title=title, body=body, milestone=milestone, labels=labels, assignees=people,
                                             due=due if self._has_due else UNSET))
        if not isinstance(assignees, Unset):
            self._learn(assignees, answer)
        return answer

    # -- metadata ----------------------------------------------------------------------------

    @property
    def _has_due(self) -> bool:
        return self.remote.issue_due

    def _sendable(self, logins: Iterable[str]) -> list[str]:
        most = self.capabilities.get("assignees")
        logins = list(logins)
        return logins[:most] if most else logins

    def _learn(self, sent: Iterable[str], answer: RemoteIssue) -> None:
        sent = self._sendable(sent)
        if len(answer.assignees) < len(sent) and all(a.lower() in self.remote.people for a in sent):
            self.capabilities["assignees"] = max(1, len(answer.assignees))

    def assignable(self, login: str) -> bool:
        if login not in self._people:
            self._people[login] = self._call(lambda: login.lower() in self.remote.people)
        return self._people[login]

    def block(self, issue: int, blocker: int) -> str:
        mode = self.capabilities.get("dependencies") or self.remote.dependencies
        if mode == "body":
            self.capabilities["dependencies"] = "body"
            return "body"

        def add() -> None:
            self._live(issue), self._live(blocker)
            self.remote.block(issue, blocker)

        self._call(add, write=True)
        self.capabilities["dependencies"] = mode
        return mode

    def unblock(self, issue: int, blocker: int) -> None:
        if (self.capabilities.get("dependencies") or self.remote.dependencies) == "body":
            return
        self._call(lambda: self.remote.unblock(issue, blocker), write=True)

    def close_issue(self, number: int, reason: str) -> RemoteIssue:
        return self._write(number, state=reason)

    def reopen_issue(self, number: int) -> RemoteIssue:
        return self._write(number, state="open")

    def comment(self, number: int, body: str) -> None:
        def post() -> None:
            if self._live(number).locked:
                raise TrackerError("forbidden", f"commenting on issue #{number}: the issue is locked", status=403)
            self.remote.add_comment(number, body)

        self._call(post, write=True, idempotent=False)

    # -- hierarchy: GitHub's sub-issues (each call one request, like the REST operations) ---

    def hierarchy(self, probe: int) -> str:
        if self.hierarchy_mode is None:
            self._call(lambda: self._live(probe))
            self.hierarchy_mode = self.remote.hierarchy_mode
        return self.hierarchy_mode

    def attach(self, parent: int, child: int, *, after: int | None = None, move_from: int | None = None) -> None:
        mode = self.hierarchy_mode or self.hierarchy(parent)
        if mode == "none" or child == parent:
            return
        if mode == "links":
            def link() -> None:
                self._live(parent), self._live(child)
                self.remote.links.add((parent, child))
                if move_from is not None:
                    self.remote.links.discard((move_from, child))

            self._call(link, write=True, idempotent=False)
            return

        def add() -> bool:
            self._live(parent), self._live(child)
            current = self.remote.issues[child].parent
            if current == parent:
                return False  # already there
            if current is not None and move_from is None:
                raise TrackerError("conflict", f"issue #{child} is already a sub-issue of #{current}, not of #{parent}: "
                                   "somebody else put it there, so guidesync leaves it (move it by hand to let "
                                   "guidesync attach it)", status=422)
            self.remote.add_sub_issue(parent, child, replace=move_from is not None)
            return True

        self._call(add, write=True, idempotent=False)
        if after is not None and after != child:
            self._call(lambda: self.remote.place(parent, child, after), write=True)

    def parent_of(self, child: int) -> int | None:
        if (self.hierarchy_mode or self.hierarchy(child)) in ("none", "links"):
            return None
        return self._call(lambda: self._live(child).parent)

    def detach(self, parent: int, child: int) -> None:
        mode = self.hierarchy_mode or self.hierarchy(parent)
        if mode == "none" or child == parent:
            return

        def remove() -> None:
            self._live(parent), self._live(child)
            if mode == "links":
                self.remote.links.discard((parent, child))
            elif self.remote.issues[child].parent == parent:
                self.remote.issues[parent].children.remove(child)
                self.remote.issues[child].parent = None

        self._call(remove, write=True)
