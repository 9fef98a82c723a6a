"""The report page in a real browser: headless Chromium (Debian's ``chromium``; .ci/run installs it)
opens ``index.html`` from ``file://``, and the test reads the chart's points and the milestone rows
through the DOM, checks that nothing was fetched and nothing went to the console, prints the page,
and takes the screenshot (the README's ``docs/report.png`` is the same picture: ``python -m tests.browser``
writes it, and so does this test with GUIDESYNC_SCREENSHOT=docs/report.png)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.browser import Browser, find_chromium, png_size, readme_shot
from tests.report_demo import NOW, TODAY, make_demo

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH: apt-get install chromium (.ci/run installs "
                                "it when it may); the report page is then not tested in a browser")
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """The demo repository, its report, and the browser with the page open."""
    from guidesync.commands import Context
    from guidesync.reportcmd import report

    demo = make_demo(tmp_path_factory.mktemp("demo") / "shop")
    out = report(Context(root=demo.root, env={"PATH": os.environ.get("PATH", "")}), out="guidesync-report", today=TODAY,
                 now=NOW)
    assert out.code == 0, out.text
    index = demo.root / "guidesync-report" / "index.html"
    with Browser(CHROMIUM, width=1100, height=900) as browser:
        browser.open(index.as_uri())
        yield demo, index, browser


def test_the_chart_shows_a_point_per_commit(rendered):
    demo, _, b = rendered
    points = b.evaluate("""[...document.querySelectorAll('svg.burnup g.point')].map(g => {
        const d = g.querySelector('circle.done').getBoundingClientRect(), t = g.querySelector('circle.total').getBoundingClientRect();
        return {done: +g.dataset.done, total: +g.dataset.total, time: +g.dataset.time,
                dx: d.x + d.width / 2, dy: d.y + d.height / 2, tx: t.x + t.width / 2, ty: t.y + t.height / 2,
                shown: d.width > 0 && d.height > 0};
    })""")
    from guidesync.core.page import day_of

    # one point per commit of main's line that changed a guide (the merge once, its branch's commits not)
    assert [(day_of(p["time"]), p["done"], p["total"]) for p in points] == demo.points
    assert all(p["shown"] for p in points)
    box = b.evaluate("(() => { const r = document.querySelector('svg.burnup').getBoundingClientRect();"
                     " return {x: r.x, y: r.y, w: r.width, h: r.height}; })()")
    for p in points:  # laid out inside the chart, left to right in time, higher for more tasks
        assert box["x"] < p["dx"] < box["x"] + box["w"] and box["y"] < p["dy"] < box["y"] + box["h"]
        assert p["dx"] == pytest.approx(p["tx"]) and p["ty"] <= p["dy"] + 0.01
    xs = [p["dx"] for p in points]
    assert xs == sorted(xs) and len(set(xs)) == len(xs)
    for a, c in zip(points, points[1:]):
        assert (c["dy"] < a["dy"]) == (c["done"] > a["done"]) and (c["dy"] == pytest.approx(a["dy"])) == (c["done"] == a["done"])
    # the milestones' due dates are marked on the chart, today too
    dues = b.evaluate("[...document.querySelectorAll('svg.burnup g.due')].map(g => [g.dataset.milestone, g.dataset.due])")
    assert sorted(dues) == sorted([t, d] for t, (_, _, d) in demo.milestones.items())
    assert b.evaluate("document.querySelector('svg.burnup g.today').dataset.day") == TODAY


def test_the_milestone_rows(rendered):
    demo, _, b = rendered
    rows = b.evaluate("""[...document.querySelectorAll('tr.milestone')].map(r => ({
        title: r.dataset.title, done: +r.dataset.done, total: +r.dataset.total, due: r.dataset.due,
        overdue: r.dataset.overdue === 'true', text: r.innerText,
        bar: r.querySelector('svg.bar rect.fill').getBoundingClientRect().width,
        track: r.querySelector('svg.bar rect.track').getBoundingClientRect().width}))""")
    assert {r["title"]: (r["done"], r["total"], r["due"]) for r in rows} == demo.milestones
    for r in rows:
        assert f"{r['done']}/{r['total']}" in r["text"] and r["due"] in r["text"]
        assert r["bar"] == pytest.approx(r["track"] * r["done"] / r["total"], abs=0.6)
        assert not r["overdue"]  # all done before their day, or due later
    overall = b.evaluate("document.querySelector('.overall').innerText")
    done = sum(d for d, _, _ in demo.milestones.values())
    total = sum(t for _, t, _ in demo.milestones.values())
    assert f"{done}/{total}" in overall
    # an open task past its own due date is marked, and linked tasks link to their issues
    late = b.evaluate("[...document.querySelectorAll('li.task.open .due.late')].map(e => e.closest('li').innerText)")
    assert len(late) == 1 and "Inline address validation" in late[0] and "overdue" in late[0]
    links = b.evaluate("[...document.querySelectorAll('a.issue')].map(a => a.href)")
    assert links == [f"https://github.com/acme/shop/issues/{n}" for n in (21, 22, 24, 11, 12, 13)]


def test_nothing_is_fetched_and_the_console_is_quiet(rendered):
    _, index, b = rendered
    assert b.requests == [index.as_uri()]
    assert [c for c in b.console if c["level"] in ("error", "assert", "warning")] == []
    assert b.evaluate("document.scripts.length") == 0
    assert b.evaluate("document.fonts.size") == 0  # no web font, only the system's


def test_the_page_prints_and_the_screenshot_is_taken(rendered, tmp_path):
    _, _, b = rendered
    pdf = b.pdf()
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", pdf))
    assert pdf.startswith(b"%PDF-") and pages >= 2, pages  # the page prints, over several sheets
    shot = b.screenshot(tmp_path / "report.png")
    width, height = png_size(shot)
    assert width == 1100 and height > 1200  # the whole page, not just the window
    assert len(shot) > 50_000  # a page with a chart, not a blank sheet
    target = os.environ.get("GUIDESYNC_SCREENSHOT")
    if target:  # GUIDESYNC_SCREENSHOT=docs/report.png: refresh the README's picture
        top = readme_shot(CHROMIUM, rendered[1], ROOT / target)
        assert png_size(top) == (1100, 980)
    assert [c for c in b.console if c["level"] == "error"] == []
