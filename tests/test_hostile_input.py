"""Hostile and broken input: fuzzing, huge and deep files, files outside the repository, poisoned
configuration, and task text written to make the tracker do something its author did not intend.

Nothing here may crash guidesync, hang it, make it write outside the repository, run code from
the configuration, ping people, cross-reference issues, run GitLab quick actions, or send the
trackers a body or title they would refuse.
"""

from __future__ import annotations

import re
import tempfile
import time
import traceback
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from guidesync.cli import app
from guidesync.guides import MAX_BYTES, GuideError, decode, read_guide
from guidesync.core.model import IssueLink
from guidesync.core.parse import DEFAULT_SECTIONS, ITEM_START, LINE_BREAK, parse_guide
from guidesync.core.render import ZWSP, issue_body, issue_title, neutralize, read_marker
from guidesync.core.edit import Edit, apply_edits
from tests.conftest import FORGES

FUZZ = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])

PHASE_HEAD = "# Phase 1: Hostile - Detailed Implementation Guide\n\n## Overview\n\nOverview text.\n\n## Deliverables Checklist\n\n"
IMPL_HEAD = "# Implementation Guide: Hostile\n\n## Implementation Milestones\n\n### Milestone 1: First\n**Goal**: g\n\n**Changes Required**:\n"
GITHUB_BODY_MAX = 65_536
GITLAB_BODY_MAX = 1_048_576
TITLE_MAX = 255

#: A sigil that notifies or cross-references, not defused by a zero-width space right after it.
RAW_REFERENCE = re.compile(r"(?<![\w/`])(?:@|#|!|GH-)(?=[A-Za-z0-9_])")


def cli(*args: str, env: dict[str, str] | None = None):
    result = CliRunner().invoke(app, list(args), env=env or {})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError("".join(traceback.format_exception(*result.exc_info)))
    assert "Traceback" not in result.stdout + result.stderr
    return result


def lines_of(text: str) -> list[str]:
    return LINE_BREAK.split(text)


# -- fuzzing: parser, write-back, decoding -------------------------------------------------------

#: Line fragments chosen to upset a Markdown parser and a line editor.
FRAGMENTS = st.sampled_from([
    "- [ ] task", "- [x] done", "* [X] star", "+ plus", "1. [ ] one", "2) two", "-", "- ", "- [ ]", "-\t[ ]\ttab",
    "  - [ ] nested", "    - deeper", "        - code?", "\t- tab nested", "> - [ ] quoted", ">> > deep quote",
    "```", "~~~python", "    indented code", "<!--", "-->", "<div>", "</div>", "<script>alert(1)</script>",
    "## Deliverables Checklist", "## Other", "### Sub", "# Phase 2: Again", "---", "***", "===", "",
    "[#12](https://github.com/acme/shop/issues/12)", "- [ ] linked ([#3](https://github.com/acme/shop/issues/3))",
    "- [ ] two links ([#3](u)) ([#4](v))", "- [ ] trailing ([#5](https://x/5))   ", "\\", "- [ ] ends with backslash \\",
    "- [ ] `unclosed code", "- [ ] **bold", "| a | b |", "|---|---|", "@alice #1 !2 GH-3", "/close", "- /label ~x",
    "\ufeff", "\u2028", "\u0085", "\x00", "\x0b\x0c", "🚀✅", "e\u0301", "\u202e" "reversed",
    "- [ ] " + "x" * 300, "[x]", "[ ]", "- [ ]x", "-[ ] nospace", "10000000000. huge number",
])
EOLS = st.sampled_from(["\n", "\r\n", "\r"])


@st.composite
def hostile_guides(draw) -> str:
    head = draw(st.sampled_from([PHASE_HEAD, IMPL_HEAD, "", "---\ntitle: x\n---\n" + PHASE_HEAD]))
    body = draw(st.lists(st.one_of(FRAGMENTS, st.text(max_size=20)), max_size=40))
    eol = draw(EOLS)
    text = (head + "\n".join(body)).replace("\n", eol)
    if draw(st.booleans()):
        text += eol
    return text


