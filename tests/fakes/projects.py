"""GitHub Projects (v2) in the fake GitHub: its GraphQL part (the REST fake is tests/fakes/github.py).

Every :class:`~tests.fakes.github.FakeGitHub` has one, as ``server.projects``::

    number = server.projects.create_project("acme", fields={"Target": "DATE"})
    server.projects.create_project("octocat", kind="User")
    server.projects.token_kind = "actions"      # the Actions job's GITHUB_TOKEN

Documents are validated against ``GITHUB_PROJECTS_SDL`` (tests/fakes/graphql_schema.py) before
anything runs, so a field, argument or type GitHub does not have fails as it would there.

Modelled, from GitHub's documentation and observed answers:

* Projects belong to an organization or a user and are found by number:
  ``organization(login)``, ``user(login)`` (``NOT_FOUND`` "Could not resolve to an Organization /
  a User with the login of 'x'." when the login is not one, so asking both in one document always
  fails one), and ``repositoryOwner(login)`` (either; null for a login nobody has).
  ``projectV2(number)`` of a missing project: ``NOT_FOUND`` "Could not resolve to a ProjectV2 with
  the number N." (wording of GitHub's own resolver).
* New projects have GitHub's built-in fields (Title, Assignees, Status with Todo / In Progress /
  Done, Labels, Linked pull requests, Milestone, Repository, Reviewers) plus the ones asked for.
* ``addProjectV2ItemById``: "If you try to add an item that already exists, the existing item ID is
  returned instead" (docs: using-the-api-to-manage-projects). ``updateProjectV2ItemFieldValue``
  only for single-select, text, number, date and iteration fields, one value of the field's kind;
  an option of another field: "The single select option Id does not belong to the field" (observed
  wording). ``clearProjectV2ItemFieldValue`` clears a value (the schema's list of kinds).
* Tokens (``token_kind``; GitHub's docs: "GITHUB_TOKEN is scoped to the repository level and cannot
  access Projects"):

  - ``"pat"`` (default): a token with the ``project`` scope, or a GitHub App token with projects
    access: everything works;
  - ``"actions"``: the job's ``GITHUB_TOKEN``, an installation token without projects access: an
    organization's project answers ``FORBIDDEN`` "Resource not accessible by integration" (what
    actions/add-to-project users see), a user's project is invisible (``NOT_FOUND``), and every
    project mutation is ``FORBIDDEN``;
  - ``"read_project"``: a classic token with ``read:project``: reads work, mutations are refused;
  - ``"no_scope"``: a classic token with neither: any document touching a project is refused
    before it runs, with no ``data`` (``INSUFFICIENT_SCOPES`` "Your token has not been granted
    the required scopes to execute this query. The 'projectV2' field requires one of the following
    scopes: ['read:project'], ...").

Not modelled: draft issues, pull-request items, iterations' configuration, views, workflows (the
built-in automations), the item limit, ``items`` listing, archiving through the API.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable

from .graphql_schema import Field, GraphQLError, InlineFragment, Schema, Spread, execute, parse

if TYPE_CHECKING:
    from .github import FakeGitHub

__all__ = ["FakeProjects", "TOKEN_KINDS"]

TOKEN_KINDS = ("pat", "actions", "read_project", "no_scope")
INTEGRATION_MESSAGE = "Resource not accessible by integration"
BUILT_IN_FIELDS = (
    ("Title", "TITLE"), ("Assignees", "ASSIGNEES"), ("Status", "SINGLE_SELECT"), ("Labels", "LABELS"),
    ("Linked pull requests", "LINKED_PULL_REQUESTS"), ("Milestone", "MILESTONE"), ("Repository", "REPOSITORY"),
    ("Reviewers", "REVIEWERS"),
)
DEFAULT_STATUS = ("Todo", "In Progress", "Done")
#: which key of ``ProjectV2FieldValue`` each kind of field takes (the others cannot be updated)
VALUE_KEYS = {"SINGLE_SELECT": "singleSelectOptionId", "TEXT": "text", "NUMBER": "number", "DATE": "date",
              "ITERATION": "iterationId"}
CLEARABLE = ("TEXT", "NUMBER", "DATE", "ASSIGNEES", "LABELS", "SINGLE_SELECT", "ITERATION", "MILESTONE")
PROJECT_MUTATIONS = ("addProjectV2ItemById", "updateProjectV2ItemFieldValue", "clearProjectV2ItemFieldValue")
TYPENAMES = {"SINGLE_SELECT": "ProjectV2SingleSelectField", "ITERATION": "ProjectV2IterationField"}
PREFIXES = {"ProjectV2Field": "PVTF", "ProjectV2SingleSelectField": "PVTSSF", "ProjectV2IterationField": "PVTIF"}


def _node(prefix: str, ident: int) -> str:
    return prefix + "_" + base64.b64encode(f"{prefix}:{ident}".encode()).decode().rstrip("=")


@dataclass
class _Option:
    id: str
    name: str
    color: str = "GRAY"
    description: str = ""


@dataclass
class _Field:
    id: str
    database_id: int
    name: str
    data_type: str
    options: list[_Option] = field(default_factory=list)
    created_at: datetime | None = None

    @property
    def typename(self) -> str:
        return TYPENAMES.get(self.data_type, "ProjectV2Field")


@dataclass
class _Item:
    id: str
    database_id: int
    content_id: str
    values: dict[str, Any] = field(default_factory=dict)  # field id -> option id / date / text / number
    archived: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass
class _Project:
    id: str
    database_id: int
    number: int
    title: str
    owner: "_Owner"
    public: bool
    fields: list[_Field] = field(default_factory=list)
    items: dict[str, _Item] = field(default_factory=dict)  # content node id -> item
    closed: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def field_named(self, name: str) -> _Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"project #{self.number} has no field {name!r}")


@dataclass
class _Owner:
    login: str
    kind: str  # "Organization" | "User"
    id: str
    database_id: int
    projects: dict[int, _Project] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return f"/orgs/{self.login}" if self.kind == "Organization" else f"/users/{self.login}"


class FakeProjects:
    """The Projects (v2) state of one fake GitHub, and its GraphQL resolvers."""

    def __init__(self, server: "FakeGitHub") -> None:
        self.server = server
        #: what the token may do with projects: one of TOKEN_KINDS (see the module docstring)
        self.token_kind = "pat"
        #: the scopes a classic token reports having, for the INSUFFICIENT_SCOPES wording
        self.granted_scopes = ["repo"]
        self._owners: dict[str, _Owner] = {}
        self._ids = itertools.count(1)

    # ------------------------------------------------------------------ set-up and inspection
    def add_owner(self, login: str, kind: str = "Organization") -> None:
        """An organization or a user that can own projects (the REST fake keeps no accounts)."""
        if kind not in ("Organization", "User"):
            raise ValueError("kind is 'Organization' or 'User'")
        with self.server.lock:
            if login.lower() in self._owners:
                raise ValueError(f"{login!r} exists")
            ident = next(self._ids)
            self._owners[login.lower()] = _Owner(login, kind, _node("O" if kind == "Organization" else "U", ident), ident)

    def create_project(self, owner: str, title: str = "Roadmap", *, kind: str = "Organization", public: bool = False,
                       status: tuple[str, ...] | None = DEFAULT_STATUS, fields: dict[str, Any] | None = None) -> int:
        """A new project of ``owner`` (made with ``kind`` when unknown): its number. ``status``: the
        options of the built-in Status field (None: no Status field). ``fields``: more fields, name
        -> a kind ("DATE", "TEXT", "NUMBER", "ITERATION") or a list of single-select options."""
        with self.server.lock:
            if owner.lower() not in self._owners:
                self.add_owner(owner, kind)
            acct = self._owners[owner.lower()]
            number = max(acct.projects, default=0) + 1
            ident = next(self._ids)
            now = self.server.clock.now()
            project = _Project(_node("PVT", ident), ident, number, title, acct, public, created_at=now, updated_at=now)
            for name, data_type in BUILT_IN_FIELDS:
                if name == "Status" and status is None:
                    continue
                self._add_field(project, name, data_type, list(status or ()) if name == "Status" else ())
            for name, spec in (fields or {}).items():
                if isinstance(spec, (list, tuple)):
                    self._add_field(project, name, "SINGLE_SELECT", list(spec))
                else:
                    self._add_field(project, name, str(spec), ())
            acct.projects[number] = project
            return number

    def _add_field(self, project: _Project, name: str, data_type: str, options: Any) -> _Field:
        if any(f.name.lower() == name.lower() for f in project.fields):
            raise ValueError(f"project #{project.number} has a field {name!r}")
        ident = next(self._ids)
        f = _Field(_node(PREFIXES[TYPENAMES.get(data_type, "ProjectV2Field")], ident), ident, name, data_type,
                   created_at=self.server.clock.now())
        f.options = [self._option(f, o) for o in options]
        project.fields.append(f)
        return f

    def _option(self, f: _Field, name: str) -> _Option:
        digest = hashlib.sha256(f"{f.id}:{name}:{next(self._ids)}".encode()).hexdigest()
        return _Option(digest[:8], name)

    def project(self, owner: str, number: int) -> _Project:
        return self._owners[owner.lower()].projects[number]

    def add_field(self, owner: str, number: int, name: str, spec: Any) -> None:
        with self.server.lock:
            project = self.project(owner, number)
            if isinstance(spec, (list, tuple)):
                self._add_field(project, name, "SINGLE_SELECT", list(spec))
            else:
                self._add_field(project, name, str(spec), ())

    def delete_field(self, owner: str, number: int, name: str) -> None:
        with self.server.lock:
            project = self.project(owner, number)
            f = project.field_named(name)
            project.fields.remove(f)
            for item in project.items.values():
                item.values.pop(f.id, None)

    def replace_options(self, owner: str, number: int, name: str, options: list[str]) -> None:
        """Replace a single-select field's options wholesale, as ``updateProjectV2Field`` does: every
        option gets a new id, and the items' values of the old ones are gone."""
        with self.server.lock:
            f = self.project(owner, number).field_named(name)
            old = {o.id for o in f.options}
            f.options = [self._option(f, o) for o in options]
            for item in self.project(owner, number).items.values():
                if item.values.get(f.id) in old:
                    del item.values[f.id]

    def delete_project(self, owner: str, number: int) -> None:
        with self.server.lock:
            del self._owners[owner.lower()].projects[number]

    def items(self, owner: str, number: int) -> dict[str, dict[str, Any]]:
        """content node id -> {"id": item id, field name: value} (an option by its name)."""
        with self.server.lock:
            project = self.project(owner, number)
            return {content: self._values(project, item) for content, item in project.items.items()}

    def _values(self, project: _Project, item: _Item) -> dict[str, Any]:
        out: dict[str, Any] = {"id": item.id}
        for f in project.fields:
            if f.id in item.values:
                value = item.values[f.id]
                if f.data_type == "SINGLE_SELECT":
                    value = next((o.name for o in f.options if o.id == value), value)
                out[f.name] = value
        return out

    def set_value(self, owner: str, number: int, content_id: str, name: str, value: Any) -> None:
        """People change an item on the board (an option by its name; None clears)."""
        with self.server.lock:
            project = self.project(owner, number)
            item, f = project.items[content_id], project.field_named(name)
            if value is None:
                item.values.pop(f.id, None)
            elif f.data_type == "SINGLE_SELECT":
                item.values[f.id] = next(o.id for o in f.options if o.name == value)
            else:
                item.values[f.id] = value

    def remove_item(self, owner: str, number: int, content_id: str) -> None:
        """People remove an issue from the board."""
        with self.server.lock:
            del self.project(owner, number).items[content_id]

    # ------------------------------------------------------------------------- GraphQL
    def answer(self, schema: Schema, body: Any, root: dict[str, Any]) -> dict[str, Any]:
        """The server's GraphQL answer with the project resolvers added to ``root``. A token whose
        scopes do not cover a project field is refused before anything runs (GitHub checks scopes
        on the whole document: the answer then has ``errors`` only)."""
        refusal = self._scope_refusal(body)
        if refusal is not None:
            return {"errors": [refusal]}
        root = {"query": {**root.get("query", {}), **self._query_root()},
                "mutation": {**root.get("mutation", {}), **self._mutation_root()}}
        return execute(schema, body, root)

    def _scope_refusal(self, body: Any) -> dict[str, Any] | None:
        if self.token_kind not in ("no_scope", "read_project") or not isinstance(body, dict):
            return None
        try:
            ops, frags = parse(str(body.get("query") or ""))
        except GraphQLError:
            return None  # execute answers the parse error
        for op in ops:
            names = PROJECT_MUTATIONS if op.kind == "mutation" else ("projectV2",)
            if self.token_kind == "read_project" and op.kind != "mutation":
                continue
            found = _find_field(op.selections, frags, names, top=op.kind == "mutation")
            if found is not None:
                scope = "project" if op.kind == "mutation" else "read:project"
                granted = self.granted_scopes + (["read:project"] if self.token_kind == "read_project" else [])
                return {"type": "INSUFFICIENT_SCOPES", "locations": [{"line": found.line, "column": found.col}],
                        "message": "Your token has not been granted the required scopes to execute this query. "
                                   f"The '{found.name}' field requires one of the following scopes: ['{scope}'], but "
                                   f"your token has only been granted the: {granted!r} scopes. Please modify your "
                                   "token's scopes at: https://github.com/settings/tokens."}
        return None

    def _query_root(self) -> dict[str, Any]:
        def organization(login: str) -> dict[str, Any]:
            acct = self._owners.get(login.lower())
            if acct is None or acct.kind != "Organization":
                raise GraphQLError(f"Could not resolve to an Organization with the login of '{login}'.", type="NOT_FOUND")
            return self._owner_json(acct)

        def user(login: str) -> dict[str, Any]:
            acct = self._owners.get(login.lower())
            if acct is None or acct.kind != "User":
                raise GraphQLError(f"Could not resolve to a User with the login of '{login}'.", type="NOT_FOUND")
            return self._owner_json(acct)

        def repository_owner(login: str) -> dict[str, Any] | None:
            acct = self._owners.get(login.lower())
            return None if acct is None else self._owner_json(acct)

        return {"organization": organization, "user": user, "repositoryOwner": repository_owner}

    def _owner_json(self, acct: _Owner) -> dict[str, Any]:
        def project_v2(number: int) -> dict[str, Any]:
            project = acct.projects.get(number)
            if self.token_kind == "actions" and project is not None and acct.kind == "Organization":
                raise _forbidden()
            if project is None or self.token_kind == "actions":
                raise GraphQLError(f"Could not resolve to a ProjectV2 with the number {number}.", type="NOT_FOUND")
            return self._project_json(project)

        return {"__typename": acct.kind, "id": acct.id, "databaseId": acct.database_id, "login": acct.login,
                "name": acct.login, "url": self.server.web_root + acct.path, "resourcePath": acct.path,
                "projectV2": project_v2}

    def _project_json(self, project: _Project) -> dict[str, Any]:
        path = f"{project.owner.path}/projects/{project.number}"

        def field_by_name(name: str) -> dict[str, Any] | None:
            found = next((f for f in project.fields if f.name == name), None)
            return None if found is None else self._field_json(project, found)

        return {
            "__typename": "ProjectV2", "id": project.id, "fullDatabaseId": str(project.database_id),
            "number": project.number, "title": project.title, "shortDescription": None,
            "url": self.server.web_root + path, "resourcePath": path, "closed": project.closed,
            "public": project.public, "owner": lambda: self._owner_json(project.owner),
            "createdAt": self.server.clock.iso(project.created_at), "updatedAt": self.server.clock.iso(project.updated_at),
            "field": field_by_name,
            "fields": lambda **page: _connection([self._field_json(project, f) for f in project.fields], "fields", **page),
        }

    def _field_json(self, project: _Project, f: _Field) -> dict[str, Any]:
        out: dict[str, Any] = {
            "__typename": f.typename, "id": f.id, "databaseId": f.database_id, "name": f.name, "dataType": f.data_type,
            "project": lambda: self._project_json(project),
            "createdAt": self.server.clock.iso(f.created_at), "updatedAt": self.server.clock.iso(f.created_at),
        }
        if f.data_type == "SINGLE_SELECT":
            def options(names: list[str] | None = None) -> list[dict[str, Any]]:
                return [{"id": o.id, "name": o.name, "nameHTML": o.name, "color": o.color, "description": o.description,
                         "descriptionHTML": o.description} for o in f.options if names is None or o.name in names]

            out["options"] = options
        return out

    def _item_json(self, project: _Project, item: _Item) -> dict[str, Any]:
        def content() -> dict[str, Any] | None:
            found = self.server._gql_node(item.content_id)
            return None if found is None else self.server._gql_issue(*found)

        def value_by_name(name: str) -> dict[str, Any] | None:
            f = next((f for f in project.fields if f.name == name), None)
            if f is None or f.id not in item.values:
                return None
            value = item.values[f.id]
            common = {"id": _node("PVTFV", f.database_id * 100000 + item.database_id), "databaseId": None,
                      "field": self._field_json(project, f), "item": lambda: self._item_json(project, item),
                      "createdAt": self.server.clock.iso(item.updated_at), "updatedAt": self.server.clock.iso(item.updated_at)}
            if f.data_type == "DATE":
                return {"__typename": "ProjectV2ItemFieldDateValue", "date": value, **common}
            if f.data_type == "SINGLE_SELECT":
                option = next((o for o in f.options if o.id == value), None)
                return {"__typename": "ProjectV2ItemFieldSingleSelectValue", "optionId": value,
                        "name": option.name if option else None, "description": option.description if option else None,
                        "color": option.color if option else "GRAY", **common}
            if f.data_type == "TEXT":
                return {"__typename": "ProjectV2ItemFieldTextValue", "text": value, **common}
            return None  # kinds the excerpt's union does not hold

        return {"__typename": "ProjectV2Item", "id": item.id, "fullDatabaseId": str(item.database_id),
                "type": "ISSUE", "isArchived": item.archived, "content": content, "project": lambda: self._project_json(project),
                "fieldValueByName": value_by_name,
                "createdAt": self.server.clock.iso(item.created_at), "updatedAt": self.server.clock.iso(item.updated_at)}

    # ------------------------------------------------------------------------ mutations
    def _project_arg(self, node_id: str) -> _Project:
        for acct in self._owners.values():
            for project in acct.projects.values():
                if project.id == node_id:
                    if self.token_kind == "actions":
                        if acct.kind == "Organization":
                            raise _forbidden()
                        break  # a user's project: invisible to the token
                    return project
        raise _unresolved(node_id)

    def _mutation_root(self) -> dict[str, Any]:
        def add(input: dict[str, Any]) -> dict[str, Any]:  # noqa: A002 - GraphQL's name
            project = self._project_arg(input["projectId"])
            found = self.server._gql_node(input["contentId"])
            if found is None:
                raise _unresolved(input["contentId"])
            self.server._gql_writable(found[0])
            item = project.items.get(input["contentId"])
            if item is None:  # adding again answers the item there is
                ident = next(self._ids)
                now = self.server.clock.now()
                item = _Item(_node("PVTI", ident), ident, input["contentId"], created_at=now, updated_at=now)
                project.items[input["contentId"]] = item
                project.updated_at = now
            return {"clientMutationId": input.get("clientMutationId"), "item": self._item_json(project, item)}

        def target(input: dict[str, Any]) -> tuple[_Project, _Item, _Field]:
            project = self._project_arg(input["projectId"])
            item = next((i for i in project.items.values() if i.id == input["itemId"]), None)
            if item is None:
                raise _unresolved(input["itemId"])
            f = next((f for f in project.fields if f.id == input["fieldId"]), None)
            if f is None:
                raise _unresolved(input["fieldId"])
            return project, item, f

        def update(input: dict[str, Any]) -> dict[str, Any]:  # noqa: A002
            project, item, f = target(input)
            given = {k: v for k, v in input["value"].items() if v is not None}
            key = VALUE_KEYS.get(f.data_type)
            if key is None:
                raise _unprocessable(f"The field {f.name} cannot be updated with this mutation: it is a "
                                     f"{f.data_type.lower()} field")
            if list(given) != [key]:
                raise _unprocessable(f"The value for the {f.data_type.lower().replace('_', ' ')} field {f.name} must be "
                                     f"given as exactly one `{key}`")
            value = given[key]
            if f.data_type == "SINGLE_SELECT" and value not in {o.id for o in f.options}:
                raise _unprocessable("The single select option Id does not belong to the field")
            item.values[f.id] = value
            item.updated_at = self.server.clock.now()
            return {"clientMutationId": input.get("clientMutationId"), "projectV2Item": self._item_json(project, item)}

        def clear(input: dict[str, Any]) -> dict[str, Any]:  # noqa: A002
            project, item, f = target(input)
            if f.data_type not in CLEARABLE:
                raise _unprocessable(f"The field {f.name} cannot be cleared: it is a {f.data_type.lower()} field")
            item.values.pop(f.id, None)
            item.updated_at = self.server.clock.now()
            return {"clientMutationId": input.get("clientMutationId"), "projectV2Item": self._item_json(project, item)}

        def writable(resolver: Callable[..., Any]) -> Callable[..., Any]:
            def run(**kw: Any) -> Any:
                if self.token_kind == "actions":
                    # the job's token: a project it cannot see is NOT_FOUND, one it can is FORBIDDEN
                    self._project_arg(kw["input"]["projectId"])
                    raise _forbidden()
                return resolver(**kw)

            return run

        return {"addProjectV2ItemById": writable(add), "updateProjectV2ItemFieldValue": writable(update),
                "clearProjectV2ItemFieldValue": writable(clear)}


