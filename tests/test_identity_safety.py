"""Issue 10: no destructive action on an uncertain match. Each test reproduces one defect with the
tracker's clock moved on by hours between runs, as real syncs are: on the in-memory tracker (the
engine's scenarios; the tracker contract holds it to what the adapters do), and over HTTP on both
fake forges where the scenario is about them (two processes at once, GitLab's milestone numbers)."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import threading

import pytest

from tests.conftest import ENGINE, FORGES, ROOT, links, number_of

PHASE = "phase-1-foundation.md"
IMPL = "checkout-redesign.md"
HOUR = 3600


@pytest.fixture(params=ENGINE)
def ws(request, make_workspace):
    ws = make_workspace(request.param)
    assert ws.run("push").code == 0
    return ws


def later(ws, hours: float = 2) -> None:
    ws.forge.server.clock.tick(hours * HOUR)


def person_issue(ws, title: str, body: str) -> int:
    """An issue somebody opened by hand: no marker, no label."""
    return ws.forge.server.create_issue(ws.forge.repo, title, body)


def record(ws, n: int) -> dict | None:
    return json.loads(ws.state_text())["tasks"].get(str(n))


def drop_line(text: str, fragment: str) -> str:
    return "".join(l for l in text.splitlines(True) if fragment not in l)


# -- defect 3: a hand-pasted link to somebody's issue -------------------------------------------


def test_a_hand_pasted_link_to_a_persons_issue_is_never_rewritten(ws):
    n = person_issue(ws, "Customer reported: totals wrong", "Steps to reproduce:\n1. add two items")
    later(ws)
    phase = ws.read(PHASE)
    ws.write(PHASE, phase.replace("\n## Prerequisites", f"- [ ] Investigate totals ([#{n}]({ws.forge.issues()[n]['url']}))"
                                                        "\n\n## Prerequisites"))
    for mode in ("push", "sync"):
        out = ws.run(mode)
        assert out.code == 0, out.text
        assert f"guidesync adopt guides/{PHASE}:" in out.text
        later(ws)
    issue = ws.forge.issues()[n]
    assert issue["title"] == "Customer reported: totals wrong"
    assert issue["body"] == "Steps to reproduce:\n1. add two items"
    assert issue["state"] == "open" and issue["labels"] == []
    assert "label" not in ws.run("sync").text  # no false message about a removed label
    assert record(ws, n)["unmanaged"] is True
    assert len(ws.forge.issues()) == 11  # and the task gets no second issue


def test_adopt_takes_a_hand_linked_issue_over_on_request(ws):
    from guidesync import commands

    n = person_issue(ws, "Old title", "old body")
    phase = ws.read(PHASE)
    old = number_of(phase, "Seed script")
    ws.write(PHASE, phase.replace(links(phase)[old], f"- [ ] Seed script v2 ([#{n}]({ws.forge.issues()[n]['url']}))"))
    later(ws)
    assert ws.run("push").code == 0
    assert ws.forge.issues()[n]["title"] == "Old title"
    line = next(i for i, l in enumerate(ws.read(PHASE).splitlines()) if "Seed script v2" in l)
    out = commands.adopt(ws.context(), [f"guides/{PHASE}:{line + 1}"])
    assert out.code == 0, out.text
    issue = ws.forge.issues()[n]
    assert issue["title"] == "Seed script v2" and "guidesync:task" in issue["body"] and "guidesync" in issue["labels"]
    assert not record(ws, n).get("unmanaged")


def test_adopt_names_a_line_that_is_no_linked_task(ws):
    from guidesync import commands

    out = commands.adopt(ws.context(), [f"guides/{PHASE}:1"])
    assert out.code == 2 and f"guides/{PHASE}:1" in out.text


# -- defect 4: a renamed or deleted guide never lends its milestone to a newcomer ---------------


def test_a_new_guide_at_a_moved_guides_path_gets_its_own_milestone(ws):
    old_ms = {v: k for k, v in ws.forge.milestones().items()}["Phase 1: Foundation"]
    shutil.move(ws.guide(PHASE), ws.guide("phase-1-renamed.md"))  # git mv
    later(ws)
    assert ws.run("sync").code == 0
    later(ws)
    newcomer = ws.read("phase-1-renamed.md").replace("Phase 1: Foundation", "Phase 7: Billing")
    newcomer = "".join(l for l in newcomer.splitlines(True) if "([#" not in l) + "- [ ] Invoice PDF\n"
    ws.write(PHASE, newcomer)
    assert ws.run("sync").code == 0
    milestones = ws.forge.milestones()
    assert milestones[old_ms] == "Phase 1: Foundation"  # not renamed to the newcomer's title
    assert "Phase 7: Billing" in milestones.values()
    moved = links(ws.read("phase-1-renamed.md"))
    issues = ws.forge.issues()
    assert all(issues[n]["milestone"] == "Phase 1: Foundation" for n in moved)


def test_moving_a_guide_and_adding_one_at_its_path_in_one_commit(ws):
    shutil.move(ws.guide(PHASE), ws.guide("phase-1-renamed.md"))
    ws.write(PHASE, "# Phase 7: Billing - Detailed Implementation Guide\n\n## Deliverables Checklist\n\n- [ ] Invoice PDF\n")
    later(ws)
    assert ws.run("sync").code == 0
    titles = set(ws.forge.milestones().values())
    assert {"Phase 1: Foundation", "Phase 7: Billing"} <= titles
    issues = ws.forge.issues()
    assert all(issues[n]["milestone"] == "Phase 1: Foundation" for n in links(ws.read("phase-1-renamed.md")))
    state = json.loads(ws.state_text())["milestones"]
    assert state[f"guides/{PHASE}#phase"]["title"] == "Phase 7: Billing"
    assert state["guides/phase-1-renamed.md#phase"]["title"] == "Phase 1: Foundation"


def test_records_of_a_deleted_guide_are_dropped(ws):
    os.remove(ws.guide(PHASE))
    later(ws)
    assert ws.run("sync", force=True).code == 0
    assert f"guides/{PHASE}#phase" not in json.loads(ws.state_text())["milestones"]


# -- defect 5: a deleted task typed in again, or restored with its link ------------------------


@pytest.mark.parametrize("how", ["typed", "revert"])
def test_a_deleted_task_that_comes_back_ends_with_an_open_issue(ws, how):
    phase = ws.read(PHASE)
    n = number_of(phase, "Seed script")
    line = links(phase)[n]
    ws.write(PHASE, phase.replace(line + "\n", ""))
    later(ws)
    assert ws.run("sync").code == 0
    assert ws.forge.issues()[n]["state"] == "closed"
    later(ws, 5)
    back = line if how == "revert" else "- [ ] Seed script `scripts/seed.py` for local development"
    ws.write(PHASE, ws.read(PHASE).replace("\n## Prerequisites", back + "\n\n## Prerequisites"))
    for _ in range(3):
        assert ws.run("sync").code == 0
        later(ws)
    text = ws.read(PHASE)
    assert number_of(text, "Seed script") == n  # its old issue, not a new one
    assert ws.forge.issues()[n]["state"] == "open"
    assert "- [ ] Seed script" in text  # never checked
    assert len(ws.forge.issues()) == 10


# -- defect 6: a scoped push after a task moved to a guide it does not name ---------------------


def test_a_scoped_push_never_closes_a_task_that_moved_to_another_guide(ws):
    phase, impl = ws.read(PHASE), ws.read(IMPL)
    n = number_of(phase, "Seed script")
    line = links(phase)[n]
    ws.write(PHASE, phase.replace(line + "\n", ""))
    ws.write(IMPL, impl.replace("- [ ] Inline address", line.lstrip() + "\n- [ ] Inline address", 1))
    later(ws)
    out = ws.run("push", f"guides/{PHASE}")
    assert out.code == 0, out.text
    assert ws.forge.issues()[n]["state"] == "open"
    assert not ws.forge.comments(n)
    later(ws)
    assert ws.run("sync", full=True).code == 0
    assert ws.forge.issues()[n]["state"] == "open"
    assert "- [ ] Seed script" in ws.read(IMPL)


# -- defect 7: two guides with one milestone title ----------------------------------------------


def test_two_guides_with_the_same_phase_are_refused_not_merged(make_workspace):
    ws = make_workspace("memory", guides=(PHASE,))
    ws.write("phase-9-copy.md", ws.read(PHASE).replace("Seed script", "Other seed"))
    out = ws.run("push", as_json=True)
    data = json.loads(out.text)
    assert data["counts"]["milestones_created"] == 1
    assert len(ws.forge.milestones()) == 1
    assert any("also used by" in e for e in data["errors"])
    assert "([#" not in ws.read("phase-9-copy.md")
    plan = json.loads(ws.run("plan", as_json=True).text)
    assert any(p["file"] == "guides/phase-9-copy.md" and p["line"] == 1 and "also used by" in p["message"]
               for p in plan["problems"])


# -- defects 8 and 9: empty items, backslash hard breaks ----------------------------------------


def test_empty_items_are_not_tasks_and_a_hard_break_keeps_its_place(make_workspace):
    ws = make_workspace("memory", guides=(PHASE,))
    phase = ws.read(PHASE).replace("- [ ] Seed script `scripts/seed.py` for local development",
                                   "- [ ]\n- [x]\n- [ ] Seed script\\\n  for local development")
    ws.write(PHASE, phase)
    out = ws.run("push")
    assert out.code == 0, out.text
    assert "list item has no text" in out.text
    text = ws.read(PHASE)
    assert "\n- [ ]\n- [x]\n" in text
    seed = next(l for l in text.splitlines() if "Seed script" in l)
    assert seed.endswith("))\\") and seed.startswith("- [ ] Seed script ([#")
    titles = {i["title"] for i in ws.forge.issues().values()}
    assert "Seed script for local development" in titles and "[ ]" not in titles and "[x]" not in titles


# -- defect 10: push --json stopped by a guard ---------------------------------------------------


def test_push_json_stopped_by_a_guard_prints_one_json_document(ws):
    ws.write_config(max_close=1)
    impl = ws.read(IMPL)
    ws.write(IMPL, "".join(l for l in impl.splitlines(True) if "([#" not in l or "Cache" in l))
    out = ws.run("push", as_json=True)
    assert out.code == 3
    data = json.loads(out.text)
    assert data["guards"] and "problems" in data and data["stopped"] is True


# -- defect 11: the smaller ones ------------------------------------------------------------------


def test_a_task_ending_with_another_repositorys_issue_link_syncs(make_workspace):
    ws = make_workspace("memory", guides=(PHASE,))
    foreign = "https://github.com/other/lib/issues/9"
    ws.write(PHASE, ws.read(PHASE).replace("for local development", f"for local development ([#9]({foreign}))"))
    assert ws.run("push").code == 0
    line = next(l for l in ws.read(PHASE).splitlines() if "Seed script" in l)
    assert f"([#9]({foreign})) ([#" in line
    n = int(line.rsplit("([#", 1)[1].split("]")[0])
    assert ws.forge.issues()[n]["title"].startswith("Seed script")
    later(ws)
    writes = ws.forge.writes()
    assert ws.run("sync").code == 0 and ws.forge.writes() == writes  # in step


def test_html_comments_stay_out_of_titles(make_workspace):
    ws = make_workspace("memory", guides=(PHASE,))
    ws.write(PHASE, ws.read(PHASE).replace("for local development", "for local development <!-- ask Sam -->"))
    assert ws.run("push").code == 0
    assert "Seed script `scripts/seed.py` for local development" in {i["title"] for i in ws.forge.issues().values()}


def test_plan_json_lists_guide_errors_as_problems_with_file_and_line(make_workspace):
    ws = make_workspace("memory", guides=(PHASE,))
    ws.write("broken.md", "# Phase 2: Broken - Detailed Implementation Guide\n\nno checklist here\n")
    data = json.loads(ws.run("plan", as_json=True).text)
    assert any(p["file"] == "guides/broken.md" and p["severity"] in ("error", "warning") for p in data["problems"])


def test_kept_issues_of_removed_tasks_are_not_called_leftovers(ws):
    ws.write_config(on_removed="keep")
    phase = ws.read(PHASE)
    ws.write(PHASE, drop_line(phase, "Seed script"))
    assert ws.run("sync").code == 0
    later(ws, 30)
    out = ws.run("sync", full=True)
    assert "interrupted run" not in out.text


# -- defect 12: two clones pushing at once -------------------------------------------------------


def _push_in(root: str, env: dict[str, str]) -> int:
    return subprocess.run([sys.executable, "-m", "guidesync", "push"], cwd=root, env=env, capture_output=True).returncode


@pytest.mark.parametrize("forge", FORGES)
def test_two_clones_pushing_at_once_converge_to_one_issue_per_task(make_workspace, forge):
    a = make_workspace(forge)
    b_root = a.root.parent / "clone-b"
    shutil.copytree(a.root, b_root)
    env = {**os.environ, **a.forge.env(), "PYTHONPATH": str(ROOT)}
    env.pop("GITHUB_ACTIONS", None), env.pop("GITLAB_CI", None)
    # Both runs read the (empty) tracker before either writes: the first listing of each is held.
    a.forge.server.add_fault(method="GET", path=r"/issues$", kind="delay", barrier=threading.Barrier(2), times=2)
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        codes = pool.starmap(_push_in, [(str(a.root), env), (str(b_root), env)])
    assert codes == [0, 0]
    assert len(a.forge.issues()) == 20  # each clone made its own
    # Either clone's next syncs converge on the earlier issue of each pair.
    later(a)
    for root in (b_root, a.root, b_root, a.root):
        assert subprocess.run([sys.executable, "-m", "guidesync", "sync"], cwd=root, env=env,
                              capture_output=True, text=True).returncode == 0
        later(a)
    issues = a.forge.issues()
    open_ = {n for n, i in issues.items() if i["state"] == "open"}
    for root in (a.root, b_root):
        linked = {**links((root / "guides" / PHASE).read_text()), **links((root / "guides" / IMPL).read_text())}
        assert len(linked) == 10
        assert linked.keys() == {n for n in linked if n <= 20}
        spare = set(issues) - set(linked)
        assert all(issues[n]["state"] == "closed" for n in spare)
        # The open ones (the 8 unchecked tasks') were closed as duplicates; the checked tasks'
        # were closed as completed when they were made, and are left so.
        dups = {n for n in spare if any("Duplicate of #" in c for c in a.forge.comments(n))}
        assert len(dups) == 8
        if forge == "github":
            assert {issues[n]["reason"] for n in dups} == {"duplicate"}
    a_links = {**links((a.root / "guides" / PHASE).read_text()), **links((a.root / "guides" / IMPL).read_text())}
    b_links = {**links((b_root / "guides" / PHASE).read_text()), **links((b_root / "guides" / IMPL).read_text())}
    assert set(a_links) == set(b_links)  # both clones kept the same, earlier issues
    assert open_ <= set(a_links)


# -- defect 13: a new task never takes over an unrelated closed issue ---------------------------


def test_a_new_similar_task_does_not_take_over_a_removed_tasks_issue(ws):
    phase = ws.read(PHASE)
    ws.write(PHASE, phase.replace("- [ ] Seed script `scripts/seed.py` for local development",
                                  "- [ ] Feature added at hour 24"))
    assert ws.run("sync").code == 0
    old = number_of(ws.read(PHASE), "hour 24")
    later(ws, 7)
    ws.write(PHASE, drop_line(ws.read(PHASE), "hour 24"))
    assert ws.run("sync").code == 0
    later(ws)
    ws.write(PHASE, ws.read(PHASE).replace("\n## Prerequisites", "- [ ] Feature added at hour 31\n\n## Prerequisites"))
    assert ws.run("sync").code == 0
    new = number_of(ws.read(PHASE), "hour 31")
    assert new != old
    issues = ws.forge.issues()
    assert issues[old]["title"] == "Feature added at hour 24" and issues[old]["state"] == "closed"
    assert issues[new]["state"] == "open"


def test_gitlab_milestones_are_named_by_the_number_people_see(make_workspace):
    ws = make_workspace("gitlab", guides=(PHASE,))
    out = ws.run("push")
    (ms,) = ws.forge.server.milestones(ws.forge.repo).values()
    assert ms["id"] != ms["iid"]
    assert f"created milestone #{ms['iid']} Phase 1: Foundation" in out.text
    assert f"#{ms['id']}" not in out.text.split("created #")[0]


def test_a_guide_replaced_at_its_path_with_the_same_phase_number_gets_its_own_milestone(ws):
    """Deleted and a new guide written at the same path before any run: "Phase 1: Zeta" holds
    none of the old milestone's issues, so it is no rename of "Phase 1: Foundation"."""
    old = {v: k for k, v in ws.forge.milestones().items()}["Phase 1: Foundation"]
    ws.write(PHASE, "# Phase 1: Zeta - Detailed Implementation Guide\n\n## Deliverables Checklist\n\n- [ ] Zeta work\n")
    later(ws)
    assert ws.run("sync", force=True).code == 0
    milestones = ws.forge.milestones()
    assert milestones[old] == "Phase 1: Foundation" and "Phase 1: Zeta" in milestones.values()