@FUZZ
@given(st.one_of(st.text(), st.text().map(lambda t: PHASE_HEAD + t), st.text().map(lambda t: IMPL_HEAD + t)))
def test_parse_never_crashes_on_arbitrary_text(text):
    guide = parse_guide(text, "guides/fuzz.md")
    if guide is None:
        return
    lines = lines_of(text)
    for task in guide.tasks:
        assert 0 <= task.line < task.end_line <= len(lines) + 1
        assert ITEM_START.match(lines[task.line]), (task, lines[task.line])


@FUZZ
@given(hostile_guides(), st.data())
def test_write_back_on_hostile_markdown_changes_only_box_and_link(text, data):
    guide = parse_guide(text, "guides/fuzz.md")
    if guide is None or not guide.tasks:
        return
    edits = []
    for i, task in enumerate(guide.tasks):
        checked = data.draw(st.sampled_from([None, True, False]), label="checked")
        link = data.draw(st.sampled_from([None, IssueLink(100 + i, f"https://github.com/acme/shop/issues/{100 + i}")]), label="link")
        if link is not None and not task.has_box and checked is None:
            checked = task.checked  # as the engine does: a plain bullet gains its box with its link
        if checked is not None or link is not None:
            edits.append(Edit(task.line, checked=checked, link=link))
    new = apply_edits(text, edits)
    before, after = lines_of(text), lines_of(new)
    assert len(after) == len(before)
    # Every line break and every untouched line is kept byte for byte.
    assert [m.group() for m in LINE_BREAK.finditer(new)] == [m.group() for m in LINE_BREAK.finditer(text)]
    edited = {e.line for e in edits}
    for i, (a, b) in enumerate(zip(before, after)):
        if i not in edited:
            assert a == b
    # On an edited line, nothing but boxes, the link and blanks differ.
    def bare(line: str) -> str:
        line = re.sub(r"[ \t]*\(\[#\d+\]\([^()\s]+\)\)(?=[ \t]*(?:\\[ \t]*)?$)", "", line)  # before a hard break
        return re.sub(r"\[[ xX]\]|[ \t]", "", line)

    for e in edits:
        assert bare(after[e.line]) == bare(before[e.line]), (before[e.line], after[e.line])
    # The edited guide parses to the same tasks, with the new boxes and links.
    again = parse_guide(new, "guides/fuzz.md")
    assert again is not None
    assert [t.line for t in again.tasks] == [t.line for t in guide.tasks]
    by_line = {e.line: e for e in edits}
    for old, t in zip(guide.tasks, again.tasks):
        e = by_line.get(old.line)
        want_checked = old.checked if e is None or e.checked is None else e.checked
        want_link = old.link if e is None or e.link is None else e.link
        assert t.checked == want_checked and t.link == want_link, (old, t, e)


@FUZZ
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_decode_or_name_the_file(raw):
    try:
        text = decode(raw, "guides/bytes.md")
    except GuideError as exc:
        assert str(exc).startswith("guides/bytes.md")
        assert b"\0" in raw or "not valid UTF-8" in str(exc)
    else:
        assert text == raw.decode("utf-8")
        parse_guide(text, "guides/bytes.md")


@FUZZ
@given(st.binary(max_size=1024), st.sampled_from([b"", PHASE_HEAD.encode(), IMPL_HEAD.encode(), b"\xef\xbb\xbf" + PHASE_HEAD.encode()]))
def test_arbitrary_bytes_in_a_guide_file_never_crash_read_guide(raw, head):
    with tempfile.TemporaryDirectory() as d:
        root = Path(d).resolve()
        path = root / "guides" / "wéird name.md"
        path.parent.mkdir()
        path.write_bytes(head + raw)
        try:
            loaded = read_guide(path, root, DEFAULT_SECTIONS)
        except GuideError as exc:
            assert "wéird name.md" in str(exc)
        else:
            assert loaded is None or loaded.raw == head + raw


def test_invalid_utf8_is_refused_with_file_and_line():
    raw = PHASE_HEAD.encode() + b"- [ ] ok\r\n- [ ] caf\xe9\n"
    with pytest.raises(GuideError, match=r"^guides/x\.md:10: not valid UTF-8 \(byte 0xe9"):
        decode(raw, "guides/x.md")
    with pytest.raises(GuideError, match="binary file"):
        decode(PHASE_HEAD.encode() + b"- [ ] a\x00b\n", "guides/x.md")


