"""The GitHub Action's script (``python -m guidesync.action``) in a real git checkout.

Each test builds a bare "origin", a person's clone that seeds it with the example guides, and a
shallow clone like the one actions/checkout makes, where the action runs with the environment the
composite action gives it. The issues live in the fake GitHub; every request the tool sends is
checked against GitHub's OpenAPI description at teardown. Git never reads the machine's global or
system configuration here: the person's identity is set in their clone only.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from guidesync.ci import git as ci_git
from guidesync.ci.git import PUSH_ATTEMPTS, TRAILER, WRITE_BACK_BRANCH, Repo
from guidesync.ci.run import main
from guidesync.ci.settings import GITHUB_BOT, GITLAB_INPUTS, INPUTS, Settings, read_settings
from guidesync.ci.templates import ACTION_REF, DEFAULT_MESSAGE, gitlab_job
from guidesync.core.escape import problem_annotation
from tests.conftest import EXAMPLES, TOKEN
from tests.fakes.base import Request, Response
from tests.fakes.github import _R, FakeGitHub
from tests.fakes.gitlab import FakeGitLab

ROOT = Path(__file__).resolve().parent.parent
BOT_NAME, BOT_EMAIL = GITHUB_BOT
PERSON = ("Ada Person", "ada@example.com")
GUIDES = ("phase-1-foundation.md", "checkout-redesign.md")
LINK = re.compile(r"\(\[#(\d+)\]\(([^)]+)\)\)")
RUN_URL = "https://github.com/acme/shop/actions/runs/4242"
REAL_GIT = ci_git.git


class FakeGitHubWithPulls(FakeGitHub):
    """The fake GitHub plus the two pull request endpoints the write-back PR mode uses."""

    def __init__(self, **kw: Any):
        super().__init__(**kw)
        self.pulls: list[dict[str, Any]] = []
        self.route("GET", _R + r"/pulls", self._h_list_pulls)
        self.route("POST", _R + r"/pulls", self._h_create_pull)

    def _pull_json(self, owner: str, name: str, p: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": 5000 + p["number"], "number": p["number"], "state": p["state"], "title": p["title"], "body": p["body"],
            "url": f"{self.url}/repos/{owner}/{name}/pulls/{p['number']}",
            "html_url": f"{self.web_root}/{owner}/{name}/pull/{p['number']}",
            "head": {"ref": p["head"], "label": f"{owner}:{p['head']}"}, "base": {"ref": p["base"], "label": f"{owner}:{p['base']}"},
        }

    def _h_list_pulls(self, req: Request, owner: str, name: str, **kw: str) -> Any:
        head, base, state = req.arg("head"), req.arg("base"), req.arg("state", "open")
        found = [p for p in self.pulls if (state == "all" or p["state"] == state)
                 and (head is None or f"{owner}:{p['head']}" == head) and (base is None or p["base"] == base)]
        return [self._pull_json(owner, name, p) for p in found]

    def _h_create_pull(self, req: Request, owner: str, name: str, **kw: str) -> Response:
        body = req.body or {}
        for p in self.pulls:
            if p["state"] == "open" and p["head"] == body.get("head") and p["base"] == body.get("base"):
                return Response(422, {"message": "Validation Failed", "errors": [
                    {"resource": "PullRequest", "code": "custom", "message": f"A pull request already exists for {owner}:{p['head']}."}]})
        p = {"number": 900 + len(self.pulls), "state": "open", "title": body["title"], "body": body.get("body"),
             "head": body["head"], "base": body["base"]}
        self.pulls.append(p)
        return Response(201, self._pull_json(owner, name, p))


def _clean_env(tmp: Path) -> dict[str, str]:
    """The process environment minus anything CI- or git-identity-related, with git isolated."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GITHUB_", "INPUT_", "GUIDESYNC_", "CI_", "GITLAB_", "GIT_", "RUNNER_"))
           and k not in ("GH_TOKEN", "CI", "EMAIL")}
    (tmp / "home").mkdir(exist_ok=True)
    (tmp / "gitconfig").write_text("")
    env.update(HOME=str(tmp / "home"), GIT_CONFIG_GLOBAL=str(tmp / "gitconfig"), GIT_CONFIG_NOSYSTEM="1",
               GIT_TERMINAL_PROMPT="0")
    return env


@dataclass
class Run:
    code: int
    log: str
    outputs: dict[str, str]
    summary: str


