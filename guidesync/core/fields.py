"""Fields written in a guide: ``[key:: value]`` on a task's first line or a milestone's heading
(the inline-field syntax of Dataview and Obsidian Tasks), Obsidian Tasks' emoji dates, and the
template's ``**Due**:`` / ``**Start**:`` labels. Pure.

Fields are no part of a title: the parser reads them off the text, and the issue body shows them.
A key this module does not know stays in the text as it was written (lint warns).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Iterable

from .model import NO_FIELDS, Fields, Guide, Problem

#: ``[key:: value]``: a key of letters, digits, ``-`` and ``_``; a value without brackets.
FIELD = re.compile(r"(?P<lead>[ \t]*)\[(?P<key>[A-Za-z][\w-]{0,39})::[ \t]*(?P<value>[^\[\]\n]*?)[ \t]*\]")
#: Obsidian Tasks' date emoji: due (📅, also 📆 and 🗓) and start (🛫).
DATE_EMOJI = "\U0001F4C5|\U0001F4C6|\U0001F5D3\uFE0F?|\U0001F6EB"
EMOJI_DATE = re.compile(rf"(?P<lead>[ \t]*)(?P<emoji>{DATE_EMOJI})[ \t]*"
                        r"(?P<value>\d{4}-\d{2}-\d{2})")
_EMOJI_KEY = {"\U0001F6EB": "start"}  # every other date emoji says when it is due
#: what a text holding a field has somewhere: a quick test before the regular expressions run
_HINTS = ("::", "\U0001F4C5", "\U0001F4C6", "\U0001F5D3", "\U0001F6EB")


def may_hold_fields(text: str) -> bool:
    return any(h in text for h in _HINTS)


#: the code spans of a line, where nothing is a field
_CODE = re.compile(r"(`+).*?(?<!`)\1(?!`)")
#: a task's or milestone's id, as ``blocked-by`` names it
ID = re.compile(r"^[A-Za-z0-9][\w.-]{0,63}$")

TASK_KEYS = {"assignee": "assignees", "assignees": "assignees", "labels": "labels", "label": "labels",
             "due": "due", "start": "start", "id": "id", "blocked-by": "blocked_by", "blocked_by": "blocked_by"}
MILESTONE_KEYS = {"due": "due", "start": "start"}


def _names(value: str) -> tuple[str, ...]:
    out: list[str] = []
    for part in value.split(","):
        name = part.strip().lstrip("@").strip()
        if name and name not in out:
            out.append(name)
    return tuple(out)


def valid_day(value: str) -> bool:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def read_fields(line: str, keys: dict[str, str] = TASK_KEYS) -> tuple[str, Fields, list[tuple[str, str]]]:
    """(the line without the fields it holds, the fields, problems as (severity, message)).

    Only keys of ``keys`` are taken off the line; an unknown key stays (a warning). A value that
    is wrong (a day that is no day, an id of odd characters) is an error; a key given twice keeps
    the first (a warning)."""
    if not may_hold_fields(line):
        return line, NO_FIELDS, []
    code = [(m.start(), m.end()) for m in _CODE.finditer(line)] if "`" in line else []
    found: list[tuple[int, int, str, str, str]] = []  # start, end, written key, field name, value
    problems: list[tuple[str, str]] = []

    def in_code(pos: int) -> bool:
        return any(a <= pos < b for a, b in code)

    taken: list[tuple[int, int]] = []  # every [key:: value], known or not: no emoji date inside one
    for m in FIELD.finditer(line):
        if in_code(m.start("key")):
            continue
        taken.append((m.start(), m.end()))
        name = keys.get(m["key"].lower())
        if name is None:
            problems.append(("warning", f"unknown field {m['key']!r} is kept as text (known: "
                                        f"{', '.join(sorted(set(keys)))})"))
            continue
        found.append((m.start(), m.end(), m["key"], name, m["value"]))
    for m in EMOJI_DATE.finditer(line):
        name = _EMOJI_KEY.get(m["emoji"][0], "due")
        if in_code(m.start("emoji")) or name not in keys.values() or any(a <= m.start("emoji") < b for a, b in taken):
            continue
        found.append((m.start(), m.end(), m["emoji"], name, m["value"]))
    if not found:
        return line, NO_FIELDS, problems
    found.sort()
    values: dict[str, object] = {}
    for start, _end, written, name, value in found:
        if name in values:
            problems.append(("warning", f"field {written!r} is given twice; the first is used"))
            continue
        parsed = _value(name, value, written, problems)
        if parsed is not None:
            values[name] = parsed
    text = _without(line, [(s, e) for s, e, *_ in found])
    return text, Fields(**values), problems  # type: ignore[arg-type]


def _value(name: str, value: str, written: str, problems: list[tuple[str, str]]) -> object | None:
    if name in ("due", "start"):
        if not valid_day(value.strip()):
            problems.append(("error", f"field {written!r}: {value.strip()!r} is not a day (YYYY-MM-DD)"))
            return None
        return value.strip()
    if name == "id":
        if not ID.match(value.strip()):
            problems.append(("error", f"field {written!r}: {value.strip()!r} is not an id (letters, digits, "
                                      "'-', '_' and '.', at most 64)"))
            return None
        return value.strip()
    names = _names(value)
    if name == "blocked_by":
        bad = [n for n in names if not ID.match(n)]
        if bad:
            problems.append(("error", f"field {written!r}: {bad[0]!r} is not an id"))
            return None
    if name == "labels":
        bad = [n for n in names if len(n) > 50]
        if bad:
            problems.append(("error", f"field {written!r}: label {bad[0][:20]!r}… is longer than 50 characters"))
            return None
    return names


def _without(line: str, spans: list[tuple[int, int]]) -> str:
    """``line`` with the spans cut out, keeping what is between them (the caller strips the ends)."""
    out: list[str] = []
    pos = 0
    for start, end in spans:
        out.append(line[pos:start])
        pos = end
    out.append(line[pos:])
    return "".join(out)


# ------------------------------------------------------------------ across guides

def check_ids(guides: Iterable[Guide]) -> list[Problem]:
    """Ids unique in the repository, ``blocked-by`` naming ids that exist, no task blocked by itself,
    no cycle. Errors, each at the line that says it."""
    guides = tuple(guides)
    where: dict[str, tuple[str, int]] = {}
    problems: list[Problem] = []
    for g in guides:
        for t in g.tasks:
            if t.fields.id is None:
                continue
            if t.fields.id in where:
                path, line = where[t.fields.id]
                problems.append(Problem(g.path, t.line, f"id {t.fields.id!r} is taken already (by {path}:{line + 1}); "
                                        "ids must be unique in the repository"))
            else:
                where[t.fields.id] = (g.path, t.line)
    edges: dict[str, tuple[str, ...]] = {}
    for g in guides:
        for t in g.tasks:
            for dep in t.fields.blocked_by:
                if dep not in where:
                    problems.append(Problem(g.path, t.line, f"blocked-by {dep!r}: no task has this id"))
                elif dep == t.fields.id:
                    problems.append(Problem(g.path, t.line, "a task cannot be blocked by itself"))
            if t.fields.id is not None and where.get(t.fields.id) == (g.path, t.line):
                edges[t.fields.id] = tuple(d for d in t.fields.blocked_by if d in where and d != t.fields.id)
    for start in sorted(edges):
        cycle = _cycle(start, edges)
        if cycle:
            path, line = where[start]
            problems.append(Problem(path, line, f"blocked-by goes round in a circle: {' -> '.join(cycle)}"))
    return problems


def _cycle(start: str, edges: dict[str, tuple[str, ...]]) -> list[str] | None:
    """The shortest way from ``start`` back to itself along blocked-by, if any (breadth first)."""
    frontier = [[start]]
    seen = {start}
    while frontier:
        nxt = []
        for path in frontier:
            for dep in edges.get(path[-1], ()):
                if dep == start:
                    return path + [start]
                if dep not in seen:
                    seen.add(dep)
                    nxt.append(path + [dep])
        frontier = nxt
    return None
