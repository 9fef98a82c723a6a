"""Run guidesync unattended in CI: the script behind ``action.yml`` and the GitLab job template.

    python -m guidesync.action                  # inside GitHub Actions (action.yml runs this)
    python -m guidesync.action --tracker gitlab   # inside GitLab CI (--forge is the same) (config/gitlab-ci.yml runs this)
    python -m guidesync.ci                      # the same run

One run, step by step (each a function below, handing a :class:`RunContext` on):

1. **Loop guard.** A run started by a push whose newest commit is guidesync's own write-back stops
   at once (GitHub does not start workflows for pushes made with ``GITHUB_TOKEN`` anyway; this is
   for a personal access token, and for GitLab, where a project access token's push does start a
   pipeline). A scheduled or manual run never stops for that reason.
2. **Catch up.** Before writing anything, the checkout is fast-forwarded to the branch's newest
   commit, so a queued run does not sync an old tree.
3. **Lint** the guides and print the problems as annotations (GitHub) or ``file:line`` lines.
4. **Sync** in-process through :mod:`guidesync.commands`.
5. **Report**: outputs (``$GITHUB_OUTPUT`` or a dotenv file), a Markdown summary with links to the
   issues (``$GITHUB_STEP_SUMMARY`` or a file); see :mod:`guidesync.ci.summary`.
6. **Write back**: when the run changed guides or the state file, commit exactly those files as the
   bot and push to the branch that triggered the run. If the branch moved meanwhile, the commit is
   rebased onto it and pushed again, a bounded number of times; a conflict or a refusal fails the
   run with the reason. The branch that triggered the run is never force-pushed. With ``commit:
   pull-request`` the write-back goes to the branch ``guidesync/write-back`` and one pull request
   (opened once, then updated) carries it to the protected branch. That branch is rebuilt on every
   run: the base branch's tip plus the bot's one commit, made from the base branch's own config and
   guides, and pushed with ``--force-with-lease`` (that branch alone). Whatever else somebody pushed
   there is never merged, read or carried into the pull request. See :mod:`guidesync.ci.git`.

Every git command goes through :func:`guidesync.ci.git.git`. The token reaches the tracker client
through the environment only and is never printed; git error messages are redacted before they are
shown.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence, TextIO

from .. import commands, report
from ..config import DEFAULT_PATH, URL_INPUT, Config, load_config
from ..errors import FAILED, OK, USAGE
from ..core.escape import annotation as escaped_annotation
from ..core.escape import shown
from ..core.plan import Plan
from ..sync import RunResult
from ..trackers.base import BudgetExhausted, TrackerError
from .git import (WRITE_BACK_BRANCH, Repo, catch_up, changed_paths, is_write_back, pending_is_current, push_with_retry,
                  push_write_back, write_back_tip)
from .pull_request import ensure_pull_request
from .settings import REPORT, ActionError, Settings, read_settings
from .summary import (Console, find_repository_url, issue_info, load_guides, progress_of, publish_summary, summary_markdown,
                      write_outputs)


@dataclass
class RunContext:
    """One run's state, handed from step to step."""

    settings: Settings
    root: Path
    repo: Repo
    console: Console
    tool: commands.Context  # how guidesync's commands run: the token and url inputs in their environment
    cfg: Config | None = None  # once loaded
    pending: str | None = None  # pull-request mode: the write-back branch's tip when the run began
    notes: list[str] = field(default_factory=list)  # the summary's closing lines
    values: dict[str, Any] = field(default_factory=dict)  # outputs set on the way (commit, pull-request)
    today: str | None = None  # YYYY-MM-DD for "overdue" in the summary (None: the local date)

    @property
    def target(self) -> str:
        """The branch the write-back is pushed to."""
        s = self.settings
        return WRITE_BACK_BRANCH if s.commit == "pull-request" else s.branch


@dataclass
class Synced:
    """What the sync step found: the exit code so far and the report data of the run or the plan."""

    code: int
    outcome: commands.Outcome
    planned: bool
    data: dict[str, Any] | None = None
    counts: dict[str, int] = field(default_factory=dict)


def tool_env(s: Settings, env: Mapping[str, str]) -> dict[str, str]:
    """The environment guidesync's commands see. The action's token input is the token (inside CI the
    config's token_env is not honoured), and its url input, if given, the tracker URL (else the CI's
    own: never the repository's files)."""
    penv = dict(env)
    if s.token:
        penv["GITHUB_TOKEN" if s.tracker == "github" else "GITLAB_TOKEN"] = s.token
    penv.pop(URL_INPUT, None)
    if s.url:
        penv[URL_INPUT] = s.url
    return penv


