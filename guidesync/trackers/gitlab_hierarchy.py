"""Sub-issues on GitLab: child tasks through GraphQL ("graphql"), else ``relates_to`` issue links
("links"); the part of :class:`~guidesync.trackers.gitlab.GitLabTracker` that makes them.

"graphql": the child is a task, put under its parent with workItemUpdate's hierarchyWidget
(placed with adjacentWorkItemId/relativePosition in the same mutation); work items are issues,
so the REST ``id`` names it (gid://gitlab/WorkItem/<id>). "links": a ``relates_to`` issue link
from the parent to the child (REST, GitLab Free): no parent and no order are kept (GitLab lists
linked items in its own order); the parent's body lists the children.
"""

from __future__ import annotations

from typing import Any

from ..errors import Conflict, Gone, NotFound
from .base import Adapter, RemoteIssue, TrackerError

#: GraphQL's answer when the object does not exist or the token may not see it
_NO_ACCESS = "does not exist or you don't have permission"
#: a child already under this parent, as GitLab's parent-link service says it (when it says so)
_ALREADY_LINKED = ("already assigned", "already linked")
#: "no parent known yet" (None is "known: no parent")
_UNKNOWN = object()


class GitLabHierarchy(Adapter):
    """The hierarchy calls of the GitLab adapter. The adapter supplies ``_request``, ``_issue_path``,
    ``_checked`` (an issue answer, checked and read), ``api_root``, ``repository`` and ``_path``."""

    repository: str
    api_root: str
    _path: str | None
    #: issue iid -> global id (gid://gitlab/WorkItem/<id>), from every issue an answer held
    _ids: dict[int, int]
    #: issue iid -> its issue_type ("issue", "task", ...), from the same answers
    _types: dict[int, str]
    #: iid -> the parent's iid as this run knows it (None: none; a new issue has none)
    _parents: dict[int, int | None]

    def _issue_path(self, number: int) -> str:
        raise NotImplementedError

    def _checked(self, data: Any, what: str) -> RemoteIssue:
        raise NotImplementedError

    def _note_hierarchy(self, data: dict[str, Any]) -> None:
        """Keep the ids and the type of an issue of an answer, for the calls below."""
        if isinstance(data, dict) and isinstance(data.get("iid"), int) and isinstance(data.get("id"), int):
            self._ids[data["iid"]] = data["id"]
            if isinstance(data.get("issue_type"), str):
                self._types[data["iid"]] = data["issue_type"]

    def _gid(self, iid: int) -> str:
        """gid://gitlab/WorkItem/<id> of issue ``iid``: known from an earlier answer, else read once."""
        if iid not in self._ids:
            what = f"reading issue #{iid}"
            _, data = self._request("GET", self._issue_path(iid), what)
            self._checked(data, what)
        return f"gid://gitlab/WorkItem/{self._ids[iid]}"

    @property
    def _graphql_url(self) -> str:
        return f"{self.api_root}/api/graphql"

    def _graphql(self, query: str, variables: dict[str, Any], what: str, *, write: bool = False) -> dict[str, Any]:
        """One request to ``{instance}/api/graphql`` through python-gitlab (its token, its session
        that follows no foreign redirect), under the call policy; ``errors`` raise."""

        def check(data: Any) -> None:
            if not isinstance(data, dict):
                raise TrackerError("invalid", f"{what}: GitLab's GraphQL answer is not JSON")
            errors = data.get("errors")
            if errors:
                first = errors[0] if isinstance(errors, list) and isinstance(errors[0], dict) else {}
                text = " ".join(str(first.get("message") or "GraphQL error").split())[:300]
                kind = "not_found" if _NO_ACCESS in text else "invalid"
                raise TrackerError(kind, f"{what}: GitLab's GraphQL API answered: {text}")

        # setting a parent (and a place) again changes nothing: such a mutation may be re-sent
        _, data = self._request("POST", self._graphql_url, what, body={"query": query, "variables": variables},
                                write=write, idempotent=True, check=check)
        return data.get("data") or {}

    def _learn_hierarchy(self) -> str:
        """Does GraphQL know WorkItemWidgetHierarchyUpdateInput (the hierarchy widget's input)?
        Yes: "graphql"; no, or no GraphQL API (404): "links". One request."""
        try:
            data = self._graphql('query($name: String!) { __type(name: $name) { name } }',
                                 {"name": "WorkItemWidgetHierarchyUpdateInput"}, "asking GitLab's GraphQL API for work items")
            mode = "graphql" if isinstance(data.get("__type"), dict) else "links"
        except NotFound:
            mode = "links"
        self.hierarchy_mode = mode
        return mode

    def hierarchy(self, probe: int) -> str:
        """(``probe`` is not needed here: GitLab's GraphQL schema says it.)"""
        return self.hierarchy_mode or self._learn_hierarchy()

    def _current_parent(self, child: int) -> tuple[int | None, str | None]:
        data = self._graphql("query($id: WorkItemID!) { workItem(id: $id) { widgets { ... on WorkItemWidgetHierarchy "
                             "{ parent { iid project { id fullPath } } } } } }", {"id": self._gid(child)},
                             f"reading the parent of issue #{child}")
        item = data.get("workItem") or {}
        parent = next((w.get("parent") for w in item.get("widgets") or () if isinstance(w, dict) and w.get("parent")), None)
        if not isinstance(parent, dict) or not str(parent.get("iid") or "").isdigit():
            self._parents[child] = None
            return None, None
        iid, project = int(parent["iid"]), parent.get("project") or {}
        ours = (str(project.get("id") or "").rsplit("/", 1)[-1] == self.repository if self.repository.isdigit()
                else str(project.get("fullPath") or "").lower() == (self._path or self.repository).lower())
        if ours:
            self._parents[child] = iid
            return iid, f"#{iid}"
        return None, f"{project.get('fullPath') or 'another project'}#{iid}"

    def _attach(self, mode: str, parent: int, child: int, after: int | None, move_from: int | None) -> None:
        if mode == "links":
            self._link(parent, child, move_from)
            return
        if move_from is None:  # GitLab moves a child silently: look first (a new issue has no parent)
            known, shown = self._parents.get(child, _UNKNOWN), None
            if known is _UNKNOWN:
                known, shown = self._current_parent(child)
            if known == parent and after is None:
                return  # already there, nothing to place
            if known != parent and (known is not None or shown is not None):
                raise self._conflict(parent, child, shown or f"#{known}")
        widget: dict[str, Any] = {"parentId": self._gid(parent)}
        if self._types.get(parent) == "task" and self._current_parent(parent)[1] is None:
            # A sub-item made a top-level task (and detached) that now has sub-items of its own: only
            # an issue can have children, so it becomes one.
            what = f"making task #{parent} an issue, to nest #{child} under it"
            _, data = self._request("PUT", self._issue_path(parent), what, body={"issue_type": "issue"})
            self._checked(data, what)
        if self._types.get(child, "task") != "task":
            # Only a task can be an issue's child: a task written at the top level and nested under
            # another later was made an issue. It carries guidesync's marker: it becomes a task.
            what = f"making issue #{child} a task, to nest it under #{parent}"
            _, data = self._request("PUT", self._issue_path(child), what, body={"issue_type": "task"})
            self._checked(data, what)
        if after is not None:
            widget.update(adjacentWorkItemId=self._gid(after), relativePosition="AFTER")
        what = f"making issue #{child} a child task of #{parent}"
        data = self._graphql("mutation($input: WorkItemUpdateInput!) { workItemUpdate(input: $input) { errors "
                             "workItem { id } } }", {"input": {"id": self._gid(child), "hierarchyWidget": widget}},
                             what, write=True)
        errors = (data.get("workItemUpdate") or {}).get("errors") or []
        if errors:
            text = " ".join(str(errors[0]).split())[:300]
            if any(t in text.lower() for t in _ALREADY_LINKED) and self._settle(parent, child, move_from, None):
                return
            raise TrackerError("invalid", f"{what}: GitLab answered: {text}")
        self._parents[child] = parent

    def _link(self, parent: int, child: int, move_from: int | None) -> None:
        """A relates_to link parent -> child (already linked: fine); on a move, the old one goes."""
        try:
            self._request("POST", f"{self._issue_path(parent)}/links", f"linking issue #{child} to #{parent}",
                          body={"target_project_id": self.repository, "target_issue_iid": int(child),
                                "link_type": "relates_to"}, idempotent=False)
        except Conflict:
            pass  # 409: already linked
        if move_from is None or move_from == parent:
            return
        self._unlink(move_from, child)

    def _unlink(self, parent: int, child: int) -> None:
        """Delete the relates_to link parent -> child, if there is one."""
        what = f"unlinking issue #{child} from #{parent}"
        try:
            _, rows = self._request("GET", f"{self._issue_path(parent)}/links", what)
            for row in rows if isinstance(rows, list) else ():
                if isinstance(row, dict) and row.get("iid") == child and row.get("link_type") == "relates_to" \
                        and isinstance(row.get("issue_link_id"), int) and self._same_project(row):
                    self._request("DELETE", f"{self._issue_path(parent)}/links/{row['issue_link_id']}", what)
        except (NotFound, Gone):
            pass  # the parent or the link is gone already

    def _detach(self, mode: str, parent: int, child: int) -> None:
        if mode == "links":
            self._unlink(parent, child)
            return
        if self._current_parent(child)[0] != parent:
            return  # not under it (any more)
        what = f"taking issue #{child} from under #{parent}"
        data = self._graphql("mutation($input: WorkItemUpdateInput!) { workItemUpdate(input: $input) { errors "
                             "workItem { id } } }", {"input": {"id": self._gid(child), "hierarchyWidget": {"parentId": None}}},
                             what, write=True)
        errors = (data.get("workItemUpdate") or {}).get("errors") or []
        if errors:
            raise TrackerError("invalid", f"{what}: GitLab answered: {' '.join(str(errors[0]).split())[:300]}")
        self._parents[child] = None

    def _same_project(self, row: dict[str, Any]) -> bool:
        if self.repository.isdigit():
            return str(row.get("project_id")) == self.repository
        refs = row.get("references") or {}
        full = str(refs.get("full") or "")
        return not full or full.rsplit("#", 1)[0].lower() == (self._path or self.repository).lower()
