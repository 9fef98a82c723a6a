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
print(json.dumps({"code": code, "modules": sorted({m.split(".")[0] for m in sys.modules})}), file=sys.stderr)
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
