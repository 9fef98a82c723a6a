"""One function per kind of task step: issues to create, linked tasks (update, close, reopen, box
writes), tasks whose issue was not read, duplicates to close, issues whose task left the guides,
and unsure creations whose task is gone. Pure."""

from __future__ import annotations

from dataclasses import replace
from typing import Mapping

from .decide import StateDecision, decide_state, revive
from .guards import removals_allowed
from .match import Match, Matching
from .model import Guide, Problem, Task
from .planmodel import COMPLETED, DUPLICATE, NOT_PLANNED, OPEN, Options, RemoteIssue, Snapshot, TaskStep
from .render import IssueContent, issue_title, neutralize, render_issue
from .base import GONE, REMOVED, Record, Base


Blockers = Mapping[str, tuple[tuple[str, int | None], ...]]


def task_steps(matching: Matching, base: Base, snap: Snapshot, opts: Options, numbers: Mapping[str, int | None],
               problems: list[Problem], blockers: Blockers | None = None) -> list[TaskStep]:
    """One step per matched task: linked tasks first, then those found and those to create, each in
    guide order. A link that guidesync may not write to is reported into ``problems``.
    ``blockers``: task key -> the tasks that block it (key, issue number or None)."""
    steps: list[TaskStep] = []
    blockers = blockers or {}
    for m in sorted(matching.matches, key=lambda m: m.number is None or m.found):
        blocked = blockers.get(m.task.key, ())
        if m.number is None:
            steps.append(create_step(m, opts, blocked))
        elif not m.found:
            steps.append(linked_step(m, None, base, snap, opts, numbers, matching.markers, problems, blocked))
        else:
            issue = snap.issues.get(m.number)
            url = issue.url if issue else None
            if url is not None:
                steps.append(linked_step(m, url, base, snap, opts, numbers, matching.markers, problems, blocked))
            else:  # never create a second issue for a task the base knows
                steps.append(TaskStep(m.task, m.number, notes=(
                    f"its issue #{m.number} was not read this run; it is linked again on the next",)))
    return steps


def _content(m: Match, opts: Options, blocked: tuple[tuple[str, int | None], ...] = ()) -> IssueContent:
    numbers = tuple(n for _, n in blocked if n is not None)
    return render_issue(m.task, m.guide, m.ms, opts.guide_url(m.guide.path), dict(opts.limits), numbers)


def create_step(m: Match, opts: Options, blocked: tuple[tuple[str, int | None], ...] = ()) -> TaskStep:
    """A task without an issue: a push creates one (closed at once if the task is done)."""
    task = m.task
    content = _content(m, opts, blocked)
    if not opts.pushes:
        return TaskStep(task, None, content, m.ms.key, notes=("not on the tracker yet (push creates it)",))
    close = COMPLETED if task.checked else None
    record = Record(task.guide, task.key, task.checked, COMPLETED if close else OPEN, content.hash, None)
    fallback = replace(record, checked=False, issue_state=OPEN)
    return TaskStep(task, None, content, m.ms.key, create=True, close=close, record=record, fallback=fallback,
                    append_link=m.append_link, blockers=blocked)


