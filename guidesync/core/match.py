"""Matching: which task of the acting guides gets which issue, and by what evidence. Pure.

A task's own link (``ours``) names its issue; another repository's link (``foreign``) is part of
the task's text; a link not recognised although its number is one guidesync knows (``unsure``)
leaves the task and that issue alone. A task without a link takes over, in this order: an issue
carrying its marker (or the base's record of one), the open issue of a task that moved without its
link, and the leftover of an interrupted run's creation. Two open issues of one task (two runs
created it at once): the earlier is kept. What the issue's base record and marker say about it
(a tombstone the task revives, an issue guidesync did not make for the task) is part of the match.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from difflib import SequenceMatcher
from typing import Mapping

from .guards import refused_link
from .model import Guide, Milestone, Problem, Task
from .planmodel import COMPLETED, OPEN, Options, RemoteIssue, Snapshot
from .render import ZWSP, issue_title, read_marker
from .base import GONE, REMOVED, Record, Base

#: How alike a leftover issue's title and a task must be for the task to take the issue over.
SIMILAR_HERE, SIMILAR_ELSEWHERE = 0.6, 0.9
#: The evidence that gave a task its issue.
LINK, MARKER, MOVED, JOURNAL, DUPLICATE = "link", "marker", "moved", "journal", "duplicate"


@dataclass(frozen=True)
class Match:
    """One task of the acting guides and the issue it ends up with (None: create one)."""

    guide: Guide
    ms: Milestone
    task: Task  # a task with another repository's link has that link as part of its text
    number: int | None = None
    evidence: str | None = None  # LINK (its own link), MARKER, MOVED, JOURNAL or DUPLICATE; None: no issue
    append_link: bool = False  # the task line ends with another repository's link: ours goes after it
    adopting: bool = False  # its issue is taken over on request (``--adopt``)
    unmanaged: bool = False  # no evidence the issue is this task's, and not adopted: never written to
    revives: bool = False  # the base's record of the issue is a tombstone: the task came back

    @property
    def found(self) -> bool:
        """Found by its marker, a moved task's title, an interrupted run's journal, or as the earlier of
        two duplicates: its link is (re)written into the guide."""
        return self.evidence not in (None, LINK)

    @property
    def journalled(self) -> bool:
        """Found as an interrupted run's creation: the journal is the evidence it is this task's."""
        return self.evidence == JOURNAL


@dataclass(frozen=True)
class Duplicate:
    """A later issue carrying the marker of a task that keeps issue ``keep``."""

    number: int
    keep: int
    task: Task


@dataclass(frozen=True)
class Matching:
    matches: tuple[Match, ...]  # every acting task that is synced, in guide order
    claimed: Mapping[int, Task]  # issue -> the task (of any guide) that links it or was matched to it
    alive: frozenset[str]  # keys of every task of every guide
    markers: Mapping[int, tuple[str, str]]  # (guide, key) of every issue read that carries a marker
    duplicates: tuple[Duplicate, ...]  # later issues of a matched task (a push only)
    unsure_found: Mapping[int, str]  # issues of creations whose answer was lost, not in the base: issue -> marker key
    problems: tuple[Problem, ...]  # links left alone


@dataclass
class _Pending:
    """A match while it is being made."""

    guide: Guide
    ms: Milestone
    task: Task
    number: int | None = None
    evidence: str | None = None
    append_link: bool = False


def match_tasks(acting: tuple[Guide, ...], others: tuple[Guide, ...], base: Base, snap: Snapshot, opts: Options,
                numbers: Mapping[str, int | None]) -> Matching:
    """Every acting task with its issue: linked, found, or to create. ``others``: the repository's
    other guides, which only tell which tasks exist; ``numbers``: section key -> milestone number."""
    # each issue body is searched for its marker once
    markers = {n: found for n, issue in snap.issues.items() if (found := read_marker(issue.body))}
    alive, claimed, uses = _claims(acting + others, base, snap, opts)
    problems: list[Problem] = []
    pending = _assign(acting, base, snap, opts, uses, problems)
    unlinked = [p for p in pending if p.number is None]
    rest = _find_by_marker(unlinked, base, snap, markers, claimed)
    rest = _moved_without_link(rest, base, snap, opts, claimed, alive)
    _journalled_leftovers(rest, base, snap, markers, claimed, alive, numbers)
    duplicates = _duplicates(pending, snap, markers, claimed) if opts.pushes else []
    unsure = set(base.unsure)
    unsure_found = {n: found[1] for n in sorted(snap.issues)
                    if (found := markers.get(n)) and found[1] in unsure and n not in base.records}
    matches = tuple(_freeze(p, base, snap, opts, markers, alive) for p in pending)
    return Matching(matches, claimed, frozenset(alive), markers, tuple(duplicates), unsure_found, tuple(problems))


def _link_kind(task: Task, base: Base, snap: Snapshot, opts: Options) -> str:
    """``ours``: a link to an issue of this repository; ``foreign``: another repository's
    issue, part of the task's text; ``unsure``: not recognised, yet its number is one guidesync
    knows, so neither the task nor that issue is touched."""
    link = task.link
    assert link is not None
    if opts.owns_link(link.url, link.number):
        return "ours"
    if link.number in base.records or link.number in snap.issues:
        return "unsure"
    return "foreign"


def _link_as_text(task: Task) -> Task:
    """A task whose line ends with another repository's issue link: the link is part of its text."""
    assert task.link is not None
    head, sep, tail = task.text.partition("\n")
    bare = head.rstrip(" \t")
    text = (bare + " " if bare else "") + task.link.markdown() + head[len(bare):] + sep + tail
    return replace(task, text=text, link=None)


