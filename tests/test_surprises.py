"""Tracker surprises: things people (or GitHub/GitLab) do to managed issues behind guidesync's back.

Each scenario changes the tracker directly (through the fakes' state API), then syncs. Every one must
end with a clear message, no crash, no lost guide byte and no duplicate issue. Those about what the
forges answer (a transfer or a move, a lock, an archived repository) run against the fake GitHub and
the fake GitLab through the real client libraries; those about what the engine makes of a deletion,
a rename or a label taken off (``@on_engine``) run on the in-memory tracker, which the tracker
contract (tests/tracker_contract.py) holds to what the adapters report.

What guidesync does, scenario by scenario (asserted below):

- **issue deleted** (GitHub 410, GitLab 404): an incremental listing cannot see a deletion, so it is
  found at the next full listing (``--full``, or every ``full_sync_hours``) or at the next write to the
  issue. The task keeps its link, a warning names the guide line, nothing is created again; removing
  the link creates a fresh issue.
- **issue transferred** (GitHub) / **moved** (GitLab): the same as deleted. The GitLab original, closed
  by the move, never checks the box.
- **milestone renamed** on the tracker: kept as it is (no new milestone, no rename back) until the
  guide's own milestone title changes, which then wins.
- **milestone deleted** on the tracker: created again and its issues put back in it.
- **guidesync label removed** from one issue: found at the next full listing, added back (other labels
  kept), reported.
- **issue moved to another milestone** by hand: content flows guide -> tracker only when the guide
  changes, so a plain sync (or a checkbox change) leaves it where it is; the next change of the
  task's text (or milestone) in the guide moves it back.
- **locked issue** (GitHub): the removal comment is refused (403), the close still happens.
- **archived repository**: the first refused write stops the run's writes: one error line, exit 1,
  guides get only what did not depend on a tracker write, the base records only what happened.
"""

from __future__ import annotations

import json
import re
import traceback

import pytest
from typer.testing import CliRunner

from guidesync.cli import app
from tests.conftest import ENGINE, FORGES, links, number_of

PHASE = "phase-1-foundation.md"
IMPL = "checkout-redesign.md"
MS1 = "Checkout Redesign - Milestone 1: Cart API"
MS2 = "Checkout Redesign - Milestone 2: Single-page checkout"




def line_of(text: str, fragment: str) -> int:
    """1-based line number of the first line containing ``fragment``."""
    for i, line in enumerate(text.splitlines(), 1):
        if fragment in line:
            return i
    raise AssertionError(fragment)


def records(ws) -> dict[str, dict]:
    return json.loads(ws.state_text())["tasks"]


def without_link(text: str, n: int) -> str:
    return re.sub(r" \(\[#%d\]\([^)]+\)\)" % n, "", text)


def cli(ws, *args: str):
    """Run the real CLI; it must end with an exit code, never an unexpected exception."""
    result = CliRunner().invoke(app, list(args), env=ws.forge.env())
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError("".join(traceback.format_exception(*result.exc_info)))
    assert "Traceback" not in result.stdout + result.stderr
    return result


def writes_to(server, path_regex: str) -> list:
    return [e for e in server.log if e.is_write and re.search(path_regex, e.path)]


@pytest.fixture(params=FORGES)
def ws(request, make_workspace):
    w = make_workspace(request.param)
    out = w.run("push")
    assert out.code == 0, out.text
    return w


#: the scenario runs on the in-memory tracker instead of the two fake forges
on_engine = pytest.mark.parametrize("ws", ENGINE, indirect=True)


# -- deleted ---------------------------------------------------------------------------------------


@on_engine
def test_deleted_issue_is_reported_kept_linked_and_never_recreated(ws):
    impl = ws.read(IMPL)
    n = number_of(impl, "Cache cart totals")
    ws.forge.delete(n)
    count = len(ws.forge.issues())

    # An incremental listing cannot see a deletion: nothing happens, nothing breaks.
    out = ws.run("sync")
    assert out.code == 0, out.text
    assert ws.read(IMPL) == impl

    # The full listing finds it: a warning naming the guide line, the link kept, nothing created.
    out = ws.run("sync", full=True)
    assert out.code == 0, out.text
    where = f"guides/{IMPL}:{line_of(impl, 'Cache cart totals')}"
    assert f"{where}: issue #{n} was deleted or moved away on the tracker; remove its link" in out.text
    assert ws.read(IMPL) == impl
    assert len(ws.forge.issues()) == count
    assert records(ws)[str(n)]["state"] == "gone"

    # Later runs keep saying so and still write nothing.
    writes = ws.forge.writes()
    out = ws.run("sync", full=True)
    assert out.code == 0 and f"issue #{n} was deleted or moved away" in out.text
    assert ws.forge.writes() == writes and ws.read(IMPL) == impl


