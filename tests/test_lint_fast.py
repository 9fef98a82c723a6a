"""``guidesync lint`` is fast enough for a pre-commit hook (issue 17, point 1): its path imports no
tracker client (PyGithub, python-gitlab), no HTTP library and no terminal toolkit. Checked in a
fresh interpreter, the way the hook runs it; the timing against a bare Typer app is bench/lint.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: top-level packages the lint path must not load
HEAVY = ("github", "gitlab", "requests", "urllib3", "rich", "jwt", "nacl", "cryptography")

PROBE = """
import json, sys
sys.argv = ["guidesync", *sys.argv[1:]]
from guidesync.cli import main
try:
    main()
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "modules": sorted({m.split(".")[0] for m in sys.modules}),
                  "guidesync": sorted(m for m in sys.modules if m.startswith("guidesync"))}), file=sys.stderr)
"""


def _lint(*args: str, cwd: Path = ROOT) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # this checkout's guidesync, wherever the test runs
    done = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)
    return {"stdout": done.stdout, **json.loads(done.stderr.strip().splitlines()[-1])}


def test_lint_imports_no_tracker_client_nor_terminal_toolkit():
    found = _lint("lint", "examples/guides")
    assert found["code"] == 0 and "2 guides, 0 errors" in found["stdout"]
    assert "guidesync" in found["modules"] and "markdown_it" in found["modules"]
    assert sorted(set(HEAVY) & set(found["modules"])) == []
    # nor the planner: lint's cross-guide checks are guidesync.core.lintcheck (held to the planner below)
    assert not {"guidesync.core.plan", "guidesync.core.match", "guidesync.commands"} & set(found["guidesync"])


def test_lint_of_a_broken_guide_stays_light_too(tmp_path):
    (tmp_path / "guides").mkdir()
    (tmp_path / "guides" / "phase-9.md").write_text(
        "# Phase 9: Broken - Detailed Implementation Guide\n\n## Overview\n\nText.\n\n## Deliverables Checklist\n\n"
        "- [ ] Ship it [due:: 2026-13-45]\n", encoding="utf-8")
    found = _lint("lint", "guides/phase-9.md", cwd=tmp_path)
    assert found["code"] == 1 and "guides/phase-9.md:9: error: field 'due'" in found["stdout"]
    assert sorted(set(HEAVY) & set(found["modules"])) == []


def test_the_commands_that_talk_to_a_tracker_still_load_it():
    """The other side of the test: the probe does see the clients when a command needs them."""
    found = _lint("plan", "--offline", "examples/guides")
    assert found["code"] == 0 and "rich" in found["modules"]  # the plan's report
    found = _lint("plan", "examples/guides", "--config", "missing.yaml")
    assert found["code"] == 2 and "rich" in found["modules"]


# -- lint's cross-guide checks without the planner ---------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from guidesync.core.base import Base  # noqa: E402
from guidesync.core.lintcheck import plan_errors  # noqa: E402
from guidesync.core.parse import parse_guide  # noqa: E402
from guidesync.core.plan import Options, Snapshot, make_plan  # noqa: E402

URL = "https://github.com/acme/shop/issues/{}"
#: a task line: its text (from a small pool, so that keys collide), a link or not, an id, blocked-by
TASK = st.tuples(st.sampled_from(["Ship it", "Write docs", "Add cache", "Fix bug"]),
                 st.one_of(st.none(), st.integers(1, 4)), st.one_of(st.none(), st.sampled_from(["a", "b", "c"])),
                 st.lists(st.sampled_from(["a", "b", "c", "zz"]), max_size=2))
GUIDE = st.tuples(st.booleans(), st.sampled_from(["Cart", "Pay", "Cart"]),
                  st.lists(st.tuples(st.sampled_from(["One", "Two"]), st.lists(TASK, min_size=0, max_size=3)),
                           min_size=1, max_size=2))


def _task(text: str, link: int | None, ident: str | None, blocked: list[str]) -> str:
    line = f"- [ ] {text}"
    if ident:
        line += f" [id:: {ident}]"
    if blocked:
        line += f" [blocked-by:: {', '.join(blocked)}]"
    if link:
        line += f" ([#{link}]({URL.format(link)}))"
    return line


def _guide(phase: bool, name: str, milestones: list) -> str:
    if phase:
        tasks = [t for _, ts in milestones for t in ts]
        return (f"# Phase 1: {name} - Detailed Implementation Guide\n\n## Overview\n\nx\n\n## Deliverables Checklist\n\n"
                + "".join(_task(*t) + "\n" for t in tasks))
    out = f"# Implementation Guide: {name}\n\n## Implementation Milestones\n\n"
    for n, (title, tasks) in enumerate(milestones, 1):
        out += f"### Milestone {n}: {title}\n**Goal**: g\n\n**Changes Required**:\n" + "".join(_task(*t) + "\n" for t in tasks) + "\n"
    return out


@settings(max_examples=150, deadline=None)
@given(st.lists(GUIDE, min_size=1, max_size=4), st.integers(0, 4))
def test_lint_reports_what_the_planner_reports(specs, split):
    guides = [g for i, spec in enumerate(specs) if (g := parse_guide(_guide(*spec), f"g{i}.md")) is not None]
    acting, others = guides[:split] or guides, guides[split:] if split else []
    planned = make_plan(acting, Base(), Snapshot(offline=True), Options(mode="push"), others)
    assert plan_errors(acting, others) == [p for p in planned.problems if p.severity == "error"]


def test_the_checks_are_not_vacuous():
    one = parse_guide(_guide(True, "Cart", [("", [("Ship it", 1, "a", ["zz"])])]), "a.md")
    two = parse_guide(_guide(True, "Cart", [("", [("Fix bug", 1, "a", [])])]), "b.md")
    messages = [p.message for p in plan_errors([one, two])]
    assert any("milestone title 'Phase 1: Cart' is also used by" in m for m in messages)
    assert any("blocked-by 'zz': no task has this id" in m for m in messages)
    three = parse_guide(_guide(False, "Pay", [("One", [("Ship it", 2, None, []), ("Fix bug", 2, None, [])])]), "c.md")
    assert [p.message for p in plan_errors([three])] == ["issue #2 is linked by 2 tasks; none of them is synced until "
                                                         "only one keeps the link"] * 2
