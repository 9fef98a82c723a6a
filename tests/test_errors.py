"""The one error hierarchy: kinds are classes, every error knows its exit code."""

from __future__ import annotations

import pickle

import pytest

from guidesync import errors
from guidesync.config import ConfigError
from guidesync.guides import GuideError
from guidesync.core.base import BaseFileError
from guidesync.sync import Fatal
from guidesync.trackers.base import BudgetExhausted, TrackerError
from guidesync.writeback import LockHeld

KINDS = {"auth": errors.Auth, "forbidden": errors.Forbidden, "not_found": errors.NotFound, "gone": errors.Gone,
         "invalid": errors.Invalid, "conflict": errors.Conflict, "rate_limited": errors.RateLimited,
         "transient": errors.Transient, "ambiguous": errors.Ambiguous}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_tracker_error_of_a_kind_is_that_kinds_class(kind):
    exc = TrackerError(kind, "msg", status=418, retry_after=2.5)
    assert type(exc) is KINDS[kind] and isinstance(exc, TrackerError)
    assert (exc.kind, exc.status, exc.retry_after, str(exc)) == (kind, 418, 2.5, "msg")
    again = pickle.loads(pickle.dumps(exc))
    assert type(again) is KINDS[kind] and again.status == 418
    with pytest.raises(KINDS[kind]):
        raise exc


def test_an_unknown_kind_stays_a_plain_tracker_error():
    assert type(TrackerError("odd", "msg")) is TrackerError


@pytest.mark.parametrize("exc, code", [
    (ConfigError("x"), 2), (GuideError("x"), 2), (BaseFileError("x"), 2),
    (Fatal("x"), 1), (LockHeld("/tmp/x"), 1), (TrackerError("auth", "x"), 1), (BudgetExhausted("x"), 1),
    (ValueError("x"), 1),
])
def test_every_error_has_one_exit_code(exc, code):
    assert errors.exit_code(exc) == code
    assert (errors.OK, errors.FAILED, errors.USAGE, errors.GUARD) == (0, 1, 2, 3)


def test_retry_after_in_seconds_or_as_an_http_date_on_both_forges():
    from email.utils import format_datetime
    from datetime import datetime, timezone

    from guidesync.trackers.base import retry_wait

    now = 1_800_000_000.0
    date = format_datetime(datetime.fromtimestamp(now + 90, timezone.utc), usegmt=True)
    clock = lambda: now  # noqa: E731
    assert retry_wait({"retry-after": "30"}, "x-ratelimit-reset", now=clock) == 30
    assert retry_wait({"retry-after": date}, "x-ratelimit-reset", now=clock) == 90
    assert retry_wait({"retry-after": "soon"}, "x-ratelimit-reset", now=clock) is None
    # GitHub: the reset time counts only when the budget is spent
    spent = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(now + 600))}
    assert retry_wait(spent, "x-ratelimit-reset", spent="x-ratelimit-remaining", now=clock) == 600
    assert retry_wait({**spent, "x-ratelimit-remaining": "12"}, "x-ratelimit-reset", spent="x-ratelimit-remaining", now=clock) is None
    # GitLab: RateLimit-Reset on a 429
    assert retry_wait({"ratelimit-reset": str(int(now + 5))}, "ratelimit-reset", now=clock) == 5