@on_engine
def test_removing_the_link_of_a_deleted_issue_creates_a_new_one(ws):
    impl = ws.read(IMPL)
    n = number_of(impl, "Cache cart totals")
    ws.forge.delete(n)
    count = len(ws.forge.issues())
    out = ws.run("sync", full=True)
    assert f"issue #{n} was deleted or moved away" in out.text
    # Removing the link is the way to get a new issue; the run after that forgets the old one.
    ws.write(IMPL, without_link(impl, n))
    out = ws.run("sync")
    assert out.code == 0, out.text
    new = number_of(ws.read(IMPL), "Cache cart totals")
    assert new != n and ws.forge.issues()[new]["title"] == "Cache cart totals for 30 seconds"
    assert len(ws.forge.issues()) == count + 1
    ws.run("sync")
    assert str(n) not in records(ws)
    writes, text = ws.forge.writes(), ws.read(IMPL)
    out = ws.run("sync", full=True)
    assert out.code == 0 and ws.forge.writes() == writes and ws.read(IMPL) == text


@on_engine
def test_deleted_issue_is_found_by_the_next_write_to_it(ws):
    impl = ws.read(IMPL)
    n = number_of(impl, "Cache cart totals")
    ws.forge.delete(n)
    edited = impl.replace("Cache cart totals for 30 seconds", "Cache cart totals for 60 seconds")
    ws.write(IMPL, edited)
    count = len(ws.forge.issues())
    out = ws.run("sync")  # incremental: the update answers 410 / 404
    assert out.code == 0, out.text
    assert f"issue #{n} was deleted or moved away on the tracker" in out.text
    assert ws.read(IMPL) == edited  # the person's edit stays, the link stays
    assert len(ws.forge.issues()) == count
    assert records(ws)[str(n)]["state"] == "gone"
    writes = ws.forge.writes()
    out = ws.run("sync")
    assert out.code == 0 and ws.forge.writes() == writes  # no retry storm on a gone issue


# -- transferred / moved ---------------------------------------------------------------------------


def _move_away(ws, n: int) -> int:
    s = ws.forge.server
    if ws.forge.name == "github":
        s.add_repo("acme/other")
        return s.transfer_issue("acme/shop", n, "acme/other")
    s.add_project("acme/other")
    return s.move_issue("acme/shop", n, "acme/other")


def test_transferred_or_moved_issue_is_reported_and_not_followed(ws):
    impl = ws.read(IMPL)
    n = number_of(impl, "Cache cart totals")
    _move_away(ws, n)
    other_before = ws.forge.server.issues("acme/other")
    count = len(ws.forge.server.issues("acme/shop"))

    out = ws.run("sync", full=True)
    assert out.code == 0, out.text
    assert f"issue #{n} was deleted or moved away on the tracker" in out.text
    # GitLab closes the original when it moves it: that is not "done", the box stays unchecked.
    assert "- [ ] Cache cart totals" in ws.read(IMPL)
    assert ws.read(IMPL) == impl
    assert records(ws)[str(n)]["state"] == "gone"
    assert len(ws.forge.server.issues("acme/shop")) == count  # nothing recreated
    assert ws.forge.server.issues("acme/other") == other_before
    assert not writes_to(ws.forge.server, r"/repositories/|acme%2Fother|/acme/other/")

    writes = ws.forge.writes()
    out = ws.run("sync", full=True)
    assert out.code == 0 and ws.forge.writes() == writes


