"""Turning plans, results and guides into text people read, or JSON programs read."""

from __future__ import annotations

import json
import re
from typing import Any, Iterable

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .core.escape import shown
from .core.model import Guide, Problem, Task
from .core.plan import Plan, TaskStep
from .core.progress import GuideProgress, progress
from .sync import RunResult


def actions(step: TaskStep) -> list[str]:
    """What a step does, in words (the plan listing, the JSON plan and the job summary)."""
    what: list[str] = []
    if step.create:
        what.append("create" + (" and close" if step.close else ""))
        return what
    if step.adopt_url:
        what.append("link (found by its marker)")
    if step.update:
        what.append("update")
    if step.close:
        what.append(f"close ({step.close.replace('_', ' ')})")
    if step.reopen:
        what.append("reopen")
    if step.set_box is not None:
        what.append("check the box" if step.set_box else "uncheck the box")
    if step.forget and not step.close:
        what.append("forget")
    return what


def _task_line(step: TaskStep) -> str:
    task = step.task
    box = "[x]" if task and task.checked else "[ ]"
    text = " ".join(task.text.split()) if task else ""
    if len(text) > 90:
        text = text[:89] + "…"
    what = actions(step)
    ref = f"#{step.number}" if step.number is not None else "new"
    action = ", ".join(what) if what else "in step"
    where = f"{task.guide}:{task.line + 1}" if task else ""
    notes = "".join(f"\n        note: {n}" for n in step.notes)
    indent = "  " * (task.depth if task else 0)  # a sub-item under its parent
    return f"    {indent}{box} {text}  [{ref}: {action}]  {where}{notes}"


def plan_text(plan: Plan, guides: Iterable[Guide], *, offline: bool) -> str:
    """The plan grouped by milestone, in guide order."""
    out: list[str] = []
    if offline:
        out.append("Plan against an empty tracker (offline): everything unlinked would be created.")
    ms_steps = {m.key: m for m in plan.milestones}
    by_ms: dict[str, list[TaskStep]] = {}
    removed: list[TaskStep] = []
    for s in plan.tasks:
        if s.task is None:
            removed.append(s)
        else:
            by_ms.setdefault(s.task.milestone, []).append(s)
    for guide in guides:
        out.append(f"{guide.path}: {guide.title}")
        for ms in guide.milestones:
            step = ms_steps.get(ms.key)
            if step is None:
                state = "no tasks" if not ms.tasks else "milestone"
            elif step.create:
                state = "create milestone"
            elif step.writes:
                state = f"milestone #{step.number}, update"
            else:
                state = f"milestone #{step.number}"
            done = sum(1 for t in ms.tasks if t.checked)
            out.append(f"  Milestone: {ms.title}  ({state}; {done}/{len(ms.tasks)} done)")
            out.extend(f"        note: {n}" for n in (step.notes if step else ()))
            for s in by_ms.get(ms.key, []):
                out.append(_task_line(s))
            for imp in (i for i in plan.imports if i.milestone_key == ms.key):
                box = "[x]" if imp.checked else "[ ]"
                out.append(f"    {box} {imp.text}  (import #{imp.number}, opened on the tracker: "
                           + ("a pull or sync adds it to the guide)" if imp.waits else "a new line at the end of the list)"))
    for s in removed:
        action = f"close #{s.number} as not planned" if s.close else f"forget #{s.number}"
        out.append(f"  removed from the guides: {action}" + "".join(f" ({n})" for n in s.notes))
    c = plan.counts()
    out.append(
        "Summary: {milestones_created} milestones to create, {created} issues to create, {updated} to update, "
        "{closed} to close, {reopened} to reopen, {checked} boxes to check, {unchecked} to uncheck, "
        "{adopted} to link".format(**c)
        + (", {attached} sub-issues to attach".format(**c) if plan.parents else "")
        + (", {imported} issues to import".format(**c) if plan.importing else "")
    )
    for g in plan.guards:
        out.append(f"needs --force: {g}")
    return "\n".join(out)