def _claims(every: tuple[Guide, ...], base: Base, snap: Snapshot,
            opts: Options) -> tuple[set[str], dict[int, Task], dict[int, int]]:
    """(keys of every task of every guide, issue -> the task linking it, issue -> how many tasks link it as ours)."""
    alive: set[str] = set()
    claimed: dict[int, Task] = {}
    uses: dict[int, int] = defaultdict(int)
    for guide in every:
        for task in guide.tasks:
            alive.add(task.key)
            if task.link is None:
                continue
            kind = _link_kind(task, base, snap, opts)
            if kind == "foreign":
                alive.add(_link_as_text(task).key)
                continue
            claimed[task.link.number] = task
            if kind == "ours":
                uses[task.link.number] += 1
    return alive, claimed, uses


def _assign(acting: tuple[Guide, ...], base: Base, snap: Snapshot, opts: Options, uses: Mapping[int, int],
            problems: list[Problem]) -> list[_Pending]:
    """Every acting task that is synced, with its own link's issue if it has one."""
    out: list[_Pending] = []
    for guide in acting:
        for ms in guide.milestones:
            for task in ms.tasks:
                if task.link is None:
                    out.append(_Pending(guide, ms, task))
                    continue
                kind = _link_kind(task, base, snap, opts)
                if kind == "foreign":
                    out.append(_Pending(guide, ms, _link_as_text(task), append_link=True))
                elif (refusal := refused_link(task, kind, uses)) is not None:
                    problems.append(refusal)
                else:
                    out.append(_Pending(guide, ms, task, task.link.number, LINK))
    return out


def _take(p: _Pending, n: int, evidence: str, claimed: dict[int, Task]) -> None:
    p.number, p.evidence = n, evidence
    claimed[n] = p.task


def _find_by_marker(unlinked: list[_Pending], base: Base, snap: Snapshot, markers: Mapping[int, tuple[str, str]],
                    claimed: dict[int, Task]) -> list[_Pending]:
    """An unlinked task takes the first free issue that belongs to its key: a base record of that
    key, or an issue read carrying its marker. Returns the tasks still without an issue."""
    by_key: dict[str, set[int]] = defaultdict(set)
    for n, rec in base.records.items():
        if rec.issue_state != GONE and not rec.unmanaged:
            by_key[rec.key].add(n)
    for n, (_, key) in markers.items():
        by_key[key].add(n)
    ordered = {k: sorted(v) for k, v in by_key.items()}
    rest: list[_Pending] = []
    for p in unlinked:
        free = [n for n in ordered.get(p.task.key, ()) if n not in claimed and n not in snap.gone]
        if free:
            _take(p, free[0], MARKER, claimed)
        else:
            rest.append(p)
    return rest


def _moved_without_link(unlinked: list[_Pending], base: Base, snap: Snapshot, opts: Options,
                        claimed: dict[int, Task], alive: set[str]) -> list[_Pending]:
    """A task cut from one guide without its link and pasted into another (so its key changed):
    it takes over the open issue of the base whose task is gone, when the issue's title is the
    task's title to the letter and it is the only such pair either way."""
    limit = dict(opts.limits).get("title", 255)
    pool: dict[str, list[int]] = defaultdict(list)
    for n, rec in base.records.items():
        issue = snap.issues.get(n)
        if (issue is None or issue.issue_state != OPEN or rec.pending or rec.unmanaged or rec.issue_state in (GONE, REMOVED)
                or n in claimed or rec.key in alive):
            continue
        pool[issue.title].append(n)
    if not pool:
        return unlinked
    wanting: dict[str, list[_Pending]] = defaultdict(list)
    for p in unlinked:
        wanting[issue_title(p.task, limit)].append(p)
    rest = []
    for p in unlinked:
        title = issue_title(p.task, limit)
        if len(pool.get(title, ())) == 1 and len(wanting[title]) == 1:
            _take(p, pool[title][0], MOVED, claimed)
        else:
            rest.append(p)
    return rest


