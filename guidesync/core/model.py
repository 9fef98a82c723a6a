"""The guide model: frozen values produced by the parser and read by the planner.

Line numbers are 0-based indexes into the guide's lines, split the way markdown-it-py splits them
(``\\r\\n``, ``\\r`` and ``\\n`` are line breaks, nothing else). Messages shown to people add one.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from enum import Enum


class GuideKind(str, Enum):
    PHASE = "phase"
    IMPLEMENTATION = "implementation"


def plain_url(url: str) -> bool:
    """May this URL be written into a guide as an issue link? An http(s) URL without whitespace,
    parentheses, control or format characters: nothing that could end the link or the line early
    (``LINK_AT_END`` must read it back as it was written)."""
    if not isinstance(url, str) or not url.startswith(("https://", "http://")) or len(url) > 2048:
        return False
    return not any(c in "()" or unicodedata.category(c) in ("Cc", "Cf", "Zs", "Zl", "Zp") or c.isspace() for c in url)


@dataclass(frozen=True)
class IssueLink:
    """The ``([#12](https://…/issues/12))`` a task line carries once it is linked."""

    number: int
    url: str

    def markdown(self) -> str:
        return f"([#{self.number}]({self.url}))"


@dataclass(frozen=True)
class SubItem:
    """A nested list item under a task, kept for the issue body."""

    text: str
    checked: bool | None  # None: a plain bullet
    depth: int  # 1 = directly under the task


@dataclass(frozen=True)
class Fields:
    """What a task's or milestone's fields say. Days are ``YYYY-MM-DD``."""

    assignees: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    due: str | None = None
    start: str | None = None
    id: str | None = None
    blocked_by: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.assignees or self.labels or self.due or self.start or self.id or self.blocked_by)


NO_FIELDS = Fields()


@dataclass(frozen=True)
class Task:
    guide: str  # path of the guide, relative to the root, with forward slashes
    milestone: str  # key of the milestone it belongs to
    text: str  # inline Markdown of the item's first paragraph, without box and link
    checked: bool
    has_box: bool  # False for a plain bullet (counts as unchecked)
    line: int  # first line of the item
    end_line: int  # line after the item (exclusive)
    link: IssueLink | None = None
    subitems: tuple[SubItem, ...] = ()
    occurrence: int = 0  # how many earlier tasks in this milestone have the same text
    parent: str | None = None  # with sub-issues on: the key of the task this one is nested under
    depth: int = 0  # 0 for a top-level task, 1 for a sub-item of one, ...
    fields: Fields = NO_FIELDS  # ``[key:: value]`` read off its first line (no part of ``text``)

    @cached_property
    def key(self) -> str:
        """Identity of a task before it has an issue: written into the issue's hidden marker.

        Stable while the guide path, milestone and text stay the same, so a run that created an
        issue but crashed before writing the link back can find and adopt it."""
        raw = "\0".join((self.guide, self.milestone, " ".join(self.text.split()), str(self.occurrence)))
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Milestone:
    key: str  # stable id inside the repository: "<guide path>#phase" or "<guide path>#milestone-<n>"
    title: str
    description: str
    line: int
    tasks: tuple[Task, ...] = ()
    fields: Fields = NO_FIELDS  # ``due`` and ``start``, from its heading line or its ``**Due**:`` label


@dataclass(frozen=True)
class Problem:
    """Something wrong in a guide, located by file and line (0-based)."""

    path: str
    line: int | None
    message: str
    severity: str = "error"  # "error" | "warning"

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line + 1}"
        return f"{where}: {self.severity}: {self.message}"


@dataclass(frozen=True)
class Guide:
    path: str
    title: str
    kind: GuideKind
    milestones: tuple[Milestone, ...] = ()
    problems: tuple[Problem, ...] = field(default=())

    @property
    def tasks(self) -> tuple[Task, ...]:
        return tuple(t for m in self.milestones for t in m.tasks)


# ------------------------------------------------------------------ tracker values
# What a tracker adapter returns; the planner reads only these, never a client library's objects.


@dataclass(frozen=True)
class RemoteIssue:
    number: int  # GitHub issue number / GitLab iid
    url: str  # web URL people open
    title: str
    body: str
    issue_state: str  # "open" | "completed" | "not_planned" (closed, by reason)
    milestone: int | None  # GitHub milestone number / GitLab milestone id
    labels: tuple[str, ...]
    updated_at: datetime | None = None
    locked: bool = False
    assignees: tuple[str, ...] = ()  # logins (GitHub) / usernames (GitLab), as the tracker shows them
    due: str | None = None  # GitLab's due date (YYYY-MM-DD); GitHub issues have none


@dataclass(frozen=True)
class RemoteMilestone:
    number: int
    title: str
    description: str
    state: str = "open"  # "open" | "closed"
    group: bool = False  # a GitLab group milestone (inherited, not the project's own)
    shown: int | None = None  # the number people see where it differs from ``number`` (GitLab's iid)
    due: str | None = None  # the day it is due (YYYY-MM-DD), as the tracker keeps it
    start: str | None = None  # the day it starts (GitLab only)
