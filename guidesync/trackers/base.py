"""The interface the sync engine talks to, the values it exchanges, and the shared call policy.

An adapter (GitHub, GitLab) turns these calls into its client library's calls and the library's
errors into :class:`TrackerError` kinds. Everything that is the same on every forge (retrying,
pacing, honouring Retry-After, keeping within the rate-limit budget, counting requests) lives in
:class:`CallPolicy`, so no adapter re-implements it.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Callable, Iterable, Mapping, Protocol, TypeVar
from urllib.parse import urlsplit

from ..errors import BudgetExhausted, RateLimited, TrackerError, Transient  # noqa: F401 - the adapters' vocabulary

T = TypeVar("T")

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



_DEFAULT_PORTS = {"http": 80, "https": 443}
_NUMBER = re.compile(r"[0-9]{1,12}")


def web_key(url: str) -> tuple[str, str] | None:
    """How two web addresses are compared: (host[:port], path), lower-case, without the scheme,
    user info, a scheme's default port, query, fragment and trailing slashes. None when ``url``
    is not an http(s) address.

    http and https of the same host count as one: both forges serve their pages on https and send
    http there, so a hand-typed ``http://`` link names the same page; a different host, an explicit
    different port or a different path is another place."""
    try:
        parts = urlsplit(str(url).strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        host += f":{port}"
    return host, parts.path.rstrip("/").lower()


def issue_number_in(url: str, repository_urls: Iterable[str], kinds: Iterable[str]) -> int | None:
    """N when ``url`` is ``{repository_url}/{kind}/N`` for one of the repository's web addresses
    (compared by :func:`web_key`: any case, a trailing slash, a query or a fragment allowed)."""
    key = web_key(url)
    if key is None:
        return None
    host, path = key
    for repository_url in repository_urls:
        base = web_key(repository_url)
        if base is None or base[0] != host:
            continue
        for kind in kinds:
            head = f"{base[1]}/{kind}/"
            if path.startswith(head) and _NUMBER.fullmatch(path[len(head):]):
                return int(path[len(head):])
    return None


class WebAddress:
    """The repository's web address, learned, never derived from the API URL.

    - ``told``: from the configuration (``web_url``) or the CI's own variables; links are built
      from it and recognised by it, and it is not kept in the base;
    - ``learned``: what the tracker said (``learn()``, one request), or what it said in an earlier
      run (kept in the base); :attr:`learned` is what the engine keeps.

    A link is the repository's when it fits any of them (an address the tracker gave earlier and
    no longer gives still names this repository's issues: links written with it stay its own). The
    tracker is asked at most once a run: when nothing is known yet, or when one of its own answers
    does not fit what is known (a base from before the instance moved, a wrong ``web_url``), so a
    stale address costs one request, once."""

    def __init__(self, learn: Callable[[], str], kinds: tuple[str, ...], *, told: str | None = None,
                 remembered: str | None = None):
        self._learn = learn
        self.kinds = kinds
        self.told = told.rstrip("/") if told else None
        self.learned = remembered.rstrip("/") if remembered else None
        self.asked = False  # the tracker was asked in this run
        self._earlier: list[str] = []  # addresses learned before the one the tracker gives now

    @property
    def known(self) -> bool:
        return self.told is not None or self.learned is not None

    def own_page(self, url: str, number: int) -> bool:
        """Could ``url`` be written into a guide as issue ``number``'s link? A plain URL, and once
        the address is known (never asked for just this), that issue's own page."""
        from ..model import plain_url

        return plain_url(url) and (not self.known or self.number(url) == number)

    def checked(self, issue: "RemoteIssue") -> "RemoteIssue":
        """An issue from an answer, its URL kept only if :meth:`own_page` (never written otherwise)."""
        if issue.url and not self.own_page(issue.url, issue.number):
            return replace(issue, url="")
        return issue

    def ensure(self) -> str:
        """The address links are built from (the told one first); asks the tracker if none is known."""
        if self.told is None and self.learned is None:
            self.ask()
        return self.told or self.learned  # type: ignore[return-value]

    def ask(self) -> None:
        url = self._learn().strip().rstrip("/")
        if self.learned and self.learned != url:
            self._earlier.append(self.learned)
        self.learned, self.asked = url, True

    def number(self, url: str) -> int | None:
        self.ensure()
        return issue_number_in(url, [u for u in (self.told, self.learned, *self._earlier) if u], self.kinds)

    def fits(self, url: str, number: int) -> bool:
        """Is ``url``, from one of the tracker's own answers, issue ``number`` of this repository?
        When it is not and the tracker was not asked in this run, ask it once and look again."""
        if self.number(url) == number:
            return True
        if self.asked:
            return False
        self.ask()
        return self.number(url) == number

    def check(self, url: str, number: int) -> None:
        """:meth:`fits` for an answer that is this repository's anyway (a listing, a creation):
        learns again if it does not fit; asks nothing when no address is known yet."""
        if self.told is not None or self.learned is not None:
            self.fits(url, number)


