"""The tracker half of the guides' fields (:mod:`guidesync.core.metadata`): assignees checked
before they are sent, labels made when missing, what the tracker kept compared with what was sent,
and blocked-by recorded once every issue of the run has its number.

Nothing here is destructive on doubt: a login the tracker cannot assign is left off with a warning
naming the user and the task's line, never sent for the tracker to drop silently; a dependency the
tracker refuses is reported and left for the next run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from .core.outcome import StepOutcome, issue_number as _number
from .core.planmodel import Plan, Snapshot, TaskStep
from .core.render import content_hash, with_blockers
from .errors import BudgetExhausted, Conflict, Gone, Invalid, NotFound, TrackerError
from .trackers.base import RemoteIssue, Tracker

#: what the run says once when blocked-by cannot be recorded as a dependency
NO_DEPENDENCIES = {
    "body": "blocked-by: this server has no issue dependencies; each issue's body says which issues block it",
    "related": "blocked-by: this tier has no blocking links; the issues are linked as related, and each body says "
               "which issues block it",
}


def where(step: TaskStep) -> str:
    return f"{step.task.guide}:{step.task.line + 1}" if step.task is not None else f"issue #{step.number}"


@dataclass
class Fields:
    """Sends a step's field changes with its creation or update."""

    tracker: Tracker
    snapshot: Snapshot
    warn: Callable[[str], None]
    _assignable: dict[str, bool] = field(default_factory=dict)

    def assignable(self, step: TaskStep, logins: tuple[str, ...]) -> tuple[str, ...]:
        """The logins the tracker can assign, each asked once per run; the others are left off,
        with a warning naming the user and the task."""
        ok = []
        for login in logins:
            if login not in self._assignable:
                self._assignable[login] = self.tracker.assignable(login)
            if self._assignable[login]:
                ok.append(login)
            else:
                self.warn(f"{where(step)}: {login!r} cannot be assigned issues in this repository; left off "
                          "(add them to the repository, or fix the name)")
        return tuple(ok)

    def for_create(self, step: TaskStep) -> dict[str, Any]:
        """The keyword arguments of ``create_issue`` for the step's fields (none: {})."""
        f = step.fields
        if f is None:
            return {}
        kw: dict[str, Any] = {}
        assignees = self.assignable(step, f.assign)
        if assignees:
            kw["assignees"] = assignees
        if f.due is not None:
            kw["due"] = f.due
        return kw

    def for_update(self, step: TaskStep, labels: tuple[str, ...] | None) -> dict[str, Any]:
        """The keyword arguments of ``update_issue`` for the step's fields: the whole new assignee
        and label sets, from the issue as it is now (read once if this run did not list it).
        ``labels``: the managed labels' fix the plan asks for (the whole set), or None."""
        f = step.fields
        kw: dict[str, Any] = {} if labels is None else {"labels": labels}
        if f is None:
            return kw
        assert step.number is not None
        if f.assign or f.unassign or f.add_labels or f.remove_labels:
            now = self._current(step.number)
            if f.assign or f.unassign:
                add = self.assignable(step, f.assign)
                people = [a for a in now.assignees if a not in f.unassign]
                people += [a for a in add if a not in people]
                if tuple(people) != now.assignees:
                    kw["assignees"] = tuple(people)
            if f.add_labels or f.remove_labels:
                have = list(labels if labels is not None else now.labels)
                have = [x for x in have if x not in f.remove_labels]
                have += [x for x in f.add_labels if x not in have]
                if labels is not None or tuple(have) != now.labels:
                    kw["labels"] = tuple(have)
        if f.set_due:
            kw["due"] = f.due
        return kw

    def _current(self, number: int) -> RemoteIssue:
        issue = self.snapshot.issues.get(number)
        if issue is None:
            issue = self.tracker.get_issue(number)
            if issue is None:
                raise TrackerError("gone", f"issue #{number}: deleted or moved away", status=410)
        return issue

    def kept(self, step: TaskStep, sent: Mapping[str, Any], answer: RemoteIssue) -> None:
        """Warn about assignees the tracker did not keep (GitLab Free keeps one)."""
        wanted = tuple(sent.get("assignees", ()))
        lost = [a for a in wanted if a.casefold() not in {x.casefold() for x in answer.assignees}]
        if lost:
            self.warn(f"{where(step)}: the tracker kept {', '.join(answer.assignees) or 'no assignee'} and left off "
                      f"{', '.join(lost)} (this tier allows {len(answer.assignees) or 'no'} assignee"
                      f"{'s' if len(answer.assignees) != 1 else ''} per issue)")


