"""The interface the sync engine talks to, the values it exchanges, and the adapters' shared skeleton.

An adapter (GitHub, GitLab) turns these calls into its client library's calls and the library's
errors into :class:`TrackerError` kinds; it keeps only its paths, payloads and mapping, and
:class:`Adapter` holds what is the same on every forge (the status-to-kind table, the label that
marks managed issues, the web address). Retrying, pacing, honouring Retry-After, keeping within
the rate-limit budget and counting requests live in :class:`~guidesync.trackers.policy.CallPolicy`
(every adapter's requests run through :meth:`CallPolicy.call`, one request per call); the web
address rules in :mod:`guidesync.trackers.web`. Both are re-exported here.
"""

from __future__ import annotations

import re
import time  # noqa: F401 - tests reach the clock retry_wait reads through this module
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Iterable, Mapping, Protocol
from urllib.parse import quote

from ..core.model import RemoteIssue, RemoteMilestone  # noqa: F401 - the tracker values, re-exported
from ..errors import BudgetExhausted, Conflict, NotFound, RateLimited, TrackerError, Transient  # noqa: F401 - the adapters' vocabulary
from .policy import CallPolicy, RequestStats, retry_wait  # noqa: F401 - re-exported
from .web import WebAddress, issue_number_in, web_key  # noqa: F401 - re-exported

__all__ = [  # what the package and the tests import from here
    "Adapter", "BudgetExhausted", "CAPABILITIES", "CallPolicy", "HIERARCHY_MODES", "LABEL_DESCRIPTION", "LINK_NEXT", "Listing", "MAX_LISTED", "PageGuard",
    "RateLimited", "RemoteIssue", "RemoteMilestone", "RequestStats", "STATUS_KINDS", "Tracker", "TrackerError",
    "Transient", "UNSET", "Unset", "WebAddress", "api_time", "connection_error", "given", "header_time",
    "MAX_CHILDREN", "MAX_DEPTH", "issue_number_in", "retry_wait", "status_error", "web_key",
]

#: The next page in a ``Link`` header (GitHub and GitLab write it alike).
LINK_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')

#: The most items one listing may hold (issues carrying the label, or milestones): 1,000 pages of
#: 100. A server that offers more pages than that, or a page with nothing new on it, is not believed:
#: the listing fails, and so does the run, before anything is written.
MAX_LISTED = 100_000