def test_github_write_to_a_transferred_issue_never_reaches_the_other_repository(make_workspace):
    ws = make_workspace("github")
    assert ws.run("push").code == 0
    impl = ws.read(IMPL)
    n = number_of(impl, "Cache cart totals")
    s = ws.forge.server
    s.add_repo("acme/other")
    s.create_milestone("acme/other", "Their own milestone")  # number 1, like our Milestone 1
    new = s.transfer_issue("acme/shop", n, "acme/other")
    before = s.issue("acme/other", new)
    ws.write(IMPL, impl.replace("- [ ] Cache cart totals for 30 seconds", "- [x] Cache cart totals for 60 seconds"))
    out = ws.run("sync")
    assert s.issue("acme/other", new) == before, "guidesync edited an issue of acme/other"
    assert not writes_to(s, r"/repositories/")
    assert f"issue #{n} was deleted or moved away on the tracker" in out.text


def test_github_transferred_issue_with_the_same_number_elsewhere_is_not_adopted(make_workspace):
    ws = make_workspace("github")
    assert ws.run("push").code == 0
    impl = ws.read(IMPL)
    n = number_of(impl, "Add `GET /cart")
    s = ws.forge.server
    s.add_repo("acme/other")
    assert s.transfer_issue("acme/shop", n, "acme/other") == n  # a fresh repository: same number
    s.create_milestone("acme/other", "Their own milestone")
    before = s.issue("acme/other", n)
    out = ws.run("sync", full=True)
    assert s.issue("acme/other", n) == before, "guidesync edited an issue of acme/other"
    assert f"issue #{n} was deleted or moved away on the tracker" in out.text
    assert "label was removed" not in out.text


# -- milestones ------------------------------------------------------------------------------------


def _milestone_number(ws, title: str) -> int:
    return next(n for n, t in ws.forge.milestones().items() if t == title)


@on_engine
def test_milestone_renamed_on_the_tracker_is_kept_until_the_guide_renames_it(ws):
    m1 = _milestone_number(ws, MS1)
    ws.forge.server.rename_milestone("acme/shop", m1, "Cart API (renamed by hand)")
    writes = ws.forge.writes()
    for full in (False, True):
        out = ws.run("sync", full=full)
        assert out.code == 0, out.text
    assert ws.forge.writes() == writes  # neither a new milestone nor a rename back
    assert ws.forge.milestones()[m1] == "Cart API (renamed by hand)"
    assert len(ws.forge.milestones()) == 3

    # A task edit updates its issue, which stays in the renamed milestone.
    impl = ws.read(IMPL)
    n = number_of(impl, "Cache cart totals")
    ws.write(IMPL, impl.replace("Cache cart totals for 30", "Cache cart totals for 60"))
    out = ws.run("sync")
    assert out.code == 0, out.text
    assert ws.forge.issues()[n]["title"] == "Cache cart totals for 60 seconds"
    assert ws.forge.issues()[n]["milestone"] == "Cart API (renamed by hand)"
    assert ws.forge.milestones()[m1] == "Cart API (renamed by hand)" and len(ws.forge.milestones()) == 3

    # Renaming it in the guide wins.
    ws.write(IMPL, ws.read(IMPL).replace("### Milestone 1: Cart API", "### Milestone 1: Cart endpoints"))
    out = ws.run("sync")
    assert out.code == 0, out.text
    assert ws.forge.milestones()[m1] == "Checkout Redesign - Milestone 1: Cart endpoints"
    assert len(ws.forge.milestones()) == 3
    assert ws.forge.issues()[n]["milestone"] == "Checkout Redesign - Milestone 1: Cart endpoints"


@on_engine
def test_milestone_deleted_on_the_tracker_is_recreated_and_its_issues_put_back(ws):
    impl = ws.read(IMPL)
    ms1_issues = {number_of(impl, f) for f in ("Add `GET /cart", "Move discount", "Cache cart totals")}
    m1 = _milestone_number(ws, MS1)
    ws.forge.server.delete_milestone("acme/shop", m1)
    assert all(ws.forge.issues()[n]["milestone"] is None for n in ms1_issues)
    count = len(ws.forge.issues())

    out = ws.run("sync")
    assert out.code == 0, out.text
    assert "created milestone" in out.text and MS1 in out.text
    titles = ws.forge.milestones()
    assert sorted(titles.values()) == sorted([MS1, MS2, "Phase 1: Foundation"])
    assert m1 not in titles
    issues = ws.forge.issues()
    assert all(issues[n]["milestone"] == MS1 for n in ms1_issues)
    assert len(issues) == count
    assert ws.read(IMPL) == impl
    writes = ws.forge.writes()
    out = ws.run("sync", full=True)
    assert out.code == 0 and ws.forge.writes() == writes  # converged


