"""Configuration: ``config/guidesync.yaml``, CI variables and defaults, validated with clear messages.

This is the only module that reads ``os.environ`` or asks other programs (git, gh) for settings.
Precedence for each setting: the config file, then the CI's own variables, then the default.
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from .parse import Sections

DEFAULT_PATH = Path("config/guidesync.yaml")
TRACKERS = ("github", "gitlab")
DEFAULT_URLS = {"github": "https://api.github.com", "gitlab": "https://gitlab.com"}
TOKEN_VARIABLES = {"github": ("GITHUB_TOKEN", "GH_TOKEN"), "gitlab": ("GITLAB_TOKEN",)}
#: GitHub asks for a pause of at least one second between content-creating requests; GitLab.com
#: allows a few hundred issue creations a minute per user.
DEFAULT_WRITE_INTERVAL = {"github": 1.0, "gitlab": 0.3}


class ConfigError(Exception):
    """A bad configuration: the message names the file and the key."""


class Secret:
    """A token: never shown by repr/str, only handed to a client by :meth:`reveal`."""

    __slots__ = ("_value", "source")

    def __init__(self, value: str, source: str):
        self._value = value
        self.source = source  # where it came from, e.g. "GITHUB_TOKEN": safe to print

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret(from {self.source})"

    __str__ = __repr__


@dataclass(frozen=True)
class Config:
    tracker: str = "github"
    repository: str | None = None
    url: str | None = None
    web_url: str | None = None  # where the tracker's web pages live, when not where it says
    token_env: str | None = None
    guides: tuple[str, ...] = ("**/*.md",)
    exclude: tuple[str, ...] = ()
    labels: tuple[str, ...] = ("guidesync",)
    sections: Sections = field(default_factory=Sections)
    on_removed: str = "close"
    max_close: int = 50
    state_file: str = ".guidesync/state.json"
    branch: str = "HEAD"
    write_interval: float | None = None
    max_retries: int = 4
    max_retry_wait: float = 120.0
    rate_reserve: int = 20
    full_sync_hours: float = 24.0
    timeout: float = 30.0
    # Not from the file:
    path: str | None = None  # the config file read, if any
    repository_source: str | None = None  # "config", "GITHUB_REPOSITORY", ...
    web_url_source: str | None = None  # "config", "GITHUB_SERVER_URL", "CI_SERVER_URL"

    @property
    def api_url(self) -> str:
        return (self.url or DEFAULT_URLS[self.tracker]).rstrip("/")

    @property
    def pause_between_writes(self) -> float:
        return DEFAULT_WRITE_INTERVAL[self.tracker] if self.write_interval is None else self.write_interval


# key -> (type check, description for messages)
_FILE_KEYS: dict[str, tuple[Any, str]] = {
    "tracker": (str, "'github' or 'gitlab'"),
    "repository": ((str, int, type(None)), "a string like 'owner/name' or 'group/subgroup/project'"),
    "url": ((str, type(None)), "a URL"),
    "web_url": ((str, type(None)), "a URL"),
    "token_env": ((str, type(None)), "the name of an environment variable"),
    "guides": (list, "a list of glob patterns"),
    "exclude": (list, "a list of glob patterns"),
    "labels": (list, "a list of label names"),
    "sections": (dict, "a mapping of section names to lists of headings"),
    "on_removed": (str, "'close' or 'keep'"),
    "max_close": (int, "a whole number"),
    "state_file": (str, "a path"),
    "branch": (str, "a branch name"),
    "write_interval": ((int, float, type(None)), "a number of seconds"),
    "max_retries": (int, "a whole number"),
    "max_retry_wait": ((int, float), "a number of seconds"),
    "rate_reserve": (int, "a whole number"),
    "full_sync_hours": ((int, float), "a number of hours"),
    "timeout": ((int, float), "a number of seconds"),
}
_SECTION_KEYS = tuple(f.name for f in fields(Sections))


def file_keys() -> tuple[str, ...]:
    return tuple(_FILE_KEYS)


def load_config(
    path: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    *,
    explicit: bool | None = None,
) -> Config:
    """Read and validate the config file (default ``config/guidesync.yaml``, optional), then fill
    gaps from the CI's variables. ``explicit``: a missing file is an error (``--config`` given)."""
    env = os.environ if env is None else env
    explicit = path is not None if explicit is None else explicit
    cfg_path = Path(path) if path is not None else DEFAULT_PATH
    raw: Any = {}
    if cfg_path.exists():
        try:
            text = cfg_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{cfg_path}: cannot read: {exc}") from None
        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{cfg_path}:{mark.line + 1}" if mark is not None else str(cfg_path)
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise ConfigError(f"{where}: not valid YAML: {problem}") from None
        if raw is None:
            raw = {}
    elif explicit:
        raise ConfigError(f"{cfg_path}: config file not found")
    cfg = from_mapping(raw, str(cfg_path))
    cfg = replace(cfg, path=str(cfg_path) if cfg_path.exists() else None)
    return apply_environment(cfg, env, tracker_given="tracker" in raw)


