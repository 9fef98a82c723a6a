"""The token goes to the tracker and nowhere else.

Every command runs through the real Typer CLI with a sentinel token in the environment, against the
fake forges, on success paths and on failure paths (bad token, unknown repository, server errors,
rate limit exhausted, lost responses, a token the HTTP layer refuses), with ``--verbose`` and
``--json`` where the command takes them and with every logger at DEBUG. The sentinel must appear in
none of: stdout, stderr, the exception and its traceback, the log records, any file of the checkout
(guides, state, config), the requests the fake received (except the credential header, which it
stores redacted), and the CI job summary and outputs.
"""

from __future__ import annotations

import inspect
import io
import json
import logging
import os
import stat
import traceback
from pathlib import Path

import pytest
from typer.testing import CliRunner

from guidesync import commands
from guidesync.cli import app
from guidesync.config import Config, ConfigError, Secret, find_token, load_config
from tests.conftest import FORGES

SENTINEL = "ghp_SENTINEL_a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8"
SENTINEL_GL = "glpat-SENTINEL_z9y8x7w6v5u4t3s2r1q0"
WRONG = "ghp_SENTINEL_WRONG_0f1e2d3c4b5a69788796a5b4c3d2e1f0"
BROKEN = "ghp_SENTINEL_broken\nghp_SENTINEL_second_half"  # a newline: the HTTP layer refuses the header
SECRETS = (SENTINEL, SENTINEL_GL, WRONG, "ghp_SENTINEL_broken", "ghp_SENTINEL_second_half", "SENTINEL")
CI_VARIABLES = ("GITHUB_TOKEN", "GH_TOKEN", "GITLAB_TOKEN", "GITHUB_ACTIONS", "GITLAB_CI", "GITHUB_REPOSITORY",
                "CI_PROJECT_PATH", "GITHUB_API_URL", "CI_SERVER_URL", "GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT",
                "GUIDESYNC_TOKEN", "GUIDESYNC_SUMMARY", "GUIDESYNC_DOTENV")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, caplog):
    for name in CI_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    caplog.set_level(logging.DEBUG)  # PyGithub, python-gitlab, urllib3: everything they would log
    caplog.set_level(logging.INFO, logger="markdown_it")  # its DEBUG trace of the parser is slow and token-free


def token_for(forge: str) -> str:
    return SENTINEL if forge == "github" else SENTINEL_GL


def env_for(forge: str, token: str) -> dict[str, str]:
    return {"GITHUB_TOKEN": token} if forge == "github" else {"GITLAB_TOKEN": token}


def secure_workspace(make_workspace, forge: str, **kw):
    ws = make_workspace(forge, **kw)
    ws.forge.server.token = token_for(forge)  # the fake accepts the sentinel and nothing else
    # Failure paths retry without sleeping for real: waits are capped at 0 s.
    ws.write_config(max_retries=2, max_retry_wait=0)
    return ws


def assert_nowhere(ws, caplog, *texts: str) -> None:
    """No secret in the given texts, the log records, the checkout's files or the fake's request log."""
    # Log records and requests already checked for this workspace (both lists only grow).
    records_done, requests_done = getattr(ws, "secrets_checked", (0, 0))
    records = caplog.records[records_done:]
    requests = ws.forge.server.log[requests_done:]
    ws.secrets_checked = (records_done + len(records), requests_done + len(requests))
    logged = [rec.getMessage() + repr(rec.args) for rec in records]
    sent = [json.dumps([e.path, e.query, e.body, e.headers], ensure_ascii=False) for e in requests]
    files = {path: path.read_bytes() for path in ws.root.rglob("*") if path.is_file()}
    for secret in SECRETS:
        for t in texts:
            assert secret not in t, f"{secret!r} leaked: ...{t[max(0, t.find(secret) - 200): t.find(secret) + 60]}..."
        for line in logged:
            assert secret not in line, f"{secret!r} logged: {line[:300]}"
        for path, data in files.items():
            assert secret.encode() not in data, f"{secret!r} written to {path}"
        for line in sent:
            assert secret not in line, f"{secret!r} sent outside the credential header: {line[:300]}"


