"""The safety rules of issue 10, checked by a hypothesis state machine on GitHub's dialect (close
reasons, not-modified listings) in memory and on GitLab's over HTTP (see ``MACHINE_FORGES``).

Random guide edits (add, delete, re-add typed or restored with its old link, reword, move to another
milestone or guide, ``git mv`` a guide, delete a guide, a new guide at an old path, corrupt a
link, paste a link to a person's issue, check/uncheck), tracker edits by a person (close as
completed / not planned, reopen, retitle, edit the body, delete) and runs (``sync``, ``push``,
``pull``, ``push <one guide>``, hours apart on the fake's clock), with after every run:

- no issue is closed by guidesync while its task exists in some guide (unless that task links it,
  checked, and it was closed as completed);
- no issue without guidesync's marker (a person's) is ever retitled or rewritten;
- no box is checked unless its issue was closed as completed by a person after the base saw it
  open (on GitLab: never from a close guidesync made itself, e.g. as removed);
- one open issue per task; after a settling ``sync`` every unchecked task links exactly one open
  issue, its own.

The model, the rules and the checks are in tests/safety_model.py (its docstring lists the kinds
of violation). The budget here is bounded (``GUIDESYNC_MACHINE_EXAMPLES`` schedules of at most
``GUIDESYNC_MACHINE_STEPS`` steps per forge, derandomized, no example database); the totals are
printed (``pytest -s`` shows them). A longer campaign, with one shrunk schedule per kind found::

    GUIDESYNC_MACHINE_EXAMPLES=300 python -m pytest -q -p no:cacheprovider tests/test_safety_machine.py
    python -m tests.safety_model --forge both --examples 300 --minimize
    python -m tests.safety_model --replay                 # the hand-minimised schedules, one per finding

A failure lists every kind of violation seen, each with the shortest schedule seen, and then
hypothesis' shrunk schedule(s). Shrinking is capped at ``GUIDESYNC_MACHINE_SHRINK_SECONDS`` (15)
per forge, so hypothesis' "more than five minutes" warning really means that cap.
"""

from __future__ import annotations

import pytest
from hypothesis.internal.conjecture import engine

from tests.conftest import ENGINE
from tests.safety_model import (
    DEFAULT_SHRINK_SECONDS,
    ENV_SHRINK,
    SafetyMachine,
    SafetyViolation,
    Stats,
    env_config,
    env_int,
    replay,
    run_machine,
)


#: GitHub's dialect runs on the in-memory tracker (it answers as the GitHub adapter does: the same
#: schedules give the same runs and exit codes as over the fake GitHub, in a sixth of the time);
#: GitLab's (no close reasons, no 304) over HTTP on the fake GitLab.
MACHINE_FORGES = [*ENGINE, "gitlab"]


@pytest.mark.parametrize("sub_issues", [False, True], ids=["flat", "sub_issues"])
@pytest.mark.parametrize("forge", MACHINE_FORGES)
def test_safety_rules_hold_under_random_edits_and_runs(forge, sub_issues, make_workspace, monkeypatch, capsys):
    """``sub_issues``: with ``sub_issues: true``, nested items in the guides (t2 under t1, t5 under
    t4) and the rules add_nested and (GitHub's dialect) nest_or_unnest; the same rules hold."""
    # Hypothesis documents this constant as the knob for its shrinking time; a failure here is
    # shrunk for at most this long per forge, so a broken rule fails the build in reasonable time.
    monkeypatch.setattr(engine, "MAX_SHRINKING_SECONDS", env_int(ENV_SHRINK, DEFAULT_SHRINK_SECONDS))
    stats = Stats(forge=forge + (", sub_issues" if sub_issues else ""))
    try:
        run_machine(forge, make_workspace, stats, config={**env_config(), "sub_issues": True} if sub_issues else None)
    finally:
        with capsys.disabled():  # the totals belong in the CI log, not only in a failure report
            print("\n" + stats.summary())
            if stats.violations:  # every kind seen, with the shortest schedule seen for it
                print(stats.report())
    assert stats.schedules > 0 and stats.steps >= stats.schedules
    assert stats.runs, "no guidesync run was made"
    if sub_issues:
        assert stats.rules["add_nested"], stats.summary()


# ------------------------------------------------------------------ the checker's own checks


BENIGN = [
    ("toggle_box", {"task": "t1"}),
    ("run_sync", {"hours": 2, "force": False}),
    ("tracker_close", {"open issue": 5}),
    ("run_pull", {"hours": 3, "force": False}),
    ("reword", {"task": "t4", "how": "append", "word": "audit"}),
    ("move_milestone", {"task": "t5", "milestone": "milestone 2"}),
    ("add_task", {"guide": "guides/feature-2.md", "words": ["export"], "box": "plain"}),
    ("tracker_retitle", {"issue": 1}),
    ("settle_now", {"hours": 25}),
]


@pytest.mark.parametrize("forge", MACHINE_FORGES)
def test_a_benign_schedule_breaks_no_rule(forge, make_workspace):
    m = replay(forge, BENIGN, make_workspace)
    assert not m.stats.violations, m.stats.report()
    disk = m.tasks_on_disk()
    assert disk[1][2].checked and disk[2][2].checked  # t1 checked by hand, t2 from its issue's close
    assert all(t.link for _, _, t in disk.values()) and disk[7][2].has_box


@pytest.mark.parametrize("forge", MACHINE_FORGES)
def test_the_checker_sees_a_close_made_during_a_run(forge, make_workspace, monkeypatch):
    """A stand-in for a bug: #4 (t1's issue, t1 still in its guide) closed while a run runs."""
    m = SafetyMachine(forge, make_workspace, Stats(forge=forge))
    m.start()
    real = m.ws.run

    def run_and_close(*a, **kw):
        out = real(*a, **kw)
        m.tracker.close(4, not_planned=True)
        return out

    monkeypatch.setattr(m.ws, "run", run_and_close)
    with pytest.raises(SafetyViolation, match=r"closed-while-task-exists/task-unchecked: #4 closed"):
        m.run("sync")
