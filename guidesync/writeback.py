"""The one place that changes files: task-line edits, atomic replacement, the run lock.

:func:`apply_edits` is pure: it rewrites only the checkbox and the issue link of the lines it is
given, byte for byte leaving the rest (line endings, BOM, blanks, tabs, final newline) alone.
:func:`replace_file` writes atomically and refuses to overwrite a file that changed since it was read.
"""

from __future__ import annotations

from .errors import RunError

import errno
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from .model import IssueLink, plain_url
from .parse import ITEM_START, LINE_BREAK, LINK_AT_END


class WritebackError(Exception):
    """An edit that cannot be applied, or a file that cannot be written safely."""


class ConcurrentEdit(WritebackError):
    """The file changed on disk after it was read: somebody edited it while we ran."""

    def __init__(self, path: str | os.PathLike[str]):
        super().__init__(f"{path}: changed on disk while guidesync ran; not overwritten (run again)")
        self.path = str(path)


@dataclass(frozen=True)
class Edit:
    """Change one task line: its box (None: leave it) and/or its issue link (None: leave it)."""

    line: int
    checked: bool | None = None
    link: IssueLink | None = None
    append: bool = False  # the line ends with another repository's link: ours goes after it


def edit_line(line: str, edit: Edit) -> str:
    """Apply one edit to the text of one line (without its line ending)."""
    m = ITEM_START.match(line)
    if m is None:
        raise WritebackError(f"line {edit.line + 1} is not a list item: {line[:60]!r}")
    if edit.checked is not None:
        if m["box"] is not None:
            pos = m.start("box") + 1
            current = line[pos] != " "
            if current != edit.checked:
                line = line[:pos] + ("x" if edit.checked else " ") + line[pos + 1 :]
        else:
            pos = m.end("space")
            if pos == m.end("marker"):  # "-" alone at the end of the line
                line = line[:pos] + " "
                pos += 1
            line = line[:pos] + ("[x] " if edit.checked else "[ ] ") + line[pos:]
    if edit.link is not None:
        if not plain_url(edit.link.url):
            raise WritebackError(f"line {edit.line + 1}: refusing to write the issue link {edit.link.url[:200]!r} "
                                 "(not a plain URL: whitespace, parentheses or control characters)")
        new = edit.link.markdown()
        lm = None if edit.append else LINK_AT_END.search(line)
        if lm is not None:
            start = lm.start("lead") + len(lm["lead"])
            end = lm.start("trail")
            line = line[:start] + new + line[end:]
        else:
            body_end = len(line.rstrip(" \t"))
            backslashes = len(line[:body_end]) - len(line[:body_end].rstrip("\\"))
            if backslashes % 2:  # a hard break: the link goes before it, as before trailing blanks
                body_end = len(line[: body_end - 1].rstrip(" \t"))
            line = line[:body_end] + " " + new + line[body_end:]
    return line


def apply_edits(text: str, edits: Iterable[Edit]) -> str:
    """Return ``text`` with the edits applied; every other character is kept as it was."""
    by_line: dict[int, list[Edit]] = {}
    for e in edits:
        by_line.setdefault(e.line, []).append(e)
    if not by_line:
        return text
    out: list[str] = []
    pos = 0
    line_no = 0
    breaks = LINE_BREAK.finditer(text)
    while True:
        brk = next(breaks, None)
        end = brk.start() if brk else len(text)
        if line_no in by_line:
            line = text[pos:end]
            for e in by_line.pop(line_no):
                line = edit_line(line, e)
            out.append(line)
        else:
            out.append(text[pos:end])
        if brk is None:
            break
        out.append(brk.group())
        pos = brk.end()
        line_no += 1
    if by_line:
        raise WritebackError(f"line {min(by_line) + 1} is past the end of the file")
    return "".join(out)


def read_bytes(path: str | os.PathLike[str]) -> bytes | None:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        return None


def replace_file(path: str | os.PathLike[str], data: bytes, expected: bytes | None) -> bool:
    """Atomically make ``path`` hold ``data``, if it still holds ``expected`` (None: absent).

    Returns False when the file already holds ``data`` (nothing written). Raises
    :class:`ConcurrentEdit` when the file is neither ``expected`` nor ``data``."""
    target = Path(path)
    current = read_bytes(target)
    if current == data:
        return False
    if current != expected:
        raise ConcurrentEdit(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".guidesync-tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if current is not None:
            os.chmod(tmp, os.stat(target).st_mode & 0o7777)
        else:
            os.chmod(tmp, 0o644)
        # Last look before the rename: the window for a lost edit is this one system call.
        if read_bytes(target) != current:
            raise ConcurrentEdit(target)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return True


class LockHeld(RunError):
    def __init__(self, root: str):
        super().__init__(f"another guidesync sync is running on {root}; try again when it has finished")


class RunLock:
    """One writer per checkout: an advisory lock that the OS releases if the process dies.

    The lock file lives in the temporary directory, keyed by the checkout's real path, so it never
    shows up in the repository."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = str(Path(root).resolve())
        digest = hashlib.sha256(self.root.encode()).hexdigest()[:16]
        self.path = Path(tempfile.gettempdir()) / f"guidesync-{digest}.lock"
        self._fd: int | None = None

    def __enter__(self) -> "RunLock":
        import fcntl

        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise LockHeld(self.root) from None
            raise
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
