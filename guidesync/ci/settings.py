"""What a CI run is asked to do: the action's inputs (GitHub) or the job's variables (GitLab), and
what the CI itself says about the run (event, branch, output files), read into :class:`Settings`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping
from urllib.parse import urlsplit

from ..config import is_loopback
from ..errors import FAILED, USAGE
from .templates import DEFAULT_MESSAGE

#: action.yml input -> the environment variable the GitHub step passes it in (action.yml ``env:``).
INPUTS: dict[str, str] = {
    "command": "INPUT_COMMAND",
    "config": "INPUT_CONFIG",
    "token": "GITHUB_TOKEN",
    "url": "INPUT_URL",
    "dry-run": "INPUT_DRY_RUN",
    "commit": "INPUT_COMMIT",
    "commit-message": "INPUT_COMMIT_MESSAGE",
}
#: The same settings in GitLab CI (job variables of config/gitlab-ci.yml, overridable as CI/CD variables).
GITLAB_INPUTS: dict[str, str] = {
    "command": "GUIDESYNC_COMMAND",
    "config": "GUIDESYNC_CONFIG",
    "token": "GUIDESYNC_TOKEN",
    "url": "GUIDESYNC_URL",
    "dry-run": "GUIDESYNC_DRY_RUN",
    "commit": "GUIDESYNC_COMMIT",
    "commit-message": "GUIDESYNC_COMMIT_MESSAGE",
}

COMMANDS = ("sync", "push", "pull", "plan")
#: The progress report (``guidesync report``) into ``guidesync-report/``: reads no tracker, commits nothing.
REPORT = "report"
GITHUB_BOT = ("github-actions[bot]", "41898282+github-actions[bot]@users.noreply.github.com")


class ActionError(Exception):
    """The run cannot go on; the message says why (already redacted)."""

    def __init__(self, message: str, code: int = FAILED):
        super().__init__(message)
        self.code = code


def parse_bool(value: str, name: str) -> bool:
    v = value.strip().lower()
    if v in ("", "false", "0", "no", "off"):
        return False
    if v in ("true", "1", "yes", "on"):
        return True
    raise ActionError(f"input {name}: expected true or false, not {value!r}", USAGE)


@dataclass
class Settings:
    tracker: str  # github | gitlab
    command: str = "sync"
    config: str | None = None
    dry_run: bool = False
    commit: str = "true"  # true | false | pull-request
    message: str = DEFAULT_MESSAGE
    token: str = ""
    url: str = ""  # the tracker API URL when it is not the CI's own (the `url` input)
    event: str = ""  # push, schedule, workflow_dispatch / web, pull_request / merge_request_event, ...
    branch: str = ""
    push_url: str | None = None  # None: the remote "origin"
    identity: tuple[str, str] = GITHUB_BOT
    run_ref: str = "true"  # the trailer's value: a link to the run when known
    output_file: str | None = None
    output_format: str = "github"  # github ($GITHUB_OUTPUT) | dotenv
    summary_file: str | None = None
    annotations: bool = True

    @property
    def writes(self) -> bool:
        return self.command not in ("plan", REPORT) and not self.dry_run

    @property
    def committing(self) -> bool:
        return self.writes and self.commit != "false"


def read_settings(tracker: str, env: Mapping[str, str]) -> Settings:
    names = INPUTS if tracker == "github" else GITLAB_INPUTS

    def get(name: str, default: str = "") -> str:
        value = env.get(names[name])
        return default if value is None or value.strip() == "" else value.strip()

    command = get("command", "sync").lower()
    if command not in (*COMMANDS, REPORT):
        raise ActionError(f"input command: expected one of {', '.join((*COMMANDS, REPORT))}, not {command!r}", USAGE)
    commit = get("commit", "true").lower()
    if commit in ("pr", "pull-request", "pull_request"):
        commit = "pull-request"
    else:
        commit = "true" if parse_bool(commit, "commit") else "false"
    s = Settings(
        tracker=tracker,
        command=command,
        config=get("config") or None,
        dry_run=parse_bool(get("dry-run", "false"), "dry-run"),
        commit=commit,
        message=get("commit-message", DEFAULT_MESSAGE),
        token=env.get(names["token"], "").strip(),
        url=get("url"),
    )
    if tracker == "github":
        _read_github(s, env)
    else:
        _read_gitlab(s, env)
    if s.push_url and s.push_url.lower().startswith("http://") and not is_loopback(urlsplit(s.push_url).hostname):
        raise ActionError(f"the push URL {s.push_url} is plain http: the token would cross the network unencrypted; "
                          "use https", USAGE)
    if s.commit == "pull-request" and tracker != "github":
        raise ActionError("commit: pull-request is supported on GitHub only; on GitLab push to an unprotected "
                          "branch or allow the project access token to push", USAGE)
    return s


def _read_github(s: Settings, env: Mapping[str, str]) -> None:
    """What GitHub Actions says about the run."""
    s.event = env.get("GITHUB_EVENT_NAME", "")
    s.branch = env.get("GITHUB_REF_NAME", "") if env.get("GITHUB_REF_TYPE", "branch") in ("", "branch") else ""
    s.output_file = env.get("GITHUB_OUTPUT") or None
    s.summary_file = env.get("GITHUB_STEP_SUMMARY") or None
    if env.get("GITHUB_RUN_ID") and env.get("GITHUB_REPOSITORY"):
        server = env.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
        s.run_ref = f"{server}/{env['GITHUB_REPOSITORY']}/actions/runs/{env['GITHUB_RUN_ID']}"


def _read_gitlab(s: Settings, env: Mapping[str, str]) -> None:
    """What GitLab CI says about the job, and where its push goes."""
    s.event = env.get("CI_PIPELINE_SOURCE", "")
    s.branch = env.get("CI_COMMIT_BRANCH", "")
    s.output_file = env.get("GUIDESYNC_DOTENV") or None
    s.output_format = "dotenv"
    s.summary_file = env.get("GUIDESYNC_SUMMARY") or None
    s.annotations = False
    host = env.get("CI_SERVER_HOST") or "gitlab.com"
    s.identity = ("guidesync[bot]", f"guidesync-bot@noreply.{host}")
    s.run_ref = env.get("CI_JOB_URL") or "true"
    if env.get("GUIDESYNC_PUSH_URL"):
        s.push_url = env["GUIDESYNC_PUSH_URL"]
    elif env.get("CI_SERVER_URL") and env.get("CI_PROJECT_PATH"):
        s.push_url = f"{env['CI_SERVER_URL'].rstrip('/')}/{env['CI_PROJECT_PATH']}.git"
