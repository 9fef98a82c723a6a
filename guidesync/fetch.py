"""Reading the tracker for a run, in as few requests as the base allows (step 1 of :mod:`guidesync.sync`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from .core.outcome import Fetched
from .core.plan import Snapshot
from .core.base import GONE, REMOVED, Record, Base, format_time, parse_time
from .trackers.base import RemoteIssue, Tracker

#: Listings start this long before the newest change seen, so clock skew between the tracker's
#: servers cannot hide a change.
SINCE_OVERLAP = timedelta(seconds=120)


def full_listing_due(base: Base, hours: float, now: datetime | None) -> bool:
    if base.since is None:
        return True
    if hours <= 0 or now is None:
        return False
    last = parse_time(base.full_at)
    return last is None or now - last >= timedelta(hours=hours)


def fetch(tracker: Tracker, base: Base, label: str, linked: set[int], *, full: bool, full_sync_hours: float,
          keys: set[str] | None = None) -> Fetched:
    """Read what the plan needs, in as few requests as the base allows.

    ``linked``: issue numbers every guide links (so a record no guide links is read, whatever its guide);
    ``keys``: the keys of tasks without a link (a removed task typed in again finds its old issue).
    ``--full`` sends no ETags, so nothing is taken on trust."""
    etags = {} if full else base.etags
    ms_etags = {k: v for k, v in etags.items() if k.startswith("milestones")}
    # From the issues' mark, where the tracker lists only the milestones changed since (GitLab 15.10+)
    ms = tracker.list_milestones(ms_etags, since=None if full else parse_time(base.since))
    now = ms.server_time
    use_full = full or full_listing_due(base, full_sync_hours, now)
    if use_full and ms.partial:  # the daily full listing is due (the server's clock says so): all of them
        ms = tracker.list_milestones(ms_etags)
    since = None if use_full else parse_time(base.since)
    # A full listing is the check that nothing was missed: it takes nothing on trust (no ETag).
    issue_etags = {} if use_full else {k: v for k, v in etags.items() if k.startswith("issues")}
    listing = tracker.list_issues(label, since, issue_etags)
    issues: dict[int, RemoteIssue] = {i.number: i for i in listing.items or ()}
    def settled(r: Record) -> bool:  # nothing to learn about it unless a task links it
        return r.issue_state in (GONE, REMOVED) or r.unmanaged

    need = {n for n in linked if n not in issues and (n not in base.records or base.records[n].issue_state == REMOVED
                                                      or base.records[n].unmanaged)}
    need |= {n for n, r in base.records.items() if r.issue_state == REMOVED and keys and r.key in keys and n not in issues}
    # Records no guide links any more: a task whose link was lost (adopted again by its key) or
    # a removed task (closed if still open). Either way the plan needs the issue as it is now.
    need |= {
        n for n, r in base.records.items()
        if n not in linked and n not in issues and not settled(r)
    }  # ``linked`` covers every guide, so these are few: removed tasks, lost links, tasks moved without them
    if use_full:
        # Managed issues missing from a full listing lost their label, or were deleted or moved.
        need |= {n for n, r in base.records.items() if n not in issues and not settled(r)}
    gone: set[int] = set()
    for n in sorted(need):
        found = tracker.get_issue(n)
        if found is None:
            gone.add(n)
        else:
            issues[n] = found
    if listing.items:
        newest = max((i.updated_at for i in listing.items if i.updated_at), default=None)
        since_next = format_time(newest - SINCE_OVERLAP) if newest else base.since
    elif listing.items is None or base.since is not None:
        since_next = base.since
    else:
        t = listing.server_time or now
        since_next = format_time(t - SINCE_OVERLAP) if t else None
    milestones = None if ms.items is None else {m.number: m for m in ms.items}
    etags = {**ms.etags, **listing.etags}
    snapshot = Snapshot(issues=issues, milestones=milestones, gone=frozenset(gone), complete=use_full,
                        milestones_partial=ms.partial)
    full_at = format_time(listing.server_time or now) if use_full else base.full_at
    # If the plan finds nothing to do about what was listed, nothing changed up to the listing's
    # own time: the mark may move up to it (else a burst of writes is listed again run after run;
    # likewise milestones a person changed, in a changed-only listing).
    quiet = None
    if (listing.items or (ms.partial and ms.items)) and listing.server_time is not None:
        last = parse_time(since_next)
        quiet = format_time(max(listing.server_time - SINCE_OVERLAP, last) if last else listing.server_time - SINCE_OVERLAP)
    # The next run lists milestones from the same mark: it never starts after this run's milestone
    # listing did (a change made while the listings ran is listed again rather than missed).
    since_next, quiet = (_not_after(mark, ms.server_time) for mark in (since_next, quiet))
    return Fetched(snapshot, etags, since_next, full_at, use_full, now or listing.server_time, quiet)


def _not_after(mark: str | None, listed_at: datetime | None) -> str | None:
    """``mark``, or the milestones' listing time less the overlap if that is earlier."""
    at = parse_time(mark)
    if at is None or listed_at is None or at <= listed_at - SINCE_OVERLAP:
        return mark
    return format_time(listed_at - SINCE_OVERLAP)


def every_milestone(tracker: Tracker, fetched: Fetched) -> Fetched:
    """``fetched`` with every milestone listed, for a plan that cannot rely on a listing of the
    changed ones only (:func:`~guidesync.core.milestones.needs_every_milestone`)."""
    ms = tracker.list_milestones({})
    milestones = None if ms.items is None else {m.number: m for m in ms.items}
    return replace(fetched, snapshot=replace(fetched.snapshot, milestones=milestones, milestones_partial=False))
