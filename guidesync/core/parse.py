"""Guide text -> :class:`~guidesync.core.model.Guide`. Pure: a string in, a value out, no I/O.

The structure comes from markdown-it-py block tokens and their ``map`` line spans; the source lines
are only looked at to locate the checkbox and the issue link on an item's first line.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

from markdown_it import MarkdownIt
from markdown_it.token import Token

from .model import Guide, GuideKind, IssueLink, Milestone, Problem, SubItem, Task


@dataclass(frozen=True)
class Sections:
    """Which headings and labels hold what. Compared after :func:`normalize_label`."""

    phase_tasks: tuple[str, ...] = ("Deliverables Checklist",)
    phase_description: tuple[str, ...] = ("Overview",)
    milestones: tuple[str, ...] = ("Implementation Milestones",)
    milestone_tasks: tuple[str, ...] = ("Changes Required",)
    milestone_description: tuple[str, ...] = ("Goal", "Verification")

    def normalized(self, name: str) -> frozenset[str]:
        return frozenset(normalize_label(x) for x in getattr(self, name))


DEFAULT_SECTIONS = Sections()

PHASE_TITLE = re.compile(
    r"^Phase\s+(?P<number>[^\s:]+)\s*:\s*(?P<name>.+?)(?:\s+[-–—]+\s+Detailed\s+Implementation\s+Guide)?\s*$",
    re.IGNORECASE,
)
IMPLEMENTATION_TITLE = re.compile(r"^Implementation\s+Guide\s*:\s*(?P<feature>.+?)\s*$", re.IGNORECASE)
MILESTONE_HEADING = re.compile(r"^Milestone\s+(?P<number>[^\s:]+)\s*:\s*(?P<name>.+?)\s*$", re.IGNORECASE)
BOLD_LABEL = re.compile(r"^(?:\*\*|__)(?P<label>[^*_\n]+?)(?:\*\*|__)")

#: The start of a list item's first line: indentation, marker, spacing, optional box. Like
#: markdown-it-py, a box counts only when a blank follows it on the same line ("- [ ]" alone is text).
ITEM_START = re.compile(r"^(?P<indent>[ \t]*)(?P<marker>[-*+]|\d{1,9}[.)])(?P<space>[ \t]+|$)(?P<box>\[[ xX]\](?=[ \t]))?")
#: The issue link guidesync owns at the end of an item's first line (before trailing blanks).
#: A backslash hard break after the link stays after it (``text ([#1](…))\\``).
LINK_AT_END = re.compile(r"(?P<lead>[ \t]*)\(\[#(?P<number>\d+)\]\((?P<url>[^()\s]+)\)\)(?P<trail>[ \t]*(?:\\[ \t]*)?)$")
#: An item whose only text is a box that markdown-it did not take as one (``- [ ]`` alone).
EMPTY_BOX = re.compile(r"^\[[ xX]\]$")

LINE_BREAK = re.compile(r"\r\n|\r|\n")

#: markdown-it-py stops reading a document silently where blocks nest deeper than this; a guide
#: that comes near it is refused (see _Builder.__init__) rather than read without its tail.
MAX_NESTING = 100
# The inline phase is switched off: guidesync reads block structure, boxes and the raw inline
# source (``Token.content``), never the inline children, and skipping them halves the parse time.
_md = MarkdownIt("commonmark", {"tasklists": True, "maxNesting": MAX_NESTING}).disable("inline")


def normalize_label(text: str) -> str:
    """Case- and decoration-insensitive form of a heading or label ("✅ Deliverables Checklist:")."""
    return " ".join(re.sub(r"[^\w\s]", " ", text).split()).casefold()


def split_lines(text: str) -> list[str]:
    """Lines without their endings, split exactly where markdown-it-py breaks lines."""
    return LINE_BREAK.split(text)


def front_matter_lines(lines: Sequence[str]) -> int:
    """Number of lines taken by a YAML front matter block at the top (0 if none)."""
    if not lines or lines[0].lstrip("\ufeff").rstrip() != "---":
        return 0
    for i in range(1, len(lines)):
        if lines[i].rstrip() in ("---", "..."):
            return i + 1
    return 0


def parse_guide(text: str, path: str, sections: Sections = DEFAULT_SECTIONS) -> Guide | None:
    """Parse one guide. Returns None when the text follows neither template (not a guide)."""
    lines = split_lines(text)
    skip = front_matter_lines(lines)
    body = text[1:] if text.startswith("\ufeff") else text
    if skip:
        # Blank the front matter so token line numbers stay those of the file.
        rest = LINE_BREAK.split(body, maxsplit=skip)[-1] if len(lines) > skip else ""
        body = "\n" * skip + rest
    tokens = _md.parse(body)
    title, title_line = _first_h1(tokens)
    if title is None:
        return None
    if m := PHASE_TITLE.match(title):
        return _Builder(path, lines, tokens, sections).phase(m, title_line)
    if m := IMPLEMENTATION_TITLE.match(title):
        return _Builder(path, lines, tokens, sections).implementation(m)
    return None


def _first_h1(tokens: list[Token]) -> tuple[str | None, int]:
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open" and tok.level == 0 and tok.tag == "h1":
            return tokens[i + 1].content.strip(), tok.map[0] if tok.map else 0
    return None, 0


class _Builder:
    """One pass over the tokens of one guide."""

    def __init__(self, path: str, lines: list[str], tokens: list[Token], sections: Sections):
        self.path = path
        self.lines = lines
        self.tokens = tokens
        self.sections = sections
        self.problems: list[Problem] = []
        deep = next((t for t in tokens if t.level >= MAX_NESTING - 1), None)
        if deep is not None:
            line = next((t.map[0] for t in reversed(tokens[: tokens.index(deep) + 1]) if t.map), None)
            self._error(line, f"lists or quotes nest too deep here (about {MAX_NESTING // 2} levels): the rest of "
                              "the guide cannot be read, so it is not synced")

    # -- the two templates -------------------------------------------------------------------

    def phase(self, m: re.Match[str], title_line: int) -> Guide:
        title = f"Phase {m['number']}: {m['name']}"
        key = f"{self.path}#phase"
        task_names = self.sections.normalized("phase_tasks")
        desc_names = self.sections.normalized("phase_description")
        tasks: list[Task] = []
        description: list[str] = []
        found = False
        seen: Counter[str] = Counter()
        for heading, start, end in self._sections(level=2):
            name = normalize_label(heading)
            if name in task_names:
                found = True
                tasks += self._tasks_in(start, end, key, seen)
            elif name in desc_names and not description:
                description.append(self._source(start, end))
        if not found:
            self._warn(title_line, f"no {self.sections.phase_tasks[0]!r} section: the phase has no tasks")
        elif not tasks:
            self._warn(title_line, f"the {self.sections.phase_tasks[0]!r} section has no items")
        milestone = Milestone(key, title, "\n\n".join(description).strip(), title_line, tuple(tasks))
        return self._guide(m.string, GuideKind.PHASE, (milestone,))

    def implementation(self, m: re.Match[str]) -> Guide:
        feature = m["feature"]
        milestones: list[Milestone] = []
        seen: dict[str, int] = {}
        found = False
        milestone_names = self.sections.normalized("milestones")
        for heading, start, end in self._sections(level=2):
            if normalize_label(heading) not in milestone_names:
                continue
            found = True
            before = len(milestones)
            for sub, sub_start, sub_end in self._sections(level=3, start=start, end=end):
                mm = MILESTONE_HEADING.match(re.sub(r"^[^\w]+", "", sub))  # "🚀 Milestone 1: …" too
                line = self._line_of(sub_start - 1)
                if not mm:
                    self._warn(line, f"heading {sub!r} is not of the form 'Milestone N: Name'; it is skipped")
                    continue
                number = mm["number"]
                if number in seen:
                    self._error(line, f"milestone {number} appears twice (first at line {seen[number] + 1})")
                    continue
                seen[number] = line
                key = f"{self.path}#milestone-{number}"
                tasks, description = self._milestone_body(sub_start, sub_end, key, line, mm.string)
                title = f"{feature} - Milestone {number}: {mm['name']}"
                milestones.append(Milestone(key, title, description, line, tuple(tasks)))
            if len(milestones) == before:
                self._warn(self._line_of(start - 1), f"the {heading!r} section has no 'Milestone N: Name' headings")
        if not found:
            self._warn(0, f"no {self.sections.milestones[0]!r} section: the guide has no milestones")
        return self._guide(m.string, GuideKind.IMPLEMENTATION, tuple(milestones))

    def _milestone_body(self, start: int, end: int, key: str, line: int, heading: str) -> tuple[list[Task], str]:
        """Tasks under the 'Changes Required' label and the description labels' text."""
        task_labels = self.sections.normalized("milestone_tasks")
        desc_labels = self.sections.normalized("milestone_description")
        tasks: list[Task] = []
        described: list[str] = []
        has_label = False
        seen: Counter[str] = Counter()
        blocks = self._label_blocks(start, end)
        for label, block_start, block_end, first_line, last_line in blocks:
            if label in task_labels:
                has_label = True
                tasks += self._tasks_in(block_start, block_end, key, seen)
            elif label in desc_labels:
                described.append("\n".join(self.lines[first_line:last_line]).strip())
        if not has_label:
            self._warn(line, f"{heading!r} has no '**{self.sections.milestone_tasks[0]}**:' list")
        elif not tasks:
            self._warn(line, f"the '**{self.sections.milestone_tasks[0]}**:' list of {heading!r} has no items")
        return tasks, "\n\n".join(described)

    # -- token walking ----------------------------------------------------------------------

    def _sections(self, level: int, start: int = 0, end: int | None = None):
        """(heading text, first token after the heading, end token) for headings of one level."""
        toks = self.tokens
        end = len(toks) if end is None else end
        tag = f"h{level}"
        current: tuple[str, int] | None = None
        i = start
        while i < end:
            tok = toks[i]
            if tok.type == "heading_open" and tok.level == 0 and int(tok.tag[1]) <= level:
                if current is not None:
                    yield current[0], current[1], i
                    current = None
                if tok.tag == tag:
                    current = (toks[i + 1].content.strip(), i + 3)
                i += 3
                continue
            i += 1
        if current is not None:
            yield current[0], current[1], end

    def _label_blocks(self, start: int, end: int):
        """Split a milestone's tokens at bold-label paragraphs (``**Goal**: …``).

        Yields (normalized label, first token after the label paragraph, end token, first source
        line of the label paragraph, source line where the block ends)."""
        toks = self.tokens
        found: list[tuple[str, int, int]] = []  # label, token index of paragraph_open, its line
        for i in range(start, end):
            tok = toks[i]
            if tok.type == "paragraph_open" and tok.level == 0:
                lm = BOLD_LABEL.match(toks[i + 1].content)
                if lm:
                    found.append((normalize_label(lm["label"]), i, tok.map[0] if tok.map else 0))
        end_line = self._end_line(start, end)
        for n, (label, i, line) in enumerate(found):
            block_end = found[n + 1][1] if n + 1 < len(found) else end
            last_line = found[n + 1][2] if n + 1 < len(found) else end_line
            yield label, i + 3, block_end, line, last_line

    def _end_line(self, start: int, end: int) -> int:
        """Line after the last top-level block between two token indexes, not counting trailing
        thematic breaks (the ``---`` that separates milestones is no part of the text above it)."""
        for i in range(end - 1, start - 1, -1):
            tok = self.tokens[i]
            if tok.map and tok.level == 0 and tok.type != "hr":
                return tok.map[1]
        return len(self.lines)

    def _tasks_in(self, start: int, end: int, milestone: str, seen: Counter[str]) -> list[Task]:
        """Every top-level item of the top-level lists between two token indexes.

        ``seen`` counts task texts over the whole milestone (for :attr:`Task.occurrence`)."""
        toks = self.tokens
        tasks: list[Task] = []
        i = start
        while i < end:
            tok = toks[i]
            if tok.level == 0 and tok.type in ("bullet_list_open", "ordered_list_open"):
                i = self._list(i, milestone, tasks, seen)
                continue
            i += 1
        return tasks

    def _list(self, i: int, milestone: str, out: list[Task], seen: Counter[str]) -> int:
        """Read one top-level list starting at token i; return the index after its close."""
        toks = self.tokens
        close = toks[i].type.replace("_open", "_close")
        i += 1
        while toks[i].type != close or toks[i].level != 0:
            if toks[i].type == "list_item_open" and toks[i].level == 1:
                i = self._item(i, milestone, out, seen)
            else:
                i += 1
        return i + 1

    def _item(self, i: int, milestone: str, out: list[Task], seen: Counter[str]) -> int:
        toks = self.tokens
        item = toks[i]
        level = item.level
        first, last = item.map or (0, 0)
        text = ""
        subitems: list[SubItem] = []
        j = i + 1
        depth = 0
        first_inline = True
        while not (toks[j].type == "list_item_close" and toks[j].level == level):
            tok = toks[j]
            if tok.type in ("bullet_list_open", "ordered_list_open"):
                depth += 1
            elif tok.type in ("bullet_list_close", "ordered_list_close"):
                depth -= 1
            elif tok.type == "list_item_open" and depth > 0:
                sub_text = _first_inline(toks, j)
                subitems.append(SubItem(sub_text, tok.meta.get("checked"), depth))
            elif tok.type == "inline" and first_inline and depth == 0:
                first_inline = False
                if toks[j - 1].type == "paragraph_open" and toks[j - 1].map and toks[j - 1].map[0] == first:
                    text = tok.content
            j += 1
        while last > first + 1 and not self.lines[last - 1].strip():
            last -= 1  # markdown-it-py counts the blank lines after an item as part of it
        line = self.lines[first] if first < len(self.lines) else ""
        link = None
        lm = LINK_AT_END.search(line)
        if lm:
            link = IssueLink(int(lm["number"]), lm["url"])
            head, sep, tail = text.partition("\n")
            tm = LINK_AT_END.search(head)
            if tm:  # keep the blanks after the link: "a  \nb" must read the same linked or not
                text = head[: tm.start()] + tm["trail"] + sep + tail
        text = text.strip()
        checked = item.meta.get("checked")
        start_m = ITEM_START.match(line)
        has_box = checked is not None and start_m is not None and start_m["box"] is not None
        if not text or EMPTY_BOX.match(text):
            self._warn(first, "list item has no text; it is not a task")
        else:
            norm = " ".join(text.split())
            out.append(
                Task(
                    guide=self.path,
                    milestone=milestone,
                    text=text,
                    checked=bool(checked) if has_box else False,
                    has_box=has_box,
                    line=first,
                    end_line=last,
                    link=link,
                    subitems=tuple(subitems),
                    occurrence=seen[norm],
                )
            )
            seen[norm] += 1
        return j + 1

    # -- helpers ----------------------------------------------------------------------------

    def _guide(self, title: str, kind: GuideKind, milestones: tuple[Milestone, ...]) -> Guide:
        links: dict[str, int] = {}
        for ms in milestones:
            for t in ms.tasks:
                if t.link is None:
                    continue
                if t.link.url in links:
                    self._error(t.line, f"issue #{t.link.number} is linked twice (also at line {links[t.link.url] + 1})")
                else:
                    links[t.link.url] = t.line
        return Guide(self.path, title, kind, milestones, tuple(self.problems))

    def _source(self, start: int, end: int) -> str:
        first = next((t.map[0] for t in self.tokens[start:end] if t.map and t.level == 0 and t.type != "hr"), None)
        if first is None:
            return ""
        return "\n".join(self.lines[first : self._end_line(start, end)]).strip()

    def _line_of(self, token_index: int) -> int:
        for k in range(token_index, -1, -1):
            if self.tokens[k].map:
                return self.tokens[k].map[0]
        return 0

    def _warn(self, line: int | None, message: str) -> None:
        self.problems.append(Problem(self.path, line, message, "warning"))

    def _error(self, line: int | None, message: str) -> None:
        self.problems.append(Problem(self.path, line, message, "error"))


def _first_inline(toks: list[Token], i: int) -> str:
    """Text of the first paragraph of the list item opening at token i."""
    if i + 2 < len(toks) and toks[i + 1].type == "paragraph_open" and toks[i + 2].type == "inline":
        return toks[i + 2].content.strip()
    return ""