def linked_step(m: Match, adopt_url: str | None, base: Base, snap: Snapshot, opts: Options,
                numbers: Mapping[str, int | None], markers: Mapping[int, tuple[str, str]],
                problems: list[Problem], blocked: tuple[tuple[str, int | None], ...] = ()) -> TaskStep:
    """A task with its issue: content pushed when it changed, box and issue state decided three-way,
    and the base records to keep. ``adopt_url``: the issue was found, so its link is written."""
    task, n = m.task, m.number
    assert n is not None
    rec = base.records.get(n)
    remote = snap.issues.get(n)
    content = _content(m, opts, blocked)
    unreachable = _unreachable(m, n, rec, remote, content, snap)
    if unreachable is not None:
        return unreachable
    if m.unmanaged:
        return unmanaged_step(task, n, rec, remote, problems)
    rec_base = None if rec is not None and (rec.unmanaged or rec.issue_state in (GONE, REMOVED)) else rec
    base = (rec_base.checked, rec_base.issue_state) if rec_base is not None else None
    d = _decision(task, rec, remote, base, m.revives)
    notes = [d.note] if d.note else []
    want_ms = numbers.get(m.ms.key)
    changed = _content_changed(task, rec, remote, content, want_ms, markers.get(n))
    labels = _labels_to_send(remote, opts)
    if labels is not None:
        notes.append("its guidesync label was removed on the tracker; it is added back" if rec_base is not None
                     else "the guidesync label is added")
    update = opts.pushes and (changed or labels is not None)
    close = d.close if opts.pushes else None
    reopen = d.reopen and opts.pushes
    set_box = d.set_box if opts.pulls else None
    state_ok = (d.close is None or close is not None) and (not d.reopen or reopen) and (d.set_box is None or set_box is not None)
    record, fallback = _records(task, rec, base, d, state_ok, update or not changed, content.hash, want_ms, m.revives)
    if not state_ok:
        missing = "the tracker" if not opts.pushes else "the guide"
        notes.append(f"a change waits for a sync that writes {missing}")
    if m.adopting and rec_base is None and (rec is None or rec.unmanaged):
        notes.append("taken over on request (--adopt): its title and body are replaced from the guide")
    return TaskStep(
        task, n, content, m.ms.key,
        adopt_url=adopt_url,
        update=update,
        labels=labels if update else None,
        close=close,
        reopen=reopen,
        set_box=set_box,
        append_link=m.append_link,
        blockers=blocked,
        waits=d.set_box is not None and set_box is None,
        record=record,
        fallback=fallback,
        notes=tuple(notes),
    )


def _unreachable(m: Match, n: int, rec: Record | None, remote: RemoteIssue | None, content: IssueContent,
                 snap: Snapshot) -> TaskStep | None:
    """The step of a task whose issue is gone from the tracker, or was not checked (offline); else None."""
    task = m.task
    if n in snap.gone or (remote is None and rec is not None and rec.issue_state == GONE):
        gone_rec = Record(task.guide, task.key, task.checked, GONE, rec.hash if rec else "", rec.milestone if rec else None)
        return TaskStep(task, n, content, m.ms.key, record=gone_rec, fallback=gone_rec,
                        notes=(f"issue #{n} was deleted or moved away on the tracker; remove its link to create a new issue",))
    if remote is None and rec is None:
        return TaskStep(task, n, content, m.ms.key, notes=("not checked against the tracker (offline)",))
    return None


def unmanaged_step(task: Task, n: int, rec: Record | None, remote: RemoteIssue | None, problems: list[Problem]) -> TaskStep:
    """A link to an issue guidesync did not make for this task: reported, never written to."""
    problems.append(Problem(task.guide, task.line, f"issue #{n} does not carry guidesync's marker for this task, so "
                            f"guidesync leaves it untouched; run `guidesync adopt {task.guide}:{task.line + 1}` to let "
                            "guidesync manage it", "warning"))
    issue_state = remote.issue_state if remote is not None else (rec.issue_state if rec else OPEN)
    record = Record(task.guide, task.key, task.checked, issue_state, "", remote.milestone if remote else None, unmanaged=True)
    return TaskStep(task, n, record=record, fallback=rec)


def _decision(task: Task, rec: Record | None, remote: RemoteIssue | None, base: tuple[bool, str] | None,
              revives: bool) -> StateDecision:
    r_state = remote.issue_state if remote is not None else rec.issue_state  # type: ignore[union-attr]
    if revives:  # guidesync closed it when the task left: the task decides
        return revive(task.checked, OPEN if r_state == OPEN else (NOT_PLANNED if r_state == REMOVED else r_state))
    return decide_state(task.checked, r_state, base)


