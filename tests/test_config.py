"""Configuration: defaults, the shipped file and schema, validation messages, CI variables, tokens, git remotes."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
from dataclasses import fields
from pathlib import Path

import jsonschema
import pytest
import yaml

from guidesync.config import (
    Config,
    ConfigError,
    Secret,
    apply_environment,
    file_keys,
    find_token,
    from_mapping,
    load_config,
    remote_repository,
    starter_config,
    suggest_from_git,
)
from guidesync.core.parse import Sections

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "config" / "guidesync.yaml"
SCHEMA = ROOT / "config" / "guidesync.schema.json"
FAKE_TOKEN = "fake-token-for-tests-0000"


def schema() -> dict:
    return json.loads(SCHEMA.read_text(encoding="utf-8"))


def validator() -> jsonschema.Draft202012Validator:
    s = schema()
    jsonschema.Draft202012Validator.check_schema(s)
    return jsonschema.Draft202012Validator(s)


def write(tmp_path: Path, text: str, name: str = "guidesync.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


# -- defaults, the shipped file, the schema ----------------------------------------------------------


def test_defaults():
    c = Config()
    assert c.tracker == "github" and c.repository is None and c.url is None and c.token_env is None
    assert c.guides == ("**/*.md",) and c.exclude == () and c.labels == ("guidesync",)
    assert c.sections == Sections()
    assert c.on_removed == "close" and c.max_close == 50 and c.state_file == ".guidesync/state.json"
    assert c.api_url == "https://api.github.com"
    assert c.pause_between_writes == 1.0
    from dataclasses import replace

    gl = replace(c, tracker="gitlab")
    assert gl.api_url == "https://gitlab.com" and gl.pause_between_writes == 0.3
    assert replace(c, url="https://ghe.example.com/api/v3/").api_url == "https://ghe.example.com/api/v3"
    assert replace(c, write_interval=0).pause_between_writes == 0
    assert c.content_limits == (80, 500) and gl.content_limits == (0, 0)
    assert replace(c, content_per_hour=0).content_limits == (80, 0)


def test_shipped_config_equals_the_code_defaults():
    raw = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    assert set(raw) == set(file_keys()), "the shipped file documents every key"
    assert from_mapping(raw, str(SHIPPED)) == Config()


def test_schema_validates_the_shipped_config():
    raw = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    errors = list(validator().iter_errors(raw))
    assert errors == []


def test_schema_properties_match_the_code():
    s = schema()
    assert set(s["properties"]) == set(file_keys())
    assert s["additionalProperties"] is False
    assert set(s["properties"]["sections"]["properties"]) == {f.name for f in fields(Sections)}
    assert s["properties"]["sections"]["additionalProperties"] is False


def test_starter_config_is_valid():
    for text in (starter_config("github", "acme/shop"), starter_config("gitlab", None)):
        raw = yaml.safe_load(text)
        assert list(validator().iter_errors(raw)) == []
        from_mapping(raw)


BAD = [
    {"trackr": "github"},
    {"tracker": "gitea"},
    {"max_close": True},
    {"max_close": -1},
    {"max_close": 1.5},
    {"timeout": "fast"},
    {"write_interval": False},
    {"labels": []},
    {"labels": ["guidesync", ""]},
    {"guides": "*.md"},
    {"on_removed": "delete"},
    {"sections": {"phase_task": ["x"]}},
    {"sections": {"phase_tasks": []}},
    {"url": 3},
    {"web_url": 3},
    {"web_url": "octo.ghe.com"},
    {"web_url": "https://octo.ghe.com/?x=1"},
    {"web_url": "https://octo.ghe.com/#top"},
]


@pytest.mark.parametrize("raw", BAD, ids=[json.dumps(b) for b in BAD])
def test_schema_and_code_reject_the_same_bad_values(raw):
    assert list(validator().iter_errors(raw)), "the schema accepts it"
    with pytest.raises(ConfigError):
        from_mapping(raw)


GOOD = [
    {},
    {"tracker": "gitlab", "repository": 1234, "url": "https://gitlab.example.com/gitlab"},
    {"repository": "acme/platform/shop", "labels": ["guidesync", "docs"], "max_retry_wait": 1.5},
    {"sections": {"phase_tasks": ["Deliverables", "Checklist"]}, "write_interval": None, "full_sync_hours": 0},
    {"url": "https://api.octo.ghe.com", "web_url": "https://octo.ghe.com/"},
    {"tracker": "gitlab", "url": "https://gitlab.internal:8080", "web_url": "https://example.com/gitlab", "repository": 7},
]


@pytest.mark.parametrize("raw", GOOD, ids=[json.dumps(g) for g in GOOD])
def test_schema_and_code_accept_the_same_good_values(raw):
    assert list(validator().iter_errors(raw)) == []
    from_mapping(raw)


# -- validation messages -----------------------------------------------------------------------------------


def test_unknown_key_is_named_with_a_suggestion():
    with pytest.raises(ConfigError) as exc:
        from_mapping({"tracker": "github", "repositry": "acme/shop"}, "config/guidesync.yaml")
    assert str(exc.value) == "config/guidesync.yaml: unknown key 'repositry' (did you mean 'repository'?)"
    with pytest.raises(ConfigError, match=r"unknown key 'sections.milestone_task' \(did you mean 'sections.milestone_tasks'\?\)"):
        from_mapping({"sections": {"milestone_task": ["Changes"]}})
    with pytest.raises(ConfigError) as exc:
        from_mapping({"zzzzzz": 1})
    assert "unknown key 'zzzzzz'" in str(exc.value) and "did you mean" not in str(exc.value)


@pytest.mark.parametrize(
    "raw, key",
    [
        ({"max_close": "10"}, "max_close"),
        ({"labels": "guidesync"}, "labels"),
        ({"sections": ["Overview"]}, "sections"),
        ({"timeout": [1]}, "timeout"),
        ({"token_env": 5}, "token_env"),
        ({"repository": "not a repo"}, "repository"),
        ({"tracker": 1}, "tracker"),
    ],
)
def test_wrong_types_name_the_key(raw, key):
    with pytest.raises(ConfigError) as exc:
        from_mapping(raw, "cfg.yaml")
    assert str(exc.value).startswith("cfg.yaml: ") and f"'{key}'" in str(exc.value)


@pytest.mark.parametrize("key", ["max_close", "max_retries", "rate_reserve", "timeout", "max_retry_wait", "full_sync_hours", "write_interval"])
def test_bools_are_not_numbers(key):
    with pytest.raises(ConfigError, match=f"key '{key}' must be"):
        from_mapping({key: True})


def test_values_are_normalised():
    c = from_mapping({"guides": ["docs/**/*.md"], "labels": ["a", "b"], "sections": {"phase_tasks": "Tasks"}, "repository": "/acme/shop/"})
    assert c.guides == ("docs/**/*.md",) and c.labels == ("a", "b")
    assert c.sections.phase_tasks == ("Tasks",) and c.sections.phase_description == ("Overview",)
    assert c.repository == "acme/shop" and c.repository_source == "config"
    assert from_mapping({"repository": 1234}).repository == "1234"


def test_invalid_yaml_names_file_and_line(tmp_path):
    p = write(tmp_path, "tracker: github\nlabels: [guidesync\n")
    with pytest.raises(ConfigError) as exc:
        load_config(p, {})
    msg = str(exc.value)
    assert msg.startswith(f"{p}:3: not valid YAML") and "\n" not in msg
    p = write(tmp_path, "tracker: github\n  repository: x\n")
    with pytest.raises(ConfigError, match="^" + re.escape(f"{p}:2: not valid YAML")):
        load_config(p, {})


def test_yaml_python_tags_are_refused(tmp_path):
    flag = tmp_path / "ran"
    p = write(tmp_path, f"tracker: !!python/object/apply:os.system ['touch {flag}']\n")
    with pytest.raises(ConfigError, match="^" + re.escape(f"{p}:1: not valid YAML")):
        load_config(p, {})
    assert not flag.exists()


def test_top_level_must_be_a_mapping(tmp_path):
    p = write(tmp_path, "- tracker\n- github\n")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_config(p, {})


def test_empty_file_is_the_defaults(tmp_path):
    p = write(tmp_path, "# nothing yet\n")
    c = load_config(p, {})
    assert c.path == str(p) and c.tracker == "github" and c.repository is None


def test_invalid_utf8_config_is_named(tmp_path):
    p = tmp_path / "guidesync.yaml"
    p.write_bytes(b"tracker: github\nrepository: \xff\n")
    with pytest.raises(ConfigError, match="^" + re.escape(f"{p}: cannot read")):
        load_config(p, {})


def test_missing_explicit_config_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match=r"nope\.yaml: config file not found"):
        load_config(tmp_path / "nope.yaml", {})


def test_missing_default_config_is_fine(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    c = load_config(None, {})
    assert c == Config()
    c = load_config(tmp_path / "config" / "guidesync.yaml", {}, explicit=False)
    assert c.path is None and c.tracker == "github"


# -- environment -------------------------------------------------------------------------------------------------


def test_github_actions_variables_fill_the_gaps(tmp_path):
    env = {"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "acme/shop", "GITHUB_API_URL": "https://ghe.example.com/api/v3"}
    c = load_config(tmp_path / "missing.yaml", env, explicit=False)
    assert (c.tracker, c.repository, c.repository_source) == ("github", "acme/shop", "GITHUB_REPOSITORY")
    assert c.api_url == "https://ghe.example.com/api/v3"


def test_gitlab_ci_variables_pick_gitlab(tmp_path):
    env = {"GITLAB_CI": "true", "CI_PROJECT_PATH": "acme/platform/shop", "CI_SERVER_URL": "https://gitlab.example.com",
           "GITHUB_REPOSITORY": "wrong/one"}
    c = load_config(tmp_path / "missing.yaml", env, explicit=False)
    assert (c.tracker, c.repository, c.repository_source, c.api_url) == (
        "gitlab", "acme/platform/shop", "CI_PROJECT_PATH", "https://gitlab.example.com")


def test_config_file_wins_over_ci_variables(tmp_path):
    p = write(tmp_path, "tracker: github\nrepository: acme/real\nurl: https://api.github.com\n")
    env = {"GITLAB_CI": "true", "CI_PROJECT_PATH": "x/y", "GITHUB_REPOSITORY": "other/repo", "GITHUB_API_URL": "https://x"}
    c = load_config(p, env)
    assert (c.tracker, c.repository, c.repository_source, c.url) == ("github", "acme/real", "config", "https://api.github.com")


def test_tracker_in_the_file_is_kept_inside_another_ci(tmp_path):
    p = write(tmp_path, "tracker: gitlab\n")
    c = load_config(p, {"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "acme/shop", "CI_PROJECT_PATH": "grp/proj"})
    assert (c.tracker, c.repository) == ("gitlab", "grp/proj")


def test_web_url_from_the_config_wins_and_is_kept_without_a_trailing_slash(tmp_path):
    p = write(tmp_path, "tracker: github\nrepository: acme/shop\nurl: https://api.octo.ghe.com\nweb_url: https://octo.ghe.com/\n")
    env = {"GITHUB_ACTIONS": "true", "GITHUB_API_URL": "https://api.octo.ghe.com", "GITHUB_SERVER_URL": "https://elsewhere.example"}
    c = load_config(p, env)
    assert (c.web_url, c.web_url_source) == ("https://octo.ghe.com", "config")
    assert load_config(p, {}).web_url == "https://octo.ghe.com"


@pytest.mark.parametrize("env, url, expected", [
    # GitHub Actions on GHE.com with data residency: pages and API on different hosts
    ({"GITHUB_API_URL": "https://api.octo.ghe.com", "GITHUB_SERVER_URL": "https://octo.ghe.com"}, None,
     ("https://octo.ghe.com", "GITHUB_SERVER_URL")),
    # the same API configured explicitly (any case, a trailing slash)
    ({"GITHUB_API_URL": "https://api.github.com", "GITHUB_SERVER_URL": "https://github.com/"}, "https://API.github.com/",
     ("https://github.com", "GITHUB_SERVER_URL")),
    # the workflow runs on github.com but syncs a GHE instance (the action's url input names it):
    # the CI's server says nothing about it
    ({"GITHUB_API_URL": "https://api.github.com", "GITHUB_SERVER_URL": "https://github.com",
      "GUIDESYNC_URL": "https://ghe.example.com/api/v3"}, "https://ghe.example.com/api/v3", (None, None)),
    # GITHUB_SERVER_URL alone does not say which API it goes with
    ({"GITHUB_SERVER_URL": "https://github.com"}, None, (None, None)),
])
def test_github_server_url_names_the_web_pages_of_the_ci_own_api(tmp_path, env, url, expected):
    text = "tracker: github\nrepository: acme/shop\n" + (f"url: {url}\n" if url else "")
    c = load_config(write(tmp_path, text), {"GITHUB_ACTIONS": "true", **env})
    assert (c.web_url, c.web_url_source) == expected


@pytest.mark.parametrize("env, url, expected", [
    ({"CI_SERVER_URL": "https://gitlab.example.com"}, None, ("https://gitlab.example.com", "CI_SERVER_URL")),
    ({"CI_SERVER_URL": "https://example.com/gitlab"}, "https://example.com/gitlab/api/v4", ("https://example.com/gitlab", "CI_SERVER_URL")),
    ({"CI_SERVER_URL": "https://gitlab.example.com", "CI_API_V4_URL": "https://gitlab.example.com/api/v4"},
     "https://gitlab.example.com/api/v4/", ("https://gitlab.example.com", "CI_SERVER_URL")),
    # reached by an internal name: the project's web_url is asked of GitLab instead
    ({"CI_SERVER_URL": "https://gitlab.example.com", "GUIDESYNC_URL": "https://gitlab.internal"}, "https://gitlab.internal",
     (None, None)),
])
def test_ci_server_url_names_the_web_pages_of_the_instance_it_runs_on(tmp_path, env, url, expected):
    text = "tracker: gitlab\nrepository: acme/shop\n" + (f"url: {url}\n" if url else "")
    c = load_config(write(tmp_path, text), {"GITLAB_CI": "true", **env})
    assert (c.web_url, c.web_url_source) == expected


def test_no_ci_no_repository():
    c = apply_environment(Config(), {}, tracker_given=False)
    assert c.repository is None and c.repository_source is None and c.tracker == "github"


# -- tokens ---------------------------------------------------------------------------------------------------------


@pytest.fixture
def fake_gh(tmp_path, monkeypatch):
    """A `gh` on PATH whose `auth token` prints what the test sets (or fails)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    gh = bin_dir / "gh"

    def install(token: str | None, calls: Path | None = None) -> Path:
        record = f'echo "$@" >> "{calls}"\n' if calls else ""
        body = f'if [ "$1 $2" = "auth token" ]; then echo "{token}"; exit 0; fi\nexit 1\n' if token else "exit 1\n"
        gh.write_text("#!/bin/sh\n" + record + body)
        gh.chmod(gh.stat().st_mode | stat.S_IEXEC)
        monkeypatch.setenv("PATH", str(bin_dir) + os.pathsep + os.environ.get("PATH", ""))
        return gh

    return install