@dataclass
class Scene:
    tmp: Path
    env: dict[str, str]
    origin: Path
    person: Path
    work: Path
    server: Any
    forge: str = "github"
    runs: int = 0
    extra: dict[str, str] = field(default_factory=dict)

    def git(self, cwd: Path, *args: str) -> str:
        done = subprocess.run(["git", *args], cwd=cwd, env=self.env, capture_output=True, text=True)
        assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
        return done.stdout.strip()

    def clone(self, name: str, *, shallow: bool = True) -> Path:
        dest = self.tmp / name
        args = ["clone", "--quiet"] + (["--depth", "1", self.origin.as_uri()] if shallow else [str(self.origin)])
        self.git(self.tmp, *args, str(dest))
        return dest

    def person_commit(self, path: str, edit, message: str) -> str:
        """The person pulls, edits a file, commits and pushes; returns the commit."""
        self.git(self.person, "pull", "--quiet", "--rebase", "origin", "main")
        f = self.person / path
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(edit(f.read_text() if f.exists() else ""))
        self.git(self.person, "add", "--", path)
        self.git(self.person, "commit", "--quiet", "-m", message)
        self.git(self.person, "push", "--quiet", "origin", "HEAD:main")
        return self.git(self.person, "rev-parse", "HEAD")

    def origin_log(self, fmt: str = "%H %s") -> list[str]:
        return self.git(self.origin, "log", f"--format={fmt}", "main").splitlines()

    def origin_file(self, path: str) -> str:
        return self.git(self.origin, "show", f"main:{path}")

    def action_env(self, **inputs: str) -> dict[str, str]:
        self.runs += 1
        out, summary = self.tmp / f"output{self.runs}", self.tmp / f"summary{self.runs}"
        env = dict(self.env)
        if self.forge == "github":
            env.update(GITHUB_ACTIONS="true", GITHUB_EVENT_NAME="push", GITHUB_REF_NAME="main", GITHUB_REF_TYPE="branch",
                       GITHUB_REPOSITORY="acme/shop", GITHUB_RUN_ID="4242", GITHUB_SERVER_URL="https://github.com",
                       GITHUB_API_URL=self.server.url,
                       GITHUB_OUTPUT=str(out), GITHUB_STEP_SUMMARY=str(summary), GITHUB_TOKEN=TOKEN,
                       INPUT_COMMAND="sync", INPUT_CONFIG="", INPUT_DRY_RUN="false", INPUT_COMMIT="true",
                       INPUT_COMMIT_MESSAGE="")
        else:
            env.update(GITLAB_CI="true", CI_PIPELINE_SOURCE="push", CI_COMMIT_BRANCH="main", CI_PROJECT_PATH="acme/shop",
                       CI_SERVER_HOST="127.0.0.1", CI_JOB_URL="https://gitlab.example/acme/shop/-/jobs/7",
                       CI_SERVER_URL=self.server.url, CI_API_V4_URL=self.server.url + "/api/v4",
                       GUIDESYNC_TOKEN=TOKEN, GUIDESYNC_PUSH_URL=str(self.origin), GUIDESYNC_DOTENV=str(out),
                       GUIDESYNC_SUMMARY=str(summary))
        env.update(self.extra)
        env.update(inputs)
        return env

    def run(self, cwd: Path | None = None, **inputs: str) -> Run:
        """The action's run step, in-process."""
        env = self.action_env(**inputs)
        buf = io.StringIO()
        code = main(["--forge", self.forge], env=env, cwd=cwd or self.work, out=buf)
        return self._result(code, buf.getvalue())

    def run_subprocess(self, cwd: Path | None = None, **inputs: str) -> Run:
        """The action's run step exactly as action.yml runs it: ``python -m guidesync.action``."""
        env = self.action_env(**inputs)
        env["PYTHONPATH"] = str(ROOT)
        done = subprocess.run([sys.executable, "-m", "guidesync.action", "--forge", self.forge], cwd=cwd or self.work,
                              env=env, capture_output=True, text=True, timeout=120)
        return self._result(done.returncode, done.stdout + done.stderr)

    def _result(self, code: int, log: str) -> Run:
        out, summary = self.tmp / f"output{self.runs}", self.tmp / f"summary{self.runs}"
        outputs = {}
        if out.exists():
            for line in out.read_text().splitlines():
                k, _, v = line.partition("=")
                outputs[k] = v
        return Run(code, log, outputs, summary.read_text() if summary.exists() else "")

    def issues(self) -> dict[int, dict[str, Any]]:
        return self.server.issues("acme/shop")