def plan_data(plan: Plan, *, offline: bool, problems: Iterable[Problem] = ()) -> dict[str, Any]:
    def step(s: TaskStep) -> dict[str, Any]:
        d: dict[str, Any] = {
            "issue": s.number,
            "create": s.create,
            "update": s.update,
            "close": s.close,
            "reopen": s.reopen,
            "set_box": s.set_box,
            "link": s.adopt_url,
            "forget": s.forget,
            "actions": actions(s),
            "notes": list(s.notes),
        }
        if s.task:
            d.update(guide=s.task.guide, line=s.task.line + 1, text=s.task.text, checked=s.task.checked, milestone=s.task.milestone)
            if s.task.depth:
                d["depth"] = s.task.depth
        if s.content:
            d["title"] = s.content.title
        return d

    return {
        "offline": offline,
        "counts": plan.counts(),
        "milestones": [
            {"key": m.key, "title": m.title, "number": m.number, "create": m.create, "update": m.writes and not m.create}
            for m in plan.milestones
        ],
        "tasks": [step(s) for s in plan.tasks],
        **({"sub_issues": [_parent_data(plan, p) for p in plan.parents]} if plan.parents else {}),
        **({"imports": [{"issue": i.number, "url": i.url, "title": i.title, "text": i.text, "guide": i.guide,
                         "milestone": i.milestone_key, "line": i.after + 2, "checked": i.checked, "waits": i.waits}
                        for i in plan.imports]}
           if plan.imports else {}),
        "guards": list(plan.guards),
        "problems": [problem_data(p) for p in [*problems, *plan.problems]],
    }


def _parent_data(plan: Plan, p: Any) -> dict[str, Any]:
    """One parent's sub-issues in a JSON plan: where the parent and its children are, and which
    issues the base says are attached."""
    def where(i: int) -> dict[str, Any]:
        s = plan.tasks[i]
        return {"issue": s.number, "guide": s.task.guide if s.task else None, "line": s.task.line + 1 if s.task else None}

    return {"parent": where(p.parent), "children": [where(i) for i in p.children], "attached": list(p.attached)}


def problem_data(p: Problem) -> dict[str, Any]:
    return {"file": p.path, "line": None if p.line is None else p.line + 1, "severity": p.severity, "message": p.message}


def result_text(result: RunResult) -> str:
    out: list[str] = []
    verbs = {
        "created": "created", "adopted": "adopted", "updated": "updated", "closed": "closed", "reopened": "reopened",
        "checked": "checked", "unchecked": "unchecked", "linked": "linked", "forgotten": "forgot",
        "milestone_created": "created milestone", "milestone_updated": "updated milestone", "attached": "attached sub-issue",
        "imported": "imported",
    }
    for e in result.events:
        ref = f"#{e.issue}" if e.issue is not None else ""
        where = f" ({e.guide}:{e.line + 1})" if e.guide and e.line is not None else ""
        title = f" {e.title}" if e.title else ""
        detail = f" [{e.detail.replace('_', ' ')}]" if e.detail else ""
        out.append(f"{verbs.get(e.action, e.action)} {ref}{title}{detail}{where}".replace("  ", " "))
    c = result.counts()
    out.append(
        f"{result.mode}: {c['created']} created, {c['updated']} updated, {c['closed']} closed, {c['reopened']} reopened, "
        f"{c['checked']} checked, {c['unchecked']} unchecked, {c['linked']} linked, {c['guides_changed']} guides changed"
        + (f", {c['imported']} imported" if c["imported"] else "")
        + ("" if result.complete else " (incomplete: the next run resumes)")
    )
    for w in result.warnings:
        out.append(f"warning: {w}")
    for e in result.errors:
        out.append(f"error: {e}")
    return "\n".join(out)


def result_data(result: RunResult, stats: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "mode": result.mode,
        "dry_run": result.dry_run,
        "complete": result.complete,
        "full_listing": result.full_listing,
        "counts": result.counts(),
        "events": [e.as_dict() for e in result.events],
        "guides_changed": result.guides_changed,
        "state_changed": result.state_changed,
        "warnings": result.warnings,
        "errors": result.errors,
        "requests": stats,
    }


