"""``guidesync report`` and ``guidesync status`` on the command line, and ``command: report`` in the
GitHub Action and the GitLab job: files written, what they hold, no tracker read."""

from __future__ import annotations

import io
import json
import os
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from guidesync.ci.run import main as ci_main
from guidesync.cli import app
from guidesync.commands import Context
from guidesync.reportcmd import report
from tests.test_cli import status_rows
from tests.test_history import Repo, phase

runner = CliRunner()


def cli(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A repository with two guides and three commits; the current folder."""
    repo = Repo(tmp_path / "shop")
    repo.commit("a", **{"docs__a.md": phase(1, "    ")})
    repo.commit("b", **{"docs__b.md": phase(2, "x ")})
    repo.commit("check", **{"docs__a.md": phase(1, "xx  ")})
    monkeypatch.chdir(repo.root)
    for var in ("GITHUB_TOKEN", "GH_TOKEN", "GITLAB_TOKEN", "GITHUB_ACTIONS", "GITLAB_CI"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("COLUMNS", "200")
    return repo


def test_report_writes_the_page_and_the_badge(project):
    result = cli("report")
    assert result.exit_code == 0, result.output
    out = project.root / "guidesync-report"
    assert sorted(p.name for p in out.iterdir()) == ["badge.json", "index.html"]
    assert json.loads((out / "badge.json").read_text()) == {"schemaVersion": 1, "label": "progress", "message": "3/6",
                                                            "color": "yellowgreen"}
    html = (out / "index.html").read_text()
    assert html.count('class="point"') == 3 and "<script" not in html
    assert result.stdout.strip() == ("wrote guidesync-report/index.html and guidesync-report/badge.json: 3/6 tasks done "
                                     "(50 %), 3 points in the burn-up from 3 commits (3 guide versions parsed)")
    # run again: the same page, byte for byte (nothing in it depends on the clock but today's date)
    before = (out / "index.html").read_bytes()
    assert cli("report").exit_code == 0 and (out / "index.html").read_bytes() == before


def test_report_json_and_another_folder_and_label(project):
    result = cli("report", "--out", "site/progress", "--label", "tasks", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["files"] == ["site/progress/index.html", "site/progress/badge.json"]
    assert data["badge"] == {"schemaVersion": 1, "label": "tasks", "message": "3/6", "color": "yellowgreen"}
    assert [(p["done"], p["tasks"]) for p in data["points"]] == [(0, 4), (1, 6), (3, 6)]
    assert data["history"] == {"head": project.git("rev-parse", "HEAD"), "shallow": False, "commits": 3, "blobs": 3,
                               "parses": 3}
    assert (project.root / "site" / "progress" / "badge.json").exists()


def test_an_uncommitted_change_is_one_more_point(project):
    (project.root / "docs" / "b.md").write_text(phase(2, "xx"))
    out = report(Context(root=project.root), out="r", today="2026-02-01", now=1_900_000_000, as_json=True)
    points = out.data["points"]
    assert [(p["commit"], p["done"], p["tasks"]) for p in points][-2:] == [(project.git("rev-parse", "HEAD"), 3, 6),
                                                                          ("working tree", 4, 6)]
    assert points[-1]["time"] == 1_900_000_000


def test_report_without_git_still_writes_the_page(tmp_path, monkeypatch):
    (tmp_path / "g.md").write_text(phase(1, "x "))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    result = runner.invoke(app, ["report"])
    assert result.exit_code == 0, result.output
    assert "warning: no git history (fatal: not a git repository" in result.stderr
    assert "the burn-up shows the working tree only" in result.stderr
    assert (tmp_path / "guidesync-report" / "index.html").read_text().count('class="point"') == 1


def test_report_refuses_a_file_for_a_folder(project):
    (project.root / "taken").write_text("x")
    result = runner.invoke(app, ["report", "--out", "taken"])
    assert result.exit_code == 2
    assert "taken: exists and is not a folder" in result.stdout
    assert (project.root / "taken").read_text() == "x"


def test_report_shows_a_skipped_version_on_the_page_and_in_the_log(project):
    bad = project.commit("break", **{"docs__a.md": b"# Phase 1: Part 1\n\xfe\n"})
    # the working tree's guides must be readable, as for every command: file:line, exit 2, nothing written
    result = runner.invoke(app, ["report"])
    assert result.exit_code == 2 and "docs/a.md:2: not valid UTF-8" in result.stderr
    assert not (project.root / "guidesync-report").exists()
    project.commit("fix", **{"docs__a.md": phase(1, "xxx ")})
    result = runner.invoke(app, ["report"])
    assert result.exit_code == 0
    warning = f"{bad[:12]}:docs/a.md:2: not valid UTF-8 (byte 0xfe at offset 18); that version is left out"
    assert warning in result.stderr
    assert warning in (project.root / "guidesync-report" / "index.html").read_text()


# ------------------------------------------------------------------------------------ status


DATED = """\
# Implementation Guide: Dates

## Implementation Milestones

### Milestone 1: Late [due:: 2000-01-02]
**Changes Required**:
- [x] one
- [ ] two [due:: 2000-01-01]

### Milestone 2: Later [due:: 2999-12-31]
**Changes Required**:
- [ ] three

### Milestone 3: Done [due:: 2000-01-01]
**Changes Required**:
- [x] four
"""


def test_status_bars_due_dates_and_overdue(project):
    (project.root / "docs" / "dates.md").write_text(DATED)
    result = cli("status", "docs/dates.md")
    assert result.exit_code == 0, result.output
    rows = status_rows(result.stdout, ("Progress", "Done", "%", "Due"))
    assert rows == {
        "Dates - Milestone 1: Late": ("██████████░░░░░░░░░░", "1/2", "50 %", "2000-01-02 overdue; 1 task overdue"),
        "Dates - Milestone 2: Later": ("░░░░░░░░░░░░░░░░░░░░", "0/1", "0 %", "2999-12-31"),
        "Dates - Milestone 3: Done": ("████████████████████", "1/1", "100 %", "2000-01-01"),
    }
    data = json.loads(cli("status", "--json", "docs/dates.md").stdout)
    (g,) = data
    assert (g["done"], g["tasks"], g["percent"]) == (2, 4, 50)
    assert [(m["due"], m["overdue"], m["overdue_tasks"], m["percent"]) for m in g["milestones"]] == [
        ("2000-01-02", True, 1, 50), ("2999-12-31", False, 0, 0), ("2000-01-01", False, 0, 100)]


def test_status_without_dates_shows_no_due_column(project):
    result = cli("status")
    assert result.exit_code == 0
    assert "Due" not in result.stdout and "Progress" in result.stdout
    assert status_rows(result.stdout, ("Done", "%")) == {"Phase 1: Part 1": ("2/4", "50 %"), "Phase 2: Part 2": ("1/2", "50 %")}


# --------------------------------------------------------------------------------------- CI


def _ci_env(tmp_path: Path, forge: str) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "GIT_CONFIG_GLOBAL": os.devnull,
           "GIT_CONFIG_NOSYSTEM": "1"}
    if forge == "github":  # a tracker URL nobody answers at, and no token: the report needs neither
        env.update(GITHUB_ACTIONS="true", GITHUB_EVENT_NAME="push", GITHUB_REF_NAME="main", GITHUB_REPOSITORY="acme/shop",
                   GITHUB_API_URL="http://127.0.0.1:9", INPUT_COMMAND="report", GITHUB_STEP_SUMMARY=str(tmp_path / "summary.md"),
                   GITHUB_OUTPUT=str(tmp_path / "out.txt"))
    else:
        env.update(GITLAB_CI="true", CI_PIPELINE_SOURCE="push", CI_COMMIT_BRANCH="main", CI_PROJECT_PATH="acme/shop",
                   CI_API_V4_URL="http://127.0.0.1:9/api/v4", CI_SERVER_URL="http://127.0.0.1:9", GUIDESYNC_COMMAND="report",
                   GUIDESYNC_SUMMARY=str(tmp_path / "summary.md"), GUIDESYNC_DOTENV=str(tmp_path / "out.txt"))
    return env


@pytest.mark.parametrize("forge", ["github", "gitlab"])
def test_the_ci_report_command_writes_the_report_and_its_summary(project, tmp_path, forge):
    (project.root / "docs" / "dates.md").write_text(DATED)
    project.commit("dates", **{"docs__dates.md": DATED})
    buf = io.StringIO()
    code = ci_main(["--forge", forge], env=_ci_env(tmp_path, forge), cwd=project.root, out=buf)
    assert code == 0, buf.getvalue()
    assert (project.root / "guidesync-report" / "index.html").exists()
    assert json.loads((project.root / "guidesync-report" / "badge.json").read_text())["message"] == "5/10"
    summary = (tmp_path / "summary.md").read_text()
    lines = summary.splitlines()
    assert lines[:4] == ["### guidesync report", "", "#### Progress", ""]
    assert "| Dates - Milestone 1: Late | `█████░░░░░` 50 % | 1/2 | 2000-01-02 **overdue** |" in lines
    assert ("The report is in `guidesync-report/` (`index.html` with the burn-up, `badge.json`): **5/10** tasks done, "
            "4 points from 4 commits.") in lines
    assert "wrote guidesync-report/index.html" in buf.getvalue()
    # nothing committed, nothing else written
    assert subprocess.run(["git", "status", "--porcelain"], cwd=project.root, capture_output=True, text=True,
                          env=_ci_env(tmp_path, forge)).stdout == "?? guidesync-report/\n"
    outputs = (tmp_path / "out.txt").read_text()
    assert ("created=0" if forge == "github" else "GUIDESYNC_CREATED=0") in outputs


def test_the_ci_report_fails_clearly_on_a_bad_config(project, tmp_path):
    (project.root / "config").mkdir()
    (project.root / "config" / "guidesync.yaml").write_text("tracker: github\nguides: 5\n")
    buf = io.StringIO()
    code = ci_main(["--forge", "github"], env=_ci_env(tmp_path, "github"), cwd=project.root, out=buf)
    assert code == 2
    assert buf.getvalue().startswith("::error::guidesync: ")
    assert "config/guidesync.yaml:2: key 'guides' must be a list of glob patterns" in buf.getvalue()
    assert not (project.root / "guidesync-report").exists()
    assert (tmp_path / "summary.md").read_text() == "### guidesync report\n"
