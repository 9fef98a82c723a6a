"""(guides, base, tracker snapshot) -> a plan of frozen steps. Pure: no network, no disk.

Checkbox state is decided three-way per linked task (:func:`decide_state`); content (title, body,
milestone) flows from the guide to the tracker and is compared with the hash last written. The
plan also carries the guards that stop a run which looks like a mistake (mass closing, a guide
that lost all its links) until ``--force``.
"""

from __future__ import annotations

from collections import defaultdict
from difflib import SequenceMatcher
from dataclasses import dataclass, replace

from .model import Guide, Milestone, Problem, Task
from .render import ZWSP, IssueContent, issue_title, neutralize, read_marker, render_issue
from .state import GONE, REMOVED, MilestoneRecord, Record, State
from .guards import lost_links, mass_close, refuse_duplicate_titles, removals_allowed
from .milestones import milestone_records, plan_milestones
from .decide import StateDecision, decide_state, revive
from .planmodel import COMPLETED, DUPLICATE, MODES, NOT_PLANNED, OPEN, MilestoneStep, Options, Plan, Snapshot, TaskStep
from .trackers.base import RemoteIssue, RemoteMilestone

#: How alike a leftover issue's title and a task must be for the task to take the issue over.
SIMILAR_HERE, SIMILAR_ELSEWHERE = 0.6, 0.9


def _link_as_text(task: Task) -> Task:
    """A task whose line ends with another repository's issue link: the link is part of its text."""
    assert task.link is not None
    head, sep, tail = task.text.partition("\n")
    bare = head.rstrip(" \t")
    text = (bare + " " if bare else "") + task.link.markdown() + head[len(bare):] + sep + tail
    return replace(task, text=text, link=None)


@dataclass
class _Assigned:
    """One task of the acting guides and the issue it ends up with (None: create one)."""

    guide: Guide
    ms: Milestone
    task: Task
    number: int | None = None
    found: bool = False  # found by its marker (or an interrupted run's journal): write its link
    journalled: bool = False  # found as an interrupted run's creation: the journal is the evidence
    append_link: bool = False