@FUZZ
@given(st.text(alphabet=st.characters(blacklist_characters="`<>[]()\u200b", blacklist_categories=("Cs",)), max_size=300))
def test_neutralize_defuses_every_reference_and_only_inserts_zero_width_spaces(text):
    out = neutralize(text)
    assert out.replace(ZWSP, "") == text
    if "http" not in text.lower() and "://" not in text:
        assert not RAW_REFERENCE.search(out), out
        for line in out.split("\n"):
            assert not line.lstrip().startswith("/"), line  # a quick action needs "/" first on the line
    assert neutralize(out) == out


@FUZZ
@given(st.text(max_size=400), st.sampled_from([TITLE_MAX]), st.sampled_from([GITHUB_BODY_MAX, 1_000_000, 300]))
def test_titles_and_bodies_respect_the_limits(text, title_max, body_max):
    guide = parse_guide(PHASE_HEAD + "- [ ] T " + text.replace("\r", " ").replace("\n", " ") + "\n", "guides/x.md")
    if guide is None or not guide.tasks:
        return
    task = guide.tasks[0]
    title = issue_title(task, title_max)
    body = issue_body(task, guide, guide.milestones[0], "https://github.com/acme/shop/blob/HEAD/guides/x.md", body_max)
    assert len(title) <= title_max and "\n" not in title and "\r" not in title
    assert read_marker(body) == ("guides/x.md", task.key)
    if body_max >= 1000:
        assert len(body) <= body_max


# -- huge files, huge lines, deep nesting -----------------------------------------------------------


