"""GitHub Projects (v2): a small client over the GitHub adapter's GraphQL call.

Every request goes through :meth:`GitHubTracker._graphql`, so it runs under the call policy and is
counted like any other. What the client needs of the project (its node id, the status field and its
two options, the date field) is asked once, in one query (:meth:`ProjectsClient.learn`), and kept in
the base as a plain dict (``Base.project``); a later run hands it back and asks nothing until the
configuration names another project or other fields (:func:`fits`).

A token that cannot use Projects raises :class:`ProjectUnreachable`. The Actions job's own
``GITHUB_TOKEN`` is such a token ("GITHUB_TOKEN is scoped to the repository level and cannot access
Projects", GitHub's docs): GitHub answers an organization's project with ``FORBIDDEN`` "Resource not
accessible by integration" and does not show a user's project at all (``NOT_FOUND``); a classic token
without the ``project`` scope gets ``INSUFFICIENT_SCOPES``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Mapping, Protocol

from ..errors import Forbidden, Invalid, NotFound, RunError, TrackerError
from .base import UNSET, Unset

if TYPE_CHECKING:
    from .github import GitHubTracker

__all__ = ["ProjectError", "ProjectSetupError", "ProjectUnreachable", "ProjectsClient", "TOKEN_ADVICE", "fits"]

TOKEN_ADVICE = ("GitHub Projects need a token that can use them: a personal access token with the `project` scope "
                "(classic: `repo` and `project`), or a GitHub App installation token with read and write access to "
                "projects; the Actions job's own GITHUB_TOKEN never can")
#: a classic token's refusal (``INSUFFICIENT_SCOPES``, which the adapter reports as invalid)
_SCOPES = re.compile(r"required scopes|requires one of the following scopes", re.IGNORECASE)
_FIELDS_PAGE = 100  # GitHub allows at most 50 fields in a project, and 100 a page


class ProjectError(RunError):
    """The project phase cannot go on. The issues are synced regardless: the phase only warns."""


class ProjectUnreachable(ProjectError):
    """The token cannot reach the project (or there is no such project for it to see)."""


class ProjectSetupError(ProjectError):
    """The project is reached, but it lacks what the configuration names (a field, an option)."""


class Settings(Protocol):
    """What the client needs of the configuration (``guidesync.config.ProjectSettings``)."""

    owner: str
    number: int
    status_field: str
    todo: str
    done: str
    date_field: str | None


LEARN_QUERY = """
query($owner: String!, $number: Int!) {
  repositoryOwner(login: $owner) {
    __typename
    login
    ... on ProjectV2Owner {
      projectV2(number: $number) {
        id
        number
        title
        url
        fields(first: %d) {
          pageInfo { hasNextPage }
          nodes {
            __typename
            ... on ProjectV2FieldCommon { id name dataType }
            ... on ProjectV2SingleSelectField { options { id name } }
          }
        }
      }
    }
  }
}
""" % _FIELDS_PAGE

ADD_MUTATION = ("mutation($input: AddProjectV2ItemByIdInput!) "
                "{ addProjectV2ItemById(input: $input) { item { id } } }")


def _names(settings: Settings) -> dict[str, Any]:
    return {"owner": settings.owner, "number": settings.number, "status_field": settings.status_field,
            "todo": settings.todo, "done": settings.done, "date_field": settings.date_field}


def fits(settings: Settings, kept: Mapping[str, Any] | None) -> bool:
    """Is ``kept`` (a learned project from the base) the project and fields ``settings`` name?"""
    if not kept:
        return False
    ids = ["id", "status_field_id", "todo_id", "done_id"] + (["date_field_id"] if settings.date_field else [])
    if not all(isinstance(kept.get(k), str) and kept.get(k) for k in ids):
        return False
    return (str(kept.get("owner", "")).lower() == settings.owner.lower() and kept.get("number") == settings.number
            and all(kept.get(k) == v for k, v in _names(settings).items() if k not in ("owner", "number")))


def _match(names: list[str], wanted: str) -> str | None:
    """The one of ``names`` that is ``wanted``: exactly, else the only one equal ignoring case."""
    if wanted in names:
        return wanted
    loose = [n for n in names if n.strip().casefold() == wanted.strip().casefold()]
    return loose[0] if len(loose) == 1 else None


class ProjectsClient:
    """One project, as ``settings`` name it, reached through ``tracker`` (a GitHubTracker).
    ``kept``: the learned project an earlier run left in the base; used when it :func:`fits`."""

    def __init__(self, tracker: "GitHubTracker", settings: Settings, kept: Mapping[str, Any] | None = None):
        if not hasattr(tracker, "_graphql"):
            raise ProjectSetupError("project: GitHub Projects are only for a GitHub tracker")
        self.tracker = tracker
        self.settings = settings
        self.project: dict[str, Any] | None = dict(kept) if kept and fits(settings, kept) else None

    @property
    def name(self) -> str:
        return f"project {self.settings.owner}#{self.settings.number}"

    @property
    def dates(self) -> bool:
        """Is a date field configured?"""
        return bool(self.settings.date_field)

    # -- plumbing ---------------------------------------------------------------------------

    def _call(self, query: str, variables: dict[str, Any], what: str, *, write: bool) -> dict[str, Any]:
        """One GraphQL request; a refusal of the token becomes :class:`ProjectUnreachable`."""
        try:
            return self.tracker._graphql(query, variables, what, write=write, idempotent=True)
        except Forbidden as exc:
            raise ProjectUnreachable(f"{self.name}: the token may not use it ({_answer(exc)}). {TOKEN_ADVICE}") from None
        except Invalid as exc:
            if _SCOPES.search(str(exc)):
                raise ProjectUnreachable(f"{self.name}: the token lacks the scope for Projects ({_answer(exc)}). "
                                         f"{TOKEN_ADVICE}") from None
            raise

    def _known(self) -> dict[str, Any]:
        return self.project if self.project is not None else self.learn()

    # -- the project -------------------------------------------------------------------------

    def learn(self) -> dict[str, Any]:
        """Ask GitHub for the project and its fields (one query, whether an organization or a user
        owns it); the plain dict to keep in the base (``Base.project``)."""
        s = self.settings
        try:
            data = self._call(LEARN_QUERY, {"owner": s.owner, "number": s.number}, f"finding {self.name}", write=False)
        except NotFound as exc:
            raise ProjectUnreachable(f"{self.name}: GitHub shows no such project ({_answer(exc)}): check project.owner "
                                     f"and project.number, and that the token can see it. {TOKEN_ADVICE}") from None
        owner = data.get("repositoryOwner")
        if not isinstance(owner, dict):
            raise ProjectSetupError(f"{self.name}: GitHub has no user or organization {s.owner!r}; check project.owner")
        project = owner.get("projectV2")
        if not isinstance(project, dict) or not isinstance(project.get("id"), str):
            raise ProjectUnreachable(f"{self.name}: GitHub shows no such project: check project.owner and "
                                     f"project.number, and that the token can see it. {TOKEN_ADVICE}")
        page = project.get("fields") or {}
        more = bool((page.get("pageInfo") or {}).get("hasNextPage"))
        nodes = [n for n in page.get("nodes") or () if isinstance(n, dict) and isinstance(n.get("name"), str)]
        status = self._field(nodes, s.status_field, "SINGLE_SELECT", "status_field", "a single-select field", more)
        options = [o for o in status.get("options") or () if isinstance(o, dict) and isinstance(o.get("name"), str)]
        learned: dict[str, Any] = {
            "owner": str(owner.get("login") or s.owner), "owner_type": str(owner.get("__typename") or ""),
            "number": s.number, "id": project["id"], "title": str(project.get("title") or ""),
            "url": str(project.get("url") or ""),
            "status_field": s.status_field, "status_field_id": status["id"],
        }
        for key in ("todo", "done"):
            wanted = getattr(s, key)
            found = _match([o["name"] for o in options], wanted)
            if found is None:
                raise ProjectSetupError(
                    f"{self.name}: its field {status['name']!r} has no option {wanted!r} (project.{key}); it has: "
                    f"{', '.join(repr(o['name']) for o in options) or 'none'}")
            learned[key] = wanted
            learned[f"{key}_id"] = next(o["id"] for o in options if o["name"] == found)
        if learned["todo_id"] == learned["done_id"]:
            raise ProjectSetupError(f"{self.name}: project.todo and project.done name the same option")
        learned["date_field"] = s.date_field
        if s.date_field:
            learned["date_field_id"] = self._field(nodes, s.date_field, "DATE", "date_field", "a date field", more)["id"]
        self.project = learned
        return learned

    def _field(self, nodes: list[dict[str, Any]], wanted: str, data_type: str, key: str, kind: str,
               more: bool) -> dict[str, Any]:
        found = _match([n["name"] for n in nodes], wanted)
        if found is None:
            listed = ", ".join(repr(n["name"]) for n in nodes) or "none"
            extra = f" (only the first {_FIELDS_PAGE} were read)" if more else ""
            raise ProjectSetupError(f"{self.name}: it has no field {wanted!r} (project.{key}); its fields{extra}: {listed}")
        node = next(n for n in nodes if n["name"] == found)
        if node.get("dataType") != data_type or not isinstance(node.get("id"), str):
            raise ProjectSetupError(f"{self.name}: its field {found!r} is a {str(node.get('dataType') or '?').lower()} "
                                    f"field; project.{key} must name {kind}")
        return node

    # -- items -------------------------------------------------------------------------------

    def node_id(self, number: int) -> str:
        """The node id of issue ``number``: known from an answer this run saw, else read once."""
        node = self.tracker._ids_of(number)[1]
        if not node:
            raise TrackerError("invalid", f"reading issue #{number}: GitHub's answer has no node id")
        return node

    def add(self, content_id: str) -> str:
        """Add an issue (by node id) to the project: its item id. Adding it again answers the item
        it already has (GitHub: "the existing item ID is returned instead")."""
        project = self._known()
        data = self._call(ADD_MUTATION, {"input": {"projectId": project["id"], "contentId": content_id}},
                          f"adding {content_id} to {self.name}", write=True)
        item = ((data.get("addProjectV2ItemById") or {}).get("item") or {}).get("id")
        if not isinstance(item, str) or not item:
            raise TrackerError("invalid", f"adding {content_id} to {self.name}: GitHub's answer has no item")
        return item

    def option(self, done: bool) -> str:
        """The id of the status option a box gives: ``done`` when checked, else ``todo``."""
        return self._known()["done_id" if done else "todo_id"]

    def set_status(self, item_id: str, done: bool) -> str:
        """Set the item's status from its box; the option id written."""
        return self.update(item_id, status=done)[0]  # type: ignore[return-value]

    def set_date(self, item_id: str, day: str | None) -> None:
        """Set the item's date field to ``day`` (YYYY-MM-DD); None clears it."""
        self.update(item_id, date=day)

    def update(self, item_id: str, *, status: bool | Unset = UNSET, date: str | None | Unset = UNSET) -> tuple[str | None, str | None]:
        """Set the status (``status``: whether the box is checked) and/or the date (None clears) in one
        request, one aliased mutation each. Returns (option id, date) as written (None: not given)."""
        project = self._known()
        if not isinstance(date, Unset) and not self.dates:
            raise ProjectSetupError(f"{self.name}: no project.date_field is configured")
        declared, fields, variables = [], [], {}
        target = {"projectId": project["id"], "itemId": item_id}
        option = None
        if not isinstance(status, Unset):
            option = project["done_id" if status else "todo_id"]
            declared.append("$status: UpdateProjectV2ItemFieldValueInput!")
            fields.append("status: updateProjectV2ItemFieldValue(input: $status) { projectV2Item { id } }")
            variables["status"] = {**target, "fieldId": project["status_field_id"], "value": {"singleSelectOptionId": option}}
        if not isinstance(date, Unset):
            date_target = {**target, "fieldId": project["date_field_id"]}
            if date is None:
                declared.append("$date: ClearProjectV2ItemFieldValueInput!")
                fields.append("date: clearProjectV2ItemFieldValue(input: $date) { projectV2Item { id } }")
                variables["date"] = date_target
            else:
                declared.append("$date: UpdateProjectV2ItemFieldValueInput!")
                fields.append("date: updateProjectV2ItemFieldValue(input: $date) { projectV2Item { id } }")
                variables["date"] = {**date_target, "value": {"date": date}}
        if not fields:
            return None, None
        query = f"mutation({', '.join(declared)}) {{ {' '.join(fields)} }}"
        self._call(query, variables, f"setting {' and '.join(variables)} of item {item_id} in {self.name}", write=True)
        return option, None if isinstance(date, Unset) else date


def _answer(exc: TrackerError) -> str:
    """What GitHub said, without the adapter's "<what>: GitHub's GraphQL API answered: " lead."""
    text = str(exc)
    marker = "GraphQL API answered: "
    return text.split(marker, 1)[1] if marker in text else text
