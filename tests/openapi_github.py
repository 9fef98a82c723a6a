"""Check logged HTTP requests, and the fake's answers, against GitHub's published OpenAPI description.

The fake GitHub server used by the tests records every request it receives.
This module checks each recorded request against the REST API description
GitHub publishes (``api.github.com.json`` from the ``@octokit/openapi`` npm
package, fetched by ``.ci/fetch-openapi.sh`` into ``.cache/openapi/``), so
that a wrong endpoint, method, query parameter, parameter value or request
body is reported even though the fake server itself accepted it.

Public API::

    spec = load_spec()                      # cached per process
    errors = spec.validate("PATCH", "/repos/o/r/issues/3", {}, {"state": "closed"})
    errors = spec.validate_response("GET", "/repos/o/r/issues/3", 200, issue_json)
    errors = validate_log(fake.log, prefix="/api/v3")

Every function returns a list of human-readable error strings; an empty list
means the request(s) fit the description.

What is checked:

* the path matches one of the description's path templates (literal segments
  win over templated ones when several match) and the method exists for it;
  ``/repositories/{id}/...`` (used by GitHub's pagination links) is treated
  as ``/repos/{owner}/{repo}/...``;
* path parameters fit their schemas (``issue_number`` must be an integer ...);
* every query parameter is declared for the operation, appears once unless it
  is an array, and its value fits the parameter schema (integer, boolean,
  enum, a loose ``date-time`` ...); required query parameters are present;
* a JSON request body validates against the operation's ``application/json``
  request body schema (JSON Schema 2020-12 after translating the OpenAPI 3.0
  dialect: ``nullable: true`` allows ``null``); a required body is present and
  operations without a request body get none;
* a few body forms the description allows in prose but not in its schema
  (``DEFAULT_BODY_ALTERNATIVES``: a bare array of label names for add/set
  labels, as PyGithub sends; ``due_on: null`` clearing a milestone's due
  date) are accepted;
* (``validate_response``; ``validate_log`` does both) the fake's answer: a 2xx or 3xx status
  must be one the operation declares (``304`` always may be), and its JSON body must validate
  against the declared response schema (a listing item by item); an error status is checked
  when the operation declares it; answers made up by injected faults are left out. Answers are
  many, so a compiled check (fastjsonschema, a test dependency) runs first and jsonschema only
  explains a failure; without fastjsonschema the verdicts are the same, only slower;
* a few explicit rules stricter than the published spec (``BodyRule``,
  ``DEFAULT_BODY_RULES``; errors are marked ``[stricter than spec]``), e.g.
  an issue's ``milestone`` must be a milestone number although the spec
  allows any string.

OpenAPI 3.0 schemas are translated once per component and one validator is
compiled per operation on first use and cached on the ``OpenApiSpec``.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence
from urllib.parse import unquote

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError, best_match

try:  # optional: makes checking every answer of the fake fast
    import fastjsonschema as _fastjsonschema
    from fastjsonschema import JsonSchemaValueException as _FastError
except ImportError:  # pragma: no cover - jsonschema alone gives the same verdicts, slower
    _fastjsonschema = None

    class _FastError(Exception):  # type: ignore[no-redef]
        message = ""

__all__ = [
    "DEFAULT_SPEC_PATH",
    "DEFAULT_BODY_ALTERNATIVES",
    "DEFAULT_BODY_RULES",
    "ENTERPRISE_PREFIX",
    "BodyRule",
    "FETCH_SCRIPT",
    "OpenApiSpec",
    "load_spec",
    "validate_log",
]

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SPEC_PATH = REPO_ROOT / ".cache" / "openapi" / "api.github.com.json"
FETCH_SCRIPT = REPO_ROOT / ".ci" / "fetch-openapi.sh"
# GitHub Enterprise Server serves the REST API under this prefix.
ENTERPRISE_PREFIX = "/api/v3"

_HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_JSON_MEDIA_RE = re.compile(r"^application/(?:[\w.+-]+\+)?json\s*(?:;.*)?$", re.IGNORECASE)
_INT_RE = re.compile(r"^[+-]?\d+$")
_NUMBER_RE = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
_PARAM_SEGMENT_RE = re.compile(r"\{([^{}]+)\}")
_REPOSITORY_ID_RE = re.compile(r"^/repositories/(?P<id>\d+)(?P<rest>/.*)?$")
# Trailing path parameters whose values may contain "/" (file paths, git refs).
_SLASHY_PARAMS = frozenset({"path", "ref", "basehead"})


@dataclass(frozen=True)
class BodyRule:
    """A check on a top-level body field that is stricter than the published spec.

    GitHub's description is looser than the API in a few places that matter
    to guidesync; each rule names the operations it applies to, the field and
    a predicate that must hold when the field is present. Errors from rules
    say so (``[stricter than spec]``), so they are never mistaken for schema
    violations.
    """

    operation_ids: frozenset[str]
    field_name: str
    ok: Any  # Callable[[Any], bool]
    expectation: str


def _is_milestone_number(value: Any) -> bool:
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return True
    # "" clears the milestone: PyGithub's Issue.edit(milestone=None) sends it.
    return isinstance(value, str) and (value == "" or _INT_RE.match(value) is not None)


# The spec types issue "milestone" as oneOf[string, integer] (nullable), but
# the value is a milestone *number*; a non-numeric string is a client bug.
DEFAULT_BODY_RULES: tuple[BodyRule, ...] = (
    BodyRule(
        operation_ids=frozenset({"issues/create", "issues/update"}),
        field_name="milestone",
        ok=_is_milestone_number,
        expectation='a milestone number (integer or numeric string), null or ""',
    ),
)


# Request body forms GitHub's description allows in prose but not in its
# schema: operationId -> extra JSON Schema (2020-12) a body may match instead.
DEFAULT_BODY_ALTERNATIVES: dict[str, dict[str, Any]] = {
    # "You can also pass an `array` of labels directly" (PyGithub does).
    "issues/add-labels": {"type": "array", "items": {"type": "string"}},
    # "... you can pass a single label as a `string` or an `array` of labels
    # directly" (PyGithub's set_labels sends an array).
    "issues/set-labels": {
        "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]
    },
    # ``due_on: null`` clears a milestone's due date on an edit (the description types it as a
    # non-null string; harvester/harvester PR #11739: "updating an existing milestone, where
    # `null` is needed to clear a previously configured due date"). A create still refuses it.
    "issues/update-milestone": {
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "state": {"enum": ["open", "closed"]},
            "description": {"type": "string"},
            "due_on": {"type": "null"},
        },
        "required": ["due_on"],
    },
}


# --------------------------------------------------------------------------
# Loading


_SPEC_CACHE: dict[Path, "OpenApiSpec"] = {}
_SPEC_LOCK = threading.Lock()


def load_spec(path: str | Path | None = None) -> "OpenApiSpec":
    """Load (once per process and path) GitHub's OpenAPI description.

    With no *path*, use ``.cache/openapi/api.github.com.json`` under the repo
    root, running ``.ci/fetch-openapi.sh`` once first when it is missing.
    """
    default = path is None
    spec_path = DEFAULT_SPEC_PATH if default else Path(path)
    spec_path = spec_path.resolve()
    with _SPEC_LOCK:
        cached = _SPEC_CACHE.get(spec_path)
        if cached is not None:
            return cached
        if default and not spec_path.is_file():
            _run_fetch_script()
        if not spec_path.is_file():
            raise FileNotFoundError(f"OpenAPI description not found: {spec_path}")
        with spec_path.open("rb") as fh:
            document = json.load(fh)
        spec = OpenApiSpec(document, source=spec_path)
        _SPEC_CACHE[spec_path] = spec
        return spec


def _run_fetch_script() -> None:
    proc = subprocess.run(
        ["bash", str(FETCH_SCRIPT)],
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"{FETCH_SCRIPT.relative_to(REPO_ROOT)} failed with exit code "
            f"{proc.returncode}:\n{proc.stderr.strip()}"
        )


# --------------------------------------------------------------------------
# Formats


def _loose_format_checker() -> FormatChecker:
    """A format checker asserting only date/date-time, and loosely.

    GitHub accepts ISO 8601 timestamps with or without seconds, fractions or
    offsets (and plain dates where a timestamp is documented), so anything
    ``datetime.fromisoformat`` understands, starting with a full date, passes.
    Other formats (uri, email, int64, ...) stay annotations.
    """
    checker = FormatChecker(formats=())

    @checker.checks("date-time", raises=ValueError)
    def _date_time(value: object) -> bool:
        if not isinstance(value, str):
            return True
        if not re.match(r"^\d{4}-\d{2}-\d{2}", value):
            return False
        datetime.fromisoformat(value.replace("z", "Z"))
        return True

    @checker.checks("date", raises=ValueError)
    def _date(value: object) -> bool:
        if not isinstance(value, str):
            return True
        date.fromisoformat(value)
        return True

    return checker


_FORMAT_CHECKER = _loose_format_checker()


# --------------------------------------------------------------------------
# Path templates


@dataclass(frozen=True)
class _Template:
    template: str
    segments: tuple[str, ...]
    # Per segment: None for a literal, else (regex, parameter names).
    matchers: tuple[tuple[re.Pattern[str], tuple[str, ...]] | None, ...]
    # Lower sorts first: literal segments (0) beat mixed (1) beat bare params (2),
    # compared from the left.
    rank: tuple[int, ...]
    # True when the last segment is a bare parameter that may absorb several
    # segments ({path} of contents, {ref} of git refs ...).
    greedy_tail: bool

    @classmethod
    def parse(cls, template: str) -> "_Template":
        segments = tuple(template.split("/")[1:]) if template != "/" else ("",)
        matchers: list[tuple[re.Pattern[str], tuple[str, ...]] | None] = []
        rank: list[int] = []
        for seg in segments:
            names = tuple(_PARAM_SEGMENT_RE.findall(seg))
            if not names:
                matchers.append(None)
                rank.append(0)
                continue
            pattern = "".join(
                "(.+?)" if i % 2 else re.escape(part)
                for i, part in enumerate(_PARAM_SEGMENT_RE.split(seg))
            )
            matchers.append((re.compile(f"^{pattern}$", re.DOTALL), names))
            rank.append(2 if re.fullmatch(r"\{[^{}]+\}", seg) else 1)
        greedy = bool(segments) and rank[-1] == 2 and segments[-1][1:-1] in _SLASHY_PARAMS
        return cls(template, segments, tuple(matchers), tuple(rank), greedy)

    def match(self, parts: Sequence[str]) -> dict[str, str] | None:
        n = len(self.segments)
        if len(parts) != n:
            if not (self.greedy_tail and len(parts) > n):
                return None
            parts = [*parts[: n - 1], "/".join(parts[n - 1 :])]
        values: dict[str, str] = {}
        for seg, matcher, part in zip(self.segments, self.matchers, parts):
            if matcher is None:
                if seg != part:
                    return None
                continue
            regex, names = matcher
            m = regex.match(part)
            if m is None or any(g == "" for g in m.groups()):
                return None
            for name, raw in zip(names, m.groups()):
                values[name] = unquote(raw)
        return values


class _TrieNode:
    """Path templates keyed segment by segment (literal or parameter text)."""

    __slots__ = ("literals", "params", "ends")

    def __init__(self) -> None:
        self.literals: dict[str, _TrieNode] = {}
        # segment text -> (regex, parameter names, child)
        self.params: dict[str, tuple[re.Pattern[str], tuple[str, ...], _TrieNode]] = {}
        self.ends: list[_Template] = []

    def insert(self, template: _Template) -> None:
        node = self
        for seg, matcher in zip(template.segments, template.matchers):
            if matcher is None:
                node = node.literals.setdefault(seg, _TrieNode())
            else:
                if seg not in node.params:
                    node.params[seg] = (matcher[0], matcher[1], _TrieNode())
                node = node.params[seg][2]
        node.ends.append(template)

    def find(self, parts: Sequence[str]) -> list[tuple[_Template, dict[str, str]]]:
        found: list[tuple[_Template, dict[str, str]]] = []
        self._find(parts, 0, {}, found)
        return found

    def _find(self, parts, i, values, found) -> None:
        if i == len(parts):
            found.extend((t, dict(values)) for t in self.ends)
            return
        part = parts[i]
        child = self.literals.get(part)
        if child is not None:
            child._find(parts, i + 1, values, found)
        for regex, names, child in self.params.values():
            m = regex.match(part)
            if m is None:
                continue
            captured = {n: unquote(g) for n, g in zip(names, m.groups())}
            child._find(parts, i + 1, {**values, **captured}, found)


# --------------------------------------------------------------------------
# Operations


@dataclass
class _Operation:
    template: str
    method: str
    operation_id: str
    # name -> resolved parameter object, per location.
    path_params: dict[str, dict[str, Any]]
    query_params: dict[str, dict[str, Any]]
    body_required: bool
    # application/json schema (raw OpenAPI), or None.
    json_body_schema: dict[str, Any] | None
    # Non-JSON media types accepted for the body (uploads ...).
    other_media_types: tuple[str, ...]
    has_request_body: bool
    # status code ("200", "404" ...) -> the raw OpenAPI response object (dereferenced).
    responses: dict[str, dict[str, Any]] = field(default_factory=dict)
    _body_validator: Draft202012Validator | None = field(default=None, repr=False)
    _response_validators: dict[str, tuple[Draft202012Validator, Draft202012Validator | None] | None] = field(
        default_factory=dict, repr=False
    )
    _param_validators: dict[tuple[str, str], Draft202012Validator] = field(
        default_factory=dict, repr=False
    )


class OpenApiSpec:
    """GitHub's OpenAPI description with request validation."""

    def __init__(
        self,
        document: Mapping[str, Any],
        *,
        source: Path | None = None,
        default_prefix: str = "",
        body_rules: Iterable[BodyRule] = DEFAULT_BODY_RULES,
        body_alternatives: Mapping[str, Mapping[str, Any]] = DEFAULT_BODY_ALTERNATIVES,
    ) -> None:
        self.document = document
        self.body_rules = tuple(body_rules)
        self._alternatives = {
            op_id: Draft202012Validator(dict(schema), format_checker=_FORMAT_CHECKER)
            for op_id, schema in body_alternatives.items()
        }
        self.source = source
        self.default_prefix = default_prefix
        self._paths: Mapping[str, Any] = document.get("paths", {})
        self._templates = [_Template.parse(t) for t in self._paths]
        # Segment trie for exact-length matches; greedy templates are tried
        # separately when nothing of the exact length matches.
        self._trie = _TrieNode()
        for t in self._templates:
            self._trie.insert(t)
        self._greedy = sorted((t for t in self._templates if t.greedy_tail), key=lambda t: t.rank)
        self._operations: dict[tuple[str, str], _Operation] = {}
        # "#/components/..." -> translated 2020-12 schema, and the refs it uses.
        self._translated: dict[str, Any] = {}
        self._translated_refs: dict[str, set[str]] = {}
        self._lock = threading.RLock()
        # id of a response validator -> its compiled fastjsonschema check
        self._fast: dict[int, Any] = {}

    # -- public -----------------------------------------------------------

    @property
    def templates(self) -> list[str]:
        return list(self._paths)

    def operation_id(self, method: str, path: str, *, prefix: str | None = None) -> str | None:
        """The operationId the request would be routed to, or None."""
        found = self._route(method, path, prefix)
        return found[0].operation_id if isinstance(found, tuple) else None

    def validate(
        self,
        method: str,
        path: str,
        query: Mapping[str, Sequence[str]] | None = None,
        body: Any = None,
        *,
        prefix: str | None = None,
    ) -> list[str]:
        """Check one request; return a list of problems (empty when valid).

        *path* is the URL path without query string. *query* maps parameter
        names to lists of raw values (as ``urllib.parse.parse_qs`` gives).
        *body* is the parsed JSON body, or None when there was none.
        *prefix* (default: the spec's ``default_prefix``, normally ``""``) is
        stripped from the path first and must be present; ``/api/v3`` (GitHub
        Enterprise Server) is also stripped when the path starts with it.
        """
        found = self._route(method, path, prefix)
        if isinstance(found, str):
            return [found]
        op, path_values = found
        errors: list[str] = []
        errors.extend(self._check_path_params(op, path_values))
        errors.extend(self._check_query(op, query or {}))
        errors.extend(self._check_body(op, body))
        return errors

    def validate_request(self, request: Any, *, prefix: str | None = None) -> list[str]:
        """Check an object with .method, .path, .query and .body attributes."""
        return self.validate(
            request.method,
            request.path,
            getattr(request, "query", None) or {},
            getattr(request, "body", None),
            prefix=prefix,
        )

    def validate_response(
        self,
        method: str,
        path: str,
        status: int,
        body: Any,
        *,
        prefix: str | None = None,
    ) -> list[str]:
        """Check one answer (its status and parsed JSON body) against the operation's responses.

        - a success (2xx) or redirect (3xx) status must be declared for the operation, except
          ``304`` (GitHub answers any conditional GET with it; the description declares it on a
          few operations only); a declared JSON schema must validate the body, and a declared
          body must be there;
        - an error status (4xx, 5xx) is checked against its schema when the operation declares it
          (the description does not list every error of every operation, e.g. 401).
        """
        found = self._route(method, path, prefix)
        if isinstance(found, str):
            return [found]
        op = found[0]
        code = str(status)
        declared = op.responses.get(code) or op.responses.get(f"{code[0]}XX")
        if declared is None:
            if status == 304 or status >= 400:
                return []
            known = ", ".join(sorted(op.responses)) or "none"
            return [f"response status {status} is not declared for {op.operation_id} (declared: {known})"]
        validator = self._response_validator(op, code, declared)
        if validator is None:
            if body not in (None, b"", "") and 200 <= status < 300:
                return [f"response {status}: {op.operation_id} declares no body, got {_short(body)}"]
            return []
        if body is None:
            return [f"response {status}: missing the JSON body {op.operation_id} declares"]
        validator, item_validator = validator
        if item_validator is not None and isinstance(body, list):
            # A listing: each item on its own, so that an item already seen (the same issue
            # listed again by a later run) is not validated again.
            errors = []
            for index, item in enumerate(body):
                for e in self._cached_errors(item_validator, item):
                    errors.append(f"response {status}: {_describe(e, root=f'$[{index}]')}")
            return errors[:10]
        return [f"response {status}: {_describe(e)}" for e in self._cached_errors(validator, body)[:10]]

    def _cached_errors(self, validator: Draft202012Validator, value: Any) -> list[ValidationError]:
        """The validator's errors for ``value``. Answers are many (every issue of every listing),
        so a compiled check (fastjsonschema, when installed) runs first and jsonschema only
        explains a failure."""
        fast = self._fast_check(validator)
        if fast is not None:
            try:
                fast(value)
                return []
            except _FastError as exc:
                errors = sorted(validator.iter_errors(value), key=lambda e: (list(e.absolute_path), e.message))
                return errors or [ValidationError(f"{exc.message} (fastjsonschema)")]
        return sorted(validator.iter_errors(value), key=lambda e: (list(e.absolute_path), e.message))

    def _fast_check(self, validator: Draft202012Validator) -> Any:
        """A fastjsonschema function equivalent to ``validator`` (same loose date/date-time
        checks, other formats as annotations), or None without fastjsonschema."""
        if _fastjsonschema is None:
            return None
        key = id(validator)
        if key not in self._fast:
            schema = dict(validator.schema)
            schema["$schema"] = "http://json-schema.org/draft-07/schema#"
            formats: dict[str, Any] = {name: (lambda v: True) for name in _formats(schema)}
            formats["date-time"] = lambda v: _FORMAT_CHECKER.conforms(v, "date-time")
            formats["date"] = lambda v: _FORMAT_CHECKER.conforms(v, "date")
            with self._lock:
                self._fast[key] = _fastjsonschema.compile(schema, formats=formats)
        return self._fast[key]

    def _response_validator(self, op: _Operation, code: str, declared: Mapping[str, Any]):
        """(validator, validator of one item when the schema is an array of them), or None."""
        if code not in op._response_validators:
            schema = None
            for media, media_obj in (declared.get("content") or {}).items():
                if _JSON_MEDIA_RE.match(media) and media_obj.get("schema") is not None:
                    schema = media_obj["schema"]
                    break
            if schema is None:
                op._response_validators[code] = None
            else:
                items = schema.get("items") if schema.get("type") == "array" and set(schema) <= {"type", "items"} else None
                op._response_validators[code] = (
                    self._validator_for(schema), None if items is None else self._validator_for(items)
                )
        return op._response_validators[code]

    def validate_log(self, log: Iterable[Any], prefix: str | None = None, *, responses: bool = True) -> list[str]:
        """Check every logged request, and (``responses``) every answer the fake itself gave
        (not those made up by an injected fault, nor dropped connections); prefix each error
        with ``METHOD path: ``."""
        errors: list[str] = []
        for request in log:
            for error in self.validate_request(request, prefix=prefix):
                errors.append(f"{request.method.upper()} {request.path}: {error}")
            status = getattr(request, "status", 0)
            if responses and status and not getattr(request, "fault", False):
                problems = self.validate_response(request.method, request.path, status,
                                                  getattr(request, "response", None), prefix=prefix)
                for error in problems:
                    if error.startswith(("path does not start", "no path in", "method ")):
                        continue  # already reported for the request
                    errors.append(f"{request.method.upper()} {request.path}: {error}")
        return errors

    # -- routing ----------------------------------------------------------

    def _strip_prefix(self, path: str, prefix: str | None) -> str | None:
        if prefix is None:
            prefix = self.default_prefix
        prefix = prefix.rstrip("/")
        if prefix:
            if path != prefix and not path.startswith(prefix + "/"):
                return None
            path = path[len(prefix) :] or "/"
        if path == ENTERPRISE_PREFIX or path.startswith(ENTERPRISE_PREFIX + "/"):
            path = path[len(ENTERPRISE_PREFIX) :] or "/"
        return path

    def _route(
        self, method: str, path: str, prefix: str | None
    ) -> tuple[_Operation, dict[str, str]] | str:
        stripped = self._strip_prefix(path, prefix)
        if stripped is None:
            return f"path does not start with the expected prefix {prefix!r}"
        if "?" in stripped:
            return "path contains a query string; pass query parameters separately"
        if not stripped.startswith("/"):
            return f"path {stripped!r} is not absolute"
        candidates = self._candidates(stripped)
        if not candidates:
            alias = _REPOSITORY_ID_RE.match(stripped)
            if alias is not None:
                # GitHub's pagination Link headers use /repositories/{id}/...,
                # an undocumented alias of /repos/{owner}/{repo}/...
                candidates = self._candidates(f"/repos/-/{alias['id']}{alias['rest'] or ''}")
        if not candidates:
            return f"no path in GitHub's OpenAPI description matches {stripped!r}"
        verb = method.lower()
        if verb not in _HTTP_METHODS:
            return f"unknown HTTP method {method!r}"
        for template, values in candidates:
            item = self._paths[template.template]
            op_verb = verb
            if op_verb not in item and verb == "head":
                op_verb = "get"
            if op_verb in item:
                return self._operation(template.template, op_verb), values
        best = candidates[0][0].template
        allowed = sorted(m.upper() for m in self._paths[best] if m in _HTTP_METHODS)
        return f"method {method.upper()} is not defined for {best} (allowed: {', '.join(allowed)})"

    def _candidates(self, path: str) -> list[tuple[_Template, dict[str, str]]]:
        parts = path.split("/")[1:] if path != "/" else [""]
        candidates = sorted(self._trie.find(parts), key=lambda tv: tv[0].rank)
        if not candidates:
            candidates = [(t, v) for t in self._greedy if (v := t.match(parts)) is not None]
        return candidates

    def _operation(self, template: str, verb: str) -> _Operation:
        key = (template, verb)
        op = self._operations.get(key)
        if op is not None:
            return op
        with self._lock:
            op = self._operations.get(key)
            if op is None:
                op = self._build_operation(template, verb)
                self._operations[key] = op
        return op

    def _build_operation(self, template: str, verb: str) -> _Operation:
        item = self._paths[template]
        raw = item[verb]
        params: dict[tuple[str, str], dict[str, Any]] = {}
        # Operation-level parameters override path-level ones (same name+in).
        for p in [*item.get("parameters", ()), *raw.get("parameters", ())]:
            p = self._deref(p)
            params[(p["in"], p["name"])] = p
        body = raw.get("requestBody")
        json_schema = None
        others: tuple[str, ...] = ()
        required = False
        if body is not None:
            body = self._deref(body)
            required = bool(body.get("required", False))
            content = body.get("content", {})
            for media, media_obj in content.items():
                if _JSON_MEDIA_RE.match(media):
                    json_schema = media_obj.get("schema", {})
                    break
            others = tuple(m for m in content if not _JSON_MEDIA_RE.match(m))
        return _Operation(
            template=template,
            method=verb,
            operation_id=raw.get("operationId", f"{verb} {template}"),
            path_params={n: p for (loc, n), p in params.items() if loc == "path"},
            query_params={n: p for (loc, n), p in params.items() if loc == "query"},
            body_required=required,
            json_body_schema=json_schema,
            other_media_types=others,
            has_request_body=body is not None,
            responses={str(code): dict(self._deref(r)) for code, r in raw.get("responses", {}).items()},
        )

    def _deref(self, obj: Mapping[str, Any]) -> Mapping[str, Any]:
        seen = set()
        while "$ref" in obj:
            ref = obj["$ref"]
            if ref in seen:
                raise ValueError(f"circular $ref {ref}")
            seen.add(ref)
            obj = self._pointer(ref)
        return obj

    def _pointer(self, ref: str) -> Any:
        if not ref.startswith("#/"):
            raise ValueError(f"unsupported $ref {ref!r} (only local references)")
        node: Any = self.document
        for token in ref[2:].split("/"):
            token = token.replace("~1", "/").replace("~0", "~")
            node = node[int(token)] if isinstance(node, list) else node[token]
        return node

    # -- schema translation (OpenAPI 3.0 -> JSON Schema 2020-12) -----------

    def _validator_for(self, schema: Mapping[str, Any]) -> Draft202012Validator:
        """Compile *schema* (raw OpenAPI) into a self-contained 2020-12 validator."""
        with self._lock:
            refs: set[str] = set()
            root = self._translate(schema, refs)
            defs: dict[str, Any] = {}
            pending = list(refs)
            while pending:
                ref = pending.pop()
                key = _def_key(ref)
                if key in defs:
                    continue
                if ref not in self._translated:
                    nested: set[str] = set()
                    self._translated[ref] = self._translate(self._pointer(ref), nested)
                    self._translated_refs[ref] = nested
                defs[key] = self._translated[ref]
                pending.extend(self._translated_refs[ref])
        bundle = dict(root) if isinstance(root, dict) else {"allOf": [root]}
        if defs:
            if "$defs" in bundle:
                bundle = {"allOf": [bundle]}
            bundle["$defs"] = defs
        bundle["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        return Draft202012Validator(bundle, format_checker=_FORMAT_CHECKER)

    def _translate(self, node: Any, refs: set[str]) -> Any:
        if isinstance(node, list):
            return [self._translate(x, refs) for x in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            ref = node["$ref"]
            if not ref.startswith("#/components/"):
                raise ValueError(f"unsupported $ref {ref!r}")
            refs.add(ref)
            # OpenAPI 3.0 ignores siblings of $ref.
            return {"$ref": "#/$defs/" + _escape_pointer(_def_key(ref))}
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in ("nullable", "discriminator", "xml", "externalDocs", "example", "examples"):
                continue
            if key.startswith("x-"):
                continue
            if key in ("properties", "patternProperties", "$defs", "definitions"):
                out[key] = {k: self._translate(v, refs) for k, v in value.items()}
            elif key in ("enum", "const", "default", "required", "type", "description", "title"):
                out[key] = value
            elif key == "exclusiveMinimum" and isinstance(value, bool):
                if value and "minimum" in node:
                    out["exclusiveMinimum"] = node["minimum"]
            elif key == "exclusiveMaximum" and isinstance(value, bool):
                if value and "maximum" in node:
                    out["exclusiveMaximum"] = node["maximum"]
            else:
                out[key] = self._translate(value, refs)
        # OpenAPI 3.0: exclusiveMinimum: true turns minimum into a strict bound.
        if node.get("exclusiveMinimum") is True:
            out.pop("minimum", None)
        if node.get("exclusiveMaximum") is True:
            out.pop("maximum", None)
        if node.get("nullable") is True:
            out = _allow_null(out)
        return out

    # -- checks -----------------------------------------------------------

    def _param_validator(self, op: _Operation, loc: str, param: Mapping[str, Any]):
        key = (loc, param["name"])
        validator = op._param_validators.get(key)
        if validator is None:
            schema = param.get("schema")
            if schema is None:
                # 'content'-style parameters: validate the first media type's schema.
                content = param.get("content") or {}
                schema = next(iter(content.values()), {}).get("schema", {})
            validator = self._validator_for(schema)
            op._param_validators[key] = validator
        return validator

    def _check_path_params(self, op: _Operation, values: Mapping[str, str]) -> list[str]:
        errors = []
        for name, raw in values.items():
            param = op.path_params.get(name)
            if param is None:
                continue
            problem = _check_scalar(self._param_validator(op, "path", param), raw)
            if problem:
                errors.append(f"path parameter {name}={raw!r}: {problem}")
        return errors

    def _check_query(self, op: _Operation, query: Mapping[str, Sequence[str]]) -> list[str]:
        errors = []
        seen: set[str] = set()
        for given_name, raw_values in query.items():
            values = [raw_values] if isinstance(raw_values, str) else list(raw_values)
            name = given_name
            param = op.query_params.get(name)
            if param is None and name.endswith("[]"):
                name = name[:-2]
                param = op.query_params.get(name)
            if param is None:
                known = ", ".join(sorted(op.query_params)) or "none"
                errors.append(
                    f"unknown query parameter {given_name!r} for {op.operation_id} "
                    f"(declared: {known})"
                )
                continue
            if name in seen:
                errors.append(f"query parameter {name!r} given both with and without '[]'")
            seen.add(name)
            validator = self._param_validator(op, "query", param)
            shown = values[0] if len(values) == 1 else values
            as_array = _allows_array(validator.schema, validator) and (
                len(values) > 1
                or given_name.endswith("[]")
                or not _allows_scalar(validator.schema, validator)
            )
            if as_array:
                problem = _check_array(validator, values)
            elif len(values) != 1:
                problem = f"given {len(values)} times but takes a single value"
            else:
                problem = _check_scalar(validator, values[0])
            if problem:
                errors.append(f"query parameter {name}={shown!r}: {problem}")
        for name, param in op.query_params.items():
            if param.get("required") and name not in seen:
                errors.append(f"missing required query parameter {name!r} for {op.operation_id}")
        return errors

    def _check_body(self, op: _Operation, body: Any) -> list[str]:
        if body is None:
            if op.body_required and op.json_body_schema is not None:
                return [f"missing required JSON request body for {op.operation_id}"]
            return []
        if not op.has_request_body:
            if body in ({}, [], ""):
                return []
            return [f"{op.operation_id} takes no request body, got {_short(body)}"]
        if op.json_body_schema is None:
            # Non-JSON upload (octet-stream, text/plain ...): nothing to check here.
            return []
        validator = op._body_validator
        if validator is None:
            validator = self._validator_for(op.json_body_schema)
            op._body_validator = validator
        alternative = self._alternatives.get(op.operation_id)
        if alternative is not None and alternative.is_valid(body):
            return []
        errors = sorted(validator.iter_errors(body), key=lambda e: (e.json_path, e.message))
        out = [f"request body: {_describe(e)}" for e in errors]
        if isinstance(body, dict):
            for rule in self.body_rules:
                if op.operation_id in rule.operation_ids and rule.field_name in body:
                    value = body[rule.field_name]
                    if not rule.ok(value):
                        out.append(
                            f"request body: at $.{rule.field_name}: {value!r} is not "
                            f"{rule.expectation} [stricter than spec]"
                        )
        return out


# --------------------------------------------------------------------------
# Helpers


def _formats(node: Any) -> set[str]:
    """Every ``format`` named in a schema."""
    found: set[str] = set()
    if isinstance(node, dict):
        if isinstance(node.get("format"), str):
            found.add(node["format"])
        for value in node.values():
            found |= _formats(value)
    elif isinstance(node, list):
        for value in node:
            found |= _formats(value)
    return found


def _def_key(ref: str) -> str:
    # "#/components/schemas/issue" -> "schemas.issue"
    parts = ref[len("#/components/") :].split("/", 1)
    return ".".join(p.replace("~1", "/").replace("~0", "~") for p in parts)


def _escape_pointer(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _allow_null(schema: dict[str, Any]) -> dict[str, Any]:
    """Make a translated schema accept null (OpenAPI 3.0 ``nullable: true``)."""
    typ = schema.get("type")
    combinators = {"oneOf", "anyOf", "allOf", "not", "$ref", "if", "const"}
    if isinstance(typ, str) and not combinators & schema.keys():
        out = dict(schema, type=[typ, "null"])
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
        return out
    if set(schema) - {"description", "title", "default"} == {"oneOf"}:
        return dict(schema, oneOf=[*schema["oneOf"], {"type": "null"}])
    if set(schema) - {"description", "title", "default"} == {"anyOf"}:
        return dict(schema, anyOf=[*schema["anyOf"], {"type": "null"}])
    return {"anyOf": [schema, {"type": "null"}]}


def _scalar_candidates(raw: str) -> list[Any]:
    """JSON values a raw query/path string may stand for, most specific first."""
    out: list[Any] = []
    if _INT_RE.match(raw):
        out.append(int(raw))
    if _NUMBER_RE.match(raw) and not _INT_RE.match(raw):
        out.append(float(raw))
    if raw in ("true", "false"):
        out.append(raw == "true")
    out.append(raw)
    return out


def _schema_types(schema: Any, validator: Draft202012Validator, depth: int = 0) -> set[str]:
    """Approximate set of JSON types a (translated) schema admits."""
    if not isinstance(schema, dict) or depth > 20:
        return {"any"}
    if "$ref" in schema:
        ref = schema["$ref"]
        prefix = "#/$defs/"
        defs = validator.schema.get("$defs", {}) if isinstance(validator.schema, dict) else {}
        if not ref.startswith(prefix):
            return {"any"}
        key = ref[len(prefix) :].replace("~1", "/").replace("~0", "~")
        return _schema_types(defs.get(key), validator, depth + 1)
    types: set[str] = set()
    typ = schema.get("type")
    if isinstance(typ, str):
        types.add(typ)
    elif isinstance(typ, list):
        types.update(typ)
    for key in ("oneOf", "anyOf"):
        for sub in schema.get(key, ()):
            types |= _schema_types(sub, validator, depth + 1)
    for sub in schema.get("allOf", ()):
        types |= _schema_types(sub, validator, depth + 1)
    if "enum" in schema and not types:
        types.update(_JSON_TYPE_NAMES.get(type(v), "any") for v in schema["enum"])
    return types or {"any"}


_JSON_TYPE_NAMES = {
    str: "string",
    bool: "boolean",
    int: "integer",
    float: "number",
    type(None): "null",
}


def _allows_array(schema: Any, validator: Draft202012Validator) -> bool:
    types = _schema_types(schema, validator)
    return "array" in types


def _allows_scalar(schema: Any, validator: Draft202012Validator) -> bool:
    return bool(_schema_types(schema, validator) - {"array", "object"})


def _check_scalar(validator: Draft202012Validator, raw: str) -> str | None:
    candidates = _scalar_candidates(raw)
    if any(validator.is_valid(value) for value in candidates):
        return None
    errors = [(value, best_match(validator.iter_errors(value))) for value in candidates]
    # Prefer the complaint about the interpretation the schema is typed for.
    types = _schema_types(validator.schema, validator)
    for value, error in errors:
        if (isinstance(value, bool) and "boolean" in types) or (
            isinstance(value, int) and not isinstance(value, bool) and "integer" in types
        ):
            return _describe(error)
    return _describe(errors[-1][1])  # the plain string reading


def _check_array(validator: Draft202012Validator, raws: Sequence[str]) -> str | None:
    schema = validator.schema
    item_types: set[str] = {"any"}
    for branch in [schema, *schema.get("oneOf", ()), *schema.get("anyOf", ())]:
        if isinstance(branch, dict) and "items" in branch:
            item_types = _schema_types(branch["items"], validator)
            break
    items: list[Any] = []
    for raw in raws:
        value: Any = raw
        if "integer" in item_types and _INT_RE.match(raw):
            value = int(raw)
        elif "number" in item_types and _NUMBER_RE.match(raw):
            value = float(raw)
        elif "boolean" in item_types and raw in ("true", "false"):
            value = raw == "true"
        items.append(value)
    error = best_match(validator.iter_errors(items))
    return None if error is None else _describe(error)


def _describe(error: ValidationError, root: str = "$") -> str:
    """One line: where (below ``root``), and the most relevant reason."""
    if error.context:
        deeper = best_match(error.context)
        if deeper is not None:
            error = deeper
    where = root + error.json_path[1:]
    message = error.message
    if len(message) > 300:
        message = message[:297] + "..."
    return message if where == "$" else f"at {where}: {message}"


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


# --------------------------------------------------------------------------
# Module-level convenience


def validate_log(
    log: Iterable[Any],
    prefix: str = "",
    *,
    spec: OpenApiSpec | None = None,
    responses: bool = True,
) -> list[str]:
    """Check every logged request (and, with *responses*, every answer the fake gave: objects
    with ``.status``, ``.response`` and ``.fault``) against GitHub's OpenAPI description.

    *log* holds objects with ``.method``, ``.path`` (no query string),
    ``.query`` (``dict[str, list[str]]``) and ``.body`` (parsed JSON or
    None), such as the fake server's ``LoggedRequest``. Each error is
    prefixed with ``"METHOD path: "``. *prefix* (e.g. ``"/api/v3"``) is
    stripped from every path and must be present.
    """
    spec = spec or load_spec()
    return spec.validate_log(log, prefix=prefix, responses=responses)
