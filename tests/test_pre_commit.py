"""The pre-commit hook (issue 17, point 1): ``pre-commit try-repo <this checkout> guidesync-lint
--all-files`` in a git repository of guides fails on a broken guide, naming it, and passes once it
is fixed. pre-commit (from PyPI, a test dependency) builds the hook's own virtualenv from this
checkout; its pip is pointed at a folder of wheels packed from this environment's installed
packages (``--no-index``), so the test needs no network. try-repo builds that environment in a
store of its own every time (about 15 s), so the test runs it twice and no more."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.wheelhouse import wheelhouse

ROOT = Path(__file__).resolve().parent.parent
GOOD = (ROOT / "examples" / "guides" / "phase-1-foundation.md").read_text(encoding="utf-8")
BROKEN = ("# Phase 2: Payments - Detailed Implementation Guide\n\n## Overview\n\nCharge cards.\n\n"
          "## Deliverables Checklist\n\n- [ ] Card form [due:: 2026-02-30]\n- [ ] Refunds\n")


def test_the_hook_definition():
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    hook = next(h for h in hooks if h["id"] == "guidesync-lint")
    assert hook["entry"] == "guidesync lint" and hook["language"] == "python"
    assert hook["types"] == ["markdown"] and hook["pass_filenames"] is True


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def test_try_repo_fails_on_a_broken_guide_and_passes_on_good_ones(tmp_path):
    pre_commit = shutil.which("pre-commit", path=str(Path(sys.executable).parent)) or shutil.which("pre-commit")
    if pre_commit is None:
        pytest.skip("pre-commit is not installed (pip install -e '.[test]' installs it)")
    from virtualenv.seed.wheels.embed import BUNDLE_FOLDER  # pre-commit's virtualenv: it seeds new venvs offline

    wheels = tmp_path / "wheels"
    wheelhouse(wheels, _requirements())
    newest = sorted(Path(BUNDLE_FOLDER).glob("setuptools-*.whl"))[-1]  # the build of guidesync itself
    shutil.copy(newest, wheels / newest.name)

    hooks = _snapshot(tmp_path / "guidesync")
    repo = tmp_path / "guides-repo"
    (repo / "docs").mkdir(parents=True)
    (repo / "docs" / "phase-1-foundation.md").write_text(GOOD, encoding="utf-8")
    (repo / "docs" / "phase-2-payments.md").write_text(BROKEN, encoding="utf-8")
    (repo / "README.md").write_text("# Not a guide\n\nJust a readme.\n", encoding="utf-8")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "VIRTUALENV_", "PRE_COMMIT"))}
    env.update(PRE_COMMIT_HOME=str(tmp_path / "cache"), PIP_NO_INDEX="1", PIP_FIND_LINKS=str(wheels),
               PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_COMPILE="1", VIRTUALENV_NO_PERIODIC_UPDATE="1", GIT_CEILING_DIRECTORIES=str(tmp_path))
    env.pop("PYTHONPATH", None)

    def try_repo() -> subprocess.CompletedProcess:
        return subprocess.run([pre_commit, "try-repo", str(hooks), "guidesync-lint", "--all-files"], cwd=repo, env=env,
                              capture_output=True, text=True, timeout=600)

    failed = try_repo()
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "docs/phase-2-payments.md:9: error: field 'due': '2026-02-30' is not a day" in failed.stdout
    assert "phase-1-foundation.md" not in failed.stdout  # the good guide passes: it is not named
    assert "2 guides, 1 errors" in failed.stdout  # README.md is not a guide (a warning says it is skipped)

    (repo / "docs" / "phase-2-payments.md").write_text(BROKEN.replace("2026-02-30", "2026-02-28"), encoding="utf-8")
    _git(repo, "add", ".")
    passed = try_repo()
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "guidesync lint" in passed.stdout and "Passed" in passed.stdout


def _snapshot(target: Path) -> Path:
    """This checkout as it is now (tracked and new files, not ignored ones), committed once in a
    repository of its own: both runs then name one commit, and the hook's environment is built once
    (try-repo on a checkout with uncommitted changes makes a new commit, and a new environment, per run)."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            check=True, capture_output=True).stdout.decode().split("\0")
    for rel in filter(None, listed):
        source = ROOT / rel
        if source.is_file() and not source.is_symlink():
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / rel)
    _git(target, "init", "-q")
    _git(target, "add", "-A")
    _git(target, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-m", "snapshot")
    return target


def _requirements() -> list[str]:
    tomllib = pytest.importorskip("tomllib")
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
