"""A stateful fake of GitLab's REST API v4, good enough for the real python-gitlab.

Usage::

    with FakeGitLab(projects=("acme/shop", "acme/platform/api"), prefix="/gitlab") as fake:
        gl = gitlab.Gitlab(fake.url, private_token="test-token", per_page=100,
                           retry_transient_errors=False)
        project = gl.projects.get("acme/shop")
        ...
        assert fake.issues("acme/shop")[1]["state"] == "closed"

``fake.url`` is the instance root (prefix included); the API lives at
``{url}/api/v4``.  Projects are addressed by numeric id or URL-encoded full path
(subgroups work).  Every namespace of a project is modelled as a group, so group
milestones of ancestor groups can be used on issues.

Behaviour modelled on GitLab (documented shapes, checked against the GitLab
source):

* pagination: ``page``/``per_page`` (default 20, max 100), ``x-page``,
  ``x-per-page``, ``x-next-page``, ``x-prev-page``, ``x-total``,
  ``x-total-pages`` and a ``Link`` header (``prev``/``next``/``first``/``last``)
  that keeps the other query parameters;
* errors: 401 ``{"message": "401 Unauthorized"}``, 403 ``{"message": "403 Forbidden"}``,
  404 ``{"message": "404 Project Not Found"}`` / ``{"message": "404 Not found"}``
  (missing record) / ``{"error": "404 Not Found"}`` (unknown route), validation
  400 ``{"message": {"field": ["..."]}}``, missing parameter 400
  ``{"error": "title is missing"}``;
* quick actions in issue descriptions (create and update) and in notes.  As in
  GitLab, the command lines are removed from the stored text; commands that need
  an existing issue (``/close``, ``/reopen``, ``/title``, ``/unlabel``,
  ``/relabel``, ``/unassign``, ``/remove_milestone``) are stripped but NOT applied
  when the issue is being created (set ``apply_state_actions_on_create = True``
  to apply them anyway).  ``/label`` only adds labels that already exist and
  ``/milestone`` only uses active milestones of the project or its ancestor
  groups, as GitLab does.  Lines inside fenced code blocks or ``>>>`` quote
  blocks are ignored; a command must start the line with ``/``;
* a note made only of quick actions is not stored: 202 with
  ``{"commands_changes": {...}, "summary": [...]}``;
* system notes (``system: true``) are added for close/reopen, label and
  milestone changes and moves, like GitLab does;
* labels passed on issue create/update that do not exist are created (colour
  ``#6699cc``); an unknown ``milestone_id`` is silently ignored;
* rate-limit headers on every response (``RateLimit-Limit``, ``-Observed``,
  ``-Remaining``, ``-Reset`` (epoch, real wall clock), ``-ResetTime``);
* users: ``GET /users?username=`` matches the username whatever its case and
  lists 0 or 1 user; blocked and banned users are not listed to a non-admin token
  (UsersFinder, ``without_forbidden_states``);
* assignees (IssuableBaseService#filter_assignees): ``assignee_id`` wins over
  ``assignee_ids``; ``[]`` or ``0`` clears; below Premium (``tier = "free"``, or
  ``edition = "ce"``) only the FIRST id sent is kept (``first(1)``), and that
  before users who cannot read the issue (not a member of the private project,
  blocked, unknown) are dropped silently; when nothing is left, the assignees
  are not changed at all;
* dates: issue ``due_date``, milestone ``start_date``/``due_date`` as Rails casts
  them into a date column: ``YYYY-MM-DD``; blank or unreadable is stored as null.
  A milestone whose due date is not after its start date is refused (400
  ``Failed to create milestone {:due_date=>["must be greater than start date"]}``);
* issue links (doc/api/issue_links.md, IssuableLinks::CreateService and its EE
  module): ``blocks``/``is_blocked_by`` need Premium: on Free 403 ``Blocked issues
  not available for current license`` (checked before anything else, even for a
  pair already linked); a Community Edition server (``edition = "ce"``) knows
  only ``relates_to`` (400 ``link_type does not have a valid value``); a pair
  already linked, in either direction and of any type, answers 409 ``Issue(s)
  already assigned``; ``is_blocked_by`` is stored as a ``blocks`` link from the
  other issue.
* the server's version (``version``, answered by ``GET /version``) decides what a milestone
  listing honours, as GitLab's own changes did: ``updated_after`` / ``updated_before`` from 15.10
  (gitlab-org/gitlab!106924), ``include_ancestors`` from 16.7 (before it only
  ``include_parent_milestones``); below that the parameter is silently ignored, like any parameter
  Grape does not declare. A milestone's ``updated_at`` moves when one of its own attributes
  changes (title, description, dates, state); an issue put into it or taken out does not touch
  it (``belongs_to :milestone`` has no ``touch``), and an update that changes nothing neither.

Timestamps come from the deterministic ``self.clock`` (each mutation ticks it)
and are rendered like GitLab: ``2026-01-01T00:00:05.000Z``.
"""

from __future__ import annotations

import copy
import math
import re
import socket
import time
from datetime import date, datetime, timezone
from typing import Any, Iterable
from urllib.parse import urlencode, urlsplit

from .base import ApiError, Fault, FakeServer, Request, Response, http_date
from .graphql_schema import GITLAB_SDL, GraphQLError, Schema, execute

__all__ = ["FakeGitLab"]

DESCRIPTION_MAX = 1_048_576
TITLE_MAX = 255
DEFAULT_LABEL_COLOR = "#6699cc"
_API = "/api/v4"

_P = r"(?P<pid>[^/]+)"
_G = r"(?P<gid>[^/]+)"
_IID = r"(?P<iid>[0-9]+)"

ISSUE_TYPES = ("issue", "incident", "test_case", "task")
#: Work item types (gid://gitlab/WorkItems::Type/N) as GitLab seeds them.
WORK_ITEM_TYPES = {"issue": (1, "Issue"), "incident": (2, "Incident"), "test_case": (3, "Test Case"),
                   "task": (5, "Task")}
#: Allowed parent -> child type pairs (gitlabhq hierarchy_restrictions_importer.rb, the part a
#: project has: Issue->Task and Incident->Task; Issue->Issue is not allowed).
HIERARCHY_PAIRS = {("issue", "task"), ("incident", "task")}
LINK_TYPES = ("relates_to", "blocks", "is_blocked_by")
_WORK_ITEM_GID = re.compile(r"^gid://gitlab/WorkItem/([0-9]+)$")
NO_ACCESS = ("The resource that you are attempting to access does not exist or you don't have "
             "permission to perform this action")

# quick actions --------------------------------------------------------------
_QA_COMMANDS = {
    "close", "reopen", "title",
    "label", "labels", "unlabel", "remove_label", "relabel",
    "assign", "unassign",
    "milestone", "remove_milestone",
}
# commands whose GitLab condition requires a persisted (already created) issue
_QA_NEED_PERSISTED = {"close", "reopen", "title", "unlabel", "remove_label", "relabel",
                      "unassign", "remove_milestone"}
_QA_LINE = re.compile(
    r"^/(?P<cmd>" + "|".join(sorted(_QA_COMMANDS, key=len, reverse=True)) + r")(?: (?P<arg>.*))?\s*$",
    re.IGNORECASE,
)
_LABEL_REF = re.compile(r'~"(?P<q>[^"]+)"|~(?P<w>[^\s~"]+)')
_MILESTONE_REF = re.compile(r'%"(?P<q>[^"]+)"|%(?P<w>\S+)')
_USER_REF = re.compile(r"@(?P<u>[A-Za-z0-9_.\-]+)")


def _fmt(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    dt = dt.astimezone(timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _parse_time(value: str) -> datetime:
    text = value.strip()
    if text.endswith("Z") or text.endswith("z"):
        text = text[:-1] + "+00:00"
    if len(text) == 10:  # a bare date
        text += "T00:00:00+00:00"
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


#: PUT issues needs one of these (API::Helpers::IssuesHelpers.update_params_at_least_one_of)
_UPDATE_ONE_OF = ("assignee_id", "assignee_ids", "confidential", "created_at", "description", "discussion_locked",
                  "due_date", "labels", "add_labels", "remove_labels", "milestone_id", "state_event", "title",
                  "issue_type")
_DAY = re.compile(r"^(\d{4})-(\d\d)-(\d\d)(?:[T ].*)?$")
#: how a milestone's validation error reads (``errors.messages`` of a Ruby hash, inspected)
_DUE_BEFORE_START = '{:due_date=>["must be greater than start date"]}'


def _day(value: Any) -> str | None:
    """A date parameter as Rails casts it into a date column: ``YYYY-MM-DD`` (a timestamp keeps its
    day); blank or unreadable (``2026-02-30``, ``soon``) is stored as null, silently."""
    m = _DAY.match(value.strip()) if isinstance(value, str) else None
    if m is None:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3))).isoformat()
    except ValueError:
        return None


