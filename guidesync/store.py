"""The base file on disk: where it lives, reading it, and every write to it.

Each write is a compare-and-swap through :func:`guidesync.writeback.replace_file`: the file is
replaced only if it still holds what this store read or last wrote, so a base somebody changed
meanwhile is never overwritten. A run writes it twice at most: the journal before the guides
(when it created issues), then the base after them.
"""

from __future__ import annotations

from pathlib import Path

from .config import Config, ConfigError, check_state_file
from .core.base import Base, BaseFileError, dumps, loads
from .core.edit import WritebackError
from .writeback import read_bytes, replace_file


def base_path(cfg: Config, root: Path) -> Path:
    """Where the base lives: a regular file inside the repository, reached through no symbolic link
    (a committed ``.guidesync`` link would have guidesync write outside the checkout)."""
    where = cfg.path or "config"
    check_state_file(cfg.state_file, where)
    root = root.resolve()
    path = root
    for part in Path(cfg.state_file).parts:
        path = path / part
        if path.is_symlink():
            raise ConfigError(f"{where}: key 'state_file' ({cfg.state_file}): {path.relative_to(root).as_posix()} is a "
                              "symbolic link; guidesync keeps its state only in a regular file inside the repository")
    try:
        path.resolve().relative_to(root)
    except ValueError:
        raise ConfigError(f"{where}: key 'state_file' ({cfg.state_file}) lies outside the repository; refused") from None
    if path.exists() and not path.is_file():
        raise ConfigError(f"{where}: key 'state_file' ({cfg.state_file}) is not a regular file")
    return path


class BaseStore:
    """One base file. ``base``: the base as read; ``on_disk``: the bytes the file holds as far as
    this store knows (None: no file), the ``expected`` of the next compare-and-swap."""

    def __init__(self, path: Path, where: str = "state file"):
        self.path = path
        self.where = where  # the file's name in messages (the configured ``state_file``)
        self.read: bytes | None = None  # the bytes read
        self.on_disk: bytes | None = None
        self.base = Base()

    @classmethod
    def open(cls, cfg: Config, root: Path) -> BaseStore:
        """The configured base file, read (absent: an empty base); refused if it names another repository."""
        store = cls(base_path(cfg, root), cfg.state_file)
        store.load(cfg.repository)
        return store

    def load(self, repository: str | None = None) -> Base:
        raw = read_bytes(self.path)
        base = Base()
        if raw is not None:
            try:
                base = loads(raw.decode("utf-8"), self.where)
            except UnicodeDecodeError:
                raise BaseFileError(f"{self.where}: not valid UTF-8") from None
            if base.repository and repository and base.repository.lower() != repository.lower():
                raise BaseFileError(f"{self.where}: belongs to {base.repository}, but the configured repository is {repository}")
        self.read = self.on_disk = raw
        self.base = base
        return base

    def save(self, base: Base) -> str | None:
        """Write ``base`` atomically, if the file still holds :attr:`on_disk`. Returns None, or
        why it was not written (the file is then left as it was)."""
        data = dumps(base).encode("utf-8")
        try:
            replace_file(self.path, data, self.on_disk)
        except (WritebackError, OSError) as exc:
            return f"{self.path}: not written: {exc}"
        self.on_disk = data
        return None

    @property
    def changed(self) -> bool:
        """The file holds other bytes than when it was read."""
        return self.on_disk != self.read
