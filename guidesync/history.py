"""The guides' git history, for the burn-up: one :class:`~guidesync.core.progress.Change` per commit
that changed a guide, read with two git processes whatever the length of the history.

- ``git log --first-parent -m --raw -M -z`` lists, oldest first, the commits of the branch's own
  line and the ``.md`` files each changed against its first parent, with their blob ids. A merge
  is one commit there: what the merged branch did arrives when it was merged, which is when the
  branch's guides changed (its side commits never were the branch's state). Renames are paired
  (``-M``), so a moved guide keeps its history; a deleted one leaves the totals.
- ``git cat-file --batch`` reads each blob a guide ever had, once: the parse is cached by blob id,
  so the cost grows with the number of distinct guide versions, not commits times guides.
- A version that cannot be read as a guide (not UTF-8, binary, too large) is left out with a warning
  naming ``commit:path:line``; the guide's version before it keeps counting.

Paths are relative to the folder the history is read from (``--relative``), like the guides' own.
Every git command runs here, in this module; nothing is written.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Mapping

from .core.model import Guide
from .core.progress import Change, Tally, tally
from .guides import MAX_BYTES, GuideError, decode, odd_name

#: Blob modes of regular files; a symbolic link (120000) or a submodule (160000) is never a guide.
FILE_MODES = ("100644", "100755")
#: ``git log`` output: a commit starts with this byte, then its id and committer time.
MARK = "\x01"


class HistoryError(Exception):
    """git could not list the history (not a repository, no commit yet, git missing)."""


@dataclass
class History:
    changes: list[Change] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    head: str | None = None  # the commit read up to
    head_time: int | None = None
    shallow: bool = False  # a shallow clone: the history starts at its graft
    commits: int = 0  # commits listed (each changed some .md file)
    blobs: int = 0  # distinct blobs read
    parses: int = 0  # parse calls: each blob at most once


def _env(env: Mapping[str, str] | None) -> dict[str, str]:
    out = dict(os.environ if env is None else env)
    # Plain, unlocalised output, no pager, no prompt; the user's diff drivers are never run.
    out.update(LC_ALL="C", GIT_PAGER="cat", GIT_TERMINAL_PROMPT="0")
    return out


GIT = ("git", "-c", "core.quotePath=false", "-c", "log.showSignature=false", "-c", "diff.external=",
       "-c", "core.fsmonitor=false")


def git(root: Path, *args: str, env: Mapping[str, str] | None = None) -> bytes:
    """Run one git command in ``root``; its output. A failure is a :class:`HistoryError` with git's reason."""
    try:
        done = subprocess.run([*GIT, *args], cwd=root, env=_env(env), capture_output=True, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise HistoryError("git is not installed") from None
    if done.returncode != 0:
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise HistoryError(reason[-1] if reason else f"git {args[0]} failed ({done.returncode})")
    return done.stdout


@dataclass(frozen=True)
class Entry:
    """One changed file of a commit (``--raw``): its status letter and blob ids before and after."""

    status: str  # A, M, D, T, R (renamed; ``old`` is set), C (copied)
    path: str
    old_mode: str
    new_mode: str
    old_oid: str
    new_oid: str
    old: str | None = None


def parse_log(out: bytes) -> Iterator[tuple[str, int, list[Entry]]]:
    """(commit, committer time, entries) from ``git log --raw -z --format=%x01%H %ct``, read token by
    token: a path (which may hold any byte but NUL) is always read where a path is due."""
    tokens = out.decode("utf-8", "surrogateescape").split("\0")
    i, commit, when, entries = 0, None, 0, []
    while i < len(tokens):
        tok = tokens[i].lstrip("\n")
        i += 1
        if tok.startswith(MARK):
            if commit is not None:
                yield commit, when, entries
            sha, _, ct = tok[1:].partition(" ")
            commit, when, entries = sha, int(ct or 0), []
        elif tok.startswith(":"):
            old_mode, new_mode, old_oid, new_oid, status = tok[1:].split(" ")
            if status[0] in "RC":
                entries.append(Entry(status[0], tokens[i + 1], old_mode, new_mode, old_oid, new_oid, old=tokens[i]))
                i += 2
            else:
                entries.append(Entry(status[0], tokens[i], old_mode, new_mode, old_oid, new_oid))
                i += 1
        # anything else: the empty token after the last entry
    if commit is not None:
        yield commit, when, entries


class Blobs:
    """``git cat-file --batch``: blob contents by id, one process for the whole history."""

    def __init__(self, root: Path, env: Mapping[str, str] | None = None):
        self.proc = subprocess.Popen([*GIT, "cat-file", "--batch"], cwd=root, env=_env(env), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def read(self, oid: str) -> bytes | None:
        """The blob's bytes; None when the repository does not have it."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(oid.encode("ascii") + b"\n")
        self.proc.stdin.flush()
        header = self.proc.stdout.readline().split()
        if len(header) != 3 or header[1] != b"blob":
            return None
        size = int(header[2])
        data = self.proc.stdout.read(size)
        self.proc.stdout.read(1)  # the LF after the contents
        return data

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        if self.proc.stdout:
            self.proc.stdout.close()
        self.proc.wait()


class _Skipped(str):
    """A blob that could not be read as a guide: the reason."""


Parse = Callable[[str, str], "Guide | None"]


class _Reader:
    """The walk over the log: which guide is where, each blob's tally computed once."""

    def __init__(self, blobs: Blobs, parse: Parse, in_scope: Callable[[str], bool], history: History):
        self.blobs, self.parse, self.in_scope, self.h = blobs, parse, in_scope, history
        self.cache: dict[str, Tally | None | _Skipped] = {}
        self.current: dict[str, Tally] = {}  # path -> the tally of its last readable version
        self.skipped_paths: set[str] = set()  # odd names, warned about once

    def tally_of(self, oid: str, path: str, commit: str) -> Tally | None | _Skipped:
        if oid in self.cache:
            return self.cache[oid]
        name = f"{commit[:12]}:{path}"
        raw = self.blobs.read(oid)
        self.h.blobs += 1
        result: Tally | None | _Skipped
        try:
            if raw is None:
                raise GuideError(f"{name}: the blob {oid[:12]} is missing from the repository")
            if len(raw) > MAX_BYTES:
                raise GuideError(f"{name}: {len(raw)} bytes is larger than the {MAX_BYTES} bytes a guide may have")
            text = decode(raw, name)
            self.h.parses += 1
            guide = self.parse(text, path)
            result = tally(guide) if guide is not None else None
        except GuideError as exc:
            result = _Skipped(str(exc))
        except Exception as exc:  # a parser failure on an old version must not stop the report
            result = _Skipped(f"{name}: cannot be read as a guide ({type(exc).__name__}: {exc})")
        if isinstance(result, _Skipped):
            self.h.warnings.append(f"{result}; that version is left out of the burn-up (the one before it counts)")
        self.cache[oid] = result
        return result

    def wanted(self, path: str) -> bool:
        if odd_name(Path(path)):
            if path not in self.skipped_paths:
                self.skipped_paths.add(path)
                self.h.warnings.append(f"{path!r}: the file name contains control characters; left out of the burn-up")
            return False
        return self.in_scope(path)

    def remove(self, path: str, changed: dict[str, Tally | None]) -> Tally | None:
        old = self.current.pop(path, None)
        if old is not None:
            changed[path] = None
        return old

    def put(self, path: str, mode: str, oid: str, commit: str, changed: dict[str, Tally | None],
            before: Tally | None) -> None:
        """``path`` now holds blob ``oid``; ``before``: what it (or the file it was renamed from) counted."""
        if mode not in FILE_MODES or not self.wanted(path):
            return
        t = self.tally_of(oid, path, commit)
        if isinstance(t, _Skipped):
            t = before  # an unreadable version: the one before it stands
        if t is not None:
            self.current[path] = t
            changed[path] = t

    def commit(self, sha: str, entries: list[Entry]) -> dict[str, Tally | None]:
        changed: dict[str, Tally | None] = {}
        for e in entries:
            if e.status == "R" and e.old is not None:
                before = self.remove(e.old, changed)
                self.put(e.path, e.new_mode, e.new_oid, sha, changed, before)
            elif e.status == "D":
                self.remove(e.path, changed)
            else:  # A, M, T, C (a copy leaves its source as it was)
                before = self.remove(e.path, changed)
                self.put(e.path, e.new_mode, e.new_oid, sha, changed, before)
        return changed


def read_history(root: Path, *, parse: Parse, in_scope: Callable[[str], bool], rev: str = "HEAD",
                 env: Mapping[str, str] | None = None) -> History:
    """The history of the guides under ``root`` up to ``rev``. ``parse(text, path)`` reads one
    version (None: not a guide); ``in_scope(path)`` says which files may be guides."""
    h = History()
    try:
        head = git(root, "log", "-1", "--format=%H %ct", rev, "--", env=env).decode().split()
    except HistoryError as exc:
        if "bad revision" in str(exc) or "does not have any commits" in str(exc):
            raise HistoryError(f"{rev}: no commit yet") from None
        raise
    if not head:
        return h
    h.head, h.head_time = head[0], int(head[1])
    h.shallow = git(root, "rev-parse", "--is-shallow-repository", env=env).strip() == b"true"
    out = git(root, "log", "--first-parent", "-m", "--reverse", "--raw", "-z", "--no-abbrev", "-M", "--relative",
              "--no-color", "--no-ext-diff", "--no-textconv", f"--format={MARK}%H %ct", rev, "--", ":(icase)*.md", env=env)
    blobs = Blobs(root, env)
    try:
        reader = _Reader(blobs, parse, in_scope, h)
        for sha, when, entries in parse_log(out):
            h.commits += 1
            changed = reader.commit(sha, entries)
            if changed:
                h.changes.append(Change(sha, when, changed))
    finally:
        blobs.close()
    if h.shallow and h.changes:
        h.warnings.append(f"the history is shallow (a shallow clone): the burn-up starts at {h.changes[0].commit[:12]}; "
                          "fetch the whole history (actions/checkout: fetch-depth: 0; GitLab: GIT_DEPTH: 0) for all of it")
    return h
