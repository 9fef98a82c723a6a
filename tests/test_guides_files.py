"""Finding and reading guide files: decoding, refusals, discovery."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from guidesync.guides import MAX_BYTES, GuideError, decode, discover, expand, load, read_guide
from guidesync.core.parse import DEFAULT_SECTIONS, Sections
from tests.guide_samples import FULL_IMPLEMENTATION, FULL_PHASE, phase

PHASE = phase("- [ ] a\n- [x] b\n")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = tmp_path / "repo"
    r.mkdir()
    return r.resolve()


def write(root: Path, rel: str, data: str | bytes) -> Path:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return p


def rels(paths, root: Path) -> list[str]:
    return [p.relative_to(root).as_posix() for p in paths]


# -- reading one file ----------------------------------------------------------------------------


def test_read_guide_keeps_the_exact_bytes(root):
    data = ("\ufeff" + PHASE).replace("\n", "\r\n").encode("utf-8")
    p = write(root, "docs/g.md", data)
    lg = read_guide(p, root, DEFAULT_SECTIONS)
    assert lg is not None
    assert lg.raw == data
    assert lg.text == data.decode("utf-8") and lg.text.startswith("\ufeff")  # the BOM is kept for the write-back
    assert lg.file == p
    assert lg.guide.path == "docs/g.md"
    assert [t.text for t in lg.guide.tasks] == ["a", "b"]


def test_read_guide_relative_path(root, monkeypatch):
    write(root, "docs/g.md", PHASE)
    monkeypatch.chdir(root)
    lg = read_guide(Path("docs/g.md"), root, DEFAULT_SECTIONS)
    assert lg.guide.path == "docs/g.md" and lg.file == root / "docs" / "g.md"


def test_non_template_file_gives_none(root):
    p = write(root, "README.md", "# Readme\n\n- [ ] not a guide\n")
    assert read_guide(p, root, DEFAULT_SECTIONS) is None


@pytest.mark.parametrize(
    "data, line",
    [
        (b"# Phase 1: A\n\n\xff bad\n", 3),
        (b"\xc3", 1),
        (b"# Phase 1: A\r\n\r\nok\r\n\xe2\x82 truncated\r\n", 4),
        (b"# Phase 1: A\rcr\rcr only\r\x80", 4),  # old Mac endings: lines counted like the parser counts them
        (b"a\r\n\r\xed\xa0\x80 surrogate", 3),
    ],
)
def test_invalid_utf8_names_file_and_line(root, data, line):
    p = write(root, "docs/bad.md", data)
    with pytest.raises(GuideError) as info:
        read_guide(p, root, DEFAULT_SECTIONS)
    msg = str(info.value)
    assert msg.startswith(f"{p.as_posix()}:{line}: not valid UTF-8"), msg
    assert "offset" in msg


def test_decode_messages():
    with pytest.raises(GuideError, match=r"^x\.md:2: not valid UTF-8 \(byte 0xff at offset 2\)"):
        decode(b"a\n\xff", "x.md")
    assert decode("\ufeffé".encode("utf-8"), "x.md") == "\ufeffé"


@pytest.mark.parametrize("data", [b"# Phase 1: A\n\x00\n", b"\x89PNG\r\n\x1a\n\x00\x00", b"x" * 10000 + b"\x00"])
def test_binary_file_is_refused(root, data):
    p = write(root, "img.md", data)
    with pytest.raises(GuideError, match=r"img\.md: binary file"):
        read_guide(p, root, DEFAULT_SECTIONS)


def test_missing_file(root):
    with pytest.raises(GuideError, match=r"gone\.md: no such file"):
        read_guide(root / "gone.md", root, DEFAULT_SECTIONS)


def test_folder_is_refused(root):
    (root / "dir.md").mkdir()
    with pytest.raises(GuideError, match="is a folder"):
        read_guide(root / "dir.md", root, DEFAULT_SECTIONS)


def test_too_large_file_is_refused(root):
    p = write(root, "big.md", b"")
    with open(p, "wb") as fh:
        fh.truncate(MAX_BYTES + 1)
    with pytest.raises(GuideError, match="larger than"):
        read_guide(p, root, DEFAULT_SECTIONS)


def test_symlinked_guide_is_refused(root):
    target = write(root, "real.md", PHASE)
    link = root / "link.md"
    link.symlink_to(target)
    with pytest.raises(GuideError, match=r"link\.md: is a symbolic link"):
        read_guide(link, root, DEFAULT_SECTIONS)
    dangling = root / "dangling.md"
    dangling.symlink_to(root / "nowhere.md")
    with pytest.raises(GuideError, match="symbolic link"):
        read_guide(dangling, root, DEFAULT_SECTIONS)


def test_file_outside_the_root_is_refused(root, tmp_path):
    outside = write(tmp_path, "outside.md", PHASE)
    with pytest.raises(GuideError, match="lies outside the repository"):
        read_guide(outside, root, DEFAULT_SECTIONS)
    with pytest.raises(GuideError, match="lies outside the repository"):
        read_guide(root / ".." / "outside.md", root, DEFAULT_SECTIONS)


def test_file_reached_through_a_symlinked_folder_outside_is_refused(root, tmp_path):
    write(tmp_path, "elsewhere/g.md", PHASE)
    (root / "docs").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(GuideError, match="outside the repository"):
        read_guide(root / "docs" / "g.md", root, DEFAULT_SECTIONS)


def test_sections_are_passed_to_the_parser(root):
    p = write(root, "g.md", "# Phase 1: A\n\n## Tasks\n\n- [ ] t\n")
    assert read_guide(p, root, DEFAULT_SECTIONS).guide.tasks == ()
    assert [t.text for t in read_guide(p, root, Sections(phase_tasks=("Tasks",))).guide.tasks] == ["t"]


# -- discovery -----------------------------------------------------------------------------------


@pytest.fixture
def tree(root):
    for rel in (
        "a.md",
        "docs/b.md",
        "docs/deep/c.md",
        "docs/drafts/d.md",
        "guides/phase-1.md",
        "guides/notes.txt",
        "guides/UPPER.MD",
        "node_modules/pkg/readme.md",
        ".git/x.md",
        ".venv/lib/y.md",
    ):
        write(root, rel, PHASE)
    return root


def test_discover_everything(tree):
    # Skipped folders (.git, node_modules, .venv) are never entered; patterns are case-sensitive.
    assert rels(discover(tree, ["**/*.md"]), tree) == ["a.md", "docs/b.md", "docs/deep/c.md", "docs/drafts/d.md", "guides/phase-1.md"]
    assert rels(discover(tree, ["**/*.md", "**/*.MD"]), tree) == [
        "a.md",
        "docs/b.md",
        "docs/deep/c.md",
        "docs/drafts/d.md",
        "guides/UPPER.MD",
        "guides/phase-1.md",
    ]


def test_discover_under_a_folder(tree):
    assert rels(discover(tree, ["docs/**/*.md"]), tree) == ["docs/b.md", "docs/deep/c.md", "docs/drafts/d.md"]
    assert rels(discover(tree, ["guides/*.md"]), tree) == ["guides/phase-1.md"]
    assert rels(discover(tree, ["docs/**/c.md", "a.md"]), tree) == ["a.md", "docs/deep/c.md"]


def test_discover_with_exclude(tree):
    everything = ["**/*.md", "**/*.MD"]
    assert rels(discover(tree, everything, ["docs/drafts/**", "**/UPPER.MD"]), tree) == ["a.md", "docs/b.md", "docs/deep/c.md", "guides/phase-1.md"]
    assert rels(discover(tree, everything, ["docs/**"]), tree) == ["a.md", "guides/UPPER.MD", "guides/phase-1.md"]
    assert rels(discover(tree, ["docs/**/*.md"], ["**/drafts/*.md"]), tree) == ["docs/b.md", "docs/deep/c.md"]


def test_discover_nothing(tree):
    assert discover(tree, ["nope/**/*.md"]) == []
    assert discover(tree, []) == []


def test_expand_paths(tree, monkeypatch):
    monkeypatch.chdir(tree)
    assert [p.as_posix() for p in expand(["docs", "a.md"], tree)] == ["docs/b.md", "docs/deep/c.md", "docs/drafts/d.md", "a.md"]
    with pytest.raises(GuideError, match="missing.md: no such file or folder"):
        expand(["missing.md"], tree)


def test_load_skips_files_that_are_not_guides(root):
    write(root, "README.md", "# Readme\n\nNot a guide.\n")
    write(root, "docs/CHANGELOG.md", "## 1.0\n\n- [ ] looks like a task\n")
    write(root, "docs/phase.md", FULL_PHASE)
    write(root, "docs/impl.md", FULL_IMPLEMENTATION)
    loaded = load(None, root, ["**/*.md"], [], DEFAULT_SECTIONS)
    assert not loaded.explicit
    assert [lg.guide.path for lg in loaded.guides] == ["docs/impl.md", "docs/phase.md"]
    assert loaded.problems == ()


def test_load_warns_about_a_named_file_that_is_not_a_guide(root, monkeypatch):
    monkeypatch.chdir(root)
    write(root, "README.md", "# Readme\n")
    write(root, "g.md", PHASE)
    loaded = load(["README.md", "g.md"], root, ["**/*.md"], [], DEFAULT_SECTIONS)
    assert loaded.explicit
    assert [lg.guide.path for lg in loaded.guides] == ["g.md"]
    (w,) = loaded.problems
    assert w.severity == "warning" and w.path == "README.md" and "neither guide template" in w.message


def test_load_collects_guide_problems(root):
    write(root, "g.md", phase("- [ ] a\n-\n"))
    loaded = load(None, root, ["**/*.md"], [], DEFAULT_SECTIONS)
    (w,) = loaded.problems
    assert (w.path, w.line, w.severity) == ("g.md", 5, "warning")


def test_load_stops_at_an_unreadable_guide(root):
    write(root, "a.md", PHASE)
    write(root, "b.md", b"# Phase 2: B\n\xfe\n")
    with pytest.raises(GuideError, match=r"b\.md:2: not valid UTF-8"):
        load(None, root, ["**/*.md"], [], DEFAULT_SECTIONS)


def test_load_refuses_a_named_symlink(root, monkeypatch):
    monkeypatch.chdir(root)
    write(root, "real.md", PHASE)
    (root / "link.md").symlink_to(root / "real.md")
    with pytest.raises(GuideError, match="symbolic link"):
        load(["link.md"], root, ["**/*.md"], [], DEFAULT_SECTIONS)


def test_load_skips_a_discovered_symlink_with_a_warning(root):
    """A symlinked Markdown file in the repository (CLAUDE.md -> AGENTS.md) must not stop every run."""
    write(root, "AGENTS.md", "# Agents\n")
    (root / "CLAUDE.md").symlink_to("AGENTS.md")
    write(root, "docs/g.md", PHASE)
    (root / "docs" / "g-link.md").symlink_to("g.md")
    loaded = load(None, root, ["**/*.md"], [], DEFAULT_SECTIONS)
    assert [lg.guide.path for lg in loaded.guides] == ["docs/g.md"]
    assert sorted((p.path, p.severity) for p in loaded.problems) == [("CLAUDE.md", "warning"), ("docs/g-link.md", "warning")]
    assert all("symbolic link" in p.message for p in loaded.problems)


def test_load_refuses_a_named_file_outside_the_root(root, tmp_path, monkeypatch):
    outside = write(tmp_path, "outside.md", PHASE)
    monkeypatch.chdir(root)
    with pytest.raises(GuideError, match="outside the repository"):
        load([str(outside)], root, ["**/*.md"], [], DEFAULT_SECTIONS)
    with pytest.raises(GuideError, match="outside the repository"):
        load([os.path.relpath(outside, root)], root, ["**/*.md"], [], DEFAULT_SECTIONS)


def test_load_reads_each_file_once(root, monkeypatch):
    monkeypatch.chdir(root)
    write(root, "docs/g.md", PHASE)
    loaded = load(["docs", "docs/g.md", "./docs/g.md"], root, ["**/*.md"], [], DEFAULT_SECTIONS)
    assert [lg.guide.path for lg in loaded.guides] == ["docs/g.md"]
