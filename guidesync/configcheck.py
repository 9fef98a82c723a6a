"""Checking a configuration: every problem of the file in one run, each as ``file:line: message``.

The shapes come from :mod:`guidesync.configschema` (the same fragments the shipped JSON Schema is
made of); what a schema cannot say (plain http only to this machine, a state file inside the
repository reached through no ``..``, the project's two options, the project on GitHub only) is
checked here, after the shape. Unknown keys name the nearest known one ("did you mean"), and a key
given twice is a problem too (YAML would silently keep the last one).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any, Mapping
from urllib.parse import urlsplit

import yaml

from .configschema import KEYS, check, unknown
from .errors import UsageError


class ConfigError(UsageError):
    """A bad configuration: the message names the file (and line) and the key. ``problems``: one
    ``file:line: message`` line per problem, when several were found in one file."""

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.problems = list(problems or [message])


@dataclass(frozen=True)
class Problem:
    path: str  # the key, dotted: "max_close", "project.number", "labels"
    message: str
    line: int | None = None  # where it is, when not where the key is (a key given twice: its second place)


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


def url_problem(url: str, what: str) -> str | None:
    """Why ``url`` is no tracker URL (None: it is one): https, or plain http to a loopback address
    only (a token sent over plain http to another host can be read on the way)."""
    if not re.fullmatch(r"https?://[^/\s?#]+(/\S*)?", url):
        return f"{what} must be an http(s) URL like https://gitlab.example.com, not {url!r}"
    parts = urlsplit(url)
    try:
        parts.port
    except ValueError:
        return f"{what}: {url!r} has an invalid port"
    if parts.scheme.lower() == "http" and not is_loopback(parts.hostname):
        return (f"{what}: {url!r} is plain http; the token would cross the network unencrypted. "
                "Use https (plain http is allowed only to this machine: 127.0.0.1, ::1, localhost)")
    return None


def check_url(url: str, what: str) -> str:
    """:func:`url_problem` as an error; ``what`` names where the URL came from."""
    problem = url_problem(url, what)
    if problem is not None:
        raise ConfigError(problem)
    return url


def state_file_problem(value: str) -> str | None:
    """``state_file`` names a file inside the repository: relative, without ``..``."""
    if not value.strip() or "\0" in value:
        return "key 'state_file' must name a file inside the repository"
    if PurePosixPath(value).is_absolute() or PureWindowsPath(value).is_absolute() or PureWindowsPath(value).drive:
        return f"key 'state_file' must be a path inside the repository, not the absolute path {value!r}"
    if ".." in PurePosixPath(value.replace("\\", "/")).parts:
        return f"key 'state_file' must be a path inside the repository, without '..': {value!r}"
    return None


def check_state_file(value: str, where: str) -> None:
    problem = state_file_problem(value)
    if problem is not None:
        raise ConfigError(f"{where}: {problem}")


# ------------------------------------------------------------------------------- lines


def key_lines(text: str) -> tuple[dict[str, int], list[Problem]]:
    """Where each key is in the YAML text (1-based; ``project`` -> 12, ``project.owner`` -> 13,
    ``labels[1]`` -> 20), and the keys given twice in one mapping."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return {}, []
    lines: dict[str, int] = {}
    twice: list[Problem] = []

    seen: set[int] = set()

    def walk(node: Any, prefix: str) -> None:
        if id(node) in seen:  # an alias: walked where it was defined (and never exponentially)
            return
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if not isinstance(key, yaml.ScalarNode):
                    continue
                path = f"{prefix}{key.value}"
                line = key.start_mark.line + 1
                if path in lines:
                    twice.append(Problem(path, f"key {path!r} is given twice (first on line {lines[path]}); "
                                               "YAML would keep only this one", line))
                else:
                    lines[path] = line
                walk(value, path + ".")
        elif isinstance(node, yaml.SequenceNode):
            base = prefix[:-1]
            for i, item in enumerate(node.value):
                lines.setdefault(f"{base}[{i}]", item.start_mark.line + 1)
                walk(item, f"{base}[{i}].")

    walk(node, "")
    return lines, twice


