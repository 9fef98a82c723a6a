"""What an issue says: its title, its body with the hidden marker, and the content hash. Pure.

Guide text is copied into issues neutralised: ``@name``, ``#123``, ``!123`` and ``GH-123`` get a
zero-width space so they neither ping people nor cross-reference issues, and lines that start with
``/`` cannot run GitLab quick actions. Code spans and URLs are left as written.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from dataclasses import dataclass
from urllib.parse import quote, unquote

from .model import Guide, Milestone, SubItem, Task

ZWSP = "\u200b"
MARKER = re.compile(r"<!-- guidesync:task guide=(?P<guide>\S+) key=(?P<key>[0-9a-f]{16}) -->")
# Things that notify or cross-reference on GitHub and GitLab.
# @name, #12, !12, GH-12 standing alone, and #12 / !12 after a name (owner/repo#12, project!3).
_REFERENCE = re.compile(r"(?<![\w/`])(?P<sigil>@|#|!|GH-)(?=[A-Za-z0-9_])|(?<=[\w.-])(?P<ref>[#!])(?=\d)")
# Stretches left untouched: code spans and URLs (bare, autolinks, link destinations).
_KEEP = re.compile(r"(`+)(?:.|\n)*?(?<!`)\1(?!`)|<[a-zA-Z][\w+.-]*:[^>\s]*>|\]\([^)\s]*\)|https?://[^\s)<>]+")
ELLIPSIS = "…"


@dataclass(frozen=True)
class IssueContent:
    title: str
    body: str

    @property
    def hash(self) -> str:
        return content_hash(self.title, self.body)


def content_hash(title: str, body: str) -> str:
    return hashlib.sha256(f"{title}\0{body}".encode("utf-8")).hexdigest()[:16]


def _defuse(text: str) -> str:
    return _REFERENCE.sub(lambda r: (r["sigil"] or r["ref"]) + ZWSP, text)


#: Text without any of these has nothing to defuse (most task texts): returned as it is.
_MAYBE = re.compile(r"[@#!]|GH-|^\s*/", re.MULTILINE)


@lru_cache(maxsize=4096)
def neutralize(text: str) -> str:
    """Defuse mentions, references and quick actions in guide text, keeping code and URLs."""
    if not _MAYBE.search(text):
        return text
    out: list[str] = []
    pos = 0
    for m in _KEEP.finditer(text):
        out.append(_defuse(text[pos : m.start()]))
        out.append(m.group())
        pos = m.end()
    out.append(_defuse(text[pos:]))
    result = "".join(out)
    return "\n".join(ZWSP + line if line.lstrip().startswith("/") else line for line in result.split("\n"))


def marker(task: Task) -> str:
    return f"<!-- guidesync:task guide={quote(task.guide, safe='/')} key={task.key} -->"


def read_marker(body: str | None) -> tuple[str, str] | None:
    """(guide path, task key) from an issue body written by guidesync, else None."""
    if not body:
        return None
    m = MARKER.search(body)
    return (unquote(m["guide"]), m["key"]) if m else None


#: HTML comments (notes to the guide's readers) and hard-break backslashes are no part of a title.
_NOT_TITLE = re.compile(r"<!--.*?(?:-->|$)|(?<!\\)((?:\\\\)*)\\(?=\n)", re.DOTALL)


def issue_title(task: Task, limit: int = 255) -> str:
    text = _NOT_TITLE.sub(lambda m: m.group(1) or "", task.text) if ("<!--" in task.text or "\\\n" in task.text) else task.text
    title = neutralize(" ".join(text.split())).replace("\n", " ")
    if title.startswith(ZWSP + "/"):
        title = title[len(ZWSP) :]  # a title cannot run quick actions
    return title if len(title) <= limit else title[: limit - 1].rstrip() + ELLIPSIS


def _subitems(items: tuple[SubItem, ...]) -> str:
    lines = []
    for item in items:
        box = "" if item.checked is None else ("[x] " if item.checked else "[ ] ")
        text = neutralize(" ".join(item.text.split()))
        lines.append("  " * (item.depth - 1) + f"- {box}{text}")
    return "\n".join(lines)


#: the line of an issue body that names the issues blocking it (see :func:`with_blockers`)
BLOCKED_BY = "**Blocked by**: "


def fields_line(task: Task) -> str:
    """What the task's fields say, for its issue body ('' when it has none). Names are shown without
    ``@``, so that the body pings nobody."""
    f = task.fields
    parts = []
    if f.due:
        parts.append(f"**Due**: {f.due}")
    if f.start:
        parts.append(f"**Start**: {f.start}")
    if f.assignees:
        parts.append("**Assignees**: " + ", ".join(neutralize(a) for a in f.assignees))
    if f.labels:
        parts.append("**Labels**: " + ", ".join(neutralize(x) for x in f.labels))
    if f.id:
        parts.append(f"**Id**: `{f.id}`")
    return " · ".join(parts)


def with_blockers(body: str, numbers: tuple[int, ...]) -> str:
    """``body`` (one :func:`issue_body` wrote) naming ``numbers`` as the issues that block it: its
    "Blocked by" line, in the head above the first blank line, replaced, added or taken out."""
    head, sep, rest = body.partition("\n\n")
    lines = [x for x in head.split("\n") if not x.startswith(BLOCKED_BY)]
    if numbers:
        lines.append(BLOCKED_BY + ", ".join(f"#{n}" for n in numbers))
    return "\n".join(lines) + sep + rest


def issue_body(task: Task, guide: Guide, milestone: Milestone, guide_url: str, limit: int = 65536,
               blockers: tuple[int, ...] = ()) -> str:
    """The issue body: marker, where the task comes from, its fields, the issues that block it, the
    task text and its sub-items."""
    meta = fields_line(task)
    head = (
        f"{marker(task)}\n"
        f"From the guide [{neutralize(guide.title)}]({guide_url}) · milestone **{neutralize(milestone.title)}**\n"
        + (meta + "\n" if meta else "")
        + "\n"
    )
    reserve = (len(BLOCKED_BY) + 12 * len(task.fields.blocked_by)) if task.fields.blocked_by else 0  # room for the line with_blockers may add
    tail = "\n\n---\n<sub>Managed by guidesync: edit this task in the guide; changes made here to the title or text are overwritten.</sub>\n"
    text = neutralize(task.text)
    if task.subitems:
        text += "\n\n" + _subitems(task.subitems)
    room = limit - len(head) - len(tail) - reserve
    if len(text) > room:
        note = f"\n\n{ELLIPSIS} (truncated: the full task is in [the guide]({guide_url}))"
        text = text[: max(0, room - len(note))] + note
    body = head + text + tail
    return with_blockers(body, blockers) if blockers else body


def milestone_description(milestone: Milestone, guide: Guide, guide_url: str, limit: int = 60000) -> str:
    text = neutralize(milestone.description)
    dates = " · ".join(f"**{name}**: {day}" for name, day in (("Start", milestone.fields.start), ("Due", milestone.fields.due)) if day)
    if dates:  # GitHub keeps no start date: the description says it
        text = dates + ("\n\n" + text if text else "")
    foot = f"\n\nFrom the guide [{neutralize(guide.title)}]({guide_url}), kept in step by guidesync."
    if len(text) + len(foot) > limit:
        text = text[: max(0, limit - len(foot) - 1)] + ELLIPSIS
    return (text + foot).strip()


def render_issue(task: Task, guide: Guide, milestone: Milestone, guide_url: str, limits: dict[str, int],
                 blockers: tuple[int, ...] = ()) -> IssueContent:
    return IssueContent(
        issue_title(task, limits.get("title", 255)),
        issue_body(task, guide, milestone, guide_url, limits.get("body", 65536), blockers),
    )
