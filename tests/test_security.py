"""Issue 11: what a pull request, a hostile server or a forged issue can make guidesync do.

Each test plays one attacker against the real clients over HTTP on 127.0.0.1: a pull request that
edits the configuration, a server (or a proxy) that redirects, paginates for ever or answers odd
URLs, an issue whose marker was forged. ``tests/capture.py`` has the servers that record what
reaches the attacker; ``tests/test_secrets.py`` runs the same paths with a sentinel token.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
import yaml

from guidesync.ci import git as ci_git
from guidesync.ci.git import WRITE_BACK_BRANCH, Repo
from guidesync.ci.run import main
from guidesync.ci.settings import Settings, read_settings
from guidesync.config import Config, ConfigError, find_token, load_config
from tests.capture import Capture
from tests.conftest import FORGES, TOKEN
from tests.fakes.base import Response

OTHER_SECRET = "other-secret-of-the-job-5e1f"


def ci_env(ws, forge: str, **extra: str) -> dict[str, str]:
    """The environment of a pull request's plan job: the CI names the tracker, the job has a second secret."""
    url = ws.forge.server.url
    if forge == "github":
        env = {"GITHUB_ACTIONS": "true", "GITHUB_API_URL": url, "GITHUB_REPOSITORY": "acme/shop",
               "GITHUB_EVENT_NAME": "pull_request", "GITHUB_REF_NAME": "7/merge", "GITHUB_TOKEN": TOKEN,
               "INPUT_COMMAND": "plan", "INPUT_COMMIT": "false"}
    else:
        env = {"GITLAB_CI": "true", "CI_API_V4_URL": url + "/api/v4", "CI_SERVER_URL": url, "CI_PROJECT_PATH": "acme/shop",
               "CI_PIPELINE_SOURCE": "merge_request_event", "GUIDESYNC_TOKEN": TOKEN,
               "GUIDESYNC_COMMAND": "plan", "GUIDESYNC_COMMIT": "false"}
    env.update(OTHER_SECRET_VAR=OTHER_SECRET, PATH=os.environ.get("PATH", ""), **extra)
    return env


def run_action(ws, forge: str, env: dict[str, str]) -> tuple[int, str]:
    out = io.StringIO()
    code = main(["--forge", forge], env=env, cwd=str(ws.root), out=out)
    return code, out.getvalue()


def pr_config(ws, **keys) -> None:
    """The pull request's own config/guidesync.yaml (the plan job reads the PR's files)."""
    raw = yaml.safe_load((ws.root / "config" / "guidesync.yaml").read_text())
    raw.update(keys)
    (ws.root / "config" / "guidesync.yaml").write_text(yaml.safe_dump(raw))


# -- 1. a pull request does not choose where the token goes -----------------------------------------


@pytest.mark.parametrize("forge", FORGES)
def test_a_pull_request_cannot_send_the_token_to_its_own_server(make_workspace, forge):
    ws = make_workspace(forge)
    attacker = Capture().start()
    try:
        pr_config(ws, url=attacker.url, token_env="OTHER_SECRET_VAR")
        code, log = run_action(ws, forge, ci_env(ws, forge))
        assert attacker.got == [], "the pull request's url was used"
        assert code == 2, log
        variable = "GITHUB_API_URL" if forge == "github" else "CI_API_V4_URL"
        assert f"config/guidesync.yaml: key 'url' ({attacker.url}) disagrees with {variable}" in log
        # Without the url, the plan runs against the CI's tracker with the action's token, not the
        # variable the pull request named (the fake accepts the job token only: no 401).
        pr_config(ws, url=ws.forge.server.url, token_env="OTHER_SECRET_VAR")
        code, log = run_action(ws, forge, ci_env(ws, forge))
        assert code == 0, log
        assert ws.forge.server.log and all(e.status != 401 for e in ws.forge.server.log)
        assert attacker.got == [] and OTHER_SECRET not in log
    finally:
        attacker.stop()


