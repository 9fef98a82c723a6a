"""``guidesync report``: the progress page, its burn-up chart and the badge, from the guides and their
git history alone. It reads no tracker and needs no token: it runs offline, on a pull request,
anywhere git is. It writes two files into its folder (``index.html``, ``badge.json``) and nothing else.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from . import report as text_report
from .commands import OK, USAGE, Context, Outcome, _config, _guides, hierarchy
from .core.page import Report, badge, badge_json, page
from .core.parse import parse_guide
from .core.progress import GuideProgress, Point, burnup, percent, progress, totals
from .guides import in_scope
from .history import History, HistoryError, read_history
from .writeback import read_bytes, replace_file

DEFAULT_OUT = "guidesync-report"
FILES = ("index.html", "badge.json")


@dataclass
class Built:
    """What the report holds, before it is written."""

    report: Report
    history: History
    guides: tuple[GuideProgress, ...]
    warnings: list[str] = field(default_factory=list)

    @property
    def totals(self) -> tuple[int, int]:
        return totals(self.guides)


def build(ctx: Context, *, today: str | None = None, now: float | None = None) -> Built:
    """The report's contents: the guides as they are in the working tree, the burn-up from HEAD's
    first-parent history; when the working tree counts other totals than HEAD, one more point for it."""
    cfg = _config(ctx)
    loaded = _guides(ctx, cfg)
    today = today or date.today().isoformat()
    guides = progress((lg.guide for lg in loaded.guides), today)
    nested = hierarchy(cfg)
    warnings = [str(p) for p in loaded.problems if p.severity == "error"]
    try:
        history = read_history(ctx.root, parse=lambda text, path: parse_guide(text, path, cfg.sections, nested),
                               in_scope=lambda path: in_scope(path, cfg.guides, cfg.exclude), env=ctx.env)
    except HistoryError as exc:
        history = History()
        warnings.append(f"no git history ({exc}): the burn-up shows the working tree only")
    warnings += history.warnings
    points = list(burnup(history.changes))
    done, total = totals(guides)
    if not points or (points[-1].done, points[-1].total) != (done, total):
        when = int(now if now is not None else time.time())
        points.append(Point("working tree", max(when, points[-1].time if points else when), done, total,
                            len(loaded.guides)))
    name = cfg.repository or ctx.root.resolve().name
    rep = Report(name=name, guides=guides, points=tuple(points), today=today, head=history.head,
                 head_time=history.head_time, notes=tuple(history.warnings))
    return Built(rep, history, guides, warnings)


def report(ctx: Context, *, out: str | Path = DEFAULT_OUT, as_json: bool = False, today: str | None = None,
           now: float | None = None, label: str = "progress") -> Outcome:
    """Write ``out/index.html`` and ``out/badge.json``."""
    folder = Path(out)
    folder = folder if folder.is_absolute() else ctx.root / folder
    if folder.exists() and not folder.is_dir():
        return Outcome(USAGE, f"{out}: exists and is not a folder; give --out a folder for index.html and badge.json")
    built = build(ctx, today=today, now=now)
    done, total = built.totals
    files = {"index.html": page(built.report).encode("utf-8"), "badge.json": badge_json(done, total, label).encode()}
    for name, data in files.items():
        target = folder / name
        replace_file(target, data, read_bytes(target))
    h = built.history
    shown_out = str(out).rstrip("/")
    data = data_of(built, shown_out, label)
    if as_json:
        return Outcome(OK, text_report.dumps(data), data, stderr=[f"warning: {w}" for w in built.warnings])
    lines = [f"wrote {shown_out}/index.html and {shown_out}/badge.json: {done}/{total} tasks done ({percent(done, total)} %), "
             f"{_n(len(built.report.points), 'point')} in the burn-up from {_n(h.commits, 'commit')} "
             f"({_n(h.parses, 'guide version')} parsed)"]
    return Outcome(OK, "\n".join(lines), data, stderr=[f"warning: {w}" for w in built.warnings])


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def data_of(built: Built, out: str, label: str = "progress") -> dict[str, Any]:
    done, total = built.totals
    h = built.history
    return {
        "out": out,
        "files": [f"{out}/{f}" for f in FILES],
        "done": done,
        "tasks": total,
        "percent": percent(done, total),
        "badge": badge(done, total, label),
        "history": {"head": h.head, "shallow": h.shallow, "commits": h.commits, "blobs": h.blobs, "parses": h.parses},
        "points": [{"commit": p.commit, "time": p.time, "done": p.done, "tasks": p.total} for p in built.report.points],
        "milestones": [{"guide": g.path, "title": m.title, "done": m.done, "tasks": m.total, "due": m.due,
                        "overdue": m.overdue} for g in built.guides for m in g.milestones],
        "warnings": built.warnings,
    }
