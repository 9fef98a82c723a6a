"""Milestones -> numbers: which base milestone record belongs to which section, the milestone steps
of a push, and the tracker number every section's tasks go to. Pure."""

from __future__ import annotations

import re
from typing import Mapping

from .model import Guide, Milestone
from .planmodel import MilestoneStep, Options, Plan, RemoteMilestone, Snapshot
from .render import content_hash, milestone_description
from .base import GONE, REMOVED, MilestoneRecord, Record, Base

#: "Phase 3:" / "Milestone 2:" in a milestone title: titles with different numbers are different sections.
_SECTION_NUMBER = re.compile(r"(?:^Phase|\bMilestone)\s+([^\s:]+)\s*:", re.IGNORECASE)


def _section_number(title: str) -> str | None:
    m = _SECTION_NUMBER.search(title)
    return m.group(1).casefold() if m else None


def milestone_records(acting: tuple[Guide, ...], others: tuple[Guide, ...], base: Base,
                      opts: Options) -> tuple[dict[str, MilestoneRecord], dict[str, MilestoneRecord]]:
    """Keep a milestone record only for the section it belongs to. A section renamed in its
    guide keeps its record; a guide moved (``git mv``) takes its records along, found by title;
    the records of guides and sections that are gone are dropped, never handed to a newcomer.

    Returns (section key -> its record, the orphans kept as they are because their guide may come back)."""
    sections = {m.key: m for g in acting + others for m in g.milestones}
    titles = {m.title for m in sections.values()}
    records: dict[str, MilestoneRecord] = {}
    orphans: dict[str, MilestoneRecord] = {}
    for key, rec in sorted(base.milestones.items()):
        m = sections.get(key)
        if m is not None and (rec.title == m.title or (
                rec.title not in titles and _section_number(rec.title) == _section_number(m.title)
                and _keeps_issues_of(m, rec, base.records))):
            records[key] = rec
        else:
            orphans[key] = rec
    paths = {g.path for g in acting}
    kept: dict[str, MilestoneRecord] = {}
    for key, rec in orphans.items():
        heir = next((k for k, m in sorted(sections.items()) if m.title == rec.title and k not in records), None)
        path = key.rsplit("#", 1)[0]
        if heir is not None:
            records[heir] = rec
        elif path in opts.frozen_guides or (not opts.all_guides and path not in paths):
            kept[key] = rec  # its guide may come back as it was: not ours to judge now
    return records, kept


def _keeps_issues_of(m: Milestone, rec: MilestoneRecord, records: Mapping[int, Record]) -> bool:
    """A renamed section is the same section only if it still holds a task whose issue the base
    has in that milestone (a guide replaced at the same path holds none of them)."""
    for t in m.tasks:
        r = records.get(t.link.number) if t.link is not None else None
        if r is not None and r.milestone == rec.number and r.issue_state not in (GONE, REMOVED):
            return True
    return False


def plan_milestones(acting: tuple[Guide, ...], records: Mapping[str, MilestoneRecord], snap: Snapshot,
                    opts: Options) -> tuple[list[MilestoneStep], dict[str, int | None]]:
    """The milestone steps (a push only) and section key -> the tracker milestone its tasks go to
    (None: to be created, or not known to a run that does not push)."""
    numbers: dict[str, int | None] = {}
    if not opts.pushes:
        for guide in acting:
            for ms in guide.milestones:
                rec = records.get(ms.key)
                numbers[ms.key] = rec.number if rec else None
        return [], numbers
    steps: list[MilestoneStep] = []
    by_title: dict[str, RemoteMilestone] = {}
    for m in (snap.milestones or {}).values():
        if m.title not in by_title or not m.group:
            by_title[m.title] = m
    for guide in acting:
        for ms in guide.milestones:
            if not ms.tasks:
                continue
            desc = milestone_description(ms, guide, opts.guide_url(guide.path))
            step = _milestone_step(ms, desc, records.get(ms.key), by_title, snap)
            numbers[ms.key] = step.number
            steps.append(step)
    return steps, numbers


def _milestone_step(ms: Milestone, desc: str, rec: MilestoneRecord | None, by_title: Mapping[str, RemoteMilestone],
                    snap: Snapshot) -> MilestoneStep:
    """One section's milestone on a push: its recorded one, one of the same title, or a new one."""
    remote = snap.milestones
    dhash = content_hash(ms.title, desc)
    notes: tuple[str, ...] = ()
    due, start = ms.fields.due, ms.fields.start
    if rec is not None and (remote is None or rec.number in remote or snap.offline or snap.milestones_partial):
        return MilestoneStep(
            ms.key, ms.title, desc, rec.number,
            update_title=rec.title != ms.title,
            update_description=rec.hash != dhash,
            due=due, start=start, update_dates=(rec.due, rec.start) != (due, start),
        )
    if rec is not None:
        notes = (f"milestone {rec.title!r} was deleted on the tracker; it is created again",)
    found = by_title.get(ms.title)
    if found is not None:
        # GitHub keeps no start date: only the due date tells whether the dates must be sent
        return MilestoneStep(
            ms.key, ms.title, desc, found.number,
            update_description=not found.group and found.description != desc,
            adopted=True, group=found.group, notes=notes,
            due=due, start=start, update_dates=not found.group and (due or start) is not None and found.due != due,
        )
    return MilestoneStep(ms.key, ms.title, desc, None, notes=notes, due=due, start=start)


def needs_every_milestone(plan: Plan, base: Base, snap: Snapshot) -> bool:
    """Does ``plan``, made from a listing of the milestones changed since the mark
    (``snap.milestones_partial``), need every milestone listed and to be made again?

    A milestone missing from such a listing is unchanged, or deleted: nothing tells which. A plan
    that relies on none of them is fine as it is (a quiet run: the records hold). One that writes
    into one must know it exists, as a plan from a full listing does: when it writes a milestone
    (a creation needs every title, to adopt one of the same title; an update, that it is still
    there), puts an issue into a milestone the listing did not show (a creation, or a move from
    another one), or sees a managed issue that left the milestone the base recorded for it while
    the listing did not show that milestone (GitLab empties a deleted milestone that way, each of
    its issues updated, so the issue listing shows it)."""
    if not snap.milestones_partial or not plan.milestones:  # only a push writes milestones
        return False
    listed = snap.milestones or {}
    if any(m.writes for m in plan.milestones):
        return True
    numbers = {m.key: m.number for m in plan.milestones}
    for step in plan.tasks:
        number = numbers.get(step.milestone_key or "")
        if number is None or number in listed or not (step.create or step.update):
            continue
        rec = base.records.get(step.number) if step.number is not None else None
        if step.create or rec is None or rec.milestone != number:
            return True
    for n, issue in snap.issues.items():
        rec = base.records.get(n)
        if rec is not None and rec.milestone is not None and rec.milestone not in listed and issue.milestone != rec.milestone:
            return True
    return False