def test_token_order_github(fake_gh):
    fake_gh(None)
    cfg = Config()
    both = {"GITHUB_TOKEN": "from-github-token", "GH_TOKEN": "from-gh-token"}
    s = find_token(cfg, both)
    assert s.reveal() == "from-github-token" and s.source == "GITHUB_TOKEN"
    s = find_token(cfg, {"GH_TOKEN": "from-gh-token"})
    assert s.reveal() == "from-gh-token" and s.source == "GH_TOKEN"
    s = find_token(cfg, {"GITHUB_TOKEN": "  ", "GH_TOKEN": " padded\n"})
    assert s.reveal() == "padded" and s.source == "GH_TOKEN"
    assert find_token(cfg, {}) is None


def test_token_env_names_the_variable(fake_gh, tmp_path):
    calls = tmp_path / "gh-calls"
    fake_gh("from-gh-cli", calls)
    cfg = Config(token_env="SHOP_TOKEN")
    s = find_token(cfg, {"SHOP_TOKEN": "from-shop", "GITHUB_TOKEN": "from-github-token"})
    assert s.reveal() == "from-shop" and s.source == "SHOP_TOKEN"
    # The named variable replaces the defaults: no silent fallback to another token.
    assert find_token(cfg, {"GITHUB_TOKEN": "from-github-token"}) is None
    assert not calls.exists()