def invoke(ws, caplog, args: list[str], token: str | None) -> tuple[int, str]:
    env = env_for(ws.forge.name, token) if token is not None else {}
    result = CliRunner().invoke(app, args, env=env)
    exc_text = ""
    if result.exception is not None:
        exc_text = repr(result.exception) + str(result.exception) + "".join(traceback.format_exception(*result.exc_info))
        if not isinstance(result.exception, SystemExit):
            raise AssertionError(f"{args} crashed:\n{exc_text}")
    out = result.stdout + result.stderr
    assert "Traceback" not in out, out
    assert_nowhere(ws, caplog, result.stdout, result.stderr, result.output, exc_text)
    return result.exit_code, out


def assert_authenticated(ws) -> None:
    """The server got the raw token (it answered, it did not say 401) and logged it redacted."""
    log = ws.forge.server.log
    assert log and all(e.status != 401 for e in log)
    assert any(200 <= e.status < 300 for e in log)
    header = "authorization" if ws.forge.name == "github" else "private-token"
    assert all(e.headers.get(header) == "<redacted>" for e in log)


# -- every command, success paths ------------------------------------------------------------------

SUCCESS = [
    ["lint"], ["lint", "--json"], ["lint", "--github"],
    ["status"], ["status", "--json"],
    ["plan", "--offline"], ["plan", "--offline", "--json"],
    ["plan"], ["plan", "--json"], ["plan", "--full", "--json"],
    ["push", "--dry-run", "--verbose"], ["push", "--dry-run", "--json", "--verbose"],
    ["push", "--verbose"], ["push", "--json", "--verbose"],
    ["pull", "--verbose"], ["pull", "--json", "--verbose"],
    ["sync", "--verbose"], ["sync", "--json", "--verbose"], ["sync", "--full", "--verbose"],
    ["init", "--config", "config/other.yaml", "--repository", "acme/shop"],
    ["init", "--tracker", "gitlab"],  # exists: exit 2
    ["version"],
]


@pytest.mark.parametrize("forge", FORGES)
def test_every_command_on_success_paths_keeps_the_token_secret(make_workspace, caplog, forge):
    ws = secure_workspace(make_workspace, forge)
    token = token_for(forge)
    codes = {}
    for args in SUCCESS:
        code, out = invoke(ws, caplog, args, token)
        codes[" ".join(args)] = code
        if args == ["pull", "--verbose"]:
            ws.forge.close(1)  # something for the syncs to pull
    assert codes["push --verbose"] == 0 and codes["sync --verbose"] == 0 and codes["pull --verbose"] == 0
    assert codes["init --tracker gitlab"] == 2 and codes["version"] == 0
    assert (ws.root / "config" / "other.yaml").exists()
    assert len(ws.forge.issues()) == 10
    assert_authenticated(ws)
    # A guard stop (exit 3) prints its reason, not the token.
    guide = ws.guide("phase-1-foundation.md")
    guide.write_text("# Phase 1: Foundation - Detailed Implementation Guide\n\n## Deliverables Checklist\n\n- [ ] other\n")
    code, out = invoke(ws, caplog, ["push", "--json", "--verbose"], token)
    assert code == 3 and "now has none" in out


# -- failure paths ---------------------------------------------------------------------------------

FAILING = [["plan"], ["plan", "--json"], ["push", "--verbose"], ["push", "--json", "--verbose"],
           ["pull", "--verbose"], ["sync", "--json", "--verbose"], ["sync", "--full", "--verbose"]]


def _bad_token(ws):
    return WRONG, "rejected the token"


def _unknown_repository(ws):
    ws.write_config(repository="acme/nope")
    return token_for(ws.forge.name), "not found"


def _server_error(ws):
    ws.forge.server.add_fault(method=None, path=".", kind="status", status=500, times=100_000,
                              body={"message": "Internal Server Error"})
    return token_for(ws.forge.name), "500"


def _rate_limit_exhausted(ws):
    if ws.forge.name == "github":
        ws.forge.server.rate_limit = 3  # the primary limit: 403 "API rate limit exceeded" after three requests
    else:
        ws.forge.server.rate_limit(".", method=None, times=100_000, retry_after=3600)
    return token_for(ws.forge.name), "rate limit" if ws.forge.name == "github" else "asks to wait 3600 s"


def _lost_responses(ws):
    ws.forge.server.add_fault(method="POST", path=ws.forge.create_path, kind="drop_after", times=100_000)
    ws.forge.server.add_fault(method="GET", path=r"/issues/\d+$", kind="drop_before", times=100_000)
    # and, from the push on (listings 1-3 are the two plans' and the push's own), the look-up by
    # marker that follows a lost creation, and every listing after it
    ws.forge.server.add_fault(method="GET", path=r"/issues$", kind="drop_before", nth=4, times=100_000)
    return token_for(ws.forge.name), "answer was lost"