def test_inside_ci_the_url_comes_from_the_ci_and_a_disagreeing_config_is_refused(tmp_path):
    cfg_path = tmp_path / "guidesync.yaml"
    cfg_path.write_text("tracker: github\nrepository: acme/shop\nurl: https://evil.example/api/v3\n")
    env = {"GITHUB_ACTIONS": "true", "GITHUB_API_URL": "https://api.github.com"}
    with pytest.raises(ConfigError, match=r"guidesync.yaml: key 'url' \(https://evil.example/api/v3\) disagrees with GITHUB_API_URL"):
        load_config(cfg_path, env)
    # The same file by hand: its url is used.
    assert load_config(cfg_path, {}).api_url == "https://evil.example/api/v3"
    # A url that agrees (trailing slash, case of the host) is fine: configs of the earlier version keep working.
    cfg_path.write_text("tracker: github\nrepository: acme/shop\nurl: https://API.github.com/\n")
    cfg = load_config(cfg_path, env)
    assert (cfg.api_url, cfg.url_source, cfg.ci) == ("https://api.github.com", "GITHUB_API_URL", "github")
    # No url in the file: the CI's own; GitLab takes CI_API_V4_URL (an instance under a path too).
    cfg_path.write_text("tracker: gitlab\n")
    cfg = load_config(cfg_path, {"GITLAB_CI": "true", "CI_API_V4_URL": "https://example.com/gitlab/api/v4",
                                 "CI_SERVER_URL": "https://example.com/gitlab"})
    assert (cfg.api_url, cfg.url_source) == ("https://example.com/gitlab", "CI_API_V4_URL")
    cfg_path.write_text("tracker: gitlab\nurl: https://example.com/gitlab/api/v4\n")
    assert load_config(cfg_path, {"GITLAB_CI": "true", "CI_SERVER_URL": "https://example.com/gitlab"}).url_source == "CI_SERVER_URL"
    # Another forge's tracker inside CI: the action's url input, else that forge's public default.
    cfg_path.write_text("tracker: gitlab\nurl: https://gitlab.example.com\n")
    with pytest.raises(ConfigError, match="disagrees with the default"):
        load_config(cfg_path, {"GITHUB_ACTIONS": "true", "GITHUB_API_URL": "https://api.github.com"})
    cfg = load_config(cfg_path, {"GITHUB_ACTIONS": "true", "GUIDESYNC_URL": "https://gitlab.example.com"})
    assert (cfg.api_url, cfg.url_source) == ("https://gitlab.example.com", "GUIDESYNC_URL")


def test_token_env_is_not_honoured_inside_ci(tmp_path):
    cfg_path = tmp_path / "guidesync.yaml"
    cfg_path.write_text("tracker: github\ntoken_env: OTHER_SECRET_VAR\n")
    env = {"OTHER_SECRET_VAR": OTHER_SECRET, "GITHUB_TOKEN": TOKEN}
    assert find_token(load_config(cfg_path, env), env, use_gh=False).reveal() == OTHER_SECRET  # by hand: honoured
    for ci in ({"GITHUB_ACTIONS": "true"}, {"GITLAB_CI": "true"}):
        cfg = load_config(cfg_path, {**env, **ci})
        token = find_token(cfg, {**env, **ci}, use_gh=False)
        assert token is not None and token.reveal() == TOKEN and token.source == "GITHUB_TOKEN"
    assert find_token(Config(token_env="OTHER_SECRET_VAR", ci="github"), {"OTHER_SECRET_VAR": OTHER_SECRET}) is None


@pytest.mark.parametrize("url", ["http://ghe.example.com/api/v3", "http://10.0.0.7/api/v3", "HTTP://gitlab.example.com",
                                 "http://127.0.0.1.example.com"])
def test_plain_http_is_refused_unless_the_host_is_this_machine(tmp_path, url):
    cfg_path = tmp_path / "guidesync.yaml"
    cfg_path.write_text(f"tracker: github\nrepository: acme/shop\nurl: {url}\n")
    with pytest.raises(ConfigError) as info:
        load_config(cfg_path, {})
    assert "key 'url'" in str(info.value) and str(cfg_path) in str(info.value)
    # ... from the CI's variables too
    cfg_path.write_text("tracker: github\n")
    if url.lower().startswith("http://"):
        with pytest.raises(ConfigError, match="GITHUB_API_URL"):
            load_config(cfg_path, {"GITHUB_ACTIONS": "true", "GITHUB_API_URL": url})
        with pytest.raises(ConfigError, match="GITHUB_API_URL"):
            load_config(cfg_path, {"GITHUB_API_URL": url})


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "http://127.9.9.9/api/v3", "http://localhost:1/x", "http://[::1]:9"])
def test_plain_http_to_this_machine_stays_allowed(tmp_path, url):
    cfg_path = tmp_path / "guidesync.yaml"
    cfg_path.write_text(f"tracker: gitlab\nrepository: acme/shop\nurl: '{url}'\n")
    assert load_config(cfg_path, {}).url == url