def _forbidden() -> GraphQLError:
    return GraphQLError(INTEGRATION_MESSAGE, type="FORBIDDEN", extensions={"saml_failure": False})


def _unresolved(node_id: Any) -> GraphQLError:
    return GraphQLError(f"Could not resolve to a node with the global id of '{node_id}'", type="NOT_FOUND")


def _unprocessable(message: str) -> GraphQLError:
    return GraphQLError(message, type="UNPROCESSABLE")


def _find_field(sels: list[Any], frags: dict[str, Any], names: tuple[str, ...], *, top: bool,
                seen: frozenset[str] = frozenset()) -> Field | None:
    """The first field named one of ``names`` in a selection set (``top``: only at its top level)."""
    for sel in sels:
        if isinstance(sel, Field):
            if sel.name in names:
                return sel
            if sel.selections and not top:
                found = _find_field(sel.selections, frags, names, top=False, seen=seen)
                if found is not None:
                    return found
        elif isinstance(sel, InlineFragment):
            found = _find_field(sel.selections, frags, names, top=top, seen=seen)
            if found is not None:
                return found
        elif isinstance(sel, Spread) and sel.name in frags and sel.name not in seen:
            found = _find_field(frags[sel.name].selections, frags, names, top=top, seen=seen | {sel.name})
            if found is not None:
                return found
    return None


