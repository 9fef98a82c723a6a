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


@dataclass(frozen=True)
class Insert:
    """A new task line after line ``after``, in the bullet, indentation and box style of line
    ``like`` (an item of the same list) and the file's own line break."""

    after: int
    like: int
    checked: bool
    text: str
    link: IssueLink


def new_item(like: str, insert: Insert) -> str:
    """The task line ``insert`` adds, styled like the item line ``like``."""
    m = ITEM_START.match(like)
    if m is None:
        raise WritebackError(f"line {insert.like + 1} is not a list item: {like[:60]!r}")
    if not plain_url(insert.link.url) or "\n" in insert.text or "\r" in insert.text:
        raise WritebackError(f"line {insert.after + 2}: refusing to write the issue link {insert.link.url[:200]!r}")
    marker = m["marker"]
    if marker[0].isdigit():  # an ordered list goes on counting
        marker = f"{int(marker[:-1]) + 1}{marker[-1]}"
    box = "[x]" if insert.checked else "[ ]"
    return f"{m['indent']}{marker} {box} {insert.text} {insert.link.markdown()}"


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


def apply_edits(text: str, edits: Iterable[Edit | Insert]) -> str:
    """Return ``text`` with the edits applied; every other character is kept as it was. Inserts
    after one line go in the order given."""
    by_line: dict[int, list[Edit]] = {}
    inserts: dict[int, list[Insert]] = {}
    for e in edits:
        if isinstance(e, Insert):
            inserts.setdefault(e.after, []).append(e)
        else:
            by_line.setdefault(e.line, []).append(e)
    if not by_line:
        return _inserted(text, inserts) if inserts else text
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
    # then the new lines, at the file's line numbers as they were
    return _inserted("".join(out), inserts) if inserts else "".join(out)


def _inserted(text: str, inserts: dict[int, list[Insert]]) -> str:
    """``text`` with the new lines (no other edit: their line numbers are the file's as it was)."""
    lines = LINE_BREAK.split(text)
    breaks = LINE_BREAK.findall(text)
    for after in sorted(inserts, reverse=True):
        if not 0 <= after < len(lines) or any(not 0 <= i.like < len(lines) for i in inserts[after]):
            raise WritebackError(f"line {after + 1} is past the end of the file")
        newline = breaks[after] if after < len(breaks) else (breaks[0] if breaks else "\n")
        added, like = [], lines[inserts[after][0].like]
        for ins in inserts[after]:
            like = new_item(like, ins)
            added.append(like)
        lines[after + 1:after + 1] = added
        breaks[after:after] = [newline] * len(added)
    return lines[0] + "".join(brk + line for brk, line in zip(breaks, lines[1:]))
