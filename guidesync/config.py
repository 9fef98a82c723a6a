"""Configuration: ``config/guidesync.yaml``, CI variables and defaults, validated with clear messages.

This is the only module that reads ``os.environ`` or asks other programs (git, gh) for settings.
Precedence for each setting: the config file, then the CI's own variables, then the default.
"""

from __future__ import annotations

from .errors import UsageError

import difflib
import ipaddress
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field, fields, replace
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any, Iterable, Mapping
from urllib.parse import urlsplit

import yaml

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


class ConfigError(UsageError):
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
    # YAML reads a bare ``off`` as false: it means "off" here
    "import_issues": ((str, bool), "'off', 'labeled' or 'milestone'"),
    "max_close": (int, "a whole number"),
    "state_file": (str, "a path"),
    "branch": (str, "a branch name"),
    "write_interval": ((int, float, type(None)), "a number of seconds"),
    "max_retries": (int, "a whole number"),
    "max_retry_wait": ((int, float), "a number of seconds"),
    "rate_reserve": (int, "a whole number"),
    "full_sync_hours": ((int, float), "a number of hours"),
    "timeout": ((int, float), "a number of seconds"),
    "sub_issues": (bool, "true or false"),
    "project": ((dict, type(None)), "a mapping with the project's owner and number"),
}
_SECTION_KEYS = tuple(f.name for f in fields(Sections))
_PROJECT_KEYS = tuple(f.name for f in fields(ProjectSettings))
#: a GitHub login (organizations and users; managed users' logins end in ``_shortcode``)
_LOGIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_-]{0,98}[A-Za-z0-9])?")


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
    cfg = from_mapping(raw, str(cfg_path), lines=_key_lines(text) if cfg_path.exists() else None)
    cfg = replace(cfg, path=str(cfg_path) if cfg_path.exists() else None)
    return apply_environment(cfg, env, tracker_given="tracker" in raw)


def from_mapping(raw: Any, where: str = "config", *, lines: Mapping[str, int] | None = None) -> Config:
    """Validate a parsed YAML mapping and build a :class:`Config` (no environment involved).
    ``lines``: where the keys are in the file (:func:`_key_lines`), for messages that name the line."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: the top level must be a mapping of keys to values")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in _FILE_KEYS:
            raise _unknown_key(str(key), _FILE_KEYS, where)
        if key == "project":
            values[key] = _project(value, where, lines or {})
            continue
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
    if values.get("import_issues") is False:
        values["import_issues"] = "off"
    if "import_issues" in values and values["import_issues"] not in IMPORT_MODES:
        raise ConfigError(f"{_at(where, lines or {}, 'import_issues')}: key 'import_issues' must be 'off', 'labeled' or "
                          f"'milestone', not {values['import_issues']!r}")
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
    if values.get("url") is not None:
        check_url(values["url"], f"{where}: key 'url'")
        values["url_source"] = "config"
    if values.get("web_url") is not None:
        if not re.fullmatch(r"https?://[^/\s?#@]+(/[^\s?#]*)?", values["web_url"]):
            raise ConfigError(f"{where}: key 'web_url' must be an http(s) URL like https://octo.ghe.com "
                              f"(no query or fragment), not {values['web_url']!r}")
        values["web_url"] = values["web_url"].rstrip("/")
        values["web_url_source"] = "config"
    if "state_file" in values:
        check_state_file(values["state_file"], where)
    if "repository" in values and values["repository"] is not None:
        values["repository"] = str(values["repository"]).strip("/")
        if not re.fullmatch(r"\d+|[\w.-]+(/[\w.-]+)+", values["repository"]):
            raise ConfigError(f"{where}: key 'repository' must look like 'owner/name', not {values['repository']!r}")
        values["repository_source"] = "config"
    if "sections" in values:
        values["sections"] = _sections(values["sections"], where)
    if values.get("project") is not None and values.get("tracker", "github") != "github":
        raise ConfigError(f"{_at(where, lines or {}, 'project')}: key 'project' is a GitHub project; "
                          f"the tracker is {values['tracker']!r}")
    return Config(**values)


def _key_lines(text: str) -> dict[str, int]:
    """The line (1-based) of each top-level key and of each key one level under it
    (``project`` -> 12, ``project.owner`` -> 13), from the YAML text."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return {}
    out: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                out[str(key.value)] = key.start_mark.line + 1
                if isinstance(value, yaml.MappingNode):
                    for sub, _ in value.value:
                        if isinstance(sub, yaml.ScalarNode):
                            out[f"{key.value}.{sub.value}"] = sub.start_mark.line + 1
    return out