def test_a_plain_http_push_url_is_refused():
    env = {"GUIDESYNC_PUSH_URL": "http://gitlab.example.com/acme/shop.git", "GUIDESYNC_TOKEN": "t"}
    out = io.StringIO()
    assert main(["--forge", "gitlab"], env=env, cwd=".", out=out) == 2
    assert "plain http" in out.getvalue()
    assert read_settings("gitlab", {"GUIDESYNC_PUSH_URL": "http://127.0.0.1:9/acme/shop.git"}).push_url


# -- 2. the write-back branch of `commit: pull-request` is not trusted ----------------------------

from tests.test_action import BOT_NAME, FakeGitHubWithPulls, make_scene  # noqa: E402,F401  (a fixture)

EVIL_GUIDE = """# Phase 9: Laundered - Detailed Implementation Guide

## Deliverables Checklist

- [ ] Laundered task one
- [ ] Laundered task two
"""


def test_the_write_back_branch_is_rebuilt_from_the_base_and_never_merged(make_scene):
    scene = make_scene(server_cls=FakeGitHubWithPulls)
    assert scene.run(INPUT_COMMIT="pull-request").code == 0
    attacker = Capture().start()
    try:
        # Somebody who may push guidesync/write-back (but not main) adds a guide, a workflow and a
        # config pointing at their server, hoping the next sync merges and runs them.
        evil = scene.clone("evil", shallow=False)
        scene.git(evil, "checkout", "--quiet", "-B", "wb", f"origin/{WRITE_BACK_BRANCH}")
        (evil / "guides" / "laundered.md").write_text(EVIL_GUIDE)
        (evil / ".github" / "workflows").mkdir(parents=True)
        (evil / ".github" / "workflows" / "evil.yml").write_text("on: push\n")
        cfg = yaml.safe_load((evil / "config" / "guidesync.yaml").read_text())
        cfg.update(url=attacker.url, token_env="GITHUB_TOKEN")
        (evil / "config" / "guidesync.yaml").write_text(yaml.safe_dump(cfg))
        scene.git(evil, "add", "-A")
        scene.git(evil, "-c", "user.name=Mallory", "-c", "user.email=m@example.com", "commit", "--quiet", "-m", "tweak")
        scene.git(evil, "push", "--quiet", "origin", f"HEAD:refs/heads/{WRITE_BACK_BRANCH}")
        scene.server.close_issue("acme/shop", next(n for n, i in scene.issues().items() if i["title"].startswith("Seed script")))

        r = scene.run(cwd=scene.clone("work2"), INPUT_COMMIT="pull-request", GITHUB_EVENT_NAME="schedule")
        assert r.code == 0, r.log
        assert attacker.got == []
        assert not any("Laundered" in i["title"] for i in scene.issues().values()) and len(scene.issues()) == 10
        tip = scene.git(scene.origin, "rev-parse", WRITE_BACK_BRANCH)
        # The branch is main plus the bot's one commit: Mallory's commit and files are gone.
        assert scene.git(scene.origin, "rev-list", "--count", f"main..{tip}") == "1"
        assert scene.git(scene.origin, "rev-parse", f"{tip}^") == scene.git(scene.origin, "rev-parse", "main")
        assert scene.git(scene.origin, "log", "-1", "--format=%an", tip) == BOT_NAME
        files = scene.git(scene.origin, "ls-tree", "-r", "--name-only", tip).splitlines()
        assert "guides/laundered.md" not in files and ".github/workflows/evil.yml" not in files
        assert scene.git(scene.origin, "show", f"{tip}:config/guidesync.yaml") == scene.origin_file("config/guidesync.yaml")
        assert "- [x] Seed script" in scene.git(scene.origin, "show", f"{tip}:guides/phase-1-foundation.md")
        assert len(scene.server.pulls) == 1
    finally:
        attacker.stop()


def test_a_write_back_branch_that_moves_during_the_run_is_not_overwritten(make_scene, monkeypatch):
    scene = make_scene(server_cls=FakeGitHubWithPulls)
    assert scene.run(INPUT_COMMIT="pull-request").code == 0
    scene.server.close_issue("acme/shop", next(n for n, i in scene.issues().items() if i["title"].startswith("Seed script")))
    real = ci_git.git
    other = scene.clone("other", shallow=False)

    def racing(args, *, cwd, env, check=True):
        if args and args[0] == "push" and any(a.startswith("--force-with-lease") for a in args):
            scene.git(other, "push", "--quiet", "--force", "origin", f"main:refs/heads/{WRITE_BACK_BRANCH}")
        return real(args, cwd=cwd, env=env, check=check)

    monkeypatch.setattr(ci_git, "git", racing)
    r = scene.run(cwd=scene.clone("work2"), INPUT_COMMIT="pull-request", GITHUB_EVENT_NAME="schedule")
    assert r.code == 1 and f"push to {WRITE_BACK_BRANCH} was refused" in r.log
    assert scene.git(scene.origin, "rev-parse", WRITE_BACK_BRANCH) == scene.git(scene.origin, "rev-parse", "main")