def _refused_header(ws):
    return BROKEN, "connection problem"


SCENARIOS = [_bad_token, _unknown_repository, _server_error, _rate_limit_exhausted, _lost_responses, _refused_header]


@pytest.mark.parametrize("forge, scenario", [
    pytest.param(forge, scenario, id=f"{forge}-{scenario.__name__.strip('_')}")
    for forge in FORGES for scenario in SCENARIOS
])
def test_every_tracker_command_on_failure_paths_keeps_the_token_secret(make_workspace, caplog, forge, scenario):
    ws = secure_workspace(make_workspace, forge)
    token, expected = scenario(ws)
    outputs = []
    codes = []
    for args in FAILING:
        code, out = invoke(ws, caplog, args, token)
        codes.append(code)
        outputs.append(out)
    assert any(expected in out for out in outputs), "\n---\n".join(outputs)
    assert any(code == 1 for code in codes), codes
    assert all(code in (0, 1, 2, 3) for code in codes)


# -- the job summary and outputs of the CI entry point ----------------------------------------------


def _action():
    action = pytest.importorskip("guidesync.action")
    main = getattr(action, "main", None)
    if main is None or not {"env", "cwd", "out"} <= set(inspect.signature(main).parameters):
        pytest.skip("guidesync.action has no main(argv, env=, cwd=, out=)")
    return main


@pytest.mark.parametrize("forge", FORGES)
@pytest.mark.parametrize("token_kind", ["good", "bad"])
def test_ci_job_summary_and_outputs_keep_the_token_secret(make_workspace, caplog, tmp_path, forge, token_kind):
    main = _action()
    ws = secure_workspace(make_workspace, forge)
    token = token_for(forge) if token_kind == "good" else WRONG
    summary, outputs = tmp_path / "summary.md", tmp_path / "outputs.txt"
    if forge == "github":
        env = {"GITHUB_TOKEN": token, "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(outputs),
               "GITHUB_EVENT_NAME": "workflow_dispatch", "INPUT_COMMIT": "false", "INPUT_COMMAND": "sync"}
        argv = ["--forge", "github"]
    else:
        env = {"GUIDESYNC_TOKEN": token, "GUIDESYNC_SUMMARY": str(summary), "GUIDESYNC_DOTENV": str(outputs),
               "CI_PIPELINE_SOURCE": "web", "GUIDESYNC_COMMIT": "false", "GUIDESYNC_COMMAND": "sync"}
        argv = ["--forge", "gitlab"]
    env["PATH"] = os.environ.get("PATH", "")
    out = io.StringIO()
    code = main(argv, env=env, cwd=str(ws.root), out=out)
    texts = [out.getvalue(), summary.read_text() if summary.exists() else "", outputs.read_text() if outputs.exists() else ""]
    assert_nowhere(ws, caplog, *texts)
    if token_kind == "good":
        assert code == 0, texts[0]
        assert len(ws.forge.issues()) == 10 and "10" in texts[2]
        assert_authenticated(ws)
    else:
        assert code == 1 and "rejected the token" in texts[0] + texts[1]


# -- where tokens come from ------------------------------------------------------------------------


def test_secret_never_shows_its_value():
    s = Secret(SENTINEL, "GITHUB_TOKEN")
    for shown in (repr(s), str(s), f"{s}", f"{s!r}", "%s" % s, repr([s]), repr({"t": s})):
        assert SENTINEL not in shown and "GITHUB_TOKEN" in shown
    assert s.reveal() == SENTINEL
    assert not hasattr(s, "__dict__")  # __slots__: vars() and pickling-by-dict cannot expose it


def test_token_comes_from_the_environment_and_is_stripped():
    cfg = Config(tracker="github")
    token = find_token(cfg, {"GITHUB_TOKEN": f"  {SENTINEL}\n"}, use_gh=False)
    assert token is not None and token.reveal() == SENTINEL and token.source == "GITHUB_TOKEN"
    token = find_token(cfg, {"GH_TOKEN": SENTINEL}, use_gh=False)
    assert token.source == "GH_TOKEN"
    assert find_token(cfg, {"GITLAB_TOKEN": SENTINEL}, use_gh=False) is None  # not the GitHub variable
    gl = Config(tracker="gitlab")
    assert find_token(gl, {"GITLAB_TOKEN": SENTINEL_GL}, use_gh=False).reveal() == SENTINEL_GL


