"""What every command shares (its settings, its outcome, the configuration and guides it reads),
and ``lint``, which needs nothing more.

This module imports no tracker client, no HTTP library and no terminal toolkit, so that
``guidesync lint FILES…`` stays fast enough for a pre-commit hook: the CLI imports
:mod:`guidesync.commands` (and with it PyGithub and python-gitlab) only for the commands that talk
to a tracker. ``tests/test_lint_fast.py`` holds it to that.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .config import DEFAULT_PATH, Config, load_config
from .core.escape import problem_annotation
from .core.lintcheck import plan_errors
from .core.parse import HIERARCHY, Hierarchy
from .errors import FAILED, OK
from .guides import Loaded, load


@dataclass
class Outcome:
    code: int = OK
    text: str = ""
    data: Any = None
    stderr: list[str] = field(default_factory=list)
    stats: dict[str, Any] | None = None  # request statistics of a run that used the tracker
    commands: list[str] = field(default_factory=list)  # workflow commands built here (lint --github), printed as they are


@dataclass
class Context:
    """Settings for one invocation."""

    config_path: str | None = None
    paths: tuple[str, ...] = ()
    root: Path = field(default_factory=Path.cwd)
    env: dict[str, str] | None = None
    sleep: Callable[[float], None] | None = None  # tests keep waits tiny
    clock: Callable[[], float] | None = None  # seconds since the epoch (tests: the fake server's clock)
    progress: Callable[[int, int], None] | None = None
    use_gh: bool = True
    loaded: Callable[[], None] | None = None  # called once the guides are read (the CLI freezes them: cli._ctx)
    #: builds the run's tracker, as :func:`guidesync.trackers.make_tracker` does (None: that one);
    #: ``guidesync demo`` hands in the in-memory tracker
    tracker_factory: Callable[..., Any] | None = None


def _config(ctx: Context) -> Config:
    if ctx.config_path is None:
        return load_config(ctx.root / DEFAULT_PATH, ctx.env, explicit=False)
    return load_config(ctx.config_path, ctx.env)


def hierarchy(cfg: Config) -> Hierarchy | None:
    """How guides are read: with ``sub_issues: true``, nested checkbox items are tasks of their own,
    within the tracker's documented limits."""
    return HIERARCHY[cfg.tracker] if cfg.sub_issues else None


def _guides(ctx: Context, cfg: Config) -> Loaded:
    loaded = load(ctx.paths, ctx.root, cfg.guides, cfg.exclude, cfg.sections, hierarchy=hierarchy(cfg))
    if ctx.loaded is not None:
        ctx.loaded()
    return loaded


def lint(ctx: Context, *, as_json: bool = False, annotations: bool = False) -> Outcome:
    cfg = _config(ctx)
    loaded = _guides(ctx, cfg)
    problems = list(loaded.problems)
    guides = [lg.guide for lg in loaded.guides]
    # files named: the repository's other guides are read too, for the ids their tasks' blocked-by name
    others = _others(ctx, cfg, loaded, frozenset()) if loaded.explicit and _names_ids(guides) else []
    problems += plan_errors(guides, others)  # what an offline plan would refuse, without the planner
    errors = [p for p in problems if p.severity == "error"]
    if as_json or annotations:
        from . import report  # only here: it brings the terminal toolkit along
    if as_json:
        data = {"guides": len(guides), "problems": [report.problem_data(p) for p in problems]}
        return Outcome(FAILED if errors else OK, report.dumps(data), data)
    lines = [str(p) for p in problems]
    lines.append(f"{len(guides)} guides, {len(errors)} errors, {len(problems) - len(errors)} warnings")
    found = [problem_annotation(report.problem_data(p)) for p in problems] if annotations else []
    return Outcome(FAILED if errors else OK, "\n".join(lines), commands=found)


def _names_ids(guides: list) -> bool:
    return any(t.fields.blocked_by for g in guides for t in g.tasks)


def _others(ctx: Context, cfg: Config, loaded: Loaded, frozen: frozenset[str]) -> list:
    """The guides a run does not act on but must know: those with errors, and with paths given,
    every other guide of the repository (a task moved there is not a removed task)."""
    others = [lg.guide for lg in loaded.guides if lg.guide.path in frozen]
    if loaded.explicit:  # the named guides are not read twice
        rest = load(None, ctx.root, cfg.guides, cfg.exclude, cfg.sections, known=[lg.file for lg in loaded.guides],
                    hierarchy=hierarchy(cfg))
        others += [lg.guide for lg in rest.guides]
    return others
