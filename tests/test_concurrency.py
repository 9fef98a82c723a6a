"""Concurrent runs on one checkout: one writer at a time, and a person's edit is never overwritten.

The first run is a real ``guidesync sync`` process (the CLI) talking to the fake forge of this test
process. It is held inside the run lock either by a slow answer of the fake (a ``delay`` fault on
its first request) or by a small wrapper script that stops it between its tracker writes and its
guide write-back until the test lets it go (or kills it).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from guidesync import cli
from guidesync.trackers.github import GitHubTracker
from guidesync.trackers.gitlab import GitLabTracker
from guidesync.writeback import RunLock
from tests.campaign import comparable, parsed
from tests.conftest import FORGES

PHASE, IMPL = "phase-1-foundation.md", "checkout-redesign.md"
LINK = re.compile(r" \(\[#(\d+)\]\([^)]+\)\)")
LOCKED = "another guidesync sync is running"


def only_journal(ws) -> bool:
    """The base holds just the journal a run writes before its guides: every issue it created, pending."""
    records = json.loads(ws.state_text())["tasks"] if ws.state_text() else {}
    return bool(records) and all(r.get("pending") for r in records.values())

#: Runs the CLI, but stops between the tracker writes and the guide write-back: it writes its pid
#: to argv[1], then waits until argv[2] exists.
HOLD = """
import os, sys, time
from pathlib import Path
import guidesync.sync as engine
from guidesync.cli import main

inside, release = Path(sys.argv[1]), Path(sys.argv[2])
real = engine.write_guides


def held(*args, **kwargs):
    inside.write_text(str(os.getpid()))
    deadline = time.monotonic() + 60
    while not release.exists():
        if time.monotonic() > deadline:
            raise SystemExit("never released")
        time.sleep(0.02)
    return real(*args, **kwargs)

engine.write_guides = held
sys.argv = ["guidesync", *sys.argv[3:]]
main()
"""


def links(text: str) -> dict[int, str]:
    return {int(m.group(1)): line for line in text.splitlines() if (m := LINK.search(line))}


def env_for(ws) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GH_", "GITLAB_", "CI"))}
    env.update(ws.forge.env())
    return env


def wait_for(predicate, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def start_held(ws, tmp_path: Path, *args: str) -> tuple[subprocess.Popen, Path, Path]:
    script = tmp_path / "hold.py"
    script.write_text(HOLD)
    inside, release = tmp_path / "inside", tmp_path / "release"
    proc = subprocess.Popen([sys.executable, str(script), str(inside), str(release), *args], cwd=ws.root,
                            env=env_for(ws), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: inside.exists() or proc.poll() is not None, "the first run to reach its write-back")
    except AssertionError:
        proc.kill()
        raise
    assert proc.poll() is None, proc.communicate()
    return proc, inside, release


def run_cli(ws, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "guidesync", *args], cwd=ws.root, env=env_for(ws),
                          capture_output=True, text=True, timeout=60)


@pytest.fixture(params=FORGES)
def ws(request, make_workspace):
    return make_workspace(request.param)


# ------------------------------------------------------------------------------ one writer


def test_second_process_is_refused_while_the_first_is_between_tracker_and_guide_writes(ws, tmp_path):
    before = {n: ws.read(n) for n in (PHASE, IMPL)}
    first, _inside, release = start_held(ws, tmp_path, "sync")
    try:
        assert len(ws.forge.issues()) == 10  # its tracker writes are done, its guide writes are not
        requests = len(ws.forge.server.log)
        second = run_cli(ws, "sync")
        assert second.returncode == 1, second.stdout + second.stderr
        assert LOCKED in second.stderr
        # The second process sent nothing and wrote nothing.
        assert len(ws.forge.server.log) == requests
        assert {n: ws.read(n) for n in (PHASE, IMPL)} == before
        assert only_journal(ws)
        # Nor does a second push or pull get in.
        for mode in ("push", "pull"):
            other = run_cli(ws, mode)
            assert other.returncode == 1 and LOCKED in other.stderr
        # A dry run takes no lock: it reads, writes nothing, and works meanwhile.
        dry = run_cli(ws, "sync", "--dry-run")
        assert dry.returncode == 0, dry.stderr
    finally:
        release.write_text("go")
        out, err = first.communicate(timeout=60)
    assert first.returncode == 0, out + err
    linked = {**links(ws.read(PHASE)), **links(ws.read(IMPL))}
    assert sorted(linked) == sorted(ws.forge.issues()) and len(linked) == 10
    # The lock went with the first process: a third run gets in, and has nothing left to do.
    writes = ws.forge.writes()
    third = run_cli(ws, "sync")
    assert third.returncode == 0, third.stderr
    assert ws.forge.writes() == writes
    assert len(ws.forge.issues()) == 10


def test_second_run_is_refused_while_the_first_waits_on_a_slow_tracker(ws, monkeypatch):
    """The first run is the plain CLI; the fake answers its first request after 2 seconds."""
    fault = ws.forge.server.add_fault(method="GET", path="/milestones", kind="delay", delay=2.0)
    first = subprocess.Popen([sys.executable, "-m", "guidesync", "push"], cwd=ws.root, env=env_for(ws),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: fault.seen >= 1 or first.poll() is not None, "the first run's listing")
        assert first.poll() is None
        started = time.monotonic()
        monkeypatch.chdir(ws.root)
        result = CliRunner().invoke(cli.app, ["sync"], env=ws.forge.env())
        assert time.monotonic() - started < 2.0, "the second run waited instead of refusing"
        assert result.exit_code == 1, result.output
        assert LOCKED in result.output
    finally:
        out, err = first.communicate(timeout=60)
    assert first.returncode == 0, out + err
    assert len(ws.forge.issues()) == 10
    again = CliRunner().invoke(cli.app, ["sync"], env=ws.forge.env())
    assert again.exit_code == 0, again.output


def test_lock_of_a_killed_process_does_not_block_and_the_next_run_converges(ws, tmp_path):
    first, _inside, _release = start_held(ws, tmp_path, "sync")
    lock = RunLock(ws.root)
    assert lock.path.exists() and lock.path.read_text() == str(first.pid)
    os.kill(first.pid, signal.SIGKILL)  # between its tracker writes and its guide write-back
    first.communicate(timeout=30)
    assert first.returncode == -signal.SIGKILL
    assert lock.path.exists()  # the stale lock file is left behind …
    assert only_journal(ws) and not links(ws.read(PHASE))  # … and only the journal was written
    second = run_cli(ws, "sync")  # … yet it does not block
    assert second.returncode == 0, second.stdout + second.stderr
    issues = ws.forge.issues()
    linked = {**links(ws.read(PHASE)), **links(ws.read(IMPL))}
    assert len(issues) == 10 and sorted(linked) == sorted(issues)  # adopted by marker, no duplicate
    writes = ws.forge.writes()
    assert run_cli(ws, "sync").returncode == 0 and ws.forge.writes() == writes


# -------------------------------------------------------------- a person edits meanwhile


def _tracker_class(ws):
    return GitHubTracker if ws.forge.name == "github" else GitLabTracker


def _edit_during_first_create(ws, monkeypatch, edit) -> list[str]:
    """Make ``edit()`` happen right after the run's first issue creation; returns the titles created."""
    cls = _tracker_class(ws)
    real = cls.create_issue
    created: list[str] = []

    def create_issue(self, title, body, milestone, labels):
        issue = real(self, title, body, milestone, labels)
        created.append(title)
        if len(created) == 1:
            edit()
        return issue

    monkeypatch.setattr(cls, "create_issue", create_issue)
    return created