def _config(server: Any, forge: str) -> str:
    return yaml.safe_dump({"tracker": forge, "repository": "acme/shop", "url": server.url, "write_interval": 0,
                           "max_retry_wait": 30, "guides": ["guides/**/*.md"]}, sort_keys=True)


@pytest.fixture
def make_scene(tmp_path: Path):
    made: list[Scene] = []

    def make(forge: str = "github", server_cls: type | None = None, extra_guides: dict[str, str] | None = None) -> Scene:
        if forge == "github":
            server = (server_cls or FakeGitHub)(token=TOKEN, repos=("acme/shop",)).start()
        else:
            server = FakeGitLab(token=TOKEN, projects=("acme/shop",)).start()
        env = _clean_env(tmp_path)
        origin = tmp_path / "origin.git"
        scene = Scene(tmp_path, env, origin, tmp_path / "person", tmp_path / "work", server, forge)
        made.append(scene)
        scene.git(tmp_path, "init", "--quiet", "--bare", "--initial-branch=main", str(origin))
        scene.git(tmp_path, "clone", "--quiet", str(origin), str(scene.person))
        scene.git(scene.person, "config", "user.name", PERSON[0])
        scene.git(scene.person, "config", "user.email", PERSON[1])
        (scene.person / "guides").mkdir()
        for g in GUIDES:
            shutil.copy(EXAMPLES / g, scene.person / "guides" / g)
        for name, text in (extra_guides or {}).items():
            (scene.person / "guides" / name).write_text(text)
        (scene.person / "config").mkdir()
        (scene.person / "config" / "guidesync.yaml").write_text(_config(server, forge))
        (scene.person / "README.md").write_text("# shop\n")
        scene.git(scene.person, "add", "-A")
        scene.git(scene.person, "commit", "--quiet", "-m", "guides")
        scene.git(scene.person, "push", "--quiet", "origin", "HEAD:main")
        scene.git(tmp_path, "clone", "--quiet", "--depth", "1", origin.as_uri(), str(scene.work))
        return scene

    yield make
    for scene in made:
        scene.server.stop()
    for scene in made:
        if scene.forge == "github":
            from tests.openapi_github import validate_log

            # the answers too, but not this file's partial pull requests (only number and html_url)
            errors = validate_log(scene.server.log, responses=False)
            errors += validate_log([e for e in scene.server.log if not e.path.endswith("/pulls")])
            errors = list(dict.fromkeys(errors))
            assert not errors, "requests or answers that GitHub's OpenAPI description rejects:\n" + "\n".join(errors[:20])


def _links(text: str) -> dict[int, str]:
    return {int(m.group(1)): m.group(2) for m in LINK.finditer(text)}


def _racing_git(monkeypatch: pytest.MonkeyPatch, scene: Scene, times: int, edit=None, path: str = "NOTES.md"):
    """Before each of our next ``times`` pushes, the person pushes a commit to main first."""
    real = REAL_GIT
    raced: list[str] = []

    def fake(args, *, cwd, env, check=True):
        if args and args[0] == "push" and len(raced) < times:
            n = len(raced) + 1
            raced.append(scene.person_commit(path, edit or (lambda t, n=n: t + f"note {n}\n"), f"person's commit {n}"))
        return real(args, cwd=cwd, env=env, check=check)

    monkeypatch.setattr(ci_git, "git", fake)
    return raced


# ------------------------------------------------------------------------------------ tests


