"""Progress as people look at it: the report page, its burn-up chart, the badge, the summary table.

Pure functions returning strings. The page is one self-contained HTML document: inline CSS and
inline SVG, no script, no font, no image or style from anywhere else (its Content-Security-Policy
forbids them), readable from ``file://`` and printable. Everything taken from the guides is
escaped; an issue link is written only when it is a plain http(s) URL.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Sequence

from .escape import controls
from .model import plain_url
from .progress import GuideProgress, MilestoneProgress, Point, TaskProgress, percent, ratio, totals

DAY = 86400


@dataclass(frozen=True)
class Report:
    """What the page shows."""

    name: str  # the repository (or the folder) the guides are in
    guides: tuple[GuideProgress, ...]
    points: tuple[Point, ...] = ()  # the burn-up, oldest first
    today: str | None = None  # YYYY-MM-DD: what "overdue" is measured against
    head: str | None = None  # the commit the history ends at
    head_time: int | None = None
    notes: tuple[str, ...] = field(default=())  # shown under the chart (a shallow history, a skipped version)


# --------------------------------------------------------------------------------- escaping


def esc(text: object) -> str:
    """Text for HTML content and double- or single-quoted attributes; control characters shown as escapes."""
    return (controls(str(text), keep="\t\n").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#39;"))


_LINK = re.compile(r"\[([^\]\n]*)\]\([^()\s]*\)")
_CODE = re.compile(r"(`+)(.+?)\1")


def inline(text: str) -> str:
    """A task's inline Markdown as HTML: code spans kept as code, links as their text, all else as text."""
    out, at = [], 0
    for m in _CODE.finditer(text):
        out.append(esc(_LINK.sub(r"\1", text[at:m.start()])))
        out.append(f"<code>{esc(m.group(2).strip())}</code>")
        at = m.end()
    out.append(esc(_LINK.sub(r"\1", text[at:])))
    return "".join(out)


def markdown_cell(text: object) -> str:
    """Text for a Markdown table cell: one line, no control character, no ``|``."""
    return " ".join(controls(str(text)).split()).replace("\\", "\\\\").replace("|", "\\|")


# ------------------------------------------------------------------------------------ badge


def badge_color(done: int, total: int) -> str:
    """shields.io colour by the share done: red (none) through orange, yellow, yellowgreen, green to
    brightgreen (all); lightgrey when there is nothing to do."""
    if not total:
        return "lightgrey"
    r = ratio(done, total)
    if r >= 1:
        return "brightgreen"
    for limit, colour in ((0.75, "green"), (0.5, "yellowgreen"), (0.25, "yellow")):
        if r >= limit:
            return colour
    return "orange" if done else "red"


def badge(done: int, total: int, label: str = "progress") -> dict[str, object]:
    """A shields.io endpoint badge (https://shields.io/badges/endpoint-badge)."""
    return {"schemaVersion": 1, "label": label, "message": f"{done}/{total}", "color": badge_color(done, total)}


def badge_json(done: int, total: int, label: str = "progress") -> str:
    return json.dumps(badge(done, total, label), indent=2) + "\n"


# ------------------------------------------------------------------------- the summary table


def text_bar(done: int, total: int, width: int = 10) -> str:
    """A bar of block characters: ``███░░░░░░░``."""
    full = done * width // total if total else 0
    return "█" * full + "░" * (width - full)


def progress_markdown(guides: Sequence[GuideProgress], heading: str = "#### Progress") -> str:
    """The per-milestone progress table of the CI job summary (GitHub Markdown)."""
    rows = [(m, g) for g in guides for m in g.milestones]
    if not rows:
        return ""
    nested = any(m.sub_items is not None for m, _ in rows)
    head = "| Milestone | Progress | Done | Due |" + (" Sub-items |" if nested else "")
    lines = [heading, "", head, "| --- | --- | ---: | --- |" + (" ---: |" if nested else "")]
    for m, _ in rows:
        due = m.due or ""
        if m.overdue:
            due += " **overdue**"
        cells = [markdown_cell(m.title), f"`{text_bar(m.done, m.total)}` {m.percent} %", f"{m.done}/{m.total}", due]
        if nested:
            cells.append(f"{m.sub_items_done}/{m.sub_items}" if m.sub_items is not None else "")
        lines.append("| " + " | ".join(cells) + " |")
    done, total = totals(guides)
    last = ["**All**", f"`{text_bar(done, total)}` {percent(done, total)} %", f"**{done}/{total}**", ""] + ([""] if nested else [])
    lines.append("| " + " | ".join(last) + " |")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------ dates


