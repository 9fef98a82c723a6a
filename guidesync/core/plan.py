"""(guides, base, tracker snapshot) -> a plan of frozen steps. Pure: no network, no disk.

Checkbox state is decided three-way per linked task (:func:`decide_state`); content (title, body,
milestone) flows from the guide to the tracker and is compared with the hash last written. The
plan also carries the guards that stop a run which looks like a mistake (mass closing, a guide
that lost all its links) until ``--force``.

:func:`make_plan` composes, in this order: the guards that refuse guides (:mod:`.guards`),
milestones -> numbers (:mod:`.milestones`), which task gets which issue (:mod:`.match`), one
function per kind of step (:mod:`.steps`), and the guards that stop the run. The values it reads
and returns are in :mod:`.planmodel`, the decision table in :mod:`.decide`; this module re-exports them.
"""

from __future__ import annotations

from dataclasses import replace

from .decide import StateDecision, decide_state, revive
from .guards import lost_links, mass_close, refuse_duplicate_titles
from .match import SIMILAR_ELSEWHERE, SIMILAR_HERE, match_tasks, stray_markers
from .milestones import milestone_records, plan_milestones
from .model import Guide
from .planmodel import COMPLETED, DUPLICATE, MODES, NOT_PLANNED, OPEN, MilestoneStep, Options, Plan, Snapshot, TaskStep
from .base import GONE, REMOVED, Base
from .fields import check_ids
from .imports import import_steps, left_milestone
from .metadata import blockers, new_labels, with_fields
from .hierarchy import attached_elsewhere, detaches, listed_children, parent_steps, with_listed
from .steps import duplicate_steps, removed_steps, task_steps, unsure_steps
from .model import RemoteIssue, RemoteMilestone

__all__ = [
    "COMPLETED", "DUPLICATE", "GONE", "MODES", "NOT_PLANNED", "OPEN", "REMOVED", "SIMILAR_ELSEWHERE", "SIMILAR_HERE",
    "MilestoneStep", "Options", "Plan", "RemoteIssue", "RemoteMilestone", "Snapshot", "StateDecision",
    "TaskStep", "decide_state", "make_plan", "revive",
]


def make_plan(guides: tuple[Guide, ...] | list[Guide], base: Base, snapshot: Snapshot, options: Options,
              others: tuple[Guide, ...] | list[Guide] = ()) -> Plan:
    """Decide everything a run would do. Pure.

    ``guides``: the guides to act on; ``others``: the repository's other guides (and those with
    errors), read only to know which tasks exist, so that no issue is closed while its task lives."""
    if options.mode not in MODES:
        raise ValueError(f"unknown mode {options.mode!r}")
    acting = tuple(listed_children(g, options) for g in guides)
    paths = {g.path for g in acting}
    rest = tuple(g for g in others if g.path not in paths)
    # A refused guide is read like the others and frozen: its records are left untouched.
    problems, refused = refuse_duplicate_titles(acting, rest, base)
    if refused:
        rest = rest + tuple(g for g in acting if g.path in refused)
        acting = tuple(g for g in acting if g.path not in refused)
        options = replace(options, frozen_guides=options.frozen_guides | refused)
    ms_records, kept_orphans = milestone_records(acting, rest, base, options)
    ms_steps, numbers = plan_milestones(acting, ms_records, snapshot, options)
    matching = match_tasks(acting, rest, base, snapshot, options, numbers)
    problems += matching.problems
    problems += check_ids(acting + rest)
    steps = task_steps(matching, base, snapshot, options, numbers, problems, blockers(acting + rest, matching))
    steps += duplicate_steps(matching, base, snapshot)
    steps += removed_steps(acting, rest, matching, base, snapshot, options)
    steps += unsure_steps(matching, snapshot, options)
    steps = with_fields(steps, base, options)
    imports = import_steps(acting, rest, matching, base, snapshot, options, numbers, problems)
    problems += left_milestone(matching, base, snapshot, numbers) if options.import_issues != "off" else []
    problems += stray_markers(matching, base, snapshot)
    guards = mass_close(steps, options) + lost_links(steps, acting, base)
    needs_label = options.pushes and not base.label and any(s.create for s in steps)
    parents = parent_steps(steps, base) if options.sub_issues and options.pushes else ()
    parents = with_listed(parents, steps, acting, options)
    detach = detaches(steps, base) if options.sub_issues and options.pushes else ()
    return Plan(tuple(ms_steps), tuple(steps), needs_label, tuple(problems), tuple(guards),
                dict(matching.unsure_found), {**kept_orphans, **ms_records}, parents,
                attached_elsewhere(base) if parents or detach else {}, detach, new_labels(steps, base),
                tuple(imports))