def test_token_env_names_the_only_variable_read(tmp_path):
    path = tmp_path / "guidesync.yaml"
    path.write_text("tracker: github\ntoken_env: MY_BOT_TOKEN\n")
    cfg = load_config(path, {})
    assert find_token(cfg, {"GITHUB_TOKEN": WRONG}, use_gh=False) is None
    token = find_token(cfg, {"MY_BOT_TOKEN": SENTINEL, "GITHUB_TOKEN": WRONG})
    assert token.reveal() == SENTINEL and token.source == "MY_BOT_TOKEN"


def _fake_gh(tmp_path: Path, monkeypatch, output: str, code: int = 0) -> Path:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    gh = bindir / "gh"
    calls = tmp_path / "gh-calls"
    gh.write_text(f"#!/bin/sh\necho \"$@\" >> '{calls}'\nprintf '%s\\n' '{output}'\nexit {code}\n")
    gh.chmod(gh.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}")
    return calls


def test_gh_auth_token_is_the_last_resort_and_only_for_github(tmp_path, monkeypatch):
    calls = _fake_gh(tmp_path, monkeypatch, SENTINEL)
    cfg = Config(tracker="github")
    assert find_token(cfg, {"GITHUB_TOKEN": WRONG}).reveal() == WRONG
    assert not calls.exists()  # not asked when the environment has a token
    token = find_token(cfg, {})
    assert token.reveal() == SENTINEL and token.source == "gh auth token"
    assert calls.read_text().split() == ["auth", "token"]
    assert find_token(cfg, {}, use_gh=False) is None
    assert find_token(Config(tracker="gitlab"), {}) is None
    assert find_token(Config(tracker="github", token_env="MY_TOKEN"), {}) is None


def test_gh_token_is_used_by_a_run_and_never_shown(make_workspace, caplog, tmp_path, monkeypatch):
    ws = secure_workspace(make_workspace, "github")
    _fake_gh(tmp_path, monkeypatch, SENTINEL)
    code, out = invoke(ws, caplog, ["push", "--verbose"], None)
    assert code == 0, out
    assert len(ws.forge.issues()) == 10
    assert_authenticated(ws)


def test_a_token_in_the_config_file_is_refused_without_echoing_it(tmp_path):
    path = tmp_path / "guidesync.yaml"
    for text in (f"token: {SENTINEL}\n", f"github_token: {SENTINEL}\n", f"sections:\n  token: {SENTINEL}\n"):
        path.write_text(text)
        with pytest.raises(ConfigError) as info:
            load_config(path, {})
        assert SENTINEL not in str(info.value) and "unknown key" in str(info.value)


def test_missing_token_message_names_the_variables_not_values(make_workspace, caplog):
    ws = secure_workspace(make_workspace, "github")
    code, out = invoke(ws, caplog, ["push"], None)
    assert code == 2 and "GITHUB_TOKEN or GH_TOKEN" in out


def test_loaded_configuration_and_outcomes_hold_no_token(make_workspace):
    ws = secure_workspace(make_workspace, "gitlab")
    env = env_for("gitlab", SENTINEL_GL)
    cfg = load_config(ws.root / "config" / "guidesync.yaml", env)
    assert SENTINEL_GL not in repr(cfg)
    ctx = commands.Context(root=ws.root, env=env, sleep=ws.sleeps.append, use_gh=False)
    outcome = commands.sync(ctx, "push", as_json=True)
    assert outcome.code == 0, outcome.text
    assert SENTINEL_GL not in repr(outcome) and SENTINEL_GL not in outcome.text


def test_crash_tracebacks_show_no_local_variables():
    """Typer's pretty tracebacks can print every frame's locals (the raw token is a local of the
    tracker's constructor); they must stay off whatever Typer's default is."""
    assert app.pretty_exceptions_show_locals is False


# -- issue 11: the new paths (a pull request's plan job, redirects, the write-back pull request) ------


