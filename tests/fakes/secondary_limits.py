"""GitHub's secondary (content-creation) rate limits, as the fake GitHub server models them.

What GitHub documents (github/docs ``data/reusables/rest-api/secondary-rate-limit-rest-graphql.md``
and "Rate limits for the REST API", "Exceeding the rate limit"):

* "In general, no more than 80 content-generating requests per minute and no more than 500
  content-generating requests per hour are allowed. Some endpoints have lower content creation
  limits. Content creation limits include actions taken on the GitHub web interface as well as
  via the REST API and GraphQL API."
* The secondary-limit points table counts REST ``POST``/``PATCH``/``PUT``/``DELETE`` and GraphQL
  requests with mutations apart from ``GET``/``HEAD``/``OPTIONS`` and GraphQL queries.
* Over a secondary limit the REST API answers ``403`` or ``429`` with a message saying so; the
  GraphQL API answers ``200`` or ``403`` with such a message. "If the retry-after response header
  is present, you should not retry your request until after that many seconds has elapsed. If the
  x-ratelimit-remaining header is 0, ... x-ratelimit-reset ... Otherwise, wait for at least one
  minute before retrying. If your request continues to fail ..., wait for an exponentially
  increasing amount of time between retries ... Continuing to make requests while you are rate
  limited may result in the banning of your integration."

The model (:class:`ContentBudget`, one per fake server, on the server's own clock):

* *Content-generating*: every REST request that is not ``GET``/``HEAD``/``OPTIONS``, on any
  route, and every GraphQL request whose operation is a ``mutation`` (the server decides which
  request is which; see ``FakeGitHub._is_content``).
* *What counts* (the stricter reading): every content-generating request that GitHub processes,
  whatever its answer (a ``422`` or ``404`` counts as much as a ``201``: the docs count
  requests, not the contents they made), plus content made on the web (``record(web=True)``). The
  refusals themselves do not fill the windows; retrying too early is its own offence (below).
* *Windows*: a request at ``t`` is admitted when fewer than ``per_minute`` counted requests lie
  in ``(t - 60 s, t]`` and fewer than ``per_hour`` in ``(t - 3600 s, t]``; so a request exactly
  60 s after the oldest of a full minute fits again. Times are the server clock's at the
  request's arrival (before its handler ticks the clock).
* *Early retries*: each refusal sets a time before which no content request should come: the
  announced ``retry-after``, or 60 s ("wait at least one minute") when no ``retry-after`` is
  sent. A content request before it is counted in ``early_retries`` and, with ``refuse_early``
  (default), refused again even if the windows have room, which moves that time again (a retry
  storm prolongs itself).
"""

from __future__ import annotations

from bisect import bisect_right, insort
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

__all__ = ["AUTO", "ContentBudget", "ContentLimits", "Refusal"]

MINUTE = 60.0
HOUR = 3600.0
#: ``retry_after`` value: announce the seconds until the windows have room (rounded up)
AUTO: Literal["auto"] = "auto"


@dataclass(frozen=True)
class ContentLimits:
    """How the fake enforces the content-creation limits (see the module docstring).

    ``retry_after``: ``"auto"`` (``retry-after`` = whole seconds until the windows have room),
    a number of seconds to announce whatever the windows say, or None (no ``retry-after``
    header: GitHub sends it sometimes only; a client must then wait at least a minute).
    ``status``: the REST refusal, 403 or 429. ``graphql_status``: the GraphQL refusal, 403 (HTTP
    403 with the REST-style body, as seen by octokit users) or 200 (HTTP 200, ``errors`` with
    ``type: RATE_LIMITED``); the docs allow both. ``refuse_early``: refuse a content request that
    comes before the previous refusal's wait has passed (else only count it).
    """

    per_minute: int = 80
    per_hour: int = 500
    retry_after: int | float | None | Literal["auto"] = AUTO
    status: int = 403
    graphql_status: int = 403
    refuse_early: bool = True

    def __post_init__(self) -> None:
        if self.per_minute < 0 or self.per_hour < 0:
            raise ValueError("content limits must be >= 0")
        if self.status not in (403, 429):
            raise ValueError(f"status must be 403 or 429, not {self.status}")
        if self.graphql_status not in (200, 403):
            raise ValueError(f"graphql_status must be 200 or 403, not {self.graphql_status}")
        if self.retry_after is not None and self.retry_after != AUTO and (
                isinstance(self.retry_after, str) or self.retry_after < 0):
            raise ValueError(f"retry_after must be 'auto', None or seconds >= 0, not {self.retry_after!r}")