def start(s: Settings, root: Path, env: Mapping[str, str], out: TextIO,
          loaded: Callable[[], None] | None = None) -> RunContext:
    repo = Repo(root, dict(env), s)
    repo._remember(s.token)
    tool = commands.Context(config_path=s.config, root=root, env=tool_env(s, env), use_gh=False, loaded=loaded)
    return RunContext(settings=s, root=root, repo=repo, console=Console(out, repo.redact, s.annotations), tool=tool)


def refuse_event(rc: RunContext) -> None:
    """A write-back needs a branch to push to, and a run that may push to it."""
    s = rc.settings
    if s.committing and s.event.startswith(("pull_request", "merge_request")):
        raise ActionError("write-back commits need a push, schedule or manual run on a branch; on pull requests use "
                          "`command: plan` (or `commit: false`)", USAGE)
    if s.committing and not s.branch:
        raise ActionError("no branch to write back to (GITHUB_REF_NAME / CI_COMMIT_BRANCH is empty); use `commit: false`",
                          USAGE)


def loop_guard(rc: RunContext) -> bool:
    """1. Is this run a push of our own write-back? Then it does not start another sync."""
    s = rc.settings
    if s.command != "plan" and s.event == "push" and is_write_back(rc.repo.head_message()):
        rc.notes.append("skipped: the triggering commit is guidesync's own write-back")
        rc.console.say("guidesync: skipped: the triggering commit is guidesync's own write-back")
        return True
    return False


def catch_up_step(rc: RunContext) -> None:
    """2. Catch up with the branch. In pull-request mode too, the run works on the base branch's tip:
    its config and guides, never the write-back branch's (anybody who may push that branch could
    otherwise redirect this run's token or launder changes into the bot's pull request)."""
    s = rc.settings
    if s.committing:
        rc.notes.extend(catch_up(rc.repo, s.branch))
        if s.commit == "pull-request":
            rc.pending = write_back_tip(rc.repo)


def load_step(rc: RunContext) -> None:
    s, env = rc.settings, rc.tool.env
    try:
        rc.cfg = load_config(s.config, env) if s.config else load_config(rc.root / DEFAULT_PATH, env, explicit=False)
    except commands.ERRORS as exc:
        raise ActionError(f"guidesync: {exc}", USAGE) from None


def lint_step(rc: RunContext) -> None:
    """3. Lint: problems as annotations on the files."""
    try:
        linted = commands.lint(rc.tool, as_json=True).data or {}
    except commands.ERRORS as exc:
        raise ActionError(f"guidesync: {exc}", USAGE) from None
    for p in linted.get("problems", []):
        rc.console.problem(p)


def sync_step(rc: RunContext) -> Synced:
    """4. Sync (or plan), and print what it says."""
    s = rc.settings
    mode = "plan" if s.command == "plan" else s.command
    try:
        outcome = commands.sync(rc.tool, mode, dry_run=s.dry_run and s.command != "plan")
    except commands.ERRORS as exc:
        raise ActionError(f"guidesync: {exc}", USAGE) from None
    except (commands.Fatal, commands.LockHeld) as exc:
        raise ActionError(f"guidesync: {exc}", FAILED) from None
    if outcome.text:
        rc.console.say(outcome.text)
    for line in outcome.stderr:
        rc.console.say(line)
    synced = Synced(outcome.code, outcome, planned=not s.writes)
    if isinstance(outcome.data, RunResult):
        synced.data = report.result_data(outcome.data, outcome.stats)
        synced.counts = synced.data["counts"]
        rc.notes.extend([f"error: {e}" for e in synced.data["errors"]] + [f"warning: {w}" for w in synced.data["warnings"]])
    elif isinstance(outcome.data, Plan):
        synced.data = report.plan_data(outcome.data, offline=False)
        synced.counts = synced.data["counts"]
        synced.planned = True
    if outcome.code == commands.GUARD:
        rc.notes.append("stopped by a guard (run `guidesync` with --force by hand after checking): "
                        + "; ".join(getattr(outcome.data, "guards", []) or [outcome.text]))
        rc.console.error(outcome.text or "stopped by a guard")
    return synced


def write_back(rc: RunContext, data: Mapping[str, Any], code: int) -> int:
    """6. Commit and push what the run changed (and open or update its pull request); the exit code."""
    assert rc.cfg is not None
    try:
        paths = changed_paths(rc.repo, data, rc.cfg.state_file)
        if not rc.repo.changed(paths):
            rc.notes.append("nothing to commit")
            return code
        rc.values["commit"] = _commit_and_push(rc, paths)
        if rc.settings.commit == "pull-request":
            _pull_request(rc)
    except ActionError as exc:
        rc.console.error(str(exc))
        return max(code, FAILED) if code != USAGE else code
    except (TrackerError, BudgetExhausted) as exc:  # the pull request API
        rc.console.error(f"the write-back is on {rc.target}, but opening its pull request failed: {exc}")
        return FAILED
    return code