class PageGuard:
    """Stops a listing that does not end: a next page offered after a page that brought no item not
    seen before (a loop), more pages than ``max_items`` can explain, or (GitLab) a page past the
    total the server itself announced."""

    def __init__(self, what: str, per_page: int, max_items: int):
        self.what = what
        self.per_page = max(1, per_page)
        self.max_pages = max(1, -(-max_items // self.per_page))
        self.pages = 0
        self.seen: set[Any] = set()
        self.new = 0

    def page(self, data: Any) -> list[Any]:
        """Take one page's answer; the items on it."""
        if data is None:
            data = []
        if not isinstance(data, list):
            raise TrackerError("invalid", f"{self.what}: page {self.pages + 1} is not a list; check the configured url")
        self.pages += 1
        keys = {_identity(item) for item in data}
        self.new = len(keys - self.seen)
        self.seen |= keys
        return data

    def next_allowed(self, total_pages: int | None = None) -> None:
        """The server offers another page: is that believable?"""
        if self.new == 0:
            raise TrackerError("invalid", f"{self.what}: page {self.pages} brought nothing not listed before, yet the "
                               "server offers a next page; stopped (nothing is written from a listing that does not end)")
        if total_pages is not None and self.pages >= total_pages:
            raise TrackerError("invalid", f"{self.what}: the server offers page {self.pages + 1} but said there are "
                               f"{total_pages} pages; stopped (nothing is written from a listing that does not end)")
        if self.pages >= self.max_pages:
            raise TrackerError("invalid", f"{self.what}: the server offers more than {self.max_pages} pages of "
                               f"{self.per_page} ({self.max_pages * self.per_page} items, the most guidesync lists); "
                               "stopped (nothing is written from a listing that does not end)")


def _identity(item: Any) -> Any:
    """What makes an item of a listing the same item on another page."""
    if isinstance(item, dict) and any(item.get(k) is not None for k in ("id", "number", "iid")):
        return tuple(str(item.get(k)) for k in ("id", "number", "iid"))
    return repr(item)


_FRACTION = re.compile(r"\.(\d+)(?=[+-]\d\d:\d\d$|$)")


def api_time(value: Any) -> datetime | None:
    """An API timestamp (ISO 8601, any number of fraction digits, Z or an offset) in UTC; None if unreadable."""
    if not value or not isinstance(value, str):
        return None
    text = value.strip()
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    # Python 3.10's fromisoformat wants 0, 3 or 6 fraction digits: pad/trim to 6
    text = _FRACTION.sub(lambda m: "." + (m.group(1) + "000000")[:6], text)
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def header_time(headers: Mapping[str, Any]) -> datetime | None:
    """The server's clock from an answer's ``Date`` header (lower-case keys), or None."""
    value = headers.get("date")
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).astimezone(timezone.utc)
    except (TypeError, ValueError, IndexError):
        return None



class Unset:
    """Marker for "leave this field alone" in updates."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET = Unset()


def given(**fields: object) -> dict[str, object]:
    """The fields that were given: a request payload without the UNSET ones."""
    return {k: v for k, v in fields.items() if not isinstance(v, Unset)}


@dataclass(frozen=True)
class Listing:
    """What a listing returned. ``items`` is None when the server said 304 Not Modified."""

    items: tuple | None
    etags: dict[str, str] = field(default_factory=dict)
    server_time: datetime | None = None
    #: ``items`` are only those changed since the ``since`` asked for (GitLab's milestones with
    #: ``updated_after``); the others are as the last listing showed them, or deleted meanwhile
    partial: bool = False


class Tracker(Protocol):
    """What the sync engine needs from an issue tracker. All numbers are the forge's own
    (GitHub issue/milestone numbers; GitLab issue iids and milestone ids)."""

    name: str
    policy: CallPolicy

    #: the repository's web address as the tracker gave it (in this run or an earlier one, kept in
    #: the base), or None when it was not needed yet
    repository_url: str | None

    def learn_web(self) -> str:
        """Make sure the repository's web address is known (one request when neither the base, the
        configuration nor the CI knows it); the address links are built from."""

    def issue_number_from_url(self, url: str) -> int | None:
        """The issue number if ``url`` is an issue of this repository, else None: compared by host
        and path whatever the case; a trailing slash, a query or a fragment are allowed."""

    def guide_url(self, path: str, branch: str) -> str:
        """Web URL of a file of the repository, for links from issue bodies back to the guide."""

    def list_milestones(self, etags: dict[str, str], since: datetime | None = None) -> Listing:
        """All milestones (open and closed, and for GitLab the group milestones the project can
        use). ``etags`` from the last run make an unchanged answer a free 304 where supported.
        ``since`` (the issues' listing mark): where the server filters milestones by the time of
        their last change (GitLab 15.10+, learned once: :data:`CAPABILITIES` ``milestones_since``),
        only those changed since, in a :attr:`Listing.partial` listing; elsewhere ignored."""

    def list_issues(self, label: str, since: datetime | None, etags: dict[str, str]) -> Listing:
        """Managed issues (carrying ``label``), open and closed, updated at or after ``since``."""

    def get_issue(self, number: int) -> RemoteIssue | None:
        """One issue, or None when it was deleted or moved away."""

    def ensure_label(self, name: str) -> bool:
        """Create the label if it is missing. True when it had to be created."""

    def create_milestone(self, title: str, description: str, *, due: str | None = None,
                         start: str | None = None) -> RemoteMilestone:
        """``due``/``start``: days (YYYY-MM-DD). GitHub keeps only the due day, in US Pacific time:
        the adapter sends a time that lands on that day there; it has no start date (ignored)."""

    def update_milestone(self, number: int, *, title: str | Unset = UNSET, description: str | Unset = UNSET,
                         due: str | None | Unset = UNSET, start: str | None | Unset = UNSET) -> RemoteMilestone:
        """None clears a date; UNSET leaves it."""

    def create_issue(self, title: str, body: str, milestone: int | None, labels: Iterable[str], *,
                     task: bool = False, assignees: Iterable[str] = (), due: str | None = None) -> RemoteIssue:
        """``task``: the issue will be a sub-issue; GitLab makes it a task (``issue_type=task``) when
        its hierarchy mode is "graphql", as only tasks can be an issue's children there.
        ``assignees``: logins :meth:`assignable` accepted. ``due``: GitLab's due date (GitHub has
        none: ignored). The answer's ``assignees`` are those the tracker kept (GitLab Free keeps one)."""

    def update_issue(
        self,
        number: int,
        *,
        title: str | Unset = UNSET,
        body: str | Unset = UNSET,
        milestone: int | None | Unset = UNSET,
        labels: tuple[str, ...] | Unset = UNSET,
        assignees: tuple[str, ...] | Unset = UNSET,
        due: str | None | Unset = UNSET,
    ) -> RemoteIssue:
        """``labels`` and ``assignees`` are the whole new sets (they replace the issue's)."""

    def close_issue(self, number: int, reason: str) -> RemoteIssue:
        """Close as ``completed`` or ``not_planned`` (where the forge has no reasons, just close)."""

    def reopen_issue(self, number: int) -> RemoteIssue: ...

    def comment(self, number: int, body: str) -> None: ...

    def limits(self) -> dict[str, int]:
        """Forge limits: ``title`` and ``body`` lengths in characters."""

    # ------------------------------------------------------------ metadata (fields in the guide)
    #: what this server was found to allow, kept in the base so it is learned once (see
    #: :data:`CAPABILITIES`); an adapter fills it in as answers show it
    capabilities: dict[str, Any]

    def assignable(self, login: str) -> bool:
        """May issues of this repository be assigned to ``login``? Asked once per login and run
        (GitHub: ``GET /repos/{o}/{r}/assignees/{login}``, 204 or 404; GitLab: ``GET
        /users?username=``, the user's id kept for the assignment)."""

    def block(self, issue: int, blocker: int) -> str:
        """Record on the tracker that ``issue`` is blocked by ``blocker`` (both this repository's);
        how it was recorded: "native" (a GitHub issue dependency, a GitLab ``blocks`` link),
        "related" (a GitLab ``relates_to`` link: the tier has no blocking links) or "body" (the
        server has neither: only the issue body says it). Learned once (:attr:`capabilities`
        ``dependencies``). Idempotent: a dependency already there is fine."""

    def unblock(self, issue: int, blocker: int) -> None:
        """Take away the dependency :meth:`block` made. Idempotent: one no longer there is fine."""

    # ------------------------------------------------------------ hierarchy (``sub_issues: true``)
    #: how sub-issues are made here, once learned: "sub_issues" (GitHub's REST operations),
    #: "graphql" (GitHub's addSubIssue mutations, GitLab's child tasks), "links" (GitLab: a
    #: ``relates_to`` link; the parent's body lists the children) or "none" (the body only); None
    #: until :meth:`hierarchy` asked. Kept in the base so it is asked once.
    hierarchy_mode: str | None

    def hierarchy(self, probe: int) -> str:
        """Learn (once; at most two requests) how this server makes sub-issues, using ``probe``, an
        issue number that exists; sets and returns :attr:`hierarchy_mode`."""

    def attach(self, parent: int, child: int, *, after: int | None = None, move_from: int | None = None) -> None:
        """Make ``child`` a sub-issue (GitLab: child task) of ``parent``, placed right after its
        sibling ``after`` (None: at the end). ``move_from``: the parent guidesync attached it to
        before, which it may leave. Idempotent: a child already under ``parent`` is fine (it is only
        moved into place). A child under another parent guidesync did not set raises Conflict."""

    def parent_of(self, child: int) -> int | None:
        """The number of ``child``'s parent in this repository, or None (re-checks a lost answer)."""

    def detach(self, parent: int, child: int) -> None:
        """Take ``child`` from under ``parent`` (guidesync attached it; its item left for the top
        level). Idempotent: a child no longer there is fine."""