def test_guide_over_the_size_limit_is_refused_with_its_name(tmp_path, monkeypatch):
    root = tmp_path.resolve()
    (root / "guides").mkdir()
    big = root / "guides" / "big.md"
    filler = b"x" * 4095 + b"\n"
    data = PHASE_HEAD.encode() + b"- [ ] a\n\n## Notes\n\n"
    big.write_bytes(data + filler * ((MAX_BYTES - len(data)) // 4096) + b"y" * ((MAX_BYTES - len(data)) % 4096))
    assert big.stat().st_size == MAX_BYTES
    assert read_guide(big, root, DEFAULT_SECTIONS) is not None  # exactly 8 MiB is fine
    with big.open("ab") as f:
        f.write(b"z")
    with pytest.raises(GuideError, match=r"guides/big\.md: 8388609 bytes is larger than the 8388608 bytes"):
        read_guide(big, root, DEFAULT_SECTIONS)
    monkeypatch.chdir(root)
    result = cli("lint")
    assert result.exit_code == 2
    assert "big.md" in result.stderr and "larger than" in result.stderr


def _prose_guide(size: int) -> str:
    head = PHASE_HEAD + "- [ ] First task\n- [x] Second task\n\n## Notes\n\n"
    para = ("Lorem ipsum dolor sit amet, @alice #12 consectetur adipiscing elit, sed do eiusmod. " * 10 + "\n") * 4 + "\n"
    return head + para * (size // len(para) + 1)


@pytest.mark.parametrize("forge", FORGES)
def test_five_megabyte_guide_syncs_and_keeps_every_byte(make_workspace, forge):
    ws = make_workspace(forge, guides=())
    text = _prose_guide(5 * 1024 * 1024)
    assert len(text.encode()) > 5 * 1024 * 1024
    ws.write("big.md", text)
    t0 = time.perf_counter()
    out = ws.run("push")
    elapsed = time.perf_counter() - t0
    assert out.code == 0, out.text
    assert elapsed < 20, elapsed
    issues = ws.forge.issues()
    assert sorted(i["title"] for i in issues.values()) == ["First task", "Second task"]
    after = ws.read("big.md")
    assert re.sub(r" \(\[#\d+\]\([^)]+\)\)", "", after) == text


@pytest.mark.parametrize("forge", FORGES)
def test_one_megabyte_task_line_is_truncated_with_a_link_back_to_the_guide(make_workspace, forge):
    ws = make_workspace(forge, guides=())
    words = "lorem @bob #7 ipsum " * (1024 * 1024 // 20)
    text = PHASE_HEAD + "- [ ] Huge task " + words + "\n- [ ] Small task\n"
    ws.write("huge.md", text)
    out = ws.run("push")
    assert out.code == 0, out.text
    issues = {i["title"][:10]: i for i in ws.forge.issues().values()}
    huge = issues["Huge task "]
    limit = GITHUB_BODY_MAX if forge == "github" else GITLAB_BODY_MAX
    assert len(huge["body"]) <= limit
    assert len(huge["title"]) <= TITLE_MAX and huge["title"].endswith("…")
    assert "(truncated: the full task is in [the guide](" in huge["body"]
    assert re.search(r"\(truncated: the full task is in \[the guide\]\([^)]*/guides/huge\.md\)\)", huge["body"])
    assert not RAW_REFERENCE.search(huge["body"]) and not RAW_REFERENCE.search(huge["title"])
    after = ws.read("huge.md")
    first = after.splitlines()[len(PHASE_HEAD.splitlines())]
    assert first.startswith("- [ ] Huge task " + words.rstrip()) and re.search(r" \(\[#\d+\]\([^)]+\)\) $", first)  # before the trailing blank
    assert re.sub(r" \(\[#\d+\]\([^)]+\)\)", "", after) == text


def test_one_megabyte_prose_line_parses_quickly():
    text = PHASE_HEAD + "- [ ] Task\n\n## Notes\n\n" + "a" * (1024 * 1024) + "\n"
    t0 = time.perf_counter()
    guide = parse_guide(text, "guides/x.md")
    assert time.perf_counter() - t0 < 5
    assert [t.text for t in guide.tasks] == ["Task"]


def _deep_list(depth: int) -> str:
    return "".join("  " * (i + 1) + f"- [ ] level {i + 1}\n" for i in range(depth))


def test_thousand_level_nested_list_parses_bounded_and_writes_back_one_line():
    text = PHASE_HEAD + "- [ ] Top task\n" + _deep_list(1000)
    t0 = time.perf_counter()
    guide = parse_guide(text, "guides/deep.md")
    assert time.perf_counter() - t0 < 5
    assert [t.text for t in guide.tasks] == ["Top task"]
    top = guide.tasks[0]
    assert top.subitems and len(top.subitems) < 1000  # markdown-it-py's nesting limit cuts it off
    body = issue_body(top, guide, guide.milestones[0], "u", GITHUB_BODY_MAX)
    assert len(body) < 5000
    new = apply_edits(text, [Edit(top.line, checked=True, link=IssueLink(1, "https://github.com/acme/shop/issues/1"))])
    assert new == text.replace("- [ ] Top task\n", "- [x] Top task ([#1](https://github.com/acme/shop/issues/1))\n")


# Past markdown-it-py's nesting limit the block parser drops the rest of the document; guidesync
# raises the limit (parse.MAX_NESTING) and refuses a guide that reaches it rather than lose its tail.


@pytest.mark.parametrize("nest", [
    pytest.param(">" * 1000 + " - [ ] quoted\n", id="too-deep-quote"),
    pytest.param("> " * 1000 + "- [ ] quoted\n", id="too-deep-spaced-quote"),
    "[" * 5000 + "x" + "]" * 5000 + "\n",
    "*" * 5000 + "x" + "*" * 5000 + "\n",
    "<div>" * 2000 + "\n",
    "x" + "`" * 3000 + "\n",
    _deep_list(9),
    _deep_list(40),
    pytest.param("- " * 1000 + "[ ] dashes\n", id="too-deep-dashes"),
    pytest.param("1. " * 1000 + "x\n", id="too-deep-ordered"),
    pytest.param(_deep_list(1000), id="too-deep-list"),
])
def test_deep_nesting_and_pathological_inlines_parse_quickly_and_lose_no_task(nest, request):
    """Either every task is read, or the guide carries an error (and is not synced): never a silent loss."""
    text = PHASE_HEAD + "- [ ] Task\n\n" + nest + "\n- [ ] Last\n"
    t0 = time.perf_counter()
    guide = parse_guide(text, "guides/deep.md")
    assert time.perf_counter() - t0 < 5
    assert guide is not None and guide.tasks[0].text == "Task"
    for t in guide.tasks:
        assert ITEM_START.match(lines_of(text)[t.line])
    too_deep = [p for p in guide.problems if p.severity == "error" and "nest too deep" in p.message]
    if "too-deep" in request.node.callspec.id:
        assert too_deep and too_deep[0].line is not None
    else:
        assert not too_deep
        assert guide.tasks[-1].text == "Last", [t.text for t in guide.tasks]


@pytest.mark.parametrize("forge", FORGES)
def test_deep_list_added_under_one_task_never_closes_the_tasks_after_it(make_workspace, forge):
    ws = make_workspace(forge, guides=("phase-1-foundation.md",))
    assert ws.run("push").code == 0
    text = ws.read("phase-1-foundation.md")
    first = next(l for l in text.splitlines(True) if "services/api/" in l)
    ws.write("phase-1-foundation.md", text.replace(first, first + _deep_list(10)))
    out = ws.run("push")
    open_before = 3
    assert sum(i["state"] == "open" for i in ws.forge.issues().values()) == open_before, out.text


@pytest.mark.parametrize("forge", FORGES)
def test_a_guide_nested_too_deep_is_refused_with_its_line_and_nothing_is_written(make_workspace, forge):
    ws = make_workspace(forge, guides=())
    text = PHASE_HEAD + "- [ ] Next task\n" + "> " * 200 + "- [ ] quoted, not a task\n\n- [ ] Top task\n" + _deep_list(1000)
    ws.write("deep.md", text)
    out = ws.run("push")
    assert out.code == 1
    assert re.search(r"guides/deep\.md:\d+: error: lists or quotes nest too deep", out.text), out.text
    assert ws.forge.issues() == {} and ws.forge.writes() == 0
    assert ws.read("deep.md") == text


# -- files outside the repository and symbolic links ----------------------------------------------


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A repository with one guide and a valid guide outside it; cwd is the repository."""
    root = (tmp_path / "repo").resolve()
    (root / "guides").mkdir(parents=True)
    (root / "config").mkdir()
    (root / "config" / "guidesync.yaml").write_text("tracker: github\nrepository: acme/shop\n")
    (root / "guides" / "inside.md").write_text(PHASE_HEAD + "- [ ] Inside task\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.md").write_text("# Phase 9: Outside - Detailed Implementation Guide\n\n## Deliverables Checklist\n\n- [ ] Outside task\n")
    monkeypatch.chdir(root)
    return root, outside


@pytest.mark.parametrize("command", [["lint"], ["status"], ["plan", "--offline"], ["push"], ["sync", "--dry-run"]])
def test_symlinked_guide_named_on_the_command_line_is_refused(repo, command):
    root, outside = repo
    (root / "guides" / "link.md").symlink_to(outside / "secret.md")
    before = (outside / "secret.md").read_bytes()
    result = cli(*command, "guides/link.md", env={"GITHUB_TOKEN": "t"})
    assert result.exit_code == 2, result.output
    assert "guides/link.md" in result.stderr and "symbolic link" in result.stderr
    assert (outside / "secret.md").read_bytes() == before


@pytest.mark.parametrize("how", ["relative", "absolute", "through a linked folder"])
def test_guide_outside_the_repository_is_refused(repo, how):
    root, outside = repo
    if how == "relative":
        arg = "../outside/secret.md"
    elif how == "absolute":
        arg = str(outside / "secret.md")
    else:
        (root / "linked").symlink_to(outside, target_is_directory=True)
        arg = "linked/secret.md"
    before = (outside / "secret.md").read_bytes()
    for command in (["lint"], ["plan", "--offline"], ["push"]):
        result = cli(*command, arg, env={"GITHUB_TOKEN": "t"})
        assert result.exit_code == 2, result.output
        assert "secret.md" in result.stderr and "outside the repository" in result.stderr
    assert (outside / "secret.md").read_bytes() == before


def test_discovered_symlinks_are_skipped_with_a_warning_and_never_written(make_workspace):
    ws = make_workspace("github", guides=("phase-1-foundation.md",))
    outside = ws.root.parent / "outside-target.md"
    outside.write_text("# Phase 9: Outside - Detailed Implementation Guide\n\n## Deliverables Checklist\n\n- [ ] Outside task\n")
    (ws.root / "guides" / "link.md").symlink_to(outside)
    (ws.root / "linked-dir").symlink_to(ws.root.parent, target_is_directory=True)  # discovery does not follow it
    before = outside.read_bytes()
    out = ws.run("push")
    assert out.code == 0, out.text
    assert "guides/link.md" in out.text and "symbolic link" in out.text
    assert "Outside task" not in {i["title"] for i in ws.forge.issues().values()}
    assert len(ws.forge.issues()) == 4
    assert outside.read_bytes() == before


# -- configuration ----------------------------------------------------------------------------------


@pytest.mark.parametrize("yaml_text, expected", [
    ("tracker: github\nrepositry: acme/shop\n", r"unknown key 'repositry' \(did you mean 'repository'\?\)"),
    ("tracker: github\nrepository: acme/shop\ntoken: ghp_literal_in_the_file\n", r"unknown key 'token'"),
    ("tracker: github\nmax_close: ten\n", r"key 'max_close' must be a whole number, not str 'ten'"),
    ("tracker: github\nmax_close: true\n", r"key 'max_close' must be a whole number"),
    ("tracker: github\nlabels: guidesync\n", r"key 'labels' must be a list of label names"),
    ("tracker: github\nlabels: []\n", r"key 'labels' needs at least one label"),
    ("tracker: bitbucket\n", r"key 'tracker' must be 'github' or 'gitlab'"),
    ("tracker: github\nrepository: 'acme shop'\n", r"key 'repository' must look like 'owner/name'"),
    ("tracker: github\nsections:\n  phase_taskz: [x]\n", r"unknown key 'sections\.phase_taskz'"),
    ("tracker: github\ntimeout: -1\n", r"key 'timeout' must not be negative"),
    ("- just\n- a list\n", r"the top level must be a mapping"),
    ("tracker: github\n  bad: indentation\n", r"guidesync\.yaml:2: not valid YAML"),
    ("tracker: github\nrepository: !!python/object/apply:os.system ['touch PWNED']\n", r"guidesync\.yaml:2: not valid YAML"),
    ("!!python/object/apply:os.system\nargs: ['touch PWNED']\n", r"guidesync\.yaml:1: not valid YAML"),
    ("tracker: !!python/name:os.system\n", r"guidesync\.yaml:1: not valid YAML"),
    ("tracker: github\nguides: !!python/object/new:subprocess.Popen [['touch', 'PWNED']]\n", r"guidesync\.yaml:2: not valid YAML"),
])
@pytest.mark.parametrize("command", [["lint"], ["push"]])
def test_bad_configuration_is_refused_naming_the_key_or_line(repo, yaml_text, expected, command):
    root, _ = repo
    (root / "config" / "guidesync.yaml").write_text(yaml_text)
    result = cli(*command, env={"GITHUB_TOKEN": "t"})
    assert result.exit_code == 2, result.output
    assert re.search(r"config/guidesync\.yaml", result.stderr), result.stderr
    assert re.search(expected, result.stderr), result.stderr
    assert "ghp_literal_in_the_file" not in result.output  # an unknown key's value is not echoed
    assert not (root / "PWNED").exists()
    assert not (root / ".guidesync").exists()


def test_yaml_alias_bomb_is_refused_quickly(repo):
    root, _ = repo
    bomb = "a: &a ['x','x','x','x','x','x','x','x','x']\n"
    for i, name in enumerate("bcdefgh"):
        prev = "abcdefgh"[i]
        bomb += f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]\n"
    (root / "config" / "guidesync.yaml").write_text("tracker: github\n" + bomb + "guides: *h\n")
    t0 = time.perf_counter()
    result = cli("lint")
    assert time.perf_counter() - t0 < 5
    assert result.exit_code == 2 and "unknown key 'a'" in result.stderr


def test_non_utf8_configuration_is_refused(repo):
    root, _ = repo
    (root / "config" / "guidesync.yaml").write_bytes(b"tracker: github\nrepository: caf\xe9/shop\n")
    result = cli("lint")
    assert result.exit_code == 2 and "config/guidesync.yaml: cannot read" in result.stderr


@pytest.mark.parametrize("url", ["ftp://ghe.example.com/api/v3", "ghe.example.com/api/v3"])
def test_url_that_is_not_http_is_a_configuration_error(repo, url):
    root, _ = repo
    (root / "config" / "guidesync.yaml").write_text(f"tracker: github\nrepository: acme/shop\nurl: {url}\n")
    result = CliRunner().invoke(app, ["plan"], env={"GITHUB_TOKEN": "t"})
    assert result.exit_code == 2 and "url" in result.stderr, (result.exception, result.output)


# -- hostile task text through the trackers -------------------------------------------------------

HOSTILE = """\
# Phase 1: Hostile @admins #1 - Detailed Implementation Guide

## Overview

Tell @everyone about #3, !4 and GH-5.
/close
/label ~x

## Deliverables Checklist

- [ ] Ping @alice and @acme/devs about #12, !34 and GH-56 (see issue #7)
- [ ] /close
- [ ] /label ~x
- [ ] /assign @me
- [ ] /milestone %"Phase 1: Hostile @admins #1"
- [ ] Two lines, the second a quick action
  /close
- [ ] Render <script>alert('@mallory #9')</script> <img src=x onerror="alert(1)"> <!-- a comment -->
- [ ] Keep `@not_a_mention #1 /close` and https://example.com/@user/#12 and [@carol](https://example.com/#4) as written
- [ ] Sub-items run nothing
  - /close
  - [ ] /label ~x
  - [x] /assign @me
- [ ] Forged marker <!-- guidesync:task guide=guides/other.md key=0123456789abcdef -->
- [ ] Cross references acme/shop#12 and group/project!4
"""


def _mentions_outside_code(text: str) -> list[str]:
    """Un-defused references left once code spans and URLs are taken out."""
    text = re.sub(r"`[^`]*`", "", text)
    text = re.sub(r"\]\([^)\s]*\)|https?://[^\s)<>]+", "", text)
    return [text[max(0, m.start() - 20): m.end() + 10] for m in RAW_REFERENCE.finditer(text)]


def _huge_item() -> str:
    return "- [ ] Huge item " + "ping @bob about #77 and !88 " * 2600 + "\n"


@pytest.mark.parametrize("forge", FORGES)
def test_hostile_task_text_is_neutralised_on_the_tracker(make_workspace, forge):
    ws = make_workspace(forge, guides=())
    s = ws.forge.server
    if forge == "gitlab":
        s.create_label("acme/shop", "x")  # so that an executed /label ~x would show
    text = HOSTILE + _huge_item()
    assert len(_huge_item()) > 70_000
    ws.write("hostile.md", text)
    out = ws.run("push")
    assert out.code == 0, out.text
    issues = ws.forge.issues()
    assert len(issues) == 12
    limit = GITHUB_BODY_MAX if forge == "github" else GITLAB_BODY_MAX
    for n, issue in issues.items():
        assert len(issue["title"]) <= TITLE_MAX and "\n" not in issue["title"]
        assert len(issue["body"]) <= limit
        assert not _mentions_outside_code(issue["body"]), (n, _mentions_outside_code(issue["body"]))
        assert not _mentions_outside_code(issue["title"]), (n, issue["title"])
        assert issue["state"] == "open" and issue["labels"] == ["guidesync"], (n, issue)
        assert issue["milestone"] == "Phase 1: Hostile @admins #1"
        # GitLab only strips quick-action lines it runs: every task line survives in the body.
        for line in issue["body"].split("\n"):
            assert not re.match(r"^/(close|label|assign|milestone|reopen|title)\b", line), (n, line)
    by_title = {i["title"]: i for i in issues.values()}
    assert "Ping @\u200balice and @\u200bacme/devs about #\u200b12, !\u200b34 and GH-\u200b56 (see issue #\u200b7)" in by_title
    assert "/close" in by_title and "/label ~x" in by_title  # titles run no quick actions, left as written
    kept = next(i for t, i in by_title.items() if t.startswith("Keep"))
    assert "`@not_a_mention #1 /close`" in kept["body"] and "https://example.com/@user/#12" in kept["body"]
    assert "[@\u200bcarol](https://example.com/#4)" in kept["body"]
    script = next(i for t, i in by_title.items() if "script" in t)
    assert "alert('@\u200bmallory #\u200b9')" in script["body"]
    cross = next(i for t, i in by_title.items() if t.startswith("Cross references"))
    assert "acme/shop#\u200b12 and group/project!\u200b4" in cross["body"]
    forged = next(i for t, i in by_title.items() if t.startswith("Forged"))
    assert read_marker(forged["body"])[0] == "guides/hostile.md"  # the real marker comes first
    huge = next(i for t, i in by_title.items() if t.startswith("Huge item"))
    if forge == "github":
        assert re.search(r"\(truncated: the full task is in \[the guide\]\([^)]*/guides/hostile\.md\)\)", huge["body"])
    else:
        assert "truncated" not in huge["body"] and huge["body"].count("@\u200bbob") == 2600
    if forge == "gitlab":
        raw = s.issues("acme/shop")
        assert all(i["assignees"] == [] for i in raw.values())
    ms = next(iter(s.milestones("acme/shop").values()))
    assert not _mentions_outside_code(ms["description"] or "")
    assert "\n/close" not in (ms["description"] or "") and "Tell @\u200beveryone" in ms["description"]

    # Updates carry the same text again: GitLab runs quick actions on every update it receives.
    ws.write("hostile.md", ws.read("hostile.md").replace("Phase 1: Hostile @admins #1", "Phase 1: Hostile again"))
    out = ws.run("push")
    assert out.code == 0, out.text
    issues = ws.forge.issues()
    assert len(issues) == 12
    assert all(i["state"] == "open" and i["labels"] == ["guidesync"] for i in issues.values()), issues
    assert all(i["milestone"] == "Phase 1: Hostile again" for i in issues.values())
    assert sum("Phase 1: Hostile again" in i["body"] for i in issues.values()) == 12  # they were all rewritten
    if forge == "gitlab":
        assert all(i["assignees"] == [] for i in s.issues("acme/shop").values())
        assert all(not _mentions_outside_code(i["body"]) for i in issues.values())


@pytest.mark.parametrize("text", ["see acme/shop#12", "see group/project!4", "see acme/other#3 too", "(gitlab-org/gitlab#1)"])
def test_cross_repository_references_are_neutralised(text):
    out = neutralize(text)
    assert re.search(r"[#!]\u200b\d", out), out
    assert out.replace(ZWSP, "") == text


@pytest.mark.parametrize("text", ["see shop#12", "see platform!4"])
def test_same_namespace_project_references_are_neutralised(text):
    out = neutralize(text)
    assert re.search(r"[#!]\u200b\d", out), out


@pytest.mark.parametrize("forge", FORGES)
def test_removal_comment_does_not_mention_people_named_in_the_guide_path(make_workspace, forge):
    ws = make_workspace(forge, guides=())
    name = "x` @alice #12 `.md"
    ws.write(name, PHASE_HEAD + "- [ ] Keep me\n- [ ] Remove me\n")
    assert ws.run("push").code == 0
    text = ws.read(name)
    n = next(int(m) for m in re.findall(r"Remove me \(\[#(\d+)\]", text))
    ws.write(name, "".join(l for l in text.splitlines(True) if "Remove me" not in l))
    out = ws.run("push")
    assert out.code == 0, out.text
    comments = ws.forge.comments(n)
    assert comments and not _mentions_outside_code(comments[0]), comments


# -- coverage-guided fuzzing (atheris), when it is installed --------------------------------------

ATHERIS_SEEDS = {
    "phase": b"\x00# Phase 1: Seed - Detailed Implementation Guide\n\n## Deliverables Checklist\n\n"
             b"- [ ] one @a #1 ([#3](https://github.com/acme/shop/issues/3))\n  - [x] sub\n* plain\n1. [X] num\n\n"
             b"```\n- [ ] code\n```\n> - [ ] quote\n",
    "milestone": b"\x02### Milestone 2: Two\n**Changes Required**:\n- [ ] a\n\t- b\r\n- [x] c\r\n",
}


def test_atheris_bounded_run(tmp_path):
    pytest.importorskip("atheris")
    import subprocess
    import sys

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, data in ATHERIS_SEEDS.items():
        (corpus / name).write_bytes(data)
    runs = 1000
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("fuzz_atheris.py")), f"-runs={runs}", "-seed=1", "-max_len=1024",
         f"-artifact_prefix={tmp_path}/", str(corpus)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    tail = (proc.stdout + proc.stderr)[-3000:]
    assert proc.returncode == 0, tail
    assert f"Done {runs} runs" in tail, tail
    assert not list(tmp_path.glob("crash-*")), tail