def test_a_guide_edited_during_the_run_is_not_overwritten_and_the_next_run_converges(ws, monkeypatch):
    original = ws.read(IMPL)
    person = original.replace(
        "Replace the three-page checkout", "Replace the old three-page checkout"
    ).replace("- [ ] Inline address validation", "- [x] Inline address validation")
    assert person != original
    created = _edit_during_first_create(ws, monkeypatch, lambda: ws.write(IMPL, person))
    out = ws.run("push")
    assert created, "the edit hook never ran"
    assert out.code == 1
    assert f"{IMPL}: changed on disk while guidesync ran; not overwritten" in out.text
    assert ws.read(IMPL) == person  # every byte of the person's edit is there
    assert len(links(ws.read(PHASE))) == 4  # the other guide was written back as usual
    assert len(ws.forge.issues()) == 10
    monkeypatch.undo()
    monkeypatch.chdir(ws.root)
    # The next run adopts the six issues by their markers and links them; no duplicate.
    out = ws.run("push")
    assert out.code == 0, out.text
    issues = ws.forge.issues()
    assert len(issues) == 10
    impl = ws.read(IMPL)
    assert sorted(links(impl)) == sorted(n for n, i in issues.items() if "checkout" in i["body"].lower())
    tasks = {t.line for t in parsed(person, f"guides/{IMPL}").tasks}
    assert comparable(impl, tasks) == comparable(person, tasks)  # the person's text; boxes and links aside
    n = next(n for n, line in links(impl).items() if "Inline address validation" in line)
    assert issues[n]["state"] == "closed"  # the person's check closed its issue
    writes = ws.forge.writes()
    assert ws.run("sync").code == 0 and ws.forge.writes() == writes


def test_person_rewording_a_task_during_the_run_gets_no_duplicate(ws, monkeypatch):
    original = ws.read(IMPL)
    person = original.replace("Cache cart totals for 30 seconds", "Cache cart totals for 60 seconds")
    _edit_during_first_create(ws, monkeypatch, lambda: ws.write(IMPL, person))
    assert ws.run("push").code == 1
    monkeypatch.undo()
    monkeypatch.chdir(ws.root)
    assert ws.run("push").code == 0
    titles = sorted(i["title"] for i in ws.forge.issues().values() if i["state"] == "open")
    assert len(ws.forge.issues()) == 10, f"issues: {titles}"
