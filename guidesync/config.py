"""Configuration: ``config/guidesync.yaml``, CI variables and defaults, validated with clear messages.

This is the only module that reads ``os.environ`` or asks other programs (git, gh) for settings.
Precedence for each setting: the config file, then the CI's own variables, then the default.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit

import yaml

from .configcheck import (ConfigError, check_state_file, check_url, is_loopback, key_lines,  # noqa: F401 - re-exported
                          url_problem, validate)
from .configschema import KEYS, SCHEMA_URL
from .core.parse import Sections

DEFAULT_PATH = Path("config/guidesync.yaml")
TRACKERS = ("github", "gitlab")
DEFAULT_URLS = {"github": "https://api.github.com", "gitlab": "https://gitlab.com"}
TOKEN_VARIABLES = {"github": ("GITHUB_TOKEN", "GH_TOKEN"), "gitlab": ("GITLAB_TOKEN",)}
#: The CIs guidesync knows, by the variable that says it runs inside them (GitLab CI is checked first).
CI_FLAGS = (("GITLAB_CI", "gitlab"), ("GITHUB_ACTIONS", "github"))
#: The action's ``url`` input (GitHub: ``INPUT_URL``, handed on by guidesync.ci.run; GitLab: a job variable).
URL_INPUT = "GUIDESYNC_URL"
#: GitHub asks for a pause of at least one second between content-creating requests; GitLab.com
#: allows a few hundred issue creations a minute per user.
DEFAULT_WRITE_INTERVAL = {"github": 1.0, "gitlab": 0.3}
#: content-generating requests (writes) allowed per minute and per hour: GitHub's documented
#: secondary limits; GitLab documents none that a sync comes near (0: no window kept)
DEFAULT_CONTENT_LIMITS = {"github": (80, 500), "gitlab": (0, 0)}


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
class ProjectSettings:
    """``project:``: the GitHub project (v2) every managed issue is put on (GitHub only)."""

    owner: str  # the organization or user that owns it
    number: int  # its number, as in https://github.com/orgs/OWNER/projects/NUMBER
    status_field: str = "Status"  # the single-select field set from the box
    todo: str = "Todo"  # its option for an open box
    done: str = "Done"  # its option for a checked box
    date_field: str | None = None  # the date field set from ``due`` (none: dates are left alone)


#: ``import_issues``: which issues opened on the tracker join their guide
IMPORT_MODES = ("off", "labeled", "milestone")


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
    content_per_minute: int | None = None  # writes allowed in any minute (None: the tracker's default; 0: no limit)
    content_per_hour: int | None = None  # writes allowed in any hour, across runs (likewise)
    max_retries: int = 4
    max_retry_wait: float = 120.0
    rate_reserve: int = 20
    full_sync_hours: float = 24.0
    timeout: float = 30.0
    import_issues: str = "off"  # issues opened on the tracker join their guide: off | labeled | milestone
    sub_issues: bool = False  # nested checkbox items become sub-issues (GitHub) / child tasks (GitLab)
    project: ProjectSettings | None = None  # GitHub Projects (v2), opt-in
    # Not from the file:
    path: str | None = None  # the config file read, if any
    repository_source: str | None = None  # "config", "GITHUB_REPOSITORY", ...
    web_url_source: str | None = None  # "config", "GITHUB_SERVER_URL", "CI_SERVER_URL"
    url_source: str | None = None  # "config", "GITHUB_API_URL", "CI_API_V4_URL", "GUIDESYNC_URL", ...
    ci: str | None = None  # "github" inside GitHub Actions, "gitlab" inside GitLab CI, None by hand

    @property
    def api_url(self) -> str:
        return (self.url or DEFAULT_URLS[self.tracker]).rstrip("/")

    @property
    def pause_between_writes(self) -> float:
        return DEFAULT_WRITE_INTERVAL[self.tracker] if self.write_interval is None else self.write_interval

    @property
    def content_limits(self) -> tuple[int, int]:
        """(per minute, per hour) writes the run keeps within, with earlier runs' (0: no limit)."""
        minute, hour = DEFAULT_CONTENT_LIMITS[self.tracker]
        return (minute if self.content_per_minute is None else self.content_per_minute,
                hour if self.content_per_hour is None else self.content_per_hour)


def file_keys() -> tuple[str, ...]:
    return tuple(KEYS)