@dataclass(frozen=True)
class Refusal:
    """Why a content request is refused: ``retry_after`` is the header's value (None: none sent),
    ``early`` whether it came before the previous refusal's wait had passed."""

    retry_after: int | None
    early: bool


class ContentBudget:
    """The content-creation windows of one user (API requests and web actions alike).

    Attributes (read them in tests; times are aware datetimes of the server clock):

    * ``limits``: :class:`ContentLimits`, or None (nothing is refused; times are still recorded)
    * ``api_times``: the arrival time of every counted API content request, in order
    * ``web_times``: the times of content made on the web (``record(now, web=True)``)
    * ``hits``: refusals so far; ``early``: content requests that came too early after a refusal
    * ``not_before``: the end of the last refusal's wait (None before any refusal)
    """

    def __init__(self, limits: ContentLimits | None = None) -> None:
        self.limits = limits
        self.api_times: list[datetime] = []
        self.web_times: list[datetime] = []
        self.hits = 0
        self.early = 0
        self.not_before: datetime | None = None
        self._all: list[datetime] = []  # every counted time (API and web), sorted

    # ------------------------------------------------------------------ state
    def record(self, now: datetime, *, web: bool = False, n: int = 1) -> None:
        """Count ``n`` content requests made at ``now``."""
        (self.web_times if web else self.api_times).extend([now] * n)
        for _ in range(n):
            insort(self._all, now)  # appends unless the clock was set back

    def used(self, now: datetime, seconds: float = MINUTE) -> int:
        """Counted content requests (API and web) in ``(now - seconds, now]``."""
        return bisect_right(self._all, now) - bisect_right(self._all, now - timedelta(seconds=seconds))

    def wait(self, now: datetime) -> float:
        """Seconds from ``now`` until one more content request fits both windows (0: it fits)."""
        if self.limits is None:
            return 0.0
        longest = 0.0
        end = bisect_right(self._all, now)
        for seconds, limit in ((MINUTE, self.limits.per_minute), (HOUR, self.limits.per_hour)):
            span = timedelta(seconds=seconds)
            start = bisect_right(self._all, now - span)
            inside = end - start
            if inside >= limit:
                if limit == 0:
                    return float("inf")
                # room once the (inside - limit + 1)-th oldest of the window has left it
                oldest = self._all[start + inside - limit]
                longest = max(longest, (oldest + span - now).total_seconds())
        return longest

    # -------------------------------------------------------------- admission
    def admit(self, now: datetime) -> Refusal | None:
        """Decide on a content request arriving at ``now``: None (admitted and counted) or the
        :class:`Refusal` to answer (nothing counted)."""
        early = self.not_before is not None and now < self.not_before
        if early:
            self.early += 1
        if self.limits is None:
            self.record(now)
            return None
        room_in = self.wait(now)
        if room_in <= 0 and not (early and self.limits.refuse_early):
            self.record(now)
            return None
        self.hits += 1
        penalty = (self.not_before - now).total_seconds() if early else 0.0
        setting = self.limits.retry_after
        if setting is None:
            retry_after = None
            self.not_before = now + timedelta(seconds=MINUTE)
        else:
            if setting == AUTO:
                need = max(room_in, penalty)
                retry_after = int(-(-need // 1)) if need != float("inf") else int(HOUR)
                retry_after = max(retry_after, 1)
            else:
                retry_after = int(-(-float(setting) // 1))
            self.not_before = now + timedelta(seconds=retry_after)
        return Refusal(retry_after, early)

    # --------------------------------------------------------------- checking
    def peak(self, seconds: float = MINUTE, *, web: bool = True) -> int:
        """The most counted content requests in any window ``(t - seconds, t]`` so far (API
        requests, and with ``web`` content made on the web too)."""
        times = self._all if web else sorted(self.api_times)
        best, lo = 0, 0
        span = timedelta(seconds=seconds)
        for hi, t in enumerate(times):
            while times[lo] <= t - span:
                lo += 1
            best = max(best, hi - lo + 1)
        return best
