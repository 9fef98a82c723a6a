"""Guide text -> :class:`~guidesync.core.model.Guide`. Pure: a string in, a value out, no I/O.

The structure comes from markdown-it-py block tokens and their ``map`` line spans; the source lines
are only looked at to locate the checkbox and the issue link on an item's first line.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, replace
from typing import Sequence

from markdown_it import MarkdownIt
from markdown_it.token import Token

from .fields import DATE_EMOJI, MILESTONE_KEYS, may_hold_fields, read_fields, valid_day
from .model import NO_FIELDS, Fields, Guide, GuideKind, IssueLink, Milestone, Problem, SubItem, Task


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
#: Fields written after the link (``([#1](…)) [due:: 2026-12-18]``): the link still counts as at the end.
TRAILING_FIELDS = re.compile(rf"(?:[ \t]*(?:\[[A-Za-z][\w-]{{0,39}}::[^\[\]\n]*\]|(?:{DATE_EMOJI})[ \t]*\d{{4}}-\d{{2}}-\d{{2}}))+[ \t]*$")


def link_at_end(line: str) -> re.Match[str] | None:
    """The issue link guidesync owns on a task line: at its end, or followed only by fields."""
    m = LINK_AT_END.search(line)
    if m is None and may_hold_fields(line):
        t = TRAILING_FIELDS.search(line)
        if t is not None and t.start() > 0:
            m = LINK_AT_END.search(line, 0, t.start())
    return m


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


@dataclass(frozen=True)
class Hierarchy:
    """Nested checkbox items become tasks of their own (sub-issues), within the tracker's limits:
    ``max_depth`` levels below a top-level task, ``max_children`` direct sub-items per task."""

    max_depth: int
    max_children: int = 100


#: the trackers' documented limits: GitHub nests sub-issues 8 levels deep (the top task and 7 below
#: it), 100 per parent; a GitLab task cannot have children, so one level below an issue.
HIERARCHY = {"github": Hierarchy(max_depth=7), "gitlab": Hierarchy(max_depth=1)}


def parse_guide(text: str, path: str, sections: Sections = DEFAULT_SECTIONS,
                hierarchy: Hierarchy | None = None) -> Guide | None:
    """Parse one guide. Returns None when the text follows neither template (not a guide).
    ``hierarchy``: nested checkbox items become tasks of their own (None: they stay sub-items)."""
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
    bare, fields, said = read_fields(title, MILESTONE_KEYS)
    if m := PHASE_TITLE.match(bare.strip()):
        builder = _Builder(path, lines, tokens, sections, hierarchy)
        builder._said(title_line, said)
        return builder.phase(m, title_line, fields)
    if m := IMPLEMENTATION_TITLE.match(title):
        return _Builder(path, lines, tokens, sections, hierarchy).implementation(m)
    return None


def _first_h1(tokens: list[Token]) -> tuple[str | None, int]:
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open" and tok.level == 0 and tok.tag == "h1":
            return tokens[i + 1].content.strip(), tok.map[0] if tok.map else 0
    return None, 0


class _Builder:
    """One pass over the tokens of one guide."""

    def __init__(self, path: str, lines: list[str], tokens: list[Token], sections: Sections,
                 hierarchy: Hierarchy | None = None):
        self.path = path
        self.hierarchy = hierarchy
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

    def phase(self, m: re.Match[str], title_line: int, fields: Fields = NO_FIELDS) -> Guide:
        title = f"Phase {m['number']}: {m['name']}"
        key = f"{self.path}#phase"
        task_names = self.sections.normalized("phase_tasks")
        desc_names = self.sections.normalized("phase_description")
        tasks: list[Task] = []
        description: list[str] = []
        found = False
        seen: Counter[str] = Counter()
        first_h2 = next((i for i, t in enumerate(self.tokens) if t.type == "heading_open" and t.level == 0
                         and t.tag in ("h1", "h2") and (t.map or (0,))[0] > title_line), len(self.tokens))
        fields = self._dated(fields, self._label_blocks(0, first_h2))
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
        milestone = Milestone(key, title, "\n\n".join(description).strip(), title_line, tuple(tasks), fields)
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
                line = self._line_of(sub_start - 1)
                sub, fields, said = read_fields(sub, MILESTONE_KEYS)
                sub = sub.strip()
                mm = MILESTONE_HEADING.match(re.sub(r"^[^\w]+", "", sub))  # "🚀 Milestone 1: …" too
                if not mm:
                    self._warn(line, f"heading {sub!r} is not of the form 'Milestone N: Name'; it is skipped")
                    continue
                number = mm["number"]
                if number in seen:
                    self._error(line, f"milestone {number} appears twice (first at line {seen[number] + 1})")
                    continue
                seen[number] = line
                self._said(line, said)
                key = f"{self.path}#milestone-{number}"
                tasks, description = self._milestone_body(sub_start, sub_end, key, line, mm.string)
                own_end = next((i for i in range(sub_start, sub_end) if self.tokens[i].type == "heading_open"
                                and self.tokens[i].level == 0), sub_end)
                fields = self._dated(fields, self._label_blocks(sub_start, own_end))
                title = f"{feature} - Milestone {number}: {mm['name']}"
                milestones.append(Milestone(key, title, description, line, tuple(tasks), fields))
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

    def _item(self, i: int, milestone: str, out: list[Task], seen: Counter[str], depth: int = 0) -> int:
        """Read the list item opening at token i into ``out`` (with its child tasks after it when
        sub-issues are on); return the index after its close."""
        toks = self.tokens
        item = toks[i]
        level = item.level
        first, last = item.map or (0, 0)
        text = ""
        subitems: list[SubItem] = []
        children: list[Task] = []
        j = i + 1
        nest = 0
        first_inline = True
        while not (toks[j].type == "list_item_close" and toks[j].level == level):
            tok = toks[j]
            if tok.type in ("bullet_list_open", "ordered_list_open"):
                nest += 1
            elif tok.type in ("bullet_list_close", "ordered_list_close"):
                nest -= 1
            elif tok.type == "list_item_open" and nest == 1 and self._child_task(tok, depth, children):
                j = self._item(j, milestone, children, seen, depth + 1)
                continue
            elif tok.type == "list_item_open" and nest > 0:
                sub_text = _first_inline(toks, j)
                subitems.append(SubItem(sub_text, tok.meta.get("checked"), nest))
            elif tok.type == "inline" and first_inline and nest == 0:
                first_inline = False
                if toks[j - 1].type == "paragraph_open" and toks[j - 1].map and toks[j - 1].map[0] == first:
                    text = tok.content
            j += 1
        while last > first + 1 and not self.lines[last - 1].strip():
            last -= 1  # markdown-it-py counts the blank lines after an item as part of it
        task = self._task(item, first, last, text, milestone, subitems, seen, depth)
        if task is not None:
            out.append(task)
            out.extend(replace(c, parent=task.key) if c.depth == depth + 1 else c for c in children)
        elif children:
            self._warn(first, "the items under this one are not sub-issues: it is not a task")
            out.extend(replace(c, parent=None, depth=0) if c.depth == depth + 1 else c for c in children)
        return j + 1

    def _child_task(self, tok: Token, depth: int, children: list[Task]) -> bool:
        """Does the nested item opening at ``tok`` become a task of its own (a sub-issue)? Only with
        a checkbox, with sub-issues on, within the tracker's depth and per-parent limits."""
        if self.hierarchy is None or tok.meta.get("checked") is None:
            return False
        line = tok.map[0] if tok.map else None
        if depth + 1 > self.hierarchy.max_depth:
            self._warn(line, f"sub-items nest deeper than {self.hierarchy.max_depth + 1} levels here, more than the "
                             "tracker allows: this one stays in its parent's issue body")
            return False
        direct = sum(1 for c in children if c.depth == depth + 1)
        if direct >= self.hierarchy.max_children:
            self._warn(line, f"more than {self.hierarchy.max_children} sub-items under one task, more than the "
                             "tracker allows: this one stays in its parent's issue body")
            return False
        return True

    def _task(self, item: Token, first: int, last: int, text: str, milestone: str, subitems: list[SubItem],
              seen: Counter[str], depth: int) -> Task | None:
        line = self.lines[first] if first < len(self.lines) else ""
        link = None
        lm = link_at_end(line)
        if lm:
            link = IssueLink(int(lm["number"]), lm["url"])
            head, sep, tail = text.partition("\n")
            tm = link_at_end(head)
            if tm:  # keep the blanks after the link: "a  \nb" must read the same linked or not
                text = head[: tm.start()] + tm["trail"] + head[tm.end():] + sep + tail
        fields = NO_FIELDS
        if may_hold_fields(text):
            head, sep, tail = text.partition("\n")
            head, fields, said = read_fields(head)
            self._said(first, said)
            text = head.strip() + sep + tail if head.strip() or not sep else tail
        text = text.strip()
        checked = item.meta.get("checked")
        start_m = ITEM_START.match(line)
        has_box = checked is not None and start_m is not None and start_m["box"] is not None
        if not text or EMPTY_BOX.match(text):
            self._warn(first, "list item has no text; it is not a task")
            return None
        norm = " ".join(text.split())
        task = Task(guide=self.path, milestone=milestone, text=text, checked=bool(checked) if has_box else False,
                    has_box=has_box, line=first, end_line=last, link=link, subitems=tuple(subitems),
                    occurrence=seen[norm], depth=depth, fields=fields)
        seen[norm] += 1
        return task

    # -- fields -----------------------------------------------------------------------------

    def _said(self, line: int | None, said: list[tuple[str, str]]) -> None:
        for severity, message in said:
            self.problems.append(Problem(self.path, line, message, severity))

    def _dated(self, fields: Fields, blocks) -> Fields:
        """A milestone's fields with the dates of its ``**Due**:`` / ``**Start**:`` label paragraphs."""
        for label, block_start, _end, first_line, _last in blocks:
            name = {"due": "due", "start": "start", "due date": "due", "start date": "start"}.get(label)
            if name is None:
                continue
            inline = self.tokens[block_start - 2].content
            value = BOLD_LABEL.sub("", inline, count=1).split("\n", 1)[0].strip().lstrip(":").strip()
            if getattr(fields, name) is not None:
                self._warn(first_line, f"the {name} date is given twice; the first is used")
            elif not valid_day(value):
                self._error(first_line, f"**{label.capitalize()}**: {value!r} is not a day (YYYY-MM-DD)")
            else:
                fields = replace(fields, **{name: value})
        return fields

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
