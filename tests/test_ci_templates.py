"""The CI files ``guidesync init --ci`` writes, byte for byte: each parameter set is compared with a
copy of what guidesync generated when the templates were f-strings (tests/golden/ci/), so a change
to how the templates are stored or filled cannot change a byte of what users get. The golden copies
hold ``<PINNED_TAG>`` where the version goes, so a release does not have to regenerate them."""

from __future__ import annotations

from fnmatch import fnmatch
from pathlib import Path

import pytest

from guidesync.ci.templates import ACTION_REF, PINNED_TAG, ci_files, github_workflow, gitlab_job

GOLDEN = Path(__file__).resolve().parent / "golden" / "ci"

CASES = {
    "github-default.yml": lambda: github_workflow(),
    "github-own.yml": lambda: github_workflow("./"),
    "github-pinned.yml": lambda: github_workflow("acme/guidesync@0123456789abcdef0123456789abcdef01234567", "release/2.x"),
    # Values that look like placeholders or format fields are written as they are, never filled in.
    "github-odd.yml": lambda: github_workflow("o/g@{action} @@branch@@ $x ${{ y }}", "dev-{branch}-@@action@@"),
    "gitlab.yml": lambda: gitlab_job(),
}


def golden(name: str) -> str:
    return (GOLDEN / name).read_bytes().decode("utf-8").replace("<PINNED_TAG>", PINNED_TAG)


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_template_is_byte_identical_to_its_golden_copy(name):
    assert CASES[name]() == golden(name)


def test_init_writes_the_same_files():
    assert ci_files("github", "release/2.x") == {".github/workflows/guidesync.yml": github_workflow(ACTION_REF, "release/2.x")}
    assert ci_files("github") == {".github/workflows/guidesync.yml": golden("github-default.yml")}
    assert ci_files("gitlab", "develop") == {".gitlab/guidesync.gitlab-ci.yml": golden("gitlab.yml")}


def test_the_templates_ship_as_package_data():
    tomllib = pytest.importorskip("tomllib")
    root = GOLDEN.parent.parent.parent
    declared = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["package-data"]
    data = sorted((root / "guidesync" / "ci" / "data").glob("*.yml"))
    assert [p.name for p in data] == ["github-workflow.yml", "gitlab-job.yml"]
    for path in data:
        rel = path.relative_to(root / "guidesync" / "ci").as_posix()
        assert any(fnmatch(rel, pattern) for pattern in declared.get("guidesync.ci", [])), f"{rel} is not in the wheel"
