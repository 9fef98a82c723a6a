"""Run guidesync unattended in CI: the script behind ``action.yml`` and the GitLab job template.

    python -m guidesync.action                  # inside GitHub Actions (action.yml runs this)
    python -m guidesync.action --forge gitlab   # inside GitLab CI (config/gitlab-ci.yml runs this)

One run:

1. **Loop guard.** A run started by a push whose newest commit is guidesync's own write-back stops
   at once (GitHub does not start workflows for pushes made with ``GITHUB_TOKEN`` anyway; this is
   for a personal access token, and for GitLab, where a project access token's push does start a
   pipeline). A scheduled or manual run never stops for that reason.
2. **Catch up.** Before writing anything, the checkout is fast-forwarded to the branch's newest
   commit, so a queued run does not sync an old tree.
3. **Lint** the guides and print the problems as annotations (GitHub) or ``file:line`` lines.
4. **Sync** in-process through :mod:`guidesync.commands`.
5. **Report**: outputs (``$GITHUB_OUTPUT`` or a dotenv file), a Markdown summary with links to the
   issues (``$GITHUB_STEP_SUMMARY`` or a file).
6. **Write back**: when the run changed guides or the state file, commit exactly those files as the
   bot and push to the branch that triggered the run. If the branch moved meanwhile, the commit is
   rebased onto it and pushed again, a bounded number of times; a conflict or a refusal fails the
   run with the reason. The branch that triggered the run is never force-pushed. With ``commit:
   pull-request`` the write-back goes to the branch ``guidesync/write-back`` and one pull request
   (opened once, then updated) carries it to the protected branch. That branch is rebuilt on every
   run: the base branch's tip plus the bot's one commit, made from the base branch's own config and
   guides, and pushed with ``--force-with-lease`` (that branch alone). Whatever else somebody pushed
   there is never merged, read or carried into the pull request.

Every git command goes through :func:`git`. The token reaches the tracker client through the
environment only and is never printed; git error messages are redacted before they are shown.
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence, TextIO
from urllib.parse import urlsplit

from .ci.templates import ACTION_REF, DEFAULT_MESSAGE, PINNED_TAG, SKIP_MARK, ci_files, github_workflow, gitlab_job  # noqa: F401
from .config import URL_INPUT, is_loopback
from .escape import annotation as escaped_annotation
from .escape import controls, shown
from .escape import problem_annotation as annotation  # noqa: F401  (lint problems as annotations)

#: action.yml input -> the environment variable the GitHub step passes it in (action.yml ``env:``).
INPUTS: dict[str, str] = {
    "command": "INPUT_COMMAND",
    "config": "INPUT_CONFIG",
    "token": "GITHUB_TOKEN",
    "url": "INPUT_URL",
    "dry-run": "INPUT_DRY_RUN",
    "commit": "INPUT_COMMIT",
    "commit-message": "INPUT_COMMIT_MESSAGE",
}
#: The same settings in GitLab CI (job variables of config/gitlab-ci.yml, overridable as CI/CD variables).
GITLAB_INPUTS: dict[str, str] = {
    "command": "GUIDESYNC_COMMAND",
    "config": "GUIDESYNC_CONFIG",
    "token": "GUIDESYNC_TOKEN",
    "url": "GUIDESYNC_URL",
    "dry-run": "GUIDESYNC_DRY_RUN",
    "commit": "GUIDESYNC_COMMIT",
    "commit-message": "GUIDESYNC_COMMIT_MESSAGE",
}
#: Outputs written to $GITHUB_OUTPUT (and action.yml ``outputs:``).
OUTPUTS = ("created", "updated", "closed", "reopened", "guides-changed", "commit", "pull-request")

#: GitLab dotenv names that differ from GUIDESYNC_<OUTPUT>: a dotenv report becomes variables of the
#: later jobs, and GUIDESYNC_COMMIT there would override the GUIDESYNC_COMMIT input (true/false).
DOTENV_NAMES = {"commit": "GUIDESYNC_COMMIT_SHA"}

COMMANDS = ("sync", "push", "pull", "plan")
TRAILER = "Guidesync-Write-Back"
WRITE_BACK_BRANCH = "guidesync/write-back"
PUSH_ATTEMPTS = 3
GITHUB_BOT = ("github-actions[bot]", "41898282+github-actions[bot]@users.noreply.github.com")

OK, FAILED, USAGE = 0, 1, 2


class ActionError(Exception):
    """The run cannot go on; the message says why (already redacted)."""

    def __init__(self, message: str, code: int = FAILED):
        super().__init__(message)
        self.code = code


class GitError(Exception):
    def __init__(self, args: Sequence[str], proc: subprocess.CompletedProcess):
        self.args_ = list(args)
        self.proc = proc
        super().__init__(f"git {' '.join(args[:2])} failed ({proc.returncode}): {(proc.stderr or proc.stdout).strip()}")


#: Options of every git command guidesync runs. Paths are literal: a guide named ``*.md`` or
#: ``:!x.md`` (a pull request can add one) is that file, not a pattern that stages other files or
#: leaves a guide out. No redirect is followed: git would send the push token
#: (``http.extraHeader``) to wherever a redirect of the first request pointed.
GIT_OPTIONS = ("--literal-pathspecs", "-c", "http.followRedirects=false")


def git(args: Sequence[str], *, cwd: str | os.PathLike[str], env: Mapping[str, str], check: bool = True) -> subprocess.CompletedProcess:
    """Run one git command (no shell) and capture what it says. The only way this module calls git."""
    proc = subprocess.run(["git", *GIT_OPTIONS, *args], cwd=cwd, env=dict(env), capture_output=True, text=True, check=False,
                          stdin=subprocess.DEVNULL)
    if check and proc.returncode != 0:
        raise GitError(args, proc)
    return proc


# ---------------------------------------------------------------------------------- settings


def parse_bool(value: str, name: str) -> bool:
    v = value.strip().lower()
    if v in ("", "false", "0", "no", "off"):
        return False
    if v in ("true", "1", "yes", "on"):
        return True
    raise ActionError(f"input {name}: expected true or false, not {value!r}", USAGE)


@dataclass
class Settings:
    forge: str  # github | gitlab
    command: str = "sync"
    config: str | None = None
    dry_run: bool = False
    commit: str = "true"  # true | false | pull-request
    message: str = DEFAULT_MESSAGE
    token: str = ""
    url: str = ""  # the tracker API URL when it is not the CI's own (the `url` input)
    event: str = ""  # push, schedule, workflow_dispatch / web, pull_request / merge_request_event, ...
    branch: str = ""
    push_url: str | None = None  # None: the remote "origin"
    identity: tuple[str, str] = GITHUB_BOT
    run_ref: str = "true"  # the trailer's value: a link to the run when known
    output_file: str | None = None
    output_format: str = "github"  # github ($GITHUB_OUTPUT) | dotenv
    summary_file: str | None = None
    annotations: bool = True

    @property
    def writes(self) -> bool:
        return self.command != "plan" and not self.dry_run

    @property
    def committing(self) -> bool:
        return self.writes and self.commit != "false"


def read_settings(forge: str, env: Mapping[str, str]) -> Settings:
    names = INPUTS if forge == "github" else GITLAB_INPUTS

    def get(name: str, default: str = "") -> str:
        value = env.get(names[name])
        return default if value is None or value.strip() == "" else value.strip()

    command = get("command", "sync").lower()
    if command not in COMMANDS:
        raise ActionError(f"input command: expected one of {', '.join(COMMANDS)}, not {command!r}", USAGE)
    commit = get("commit", "true").lower()
    if commit in ("pr", "pull-request", "pull_request"):
        commit = "pull-request"
    else:
        commit = "true" if parse_bool(commit, "commit") else "false"
    s = Settings(
        forge=forge,
        command=command,
        config=get("config") or None,
        dry_run=parse_bool(get("dry-run", "false"), "dry-run"),
        commit=commit,
        message=get("commit-message", DEFAULT_MESSAGE),
        token=env.get(names["token"], "").strip(),
        url=get("url"),
    )
    if forge == "github":
        s.event = env.get("GITHUB_EVENT_NAME", "")
        s.branch = env.get("GITHUB_REF_NAME", "") if env.get("GITHUB_REF_TYPE", "branch") in ("", "branch") else ""
        s.output_file = env.get("GITHUB_OUTPUT") or None
        s.summary_file = env.get("GITHUB_STEP_SUMMARY") or None
        if env.get("GITHUB_RUN_ID") and env.get("GITHUB_REPOSITORY"):
            server = env.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
            s.run_ref = f"{server}/{env['GITHUB_REPOSITORY']}/actions/runs/{env['GITHUB_RUN_ID']}"
    else:
        s.event = env.get("CI_PIPELINE_SOURCE", "")
        s.branch = env.get("CI_COMMIT_BRANCH", "")
        s.output_file = env.get("GUIDESYNC_DOTENV") or None
        s.output_format = "dotenv"
        s.summary_file = env.get("GUIDESYNC_SUMMARY") or None
        s.annotations = False
        host = env.get("CI_SERVER_HOST") or "gitlab.com"
        s.identity = ("guidesync[bot]", f"guidesync-bot@noreply.{host}")
        s.run_ref = env.get("CI_JOB_URL") or "true"
        if env.get("GUIDESYNC_PUSH_URL"):
            s.push_url = env["GUIDESYNC_PUSH_URL"]
        elif env.get("CI_SERVER_URL") and env.get("CI_PROJECT_PATH"):
            s.push_url = f"{env['CI_SERVER_URL'].rstrip('/')}/{env['CI_PROJECT_PATH']}.git"
    if s.push_url and s.push_url.lower().startswith("http://") and not is_loopback(urlsplit(s.push_url).hostname):
        raise ActionError(f"the push URL {s.push_url} is plain http: the token would cross the network unencrypted; "
                          "use https", USAGE)
    if s.commit == "pull-request" and forge != "github":
        raise ActionError("commit: pull-request is supported on GitHub only; on GitLab push to an unprotected "
                          "branch or allow the project access token to push", USAGE)
    return s


# -------------------------------------------------------------------------------- git side


@dataclass
class Repo:
    """The checkout, seen through :func:`git` with the run's environment."""

    root: Path
    env: dict[str, str]
    settings: Settings
    secrets: list[str] = field(default_factory=list)

    @property
    def remote(self) -> str:
        return self.settings.push_url or "origin"

    def _env(self, *, identity: bool = False) -> dict[str, str]:
        env = dict(self.env)
        env["GIT_TERMINAL_PROMPT"] = "0"
        if identity:
            name, email = self.settings.identity
            env.update(GIT_AUTHOR_NAME=name, GIT_AUTHOR_EMAIL=email, GIT_COMMITTER_NAME=name, GIT_COMMITTER_EMAIL=email)
        if self.settings.push_url and self.settings.token:
            # GitLab: authenticate the push URL with the project access token through a config entry in
            # the environment of this git process only: never in argv, .git/config or a log.
            basic = base64.b64encode(f"oauth2:{self.settings.token}".encode()).decode()
            n = int(env.get("GIT_CONFIG_COUNT", "0") or 0)
            env[f"GIT_CONFIG_KEY_{n}"] = "http.extraHeader"
            env[f"GIT_CONFIG_VALUE_{n}"] = f"Authorization: Basic {basic}"
            env["GIT_CONFIG_COUNT"] = str(n + 1)
            self._remember(basic)
        return env

    def _remember(self, secret: str) -> None:
        if secret and secret not in self.secrets:
            self.secrets.append(secret)

    def redact(self, text: str) -> str:
        for s in self.secrets:
            text = text.replace(s, "***")
        return text

    def run(self, *args: str, check: bool = True, identity: bool = False) -> subprocess.CompletedProcess:
        try:
            return git(args, cwd=self.root, env=self._env(identity=identity), check=check)
        except GitError as exc:
            raise ActionError(self.redact(str(exc))) from None

    def out(self, *args: str) -> str:
        return self.run(*args).stdout.strip()

    def head(self) -> str:
        return self.out("rev-parse", "HEAD")

    def head_message(self) -> str | None:
        proc = self.run("log", "-1", "--format=%B", "HEAD", check=False)
        return proc.stdout if proc.returncode == 0 else None

    def remote_tip(self, branch: str) -> str | None:
        """The branch's newest commit on the remote, fetched; None if the branch does not exist."""
        found = self.out("ls-remote", self.remote, f"refs/heads/{branch}")
        if not found:
            return None
        self.run("fetch", "--quiet", "--no-tags", self.remote, f"refs/heads/{branch}")
        return self.out("rev-parse", "FETCH_HEAD")

    def is_ancestor(self, a: str, b: str) -> bool:
        return self.run("merge-base", "--is-ancestor", a, b, check=False).returncode == 0

    def changed(self, paths: Sequence[str]) -> list[str]:
        if not paths:
            return []
        proc = self.run("status", "--porcelain", "--untracked-files=all", "--", *paths)
        return [line[3:] for line in proc.stdout.splitlines() if line.strip()]

    def commit(self, paths: Sequence[str], message: str, trailer: str) -> str:
        self.run("add", "--", *paths)
        self.run("-c", "commit.gpgsign=false", "commit", "--quiet", "--no-verify", "-m", message,
                 "-m", f"{TRAILER}: {trailer}", "--", *paths, identity=True)
        return self.head()

    def push(self, branch: str) -> subprocess.CompletedProcess:
        return self.run("push", "--quiet", "--porcelain", self.remote, f"HEAD:refs/heads/{branch}", check=False)