def test_write_back_commit_lands_on_origin_then_a_second_run_commits_nothing(make_scene):
    scene = make_scene()
    before = scene.origin_log()
    r = scene.run()
    assert r.code == 0, r.log
    issues = scene.issues()
    assert len(issues) == 10

    # One new commit on origin, by the bot, with the message and the trailer naming the run.
    log = scene.origin_log()
    assert len(log) == len(before) + 1 and log[1:] == before
    author = scene.git(scene.origin, "log", "-1", "--format=%an|%ae|%cn|%ce", "main")
    assert author == f"{BOT_NAME}|{BOT_EMAIL}|{BOT_NAME}|{BOT_EMAIL}"
    message = scene.git(scene.origin, "log", "-1", "--format=%B", "main")
    assert message.splitlines()[0] == DEFAULT_MESSAGE
    assert f"{TRAILER}: {RUN_URL}" in message
    files = scene.git(scene.origin, "show", "--name-only", "--format=", "main").splitlines()
    assert sorted(files) == [".guidesync/state.json", "guides/checkout-redesign.md", "guides/phase-1-foundation.md"]
    linked = {**_links(scene.origin_file("guides/phase-1-foundation.md")), **_links(scene.origin_file("guides/checkout-redesign.md"))}
    assert sorted(linked) == sorted(issues)
    assert json.loads(scene.origin_file(".guidesync/state.json"))["tasks"].keys() == {str(n) for n in issues}

    # Outputs: counts and the commit.
    assert r.outputs["created"] == "10" and r.outputs["closed"] == "2"
    assert r.outputs["updated"] == "0" and r.outputs["reopened"] == "0" and r.outputs["guides-changed"] == "2"
    assert r.outputs["commit"] == scene.git(scene.origin, "rev-parse", "main")
    assert r.outputs["pull-request"] == ""

    # Summary: a table with one row per issue, each linking to it.
    assert "| Issue | Task | Done | Where |" in r.summary
    for n, url in linked.items():
        assert f"[#{n}]({url})" in r.summary
        assert url == issues[n]["html_url"]
    row = next(line for line in r.summary.splitlines() if "Seed script" in line)
    assert "created" in row and "guides/phase-1-foundation.md:" in row
    closed = next(line for line in r.summary.splitlines() if "PostgreSQL schema" in line)
    assert "created" in closed and "closed" in closed
    assert "**10** create" in r.summary and "**2** guides changed" in r.summary
    assert TOKEN not in r.log + r.summary + "".join(r.outputs.values())
    # It starts with the milestones' progress (the guides after the run), then what the run did.
    lines = r.summary.splitlines()
    assert lines[:4] == ["### guidesync sync", "", "#### Progress", ""]
    assert "| Phase 1: Foundation | `██░░░░░░░░` 25 % | 1/4 |  |" in lines
    assert lines.index("| **All** | `██░░░░░░░░` 20 % | **2/10** |  |") < lines.index("| Issue | Task | Done | Where |")

    # The second run: nothing changed, nothing committed (the listing mark alone is not committed).
    tip = scene.git(scene.origin, "rev-parse", "main")
    writes = scene.server.counts()["writes"]
    r2 = scene.run(GITHUB_EVENT_NAME="schedule")
    assert r2.code == 0, r2.log
    assert scene.git(scene.origin, "rev-parse", "main") == tip
    assert scene.server.counts()["writes"] == writes
    assert r2.outputs["created"] == "0" and r2.outputs["guides-changed"] == "0" and r2.outputs["commit"] == ""
    assert "Nothing changed." in r2.summary
    assert scene.git(scene.work, "status", "--porcelain", "--", "guides") == ""


def test_a_push_that_races_in_is_kept_by_rebasing_the_write_back(make_scene, monkeypatch):
    scene = make_scene()
    # The person's commit edits a guide too (another line), and adds a file.
    raced = _racing_git(monkeypatch, scene, 1, edit=lambda t: t.replace(
        "Set up the shop's skeleton", "Set up the shop's skeleton (reviewed)"), path="guides/phase-1-foundation.md")
    r = scene.run()
    assert r.code == 0, r.log
    assert len(raced) == 1
    log = scene.origin_log("%H|%an|%s")
    # Ours on top of the person's, which is kept as it was (same commit id).
    assert log[0].split("|")[1:] == [BOT_NAME, DEFAULT_MESSAGE]
    assert log[1].split("|")[0] == raced[0]
    assert scene.git(scene.origin, "rev-parse", "main~1") == raced[0]
    phase = scene.origin_file("guides/phase-1-foundation.md")
    assert "skeleton (reviewed)" in phase and len(_links(phase)) == 4
    assert "moved meanwhile: rebased the write-back" in r.summary
    assert r.outputs["commit"] == scene.git(scene.origin, "rev-parse", "main")
    # No force: the person's clone fast-forwards to origin.
    scene.git(scene.person, "pull", "--quiet", "--ff-only", "origin", "main")


