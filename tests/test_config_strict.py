"""A strict, helpful configuration (issue 17, point 4): every problem in one run as file:line with a
"did you mean"; the shipped JSON Schema generated from the loader's own key table, and checked both
ways; ``init`` writes the schema line, a self-hosted remote's url, and refuses to guess a host."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from guidesync import __version__
from guidesync.cli import app
from guidesync.config import ConfigError, forge_of, from_mapping, load_config, starter_config
from guidesync.configschema import KEYS, LOADER_ONLY, SCHEMA_URL, dumps, json_schema

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "config" / "guidesync.schema.json"

SEVERAL = """\
tracker: gitub
repositry: acme/shop
labels: []
max_close: -3
sections:
  phase_task: [Tasks]
  milestones: []
project:
  owner: acme/shop
  numbr: 5
timeout: fast
labels: [guidesync]
"""


def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_every_problem_of_the_file_is_reported_with_its_line(tmp_path):
    path = tmp_path / "guidesync.yaml"
    path.write_text(SEVERAL, encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_config(path, {})
    assert exc.value.problems == [
        f"{path}:1: key 'tracker' must be 'github' or 'gitlab', not 'gitub'",
        f"{path}:2: unknown key 'repositry' (did you mean 'repository'?)",
        f"{path}:4: key 'max_close' must not be negative",
        f"{path}:6: unknown key 'sections.phase_task' (did you mean 'sections.phase_tasks'?)",
        f"{path}:7: key 'sections.milestones' must be a list of heading names, not []",
        f"{path}:9: key 'project.owner' must be the login of an organization or user, like 'acme', not 'acme/shop'",
        f"{path}:10: unknown key 'project.numbr' (did you mean 'project.number'?)",
        f"{path}:11: key 'timeout' must be a number of seconds, not str 'fast'",
        f"{path}:12: key 'labels' is given twice (first on line 3); YAML would keep only this one",
    ]
    assert str(exc.value).splitlines() == [f"{path}: 9 problems", *exc.value.problems]


def test_the_cli_prints_them_all_and_exits_2(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "guidesync.yaml").write_text(SEVERAL, encoding="utf-8")
    result = CliRunner().invoke(app, ["lint"])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    where = str(tmp_path / "config" / "guidesync.yaml")
    assert lines[0] == f"guidesync: {where}: 9 problems"
    assert [line.split(": ", 1)[0] for line in lines[1:]] == [f"{where}:{n}" for n in (1, 2, 4, 6, 7, 9, 10, 11, 12)]


def test_one_problem_is_one_line():
    with pytest.raises(ConfigError) as exc:
        from_mapping({"max_close": "10"}, "cfg.yaml")
    assert str(exc.value) == "cfg.yaml: key 'max_close' must be a whole number, not str '10'"
    assert exc.value.problems == [str(exc.value)]


def test_a_misspelt_required_key_is_reported_once():
    with pytest.raises(ConfigError) as exc:
        from_mapping({"project": {"owner": "acme", "numbr": 5}}, "cfg.yaml")
    assert exc.value.problems == ["cfg.yaml: unknown key 'project.numbr' (did you mean 'project.number'?)"]


# -- the schema and the loader ----------------------------------------------------------------------


def test_the_shipped_schema_is_the_generated_one():
    assert SCHEMA.read_text(encoding="utf-8") == dumps(), \
        "regenerate it: python -m guidesync.configschema > config/guidesync.schema.json"
    assert set(json_schema()["properties"]) == set(KEYS)


#: a value of every JSON type, and some edge values, tried on every key
SAMPLES = [None, True, False, 0, 1, -1, 1.5, 2.0, "", " ", "x", "acme/shop", "https://gitlab.example.com",
           "http://127.0.0.1:8080", "../x", "/abs", [], ["x"], [""], [1], {}, {"x": 1}, {"phase_tasks": ["T"]},
           {"owner": "acme", "number": 1}, {"owner": "acme"}]


@pytest.mark.parametrize("key", sorted(KEYS))
def test_schema_and_loader_agree_on_every_sample(key):
    v = validator()
    for value in SAMPLES:
        raw = {key: value}
        schema_ok = not list(v.iter_errors(raw))
        try:
            from_mapping(raw)
            loader_ok = True
        except ConfigError:
            loader_ok = False
        assert schema_ok == loader_ok, f"{key}: {value!r}: schema {'accepts' if schema_ok else 'refuses'} it, " \
                                       f"the loader {'accepts' if loader_ok else 'refuses'} it"


@pytest.mark.parametrize("rule", sorted(LOADER_ONLY))
def test_what_only_the_loader_checks_is_listed_with_an_example(rule):
    raw = LOADER_ONLY[rule]
    assert list(validator().iter_errors(raw)) == [], "the schema refuses it: not a loader-only rule"
    with pytest.raises(ConfigError):
        from_mapping(raw)


# -- init -------------------------------------------------------------------------------------------


def test_the_starter_config_names_the_schema_of_this_version():
    text = starter_config("github", "acme/shop")
    first = text.splitlines()[0]
    assert first == f"# yaml-language-server: $schema={SCHEMA_URL.format(version=__version__)}"
    assert f"/v{__version__}/config/guidesync.schema.json" in first
    assert from_mapping(yaml.safe_load(text)).repository == "acme/shop"
    gitlab = yaml.safe_load(starter_config("gitlab", "g/p", "https://gitlab.example.com"))
    assert gitlab["url"] == "https://gitlab.example.com" and not list(validator().iter_errors(gitlab))


@pytest.mark.parametrize("host, tracker, url", [
    ("github.com", "github", None),
    ("gitlab.com", "gitlab", None),
    ("gitlab.example.com", "gitlab", "https://gitlab.example.com"),
    ("github.acme.example", "github", "https://github.acme.example/api/v3"),
    ("octo.ghe.com", "github", "https://api.octo.ghe.com"),
    ("git.example.org", None, None),
])
def test_what_a_remote_host_says(host, tracker, url):
    forge = forge_of(host, "acme/shop")
    assert (forge.tracker, forge.url) == (tracker, url)


def _init(tmp_path, monkeypatch, remote: str, *args: str):
    root = tmp_path / "repo"
    root.mkdir()
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "remote", "add", "origin", remote], cwd=root, check=True)
    monkeypatch.chdir(root)
    return root, CliRunner().invoke(app, ["init", *args])


def test_init_on_a_self_hosted_gitlab_writes_its_url(tmp_path, monkeypatch):
    root, result = _init(tmp_path, monkeypatch, "ssh://git@gitlab.example.com:2222/acme/platform/shop.git")
    assert result.exit_code == 0, result.output
    raw = yaml.safe_load((root / "config" / "guidesync.yaml").read_text())
    assert (raw["tracker"], raw["repository"], raw["url"]) == ("gitlab", "acme/platform/shop", "https://gitlab.example.com")
    assert "url https://gitlab.example.com taken from the git remote's host gitlab.example.com" in result.stdout
    assert load_config(root / "config" / "guidesync.yaml", {}).api_url == "https://gitlab.example.com"


def test_init_on_a_host_it_cannot_tell_says_so(tmp_path, monkeypatch):
    root, result = _init(tmp_path, monkeypatch, "git@git.example.org:acme/shop.git")
    assert result.exit_code == 2
    assert "git.example.org, which guidesync cannot tell as GitHub or GitLab" in result.output
    assert not (root / "config" / "guidesync.yaml").exists()
    result = CliRunner().invoke(app, ["init", "--tracker", "gitlab"])
    assert result.exit_code == 0, result.output
    raw = yaml.safe_load((root / "config" / "guidesync.yaml").read_text())
    assert (raw["tracker"], raw["url"]) == ("gitlab", "https://git.example.org")
