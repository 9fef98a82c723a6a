"""One error hierarchy and one exit-code table for every command, the CLI and the CI job.

- :class:`UsageError` (exit 2): bad usage, configuration or input file; nothing was done.
- :class:`RunError` (exit 1): the run could not go on (the tracker refused the token, the run lock
  is held, a listing failed); what succeeded is written back, the next run picks up the rest.
- A guard stop (exit 3) is an outcome, not an exception: the plan says why.

Tracker failures are :class:`TrackerError`; each kind is its own subclass, so callers write
``except Gone:`` rather than compare strings. ``TrackerError("gone", …)`` builds a :class:`Gone`,
so adapters name the kind once, where they translate their library's errors.
"""

from __future__ import annotations

OK, FAILED, USAGE, GUARD = 0, 1, 2, 3


class GuidesyncError(Exception):
    """Anything guidesync reports to people and turns into an exit code."""

    exit_code = FAILED


class UsageError(GuidesyncError):
    exit_code = USAGE


class RunError(GuidesyncError):
    exit_code = FAILED


class TrackerError(RunError):
    """A tracker call that failed. The subclass (and ``kind``) drives what the engine does next:

    - :class:`Auth`: bad or missing token; :class:`Forbidden`: no permission / archived / locked;
    - :class:`NotFound`: repository or object missing; :class:`Gone`: deleted or moved away;
    - :class:`Invalid`: the tracker refused the values (422 / 400); :class:`Conflict`: already exists;
    - :class:`RateLimited`: wait ``retry_after`` seconds; :class:`Transient`: 5xx, timeout, reset;
    - :class:`Ambiguous`: a write whose outcome is unknown (the response was lost).
    """

    kind = "error"
    _kinds: dict[str, type["TrackerError"]] = {}

    def __new__(cls, kind: str, *args: object, **kwargs: object) -> "TrackerError":
        target = cls._kinds.get(kind, cls) if cls is TrackerError else cls
        return super().__new__(target)

    def __init__(self, kind: str, message: str, *, status: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.retry_after = retry_after

    def __init_subclass__(cls, **kw: object) -> None:
        super().__init_subclass__(**kw)
        TrackerError._kinds[cls.kind] = cls

    def __reduce__(self):  # picklable like any exception (its kind first)
        return (type(self), (self.kind, str(self)), {"status": self.status, "retry_after": self.retry_after})


class Auth(TrackerError):
    kind = "auth"


class Forbidden(TrackerError):
    kind = "forbidden"


class NotFound(TrackerError):
    kind = "not_found"


class Gone(TrackerError):
    kind = "gone"


class Invalid(TrackerError):
    kind = "invalid"


class Conflict(TrackerError):
    kind = "conflict"


class RateLimited(TrackerError):
    kind = "rate_limited"


class Transient(TrackerError):
    kind = "transient"


class Ambiguous(TrackerError):
    kind = "ambiguous"


class BudgetExhausted(RunError):
    """Not enough rate-limit budget (or too long a wait) to go on: stop cleanly, resume next run."""


def exit_code(exc: BaseException) -> int:
    """The exit code for an exception that ends a command."""
    return exc.exit_code if isinstance(exc, GuidesyncError) else FAILED