def test_a_run_started_on_an_older_commit_syncs_the_newest_tree(make_scene):
    scene = make_scene()
    assert scene.run(GITHUB_EVENT_NAME="schedule").code == 0
    old = scene.clone("queued")  # checked out at the write-back; then the person checks a box
    scene.person_commit("guides/phase-1-foundation.md", lambda t: t.replace("- [ ] Seed script", "- [x] Seed script"), "seed done")
    person_tip = scene.git(scene.origin, "rev-parse", "main")
    seed = next(n for n, i in scene.issues().items() if i["title"].startswith("Seed script"))
    r = scene.run(cwd=old, GITHUB_EVENT_NAME="schedule")
    assert r.code == 0, r.log
    assert "caught up with main" in r.summary
    assert scene.issues()[seed]["state"] == "closed"
    # The state commit sits on top of the person's commit (a fast-forward, nothing rebased).
    assert scene.git(scene.origin, "rev-parse", "main~1") == person_tip
    assert scene.git(scene.origin, "show", "--name-only", "--format=", "main").split() == [".guidesync/state.json"]


def test_a_branch_that_keeps_moving_fails_clearly_after_bounded_attempts(make_scene, monkeypatch):
    scene = make_scene()
    raced = _racing_git(monkeypatch, scene, PUSH_ATTEMPTS)
    r = scene.run()
    assert r.code == 1
    assert len(raced) == PUSH_ATTEMPTS
    assert f"gave up after {PUSH_ATTEMPTS} push attempts" in r.log and "::error::" in r.log
    # Every person's commit is on origin; ours is not; nothing was forced.
    log = scene.origin_log("%H|%an")
    assert [line.split("|")[0] for line in log[: len(raced)]] == raced[::-1]
    assert all(BOT_NAME not in line for line in log)
    # The issues exist; their links reach the branch on the next run (adopted, never duplicated).
    monkeypatch.setattr(ci_git, "git", REAL_GIT)
    fresh = scene.clone("work2")
    r2 = scene.run(cwd=fresh, GITHUB_EVENT_NAME="schedule")
    assert r2.code == 0, r2.log
    assert len(scene.issues()) == 10
    assert scene.git(scene.origin, "log", "-1", "--format=%an", "main") == BOT_NAME
    assert len(_links(scene.origin_file("guides/checkout-redesign.md"))) == 6


def test_a_conflicting_push_is_never_overwritten(make_scene, monkeypatch):
    scene = make_scene()
    # The person rewrites the very line that gets a link.
    raced = _racing_git(monkeypatch, scene, 1, edit=lambda t: t.replace(
        "- [ ] Seed script `scripts/seed.py` for local development", "- [ ] Seed script `scripts/seed.py` for dev and CI"),
        path="guides/phase-1-foundation.md")
    r = scene.run()
    assert r.code == 1
    assert "conflicts with it (guides/phase-1-foundation.md)" in r.log
    assert scene.git(scene.origin, "rev-parse", "main") == raced[0]
    assert "for dev and CI" in scene.origin_file("guides/phase-1-foundation.md")
    # The rebase was aborted: the checkout is not left half-way.
    assert not (scene.work / ".git" / "rebase-merge").exists() and not (scene.work / ".git" / "rebase-apply").exists()


def test_a_run_triggered_by_its_own_write_back_is_skipped(make_scene):
    scene = make_scene()
    assert scene.run().code == 0
    fresh = scene.clone("work2")  # checked out at the write-back commit, as actions/checkout would
    total = scene.server.counts()["total"]
    r = scene.run_subprocess(cwd=fresh)  # event: push, as the action's own push would be
    assert r.code == 0, r.log
    assert "skipped: the triggering commit is guidesync's own write-back" in r.log
    assert "skipped" in r.summary
    assert scene.server.counts()["total"] == total  # not one request
    assert r.outputs["created"] == "0" and r.outputs["commit"] == ""
    # A scheduled run on the same commit is not skipped.
    r = scene.run(cwd=fresh, GITHUB_EVENT_NAME="schedule")
    assert r.code == 0 and "skipped" not in r.log
    assert scene.server.counts()["total"] > total


