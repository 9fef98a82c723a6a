"""The call policy every adapter runs its requests under: retries, pacing, the rate-limit budget,
honouring Retry-After, and counting the requests (:class:`RequestStats`)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Callable, Mapping, TypeVar

from ..errors import BudgetExhausted, RateLimited, TrackerError, Transient
from .pacing import ContentLimits, ContentWindow

T = TypeVar("T")

MINUTE = 60.0


def _seconds(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def retry_wait(headers: Mapping[str, Any], reset: str, *, spent: str | None = None,
               now: Callable[[], float] | None = None) -> float | None:
    """Seconds to wait after a rate-limited answer (lower-case ``headers``): ``Retry-After`` in
    seconds or as an HTTP date, else the ``reset`` header (epoch seconds) — with ``spent``, only
    when that header says the budget is at 0 (GitHub's ``x-ratelimit-remaining``). None: unknown.

    Times the server gives are measured against the server's own clock (the answer's ``Date``)
    when it sends one, not the runner's; a reset already past says nothing (None)."""
    if now is None:
        date = _http_time(headers.get("date"))
        now = (lambda: date) if date is not None else time.time  # type: ignore[assignment,return-value]
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
    if epoch is None or epoch - now() <= 0:
        return None
    return epoch - now()


def _http_time(value: Any) -> float | None:
    try:
        return parsedate_to_datetime(str(value)).timestamp() if value else None
    except (TypeError, ValueError, IndexError):
        return None


@dataclass
class RequestStats:
    sent: int = 0
    charged: int = 0  # sent minus 304 answers (GitHub does not charge those)
    writes: int = 0
    retries: int = 0
    waited: float = 0.0  # seconds spent in Retry-After / pacing pauses
    remaining: int | None = None  # the rate-limit budget the last answer reported
    limited: int = 0  # answers that said "rate limited" (GitHub's secondary limits: 403 or 429)
    paced: float = 0.0  # of ``waited``, seconds spent keeping within the content-creation window
    #: content-generating requests (writes) in the last minute and the last hour, this run's and
    #: earlier runs' (None: no window is kept for this tracker)
    content: tuple[int, int] | None = None

    def count(self, write: bool) -> None:
        """One request sent (charged until :meth:`free` says otherwise)."""
        self.sent += 1
        self.charged += 1
        if write:
            self.writes += 1

    def free(self) -> None:
        """The last request was answered 304 Not Modified, which GitHub does not charge."""
        self.charged -= 1

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
            "limited": self.limited,
            "paced": round(self.paced, 3),
            **({} if self.content is None else {"content": {"last_minute": self.content[0], "last_hour": self.content[1]}}),
        }


