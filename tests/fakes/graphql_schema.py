"""A small GraphQL engine for the fakes, and the schema excerpts they serve.

GitHub and GitLab both run graphql-ruby; the fakes answer like it: HTTP 200 with
``{"data": ..., "errors": [...]}``. Documents are parsed for real (a lexer and a
recursive-descent parser for the executable subset: operations, variables, selection
sets, arguments, aliases, fragments, inline fragments, directives are parsed and
``@skip``/``@include`` honoured) and validated against a schema written in SDL (the
excerpts below, copied from the published schemas, trimmed to what the fakes model).
Validation errors carry graphql-ruby's messages and ``extensions.code``
(``undefinedField``, ``argumentNotAccepted``, ``missingRequiredArguments``,
``selectionMismatch``, ``variableNotDefined``, ...), so an unknown field or argument
fails as it would on the forge, before anything is executed.

Sources of the excerpts:

* GitHub: ``octokit/graphql-schema`` ``schema.graphql`` (see /work/notes/subissues.md §3):
  ``addSubIssue``, ``removeSubIssue``, ``reprioritizeSubIssue``, their inputs and payloads,
  ``Issue.parent``/``subIssues``/``subIssuesSummary``, ``SubIssuesSummary``; Projects (v2):
  ``Query.organization``/``user``/``repositoryOwner``, ``ProjectV2Owner.projectV2``,
  ``ProjectV2`` and its fields (``ProjectV2Field``, ``ProjectV2SingleSelectField`` and its
  options, the ``ProjectV2FieldConfiguration`` union), ``ProjectV2Item`` with
  ``fieldValueByName``, and the mutations ``addProjectV2ItemById``,
  ``updateProjectV2ItemFieldValue`` and ``clearProjectV2ItemFieldValue`` with their inputs
  (``ProjectV2FieldValue``) and payloads (checked against the schema of 2026-07-22).
* GitLab: gitlabhq ``app/graphql/types/work_items/...`` (``WorkItemUpdateInput``,
  ``WorkItemWidgetHierarchyUpdateInput`` with ``parentId``, ``childrenIds``,
  ``adjacentWorkItemId``, ``relativePosition``; MR !114509 added the last two),
  ``WorkItemWidgetHierarchy`` (``parent``, ``children``, ``hasChildren``, ``hasParent``).

Execution: a resolver returns plain Python values. An object is a dict whose keys are
field names; a value may be a callable taking the field's (coerced) arguments as keyword
arguments. An object whose GraphQL type is abstract (interface/union) says what it is
with a ``"__typename"`` key. A resolver raises :class:`GraphQLError` to null its field
and add an error (GitHub style: ``type``, ``path``, ``locations``, ``message``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

__all__ = [
    "GITHUB_PROJECTS_SDL",
    "GITHUB_SCALARS",
    "GITHUB_SDL",
    "GITHUB_SUB_ISSUES_SDL",
    "GITLAB_SDL",
    "GraphQLError",
    "Schema",
    "execute",
]


# ============================================================================ errors


class GraphQLError(Exception):
    """An error answered in ``errors``. ``type`` is GitHub's error type (NOT_FOUND, ...)."""

    def __init__(self, message: str, *, type: str | None = None, locations: list | None = None,
                 path: list | None = None, extensions: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.type = type
        self.locations = locations
        self.path = path
        self.extensions = extensions

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.type is not None:
            out["type"] = self.type
        if self.path is not None:
            out["path"] = self.path
        if self.extensions is not None:
            out["extensions"] = self.extensions
        if self.locations is not None:
            out["locations"] = self.locations
        out["message"] = self.message
        return out


# ============================================================================= lexer


_PUNCT = "!$&()[]{}:=@|"
_TOKEN_NAMES = {"!": "BANG", "$": "VAR_SIGN", "&": "AMP", "(": "LPAREN", ")": "RPAREN",
                "[": "LBRACKET", "]": "RBRACKET", "{": "LCURLY", "}": "RCURLY", ":": "COLON",
                "=": "EQUALS", "@": "DIR_SIGN", "|": "PIPE", "...": "ELLIPSIS"}
_NAME_RE = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")
_NUM_RE = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")


@dataclass
class _Tok:
    kind: str  # PUNCT, NAME, INT, FLOAT, STRING, EOF
    value: str
    line: int
    col: int


def _lex(src: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, line, line_start = 0, 1, 0
    n = len(src)
    while i < n:
        c = src[i]
        if c == "\n":
            i += 1
            line, line_start = line + 1, i
            continue
        if c in " \t\r,\ufeff":
            i += 1
            continue
        if c == "#":
            while i < n and src[i] != "\n":
                i += 1
            continue
        col = i - line_start + 1
        if src.startswith("...", i):
            toks.append(_Tok("PUNCT", "...", line, col))
            i += 3
            continue
        if c in _PUNCT:
            toks.append(_Tok("PUNCT", c, line, col))
            i += 1
            continue
        m = _NAME_RE.match(src, i)
        if m:
            toks.append(_Tok("NAME", m.group(), line, col))
            i = m.end()
            continue
        m = _NUM_RE.match(src, i)
        if m and m.group():
            text = m.group()
            toks.append(_Tok("FLOAT" if (m.group(2) or m.group(3)) else "INT", text, line, col))
            i = m.end()
            continue
        if src.startswith('"""', i):
            end = src.find('"""', i + 3)
            if end < 0:
                raise GraphQLError(f"Parse error on unterminated string at [{line}, {col}]",
                                   locations=[{"line": line, "column": col}])
            raw = src[i + 3:end]
            toks.append(_Tok("STRING", _block_string(raw), line, col))
            line += raw.count("\n")
            if "\n" in raw:
                line_start = i + 3 + raw.rfind("\n") + 1
            i = end + 3
            continue
        if c == '"':
            j, out = i + 1, []
            while True:
                if j >= n or src[j] == "\n":
                    raise GraphQLError(f"Parse error on unterminated string at [{line}, {col}]",
                                       locations=[{"line": line, "column": col}])
                ch = src[j]
                if ch == '"':
                    break
                if ch == "\\":
                    esc = src[j + 1: j + 2]
                    if esc == "u":
                        out.append(chr(int(src[j + 2: j + 6], 16)))
                        j += 6
                        continue
                    out.append({"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}.get(esc, esc))
                    j += 2
                    continue
                out.append(ch)
                j += 1
            toks.append(_Tok("STRING", "".join(out), line, col))
            i = j + 1
            continue
        raise GraphQLError(f"Parse error on \"{c}\" (error) at [{line}, {col}]",
                           locations=[{"line": line, "column": col}])
    toks.append(_Tok("EOF", "", line, i - line_start + 1))
    return toks


def _block_string(raw: str) -> str:
    lines = raw.replace("\r\n", "\n").split("\n")
    indents = [len(ln) - len(ln.lstrip()) for ln in lines[1:] if ln.strip()]
    common = min(indents) if indents else 0
    lines = [lines[0]] + [ln[common:] for ln in lines[1:]]
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines)


# ============================================================================ parser
# AST: plain dataclasses.


@dataclass
class TypeRef:
    name: str | None = None  # named type
    of: "TypeRef | None" = None  # list or non-null inner type
    non_null: bool = False
    is_list: bool = False

    def __str__(self) -> str:
        if self.non_null:
            return f"{self.of}!"
        if self.is_list:
            return f"[{self.of}]"
        return str(self.name)

    @property
    def base(self) -> str:
        t = self
        while t.name is None:
            t = t.of  # type: ignore[assignment]
        return t.name


@dataclass
class Var:
    name: str


@dataclass
class EnumVal:
    name: str


@dataclass
class Field:
    name: str
    alias: str | None
    args: dict[str, Any]
    directives: list[tuple[str, dict[str, Any]]]
    selections: list[Any] | None
    line: int
    col: int

    @property
    def key(self) -> str:
        return self.alias or self.name


@dataclass
class Spread:
    name: str
    directives: list[tuple[str, dict[str, Any]]]
    line: int
    col: int


@dataclass
class InlineFragment:
    on: str | None
    directives: list[tuple[str, dict[str, Any]]]
    selections: list[Any]
    line: int
    col: int


@dataclass
class Operation:
    kind: str  # query / mutation / subscription
    name: str | None
    variables: list[tuple[str, TypeRef, Any, bool]]  # name, type, default, has default
    selections: list[Any]
    line: int
    col: int


@dataclass
class Fragment:
    name: str
    on: str
    selections: list[Any]
    line: int
    col: int


_NO_DEFAULT = object()


class _Parser:
    def __init__(self, src: str) -> None:
        self.toks = _lex(src)
        self.i = 0

    # -- tokens
    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def error(self, tok: _Tok | None = None) -> GraphQLError:
        tok = tok or self.tok
        if tok.kind == "EOF":
            shown, kind = "end of file", "EOF"
        elif tok.kind == "PUNCT":
            shown, kind = tok.value, _TOKEN_NAMES[tok.value]
        elif tok.kind == "NAME":
            shown, kind = tok.value, "IDENTIFIER"
        else:
            shown, kind = tok.value, tok.kind
        return GraphQLError(f'Parse error on "{shown}" ({kind}) at [{tok.line}, {tok.col}]',
                            locations=[{"line": tok.line, "column": tok.col}])

    def peek(self, value: str) -> bool:
        return self.tok.kind == "PUNCT" and self.tok.value == value

    def peek_name(self, value: str | None = None) -> bool:
        return self.tok.kind == "NAME" and (value is None or self.tok.value == value)

    def expect(self, value: str) -> _Tok:
        if not self.peek(value):
            raise self.error()
        tok = self.tok
        self.i += 1
        return tok

    def skip(self, value: str) -> bool:
        if self.peek(value):
            self.i += 1
            return True
        return False

    def name(self) -> str:
        if self.tok.kind != "NAME":
            raise self.error()
        value = self.tok.value
        self.i += 1
        return value

    # -- executable documents
    def document(self) -> tuple[list[Operation], dict[str, Fragment]]:
        ops: list[Operation] = []
        frags: dict[str, Fragment] = {}
        if self.tok.kind == "EOF":
            raise self.error()
        while self.tok.kind != "EOF":
            tok = self.tok
            if self.peek("{"):
                ops.append(Operation("query", None, [], self.selection_set(), tok.line, tok.col))
            elif self.peek_name("fragment"):
                self.i += 1
                name = self.name()
                if not self.peek_name("on"):
                    raise self.error()
                self.i += 1
                on = self.name()
                self.directives()
                frags[name] = Fragment(name, on, self.selection_set(), tok.line, tok.col)
            elif self.tok.kind == "NAME" and self.tok.value in ("query", "mutation", "subscription"):
                kind = self.name()
                name = self.name() if self.tok.kind == "NAME" else None
                variables = self.variable_defs()
                self.directives()
                ops.append(Operation(kind, name, variables, self.selection_set(), tok.line, tok.col))
            else:
                raise self.error()
        return ops, frags

    def variable_defs(self) -> list[tuple[str, TypeRef, Any, bool]]:
        out = []
        if self.skip("("):
            while not self.skip(")"):
                self.expect("$")
                name = self.name()
                self.expect(":")
                typ = self.type_ref()
                default: Any = _NO_DEFAULT
                if self.skip("="):
                    default = self.value(const=True)
                self.directives()
                out.append((name, typ, None if default is _NO_DEFAULT else default,
                            default is not _NO_DEFAULT))
        return out

    def type_ref(self) -> TypeRef:
        if self.skip("["):
            inner = self.type_ref()
            self.expect("]")
            t = TypeRef(of=inner, is_list=True)
        else:
            t = TypeRef(name=self.name())
        if self.skip("!"):
            t = TypeRef(of=t, non_null=True)
        return t

    def selection_set(self) -> list[Any]:
        self.expect("{")
        out: list[Any] = []
        while not self.skip("}"):
            if self.tok.kind == "EOF":
                raise self.error()
            out.append(self.selection())
        if not out:
            raise self.error(self.toks[self.i - 1])
        return out

    def selection(self) -> Any:
        tok = self.tok
        if self.skip("..."):
            if self.peek_name("on"):
                self.i += 1
                on = self.name()
                dirs = self.directives()
                return InlineFragment(on, dirs, self.selection_set(), tok.line, tok.col)
            if self.peek("{") or self.peek("@"):
                dirs = self.directives()
                return InlineFragment(None, dirs, self.selection_set(), tok.line, tok.col)
            name = self.name()
            return Spread(name, self.directives(), tok.line, tok.col)
        name = self.name()
        alias = None
        if self.skip(":"):
            alias, name = name, self.name()
        args = self.arguments()
        dirs = self.directives()
        sels = self.selection_set() if self.peek("{") else None
        return Field(name, alias, args, dirs, sels, tok.line, tok.col)

    def arguments(self, const: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.skip("("):
            if self.peek(")"):
                raise self.error()
            while not self.skip(")"):
                name = self.name()
                self.expect(":")
                out[name] = self.value(const)
        return out

    def directives(self) -> list[tuple[str, dict[str, Any]]]:
        out = []
        while self.skip("@"):
            name = self.name()
            out.append((name, self.arguments()))
        return out

    def value(self, const: bool = False) -> Any:
        tok = self.tok
        if self.peek("$") and not const:
            self.i += 1
            return Var(self.name())
        if tok.kind == "INT":
            self.i += 1
            return int(tok.value)
        if tok.kind == "FLOAT":
            self.i += 1
            return float(tok.value)
        if tok.kind == "STRING":
            self.i += 1
            return tok.value
        if tok.kind == "NAME":
            self.i += 1
            if tok.value in ("true", "false"):
                return tok.value == "true"
            if tok.value == "null":
                return None
            return EnumVal(tok.value)
        if self.skip("["):
            items = []
            while not self.skip("]"):
                items.append(self.value(const))
            return items
        if self.skip("{"):
            obj: dict[str, Any] = {}
            while not self.skip("}"):
                key = self.name()
                self.expect(":")
                obj[key] = self.value(const)
            return obj
        raise self.error()

    # -- SDL (type system), for the schema excerpts
    def sdl(self) -> list[tuple[str, str, dict[str, Any]]]:
        """[(kind, name, info)] with kind in scalar/type/interface/input/enum/union/schema."""
        out = []
        while self.tok.kind != "EOF":
            if self.tok.kind == "STRING":  # description
                self.i += 1
                continue
            extend = False
            if self.peek_name("extend"):
                self.i += 1
                extend = True
            kind = self.name()
            if kind == "schema":
                ops = {}
                self.expect("{")
                while not self.skip("}"):
                    op = self.name()
                    self.expect(":")
                    ops[op] = self.name()
                out.append(("schema", "", {"ops": ops, "extend": extend}))
                continue
            name = self.name()
            info: dict[str, Any] = {"extend": extend}
            if kind == "scalar":
                self.directives()
            elif kind in ("type", "interface", "input"):
                info["implements"] = []
                if self.peek_name("implements"):
                    self.i += 1
                    self.skip("&")
                    info["implements"].append(self.name())
                    while self.skip("&"):
                        info["implements"].append(self.name())
                self.directives()
                info["fields"] = {}
                if self.skip("{"):
                    while not self.skip("}"):
                        if self.tok.kind == "STRING":
                            self.i += 1
                            continue
                        fname = self.name()
                        args: dict[str, tuple[TypeRef, Any, bool]] = {}
                        if self.skip("("):
                            while not self.skip(")"):
                                if self.tok.kind == "STRING":
                                    self.i += 1
                                    continue
                                aname = self.name()
                                self.expect(":")
                                atype = self.type_ref()
                                default: Any = _NO_DEFAULT
                                if self.skip("="):
                                    default = self.value(const=True)
                                self.directives()
                                args[aname] = (atype, None if default is _NO_DEFAULT else default,
                                               default is not _NO_DEFAULT)
                        self.expect(":")
                        ftype = self.type_ref()
                        default = _NO_DEFAULT
                        if kind == "input" and self.skip("="):
                            default = self.value(const=True)
                        self.directives()
                        info["fields"][fname] = (ftype, args,
                                                 None if default is _NO_DEFAULT else default,
                                                 default is not _NO_DEFAULT)
            elif kind == "enum":
                self.directives()
                info["values"] = []
                self.expect("{")
                while not self.skip("}"):
                    if self.tok.kind == "STRING":
                        self.i += 1
                        continue
                    info["values"].append(self.name())
                    self.directives()
            elif kind == "union":
                self.directives()
                self.expect("=")
                self.skip("|")
                members = [self.name()]
                while self.skip("|"):
                    members.append(self.name())
                info["members"] = members
            else:
                raise self.error()
            out.append((kind, name, info))
        return out


def parse(src: str) -> tuple[list[Operation], dict[str, Fragment]]:
    return _Parser(src).document()


# ============================================================================ schema


@dataclass
class _FieldDef:
    name: str
    type: TypeRef
    args: dict[str, tuple[TypeRef, Any, bool]]  # name -> (type, default, has_default)
    default: Any = None
    has_default: bool = False


@dataclass
class _TypeDef:
    kind: str  # SCALAR OBJECT INTERFACE INPUT_OBJECT ENUM UNION
    name: str
    fields: dict[str, _FieldDef] = field(default_factory=dict)
    interfaces: list[str] = field(default_factory=list)
    values: list[str] = field(default_factory=list)
    members: list[str] = field(default_factory=list)


_KINDS = {"scalar": "SCALAR", "type": "OBJECT", "interface": "INTERFACE", "input": "INPUT_OBJECT",
          "enum": "ENUM", "union": "UNION"}

_INTROSPECTION_SDL = '''
type __Type { kind: __TypeKind! name: String description: String
  fields(includeDeprecated: Boolean = false): [__Field!]
  interfaces: [__Type!] possibleTypes: [__Type!]
  enumValues(includeDeprecated: Boolean = false): [__EnumValue!]
  inputFields(includeDeprecated: Boolean = false): [__InputValue!] ofType: __Type }
type __Field { name: String! description: String args(includeDeprecated: Boolean = false): [__InputValue!]!
  type: __Type! isDeprecated: Boolean! deprecationReason: String }
type __InputValue { name: String! description: String type: __Type! defaultValue: String
  isDeprecated: Boolean! deprecationReason: String }
type __EnumValue { name: String! description: String isDeprecated: Boolean! deprecationReason: String }
enum __TypeKind { SCALAR OBJECT INTERFACE UNION ENUM INPUT_OBJECT LIST NON_NULL }
'''

_BUILTIN_SCALARS = ("String", "Int", "Float", "Boolean", "ID")


class Schema:
    """A schema built from SDL text. ``scalars`` maps custom scalar names to a coercion
    function (input value -> value; raise ValueError(explanation) to reject)."""

    def __init__(self, sdl: str, *, scalars: dict[str, Callable[[Any], Any]] | None = None) -> None:
        self.types: dict[str, _TypeDef] = {}
        self.roots = {"query": "Query", "mutation": "Mutation"}
        self.scalars = dict(scalars or {})
        for name in _BUILTIN_SCALARS:
            self.types[name] = _TypeDef("SCALAR", name)
        for kind, name, info in _Parser(_INTROSPECTION_SDL + sdl).sdl():
            if kind == "schema":
                self.roots.update(info["ops"])
                continue
            td = self.types.get(name)
            if td is None:
                td = self.types[name] = _TypeDef(_KINDS[kind], name)
            elif not info["extend"] and td.kind != "SCALAR":
                raise ValueError(f"type {name} defined twice")
            for fname, (ftype, args, default, has_default) in info.get("fields", {}).items():
                td.fields[fname] = _FieldDef(fname, ftype, args, default, has_default)
            td.interfaces += info.get("implements", [])
            td.values += info.get("values", [])
            td.members += info.get("members", [])
        for td in self.types.values():  # every referenced type must exist
            for f in td.fields.values():
                for t in [f.type] + [a[0] for a in f.args.values()]:
                    if t.base not in self.types:
                        raise ValueError(f"{td.name}.{f.name} refers to unknown type {t.base}")
        # Query gets the introspection entry points
        query = self.types.setdefault(self.roots["query"], _TypeDef("OBJECT", self.roots["query"]))
        query.fields.setdefault("__type", _FieldDef("__type", TypeRef(name="__Type"),
                                                    {"name": (TypeRef(of=TypeRef(name="String"), non_null=True), None, False)}))

    def has(self, name: str) -> bool:
        return name in self.types and not name.startswith("__")

    def possible(self, abstract: str, concrete: str) -> bool:
        """Can an object of type ``concrete`` appear where ``abstract`` is expected?"""
        if abstract == concrete:
            return True
        td = self.types[abstract]
        if td.kind == "INTERFACE":
            return abstract in self.types[concrete].interfaces
        if td.kind == "UNION":
            return concrete in td.members
        return False

    def overlaps(self, a: str, b: str) -> bool:
        objs = [t.name for t in self.types.values() if t.kind == "OBJECT"]
        return any(self.possible(a, o) and self.possible(b, o) for o in objs)

    # -- introspection objects
    def type_json(self, name: str | None, ref: TypeRef | None = None) -> dict[str, Any] | None:
        if ref is not None and ref.name is None:
            return {"kind": "NON_NULL" if ref.non_null else "LIST", "name": None, "description": None,
                    "fields": None, "interfaces": None, "possibleTypes": None, "enumValues": None,
                    "inputFields": None, "ofType": self.type_json(None, ref.of)}
        if ref is not None:
            name = ref.name
        td = self.types.get(name or "")
        if td is None:
            return None

        def args_json(args: dict[str, tuple[TypeRef, Any, bool]], **_: Any) -> list:
            return [{"name": n, "description": None, "type": self.type_json(None, t),
                     "defaultValue": None if not has else _print_value(d),
                     "isDeprecated": False, "deprecationReason": None}
                    for n, (t, d, has) in args.items()]

        def fields(**_: Any) -> list | None:
            if td.kind not in ("OBJECT", "INTERFACE"):
                return None
            return [{"name": f.name, "description": None, "args": lambda f=f, **_: args_json(f.args),
                     "type": self.type_json(None, f.type), "isDeprecated": False,
                     "deprecationReason": None}
                    for f in td.fields.values() if not f.name.startswith("__")]

        def input_fields(**_: Any) -> list | None:
            if td.kind != "INPUT_OBJECT":
                return None
            return args_json({f.name: (f.type, f.default, f.has_default) for f in td.fields.values()})

        def enum_values(**_: Any) -> list | None:
            if td.kind != "ENUM":
                return None
            return [{"name": v, "description": None, "isDeprecated": False, "deprecationReason": None}
                    for v in td.values]

        return {
            "kind": td.kind, "name": td.name, "description": None, "fields": fields,
            "interfaces": [self.type_json(i) for i in td.interfaces] if td.kind == "OBJECT" else None,
            "possibleTypes": ([self.type_json(t.name) for t in self.types.values()
                               if t.kind == "OBJECT" and self.possible(td.name, t.name)]
                              if td.kind in ("INTERFACE", "UNION") else None),
            "enumValues": enum_values, "inputFields": input_fields, "ofType": None,
        }


def _print_value(v: Any) -> str:
    if isinstance(v, EnumVal):
        return v.name
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, str):
        return '"' + v.replace('"', '\\"') + '"'
    if isinstance(v, list):
        return "[" + ", ".join(_print_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_print_value(x)}" for k, x in v.items()) + "}"
    return str(v)


# ======================================================================== validation


def _loc(node: Any) -> list[dict[str, int]]:
    return [{"line": node.line, "column": node.col}]


def _op_label(op: Operation) -> str:
    return f"{op.kind} {op.name}" if op.name else op.kind


class _Validator:
    """A subset of the spec's validation rules, with graphql-ruby's wording."""

    def __init__(self, schema: Schema, ops: list[Operation], frags: dict[str, Fragment]) -> None:
        self.schema = schema
        self.ops = ops
        self.frags = frags
        self.errors: list[GraphQLError] = []
        self.used_vars: set[str] = set()

    def err(self, message: str, node: Any, path: list, code: str, **ext: Any) -> None:
        self.errors.append(GraphQLError(message, locations=_loc(node), path=path,
                                        extensions={"code": code, **ext}))

    def run(self) -> list[GraphQLError]:
        names = [op.name for op in self.ops]
        if len(self.ops) > 1 and None in names:
            self.errors.append(GraphQLError(
                "Operation name is required when multiple operations are present"))
        for op in self.ops:
            root = self.schema.roots.get(op.kind)
            if root is None or root not in self.schema.types:
                self.errors.append(GraphQLError(f"Schema is not configured for {op.kind}s",
                                                locations=_loc(op), path=[_op_label(op)]))
                continue
            self.var_types = {v[0]: v[1] for v in op.variables}
            for vname, vtype, _, _ in op.variables:
                base = self.schema.types.get(vtype.base)
                if base is None:
                    self.err(f"{vtype.base} isn't a defined input type (on ${vname})", op,
                             [_op_label(op)], "variableRequiresValidType", typeName=vtype.base,
                             variableName=vname)
                elif base.kind not in ("SCALAR", "ENUM", "INPUT_OBJECT"):
                    self.err(f"{vtype.base} isn't a valid input type (on ${vname})", op,
                             [_op_label(op)], "variableRequiresValidType", typeName=vtype.base,
                             variableName=vname)
            self.used_vars = set()
            before = len(self.errors)
            self.selections(op.selections, root, [_op_label(op)], set())
            for vname in self.var_types:
                if vname not in self.used_vars and len(self.errors) == before:
                    self.err(f"Variable ${vname} is declared by {op.name or 'anonymous ' + op.kind} "
                             "but not used", op, [_op_label(op)], "variableNotUsed",
                             variableName=vname)
        for name, frag in self.frags.items():
            if frag.on not in self.schema.types:
                self.err(f"No such type {frag.on}, so it can't be a fragment condition", frag,
                         [f"fragment {name}"], "undefinedType", typeName=frag.on)
        return self.errors

    def selections(self, sels: list[Any], parent: str, path: list, seen_frags: set[str]) -> None:
        ptype = self.schema.types[parent]
        for sel in sels:
            for dname, dargs in getattr(sel, "directives", []):
                if dname not in ("skip", "include"):
                    self.err(f"Directive @{dname} is not defined", sel, path, "undefinedDirective",
                             directiveName=dname)
                else:
                    for v in dargs.values():
                        self.note_vars(v)
            if isinstance(sel, Field):
                self.field(sel, ptype, path, seen_frags)
            elif isinstance(sel, InlineFragment):
                on = sel.on or parent
                if on not in self.schema.types:
                    self.err(f"No such type {on}, so it can't be a fragment condition", sel, path,
                             "undefinedType", typeName=on)
                    continue
                if not self.schema.overlaps(parent, on):
                    self.err(f"Fragment on {on} can't be spread inside {parent}", sel, path + [f"... on {on}"],
                             "cannotSpreadFragment", typeName=on)
                    continue
                self.selections(sel.selections, on, path + [f"... on {on}"], seen_frags)
            else:
                frag = self.frags.get(sel.name)
                if frag is None:
                    self.err(f"Fragment {sel.name} was used, but not defined", sel, path,
                             "useAndDefineFragment", fragmentName=sel.name)
                    continue
                if sel.name in seen_frags:
                    self.err(f"Fragment {sel.name} contains an infinite loop", sel, path,
                             "infiniteLoop", fragmentName=sel.name)
                    continue
                if frag.on in self.schema.types and self.schema.overlaps(parent, frag.on):
                    self.selections(frag.selections, frag.on, path + [f"... {sel.name}"],
                                    seen_frags | {sel.name})

    def field(self, sel: Field, ptype: _TypeDef, path: list, seen_frags: set[str]) -> None:
        fpath = path + [sel.key]
        if sel.name == "__typename":
            if sel.args or sel.selections:
                self.err("Selections can't be made on scalars (field '__typename' returns String "
                         "but has selections [...])", sel, fpath, "selectionMismatch")
            return
        fdef = ptype.fields.get(sel.name)
        if fdef is None or ptype.kind not in ("OBJECT", "INTERFACE"):
            self.err(f"Field '{sel.name}' doesn't exist on type '{ptype.name}'", sel, fpath,
                     "undefinedField", typeName=ptype.name, fieldName=sel.name)
            return
        for aname, value in sel.args.items():
            if aname not in fdef.args:
                self.err(f"Field '{sel.name}' doesn't accept argument '{aname}'", sel,
                         fpath + [aname], "argumentNotAccepted", name=sel.name, typeName="Field",
                         argumentName=aname)
                continue
            self.literal(value, fdef.args[aname][0], sel, fpath + [aname], aname)
        missing = [a for a, (t, _, has) in fdef.args.items()
                   if t.non_null and not has and a not in sel.args]
        if missing:
            self.err(f"Field '{sel.name}' is missing required arguments: {', '.join(missing)}",
                     sel, fpath, "missingRequiredArguments", className="Field", name=sel.name,
                     arguments=", ".join(missing))
        rtype = self.schema.types[fdef.type.base]
        if rtype.kind in ("OBJECT", "INTERFACE", "UNION"):
            if not sel.selections:
                self.err(f"Field must have selections (field '{sel.name}' returns {rtype.name} but "
                         "has no selections. Did you mean '" + sel.name + " { ... }'?)", sel, fpath,
                         "selectionMismatch", nodeName=f"field '{sel.name}'", typeName=rtype.name)
                return
            self.selections(sel.selections, rtype.name, fpath, seen_frags)
        elif sel.selections:
            self.err(f"Selections can't be made on {'enums' if rtype.kind == 'ENUM' else 'scalars'} "
                     f"(field '{sel.name}' returns {rtype.name} but has selections [...])", sel,
                     fpath, "selectionMismatch", nodeName=f"field '{sel.name}'", typeName=rtype.name)

    def note_vars(self, value: Any) -> None:
        if isinstance(value, Var):
            self.used_vars.add(value.name)
        elif isinstance(value, list):
            for v in value:
                self.note_vars(v)
        elif isinstance(value, dict):
            for v in value.values():
                self.note_vars(v)

    def literal(self, value: Any, typ: TypeRef, node: Any, path: list, arg: str) -> None:
        """Check an argument literal (variables: declared and type-compatible)."""
        if isinstance(value, Var):
            self.used_vars.add(value.name)
            vtype = self.var_types.get(value.name)
            if vtype is None:
                self.err(f"Variable ${value.name} is used by {path[0]} but not declared", node, path,
                         "variableNotDefined", variableName=value.name)
            elif not _var_fits(vtype, typ):
                self.err(f"Nullability mismatch on variable ${value.name} and argument {arg} "
                         f"({vtype} / {typ})" if vtype.base == typ.base else
                         f"Type mismatch on variable ${value.name} and argument {arg} ({vtype} / {typ})",
                         node, path, "variableMismatch", variableName=value.name, typeName=str(vtype),
                         argumentName=arg, errorMessage="Type mismatch")
            return
        nested: list[Var] = []

        def walk(v: Any) -> None:
            if isinstance(v, Var):
                nested.append(v)
            elif isinstance(v, list):
                for x in v:
                    walk(x)
            elif isinstance(v, dict):
                for x in v.values():
                    walk(x)

        walk(value)
        for var in nested:
            self.used_vars.add(var.name)
            if var.name not in self.var_types:
                self.err(f"Variable ${var.name} is used by {path[0]} but not declared", node, path,
                         "variableNotDefined", variableName=var.name)
                return
        problem = _literal_problem(self.schema, value, typ)
        if problem is not None:
            self.err(f"Argument '{arg}' on Field '{path[-2]}' has an invalid value ({_print_value(value)})."
                     f" Expected type '{typ}'.", node, path, "argumentLiteralsIncompatible",
                     typeName="Field", argumentName=arg)


def _var_fits(vtype: TypeRef, loc: TypeRef) -> bool:
    if loc.non_null:
        if not vtype.non_null:
            return False
        return _var_fits(vtype.of, loc.of)  # type: ignore[arg-type]
    if vtype.non_null:
        return _var_fits(vtype.of, loc)  # type: ignore[arg-type]
    if loc.is_list:
        return vtype.is_list and _var_fits(vtype.of, loc.of)  # type: ignore[arg-type]
    return not vtype.is_list and vtype.name == loc.name


def _literal_problem(schema: Schema, value: Any, typ: TypeRef) -> str | None:
    if isinstance(value, Var):
        return None  # variables inside literals: checked when coercing
    if typ.non_null:
        if value is None:
            return "null"
        return _literal_problem(schema, value, typ.of)  # type: ignore[arg-type]
    if value is None:
        return None
    if typ.is_list:
        items = value if isinstance(value, list) else [value]
        for item in items:
            p = _literal_problem(schema, item, typ.of)  # type: ignore[arg-type]
            if p:
                return p
        return None
    td = schema.types[typ.name]  # type: ignore[index]
    if td.kind == "INPUT_OBJECT":
        if not isinstance(value, dict):
            return "not an object"
        for k, v in value.items():
            if k not in td.fields:
                return f"unknown field {k}"
            p = _literal_problem(schema, v, td.fields[k].type)
            if p:
                return p
        for f in td.fields.values():
            if f.type.non_null and not f.has_default and f.name not in value:
                return f"missing {f.name}"
        return None
    if td.kind == "ENUM":
        return None if isinstance(value, EnumVal) and value.name in td.values else "bad enum"
    if isinstance(value, (dict, list, EnumVal)):
        return "not a scalar"
    try:
        _coerce_scalar(schema, td.name, value)
    except ValueError as exc:
        return str(exc)
    return None


def _coerce_scalar(schema: Schema, name: str, value: Any) -> Any:
    if name == "Int":
        if isinstance(value, bool) or not isinstance(value, int) or not -2**31 <= value < 2**31:
            raise ValueError("Could not coerce value to Int")
        return value
    if name == "Float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError("Could not coerce value to Float")
        return float(value)
    if name == "Boolean":
        if not isinstance(value, bool):
            raise ValueError("Could not coerce value to Boolean")
        return value
    if name in ("String", "ID"):
        if name == "ID" and isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str):
            raise ValueError(f"Could not coerce value {_print_value(value)} to {name}")
        return value
    coerce = schema.scalars.get(name)
    if coerce is not None:
        return coerce(value)
    if isinstance(value, (dict, list)):
        raise ValueError(f"Could not coerce value to {name}")
    return value


# ========================================================================== coercion


class _CoercionError(Exception):
    def __init__(self, path: list, explanation: str) -> None:
        super().__init__(explanation)
        self.path = path
        self.explanation = explanation


def _coerce_input(schema: Schema, value: Any, typ: TypeRef, path: list, variables: dict | None) -> Any:
    """Coerce a JSON value (variables) or a literal (with ``variables`` to substitute)."""
    if isinstance(value, Var):
        value = (variables or {}).get(value.name)
        variables = None
    if typ.non_null:
        if value is None:
            raise _CoercionError(path, "Expected value to not be null")
        return _coerce_input(schema, value, typ.of, path, variables)  # type: ignore[arg-type]
    if value is None:
        return None
    if typ.is_list:
        items = value if isinstance(value, list) else [value]
        return [_coerce_input(schema, v, typ.of, path + [i], variables)  # type: ignore[arg-type]
                for i, v in enumerate(items)]
    td = schema.types[typ.name]  # type: ignore[index]
    if td.kind == "INPUT_OBJECT":
        if not isinstance(value, dict):
            raise _CoercionError(path, f"Expected {_print_value(value)} to be a key-value object.")
        out = {}
        for k in value:
            if k not in td.fields:
                raise _CoercionError(path + [k], f"Field is not defined on {td.name}")
        for f in td.fields.values():
            if f.name in value:
                v = value[f.name]
                if isinstance(v, Var) and (variables is None or v.name not in variables):
                    continue
                out[f.name] = _coerce_input(schema, v, f.type, path + [f.name], variables)
            elif f.has_default:
                out[f.name] = _coerce_input(schema, f.default, f.type, path + [f.name], None)
            elif f.type.non_null:
                raise _CoercionError(path + [f.name], "Expected value to not be null")
        return out
    if td.kind == "ENUM":
        name = value.name if isinstance(value, EnumVal) else value
        if not isinstance(name, str) or name not in td.values:
            raise _CoercionError(path, f"Expected \"{name}\" to be one of: {', '.join(td.values)}")
        return name
    try:
        return _coerce_scalar(schema, td.name, value)
    except ValueError as exc:
        raise _CoercionError(path, str(exc)) from None


# ========================================================================= execution


def execute(schema: Schema, body: Any, root: dict[str, Any]) -> dict[str, Any]:
    """Run a request body ``{"query", "variables", "operationName"}`` against ``root`` (the
    resolvers of the operation root types: ``{"query": {...}, "mutation": {...}}``, dicts
    of field name -> value or callable). Returns the JSON answer (always for HTTP 200)."""
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return {"errors": [{"message": "A query attribute must be specified and must be a string."}]}
    variables = body.get("variables") or {}
    if isinstance(variables, str):
        import json

        try:
            variables = json.loads(variables) if variables.strip() else {}
        except ValueError:
            return {"errors": [{"message": "Variables are invalid JSON"}]}
    if not isinstance(variables, dict):
        return {"errors": [{"message": "Variables must be a JSON object"}]}
    try:
        ops, frags = parse(body["query"])
    except GraphQLError as exc:
        return {"errors": [exc.as_json()]}
    errors = _Validator(schema, ops, frags).run()
    if errors:
        return {"errors": [e.as_json() for e in errors]}
    name = body.get("operationName")
    if name:
        chosen = [op for op in ops if op.name == name]
        if not chosen:
            return {"errors": [{"message": f'No operation named "{name}"'}]}
        op = chosen[0]
    elif len(ops) == 1:
        op = ops[0]
    else:
        return {"errors": [{"message": "An operation name is required"}]}
    # variables
    values: dict[str, Any] = {}
    for vname, vtype, default, has_default in op.variables:
        try:
            if vname in variables:
                values[vname] = _coerce_input(schema, variables[vname], vtype, [], None)
            elif has_default:
                values[vname] = _coerce_input(schema, default, vtype, [], None)
            elif vtype.non_null:
                raise _CoercionError([], "Expected value to not be null")
        except _CoercionError as exc:
            return {"errors": [{
                "extensions": {"value": variables.get(vname),
                               "problems": [{"path": exc.path, "explanation": exc.explanation}]},
                "locations": _loc(op),
                "message": f"Variable ${vname} of type {vtype} was provided invalid value"
                           + ("" if not exc.path else " for " + ".".join(str(p) for p in exc.path)),
            }]}
    ex = _Executor(schema, frags, values)
    root_type = schema.roots[op.kind]
    data = ex.object(op.selections, root_type, root.get(op.kind, {}), [], serial=op.kind == "mutation")
    out: dict[str, Any] = {"data": data}
    if ex.errors:
        out["errors"] = [e.as_json() for e in ex.errors]
    return out


class _Executor:
    def __init__(self, schema: Schema, frags: dict[str, Fragment], variables: dict[str, Any]) -> None:
        self.schema = schema
        self.frags = frags
        self.variables = variables
        self.errors: list[GraphQLError] = []

    def included(self, sel: Any) -> bool:
        for dname, dargs in getattr(sel, "directives", []):
            cond = dargs.get("if")
            if isinstance(cond, Var):
                cond = self.variables.get(cond.name)
            if dname == "skip" and cond is True:
                return False
            if dname == "include" and cond is not True:
                return False
        return True

    def collect(self, sels: list[Any], tname: str, out: dict[str, list[Field]]) -> None:
        for sel in sels:
            if not self.included(sel):
                continue
            if isinstance(sel, Field):
                out.setdefault(sel.key, []).append(sel)
            elif isinstance(sel, InlineFragment):
                if sel.on is None or self.schema.possible(sel.on, tname):
                    self.collect(sel.selections, tname, out)
            else:
                frag = self.frags[sel.name]
                if self.schema.possible(frag.on, tname):
                    self.collect(frag.selections, tname, out)

    def object(self, sels: list[Any], tname: str, value: dict[str, Any], path: list,
               serial: bool = False) -> dict[str, Any]:
        fields: dict[str, list[Field]] = {}
        self.collect(sels, tname, fields)
        out: dict[str, Any] = {}
        td = self.schema.types[tname]
        for key, nodes in fields.items():
            node = nodes[0]
            if node.name == "__typename":
                out[key] = tname
                continue
            fdef = td.fields[node.name]
            args = {}
            try:
                for aname, (atype, default, has_default) in fdef.args.items():
                    if aname in node.args:
                        raw = node.args[aname]
                        if isinstance(raw, Var) and raw.name not in self.variables:
                            if has_default:
                                args[aname] = _coerce_input(self.schema, default, atype, [], None)
                            continue
                        args[aname] = _coerce_input(self.schema, raw, atype, [aname], self.variables)
                    elif has_default:
                        args[aname] = _coerce_input(self.schema, default, atype, [], None)
            except _CoercionError as exc:
                self.errors.append(GraphQLError(
                    f"Argument '{exc.path[0] if exc.path else ''}' on Field '{node.name}' has an "
                    f"invalid value. {exc.explanation}", locations=_loc(node), path=path + [key]))
                out[key] = None
                continue
            sub = [s for n in nodes if n.selections for s in n.selections]
            try:
                if node.name == "__type" and tname == self.schema.roots["query"]:
                    raw = self.schema.type_json(args["name"]) if self.schema.has(args["name"]) else None
                else:
                    raw = value.get(node.name) if isinstance(value, dict) else None
                    if callable(raw):
                        raw = raw(**args)
                out[key] = self.complete(fdef.type, raw, sub, path + [key], node)
            except GraphQLError as exc:
                if exc.path is None:
                    exc.path = path + [key]
                if exc.locations is None:
                    exc.locations = _loc(node)
                self.errors.append(exc)
                out[key] = None
        return out

    def complete(self, typ: TypeRef, raw: Any, sels: list[Any], path: list, node: Field) -> Any:
        if typ.non_null:
            value = self.complete(typ.of, raw, sels, path, node)  # type: ignore[arg-type]
            if value is None:
                raise GraphQLError(f"Cannot return null for non-nullable field {node.name}",
                                   path=path)
            return value
        if raw is None:
            return None
        if typ.is_list:
            return [self.complete(typ.of, item, sels, path + [i], node)  # type: ignore[arg-type]
                    for i, item in enumerate(raw)]
        td = self.schema.types[typ.name]  # type: ignore[index]
        if td.kind in ("SCALAR", "ENUM"):
            return raw
        tname = td.name
        if td.kind in ("INTERFACE", "UNION"):
            tname = raw.get("__typename") if isinstance(raw, dict) else None
            if not tname or not self.schema.possible(td.name, tname):
                raise GraphQLError(f"fake resolver gave no concrete type for {td.name}", path=path)
        return self.object(sels, tname, raw, path)


# ===================================================================== GitHub schema

#: What every fake GitHub serves (GHES without sub-issues included). ``Mutation`` has no
#: field here: the fake implements no other mutation, and a mutation unknown to the schema
#: must fail validation (undefinedField on Mutation), as an unknown one does on GitHub.
GITHUB_SDL = '''
scalar URI
scalar DateTime
scalar BigInt

interface Node { id: ID! }

type Query {
  node(id: ID!): Node
  nodes(ids: [ID!]!): [Node]!
  repository(owner: String!, name: String!, followRenames: Boolean = true): Repository
  viewer: User!
}

type Mutation

type User implements Node { id: ID! login: String! databaseId: Int }

type Repository implements Node {
  id: ID!
  databaseId: Int
  name: String!
  nameWithOwner: String!
  url: URI!
  issue(number: Int!): Issue
}

enum IssueState { OPEN CLOSED }
enum IssueStateReason { COMPLETED NOT_PLANNED REOPENED DUPLICATE }

type Issue implements Node {
  id: ID!
  databaseId: Int
  fullDatabaseId: BigInt
  number: Int!
  title: String!
  body: String!
  state: IssueState!
  stateReason: IssueStateReason
  closed: Boolean!
  url: URI!
  resourcePath: URI!
  repository: Repository!
  createdAt: DateTime!
  updatedAt: DateTime!
}

type PageInfo { endCursor: String hasNextPage: Boolean! hasPreviousPage: Boolean! startCursor: String }
'''

#: The sub-issue part (github.com, GHE.com; GHES from 3.17: see FakeGitHub.ghes_version).
GITHUB_SUB_ISSUES_SDL = '''
extend type Issue {
  parent: Issue
  subIssues(after: String, before: String, first: Int, last: Int): IssueConnection!
  subIssuesSummary: SubIssuesSummary!
}

type SubIssuesSummary { completed: Int! percentCompleted: Int! total: Int! }

type IssueConnection { edges: [IssueEdge] nodes: [Issue] pageInfo: PageInfo! totalCount: Int! }
type IssueEdge { cursor: String! node: Issue }

extend type Mutation {
  addSubIssue(input: AddSubIssueInput!): AddSubIssuePayload
  removeSubIssue(input: RemoveSubIssueInput!): RemoveSubIssuePayload
  reprioritizeSubIssue(input: ReprioritizeSubIssueInput!): ReprioritizeSubIssuePayload
}

input AddSubIssueInput {
  clientMutationId: String
  issueId: ID!
  replaceParent: Boolean
  subIssueId: ID
  subIssueUrl: String
}
type AddSubIssuePayload { clientMutationId: String issue: Issue subIssue: Issue }

input RemoveSubIssueInput { clientMutationId: String issueId: ID! subIssueId: ID! }
type RemoveSubIssuePayload { clientMutationId: String issue: Issue subIssue: Issue }

input ReprioritizeSubIssueInput {
  afterId: ID
  beforeId: ID
  clientMutationId: String
  issueId: ID!
  subIssueId: ID!
}
type ReprioritizeSubIssuePayload { clientMutationId: String issue: Issue }
'''


#: Projects (v2), trimmed: the fields, arguments and union members the fakes model (the real
#: ``ProjectV2`` has more, e.g. ``items``, ``views``, ``orderBy`` arguments; the real unions have more
#: members, e.g. ``DraftIssue``/``PullRequest`` content and iteration/number values). Something not
#: here fails validation, as an unknown field does on GitHub.
GITHUB_PROJECTS_SDL = '''
scalar Date

interface RepositoryOwner { id: ID! login: String! }
interface ProjectV2Owner { id: ID! projectV2(number: Int!): ProjectV2 }

extend type Query {
  organization(login: String!): Organization
  user(login: String!): User
  repositoryOwner(login: String!): RepositoryOwner
}

type Organization implements Node & ProjectV2Owner & RepositoryOwner {
  id: ID!
  databaseId: Int
  login: String!
  name: String
  url: URI!
  resourcePath: URI!
  projectV2(number: Int!): ProjectV2
}

extend type User implements ProjectV2Owner & RepositoryOwner { projectV2(number: Int!): ProjectV2 }

type ProjectV2 implements Node {
  id: ID!
  fullDatabaseId: BigInt
  number: Int!
  title: String!
  shortDescription: String
  url: URI!
  resourcePath: URI!
  closed: Boolean!
  public: Boolean!
  owner: ProjectV2Owner!
  createdAt: DateTime!
  updatedAt: DateTime!
  field(name: String!): ProjectV2FieldConfiguration
  fields(after: String, before: String, first: Int, last: Int): ProjectV2FieldConfigurationConnection!
}

enum ProjectV2FieldType {
  ASSIGNEES DATE ITERATION LABELS LINKED_PULL_REQUESTS MILESTONE NUMBER PARENT_ISSUE REPOSITORY
  REVIEWERS SINGLE_SELECT SUB_ISSUES_PROGRESS TEXT TITLE TRACKED_BY TRACKS
}
enum ProjectV2SingleSelectFieldOptionColor { BLUE GRAY GREEN ORANGE PINK PURPLE RED YELLOW }

interface ProjectV2FieldCommon {
  createdAt: DateTime!
  dataType: ProjectV2FieldType!
  databaseId: Int
  id: ID!
  name: String!
  project: ProjectV2!
  updatedAt: DateTime!
}

type ProjectV2Field implements Node & ProjectV2FieldCommon {
  createdAt: DateTime!
  dataType: ProjectV2FieldType!
  databaseId: Int
  id: ID!
  name: String!
  project: ProjectV2!
  updatedAt: DateTime!
}

type ProjectV2IterationField implements Node & ProjectV2FieldCommon {
  createdAt: DateTime!
  dataType: ProjectV2FieldType!
  databaseId: Int
  id: ID!
  name: String!
  project: ProjectV2!
  updatedAt: DateTime!
}

type ProjectV2SingleSelectField implements Node & ProjectV2FieldCommon {
  createdAt: DateTime!
  dataType: ProjectV2FieldType!
  databaseId: Int
  id: ID!
  name: String!
  options(names: [String!]): [ProjectV2SingleSelectFieldOption!]!
  project: ProjectV2!
  updatedAt: DateTime!
}

type ProjectV2SingleSelectFieldOption {
  color: ProjectV2SingleSelectFieldOptionColor!
  description: String!
  descriptionHTML: String!
  id: String!
  name: String!
  nameHTML: String!
}

union ProjectV2FieldConfiguration = ProjectV2Field | ProjectV2IterationField | ProjectV2SingleSelectField

type ProjectV2FieldConfigurationConnection {
  edges: [ProjectV2FieldConfigurationEdge]
  nodes: [ProjectV2FieldConfiguration]
  pageInfo: PageInfo!
  totalCount: Int!
}
type ProjectV2FieldConfigurationEdge { cursor: String! node: ProjectV2FieldConfiguration }

enum ProjectV2ItemType { DRAFT_ISSUE ISSUE PULL_REQUEST REDACTED }
union ProjectV2ItemContent = Issue

type ProjectV2Item implements Node {
  content: ProjectV2ItemContent
  createdAt: DateTime!
  fieldValueByName(name: String!): ProjectV2ItemFieldValue
  fullDatabaseId: BigInt
  id: ID!
  isArchived: Boolean!
  project: ProjectV2!
  type: ProjectV2ItemType!
  updatedAt: DateTime!
}

interface ProjectV2ItemFieldValueCommon {
  createdAt: DateTime!
  databaseId: Int
  field: ProjectV2FieldConfiguration!
  id: ID!
  item: ProjectV2Item!
  updatedAt: DateTime!
}

type ProjectV2ItemFieldDateValue implements Node & ProjectV2ItemFieldValueCommon {
  createdAt: DateTime!
  databaseId: Int
  date: Date
  field: ProjectV2FieldConfiguration!
  id: ID!
  item: ProjectV2Item!
  updatedAt: DateTime!
}

type ProjectV2ItemFieldSingleSelectValue implements Node & ProjectV2ItemFieldValueCommon {
  color: ProjectV2SingleSelectFieldOptionColor!
  createdAt: DateTime!
  databaseId: Int
  description: String
  field: ProjectV2FieldConfiguration!
  id: ID!
  item: ProjectV2Item!
  name: String
  optionId: String
  updatedAt: DateTime!
}

type ProjectV2ItemFieldTextValue implements Node & ProjectV2ItemFieldValueCommon {
  createdAt: DateTime!
  databaseId: Int
  field: ProjectV2FieldConfiguration!
  id: ID!
  item: ProjectV2Item!
  text: String
  updatedAt: DateTime!
}

union ProjectV2ItemFieldValue = ProjectV2ItemFieldDateValue | ProjectV2ItemFieldSingleSelectValue | ProjectV2ItemFieldTextValue

extend type Mutation {
  addProjectV2ItemById(input: AddProjectV2ItemByIdInput!): AddProjectV2ItemByIdPayload
  clearProjectV2ItemFieldValue(input: ClearProjectV2ItemFieldValueInput!): ClearProjectV2ItemFieldValuePayload
  updateProjectV2ItemFieldValue(input: UpdateProjectV2ItemFieldValueInput!): UpdateProjectV2ItemFieldValuePayload
}

input AddProjectV2ItemByIdInput { clientMutationId: String contentId: ID! projectId: ID! }
type AddProjectV2ItemByIdPayload { clientMutationId: String item: ProjectV2Item }

input ProjectV2FieldValue { date: Date iterationId: String number: Float singleSelectOptionId: String text: String }

input UpdateProjectV2ItemFieldValueInput {
  clientMutationId: String
  fieldId: ID!
  itemId: ID!
  projectId: ID!
  value: ProjectV2FieldValue!
}
type UpdateProjectV2ItemFieldValuePayload { clientMutationId: String projectV2Item: ProjectV2Item }

input ClearProjectV2ItemFieldValueInput { clientMutationId: String fieldId: ID! itemId: ID! projectId: ID! }
type ClearProjectV2ItemFieldValuePayload { clientMutationId: String projectV2Item: ProjectV2Item }
'''


def _date(value: Any) -> str:
    """GitHub's ``Date`` ("An ISO-8601 encoded date string"): the fake takes only YYYY-MM-DD, a
    real calendar day (stricter than a parser that would also take a time of day)."""
    import datetime as _dt

    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            _dt.date.fromisoformat(value)
            return value
        except ValueError:
            pass
    raise ValueError(f"Could not coerce value {_print_value(value)} to Date")


#: Coercion of GitHub's custom input scalars the fakes check (``Schema(scalars=...)``).
GITHUB_SCALARS: dict[str, Callable[[Any], Any]] = {"Date": _date}


# ===================================================================== GitLab schema

GITLAB_SDL = '''
scalar Time
scalar WorkItemID
scalar WorkItemsTypeID
scalar ProjectID

type Query {
  workItem(id: WorkItemID!): WorkItem
  project(fullPath: ID!): Project
  currentUser: UserCore
}

type UserCore { id: ID! username: String! }

type Project {
  id: ID!
  fullPath: ID!
  name: String!
  workItems(iid: String, iids: [String!], types: [IssueType!], first: Int, after: String,
            last: Int, before: String): WorkItemConnection
  workItemTypes(name: IssueType): WorkItemTypeConnection
}

enum IssueType { ISSUE INCIDENT TEST_CASE REQUIREMENT TASK OBJECTIVE KEY_RESULT EPIC TICKET }
enum WorkItemState { OPEN CLOSED }
enum WorkItemStateEvent { REOPEN CLOSE }
enum RelativePositionType { BEFORE AFTER }
enum WorkItemWidgetType { ASSIGNEES DESCRIPTION HIERARCHY LABELS MILESTONE NOTES START_AND_DUE_DATE }

type WorkItemType { id: WorkItemsTypeID! name: String! iconName: String }
type WorkItemTypeConnection { nodes: [WorkItemType] count: Int! }

type WorkItem {
  id: WorkItemID!
  iid: String!
  title: String!
  state: WorkItemState!
  confidential: Boolean!
  webUrl: String
  createdAt: Time!
  updatedAt: Time!
  closedAt: Time
  project: Project
  workItemType: WorkItemType!
  widgets: [WorkItemWidget!]
}

interface WorkItemWidget { type: WorkItemWidgetType }

type WorkItemWidgetHierarchy implements WorkItemWidget {
  type: WorkItemWidgetType
  parent: WorkItem
  children(first: Int, after: String, last: Int, before: String): WorkItemConnection
  ancestors(first: Int, after: String, last: Int, before: String): WorkItemConnection
  hasChildren: Boolean!
  hasParent: Boolean!
}

type WorkItemWidgetDescription implements WorkItemWidget {
  type: WorkItemWidgetType
  description: String
  edited: Boolean!
}

type PageInfo { endCursor: String hasNextPage: Boolean! hasPreviousPage: Boolean! startCursor: String }
type WorkItemEdge { cursor: String! node: WorkItem }
type WorkItemConnection { count: Int! edges: [WorkItemEdge] nodes: [WorkItem] pageInfo: PageInfo! }

type Mutation {
  workItemUpdate(input: WorkItemUpdateInput!): WorkItemUpdatePayload
}

input WorkItemUpdateInput {
  clientMutationId: String
  id: WorkItemID!
  title: String
  stateEvent: WorkItemStateEvent
  confidential: Boolean
  descriptionWidget: WorkItemWidgetDescriptionInput
  hierarchyWidget: WorkItemWidgetHierarchyUpdateInput
}

input WorkItemWidgetDescriptionInput { description: String! }

input WorkItemWidgetHierarchyUpdateInput {
  adjacentWorkItemId: WorkItemID
  childrenIds: [WorkItemID!]
  parentId: WorkItemID
  relativePosition: RelativePositionType
}

type WorkItemUpdatePayload { clientMutationId: String errors: [String!]! workItem: WorkItem }
'''