def test_lint_problems_become_annotations_and_the_other_guides_are_written_back(make_scene):
    broken = (EXAMPLES / "checkout-redesign.md").read_text().replace("Checkout Redesign", "Broken").replace(
        "### Milestone 2: Single-page checkout", "### Milestone 1: Single-page checkout")
    scene = make_scene(extra_guides={"broken.md": broken})
    line = next(i for i, l in enumerate(broken.splitlines(), 1) if l == "### Milestone 1: Single-page checkout")
    r = scene.run()
    assert r.code == 1  # a guide with errors is a failure...
    assert re.search(rf"^::error file=guides/broken\.md,line={line}::milestone 1 appears twice", r.log, re.MULTILINE), r.log
    # ...but what succeeded is committed.
    assert scene.git(scene.origin, "log", "-1", "--format=%an", "main") == BOT_NAME
    assert len(_links(scene.origin_file("guides/phase-1-foundation.md"))) == 4
    assert _links(scene.origin_file("guides/broken.md")) == {}
    assert "guides with errors are not synced: guides/broken.md" in r.summary


def test_plan_and_dry_run_write_nothing_and_summarise_the_plan(make_scene):
    scene = make_scene()
    before = scene.origin_log()
    r = scene.run(INPUT_COMMAND="plan", GITHUB_EVENT_NAME="pull_request", GITHUB_REF_NAME="7/merge")
    assert r.code == 0, r.log
    assert "| Issue | Task | Would | Where |" in r.summary and "create and close" in r.summary
    assert r.outputs["created"] == "10"
    r = scene.run(INPUT_DRY_RUN="true")
    assert r.code == 0, r.log
    assert scene.server.counts()["writes"] == 0
    assert scene.origin_log() == before
    assert scene.git(scene.work, "status", "--porcelain") == ""


def test_commit_false_writes_guides_but_makes_no_commit(make_scene):
    scene = make_scene()
    before = scene.origin_log()
    r = scene.run(INPUT_COMMIT="false")
    assert r.code == 0, r.log
    assert scene.origin_log() == before
    assert r.outputs["created"] == "10" and r.outputs["commit"] == ""
    assert "guides/phase-1-foundation.md" in scene.git(scene.work, "status", "--porcelain")


def test_pull_request_mode_pushes_a_branch_and_opens_one_pull_request(make_scene):
    scene = make_scene(server_cls=FakeGitHubWithPulls)
    before = scene.origin_log()
    r = scene.run(INPUT_COMMIT="pull-request")
    assert r.code == 0, r.log
    assert scene.origin_log() == before  # the protected branch is untouched
    branch = scene.git(scene.origin, "log", "--format=%H|%an|%P", WRITE_BACK_BRANCH).splitlines()
    assert branch[0].split("|")[1] == BOT_NAME and branch[0].split("|")[2] == before[0].split()[0]
    assert len(scene.server.pulls) == 1
    pr = scene.server.pulls[0]
    assert (pr["head"], pr["base"], pr["state"]) == (WRITE_BACK_BRANCH, "main", "open")
    assert r.outputs["pull-request"].endswith("/acme/shop/pull/900")
    create = scene.server.requests("POST", r"/pulls$")
    assert len(create) == 1 and create[0].body["head"] == WRITE_BACK_BRANCH and create[0].body["base"] == "main"
    assert scene.server.requests("GET", r"/pulls$")[0].query["head"] == ["acme:guidesync/write-back"]

    # While the PR waits, main moves on and an issue is closed: the next run rebuilds the branch from
    # main (the pending links are found again by their markers, never a second issue), pushes it with a
    # lease and keeps the same PR.
    scene.person_commit("guides/checkout-redesign.md", lambda t: t.replace("single page that validates", "single page that checks"),
                        "wording")
    cache = next(n for n, i in scene.issues().items() if i["title"].startswith("Cache cart totals"))
    scene.server.close_issue("acme/shop", cache)
    fresh = scene.clone("work2")
    r = scene.run(cwd=fresh, INPUT_COMMIT="pull-request", GITHUB_EVENT_NAME="schedule")
    assert r.code == 0, r.log
    assert len(scene.server.pulls) == 1 and len(scene.server.requests("POST", r"/pulls$")) == 1
    assert "updated pull request #900" in r.summary
    tip = scene.git(scene.origin, "rev-parse", WRITE_BACK_BRANCH)
    assert scene.git(scene.origin, "rev-parse", f"{tip}^") == scene.git(scene.origin, "rev-parse", "main")
    assert scene.git(scene.origin, "log", "-1", "--format=%an", tip) == BOT_NAME
    assert len(scene.issues()) == 10
    row = next(line for line in r.summary.splitlines() if "Cache cart totals" in line)
    assert f"[#{cache}](" in row and "checked" in row
    impl = scene.git(scene.origin, "show", f"{WRITE_BACK_BRANCH}:guides/checkout-redesign.md")
    assert "- [x] Cache cart totals" in impl and "single page that checks" in impl
    assert len(_links(impl)) == 6
    assert r.outputs["commit"] == tip

    # A third run with nothing new keeps the pending branch as it is: no new commit, no push.
    r = scene.run(cwd=scene.clone("work3"), INPUT_COMMIT="pull-request", GITHUB_EVENT_NAME="schedule")
    assert r.code == 0, r.log
    assert scene.git(scene.origin, "rev-parse", WRITE_BACK_BRANCH) == tip
    assert "already holds these changes" in r.summary and r.outputs["commit"] == tip
    assert len(scene.server.pulls) == 1


