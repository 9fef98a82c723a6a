"""The errors a plan reports about the guides themselves, without building a plan: what
``guidesync lint`` needs, light enough for a pre-commit hook (it imports the model, the fields and
the guards, not the planner that composes them).

:func:`plan_errors` gives exactly the errors of ``make_plan(guides, Base(), Snapshot(offline=True),
Options(mode="push"), others)``, in the same order: two sections with one milestone title (the later
guide refused, :func:`guidesync.core.guards.refuse_duplicate_titles`), one issue linked by several
tasks (:func:`guidesync.core.guards.refused_link`), and the ids and blocked-by of the fields
(:func:`guidesync.core.fields.check_ids`). ``tests/test_lint_fast.py`` holds the two to the same
answers on generated guide sets.
"""

from __future__ import annotations

from collections import Counter
from typing import Iterable

from .base import Base
from .fields import check_ids
from .guards import refuse_duplicate_titles, refused_link
from .model import Guide, Problem


def plan_errors(guides: Iterable[Guide], others: Iterable[Guide] = ()) -> list[Problem]:
    """The errors an offline push plan with an empty base reports about ``guides`` (``others``: the
    repository's other guides, read only to know their milestones, links and ids)."""
    acting = tuple(guides)
    paths = {g.path for g in acting}
    rest = tuple(g for g in others if g.path not in paths)
    problems, refused = refuse_duplicate_titles(acting, rest, Base())  # an empty base: by path
    if refused:
        rest = rest + tuple(g for g in acting if g.path in refused)
        acting = tuple(g for g in acting if g.path not in refused)
    # without a tracker every link counts as this repository's (Options.owns_link's default)
    uses = Counter(t.link.number for g in acting + rest for t in g.tasks if t.link is not None)
    for g in acting:
        for ms in g.milestones:
            for task in ms.tasks:
                if task.link is not None and (refusal := refused_link(task, "ours", uses)) is not None:
                    problems.append(refusal)
    problems += check_ids(acting + rest)
    return [p for p in problems if p.severity == "error"]
