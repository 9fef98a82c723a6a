"""guidesync.store: the base file read once, written by compare-and-swap."""

from __future__ import annotations

import os

import pytest

from guidesync.config import Config, ConfigError
from guidesync.core.base import Record, Base, BaseFileError, dumps
from guidesync.store import BaseStore, base_path

BASE = Base(tracker="github", repository="o/r", since="2024-05-01T10:00:00Z",
             records={3: Record("g.md", "k", False, "open", "h", None)})


def test_an_absent_file_is_an_empty_base(tmp_path):
    store = BaseStore.open(Config(repository="o/r"), tmp_path)
    assert store.path == tmp_path.resolve() / ".guidesync" / "state.json"
    assert store.base == Base() and store.read is None and store.on_disk is None and not store.changed


def test_save_writes_the_file_and_the_next_save_expects_it(tmp_path):
    store = BaseStore.open(Config(), tmp_path)
    assert store.save(BASE) is None
    assert store.path.read_text() == dumps(BASE) and store.changed
    later = Base(tracker="github", repository="o/r")
    assert store.save(later) is None  # compared with what it wrote, not with what it read
    assert store.path.read_text() == dumps(later)
    again = BaseStore.open(Config(repository="O/R"), tmp_path)  # the repository compared whatever the case
    assert again.base == later and not again.changed
    assert again.save(later) is None and not again.changed  # the same bytes: nothing written, nothing changed


def test_a_base_changed_meanwhile_is_not_overwritten(tmp_path):
    store = BaseStore(tmp_path / "state.json", "state.json")
    store.path.write_text(dumps(BASE))
    store.load()
    store.path.write_text("somebody else's\n")
    error = store.save(Base())
    assert error is not None and error.startswith(f"{store.path}: not written: ") and "changed on disk" in error
    assert store.path.read_text() == "somebody else's\n"
    assert store.on_disk == dumps(BASE).encode() and not store.changed  # still what it knows to be there


def test_an_unwritable_place_is_an_error_not_an_exception(tmp_path):
    (tmp_path / "dir").write_text("a file where the folder should be")
    store = BaseStore(tmp_path / "dir" / "state.json")
    assert "not written" in (store.save(BASE) or "")


def test_a_base_of_another_repository_or_not_utf8_is_refused(tmp_path):
    path = tmp_path / ".guidesync" / "state.json"
    path.parent.mkdir()
    path.write_text(dumps(BASE))
    with pytest.raises(BaseFileError, match="belongs to o/r, but the configured repository is o/other"):
        BaseStore.open(Config(repository="o/other"), tmp_path)
    assert BaseStore.open(Config(), tmp_path).base == BASE  # no repository configured: nothing to compare
    path.write_bytes(b"\xff\xfe{}")
    with pytest.raises(BaseFileError, match=r"\.guidesync/state\.json: not valid UTF-8"):
        BaseStore.open(Config(), tmp_path)


def test_the_base_is_never_reached_through_a_symbolic_link(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    repo = tmp_path / "repo"
    repo.mkdir()
    os.symlink(outside, repo / ".guidesync")
    with pytest.raises(ConfigError, match="symbolic link"):
        base_path(Config(), repo)
    with pytest.raises(ConfigError, match="inside the repository"):
        base_path(Config(state_file="../state.json"), repo)
