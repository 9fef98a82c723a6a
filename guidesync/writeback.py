"""The one place that changes files: task-line edits, atomic replacement, the run lock.

The edits themselves are pure (:mod:`guidesync.core.edit`); this module puts them on disk.
:func:`replace_file` writes atomically and refuses to overwrite a file that changed since it was read.
"""

from __future__ import annotations

from .errors import RunError

import errno
import hashlib
import os
import tempfile
from pathlib import Path

from .core.edit import WritebackError


class ConcurrentEdit(WritebackError):
    """The file changed on disk after it was read: somebody edited it while we ran."""

    def __init__(self, path: str | os.PathLike[str]):
        super().__init__(f"{path}: changed on disk while guidesync ran; not overwritten (run again)")
        self.path = str(path)


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
