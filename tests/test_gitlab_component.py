"""The GitLab CI/CD component (issue 17, point 5): ``templates/guidesync.yml`` declares its inputs
in a ``spec:`` header and its job uses each as ``$[[ inputs.NAME ]]``; with the defaults filled in
it is the job of ``config/gitlab-ci.yml`` (the ``include: local`` template, which stays as it was)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from guidesync import __version__
from guidesync.ci.settings import GITLAB_INPUTS
from guidesync.ci.templates import DEFAULT_MESSAGE

ROOT = Path(__file__).resolve().parent.parent
COMPONENT = ROOT / "templates" / "guidesync.yml"
LOCAL = ROOT / "config" / "gitlab-ci.yml"
INPUT = re.compile(r"\$\[\[\s*inputs\.([A-Za-z0-9_-]+)\s*\]\]")
INPUTS = {"command", "config", "dry-run", "commit", "commit-message", "pip-spec", "stage"}


def documents() -> tuple[dict[str, Any], dict[str, Any]]:
    header, jobs = yaml.safe_load_all(COMPONENT.read_text(encoding="utf-8"))
    return header, jobs


def interpolate(value: Any, inputs: dict[str, Any]) -> Any:
    """What GitLab does with the loaded configuration: every ``$[[ inputs.NAME ]]`` replaced."""
    if isinstance(value, dict):
        return {k: interpolate(v, inputs) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, inputs) for v in value]
    if isinstance(value, str):
        return INPUT.sub(lambda m: str(inputs[m.group(1)]).lower() if isinstance(inputs[m.group(1)], bool)
                         else str(inputs[m.group(1)]), value)
    return value


def test_the_header_declares_the_inputs():
    header, _ = documents()
    assert set(header) == {"spec"}
    inputs = header["spec"]["inputs"]
    assert set(inputs) == INPUTS
    assert all(set(i) >= {"description", "default"} for i in inputs.values())
    assert inputs["command"]["options"] == ["sync", "push", "pull", "plan"]
    assert inputs["command"]["default"] in inputs["command"]["options"]
    for name in ("dry-run", "commit"):
        assert inputs[name]["type"] == "boolean" and isinstance(inputs[name]["default"], bool)
    assert inputs["commit-message"]["default"] == DEFAULT_MESSAGE


def test_every_input_is_used_and_nothing_else_is_interpolated():
    text = COMPONENT.read_text(encoding="utf-8")
    job_text = text.split("\n---\n", 1)[1]
    used = set(INPUT.findall(job_text))
    assert used == INPUTS
    assert job_text.count("$[[") == len(INPUT.findall(job_text)), "an interpolation that is not an input"


def test_with_the_defaults_it_is_the_local_template_job():
    header, jobs = documents()
    defaults = {k: v["default"] for k, v in header["spec"]["inputs"].items()}
    job = interpolate(jobs, defaults)["guidesync"]
    local = yaml.safe_load(LOCAL.read_text(encoding="utf-8"))["guidesync"]
    for key in ("image", "resource_group", "rules", "artifacts"):
        assert job[key] == local[key], key
    assert job["stage"] == ".post" and job["script"][-1] == local["script"][-1]
    assert job["script"][0] == 'python -m pip install --quiet --disable-pip-version-check "$GUIDESYNC_PIP_SPEC"'
    # the settings the action script reads, every one but the token (a masked CI/CD variable)
    assert set(GITLAB_INPUTS.values()) - set(job["variables"]) == {"GUIDESYNC_TOKEN"}
    same = {k: v for k, v in local["variables"].items() if k in job["variables"] and k != "GUIDESYNC_PIP_SPEC"}
    assert {k: job["variables"][k] for k in same} == same
    assert job["variables"]["GUIDESYNC_PIP_SPEC"] == f"guidesync=={__version__}"


def test_inputs_given_reach_the_job_variables():
    header, jobs = documents()
    given = {**{k: v["default"] for k, v in header["spec"]["inputs"].items()},
             "command": "plan", "dry-run": True, "commit": False, "stage": "docs",
             "commit-message": "docs: sync [skip guidesync]", "pip-spec": "git+https://example.com/g.git@" + "0" * 40}
    job = interpolate(jobs, given)["guidesync"]
    v = job["variables"]
    assert (v["GUIDESYNC_COMMAND"], v["GUIDESYNC_DRY_RUN"], v["GUIDESYNC_COMMIT"]) == ("plan", "true", "false")
    assert v["GUIDESYNC_COMMIT_MESSAGE"] == "docs: sync [skip guidesync]" and job["stage"] == "docs"


def test_text_interpolation_stays_valid_yaml():
    """Quoted where a value may hold ': ' or brackets: filling the defaults in as text parses too."""
    header, _ = documents()
    text = COMPONENT.read_text(encoding="utf-8").split("\n---\n", 1)[1]
    defaults = {k: v["default"] for k, v in header["spec"]["inputs"].items()}
    filled = yaml.safe_load(interpolate(text, defaults))
    assert filled["guidesync"]["variables"]["GUIDESYNC_COMMIT_MESSAGE"] == DEFAULT_MESSAGE


def test_the_version_shown_is_this_one_and_the_local_template_keeps_working():
    text = COMPONENT.read_text(encoding="utf-8")
    assert f"guidesync/guidesync@{__version__}" in text
    local = list(yaml.safe_load_all(LOCAL.read_text(encoding="utf-8")))
    assert len(local) == 1 and "spec" not in local[0], "include: local takes no inputs: no spec header there"
    assert "$[[" not in LOCAL.read_text(encoding="utf-8")


def test_the_readme_shows_this_version_of_the_component():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"component: $CI_SERVER_FQDN/OWNER/guidesync/guidesync@{__version__}" in readme
    assert f"`guidesync=={__version__}`" in readme and f"rev: v{__version__}" in readme