def day_of(ts: int) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d")


def day_start(day: str) -> int:
    """Midnight (UTC) at the start of ``day``."""
    d = date.fromisoformat(day)
    return int(datetime(d.year, d.month, d.day, tzinfo=timezone.utc).timestamp())


def _valid_day(day: str | None) -> bool:
    try:
        return day is not None and bool(date.fromisoformat(day))
    except ValueError:
        return False


# ------------------------------------------------------------------------------------ chart


@dataclass(frozen=True)
class Frame:
    """The chart's geometry: a time range on x, 0..``top`` tasks on y, in SVG user units."""

    t0: int
    t1: int
    top: int
    width: int = 860
    height: int = 320
    left: int = 48
    right: int = 20
    above: int = 40
    below: int = 40

    def x(self, t: float) -> float:
        return round(self.left + (t - self.t0) / (self.t1 - self.t0) * (self.width - self.left - self.right), 2)

    def y(self, v: float) -> float:
        plot = self.height - self.above - self.below
        return round(self.above + plot - v / self.top * plot, 2)


def nice_step(span: float, most: int) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50, ... that cuts ``span`` into at most ``most`` parts."""
    step = 1
    while True:
        for k in (1, 2, 5):
            if span / (step * k) <= most:
                return step * k
        step *= 10


DAY_STEPS = (1, 2, 7, 14, 28, 56, 91, 182, 364, 728, 1820)


def day_ticks(t0: int, t1: int, most: int = 7) -> list[int]:
    """Midnights between t0 and t1, a whole number of days apart, at most ``most`` of them."""
    days = max(1, (t1 - t0) / DAY)
    step = next((s for s in DAY_STEPS if days / s <= most), DAY_STEPS[-1])
    first = -(-t0 // (step * DAY)) * step * DAY
    return list(range(first, t1 + 1, step * DAY))


def frame(points: Sequence[Point], dues: Sequence[int], today: int | None) -> Frame:
    times = [p.time for p in points] + list(dues) + ([today] if today is not None else [])
    t0, t1 = (min(times), max(times)) if times else (0, DAY)
    if t1 - t0 < DAY:  # one commit, or all within an hour: a day around them
        t0, t1 = t0 - DAY // 2, t1 + DAY // 2
    pad = (t1 - t0) // 40
    most = max([p.total for p in points] + [1])
    step = nice_step(most, 5)
    return Frame(t0 - pad, t1 + pad, -(-most // step) * step)


def _steps(points: Sequence[tuple[float, float]]) -> str:
    """A step line through the points: each value holds until the next commit."""
    if not points:
        return ""
    d = [f"M{points[0][0]},{points[0][1]}"]
    for (x, y), (_, prev_y) in zip(points[1:], points):
        d.append(f"H{x}")
        if y != prev_y:
            d.append(f"V{y}")
    return "".join(d)


def chart(report: Report, width: int = 860, height: int = 320) -> str:
    """The burn-up as inline SVG: done and total tasks after each commit that changed a guide,
    the milestones' due dates as dashed lines, today as a dotted one."""
    points = report.points
    dues = [(m, day_start(m.due) + DAY) for g in report.guides for m in g.milestones if _valid_day(m.due)]
    today = day_start(report.today) if _valid_day(report.today) else None
    f = frame(points, [t for _, t in dues], today)
    f = Frame(f.t0, f.t1, f.top, width, height)
    out = [f'<svg class="burnup" viewBox="0 0 {width} {height}" role="img" aria-labelledby="burnup-title burnup-desc" '
           f'xmlns="http://www.w3.org/2000/svg" data-points="{len(points)}" data-top="{f.top}">',
           '<title id="burnup-title">Burn-up: tasks done and in all, after each commit that changed a guide</title>']
    last = points[-1] if points else None
    desc = (f"{len(points)} commits; after the last, {last.done} of {last.total} tasks done" if last else "no commits yet")
    out.append(f'<desc id="burnup-desc">{esc(desc)}</desc>')
    # the grid: tasks on y, days on x
    out.append('<g class="axis y">')
    step = nice_step(f.top, 5)
    for v in range(0, f.top + 1, step):
        y = f.y(v)
        out.append(f'<line class="grid" x1="{f.left}" x2="{width - f.right}" y1="{y}" y2="{y}"/>'
                   f'<text x="{f.left - 6}" y="{y + 4}" text-anchor="end">{v}</text>')
    out.append('</g><g class="axis x">')
    for t in day_ticks(f.t0, f.t1):
        x = f.x(t)
        out.append(f'<line class="tick" x1="{x}" x2="{x}" y1="{height - f.below}" y2="{height - f.below + 5}"/>'
                   f'<text x="{x}" y="{height - f.below + 18}" text-anchor="middle">{day_of(t)}</text>')
    out.append(f'<line class="base" x1="{f.left}" x2="{width - f.right}" y1="{f.y(0)}" y2="{f.y(0)}"/></g>')
    # milestones' due dates and today
    out.append('<g class="dues">')
    for i, (m, t) in enumerate(sorted(dues, key=lambda d: d[1])):
        x = f.x(t)
        label_y = f.above - 11 + (i % 3) * 10
        # a label near the right edge goes left of its line, so it is not cut off
        anchor = ' text-anchor="end"' if x > width - f.right - 160 else ""
        lx = x - 3 if anchor else x + 3
        out.append(f'<g class="due{" overdue" if m.overdue else ""}" data-milestone="{esc(m.title)}" data-due="{esc(m.due)}">'
                   f'<title>{esc(m.title)}: due {esc(m.due)}</title>'
                   f'<line x1="{x}" x2="{x}" y1="{f.above - 20 + (i % 3) * 10}" y2="{f.y(0)}"/>'
                   f'<text x="{lx}" y="{label_y}"{anchor}>{esc(_short(m.title))}</text></g>')
    if today is not None:
        x = f.x(today)
        out.append(f'<g class="today" data-day="{esc(report.today)}"><line x1="{x}" x2="{x}" y1="{f.above}" y2="{f.y(0)}"/>'
                   f'<text x="{x - 3}" y="{f.above + 10}" text-anchor="end">today</text></g>')
    out.append('</g>')
    # the two series, then a point per commit
    xs, prev = [], None
    for p in points:
        prev = p.time if prev is None else max(prev, p.time)  # a commit dated before its parent stays in order
        xs.append(f.x(prev))
    done = [(x, f.y(p.done)) for x, p in zip(xs, points)]
    total = [(x, f.y(p.total)) for x, p in zip(xs, points)]
    if points:
        area = _steps(done) + f"V{f.y(0)}H{done[0][0]}Z"
        out.append(f'<path class="area" d="{area}"/>')
        out.append(f'<path class="line total" d="{_steps(total)}"/><path class="line done" d="{_steps(done)}"/>')
    out.append('<g class="points">')
    for x, p in zip(xs, points):
        out.append(f'<g class="point" data-commit="{esc(p.commit)}" data-time="{p.time}" data-done="{p.done}" '
                   f'data-total="{p.total}"><title>{esc(p.commit[:10])} {day_of(p.time)}: {p.done}/{p.total} done</title>'
                   f'<circle class="total" cx="{x}" cy="{f.y(p.total)}" r="2.5"/>'
                   f'<circle class="done" cx="{x}" cy="{f.y(p.done)}" r="2.5"/></g>')
    out.append('</g></svg>')
    return "".join(out)