def status_data(guides: Iterable[Guide], today: str | None = None,
                imported: frozenset[int] = frozenset()) -> list[dict[str, Any]]:
    """Per guide and milestone: done/total, percent, linked, due date and whether it is overdue as of
    ``today`` (YYYY-MM-DD; None: nothing is), and with sub-issues on the sub-item counts;
    ``imported``: issues the base says were opened on the tracker and imported (counted per
    milestone when there are any)."""
    out = []
    for g in guides:
        shown_g = guide_progress(g, today)
        out.append(
            {
                "guide": g.path,
                "title": g.title,
                "kind": g.kind.value,
                "done": shown_g.done,
                "tasks": shown_g.total,
                "percent": shown_g.percent,
                "milestones": [
                    {
                        "title": m.title,
                        "tasks": len(m.tasks),
                        "done": p.done,
                        "percent": p.percent,
                        "linked": sum(1 for t in m.tasks if t.link),
                        "due": p.due,
                        "start": p.start,
                        "overdue": p.overdue,
                        "overdue_tasks": p.overdue_tasks,
                        **({"imported": sum(1 for t in m.tasks if t.link and t.link.number in imported)}
                           if imported else {}),
                        **_sub_items(m.tasks),
                    }
                    for m, p in zip(g.milestones, shown_g.milestones)
                ],
            }
        )
    return out


def guide_progress(g: Guide, today: str | None) -> GuideProgress:
    return progress((g,), today)[0]


def _sub_items(tasks: tuple[Task, ...]) -> dict[str, Any]:
    """With sub-issues on: how many of the milestone's tasks are sub-items, and per task with
    sub-items its own count (all levels below it)."""
    if not any(t.parent for t in tasks):
        return {}
    parents = []
    for i, task in enumerate(tasks):
        below = []
        for later in tasks[i + 1:]:
            if later.depth <= task.depth:
                break
            below.append(later)
        if below:
            parents.append({"task": task.text, "line": task.line + 1, "sub_items": len(below),
                            "done": sum(1 for t in below if t.checked)})
    subs = [t for t in tasks if t.parent]
    return {"sub_items": len(subs), "sub_items_done": sum(1 for t in subs if t.checked), "parents": parents}


def print_status(console: Console, data: list[dict[str, Any]]) -> None:
    """A table per guide: per milestone a progress bar, done/total and percent, linked, the due
    date (overdue ones in red and marked), and with sub-issues on the sub-items done."""
    for g in data:
        # Text, not markup: a heading "[red]x" is shown as written; shown(): no command, no escape code.
        table = Table(title=Text(shown(f"{g['guide']} — {g['title']} ({g['kind']} guide)")), title_justify="left")
        table.add_column("Milestone")
        table.add_column("Progress")
        table.add_column("Done", justify="right")
        table.add_column("%", justify="right")
        table.add_column("Linked", justify="right")
        dated = any(m.get("due") or m.get("overdue_tasks") for m in g["milestones"])
        if dated:
            table.add_column("Due")
        nested = any("sub_items" in m for m in g["milestones"])
        if nested:
            table.add_column("Sub-items done", justify="right")
        imported = any("imported" in m for m in g["milestones"])
        if imported:
            table.add_column("Imported", justify="right")
        for m in g["milestones"]:
            cells = [Text(shown(m["title"])), _bar(m["done"], m["tasks"]), f"{m['done']}/{m['tasks']}",
                     f"{m['percent']} %", f"{m['linked']}/{m['tasks']}"]
            if dated:
                cells.append(_due(m))
            if nested:
                cells.append(f"{m.get('sub_items_done', 0)}/{m.get('sub_items', 0)}")
            if imported:
                cells.append(str(m.get("imported", 0)))
            table.add_row(*cells)
        console.print(table)


def _bar(done: int, total: int, width: int = 20) -> Text:
    """A bar of block characters, coloured on a terminal and still a bar in a log: ``█████░░░░░``."""
    full = done * width // total if total else 0
    bar = Text("█" * full, style="green" if total and done >= total else "yellow")
    bar.append("░" * (width - full), style="dim")
    return bar


def _due(m: dict[str, Any]) -> Text:
    """The milestone's due date, red and marked when it has passed with tasks left; open tasks past their own."""
    due = Text("")
    if m.get("due"):
        due.append(f"{m['due']} overdue" if m.get("overdue") else m["due"], style="bold red" if m.get("overdue") else "")
    if m.get("overdue_tasks"):
        n = m["overdue_tasks"]
        due.append(("; " if due else "") + f"{n} task{'s' if n != 1 else ''} overdue", style="red")
    return due


#: Characters JSON leaves as they are that terminals or logs act on: DEL, C1 controls, the Unicode
#: line separators and bidirectional overrides (JSON itself escapes the C0 controls).
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def dumps(data: Any) -> str:
    text = json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