def from_mapping(raw: Any, where: str = "config") -> Config:
    """Validate a parsed YAML mapping and build a :class:`Config` (no environment involved)."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: the top level must be a mapping of keys to values")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in _FILE_KEYS:
            raise _unknown_key(str(key), _FILE_KEYS, where)
        kind, desc = _FILE_KEYS[key]
        if isinstance(value, bool) and kind in (int, (int, float), (int, float, type(None))):
            raise ConfigError(f"{where}: key {key!r} must be {desc}, not {value!r}")
        if not isinstance(value, kind):
            raise ConfigError(f"{where}: key {key!r} must be {desc}, not {type(value).__name__} {value!r}")
        values[key] = value
    if "tracker" in values and values["tracker"] not in TRACKERS:
        raise ConfigError(f"{where}: key 'tracker' must be 'github' or 'gitlab', not {values['tracker']!r}")
    if "on_removed" in values and values["on_removed"] not in ("close", "keep"):
        raise ConfigError(f"{where}: key 'on_removed' must be 'close' or 'keep', not {values['on_removed']!r}")
    for key in ("guides", "exclude", "labels"):
        if key in values:
            items = values[key]
            if not all(isinstance(x, str) and x.strip() for x in items):
                raise ConfigError(f"{where}: key {key!r} must be a list of non-empty strings")
            values[key] = tuple(items)
    if "labels" in values and not values["labels"]:
        raise ConfigError(f"{where}: key 'labels' needs at least one label (it marks managed issues)")
    for key in ("max_close", "max_retries", "rate_reserve"):
        if key in values and values[key] < 0:
            raise ConfigError(f"{where}: key {key!r} must not be negative")
    for key in ("write_interval", "max_retry_wait", "full_sync_hours", "timeout"):
        if values.get(key) is not None and values[key] < 0:
            raise ConfigError(f"{where}: key {key!r} must not be negative")
    if values.get("url") is not None and not re.fullmatch(r"https?://[^/\s?#]+(/\S*)?", values["url"]):
        raise ConfigError(f"{where}: key 'url' must be an http(s) URL like https://gitlab.example.com, not {values['url']!r}")
    if values.get("web_url") is not None:
        if not re.fullmatch(r"https?://[^/\s?#@]+(/[^\s?#]*)?", values["web_url"]):
            raise ConfigError(f"{where}: key 'web_url' must be an http(s) URL like https://octo.ghe.com "
                              f"(no query or fragment), not {values['web_url']!r}")
        values["web_url"] = values["web_url"].rstrip("/")
        values["web_url_source"] = "config"
    if "repository" in values and values["repository"] is not None:
        values["repository"] = str(values["repository"]).strip("/")
        if not re.fullmatch(r"\d+|[\w.-]+(/[\w.-]+)+", values["repository"]):
            raise ConfigError(f"{where}: key 'repository' must look like 'owner/name', not {values['repository']!r}")
        values["repository_source"] = "config"
    if "sections" in values:
        values["sections"] = _sections(values["sections"], where)
    return Config(**values)


def _unknown_key(key: str, known: Iterable[str], where: str, prefix: str = "") -> ConfigError:
    hint = difflib.get_close_matches(key, list(known), n=1)
    extra = f" (did you mean {hint[0]!r}?)" if hint else ""
    return ConfigError(f"{where}: unknown key {prefix + key!r}{extra}")


def _sections(raw: dict[str, Any], where: str) -> Sections:
    out: dict[str, tuple[str, ...]] = {}
    for key, value in raw.items():
        if key not in _SECTION_KEYS:
            raise _unknown_key(str(key), _SECTION_KEYS, where, prefix="sections.")
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value or not all(isinstance(x, str) and x.strip() for x in value):
            raise ConfigError(f"{where}: key 'sections.{key}' must be a list of heading names")
        out[key] = tuple(value)
    return Sections(**out)


def apply_environment(cfg: Config, env: Mapping[str, str], *, tracker_given: bool = True) -> Config:
    """Fill the tracker, repository and URL from the CI's variables where the file left them out."""
    tracker = cfg.tracker
    if not tracker_given:
        if env.get("GITLAB_CI"):
            tracker = "gitlab"
        elif env.get("GITHUB_ACTIONS"):
            tracker = "github"
    repository, source = cfg.repository, cfg.repository_source
    url = cfg.url
    if tracker == "github":
        if repository is None and env.get("GITHUB_REPOSITORY"):
            repository, source = env["GITHUB_REPOSITORY"], "GITHUB_REPOSITORY"
        if url is None and env.get("GITHUB_API_URL"):
            url = env["GITHUB_API_URL"]
    else:
        if repository is None and env.get("CI_PROJECT_PATH"):
            repository, source = env["CI_PROJECT_PATH"], "CI_PROJECT_PATH"
        if url is None and env.get("CI_SERVER_URL"):
            url = env["CI_SERVER_URL"]
    web_url, web_source = cfg.web_url, cfg.web_url_source
    if web_url is None:
        web_url, web_source = _ci_web_url(tracker, url, env)
    return replace(cfg, tracker=tracker, repository=repository, repository_source=source, url=url,
                   web_url=web_url, web_url_source=web_source)