#: HTTP status -> error kind, as every forge answers; an adapter adds its own cases (GitHub's
#: rate-limited 403, GitLab's 409 and "already taken" 400, each forge's redirects).
STATUS_KINDS = {401: "auth", 403: "forbidden", 404: "not_found", 410: "gone", 429: "rate_limited"}

#: the description of the label that marks managed issues
LABEL_DESCRIPTION = "Managed by guidesync from the implementation guides"

#: what :attr:`Tracker.capabilities` may hold, and its values: "dependencies": how blocked-by is
#: recorded ("native" | "related" | "body", see :meth:`Tracker.block`); "assignees": the most
#: assignees an issue keeps (1 on GitLab Free; absent: no limit seen); "milestones_since": whether
#: a milestone listing honours ``updated_after`` (GitLab 15.10+: True; older GitLab ignores it:
#: False; absent: not learned yet, see :meth:`Tracker.list_milestones`)
CAPABILITIES = {"dependencies": ("native", "related", "body"), "assignees": int, "milestones_since": bool}

#: the ways a tracker makes sub-issues (see :attr:`Tracker.hierarchy_mode`)
HIERARCHY_MODES = ("sub_issues", "graphql", "links", "none")
#: the sub-issue limits of GitHub (github/docs adding-sub-issues.md): children per parent, and
#: issues on the path from the top issue down to the deepest sub-issue
MAX_CHILDREN, MAX_DEPTH = 100, 8