def test_pull_request_mode_reports_an_api_failure_after_pushing_the_branch(make_scene):
    scene = make_scene()  # the plain fake has no pull request endpoints: 404
    r = scene.run(INPUT_COMMIT="pull-request")
    assert r.code == 1
    assert "::error::the write-back is on guidesync/write-back, but opening its pull request failed: " in r.log
    assert "GitHub answered 404" in r.log
    assert scene.git(scene.origin, "log", "-1", "--format=%an", WRITE_BACK_BRANCH) == BOT_NAME
    assert r.outputs["commit"] and r.outputs["pull-request"] == ""


def test_gitlab_job_pushes_with_the_token_and_keeps_the_loop_guard(make_scene):
    scene = make_scene("gitlab")
    r = scene.run()
    assert r.code == 0, r.log
    assert len(scene.server.issues("acme/shop")) == 10
    assert scene.git(scene.origin, "log", "-1", "--format=%an|%s", "main") == f"guidesync[bot]|{DEFAULT_MESSAGE}"
    assert "Guidesync-Write-Back: https://gitlab.example/acme/shop/-/jobs/7" in scene.git(scene.origin, "log", "-1", "--format=%B", "main")
    assert "GUIDESYNC_CREATED=10" in (scene.tmp / "output1").read_text()
    assert "| Issue | Task | Done | Where |" in r.summary
    assert TOKEN not in r.log
    # The pipeline its own push would start does nothing.
    fresh = scene.clone("work2")
    total = scene.server.counts()["total"]
    r = scene.run(cwd=fresh)
    assert r.code == 0 and "skipped" in r.log
    assert scene.server.counts()["total"] == total


def test_gitlab_push_authenticates_through_the_environment_only(tmp_path):
    s = Settings(tracker="gitlab", token="glpat-secret", push_url="https://gitlab.example/acme/shop.git")
    repo = Repo(tmp_path, {"PATH": os.environ.get("PATH", "")}, s)
    env = repo._env()
    assert env["GIT_CONFIG_KEY_0"] == "http.extraHeader"
    assert env["GIT_CONFIG_VALUE_0"].startswith("Authorization: Basic ")
    assert "glpat-secret" not in repo.remote
    assert repo.redact("fatal: " + env["GIT_CONFIG_VALUE_0"]) == "fatal: Authorization: Basic ***"


@pytest.mark.parametrize("env,message", [
    ({"INPUT_COMMAND": "deploy"}, "input command: expected one of sync, push, pull, plan, report"),
    ({"INPUT_DRY_RUN": "maybe"}, "input dry-run: expected true or false"),
    ({"INPUT_COMMIT": "sometimes"}, "input commit: expected true or false"),
])
def test_bad_inputs_are_usage_errors(env, message):
    buf = io.StringIO()
    assert main(["--forge", "github"], env=env, cwd=".", out=buf) == 2
    assert message in buf.getvalue()


