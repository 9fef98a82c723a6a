"""A small repository with a history, for the report's browser test and the README's screenshot.

Three guides grow and get done over seven weeks of commits (a guide renamed on the way, one added
late, a merge of a branch that checked boxes); :func:`make_demo` builds it with git and returns what
each commit should count, worked out here from the demo's own list of boxes, not by the parser.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

TODAY = "2026-04-24"
NOW = 1777032000  # 2026-04-24 12:00 UTC
REPO_URL = "https://github.com/acme/shop"


@dataclass
class GuideState:
    path: str
    head: str  # everything above the tasks
    tasks: list[list] = field(default_factory=list)  # [text, checked, issue or None, milestone heading or None]

    def text(self) -> str:
        out = [self.head]
        for text, checked, issue, heading in self.tasks:
            if heading:
                out.append(heading)
            link = f" ([#{issue}]({REPO_URL}/issues/{issue}))" if issue else ""
            out.append(f"- [{'x' if checked else ' '}] {text}{link}")
        return "\n".join(out) + "\n"

    def counts(self) -> tuple[int, int]:
        return sum(1 for t in self.tasks if t[1]), len(self.tasks)

    def check(self, text: str) -> None:
        next(t for t in self.tasks if t[0] == text)[1] = True


def _phase1() -> GuideState:
    g = GuideState("docs/phase-1.md", "# Phase 1: Foundation - Detailed Implementation Guide\n\n**Due**: 2026-03-20\n\n"
                   "## Overview\nThe skeleton every later phase builds on.\n\n## Deliverables Checklist")
    g.tasks = [["`services/api/` skeleton with a health check", False, 11, None],
               ["PostgreSQL schema for `orders` and `customers`", False, 12, None],
               ["CI running the unit tests on every push", False, 13, None],
               ["Seed script for local development", False, None, None]]
    return g


def _checkout() -> GuideState:
    g = GuideState("docs/checkout-redesign.md", "# Implementation Guide: Checkout Redesign\n\n"
                   "## Implementation Milestones\n")
    m1 = "\n### Milestone 1: Cart API [due:: 2026-04-03]\n**Goal**: The cart as one JSON resource.\n\n**Changes Required**:"
    m2 = ("\n### Milestone 2: Single-page checkout [due:: 2026-05-08]\n**Goal**: One page with inline validation.\n\n"
          "**Changes Required**:")
    g.tasks = [["Add `GET /cart/{id}` with items, totals and discounts", False, 21, m1],
               ["Move the discount rules into `cart/pricing.py`", False, 22, None],
               ["Cache cart totals for 30 seconds", False, None, None],
               ["Build the `CheckoutPage` component", False, 24, m2],
               ["Inline address validation [due:: 2026-04-17]", False, None, None],
               ["Remove the old `/checkout/step-2` route", False, None, None]]
    return g


def _payments() -> GuideState:
    return GuideState("docs/phase-2-payments.md", "# Phase 2: Payments - Detailed Implementation Guide [due:: 2026-05-29]\n\n"
                      "## Deliverables Checklist",
                      [["Card form with client-side checks", False, None, None],
                       ["Retry failed charges [due:: 2026-05-15]", False, None, None],
                       ["Refunds from the admin page", False, None, None],
                       ["Payment webhooks, verified", False, None, None]])


def _git(root: Path, *args: str, date: str | None = None) -> str:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(root), "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_AUTHOR_NAME": "Ada", "GIT_AUTHOR_EMAIL": "ada@example.com",
           "GIT_COMMITTER_NAME": "Ada", "GIT_COMMITTER_EMAIL": "ada@example.com", "LC_ALL": "C"}
    if date:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = f"{date}T10:00:00+00:00"
    return subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True, text=True).stdout


@dataclass
class Demo:
    root: Path
    points: list[tuple[str, int, int]]  # (day, done, total) after each commit, oldest first
    milestones: dict[str, tuple[int, int, str | None]]  # title -> (done, total, due)


def make_demo(root: Path) -> Demo:
    root.mkdir(parents=True, exist_ok=True)
    _git(root, "init", "-q", "-b", "main")
    (root / "README.md").write_text("# shop\n")
    guides: dict[str, GuideState] = {}
    points: list[tuple[str, int, int]] = []

    def commit(day: str, message: str, *, record: bool = True) -> None:
        for g in guides.values():
            (root / g.path).parent.mkdir(parents=True, exist_ok=True)
            (root / g.path).write_text(g.text())
        _git(root, "add", "-A")
        _git(root, "commit", "-q", "-m", message, date=day)
        if record:
            points.append((day, sum(g.counts()[0] for g in guides.values()), sum(g.counts()[1] for g in guides.values())))

    p1 = guides["p1"] = _phase1()
    commit("2026-03-02", "Phase 1 guide")
    p1.check("`services/api/` skeleton with a health check")
    commit("2026-03-05", "api skeleton")
    p1.check("PostgreSQL schema for `orders` and `customers`")
    commit("2026-03-10", "schema")
    co = guides["co"] = _checkout()
    commit("2026-03-12", "Checkout guide")
    # a rename: the guide keeps its history (same blob, not parsed again)
    _git(root, "mv", "docs/phase-1.md", "docs/phase-1-foundation.md")
    p1.path = "docs/phase-1-foundation.md"
    p1.check("CI running the unit tests on every push")
    commit("2026-03-16", "rename phase 1, CI done")
    p1.check("Seed script for local development")
    commit("2026-03-19", "seed script")
    # a branch checks two boxes; main merges it later: one point, at the merge
    _git(root, "checkout", "-q", "-b", "cart")
    co.check("Add `GET /cart/{id}` with items, totals and discounts")
    commit("2026-03-24", "cart endpoint", record=False)
    co.check("Move the discount rules into `cart/pricing.py`")
    commit("2026-03-27", "pricing", record=False)
    _git(root, "checkout", "-q", "main")
    (root / "NOTES.txt").write_text("not a guide\n")
    _git(root, "add", "NOTES.txt")
    _git(root, "commit", "-q", "-m", "notes", date="2026-03-28")
    _git(root, "merge", "-q", "--no-ff", "cart", "-m", "Merge branch 'cart'", date="2026-03-30")
    points.append(("2026-03-30", *_sum(guides)))
    co.check("Cache cart totals for 30 seconds")
    commit("2026-04-06", "cart cache")
    pay = guides["pay"] = _payments()
    commit("2026-04-08", "Phase 2 guide")
    co.check("Build the `CheckoutPage` component")
    commit("2026-04-14", "checkout page")
    pay.check("Card form with client-side checks")
    commit("2026-04-21", "card form")
    milestones = {
        "Phase 1: Foundation": (4, 4, "2026-03-20"),
        "Checkout Redesign - Milestone 1: Cart API": (3, 3, "2026-04-03"),
        "Checkout Redesign - Milestone 2: Single-page checkout": (1, 3, "2026-05-08"),
        "Phase 2: Payments": (1, 4, "2026-05-29"),
    }
    return Demo(root, points, milestones)


def _sum(guides: dict[str, GuideState]) -> tuple[int, int]:
    return sum(g.counts()[0] for g in guides.values()), sum(g.counts()[1] for g in guides.values())


def render_demo(tmp: Path) -> Path:
    """Build the demo and its report; the report's index.html."""
    from guidesync.commands import Context
    from guidesync.reportcmd import report

    demo = make_demo(tmp / "shop")
    out = report(Context(root=demo.root, env={"PATH": os.environ.get("PATH", "")}), out="guidesync-report",
                 today=TODAY, now=NOW)
    assert out.code == 0, out.text
    return demo.root / "guidesync-report" / "index.html"