def _content_changed(task: Task, rec: Record | None, remote: RemoteIssue | None, content: IssueContent,
                     want_ms: int | None, found: tuple[str, str] | None) -> bool:
    """Does the issue need the guide's title, body and milestone? ``found``: the marker the issue carries."""
    remote_key = found[1] if found else None
    if rec is not None and rec.issue_state != GONE and not rec.unmanaged:
        # The marker tells what the issue last received: a run that died after updating it but
        # before writing the base left the base's hash behind.
        return (rec.hash != content.hash or want_ms is None or rec.milestone != want_ms
                or (remote_key is not None and remote_key != task.key))
    if remote is not None:
        return (
            want_ms is None or remote.title != content.title or remote.body.rstrip() != content.body.rstrip()
            or remote.milestone != want_ms
        )
    return True


def _labels_to_send(remote: RemoteIssue | None, opts: Options) -> tuple[str, ...] | None:
    """The full label set to send when the issue lacks one of guidesync's labels; None: it has them (or was not read)."""
    if remote is None or set(opts.labels) <= set(remote.labels):
        return None
    return tuple(remote.labels) + tuple(l for l in opts.labels if l not in remote.labels)


def _records(task: Task, rec: Record | None, base: tuple[bool, str] | None, d: StateDecision, state_ok: bool,
             written: bool, new_hash: str, want_ms: int | None, revives: bool) -> tuple[Record, Record]:
    """(the base record once every step has succeeded, the record if the state steps did not all
    happen). ``written``: the tracker holds, or is sent, this content (``new_hash``, ``want_ms``)."""
    old_hash = rec.hash if rec is not None and not rec.unmanaged else ""
    old_ms = rec.milestone if rec is not None else None
    if not written:
        new_hash, want_ms = old_hash, old_ms
    if state_ok:
        record = Record(task.guide, task.key, d.checked, d.issue_state, new_hash, want_ms)
    elif base is not None:
        record = Record(task.guide, task.key, base[0], base[1], new_hash, want_ms)
    elif revives:
        assert rec is not None
        record = replace(rec, hash=new_hash, milestone=want_ms)  # still a tombstone: the reopen waits for a push
    else:
        record = Record(task.guide, task.key, False, OPEN, new_hash, want_ms)
    if rec is not None and base is not None:
        fallback = Record(task.guide, task.key, base[0], base[1], rec.hash, rec.milestone)
    elif rec is not None and rec.issue_state in (GONE, REMOVED):
        fallback = rec
    else:
        fallback = Record(task.guide, task.key, False, OPEN, old_hash, old_ms)
    return record, fallback


def duplicate_steps(matching: Matching, base: Base, snap: Snapshot) -> list[TaskStep]:
    """The later issues of a task two runs created at once: closed as duplicates of the one kept."""
    steps: list[TaskStep] = []
    for dup in matching.duplicates:
        n, keep, task = dup.number, dup.keep, dup.task
        rec = base.records.get(n)
        tomb = Record(task.guide, task.key, False, REMOVED, rec.hash if rec else "", rec.milestone if rec else None)
        if snap.issues[n].issue_state != OPEN:
            steps.append(TaskStep(None, n, forget=True, record=tomb, fallback=rec,
                                  notes=(f"a duplicate of #{keep} (the same task of {task.guide}), already closed",)))
            continue
        steps.append(TaskStep(None, n, close=DUPLICATE, forget=True, record=tomb, fallback=rec,
                              comment=f"Duplicate of #{keep}: two guidesync runs created an issue for the same "
                                      "task at once; this one is closed.",
                              notes=(f"a duplicate of #{keep} (the same task of {task.guide})",)))
    return steps


def task_titles(every: tuple[Guide, ...], opts: Options) -> set[str]:
    """The titles every task would get. An issue of such a title is not gone: some task of some guide
    would get it (a task whose key changed, say by a moved guide, while its link went elsewhere)."""
    limit = dict(opts.limits).get("title", 255)
    return {issue_title(t, limit) for g in every for t in g.tasks}


