"""The command line, through Typer's CliRunner on guidesync.cli.app (and two real subprocesses)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from guidesync.cli import app
from guidesync.config import load_config
from tests.conftest import FORGES, TOKEN

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "guides"

# What the two example guides hold: milestone title -> [(checked, task text)], in guide order.
EXPECTED = {
    "Checkout Redesign - Milestone 1: Cart API": [
        (False, "Add `GET /cart/{id}` returning items, totals and applicable discounts"),
        (False, "Move discount calculation from the view into `cart/pricing.py`"),
        (False, "Cache cart totals for 30 seconds"),
    ],
    "Checkout Redesign - Milestone 2: Single-page checkout": [
        (True, "Build the `CheckoutPage` component"),
        (False, "Inline address validation against the postcode service"),
        (False, "Remove the old `/checkout/step-2` and `/checkout/step-3` routes"),
    ],
    "Phase 1: Foundation": [
        (False, "`services/api/` skeleton with health check endpoint"),
        (True, "PostgreSQL schema `orders` and `customers` (see [schema notes](docs/schema.md))"),
        (False, "CI pipeline running unit tests on every push 🚀"),
        (False, "Seed script `scripts/seed.py` for local development"),
    ],
}

DUPLICATE_MILESTONE = """\
# Implementation Guide: Dup

## Implementation Milestones

### Milestone 1: First
**Changes Required**:
- one