def _at(where: str, lines: Mapping[str, int], key: str) -> str:
    """``file:line`` of ``key`` when the line is known, else the file."""
    line = lines.get(key) or lines.get(key.split(".", 1)[0])
    return f"{where}:{line}" if line else where


def _project(raw: Any, where: str, lines: Mapping[str, int]) -> ProjectSettings | None:
    """``project:``: owner and number required, the field and option names optional."""
    if raw is None:
        return None
    at = _at(where, lines, "project")
    if not isinstance(raw, dict):
        raise ConfigError(f"{at}: key 'project' must be a mapping with the project's owner and number "
                          f"(e.g. owner: acme, number: 5), not {type(raw).__name__} {raw!r}")
    for key in raw:
        if key not in _PROJECT_KEYS:
            hint = difflib.get_close_matches(str(key), _PROJECT_KEYS, n=1) or [k for k in _PROJECT_KEYS if k.startswith(str(key))][:1]
            extra = f" (did you mean 'project.{hint[0]}'?)" if hint else ""
            raise ConfigError(f"{_at(where, lines, f'project.{key}')}: unknown key {'project.' + str(key)!r}{extra}")
    for key in ("owner", "number"):
        if key not in raw:
            raise ConfigError(f"{at}: key 'project' needs {key!r}: the organization or user that owns the project and "
                              "its number, as in https://github.com/orgs/OWNER/projects/NUMBER")
    owner, number = raw["owner"], raw["number"]
    if not isinstance(owner, str) or not _LOGIN.fullmatch(owner.strip()):
        raise ConfigError(f"{_at(where, lines, 'project.owner')}: key 'project.owner' must be the login of an "
                          f"organization or user, like 'acme', not {owner!r}")
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        raise ConfigError(f"{_at(where, lines, 'project.number')}: key 'project.number' must be the project's "
                          f"number, a whole number from 1, not {number!r}")
    names: dict[str, Any] = {}
    for key in ("status_field", "todo", "done", "date_field"):
        if key not in raw or (key == "date_field" and raw[key] is None):
            continue
        value = raw[key]
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{_at(where, lines, f'project.{key}')}: key 'project.{key}' must be the name of a "
                              f"{'field' if key.endswith('_field') else 'status option'}, not {value!r}")
        names[key] = value.strip()
    settings = ProjectSettings(owner=owner.strip(), number=number, **names)
    if settings.todo.casefold() == settings.done.casefold():
        raise ConfigError(f"{_at(where, lines, 'project.done')}: keys 'project.todo' and 'project.done' name the same "
                          f"option ({settings.done!r})")
    return settings


def is_loopback(host: str | None) -> bool:
    """127.0.0.0/8, ::1 or localhost: an address that never leaves this machine."""
    if not host:
        return False
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_url(url: str, what: str) -> str:
    """A tracker URL: https, or plain http to a loopback address only (a token sent over plain http
    to another host can be read on the way). ``what`` names where it came from, for the message."""
    if not re.fullmatch(r"https?://[^/\s?#]+(/\S*)?", url):
        raise ConfigError(f"{what} must be an http(s) URL like https://gitlab.example.com, not {url!r}")
    parts = urlsplit(url)
    try:
        parts.port
    except ValueError:
        raise ConfigError(f"{what}: {url!r} has an invalid port") from None
    if parts.scheme.lower() == "http" and not is_loopback(parts.hostname):
        raise ConfigError(f"{what}: {url!r} is plain http; the token would cross the network unencrypted. "
                          "Use https (plain http is allowed only to this machine: 127.0.0.1, ::1, localhost)")
    return url


def check_state_file(value: str, where: str) -> None:
    """``state_file`` names a file inside the repository: relative, without ``..``."""
    if not value.strip() or "\0" in value:
        raise ConfigError(f"{where}: key 'state_file' must name a file inside the repository")
    if PurePosixPath(value).is_absolute() or PureWindowsPath(value).is_absolute() or PureWindowsPath(value).drive:
        raise ConfigError(f"{where}: key 'state_file' must be a path inside the repository, not the absolute path {value!r}")
    if ".." in PurePosixPath(value.replace("\\", "/")).parts:
        raise ConfigError(f"{where}: key 'state_file' must be a path inside the repository, without '..': {value!r}")


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
