"""``command: report`` in CI: write the progress page and the badge into ``guidesync-report/`` (the
Pages jobs of the templates publish that folder), and the summary's progress table. No tracker is
read, no token is used, nothing is committed."""

from __future__ import annotations

from typing import Any, Callable

from .. import commands
from ..core.page import progress_markdown
from ..errors import OK, USAGE
from ..reportcmd import DEFAULT_OUT, report
from .settings import ActionError
from .summary import escape_cell, load_guides, progress_of, publish_summary, write_outputs


def run_report(rc: Any, load_step: Callable[[Any], None]) -> int:
    """The report run; its exit code. ``rc``: the run's :class:`~guidesync.ci.run.RunContext`,
    ``load_step`` the run's step that reads the configuration into it."""
    lines = ["### guidesync report", ""]
    code = OK
    try:
        load_step(rc)
        outcome = report(rc.tool, out=DEFAULT_OUT, today=rc.today)
    except ActionError as exc:
        rc.console.error(str(exc))
        code = exc.code
    except commands.ERRORS as exc:
        rc.console.error(f"guidesync: {exc}")
        code = USAGE
    else:
        code = outcome.code
        rc.console.say(outcome.text)
        for line in outcome.stderr:
            rc.console.say(line)
        if code == OK:
            table = progress_markdown(progress_of(load_guides(rc.root, rc.cfg), rc.today))
            lines += [table, ""] if table else []
            d = outcome.data
            lines.append(f"The report is in `{DEFAULT_OUT}/` (`index.html` with the burn-up, `badge.json`): "
                         f"**{d['done']}/{d['tasks']}** tasks done, {len(d['points'])} points from "
                         f"{d['history']['commits']} commits.")
            lines += ["", *(f"- {escape_cell(w)}" for w in d["warnings"])]
    write_outputs(rc.settings, rc.values)
    publish_summary(rc.settings, "\n".join(lines).rstrip() + "\n", rc.console)
    return code