def removed_steps(acting: tuple[Guide, ...], others: tuple[Guide, ...], matching: Matching, base: Base,
                  snap: Snapshot, opts: Options) -> list[TaskStep]:
    """The base's issues that no task claims any more, of the guides this run may judge."""
    in_scope = {g.path for g in acting}
    titles: set[str] | None = None  # computed once some issue needs it
    steps: list[TaskStep] = []
    children = set() if opts.sub_issues else {c for r in base.records.values() for c in r.children}
    for n, rec in sorted(base.records.items()):
        if n in matching.claimed or rec.issue_state == REMOVED or (rec.imported and rec.pending):
            continue  # (an import whose line has not reached its guide yet: the next pull writes it)
        if n in children:  # sub_issues was turned off: its item is text in its parent's body again
            steps.append(TaskStep(None, n, record=rec, fallback=rec, notes=(
                "a sub-issue guidesync made; with sub_issues off its item is part of its parent's body, so this "
                "issue is left as it is",)))
            continue
        if rec.guide in opts.frozen_guides or (rec.guide not in in_scope and not opts.all_guides):
            continue
        if rec.unmanaged or rec.issue_state == GONE:  # nothing guidesync may do to it: just forgotten
            steps.append(TaskStep(None, n, forget=True, fallback=rec, notes=(f"left the guide {rec.guide}; issue kept",)))
            continue
        if rec.key in matching.alive:
            continue  # its task is in a guide this run does not act on
        remote = snap.issues.get(n)
        if remote is not None:
            titles = task_titles(acting + others, opts) if titles is None else titles
            if remote.title in titles:
                steps.append(TaskStep(None, n, record=rec, fallback=rec, notes=(
                    "no task links it any more, but a task of the same text is in a guide; its issue is left "
                    "open (link it from that task, or delete the task)",)))
                continue
        steps.append(_removal(n, rec, remote, snap, opts))
    return steps


def _removal(n: int, rec: Record, remote: RemoteIssue | None, snap: Snapshot, opts: Options) -> TaskStep:
    """An issue whose task is gone: a push closes it as not planned (``on_removed: keep`` leaves it)."""
    if not removals_allowed(opts):
        return TaskStep(None, n, record=rec, fallback=rec, notes=(
            f"its task left {rec.guide}, but a guide has errors, so its issue waits for a run that reads every guide",))
    if not opts.pushes:
        return TaskStep(None, n, record=rec, fallback=rec, notes=(f"left the guide {rec.guide} (push closes its issue)",))
    r = remote.issue_state if remote is not None else rec.issue_state
    tomb = replace(rec, issue_state=REMOVED, pending=False)
    if opts.on_removed == "close" and r == OPEN and n not in snap.gone:
        comment = neutralize(
            f"This task was removed from the guide {rec.guide}, so guidesync closed this issue as not planned."
        )
        return TaskStep(None, n, close=NOT_PLANNED, comment=comment, forget=True, record=tomb, fallback=rec,
                        notes=(f"left the guide {rec.guide}",))
    return TaskStep(None, n, forget=True, record=tomb, fallback=rec, notes=(f"left the guide {rec.guide}; issue kept",))


def unsure_steps(matching: Matching, snap: Snapshot, opts: Options) -> list[TaskStep]:
    """Issues this checkout created without hearing back, whose task is gone: closed as removed."""
    steps: list[TaskStep] = []
    for n, key in matching.unsure_found.items():
        if n in matching.claimed or key in matching.alive:
            continue
        issue = snap.issues[n]
        guide = matching.markers[n][0]
        if issue.issue_state == OPEN and opts.pushes and removals_allowed(opts):
            comment = neutralize(f"guidesync created this issue for a task of {guide} that has left the guide "
                                 "since, so it closed the issue as not planned.")
            tomb = Record(guide, key, False, REMOVED, "", issue.milestone)
            steps.append(TaskStep(None, n, close=NOT_PLANNED, comment=comment, forget=True, record=tomb,
                                  notes=(f"created by an interrupted run for a task no longer in {guide}",)))
    return steps
