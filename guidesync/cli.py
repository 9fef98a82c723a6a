"""The ``guidesync`` command line: options in, a command run, an exit code out. No logic here.

Imports are lazy: ``guidesync lint`` (a pre-commit hook) loads neither the tracker clients nor the
terminal toolkit; each command imports :mod:`guidesync.commands` when it runs.
"""

from __future__ import annotations

import gc
import sys
from typing import Any, List, Optional

import typer

from . import __version__
from .context import Context, Outcome
from .errors import GuidesyncError, exit_code
from .core.escape import shown

app = typer.Typer(
    add_completion=True,  # --install-completion / --show-completion for bash, zsh, fish and PowerShell
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # a traceback must never show a token held in a local variable
    help="Keep implementation guides and GitHub/GitLab issues in step.",
)


class _Console:
    """A rich Console made at its first use (tables, progress bars); plain text never needs one."""

    def __init__(self, **kw: Any):
        self._kw, self._made = kw, None

    def made(self) -> Any:
        if self._made is None:
            from rich.console import Console

            self._made = Console(highlight=False, soft_wrap=True, **self._kw)
        return self._made

    def __getattr__(self, name: str) -> Any:
        return getattr(self.made(), name)


out = _Console()
err = _Console(stderr=True)


def _say(text: str, stderr: bool = False) -> None:
    """One line (or several) of text, as it is: it went through shown() where it came from files."""
    stream = sys.stderr if stderr else sys.stdout
    stream.write(text + "\n")
    stream.flush()


def _version(value: bool) -> None:
    if value:
        _say(__version__)
        raise typer.Exit()


@app.callback()
def _main(version: Optional[bool] = typer.Option(None, "--version", callback=_version, is_eager=True,
                                                 help="Print the version and exit.")) -> None:
    """Keep implementation guides and GitHub/GitLab issues in step."""

PathsArg = typer.Argument(None, help="Guide files or folders (default: the config's `guides` patterns).")
ConfigOpt = typer.Option(None, "--config", "-c", help="Config file (default: config/guidesync.yaml).")
JsonOpt = typer.Option(False, "--json", help="Print the result as JSON.")
VerboseOpt = typer.Option(False, "--verbose", "-v", help="Also print request statistics.")


def _finish(outcome: Outcome, verbose: bool = False) -> None:
    # Everything printed went through shown(): guide paths, task text and the tracker's messages are
    # text, never a workflow command or a terminal escape. Only the annotations guidesync itself
    # builds (escaped value by value) are printed as commands.
    if outcome.text:
        _say(shown(outcome.text))
    for line in outcome.commands:
        _say(line)
    for line in outcome.stderr:
        _say(shown(line), stderr=True)
    if verbose and outcome.stats is not None:
        _say("requests: " + ", ".join(f"{k} {v}" for k, v in outcome.stats.items()), stderr=True)
    raise typer.Exit(outcome.code)


def _run(fn, *args, **kw) -> Outcome:
    try:
        return fn(*args, **kw)
    except GuidesyncError as exc:  # usage errors exit 2, run errors 1 (guidesync.errors)
        _say(shown(f"guidesync: {exc}"), stderr=True)
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
            bar = Progress(console=err.made(), transient=True)
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
    from .context import lint as run_lint  # not guidesync.commands: no tracker client on this path

    _finish(_run(run_lint, _ctx(config, paths), as_json=as_json, annotations=github))


@app.command()
def status(paths: Optional[List[str]] = PathsArg, config: Optional[str] = ConfigOpt, as_json: bool = JsonOpt) -> None:
    """A table per guide: per milestone a progress bar, done/total, linked, due date (overdue marked)."""
    from . import commands, report

    outcome = _run(commands.status, _ctx(config, paths), as_json=as_json)
    if not as_json:
        report.print_status(out.made(), outcome.data)
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
    from . import commands

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
        from . import commands

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
    from . import commands

    _finish(_run(commands.adopt, _ctx(config, None), list(places), dry_run=dry_run, as_json=as_json))


@app.command()
def init(config: Optional[str] = ConfigOpt,
         tracker: Optional[str] = typer.Option(None, "--tracker", help="github or gitlab (default: from the git remote)."),
         repository: Optional[str] = typer.Option(None, "--repository", help="owner/name (default: from the git remote)."),
         force: bool = typer.Option(False, "--force", help="Overwrite an existing config."),
         ci: bool = typer.Option(False, "--ci", help="Also write the CI job for the tracker: .github/workflows/guidesync.yml "
                                 "(GitHub) or .gitlab/guidesync.gitlab-ci.yml (GitLab).")) -> None:
    """Write a starter config/guidesync.yaml, proposing the repository from the git remote."""
    from . import commands

    _finish(_run(commands.init, _ctx(config, None), tracker=tracker, repository=repository, force=force, ci=ci))


@app.command()
def doctor(config: Optional[str] = ConfigOpt, as_json: bool = JsonOpt) -> None:
    """Check the config, the token, the tracker, permissions, label, rate limit and features. Read-only."""
    from .doctor import doctor as run_doctor

    _finish(_run(run_doctor, _ctx(config, None), as_json=as_json))


@app.command()
def demo(keep: Optional[str] = typer.Option(None, "--dir", help="Run in this new or empty folder and keep it "
                                            "(default: a temporary folder, removed).")) -> None:
    """The whole life cycle on the examples, offline: plan, push, an issue closed, pull, the guides' diff."""
    from .demo import demo as run_demo

    _finish(_run(run_demo, keep))


@app.command()
def version() -> None:
    """Print the version."""
    _say(__version__)


def main() -> None:
    app(prog_name="guidesync")  # the same name (and completion) for `python -m guidesync`
