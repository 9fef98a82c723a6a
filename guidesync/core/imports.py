"""Issues opened on the tracker join their guide (``import_issues``). Pure.

An issue in a milestone that a guide section owns, linked from no guide and carrying no task's
marker, becomes a new task line at the end of that section's task list: with ``labeled`` only if
it carries the first managed label, with ``milestone`` whatever its labels. The person's title and
body are not rewritten; the base records the issue (imported), and the issue gets the "imported"
label, so that no other run, on this branch or another, imports it twice.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import replace
from typing import Mapping

from .base import Base, Record
from .match import Matching
from .model import Guide, Milestone, Problem, Task
from .planmodel import COMPLETED, ImportStep, Options, Snapshot
from .render import render_issue

#: what Markdown would read as a link, emphasis, code, HTML or an escape, anywhere in a title
_INLINE = re.compile(r"([\\`*_\[\]<>~|])")
#: what would start another block, or a nested list, at the start of the task's text
_LEADING = re.compile(r"^([-+=#>]|\d{1,9}(?=[.)]))")


def imported_label(opts: Options) -> str:
    """The label that marks an issue some run imported into a guide."""
    return f"{opts.labels[0]}:imported"


def task_text(title: str) -> str:
    """An issue title as task text that reads back as exactly that text: one line, no control
    characters, nothing Markdown would take as a link, emphasis, a checkbox or a field."""
    text = "".join(" " if unicodedata.category(c)[0] in ("C", "Z") and c != " " else c for c in title)
    text = " ".join(text.split())
    text = _INLINE.sub(r"\\\1", text)
    return _LEADING.sub(r"\\\1", text)


def import_steps(acting: tuple[Guide, ...], rest: tuple[Guide, ...], matching: Matching, base: Base, snap: Snapshot,
                 opts: Options, numbers: Mapping[str, int | None], problems: list[Problem]) -> list[ImportStep]:
    """The issues to import, each to the end of its milestone's task list. Runs that write the
    guides only (pull, sync); issues in a milestone of a guide with errors wait, reported."""
    if opts.import_issues == "off":
        return []
    owners: dict[int, tuple[Guide, Milestone]] = {}
    for g in acting:
        for ms in g.milestones:
            n = numbers.get(ms.key)
            if n is not None:
                owners.setdefault(n, (g, ms))
    waiting = {rec.number: key.rsplit("#", 1)[0] for key, rec in base.milestones.items()
               if key.rsplit("#", 1)[0] in opts.frozen_guides}
    linked = {t.link.number for g in acting + rest for t in g.tasks if t.link is not None}
    managed, mark = opts.labels[0].casefold(), imported_label(opts).casefold()
    texts: dict[str, Counter[str]] = {}
    out: list[ImportStep] = []
    for n, issue in sorted(snap.issues.items()):
        rec = base.records.get(n)
        if (n in snap.gone or n in matching.claimed or n in linked or n in matching.markers or issue.milestone is None
                or (rec is not None and not (rec.imported and rec.pending))):
            continue
        labels = {x.casefold() for x in issue.labels}
        if opts.import_issues == "labeled" and managed not in labels:
            continue
        owner = owners.get(issue.milestone)
        if owner is None:
            if issue.milestone in waiting:
                problems.append(Problem(waiting[issue.milestone], None, f"issue #{n} ({issue.title!r}) is in this guide's "
                                        "milestone but is not imported while the guide has errors", "warning"))
            continue
        g, ms = owner
        if rec is None and mark in labels:
            problems.append(Problem(g.path, ms.line, f"issue #{n} ({issue.title!r}) carries {imported_label(opts)!r}: "
                                    "another run (another branch?) imported it; it appears here once that run's guide "
                                    "is merged (remove the label to import it here)", "warning"))
            continue
        step = _step(issue, g, ms, rec, opts, texts.setdefault(ms.key, Counter(" ".join(t.text.split()) for t in ms.tasks)))
        if step is None:
            problems.append(Problem(g.path, ms.line, f"issue #{n} ({issue.title!r}) is in this milestone, but it has no "
                                    "task list to add it to (or the title is empty); not imported", "warning"))
            continue
        out.append(step)
    return out if opts.pulls else [_waiting(s) for s in out]


def _waiting(step: ImportStep) -> ImportStep:
    """An import a push saw but does not make (push never writes the guides): the plan keeps it
    only to say so, and the listing mark waits for a run that does."""
    return replace(step, waits=True)


def _step(issue, g: Guide, ms: Milestone, rec: Record | None, opts: Options, seen: Counter[str]) -> ImportStep | None:
    top = [t for t in ms.tasks if t.depth == 0]
    text = task_text(issue.title)
    if not top or not text:
        return None
    last = max(top, key=lambda t: t.line)
    norm = " ".join(text.split())
    checked = issue.issue_state == COMPLETED
    task = Task(guide=g.path, milestone=ms.key, text=text, checked=checked, has_box=True, line=last.end_line,
                end_line=last.end_line + 1, occurrence=seen[norm])
    seen[norm] += 1
    content = render_issue(task, g, ms, opts.guide_url(g.path), dict(opts.limits))
    record = Record(g.path, task.key, checked, issue.issue_state, content.hash, issue.milestone, pending=True,
                    imported=True)
    want = [opts.labels[0], imported_label(opts)]
    have = [x.casefold() for x in issue.labels]
    label = None if all(w.casefold() in have for w in want) else tuple(issue.labels) + tuple(
        w for w in want if w.casefold() not in have)
    return ImportStep(issue.number, issue.url, issue.title, text, g.path, ms.key, last.end_line - 1, last.line, checked,
                      record, label)


def left_milestone(matching: Matching, base: Base, snap: Snapshot, numbers: Mapping[str, int | None]) -> list[Problem]:
    """Imported tasks whose issue somebody moved to another milestone on the tracker: the task
    stays in its guide (never deleted from it), reported at its line."""
    out: list[Problem] = []
    for m in matching.matches:
        rec = base.records.get(m.number) if m.number is not None else None
        issue = snap.issues.get(m.number) if m.number is not None else None
        want = numbers.get(m.ms.key)
        if rec is None or not rec.imported or issue is None or want is None or issue.milestone == want:
            continue
        out.append(Problem(m.task.guide, m.task.line, f"issue #{m.number} was moved to another milestone on the tracker; "
                           "its task stays here (move the task to that milestone's section, or the issue back)", "warning"))
    return out
