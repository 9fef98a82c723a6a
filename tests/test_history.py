"""The history reader (guidesync/history.py) on real git repositories made here: what each commit
counts, renames, deleted guides, merges, versions that are no guide or cannot be read, and that
every blob is parsed once."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from guidesync.core.parse import parse_guide
from guidesync.core.progress import Tally, burnup
from guidesync.guides import in_scope
from guidesync.history import HistoryError, git, parse_log, read_history


def phase(n: int, boxes: str, extra: str = "") -> str:
    """A phase guide with one task per character of ``boxes`` (x: checked)."""
    tasks = "".join(f"- [{'x' if b == 'x' else ' '}] task {i} of phase {n}{extra}\n" for i, b in enumerate(boxes))
    return f"# Phase {n}: Part {n}\n\n## Overview\nWhat phase {n} is about.\n\n## Deliverables Checklist\n{tasks}"


class Repo:
    def __init__(self, root: Path):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.day = 0
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str) -> str:
        self.day += 1  # every git call a day later: commit times are distinct and in order
        ts = 1767225600 + self.day * 86400  # 2026-01-01 + day
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(self.root), "GIT_CONFIG_NOSYSTEM": "1",
               "GIT_CONFIG_GLOBAL": os.devnull, "GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.com",
               "GIT_COMMITTER_NAME": "T", "GIT_COMMITTER_EMAIL": "t@example.com",
               "GIT_AUTHOR_DATE": f"@{ts} +0000", "GIT_COMMITTER_DATE": f"@{ts} +0000"}
        done = subprocess.run(["git", *args], cwd=self.root, env=env, capture_output=True)
        assert done.returncode == 0, done.stderr.decode()
        return done.stdout.decode().strip()

    def write(self, path: str, text: str | bytes) -> None:
        f = self.root / path
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(text if isinstance(text, bytes) else text.encode())

    def commit(self, message: str, **files: str | bytes | None) -> str:
        for path, text in files.items():
            path = path.replace("__", "/")
            if text is None:
                self.git("rm", "-q", path)
            else:
                self.write(path, text)
                self.git("add", path)
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")


def history(root: Path, patterns=("**/*.md",), exclude=(), ceiling: Path | None = None):
    env = {"PATH": os.environ.get("PATH", ""), "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
    if ceiling is not None:
        env["GIT_CEILING_DIRECTORIES"] = str(ceiling)
    return read_history(root, parse=lambda text, path: parse_guide(text, path),
                        in_scope=lambda p: in_scope(p, patterns, exclude), env=env)


def series(h) -> list[tuple[int, int]]:
    return [(p.done, p.total) for p in burnup(h.changes)]


@pytest.fixture
def repo(tmp_path) -> Repo:
    return Repo(tmp_path / "r")


def test_one_point_per_commit_that_changed_a_guide(repo):
    c1 = repo.commit("a", **{"docs__a.md": phase(1, "  ")})
    repo.commit("readme", **{"README.md": "# Readme\n", "notes.txt": "x"})  # no guide changed: no point
    c3 = repo.commit("b", **{"docs__b.md": phase(2, "x  ")})
    c4 = repo.commit("check", **{"docs__a.md": phase(1, "x ")})
    h = history(repo.root)
    assert [c.commit for c in h.changes] == [c1, c3, c4]
    assert series(h) == [(0, 2), (1, 5), (2, 5)]
    assert h.changes[2].guides == {"docs/a.md": Tally(1, 2)}  # only what the commit changed
    assert [c.time for c in h.changes] == sorted(c.time for c in h.changes)
    assert h.head == c4 and h.commits == 4 and h.warnings == [] and not h.shallow
    # README.md is read once (it is no guide); every guide version once
    assert (h.blobs, h.parses) == (4, 4)


def test_a_renamed_guide_keeps_its_history_and_is_not_parsed_again(repo):
    text = phase(1, "x   ")
    repo.commit("a", **{"old.md": text})
    (repo.root / "docs").mkdir()
    repo.git("mv", "old.md", "docs/new.md")
    mv = repo.commit("move")
    # a rename with an edit: still paired by git (-M) and counted once
    repo.git("mv", "docs/new.md", "docs/newer.md")
    repo.write("docs/newer.md", phase(1, "xx  "))
    repo.git("add", "docs/newer.md")
    repo.commit("move and check")
    h = history(repo.root)
    assert h.changes[1].commit == mv
    assert h.changes[1].guides == {"old.md": None, "docs/new.md": Tally(1, 4)}
    assert h.changes[2].guides == {"docs/new.md": None, "docs/newer.md": Tally(2, 4)}
    assert series(h) == [(1, 4), (1, 4), (2, 4)]
    assert [p.guides for p in burnup(h.changes)] == [1, 1, 1]  # never counted twice
    assert h.parses == 2  # the moved blob was parsed when it was added, not again


def test_a_rename_is_paired_by_git(repo):
    repo.commit("a", **{"a.md": phase(1, "x   ")})
    repo.git("mv", "a.md", "b.md")
    repo.commit("mv")
    out = git(repo.root, "log", "-1", "--raw", "-z", "--no-abbrev", "-M", "--format=\x01%H %ct", "--", "*.md")
    (_, _, entries), = parse_log(out)
    assert [(e.status, e.old, e.path) for e in entries] == [("R", "a.md", "b.md")]


def test_a_deleted_guide_leaves_the_totals(repo):
    repo.commit("a", **{"a.md": phase(1, "xx"), "b.md": phase(2, "x  ")})
    gone = repo.commit("delete b", **{"b.md": None})
    repo.commit("a again", **{"a.md": phase(1, "xxx")})
    h = history(repo.root)
    assert h.changes[1].commit == gone and h.changes[1].guides == {"b.md": None}
    assert series(h) == [(3, 5), (2, 2), (3, 3)]
    assert [p.guides for p in burnup(h.changes)] == [2, 1, 1]


def test_a_merge_is_one_point_with_what_the_branch_did(repo):
    repo.commit("a", **{"a.md": phase(1, "    "), "b.md": phase(2, "  ")})
    repo.git("checkout", "-q", "-b", "side")
    side1 = repo.commit("side 1", **{"a.md": phase(1, "x   ")})
    side2 = repo.commit("side 2", **{"a.md": phase(1, "xx  ")})
    repo.git("checkout", "-q", "main")
    main1 = repo.commit("main", **{"b.md": phase(2, "x ")})
    repo.git("merge", "-q", "--no-ff", "side", "-m", "merge side")
    merge = repo.git("rev-parse", "HEAD")
    h = history(repo.root)
    commits = [c.commit for c in h.changes]
    assert side1 not in commits and side2 not in commits  # never the branch's state
    assert commits[1:] == [main1, merge]
    assert h.changes[2].guides == {"a.md": Tally(2, 4)}  # against its first parent
    assert series(h) == [(0, 6), (1, 6), (3, 6)]


def test_a_merge_into_an_unchanged_main_is_still_a_point(repo):
    """The merge's guides equal its second parent's: git's history simplification must not drop it."""
    repo.commit("a", **{"a.md": phase(1, "   ")})
    repo.git("checkout", "-q", "-b", "side")
    repo.commit("side", **{"a.md": phase(1, "xx ")})
    repo.git("checkout", "-q", "main")
    repo.commit("elsewhere", **{"src.txt": "code"})
    repo.git("merge", "-q", "--no-ff", "side", "-m", "merge")
    merge = repo.git("rev-parse", "HEAD")
    h = history(repo.root)
    assert [c.commit for c in h.changes][-1] == merge
    assert series(h) == [(0, 3), (2, 3)]