# -- 3. no redirect takes the token to another host (API and git push) -----------------------------

from guidesync import commands  # noqa: E402
from tests.capture import GitBackend, redirect_to  # noqa: E402

LISTING = {"github": r"/repos/acme/shop/issues$", "gitlab": r"/projects/acme%2Fshop/issues$"}


def _redirect(ws, attacker, method: str, path: str, status: int, host: str = "127.0.0.1") -> None:
    where = attacker.url.replace("127.0.0.1", host)
    ws.forge.server.add_fault(method=method, path=path, kind="status", status=status, times=1000,
                              headers={"Location": where + path.rstrip("$").replace("\\", "")}, body=None)


@pytest.mark.parametrize("forge", FORGES)
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirected_listing_is_an_error_and_the_token_stays_home(make_workspace, forge, status):
    ws = make_workspace(forge)
    attacker = Capture().start()
    try:
        _redirect(ws, attacker, "GET", LISTING[forge], status, host="localhost" if status == 301 else "127.0.0.1")
        with pytest.raises(commands.Fatal, match=r"redirect"):
            ws.run("push")
        assert attacker.got == []
        assert ws.forge.writes() == 0 and not (ws.root / ".guidesync").exists()  # nothing written from that listing
    finally:
        attacker.stop()


@pytest.mark.parametrize("forge", FORGES)
@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirected_write_is_an_error_and_is_not_replayed(make_workspace, forge, status):
    ws = make_workspace(forge, guides=("phase-1-foundation.md",))
    attacker = Capture(lambda req: Response(201, {})).start()  # it would accept a replayed write
    try:
        _redirect(ws, attacker, "POST", ws.forge.create_path, status)
        out = ws.run("push")
        assert out.code == 1
        assert attacker.got == [], [(r.method, r.path) for r in attacker.got]
        errors = out.data.errors
        assert errors and all("redirect" in e or "gone" in e or "moved" in e for e in errors), errors
        assert ws.forge.issues() == {}
    finally:
        attacker.stop()


def test_git_push_follows_no_redirect_with_the_token(make_scene):
    scene = make_scene("gitlab")
    backend = GitBackend(scene.tmp).start()  # serves origin.git, as a hostile host would
    redirector = Capture(redirect_to(backend.url)).start()
    try:
        r = scene.run(GUIDESYNC_PUSH_URL=redirector.url + "/origin.git")
        assert backend.got == [] and backend.credentials() == []
        assert redirector.credentials()  # the configured host got the header, and only it
        assert r.code != 0 and "302" in r.log and TOKEN not in r.log
        assert scene.git(scene.origin, "log", "-1", "--format=%an", "main") != "guidesync[bot]"
    finally:
        redirector.stop()
        backend.stop()


# -- 8. a listing that never ends fails the run before any write -----------------------------------

import re  # noqa: E402

from guidesync.trackers.github import GitHubTracker  # noqa: E402
from guidesync.trackers.gitlab import GitLabTracker  # noqa: E402


def _endless(ws, forge: str, *, fresh: bool, total_pages: int | None = None) -> list[int]:
    """The issues listing always offers a next page: the same issues again, or new ones every time."""
    server, real = ws.forge.server, ws.forge.server.handle
    served: list[int] = []

    def handle(req):
        if req.method == "GET" and re.search(LISTING[forge], req.path):
            page = int(req.arg("page", "1") or 1)
            served.append(page)
            first = page * 100 if fresh else 100
            body = [{"id": n, "number": n, "iid": n} for n in range(first, first + 100)]
            if page >= 50:  # a safety valve: without the fix the test fails instead of hanging
                return Response(200, body)
            if forge == "github":
                headers = {"Link": f'<{server.url}{req.path}?labels=guidesync&per_page=100&page={page + 1}>; rel="next"'}
            else:
                headers = {"X-Next-Page": str(page + 1), "X-Page": str(page)}
                if total_pages is not None:
                    headers["X-Total-Pages"] = str(total_pages)
            return Response(200, body, headers)
        return real(req)

    server.handle = handle
    return served


def _forget_hostile_answers(ws, forge: str) -> None:
    """The attacker's answers are not GitHub's: kept out of the OpenAPI check at teardown."""
    log = ws.forge.server.log
    log[:] = [e for e in log if not (e.method == "GET" and re.search(LISTING[forge], e.path))]