@pytest.mark.parametrize("forge", FORGES)
def test_a_pull_request_plan_job_sends_no_secret_where_the_pull_request_says(make_workspace, caplog, forge):
    """The PR names its own server in `url:` and another secret of the job in `token_env:`: neither
    the job's token nor that secret reaches the PR's server, or any output."""
    from tests.capture import Capture

    main = _action()
    ws = secure_workspace(make_workspace, forge)
    attacker = Capture().start()
    try:
        other = SENTINEL_GL if forge == "github" else SENTINEL  # the job's second secret
        if forge == "github":
            env = {"GITHUB_ACTIONS": "true", "GITHUB_API_URL": ws.forge.server.url, "GITHUB_EVENT_NAME": "pull_request",
                   "GITHUB_TOKEN": token_for(forge), "INPUT_COMMAND": "plan", "INPUT_COMMIT": "false"}
        else:
            env = {"GITLAB_CI": "true", "CI_API_V4_URL": ws.forge.server.url + "/api/v4", "CI_PIPELINE_SOURCE": "merge_request_event",
                   "GUIDESYNC_TOKEN": token_for(forge), "GUIDESYNC_COMMAND": "plan", "GUIDESYNC_COMMIT": "false"}
        env.update(JOB_SECRET=other, PATH=os.environ.get("PATH", ""))
        for url in (attacker.url, ws.forge.server.url):
            ws.write_config(url=url, token_env="JOB_SECRET")
            out = io.StringIO()
            code = main(["--forge", forge], env=env, cwd=str(ws.root), out=out)
            assert_nowhere(ws, caplog, out.getvalue())
            assert code == (2 if url == attacker.url else 0), out.getvalue()
        assert attacker.got == []
        assert_authenticated(ws)  # the job's token, not JOB_SECRET (the fake takes the sentinel only)
    finally:
        attacker.stop()


from tests.test_action import FakeGitHubWithPulls, make_scene  # noqa: E402,F401  (a fixture)


def test_pull_request_mode_sends_and_writes_no_token(make_scene, caplog):
    """``commit: pull-request``: the branch, its commits, the pull request and every output hold no token."""
    import subprocess

    scene = make_scene(server_cls=FakeGitHubWithPulls)
    scene.server.token = SENTINEL
    for run in (1, 2):
        if run == 2:
            scene.server.close_issue("acme/shop", 1)
        r = scene.run(cwd=scene.work if run == 1 else scene.clone("again"), INPUT_COMMIT="pull-request",
                      GITHUB_TOKEN=SENTINEL, GITHUB_EVENT_NAME="schedule")
        assert r.code == 0, r.log
        history = subprocess.run(["git", "log", "-p", "--all", "--format=%H %an %B"], cwd=scene.origin, env=scene.env,
                                 capture_output=True, text=True).stdout
        texts = [r.log, r.summary, "".join(r.outputs.values()), history,
                 json.dumps(scene.server.pulls), json.dumps([[e.path, e.query, e.body, e.headers] for e in scene.server.log])]
        for secret in SECRETS:
            for t in texts:
                assert secret not in t
        for path in scene.tmp.rglob("*"):
            if path.is_file() and ".git" not in path.parts:
                assert SENTINEL.encode() not in path.read_bytes(), path
        assert [line for line in caplog.text.splitlines() if "SENTINEL" in line] == []
    assert len(scene.server.pulls) == 1 and all(e.status != 401 for e in scene.server.log)


@pytest.mark.parametrize("forge", FORGES)
@pytest.mark.parametrize("what", ["listing", "create"])
def test_a_redirect_to_another_host_never_carries_the_token(make_workspace, caplog, forge, what):
    """The forge (or a proxy in front of it) redirects a read or a write elsewhere: nothing follows it."""
    from tests.capture import Capture

    ws = secure_workspace(make_workspace, forge)
    attacker = Capture().start()
    try:
        path = ws.forge.create_path  # the issues collection: listed (GET) and created in (POST)
        method = "POST" if what == "create" else "GET"
        for status in (302, 307):
            ws.forge.server.clear_faults()
            ws.forge.server.add_fault(method=method, path=path, kind="status", status=status, times=1000,
                                      headers={"Location": attacker.url + "/steal"})
            for args in (["push", "--verbose"], ["sync", "--json", "--verbose"]):
                code, out = invoke(ws, caplog, args, token_for(forge))
                assert code in (1, 2) and "redirect" in out, out
        assert attacker.got == [] and "SENTINEL" not in attacker.everything()
    finally:
        attacker.stop()