def test_gh_auth_token_fallback(fake_gh, tmp_path):
    calls = tmp_path / "gh-calls"
    fake_gh("from-gh-cli", calls)
    s = find_token(Config(), {})
    assert s.reveal() == "from-gh-cli" and s.source == "gh auth token"
    assert calls.read_text().split() == ["auth", "token"]
    # An environment token is used before asking gh.
    calls.unlink()
    assert find_token(Config(), {"GITHUB_TOKEN": "env"}).reveal() == "env"
    assert not calls.exists()
    # Not asked when use_gh is off, nor for GitLab.
    assert find_token(Config(), {}, use_gh=False) is None
    assert find_token(Config(tracker="gitlab"), {}) is None
    assert not calls.exists()


def test_gh_not_logged_in_gives_no_token(fake_gh):
    fake_gh(None)
    assert find_token(Config(), {}) is None


def test_gh_missing_gives_no_token(tmp_path, monkeypatch):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert find_token(Config(), {}) is None


def test_gitlab_token(fake_gh):
    fake_gh("from-gh-cli")
    cfg = Config(tracker="gitlab")
    s = find_token(cfg, {"GITLAB_TOKEN": "glpat-fake", "GITHUB_TOKEN": "gh"})
    assert s.reveal() == "glpat-fake" and s.source == "GITLAB_TOKEN"
    assert find_token(cfg, {"GITHUB_TOKEN": "gh"}) is None