def _commit_and_push(rc: RunContext, paths: Sequence[str]) -> str:
    """The write-back commit on the target branch: made and pushed, or the pending one that already
    holds these changes. Its sha."""
    s, repo, target = rc.settings, rc.repo, rc.target
    assert rc.cfg is not None
    if s.commit == "pull-request" and rc.pending is not None and pending_is_current(repo, rc.pending, paths, rc.cfg.state_file):
        rc.notes.append(f"the pending write-back {rc.pending[:12]} on {target} already holds these changes")
        return rc.pending
    repo.commit(paths, s.message, s.run_ref)
    if s.commit == "pull-request":
        push_write_back(repo, rc.pending)
    else:
        rc.notes.extend(push_with_retry(repo, target))
    sha = repo.head()
    rc.notes.append(f"committed {sha[:12]} to {target}")
    rc.console.say(f"guidesync: pushed the write-back {sha[:12]} to {target}")
    return sha


def _pull_request(rc: RunContext) -> None:
    s = rc.settings
    number, url, opened = ensure_pull_request(
        rc.cfg, token=s.token, base=s.branch, head=rc.target,
        body="guidesync wrote issue links and checkboxes back into the guides; merge to keep them.\n\n"
             f"Run: {s.run_ref}\n")
    rc.values["pull-request"] = url
    rc.notes.append(f"{'opened' if opened else 'updated'} pull request #{number}: {url}")
    rc.console.say(f"guidesync: {'opened' if opened else 'updated'} pull request #{number}")


def finish(rc: RunContext, code: int, synced: Synced | None = None) -> int:
    """5. Report: the outputs and the summary, whatever the run came to. Returns ``code``."""
    data, counts = (synced.data, synced.counts) if synced else (None, {})
    rc.values.update({"created": counts.get("created", 0), "updated": counts.get("updated", 0),
                      "closed": counts.get("closed", 0), "reopened": counts.get("reopened", 0),
                      "guides-changed": counts.get("guides_changed", 0)})
    write_outputs(rc.settings, rc.values)
    cfg = rc.cfg
    loaded = load_guides(rc.root, cfg) if cfg is not None else None
    info = issue_info(rc.root, cfg, loaded) if cfg is not None and data else {}
    text = summary_markdown(rc.settings, data, counts, info, cfg, rc.notes, synced.planned if synced else False,
                            find_repository_url(rc.root, cfg) if data else None, progress=progress_of(loaded, rc.today))
    publish_summary(rc.settings, text, rc.console)
    return code


def run(settings: Settings, *, root: Path, env: Mapping[str, str], out: TextIO,
        loaded: Callable[[], None] | None = None) -> int:
    """One CI run (the steps above, in order); the exit code. ``loaded`` is called once the guides
    are read (the process entry points pass ``gc.freeze``)."""
    rc = start(settings, root, env, out, loaded)
    if settings.command == REPORT:  # the progress page: no tracker, no token, no write-back
        from .report import run_report

        return run_report(rc, load_step)
    try:
        refuse_event(rc)
        if loop_guard(rc):
            return finish(rc, OK)
        catch_up_step(rc)
        load_step(rc)
        lint_step(rc)
        synced = sync_step(rc)
    except ActionError as exc:
        rc.console.error(str(exc))
        return finish(rc, exc.code)
    code = synced.code
    if settings.committing and isinstance(synced.outcome.data, RunResult):
        code = write_back(rc, synced.data or {}, code)
    return finish(rc, code, synced)


def main(argv: Sequence[str] | None = None, *, env: Mapping[str, str] | None = None, cwd: str | os.PathLike[str] | None = None,
         out: TextIO | None = None, prog: str = "python -m guidesync.action", freeze: bool = False) -> int:
    """The command line; ``freeze`` (the process entry points only) freezes the collector once the
    guides are read, as the CLI does."""
    env = os.environ if env is None else env
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("--tracker", "--forge", dest="tracker", choices=("github", "gitlab"), default=None,
                        help="which CI runs this (default: gitlab inside GitLab CI, else github)")
    args = parser.parse_args(argv)
    tracker = args.tracker or ("gitlab" if env.get("GITLAB_CI") else "github")
    out = out or sys.stdout
    try:
        settings = read_settings(tracker, env)
    except ActionError as exc:
        print(escaped_annotation("error", str(exc)) if tracker == "github" else shown(f"guidesync: error: {exc}"), file=out)
        return exc.code
    return run(settings, root=Path(cwd or os.getcwd()), env=env, out=out, loaded=gc.freeze if freeze else None)