### Milestone 1: Again
**Changes Required**:
- two
"""

CI_VARIABLES = ("GITHUB_TOKEN", "GH_TOKEN", "GITLAB_TOKEN", "GITHUB_REPOSITORY", "GITHUB_API_URL", "GITHUB_ACTIONS",
                "GITHUB_SERVER_URL", "GITLAB_CI", "CI_PROJECT_PATH", "CI_SERVER_URL", "CI_API_V4_URL")

runner = CliRunner()


@pytest.fixture
def clean_env(tmp_path, monkeypatch):
    """No tokens or CI variables, a `gh` that is not logged in, a wide terminal, no outer git repo."""
    for var in CI_VARIABLES:
        monkeypatch.delenv(var, raising=False)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    gh = bin_dir / "gh"
    gh.write_text("#!/bin/sh\necho 'not logged in' >&2\nexit 1\n")
    gh.chmod(gh.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", str(bin_dir) + os.pathsep + os.environ.get("PATH", ""))
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    return tmp_path


@pytest.fixture
def project(clean_env, monkeypatch):
    """A folder holding a copy of examples/guides, as the current directory."""
    root = clean_env / "project"
    shutil.copytree(EXAMPLES, root / "examples" / "guides")
    monkeypatch.chdir(root)
    return root


def run(*args: str, env: dict | None = None):
    return runner.invoke(app, list(args), env=env)


def plan_sections(output: str) -> dict[str, list[tuple[bool, str]]]:
    """Milestone title -> [(checked, text)] from `guidesync plan` output lines."""
    out: dict[str, list[tuple[bool, str]]] = {}
    current = None
    for line in output.splitlines():
        if line.startswith("  Milestone: "):
            current = line[len("  Milestone: "):].rsplit("  (", 1)[0]
            assert current not in out, f"milestone listed twice: {current}"
            out[current] = []
        elif line.startswith("    [x] ") or line.startswith("    [ ] "):
            assert current is not None
            text = line[8:].rsplit("  [", 1)[0]
            out[current].append((line.startswith("    [x]"), text))
    return out


def one_line_error(result, code: int = 2) -> str:
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("guidesync: ")
    return lines[0]


# -- plan ------------------------------------------------------------------------------------------------


def test_plan_offline_lists_milestones_and_tasks(project):
    result = run("plan", "--offline", "examples/guides")
    assert result.exit_code == 0, result.output
    assert plan_sections(result.stdout) == EXPECTED
    lines = result.stdout.splitlines()
    assert "examples/guides/phase-1-foundation.md: Phase 1: Foundation - Detailed Implementation Guide" in lines
    assert "  Milestone: Phase 1: Foundation  (create milestone; 1/4 done)" in lines
    assert any(ln.startswith("    [x] Build the `CheckoutPage` component  [new: create and close]") for ln in lines)
    summary = next(ln for ln in lines if ln.startswith("Summary:"))
    assert "3 milestones to create, 10 issues to create" in summary and "2 to close" in summary
    # --offline was asked for: no "no credentials" note, just the offline header.
    assert lines[0] == "Plan against an empty tracker (offline): everything unlinked would be created."
    assert result.stderr == ""


def test_plan_offline_single_file(project):
    result = run("plan", "--offline", "examples/guides/phase-1-foundation.md")
    assert result.exit_code == 0
    assert plan_sections(result.stdout) == {"Phase 1: Foundation": EXPECTED["Phase 1: Foundation"]}


def test_plan_offline_json(project):
    result = run("plan", "--offline", "--json", "examples/guides")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["offline"] is True and data["guards"] == [] and data["problems"] == []
    assert data["counts"]["created"] == 10 and data["counts"]["closed"] == 2 and data["counts"]["milestones_created"] == 3
    assert sorted(m["title"] for m in data["milestones"]) == sorted(EXPECTED)
    assert all(m["create"] and m["number"] is None for m in data["milestones"])
    titles = {m["key"]: m["title"] for m in data["milestones"]}
    got: dict[str, list] = {}
    for t in data["tasks"]:
        assert t["create"] and t["issue"] is None and isinstance(t["line"], int)
        assert t["close"] == ("completed" if t["checked"] else None)
        got.setdefault(titles[t["milestone"]], []).append((t["checked"], t["text"]))
    assert got == EXPECTED
    first = next(t for t in data["tasks"] if t["text"].startswith("Cache cart totals"))
    assert (first["guide"], first["line"]) == ("examples/guides/checkout-redesign.md", 20)


def test_plan_without_credentials_falls_back_to_offline_with_a_note(project):
    (project / "config").mkdir()
    (project / "config" / "guidesync.yaml").write_text("repository: acme/shop\n")
    result = run("plan", "examples/guides")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "no tracker credentials or repository: planning against an empty tracker (offline)"
    assert plan_sections(result.stdout) == EXPECTED
    data = json.loads(run("plan", "--json", "examples/guides").stdout)
    assert data["offline"] is True and any("offline" in n for n in data["notes"])


# -- lint ---------------------------------------------------------------------------------------------------


def test_lint_examples_is_clean(project):
    result = run("lint", "examples/guides")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1] == "2 guides, 0 errors, 0 warnings"


def test_only_the_cli_freezes_the_guides_for_the_cycle_collector(project):
    import gc

    from guidesync import commands

    gc.unfreeze()  # earlier CLI runs in this process froze theirs
    try:
        assert commands.lint(commands.Context(paths=("examples/guides",))).code == 0
        assert gc.get_freeze_count() == 0  # a program using guidesync.commands keeps its collector as it was
        assert run("lint", "examples/guides").exit_code == 0
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_lint_reports_an_error_with_file_and_line(project):
    (project / "guides").mkdir()
    (project / "guides" / "dup.md").write_text(DUPLICATE_MILESTONE)
    result = run("lint", "guides/dup.md")
    assert result.exit_code == 1
    assert "guides/dup.md:9: error: milestone 1 appears twice (first at line 5)" in result.stdout.splitlines()
    assert "1 guides, 1 errors" in result.stdout
    data = json.loads(run("lint", "--json", "guides/dup.md").stdout)
    assert data["problems"][0] == {"file": "guides/dup.md", "line": 9, "severity": "error",
                                   "message": "milestone 1 appears twice (first at line 5)"}


def test_lint_github_annotations(project):
    (project / "guides").mkdir()
    (project / "guides" / "dup.md").write_text(DUPLICATE_MILESTONE)
    (project / "guides" / "empty.md").write_text("# Phase 2: Empty - Detailed Implementation Guide\n\n## Overview\n\nNothing.\n")
    result = run("lint", "--github", "guides")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert "::error file=guides/dup.md,line=9::milestone 1 appears twice (first at line 5)" in lines
    warning = [ln for ln in lines if ln.startswith("::warning file=guides/empty.md,line=1::")]
    assert len(warning) == 1 and "Deliverables Checklist" in warning[0]
    assert not any(ln.startswith("::") for ln in run("lint", "guides").stdout.splitlines())


# -- status ---------------------------------------------------------------------------------------------------


def status_rows(output: str, columns: tuple[str, ...] = ("Done", "Linked")) -> dict[str, tuple[str, ...]]:
    """milestone -> the cells of ``columns``, read by their headers."""
    rows, header = {}, None
    for line in output.splitlines():
        if line.startswith("┃"):
            header = [c.strip() for c in line.split("┃")]
        elif line.startswith("│") and header:
            cells = [c.strip() for c in line.split("│")]
            if cells[1]:
                rows[cells[1]] = tuple(cells[header.index(c)] for c in columns)
    return rows


def test_status_table(project):
    result = run("status", "examples/guides")
    assert result.exit_code == 0, result.output
    assert status_rows(result.stdout) == {
        "Checkout Redesign - Milestone 1: Cart API": ("0/3", "0/3"),
        "Checkout Redesign - Milestone 2: Single-page checkout": ("1/3", "0/3"),
        "Phase 1: Foundation": ("1/4", "0/4"),
    }
    assert "examples/guides/phase-1-foundation.md — Phase 1: Foundation - Detailed Implementation Guide (phase guide)" in result.stdout


def test_status_json(project):
    result = run("status", "--json", "examples/guides")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert [g["guide"] for g in data] == ["examples/guides/checkout-redesign.md", "examples/guides/phase-1-foundation.md"]
    assert [g["kind"] for g in data] == ["implementation", "phase"]
    got = {m["title"]: (m["done"], m["tasks"], m["linked"]) for g in data for m in g["milestones"]}
    assert got == {title: (sum(c for c, _ in ts), len(ts), 0) for title, ts in EXPECTED.items()}


def test_status_counts_links_after_a_push(make_workspace):
    ws = make_workspace("github")
    assert ws.run("push").code == 0
    ws.forge.close(next(iter(ws.forge.issues())))  # a remote change does not show: status reads only the guides
    result = run("status", "--json", env={"GITHUB_TOKEN": None})
    assert result.exit_code == 0, result.output
    got = {m["title"]: (m["done"], m["tasks"], m["linked"]) for g in json.loads(result.stdout) for m in g["milestones"]}
    assert got == {title: (sum(c for c, _ in ts), len(ts), len(ts)) for title, ts in EXPECTED.items()}


# -- init -------------------------------------------------------------------------------------------------------


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def git_project(clean_env, monkeypatch):
    root = clean_env / "shop"
    root.mkdir()
    git(root, "init", "-q")
    git(root, "remote", "add", "origin", "git@github.com:acme/shop.git")
    monkeypatch.chdir(root)
    return root


def test_init_proposes_the_repository_from_the_git_remote(git_project):
    result = run("init")
    assert result.exit_code == 0, result.output
    path = git_project / "config" / "guidesync.yaml"
    text = path.read_text()
    assert yaml.safe_load(text)["repository"] == "acme/shop" and yaml.safe_load(text)["tracker"] == "github"
    assert "acme/shop taken from the git remote 'origin'" in result.stdout
    assert "wrote config/guidesync.yaml" in result.stdout
    cfg = load_config(path, {})
    assert (cfg.tracker, cfg.repository) == ("github", "acme/shop")


def test_init_refuses_to_overwrite_without_force(git_project):
    path = git_project / "config" / "guidesync.yaml"
    path.parent.mkdir()
    path.write_text("tracker: github\nrepository: acme/kept\n")
    result = run("init")
    assert result.exit_code == 2
    assert "config/guidesync.yaml: already exists (use --force to overwrite)" in result.output
    assert path.read_text() == "tracker: github\nrepository: acme/kept\n"
    result = run("init", "--force", "--repository", "acme/other")
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(path.read_text())["repository"] == "acme/other"


def test_init_without_a_remote_leaves_the_repository_out(clean_env, monkeypatch):
    monkeypatch.chdir(clean_env)
    result = run("init", "--tracker", "gitlab")
    assert result.exit_code == 0, result.output
    raw = yaml.safe_load((clean_env / "config" / "guidesync.yaml").read_text())
    assert raw["tracker"] == "gitlab" and "repository" not in raw


# -- bad input ------------------------------------------------------------------------------------------------------


@pytest.fixture
def bad_guides(project):
    g = project / "guides"
    g.mkdir()
    (g / "latin1.md").write_bytes(b"# Phase 1: X - Detailed Implementation Guide\n\n## Deliverables Checklist\n\n- [ ] caf\xe9\n")
    (g / "binary.md").write_bytes(b"# Phase 1: X\n\x00\x01\x02")
    return g


@pytest.mark.parametrize("command", [["lint"], ["status"], ["plan", "--offline"]])
@pytest.mark.parametrize(
    "path, expected",
    [
        ("guides/latin1.md", "guidesync: guides/latin1.md:5: not valid UTF-8"),
        ("guides/binary.md", "guidesync: guides/binary.md: binary file"),
        ("guides/missing.md", "guidesync: guides/missing.md: no such file or folder"),
    ],
)
def test_bad_guide_is_one_line_exit_2(bad_guides, command, path, expected):
    line = one_line_error(run(*command, path))
    assert line.startswith(expected)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("tracker: github\nlabels: [guidesync\n", "bad.yaml:3: not valid YAML"),
        ("trackr: github\n", "bad.yaml:1: unknown key 'trackr' (did you mean 'tracker'?)"),
        ("max_close: yes\n", "bad.yaml:1: key 'max_close' must be a whole number"),
        ("tracker: !!python/object/apply:os.getcwd []\n", "bad.yaml:1: not valid YAML"),
    ],
)
@pytest.mark.parametrize("command", [["lint"], ["status"], ["plan"], ["push"], ["init"]])
def test_malformed_config_is_one_line_exit_2(project, command, text, expected):
    (project / "bad.yaml").write_text(text)
    args = [*command, "--config", "bad.yaml"] + (["examples/guides"] if command[0] != "init" else [])
    if command[0] == "init":
        # init writes a config: it never reads (or overwrites) the bad one.
        result = run(*args)
        assert result.exit_code == 2 and (project / "bad.yaml").read_text() == text
        return
    line = one_line_error(run(*args))
    assert line.startswith(f"guidesync: {expected}")


def test_default_config_errors_name_the_file(project):
    (project / "config").mkdir()
    (project / "config" / "guidesync.yaml").write_text("tracker: github\nrepositry: acme/shop\n")
    line = one_line_error(run("lint", "examples/guides"))
    assert "config/guidesync.yaml:2: unknown key 'repositry' (did you mean 'repository'?)" in line


def test_missing_config_file_is_exit_2(project):
    line = one_line_error(run("lint", "--config", "nope.yaml", "examples/guides"))
    assert line == "guidesync: nope.yaml: config file not found"


def test_malformed_state_file_is_exit_2(project):
    (project / ".guidesync").mkdir()
    (project / ".guidesync" / "state.json").write_text('{\n  "version": 1,\n  oops\n}\n')
    line = one_line_error(run("plan", "--offline", "examples/guides"))
    assert line.startswith("guidesync: .guidesync/state.json:3: not valid JSON")


def test_push_without_repository_is_exit_2(project):
    result = run("push", "examples/guides", env={"GITHUB_TOKEN": TOKEN})
    line = one_line_error(result)
    assert line.startswith("guidesync: no repository configured: set 'repository' in config/guidesync.yaml")
    assert "never guesses" in line
    assert not (project / ".guidesync").exists()


def test_push_without_repository_only_suggests_the_git_remote(git_project):
    shutil.copytree(EXAMPLES, git_project / "guides")
    before = (git_project / "guides" / "phase-1-foundation.md").read_bytes()
    line = one_line_error(run("sync", env={"GITHUB_TOKEN": TOKEN}))
    assert "the git remote suggests: repository: acme/shop" in line
    assert (git_project / "guides" / "phase-1-foundation.md").read_bytes() == before


@pytest.mark.parametrize("command", ["push", "pull", "sync"])
def test_push_without_token_is_exit_2_naming_the_variable(project, command):
    (project / "config").mkdir()
    (project / "config" / "guidesync.yaml").write_text("repository: acme/shop\n")
    line = one_line_error(run(command, "examples/guides"))
    assert "GITHUB_TOKEN" in line and "GH_TOKEN" in line
    gl = project / "gitlab.yaml"
    gl.write_text("tracker: gitlab\nrepository: acme/shop\n")
    line = one_line_error(run(command, "--config", "gitlab.yaml", "examples/guides"))
    assert "GITLAB_TOKEN" in line


# -- against a fake tracker -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("forge", FORGES)
def test_bad_token_is_one_clear_line_exit_1(make_workspace, forge):
    ws = make_workspace(forge)
    before = ws.read("phase-1-foundation.md")
    wrong = "wrong-token-1234567"
    var = "GITHUB_TOKEN" if forge == "github" else "GITLAB_TOKEN"
    result = runner.invoke(app, ["push"], env={var: wrong})
    line = one_line_error(result, code=1)
    assert line == f"guidesync: {forge} rejected the token: check that it is valid and not expired"
    assert wrong not in result.output
    assert ws.read("phase-1-foundation.md") == before and ws.forge.writes() == 0
    assert ws.state_text() == ""


@pytest.mark.parametrize("forge", FORGES)
def test_unknown_repository_is_one_line_exit_1(make_workspace, forge):
    ws = make_workspace(forge)
    ws.write_config(repository="acme/missing")
    result = runner.invoke(app, ["push"], env=ws.forge.env())
    line = one_line_error(result, code=1)
    assert line.startswith("guidesync: repository acme/missing not found on ")
    assert TOKEN not in result.output
    assert ws.forge.writes() == 0


def test_push_with_the_token_of_gh_auth(make_workspace, tmp_path, monkeypatch):
    ws = make_workspace("github", guides=("phase-1-foundation.md",))
    bin_dir = tmp_path / "gh-bin"
    bin_dir.mkdir()
    gh = bin_dir / "gh"
    gh.write_text(f'#!/bin/sh\nif [ "$1 $2" = "auth token" ]; then echo "{TOKEN}"; exit 0; fi\nexit 1\n')
    gh.chmod(gh.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", str(bin_dir) + os.pathsep + os.environ.get("PATH", ""))
    result = runner.invoke(app, ["push"], env={"GITHUB_TOKEN": None, "GH_TOKEN": None})
    assert result.exit_code == 0, result.output
    assert len(ws.forge.issues()) == 4 and TOKEN not in result.output


def test_push_then_plan_through_the_cli(make_workspace):
    ws = make_workspace("github")
    env = ws.forge.env()
    dry = runner.invoke(app, ["push", "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    assert plan_sections(dry.stdout) == EXPECTED and ws.forge.writes() == 0 and ws.state_text() == ""
    result = runner.invoke(app, ["push", "--json"], env=env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["counts"]["created"] == 10 and data["counts"]["closed"] == 2 and data["errors"] == []
    assert len(ws.forge.issues()) == 10 and "([#" in ws.read("phase-1-foundation.md")
    again = runner.invoke(app, ["plan"], env=env)
    assert again.exit_code == 0, again.output
    assert "offline" not in again.stdout
    summary = next(ln for ln in again.stdout.splitlines() if ln.startswith("Summary:"))
    assert summary.startswith("Summary: 0 milestones to create, 0 issues to create, 0 to update, 0 to close")
    assert TOKEN not in again.output + result.output


# -- entry points -------------------------------------------------------------------------------------------------------


def test_help_lists_the_commands():
    result = run("--help")
    assert result.exit_code == 0
    for command in ("lint", "status", "plan", "push", "pull", "sync", "init"):
        assert command in result.stdout


def test_python_dash_m(clean_env):
    done = subprocess.run([sys.executable, "-m", "guidesync", "--help"], capture_output=True, text=True, timeout=60,
                          cwd=clean_env)
    assert done.returncode == 0, done.stderr
    assert "push" in done.stdout and "Keep implementation guides" in done.stdout


def test_console_script(clean_env):
    script = Path(sys.executable).parent / "guidesync"
    if not script.exists():
        found = shutil.which("guidesync")
        assert found, "the guidesync console script is not installed"
        script = Path(found)
    done = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60, cwd=clean_env)
    assert done.returncode == 0, done.stderr
    assert "lint" in done.stdout and "status" in done.stdout
    version = subprocess.run([str(script), "version"], capture_output=True, text=True, timeout=60, cwd=clean_env)
    from guidesync import __version__

    assert version.returncode == 0 and version.stdout.strip() == __version__


def test_state_file_of_the_wrong_shape_is_exit_2(project):
    (project / ".guidesync").mkdir()
    (project / ".guidesync" / "state.json").write_text('{"version": 1, "tasks": []}\n')
    line = one_line_error(run("plan", "--offline", "examples/guides"))
    assert ".guidesync/state.json" in line


def test_milestone_deleted_on_github_is_created_again_by_push(make_workspace):
    # The first push lists milestones while there are none and stores the ETag of that empty
    # answer; it then creates the milestone. Once the milestone is deleted on GitHub the listing is
    # empty again, so GitHub (and the fake) answer 304 to that old ETag, the planner takes the
    # remembered milestone #1 as still there, and every create into it fails with 422 - even --full.
    ws = make_workspace("github", guides=("phase-1-foundation.md",))
    env = ws.forge.env()
    assert runner.invoke(app, ["push"], env=env).exit_code == 0
    (number,) = ws.forge.milestones()
    ws.forge.server.delete_milestone("acme/shop", number)
    text = ws.read("phase-1-foundation.md").replace("## Prerequisites", "- [ ] A brand new task\n\n## Prerequisites")
    ws.write("phase-1-foundation.md", text)
    result = runner.invoke(app, ["push", "--full"], env=env)
    assert result.exit_code == 0, result.output
    assert list(ws.forge.milestones().values()) == ["Phase 1: Foundation"]
    assert all(i["milestone"] == "Phase 1: Foundation" for i in ws.forge.issues().values())