@pytest.mark.parametrize("forge", FORGES)
def test_a_listing_that_repeats_itself_fails_before_any_write(make_workspace, forge):
    ws = make_workspace(forge)
    served = _endless(ws, forge, fresh=False)
    with pytest.raises(commands.Fatal, match="listing issues: page 2 brought nothing not listed before"):
        ws.run("sync")
    assert served == [1, 2]
    assert ws.forge.writes() == 0 and not (ws.root / ".guidesync").exists()
    _forget_hostile_answers(ws, forge)
    assert "([#" not in ws.read("phase-1-foundation.md")


@pytest.mark.parametrize("forge", FORGES)
def test_a_listing_with_ever_new_pages_stops_at_the_cap(make_workspace, forge, monkeypatch):
    ws = make_workspace(forge)
    cls = GitHubTracker if forge == "github" else GitLabTracker
    monkeypatch.setattr(cls, "max_listed", 1000)  # the real cap is MAX_LISTED: 1,000 pages of 100
    served = _endless(ws, forge, fresh=True)
    with pytest.raises(commands.Fatal, match=r"listing issues: the server offers more than 10 pages of 100 \(1000 items"):
        ws.run("sync")
    assert served == list(range(1, 11))
    assert ws.forge.writes() == 0 and not (ws.root / ".guidesync").exists()
    _forget_hostile_answers(ws, forge)


def test_gitlab_stops_past_the_total_pages_it_announced(make_workspace):
    ws = make_workspace("gitlab")
    served = _endless(ws, "gitlab", fresh=True, total_pages=3)
    with pytest.raises(commands.Fatal, match="offers page 4 but said there are 3 pages"):
        ws.run("push")
    assert served == [1, 2, 3] and ws.forge.writes() == 0


def test_the_page_cap_is_derived_from_the_documented_maximum():
    from guidesync.trackers.base import MAX_LISTED, PageGuard

    assert MAX_LISTED == 100_000
    assert PageGuard("x", 100, MAX_LISTED).max_pages == 1000
    assert PageGuard("x", 30, 100).max_pages == 4


# -- 10. the next-page host check holds under python -O ---------------------------------------------

import subprocess  # noqa: E402
import sys  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
_LIST_UNDER_O = """
import sys
from guidesync.trackers.base import CallPolicy, TrackerError
from guidesync.trackers.github import GitHubTracker
from guidesync.trackers.gitlab import GitLabTracker
forge, url, token = sys.argv[1:4]
cls = GitHubTracker if forge == "github" else GitLabTracker
tracker = cls("acme/shop", token, url=url, policy=CallPolicy(write_interval=0, max_retries=0, sleep=lambda s: None), timeout=5)
try:
    listing = tracker.list_milestones({})
    print("LISTED", len(listing.items))
except TrackerError as exc:
    print("ERROR", exc)
try:
    assert False
    print("ASSERTS OFF")
except AssertionError:
    print("ASSERTS ON")
"""


@pytest.mark.parametrize("forge", FORGES)
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_next_page_links_are_checked_by_guidesync_even_under_python_O(forge, host):
    attacker = Capture(lambda req: Response(200, [])).start()
    base = "" if forge == "github" else "/api/v4"
    listing = "/repos/acme/shop/milestones" if forge == "github" else "/api/v4/projects/acme%2Fshop/milestones"

    def answer(req):
        if req.path == listing and req.arg("page") in (None, "1"):
            link = attacker.url.replace("127.0.0.1", host) + listing + "?page=2&per_page=100&state=all"
            return Response(200, [{"id": 1, "number": 1, "title": "Phase 1"}], {"Link": f'<{link}>; rel="next"'})
        return Response(200, [])

    home = Capture(answer).start()
    try:
        done = subprocess.run([sys.executable, "-O", "-c", _LIST_UNDER_O, forge, home.url + base, TOKEN],
                              env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONOPTIMIZE": "1"},
                              capture_output=True, text=True, timeout=60)
        assert attacker.got == [], "the token followed the next-page link to another host"
        assert "ASSERTS OFF" in done.stdout, done.stdout + done.stderr
        assert TOKEN in home.credentials()[0]
        if forge == "github":
            assert "ERROR listing milestones: the next page is on http://" in done.stdout, done.stdout + done.stderr
            assert len(home.got) == 1  # not even the foreign path on the API's own host
        else:
            # GitLab: only the page number is taken from the Link; page 2 is asked on our own path.
            assert "LISTED 1" in done.stdout, done.stdout + done.stderr
            # then, once, whether updated_after filters milestones: on our own path as well
            assert [r.query.get("page") for r in home.got] == [None, ["2"], None]
            assert home.got[2].path == listing and home.got[2].query["updated_after"] == ["2999-01-01T00:00:00Z"]
    finally:
        attacker.stop()
        home.stop()


