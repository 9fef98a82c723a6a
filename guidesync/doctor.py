"""``guidesync doctor``: is everything a sync needs in place? Read-only, one line per check.

The configuration (every problem of the file), the repository, where the token comes from (its
source, never its value), the state file, then what the tracker says
(:mod:`guidesync.trackers.diagnose`): that it answers, the repository or project, the right to
create and close issues, the label, the rate-limit budget, the server's version and the features
it offers. Nothing is written anywhere: the tracker is asked only GETs and GraphQL queries.

Exit codes: 0 when nothing would stop a sync (warnings allowed), 1 when something would, 2 when
the configuration itself is wrong.
"""

from __future__ import annotations

import math
import time
from typing import Any

from .config import ConfigError, find_token, token_variable
from .context import Context, Outcome, _config
from .core.base import BaseFileError
from .errors import FAILED, OK, USAGE, BudgetExhausted, TrackerError
from .trackers.diagnose import FAIL, WARN, Check, github, gitlab
from .trackers.pacing import ContentLimits, ContentWindow

MARKS = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}


def doctor(ctx: Context, *, as_json: bool = False) -> Outcome:
    checks, code = _checks(ctx)
    failed = sum(c.status == FAIL for c in checks)
    warned = sum(c.status == WARN for c in checks)
    if code == OK and failed:
        code = FAILED
    if as_json:
        from . import report

        data = {"ok": code == OK, "checks": [c.as_dict() for c in checks]}
        return Outcome(code, report.dumps(data), data)
    width = max(len(c.name) for c in checks)
    lines = [f"{MARKS[c.status]}  {c.name.ljust(width)}  {c.detail}" for c in checks]
    verdict = "a sync would stop: fix the FAIL lines" if failed else "ready to sync"
    lines.append(f"{len(checks)} checks, {failed} failed, {warned} warnings: {verdict}")
    return Outcome(code, "\n".join(lines), checks)


def _checks(ctx: Context) -> tuple[list[Check], int]:
    try:
        cfg = _config(ctx)
    except ConfigError as exc:
        return [Check("config", FAIL, line) for line in exc.problems], USAGE
    out = [Check("config", "ok", f"{cfg.path or 'no config file: the defaults'} (tracker {cfg.tracker})")]
    if cfg.repository is None:
        out.append(Check("repository", FAIL, f"none configured: set 'repository' in {cfg.path or 'config/guidesync.yaml'} "
                                              "(guidesync never guesses where to write)"))
        return out, FAILED
    out.append(Check("repository", "ok", f"{cfg.repository} (from {cfg.repository_source})"))
    token = find_token(cfg, ctx.env, use_gh=ctx.use_gh)
    if token is None:
        names = token_variable(cfg) or " or ".join(("GITHUB_TOKEN", "GH_TOKEN") if cfg.tracker == "github"
                                                   else ("GITLAB_TOKEN",))
        out.append(Check("token", FAIL, f"none: set {names}" + (" or log in with `gh auth login`"
                                                                 if cfg.tracker == "github" and cfg.ci is None else "")))
        return out, FAILED
    out.append(Check("token", "ok", f"from {token.source}"))  # where it comes from, never what it is
    out.append(Check("url", "ok", f"{cfg.api_url} (from {cfg.url_source or 'the default'})"))
    try:
        from .store import BaseStore

        base = BaseStore.open(cfg, ctx.root).base
    except (BaseFileError, ConfigError) as exc:
        out.append(Check("state file", FAIL, str(exc)))
        return out, FAILED
    out.append(Check("state file", "ok", f"{cfg.state_file}: {len(base.records)} linked issues" if base.records
                     else f"{cfg.state_file}: none yet (the first push writes it)"))
    window = _content_window(ctx, cfg, base)
    if window is not None:
        out.append(window)
    out.extend(_tracker_checks(ctx, cfg, token, base))
    return out, OK


def _content_window(ctx: Context, cfg: Any, base: Any) -> Check | None:
    """What the base says of the last hour's writes (the content-creation window), if it keeps one."""
    limits = ContentLimits(*cfg.content_limits)
    if not base.content or not limits.any:
        return None
    window = ContentWindow(limits, base.content)
    now = (ctx.clock or time.time)()
    minute, hour = window.counts(now)
    wait = window.wait(now)
    allowed = f" of {limits.per_hour} allowed" if limits.per_hour else ""
    when = "room for more now" if wait <= 0 else f"room again in {math.ceil(wait / 60)} min"
    return Check("content window", "ok", f"{hour} writes in the last hour{allowed}, {minute} in the last minute; {when}")


def _tracker_checks(ctx: Context, cfg: Any, token: Any, base: Any) -> list[Check]:
    from .trackers import make_tracker
    from .trackers.base import CallPolicy

    kw: dict[str, Any] = {"sleep": ctx.sleep} if ctx.sleep is not None else {}
    # reserve 0: the budget is what doctor reports, not a reason to stop asking
    policy = CallPolicy(write_interval=0, max_retries=1, max_wait=min(cfg.max_retry_wait, 10), reserve=0, **kw)
    tracker = (ctx.tracker_factory or make_tracker)(
        cfg.tracker, cfg.repository, token.reveal(), url=cfg.api_url, policy=policy, timeout=cfg.timeout,
        web_url=cfg.web_url, repository_url=base.repository_url, hierarchy_mode=base.hierarchy if cfg.sub_issues else None,
        capabilities=dict(base.capabilities))
    kept = dict(base.capabilities)
    try:
        if tracker.name == "github":
            probe = min(base.records) if base.records else None
            return github(tracker, cfg.labels[0], reserve=cfg.rate_reserve, kept=kept, hierarchy=base.hierarchy,
                          probe=probe)
        if tracker.name == "gitlab":
            return gitlab(tracker, cfg.labels[0], reserve=cfg.rate_reserve, kept=kept, hierarchy=base.hierarchy)
        tracker.check_access()
        return [Check("tracker", "ok", f"{tracker.name} answers")]
    except BudgetExhausted as exc:
        return [Check("rate limit", FAIL, str(exc))]
    except TrackerError as exc:
        return [Check("tracker", FAIL, str(exc))]