def load_config(
    path: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    *,
    explicit: bool | None = None,
) -> Config:
    """Read and validate the config file (default ``config/guidesync.yaml``, optional), then fill
    gaps from the CI's variables. ``explicit``: a missing file is an error (``--config`` given).
    Every problem of the file is reported in one :class:`ConfigError`, each as ``file:line: message``."""
    env = os.environ if env is None else env
    explicit = path is not None if explicit is None else explicit
    cfg_path = Path(path) if path is not None else DEFAULT_PATH
    raw: Any = {}
    lines: dict[str, int] | None = None
    twice: list = []
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
        lines, twice = key_lines(text)
    elif explicit:
        raise ConfigError(f"{cfg_path}: config file not found")
    cfg = _from_mapping(raw, str(cfg_path), lines, twice)
    cfg = replace(cfg, path=str(cfg_path) if cfg_path.exists() else None)
    return apply_environment(cfg, env, tracker_given="tracker" in raw)


def from_mapping(raw: Any, where: str = "config", *, lines: Mapping[str, int] | None = None) -> Config:
    """Validate a parsed YAML mapping and build a :class:`Config` (no environment involved).
    ``lines``: where the keys are in the file (:func:`~guidesync.configcheck.key_lines`), for
    messages that name the line. Every problem is reported, in one :class:`ConfigError`."""
    return _from_mapping(raw, where, lines, [])


def _from_mapping(raw: Any, where: str, lines: Mapping[str, int] | None, twice: list) -> Config:
    values = validate(raw, where, lines, twice)
    if values.get("import_issues") is False:  # a bare ``off`` in YAML
        values["import_issues"] = "off"
    if "sections" in values:
        values["sections"] = Sections(**values["sections"])
    if values.get("project") is not None:
        values["project"] = ProjectSettings(**values["project"])
    return Config(**values)


def running_ci(env: Mapping[str, str]) -> str | None:
    """"gitlab" inside GitLab CI, "github" inside GitHub Actions, None otherwise."""
    for name, forge in CI_FLAGS:
        if env.get(name, "").strip().lower() not in ("", "false", "0"):
            return forge
    return None


def _url_key(url: str, tracker: str) -> tuple[str, str, int | None, str]:
    """A URL as compared: scheme, host (lower case), port (default filled in), path without the
    trailing slash (and, for GitLab, without ``/api/v4``)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    port = parts.port or {"https": 443, "http": 80}.get(scheme)
    path = parts.path.rstrip("/")
    if tracker == "gitlab" and path.endswith("/api/v4"):
        path = path[: -len("/api/v4")]
    return scheme, (parts.hostname or "").lower(), port, path


def _ci_url(tracker: str, ci: str, env: Mapping[str, str]) -> tuple[str, str]:
    """Inside CI: the tracker URL and the variable it came from. The action's ``url`` input, else the
    CI's own variable when the tracker is the CI's own forge, else the forge's public default."""
    if env.get(URL_INPUT, "").strip():
        return env[URL_INPUT].strip(), URL_INPUT
    if tracker == ci == "github" and env.get("GITHUB_API_URL", "").strip():
        return env["GITHUB_API_URL"].strip(), "GITHUB_API_URL"
    if tracker == ci == "gitlab":
        for name in ("CI_API_V4_URL", "CI_SERVER_URL"):
            if env.get(name, "").strip():
                value = env[name].strip().rstrip("/")
                return (value[: -len("/api/v4")] if value.endswith("/api/v4") else value), name
    return DEFAULT_URLS[tracker], "the default"