@pytest.mark.parametrize("module", ["guidesync.action", "guidesync.ci"])
def test_both_entry_points_run_the_same_script(module, tmp_path):
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), "INPUT_COMMAND": "deploy"}
    done = subprocess.run([sys.executable, "-m", module, "--forge", "github"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout, done.stderr) == (
        2, "::error::input command: expected one of sync, push, pull, plan, report, not 'deploy'\n", "")
    shown = subprocess.run([sys.executable, "-m", module, "--help"], cwd=tmp_path, env=env, capture_output=True, text=True,
                           timeout=120)
    assert shown.returncode == 0 and f"usage: python -m {module} " in shown.stdout


def test_every_input_is_read_from_its_variable():
    env = {"INPUT_COMMAND": "pull", "INPUT_CONFIG": "cfg.yaml", "GITHUB_TOKEN": "t0k", "INPUT_DRY_RUN": "true",
           "INPUT_COMMIT": "pull-request", "INPUT_COMMIT_MESSAGE": "msg", "INPUT_URL": "https://gitlab.example.com"}
    assert set(env) == set(INPUTS.values())
    s = read_settings("github", env)
    assert (s.command, s.config, s.token, s.dry_run, s.commit, s.message, s.url) == (
        "pull", "cfg.yaml", "t0k", True, "pull-request", "msg", "https://gitlab.example.com")
    g = read_settings("gitlab", {GITLAB_INPUTS[k]: env[v] for k, v in INPUTS.items() if k != "commit"})
    assert (g.command, g.config, g.token, g.dry_run, g.message, g.url) == (
        "pull", "cfg.yaml", "t0k", True, "msg", "https://gitlab.example.com")
    defaults = read_settings("github", {})
    assert (defaults.command, defaults.dry_run, defaults.commit, defaults.message) == ("sync", False, "true", DEFAULT_MESSAGE)


def test_annotation_escapes_properties_and_message():
    line = problem_annotation({"file": "a,b:c.md", "line": 3, "severity": "warning", "message": "100% bad\nreally"})
    assert line == "::warning file=a%2Cb%3Ac.md,line=3::100%25 bad%0Areally"


def test_init_ci_writes_the_workflow_or_the_gitlab_job(tmp_path):
    from guidesync import commands

    ctx = commands.Context(root=tmp_path, env={}, use_gh=False)
    out = commands.init(ctx, tracker="github", repository="acme/shop", ci=True)
    assert out.code == 0, out.text
    wf = yaml.safe_load((tmp_path / ".github/workflows/guidesync.yml").read_text())
    assert wf["jobs"]["sync"]["steps"][1]["uses"] == ACTION_REF
    assert (tmp_path / "config/guidesync.yaml").exists()
    # Config kept, GitLab job written; an existing file is not overwritten without --force.
    out = commands.init(ctx, tracker="gitlab", ci=True)
    assert out.code == 0 and "kept the existing config/guidesync.yaml" in out.text
    assert (tmp_path / ".gitlab/guidesync.gitlab-ci.yml").read_text() == gitlab_job()
    out = commands.init(ctx, tracker="gitlab", ci=True)
    assert out.code == 2 and "already exists" in out.text


def test_a_box_checked_by_pull_names_its_issue(make_workspace):
    ws = make_workspace("github")
    assert ws.run("push").code == 0
    n = next(int(m.group(1)) for line in ws.read("phase-1-foundation.md").splitlines() if "Seed script" in line
             for m in [LINK.search(line)] if m)
    ws.forge.close(n)
    out = ws.run("pull", as_json=True)
    assert out.code == 0, out.text
    checked = [e for e in out.data["events"] if e["action"] == "checked"]
    assert len(checked) == 1
    assert checked[0].get("issue") == n  # the summary table and `guidesync pull` output ("checked  (file:line)") need it


def test_cli_init_ci_option(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from guidesync.cli import app

    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["init", "--tracker", "gitlab", "--repository", "acme/shop", "--ci"])
    assert result.exit_code == 0, result.output
    assert "wrote .gitlab/guidesync.gitlab-ci.yml" in result.output and "GUIDESYNC_TOKEN" in result.output
    assert yaml.safe_load((tmp_path / ".gitlab/guidesync.gitlab-ci.yml").read_text())["guidesync"]["script"][-1] == \
        "python -m guidesync.action --forge gitlab"
    assert yaml.safe_load((tmp_path / "config/guidesync.yaml").read_text())["tracker"] == "gitlab"
    assert not (tmp_path / ".github").exists()


@pytest.mark.parametrize("flag", ["--tracker", "--forge"])
def test_the_tracker_flag_has_its_old_name_as_an_alias(flag):
    """``--tracker`` names the tracker as everywhere else; ``--forge``, which workflows already use, still works."""
    buf = io.StringIO()
    code = main([flag, "gitlab"], env={"GUIDESYNC_COMMAND": "deploy"}, out=buf)
    assert (code, buf.getvalue()) == (2, "guidesync: error: input command: expected one of sync, push, pull, plan, report, not 'deploy'\n")
