"""The GitHub project (v2) phase (``project:`` in the configuration): after the issue writes, every
managed issue is put on the project, its status set from its box and its date field from ``due``.

Three-way like the rest: each record keeps the item, the status option and the date guidesync last
set (``Record.project_item/project_status/project_date``); only what the guide changed since is
written, so a change people made on the board stays until the guide changes, and a run with nothing
changed sends nothing. The project itself (its id and field ids) is learned once and kept in the base.

Nothing here can fail the issue sync: a token that cannot reach Projects, a missing field, a refused
write or a spent rate limit stop the phase with one warning; what was done until then is kept, the
rest is tried again next run.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Mapping, Sequence

from .errors import BudgetExhausted, Invalid, NotFound, TrackerError
from .trackers.projects import ProjectError, ProjectsClient, ProjectSetupError, ProjectUnreachable, Settings, fits

__all__ = ["ProjectPlan", "ProjectResult", "ProjectState", "ProjectTask", "describe", "plan_project", "sync_project",
           "tasks_of"]


@dataclass(frozen=True)
class ProjectTask:
    """One managed issue as the phase sees it: from the guide its box and due day, from its record
    what guidesync last set on the project."""

    issue: int
    node_id: str | None  # the issue's GraphQL node id, when the run knows it (else read once)
    checked: bool
    due: str | None  # YYYY-MM-DD
    item: str | None = None  # Record.project_item
    status: str | None = None  # Record.project_status: the option id last set
    date: str | None = None  # Record.project_date


@dataclass(frozen=True)
class ProjectState:
    """What to keep in the issue's record: ``Record.project_item/project_status/project_date``."""

    item: str | None
    status: str | None
    date: str | None


@dataclass(frozen=True)
class ProjectResult:
    """``project``: the learned project to keep in ``Base.project``; ``states``: per issue of the
    tasks, its new record values; ``warnings``: for the run's report; ``unreachable``: the token
    could not reach the project (nothing was changed)."""

    project: dict[str, Any]
    states: dict[int, ProjectState]
    warnings: tuple[str, ...] = ()
    unreachable: bool = False
    added: tuple[int, ...] = ()  # issues put on the project by this run
    updated: tuple[int, ...] = ()  # issues whose status or date this run set


def _kept(task: ProjectTask) -> ProjectState:
    return ProjectState(task.item, task.status, task.date)


def _forget(task: ProjectTask) -> ProjectTask:
    return replace(task, item=None, status=None, date=None)


def _wanted(task: ProjectTask, project: Mapping[str, Any], dates: bool) -> tuple[str, str | None]:
    """(status option id, date) the guide asks for; without a date field the date stays as kept."""
    return project["done_id" if task.checked else "todo_id"], (task.due if dates else task.date)


@dataclass
class _Run:
    client: ProjectsClient
    states: dict[int, ProjectState]
    warnings: list[str] = field(default_factory=list)
    added: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    learned_again: bool = False

    def one(self, task: ProjectTask, *, again: bool = False) -> None:
        """Put one issue on the project and bring its status and date to what the guide says."""
        client = self.client
        if task.item is None:
            try:
                item = client.add(task.node_id or client.node_id(task.issue))
            except NotFound:
                self.learn_again()  # the project is still there (else this raised): the issue is not
                self.warnings.append(f"{client.name}: issue #{task.issue} could not be added (GitHub does not find "
                                     "it); tried again next run")
                return
            task = replace(task, item=item, status=None, date=None)  # an item found again: its values unknown
            self.states[task.issue] = _kept(task)
            self.added.append(task.issue)
        status, date = _wanted(task, client.project or {}, client.dates)
        send: dict[str, Any] = {}
        if status != task.status:
            send["status"] = task.checked
        if client.dates and date != task.date:
            send["date"] = date
        if not send:
            return
        try:
            client.update(task.item, **send)  # type: ignore[arg-type]
        except NotFound:
            # the item is gone from the board (people removed it): add the issue again (GitHub
            # answers the item it has, or a new one) and set its values once more
            if again:
                raise
            self.learn_again()
            return self.one(_forget(task), again=True)
        except Invalid:
            # an option or field id that is no more (options replaced, a field deleted): learn again
            if again or not self.learn_again():
                raise
            return self.one(task, again=True)
        self.states[task.issue] = ProjectState(task.item, status, date if client.dates else task.date)
        self.updated.append(task.issue)

    def learn_again(self) -> bool:
        """Ask for the project once more (at most once a run): did what was learned change? A
        project replaced by another of the same number ends the phase: every issue is put on the
        new one next run."""
        if self.learned_again:
            return False
        self.learned_again = True
        before = dict(self.client.project or {})
        after = self.client.learn()
        if after.get("id") != before.get("id"):
            for number in self.states:
                self.states[number] = ProjectState(None, None, None)
            self.warnings.append(f"{self.client.name} is another project than the one learned before: its issues are "
                                 "put on it next run")
            raise _Replaced()
        return after != before


class _Replaced(Exception):
    pass