def _connection(nodes: list[dict[str, Any]], name: str, first: int | None = None, last: int | None = None,
                after: str | None = None, before: str | None = None) -> dict[str, Any]:
    """A connection page, with GitHub's limits (``first`` or ``last`` needed, at most 100)."""

    def cursor(i: int) -> str:
        return base64.b64encode(f"cursor:v2:{i}".encode()).decode()

    def index(c: str) -> int:
        try:
            return int(base64.b64decode(c).decode().rsplit(":", 1)[1])
        except (ValueError, IndexError, UnicodeDecodeError):
            raise GraphQLError(f"`{c}` does not appear to be a valid cursor.") from None

    for which, n in (("first", first), ("last", last)):
        if n is not None and not 0 <= n <= 100:
            raise GraphQLError(f"Requesting {n} records on the connection exceeds the `{which}` limit of 100 records."
                               if n > 100 else f"`{which}` on a connection cannot be less than zero.")
    if first is None and last is None:
        raise GraphQLError(f"You must provide a `first` or `last` value to properly paginate the `{name}` connection.",
                           type="MISSING_PAGINATION_BOUNDARIES")
    lo, hi = (index(after) + 1 if after else 0), (min(len(nodes), index(before)) if before else len(nodes))
    window = list(range(lo, hi))
    if first is not None:
        window = window[:first]
    if last is not None:
        window = window[-last:] if last else []
    return {"nodes": [nodes[i] for i in window], "edges": [{"cursor": cursor(i), "node": nodes[i]} for i in window],
            "totalCount": len(nodes),
            "pageInfo": {"hasNextPage": bool(window) and window[-1] < hi - 1, "hasPreviousPage": bool(window) and window[0] > lo,
                         "startCursor": cursor(window[0]) if window else None,
                         "endCursor": cursor(window[-1]) if window else None}}
