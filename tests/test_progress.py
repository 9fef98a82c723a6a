"""The pure progress core (guidesync/core/progress.py) and what is made of it (guidesync/core/page.py):
per-milestone progress and overdue dates, the burn-up series, the badge, the summary table and the
page's HTML and SVG, hostile guide text included."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

from guidesync.core.page import (Report, badge, badge_color, badge_json, chart, day_start, day_ticks, esc, inline, nice_step,
                                 page, progress_markdown, text_bar)
from guidesync.core.parse import HIERARCHY, parse_guide
from guidesync.core.progress import (Change, GuideProgress, MilestoneProgress, Point, Tally, TaskProgress, burnup, percent,
                                     progress, tally, totals)

GUIDE = """\
# Implementation Guide: Shop

## Implementation Milestones

### Milestone 1: Cart [due:: 2026-03-01]
**Changes Required**:
- [x] Cart endpoint ([#12](https://github.com/acme/shop/issues/12))
- [ ] Cache totals [due:: 2026-02-20]
- [ ] Pricing [due:: 2026-04-01]

### Milestone 2: Checkout [start:: 2026-03-01] [due:: 2026-05-01]
**Changes Required**:
- [x] Page
  - [x] Form
  - [ ] Validation
- [ ] Routes

### Milestone 3: Done early [due:: 2026-01-01]
**Changes Required**:
- [x] Only task
"""


def guide(text: str = GUIDE, path: str = "docs/shop.md", **kw):
    g = parse_guide(text, path, **kw)
    assert g is not None
    return g


def test_progress_per_milestone_with_due_dates_and_overdue():
    (g,) = progress([guide()], today="2026-03-10")
    m1, m2, m3 = g.milestones
    assert (m1.title, m1.done, m1.total, m1.percent, m1.due) == ("Shop - Milestone 1: Cart", 1, 3, 33, "2026-03-01")
    assert m1.overdue and m1.overdue_tasks == 1  # the milestone and one open task are past their day
    assert [(t.text, t.checked, t.due, t.overdue, t.issue) for t in m1.tasks] == [
        ("Cart endpoint", True, None, False, 12), ("Cache totals", False, "2026-02-20", True, None),
        ("Pricing", False, "2026-04-01", False, None)]
    assert m1.tasks[0].url == "https://github.com/acme/shop/issues/12"
    assert (m2.start, m2.due, m2.overdue) == ("2026-03-01", "2026-05-01", False)
    assert (m3.done, m3.total, m3.percent, m3.overdue) == (1, 1, 100, False)  # past its day, but done
    assert m2.sub_items is None  # sub-issues off: nested items are part of their task
    assert (g.done, g.total, g.percent) == (3, 6, 50)
    # on its due day a milestone is not overdue yet; without a day nothing is
    assert not progress([guide()], today="2026-03-01")[0].milestones[0].overdue
    assert not any(m.overdue or m.overdue_tasks for m in progress([guide()])[0].milestones)


def test_progress_counts_sub_items_with_sub_issues_on():
    (g,) = progress([guide(hierarchy=HIERARCHY["github"])], today="2026-01-01")
    m2 = g.milestones[1]
    assert (m2.done, m2.total, m2.sub_items, m2.sub_items_done) == (2, 4, 2, 1)
    assert [(t.text, t.depth) for t in m2.tasks] == [("Page", 0), ("Form", 1), ("Validation", 1), ("Routes", 0)]


def test_percent_is_rounded_down_and_safe_on_nothing():
    assert [percent(d, t) for d, t in [(0, 0), (0, 3), (1, 3), (2, 3), (199, 200), (3, 3)]] == [0, 0, 33, 66, 99, 100]


def test_burnup_carries_the_sums_from_the_changes_alone():
    changes = [
        Change("c1", 100, {"a.md": Tally(0, 4)}),
        Change("c2", 200, {"b.md": Tally(1, 2)}),
        Change("c3", 300, {"a.md": Tally(2, 4)}),
        Change("c4", 400, {"a.md": None, "docs/a.md": Tally(2, 5)}),  # renamed, a task added
        Change("c5", 500, {"b.md": None}),  # deleted
    ]
    assert burnup(changes) == (Point("c1", 100, 0, 4, 1), Point("c2", 200, 1, 6, 2), Point("c3", 300, 3, 6, 2),
                               Point("c4", 400, 3, 7, 2), Point("c5", 500, 2, 5, 1))
    assert burnup([]) == ()
    # removing a path that was never there changes nothing
    assert burnup([Change("x", 1, {"nope.md": None})]) == (Point("x", 1, 0, 0, 0),)


def test_tally_counts_every_task():
    assert tally(guide()) == Tally(3, 6)
    assert tally(guide(hierarchy=HIERARCHY["github"])) == Tally(4, 8)


@pytest.mark.parametrize("done,total,colour", [
    (0, 0, "lightgrey"), (0, 5, "red"), (1, 5, "orange"), (1, 4, "yellow"), (2, 4, "yellowgreen"), (3, 4, "green"),
    (99, 100, "green"), (4, 4, "brightgreen")])
def test_badge_colour_by_ratio(done, total, colour):
    assert badge_color(done, total) == colour
    assert badge(done, total) == {"schemaVersion": 1, "label": "progress", "message": f"{done}/{total}", "color": colour}


def test_badge_json_is_a_shields_endpoint_document():
    doc = json.loads(badge_json(7, 12, label="tasks"))
    assert doc == {"schemaVersion": 1, "label": "tasks", "message": "7/12", "color": "yellowgreen"}


def test_summary_table_has_a_row_per_milestone_and_a_total():
    text = progress_markdown(progress([guide()], today="2026-03-10"))
    lines = text.splitlines()
    assert lines[:4] == ["#### Progress", "", "| Milestone | Progress | Done | Due |", "| --- | --- | ---: | --- |"]
    assert lines[4] == "| Shop - Milestone 1: Cart | `███░░░░░░░` 33 % | 1/3 | 2026-03-01 **overdue** |"
    assert lines[5] == "| Shop - Milestone 2: Checkout | `█████░░░░░` 50 % | 1/2 | 2026-05-01 |"
    assert lines[7] == "| **All** | `█████░░░░░` 50 % | **3/6** |  |"
    assert progress_markdown([]) == ""


def test_summary_table_escapes_cells_and_shows_sub_items():
    text = "# Phase 1: A | b `x` \x1b[31m\n\n## Deliverables Checklist\n- [ ] t\n  - [x] s\n"
    table = progress_markdown(progress([guide(text, hierarchy=HIERARCHY["github"])]))
    row = table.splitlines()[4]
    # a control character is shown as an escape (then its backslash is escaped, like every cell's)
    assert row.startswith("| Phase 1: A \\| b `x` \\\\x1b[31m |") and row.endswith("| 1/2 |  | 1/1 |")
    assert "Sub-items |" in table.splitlines()[2]


def test_text_bar():
    assert [text_bar(d, t, 4) for d, t in [(0, 0), (0, 4), (1, 4), (3, 4), (4, 4), (1, 3)]] == [
        "░░░░", "░░░░", "█░░░", "███░", "████", "█░░░"]


def test_ticks_are_round():
    assert [nice_step(s, 5) for s in (1, 4, 6, 11, 24, 26, 99, 480, 2600)] == [1, 1, 2, 5, 5, 10, 20, 100, 1000]
    day = 86400
    start = day_start("2026-03-02")
    assert day_ticks(start + 3600, start + 5 * day) == [start + d * day for d in range(1, 6)]
    ticks = day_ticks(start, start + 200 * day)
    assert len(ticks) <= 7 and all(t % day == 0 for t in ticks) and len({b - a for a, b in zip(ticks, ticks[1:])}) == 1


# ------------------------------------------------------------------------------ the page


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def all(self, tag: str, cls: str | None = None) -> list[dict[str, str | None]]:
        return [a for t, a in self.tags if t == tag and (cls is None or cls in (a.get("class") or "").split())]


def report(**kw) -> Report:
    kw.setdefault("guides", progress([guide()], today="2026-03-10"))
    kw.setdefault("points", (Point("a" * 40, day_start("2026-02-01"), 0, 3, 1), Point("b" * 40, day_start("2026-02-10"), 1, 6, 1),
                             Point("c" * 40, day_start("2026-03-05"), 3, 6, 1)))
    return Report(name="acme/shop", today="2026-03-10", head="c" * 40, head_time=day_start("2026-03-05"), **kw)


def test_the_page_is_self_contained():
    html = page(report())
    tags = Tags(html)
    assert not tags.all("script") and not tags.all("link") and not tags.all("img") and not tags.all("iframe")
    assert not any("src" in a for _, a in tags.tags)
    # nothing may load: the policy forbids everything but inline styles and data: images
    (csp,) = [a for a in tags.all("meta") if a.get("http-equiv") == "Content-Security-Policy"]
    assert csp["content"] == "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    assert "url(" not in html and "@import" not in html
    # the only addresses are the issue links (and the SVG namespace)
    hrefs = [a["href"] for a in tags.all("a")]
    assert [h for h in hrefs if not h.startswith("#")] == ["https://github.com/acme/shop/issues/12"]
    assert set(re.findall(r"https?://[^\s\"'<>)]+", html)) == {"https://github.com/acme/shop/issues/12",
                                                              "http://www.w3.org/2000/svg"}
    assert "@media print" in html


def test_the_page_lists_milestones_tasks_and_links():
    tags = Tags(page(report()))
    rows = tags.all("tr", "milestone")
    assert [(r["data-title"], r["data-done"], r["data-total"], r["data-due"], r["data-overdue"]) for r in rows] == [
        ("Shop - Milestone 1: Cart", "1", "3", "2026-03-01", "true"),
        ("Shop - Milestone 2: Checkout", "1", "2", "2026-05-01", "false"),
        ("Shop - Milestone 3: Done early", "1", "1", "2026-01-01", "false")]
    tasks = tags.all("li", "task")
    assert [(t["class"], t["data-line"]) for t in tasks][:3] == [("task done", "7"), ("task open", "8"), ("task open", "9")]
    assert tasks[0]["data-issue"] == "12"
    assert [a for a in tags.all("div", "overall")][0]["data-done"] == "3"
    assert "due 2026-02-20 (overdue)" in "".join(tags.text)


def test_the_chart_has_a_point_per_commit_and_the_due_dates():
    tags = Tags(chart(report()))
    points = tags.all("g", "point")
    assert [(p["data-commit"][0], p["data-done"], p["data-total"]) for p in points] == [("a", "0", "3"), ("b", "1", "6"),
                                                                                     ("c", "3", "6")]
    dones = [c for c in tags.all("circle", "done")]
    totals_ = [c for c in tags.all("circle", "total")]
    xs = [float(c["cx"]) for c in dones]
    assert xs == sorted(xs) and len(set(xs)) == 3
    ys = [float(c["cy"]) for c in dones]
    assert ys[0] > ys[1] > ys[2]  # more done is higher up
    assert float(totals_[1]["cy"]) == float(totals_[2]["cy"]) < float(totals_[0]["cy"])
    dues = tags.all("g", "due")
    assert [(d["data-milestone"], d["data-due"]) for d in dues] == [
        ("Shop - Milestone 3: Done early", "2026-01-01"), ("Shop - Milestone 1: Cart", "2026-03-01"),
        ("Shop - Milestone 2: Checkout", "2026-05-01")]
    assert "overdue" in dues[1]["class"] and "overdue" not in dues[0]["class"]
    assert tags.all("g", "today")[0]["data-day"] == "2026-03-10"
    svg = tags.all("svg", "burnup")[0]
    assert svg["data-points"] == "3" and svg["data-top"] == "6"
    # every point lies inside the plot
    width, height = (int(v) for v in svg["viewbox"].split()[2:])
    assert all(0 < float(c["cx"]) < width and 0 < float(c["cy"]) < height for c in dones + totals_)


def test_a_commit_dated_before_its_parent_stays_in_order():
    pts = (Point("a", 1000 * 86400, 0, 2, 1), Point("b", 999 * 86400, 1, 2, 1), Point("c", 1002 * 86400, 2, 2, 1))
    xs = [float(c["cx"]) for c in Tags(chart(report(points=pts))).all("circle", "done")]
    assert xs[0] == xs[1] < xs[2]


@pytest.mark.parametrize("points", [(), (Point("only", 1_800_000_000, 0, 0, 0),)])
def test_the_chart_survives_no_history_and_one_empty_point(points):
    svg = chart(Report(name="x", guides=(), points=points))
    assert len(Tags(svg).all("g", "point")) == len(points)
    assert "nan" not in svg.lower() and "inf" not in svg.lower()


def test_guide_text_is_escaped_everywhere():
    evil = '<script>alert(1)</script> "onload=x" \'q\' & `<b>code</b>` [t](javascript:alert(1)) \x1b[2J'
    m = MilestoneProgress(key='k"><script>', title=evil, line=0, done=0, total=1, due="2026-01-01", tasks=(
        TaskProgress(text=evil, checked=False, line=0, issue=3, url="javascript:alert(1)"),
        TaskProgress(text="ok", checked=True, line=1, issue=4, url='https://x.test/4"><script>'),))
    g = GuideProgress(path='p"<>.md', title=evil, kind="phase", milestones=(m,))
    html = page(Report(name=evil, guides=(g,), points=(Point('c"<', 1_800_000_000, 0, 1, 1),), today="2026-02-01"))
    tags = Tags(html)
    assert not tags.all("script") and "<script>" not in html and "<b>" not in html
    # javascript: is no http(s) URL: no link; the other is one, its quotes and brackets escaped in the attribute
    assert [a["href"] for a in tags.all("a") if not a["href"].startswith("#")] == ['https://x.test/4"><script>']
    assert 'href="https://x.test/4&quot;&gt;&lt;script&gt;"' in html
    assert not any(str(a.get(k, "")).strip().lower().startswith("javascript:") for _, a in tags.tags for k in ("href", "src"))
    assert "\x1b" not in html and "\\x1b[2J" in html
    assert "<code>&lt;b&gt;code&lt;/b&gt;</code>" in html  # a code span stays code, escaped
    assert esc("<&>\"'") == "&lt;&amp;&gt;&quot;&#39;"
    assert inline("see [docs](https://x.test/a) and `a < b`") == "see docs and <code>a &lt; b</code>"


def test_totals_over_guides():
    gs = progress([guide(), guide(path="other.md")])
    assert totals(gs) == (6, 12)