# -- 4. only this issue's own page is ever written into a guide ------------------------------------

from guidesync.core.model import IssueLink  # noqa: E402
from guidesync.core.edit import Edit, WritebackError, apply_edits  # noqa: E402


def _forge_urls(ws, forge: str, bad) -> None:
    """Every issue in every answer gets ``bad(url, number)`` as its web URL."""
    server, real = ws.forge.server, ws.forge.server.handle
    key, num = ("html_url", "number") if forge == "github" else ("web_url", "iid")

    def fix(item):
        if isinstance(item, dict) and key in item and num in item and ("/issues/" in str(item[key])):
            item[key] = bad(item[key], item[num])

    def handle(req):
        resp = real(req)
        body = resp.body
        for item in body if isinstance(body, list) else [body]:
            fix(item)
        return resp

    server.handle = handle


HOSTILE_URLS = {
    "newline": lambda url, n: url + "\n- [ ] Injected task one\n- [ ] Injected task two",
    "paren": lambda url, n: url + ")) and more ([#1](https://evil.example",
    "space": lambda url, n: url + " https://evil.example",
    "control": lambda url, n: url + "\x1b[2J",
    "other issue": lambda url, n: url.rsplit("/", 1)[0] + f"/{n + 100}",
    "other host": lambda url, n: "https://evil.example/acme/shop/" + ("issues" if "/-/" not in url else "-/issues") + f"/{n}",
}


@pytest.mark.parametrize("forge", FORGES)
@pytest.mark.parametrize("kind", list(HOSTILE_URLS))
def test_an_issue_url_that_is_not_its_own_page_is_never_written(make_workspace, forge, kind):
    ws = make_workspace(forge, guides=("phase-1-foundation.md",))
    before = ws.read("phase-1-foundation.md")
    _forge_urls(ws, forge, HOSTILE_URLS[kind])
    out = ws.run("push")
    text = ws.read("phase-1-foundation.md")
    assert "Injected" not in text and "evil.example" not in text and "\x1b" not in text
    assert len(text.splitlines()) == len(before.splitlines())
    assert "([#" not in text  # no link written ...
    issues = ws.forge.issues()
    assert len(issues) == 4
    for n in issues:  # ... and a warning names each issue
        assert f"issue #{n}: the tracker gave" in out.text and "the link is not written" in out.text
    # The next run finds them again by their markers: never a second issue.
    again = ws.run("sync")
    assert len(ws.forge.issues()) == 4 and "([#" not in ws.read("phase-1-foundation.md"), again.text


def test_the_writer_refuses_a_link_that_is_not_a_plain_url():
    from guidesync.core.model import plain_url

    text = "- [ ] task\n- [ ] other\n"
    assert apply_edits(text, [Edit(0, link=IssueLink(3, "https://github.com/a/b/issues/3"))]) == \
        "- [ ] task ([#3](https://github.com/a/b/issues/3))\n- [ ] other\n"
    for url in ("https://x/issues/3\n- [ ] evil", "https://x/issues/3)", "https://x/issues/3 x", "https://x/\u2028",
                "https://x/\u202e", "javascript:alert(1)", "", "https://x/\x00"):
        assert not plain_url(url)
        with pytest.raises(WritebackError, match="refusing to write the issue link"):
            apply_edits(text, [Edit(0, link=IssueLink(3, url))])


# -- 5. nothing from a file or the tracker reaches the runner as a workflow command ------------------

from typer.testing import CliRunner  # noqa: E402

from guidesync.cli import app  # noqa: E402

FORGED_MARKER = "<!-- guidesync:task guide=::add-mask::secret\x1b[2J key=0123456789abcdef -->"
BAD_GUIDE = """# Implementation Guide: Broken

## Implementation Milestones

### Milestone 1: One

**Changes Required**:

- [ ] a task

### Milestone 1: Again

**Changes Required**:

- [ ] another task
"""


def _commands(text: str) -> list[str]:
    """Lines the GitHub runner would take as workflow commands (it trims leading blanks), and the
    older ``##[`` syntax anywhere on a line."""
    return [line for line in text.splitlines() if line.lstrip().startswith("::") or "##[" in line]


def _cli(ws, forge: str, *args: str):
    return CliRunner().invoke(app, list(args), env=ws.forge.env())