def apply_environment(cfg: Config, env: Mapping[str, str], *, tracker_given: bool = True) -> Config:
    """Fill the tracker, repository and URL from the CI's variables where the file left them out.

    Inside CI (``GITHUB_ACTIONS`` / ``GITLAB_CI``) the tracker URL never comes from the repository's
    files: a pull request could otherwise send the job's token to a server of its choosing. It is the
    action's ``url`` input, else the CI's own API URL, else the forge's default; a ``url:`` in the file
    that says otherwise is an error. ``token_env`` is not honoured there either (see :func:`find_token`)."""
    ci = running_ci(env)
    tracker = cfg.tracker
    if not tracker_given and ci is not None:
        tracker = ci
    repository, source = cfg.repository, cfg.repository_source
    url, url_source = cfg.url, cfg.url_source
    if tracker == "github":
        if repository is None and env.get("GITHUB_REPOSITORY"):
            repository, source = env["GITHUB_REPOSITORY"], "GITHUB_REPOSITORY"
    elif repository is None and env.get("CI_PROJECT_PATH"):
        repository, source = env["CI_PROJECT_PATH"], "CI_PROJECT_PATH"
    if ci is not None:
        ci_url, ci_source = _ci_url(tracker, ci, env)
        check_url(ci_url, ci_source if ci_source != "the default" else "the default URL")
        if cfg.url is not None and _url_key(cfg.url, tracker) != _url_key(ci_url, tracker):
            raise ConfigError(
                f"{cfg.path or 'config'}: key 'url' ({cfg.url}) disagrees with {ci_source} ({ci_url}): inside CI the "
                "tracker URL comes from the CI or the action's `url` input, never from the repository's files; "
                "remove the key or make it match")
        url, url_source = ci_url, ci_source
    elif url is None:
        name = "GITHUB_API_URL" if tracker == "github" else "CI_SERVER_URL"
        if env.get(name):
            url, url_source = check_url(env[name], name), name
    if cfg.project is not None and tracker != "github":
        raise ConfigError(f"{cfg.path or 'config'}: key 'project' is a GitHub project; the tracker is {tracker!r}")
    web_url, web_source = cfg.web_url, cfg.web_url_source
    if web_url is None:
        web_url, web_source = _ci_web_url(tracker, url, env)
    return replace(cfg, tracker=tracker, repository=repository, repository_source=source, url=url,
                   url_source=url_source, ci=ci, web_url=web_url, web_url_source=web_source)


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
    else (GitHub) ``gh auth token``. None when there is none.

    Inside CI ``token_env`` is not honoured: the configuration may come from a pull request, which must
    not pick which of the job's secrets is sent. The token is the forge's usual variable, which the
    action fills from its ``token`` input."""
    env = os.environ if env is None else env
    token_env = token_variable(cfg)
    names = (token_env,) if token_env else TOKEN_VARIABLES[cfg.tracker]
    for name in names:
        value = env.get(name, "").strip()
        if value:
            return Secret(value, name)
    if cfg.tracker == "github" and use_gh and not token_env:
        out = run_command(["gh", "auth", "token"])
        if out:
            return Secret(out.strip(), "gh auth token")
    return None


def token_variable(cfg: Config) -> str | None:
    """The variable ``token_env`` names, when it is honoured (not inside CI)."""
    return cfg.token_env if cfg.token_env and cfg.ci is None else None


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


@dataclass(frozen=True)
class RemoteForge:
    """What the ``origin`` remote says about the forge: its host and path, and the tracker and API
    URL guidesync makes of them (None when the host does not say which forge it is)."""

    host: str
    path: str
    tracker: str | None
    url: str | None  # None: the forge's public default (github.com, gitlab.com)


def forge_of(host: str, path: str, tracker: str | None = None) -> RemoteForge:
    """github.com and gitlab.com by name; GHE.com (``SUB.ghe.com``: API ``api.SUB.ghe.com``); a host
    naming github (Enterprise Server: API ``HOST/api/v3``) or gitlab (a self-hosted instance). Any
    other host is not guessed unless ``tracker`` is given."""
    name = host.lower().rstrip(".")
    if tracker is None:
        tracker = ("github" if "github" in name or name.endswith(".ghe.com") else "gitlab" if "gitlab" in name else None)
    url: str | None = None
    if tracker == "github" and name != "github.com":
        url = f"https://api.{name}" if name.endswith(".ghe.com") else f"https://{name}/api/v3"
    elif tracker == "gitlab" and name != "gitlab.com":
        url = f"https://{name}"
    return RemoteForge(name, path, tracker, url)


def remote_forge(cwd: str = ".", tracker: str | None = None) -> RemoteForge | None:
    """The forge the ``origin`` remote names (see :func:`forge_of`), or None without one."""
    out = run_command(["git", "remote", "get-url", "origin"], cwd=cwd)
    found = remote_repository(out) if out else None
    return forge_of(*found, tracker=tracker) if found else None


def starter_config(tracker: str, repository: str | None, url: str | None = None) -> str:
    """Text of a starter config file for ``guidesync init``: its first line tells YAML editors
    (yaml-language-server) where this version's schema is."""
    from . import __version__

    repo_line = f"repository: {repository}" if repository else "# repository: owner/name"
    url_line = f"url: {url}\n" if url else ""
    return (
        f"# yaml-language-server: $schema={SCHEMA_URL.format(version=__version__)}\n"
        "# guidesync configuration. All keys: see config/guidesync.yaml in the guidesync repository.\n"
        f"tracker: {tracker}\n"
        f"{repo_line}\n"
        f"{url_line}"
        "guides:\n"
        '  - "**/*.md"\n'
        "labels:\n"
        "  - guidesync\n"
        "on_removed: close\n"
    )