def _journalled_leftovers(unlinked: list[_Pending], base: Base, snap: Snapshot, markers: Mapping[int, tuple[str, str]],
                          claimed: dict[int, Task], alive: set[str], numbers: Mapping[str, int | None]) -> None:
    """An issue an interrupted run created (journalled as pending or unsure) whose task was
    reworded since: taken over when it is the task's only likely issue and the task its only
    likely task. Never an issue guidesync closed, forgot or ever saw linked."""
    unsure = set(base.unsure)
    pool = []
    for n, issue in sorted(snap.issues.items()):
        if n in claimed or n in snap.gone:
            continue
        rec = base.records.get(n)
        found = markers.get(n)
        if (rec is not None and rec.pending) or (rec is None and found and found[1] in unsure):
            if not found or found[1] not in alive:
                pool.append(n)
    if not pool or not unlinked:
        return
    likely: dict[int, list[_Pending]] = defaultdict(list)
    choices: dict[int, list[int]] = {}
    for i, p in enumerate(unlinked):
        choices[i] = [n for n in pool if _alike(p, snap.issues[n], markers.get(n), base.records.get(n), numbers)]
        for n in choices[i]:
            likely[n].append(p)
    for i, p in enumerate(unlinked):
        if len(choices[i]) == 1 and len(likely[choices[i][0]]) == 1:
            _take(p, choices[i][0], JOURNAL, claimed)


def _alike(p: _Pending, issue: RemoteIssue, found: tuple[str, str] | None, rec: Record | None,
           numbers: Mapping[str, int | None]) -> bool:
    guide = found[0] if found else (rec.guide if rec else None)
    want_ms = numbers.get(p.ms.key)
    same_place = guide == p.task.guide and (want_ms is None or issue.milestone in (None, want_ms))
    text = " ".join(p.task.text.split()).casefold()
    score = SequenceMatcher(None, text, issue.title.replace(ZWSP, "").casefold()).ratio()
    return score >= (SIMILAR_HERE if same_place else SIMILAR_ELSEWHERE)


def _duplicates(pending: list[_Pending], snap: Snapshot, markers: Mapping[int, tuple[str, str]],
                claimed: dict[int, Task]) -> list[Duplicate]:
    """Two open issues carrying one task's marker (two runs created it at once): the earlier is
    kept and linked, the later closed as its duplicate."""
    by_key: dict[str, list[int]] = defaultdict(list)
    for n, (_, key) in markers.items():
        if n not in snap.gone:
            by_key[key].append(n)
    out: list[Duplicate] = []
    for p in pending:
        if p.number is None:
            continue
        # Open ones; closed as completed ones only for a done task (relinking changes no state).
        mine = snap.issues.get(p.number)
        if mine is None or (markers.get(p.number) or ("", ""))[1] != p.task.key:
            continue  # only an issue that is this task's own has duplicates
        done = p.task.checked and mine.issue_state == COMPLETED
        same = [n for n in by_key.get(p.task.key, ()) if n != p.number and claimed.get(n, p.task) is p.task
                and (snap.issues[n].issue_state == OPEN or (done and snap.issues[n].issue_state == COMPLETED))]
        if not same:
            continue
        keep = min(same + [p.number])
        out += [Duplicate(n, keep, p.task) for n in sorted(set(same + [p.number]) - {keep})]
        if keep != p.number:
            p.number, p.evidence = keep, DUPLICATE
        claimed[keep] = p.task
    return out


def _freeze(p: _Pending, base: Base, snap: Snapshot, opts: Options, markers: Mapping[int, tuple[str, str]],
            alive: set[str]) -> Match:
    """The match made, with what the base record and the marker say about its issue."""
    task = p.task
    if p.number is None:
        return Match(p.guide, p.ms, task, append_link=p.append_link)
    adopting = opts.adopt_all or (task.guide, task.line) in opts.adopt
    rec = base.records.get(p.number)
    remote = snap.issues.get(p.number)
    unmanaged = not adopting and p.evidence != JOURNAL and not _managed(task, rec, remote, markers, alive)
    return Match(p.guide, p.ms, task, p.number, p.evidence, p.append_link, adopting, unmanaged,
                 revives=rec is not None and rec.issue_state == REMOVED)


def _managed(task: Task, rec: Record | None, remote: RemoteIssue | None, markers: Mapping[int, tuple[str, str]],
             alive: set[str]) -> bool:
    """Positive evidence that the issue is this task's: it carries the marker for this task (or
    for the task this base record was, when no other task has that key); unread, a base record."""
    if remote is None:
        return rec is not None and not rec.unmanaged
    found = markers.get(remote.number)
    if not found:  # an issue opened on the tracker that guidesync imported into this task's guide
        return rec is not None and rec.imported and not rec.unmanaged
    key = found[1]
    return key == task.key or (rec is not None and not rec.unmanaged and (key == rec.key or key not in alive))


def stray_markers(matching: Matching, base: Base, snap: Snapshot) -> list[Problem]:
    """Open issues carrying a guidesync marker that no task matched, no base record knows and no
    journal explains: reported, never touched."""
    out: list[Problem] = []
    for n, issue in sorted(snap.issues.items()):
        found = matching.markers.get(n)
        if (found and issue.issue_state == OPEN and n not in matching.claimed and n not in base.records
                and n not in matching.unsure_found and found[1] not in matching.alive):
            out.append(Problem(
                found[0], None,
                f"issue #{n} ({issue.title!r}) carries a guidesync marker but no task matches it: left by an "
                "interrupted run or created from another branch; link it from its task or close it", "warning"))
    return out
