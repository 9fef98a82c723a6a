"""Property tests: generated guides of both templates, random edits, and arbitrary text.

The generator knows where it put every task and what its first line is made of, so the expected
output of an edit is built here independently of :mod:`guidesync.writeback`.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from guidesync.core.model import IssueLink
from guidesync.core.parse import parse_guide
from guidesync.core.edit import Edit, apply_edits

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

EOLS = ("\n", "\r\n", "\r")
BREAK = re.compile(r"\r\n|\r|\n")

# -- words and lines ------------------------------------------------------------------------------

#: Words that may start a line: they never open a block (no marker, heading, fence, HTML, digit).
FIRST_WORDS = st.sampled_from(["Add", "fix", "Ship", "écrire", "Größe", "日本語", "Ωmega", "🚀", "✅done", "naïve", "e\u0301t\u00e9", "x_y", "API"])
#: Words for anywhere else on a line.
WORDS = FIRST_WORDS | st.sampled_from(
    [
        "`code`",
        "`a([#1](u))`",
        "**bold**",
        "_em_",
        "[docs](https://example.com/a_(b))",
        "(see #4)",
        "[ ]",
        "[x]",
        "#tag",
        "a:b",
        "<br>",
        "50%",
        "1.",
        "-",
        "*",
        "🎉🎉",
        "non\u00a0breaking",
        "tab\tinside",
        "([#9](https://github.com/acme/shop/issues/9)) middle",
    ]
)


@st.composite
def phrase(draw, max_words: int = 5) -> str:
    return " ".join([draw(FIRST_WORDS)] + draw(st.lists(WORDS, max_size=max_words - 1)))


def link_for(n: int, gitlab: bool) -> IssueLink:
    url = f"https://gitlab.example.com/acme/shop/-/issues/{n}" if gitlab else f"https://github.com/acme/shop/issues/{n}"
    return IssueLink(n, url)


LINKS = st.builds(link_for, st.integers(1, 99999), st.booleans())


# -- the model of a generated task ---------------------------------------------------------------


@dataclass
class Item:
    indent: str
    marker: str
    space: str
    box: str | None  # " ", "x", "X" or None for a plain bullet
    box_gap: str  # blank after the box
    text: str
    link: IssueLink | None
    lead: str  # blanks before the link
    trail: str  # blanks at the end of the line
    more: list[str] = field(default_factory=list)  # continuation lines
    subs: list[str] = field(default_factory=list)  # nested item lines

    def first_line(self, box: str | None = None, link: IssueLink | None = None, new_box: bool = False) -> str:
        box = self.box if box is None and not new_box else box
        out = self.indent + self.marker + self.space
        if box is not None:
            out += f"[{box}]" + (" " if new_box else self.box_gap)
        out += self.text
        link = link or self.link
        if link is not None:
            out += (self.lead if self.link is not None else " ") + link.markdown()
        return out + self.trail

    def expected_after(self, edit: Edit) -> str:
        """The first line after ``edit``, built from the parts, not by the code under test."""
        box, new_box = self.box, False
        if edit.checked is not None:
            if box is None:
                box, new_box = ("x" if edit.checked else " "), True
            elif (box != " ") != edit.checked:
                box = "x" if edit.checked else " "
        return self.first_line(box, edit.link, new_box)

    @property
    def content_column(self) -> int:
        col = len(self.indent) + len(self.marker)
        return (col // 4 + 1) * 4 if self.space == "\t" else col + len(self.space)


@st.composite
def items_list(draw, indented: bool) -> list[Item]:
    """One list: every item has the same marker kind, as markdown-it-py needs to keep one list."""
    kind = draw(st.sampled_from(["-", "*", "+", ".", ")"]))
    start = draw(st.integers(0, 12))
    # One indentation for the whole list: a deeper item would nest in the one above it.
    indent = draw(st.sampled_from(["", "", " ", "  "])) if indented else ""
    out = []
    for k in range(draw(st.integers(1, 5))):
        marker = kind if kind in "-*+" else f"{start + k}{kind}"
        it = Item(
            indent=indent,
            marker=marker,
            space=draw(st.sampled_from([" ", " ", " ", "  ", "\t"])),
            box=draw(st.sampled_from([None, " ", " ", "x", "X"])),
            box_gap=draw(st.sampled_from([" ", " ", "  ", "\t"])),
            text=draw(phrase()),
            link=draw(st.none() | LINKS),
            lead=draw(st.sampled_from([" ", " ", "\t", "  "])),
            trail=draw(st.sampled_from(["", "", "", " ", "  ", "\t", " \t"])),
        )
        col = it.content_column
        for _ in range(draw(st.integers(0, 2))):
            lazy = draw(st.integers(0, 4)) == 0
            it.more.append(("" if lazy else " " * col) + draw(phrase()) + draw(st.sampled_from(["", "", "  "])))
        for _ in range(draw(st.integers(0, 3))):
            pad = draw(st.sampled_from([" " * col, " " * col, "\t" if col <= 4 else " " * col]))
            sub_box = draw(st.sampled_from(["", "[ ] ", "[x] ", "[X] "]))
            deeper = draw(st.booleans()) and bool(it.subs)
            it.subs.append(pad + ("  " if deeper else "") + draw(st.sampled_from(["-", "*"])) + " " + sub_box + draw(phrase(3)))
        out.append(it)
    return out


FAKE_BLOCKS = st.sampled_from(
    [
        ["```", "- [ ] fenced fake", "- [x] fenced fake", "```"],
        ["~~~markdown", "1. [ ] tilde fake", "* plain fake", "~~~"],
        ["<div>", "- [ ] html fake", "</div>"],
        ["<!--", "- [x] commented fake", "-->"],
        ["Paragraph.", "", "    - [ ] indented code fake"],
        ["> - [ ] quoted fake"],
        ["Some paragraph between the lists."],
    ]
)


@dataclass
class Doc:
    lines: list[str]
    items: dict[int, Item]  # line index -> item, in order


class Builder:
    def __init__(self, draw):
        self.draw = draw
        self.lines: list[str] = []
        self.items: dict[int, Item] = {}

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)

    def blank(self) -> None:
        self.add(self.draw(st.sampled_from(["", "", "", "  ", "\t"])))

    def task_blocks(self) -> None:
        """Lists of tasks, with fenced code / HTML / quotes holding fake items between them."""
        for n in range(self.draw(st.integers(0, 3))):
            if n:
                self.blank()
            # Every fake block starts in column 0, so it ends the list above it; after one (or at
            # the top of the section) a list may be indented by a few spaces.
            separated = n == 0 or self.draw(st.integers(0, 2)) == 0
            if n and separated:
                self.add(*self.draw(FAKE_BLOCKS))
                self.blank()
            loose = self.draw(st.booleans())
            for k, it in enumerate(self.draw(items_list(indented=separated))):
                if k and loose:
                    self.blank()
                self.items[len(self.lines)] = it
                self.add(it.first_line(), *it.more, *it.subs)

    def other_section(self, name: str) -> None:
        self.add(f"## {name}", "")
        self.add("- [ ] " + self.draw(phrase()), "1. [x] " + self.draw(phrase()), "- plain " + self.draw(phrase()))
        self.blank()


@st.composite
def phase_doc(draw) -> Doc:
    b = Builder(draw)
    n = draw(st.integers(0, 99))
    title = draw(st.sampled_from([f"Phase {n}: Name - Detailed Implementation Guide", f"Phase {n}: Ünïcode 🚀", f"Phase {n}.5: Hotfix"]))
    b.add(f"# {title}", "", "## Overview", "", draw(phrase()), "")
    if draw(st.booleans()):
        b.add("```", "- [ ] fake in overview", "```", "")
    b.add(draw(st.sampled_from(["## Deliverables Checklist", "## ✅ Deliverables Checklist:", "## deliverables checklist"])), "")
    b.task_blocks()
    b.blank()
    b.other_section("Prerequisites")
    b.add("## Rollback Plan", "", "1. [ ] undo", "2. undo more")
    return Doc(b.lines, b.items)


@st.composite
def implementation_doc(draw) -> Doc:
    b = Builder(draw)
    b.add(f"# Implementation Guide: {draw(phrase(3))}", "", "## Overview", "", draw(phrase()), "")
    b.other_section("Background & Context")
    b.add("## Implementation Milestones", "")
    for k in range(1, draw(st.integers(1, 4)) + 1):
        b.add(f"### Milestone {k}: {draw(phrase(3))}", f"**Goal**: {draw(phrase())}", "")
        b.add(draw(st.sampled_from(["**Changes Required**:", "**Changes Required:**"])), "")
        b.task_blocks()
        b.blank()
        b.add("**Implementation Details**:", "- [ ] not a task", "")
        b.add("**Verification**:", draw(phrase()), "", "---", "")
    b.other_section("Testing Strategy")
    return Doc(b.lines, b.items)


@st.composite
def rendered(draw, doc_strategy=None):
    """(text, doc): the lines joined with random endings, maybe a BOM, maybe no final newline."""
    doc = draw(doc_strategy or (phase_doc() | implementation_doc()))
    lines = list(doc.lines)
    eols = [draw(st.sampled_from(EOLS)) for _ in lines]
    if not draw(st.booleans()):
        eols[-1] = ""  # no final newline
    for i in range(len(lines) - 1):
        # "\r" then an empty line ending in "\n" would read as one "\r\n" break.
        if eols[i] == "\r" and lines[i + 1] == "" and eols[i + 1] == "\n":
            eols[i] = "\r\n"
    bom = "\ufeff" if draw(st.integers(0, 3)) == 0 else ""
    text = bom + "".join(line + eol for line, eol in zip(lines, eols))
    return text, doc


def task_view(t):
    return (t.line, t.end_line, t.text, t.subitems, t.occurrence, t.milestone, t.key)


# -- properties ----------------------------------------------------------------------------------


@SETTINGS
@given(rendered())
def test_generated_guides_parse_to_the_generated_tasks(sample):
    text, doc = sample
    g = parse_guide(text, "docs/g.md")
    assert g is not None
    assert [t.line for t in g.tasks] == list(doc.items)
    for t, it in zip(g.tasks, doc.items.values()):
        assert t.has_box == (it.box is not None)
        assert t.checked == (it.box in ("x", "X"))
        assert t.link == it.link
        assert t.text.split("\n")[0].rstrip(" \t") == it.text
        assert len(t.subitems) == len(it.subs)
    assert not any("fake" in t.text for t in g.tasks)


@SETTINGS
@given(rendered(), st.data())
def test_edits_change_only_the_box_and_the_link(sample, data):
    text, doc = sample
    before = parse_guide(text, "docs/g.md")
    assume(before.tasks)
    chosen = data.draw(st.lists(st.sampled_from(list(doc.items)), unique=True, max_size=len(doc.items)), label="lines")
    edits = [Edit(line, data.draw(st.sampled_from([None, True, False])), data.draw(st.none() | LINKS)) for line in chosen]
    random.Random(data.draw(st.integers(0, 1000))).shuffle(edits)
    out = apply_edits(text, edits)

    # (a) Only the edited lines differ, each exactly as built from its parts; the breaks are the same.
    assert BREAK.findall(out) == BREAK.findall(text)
    old_lines, new_lines = BREAK.split(text), BREAK.split(out)
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    assert out.startswith(bom)
    by_line = {e.line: e for e in edits}
    for i, (old, new) in enumerate(zip(old_lines, new_lines)):
        if i in by_line:
            assert new == doc.items[i].expected_after(by_line[i])
        else:
            assert new == old

    # (b) The output parses to the same tasks with the new boxes and links.
    after = parse_guide(out, "docs/g.md")
    assert [task_view(t) for t in after.tasks] == [task_view(t) for t in before.tasks]
    for t0, t1 in zip(before.tasks, after.tasks):
        e = by_line.get(t0.line)
        if e is None or e.checked is None:
            assert (t1.checked, t1.has_box) == (t0.checked, t0.has_box)
        else:
            assert (t1.checked, t1.has_box) == (e.checked, True)
        assert t1.link == (e.link if e is not None and e.link is not None else t0.link)
    assert [m.description for m in after.milestones] == [m.description for m in before.milestones]

    # Writing what the guide now says is a no-op.
    assert apply_edits(out, [Edit(t.line, t.checked if t.has_box else None, t.link) for t in after.tasks]) == out


@SETTINGS
@given(rendered())
def test_no_edits_is_the_identity(sample):
    text, doc = sample
    assert apply_edits(text, []) == text
    assert apply_edits(text, [Edit(line) for line in doc.items]) == text
    # Re-stating every task's current state and link changes nothing either.
    g = parse_guide(text, "docs/g.md")
    assert apply_edits(text, [Edit(t.line, t.checked if t.has_box else None, t.link) for t in g.tasks]) == text


@SETTINGS
@given(rendered())
def test_line_endings_and_bom_do_not_change_the_model(sample):
    text, _ = sample
    lf = BREAK.sub("\n", text).lstrip("\ufeff")
    assert parse_guide(text, "g.md") == parse_guide(lf, "g.md")


# -- arbitrary text ------------------------------------------------------------------------------

MARKDOWNISH = st.sampled_from(
    [
        "# Phase 1: A\n",
        "# Implementation Guide: F\n",
        "## Deliverables Checklist\n",
        "## Implementation Milestones\n",
        "### Milestone 1: X\n",
        "### Milestone 2: Y\n",
        "**Changes Required**:\n",
        "**Goal**: g\n",
        "**Verification**:\n",
        "---\n",
        "- [ ] a\n",
        "- [x] b",
        "  - [ ] nested\n",
        "1. [ ] c\n",
        "2) d\n",
        "* [X] e ([#3](https://x/3))\n",
        "-\n",
        "- [ ]\n",
        "[ ]",
        "```\n",
        "~~~",
        "<div>\n",
        "<!--",
        "> ",
        "    ",
        "\t",
        " ",
        "\n",
        "\r\n",
        "\r",
        "\ufeff",
        "([#1](u))",
        "**",
        "Milestone",
        ":",
        "#",
        "é🚀",
    ]
)

ARBITRARY = st.text(alphabet=st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), max_size=300)
HEADS = st.sampled_from(
    [
        "",
        "# Phase 1: A\n\n## Deliverables Checklist\n\n",
        "\ufeff# Phase 1: A\r\n## Deliverables Checklist\r\n",
        "# Implementation Guide: F\n\n## Implementation Milestones\n\n### Milestone 1: M\n**Changes Required**:\n\n",
    ]
)
ITEMISH = st.sampled_from(["\n- [ ] a ", "\n- [x] b", "\n1. c", "\n* [X] d", "\n  - [ ] e", "\n- f ([#2](https://x/2))", "\n-\t[ ] g", "\n- [ ]\n"])
MARKDOWN = st.tuples(HEADS, st.lists(ITEMISH | MARKDOWNISH | st.text(max_size=4), max_size=40).map("".join)).map("".join)


@settings(max_examples=200, deadline=None)
@given(ARBITRARY)
def test_parse_never_raises_on_arbitrary_text(text):
    parse_guide(text, "g.md")
    parse_guide("# Phase 1: A\n## Deliverables Checklist\n" + text, "g.md")
    parse_guide("# Implementation Guide: F\n## Implementation Milestones\n### Milestone 1: M\n**Changes Required**:\n" + text, "g.md")


@settings(max_examples=200, deadline=None)
@given(MARKDOWN)
def test_parse_and_write_back_on_markdownish_text(text):
    g = parse_guide(text, "g.md")
    if g is None:
        return
    n_lines = len(BREAK.split(text))
    for t in g.tasks:
        assert 0 <= t.line < t.end_line <= n_lines
        assert t.text == t.text.strip() and t.text
    # Every task line can be edited, and the edits are read back.
    edits = [Edit(t.line, not t.checked, IssueLink(1000 + i, f"https://x/{1000 + i}")) for i, t in enumerate(g.tasks)]
    out = apply_edits(text, edits)
    assert BREAK.findall(out) == BREAK.findall(text)
    after = parse_guide(out, "g.md")
    assert [(t.line, t.text) for t in after.tasks] == [(t.line, t.text) for t in g.tasks]
    assert [t.checked for t in after.tasks] == [not t.checked for t in g.tasks]
    assert [t.link.number for t in after.tasks] == [1000 + i for i in range(len(g.tasks))]
