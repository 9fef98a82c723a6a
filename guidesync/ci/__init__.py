"""Running guidesync in CI (the GitHub Action and the GitLab job).

- :mod:`.settings`: the inputs and what the CI says about the run;
- :mod:`.git`: every git command, the catch-up, the write-back commit and its push;
- :mod:`.summary`: outputs, the Markdown summary, the log and its annotations;
- :mod:`.pull_request`: the write-back pull request;
- :mod:`.run`: the run, step by step, and ``main`` (``python -m guidesync.ci`` or ``guidesync.action``);
- :mod:`.templates`: the workflow and job files ``init --ci`` writes (from ``data/*.yml``).

Nothing is imported here: :mod:`guidesync.commands` imports :mod:`.templates`, and :mod:`.run`
imports :mod:`guidesync.commands`.
"""