def _split_labels(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        items: list[str] = []
        for v in value:
            items.extend(_split_labels(v))
        return items
    return [part.strip() for part in str(value).split(",") if part.strip()]


def _protected_lines(lines: list[str]) -> set[int]:
    """Indexes of lines inside ``` fenced blocks or >>> quote blocks (both need a closer)."""
    protected: set[int] = set()
    i = 0
    while i < len(lines):
        line = lines[i]
        for opener, closer in (("```", "```"), (">>>", ">>>")):
            if line.startswith(opener) and len(line) > 0:
                end = next((j for j in range(i + 1, len(lines)) if lines[j] == closer), None)
                if end is not None:
                    protected.update(range(i, end + 1))
                    i = end
                break
        i += 1
    return protected


def extract_quick_actions(text: str) -> tuple[str, list[tuple[str, str]]]:
    """Split ``text`` into (text without command lines, [(command, argument)])."""
    lines = text.replace("\r", "").split("\n")
    protected = _protected_lines(lines)
    kept: list[str] = []
    commands: list[tuple[str, str]] = []
    for idx, line in enumerate(lines):
        m = None if idx in protected else _QA_LINE.match(line)
        if m is None:
            kept.append(line)
            continue
        commands.append((m.group("cmd").lower(), (m.group("arg") or "").strip()))
    return "\n".join(kept).rstrip(), commands


class FakeGitLab(FakeServer):
    """Stateful GitLab REST v4 fake. See the module docstring."""

    def __init__(
        self,
        *,
        token: str = "test-token",
        projects: Iterable[str] = ("acme/shop",),
        groups: Iterable[str] | None = None,
        prefix: str = "",
        latency: float = 0.0,
        external_url: str | None = None,
    ) -> None:
        super().__init__(latency=latency, prefix=prefix)
        self.token = token
        #: GitLab's ``external_url``: the name every URL in an answer is built from. It may differ
        #: from the name the API is reached by (an internal hostname, a proxy); None: the same.
        self.external_url = external_url.rstrip("/") if external_url else None
        self.read_only = False
        self.apply_state_actions_on_create = False
        #: Subscription tier: "free", "premium" or "ultimate". Blocking links (``blocks``,
        #: ``is_blocked_by``) need Premium (GitLab docs, linked issues); relates_to is Free.
        #: Several assignees on an issue need Premium too (doc/api/issues.md, ``assignee_ids``).
        self.tier = "free"
        #: "ee" (GitLab Enterprise Edition, gitlab.com; the tier decides) or "ce" (the
        #: Community Edition: one assignee, and only ``relates_to`` links, whatever the tier).
        self.edition = "ee"
        #: False: ``POST /api/graphql`` answers 404 (a proxy that only lets /api/v4 through).
        self.graphql_enabled = True
        #: False: an older server without tasks (``issue_type=task`` -> 400, like any unknown
        #: value), for the fallbacks.
        self.tasks_available = True
        #: Children per parent (WorkItems::ParentLink::MAX_CHILDREN was 100 when introduced,
        #: gitlab-org/gitlab#362203; 5000 in today's source): the stricter old value.
        self.max_children = 100
        #: What ``GET /version`` answers; it decides which listing parameters are honoured (see the
        #: module docstring). GitLab's form: ``16.11.0-ee``, ``15.9.0``.
        self.version = "17.8.0-ee"
        self.rate_limit_limit = 2000
        self.rate_limit_reset_in = 1  # seconds (real wall clock) until RateLimit-Reset
        self._rl_observed = 0

        self._ids = {"group": 10, "project": 100, "issue": 1000, "milestone": 500,
                     "label": 200, "note": 5000, "user": 1, "link": 7000}
        self._users: dict[str, dict] = {}
        self._members: dict[int, set[int]] = {}  # project id -> ids of its members
        self.user = self._user("guidesync-bot", name="Guidesync Bot")
        self._groups: dict[int, dict] = {}
        self._group_by_path: dict[str, int] = {}
        self._projects: dict[int, dict] = {}
        self._project_by_path: dict[str, int] = {}
        self._issues: dict[int, dict] = {}  # global id -> issue
        self._milestones: dict[int, dict] = {}  # global id -> milestone
        self._labels: dict[int, dict] = {}  # global id -> label
        self._notes: dict[int, dict] = {}  # global id -> note
        self._links: dict[int, dict] = {}  # issue_link_id -> {source, target, link_type, ...}

        for path in groups or ():
            self.add_group(path)
        for path in projects:
            self.add_project(path)
        self._register_routes()

    # ================================================================ helpers
    def at_least(self, major: int, minor: int) -> bool:
        """Is :attr:`version` ``major.minor`` or later? (``16.11.0-ee`` -> (16, 11))"""
        m = re.match(r"^\s*(\d+)\.(\d+)", self.version)
        return m is not None and (int(m.group(1)), int(m.group(2))) >= (major, minor)

    def _next(self, kind: str) -> int:
        self._ids[kind] += 1
        return self._ids[kind]

    def _base(self) -> str:
        """The instance root that answers are built from (``external_url``)."""
        if self.external_url:
            return self.external_url
        try:
            return self.url
        except RuntimeError:
            return "http://127.0.0.1:0" + self.prefix

    def _user(self, username: str, name: str | None = None, state: str = "active") -> dict:
        user = self._users.get(username.lower())
        if user is None:
            uid = self._next("user")
            user = {"id": uid, "username": username, "name": name or username.title(),
                    "state": state, "locked": state != "active", "avatar_url": None}
            self._users[username.lower()] = user
        return user

    def _render_user(self, user: dict) -> dict:
        out = dict(user)
        out["web_url"] = f"{self._base()}/{user['username']}"
        return out

    def _user_by_id(self, uid: int) -> dict:
        return next(u for u in self._users.values() if u["id"] == uid)

    def _multiple_assignees(self) -> bool:
        """Issue#allows_multiple_assignees?: the EE feature ``multiple_issue_assignees`` (Premium)."""
        return self.edition == "ee" and self.tier in ("premium", "ultimate")

    def _blocking_links(self) -> bool:
        """The EE feature ``blocked_issues`` (Premium)."""
        return self.tier in ("premium", "ultimate")

    def _can_read(self, uid: Any, project: dict) -> bool:
        """user_can_read?(issue) of IssuableBaseService: the user exists, is active and may
        see the project's issues (a member of a private project; anybody signed in otherwise)."""
        user = next((u for u in self._users.values() if str(u["id"]) == str(uid)), None)
        if user is None or user["state"] != "active":
            return False
        return project["visibility"] != "private" or user["id"] in self._members.get(project["id"], set())

    def _assignee_param(self, project: dict, params: dict) -> list[int] | None:
        """The assignees a create or an update sets, as GitLab filters them (see the module
        docstring); None: the request leaves them as they are."""
        if params.get("assignee_id") not in (None, ""):  # convert_parameters_from_legacy_format
            raw: Any = [params["assignee_id"]]
        elif "assignee_ids" in params:
            raw = params["assignee_ids"]
        else:
            return None
        if raw is None:  # Grape coerces a nil array to []
            raw = []
        if isinstance(raw, (str, int)):  # CommaSeparatedToIntegerArray
            raw = [p for p in str(raw).split(",") if p.strip()]
        if not isinstance(raw, list) or not all(isinstance(v, int) and not isinstance(v, bool)
                                                or isinstance(v, str) and v.strip().isdigit() for v in raw):
            name = "assignee_id" if params.get("assignee_id") not in (None, "") else "assignee_ids"
            raise ApiError(400, {"error": f"{name} is invalid"})
        ids = [int(v) for v in raw]
        if not ids:
            return []
        if not self._multiple_assignees():
            ids = ids[:1]
        if ids == [0]:  # IssuableFinder::Params::NONE
            return []
        readable = [i for i in dict.fromkeys(ids) if self._can_read(i, project)]
        return readable or None

    def _set_assignees(self, issue: dict, ids: list[int], when: datetime) -> bool:
        old = issue["assignees"]
        if ids == old:
            return False
        added = [u for u in ids if u not in old]
        removed = [u for u in old if u not in ids]
        issue["assignees"] = list(ids)
        parts = []
        if added:
            parts.append("assigned to " + " ".join(f"@{self._user_by_id(u)['username']}" for u in added))
        if removed:
            parts.append("unassigned " + " ".join(f"@{self._user_by_id(u)['username']}" for u in removed))
        if parts:
            self._add_system_note(issue, " and ".join(parts), when)
        return True

    def _set_due_date(self, issue: dict, value: str | None, when: datetime) -> bool:
        if issue["due_date"] == value:
            return False
        issue["due_date"] = value
        if value is None:
            self._add_system_note(issue, "removed due date", when)
        else:
            day = date.fromisoformat(value)
            self._add_system_note(issue, f"changed due date to {day:%B} {day.day}, {day.year}", when)
        return True

    # ------------------------------------------------------------ namespaces
    def add_group(self, path: str) -> int:
        """Create the group ``path`` (and its ancestors); return its id."""
        path = path.strip("/")
        with self.lock:
            if path in self._group_by_path:
                return self._group_by_path[path]
            parent_id = self.add_group(path.rsplit("/", 1)[0]) if "/" in path else None
            gid = self._next("group")
            name = path.rsplit("/", 1)[-1]
            self._groups[gid] = {"id": gid, "name": name, "path": name, "full_path": path,
                                 "parent_id": parent_id, "milestone_iid": 0,
                                 "created_at": self.clock.now()}
            self._group_by_path[path] = gid
            return gid

    def add_project(self, path: str, *, default_branch: str = "main") -> int:
        """Create the project ``path`` (namespace groups included); return its id."""
        path = path.strip("/")
        if "/" not in path:
            raise ValueError("a project path needs a namespace: 'group/project'")
        with self.lock:
            if path in self._project_by_path:
                return self._project_by_path[path]
            ns_id = self.add_group(path.rsplit("/", 1)[0])
            pid = self._next("project")
            name = path.rsplit("/", 1)[-1]
            self._projects[pid] = {"id": pid, "name": name, "path": name,
                                   "path_with_namespace": path, "namespace_id": ns_id,
                                   "default_branch": default_branch, "archived": False,
                                   "issue_iid": 0, "milestone_iid": 0, "visibility": "private",
                                   "created_at": self.clock.now()}
            self._project_by_path[path] = pid
            self._members[pid] = {self.user["id"]}
            return pid

    def _group_ancestors(self, gid: int | None) -> list[int]:
        """gid and its ancestors (nearest first)."""
        out = []
        while gid is not None:
            out.append(gid)
            gid = self._groups[gid]["parent_id"]
        return out

    def _group_descendants(self, gid: int) -> list[int]:
        out = [gid]
        for g in self._groups.values():
            if g["parent_id"] == gid:
                out.extend(self._group_descendants(g["id"]))
        return out

    def _project(self, ref: Any) -> dict:
        """Project by id, path or dict; ApiError 404 when unknown."""
        if isinstance(ref, dict):
            return ref
        key = str(ref).strip("/")
        if key.isdigit() and int(key) in self._projects:
            return self._projects[int(key)]
        pid = self._project_by_path.get(key)
        if pid is None:  # GitLab matches full paths case-insensitively
            pid = next((i for p, i in self._project_by_path.items() if p.lower() == key.lower()), None)
        if pid is None:
            raise ApiError(404, {"message": "404 Project Not Found"})
        return self._projects[pid]

    def _group(self, ref: Any) -> dict:
        key = str(ref).strip("/")
        if key.isdigit() and int(key) in self._groups:
            return self._groups[int(key)]
        gid = self._group_by_path.get(key)
        if gid is None:
            gid = next((i for p, i in self._group_by_path.items() if p.lower() == key.lower()), None)
        if gid is None:
            raise ApiError(404, {"message": "404 Group Not Found"})
        return self._groups[gid]

    def _issue(self, project: dict, iid: Any) -> dict:
        iid = int(iid)
        for issue in self._issues.values():
            if issue["project_id"] == project["id"] and issue["iid"] == iid:
                return issue
        raise ApiError(404, {"message": "404 Not found"})

    def _project_issues(self, project: dict) -> list[dict]:
        return [i for i in self._issues.values() if i["project_id"] == project["id"]]

    def _project_labels(self, project: dict) -> list[dict]:
        return [lb for lb in self._labels.values() if lb["project_id"] == project["id"]]

    def _label_by_name(self, project: dict, name: str) -> dict | None:
        return next((lb for lb in self._project_labels(project) if lb["name"] == name), None)

    def _available_milestones(self, project: dict) -> list[dict]:
        """Project milestones plus milestones of the project's group and its ancestors."""
        groups = set(self._group_ancestors(project["namespace_id"]))
        return [m for m in self._milestones.values()
                if m["project_id"] == project["id"] or m["group_id"] in groups]

    # ------------------------------------------------------------ rendering
    def _render_group(self, group: dict) -> dict:
        return {
            "id": group["id"], "name": group["name"], "path": group["path"],
            "full_name": " / ".join(self._groups[g]["name"]
                                    for g in reversed(self._group_ancestors(group["id"]))),
            "full_path": group["full_path"], "parent_id": group["parent_id"],
            "description": "", "visibility": "private", "avatar_url": None,
            "web_url": f"{self._base()}/groups/{group['full_path']}",
            "created_at": _fmt(group["created_at"]),
        }

    def _render_project(self, project: dict) -> dict:
        ns = self._groups[project["namespace_id"]]
        base = self._base()
        path = project["path_with_namespace"]
        api = f"{base}{_API}/projects/{project['id']}"
        open_count = sum(1 for i in self._project_issues(project) if i["state"] == "opened")
        return {
            "id": project["id"], "description": "", "name": project["name"],
            "name_with_namespace": " / ".join(self._groups[g]["name"] for g in
                                              reversed(self._group_ancestors(ns["id"])))
            + " / " + project["name"],
            "path": project["path"], "path_with_namespace": path,
            "created_at": _fmt(project["created_at"]),
            "default_branch": project["default_branch"], "tag_list": [], "topics": [],
            "ssh_url_to_repo": f"git@127.0.0.1:{path}.git",
            "http_url_to_repo": f"{base}/{path}.git",
            "web_url": f"{base}/{path}", "readme_url": None, "avatar_url": None,
            "forks_count": 0, "star_count": 0, "last_activity_at": _fmt(self.clock.now()),
            "namespace": {"id": ns["id"], "name": ns["name"], "path": ns["path"], "kind": "group",
                          "full_path": ns["full_path"], "parent_id": ns["parent_id"],
                          "avatar_url": None, "web_url": f"{base}/groups/{ns['full_path']}"},
            "_links": {"self": api, "issues": f"{api}/issues", "labels": f"{api}/labels",
                       "events": f"{api}/events", "members": f"{api}/members"},
            "archived": project["archived"], "visibility": project["visibility"],
            "issues_enabled": True, "open_issues_count": open_count,
            "permissions": {"project_access": {"access_level": 40, "notification_level": 3},
                            "group_access": None},
        }

    def _render_milestone(self, m: dict) -> dict:
        base = self._base()
        out = {"id": m["id"], "iid": m["iid"]}
        if m["project_id"] is not None:
            path = self._projects[m["project_id"]]["path_with_namespace"]
            out["project_id"] = m["project_id"]
            web = f"{base}/{path}/-/milestones/{m['iid']}"
        else:
            path = self._groups[m["group_id"]]["full_path"]
            out["group_id"] = m["group_id"]
            web = f"{base}/groups/{path}/-/milestones/{m['iid']}"
        out.update({
            "title": m["title"], "description": m["description"], "state": m["state"],
            "created_at": _fmt(m["created_at"]), "updated_at": _fmt(m["updated_at"]),
            "due_date": m["due_date"], "start_date": m["start_date"],
            "expired": bool(m["due_date"]) and m["due_date"] < self.clock.now().date().isoformat(),
            "web_url": web,
        })
        return out

    def _render_label(self, lb: dict) -> dict:
        issues = [i for i in self._issues.values()
                  if i["project_id"] == lb["project_id"] and lb["name"] in i["labels"]]
        return {
            "id": lb["id"], "name": lb["name"], "color": lb["color"], "text_color": "#FFFFFF",
            "description": lb["description"], "description_html": lb["description"] or "",
            "open_issues_count": sum(1 for i in issues if i["state"] == "opened"),
            "closed_issues_count": sum(1 for i in issues if i["state"] == "closed"),
            "open_merge_requests_count": 0, "subscribed": False, "priority": lb["priority"],
            "is_project_label": True, "archived": False,
        }

    def _render_issue(self, issue: dict) -> dict:
        project = self._projects[issue["project_id"]]
        base = self._base()
        path = project["path_with_namespace"]
        api = f"{base}{_API}/projects/{project['id']}"
        milestone = self._milestones.get(issue["milestone_id"]) if issue["milestone_id"] else None
        assignees = [self._render_user(self._user_by_id(u)) for u in issue["assignees"]]
        user_notes = [n for n in self._notes.values()
                      if n["issue_id"] == issue["id"] and not n["system"]]
        return {
            "id": issue["id"], "iid": issue["iid"], "project_id": project["id"],
            "title": issue["title"], "description": issue["description"],
            "state": issue["state"],
            "created_at": _fmt(issue["created_at"]), "updated_at": _fmt(issue["updated_at"]),
            "closed_at": _fmt(issue["closed_at"]),
            "closed_by": (self._render_user(self._user_by_id(issue["closed_by"]))
                          if issue["closed_by"] else None),
            "labels": sorted(issue["labels"]),
            "milestone": self._render_milestone(milestone) if milestone else None,
            "assignees": assignees, "assignee": assignees[0] if assignees else None,
            "author": self._render_user(self._user_by_id(issue["author"])),
            "type": issue["issue_type"].upper(), "issue_type": issue["issue_type"],
            "user_notes_count": len(user_notes), "merge_requests_count": 0,
            "upvotes": 0, "downvotes": 0, "due_date": issue["due_date"], "confidential": False,
            "discussion_locked": None, "web_url": f"{base}/{path}/-/issues/{issue['iid']}",
            "time_stats": {"time_estimate": 0, "total_time_spent": 0,
                           "human_time_estimate": None, "human_total_time_spent": None},
            "task_completion_status": {"count": 0, "completed_count": 0},
            "has_tasks": False, "blocking_issues_count": 0,
            "_links": {"self": f"{api}/issues/{issue['iid']}",
                       "notes": f"{api}/issues/{issue['iid']}/notes",
                       "award_emoji": f"{api}/issues/{issue['iid']}/award_emoji",
                       "project": api, "closed_as_duplicate_of": None},
            "references": {"short": f"#{issue['iid']}", "relative": f"#{issue['iid']}",
                           "full": f"{path}#{issue['iid']}"},
            "severity": "UNKNOWN", "moved_to_id": issue["moved_to_id"],
            "service_desk_reply_to": None,
        }

    def _render_note(self, note: dict) -> dict:
        issue = self._issues[note["issue_id"]]
        return {
            "id": note["id"], "type": None, "body": note["body"], "attachment": None,
            "author": self._render_user(self._user_by_id(note["author"])),
            "created_at": _fmt(note["created_at"]), "updated_at": _fmt(note["updated_at"]),
            "system": note["system"], "noteable_id": issue["id"], "noteable_type": "Issue",
            "project_id": issue["project_id"], "resolvable": False, "confidential": False,
            "internal": False, "imported": False, "imported_from": "none",
            "noteable_iid": issue["iid"], "commands_changes": {},
        }

    # ------------------------------------------------------------- mutations
    def _add_system_note(self, issue: dict, body: str, when: datetime) -> None:
        nid = self._next("note")
        self._notes[nid] = {"id": nid, "issue_id": issue["id"], "body": body, "system": True,
                            "author": self.user["id"], "created_at": when, "updated_at": when}

    def _ensure_labels(self, project: dict, names: Iterable[str], when: datetime) -> None:
        for name in names:
            if self._label_by_name(project, name) is None:
                self._new_label(project, name, DEFAULT_LABEL_COLOR, "", when)

    def _new_label(self, project: dict, name: str, color: str, description: str | None,
                   when: datetime, priority: int | None = None) -> dict:
        lid = self._next("label")
        label = {"id": lid, "project_id": project["id"], "name": name, "color": color,
                 "description": description, "priority": priority, "created_at": when}
        self._labels[lid] = label
        return label

    def _set_state(self, issue: dict, state: str, when: datetime, user_id: int | None = None) -> bool:
        if issue["state"] == state:
            return False
        issue["state"] = state
        if state == "closed":
            issue["closed_at"] = when
            issue["closed_by"] = user_id or self.user["id"]
            self._add_system_note(issue, "closed", when)
        else:
            issue["closed_at"] = None
            issue["closed_by"] = None
            self._add_system_note(issue, "reopened", when)
        return True

    def _set_labels(self, issue: dict, names: Iterable[str], when: datetime) -> bool:
        new = list(dict.fromkeys(names))
        old = issue["labels"]
        if set(new) == set(old):
            return False
        project = self._projects[issue["project_id"]]
        added = [n for n in new if n not in old]
        removed = [n for n in old if n not in new]
        parts = []
        if added:
            parts.append("added " + " ".join(f"~{self._label_by_name(project, n)['id']}"
                                             if self._label_by_name(project, n) else f"~{n}"
                                             for n in added))
        if removed:
            parts.append("removed " + " ".join(f"~{self._label_by_name(project, n)['id']}"
                                               if self._label_by_name(project, n) else f"~{n}"
                                               for n in removed))
        issue["labels"] = new
        count = len(added) + len(removed)
        self._add_system_note(issue, " and ".join(parts) + (" label" if count == 1 else " labels"), when)
        return True

    def _set_milestone(self, issue: dict, milestone_id: int | None, when: datetime) -> bool:
        if issue["milestone_id"] == milestone_id:
            return False
        issue["milestone_id"] = milestone_id
        if milestone_id:
            self._add_system_note(issue, f"changed milestone to %{milestone_id}", when)
        else:
            self._add_system_note(issue, "removed milestone", when)
        return True

    def _resolve_milestone_param(self, project: dict, value: Any) -> int | None:
        """milestone_id param -> id (None clears; unknown ids are ignored like GitLab)."""
        if value in (None, "", 0, "0", "None", "none"):
            return None
        try:
            mid = int(value)
        except (TypeError, ValueError):
            return None
        if any(m["id"] == mid for m in self._available_milestones(project)):
            return mid
        return None

    def _apply_quick_actions(self, issue: dict, commands: list[tuple[str, str]], *,
                             creating: bool, when: datetime) -> tuple[dict, list[str]]:
        """Apply commands to ``issue``; return (commands_changes, summary)."""
        project = self._projects[issue["project_id"]]
        changes: dict[str, Any] = {}
        summary: list[str] = []
        for cmd, arg in commands:
            if creating and cmd in _QA_NEED_PERSISTED and not self.apply_state_actions_on_create:
                continue
            if cmd == "close" and issue["state"] == "opened":
                self._set_state(issue, "closed", when)
                changes["state_event"] = "close"
                summary.append("Closed this issue.")
            elif cmd == "reopen" and issue["state"] == "closed":
                self._set_state(issue, "opened", when)
                changes["state_event"] = "reopen"
                summary.append("Reopened this issue.")
            elif cmd == "title" and arg:
                issue["title"] = arg
                changes["title"] = arg
                summary.append(f'Changed the title to "{arg}".')
            elif cmd in ("label", "labels", "relabel"):
                found = [lb["name"] for lb in self._find_labels(project, arg)]
                if not found:
                    continue
                if cmd == "relabel":
                    if not issue["labels"]:
                        continue
                    self._set_labels(issue, found, when)
                else:
                    self._set_labels(issue, issue["labels"] + found, when)
                changes.setdefault("add_label_ids", []).extend(
                    self._label_by_name(project, n)["id"] for n in found)
                summary.append("Added " + " ".join(f"~{n}" for n in found)
                               + (" label." if len(found) == 1 else " labels."))
            elif cmd in ("unlabel", "remove_label"):
                if not issue["labels"]:
                    continue
                if arg:
                    gone = [lb["name"] for lb in self._find_labels(project, arg)]
                    self._set_labels(issue, [n for n in issue["labels"] if n not in gone], when)
                    summary.append("Removed " + " ".join(f"~{n}" for n in gone) + " labels.")
                else:
                    self._set_labels(issue, [], when)
                    summary.append("Removed all labels.")
                changes["remove_label_ids"] = True
            elif cmd == "assign":
                names = ([self.user["username"]] if arg.strip() == "me"
                         else [m.group("u") for m in _USER_REF.finditer(arg)])
                for name in names:
                    uid = self._user(name)["id"]
                    if uid not in issue["assignees"]:
                        issue["assignees"].append(uid)
                if names:
                    changes["assignee_ids"] = list(issue["assignees"])
                    summary.append("Assigned " + " ".join(f"@{n}" for n in names) + ".")
            elif cmd == "unassign":
                names = [m.group("u").lower() for m in _USER_REF.finditer(arg)]
                if names:
                    issue["assignees"] = [u for u in issue["assignees"]
                                          if self._user_by_id(u)["username"].lower() not in names]
                else:
                    issue["assignees"] = []
                changes["assignee_ids"] = list(issue["assignees"])
                summary.append("Removed assignees.")
            elif cmd == "milestone":
                milestone = self._find_milestone(project, arg)
                if milestone is not None:
                    self._set_milestone(issue, milestone["id"], when)
                    changes["milestone_id"] = milestone["id"]
                    summary.append(f"Set the milestone to %{milestone['title']}.")
            elif cmd == "remove_milestone" and issue["milestone_id"]:
                self._set_milestone(issue, None, when)
                changes["milestone_id"] = None
                summary.append("Removed milestone.")
        return changes, summary

    def _find_labels(self, project: dict, arg: str) -> list[dict]:
        if "~" in arg:
            names = [m.group("q") or m.group("w") for m in _LABEL_REF.finditer(arg)]
        else:  # GitLab also accepts bare names: '"A B" C' -> ["A B", "C"]
            names = [q or w for q, w in re.findall(r'"([^"]+)"|([^ ]+)', arg)]
        out = []
        for name in names:
            label = self._label_by_name(project, name)
            if label is not None and label not in out:
                out.append(label)
        return out

    def _find_milestone(self, project: dict, arg: str) -> dict | None:
        m = _MILESTONE_REF.search(arg)
        ref = (m.group("q") or m.group("w")) if m else arg.strip()
        active = [ms for ms in self._available_milestones(project) if ms["state"] == "active"]
        if ref.isdigit():
            hit = next((ms for ms in active if ms["project_id"] == project["id"]
                        and ms["iid"] == int(ref)), None)
            if hit:
                return hit
        return next((ms for ms in active if ms["title"] == ref), None)

    def _validate_issue_fields(self, title: Any = None, description: Any = None,
                               title_required: bool = False) -> None:
        errors: dict[str, list[str]] = {}
        if title is not None or title_required:
            if title is None or not str(title).strip():
                errors["title"] = ["can't be blank"]
            elif len(str(title)) > TITLE_MAX:
                errors["title"] = [f"is too long (maximum is {TITLE_MAX} characters)"]
        if description is not None and len(str(description)) > DESCRIPTION_MAX:
            errors["description"] = [f"is too long (maximum is {DESCRIPTION_MAX} characters)"]
        if errors:
            raise ApiError(400, {"message": errors})

    def _create_issue(self, project: dict, title: str, description: str | None,
                      milestone_id: int | None, labels: list[str], *,
                      assignee_ids: Iterable[int] = (), quick_actions: bool,
                      issue_type: str = "issue", due_date: str | None = None) -> tuple[dict, dict, list[str]]:
        now = self.clock.tick()
        commands: list[tuple[str, str]] = []
        if quick_actions and description:
            description, commands = extract_quick_actions(description)
        self._ensure_labels(project, labels, now)
        project["issue_iid"] += 1
        iid = self._next("issue")
        issue = {"id": iid, "iid": project["issue_iid"], "project_id": project["id"],
                 "title": title, "description": description if description is not None else None,
                 "state": "opened", "created_at": now, "updated_at": now, "closed_at": None,
                 "closed_by": None, "labels": list(dict.fromkeys(labels)),
                 "milestone_id": milestone_id, "assignees": list(dict.fromkeys(assignee_ids)),
                 "author": self.user["id"], "moved_to_id": None, "issue_type": issue_type,
                 "parent_id": None, "children": [], "due_date": due_date}
        self._issues[iid] = issue
        changes, summary = self._apply_quick_actions(issue, commands, creating=True, when=now)
        return issue, changes, summary

    # ================================================================= HTTP
    def _track(self, conn: socket.socket, *, add: bool) -> None:
        # The handler writes the headers and the body in two sends; without
        # TCP_NODELAY, Nagle + the client's delayed ACK cost ~40 ms a request.
        if add:
            try:
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        super()._track(conn, add=add)

    def not_found(self, req: Request) -> Response:
        return Response(404, {"error": "404 Not Found"})

    def handle(self, req: Request) -> Response:
        if req.route == "/api/graphql" and req.method == "POST" and self.graphql_enabled:
            return self._graphql(req)
        if req.route is None or not (req.route + "/").startswith(_API + "/"):
            return self.not_found(req)
        if not self._authenticated(req):
            return Response(401, {"message": "401 Unauthorized"})
        if req.is_write and self.read_only:
            return Response(403, {"message": "403 Forbidden"})
        return super().handle(req)

    def _authenticated(self, req: Request) -> bool:
        candidates = [req.header("private-token"), req.header("job-token")]
        auth = req.header("authorization") or ""
        if auth.lower().startswith("bearer "):
            candidates.append(auth[7:].strip())
        return any(c is not None and c == self.token for c in candidates)

    def decorate(self, req: Request, resp: Response) -> None:
        if resp.charged:
            self._rl_observed += 1
        limit = self.rate_limit_limit
        observed = limit if resp.status == 429 else min(self._rl_observed, limit)
        reset = int(time.time()) + int(self.rate_limit_reset_in)
        resp.headers.setdefault("RateLimit-Limit", str(limit))
        resp.headers.setdefault("RateLimit-Observed", str(observed))
        resp.headers.setdefault("RateLimit-Remaining", str(max(0, limit - observed)))
        resp.headers.setdefault("RateLimit-Reset", str(reset))
        resp.headers.setdefault("RateLimit-ResetTime",
                                http_date(datetime.fromtimestamp(reset, tz=timezone.utc)))
        resp.headers.setdefault("X-Request-Id", f"fake-{len(self.log) + 1}")
        resp.headers.setdefault("Cache-Control", "max-age=0, private, must-revalidate")

    def _params(self, req: Request) -> dict[str, Any]:
        params: dict[str, Any] = {k: v[0] for k, v in req.query.items() if v}
        params.update(req.json())
        return params

    def _writable(self, project: dict) -> None:
        if project["archived"]:
            raise ApiError(403, {"message": "403 Forbidden"})

    def _paginate(self, req: Request, items: list[dict]) -> Response:
        try:
            per_page = int(req.arg("per_page") or 20)
        except ValueError:
            per_page = 20
        per_page = 20 if per_page < 1 else min(per_page, 100)
        try:
            page = max(1, int(req.arg("page") or 1))
        except ValueError:
            page = 1
        total = len(items)
        total_pages = max(1, math.ceil(total / per_page))
        chunk = items[(page - 1) * per_page: page * per_page]
        query = [(k, v) for k, values in req.query.items() if k not in ("page", "per_page")
                 for v in values]

        # GitLab builds these from the request's URL with the host and port of external_url
        # (Gitlab::Pagination::OffsetHeaderBuilder#base_request_uri)
        origin = self.root_url
        if self.external_url:
            ext, scheme = urlsplit(self.external_url), urlsplit(self.root_url).scheme
            port = ext.port or (443 if ext.scheme == "https" else 80)
            default = 443 if scheme == "https" else 80
            origin = f"{scheme}://{ext.hostname}" + ("" if port == default else f":{port}")

        def link(p: int) -> str:
            qs = urlencode(query + [("page", str(p)), ("per_page", str(per_page))])
            return f"{origin}{req.path}?{qs}"

        links = []
        if page > 1:
            links.append(f'<{link(min(page - 1, total_pages))}>; rel="prev"')
        if page < total_pages:
            links.append(f'<{link(page + 1)}>; rel="next"')
        links.append(f'<{link(1)}>; rel="first"')
        links.append(f'<{link(total_pages)}>; rel="last"')
        headers = {
            "X-Page": str(page), "X-Per-Page": str(per_page),
            "X-Next-Page": str(page + 1) if page < total_pages else "",
            "X-Prev-Page": str(page - 1) if page > 1 else "",
            "X-Total": str(total), "X-Total-Pages": str(total_pages),
            "Link": ", ".join(links),
        }
        return Response(200, chunk, headers)

    def _register_routes(self) -> None:
        r = self.route
        p = f"{_API}/projects/{_P}"
        r("GET", f"{_API}/user", self._h_user)
        r("GET", f"{_API}/users", self._h_list_users)
        r("GET", f"{_API}/version", self._h_version)
        r("GET", f"{_API}/personal_access_tokens/self", self._h_token_self)
        r("GET", f"{_API}/groups/{_G}", self._h_group)
        r("GET", f"{_API}/groups/{_G}/milestones", self._h_list_milestones)
        r("POST", f"{_API}/groups/{_G}/milestones", self._h_create_milestone)
        r("GET", f"{_API}/groups/{_G}/milestones/(?P<mid>[0-9]+)", self._h_get_milestone)
        r("PUT", f"{_API}/groups/{_G}/milestones/(?P<mid>[0-9]+)", self._h_update_milestone)
        r("DELETE", f"{_API}/groups/{_G}/milestones/(?P<mid>[0-9]+)", self._h_delete_milestone)
        r("GET", p, self._h_project)
        r("GET", f"{p}/issues", self._h_list_issues)
        r("POST", f"{p}/issues", self._h_create_issue)
        r("GET", f"{p}/issues/{_IID}", self._h_get_issue)
        r("PUT", f"{p}/issues/{_IID}", self._h_update_issue)
        r("DELETE", f"{p}/issues/{_IID}", self._h_delete_issue)
        r("POST", f"{p}/issues/{_IID}/move", self._h_move_issue)
        r("GET", f"{p}/issues/{_IID}/notes", self._h_list_notes)
        r("POST", f"{p}/issues/{_IID}/notes", self._h_create_note)
        r("GET", f"{p}/issues/{_IID}/notes/(?P<nid>[0-9]+)", self._h_get_note)
        r("PUT", f"{p}/issues/{_IID}/notes/(?P<nid>[0-9]+)", self._h_update_note)
        r("DELETE", f"{p}/issues/{_IID}/notes/(?P<nid>[0-9]+)", self._h_delete_note)
        r("GET", f"{p}/issues/{_IID}/links", self._h_list_links)
        r("POST", f"{p}/issues/{_IID}/links", self._h_create_link)
        r("GET", f"{p}/issues/{_IID}/links/(?P<lid>[0-9]+)", self._h_get_link)
        r("DELETE", f"{p}/issues/{_IID}/links/(?P<lid>[0-9]+)", self._h_delete_link)
        r("GET", f"{p}/milestones", self._h_list_milestones)
        r("POST", f"{p}/milestones", self._h_create_milestone)
        r("GET", f"{p}/milestones/(?P<mid>[0-9]+)", self._h_get_milestone)
        r("PUT", f"{p}/milestones/(?P<mid>[0-9]+)", self._h_update_milestone)
        r("DELETE", f"{p}/milestones/(?P<mid>[0-9]+)", self._h_delete_milestone)
        r("GET", f"{p}/milestones/(?P<mid>[0-9]+)/issues", self._h_milestone_issues)
        r("GET", f"{p}/labels", self._h_list_labels)
        r("POST", f"{p}/labels", self._h_create_label)
        r("PUT", f"{p}/labels", self._h_update_label)
        r("DELETE", f"{p}/labels", self._h_delete_label)
        r("GET", f"{p}/labels/(?P<lid>[^/]+)", self._h_get_label)
        r("PUT", f"{p}/labels/(?P<lid>[^/]+)", self._h_update_label)
        r("DELETE", f"{p}/labels/(?P<lid>[^/]+)", self._h_delete_label)

    # ------------------------------------------------------------ user/meta
    def _h_user(self, req: Request) -> dict:
        out = self._render_user(self.user)
        out.update({"email": "bot@example.invalid", "is_admin": False, "bot": False,
                    "created_at": _fmt(self.clock.START)})
        return out

    def _h_list_users(self, req: Request) -> Response:
        """GET /users (doc/api/users.md): ``username`` is an exact match whatever the case
        (gitlab-foss#38304, fixed in 11.5), so 0 or 1 user. The bot is no admin: blocked and
        banned users are not listed to it."""
        users = [u for u in self._users.values() if u["state"] not in ("blocked", "banned", "ldap_blocked")]
        username = req.arg("username")
        if username is not None:
            users = [u for u in users if u["username"].lower() == username.lower()]
        if req.arg("active") in ("true", "1"):
            users = [u for u in users if u["state"] == "active"]
        users.sort(key=lambda u: u["id"], reverse=True)  # order_id_desc
        return self._paginate(req, [self._render_user(u) for u in users])

    def _h_version(self, req: Request) -> dict:
        return {"version": self.version, "revision": "fakefake", "kas": {"enabled": False},
                "enterprise": self.edition == "ee"}

    def _h_token_self(self, req: Request) -> dict:
        """GET /personal_access_tokens/self (doc/api/personal_access_tokens.md; project and group
        access tokens answer it too): the token's scopes follow ``read_only`` (a read_api token)."""
        scopes = ["read_api", "read_repository"] if self.read_only else ["api", "write_repository"]
        return {"id": 42, "name": "guidesync", "revoked": False, "created_at": _fmt(self.clock.START),
                "scopes": scopes, "user_id": self.user["id"], "last_used_at": _fmt(self.clock.now()),
                "active": True, "expires_at": None}

    def _h_group(self, req: Request, gid: str) -> dict:
        return self._render_group(self._group(gid))

    def _h_project(self, req: Request, pid: str) -> dict:
        return self._render_project(self._project(pid))

    # ---------------------------------------------------------------- issues
    def _h_list_issues(self, req: Request, pid: str) -> Response:
        project = self._project(pid)
        items = self._project_issues(project)
        state = req.arg("state") or "all"
        if state not in ("opened", "closed", "all"):
            raise ApiError(400, {"error": "state does not have a valid value"})
        if state != "all":
            items = [i for i in items if i["state"] == state]
        labels = req.arg("labels")
        if labels is not None:
            wanted = _split_labels(labels)
            if [w.lower() for w in wanted] == ["none"]:
                items = [i for i in items if not i["labels"]]
            elif [w.lower() for w in wanted] == ["any"]:
                items = [i for i in items if i["labels"]]
            else:
                items = [i for i in items if all(w in i["labels"] for w in wanted)]
        milestone = req.arg("milestone")
        if milestone is not None:
            if milestone.lower() == "none":
                items = [i for i in items if not i["milestone_id"]]
            elif milestone.lower() == "any":
                items = [i for i in items if i["milestone_id"]]
            else:
                items = [i for i in items if i["milestone_id"]
                         and self._milestones[i["milestone_id"]]["title"] == milestone]
        iids = {int(v) for v in req.args("iids") if v.isdigit()}
        if iids:
            items = [i for i in items if i["iid"] in iids]
        search = req.arg("search")
        if search:
            s = search.lower()
            items = [i for i in items if s in i["title"].lower()
                     or s in (i["description"] or "").lower()]
        for param, field, op in (("updated_after", "updated_at", "ge"),
                                 ("updated_before", "updated_at", "le"),
                                 ("created_after", "created_at", "ge"),
                                 ("created_before", "created_at", "le")):
            value = req.arg(param)
            if value:
                try:
                    bound = _parse_time(value)
                except ValueError:
                    raise ApiError(400, {"error": f"{param} is invalid"}) from None
                items = [i for i in items
                         if (i[field] >= bound if op == "ge" else i[field] <= bound)]
        order_by = req.arg("order_by") or "created_at"
        if order_by not in ("created_at", "updated_at"):
            order_by = "created_at"
        sort = req.arg("sort") or "desc"
        if sort not in ("asc", "desc"):
            raise ApiError(400, {"error": "sort does not have a valid value"})
        items.sort(key=lambda i: (i[order_by], i["id"]), reverse=(sort == "desc"))
        return self._paginate(req, [self._render_issue(i) for i in items])

    def _h_create_issue(self, req: Request, pid: str) -> Response:
        project = self._project(pid)
        self._writable(project)
        params = self._params(req)
        if "title" not in params:
            raise ApiError(400, {"error": "title is missing"})
        title, description = params.get("title"), params.get("description")
        self._validate_issue_fields(title, description, title_required=True)
        issue_type = self._issue_type_param(params.get("issue_type", "issue"))
        milestone_id = self._resolve_milestone_param(project, params.get("milestone_id"))
        assignee_ids = self._assignee_param(project, params) or []
        issue, _, _ = self._create_issue(project, str(title), description, milestone_id,
                                         _split_labels(params.get("labels")),
                                         assignee_ids=assignee_ids, quick_actions=True,
                                         issue_type=issue_type, due_date=_day(params.get("due_date")))
        return Response(201, self._render_issue(issue))

    def _issue_type_param(self, value: Any) -> str:
        """``issue_type`` of POST/PUT issues (doc/api/issues.md: issue, incident, test_case, task)."""
        allowed = [t for t in ISSUE_TYPES if t != "task" or self.tasks_available]
        if value not in allowed:
            raise ApiError(400, {"error": "issue_type does not have a valid value"})
        return str(value)

    def _h_get_issue(self, req: Request, pid: str, iid: str) -> dict:
        project = self._project(pid)
        return self._render_issue(self._issue(project, iid))

    def _h_update_issue(self, req: Request, pid: str, iid: str) -> dict:
        project = self._project(pid)
        self._writable(project)
        issue = self._issue(project, iid)
        params = self._params(req)
        if not any(k in params for k in _UPDATE_ONE_OF):
            raise ApiError(400, {"error": ", ".join(_UPDATE_ONE_OF) + " are missing, at least one parameter must be provided"})
        self._validate_issue_fields(params.get("title"), params.get("description"))
        if "title" in params and params["title"] is None:
            self._validate_issue_fields("", None)
        state_event = params.get("state_event")
        if state_event not in (None, "close", "reopen"):
            raise ApiError(400, {"error": "state_event does not have a valid value"})
        assignees = self._assignee_param(project, params)
        if "issue_type" in params:
            new_type = self._issue_type_param(params["issue_type"])
            if new_type != issue["issue_type"] and (issue["children"] or issue["parent_id"]):
                # a type change must keep the hierarchy valid (the fake refuses it outright)
                raise ApiError(400, {"message": {"issue_type": [
                    "cannot be changed while the item has a parent or children"]}})
        before = copy.deepcopy(issue)
        now = self.clock.tick()
        commands: list[tuple[str, str]] = []
        if "title" in params:
            issue["title"] = str(params["title"])
        if "issue_type" in params:
            issue["issue_type"] = str(params["issue_type"])
        if "description" in params:
            description = params["description"]
            if description:
                description, commands = extract_quick_actions(str(description))
            issue["description"] = description
        if "labels" in params:
            names = _split_labels(params["labels"])
            self._ensure_labels(project, names, now)
            self._set_labels(issue, names, now)
        if "add_labels" in params or "remove_labels" in params:
            add = _split_labels(params.get("add_labels"))
            remove = set(_split_labels(params.get("remove_labels")))
            self._ensure_labels(project, add, now)
            self._set_labels(issue, [n for n in issue["labels"] + add if n not in remove], now)
        if "milestone_id" in params:
            self._set_milestone(issue, self._resolve_milestone_param(project, params["milestone_id"]), now)
        if assignees is not None:
            self._set_assignees(issue, assignees, now)
        if "due_date" in params:
            self._set_due_date(issue, _day(params["due_date"]), now)
        if state_event == "close":
            self._set_state(issue, "closed", now)
        elif state_event == "reopen":
            self._set_state(issue, "opened", now)
        self._apply_quick_actions(issue, commands, creating=False, when=now)
        if {k: v for k, v in issue.items() if k != "updated_at"} != \
                {k: v for k, v in before.items() if k != "updated_at"}:
            issue["updated_at"] = now
        return self._render_issue(issue)

    def _h_delete_issue(self, req: Request, pid: str, iid: str) -> Response:
        project = self._project(pid)
        self._writable(project)
        issue = self._issue(project, iid)
        self.clock.tick()
        self._drop_issue(issue)
        return Response(204)

    def _h_move_issue(self, req: Request, pid: str, iid: str) -> Response:
        project = self._project(pid)
        self._writable(project)
        issue = self._issue(project, iid)
        params = self._params(req)
        if "to_project_id" not in params:
            raise ApiError(400, {"error": "to_project_id is missing"})
        target = self._project(params["to_project_id"])
        self._writable(target)
        if target["id"] == project["id"]:
            raise ApiError(400, {"message": "Cannot move issue to project it originates from!"})
        new = self._move(issue, target)
        return Response(201, self._render_issue(new))

    def _drop_issue(self, issue: dict) -> None:
        del self._issues[issue["id"]]
        for lid in [k for k, lk in self._links.items() if issue["id"] in (lk["source"], lk["target"])]:
            del self._links[lid]
        parent = self._issues.get(issue["parent_id"]) if issue["parent_id"] else None
        if parent is not None and issue["id"] in parent["children"]:
            parent["children"].remove(issue["id"])
        for cid in issue["children"]:
            if cid in self._issues:
                self._issues[cid]["parent_id"] = None
        for nid in [n["id"] for n in self._notes.values() if n["issue_id"] == issue["id"]]:
            del self._notes[nid]

    def _move(self, issue: dict, target: dict) -> dict:
        source = self._projects[issue["project_id"]]
        now = self.clock.tick()
        for name in issue["labels"]:
            src = self._label_by_name(source, name)
            if self._label_by_name(target, name) is None and src is not None:
                self._new_label(target, name, src["color"], src["description"], now)
        milestone = self._milestones.get(issue["milestone_id"]) if issue["milestone_id"] else None
        target_ms = None
        if milestone is not None:
            target_ms = next((m["id"] for m in self._available_milestones(target)
                              if m["title"] == milestone["title"]), None)
        target["issue_iid"] += 1
        nid = self._next("issue")
        new = {**copy.deepcopy(issue), "id": nid, "iid": target["issue_iid"],
               "project_id": target["id"], "milestone_id": target_ms, "updated_at": now,
               "moved_to_id": None, "state": "opened", "closed_at": None, "closed_by": None,
               "parent_id": None, "children": []}
        self._issues[nid] = new
        for note in sorted((n for n in self._notes.values() if n["issue_id"] == issue["id"]),
                           key=lambda n: n["id"]):
            copy_id = self._next("note")
            self._notes[copy_id] = {**note, "id": copy_id, "issue_id": nid}
        self._add_system_note(new, f"moved from {source['path_with_namespace']}#{issue['iid']}", now)
        self._add_system_note(issue, f"moved to {target['path_with_namespace']}#{new['iid']}", now)
        if issue["state"] != "closed":
            self._set_state(issue, "closed", now)
        issue["moved_to_id"] = nid
        issue["updated_at"] = now
        return new

    # ----------------------------------------------------------- issue links
    # doc/api/issue_links.md. A link is stored once (source -> target); ``is_blocked_by`` is
    # stored as ``blocks`` the other way round, as GitLab does. Seen from the other end, blocks
    # and is_blocked_by swap.
    _INVERSE = {"relates_to": "relates_to", "blocks": "is_blocked_by", "is_blocked_by": "blocks"}

    def _linked(self, a: dict, b: dict) -> dict | None:
        for lk in self._links.values():
            if {lk["source"], lk["target"]} == {a["id"], b["id"]}:
                return lk
        return None

    def _link_answer(self, lk: dict) -> dict:
        return {"source_issue": self._render_issue(self._issues[lk["source"]]),
                "target_issue": self._render_issue(self._issues[lk["target"]]),
                "link_type": lk["link_type"]}

    def _h_list_links(self, req: Request, pid: str, iid: str) -> list[dict]:
        issue = self._issue(self._project(pid), iid)
        out = []
        for lk in sorted(self._links.values(), key=lambda x: x["id"]):
            if issue["id"] not in (lk["source"], lk["target"]):
                continue
            mine = lk["source"] == issue["id"]
            other = self._issues[lk["target"] if mine else lk["source"]]
            row = self._render_issue(other)
            row.update({"issue_link_id": lk["id"],
                        "link_type": lk["link_type"] if mine else self._INVERSE[lk["link_type"]],
                        "link_created_at": _fmt(lk["created_at"]),
                        "link_updated_at": _fmt(lk["updated_at"])})
            out.append(row)
        return out

    def _h_create_link(self, req: Request, pid: str, iid: str) -> Response:
        params = self._params(req)
        for name in ("target_project_id", "target_issue_iid"):  # Grape validates before anything
            if name not in params:
                raise ApiError(400, {"error": f"{name} is missing"})
        link_type = params.get("link_type") or "relates_to"
        # IssueLink.available_link_types: relates_to, and the blocking types in EE only
        if link_type not in (LINK_TYPES if self.edition == "ee" else ("relates_to",)):
            raise ApiError(400, {"error": "link_type does not have a valid value"})
        project = self._project(pid)
        self._writable(project)
        source = self._issue(project, iid)
        target_project = self._project(params["target_project_id"])
        self._writable(target_project)
        not_found = ApiError(404, {"message": "No matching issue found. Make sure that you are "
                                              "adding a valid issue URL."})
        try:
            target = self._issue(target_project, params["target_issue_iid"])
        except (ApiError, ValueError):
            raise not_found from None
        if target["id"] == source["id"]:
            raise not_found
        # EE::IssueLinks::CreateService#execute checks the licence before anything else
        if link_type != "relates_to" and not self._blocking_links():
            raise ApiError(403, {"message": "Blocked issues not available for current license"})
        if self._linked(source, target) is not None:  # related_issues: either direction, any type
            raise ApiError(409, {"message": "Issue(s) already assigned"})
        if link_type == "is_blocked_by":  # stored as a blocks link from the other issue (set_link_type)
            source, target, link_type = target, source, "blocks"
        now = self.clock.tick()  # updated_at of the issues untouched (not documented either way)
        lid = self._next("link")
        self._links[lid] = {"id": lid, "source": source["id"], "target": target["id"],
                            "link_type": link_type, "created_at": now, "updated_at": now}
        return Response(201, self._link_answer(self._links[lid]))

    def _link_of(self, issue: dict, lid: str) -> dict:
        lk = self._links.get(int(lid))
        if lk is None or issue["id"] not in (lk["source"], lk["target"]):
            raise ApiError(404, {"message": "404 Not found"})
        return lk

    def _h_get_link(self, req: Request, pid: str, iid: str, lid: str) -> dict:
        return self._link_answer(self._link_of(self._issue(self._project(pid), iid), lid))

    def _h_delete_link(self, req: Request, pid: str, iid: str, lid: str) -> dict:
        project = self._project(pid)
        self._writable(project)
        lk = self._link_of(self._issue(project, iid), lid)
        answer = self._link_answer(lk)
        del self._links[lk["id"]]
        self.clock.tick()
        return answer

    # --------------------------------------------------------------- GraphQL
    # POST {root}/api/graphql. Work items are issues (class WorkItem < Issue, same table): the
    # REST ``id`` gives gid://gitlab/WorkItem/<id>. Hierarchy changes do not move updated_at
    # here: nothing documents it, and not moving it is the stricter choice for a sync tool.
    @staticmethod
    def _coerce_work_item_id(value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError(f"{value!r} is not a valid Global ID")
        if not value.startswith("gid://gitlab/"):
            raise ValueError(f"{value} is not a valid Global ID")
        if not _WORK_ITEM_GID.match(value):
            raise ValueError(f"{value} does not represent an instance of WorkItem")
        return value

    def graphql_schema(self) -> Schema:
        cache = self.__dict__.setdefault("_schema", [])
        if not cache:
            cache.append(Schema(GITLAB_SDL, scalars={"WorkItemID": self._coerce_work_item_id}))
        return cache[0]

    def _graphql(self, req: Request) -> Response:
        anonymous = False
        if not self._authenticated(req):
            if req.header("private-token") or req.header("authorization") or req.header("job-token"):
                return Response(401, {"errors": [{"message": "Invalid token"}]})
            anonymous = True  # anonymous: sees no private project (all of them here)
        if req.body is None:
            return Response(200, {"errors": [{"message": "Unexpected end of document"}]})
        if anonymous:
            root: dict[str, Any] = {"query": {"workItem": lambda id: None, "project": lambda fullPath: None,
                                              "currentUser": None},
                                    "mutation": {"workItemUpdate": self._gql_no_access}}
        else:
            root = {"query": {"workItem": lambda id: self._gql_work_item(self._gql_find(id)),
                              "project": self._gql_project,
                              "currentUser": {"id": f"gid://gitlab/User/{self.user['id']}",
                                              "username": self.user["username"]}},
                    "mutation": {"workItemUpdate": self._gql_work_item_update}}
        return Response(200, execute(self.graphql_schema(), req.body, root))

    @staticmethod
    def _gql_no_access(**_: Any) -> None:
        raise GraphQLError(NO_ACCESS)

    def _gql_find(self, gid: str | None) -> dict | None:
        m = _WORK_ITEM_GID.match(gid or "")
        return self._issues.get(int(m.group(1))) if m else None

    @staticmethod
    def _gid(issue: dict) -> str:
        return f"gid://gitlab/WorkItem/{issue['id']}"

    def _ref(self, issue: dict, from_issue: dict | None = None) -> str:
        if from_issue is not None and from_issue["project_id"] == issue["project_id"]:
            return f"#{issue['iid']}"
        return f"{self._projects[issue['project_id']]['path_with_namespace']}#{issue['iid']}"

    @staticmethod
    def _connection(nodes: list[dict], first: int | None = None, after: str | None = None,
                    last: int | None = None, before: str | None = None) -> dict:
        def cursor(i: int) -> str:
            import base64
            return base64.b64encode(f'{{"id":"{i}"}}'.encode()).decode()

        def index(c: str) -> int:
            import base64
            import json
            try:
                return int(json.loads(base64.b64decode(c))["id"])
            except (ValueError, KeyError, TypeError):
                raise GraphQLError("Please provide a valid cursor") from None

        lo, hi = 0, len(nodes)
        if after is not None:
            lo = index(after) + 1
        if before is not None:
            hi = min(hi, index(before))
        window = list(range(lo, hi))
        # graphql-ruby's max_page_size (GitLab: 100) caps first/last silently
        window = window[: min(first, 100)] if first is not None else window[:100]
        if last is not None:
            window = window[-min(last, 100):] if last else []
        return {"count": len(nodes), "nodes": [nodes[i] for i in window],
                "edges": [{"cursor": cursor(i), "node": nodes[i]} for i in window],
                "pageInfo": {"hasNextPage": bool(window) and window[-1] < hi - 1,
                             "hasPreviousPage": bool(window) and window[0] > lo,
                             "startCursor": cursor(window[0]) if window else None,
                             "endCursor": cursor(window[-1]) if window else None}}

    def _gql_type(self, issue: dict) -> dict:
        number, name = WORK_ITEM_TYPES[issue["issue_type"]]
        return {"id": f"gid://gitlab/WorkItems::Type/{number}", "name": name, "iconName": None}

    def _gql_project(self, fullPath: str) -> dict | None:
        try:
            project = self._project(fullPath)
        except ApiError:
            return None

        def work_items(iid: str | None = None, iids: list[str] | None = None,
                       types: list[str] | None = None, **page: Any) -> dict:
            items = sorted(self._project_issues(project), key=lambda i: i["id"], reverse=True)
            if iid is not None:
                items = [i for i in items if str(i["iid"]) == iid]
            if iids is not None:
                items = [i for i in items if str(i["iid"]) in iids]
            if types is not None:
                items = [i for i in items if i["issue_type"].upper() in types]
            return self._connection([self._gql_work_item(i) for i in items], **page)

        def work_item_types(name: str | None = None) -> dict:
            kinds = [k for k in WORK_ITEM_TYPES if k != "task" or self.tasks_available]
            nodes = [self._gql_type({"issue_type": k}) for k in kinds if name in (None, k.upper())]
            return {"nodes": nodes, "count": len(nodes)}

        return {"id": f"gid://gitlab/Project/{project['id']}",
                "fullPath": project["path_with_namespace"], "name": project["name"],
                "workItems": work_items, "workItemTypes": work_item_types}

    def _gql_work_item(self, issue: dict | None) -> dict | None:
        if issue is None:
            return None
        project = self._projects[issue["project_id"]]

        def parent() -> dict | None:
            return self._gql_work_item(self._issues.get(issue["parent_id"])) if issue["parent_id"] else None

        def children(**page: Any) -> dict:
            kids = [self._issues[c] for c in issue["children"] if c in self._issues]
            return self._connection([self._gql_work_item(k) for k in kids], **page)

        def ancestors(**page: Any) -> dict:
            chain, cur = [], issue
            while cur["parent_id"] and cur["parent_id"] in self._issues:
                cur = self._issues[cur["parent_id"]]
                chain.insert(0, cur)
            return self._connection([self._gql_work_item(a) for a in chain], **page)

        hierarchy = {"__typename": "WorkItemWidgetHierarchy", "type": "HIERARCHY", "parent": parent,
                     "children": children, "ancestors": ancestors,
                     "hasChildren": any(c in self._issues for c in issue["children"]),
                     "hasParent": bool(issue["parent_id"])}
        description = {"__typename": "WorkItemWidgetDescription", "type": "DESCRIPTION",
                       "description": issue["description"], "edited": False}
        segment = "work_items" if issue["issue_type"] == "task" else "issues"
        return {
            "id": self._gid(issue), "iid": str(issue["iid"]), "title": issue["title"],
            "state": "OPEN" if issue["state"] == "opened" else "CLOSED", "confidential": False,
            "webUrl": f"{self._base()}/{project['path_with_namespace']}/-/{segment}/{issue['iid']}",
            "createdAt": self.clock.iso(issue["created_at"]),
            "updatedAt": self.clock.iso(issue["updated_at"]),
            "closedAt": self.clock.iso(issue["closed_at"]) if issue["closed_at"] else None,
            "project": lambda: self._gql_project(project["path_with_namespace"]),
            "workItemType": self._gql_type(issue),
            "widgets": [description, hierarchy],
        }

    def _hierarchy_refusal(self, parent: dict, child: dict) -> str | None:
        """Why GitLab refuses ``parent`` -> ``child`` (WorkItems::ParentLink validations, wording
        from gitlabhq app/models/work_items/parent_link.rb), or None."""
        if (parent["issue_type"], child["issue_type"]) not in HIERARCHY_PAIRS:
            reason = "it's not allowed to add this type of parent item"
        elif parent["project_id"] != child["project_id"]:
            reason = "parent must be in the same project or group as child."
        elif parent["id"] == child["id"] or child["id"] in self._ancestor_ids(parent):
            reason = "it's already present in this item's hierarchy"
        elif child["id"] not in parent["children"] and \
                len([c for c in parent["children"] if c in self._issues]) >= self.max_children:
            reason = "parent already has maximum number of children."
        elif self._linked(parent, child) is not None:
            reason = "cannot assign a linked work item as a parent"
        else:
            return None
        return f"{self._ref(child, parent)} cannot be added: {reason}"

    def _ancestor_ids(self, issue: dict) -> list[int]:
        out, cur = [], issue
        while cur["parent_id"] and cur["parent_id"] in self._issues and cur["parent_id"] not in out:
            out.append(cur["parent_id"])
            cur = self._issues[cur["parent_id"]]
        return out

    def _set_parent(self, child: dict, parent: dict | None, position: tuple[dict, str] | None = None) -> None:
        """Link (moving from a former parent; a child has one parent) or unlink."""
        old = self._issues.get(child["parent_id"]) if child["parent_id"] else None
        if old is not None and child["id"] in old["children"]:
            old["children"].remove(child["id"])
        child["parent_id"] = parent["id"] if parent else None
        if parent is not None:
            if position is None:  # "Every newly created work item is added to the bottom"
                parent["children"].append(child["id"])
            else:
                adjacent, where = position
                at = parent["children"].index(adjacent["id"]) + (1 if where == "AFTER" else 0)
                parent["children"].insert(at, child["id"])
        self.clock.tick()

    def _gql_work_item_update(self, input: dict) -> dict:  # noqa: A002 - GraphQL's name
        item = self._gql_find(input["id"])
        if item is None:
            raise GraphQLError(NO_ACCESS)
        project = self._projects[item["project_id"]]
        errors: list[str] = []
        if project["archived"] or self.read_only:
            raise GraphQLError(NO_ACCESS)
        hierarchy = input.get("hierarchyWidget")
        if hierarchy is not None:
            errors = self._apply_hierarchy(item, hierarchy)
        if not errors:
            now = None
            if "title" in input and input["title"] is not None:
                now = now or self.clock.tick()
                item["title"] = input["title"]
            if input.get("descriptionWidget") is not None:
                now = now or self.clock.tick()
                item["description"] = input["descriptionWidget"]["description"]
            if input.get("stateEvent") is not None:
                now = now or self.clock.tick()
                self._set_state(item, "closed" if input["stateEvent"] == "CLOSE" else "opened", now)
            if now is not None:
                item["updated_at"] = now
        return {"clientMutationId": input.get("clientMutationId"), "errors": errors,
                "workItem": self._gql_work_item(item)}

    def _apply_hierarchy(self, item: dict, h: dict) -> list[str]:
        not_found = "No matching work item found. Make sure that you are adding a valid work item ID."
        has_adjacent, has_position = h.get("adjacentWorkItemId") is not None, h.get("relativePosition") is not None
        # MR !114509's rules for reordering
        if (has_adjacent or has_position) and h.get("childrenIds") is not None:
            return ["Relative position cannot be combined with childrenIds."]
        if has_adjacent != has_position:
            return ["Relative position is not valid."]
        position = None
        if has_adjacent:
            adjacent = self._gql_find(h["adjacentWorkItemId"])
            if adjacent is None:
                return [not_found]
            position = (adjacent, h["relativePosition"])
        if "parentId" in h:
            if h["parentId"] is None:
                if position is not None:
                    return ["Relative position is not valid."]
                if item["parent_id"]:
                    self._set_parent(item, None)
                return []
            parent = self._gql_find(h["parentId"])
            if parent is None:
                return [not_found]
            if position is not None and position[0]["parent_id"] != parent["id"]:
                return ["The adjacent work item's parent must match the new parent work item."]
            refusal = self._hierarchy_refusal(parent, item)
            if refusal is not None:
                return [refusal]
            if item["parent_id"] != parent["id"] or position is not None:
                self._set_parent(item, parent, position)
            return []
        if position is not None:
            current = self._issues.get(item["parent_id"]) if item["parent_id"] else None
            if current is None or position[0]["parent_id"] != current["id"]:
                return ["The adjacent work item's parent must match the current parent work item."]
            if position[0]["id"] != item["id"]:
                self._set_parent(item, current, position)
            return []
        if h.get("childrenIds") is not None:
            kids = [self._gql_find(g) for g in h["childrenIds"]]
            if any(k is None for k in kids):
                return [not_found]
            refusals = [r for k in kids if (r := self._hierarchy_refusal(item, k)) is not None]
            if refusals:
                return refusals
            for kid in kids:
                if kid["parent_id"] != item["id"]:
                    self._set_parent(kid, item)
        return []

    # ----------------------------------------------------------------- notes
    def _h_list_notes(self, req: Request, pid: str, iid: str) -> Response:
        issue = self._issue(self._project(pid), iid)
        notes = [n for n in self._notes.values() if n["issue_id"] == issue["id"]]
        order_by = req.arg("order_by") or "created_at"
        if order_by not in ("created_at", "updated_at"):
            raise ApiError(400, {"error": "order_by does not have a valid value"})
        sort = req.arg("sort") or "desc"
        notes.sort(key=lambda n: (n[order_by], n["id"]), reverse=(sort != "asc"))
        return self._paginate(req, [self._render_note(n) for n in notes])

    def _h_create_note(self, req: Request, pid: str, iid: str) -> Response:
        project = self._project(pid)
        self._writable(project)
        issue = self._issue(project, iid)
        params = self._params(req)
        if "body" not in params:
            raise ApiError(400, {"error": "body is missing"})
        body = str(params["body"] or "")
        if len(body) > DESCRIPTION_MAX:
            raise ApiError(400, {"message": {"note": [f"is too long (maximum is {DESCRIPTION_MAX} characters)"]}})
        now = self.clock.tick()
        clean, commands = extract_quick_actions(body)
        changes, summary = self._apply_quick_actions(issue, commands, creating=False, when=now)
        if commands and not clean.strip():
            if changes:
                issue["updated_at"] = now
            return Response(202, {"commands_changes": changes, "summary": summary})
        if not clean.strip():
            raise ApiError(400, {"message": {"note": ["can't be blank"]}})
        nid = self._next("note")
        note = {"id": nid, "issue_id": issue["id"], "body": clean, "system": False,
                "author": self.user["id"], "created_at": now, "updated_at": now}
        self._notes[nid] = note
        issue["updated_at"] = now
        out = self._render_note(note)
        out["commands_changes"] = changes
        return Response(201, out)

    def _note(self, issue: dict, nid: str) -> dict:
        note = self._notes.get(int(nid))
        if note is None or note["issue_id"] != issue["id"]:
            raise ApiError(404, {"message": "404 Note Not Found"})
        return note

    def _h_get_note(self, req: Request, pid: str, iid: str, nid: str) -> dict:
        issue = self._issue(self._project(pid), iid)
        return self._render_note(self._note(issue, nid))

    def _h_update_note(self, req: Request, pid: str, iid: str, nid: str) -> dict:
        project = self._project(pid)
        self._writable(project)
        note = self._note(self._issue(project, iid), nid)
        body = self._params(req).get("body")
        if body is not None:
            if not str(body).strip():
                raise ApiError(400, {"error": "body is empty"})
            note["body"] = str(body)
            note["updated_at"] = self.clock.tick()
        return self._render_note(note)

    def _h_delete_note(self, req: Request, pid: str, iid: str, nid: str) -> Response:
        project = self._project(pid)
        self._writable(project)
        note = self._note(self._issue(project, iid), nid)
        self.clock.tick()
        del self._notes[note["id"]]
        return Response(204)

    # ------------------------------------------------------------ milestones
    def _owner(self, pid: str | None = None, gid: str | None = None) -> tuple[dict | None, dict | None]:
        if pid is not None:
            return self._project(pid), None
        return None, self._group(gid)

    def _owned_milestones(self, project: dict | None, group: dict | None) -> list[dict]:
        if project is not None:
            return [m for m in self._milestones.values() if m["project_id"] == project["id"]]
        return [m for m in self._milestones.values() if m["group_id"] == group["id"]]

    def _milestone_of(self, project: dict | None, group: dict | None, mid: Any) -> dict:
        m = self._milestones.get(int(mid))
        if m is None or m not in self._owned_milestones(project, group):
            raise ApiError(404, {"message": "404 Not found"})
        return m

    def _title_taken(self, project: dict | None, group: dict | None, title: str,
                     exclude: int | None = None) -> bool:
        if project is not None:
            scope = self._available_milestones(project)
        else:
            gids = set(self._group_ancestors(group["id"])) | set(self._group_descendants(group["id"]))
            pids = {p["id"] for p in self._projects.values()
                    if p["namespace_id"] in set(self._group_descendants(group["id"]))}
            scope = [m for m in self._milestones.values()
                     if m["group_id"] in gids or m["project_id"] in pids]
        return any(m["title"] == title and m["id"] != exclude for m in scope)

    def _new_milestone(self, project: dict | None, group: dict | None, title: str,
                       description: str | None = None, due_date: str | None = None,
                       start_date: str | None = None, state: str = "active") -> dict:
        now = self.clock.tick()
        owner = project if project is not None else group
        owner["milestone_iid"] += 1
        mid = self._next("milestone")
        m = {"id": mid, "iid": owner["milestone_iid"],
             "project_id": project["id"] if project is not None else None,
             "group_id": group["id"] if group is not None else None,
             "title": title, "description": description, "state": state,
             "due_date": due_date, "start_date": start_date,
             "created_at": now, "updated_at": now}
        self._milestones[mid] = m
        return m

    def _h_list_milestones(self, req: Request, pid: str | None = None, gid: str | None = None) -> Response:
        project, group = self._owner(pid, gid)
        items = self._owned_milestones(project, group)
        ancestors_param = req.arg("include_parent_milestones")
        if self.at_least(16, 7):  # include_ancestors came in 16.7; earlier servers ignore it
            ancestors_param = req.arg("include_ancestors", ancestors_param)
        if ancestors_param in ("true", "1", "True"):
            start = project["namespace_id"] if project is not None else group["parent_id"]
            ancestors = set(self._group_ancestors(start))
            items += [m for m in self._milestones.values() if m["group_id"] in ancestors]
        state = req.arg("state") or "all"
        if state not in ("active", "closed", "all"):
            raise ApiError(400, {"error": "state does not have a valid value"})
        if state != "all":
            items = [m for m in items if m["state"] == state]
        title = req.arg("title")
        if title is not None:
            items = [m for m in items if m["title"] == title]
        search = req.arg("search")
        if search:
            s = search.lower()
            items = [m for m in items if s in m["title"].lower()
                     or s in (m["description"] or "").lower()]
        iids = {int(v) for v in req.args("iids") if v.isdigit()}
        if iids:
            items = [m for m in items if m["iid"] in iids]
        for param, op in (("updated_after", "ge"), ("updated_before", "le")):
            value = req.arg(param)
            if value and self.at_least(15, 10):  # 15.10+; earlier servers ignore them (all listed)
                try:
                    bound = _parse_time(value)
                except ValueError:
                    raise ApiError(400, {"error": f"{param} is invalid"}) from None
                items = [m for m in items
                         if (m["updated_at"] >= bound if op == "ge" else m["updated_at"] <= bound)]
        # GitLab's MilestonesFinder default order: due date, then title
        items.sort(key=lambda m: (m["due_date"] is None, m["due_date"] or "", m["title"], m["id"]))
        return self._paginate(req, [self._render_milestone(m) for m in items])

    def _h_create_milestone(self, req: Request, pid: str | None = None, gid: str | None = None) -> Response:
        project, group = self._owner(pid, gid)
        if project is not None:
            self._writable(project)
        params = self._params(req)
        if "title" not in params:
            raise ApiError(400, {"error": "title is missing"})
        title = str(params["title"] or "")
        if not title.strip():
            raise ApiError(400, {"error": "title is empty"})
        if self._title_taken(project, group, title):
            raise ApiError(400, {"message": "Failed to create milestone "
                                            '{:title=>["already being used for another group or '
                                            'project milestone."]}'})
        due, start = _day(params.get("due_date")), _day(params.get("start_date"))
        if due and start and due <= start:  # Milestone#start_date_should_be_less_than_due_date
            raise ApiError(400, {"message": f"Failed to create milestone {_DUE_BEFORE_START}"})
        m = self._new_milestone(project, group, title, params.get("description"), due, start)
        return Response(201, self._render_milestone(m))

    def _h_get_milestone(self, req: Request, mid: str, pid: str | None = None,
                         gid: str | None = None) -> dict:
        project, group = self._owner(pid, gid)
        return self._render_milestone(self._milestone_of(project, group, mid))

    def _h_update_milestone(self, req: Request, mid: str, pid: str | None = None,
                            gid: str | None = None) -> dict:
        project, group = self._owner(pid, gid)
        if project is not None:
            self._writable(project)
        m = self._milestone_of(project, group, mid)
        params = self._params(req)
        keys = ("title", "description", "due_date", "start_date", "state_event")
        if not any(k in params for k in keys):
            raise ApiError(400, {"error": "title, description, start_date, due_date, state_event "
                                          "are missing, at least one parameter must be provided"})
        event = params.get("state_event")
        if event not in (None, "close", "activate"):
            raise ApiError(400, {"error": "state_event does not have a valid value"})
        if "title" in params:
            title = str(params["title"] or "")
            if not title.strip():
                raise ApiError(400, {"message": "Failed to update milestone "
                                                '{:title=>["can\'t be blank"]}'})
            if title != m["title"] and self._title_taken(project, group, title, exclude=m["id"]):
                raise ApiError(400, {"message": "Failed to update milestone "
                                                '{:title=>["already being used for another group or '
                                                'project milestone."]}'})
        dates = {k: _day(params[k]) if k in params else m[k] for k in ("due_date", "start_date")}
        if dates["due_date"] and dates["start_date"] and dates["due_date"] <= dates["start_date"]:
            raise ApiError(400, {"message": f"Failed to update milestone {_DUE_BEFORE_START}"})
        before = dict(m)
        for key in ("title", "description"):
            if key in params:
                m[key] = params[key]
        m.update(dates)
        if event == "close":
            m["state"] = "closed"
        elif event == "activate":
            m["state"] = "active"
        if m != before:  # Rails touches updated_at only when an attribute changed
            m["updated_at"] = self.clock.tick()
        return self._render_milestone(m)

    def _h_delete_milestone(self, req: Request, mid: str, pid: str | None = None,
                            gid: str | None = None) -> Response:
        project, group = self._owner(pid, gid)
        if project is not None:
            self._writable(project)
        m = self._milestone_of(project, group, mid)
        self._drop_milestone(m)
        return Response(204)

    def _drop_milestone(self, m: dict) -> None:
        now = self.clock.tick()
        del self._milestones[m["id"]]
        for issue in self._issues.values():
            if issue["milestone_id"] == m["id"]:
                issue["milestone_id"] = None
                issue["updated_at"] = now

    def _h_milestone_issues(self, req: Request, pid: str, mid: str) -> Response:
        project = self._project(pid)
        m = self._milestone_of(project, None, mid)
        items = [i for i in self._project_issues(project) if i["milestone_id"] == m["id"]]
        items.sort(key=lambda i: i["id"])
        return self._paginate(req, [self._render_issue(i) for i in items])

    # ---------------------------------------------------------------- labels
    def _label_ref(self, project: dict, ref: str) -> dict:
        label = None
        if ref.isdigit():
            label = self._labels.get(int(ref))
            if label is not None and label["project_id"] != project["id"]:
                label = None
        if label is None:
            label = self._label_by_name(project, ref)
        if label is None:
            raise ApiError(404, {"message": "404 Label Not Found"})
        return label

    def _h_list_labels(self, req: Request, pid: str) -> Response:
        project = self._project(pid)
        items = sorted(self._project_labels(project), key=lambda lb: lb["name"].lower())
        search = req.arg("search")
        if search:
            items = [lb for lb in items if search.lower() in lb["name"].lower()]
        return self._paginate(req, [self._render_label(lb) for lb in items])

    def _h_get_label(self, req: Request, pid: str, lid: str) -> dict:
        project = self._project(pid)
        return self._render_label(self._label_ref(project, lid))

    def _h_create_label(self, req: Request, pid: str) -> Response:
        project = self._project(pid)
        self._writable(project)
        params = self._params(req)
        for key in ("name", "color"):
            if key not in params:
                raise ApiError(400, {"error": f"{key} is missing"})
        name = str(params["name"]).strip()
        if not name:
            raise ApiError(400, {"message": {"title": ["can't be blank"]}})
        if self._label_by_name(project, name) is not None:
            raise ApiError(409, {"message": "Label already exists"})
        color = str(params["color"])
        if not re.fullmatch(r"#[0-9A-Fa-f]{6}|#[0-9A-Fa-f]{3}|[A-Za-z]+", color):
            raise ApiError(400, {"message": {"color": ["must be a valid color code"]}})
        label = self._new_label(project, name, color, params.get("description"),
                                self.clock.tick(), params.get("priority"))
        return Response(201, self._render_label(label))

    def _h_update_label(self, req: Request, pid: str, lid: str | None = None) -> dict:
        project = self._project(pid)
        self._writable(project)
        params = self._params(req)
        ref = lid if lid is not None else params.get("label_id") or params.get("name")
        if ref is None:
            raise ApiError(400, {"error": "label_id, name are missing, exactly one parameter must be provided"})
        label = self._label_ref(project, str(ref))
        self.clock.tick()
        new_name = params.get("new_name")
        if new_name and new_name != label["name"]:
            if self._label_by_name(project, new_name) is not None:
                raise ApiError(400, {"message": {"title": ["has already been taken"]}})
            for issue in self._project_issues(project):
                issue["labels"] = [new_name if n == label["name"] else n for n in issue["labels"]]
            label["name"] = new_name
        for key in ("color", "description", "priority"):
            if key in params:
                label[key] = params[key]
        return self._render_label(label)

    def _h_delete_label(self, req: Request, pid: str, lid: str | None = None) -> Response:
        project = self._project(pid)
        self._writable(project)
        params = self._params(req)
        ref = lid if lid is not None else params.get("label_id") or params.get("name")
        if ref is None:
            raise ApiError(400, {"error": "label_id, name are missing, exactly one parameter must be provided"})
        self._drop_label(project, self._label_ref(project, str(ref)))
        return Response(204)

    def _drop_label(self, project: dict, label: dict) -> None:
        now = self.clock.tick()
        del self._labels[label["id"]]
        for issue in self._project_issues(project):
            if label["name"] in issue["labels"]:
                issue["labels"] = [n for n in issue["labels"] if n != label["name"]]
                issue["updated_at"] = now

    # ================================================================ faults
    def rate_limit(self, path: str, method: str | None = None, nth: int = 1,
                   retry_after: int = 1, times: int = 1) -> Fault:
        """Answer 429 (Retry-After, RateLimit-Remaining: 0) on the nth request matching."""
        limit = self.rate_limit_limit
        reset = int(time.time()) + int(retry_after)
        return self.add_fault(
            method=method, path=path, kind="status", nth=nth, times=times, status=429,
            body={"message": "Retry later"},
            headers={"Retry-After": str(retry_after), "RateLimit-Limit": str(limit),
                     "RateLimit-Observed": str(limit), "RateLimit-Remaining": "0",
                     "RateLimit-Reset": str(reset),
                     "RateLimit-ResetTime": http_date(datetime.fromtimestamp(reset, tz=timezone.utc))},
        )

    # ======================================================= direct state API
    def issues(self, project: str | int = "acme/shop") -> dict[int, dict]:
        """{iid: issue as the API renders it} (deleted issues are gone; moved ones stay closed)."""
        with self.lock:
            p = self._project(project)
            return {i["iid"]: self._render_issue(i)
                    for i in sorted(self._project_issues(p), key=lambda i: i["iid"])}

    def milestones(self, project: str | int = "acme/shop") -> dict[int, dict]:
        """{milestone id: milestone} of the project itself (not its groups)."""
        with self.lock:
            p = self._project(project)
            return {m["id"]: self._render_milestone(m) for m in self._owned_milestones(p, None)}

    def group_milestones(self, group: str | int) -> dict[int, dict]:
        with self.lock:
            g = self._group(group)
            return {m["id"]: self._render_milestone(m) for m in self._owned_milestones(None, g)}

    def notes(self, project: str | int, iid: int, *, include_system: bool = False) -> list[dict]:
        """Notes of an issue, oldest first; system notes only if ``include_system``."""
        with self.lock:
            issue = self._issue(self._project(project), iid)
            notes = sorted((n for n in self._notes.values() if n["issue_id"] == issue["id"]
                            and (include_system or not n["system"])), key=lambda n: n["id"])
            return [self._render_note(n) for n in notes]

    def labels(self, project: str | int = "acme/shop") -> dict[str, dict]:
        """{label name: label}."""
        with self.lock:
            p = self._project(project)
            return {lb["name"]: self._render_label(lb) for lb in self._project_labels(p)}

    def create_issue(self, project: str | int, title: str, description: str = "",
                     milestone_id: int | None = None, labels: Iterable[str] = (),
                     *, quick_actions: bool = False) -> int:
        """Create an issue directly (quick actions NOT run unless asked); return its iid."""
        with self.lock:
            p = self._project(project)
            if milestone_id is not None and not any(m["id"] == milestone_id
                                                    for m in self._available_milestones(p)):
                raise KeyError(f"milestone {milestone_id} not available in {p['path_with_namespace']}")
            issue, _, _ = self._create_issue(p, title, description, milestone_id, list(labels),
                                             quick_actions=quick_actions)
            return issue["iid"]

    def close_issue(self, project: str | int, iid: int) -> None:
        with self.lock:
            issue = self._issue(self._project(project), iid)
            now = self.clock.tick()
            if self._set_state(issue, "closed", now):
                issue["updated_at"] = now

    def reopen_issue(self, project: str | int, iid: int) -> None:
        with self.lock:
            issue = self._issue(self._project(project), iid)
            now = self.clock.tick()
            if self._set_state(issue, "opened", now):
                issue["updated_at"] = now

    def edit_issue(self, project: str | int, iid: int, **fields: Any) -> dict:
        """Change an issue directly. Fields: title, description, state ("opened"/"closed"),
        labels (names; missing ones are created), milestone_id (None clears), assignees
        (usernames), created_at / updated_at (datetime or ISO string; updated_at defaults
        to the ticked clock). Returns the rendered issue."""
        allowed = {"title", "description", "state", "labels", "milestone_id", "assignees",
                   "due_date", "created_at", "updated_at"}
        unknown = set(fields) - allowed
        if unknown:
            raise TypeError(f"unknown issue fields: {sorted(unknown)}")
        with self.lock:
            p = self._project(project)
            issue = self._issue(p, iid)
            now = self.clock.tick()
            if "title" in fields:
                issue["title"] = fields["title"]
            if "description" in fields:
                issue["description"] = fields["description"]
            if "labels" in fields:
                names = list(fields["labels"])
                self._ensure_labels(p, names, now)
                self._set_labels(issue, names, now)
            if "milestone_id" in fields:
                mid = fields["milestone_id"]
                if mid and not any(m["id"] == mid for m in self._available_milestones(p)):
                    raise KeyError(f"milestone {mid} not available")
                self._set_milestone(issue, mid or None, now)
            if "assignees" in fields:
                issue["assignees"] = [self._user(u)["id"] for u in fields["assignees"]]
            if "due_date" in fields:
                issue["due_date"] = _day(fields["due_date"])
            if "state" in fields:
                if fields["state"] not in ("opened", "closed"):
                    raise ValueError("state must be 'opened' or 'closed'")
                self._set_state(issue, fields["state"], now)
            for key in ("created_at", "updated_at"):
                if key in fields:
                    value = fields[key]
                    issue[key] = _parse_time(value) if isinstance(value, str) else value
            if "updated_at" not in fields:
                issue["updated_at"] = now
            return self._render_issue(issue)

    def delete_issue(self, project: str | int, iid: int) -> None:
        with self.lock:
            issue = self._issue(self._project(project), iid)
            self.clock.tick()
            self._drop_issue(issue)

    def issue_gid(self, project: str | int, iid: int) -> str:
        """``gid://gitlab/WorkItem/<id>`` of issue ``iid``."""
        with self.lock:
            return self._gid(self._issue(self._project(project), iid))

    def set_issue_type(self, project: str | int, iid: int, issue_type: str) -> None:
        with self.lock:
            if issue_type not in ISSUE_TYPES:
                raise ValueError(issue_type)
            self._issue(self._project(project), iid)["issue_type"] = issue_type
            self.clock.tick()

    def set_parent(self, project: str | int, iid: int, parent_iid: int | None) -> None:
        """Attach task ``iid`` to ``parent_iid`` (None: detach) under GitLab's rules."""
        with self.lock:
            p = self._project(project)
            child = self._issue(p, iid)
            parent = self._issue(p, parent_iid) if parent_iid is not None else None
            if parent is not None:
                refusal = self._hierarchy_refusal(parent, child)
                if refusal is not None:
                    raise ValueError(refusal)
            self._set_parent(child, parent)

    def children(self, project: str | int, iid: int) -> list[int]:
        """iids of the children of ``iid``, in order."""
        with self.lock:
            issue = self._issue(self._project(project), iid)
            return [self._issues[c]["iid"] for c in issue["children"] if c in self._issues]

    def links(self, project: str | int, iid: int) -> list[tuple[str, int, str]]:
        """(project path, iid, link_type as seen from ``iid``) of its issue links."""
        with self.lock:
            rows = self._h_list_links(None, str(self._project(project)["id"]), str(iid))  # type: ignore[arg-type]
            return [(self._projects[r["project_id"]]["path_with_namespace"], r["iid"], r["link_type"])
                    for r in rows]

    def move_issue(self, project: str | int, iid: int, to_project: str | int) -> int:
        """Move like GitLab: a copy is created in ``to_project`` and the original is
        closed with ``moved_to_id`` set. Returns the new iid."""
        with self.lock:
            issue = self._issue(self._project(project), iid)
            target = self._project(to_project)
            return self._move(issue, target)["iid"]

    def add_note(self, project: str | int, iid: int, body: str) -> int:
        """Add a user note directly (no quick actions); return its id."""
        with self.lock:
            issue = self._issue(self._project(project), iid)
            now = self.clock.tick()
            nid = self._next("note")
            self._notes[nid] = {"id": nid, "issue_id": issue["id"], "body": body, "system": False,
                                "author": self.user["id"], "created_at": now, "updated_at": now}
            issue["updated_at"] = now
            return nid

    def create_milestone(self, project: str | int, title: str, *, description: str | None = None,
                         state: str = "active", due_date: str | None = None,
                         start_date: str | None = None) -> int:
        with self.lock:
            p = self._project(project)
            if self._title_taken(p, None, title):
                raise ValueError(f"milestone title {title!r} already used")
            return self._new_milestone(p, None, title, description, _day(due_date), _day(start_date),
                                       state=state)["id"]

    def create_group_milestone(self, group: str | int, title: str, *,
                               description: str | None = None, state: str = "active") -> int:
        with self.lock:
            g = self._group(group)
            if self._title_taken(None, g, title):
                raise ValueError(f"milestone title {title!r} already used")
            return self._new_milestone(None, g, title, description, state=state)["id"]

    def _any_milestone(self, owner: str | int | None, milestone_id: int) -> dict:
        m = self._milestones.get(int(milestone_id))
        if m is None:
            raise KeyError(f"no milestone {milestone_id}")
        if owner is not None:
            key = str(owner).strip("/")
            p = self._projects.get(m["project_id"]) if m["project_id"] else None
            g = self._groups.get(m["group_id"]) if m["group_id"] else None
            names = {str(x) for x in ((p["id"], p["path_with_namespace"]) if p else
                                      (g["id"], g["full_path"]))}
            if key not in names:
                raise KeyError(f"milestone {milestone_id} does not belong to {owner}")
        return m

    def rename_milestone(self, owner: str | int | None, milestone_id: int, title: str) -> None:
        """Rename a project or group milestone (``owner``: its project/group path or None)."""
        with self.lock:
            m = self._any_milestone(owner, milestone_id)
            m["title"] = title
            m["updated_at"] = self.clock.tick()

    def close_milestone(self, owner: str | int | None, milestone_id: int) -> None:
        with self.lock:
            m = self._any_milestone(owner, milestone_id)
            m["state"] = "closed"
            m["updated_at"] = self.clock.tick()

    def delete_milestone(self, owner: str | int | None, milestone_id: int) -> None:
        """Delete a milestone; issues using it lose their milestone."""
        with self.lock:
            self._drop_milestone(self._any_milestone(owner, milestone_id))

    def create_label(self, project: str | int, name: str, color: str = DEFAULT_LABEL_COLOR,
                     description: str | None = None) -> int:
        with self.lock:
            p = self._project(project)
            if self._label_by_name(p, name) is not None:
                raise ValueError(f"label {name!r} exists")
            return self._new_label(p, name, color, description, self.clock.tick())["id"]

    def remove_label(self, project: str | int, name: str) -> None:
        """Delete a project label (it disappears from every issue)."""
        with self.lock:
            p = self._project(project)
            label = self._label_by_name(p, name)
            if label is None:
                raise KeyError(f"no label {name!r}")
            self._drop_label(p, label)

    def add_user(self, username: str, *, name: str | None = None, state: str = "active",
                 projects: Iterable[str | int] = ("acme/shop",)) -> int:
        """A user (``state``: active, blocked, banned), a member of ``projects``; its id."""
        with self.lock:
            if username.lower() in self._users:
                raise ValueError(f"user {username!r} exists")
            user = self._user(username, name=name, state=state)
            for project in projects:
                self._members[self._project(project)["id"]].add(user["id"])
            return user["id"]

    def add_member(self, project: str | int, username: str) -> None:
        with self.lock:
            self._members[self._project(project)["id"]].add(self._users[username.lower()]["id"])

    def remove_member(self, project: str | int, username: str) -> None:
        with self.lock:
            self._members[self._project(project)["id"]].discard(self._users[username.lower()]["id"])

    def set_user_state(self, username: str, state: str) -> None:
        with self.lock:
            user = self._users[username.lower()]
            user["state"], user["locked"] = state, state != "active"

    def set_visibility(self, project: str | int, visibility: str) -> None:
        """"private" (the default: only members may be assigned), "internal" or "public"."""
        if visibility not in ("private", "internal", "public"):
            raise ValueError(visibility)
        with self.lock:
            self._project(project)["visibility"] = visibility

    def archive(self, project: str | int, archived: bool = True) -> None:
        """Archive (or unarchive) a project: writes then answer 403."""
        with self.lock:
            self._project(project)["archived"] = archived

    def project_id(self, project: str) -> int:
        with self.lock:
            return self._project(project)["id"]

    def group_id(self, group: str) -> int:
        with self.lock:
            return self._group(group)["id"]
