"""What the safety machine's imports variant found (tests/safety_model.py, ``KNOWN``), as plain
scenarios on the in-memory tracker. They failed until guidesync was fixed (the listing mark
stays while a guide has errors, and while a push saw an import it does not make); they are
plain tests now, and the machine tolerates neither finding any more.

``frozen-guide-mark`` (5 steps on both forges; ``python -m tests.safety_model --replay
frozen-guide-import-lost frozen-guide-close-lost``): a guide gets an error, a person opens a
labelled issue in its milestone (or closes one of its tasks' issues), a ``pull`` (exit 1, the
guide is not synced) moves the listing mark past it, the guide is fixed, and no later run sees the
issue again until a full listing (``full_sync_hours``): the issue never joins its guide, the box
is never checked.

``push-listing-etag`` (3 steps, GitHub's dialect only; ``--replay push-seen-import-lost``): a
labelled issue opened in a guide's milestone, a ``push`` (which never imports) lists it and keeps
the listing's ETag, the next ``sync`` asks with that ETag, is answered 304 Not Modified, and
imports nothing.
"""

from __future__ import annotations

import pytest

from tests.test_imports import pushed

HOUR = 3600.0
GUIDE = "billing.md"
TEXT = ("# Phase 6: Billing - Detailed Implementation Guide\n\n## Deliverables Checklist\n\n"
        "- [ ] Retry failed charges\n- [ ] Ledger schema\n\n## Notes\n\nSee above.\n")
BAD = "**Due**: 2026-02-30\n\n"  # a phase date that is no day: the guide has an error


@pytest.fixture
def ws(make_workspace):
    return pushed(make_workspace, text=TEXT, hours=1)


def later(ws, hours: float = 1) -> None:
    ws.forge.server.clock.tick(hours * HOUR)


def remote(ws):
    return ws.forge.server.remote


def test_an_issue_that_waited_while_its_guide_had_errors_is_imported_once_the_guide_is_fixed(ws):
    (ms,) = remote(ws).milestones
    ws.write(GUIDE, ws.read(GUIDE).replace("## Deliverables", BAD + "## Deliverables"))
    n = remote(ws).create_issue("Refunds", "found while testing", ("guidesync",), ms)
    later(ws)
    out = ws.run("pull")
    assert out.code == 1 and f"issue #{n} ('Refunds') is in this guide's milestone but is not imported" in out.text
    ws.write(GUIDE, ws.read(GUIDE).replace(BAD, ""))
    later(ws)
    out = ws.run("sync")
    assert out.code == 0, out.text
    assert f"- [ ] Refunds ([#{n}]" in ws.read(GUIDE)


def test_a_close_made_while_the_guide_had_errors_checks_the_box_once_the_guide_is_fixed(ws):
    n = int(ws.read(GUIDE).split("Retry failed charges ([#", 1)[1].split("]", 1)[0])
    ws.write(GUIDE, ws.read(GUIDE).replace("## Deliverables", BAD + "## Deliverables"))
    remote(ws).close_issue(n)
    later(ws)
    out = ws.run("pull")
    assert out.code == 1 and "guides with errors are not synced" in out.text, out.text
    ws.write(GUIDE, ws.read(GUIDE).replace(BAD, ""))
    later(ws)
    out = ws.run("sync")
    assert out.code == 0, out.text
    assert f"- [x] Retry failed charges ([#{n}]" in ws.read(GUIDE)


def test_without_the_run_in_between_both_work(ws):
    """The same edits with no run while the guide has errors: imported, and the box checked (so the
    two tests above are about the run in between, not the scenario)."""
    (ms,) = remote(ws).milestones
    n = int(ws.read(GUIDE).split("Retry failed charges ([#", 1)[1].split("]", 1)[0])
    ws.write(GUIDE, ws.read(GUIDE).replace("## Deliverables", BAD + "## Deliverables"))
    new = remote(ws).create_issue("Refunds", "found while testing", ("guidesync",), ms)
    remote(ws).close_issue(n)
    later(ws)
    ws.write(GUIDE, ws.read(GUIDE).replace(BAD, ""))
    out = ws.run("sync")
    assert out.code == 0, out.text
    text = ws.read(GUIDE)
    assert f"- [x] Retry failed charges ([#{n}]" in text and f"- [ ] Refunds ([#{new}]" in text


def test_an_issue_a_push_listed_is_imported_by_the_next_sync(make_workspace):
    ws = make_workspace("memory", guides=())
    ws.write(GUIDE, TEXT)
    ws.write_config(import_issues="labeled")
    assert ws.run("push").code == 0
    (ms,) = remote(ws).milestones
    n = remote(ws).create_issue("Refunds", "found while testing", ("guidesync",), ms)
    later(ws)
    assert ws.run("push").code == 0 and f"[#{n}]" not in ws.read(GUIDE)  # push never imports
    later(ws)
    out = ws.run("sync")
    assert out.code == 0, out.text
    assert f"- [ ] Refunds ([#{n}]" in ws.read(GUIDE)