@dataclass
class Blocked:
    """What the blocked-by step did: per issue the blocking issues recorded now, and bodies rewritten."""

    recorded: dict[int, tuple[int, ...]] = field(default_factory=dict)
    listed: dict[int, str] = field(default_factory=dict)  # issue -> hash of its body naming its blockers
    events: list[tuple[int, str]] = field(default_factory=list)  # (issue, what)


def task_index(plan: Plan) -> dict[str, int]:
    """Task key -> the index of its step in ``plan.tasks``."""
    return {s.task.key: i for i, s in enumerate(plan.tasks) if s.task is not None}


def known_blockers(plan: Plan, step: TaskStep, outcomes: Mapping[int, StepOutcome],
                   index: Mapping[str, int]) -> tuple[int, ...] | None:
    """The issue numbers of ``step``'s blockers if this run knows them all now (those created earlier
    in the run included), in the guide's order; None while one is still to be created. ``index``:
    :func:`task_index` of the plan."""
    out: list[int] = []
    for key, number in step.blockers:
        if number is None and key in index:
            number = _number(plan.tasks[index[key]], outcomes.get(index[key]))
        if number is None:
            return None
        if number not in out:
            out.append(number)
    return tuple(out)


def record_blockers(plan: Plan, tracker: Tracker, outcomes: Mapping[int, StepOutcome], *,
                    warn: Callable[[str], None], fail: Callable[[Exception, str], str],
                    stopped: Callable[[], bool], named: frozenset[int] = frozenset()) -> Blocked:
    """Record each task's blockers on the tracker (and take away those the guide dropped), once
    every step has run, so that tasks created in this run have their numbers. ``named``: issues
    created with a body that names all their blockers already."""
    done = Blocked()
    index = task_index(plan)
    warned = False
    for i, step in enumerate(plan.tasks):
        old = step.record.blocked_by if step.record is not None else ()
        if step.task is None or not (step.blockers or old) or stopped():
            continue
        o = outcomes.get(i)
        n = _number(step, o)
        if n is None or (o is not None and (o.gone or not o.done and step.create and o.created is None)):
            continue
        desired = []
        for key, number in step.blockers:
            if number is None and key in index:
                number = _number(plan.tasks[index[key]], outcomes.get(index[key]))
            if number is not None and number not in desired and number != n:
                desired.append(number)
        recorded = list(old)
        for b in [x for x in old if x not in desired]:
            try:
                tracker.unblock(n, b)
            except (NotFound, Gone, Invalid, Conflict) as exc:
                warn(f"{where(step)}: issue #{n} could not be freed of #{b}: {exc}")
                continue
            except (TrackerError, BudgetExhausted) as exc:
                fail(exc, f"{where(step)}: taking away #{b} as blocking #{n}")
                return done
            recorded.remove(b)
            done.events.append((n, f"no longer blocked by #{b}"))
        for b in [x for x in desired if x not in old]:
            try:
                how = tracker.block(n, b)
            except (NotFound, Gone, Invalid, Conflict) as exc:
                warn(f"{where(step)}: issue #{n} was not marked as blocked by #{b}: {exc}")
                continue
            except (TrackerError, BudgetExhausted) as exc:
                fail(exc, f"{where(step)}: marking #{n} as blocked by #{b}")
                return done
            if how in NO_DEPENDENCIES and not warned:
                warn(NO_DEPENDENCIES[how])
                warned = True
            recorded.append(b)
            done.events.append((n, f"blocked by #{b}"))
        done.recorded[n] = tuple(x for x in desired if x in recorded) + tuple(x for x in recorded if x not in desired)
        if n not in named:
            _name_in_body(step, n, desired, tracker, done, fail)
    return done


def _name_in_body(step: TaskStep, n: int, desired: list[int], tracker: Tracker, done: Blocked,
                  fail: Callable[[Exception, str], str]) -> None:
    """A blocker created in this run was not known when the body was made: name it now."""
    if step.content is None or all(number is not None for _, number in step.blockers):
        return
    body = with_blockers(step.content.body, tuple(desired))
    if body == step.content.body:
        return
    try:
        tracker.update_issue(n, body=body)
    except (TrackerError, BudgetExhausted) as exc:
        fail(exc, f"{where(step)}: naming the issues that block #{n} in its body")
        return
    done.listed[n] = content_hash(step.content.title, body)
    done.events.append((n, "its body names the issues that block it"))
