"""The ``guidesync`` command line: options in, a command run, an exit code out. No logic here."""

from __future__ import annotations

import gc
import sys
from typing import List, Optional

import typer
from rich.console import Console

from . import __version__, commands, report
from .commands import Context, Outcome
from .errors import GuidesyncError, exit_code
from .core.escape import shown

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # a traceback must never show a token held in a local variable
    help="Keep implementation guides and GitHub/GitLab issues in step.",
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

PathsArg = typer.Argument(None, help="Guide files or folders (default: the config's `guides` patterns).")
ConfigOpt = typer.Option(None, "--config", "-c", help="Config file (default: config/guidesync.yaml).")
JsonOpt = typer.Option(False, "--json", help="Print the result as JSON.")
VerboseOpt = typer.Option(False, "--verbose", "-v", help="Also print request statistics.")


def _finish(outcome: Outcome, verbose: bool = False) -> None:
    # Everything printed went through shown(): guide paths, task text and the tracker's messages are
    # text, never a workflow command or a terminal escape. Only the annotations guidesync itself
    # builds (escaped value by value) are printed as commands.
    if outcome.text:
        out.print(shown(outcome.text), markup=False)
    for line in outcome.commands:
        out.print(line, markup=False)
    for line in outcome.stderr:
        err.print(shown(line), markup=False)
    if verbose and outcome.stats is not None:
        err.print("requests: " + ", ".join(f"{k} {v}" for k, v in outcome.stats.items()), markup=False)
    raise typer.Exit(outcome.code)


def _run(fn, *args, **kw) -> Outcome:
    try:
        return fn(*args, **kw)
    except GuidesyncError as exc:  # usage errors exit 2, run errors 1 (guidesync.errors)
        err.print(shown(f"guidesync: {exc}"), markup=False)
        raise typer.Exit(exit_code(exc))


def _ctx(config: Optional[str], paths: Optional[List[str]]) -> Context:
    progress = None
    if sys.stdout.isatty():
        progress = _progress_bar()
    # The guides live as long as the command: once they are read, keep the cycle collector from
    # walking them again and again while the plan is built (a third of the planning time for
    # 50,000 tasks). Only here: a program using guidesync.commands keeps its collector as it is.
    return Context(config_path=config, paths=tuple(paths or ()), progress=progress, loaded=gc.freeze)


def _progress_bar():
    """A progress bar for long runs, shown only on a terminal."""
    from rich.progress import Progress

    state: dict[str, object] = {}

    def update(done: int, total: int) -> None:
        if total < 20:
            return
        if "bar" not in state:
            bar = Progress(console=err, transient=True)
            bar.start()
            state["bar"] = bar
            state["task"] = bar.add_task("tracker writes", total=total)
        bar = state["bar"]
        bar.update(state["task"], completed=done)  # type: ignore[attr-defined]
        if done >= total:
            bar.stop()  # type: ignore[attr-defined]

    return update


@app.command()
def lint(paths: Optional[List[str]] = PathsArg, config: Optional[str] = ConfigOpt, as_json: bool = JsonOpt,
         github: bool = typer.Option(False, "--github", help="Also print GitHub Actions annotations.")) -> None:
    """Check the guides' structure; problems as file:line. Exit 1 on errors."""
    _finish(_run(commands.lint, _ctx(config, paths), as_json=as_json, annotations=github))


@app.command()
def status(paths: Optional[List[str]] = PathsArg, config: Optional[str] = ConfigOpt, as_json: bool = JsonOpt) -> None:
    """A table per guide: per milestone a progress bar, done/total, linked, due date (overdue marked)."""
    outcome = _run(commands.status, _ctx(config, paths), as_json=as_json)
    if not as_json:
        report.print_status(out, outcome.data)
    _finish(outcome)


@app.command("report")
def report_command(config: Optional[str] = ConfigOpt,
                   out: str = typer.Option("guidesync-report", "--out", "-o", help="Folder for index.html and badge.json."),
                   label: str = typer.Option("progress", "--label", help="The badge's label."),
                   as_json: bool = JsonOpt) -> None:
    """A static progress page (burn-up chart from the git history) and a shields.io badge. Reads no tracker."""
    from . import reportcmd

    _finish(_run(reportcmd.report, _ctx(config, None), out=out, as_json=as_json, label=label))


@app.command()
def plan(paths: Optional[List[str]] = PathsArg, config: Optional[str] = ConfigOpt, as_json: bool = JsonOpt,
         offline: bool = typer.Option(False, "--offline", help="Plan against an empty tracker; no network."),
         full: bool = typer.Option(False, "--full", help="List every managed issue, not just the changed ones.")) -> None:
    """What a sync would create, update, close and write back. Writes nothing."""
    _finish(_run(commands.sync, _ctx(config, paths), "plan", as_json=as_json, offline=offline, full=full))


def _sync_command(mode: str, help_text: str):
    def command(
        paths: Optional[List[str]] = PathsArg,
        config: Optional[str] = ConfigOpt,
        dry_run: bool = typer.Option(False, "--dry-run", help="Show what would happen; write nothing anywhere."),
        force: bool = typer.Option(False, "--force", help="Go on past the guards (mass close, emptied guide)."),
        full: bool = typer.Option(False, "--full", help="List every managed issue, not just the changed ones."),
        as_json: bool = JsonOpt,
        verbose: bool = VerboseOpt,
        adopt: bool = typer.Option(False, "--adopt", help="Take over every issue linked by hand (guidesync then owns its "
                                   "title and body); without it such issues are reported and left alone."),
    ) -> None:
        outcome = _run(commands.sync, _ctx(config, paths), mode, dry_run=dry_run, force=force, full=full, as_json=as_json,
                       adopt=True if adopt else None)
        _finish(outcome, verbose)

    command.__doc__ = help_text
    command.__name__ = mode
    return command


app.command("push")(_sync_command("push", "Guides -> tracker: create and update issues, close/reopen by checkbox, write links back."))
app.command("pull")(_sync_command("pull", "Tracker -> guides: check/uncheck boxes as issues close/reopen, write links. No tracker writes."))
app.command("sync")(_sync_command("sync", "Both directions: push and pull in one run."))


@app.command("adopt")
def adopt_command(places: List[str] = typer.Argument(..., help="FILE:LINE of each linked task whose issue to take over."),
                  config: Optional[str] = ConfigOpt,
                  dry_run: bool = typer.Option(False, "--dry-run", help="Show what would happen; write nothing anywhere."),
                  as_json: bool = JsonOpt) -> None:
    """Let guidesync manage issues linked by hand: their title and body then follow the guide."""
    _finish(_run(commands.adopt, _ctx(config, None), list(places), dry_run=dry_run, as_json=as_json))


@app.command()
def init(config: Optional[str] = ConfigOpt,
         tracker: Optional[str] = typer.Option(None, "--tracker", help="github or gitlab (default: from the git remote)."),
         repository: Optional[str] = typer.Option(None, "--repository", help="owner/name (default: from the git remote)."),
         force: bool = typer.Option(False, "--force", help="Overwrite an existing config."),
         ci: bool = typer.Option(False, "--ci", help="Also write the CI job for the tracker: .github/workflows/guidesync.yml "
                                 "(GitHub) or .gitlab/guidesync.gitlab-ci.yml (GitLab).")) -> None:
    """Write a starter config/guidesync.yaml, proposing the repository from the git remote."""
    _finish(_run(commands.init, _ctx(config, None), tracker=tracker, repository=repository, force=force, ci=ci))


@app.command()
def version() -> None:
    """Print the version."""
    out.print(__version__)


def main() -> None:
    app()