def test_a_fast_forward_merge_brings_the_branch_commits(repo):
    repo.commit("a", **{"a.md": phase(1, "   ")})
    repo.git("checkout", "-q", "-b", "side")
    s1 = repo.commit("s1", **{"a.md": phase(1, "x  ")})
    s2 = repo.commit("s2", **{"a.md": phase(1, "xx ")})
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--ff-only", "side")
    assert [c.commit for c in history(repo.root).changes][1:] == [s1, s2]


def test_a_commit_with_an_unparsable_guide_is_left_out_with_a_warning(repo):
    repo.commit("a", **{"a.md": phase(1, "x  "), "b.md": phase(2, "  ")})
    broken = phase(1, "xxx").encode().replace(b"task 1", b"task \xff1")
    bad = repo.commit("break a, check b", **{"a.md": broken, "b.md": phase(2, "x ")})
    repo.commit("fix a", **{"a.md": phase(1, "xxx")})
    h = history(repo.root)
    # a.md's version before it keeps counting at that commit; b.md's change counts
    assert series(h) == [(1, 5), (2, 5), (4, 5)]
    assert len(h.warnings) == 1
    line = next(i for i, ln in enumerate(broken.split(b"\n")) if b"\xff" in ln) + 1
    assert h.warnings[0].startswith(f"{bad[:12]}:a.md:{line}: not valid UTF-8 (byte 0xff")
    assert "left out of the burn-up" in h.warnings[0]