def _short(title: str, most: int = 28) -> str:
    """A due line's label: the milestone's own name (without its guide's feature), cut to fit."""
    title = title.rsplit(" - ", 1)[-1]
    return title if len(title) <= most else title[: most - 1] + "…"


# ------------------------------------------------------------------------------------- page


def bar(done: int, total: int, cls: str = "bar") -> str:
    """A progress bar as inline SVG (prints, unlike CSS backgrounds)."""
    w = round(100 * ratio(done, total), 2)
    return (f'<svg class="{cls}" viewBox="0 0 100 8" preserveAspectRatio="none" role="img" '
            f'aria-label="{percent(done, total)} per cent done"><rect class="track" width="100" height="8" rx="2"/>'
            f'<rect class="fill{" full" if total and done >= total else ""}" width="{w}" height="8" rx="2"/></svg>')


CSS = """
:root { color-scheme: light dark; --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg: #fff; --track: #e6eaef;
  --done: #1a7f37; --total: #0969da; --due: #9a6700; --late: #cf222e; --area: rgba(26,127,55,.12); }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --muted: #9198a1; --line: #3d444d; --bg: #0d1117;
  --track: #262c36; --done: #3fb950; --total: #4493f8; --due: #d29922; --late: #f85149; --area: rgba(63,185,80,.15); } }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1000px; padding: 24px 20px 48px; color: var(--fg); background: var(--bg);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", "DejaVu Sans", sans-serif; }
h1 { font-size: 1.6em; margin: 0 0 4px; } h2 { font-size: 1.25em; margin: 32px 0 4px; } h3 { font-size: 1em; margin: 18px 0 4px; }
.muted, .path { color: var(--muted); } .path { font-size: .85em; margin: 0 0 8px; }
code { font: .9em ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", "Liberation Mono", monospace;
  background: var(--track); border-radius: 4px; padding: 0 4px; }
.overall { display: flex; align-items: center; gap: 12px; margin: 12px 0 4px; font-size: 1.1em; }
.overall .bar { width: 320px; max-width: 50%; height: 14px; }
svg.bar { width: 100%; max-width: 180px; height: 10px; vertical-align: middle; }
.bar .track { fill: var(--track); } .bar .fill { fill: var(--total); } .bar .fill.full { fill: var(--done); }
table { width: 100%; border-collapse: collapse; margin: 6px 0; table-layout: fixed; }
col.c-title { width: 42%; } col.c-bar { width: 20%; } col.c-done { width: 12%; } col.c-pct { width: 8%; } col.c-due { width: 18%; }
col.c-sub { width: 10%; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: middle; }
th { font-size: .85em; color: var(--muted); font-weight: 600; } td.num, th.num { text-align: right; white-space: nowrap; }
.late { color: var(--late); font-weight: 600; } .tag { font-size: .8em; border: 1px solid currentColor; border-radius: 9px; padding: 0 6px; }
.legend { display: flex; gap: 18px; font-size: .85em; color: var(--muted); margin: 4px 0; }
.legend i { display: inline-block; width: 18px; height: 3px; vertical-align: middle; margin-right: 6px;
  -webkit-print-color-adjust: exact; print-color-adjust: exact; }
.small { font-size: .8em; }
.legend .done i { background: var(--done); } .legend .total i { background: var(--total); }
.legend .due i { border-top: 2px dashed var(--due); height: 0; }
svg.burnup { width: 100%; height: auto; display: block; }
.burnup text { font-size: 11px; fill: var(--muted); }
.burnup .grid { stroke: var(--line); stroke-width: .6; } .burnup .base, .burnup .tick { stroke: var(--muted); stroke-width: 1; }
.burnup .line { fill: none; stroke-width: 2; } .burnup .line.done { stroke: var(--done); } .burnup .line.total { stroke: var(--total); }
.burnup .area { fill: var(--area); }
.burnup circle.done { fill: var(--done); } .burnup circle.total { fill: var(--total); }
.burnup .due line { stroke: var(--due); stroke-width: 1.2; stroke-dasharray: 5 4; } .burnup .due text { fill: var(--due); font-size: 10px; }
.burnup .due.overdue line { stroke: var(--late); } .burnup .due.overdue text { fill: var(--late); }
.burnup .today line { stroke: var(--muted); stroke-dasharray: 1 3; }
ul.tasks { list-style: none; padding: 0; margin: 0; }
ul.tasks li { padding: 3px 0; border-bottom: 1px dotted var(--line); display: flex; gap: 8px; align-items: baseline; }
ul.tasks li.done .text { color: var(--muted); text-decoration: line-through; }
ul.tasks li input { margin: 0; flex: none; } ul.tasks .meta { margin-left: auto; white-space: nowrap; font-size: .85em; }
""" + "".join(f'ul.tasks li[data-depth="{d}"] {{ padding-left: {d * 1.6}em; }}\n' for d in range(1, 9)) + """
a { color: var(--total); }
footer { margin-top: 40px; font-size: .8em; color: var(--muted); }
@media print {
  :root { --fg: #000; --muted: #444; --bg: #fff; }
  body { max-width: none; padding: 0; font-size: 11pt; }
  section.guide, section.milestone, tr, svg.burnup { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""


def _task(t: TaskProgress) -> str:
    link = ""
    if t.issue is not None and t.url and plain_url(t.url):
        link = f' <a class="issue" href="{esc(t.url)}">#{t.issue}</a>'
    elif t.issue is not None:
        link = f' <span class="issue">#{t.issue}</span>'
    due = ""
    if t.due:
        due = f'<span class="due{" late" if t.overdue else ""}">due {esc(t.due)}{" (overdue)" if t.overdue else ""}</span>'
    state = "done" if t.checked else "open"
    return (f'<li class="task {state}" data-line="{t.line + 1}" data-depth="{t.depth}"'
            f'{f" data-issue={chr(34)}{t.issue}{chr(34)}" if t.issue is not None else ""}>'
            f'<input type="checkbox" disabled{" checked" if t.checked else ""} aria-label="{state}">'
            f'<span class="text">{inline(t.text)}</span><span class="meta">{due}{link}</span></li>')


def _due_cell(m: MilestoneProgress) -> str:
    if not m.due:
        return '<td class="due"></td>'
    late = ' <span class="tag late">overdue</span>' if m.overdue else ""
    start = f'<br><span class="muted">from {esc(m.start)}</span>' if m.start else ""
    return f'<td class="due{" late" if m.overdue else ""}">{esc(m.due)}{late}{start}</td>'


def _guide(g: GuideProgress, anchors: dict[str, str]) -> str:
    nested = any(m.sub_items is not None for m in g.milestones)
    out = [f'<section class="guide" data-guide="{esc(g.path)}" data-done="{g.done}" data-total="{g.total}">',
           f'<h2>{inline(g.title)}</h2><p class="path">{esc(g.path)} · {esc(g.kind)} guide · {g.done}/{g.total} done</p>',
           '<table class="milestones"><colgroup><col class="c-title"><col class="c-bar"><col class="c-done"><col class="c-pct">'
           '<col class="c-due">' + ('<col class="c-sub">' if nested else "") + '</colgroup><thead><tr><th>Milestone</th><th>Progress</th><th class="num">Done</th>'
           '<th class="num">%</th><th>Due</th>' + ('<th class="num">Sub-items</th>' if nested else "") + '</tr></thead><tbody>']
    for m in g.milestones:
        subs = ""
        if nested:
            subs = f'<td class="num">{m.sub_items_done}/{m.sub_items}</td>' if m.sub_items is not None else '<td></td>'
        late = (f'<br><span class="late small" title="open tasks past their own due date">{m.overdue_tasks} overdue</span>'
                if m.overdue_tasks else "")
        out.append(f'<tr class="milestone" data-key="{esc(m.key)}" data-title="{esc(m.title)}" data-done="{m.done}" '
                   f'data-total="{m.total}" data-due="{esc(m.due or "")}" data-overdue="{str(m.overdue).lower()}">'
                   f'<td><a href="#{anchors[m.key]}">{inline(m.title)}</a></td><td>{bar(m.done, m.total)}</td>'
                   f'<td class="num">{m.done}/{m.total}{late}</td><td class="num">{m.percent} %</td>{_due_cell(m)}{subs}</tr>')
    out.append('</tbody></table>')
    for m in g.milestones:
        out.append(f'<section class="milestone" id="{anchors[m.key]}"><h3>{inline(m.title)}</h3>')
        out.append('<ul class="tasks">' + "".join(_task(t) for t in m.tasks) + '</ul>' if m.tasks
                   else '<p class="muted">No tasks.</p>')
        out.append('</section>')
    out.append('</section>')
    return "".join(out)


def page(report: Report) -> str:
    """The whole report page."""
    done, total = totals(report.guides)
    anchors = {m.key: f"m-{i + 1}" for i, m in enumerate(m for g in report.guides for m in g.milestones)}
    head = ""
    if report.head:
        when = f", {day_of(report.head_time)}" if report.head_time is not None else ""
        head = f" · history up to commit <code>{esc(report.head[:12])}</code>{when}"
    today = f" · as of {esc(report.today)}" if report.today else ""
    notes = "".join(f'<p class="note muted">{esc(n)}</p>' for n in report.notes)
    body = [
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
        # Nothing may load from anywhere: no script, font, image or style but those inline here.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        "img-src data:\">\n",
        f'<meta name="generator" content="guidesync report">\n<title>Progress · {esc(report.name)}</title>\n',
        f'<style>{CSS}</style>\n</head>\n<body>\n',
        f'<header><h1>Progress · {esc(report.name)}</h1>',
        f'<div class="overall" data-done="{done}" data-total="{total}">{bar(done, total)}'
        f'<strong>{done}/{total}</strong> tasks done ({percent(done, total)} %)</div>',
        f'<p class="muted">{len(report.guides)} guides, '
        f'{sum(len(g.milestones) for g in report.guides)} milestones{today}{head}</p></header>\n',
        '<section id="burnup"><h2>Burn-up</h2><div class="legend"><span class="done"><i></i>done</span>'
        '<span class="total"><i></i>total</span><span class="due"><i></i>milestone due</span></div>',
        chart(report), notes, '</section>\n',
        *(_guide(g, anchors) + "\n" for g in report.guides),
        '<footer>Made by <code>guidesync report</code> from the guides and their git history; no tracker was read. '
        'One point per commit that changed a guide.</footer>\n</body>\n</html>\n',
    ]
    return "".join(body)
