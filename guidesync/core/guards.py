"""The planner's guards: guides refused until fixed (one milestone title in two sections), links
left alone (unsure, shared by several tasks), removals held back while a guide has errors, and the
stops that make a run which looks like a mistake (mass closing, a guide that lost all its links)
wait for ``--force``. Pure."""

from __future__ import annotations

from collections import defaultdict
from typing import Mapping, Sequence

from .model import Guide, Problem, Task
from .planmodel import Options, TaskStep
from .base import REMOVED, Base


def refuse_duplicate_titles(acting: tuple[Guide, ...], others: tuple[Guide, ...],
                            base: Base) -> tuple[list[Problem], set[str]]:
    """Two sections with one milestone title would share a milestone: the one the base does not
    know (else the later path) is refused until the titles differ. Returns (problems, refused paths)."""
    owners: dict[str, str] = {}
    refused: set[str] = set()
    problems: list[Problem] = []
    every = sorted(acting + others, key=lambda g: g.path)
    ranked = sorted(every, key=lambda g: (not any(m.key in base.milestones for m in g.milestones), g.path))
    for g in ranked:
        for m in g.milestones:
            if not m.tasks:
                continue
            if m.title in owners and owners[m.title] != m.key:
                problems.append(Problem(g.path, m.line, f"milestone title {m.title!r} is also used by "
                                        f"{owners[m.title]}; this guide is not synced until the titles differ"))
                refused.add(g.path)
            owners.setdefault(m.title, m.key)
    return problems, refused


def refused_link(task: Task, kind: str, uses: Mapping[int, int]) -> Problem | None:
    """Why a linked task is not synced, if it is not: its link is not recognised (``unsure``: the
    task and the issue are left alone), or several tasks link one issue (none of them is synced)."""
    assert task.link is not None
    n = task.link.number
    if kind == "unsure":
        return Problem(task.guide, task.line, f"the link {task.link.url} is not recognised as issue #{n} of this "
                       f"repository; the task and issue #{n} are left alone until the link is fixed", "warning")
    if kind == "ours" and uses[n] > 1:
        return Problem(task.guide, task.line,
                       f"issue #{n} is linked by {uses[n]} tasks; none of them is synced until only one keeps the link", "error")
    return None


def removals_allowed(opts: Options) -> bool:
    """Only a run that read every guide cleanly may call a task gone."""
    return not opts.frozen_guides


def mass_close(steps: Sequence[TaskStep], opts: Options) -> list[str]:
    """Stop a run that would close more existing issues than ``max_close``."""
    closing = [s for s in steps if s.close and not s.create]
    if len(closing) > opts.max_close:
        return [f"this run would close {len(closing)} issues (max_close is {opts.max_close}); "
                "check the guides, then run again with --force"]
    return []


def lost_links(steps: Sequence[TaskStep], acting: tuple[Guide, ...], base: Base) -> list[str]:
    """Stop a run that forgets the issues of a guide which had linked tasks and now has none."""
    out: list[str] = []
    linked_now: dict[str, int] = defaultdict(int)
    for guide in acting:
        linked_now[guide.path] = sum(1 for t in guide.tasks if t.link is not None)
    had: dict[str, int] = defaultdict(int)
    for rec in base.records.values():
        if rec.issue_state != REMOVED:
            had[rec.guide] += 1
    dropping: dict[str, int] = defaultdict(int)
    for s in steps:
        if s.forget and s.fallback is not None:
            dropping[s.fallback.guide] += 1
    for path, count in sorted(dropping.items()):
        if linked_now.get(path, 0) == 0 and had[path] > 0:
            out.append(
                f"{path} had {had[path]} linked tasks and now has none (deleted, truncated or mis-merged?); "
                "run again with --force if that is intended"
            )
    return out
