"""What each command does, free of the CLI framework: settings in, an :class:`Outcome` out.

Exit codes: 0 fine; 1 something failed (lint errors, tracker errors, a guide not written);
2 bad usage, configuration or input file; 3 stopped by a guard (needs ``--force``).
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any, Callable

from . import report
from .config import (DEFAULT_PATH, Config, ConfigError, Secret, find_token, load_config, remote_forge, starter_config,
                     suggest_from_git, token_variable)
from .core.escape import problem_annotation
from .fetch import every_milestone, fetch
from .core.milestones import needs_every_milestone
from .core.parse import HIERARCHY, Hierarchy
from .guides import GuideError, Loaded, load
from .core.outcome import Fetched
from .core.plan import Options, Plan, Snapshot, make_plan
from .core.base import Base, BaseFileError
from .store import BaseStore
from .sync import Fatal, RunOptions, RunResult, execute
from .trackers import make_tracker
from .trackers.base import BudgetExhausted, CallPolicy, Tracker, TrackerError
from .trackers.pacing import ContentLimits
from .projects import describe, tasks_of
from .trackers.projects import ProjectError, ProjectsClient, fits
from .writeback import LockHeld, RunLock, read_bytes, replace_file

from .errors import FAILED, GUARD, OK, USAGE, Auth, Forbidden, NotFound  # noqa: F401 - the one exit-code table
# What every command shares, and lint, live where the lint path imports no tracker client (issue 17):
from .context import Context, Outcome, _config, _guides, _names_ids, _others, hierarchy, lint  # noqa: F401 - re-exported


def status(ctx: Context, *, as_json: bool = False, today: str | None = None) -> Outcome:
    """Per milestone: done/total, linked, due and overdue as of ``today`` (YYYY-MM-DD; default the
    local date)."""
    cfg = _config(ctx)
    loaded = _guides(ctx, cfg)
    guides = [lg.guide for lg in loaded.guides]
    imported: frozenset[int] = frozenset()
    if cfg.import_issues != "off":
        try:
            imported = frozenset(n for n, r in BaseStore.open(cfg, ctx.root).base.records.items() if r.imported)
        except BaseFileError:
            pass  # status reads the guides; a base that cannot be read only loses the count
    data = report.status_data(guides, today or date.today().isoformat(), imported)
    return Outcome(OK, report.dumps(data) if as_json else "", data)


def _tracker(cfg: Config, token: Secret | None, ctx: Context, base: Base | None = None) -> Tracker:
    kw: dict[str, Any] = {}
    if ctx.sleep is not None:
        kw["sleep"] = ctx.sleep
    if ctx.clock is not None:
        kw["clock"] = ctx.clock
    policy = CallPolicy(
        write_interval=cfg.pause_between_writes,
        max_retries=cfg.max_retries,
        max_wait=cfg.max_retry_wait,
        reserve=cfg.rate_reserve,
        limits=ContentLimits(*cfg.content_limits),
        content=base.content if base is not None else (),
        **kw,
    )
    assert cfg.repository is not None
    return (ctx.tracker_factory or make_tracker)(cfg.tracker, cfg.repository, token.reveal() if token else None, url=cfg.api_url, policy=policy,
                        timeout=cfg.timeout, web_url=cfg.web_url, repository_url=base.repository_url if base else None,
                        hierarchy_mode=base.hierarchy if cfg.sub_issues and base is not None else None,
                        capabilities=dict(base.capabilities) if base is not None else None)


def _options(cfg: Config, mode: str, loaded: Loaded, tracker: Tracker | None, frozen: frozenset[str],
             adopt: Adopt = None) -> Options:
    picks = frozenset(adopt) if isinstance(adopt, (set, frozenset)) else frozenset()
    if tracker is None:
        return Options(mode=mode, labels=cfg.labels, on_removed=cfg.on_removed, max_close=cfg.max_close,
                       all_guides=not loaded.explicit, frozen_guides=frozen, adopt=picks, adopt_all=adopt is True,
                       sub_issues=cfg.sub_issues, import_issues=cfg.import_issues)
    return Options(
        mode=mode,
        labels=cfg.labels,
        on_removed=cfg.on_removed,
        max_close=cfg.max_close,
        all_guides=not loaded.explicit,
        frozen_guides=frozen,
        adopt=picks,
        adopt_all=adopt is True,
        guide_url=lambda path: tracker.guide_url(path, cfg.branch),
        owns_link=lambda url, n: tracker.issue_number_from_url(url) == n,
        limits=tracker.limits(),
        sub_issues=cfg.sub_issues,
        hierarchy_mode=tracker.hierarchy_mode,
        import_issues=cfg.import_issues,
    )


#: What to take over explicitly: True (``--adopt``: every hand-linked issue), or (guide, 0-based line) pairs.
Adopt = "bool | set[tuple[str, int]] | None"


def sync(ctx: Context, mode: str, *, dry_run: bool = False, force: bool = False, full: bool = False,
         as_json: bool = False, offline: bool = False, adopt: Adopt = None) -> Outcome:
    """``plan`` (mode "plan"), ``push``, ``pull`` and ``sync``."""
    planning = mode == "plan"
    cfg = _config(ctx)
    token = None
    if not offline:
        token = find_token(cfg, ctx.env, use_gh=ctx.use_gh)
    notes: list[str] = []
    if planning and (token is None or cfg.repository is None):
        if not offline:
            notes.append("no tracker credentials or repository: planning against an empty tracker (offline)")
        offline = True
    if not offline:
        if cfg.repository is None:
            hint = suggest_from_git(str(ctx.root))
            extra = f" (the git remote suggests: repository: {hint[1]})" if hint else ""
            raise ConfigError(f"no repository configured: set 'repository' in {cfg.path or 'config/guidesync.yaml'} "
                              f"or run in CI{extra}; guidesync never guesses where to write")
        if token is None:
            token_env = token_variable(cfg)
            names = token_env or " or ".join(("GITHUB_TOKEN", "GH_TOKEN") if cfg.tracker == "github" else ("GITLAB_TOKEN",))
            extra = " or log in with `gh auth login`" if cfg.tracker == "github" and not token_env and cfg.ci is None else ""
            if cfg.token_env and not token_env:
                extra += f" (token_env: {cfg.token_env} is not honoured inside CI: the action's token input is the token)"
            raise ConfigError(f"no {cfg.tracker} token: set {names}{extra}")
    writes = not (planning or dry_run or offline)
    with RunLock(ctx.root) if writes else nullcontext():
        return _sync_locked(ctx, cfg, token, mode if not planning else "sync", planning, dry_run, force, full, as_json,
                            offline, notes, adopt)


def adopt(ctx: Context, places: list[str], *, dry_run: bool = False, as_json: bool = False) -> Outcome:
    """``guidesync adopt FILE:LINE…``: let guidesync manage issues that were linked by hand (it
    then owns their title and body, like those it created). A push of the whole repository that
    takes over just these."""
    cfg = _config(ctx)
    loaded = _guides(ctx, cfg)
    by_path = {lg.guide.path: lg.guide for lg in loaded.guides}
    picks: set[tuple[str, int]] = set()
    for place in places:
        path, sep, line = place.rpartition(":")
        path = path.replace("\\", "/").removeprefix("./")
        guide = by_path.get(path)
        task = next((t for t in guide.tasks if t.line == int(line) - 1), None) if sep and line.isdigit() and guide else None
        if task is None or task.link is None:
            return Outcome(USAGE, f"{place}: no linked task starts on that line (give the guide's path and the task's line)")
        picks.add((task.guide, task.line))
    ctx = replace(ctx, paths=())
    return sync(ctx, "push", dry_run=dry_run, as_json=as_json, adopt=picks)


def _sync_locked(ctx: Context, cfg: Config, token: Secret | None, mode: str, planning: bool, dry_run: bool, force: bool,
                 full: bool, as_json: bool, offline: bool, notes: list[str], adopt: Adopt = None) -> Outcome:
    loaded = _guides(ctx, cfg)
    frozen = frozenset(p.path for p in loaded.problems if p.severity == "error")
    usable = [lg for lg in loaded.guides if lg.guide.path not in frozen]
    store = BaseStore.open(cfg, ctx.root)
    base = store.base
    guides = [lg.guide for lg in usable]
    others = _others(ctx, cfg, loaded, frozen)
    problems = list(loaded.problems)
    if frozen:
        notes = notes + ["guides with errors are not synced: " + ", ".join(sorted(frozen))]
    if offline:
        plan = make_plan(guides, base, Snapshot(offline=True), _options(cfg, mode, loaded, None, frozen, adopt), others)
        notes = notes + _project_note(cfg, None, base, plan)
        return _plan_outcome(plan, guides, offline=True, as_json=as_json, notes=notes, problems=problems, frozen=frozen)
    tracker = _tracker(cfg, token, ctx, base)
    fetched = _fetch(cfg, tracker, base, guides + others, full=full, adopt=adopt)
    plan = make_plan(guides, base, fetched.snapshot, _options(cfg, mode, loaded, tracker, frozen, adopt), others)
    if needs_every_milestone(plan, base, fetched.snapshot):  # listed: the changed ones only; it writes into others
        fetched = _every_milestone(cfg, tracker, fetched)
        plan = make_plan(guides, base, fetched.snapshot, _options(cfg, mode, loaded, tracker, frozen, adopt), others)
    if planning or dry_run:
        notes = notes + _project_note(cfg, tracker, base, plan)
        out = _plan_outcome(plan, guides, offline=False, as_json=as_json, notes=notes, problems=problems, frozen=frozen)
        if as_json:
            out.data["requests"] = tracker.policy.stats.as_dict()
            out.text = report.dumps(out.data)
        return out
    if plan.guards and not force:
        return _stopped(plan, tracker, as_json=as_json, notes=notes, problems=problems)
    result = RunResult(mode=mode, dry_run=False, plan=plan, full_listing=fetched.full)
    result.warnings.extend(notes + [str(p) for p in problems])
    _report_plan(plan, result)
    options = _options(cfg, "sync", loaded, tracker, frozen, adopt)
    both_ways = plan if mode == "sync" else make_plan(guides, base, fetched.snapshot, options, others)
    # The listing mark stays for a run over some guides only, and while a guide has errors: what
    # its issues did meanwhile must be listed again once it is fixed.
    execute(plan, tracker=tracker, store=store, fetched=fetched, loaded=usable, result=result,
            options=RunOptions(cfg.labels, cfg.tracker, cfg.repository or "", progress=ctx.progress,
                               quiet=not both_ways.changes_to_known, hold_mark=loaded.explicit or bool(frozen), project=cfg.project,
                               imports=cfg.import_issues))
    stats = tracker.policy.stats.as_dict()
    code = FAILED if result.errors or frozen else OK
    if as_json:
        data = report.result_data(result, stats)
        return Outcome(code, report.dumps(data), data, stats=stats)
    return Outcome(code, report.result_text(result), result, stats=stats)


def _fetch(cfg: Config, tracker: Tracker, base: Base, every: list, *, full: bool, adopt: Adopt) -> Fetched:
    """Read the tracker for a plan over the guides ``every`` (acted on or not); a failure ends the run."""
    linked = {t.link.number for g in every for t in g.tasks if t.link}
    keys = {t.key for g in every for t in g.tasks if t.link is None}
    if adopt:  # an issue to take over is read first (its labels, its body)
        linked |= {n for n, r in base.records.items() if r.unmanaged}
    try:
        # The web address links are recognised by: from the base, the config or the CI; else asked
        # once. A link the base knows that does not fit it (the pages moved) makes it ask again.
        tracker.learn_web((t.link.url, t.link.number) for g in every for t in g.tasks
                          if t.link and t.link.number in base.records)
        # ``import_issues: milestone``: every issue is listed, labelled or not (a superset of the
        # managed ones); turning imports on lists every issue once, not only those since the mark
        label = "" if cfg.import_issues == "milestone" else cfg.labels[0]
        full = full or (cfg.import_issues != "off" and base.imports != cfg.import_issues)
        return fetch(tracker, base, label, linked, full=full, full_sync_hours=cfg.full_sync_hours, keys=keys)
    except TrackerError as exc:
        raise Fatal(_explain(exc, cfg)) from None
    except BudgetExhausted as exc:
        raise Fatal(f"could not read the tracker: {exc}") from None


def _every_milestone(cfg: Config, tracker: Tracker, fetched: Fetched) -> Fetched:
    """``fetched`` with every milestone listed (see :func:`~guidesync.fetch.every_milestone`); a failure ends the run."""
    try:
        return every_milestone(tracker, fetched)
    except TrackerError as exc:
        raise Fatal(_explain(exc, cfg)) from None
    except BudgetExhausted as exc:
        raise Fatal(f"could not read the tracker: {exc}") from None


def _stopped(plan: Plan, tracker: Tracker, *, as_json: bool, notes: list[str], problems: list) -> Outcome:
    """A guard stopped the run (exit 3)."""
    msg = "\n".join(f"stopped: {g}" for g in plan.guards)
    if as_json:  # one JSON document, shaped like ``plan --json``
        data = report.plan_data(plan, offline=False, problems=problems)
        data.update(notes=notes, stopped=True, requests=tracker.policy.stats.as_dict())
        return Outcome(GUARD, report.dumps(data), data, stderr=[msg])
    return Outcome(GUARD, msg)


def _report_plan(plan: Plan, result: RunResult) -> None:
    """The plan's problems and notes, as the run's errors and warnings."""
    result.errors.extend(str(p) for p in plan.problems if p.severity == "error")
    result.warnings.extend(str(p) for p in plan.problems if p.severity != "error")
    result.warnings.extend(f"{m.title}: {note}" for m in plan.milestones for note in m.notes)
    for step in plan.tasks:
        where = f"{step.task.guide}:{step.task.line + 1}" if step.task else f"issue #{step.number}"
        result.warnings.extend(f"{where}: {note}" for note in step.notes if not step.forget)


def _project_note(cfg: Config, tracker: Tracker | None, base: Base, plan: Plan) -> list[str]:
    """The plan's line about the GitHub project: what the run would change there, or why the token
    cannot reach it (asked with one read-only query while the base does not know the project)."""
    if cfg.project is None:
        return []
    kept, problem = dict(base.project), None
    if tracker is not None and tracker.name == "github" and not fits(cfg.project, kept):
        try:
            kept = ProjectsClient(tracker, cfg.project, None).learn()  # type: ignore[arg-type]
        except (ProjectError, TrackerError, BudgetExhausted) as exc:
            problem = str(exc)
    line = describe(cfg.project, kept, tasks_of(plan, {}, base.records), problem=problem)
    return [line] if line else []


def _plan_outcome(plan: Plan, guides, *, offline: bool, as_json: bool, notes: list[str], frozen: frozenset[str],
                  problems: list | None = None) -> Outcome:
    problems = list(problems or ())
    code = FAILED if frozen or any(p.severity == "error" for p in [*problems, *plan.problems]) else OK
    if plan.guards and code == OK:
        code = GUARD
    if as_json:
        data = report.plan_data(plan, offline=offline, problems=problems)
        data["notes"] = notes
        return Outcome(code, report.dumps(data), data)
    text = report.plan_text(plan, guides, offline=offline)
    extra = [str(p) for p in [*problems, *plan.problems]]
    return Outcome(code, "\n".join([*notes, text, *extra]), plan)


def _explain(exc: TrackerError, cfg: Config) -> str:
    if isinstance(exc, Auth):
        return f"{cfg.tracker} rejected the token: check that it is valid and not expired"
    if isinstance(exc, NotFound):
        return f"repository {cfg.repository} not found on {cfg.api_url}, or the token cannot see it"
    if isinstance(exc, Forbidden):
        return f"the token may not read {cfg.repository}: {exc}"
    return str(exc)


def init(ctx: Context, *, tracker: str | None = None, repository: str | None = None, force: bool = False,
         ci: bool = False) -> Outcome:
    """Write a starter config, proposing the repository from the git remote; with ``ci``, also the
    GitHub workflow or GitLab CI job for the tracker."""
    path = ctx.root / (ctx.config_path or "config/guidesync.yaml")
    if path.exists() and not force:
        if ci:
            return _init_ci(ctx, tracker or _config(ctx).tracker, force, [f"kept the existing {path.relative_to(ctx.root) if path.is_relative_to(ctx.root) else path}"])
        return Outcome(USAGE, f"{path.relative_to(ctx.root) if path.is_relative_to(ctx.root) else path}: already exists (use --force to overwrite)")
    remote = remote_forge(str(ctx.root), tracker)
    if remote is not None and remote.tracker is None:  # a host that does not say which forge it is
        return Outcome(USAGE, f"the git remote 'origin' is on {remote.host}, which guidesync cannot tell as GitHub or "
                              "GitLab: run `guidesync init --tracker github` or `--tracker gitlab` (the url is then "
                              "taken from that host)")
    lines = []
    if repository is None and remote:
        repository = remote.path
        lines.append(f"repository {repository} taken from the git remote 'origin'; check it")
    url = remote.url if remote else None
    if url:
        lines.append(f"url {url} taken from the git remote's host {remote.host}; check it")
    tracker = tracker or (remote.tracker if remote else None) or "github"
    replace_file(path, starter_config(tracker, repository, url).encode(), read_bytes(path))
    lines.append(f"wrote {path.relative_to(ctx.root) if path.is_relative_to(ctx.root) else path}")
    if ci:
        return _init_ci(ctx, tracker, force, lines)
    return Outcome(OK, "\n".join(lines))


def _init_ci(ctx: Context, tracker: str, force: bool, lines: list[str]) -> Outcome:
    """``init --ci``: write the example workflow (GitHub) or CI job (GitLab); see guidesync.ci."""
    from .ci.templates import ACTION_REF, ci_files

    code = OK
    for rel, text in ci_files(tracker).items():
        target = ctx.root / rel
        if target.exists() and not force:
            lines.append(f"{rel}: already exists (use --force to overwrite)")
            code = USAGE
            continue
        replace_file(target, text.encode(), read_bytes(target))
        lines.append(f"wrote {rel}")
        if tracker == "gitlab":
            lines.append(f"add to your .gitlab-ci.yml:  include: [{{local: {rel}}}]; set the CI/CD variable "
                         "GUIDESYNC_TOKEN (project access token, api + write_repository) and a pipeline schedule")
        else:
            lines.append(f"check the branch under on.push and replace {ACTION_REF} with the guidesync action you use")
    return Outcome(code, "\n".join(lines))


ERRORS = (ConfigError, GuideError, BaseFileError)
__all__ = ["Context", "ERRORS", "Fatal", "LockHeld", "Outcome", "adopt", "init", "lint", "status", "sync"]
