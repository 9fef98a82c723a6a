"""The CI files guidesync writes (``guidesync init --ci``) and this repository ships: the GitHub
workflow and the GitLab job, built from one place so that the shipped copies are tested equal."""

from __future__ import annotations

from .. import __version__

SKIP_MARK = "[skip guidesync]"
DEFAULT_MESSAGE = f"guidesync: write back issue links and checkboxes {SKIP_MARK}"
#: The version the GitLab template installs by default (a tag of the guidesync repository).
PINNED_TAG = f"v{__version__}"
#: The action's own repository, as users reference it in their workflows.
ACTION_REF = "OWNER/guidesync@v1"


def github_workflow(action: str = ACTION_REF, branch: str = "main") -> str:
    """The example workflow: sync on push and on a schedule, plan on pull requests."""
    own = action == "./"
    note = ("# This repository's own copy runs the action from this checkout (`uses: ./`); in your repository\n"
            "# write `uses: OWNER/guidesync@v1` (the owner of the guidesync repository) instead. Here the sync\n"
            "# job is off unless the repository variable GUIDESYNC_SELF_SYNC is 'true': it would turn the\n"
            "# examples, which the tests read, into issues of this repository.\n"
            if own else
            f"# `{action}`: the guidesync action; pin a tag or a commit you trust.\n")
    opt_in = " && vars.GUIDESYNC_SELF_SYNC == 'true'" if own else ""
    return f"""\
# guidesync: keep the guides' checklists and the issues in step.
# Syncs on every push to {branch} that touches a guide or the config, every hour (to pull closed
# issues back into the guides) and by hand; on pull requests it only plans and posts nothing.
{note}#
# No loop: pushes made with GITHUB_TOKEN (the default) never start workflows, and a sync skips a push
# whose newest commit is its own write-back (marked "{SKIP_MARK}"), for those who pass a PAT.
name: guidesync

on:
  push:
    branches: [{branch}]
    paths:
      - "**/*.md"
      - config/guidesync.yaml
  pull_request:
    paths:
      - "**/*.md"
      - config/guidesync.yaml
  schedule:
    - cron: "17 * * * *"
  workflow_dispatch:
    inputs:
      command:
        description: What to run
        type: choice
        options: [sync, push, pull, plan]
        default: sync
      dry-run:
        description: Only show what would happen
        type: boolean
        default: false

permissions:
  contents: read

jobs:
  sync:
    if: github.event_name != 'pull_request' && !contains(github.event.head_commit.message, '{SKIP_MARK}'){opt_in}
    runs-on: ubuntu-latest
    timeout-minutes: 30
    # Two syncs never overlap; a queued one waits instead of cancelling a run half-way.
    concurrency:
      group: guidesync
      cancel-in-progress: false
    permissions:
      contents: write  # the write-back commit (links and checkboxes)
      issues: write    # issues, milestones, the label
      # pull-requests: write  # only with `commit: pull-request`
    steps:
      - uses: actions/checkout@v5
      - uses: {action}
        with:
          command: ${{{{ inputs.command || 'sync' }}}}
          dry-run: ${{{{ inputs.dry-run || false }}}}

  plan:
    if: github.event_name == 'pull_request'
    runs-on: ubuntu-latest
    timeout-minutes: 10
    permissions:
      contents: read
      issues: read
    steps:
      - uses: actions/checkout@v5
        with:
          persist-credentials: false
      - uses: {action}
        with:
          command: plan
          commit: "false"
"""


def gitlab_job() -> str:
    """The GitLab CI job template (config/gitlab-ci.yml) for ``include:``."""
    return f"""\
# guidesync for GitLab CI: a job to include from your .gitlab-ci.yml
#
#   include:
#     - local: config/gitlab-ci.yml     # a copy of this file in your repository
#
# Needs a CI/CD variable GUIDESYNC_TOKEN (masked, protected): a project access token with the `api`
# and `write_repository` scopes and a role allowed to push to the default branch. It is the GitLab
# token for the issues and authenticates the push of the write-back commit; it is never printed.
# Then add a pipeline schedule (Build > Pipeline schedules) on the default branch, e.g. hourly.
#
# No loop: the job does not run for a push whose newest commit is guidesync's own write-back
# (marked "{SKIP_MARK}"), and `resource_group` keeps two syncs from overlapping.
guidesync:
  image: python:3.12
  resource_group: guidesync
  rules:
    - if: $CI_PIPELINE_SOURCE == "push" && $CI_COMMIT_MESSAGE =~ /\\[skip guidesync\\]/
      when: never
    - if: $CI_PIPELINE_SOURCE == "schedule" && $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
    - if: $CI_PIPELINE_SOURCE == "web" && $CI_COMMIT_BRANCH
    - if: $CI_PIPELINE_SOURCE == "push" && $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
      changes:
        - "**/*.md"
        - config/guidesync.yaml
  variables:
    # What pip installs. By default the tag GUIDESYNC_VERSION of the repository GUIDESYNC_SOURCE (put
    # the guidesync repository you trust there); or set GUIDESYNC_PIP_SPEC, e.g. git+https://…@<commit>
    # (a commit cannot move, a tag can) or a wheel URL with #sha256=<hash>.
    GUIDESYNC_SOURCE: "https://github.com/OWNER/guidesync.git"
    GUIDESYNC_VERSION: "{PINNED_TAG}"
    GUIDESYNC_PIP_SPEC: ""
    GUIDESYNC_COMMAND: "sync"        # sync, push, pull or plan
    GUIDESYNC_CONFIG: ""             # default config/guidesync.yaml
    GUIDESYNC_URL: ""                # default this GitLab (CI_API_V4_URL); the config's url must agree
    GUIDESYNC_DRY_RUN: "false"
    GUIDESYNC_COMMIT: "true"         # false: no write-back commit
    GUIDESYNC_COMMIT_MESSAGE: "{DEFAULT_MESSAGE}"
    GUIDESYNC_DOTENV: guidesync.env
    GUIDESYNC_SUMMARY: guidesync-summary.md
  script:
    - python -m pip install --quiet --disable-pip-version-check "${{GUIDESYNC_PIP_SPEC:-git+$GUIDESYNC_SOURCE@$GUIDESYNC_VERSION}}"
    - python -m guidesync.action --forge gitlab
  artifacts:
    when: always
    expose_as: guidesync summary
    paths:
      - guidesync-summary.md
    reports:
      dotenv: guidesync.env
"""


def ci_files(tracker: str, branch: str = "main") -> dict[str, str]:
    """Files ``guidesync init --ci`` writes for a tracker: {path: text}."""
    if tracker == "gitlab":
        return {".gitlab/guidesync.gitlab-ci.yml": gitlab_job()}
    return {".github/workflows/guidesync.yml": github_workflow(ACTION_REF, branch)}