@pytest.mark.parametrize("forge", FORGES)
def test_a_forged_marker_and_a_hostile_file_name_print_no_workflow_command(make_workspace, forge, monkeypatch):
    ws = make_workspace(forge)
    for var in ("GITHUB_ACTIONS", "GITLAB_CI", "GITHUB_API_URL", "CI_SERVER_URL"):
        monkeypatch.delenv(var, raising=False)
    # A guide at the root whose name is a workflow command, with a structure problem to report.
    (ws.root / "::stop-commands::pwned.md").write_text(BAD_GUIDE)
    (ws.root / "##[add-mask]x.md").write_text(BAD_GUIDE.replace("Broken", "Also broken"))
    # An issue with the label and a forged marker, opened by anybody who may open issues.
    if forge == "github":
        ws.forge.server.create_issue("acme/shop", "forged", body=FORGED_MARKER, labels=["guidesync"])
    else:
        ws.forge.server.create_issue("acme/shop", "forged", description=FORGED_MARKER, labels=["guidesync"])
    outputs = []
    for args in (["lint"], ["lint", "--github"], ["status"], ["plan"], ["push", "--verbose"], ["sync", "--json"], ["plan", "--json"]):
        result = _cli(ws, forge, *args)
        assert "Traceback" not in result.output, result.output
        outputs.append((args, result.stdout + result.stderr))
    for args, text in outputs:
        own = [line for line in _commands(text) if args == ["lint", "--github"] and line.startswith(("::error file=", "::warning file="))]
        assert _commands(text) == own, (args, text)
        assert "\x1b" not in text, args
    plan = dict((" ".join(a), t) for a, t in outputs)["plan"]
    assert "\\::add-mask::secret\\x1b[2J: warning: issue #" in plan  # still readable, no longer a command
    lint = dict((" ".join(a), t) for a, t in outputs)["lint --github"]
    assert "::error file=%3A%3Astop-commands%3A%3Apwned.md,line=11::milestone 1 appears twice" in lint, lint
    assert "\\::stop-commands::pwned.md:" in lint and "##\\[add-mask]x.md" in lint


def test_the_action_log_carries_only_its_own_commands(make_workspace, tmp_path):
    ws = make_workspace("github")
    (ws.root / "::add-mask::pwned.md").write_text(BAD_GUIDE)
    ws.forge.server.create_issue("acme/shop", "forged", body=FORGED_MARKER, labels=["guidesync"])
    ws.forge.server.add_fault(method="POST", path=r"/milestones$", kind="status", status=422, times=100,
                              body={"message": "bad\n::stop-commands::x\r\x1b[31m", "errors": []})
    env = {"GITHUB_TOKEN": TOKEN, "GITHUB_EVENT_NAME": "workflow_dispatch", "INPUT_COMMIT": "false",
           "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"), "PATH": os.environ.get("PATH", "")}
    code, log = run_action(ws, "github", env)
    assert code == 1
    for line in _commands(log):
        assert line.startswith(("::error file=", "::warning file=", "::error::")), line
    assert "\x1b" not in log and "\r" not in log  # (the server's "::stop-commands::" is mid-line: text)
    assert "::error file=%3A%3Aadd-mask%3A%3Apwned.md,line=" in log
    summary = (tmp_path / "summary.md").read_text()
    assert "\x1b" not in summary and "\r" not in summary


def test_one_escaping_function_and_the_toolkit_escapes():
    from guidesync.core.escape import annotation, escape_data, escape_property, shown

    assert shown("::error::x\n  ::add-mask::y\nok :: fine\n##[group]z") == \
        "\\::error::x\n  \\::add-mask::y\nok :: fine\n##\\[group]z"
    assert shown("a\x1b[2Jb\rc\x00d\x7fe\x9bf\u2028g\u202eh\ti") == "a\\x1b[2Jb\\x0dc\\x00d\\x7fe\\x9bf\\u2028g\\u202eh\ti"
    assert escape_data("100%\r\n::x") == "100%25%0D%0A::x"
    assert escape_property("a,b:c%\n") == "a%2Cb%3Ac%25%0A"
    assert annotation("error", "m\x1b\n::add-mask::s", "::x,y.md", 3) == \
        "::error file=%3A%3Ax%2Cy.md,line=3::m\\x1b%0A::add-mask::s"


def test_a_file_name_with_control_characters_is_never_a_guide(make_workspace):
    ws = make_workspace("github", guides=("phase-1-foundation.md",))
    odd = ws.root / "guides" / "a\n::add-mask::b.md"
    odd.write_text(BAD_GUIDE)
    result = _cli(ws, "github", "lint")
    assert "the file name contains control characters; skipped" in result.stdout and _commands(result.stdout) == []
    result = _cli(ws, "github", "plan", "--offline", str(odd))
    assert result.exit_code == 2 and "the file name contains control characters; refused" in result.stderr
    assert _commands(result.stderr) == []