def _seconds(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def retry_wait(headers: Mapping[str, Any], reset: str, *, spent: str | None = None,
               now: Callable[[], float] | None = None) -> float | None:
    """Seconds to wait after a rate-limited answer (lower-case ``headers``): ``Retry-After`` in
    seconds or as an HTTP date, else the ``reset`` header (epoch seconds) — with ``spent``, only
    when that header says the budget is at 0 (GitHub's ``x-ratelimit-remaining``). None: unknown."""
    now = now or time.time
    value = headers.get("retry-after")
    if value is not None:
        seconds = _seconds(value)
        if seconds is not None:
            return max(0.0, seconds)
        try:
            when = parsedate_to_datetime(str(value))
        except (TypeError, ValueError, IndexError):
            when = None
        if when is not None:
            return max(0.0, when.timestamp() - now())
        return None
    if spent is not None and str(headers.get(spent, "")).strip() != "0":
        return None
    epoch = _seconds(headers.get(reset))
    return None if epoch is None else max(0.0, epoch - now())


class Unset:
    """Marker for "leave this field alone" in updates."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET = Unset()


def given(**fields: object) -> dict[str, object]:
    """The fields that were given: a request payload without the UNSET ones."""
    return {k: v for k, v in fields.items() if not isinstance(v, Unset)}


@dataclass(frozen=True)
class RemoteIssue:
    number: int  # GitHub issue number / GitLab iid
    url: str  # web URL people open
    title: str
    body: str
    state: str  # "open" | "completed" | "not_planned" (closed, by reason)
    milestone: int | None  # GitHub milestone number / GitLab milestone id
    labels: tuple[str, ...]
    updated_at: datetime | None = None
    locked: bool = False


@dataclass(frozen=True)
class RemoteMilestone:
    number: int
    title: str
    description: str
    state: str = "open"  # "open" | "closed"
    group: bool = False  # a GitLab group milestone (inherited, not the project's own)
    shown: int | None = None  # the number people see where it differs from ``number`` (GitLab's iid)


@dataclass(frozen=True)
class Listing:
    """What a listing returned. ``items`` is None when the server said 304 Not Modified."""

    items: tuple | None
    etags: dict[str, str] = field(default_factory=dict)
    server_time: datetime | None = None


@dataclass
class RequestStats:
    sent: int = 0
    charged: int = 0  # sent minus 304 answers (GitHub does not charge those)
    writes: int = 0
    retries: int = 0
    waited: float = 0.0  # seconds spent in Retry-After / pacing pauses
    remaining: int | None = None  # the rate-limit budget the last answer reported

    def note_remaining(self, headers: Mapping[str, Any], name: str) -> None:
        """Take the rate-limit budget from an answer's ``name`` header (any case), if it has one."""
        for key, value in headers.items():
            if key.lower() == name:
                try:
                    self.remaining = int(value)
                except ValueError:
                    pass

    def as_dict(self) -> dict[str, float | int | None]:
        return {
            "sent": self.sent,
            "charged": self.charged,
            "writes": self.writes,
            "retries": self.retries,
            "waited": round(self.waited, 3),
            "remaining": self.remaining,
        }


class CallPolicy:
    """Retries, pacing and budget, shared by every adapter.

    - reads are retried on ``transient`` and ``rate_limited`` errors; writes only on
      ``rate_limited`` (the server said it did nothing) and on ``transient`` when ``idempotent``;
    - writes are serial and at least ``write_interval`` seconds apart;
    - a Retry-After longer than ``max_wait`` or a budget below ``reserve`` raises
      :class:`BudgetExhausted` instead of sleeping for ages or running dry mid-way.
    """

    def __init__(
        self,
        *,
        write_interval: float = 1.0,
        max_retries: int = 4,
        max_wait: float = 120.0,
        reserve: int = 20,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.write_interval = write_interval
        self.max_retries = max_retries
        self.max_wait = max_wait
        self.reserve = reserve
        self.sleep = sleep
        self.clock = clock
        self.stats = RequestStats()
        self._last_write: float | None = None

    def _pause(self, seconds: float) -> None:
        if seconds > 0:
            self.stats.waited += seconds
            self.sleep(seconds)

    def check_budget(self) -> None:
        remaining = self.stats.remaining
        if remaining is not None and remaining <= self.reserve:
            raise BudgetExhausted(
                f"only {remaining} API requests left in this rate-limit window (reserve {self.reserve}); "
                "stopping here, the next run resumes"
            )

    def call(self, fn: Callable[[], T], *, write: bool = False, idempotent: bool = True) -> T:
        """Run one tracker call under the policy."""
        attempt = 0
        while True:
            if write:
                self.check_budget()
                if self._last_write is not None:
                    self._pause(self.write_interval - (self.clock() - self._last_write))
            try:
                result = fn()
                return result
            except TrackerError as exc:
                retry = isinstance(exc, RateLimited) or (isinstance(exc, Transient) and (not write or idempotent))
                if not retry or attempt >= self.max_retries:
                    if isinstance(exc, RateLimited):
                        raise BudgetExhausted(f"rate limited by the tracker: {exc}") from exc
                    if write and not idempotent and isinstance(exc, Transient):
                        raise TrackerError("ambiguous", str(exc), status=exc.status) from exc
                    raise
                wait = exc.retry_after if exc.retry_after is not None else min(2.0**attempt, self.max_wait)
                if wait > self.max_wait:
                    raise BudgetExhausted(
                        f"the tracker asks to wait {wait:.0f} s (more than max_retry_wait {self.max_wait:.0f} s); "
                        "stopping here, the next run resumes"
                    ) from exc
                attempt += 1
                self.stats.retries += 1
                self._pause(wait)
                if isinstance(exc, RateLimited):
                    self.stats.remaining = None  # the window the server asked us to wait for has passed
            finally:
                if write:
                    self._last_write = self.clock()


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

    def list_milestones(self, etags: dict[str, str]) -> Listing:
        """All milestones (open and closed, and for GitLab the group milestones the project can
        use). ``etags`` from the last run make an unchanged answer a free 304 where supported."""

    def list_issues(self, label: str, since: datetime | None, etags: dict[str, str]) -> Listing:
        """Managed issues (carrying ``label``), open and closed, updated at or after ``since``."""

    def get_issue(self, number: int) -> RemoteIssue | None:
        """One issue, or None when it was deleted or moved away."""

    def ensure_label(self, name: str) -> bool:
        """Create the label if it is missing. True when it had to be created."""

    def create_milestone(self, title: str, description: str) -> RemoteMilestone: ...

    def update_milestone(self, number: int, *, title: str | Unset = UNSET, description: str | Unset = UNSET) -> RemoteMilestone: ...

    def create_issue(self, title: str, body: str, milestone: int | None, labels: Iterable[str]) -> RemoteIssue: ...

    def update_issue(
        self,
        number: int,
        *,
        title: str | Unset = UNSET,
        body: str | Unset = UNSET,
        milestone: int | None | Unset = UNSET,
        labels: tuple[str, ...] | Unset = UNSET,
    ) -> RemoteIssue: ...

    def close_issue(self, number: int, reason: str) -> RemoteIssue:
        """Close as ``completed`` or ``not_planned`` (where the forge has no reasons, just close)."""

    def reopen_issue(self, number: int) -> RemoteIssue: ...

    def comment(self, number: int, body: str) -> None: ...

    def limits(self) -> dict[str, int]:
        """Forge limits: ``title`` and ``body`` lengths in characters."""