@on_engine
def test_deleted_milestone_is_explained(ws):
    ws.forge.server.delete_milestone("acme/shop", _milestone_number(ws, MS1))
    plan = ws.run("plan")
    out = ws.run("sync")
    assert "deleted on the tracker" in plan.text
    assert "deleted on the tracker" in out.text


# -- labels ----------------------------------------------------------------------------------------


@on_engine
def test_label_removed_by_hand_is_added_back_and_reported(ws):
    impl = ws.read(IMPL)
    n = number_of(impl, "Cache cart totals")
    s = ws.forge.server
    if ws.forge.name == "github":
        s.create_label("acme/shop", "bug")
        s.edit_issue("acme/shop", n, labels=["bug"])
    else:
        s.edit_issue("acme/shop", n, labels=["bug"])
    assert ws.forge.issues()[n]["labels"] == ["bug"]

    out = ws.run("sync")  # the issue left the label's listing: only a full listing sees it
    assert out.code == 0, out.text
    out = ws.run("sync", full=True)
    assert out.code == 0, out.text
    where = f"guides/{IMPL}:{line_of(impl, 'Cache cart totals')}"
    assert f"{where}: its guidesync label was removed on the tracker; it is added back" in out.text
    assert sorted(ws.forge.issues()[n]["labels"]) == ["bug", "guidesync"]  # the person's label stays
    assert ws.read(IMPL) == impl
    writes = ws.forge.writes()
    out = ws.run("sync", full=True)
    assert out.code == 0 and ws.forge.writes() == writes and "label was removed" not in out.text


# -- milestone changed by hand ---------------------------------------------------------------------


@on_engine
def test_issue_moved_to_another_milestone_by_hand_moves_back_on_the_next_content_change(ws):
    impl = ws.read(IMPL)
    n = number_of(impl, "Cache cart totals")
    m2 = _milestone_number(ws, MS2)
    if ws.forge.name == "gitlab":
        ws.forge.server.edit_issue("acme/shop", n, milestone_id=m2)
    else:
        ws.forge.server.edit_issue("acme/shop", n, milestone=m2)

    # Plain syncs (incremental or full) do not fight the person: the guide did not change.
    writes = ws.forge.writes()
    for full in (False, True):
        out = ws.run("sync", full=full)
        assert out.code == 0, out.text
    assert ws.forge.writes() == writes
    assert ws.forge.issues()[n]["milestone"] == MS2

    # A checkbox change only closes it; it stays where the person put it.
    ws.write(IMPL, impl.replace("- [ ] Cache cart totals", "- [x] Cache cart totals"))
    out = ws.run("sync")
    assert out.code == 0, out.text
    assert ws.forge.issues()[n]["state"] == "closed" and ws.forge.issues()[n]["milestone"] == MS2

    # The next change of the task's content in the guide moves it back.
    ws.write(IMPL, ws.read(IMPL).replace("Cache cart totals for 30", "Cache cart totals for 60"))
    out = ws.run("sync")
    assert out.code == 0, out.text
    assert ws.forge.issues()[n]["milestone"] == MS1
    assert ws.forge.issues()[n]["title"] == "Cache cart totals for 60 seconds"


# -- locked ----------------------------------------------------------------------------------------


def test_github_locked_issue_of_a_removed_task_is_closed_though_the_comment_is_refused(make_workspace):
    ws = make_workspace("github")
    assert ws.run("push").code == 0
    impl = ws.read(IMPL)
    n = number_of(impl, "Cache cart totals")
    ws.forge.server.lock_issue("acme/shop", n, "resolved")
    ws.write(IMPL, "".join(l for l in impl.splitlines(True) if "Cache cart totals" not in l))

    result = cli(ws, "sync")
    assert result.exit_code == 0, result.output
    assert "the comment was refused" in result.stdout and "closing it anyway" in result.stdout
    assert "locked" in result.stdout
    issue = ws.forge.issues()[n]
    assert (issue["state"], issue["reason"]) == ("closed", "not_planned")
    assert ws.forge.comments(n) == []
    assert records(ws)[str(n)]["state"] == "removed"
    # It is done: the next run neither retries the comment nor reopens anything.
    writes = ws.forge.writes()
    result = cli(ws, "sync")
    assert result.exit_code == 0 and ws.forge.writes() == writes