def test_a_binary_first_version_is_not_a_guide_until_it_is_one(repo):
    repo.commit("binary", **{"a.md": b"\x00\x01 not text"})
    repo.commit("text", **{"a.md": phase(1, "x ")})
    h = history(repo.root)
    assert series(h) == [(1, 2)]
    assert "binary file" in h.warnings[0]


def test_a_file_that_stops_following_a_template_leaves_the_totals(repo):
    repo.commit("a", **{"a.md": phase(1, "x "), "b.md": phase(2, " ")})
    repo.commit("not a guide any more", **{"b.md": "# Notes\n\n- [ ] a list, but no guide\n"})
    h = history(repo.root)
    assert h.changes[1].guides == {"b.md": None}
    assert series(h) == [(1, 3), (1, 2)]


def test_files_out_of_scope_are_not_read(repo):
    repo.commit("a", **{"docs__a.md": phase(1, "x "), "drafts__b.md": phase(2, "  "),
                        "node_modules__pkg__c.md": phase(3, " "), "docs__d.txt": phase(4, " ")})
    h = history(repo.root, patterns=("**/*.md",), exclude=("drafts/**",))
    assert series(h) == [(1, 2)]
    assert h.blobs == 1


def test_a_symbolic_link_is_never_a_guide(repo):
    repo.write("a.md", phase(1, "x "))
    os.symlink("a.md", repo.root / "link.md")
    repo.git("add", "a.md", "link.md")
    repo.commit("with a link")
    assert series(history(repo.root)) == [(1, 2)]


def test_each_blob_is_parsed_once_and_cost_follows_changed_blobs(repo):
    """20 guides and 60 commits each changing one of them: 80 parses, not 60 x 20."""
    repo.commit("start", **{f"g{i}.md": phase(i, "    ") for i in range(20)})
    for n in range(60):
        i = n % 20
        boxes = "x" * (1 + n // 20) + " " * (3 - n // 20)
        repo.commit(f"step {n}", **{f"g{i}.md": phase(i, boxes)})
    # going back to a version seen before costs no parse (same blob id)
    repo.commit("revert", **{"g0.md": phase(0, "    ")})
    h = history(repo.root)
    assert len(h.changes) == 62
    assert h.parses == h.blobs == 20 + 60
    assert series(h)[-2:] == [(60, 80), (57, 80)]


def test_odd_file_names_are_left_out_with_a_warning(repo):
    repo.write("ok é.md", phase(1, "x"))
    repo.write("bad\nname.md", phase(2, " "))
    repo.git("add", "-A")
    repo.commit("names")
    h = history(repo.root)
    assert h.changes[0].guides == {"ok é.md": Tally(1, 1)}
    assert h.warnings == ["'bad\\nname.md': the file name contains control characters; left out of the burn-up"]


def test_paths_are_relative_to_the_folder_read(repo):
    repo.commit("a", **{"sub__docs__a.md": phase(1, "x "), "other__b.md": phase(2, " ")})
    h = history(repo.root / "sub")
    assert list(h.changes[0].guides) == ["docs/a.md"]
    assert series(h) == [(1, 2)]


def test_a_shallow_clone_says_where_its_history_starts(repo, tmp_path):
    repo.commit("a", **{"a.md": phase(1, "  ")})
    repo.commit("b", **{"a.md": phase(1, "x ")})
    last = repo.commit("c", **{"a.md": phase(1, "xx")})
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--depth", "1", repo.root.as_uri(), str(clone)], check=True,
                   capture_output=True, env={"PATH": os.environ.get("PATH", ""), "GIT_CONFIG_NOSYSTEM": "1",
                                             "GIT_CONFIG_GLOBAL": os.devnull, "HOME": str(tmp_path)})
    h = history(clone)
    assert h.shallow and series(h) == [(2, 2)]
    assert h.warnings == [f"the history is shallow (a shallow clone): the burn-up starts at {last[:12]}; fetch the whole "
                          "history (actions/checkout: fetch-depth: 0; GitLab: GIT_DEPTH: 0) for all of it"]


def test_no_repository_or_no_commit_is_a_history_error(tmp_path):
    with pytest.raises(HistoryError, match="not a git repository"):
        history(tmp_path, ceiling=tmp_path.parent)
    Repo(tmp_path / "empty")
    with pytest.raises(HistoryError, match="HEAD: no commit yet"):
        history(tmp_path / "empty", ceiling=tmp_path)
