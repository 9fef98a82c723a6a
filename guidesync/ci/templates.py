"""The CI files guidesync writes (``guidesync init --ci``) and this repository ships: the GitHub
workflow and the GitLab job, built from one place so that the shipped copies are tested equal.

The files themselves are package data (``guidesync/ci/data/*.yml``), exactly as written out except
for ``@@name@@`` placeholders, which :func:`fill` replaces in one pass: a value is inserted as it is
(a value that looks like a placeholder is not filled again), and an unknown placeholder is an error.
"""

from __future__ import annotations

import re
from importlib.resources import files
from typing import Mapping

from .. import __version__

SKIP_MARK = "[skip guidesync]"
DEFAULT_MESSAGE = f"guidesync: write back issue links and checkboxes {SKIP_MARK}"
#: The version the GitLab template installs by default (a tag of the guidesync repository).
PINNED_TAG = f"v{__version__}"
#: The action's own repository, as users reference it in their workflows.
ACTION_REF = "OWNER/guidesync@v1"

PLACEHOLDER = re.compile(r"@@([a-z_]+)@@")

OWN_NOTE = ("# This repository's own copy runs the action from this checkout (`uses: ./`); in your repository\n"
            "# write `uses: OWNER/guidesync@v1` (the owner of the guidesync repository) instead. Here the sync\n"
            "# job is off unless the repository variable GUIDESYNC_SELF_SYNC is 'true': it would turn the\n"
            "# examples, which the tests read, into issues of this repository.")


def fill(name: str, values: Mapping[str, str]) -> str:
    """The template ``data/<name>`` with its placeholders replaced by ``values``."""
    text = (files(__package__) / "data" / name).read_text(encoding="utf-8")
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def github_workflow(action: str = ACTION_REF, branch: str = "main") -> str:
    """The example workflow: sync on push and on a schedule, plan on pull requests."""
    own = action == "./"
    note = OWN_NOTE if own else f"# `{action}`: the guidesync action; pin a tag or a commit you trust."
    opt_in = " && vars.GUIDESYNC_SELF_SYNC == 'true'" if own else ""
    return fill("github-workflow.yml", {"action": action, "branch": branch, "note": note, "opt_in": opt_in,
                                        "skip_mark": SKIP_MARK})


def gitlab_job() -> str:
    """The GitLab CI job template (config/gitlab-ci.yml) for ``include:``."""
    return fill("gitlab-job.yml", {"skip_mark": SKIP_MARK, "pinned_tag": PINNED_TAG, "default_message": DEFAULT_MESSAGE})


def ci_files(tracker: str, branch: str = "main") -> dict[str, str]:
    """Files ``guidesync init --ci`` writes for a tracker: {path: text}."""
    if tracker == "gitlab":
        return {".gitlab/guidesync.gitlab-ci.yml": gitlab_job()}
    return {".github/workflows/guidesync.yml": github_workflow(ACTION_REF, branch)}