# -- 6. guide paths are literal pathspecs ----------------------------------------------------------


def test_guide_names_are_literal_paths_for_git(make_scene):
    guide = (Path(__file__).resolve().parent.parent / "examples" / "guides" / "phase-1-foundation.md").read_text()
    names = {"*.md": guide.replace("Phase 1: Foundation", "Phase 2: Star"), "notes.md": "team notes\n"}
    scene = make_scene(extra_guides=names)
    # Unrelated changes lie in the checkout (another step of the job made them): never committed.
    (scene.work / "guides" / "notes.md").write_text("scratch\n")
    (scene.work / "guides" / "untracked.md").write_text("scratch\n")
    (scene.work / "README.md").write_text("# changed by another step\n")
    r = scene.run()
    assert r.code == 0, r.log
    files = set(scene.git(scene.origin, "show", "--name-only", "--format=", "main").splitlines())
    assert files == {".guidesync/state.json", "guides/checkout-redesign.md", "guides/phase-1-foundation.md",
                     "guides/*.md"}, files
    assert "([#" in scene.origin_file("guides/*.md")
    assert scene.origin_file("README.md") == "# shop" and scene.origin_file("guides/notes.md") == "team notes"
    assert scene.git(scene.work, "diff", "--cached", "--name-only") == ""  # nothing else left staged


def test_git_takes_a_guide_named_like_pathspec_magic_as_that_file(tmp_path):
    from tests.test_action import _clean_env

    env = _clean_env(tmp_path)
    root = tmp_path / "repo"
    subprocess.run(["git", "init", "--quiet", str(root)], env=env, check=True)
    for name in (":!x.md", "x.md", "other.md"):
        (root / name).write_text("one\n")
    subprocess.run(["git", "add", "-A"], cwd=root, env=env, check=True)
    subprocess.run(["git", "-c", "user.name=a", "-c", "user.email=a@b", "commit", "--quiet", "-m", "base"], cwd=root, env=env, check=True)
    for name in (":!x.md", "x.md", "other.md"):
        (root / name).write_text("two\n")
    repo = Repo(root, env, Settings(tracker="github"))
    assert repo.changed([":!x.md"]) == [":!x.md"]
    repo.commit([":!x.md"], "write-back", "true")
    done = subprocess.run(["git", "show", "--name-only", "--format=", "HEAD"], cwd=root, env=env, capture_output=True, text=True)
    assert done.stdout.split() == [":!x.md"]  # not "everything but x.md"


# -- 7. the state file stays inside the checkout -------------------------------------------------


@pytest.mark.parametrize("how", [".guidesync link", "state.json link", "linked folder deeper"])
def test_a_state_file_through_a_symbolic_link_is_refused(make_workspace, tmp_path, how):
    ws = make_workspace("github", guides=("phase-1-foundation.md",))
    outside = tmp_path / "outside"
    outside.mkdir()
    if how == ".guidesync link":
        (ws.root / ".guidesync").symlink_to(outside, target_is_directory=True)
        shown_path = ".guidesync"
    elif how == "state.json link":
        (ws.root / ".guidesync").mkdir()
        (ws.root / ".guidesync" / "state.json").symlink_to(outside / "state.json")
        shown_path = ".guidesync/state.json"
    else:
        (ws.root / "deep").symlink_to(outside, target_is_directory=True)
        ws.write_config(state_file="deep/state/state.json")
        shown_path = "deep"
    result = _cli(ws, "github", "push")
    assert result.exit_code == 2, result.output
    assert f"key 'state_file'" in result.stderr and f"{shown_path} is a symbolic link" in result.stderr
    assert list(outside.rglob("*")) == [] and ws.forge.writes() == 0


@pytest.mark.parametrize("value", ["../state.json", "/tmp/state.json", "a/../../state.json", "C:\\\\state.json", ""])
def test_a_state_file_outside_the_repository_is_a_config_error(tmp_path, value):
    cfg_path = tmp_path / "guidesync.yaml"
    cfg_path.write_text(yaml.safe_dump({"state_file": value}))
    with pytest.raises(ConfigError, match=rf"{re.escape(str(cfg_path))}:1: key 'state_file'"):
        load_config(cfg_path, {})
    for fine in (".guidesync/state.json", "docs/sync-state.json"):
        cfg_path.write_text(yaml.safe_dump({"state_file": fine}))
        assert load_config(cfg_path, {}).state_file == fine