def is_write_back(message: str | None) -> bool:
    """Is this commit message one of guidesync's write-backs?"""
    if not message:
        return False
    return SKIP_MARK in message or re.search(rf"^{re.escape(TRAILER)}:", message, re.MULTILINE) is not None


def catch_up(repo: Repo, branch: str) -> list[str]:
    """Fast-forward the checkout to the branch's newest commit (a queued run must not sync an old tree)."""
    tip = repo.remote_tip(branch)
    if tip is None:
        raise ActionError(f"branch {branch!r} not found on the remote: cannot write back", USAGE)
    head = repo.head()
    if tip == head or repo.is_ancestor(tip, head):
        return []
    if repo.is_ancestor(head, tip):
        repo.run("merge", "--ff-only", "--quiet", tip)
        return [f"caught up with {branch}: {tip[:12]}"]
    return [f"the checkout and {branch} have diverged; the write-back will be rebased onto {branch}"]


def write_back_tip(repo: Repo) -> str | None:
    """Pull-request mode: the write-back branch's tip on the remote (None: there is none), read with
    ``ls-remote`` only. Its content is never merged, checked out or read as config or guides."""
    found = repo.out("ls-remote", repo.remote, f"refs/heads/{WRITE_BACK_BRANCH}")
    return found.split()[0] if found else None


