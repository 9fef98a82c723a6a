"""Edits to a guide's text: its task lines' boxes and links, and nothing else. Pure (text in, text out);
:mod:`guidesync.writeback` puts the result on disk.

:func:`apply_edits` rewrites only the checkbox and the issue link of the lines it is given, byte for
byte leaving the rest (line endings, BOM, blanks, tabs, final newline) alone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from .model import IssueLink, plain_url
from .parse import ITEM_START, LINE_BREAK, link_at_end


class WritebackError(Exception):
    """An edit that cannot be applied, or a file that cannot be written safely."""


@dataclass(frozen=True)
class Edit:
    """Change one task line: its box (None: leave it) and/or its issue link (None: leave it)."""

    line: int
    checked: bool | None = None
    link: IssueLink | None = None
    append: bool = False  # the line ends with another repository's link: ours goes after it


def edit_line(line: str, edit: Edit) -> str:
    """Apply one edit to the text of one line (without its line ending)."""
    m = ITEM_START.match(line)
    if m is None:
        raise WritebackError(f"line {edit.line + 1} is not a list item: {line[:60]!r}")
    if edit.checked is not None:
        if m["box"] is not None:
            pos = m.start("box") + 1
            current = line[pos] != " "
            if current != edit.checked:
                line = line[:pos] + ("x" if edit.checked else " ") + line[pos + 1 :]
        else:
            pos = m.end("space")
            if pos == m.end("marker"):  # "-" alone at the end of the line
                line = line[:pos] + " "
                pos += 1
            line = line[:pos] + ("[x] " if edit.checked else "[ ] ") + line[pos:]
    if edit.link is not None:
        if not plain_url(edit.link.url):
            raise WritebackError(f"line {edit.line + 1}: refusing to write the issue link {edit.link.url[:200]!r} "
                                 "(not a plain URL: whitespace, parentheses or control characters)")
        new = edit.link.markdown()
        lm = None if edit.append else link_at_end(line)
        if lm is not None:
            start = lm.start("lead") + len(lm["lead"])
            end = lm.start("trail")
            line = line[:start] + new + line[end:]
        else:
            body_end = len(line.rstrip(" \t"))
            backslashes = len(line[:body_end]) - len(line[:body_end].rstrip("\\"))
            if backslashes % 2:  # a hard break: the link goes before it, as before trailing blanks
                body_end = len(line[: body_end - 1].rstrip(" \t"))
            line = line[:body_end] + " " + new + line[body_end:]
    return line


def apply_edits(text: str, edits: Iterable[Edit]) -> str:
    """Return ``text`` with the edits applied; every other character is kept as it was."""
    by_line: dict[int, list[Edit]] = {}
    for e in edits:
        by_line.setdefault(e.line, []).append(e)
    if not by_line:
        return text
    out: list[str] = []
    pos = 0
    line_no = 0
    breaks = LINE_BREAK.finditer(text)
    while True:
        brk = next(breaks, None)
        end = brk.start() if brk else len(text)
        if line_no in by_line:
            line = text[pos:end]
            for e in by_line.pop(line_no):
                line = edit_line(line, e)
            out.append(line)
        else:
            out.append(text[pos:end])
        if brk is None:
            break
        out.append(brk.group())
        pos = brk.end()
        line_no += 1
    if by_line:
        raise WritebackError(f"line {min(by_line) + 1} is past the end of the file")
    return "".join(out)