def test_secret_never_shows_its_value():
    s = Secret(FAKE_TOKEN, "GITHUB_TOKEN")
    for shown in (repr(s), str(s), f"{s}", f"{s!r}", repr([s]), repr({"token": s}), "%s" % s):
        assert FAKE_TOKEN not in shown
        assert "GITHUB_TOKEN" in shown
    assert s.reveal() == FAKE_TOKEN
    assert not hasattr(s, "__dict__")  # no vars() leak


# -- git remotes ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "remote, expected",
    [
        ("git@github.com:acme/shop.git", ("github.com", "acme/shop")),
        ("git@github.com:acme/shop", ("github.com", "acme/shop")),
        ("https://github.com/acme/shop.git", ("github.com", "acme/shop")),
        ("https://github.com/acme/shop", ("github.com", "acme/shop")),
        ("https://github.com/acme/shop/", ("github.com", "acme/shop")),
        ("https://github.com/acme/shop.github.io.git", ("github.com", "acme/shop.github.io")),
        ("ssh://git@github.com/acme/shop.git", ("github.com", "acme/shop")),
        ("https://x-access-token:secret@github.com/acme/shop.git\n", ("github.com", "acme/shop")),
        ("git@gitlab.com:acme/platform/shop.git", ("gitlab.com", "acme/platform/shop")),
        ("https://gitlab.example.com/acme/platform/team/shop.git", ("gitlab.example.com", "acme/platform/team/shop")),
        ("ssh://git@gitlab.example.com:2222/acme/platform/shop.git", ("gitlab.example.com", "acme/platform/shop")),
        ("../local/clone", None),
        ("/srv/git/shop.git", None),
    ],
)
def test_remote_repository(remote, expected):
    assert remote_repository(remote) == expected


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def git_env(tmp_path, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    for var in ("GIT_DIR", "GIT_WORK_TREE"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


@pytest.mark.parametrize(
    "remote, expected",
    [
        ("git@github.com:acme/shop.git", ("github", "acme/shop")),
        ("https://gitlab.example.com/acme/platform/shop.git", ("gitlab", "acme/platform/shop")),
        ("https://oauth2:secret-value@gitlab.com/acme/shop.git", ("gitlab", "acme/shop")),
    ],
)
def test_suggest_from_git(git_env, remote, expected):
    repo = git_env / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    _git(repo, "remote", "add", "origin", remote)
    assert suggest_from_git(str(repo)) == expected


def test_suggest_from_git_without_origin_or_repo(git_env):
    plain = git_env / "plain"
    plain.mkdir()
    assert suggest_from_git(str(plain)) is None
    repo = git_env / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    assert suggest_from_git(str(repo)) is None
    _git(repo, "remote", "add", "upstream", "git@github.com:acme/shop.git")
    assert suggest_from_git(str(repo)) is None  # only origin is asked