def test_github_locked_issue_is_still_updated_and_closed(make_workspace):
    ws = make_workspace("github")
    assert ws.run("push").code == 0
    impl = ws.read(IMPL)
    n = number_of(impl, "Cache cart totals")
    ws.forge.server.lock_issue("acme/shop", n, "too heated")
    ws.write(IMPL, impl.replace("- [ ] Cache cart totals for 30", "- [x] Cache cart totals for 60"))
    out = ws.run("sync")
    assert out.code == 0, out.text
    issue = ws.forge.issues()[n]
    assert issue["title"] == "Cache cart totals for 60 seconds" and issue["state"] == "closed"


# -- archived --------------------------------------------------------------------------------------


def test_archived_repository_stops_cleanly_with_one_error_and_converges_when_unarchived(ws):
    impl = ws.read(IMPL)
    closed_by_hand = number_of(impl, "Add `GET /cart")
    to_close = number_of(impl, "Inline address validation")
    ws.forge.close(closed_by_hand)
    ws.forge.server.archive("acme/shop")
    cache_line = links(impl)[number_of(impl, "Cache cart totals")]
    edited = (impl.replace("- [ ] Inline address validation", "- [x] Inline address validation")
              .replace(cache_line + "\n", cache_line + "\n- [ ] A brand new task\n"))
    ws.write(IMPL, edited)
    before_issues = ws.forge.issues()
    ws.forge.server.reset_log()

    result = cli(ws, "sync")
    assert result.exit_code == 1, result.output
    errors = [l for l in (result.stdout + result.stderr).splitlines() if l.startswith("error:")]
    assert len(errors) == 1, result.output
    assert "403" in errors[0] and f"#{to_close}" in errors[0] and "no further tracker writes" in errors[0]
    if ws.forge.name == "github":
        assert "archived" in errors[0]
    assert len([e for e in ws.forge.server.log if e.is_write]) == 1  # one refused write, then it stopped
    assert ws.forge.issues() == before_issues
    # Pull still works: the issue closed by hand checks its box. Nothing else changes in the guide:
    # the new task has no link (it was not created), the person's checked box stays checked.
    text = ws.read(IMPL)
    assert text == edited.replace("- [ ] Add `GET /cart", "- [x] Add `GET /cart")
    rec = records(ws)
    assert (rec[str(closed_by_hand)]["checked"], rec[str(closed_by_hand)]["state"]) == (True, "completed")
    assert (rec[str(to_close)]["checked"], rec[str(to_close)]["state"]) == (False, "open")  # the close is owed

    # --json says the same, once.
    result = cli(ws, "sync", "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert len(data["errors"]) == 1 and "403" in data["errors"][0]

    # Unarchived, the next run does what was owed, once.
    ws.forge.server.archive("acme/shop", False)
    result = cli(ws, "sync")
    assert result.exit_code == 0, result.output
    issues = ws.forge.issues()
    assert issues[to_close]["state"] == "closed"
    new = number_of(ws.read(IMPL), "A brand new task")
    assert issues[new]["title"] == "A brand new task"
    assert len(issues) == len(before_issues) + 1


def test_archived_repository_before_the_first_push_writes_nothing_anywhere(make_workspace):
    for forge in FORGES:
        ws = make_workspace(forge)
        ws.forge.server.archive("acme/shop")
        guides = (ws.read(PHASE), ws.read(IMPL))
        result = cli(ws, "push")
        assert result.exit_code == 1, result.output
        errors = [l for l in result.stdout.splitlines() if l.startswith("error:")]
        assert len(errors) == 1 and "403" in errors[0], result.output
        assert (ws.read(PHASE), ws.read(IMPL)) == guides
        assert ws.forge.issues() == {} and ws.forge.milestones() == {}
        state = json.loads(ws.state_text())
        assert state["tasks"] == {} and state["milestones"] == {} and state["label"] is False
        ws.forge.server.archive("acme/shop", False)
        result = cli(ws, "push")
        assert result.exit_code == 0, result.output
        assert len(ws.forge.issues()) == 10 and len(links(ws.read(IMPL))) == 6