def status_error(status: int, message: str, *, kinds: Mapping[int, str] | None = None,
                 messages: Mapping[str, str] | None = None, retry_after: float | None = None) -> TrackerError:
    """The :class:`TrackerError` for an HTTP error answer: its kind from the adapter's own
    ``kinds``, else :data:`STATUS_KINDS`, else transient (5xx) or invalid; ``messages`` per kind
    replace ``message``; ``retry_after`` goes with a rate-limited kind only."""
    kind = (kinds or {}).get(status) or STATUS_KINDS.get(status) or ("transient" if status >= 500 else "invalid")
    return TrackerError(kind, (messages or {}).get(kind, message), status=status,
                        retry_after=retry_after if kind == "rate_limited" else None)


def connection_error(exc: BaseException, what: str) -> TrackerError:
    """A transport failure (reset, timeout, refused): transient, named by its class only (its
    text may hold a URL or a header)."""
    return TrackerError("transient", f"{what}: connection problem ({type(exc).__name__})")


class Adapter:
    """What both adapters do alike; each supplies its paths, payloads and mapping:

    - ``_request(verb, path, what, *, body=None, ...)``: one request under the call policy;
    - ``_labels_path`` and ``label_color``: where labels are, and the colour of a new one;
    - ``blob_path`` and ``LIMITS``: where a file's page is, and the title and body lengths;
    - ``_parse_issue(data)``: an issue of the forge's answer as a :class:`RemoteIssue`;
    - ``web``: the repository's :class:`~guidesync.trackers.web.WebAddress`.
    """

    name: str
    policy: CallPolicy
    web: WebAddress
    label_color: str
    blob_path: str  # where a file's page is under the repository's web address
    LIMITS: dict[str, int]  # title and body lengths
    max_listed = MAX_LISTED  # items one listing may hold (tests lower it)

    def _request(self, verb: str, path: str, what: str, **kw: Any) -> Any:
        raise NotImplementedError

    @property
    def _labels_path(self) -> str:
        raise NotImplementedError

    @staticmethod
    def _parse_issue(data: dict[str, Any]) -> RemoteIssue:
        raise NotImplementedError

    def _issue(self, data: dict[str, Any]) -> RemoteIssue:
        """An issue from an answer; its URL only if it is a plain URL of this very issue's page.
        Its ids are kept for the sub-issue calls (:meth:`_note_ids`)."""
        self._note_ids(data)
        return self.web.checked(self._parse_issue(data))

    # -- hierarchy: what both adapters do alike -------------------------------------------
    #
    # An adapter supplies ``hierarchy(probe)``, ``_attach(mode, parent, child, after, move_from)``
    # and ``_current_parent(child)``; what every mode does alike is here: "none" attaches nothing,
    # a child is never its own parent or sibling, and a child found under a parent guidesync did
    # not set is a Conflict (:meth:`_settle`).

    hierarchy_mode: str | None = None

    @staticmethod
    def _known_capabilities(capabilities: Mapping[str, Any] | None) -> dict[str, Any]:
        """The capabilities handed back from an earlier run that this code knows (see
        :data:`CAPABILITIES`); anything else is dropped and learned again."""
        known: dict[str, Any] = {}
        for key, value in (capabilities or {}).items():
            allowed = CAPABILITIES.get(key)
            if allowed is int and isinstance(value, int) and not isinstance(value, bool) and value > 0:
                known[key] = value
            elif allowed is bool and isinstance(value, bool):
                known[key] = value
            elif isinstance(allowed, tuple) and value in allowed:
                known[key] = value
        return known

    @staticmethod
    def _known_mode(mode: str | None) -> str | None:
        """A mode handed back from an earlier run, if it is one this code knows."""
        return mode if mode in HIERARCHY_MODES else None

    def _note_ids(self, data: dict[str, Any]) -> None:
        """Keep what the sub-issue calls need of an issue of an answer (its ids): per run, so that
        attaching issues listed or created in this run costs no extra read."""

    def _current_parent(self, child: int) -> tuple[int | None, str | None]:
        """(number of ``child``'s parent in this repository or None, how it is shown: ``#12``,
        ``other/repo#3`` for a parent elsewhere, None when it has no parent)."""
        raise NotImplementedError

    def parent_of(self, child: int) -> int | None:
        if (self.hierarchy_mode or self.hierarchy(child)) in ("none", "links"):
            return None
        return self._current_parent(child)[0]

    def hierarchy(self, probe: int) -> str:
        raise NotImplementedError

    def _settle(self, parent: int, child: int, move_from: int | None, exc: TrackerError | None) -> bool:
        """The server refused to add ``child`` under ``parent`` as a sub-issue of someone already
        (``exc`` None), or the answer to the add was lost (``exc`` the Ambiguous error): is it
        where it should be now? True: it is under ``parent``; False: it is under no parent or
        under ``move_from`` (the add can be sent again). Conflict: under a parent guidesync did
        not set."""
        number, shown = self._current_parent(child)
        if number == parent and number is not None:
            return True
        if shown is None or (move_from is not None and number == move_from):
            if exc is None:  # refused as "already a sub-issue", yet it has no parent: say so
                raise TrackerError("invalid", f"making issue #{child} a sub-issue of #{parent}: refused as already "
                                   "a sub-issue, yet it has no parent now; try again later")
            return False
        if move_from is not None:  # a move: replacing the parent is what was asked
            return False
        raise self._conflict(parent, child, shown)

    @staticmethod
    def _conflict(parent: int, child: int, shown: str) -> TrackerError:
        return TrackerError("conflict", f"issue #{child} is already a sub-issue of {shown}, not of #{parent}: somebody "
                            "else put it there, so guidesync leaves it (move it by hand to let guidesync attach it)")

    def attach(self, parent: int, child: int, *, after: int | None = None, move_from: int | None = None) -> None:
        mode = self.hierarchy_mode or self.hierarchy(parent)
        if mode == "none" or child == parent:
            return
        self._attach(mode, parent, child, after if after != child else None, move_from)

    def _attach(self, mode: str, parent: int, child: int, after: int | None, move_from: int | None) -> None:
        raise NotImplementedError

    def detach(self, parent: int, child: int) -> None:
        mode = self.hierarchy_mode or self.hierarchy(parent)
        if mode == "none" or child == parent:
            return
        self._detach(mode, parent, child)

    def _detach(self, mode: str, parent: int, child: int) -> None:
        raise NotImplementedError

    @property
    def repository_url(self) -> str | None:
        return self.web.learned

    def learn_web(self, links: Iterable[tuple[str, int]] = ()) -> str:
        """The repository's web address (asked once when nothing knows it). ``links``: (url, number)
        of links the base says are this repository's; one that does not fit makes it ask once."""
        address = self.web.ensure()
        for url, number in links:
            if not self.web.fits(url, number):
                break  # asked (at most once); a link that still does not fit is not ours
        return address

    def issue_number_from_url(self, url: str) -> int | None:
        self.learn_web()
        return self.web.number(url)

    def guide_url(self, path: str, branch: str) -> str:
        return f"{self.learn_web()}/{self.blob_path}/{quote(branch)}/{quote(path)}"

    def limits(self) -> dict[str, int]:
        return dict(self.LIMITS)

    def check_access(self) -> None:
        """One request that proves the token and the repository (and learns its web address)."""
        self.web.ask()

    def ensure_label(self, name: str) -> bool:
        """Read the label; create it when it is missing (True). Created meanwhile by somebody else
        (a conflict) counts as created."""
        try:
            self._request("GET", f"{self._labels_path}/{quote(name, safe='')}", f"reading label {name!r}")
            return False
        except NotFound:
            pass
        try:
            self._request("POST", self._labels_path, f"creating label {name!r}",
                          body={"name": name, "color": self.label_color, "description": LABEL_DESCRIPTION})
        except Conflict:
            pass
        return True
