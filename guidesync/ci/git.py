"""The git side of a CI run: every git command, the catch-up with the branch, the write-back
commit and its push (rebased and retried on the triggering branch; rebuilt and pushed with
``--force-with-lease`` on the pull-request branch), and telling guidesync's own write-backs apart.

Every git command goes through :func:`git`. Git error messages are redacted before they are shown.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..errors import USAGE
from .settings import ActionError, Settings
from .templates import SKIP_MARK

TRAILER = "Guidesync-Write-Back"
WRITE_BACK_BRANCH = "guidesync/write-back"
PUSH_ATTEMPTS = 3


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


#: Keys of the state file that only say where the next listing starts. A run that changed nothing
#: else does not commit them: the next run lists from the older mark (a superset, so nothing is
#: missed) instead of adding a commit to the branch every time somebody touches an issue.
BOOKKEEPING = ("since", "full_at", "etags")


def pending_is_current(repo: Repo, tip: str, paths: Sequence[str], state_file: str) -> bool:
    """Does the pending write-back (``tip``) already hold exactly this run's write-back on the base
    branch's tip? Then it is kept as it is (no new commit, no push that would only churn the pull
    request). Only compared, never merged or checked out: the files are read from the fetched
    commit with ``git show``."""
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


def state_needs_commit(repo: Repo, state_file: str) -> bool:
    """Did the state file change beyond the listing bookkeeping, compared with the commit checked out?"""
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
