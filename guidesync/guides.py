"""Finding and reading guide files: discovery, decoding, refusing what is unsafe, then parsing.

Reading happens here; writing only in :mod:`guidesync.writeback`. Each loaded guide keeps the exact
bytes it was parsed from, so the write-back can tell if somebody changed the file meanwhile.
"""

from __future__ import annotations

from .errors import UsageError

import fnmatch
import gc
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from .core.escape import controls
from .core.model import Guide, Problem
from .core.parse import Hierarchy, Sections, parse_guide

MAX_BYTES = 8 * 1024 * 1024
SKIP_DIRS = {".git", ".hg", ".svn", "node_modules", ".venv", "venv", ".tox", "__pycache__", ".guidesync"}


class GuideError(UsageError):
    """A guide file that cannot be read: the message names the file (and line)."""


@dataclass(frozen=True)
class LoadedGuide:
    guide: Guide
    raw: bytes  # the bytes parsed
    text: str
    file: Path


@dataclass(frozen=True)
class Loaded:
    guides: tuple[LoadedGuide, ...]
    problems: tuple[Problem, ...]
    explicit: bool  # paths were given on the command line (a subset of the guides)


def decode(raw: bytes, name: str) -> str:
    if b"\0" in raw[:8192] or b"\0" in raw:
        raise GuideError(f"{name}: binary file (contains NUL bytes), not a guide")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = len(re.split(rb"\r\n|\r|\n", raw[: exc.start]))  # the parser's line breaks, CR included
        raise GuideError(f"{name}:{line}: not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})") from None


def relative(path: Path, root: Path) -> str:
    return path.resolve().relative_to(root).as_posix()


def _walk(directory: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(directory):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for f in sorted(filenames):
            if f.lower().endswith(".md"):
                yield Path(dirpath) / f


def discover(root: Path, patterns: Iterable[str], exclude: Iterable[str] = ()) -> list[Path]:
    """Markdown files under ``root`` matching the config's globs (``**`` spans folders)."""
    patterns, exclude = tuple(patterns), tuple(exclude)
    out = []
    for path in _walk(root):
        rel = path.relative_to(root).as_posix()
        if any(_match(rel, p) for p in patterns) and not any(_match(rel, p) for p in exclude):
            out.append(path)
    return out


def _match(rel: str, pattern: str) -> bool:
    if fnmatch.fnmatchcase(rel, pattern):
        return True
    # "**/" also matches no folder at all: "**/*.md" matches "a.md", "docs/**/*.md" "docs/a.md".
    i = pattern.find("**/")
    while i >= 0:
        if (i == 0 or pattern[i - 1] == "/") and _match(rel, pattern[:i] + pattern[i + 3 :]):
            return True
        i = pattern.find("**/", i + 1)
    return False


def in_scope(rel: str, patterns: Iterable[str], exclude: Iterable[str] = ()) -> bool:
    """Would discovery find the file at ``rel`` (a path relative to the root, with ``/``)? The same
    test as :func:`discover`, for paths that are not on disk (a guide in an old commit)."""
    parts = rel.split("/")
    if not parts[-1].lower().endswith(".md") or any(p in SKIP_DIRS for p in parts[:-1]):
        return False
    return any(_match(rel, p) for p in patterns) and not any(_match(rel, p) for p in exclude)


def expand(paths: Iterable[str], root: Path) -> list[Path]:
    """Command-line paths: files as given, folders walked for ``*.md``."""
    out: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            out.extend(_walk(path))
        elif path.exists() or path.is_symlink():
            out.append(path)
        else:
            raise GuideError(f"{p}: no such file or folder")
    return out


def odd_name(path: Path) -> bool:
    """A file name with control characters (a line break, an escape): never a guide. It would go into
    the issue markers, annotations and logs, where it could forge lines or commands."""
    name = path.as_posix()
    return controls(name, keep="") != name


def read_guide(path: Path, root: Path, sections: Sections, hierarchy: Hierarchy | None = None) -> LoadedGuide | None:
    """Read and parse one file. None when it follows neither template."""
    name = path.as_posix()
    if odd_name(path):
        raise GuideError(f"{name}: the file name contains control characters; refused")
    if path.is_symlink():
        raise GuideError(f"{name}: is a symbolic link; guidesync only edits regular files inside the repository")
    try:
        resolved = path.resolve()
        resolved.relative_to(root)
    except ValueError:
        raise GuideError(f"{name}: lies outside the repository ({root}); refused") from None
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise GuideError(f"{name}: {size} bytes is larger than the {MAX_BYTES} bytes a guide may have")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise GuideError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise GuideError(f"{name}: is a folder, not a guide") from None
    except OSError as exc:
        raise GuideError(f"{name}: cannot read ({exc.strerror})") from None
    text = decode(raw, name)
    rel = relative(path, root)
    guide = parse_guide(text, rel, sections, hierarchy)
    return None if guide is None else LoadedGuide(guide, raw, text, resolved)


def load(paths: Iterable[str] | None, root: Path, patterns: Iterable[str], exclude: Iterable[str], sections: Sections,
         known: Iterable[Path] = (), hierarchy: Hierarchy | None = None) -> Loaded:
    """Every guide in scope. Files that follow no template are skipped (a warning when named).
    ``known``: resolved files already loaded, not read again; ``hierarchy``: sub-issues are on."""
    root = root.resolve()
    paths = list(paths or ())
    explicit = bool(paths)
    files = expand(paths, root) if explicit else discover(root, patterns, exclude)
    guides: list[LoadedGuide] = []
    problems: list[Problem] = []
    seen: set[Path] = set(known)
    # Parsing makes no reference cycles (its garbage goes by reference counting), while the models
    # kept grow the heap that every full collection walks: collect once at the end instead.
    paused = gc.isenabled()
    gc.disable()
    try:
        _read_all(files, root, sections, explicit, guides, problems, seen, hierarchy)
    finally:
        if paused:
            gc.enable()
    return Loaded(tuple(guides), tuple(problems), explicit)


def _read_all(files: list[Path], root: Path, sections: Sections, explicit: bool,
              guides: list[LoadedGuide], problems: list[Problem], seen: set[Path], hierarchy: Hierarchy | None) -> None:
    for f in files:
        if not explicit and odd_name(f.relative_to(root)):
            problems.append(Problem(f.relative_to(root).as_posix(), None, "the file name contains control characters; skipped", "warning"))
            continue
        if not explicit and f.is_symlink():
            # Refused like a named one, but a link found by discovery (CLAUDE.md -> AGENTS.md, say)
            # must not stop every run: skipped with a warning.
            problems.append(Problem(f.relative_to(root).as_posix(), None, "is a symbolic link; guidesync only edits regular files; skipped", "warning"))
            continue
        key = f.resolve() if not f.is_symlink() else f.absolute()
        if key in seen:
            continue
        seen.add(key)
        lg = read_guide(f, root, sections, hierarchy)  # an unreadable guide stops the run: nothing is half-synced
        if lg is None:
            if explicit and not Path(f).is_dir():
                problems.append(Problem(f.as_posix(), None, "follows neither guide template (no 'Phase N:' or 'Implementation Guide:' title); skipped", "warning"))
            continue
        guides.append(lg)
        problems.extend(lg.guide.problems)