def _line(path: str, lines: Mapping[str, int]) -> int | None:
    while path:
        if path in lines:
            return lines[path]
        path = path.rsplit(".", 1)[0] if "." in path else ""
    return None


def format_problems(problems: list[Problem], where: str, lines: Mapping[str, int] | None) -> list[str]:
    """``file:line: message`` per problem (``file: message`` when the line is not known), in line order."""
    lines = lines or {}
    placed = []
    for n, p in enumerate(problems):
        line = p.line or _line(p.path, lines)
        placed.append((line if line is not None else 10**9, n, f"{where}:{line}" if line else where, p.message))
    return [f"{at}: {message}" for _, _, at, message in sorted(placed)]


def error(problems: list[Problem], where: str, lines: Mapping[str, int] | None) -> ConfigError:
    shown = format_problems(problems, where, lines)
    if len(shown) == 1:
        return ConfigError(shown[0], shown)
    return ConfigError(f"{where}: {len(shown)} problems\n" + "\n".join(shown), shown)


# ------------------------------------------------------------------------------- values


def validate(raw: Any, where: str = "config", lines: Mapping[str, int] | None = None,
             twice: list[Problem] | None = None) -> dict[str, Any]:
    """The file's values, normalised (lists as tuples, a GitLab id as a string, URLs without a
    trailing slash, the ``*_source`` keys set), or a :class:`ConfigError` naming every problem."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: the top level must be a mapping of keys to values")
    problems: list[Problem] = list(twice or ())
    values: dict[str, Any] = {}
    for key, value in raw.items():
        name = str(key)
        if name not in KEYS:
            problems.append(Problem(name, unknown(name, KEYS)))
            continue
        found = check(name, value, KEYS[name])
        if found and name == "state_file" and isinstance(value, str) and state_file_problem(value):
            found = [(name, state_file_problem(value))]  # the precise reason, not the pattern's
        problems.extend(Problem(path, message) for path, message in found)
        if not found:
            values[name] = value
    problems.extend(_beyond_schema(values, raw))
    if problems:
        raise error(problems, where, lines)
    return _normalised(values)


def _beyond_schema(values: dict[str, Any], raw: dict[str, Any]) -> list[Problem]:
    """What the schema cannot say (see :data:`~guidesync.configschema.LOADER_ONLY`)."""
    out: list[Problem] = []
    if values.get("url") is not None:
        problem = url_problem(values["url"], "key 'url'")
        if problem:
            out.append(Problem("url", problem))
    if "state_file" in values:
        problem = state_file_problem(values["state_file"])
        if problem:
            out.append(Problem("state_file", problem))
    project = values.get("project")
    if isinstance(project, dict):
        todo, done = str(project.get("todo", "Todo")).strip(), str(project.get("done", "Done")).strip()
        if todo.casefold() == done.casefold():
            out.append(Problem("project.done", f"keys 'project.todo' and 'project.done' name the same option ({done!r})"))
        tracker = raw.get("tracker", "github")
        if tracker != "github" and tracker in KEYS["tracker"].schema["enum"]:
            out.append(Problem("project", f"key 'project' is a GitHub project; the tracker is {tracker!r}"))
    return out


def _normalised(values: dict[str, Any]) -> dict[str, Any]:
    for key in ("guides", "exclude", "labels"):
        if key in values:
            values[key] = tuple(values[key])
    for key in ("max_close", "max_retries", "rate_reserve", "content_per_minute", "content_per_hour"):
        if values.get(key) is not None:
            values[key] = int(values[key])
    if values.get("url") is not None:
        values["url_source"] = "config"
    if values.get("web_url") is not None:
        values["web_url"] = values["web_url"].rstrip("/")
        values["web_url_source"] = "config"
    if values.get("repository") is not None:
        values["repository"] = str(values["repository"]).strip("/")
        values["repository_source"] = "config"
    if "sections" in values:
        values["sections"] = {k: (v,) if isinstance(v, str) else tuple(v) for k, v in values["sections"].items()}
    project = values.get("project")
    if isinstance(project, dict):
        values["project"] = {k: (v.strip() if isinstance(v, str) else int(v) if k == "number" else v)
                             for k, v in project.items() if not (k == "date_field" and v is None)}
    return values
