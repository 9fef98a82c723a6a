"""The configuration's shape, written once: the JSON Schema editors read and the checks the loader makes.

``KEYS`` says, for every key of ``config/guidesync.yaml``, its JSON Schema fragment and how a message
names what it expects. :func:`json_schema` builds ``config/guidesync.schema.json`` from it
(``python -m guidesync.configschema > config/guidesync.schema.json``; a test holds the shipped file
equal to it), and :func:`check` validates a value against the very same fragments, so the schema and
the loader cannot disagree about a shape. What a schema cannot say is checked by the loader after
the shape (:mod:`guidesync.configcheck`), and listed in :data:`LOADER_ONLY` with an example each
(tests: the schema accepts the example, the loader refuses it).

:func:`check` knows exactly the part of JSON Schema used here (``type``, ``enum``, ``minimum``,
``minLength``, ``minItems``, ``items``, ``pattern``, ``properties``, ``additionalProperties``,
``required``, ``anyOf``, ``$ref``); :func:`json_schema` refuses a fragment that uses anything else.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field, fields
from typing import Any, Iterator

from .core.parse import Sections

SCHEMA_ID = "https://github.com/guidesync/guidesync/config/guidesync.schema.json"
#: where editors fetch the schema (``# yaml-language-server: $schema=…``, written by ``init``):
#: the file at the tag of the running version, in the repository ``SCHEMA_ID`` names
SCHEMA_URL = "https://raw.githubusercontent.com/guidesync/guidesync/v{version}/config/guidesync.schema.json"

#: a GitHub login (organizations and users; managed users' logins end in ``_shortcode``)
LOGIN = r"[A-Za-z0-9](?:[A-Za-z0-9_-]{0,98}[A-Za-z0-9])?"
#: a repository: a GitLab project id, or owner/name, group/subgroup/project (slashes around allowed)
REPOSITORY = r"^/*([0-9]+|[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+)/*$"
WEB_URL = r"^https?://[^/\s?#@]+(/[^\s?#]*)?$"
URL = r"^https?://[^/\s?#]+(/\S*)?$"
#: a path inside the repository: not absolute (``/x``, ``\x``, ``C:``), no ``..`` part, no NUL
STATE_FILE = r"^(?![/\\])(?![A-Za-z]:)(?!(.*[/\\])?\.\.([/\\]|$))[^\x00]*\S[^\x00]*$"

_DEFS = {
    "headings": {"anyOf": [{"type": "array", "items": {"type": "string", "pattern": "\\S"}, "minItems": 1},
                           {"type": "string", "pattern": "\\S"}]},
    "name": {"type": "string", "pattern": "\\S"},
}


@dataclass(frozen=True)
class Key:
    """One key: its JSON Schema fragment, what a message says it must be, and messages that
    replace the generic one for a failing keyword (``{"minItems": "needs at least one label"}``)."""

    schema: dict[str, Any]
    expects: str
    messages: dict[str, str] = field(default_factory=dict)
    keys: dict[str, "Key"] | None = None  # a mapping's own keys (sections, project)


def _seconds(nullable: bool = False) -> dict[str, Any]:
    return {"type": ["number", "null"] if nullable else "number", "minimum": 0}


_NEGATIVE = {"minimum": "must not be negative"}

SECTION_KEYS: dict[str, Key] = {
    f.name: Key({"$ref": "#/$defs/headings"}, "a list of heading names") for f in fields(Sections)
}

PROJECT_KEYS: dict[str, Key] = {
    "owner": Key({"type": "string", "pattern": rf"^\s*{LOGIN}\s*$", "description": "The organization or user that owns the project."},
                 "the login of an organization or user, like 'acme'"),
    "number": Key({"type": "integer", "minimum": 1,
                   "description": "The project's number, as in https://github.com/orgs/OWNER/projects/NUMBER."},
                  "the project's number, a whole number from 1"),
    "status_field": Key({"$ref": "#/$defs/name", "default": "Status", "description": "The single-select field set from the box."},
                        "the name of a field"),
    "todo": Key({"$ref": "#/$defs/name", "default": "Todo", "description": "Its option for an open box."},
                "the name of a status option"),
    "done": Key({"$ref": "#/$defs/name", "default": "Done", "description": "Its option for a checked box."},
                "the name of a status option"),
    "date_field": Key({"anyOf": [{"$ref": "#/$defs/name"}, {"type": "null"}],
                       "description": "The date field set from `due`; without it dates are left alone."},
                      "the name of a field"),
}

KEYS: dict[str, Key] = {
    "tracker": Key({"enum": ["github", "gitlab"], "description": "The issue tracker."}, "'github' or 'gitlab'"),
    "repository": Key({"type": ["string", "integer", "null"], "pattern": REPOSITORY,
                       "description": "owner/name, group/subgroup/project, or a GitLab project id."},
                      "a string like 'owner/name' or 'group/subgroup/project'",
                      {"pattern": "must look like 'owner/name'"}),
    "url": Key({"type": ["string", "null"], "pattern": URL, "description": "GitHub API root or GitLab instance URL."},
               "a URL", {"pattern": "must be an http(s) URL like https://gitlab.example.com"}),
    "web_url": Key({"type": ["string", "null"], "pattern": WEB_URL,
                    "description": "Web root of the tracker's pages (e.g. https://octo.ghe.com), overriding what the "
                                   "tracker says; normally learned from the tracker or the CI."},
                   "a URL", {"pattern": "must be an http(s) URL like https://octo.ghe.com (no query or fragment)"}),
    "token_env": Key({"type": ["string", "null"], "pattern": r"^[A-Za-z_][A-Za-z0-9_]*$",
                      "description": "Name of the environment variable holding the token."},
                     "the name of an environment variable"),
    "guides": Key({"type": "array", "items": {"type": "string", "pattern": "\\S"}, "description": "Glob patterns of guide files."},
                  "a list of glob patterns", {"items": "must be a list of non-empty strings"}),
    "exclude": Key({"type": "array", "items": {"type": "string", "pattern": "\\S"}},
                   "a list of glob patterns", {"items": "must be a list of non-empty strings"}),
    "labels": Key({"type": "array", "items": {"type": "string", "pattern": "\\S"}, "minItems": 1},
                  "a list of label names", {"items": "must be a list of non-empty strings",
                                            "minItems": "needs at least one label (it marks managed issues)"}),
    "sections": Key({"type": "object", "additionalProperties": False,
                     "properties": {name: k.schema for name, k in SECTION_KEYS.items()}},
                    "a mapping of section names to lists of headings", keys=SECTION_KEYS),
    "on_removed": Key({"enum": ["close", "keep"]}, "'close' or 'keep'"),
    # YAML reads a bare ``off`` as false: it means "off" here
    "import_issues": Key({"enum": ["off", "labeled", "milestone", False],
                          "description": "Issues opened on the tracker join their guide's milestone as tasks: off (the "
                                         "default), labeled (issues carrying the first managed label, in a milestone a "
                                         "guide owns) or milestone (every issue in such a milestone)."},
                         "'off', 'labeled' or 'milestone'"),
    "max_close": Key({"type": "integer", "minimum": 0}, "a whole number", _NEGATIVE),
    "state_file": Key({"type": "string", "pattern": STATE_FILE}, "a path",
                      {"pattern": "must be a path inside the repository (relative, without '..')"}),
    "branch": Key({"type": "string", "pattern": "\\S"}, "a branch name"),
    "write_interval": Key(_seconds(nullable=True), "a number of seconds", _NEGATIVE),
    "content_per_minute": Key({"type": ["integer", "null"], "minimum": 0,
                               "description": "Writes allowed in any minute (GitHub's secondary limit: 80, the default "
                                              "there; GitLab: no limit). 0: no limit."}, "a whole number", _NEGATIVE),
    "content_per_hour": Key({"type": ["integer", "null"], "minimum": 0,
                             "description": "Writes allowed in any hour, counted across runs (kept in the state file; "
                                            "GitHub's secondary limit: 500, the default there). A run that reaches it "
                                            "stops cleanly and the next run resumes. 0: no limit."},
                            "a whole number", _NEGATIVE),
    "max_retries": Key({"type": "integer", "minimum": 0}, "a whole number", _NEGATIVE),
    "max_retry_wait": Key(_seconds(), "a number of seconds", _NEGATIVE),
    "rate_reserve": Key({"type": "integer", "minimum": 0}, "a whole number", _NEGATIVE),
    "full_sync_hours": Key({"type": "number", "minimum": 0}, "a number of hours", _NEGATIVE),
    "timeout": Key(_seconds(), "a number of seconds", _NEGATIVE),
    "sub_issues": Key({"type": "boolean",
                       "description": "Nested checkbox items become sub-issues of their task's issue (GitHub) or child "
                                      "tasks (GitLab); false keeps them as a task list in the parent's body."},
                      "true or false"),
    "project": Key({"type": ["object", "null"],
                    "description": "GitHub only, opt-in: the GitHub project (v2) every managed issue is put on, its status "
                                   "set from the box and its date field from `due`. Needs a token that can use Projects "
                                   "(the `project` scope, or a GitHub App token with projects access): the Actions job's "
                                   "own GITHUB_TOKEN cannot.",
                    "additionalProperties": False, "required": ["owner", "number"],
                    "properties": {name: k.schema for name, k in PROJECT_KEYS.items()}},
                   "a mapping with the project's owner and number (e.g. owner: acme, number: 5)",
                   {"required": "the organization or user that owns the project and its number, as in "
                                "https://github.com/orgs/OWNER/projects/NUMBER"}, keys=PROJECT_KEYS),
}

#: What the loader refuses and the schema cannot say, each with a configuration the schema accepts.
LOADER_ONLY: dict[str, dict[str, Any]] = {
    "plain http only to this machine (127.0.0.0/8, ::1, localhost)": {"url": "http://gitlab.example.com"},
    "a url with a port that is not a number": {"url": "https://gitlab.example.com:http/"},
    "project.todo and project.done name different options": {"project": {"owner": "acme", "number": 1, "todo": "Done"}},
    "project is GitHub's": {"tracker": "gitlab", "project": {"owner": "acme", "number": 1}},
}

_KNOWN = {"type", "enum", "minimum", "minLength", "minItems", "items", "pattern", "properties", "additionalProperties",
          "required", "anyOf", "$ref", "description", "default"}


def json_schema() -> dict[str, Any]:
    """The JSON Schema (2020-12) of the configuration file."""
    for name, key in _walk():
        unknown = set(key) - _KNOWN
        if unknown:
            raise ValueError(f"{name}: keywords check() does not know: {sorted(unknown)}")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "guidesync configuration",
        "type": "object",
        "additionalProperties": False,
        "properties": {name: key.schema for name, key in KEYS.items()},
        "$defs": _DEFS,
    }


def _walk() -> Iterator[tuple[str, dict[str, Any]]]:
    def each(name: str, s: Any) -> Iterator[tuple[str, dict[str, Any]]]:
        if isinstance(s, dict):
            yield name, s
            for sub in s.get("anyOf", []):
                yield from each(name, sub)
            for k, sub in s.get("properties", {}).items():
                yield from each(f"{name}.{k}", sub)
            if isinstance(s.get("items"), dict):
                yield from each(name + "[]", s["items"])

    for name, key in KEYS.items():
        yield from each(name, key.schema)
    for name, s in _DEFS.items():
        yield from each(f"$defs.{name}", s)


def dumps() -> str:
    """The schema file's text, as shipped."""
    import json

    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