def pending_is_current(repo: Repo, tip: str, paths: Sequence[str], state_file: str) -> bool:
    """Does the pending write-back (``tip``) already hold exactly this run's write-back on the base
    branch's tip? Then it is kept as it is (no new commit, no push that would only churn the pull
    request). Only compared, never merged: the files are read as bytes from the fetched commit."""
    repo.run("fetch", "--quiet", "--no-tags", repo.remote, f"refs/heads/{WRITE_BACK_BRANCH}")
    if repo.out("rev-parse", "FETCH_HEAD") != tip:
        return False
    if repo.run("rev-parse", "--verify", "--quiet", f"{tip}^2", check=False).returncode == 0:
        return False  # a merge: not the bot's one commit
    if repo.out("rev-parse", f"{tip}^") != repo.head():
        return False
    changed = set(repo.out("diff", "--name-only", "-z", "HEAD", tip).split("\0")) - {""}
    if changed != set(paths):
        return False
    for path in paths:
        theirs = repo.run("show", f"{tip}:{path}", check=False)
        try:
            ours = (repo.root / path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return False
        if theirs.returncode != 0:
            return False
        if path == state_file:
            if _without_bookkeeping(theirs.stdout) != _without_bookkeeping(ours):
                return False
        elif theirs.stdout != ours:
            return False
    return True


def push_write_back(repo: Repo, expected: str | None) -> None:
    """Pull-request mode: replace the write-back branch with HEAD (the base branch plus the bot's
    commit). ``--force-with-lease`` on that branch alone, expecting the tip this run saw (or none):
    a concurrent change is refused, never overwritten blindly; no other branch is ever forced."""
    ref = f"refs/heads/{WRITE_BACK_BRANCH}"
    proc = repo.run("push", "--quiet", "--porcelain", f"--force-with-lease={ref}:{expected or ''}",
                    repo.remote, f"HEAD:{ref}", check=False)
    if proc.returncode != 0:
        why = repo.redact((proc.stderr or proc.stdout).strip())
        raise ActionError(f"push to {WRITE_BACK_BRANCH} was refused (it changed while this run went on, or the token "
                          f"may not push there): {why}; nothing was pushed, the next run rebuilds it")


def push_with_retry(repo: Repo, branch: str, attempts: int = PUSH_ATTEMPTS) -> list[str]:
    """Push HEAD (our one write-back commit) to ``branch``; if the branch moved, rebase onto it and
    try again, ``attempts`` times at most. Never forces; never rewrites anybody else's commit."""
    notes: list[str] = []
    for attempt in range(1, attempts + 1):
        proc = repo.push(branch)
        if proc.returncode == 0:
            return notes
        why = repo.redact((proc.stderr or proc.stdout).strip())
        tip = repo.remote_tip(branch)
        if tip is not None and repo.is_ancestor(tip, repo.head()):
            raise ActionError(f"push to {branch} was refused (not because the branch moved): {why}"
                              + ("\nfor a protected branch, use `commit: pull-request`" if "protected" in why.lower() else ""))
        if attempt == attempts:
            break
        if tip is None:
            continue  # the branch vanished (pull-request branch deleted): push it afresh
        proc = repo.run("rebase", "--quiet", "--onto", tip, "HEAD~1", check=False, identity=True)
        if proc.returncode != 0:
            conflicts = repo.run("diff", "--name-only", "--diff-filter=U", check=False).stdout.split()
            repo.run("rebase", "--abort", check=False)
            raise ActionError(f"{branch} moved meanwhile and the write-back conflicts with it "
                              f"({', '.join(conflicts) or 'see git'}); nothing was pushed: the next run writes back again")
        notes.append(f"{branch} moved meanwhile: rebased the write-back onto {tip[:12]} (attempt {attempt + 1})")
    raise ActionError(f"{branch} kept moving: gave up after {attempts} push attempts; nothing was force-pushed, "
                      "the next run writes back again")


# -------------------------------------------------------------------------- pull requests


def ensure_pull_request(cfg: Any, *, token: str, base: str, head: str, body: str) -> tuple[int, str, bool]:
    """Open the write-back pull request, or find the open one. (number, url, opened now).

    Through the GitHub adapter, so that the same rules hold as for the issues: the configured host
    only, no redirect followed, the call policy's retries."""
    from .trackers.base import CallPolicy
    from .trackers.github import GitHubTracker

    assert cfg.repository is not None
    policy = CallPolicy(write_interval=0, max_retries=cfg.max_retries, max_wait=cfg.max_retry_wait, reserve=0)
    tracker = GitHubTracker(cfg.repository, token, url=cfg.api_url, policy=policy, timeout=cfg.timeout)
    return tracker.pull_request(head=head, base=base, title="guidesync: write back issue links and checkboxes", body=body)


# ----------------------------------------------------------------------------- reporting


def escape_cell(text: str) -> str:
    """Text for a Markdown table cell of the summary: one line, no control character, no ``|``."""
    return " ".join(controls(str(text)).split()).replace("\\", "\\\\").replace("|", "\\|")


def write_outputs(s: Settings, values: Mapping[str, Any]) -> None:
    if not s.output_file:
        return
    with open(s.output_file, "a", encoding="utf-8") as f:
        for name in OUTPUTS:
            value = str(values.get(name, "") or (0 if name not in ("commit", "pull-request") else ""))
            value = " ".join(value.splitlines())
            if s.output_format == "dotenv":
                f.write(f"{DOTENV_NAMES.get(name, 'GUIDESYNC_' + name.upper().replace('-', '_'))}={value}\n")
            else:
                f.write(f"{name}={value}\n")


def _issue_info(root: Path, cfg: Any) -> dict[int, tuple[str, str, str]]:
    """issue number -> (url, task text, guide:line) from the guides as they are now."""
    from .guides import load

    out: dict[int, tuple[str, str, str]] = {}
    try:
        loaded = load((), root, cfg.guides, cfg.exclude, cfg.sections)
    except Exception:  # the summary is a courtesy; never fail the run for it
        return out
    for lg in loaded.guides:
        for t in lg.guide.tasks:
            if t.link:
                out[t.link.number] = (t.link.url, t.text, f"{t.guide}:{t.line + 1}")
    return out


def _repository_url(root: Path, cfg: Any) -> str | None:
    """The repository's web address: named by the config or the CI, else as the tracker gave it
    (kept in the state file); None when neither says (it is never worked out from the API URL)."""
    if cfg is None or not cfg.repository:
        return None
    if getattr(cfg, "web_url", None) and not str(cfg.repository).isdigit():
        return f"{cfg.web_url}/{cfg.repository}"
    try:
        from .state import loads

        return loads((root / cfg.state_file).read_text(encoding="utf-8")).repository_url
    except Exception:  # the summary is a courtesy; never fail the run for it
        return None


def _issue_url(cfg: Any, n: int, repository_url: str | None) -> str:
    if not repository_url:
        return ""
    return f"{repository_url}/issues/{n}" if cfg.tracker == "github" else f"{repository_url}/-/issues/{n}"


def summary_rows(data: Mapping[str, Any], info: Mapping[int, tuple[str, str, str]], cfg: Any,
                 planned: bool, repository_url: str | None = None) -> tuple[list[tuple[str, str, str, str]], list[str]]:
    """(issue link, task, what, where) per issue touched, in order; and the milestone lines."""
    rows: dict[Any, dict[str, Any]] = {}
    milestones: list[str] = []

    def row(key: Any, number: int | None) -> dict[str, Any]:
        if key not in rows:
            url, text, where = info.get(number, ("", "", "")) if number is not None else ("", "", "")
            if number is not None and not url and cfg is not None and cfg.repository:
                url = _issue_url(cfg, number, repository_url)
            rows[key] = {"number": number, "url": url, "text": text, "where": where, "what": []}
        return rows[key]

    if planned:
        for m in data.get("milestones", []):
            if m.get("create"):
                milestones.append(f"would create milestone {m['title']}")
            elif m.get("update"):
                milestones.append(f"would update milestone {m['title']}")
        for i, t in enumerate(data.get("tasks", [])):
            what = [a for a in t.get("actions", []) if a != "forget"]
            if not what:
                continue
            r = row(("task", i), t.get("issue"))
            r["text"] = t.get("text") or r["text"]
            if t.get("guide"):
                r["where"] = f"{t['guide']}:{t['line']}"
            r["what"] += what
    else:
        for e in data.get("events", []):
            action = e["action"]
            if action.startswith("milestone_"):
                milestones.append(f"{action.split('_')[1]} milestone {e.get('title', '')}".strip())
                continue
            n = e.get("issue")
            r = row(n if n is not None else ("event", len(rows)), n)
            if e.get("url"):
                r["url"] = e["url"]
            if not r["text"] and e.get("title"):
                r["text"] = e["title"]
            if not r["where"] and e.get("guide") and e.get("line") is not None:
                r["where"] = f"{e['guide']}:{e['line'] + 1}"
            detail = f" ({str(e['detail']).replace('_', ' ')})" if e.get("detail") and action == "closed" else ""
            if action + detail not in r["what"]:
                r["what"].append(action + detail)
    out = []
    for r in rows.values():
        n = r["number"]
        ref = "new" if n is None else (f"[#{n}]({r['url']})" if r["url"] else f"#{n}")
        out.append((ref, escape_cell(r["text"]), ", ".join(r["what"]), escape_cell(r["where"])))
    return out, milestones


def summary_markdown(s: Settings, data: Mapping[str, Any] | None, counts: Mapping[str, int], info: Mapping[int, tuple[str, str, str]],
                     cfg: Any, notes: Sequence[str], planned: bool, repository_url: str | None = None) -> str:
    title = f"guidesync {s.command}" + (" (dry run)" if s.dry_run and s.command != "plan" else "")
    lines = [f"### {title}", ""]
    rows, milestones = summary_rows(data or {}, info, cfg, planned, repository_url) if data else ([], [])
    if rows:
        lines += ["| Issue | Task | " + ("Would" if planned else "Done") + " | Where |", "| --- | --- | --- | --- |"]
        lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
        lines.append("")
    elif data is not None:
        lines += ["Nothing to do." if planned else "Nothing changed.", ""]
    for m in milestones:
        lines.append(f"- {escape_cell(m)}")
    if milestones:
        lines.append("")
    verb = "to " if planned else ""
    lines.append(f"**{counts.get('created', 0)}** {verb}create, **{counts.get('updated', 0)}** {verb}update, "
                 f"**{counts.get('closed', 0)}** {verb}close, **{counts.get('reopened', 0)}** {verb}reopen"
                 + ("" if planned else f", **{counts.get('guides_changed', 0)}** guides changed"))
    lines.append("")
    for n in notes:
        lines.append(f"- {escape_cell(n)}")
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------------------------- the run


#: Keys of the state file that only say where the next listing starts. A run that changed nothing
#: else does not commit them: the next run lists from the older mark (a superset, so nothing is
#: missed) instead of adding a commit to the branch every time somebody touches an issue.
BOOKKEEPING = ("since", "full_at", "etags")


def state_needs_commit(repo: Repo, state_file: str) -> bool:
    """Did the state file change beyond the listing bookkeeping, compared with the commit checked out?"""
    import json

    committed = repo.run("show", f"HEAD:{state_file}", check=False)
    if committed.returncode != 0:
        return True
    try:
        old = json.loads(committed.stdout)
        new = json.loads((repo.root / state_file).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return True
    if not isinstance(old, dict) or not isinstance(new, dict):
        return True
    strip = lambda d: {k: v for k, v in d.items() if k not in BOOKKEEPING}  # noqa: E731
    return strip(old) != strip(new)


def _without_bookkeeping(text: str) -> Any:
    """A state file's content without the listing bookkeeping (the text itself if it is not JSON)."""
    import json

    try:
        data = json.loads(text)
    except ValueError:
        return text
    return {k: v for k, v in data.items() if k not in BOOKKEEPING} if isinstance(data, dict) else data


def changed_paths(repo: Repo, data: Mapping[str, Any], state_file: str) -> list[str]:
    """The files to commit: the guides written back, and the state file when it matters."""
    paths = list(data.get("guides_changed") or [])
    if data.get("state_changed") and (paths or state_needs_commit(repo, state_file)):
        paths.append(state_file)
    return paths


def run(settings: Settings, *, root: Path, env: Mapping[str, str], out: TextIO) -> int:
    from . import commands, report
    from .config import DEFAULT_PATH, load_config

    s = settings
    penv = dict(env)
    # The action's token input is the token (inside CI the config's token_env is not honoured), and
    # its url input, if given, the tracker URL (else the CI's own: never the repository's files).
    if s.token:
        penv["GITHUB_TOKEN" if s.forge == "github" else "GITLAB_TOKEN"] = s.token
    penv.pop(URL_INPUT, None)
    if s.url:
        penv[URL_INPUT] = s.url
    repo = Repo(root, dict(env), s)
    repo._remember(s.token)
    notes: list[str] = []
    values: dict[str, Any] = {}

    def say(text: str) -> None:
        """Print text: whatever came from the files or the tracker is shown, never run (escape.shown)."""
        print(shown(repo.redact(text)), file=out)

    def command(line: str) -> None:
        """Print a workflow command guidesync built itself, its values escaped (escape.annotation)."""
        print(repo.redact(line), file=out)

    def error(msg: str) -> None:
        msg = repo.redact(msg)
        if s.annotations:
            command(escaped_annotation("error", msg))
        else:
            say(f"guidesync: error: {msg}")

    def finish(code: int, data: Mapping[str, Any] | None = None, counts: Mapping[str, int] | None = None,
               planned: bool = False) -> int:
        counts = counts or {}
        values.update({"created": counts.get("created", 0), "updated": counts.get("updated", 0),
                       "closed": counts.get("closed", 0), "reopened": counts.get("reopened", 0),
                       "guides-changed": counts.get("guides_changed", 0)})
        write_outputs(s, values)
        info = _issue_info(root, cfg) if cfg is not None and data else {}
        text = summary_markdown(s, data, counts, info, cfg, notes, planned, _repository_url(root, cfg) if data else None)
        if s.summary_file:
            with open(s.summary_file, "a", encoding="utf-8") as f:
                f.write(text)
        elif s.forge == "gitlab":
            say(text)
        return code

    cfg = None
    if s.committing and s.event.startswith(("pull_request", "merge_request")):
        error("write-back commits need a push, schedule or manual run on a branch; on pull requests use "
              "`command: plan` (or `commit: false`)")
        return finish(USAGE)
    if s.committing and not s.branch:
        error("no branch to write back to (GITHUB_REF_NAME / CI_COMMIT_BRANCH is empty); use `commit: false`")
        return finish(USAGE)

    # 1. Loop guard: a push of our own write-back does not start another sync.
    if s.command != "plan" and s.event == "push" and is_write_back(repo.head_message()):
        notes.append("skipped: the triggering commit is guidesync's own write-back")
        say("guidesync: skipped: the triggering commit is guidesync's own write-back")
        return finish(OK)

    # 2. Catch up with the branch. In pull-request mode too, the run works on the base branch's tip:
    # its config and guides, never the write-back branch's (anybody who may push that branch could
    # otherwise redirect this run's token or launder changes into the bot's pull request).
    target = WRITE_BACK_BRANCH if s.commit == "pull-request" else s.branch
    pending: str | None = None
    try:
        if s.committing:
            notes += catch_up(repo, s.branch)
            if s.commit == "pull-request":
                pending = write_back_tip(repo)
    except ActionError as exc:
        error(str(exc))
        return finish(exc.code)

    ctx = commands.Context(config_path=s.config, root=root, env=penv, use_gh=False)
    try:
        cfg = load_config(s.config, penv) if s.config else load_config(root / DEFAULT_PATH, penv, explicit=False)
    except commands.ERRORS as exc:
        error(f"guidesync: {exc}")
        return finish(USAGE)

    # 3. Lint: problems as annotations on the files.
    try:
        linted = commands.lint(ctx, as_json=True).data or {}
    except commands.ERRORS as exc:
        error(f"guidesync: {exc}")
        return finish(USAGE)
    for p in linted.get("problems", []):
        if s.annotations:
            command(annotation(p))
        else:
            say(f"{p['file']}:{p.get('line') or ''}: {p['severity']}: {p['message']}")

    # 4. Sync.
    planned = not s.writes
    mode = "plan" if s.command == "plan" else s.command
    try:
        outcome = commands.sync(ctx, mode, dry_run=s.dry_run and s.command != "plan")
    except commands.ERRORS as exc:
        error(f"guidesync: {exc}")
        return finish(USAGE)
    except (commands.Fatal, commands.LockHeld) as exc:
        error(f"guidesync: {exc}")
        return finish(FAILED)
    if outcome.text:
        say(outcome.text)
    for line in outcome.stderr:
        say(line)
    code = outcome.code
    data: dict[str, Any] | None = None
    counts: dict[str, int] = {}
    from .plan import Plan
    from .sync import RunResult

    from .trackers.base import BudgetExhausted, TrackerError

    if isinstance(outcome.data, RunResult):
        data = report.result_data(outcome.data, outcome.stats)
        counts = data["counts"]
        notes += [f"error: {e}" for e in data["errors"]] + [f"warning: {w}" for w in data["warnings"]]
    elif isinstance(outcome.data, Plan):
        data = report.plan_data(outcome.data, offline=False)
        counts = data["counts"]
        planned = True
    if code == commands.GUARD:
        notes.append("stopped by a guard (run `guidesync` with --force by hand after checking): "
                     + "; ".join(getattr(outcome.data, "guards", []) or [outcome.text]))
        error(outcome.text or "stopped by a guard")

    # 5. Write back.
    if s.committing and isinstance(outcome.data, RunResult):
        try:
            paths = changed_paths(repo, data or {}, cfg.state_file)
            if repo.changed(paths):
                if s.commit == "pull-request" and pending is not None and pending_is_current(repo, pending, paths, cfg.state_file):
                    sha = pending
                    notes.append(f"the pending write-back {sha[:12]} on {target} already holds these changes")
                else:
                    repo.commit(paths, s.message, s.run_ref)
                    if s.commit == "pull-request":
                        push_write_back(repo, pending)
                    else:
                        notes += push_with_retry(repo, target)
                    sha = repo.head()
                    notes.append(f"committed {sha[:12]} to {target}")
                    say(f"guidesync: pushed the write-back {sha[:12]} to {target}")
                values["commit"] = sha
                if s.commit == "pull-request":
                    number, url, opened = ensure_pull_request(
                        cfg, token=s.token, base=s.branch, head=target,
                        body="guidesync wrote issue links and checkboxes back into the guides; merge to keep them.\n\n"
                             f"Run: {s.run_ref}\n")
                    values["pull-request"] = url
                    notes.append(f"{'opened' if opened else 'updated'} pull request #{number}: {url}")
                    say(f"guidesync: {'opened' if opened else 'updated'} pull request #{number}")
            else:
                notes.append("nothing to commit")
        except ActionError as exc:
            error(str(exc))
            code = max(code, FAILED) if code != USAGE else code
        except (TrackerError, BudgetExhausted) as exc:  # the pull request API
            error(f"the write-back is on {target}, but opening its pull request failed: {exc}")
            code = FAILED
    return finish(code, data, counts, planned)


def main(argv: Sequence[str] | None = None, *, env: Mapping[str, str] | None = None, cwd: str | os.PathLike[str] | None = None,
         out: TextIO | None = None) -> int:
    env = os.environ if env is None else env
    parser = argparse.ArgumentParser(prog="python -m guidesync.action", description=__doc__.splitlines()[0])
    parser.add_argument("--forge", choices=("github", "gitlab"), default=None,
                        help="which CI runs this (default: gitlab inside GitLab CI, else github)")
    args = parser.parse_args(argv)
    forge = args.forge or ("gitlab" if env.get("GITLAB_CI") else "github")
    out = out or sys.stdout
    try:
        settings = read_settings(forge, env)
    except ActionError as exc:
        print(escaped_annotation("error", str(exc)) if forge == "github" else shown(f"guidesync: error: {exc}"), file=out)
        return exc.code
    return run(settings, root=Path(cwd or os.getcwd()), env=env, out=out)


# ------------------------------------------------------------------------- CI templates


if __name__ == "__main__":
    sys.exit(main())