class CallPolicy:
    """Retries, pacing, budget and request counting, shared by every adapter.

    - every attempt :meth:`call` makes is one request, counted in :attr:`stats` (sent, charged,
      writes); the adapter only says when an answer was free (:meth:`RequestStats.free`) and
      what budget it reported (:meth:`RequestStats.note_remaining`);

    - reads are retried on ``transient`` and ``rate_limited`` errors; writes only on
      ``rate_limited`` (the server said it did nothing) and on ``transient`` when ``idempotent``;
    - writes are serial and at least ``write_interval`` seconds apart;
    - with ``limits``, writes keep within the content-creation window (:mod:`.pacing`), which
      starts from ``content`` (the times an earlier run kept in the base): a write waits while the
      last minute is full; when the wait is longer than ``max_wait`` (the last hour is full) it
      raises :class:`BudgetExhausted`, and the next run resumes;
    - a rate-limited answer is waited out as the server says (Retry-After, else the reset of a
      spent budget), else at least a minute, doubling with every further one in the run;
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
        clock: Callable[[], float] = time.time,
        limits: ContentLimits | None = None,
        content: tuple[float, ...] = (),
    ):
        self.write_interval = write_interval
        self.max_retries = max_retries
        self.max_wait = max_wait
        self.reserve = reserve
        self.sleep = sleep
        self.clock = clock
        self.stats = RequestStats()
        self._last_write: float | None = None
        self.window = ContentWindow(limits, content, now=self.clock()) if limits is not None and limits.any else None
        self._limited = 0  # rate-limited answers without a wait of their own so far (the next waits longer)
        if self.window is not None:
            self.stats.content = self.window.counts(self.clock())

    def content_kept(self) -> tuple[int, ...] | None:
        """The content-creation window for the base (None: none is kept for this tracker)."""
        return None if self.window is None else self.window.kept(self.clock())

    def _pause(self, seconds: float) -> None:
        if seconds > 0:
            self.stats.waited += seconds
            self.sleep(seconds)

    def _pace(self) -> None:
        """Wait until one more write keeps within the content-creation window, or stop the run."""
        wait = self._window_wait(1)
        if wait > 0:
            self.stats.paced += wait
            self._pause(wait)

    def _window_wait(self, writes: int) -> float:
        """Seconds until ``writes`` writes fit in the window; :class:`BudgetExhausted` when that is
        longer than a write may wait (a minute, or ``max_wait``): the hour is full."""
        assert self.window is not None
        now = self.clock()
        wait = self.window.wait(now, writes)
        if wait <= max(MINUTE, self.max_wait):
            return wait
        minute, hour = self.window.counts(now)
        limits = self.window.limits
        if self.window.full_for(now, writes) == "hour":  # (else the minute keeps it waiting)
            what = f"{hour} content-creating requests in the last hour (the tracker allows {limits.per_hour})"
        else:
            what = f"{minute} content-creating requests in the last minute (the tracker allows {limits.per_minute})"
        room = "" if wait == float("inf") else f" (room again in {wait / 60:.0f} min)"
        raise BudgetExhausted(f"{what}; stopping here, the next run resumes{room}")

    def room(self, writes: int) -> None:
        """Raise :class:`BudgetExhausted` now if ``writes`` writes (one step's: a comment and a
        close) cannot all go out in this run, rather than stopping between them."""
        if writes <= 1:
            return
        remaining = self.stats.remaining
        if remaining is not None and remaining - (writes - 1) <= self.reserve:
            raise BudgetExhausted(
                f"only {remaining} API requests left in this rate-limit window (reserve {self.reserve}), not enough "
                f"for the next step's {writes} writes; stopping here, the next run resumes")
        if self.window is not None:
            self._window_wait(writes)

    def _rate_wait(self, exc: TrackerError) -> float:
        """How long to wait after a rate-limited answer: what the server said, else at least a
        minute, twice as long for every further such answer in this run."""
        if exc.retry_after is not None:
            return exc.retry_after
        wait = MINUTE * 2.0**self._limited
        self._limited += 1
        return wait

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
                if self._last_write is not None:  # (bounded: a clock set back does not make it longer)
                    self._pause(min(self.write_interval, self.write_interval - (self.clock() - self._last_write)))
                if self.window is not None:
                    self._pace()
                    self.window.add(self.clock())
                    self.stats.content = self.window.counts(self.clock())
            self.stats.count(write)
            try:
                return fn()
            except TrackerError as exc:
                if isinstance(exc, RateLimited):
                    self.stats.limited += 1
                retry = isinstance(exc, RateLimited) or (isinstance(exc, Transient) and (not write or idempotent))
                if not retry or attempt >= self.max_retries:
                    if isinstance(exc, RateLimited):
                        raise BudgetExhausted(f"rate limited by the tracker: {exc}") from exc
                    if write and not idempotent and isinstance(exc, Transient):
                        raise TrackerError("ambiguous", str(exc), status=exc.status) from exc
                    raise
                if isinstance(exc, RateLimited):
                    wait = self._rate_wait(exc)
                else:
                    wait = min(2.0**attempt, self.max_wait)
                if wait > self.max_wait:
                    raise BudgetExhausted(
                        f"{'rate limited: ' if isinstance(exc, RateLimited) else ''}the tracker asks to wait {wait:.0f} s (more than max_retry_wait {self.max_wait:.0f} s); "
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