def _same_place(a: str, b: str) -> bool:
    return a.strip().rstrip("/").lower() == b.strip().rstrip("/").lower()


def _ci_web_url(tracker: str, url: str | None, env: Mapping[str, str]) -> tuple[str | None, str | None]:
    """Where the CI says its forge's web pages are (GITHUB_SERVER_URL, GitLab's CI_SERVER_URL,
    which is its external_url), when the tracker is reached where the CI says its API is. A
    tracker reached some other way (another instance, an internal name) is asked instead."""
    if tracker == "github":
        server, api = env.get("GITHUB_SERVER_URL", "").strip(), env.get("GITHUB_API_URL", "").strip()
        if server and api and _same_place(url or DEFAULT_URLS["github"], api):
            return server.rstrip("/"), "GITHUB_SERVER_URL"
        return None, None
    server = env.get("CI_SERVER_URL", "").strip()
    if not server:
        return None, None
    reached = (url or DEFAULT_URLS["gitlab"]).strip().rstrip("/")
    if reached.lower().endswith("/api/v4"):
        reached = reached[: -len("/api/v4")]
    api = env.get("CI_API_V4_URL", "").strip().rstrip("/")
    if _same_place(reached, server) or (api and _same_place(url or "", api)):
        return server.rstrip("/"), "CI_SERVER_URL"
    return None, None


def find_token(cfg: Config, env: Mapping[str, str] | None = None, *, use_gh: bool = True) -> Secret | None:
    """The tracker token: the variable named by ``token_env``, else the forge's usual variables,
    else (GitHub) ``gh auth token``. None when there is none."""
    env = os.environ if env is None else env
    names = (cfg.token_env,) if cfg.token_env else TOKEN_VARIABLES[cfg.tracker]
    for name in names:
        value = env.get(name, "").strip()
        if value:
            return Secret(value, name)
    if cfg.tracker == "github" and use_gh and not cfg.token_env:
        out = run_command(["gh", "auth", "token"])
        if out:
            return Secret(out.strip(), "gh auth token")
    return None


def run_command(args: list[str], cwd: str | None = None) -> str | None:
    """Run a helper program; its stdout, or None if it is missing or fails. Nothing is echoed."""
    if shutil.which(args[0]) is None:
        return None
    try:
        done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=15, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


REMOTE_PATTERNS = (
    re.compile(r"^(?:https?|ssh)://(?:[^@/]+@)?(?P<host>[^/:]+)(?::\d+)?/(?P<path>.+?)(?:\.git)?/?$"),
    re.compile(r"^(?:[^@/]+@)?(?P<host>[^:/]+):(?P<path>.+?)(?:\.git)?/?$"),
)


def remote_repository(url: str) -> tuple[str, str] | None:
    """(host, path) from a git remote URL: ``git@github.com:acme/shop.git`` -> (github.com, acme/shop)."""
    if url.strip().startswith(("file:", "/", ".")):
        return None  # a local path names no forge
    for pattern in REMOTE_PATTERNS:
        m = pattern.match(url.strip())
        if m:
            return m["host"], m["path"]
    return None


def suggest_from_git(cwd: str = ".") -> tuple[str, str] | None:
    """(tracker, repository) suggested by the ``origin`` remote; only ever a suggestion."""
    out = run_command(["git", "remote", "get-url", "origin"], cwd=cwd)
    if not out:
        return None
    found = remote_repository(out)
    if not found:
        return None
    host, path = found
    tracker = "github" if "github" in host else "gitlab" if "gitlab" in host else "github"
    return tracker, path


def starter_config(tracker: str, repository: str | None) -> str:
    """Text of a starter config file for ``guidesync init``."""
    repo_line = f"repository: {repository}" if repository else "# repository: owner/name"
    return (
        "# guidesync configuration. All keys: see config/guidesync.yaml in the guidesync repository.\n"
        f"tracker: {tracker}\n"
        f"{repo_line}\n"
        "guides:\n"
        '  - "**/*.md"\n'
        "labels:\n"
        "  - guidesync\n"
        "on_removed: close\n"
    )