class _Planner:
    def __init__(self, guides: tuple[Guide, ...], others: tuple[Guide, ...], state: State, snap: Snapshot, opts: Options):
        self.guides = guides  # the guides this run acts on
        self.others = others  # the repository's other guides: they only tell which tasks exist
        self.state = state
        self.snap = snap
        self.opts = opts
        self.problems: list[Problem] = []
        self.ms_numbers: dict[str, int | None] = {}
        self.ms_records: dict[str, MilestoneRecord] = {}
        self.pushing = opts.mode in ("push", "sync")
        self.pulling = opts.mode in ("pull", "sync")
        self._unsure_numbers: dict[int, str] = {}
        self.alive: set[str] = set()  # keys of every task of every guide
        # (guide, key) of every issue read that carries a marker: each body is searched once
        self.markers: dict[int, tuple[str, str]] = {
            n: found for n, issue in snap.issues.items() if (found := read_marker(issue.body))}
        self._kept_orphans: dict[str, MilestoneRecord] = {}
        self._titles: set[str] | None = None  # the titles every task would get, once asked
        self.claimed: dict[int, Task] = {}  # issue numbers some task of some guide links

    # -- guides that cannot be synced, milestones -------------------------------------------

    def refuse_duplicate_titles(self) -> None:
        problems, refused = refuse_duplicate_titles(self.guides, self.others, self.state)
        self.problems += problems
        if refused:
            self.others = self.others + tuple(g for g in self.guides if g.path in refused)
            self.guides = tuple(g for g in self.guides if g.path not in refused)
            self.opts = replace(self.opts, frozen_guides=self.opts.frozen_guides | refused)

    def check_milestone_records(self) -> None:
        self.ms_records, self._kept_orphans = milestone_records(self.guides, self.others, self.state, self.opts)

    # -- which issue is whose ---------------------------------------------------------------

    def _link_kind(self, task: Task) -> str:
        """``ours``: a link to an issue of this repository; ``foreign``: another repository's
        issue, part of the task's text; ``unsure``: not recognised, yet its number is one guidesync
        knows, so neither the task nor that issue is touched."""
        link = task.link
        assert link is not None
        if self.opts.owns_link(link.url, link.number):
            return "ours"
        if link.number in self.state.records or link.number in self.snap.issues:
            return "unsure"
        return "foreign"

    def assign(self) -> list[_Assigned]:
        """Every acting task with its issue: linked, found by marker, or to create."""
        uses: dict[int, int] = defaultdict(int)
        for guide in self.guides + self.others:
            for task in guide.tasks:
                self.alive.add(task.key)
                if task.link is None:
                    continue
                kind = self._link_kind(task)
                if kind == "foreign":
                    self.alive.add(_link_as_text(task).key)
                    continue
                self.claimed[task.link.number] = task
                if kind == "ours":
                    uses[task.link.number] += 1
        out: list[_Assigned] = []
        for guide in self.guides:
            for ms in guide.milestones:
                for task in ms.tasks:
                    if task.link is None:
                        out.append(_Assigned(guide, ms, task))
                        continue
                    n = task.link.number
                    kind = self._link_kind(task)
                    if kind == "foreign":
                        out.append(_Assigned(guide, ms, _link_as_text(task), append_link=True))
                    elif kind == "unsure":
                        self._warn(task, f"the link {task.link.url} is not recognised as issue #{n} of this repository; "
                                         f"the task and issue #{n} are left alone until the link is fixed")
                    elif uses[n] > 1:
                        self._error(task, f"issue #{n} is linked by {uses[n]} tasks; none of them is synced until only one keeps the link")
                    else:
                        out.append(_Assigned(guide, ms, task, n))
        self._find_by_marker([a for a in out if a.number is None])
        return out

    def _by_key(self) -> dict[str, list[int]]:
        """Task key -> issues that belong to it: base records, and issues read carrying its marker."""
        by_key: dict[str, set[int]] = defaultdict(set)
        for n, rec in self.state.records.items():
            if rec.state != GONE and not rec.unmanaged:
                by_key[rec.key].add(n)
        for n, (_, key) in self.markers.items():
            by_key[key].add(n)
        return {k: sorted(v) for k, v in by_key.items()}

    def _find_by_marker(self, unlinked: list[_Assigned]) -> None:
        by_key = self._by_key()
        taken: set[int] = set()
        rest: list[_Assigned] = []
        for a in unlinked:
            free = [n for n in by_key.get(a.task.key, ()) if n not in self.claimed and n not in taken and n not in self.snap.gone]
            if free:
                a.number, a.found = free[0], True
                taken.add(free[0])
                self.claimed[free[0]] = a.task
            else:
                rest.append(a)
        rest = self._moved_without_link(rest, taken)
        self._journalled_leftovers(rest, taken)

    def _moved_without_link(self, unlinked: list[_Assigned], taken: set[int]) -> list[_Assigned]:
        """A task cut from one guide without its link and pasted into another (so its key changed):
        it takes over the open issue of the base whose task is gone, when the issue's title is the
        task's title to the letter and it is the only such pair either way."""
        limit = dict(self.opts.limits).get("title", 255)
        pool: dict[str, list[int]] = defaultdict(list)
        for n, rec in self.state.records.items():
            issue = self.snap.issues.get(n)
            if (issue is None or issue.state != OPEN or rec.pending or rec.unmanaged or rec.state in (GONE, REMOVED)
                    or n in self.claimed or n in taken or rec.key in self.alive):
                continue
            pool[issue.title].append(n)
        if not pool:
            return unlinked
        wanting: dict[str, list[_Assigned]] = defaultdict(list)
        for a in unlinked:
            wanting[issue_title(a.task, limit)].append(a)
        rest = []
        for a in unlinked:
            title = issue_title(a.task, limit)
            if len(pool.get(title, ())) == 1 and len(wanting[title]) == 1:
                n = pool[title][0]
                a.number, a.found = n, True
                taken.add(n)
                self.claimed[n] = a.task
            else:
                rest.append(a)
        return rest

    def _journalled_leftovers(self, unlinked: list[_Assigned], taken: set[int]) -> None:
        """An issue an interrupted run created (journalled as pending or unsure) whose task was
        reworded since: taken over when it is the task's only likely issue and the task its only
        likely task. Never an issue guidesync closed, forgot or ever saw linked."""
        unsure = set(self.state.unsure)
        pool = []
        for n, issue in sorted(self.snap.issues.items()):
            if n in self.claimed or n in taken or n in self.snap.gone:
                continue
            rec = self.state.records.get(n)
            found = self.markers.get(n)
            if (rec is not None and rec.pending) or (rec is None and found and found[1] in unsure):
                if not found or found[1] not in self.alive:
                    pool.append(n)
        if not pool or not unlinked:
            return
        likely: dict[int, list[_Assigned]] = defaultdict(list)
        choices: dict[int, list[int]] = {}
        for i, a in enumerate(unlinked):
            choices[i] = [n for n in pool if self._alike(a, n)]
            for n in choices[i]:
                likely[n].append(a)
        for i, a in enumerate(unlinked):
            if len(choices[i]) == 1 and len(likely[choices[i][0]]) == 1:
                n = choices[i][0]
                a.number, a.found, a.journalled = n, True, True
                self.claimed[n] = a.task

    def _alike(self, a: _Assigned, n: int) -> bool:
        issue = self.snap.issues[n]
        found = self.markers.get(n)
        rec = self.state.records.get(n)
        guide = found[0] if found else (rec.guide if rec else None)
        want_ms = self.ms_numbers.get(a.ms.key)
        same_place = guide == a.task.guide and (want_ms is None or issue.milestone in (None, want_ms))
        text = " ".join(a.task.text.split()).casefold()
        score = SequenceMatcher(None, text, issue.title.replace(ZWSP, "").casefold()).ratio()
        return score >= (SIMILAR_HERE if same_place else SIMILAR_ELSEWHERE)

    def duplicates(self, assigned: list[_Assigned]) -> list[TaskStep]:
        """Two open issues carrying one task's marker (two runs created it at once): the earlier is
        kept and linked, the later closed as its duplicate."""
        by_key: dict[str, list[int]] = defaultdict(list)
        for n, (_, key) in self.markers.items():
            if n not in self.snap.gone:
                by_key[key].append(n)
        steps: list[TaskStep] = []
        if not self.pushing:
            return steps
        for a in assigned:
            if a.number is None:
                continue
            # Open ones; closed as completed ones only for a done task (relinking changes no state).
            mine = self.snap.issues.get(a.number)
            if mine is None or (self.markers.get(a.number) or ("", ""))[1] != a.task.key:
                continue  # only an issue that is this task's own has duplicates
            done = a.task.checked and mine is not None and mine.state == COMPLETED
            same = [n for n in by_key.get(a.task.key, ()) if n != a.number and self.claimed.get(n, a.task) is a.task
                    and (self.snap.issues[n].state == OPEN or (done and self.snap.issues[n].state == COMPLETED))]
            if not same:
                continue
            keep = min(same + [a.number])
            for n in sorted(set(same + [a.number]) - {keep}):
                remote = self.snap.issues.get(n)
                if remote is None:
                    continue
                rec = self.state.records.get(n)
                tomb = Record(a.task.guide, a.task.key, False, REMOVED, rec.hash if rec else "", rec.milestone if rec else None)
                if remote.state != OPEN:
                    steps.append(TaskStep(None, n, forget=True, record=tomb, fallback=rec,
                                          notes=(f"a duplicate of #{keep} (the same task of {a.task.guide}), already closed",)))
                    continue
                steps.append(TaskStep(None, n, close=DUPLICATE, forget=True, record=tomb, fallback=rec,
                                      comment=f"Duplicate of #{keep}: two guidesync runs created an issue for the same "
                                              "task at once; this one is closed.",
                                      notes=(f"a duplicate of #{keep} (the same task of {a.task.guide})",)))
            if keep != a.number:
                a.number, a.found = keep, True
            self.claimed[keep] = a.task
        return steps

    # -- tasks ------------------------------------------------------------------------------

    def tasks(self) -> list[TaskStep]:
        assigned = self.assign()
        dup_steps = self.duplicates(assigned)
        steps: list[TaskStep] = []
        # Linked tasks first, then those found by marker and those to create, each in guide order.
        for a in sorted(assigned, key=lambda a: a.number is None or a.found):
            if a.number is None:
                steps.append(self._create(a))
            elif not a.found:
                steps.append(self._linked(a, None))
            else:
                url = self._url_of(a.number)
                if url is not None:
                    steps.append(self._linked(a, url))
                else:  # never create a second issue for a task the base knows
                    steps.append(TaskStep(a.task, a.number, notes=(f"its issue #{a.number} was not read this run; it is linked again on the next",)))
        steps += dup_steps
        steps += self._removed()
        steps += self._unsure()
        for n, issue in sorted(self.snap.issues.items()):
            found = self.markers.get(n)
            if (found and issue.state == OPEN and n not in self.claimed and n not in self.state.records
                    and n not in self._unsure_numbers and found[1] not in self.alive):
                self.problems.append(Problem(
                    found[0], None,
                    f"issue #{n} ({issue.title!r}) carries a guidesync marker but no task matches it: left by an "
                    "interrupted run or created from another branch; link it from its task or close it", "warning"))
        return steps

    def _unsure(self) -> list[TaskStep]:
        """Issues this checkout created without hearing back, whose task is gone: closed as removed."""
        steps: list[TaskStep] = []
        unsure = set(self.state.unsure)
        for n, issue in sorted(self.snap.issues.items()):
            found = self.markers.get(n)
            if not found or found[1] not in unsure or n in self.state.records:
                continue
            self._unsure_numbers[n] = found[1]
            if n in self.claimed or found[1] in self.alive:
                continue
            if issue.state == OPEN and self.pushing and self._removals_allowed():
                comment = neutralize(f"guidesync created this issue for a task of {found[0]} that has left the guide "
                                     "since, so it closed the issue as not planned.")
                tomb = Record(found[0], found[1], False, REMOVED, "", issue.milestone)
                steps.append(TaskStep(None, n, close=NOT_PLANNED, comment=comment, forget=True, record=tomb,
                                      notes=(f"created by an interrupted run for a task no longer in {found[0]}",)))
        return steps

    def _title_alive(self, title: str) -> bool:
        """Some task of some guide would get this title (a task whose key changed, say by a moved
        guide, while its link went elsewhere): positive evidence that its task is not gone."""
        if self._titles is None:
            limit = dict(self.opts.limits).get("title", 255)
            self._titles = {issue_title(t, limit) for g in self.guides + self.others for t in g.tasks}
        return title in self._titles

    def _removals_allowed(self) -> bool:
        return removals_allowed(self.opts)


    def _url_of(self, number: int) -> str | None:
        issue = self.snap.issues.get(number)
        return issue.url if issue else None

    def _content(self, guide: Guide, ms: Milestone, task: Task) -> IssueContent:
        return render_issue(task, guide, ms, self.opts.guide_url(guide.path), dict(self.opts.limits))

    def _create(self, a: _Assigned) -> TaskStep:
        task = a.task
        content = self._content(a.guide, a.ms, task)
        if not self.pushing:
            return TaskStep(task, None, content, a.ms.key, notes=("not on the tracker yet (push creates it)",))
        close = COMPLETED if task.checked else None
        record = Record(task.guide, task.key, task.checked, COMPLETED if close else OPEN, content.hash, None)
        fallback = replace(record, checked=False, state=OPEN)
        return TaskStep(task, None, content, a.ms.key, create=True, close=close, record=record, fallback=fallback,
                        append_link=a.append_link)

    def _adopting(self, task: Task) -> bool:
        return self.opts.adopt_all or (task.guide, task.line) in self.opts.adopt

    def _managed(self, task: Task, rec: Record | None, remote: RemoteIssue | None) -> bool:
        """Positive evidence that the issue is this task's: it carries the marker for this task (or
        for the task this base record was, when no other task has that key); unread, a base record."""
        if remote is None:
            return rec is not None and not rec.unmanaged
        found = self.markers.get(remote.number)
        if not found:
            return False
        key = found[1]
        return key == task.key or (rec is not None and not rec.unmanaged and (key == rec.key or key not in self.alive))

    def _linked(self, a: _Assigned, adopt_url: str | None) -> TaskStep:
        guide, ms, task, n = a.guide, a.ms, a.task, a.number
        assert n is not None
        rec = self.state.records.get(n)
        remote = self.snap.issues.get(n)
        content = self._content(guide, ms, task)
        if n in self.snap.gone or (remote is None and rec is not None and rec.state == GONE):
            gone_rec = Record(task.guide, task.key, task.checked, GONE, rec.hash if rec else "", rec.milestone if rec else None)
            return TaskStep(task, n, content, ms.key, record=gone_rec, fallback=gone_rec,
                            notes=(f"issue #{n} was deleted or moved away on the tracker; remove its link to create a new issue",))
        if remote is None and rec is None:
            return TaskStep(task, n, content, ms.key, notes=("not checked against the tracker (offline)",))
        adopting = self._adopting(task)
        if not adopting and not a.journalled and not self._managed(task, rec, remote):
            return self._unmanaged(task, n, rec, remote)
        if rec is not None and (rec.unmanaged or rec.state in (GONE, REMOVED)):
            rec_base = None
        else:
            rec_base = rec
        r_state = remote.state if remote is not None else rec.state  # type: ignore[union-attr]
        base = (rec_base.checked, rec_base.state) if rec_base is not None else None
        if rec is not None and rec.state == REMOVED:  # guidesync closed it when the task left: the task decides
            d = revive(task.checked, OPEN if r_state == OPEN else (NOT_PLANNED if r_state == REMOVED else r_state))
        else:
            d = decide_state(task.checked, r_state, base)
        notes = [d.note] if d.note else []
        want_ms = self.ms_numbers.get(ms.key)
        found = self.markers.get(n)
        remote_key = found[1] if found else None
        if rec is not None and rec.state != GONE and not rec.unmanaged:
            # The marker tells what the issue last received: a run that died after updating it but
            # before writing the base left the base's hash behind.
            content_changed = (rec.hash != content.hash or want_ms is None or rec.milestone != want_ms
                               or (remote_key is not None and remote_key != task.key))
        elif remote is not None:
            content_changed = (
                want_ms is None or remote.title != content.title or remote.body.rstrip() != content.body.rstrip()
                or remote.milestone != want_ms
            )
        else:
            content_changed = True
        missing_label = remote is not None and not set(self.opts.labels) <= set(remote.labels)
        if missing_label:
            notes.append("its guidesync label was removed on the tracker; it is added back" if rec_base is not None
                         else "the guidesync label is added")
        update = self.pushing and (content_changed or missing_label)
        labels = tuple(remote.labels) + tuple(l for l in self.opts.labels if l not in remote.labels) if missing_label and remote else None
        close = d.close if self.pushing else None
        reopen = d.reopen and self.pushing
        set_box = d.set_box if self.pulling else None
        state_ok = (d.close is None or close is not None) and (not d.reopen or reopen) and (d.set_box is None or set_box is not None)
        old_hash = rec.hash if rec is not None and not rec.unmanaged else ""
        old_ms = rec.milestone if rec is not None else None
        new_hash = content.hash if update or not content_changed else old_hash
        new_ms = want_ms if update or not content_changed else old_ms
        if state_ok:
            record = Record(task.guide, task.key, d.checked, d.state, new_hash, new_ms)
        elif base is not None:
            record = Record(task.guide, task.key, base[0], base[1], new_hash, new_ms)
        elif rec is not None and rec.state == REMOVED:
            record = replace(rec, hash=new_hash, milestone=new_ms)  # still a tombstone: the reopen waits for a push
        else:
            record = Record(task.guide, task.key, False, OPEN, new_hash, new_ms)
        if rec is not None and base is not None:
            fallback = Record(task.guide, task.key, base[0], base[1], rec.hash, rec.milestone)
        elif rec is not None and rec.state in (GONE, REMOVED):
            fallback = rec
        else:
            fallback = Record(task.guide, task.key, False, OPEN, old_hash, old_ms)
        if not state_ok:
            missing = "the tracker" if not self.pushing else "the guide"
            notes.append(f"a change waits for a sync that writes {missing}")
        if adopting and rec_base is None and (rec is None or rec.unmanaged):
            notes.append("taken over on request (--adopt): its title and body are replaced from the guide")
        return TaskStep(
            task, n, content, ms.key,
            adopt_url=adopt_url,
            update=update,
            labels=labels if update else None,
            close=close,
            reopen=reopen,
            set_box=set_box,
            append_link=a.append_link,
            waits=d.set_box is not None and set_box is None,
            record=record,
            fallback=fallback,
            notes=tuple(notes),
        )

    def _unmanaged(self, task: Task, n: int, rec: Record | None, remote: RemoteIssue | None) -> TaskStep:
        """A link to an issue guidesync did not make for this task: reported, never written to."""
        self._warn(task, f"issue #{n} does not carry guidesync's marker for this task, so guidesync leaves it "
                         f"untouched; run `guidesync adopt {task.guide}:{task.line + 1}` to let guidesync manage it")
        state = remote.state if remote is not None else (rec.state if rec else OPEN)
        record = Record(task.guide, task.key, task.checked, state, "", remote.milestone if remote else None, unmanaged=True)
        return TaskStep(task, n, record=record, fallback=rec)

    def _removed(self) -> list[TaskStep]:
        in_scope = {g.path for g in self.guides}
        steps: list[TaskStep] = []
        for n, rec in sorted(self.state.records.items()):
            if n in self.claimed or rec.state == REMOVED:
                continue
            if rec.guide in self.opts.frozen_guides or (rec.guide not in in_scope and not self.opts.all_guides):
                continue
            if rec.unmanaged or rec.state == GONE:  # nothing guidesync may do to it: just forgotten
                steps.append(TaskStep(None, n, forget=True, fallback=rec, notes=(f"left the guide {rec.guide}; issue kept",)))
                continue
            if rec.key in self.alive:
                continue  # its task is in a guide this run does not act on
            remote = self.snap.issues.get(n)
            if remote is not None and self._title_alive(remote.title):
                steps.append(TaskStep(None, n, record=rec, fallback=rec, notes=(
                    "no task links it any more, but a task of the same text is in a guide; its issue is left "
                    "open (link it from that task, or delete the task)",)))
                continue
            if not self._removals_allowed():
                steps.append(TaskStep(None, n, record=rec, fallback=rec, notes=(
                    f"its task left {rec.guide}, but a guide has errors, so its issue waits for a run that reads every guide",)))
                continue
            if not self.pushing:
                steps.append(TaskStep(None, n, record=rec, fallback=rec, notes=(f"left the guide {rec.guide} (push closes its issue)",)))
                continue
            r = remote.state if remote is not None else rec.state
            tomb = replace(rec, state=REMOVED, pending=False)
            if self.opts.on_removed == "close" and r == OPEN and n not in self.snap.gone:
                comment = neutralize(
                    f"This task was removed from the guide {rec.guide}, so guidesync closed this issue as not planned."
                )
                steps.append(TaskStep(None, n, close=NOT_PLANNED, comment=comment, forget=True, record=tomb, fallback=rec,
                                      notes=(f"left the guide {rec.guide}",)))
            else:
                steps.append(TaskStep(None, n, forget=True, record=tomb, fallback=rec, notes=(f"left the guide {rec.guide}; issue kept",)))
        return steps

    def guards(self, steps: list[TaskStep]) -> list[str]:
        return mass_close(steps, self.opts) + lost_links(steps, self.guides, self.state)

    def _warn(self, task: Task, message: str) -> None:
        self.problems.append(Problem(task.guide, task.line, message, "warning"))

    def _error(self, task: Task, message: str) -> None:
        self.problems.append(Problem(task.guide, task.line, message, "error"))


def make_plan(guides: tuple[Guide, ...] | list[Guide], state: State, snapshot: Snapshot, options: Options,
              others: tuple[Guide, ...] | list[Guide] = ()) -> Plan:
    """Decide everything a run would do. Pure.

    ``guides``: the guides to act on; ``others``: the repository's other guides (and those with
    errors), read only to know which tasks exist, so that no issue is closed while its task lives."""
    if options.mode not in MODES:
        raise ValueError(f"unknown mode {options.mode!r}")
    acting = tuple(guides)
    paths = {g.path for g in acting}
    planner = _Planner(acting, tuple(g for g in others if g.path not in paths), state, snapshot, options)
    planner.refuse_duplicate_titles()
    planner.check_milestone_records()
    ms_steps, planner.ms_numbers = plan_milestones(planner.guides, planner.ms_records, snapshot, planner.opts)
    steps = planner.tasks()
    guards = planner.guards(steps)
    needs_label = planner.pushing and not state.label and any(s.create for s in steps)
    found = dict(planner._unsure_numbers)
    records = {**planner._kept_orphans, **planner.ms_records}
    return Plan(tuple(ms_steps), tuple(steps), needs_label, tuple(planner.problems), tuple(guards), found, records)