def sync_project(client: ProjectsClient, base_project: Mapping[str, Any] | None, items: Sequence[ProjectTask]) -> ProjectResult:
    """The project phase: learn the project if the base does not hold it (``base_project``), add
    the issues without an item, set the status and date that changed. Never raises for the
    project's sake (see the module docstring)."""
    kept = dict(base_project or {})
    unchanged = {t.issue: _kept(t) for t in items}
    name = client.name
    if client.project is None and fits(client.settings, kept):
        client.project = dict(kept)
    try:
        project = client.project if client.project is not None else client.learn()
    except ProjectUnreachable as exc:
        return ProjectResult(kept, unchanged, (str(exc),), unreachable=True)
    except (ProjectError, TrackerError, BudgetExhausted) as exc:
        return ProjectResult(kept, unchanged, (_stopped(name, exc),))
    if project.get("id") != kept.get("id"):
        items = [_forget(t) for t in items]  # items kept for another project mean nothing on this one
    run = _Run(client, {t.issue: _kept(t) for t in items})
    unreachable = False
    for task in items:
        try:
            run.one(task)
        except _Replaced:
            break
        except ProjectUnreachable as exc:
            run.warnings.append(str(exc))
            unreachable = True
            break
        except (ProjectError, TrackerError, BudgetExhausted) as exc:
            run.warnings.append(_stopped(name, exc))
            break
    return ProjectResult(dict(client.project or project), run.states, tuple(run.warnings), unreachable,
                         tuple(run.added), tuple(dict.fromkeys(run.updated)))


def _stopped(name: str, exc: BaseException) -> str:
    if isinstance(exc, BudgetExhausted):
        return f"{name}: stopped ({exc}); the issues are synced, the project is brought up to date next run"
    if isinstance(exc, ProjectSetupError):
        return f"{exc}; the issues are synced, the project was left as it was"
    return f"{name}: not brought up to date ({exc}); the issues are synced, the rest is tried again next run"


def tasks_of(plan: Any, numbers: Mapping[int, int], kept: Mapping[int, Any]) -> list[ProjectTask]:
    """The project's view of a plan's task steps: each task with an issue (``numbers``: step index
    -> issue number, for the steps that created theirs), its box as the run leaves it and its due
    day, and what its record (``kept``: issue -> base record) last set on the project. Issues
    guidesync does not manage (linked by hand) are not put on the project."""
    out: list[ProjectTask] = []
    for i, step in enumerate(plan.tasks):
        if step.task is None or step.forget:
            continue
        n = numbers.get(i, step.number)
        record = step.record
        if n is None or record is None or record.unmanaged or record.issue_state == "gone":
            continue
        old = kept.get(n)
        out.append(ProjectTask(n, None, record.checked, step.task.fields.due,
                               *((old.project_item, old.project_status, old.project_date) if old is not None else ())))
    return out


# -- the plan --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectPlan:
    """What the phase would do, worked out without asking GitHub."""

    name: str
    learn: bool  # the project is not in the base yet (one query)
    add: int  # issues to put on the project
    status: int  # statuses to set (issues to add included)
    dates: int  # dates to set or clear (issues to add included)


def plan_project(settings: Settings, base_project: Mapping[str, Any] | None, items: Iterable[ProjectTask]) -> ProjectPlan:
    """The project phase's part of the plan. With the project not learned yet (or another one
    configured), every issue counts as one to add, with its status and, when it has one, its date."""
    kept = dict(base_project or {})
    learned = fits(settings, kept)
    same = learned or (str(kept.get("owner", "")).lower() == settings.owner.lower() and kept.get("number") == settings.number)
    dates = bool(settings.date_field)
    add = status = day = 0
    for task in items:
        task = task if same else _forget(task)
        if task.item is None:
            add += 1
            task = replace(task, status=None, date=None)
        if learned:
            want_status, want_date = _wanted(task, kept, dates)
            status += want_status != task.status
            day += dates and want_date != task.date
        else:  # the option ids are not known: every status counts, every date the guide gives
            status += 1
            day += dates and task.due != task.date
    return ProjectPlan(f"project {settings.owner}#{settings.number}", not learned, add, status, day)


def describe(settings: Settings | None, base_project: Mapping[str, Any] | None = None,
             items: Iterable[ProjectTask] = (), *, problem: str | None = None) -> str | None:
    """The line ``plan`` prints for the project (None without ``project:``); ``problem``: a known
    reason it cannot be reached (e.g. from a first run's warning), printed instead."""
    if settings is None:
        return None
    name = f"project {settings.owner}#{settings.number}"
    if problem:
        return problem if problem.startswith(name) else f"{name}: {problem}"
    plan = plan_project(settings, base_project, items)
    parts = []
    if plan.add:
        parts.append(f"{plan.add} issue{'s' * (plan.add != 1)} to add")
    if plan.status:
        parts.append(f"{plan.status} status{'es' * (plan.status != 1)} to set")
    if plan.dates:
        parts.append(f"{plan.dates} date{'s' * (plan.dates != 1)} to set")
    what = ", ".join(parts) if parts else "up to date"
    if plan.learn:
        what = f"not learned yet (one query on sync); {what}"
    return f"{name}: {what}"