def test_a_phase_renamed_in_its_guide_renames_its_milestone(ws):
    old = {v: k for k, v in ws.forge.milestones().items()}["Phase 1: Foundation"]
    ws.write(PHASE, ws.read(PHASE).replace("# Phase 1: Foundation", "# Phase 1: Groundwork"))
    later(ws)
    assert ws.run("sync").code == 0
    assert ws.forge.milestones()[old] == "Phase 1: Groundwork"


def test_a_close_seen_by_push_is_not_lost_when_the_listing_mark_moves_on(ws):
    """push cannot check a box: the close it saw must still reach the guide at the next sync, even
    after another change has moved the listing on."""
    impl = ws.read(IMPL)
    n, other = number_of(impl, "Cache cart totals"), number_of(impl, "Inline address")
    ws.forge.close(n)
    later(ws)
    assert ws.run("push").code == 0
    ws.forge.server.clock.tick(600)
    ws.forge.server.edit_issue(ws.forge.repo, other, title="Inline address validation (retitled)")
    later(ws)
    assert ws.run("push").code == 0
    later(ws)
    assert ws.run("sync").code == 0
    assert "- [x] Cache cart totals" in ws.read(IMPL)


def test_a_scoped_run_does_not_move_the_listing_past_another_guides_changes(ws):
    n = number_of(ws.read(PHASE), "Seed script")
    ws.forge.close(n)
    later(ws)
    assert ws.run("sync", f"guides/{IMPL}").code == 0
    assert "- [ ] Seed script" in ws.read(PHASE)  # not its guide: untouched
    later(ws)
    assert ws.run("sync").code == 0
    assert "- [x] Seed script" in ws.read(PHASE)


def test_a_task_restored_before_a_pull_is_reopened_by_the_next_push(ws):
    phase = ws.read(PHASE)
    n = number_of(phase, "Seed script")
    line = links(phase)[n]
    ws.write(PHASE, phase.replace(line + "\n", ""))
    later(ws)
    assert ws.run("sync").code == 0 and ws.forge.issues()[n]["state"] == "closed"
    ws.write(IMPL, ws.read(IMPL).replace("- [ ] Inline address", line.lstrip() + "\n- [ ] Inline address", 1))
    later(ws)
    assert ws.run("pull").code == 0  # cannot reopen: the tombstone stays
    later(ws)
    assert ws.run("sync").code == 0
    assert ws.forge.issues()[n]["state"] == "open" and "- [ ] Seed script" in ws.read(IMPL)