# ----------------------------------------------------------------------------------- checking

_TYPES = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer()),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


def _resolve(s: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in s:
        return {**_DEFS[s["$ref"].rsplit("/", 1)[-1]], **{k: v for k, v in s.items() if k != "$ref"}}
    return s


def failing(value: Any, s: dict[str, Any]) -> str | None:
    """The first keyword of ``s`` that ``value`` fails, or None when it fits (own keys of a mapping
    are not looked into: see :func:`check`)."""
    s = _resolve(s)
    if "anyOf" in s:
        if not any(failing(value, sub) is None for sub in s["anyOf"]):
            return "anyOf"
    if "enum" in s and not any(value == e and type(value) is type(e) for e in s["enum"]):  # JSON: 0 is not false
        return "enum"
    kinds = s.get("type")
    if kinds is not None:
        kinds = [kinds] if isinstance(kinds, str) else kinds
        if not any(_TYPES[k](value) for k in kinds):
            return "type"
    if isinstance(value, str):
        if "pattern" in s and not re.search(s["pattern"], value):
            return "pattern"
        if len(value) < s.get("minLength", 0):
            return "minLength"
    if _TYPES["number"](value) and "minimum" in s and value < s["minimum"]:
        return "minimum"
    if isinstance(value, list):
        if "items" in s and any(failing(item, s["items"]) is not None for item in value):
            return "items"
        if len(value) < s.get("minItems", 0):
            return "minItems"
    if isinstance(value, dict):
        for name in s.get("required", ()):
            if name not in value:
                return "required"
    return None


def check(name: str, value: Any, key: Key) -> list[tuple[str, str]]:
    """(key path, message) for what is wrong with ``value`` of key ``name`` (empty: nothing). A
    mapping's own keys are checked one by one, so that every problem under it is reported."""
    out: list[tuple[str, str]] = []
    why = failing(value, key.schema)
    if why == "required":
        s = _resolve(key.schema)
        # a key missing because it is misspelt is reported once, as the misspelt key
        meant = {nearest(str(k), key.keys or {}) for k in value if k not in (key.keys or {})}
        for missing in (m for m in s.get("required", ()) if m not in value and m not in meant):
            extra = f": {key.messages['required']}" if "required" in key.messages else ""
            out.append((name, f"key {name!r} needs {missing!r}{extra}"))
        why = None
    if why is not None:
        out.append((name, f"key {name!r} {_message(why, value, key)}"))
        return out
    if key.keys is not None and isinstance(value, dict):
        for sub, sub_value in value.items():
            path = f"{name}.{sub}"
            if sub not in key.keys:
                out.append((path, unknown(str(sub), key.keys, prefix=f"{name}.")))
                continue
            out.extend(check(path, sub_value, key.keys[sub]))
    return out


def _message(why: str, value: Any, key: Key) -> str:
    if why in key.messages:
        return key.messages[why] + ("" if why in ("minItems", "items", "minimum") else f", not {value!r}")
    if why == "type" and not isinstance(value, bool):
        return f"must be {key.expects}, not {type(value).__name__} {value!r}"
    if why == "enum":
        return f"must be {key.expects}, not {value!r}"
    return f"must be {key.expects}, not {value!r}"


def nearest(name: str, known: dict[str, Any]) -> str | None:
    """The known key ``name`` is most likely a misspelling of, if any."""
    import difflib

    hint = difflib.get_close_matches(name, list(known), n=1) or [k for k in known if k.startswith(name)][:1]
    return hint[0] if hint else None


def unknown(name: str, known: dict[str, Any], prefix: str = "") -> str:
    """The message for an unknown key, with the nearest known one."""
    hint = nearest(name, known)
    extra = f" (did you mean {prefix + hint!r}?)" if hint else ""
    return f"unknown key {prefix + name!r}{extra}"


if __name__ == "__main__":  # python -m guidesync.configschema > config/guidesync.schema.json
    sys.stdout.write(dumps())
