"""Write-back: only the box and the link of the edited lines change; files are replaced atomically."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from guidesync import writeback
from guidesync.core.model import IssueLink
from guidesync.core.parse import parse_guide
from guidesync.core.edit import Edit, WritebackError, apply_edits, edit_line
from guidesync.writeback import ConcurrentEdit, LockHeld, RunLock, replace_file
from tests.guide_samples import FULL_IMPLEMENTATION, FULL_PHASE, URL, link

L12 = IssueLink(12, URL.format(12))
L7 = IssueLink(7, URL.format(7))

# -- edit_line -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line, edit, expected",
    [
        # the box
        ("- [ ] a", Edit(0, checked=True), "- [x] a"),
        ("- [x] a", Edit(0, checked=False), "- [ ] a"),
        ("- [X] a", Edit(0, checked=False), "- [ ] a"),
        ("- [X] a", Edit(0, checked=True), "- [X] a"),  # already checked: the capital stays
        ("- [ ] a", Edit(0, checked=False), "- [ ] a"),
        ("* [ ] a", Edit(0, checked=True), "* [x] a"),
        ("+ [ ] a", Edit(0, checked=True), "+ [x] a"),
        ("1. [ ] a", Edit(0, checked=True), "1. [x] a"),
        ("12) [x] a", Edit(0, checked=False), "12) [ ] a"),
        ("   - [ ] indented", Edit(0, checked=True), "   - [x] indented"),
        ("-   [ ] wide", Edit(0, checked=True), "-   [x] wide"),
        ("- [ ]\ttab", Edit(0, checked=True), "- [x]\ttab"),
        ("-\t[ ] tab", Edit(0, checked=True), "-\t[x] tab"),
        ("\t- [ ] tab indent", Edit(0, checked=True), "\t- [x] tab indent"),
        # a plain bullet gets a box
        ("- plain", Edit(0, checked=True), "- [x] plain"),
        ("- plain", Edit(0, checked=False), "- [ ] plain"),
        ("1. plain", Edit(0, checked=True), "1. [x] plain"),
        ("-\tplain", Edit(0, checked=False), "-\t[ ] plain"),
        ("-  two spaces", Edit(0, checked=True), "-  [x] two spaces"),
        ("- [ ]", Edit(0, checked=True), "- [x] [ ]"),  # "[ ]" with nothing after it is text, not a box
        ("- [x]done", Edit(0, checked=False), "- [ ] [x]done"),
        ("-", Edit(0, checked=True), "- [x] "),
        # the link
        ("- [ ] a", Edit(0, link=L12), f"- [ ] a {link(12)}"),
        ("- [ ] a  ", Edit(0, link=L12), f"- [ ] a {link(12)}  "),  # hard break kept after the link
        ("- [ ] a\t", Edit(0, link=L12), f"- [ ] a {link(12)}\t"),
        (f"- [ ] a {link(7)}", Edit(0, link=L12), f"- [ ] a {link(12)}"),
        (f"- [ ] a\t{link(7)}  ", Edit(0, link=L12), f"- [ ] a\t{link(12)}  "),
        (f"- [ ] a {link(12)}", Edit(0, link=L12), f"- [ ] a {link(12)}"),
        ("- [ ] a ([#3](x)) b", Edit(0, link=L12), f"- [ ] a ([#3](x)) b {link(12)}"),
        # both
        ("- plain  ", Edit(0, checked=True, link=L12), f"- [x] plain {link(12)}  "),
        (f"1) [x] a {link(7)}", Edit(0, checked=False, link=L12), f"1) [ ] a {link(12)}"),
        # nothing
        ("- [ ] a  ", Edit(0), "- [ ] a  "),
        ("- ü 🚀 `x` [l](u)", Edit(0, checked=True), "- [x] ü 🚀 `x` [l](u)"),
    ],
)
def test_edit_line(line, edit, expected):
    assert edit_line(line, edit) == expected


@pytest.mark.parametrize("line", ["", "text", "# heading", "    ", "-no space", "1.no space", "1234567890. too long", "> - [ ] quoted", "**Goal**: x"])
def test_edit_line_refuses_non_items(line):
    with pytest.raises(WritebackError, match="line 8 is not a list item"):
        edit_line(line, Edit(7, checked=True))


# -- apply_edits ---------------------------------------------------------------------------------

DOC = "# Phase 1: A\n\n## Deliverables Checklist\n\n- [ ] one\n- [x] two  \n- three\n\nafter\n"


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"])
def test_apply_edits_each_kind_keeps_line_endings(eol):
    text = DOC.replace("\n", eol)
    out = apply_edits(text, [Edit(4, checked=True), Edit(5, checked=False, link=L12), Edit(6, link=L7)])
    expected = DOC.replace("- [ ] one", "- [x] one").replace("- [x] two  ", f"- [ ] two {link(12)}  ").replace("- three", f"- three {link(7)}")
    assert out == expected.replace("\n", eol)


def test_apply_edits_mixed_endings_bom_and_no_final_newline():
    text = "\ufeff# Phase 1: A\r\n\r\n## Deliverables Checklist\n\r- [ ] crlf\r\n- [ ] cr\r- [ ] lf\n- [ ] last"
    out = apply_edits(text, [Edit(4, checked=True), Edit(5, checked=True), Edit(6, checked=True), Edit(7, checked=True, link=L12)])
    assert out == f"\ufeff# Phase 1: A\r\n\r\n## Deliverables Checklist\n\r- [x] crlf\r\n- [x] cr\r- [x] lf\n- [x] last {link(12)}"


def test_apply_edits_last_line_without_newline():
    assert apply_edits("- [ ] a", [Edit(0, checked=True)]) == "- [x] a"
    assert apply_edits("x\n- a", [Edit(1, link=L7)]) == f"x\n- a {link(7)}"


def test_apply_edits_keeps_everything_else():
    text = "# Phase 1: A  \n\t\n## Deliverables Checklist\n\n\t- [ ] tab indented?\n- [ ] a\t \n  continued   \n\n\n"
    out = apply_edits(text, [Edit(5, checked=True, link=L12)])
    assert out == text.replace("- [ ] a\t \n", f"- [x] a {link(12)}\t \n")


def test_apply_edits_several_edits_on_one_line_apply_in_order():
    out = apply_edits("- [ ] a\n", [Edit(0, checked=True), Edit(0, link=L7), Edit(0, link=L12)])
    assert out == f"- [x] a {link(12)}\n"


def test_no_edits_is_identity():
    for text in (DOC, DOC.replace("\n", "\r\n"), "\ufeffno newline", "", "\r\r\n\n"):
        assert apply_edits(text, []) == text
        assert apply_edits(text, iter(())) == text


def test_edit_on_a_non_item_line_raises():
    with pytest.raises(WritebackError, match="line 9 is not a list item"):
        apply_edits(DOC, [Edit(4, checked=True), Edit(8, checked=True)])


def test_edit_past_the_end_raises():
    with pytest.raises(WritebackError, match="past the end"):
        apply_edits(DOC, [Edit(40, checked=True)])
    with pytest.raises(WritebackError, match="past the end"):
        apply_edits("- [ ] a\n", [Edit(2, checked=True)])


def test_edit_on_the_empty_line_after_the_final_newline_raises():
    with pytest.raises(WritebackError, match="not a list item"):
        apply_edits("- [ ] a\n", [Edit(1, checked=True)])


@pytest.mark.parametrize("sample", [FULL_PHASE, FULL_IMPLEMENTATION])
@pytest.mark.parametrize("eol", ["\n", "\r\n"])
def test_round_trip_on_the_templates(sample, eol):
    text = sample.replace("\n", eol)
    before = parse_guide(text, "g.md")
    edits = [Edit(t.line, checked=not t.checked, link=IssueLink(100 + i, URL.format(100 + i))) for i, t in enumerate(before.tasks)]
    out = apply_edits(text, edits)
    after = parse_guide(out, "g.md")
    assert [(t.line, t.end_line, t.text, t.subitems, t.key) for t in after.tasks] == [(t.line, t.end_line, t.text, t.subitems, t.key) for t in before.tasks]
    assert [t.checked for t in after.tasks] == [not t.checked for t in before.tasks]
    assert all(t.has_box for t in after.tasks)
    assert [t.link.number for t in after.tasks] == list(range(100, 100 + len(edits)))
    # Every line that is not a task line is byte for byte the same, and so are the line breaks.
    task_lines = {t.line for t in before.tasks}
    old_lines, new_lines = text.split(eol), out.split(eol)
    assert len(old_lines) == len(new_lines)
    assert [x for i, x in enumerate(old_lines) if i not in task_lines] == [x for i, x in enumerate(new_lines) if i not in task_lines]
    # Writing the same state again changes nothing.
    assert apply_edits(out, [Edit(t.line, t.checked, t.link) for t in after.tasks]) == out


# -- replace_file --------------------------------------------------------------------------------


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".guidesync-tmp"))


def test_replace_file_writes_atomically_and_keeps_the_mode(tmp_path):
    f = tmp_path / "g.md"
    f.write_bytes(b"old\r\n")
    os.chmod(f, 0o640)
    inode = f.stat().st_ino
    assert replace_file(f, b"new\r\n", b"old\r\n") is True
    assert f.read_bytes() == b"new\r\n"
    assert stat.S_IMODE(f.stat().st_mode) == 0o640
    assert f.stat().st_ino != inode  # a new file renamed over the old one, not a rewrite in place
    assert leftovers(tmp_path) == []


def test_replace_file_keeps_executable_mode(tmp_path):
    f = tmp_path / "g.md"
    f.write_bytes(b"a")
    os.chmod(f, 0o755)
    replace_file(f, b"b", b"a")
    assert stat.S_IMODE(f.stat().st_mode) == 0o755


def test_replace_file_returns_false_when_identical(tmp_path):
    f = tmp_path / "g.md"
    f.write_bytes(b"same")
    mtime = f.stat().st_mtime_ns
    inode = f.stat().st_ino
    assert replace_file(f, b"same", b"same") is False
    # Also when somebody else already wrote exactly what we wanted.
    assert replace_file(f, b"same", b"what we read") is False
    assert (f.stat().st_mtime_ns, f.stat().st_ino) == (mtime, inode)
    assert leftovers(tmp_path) == []


def test_replace_file_refuses_a_changed_file(tmp_path):
    f = tmp_path / "g.md"
    f.write_bytes(b"edited by a person")
    with pytest.raises(ConcurrentEdit) as info:
        replace_file(f, b"ours", b"what we read")
    assert info.value.path == str(f)
    assert "changed on disk" in str(info.value)
    assert f.read_bytes() == b"edited by a person"
    assert leftovers(tmp_path) == []


def test_replace_file_refuses_a_deleted_file(tmp_path):
    f = tmp_path / "g.md"
    with pytest.raises(ConcurrentEdit):
        replace_file(f, b"ours", b"what we read")
    assert not f.exists()


def test_replace_file_refuses_a_file_created_meanwhile(tmp_path):
    f = tmp_path / "state.json"
    f.write_bytes(b"{}")
    with pytest.raises(ConcurrentEdit):
        replace_file(f, b'{"a": 1}', None)


def test_replace_file_creates_a_missing_file(tmp_path):
    f = tmp_path / "sub" / "state.json"
    assert replace_file(f, b"{}", None) is True
    assert f.read_bytes() == b"{}"
    assert stat.S_IMODE(f.stat().st_mode) == 0o644
    assert leftovers(f.parent) == []


def test_replace_file_detects_a_change_during_the_write(tmp_path, monkeypatch):
    """The last look before the rename: a change between the first read and the rename is refused."""
    f = tmp_path / "g.md"
    f.write_bytes(b"v1")
    real_fsync = os.fsync

    def fsync_and_meddle(fd):
        real_fsync(fd)
        f.write_bytes(b"v1 edited meanwhile")

    monkeypatch.setattr(writeback.os, "fsync", fsync_and_meddle)
    with pytest.raises(ConcurrentEdit):
        replace_file(f, b"v2", b"v1")
    assert f.read_bytes() == b"v1 edited meanwhile"
    assert leftovers(tmp_path) == []


def test_replace_file_cleans_up_when_the_write_fails(tmp_path, monkeypatch):
    f = tmp_path / "g.md"
    f.write_bytes(b"v1")

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writeback.os, "fsync", broken_fsync)
    with pytest.raises(OSError):
        replace_file(f, b"v2", b"v1")
    assert f.read_bytes() == b"v1"
    assert leftovers(tmp_path) == []


def test_replace_file_readers_never_see_a_partial_file(tmp_path):
    f = tmp_path / "g.md"
    small, big = b"a" * 10, b"b" * 4_000_000
    f.write_bytes(small)
    seen: set[int] = set()
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            seen.add(len(f.read_bytes()))

    t = threading.Thread(target=reader)
    t.start()
    try:
        current = small
        for _ in range(10):
            nxt = big if current == small else small
            replace_file(f, nxt, current)
            current = nxt
    finally:
        stop.set()
        t.join()
    assert seen <= {len(small), len(big)}


# -- the run lock --------------------------------------------------------------------------------


@pytest.fixture
def locks(tmp_path, monkeypatch):
    """Lock files go to a private temporary folder (they are never deleted), roots under repo/."""
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmpdir))
    monkeypatch.setenv("TMPDIR", str(tmpdir))
    root = tmp_path / "repo"
    root.mkdir()
    return root


def test_second_lock_on_the_same_root_is_refused(locks):
    # flock belongs to an open file description: two RunLock objects open the file twice, so the
    # second is refused even inside one process.
    first, second = RunLock(locks), RunLock(locks)
    assert first.path == second.path
    with first:
        with pytest.raises(LockHeld, match="another guidesync sync is running"):
            with second:
                pass  # pragma: no cover
    # Released: the lock can be taken again.
    with second:
        pass


def test_lock_is_per_root(locks):
    (locks / "a").mkdir()
    (locks / "b").mkdir()
    with RunLock(locks / "a"), RunLock(locks / "b"):
        pass


def test_lock_keys_on_the_real_path(locks):
    (locks / "real").mkdir()
    (locks / "alias").symlink_to(locks / "real")
    with RunLock(locks / "real"):
        with pytest.raises(LockHeld):
            with RunLock(locks / "alias"):
                pass  # pragma: no cover


def test_lock_held_by_another_process(locks):
    code = "import sys, time\nfrom guidesync.writeback import RunLock\nwith RunLock(sys.argv[1]):\n    print('locked', flush=True)\n    sys.stdin.readline()\n"
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen([sys.executable, "-c", code, str(locks)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=root)
    try:
        assert proc.stdout.readline().strip() == "locked"
        with pytest.raises(LockHeld):
            with RunLock(locks):
                pass  # pragma: no cover
    finally:
        proc.stdin.write("\n")
        proc.stdin.flush()
        proc.wait(timeout=10)
    with RunLock(locks):  # the process ended: free again
        pass


def test_lock_file_records_the_pid_outside_the_checkout(locks):
    with RunLock(locks) as lock:
        assert lock.path.read_text() == str(os.getpid())
        assert lock.path.parent == Path(tempfile.tempdir)
        assert locks not in lock.path.parents
