"""The content-creation window: how many content-generating requests (every write) went out in
the last minute and the last hour, across runs.

GitHub allows at most 80 content-generating requests per minute and 500 per hour (its secondary
limits), whoever sends them. One run that starts its hour afresh does not know what the run before
it sent, so the times of the last hour's writes are kept in the base and handed to the next run:
together, consecutive runs never go over either limit. A write waits while the last minute is full
(at most a minute); when the last hour is full the run stops cleanly, and the next scheduled run
resumes where it stopped.

Times are seconds since the epoch on the runner's clock (injected in tests).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Iterable

MINUTE = 60.0
HOUR = 3600.0
#: the tracker counts a write when it arrives, not when it was sent, and network delay varies:
#: a write leaves the window only this long after the limit's own span
MARGIN = 2.0


@dataclass(frozen=True)
class ContentLimits:
    """At most ``per_minute`` writes in any 60 s and ``per_hour`` in any 3,600 s (0: no limit)."""

    per_minute: int = 0
    per_hour: int = 0

    @property
    def any(self) -> bool:
        return self.per_minute > 0 or self.per_hour > 0


#: GitHub's documented secondary limits on content-generating requests
GITHUB = ContentLimits(80, 500)


class ContentWindow:
    """The writes of the last hour, oldest first; :meth:`wait` says how long the next must wait."""

    def __init__(self, limits: ContentLimits, times: Iterable[float] = (), now: float | None = None):
        """``times``: the writes an earlier run kept; with ``now``, none is later than it (a
        run on a clock that was ahead must not hold the next runs back)."""
        self.limits = limits
        self._times = sorted(float(t) if now is None else min(float(t), now) for t in times)

    def _prune(self, now: float) -> None:
        cut = bisect.bisect_right(self._times, now - HOUR - MARGIN)
        if cut:
            del self._times[:cut]

    def counts(self, now: float) -> tuple[int, int]:
        """(writes in the last minute, writes in the last hour) at ``now``."""
        self._prune(now)
        minute = len(self._times) - bisect.bisect_right(self._times, now - MINUTE)
        return minute, len(self._times)

    def wait(self, now: float, writes: int = 1) -> float:
        """Seconds from ``now`` until ``writes`` more writes stay within both limits (0: at once;
        infinite: more than a limit allows at all)."""
        self._prune(now)
        wait = 0.0
        for limit, span in ((self.limits.per_minute, MINUTE), (self.limits.per_hour, HOUR)):
            if limit <= 0:
                continue
            if writes > limit:
                return float("inf")
            span += MARGIN
            inside = len(self._times) - bisect.bisect_right(self._times, now - span)
            if inside + writes > limit:
                # the oldest (inside + writes - limit) writes in the span must have left it
                first = len(self._times) - inside
                wait = max(wait, self._times[first + inside + writes - limit - 1] + span - now)
        return max(0.0, wait)

    def full_for(self, now: float, writes: int = 1) -> str:
        """Which limit keeps the next ``writes`` writes waiting at ``now``: "hour", "minute" or ""."""
        minute, hour = self.counts(now)
        if self.limits.per_hour > 0 and hour + writes > self.limits.per_hour:
            return "hour"
        if self.limits.per_minute > 0 and minute + writes > self.limits.per_minute:
            return "minute"
        return ""

    def add(self, now: float) -> None:
        """One write went out at ``now``."""
        bisect.insort(self._times, float(now))

    def kept(self, now: float) -> tuple[int, ...]:
        """What the base keeps: the last hour's writes, in whole seconds (rounded up, so a kept
        write never leaves the window earlier than it did)."""
        self._prune(now)
        top = -int(-now // 1)
        return tuple(min(-int(-t // 1), top) for t in self._times)
