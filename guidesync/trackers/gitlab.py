"""GitLab (gitlab.com and self-hosted instances) through python-gitlab.

Every call goes through ``Gitlab.http_request`` (python-gitlab's documented low-level entry
point), one HTTP request per call, so request counts are exact. python-gitlab's own retrying is
switched off on every request (``obey_rate_limit=False``, ``retry_transient_errors=False``,
``max_retries=0``): it never sleeps or re-sends anything, the shared
:class:`~guidesync.trackers.base.CallPolicy` does both the same way for every forge.

python-gitlab's exceptions carry no headers, so a ``requests`` response hook on the client's
session remembers the last answer: its headers give Retry-After / RateLimit-Reset (for 429),
RateLimit-Remaining (the budget) and Date (the server time of a listing), errors included.

The project is a lazy python-gitlab object (no request is spent on it); its managers give the
URL-encoded API paths (``/projects/group%2Fsub%2Fproject/issues`` …). Numbers are GitLab's: an
issue is its ``iid``, a milestone its global ``id`` (what ``milestone_id`` takes), which also
covers the group milestones a project inherits.
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from typing import Any, Iterable
from urllib.parse import parse_qs, urlsplit

import gitlab
import requests
from gitlab import exceptions as glexc

from ..errors import Conflict, Gone, Invalid, NotFound
from .base import (
    LINK_NEXT,
    UNSET,
    Adapter,
    CallPolicy,
    Listing,
    PageGuard,
    RemoteIssue,
    RemoteMilestone,
    TrackerError,
    Unset,
    WebAddress,
    api_time,
    connection_error,
    given,
    header_time,
    retry_wait,
    status_error,
)
from .http import NoForeignRedirects, shown_origin

DEFAULT_URL = "https://gitlab.com"
#: GitLab's own limits: title 255 characters, description 1,048,576 (kept a little under).
LIMITS = {"title": 255, "body": 1_000_000}
#: error texts GitLab answers (400) when the object already exists
_CONFLICT_TEXTS = ("already being used", "already exists", "has already been taken")
#: GitLab's own cases on top of the common status table
_KINDS = {409: "conflict"}
#: no retry, no sleep inside python-gitlab: CallPolicy decides
_NO_RETRY = {"obey_rate_limit": False, "retry_transient_errors": False, "max_retries": 0}
#: where an issue's page is under the project's web address; GitLab still answers the old form
#: without ``/-/`` (a redirect), and shows issues as work items too
ISSUE_PATHS = ("-/issues", "-/work_items", "issues")
#: GraphQL's answer when the object does not exist or the token may not see it
_NO_ACCESS = "does not exist or you don't have permission"
#: a child already under this parent, as GitLab's parent-link service says it (when it says so)
_ALREADY_LINKED = ("already assigned", "already linked")
#: "no parent known yet" (None is "known: no parent")
_UNKNOWN = object()


def instance_root(url: str) -> str:
    """``https://gitlab.example/gitlab/`` or ``…/gitlab/api/v4`` -> ``https://gitlab.example/gitlab``."""
    url = (url or DEFAULT_URL).strip().rstrip("/")
    if url.endswith("/api/v4"):
        url = url[: -len("/api/v4")]
    return url


def _issue(data: dict[str, Any]) -> RemoteIssue:
    state = "open" if data.get("state", "opened") == "opened" else "completed"
    ms = data.get("milestone") or None
    labels = data.get("labels") or ()
    return RemoteIssue(
        number=int(data["iid"]),
        url=data.get("web_url") or "",
        title=data.get("title") or "",
        body=data.get("description") or "",
        issue_state=state,
        milestone=int(ms["id"]) if isinstance(ms, dict) and ms.get("id") is not None else None,
        labels=tuple(l["name"] if isinstance(l, dict) else str(l) for l in labels),
        updated_at=api_time(data.get("updated_at")),
        locked=bool(data.get("discussion_locked")),
    )


def _milestone(data: dict[str, Any]) -> RemoteMilestone:
    return RemoteMilestone(
        number=int(data["id"]),
        title=data.get("title") or "",
        description=data.get("description") or "",
        state="closed" if data.get("state") == "closed" else "open",
        group=data.get("group_id") is not None and data.get("project_id") is None,
        shown=int(data["iid"]) if isinstance(data.get("iid"), int) else None,
    )


def _moved(data: Any) -> bool:
    return isinstance(data, dict) and bool(data.get("moved_to_id"))


def _message(exc: glexc.GitlabError) -> str:
    """GitLab's error text: ``"404 Not found"``, ``{"title": ["is too long …"]}`` -> one line."""
    msg = exc.error_message
    if isinstance(msg, bytes):
        msg = msg.decode("utf-8", "replace")
    if isinstance(msg, dict):
        parts = []
        for key, value in msg.items():
            values = value if isinstance(value, list) else [value]
            parts.append(f"{key} " + "; ".join(str(v) for v in values))
        msg = "; ".join(parts)
    elif isinstance(msg, list):
        msg = "; ".join(str(m) for m in msg)
    text = " ".join(str(msg or "").split())
    if text.startswith("<"):  # an HTML error page (proxy, load balancer)
        return f"HTTP {exc.response_code} (an HTML page)"
    if len(text) > 300:
        text = text[:300] + "…"
    return text or f"HTTP {exc.response_code}"


def translate(exc: Exception, what: str, headers: dict[str, str] | None = None) -> TrackerError:
    """A python-gitlab or transport exception -> :class:`TrackerError`.

    ``headers`` (lower-case) are those of the failed answer, when there was one. Messages carry
    GitLab's error text only: never headers, never the token."""
    if isinstance(exc, TrackerError):
        return exc
    headers = headers or {}
    if isinstance(exc, glexc.RedirectError):
        return TrackerError(
            "invalid",
            f"{what}: GitLab redirected a write request; check the configured url "
            "(http vs https, path prefix)",
        )
    if isinstance(exc, glexc.GitlabError) and exc.response_code is not None:
        status = int(exc.response_code)
        if 300 <= status < 400:
            location = headers.get("location")
            to = f" to {shown_origin(location)}" if location and "://" in location else ""
            return TrackerError(
                "invalid",
                f"{what}: GitLab answered {status}, a redirect{to}; guidesync follows no redirect of a write and none "
                "to another host (the token would go along): check the configured url", status=status)
        msg = f"{what}: GitLab answered {status}: {_message(exc)}"
        kinds = dict(_KINDS)
        if status == 400 and any(t in msg.lower() for t in _CONFLICT_TEXTS):
            kinds[400] = "conflict"
        messages = {"auth": f"{what}: GitLab rejected the token (401 Unauthorized)",
                    "forbidden": msg + " (the token may not write here, or the project is archived)"}
        return status_error(status, msg, kinds=kinds, messages=messages,
                            retry_after=retry_wait(headers, "ratelimit-reset") if status == 429 else None)
    if isinstance(exc, glexc.GitlabError):  # e.g. GitlabParsingError: not JSON
        return TrackerError("invalid", f"{what}: GitLab's answer could not be read; check the configured url")
    return connection_error(exc, what)


class GitLabTracker(Adapter):
    """The :class:`~guidesync.trackers.base.Tracker` for GitLab."""

    name = "gitlab"
    label_color = "#0e8a16"
    blob_path = "-/blob"
    LIMITS = LIMITS
    _parse_issue = staticmethod(_issue)

    def __init__(self, repository: str, token: str | None, *, url: str = DEFAULT_URL, policy: CallPolicy, timeout: float = 30,
                 web_url: str | None = None, repository_url: str | None = None, hierarchy_mode: str | None = None,
                 capabilities: dict[str, Any] | None = None):
        """``web_url``: the instance's web root the configuration or the CI names (its
        external_url); ``repository_url``: the project's web address an earlier run learned.
        Without either, the first request that needs it asks GitLab (the project's web_url).
        ``hierarchy_mode``: how child tasks are made here, as an earlier run learned it."""
        self.repository = str(repository).strip().strip("/")
        self.hierarchy_mode = self._known_mode(hierarchy_mode)
        self.capabilities = self._known_capabilities(capabilities)
        if self.hierarchy_mode == "sub_issues":  # GitHub's; not a GitLab mode
            self.hierarchy_mode = None
        #: issue iid -> global id (gid://gitlab/WorkItem/<id>), from every issue an answer held
        self._ids: dict[int, int] = {}
        #: issue iid -> its issue_type ("issue", "task", ...), from the same answers
        self._types: dict[int, str] = {}
        #: iid -> the parent's iid as this run knows it (None: none; a new issue has none)
        self._parents: dict[int, int | None] = {}
        self.api_root = instance_root(url)
        self.policy = policy
        self._told_root = web_url.rstrip("/") if web_url else None
        self._path: str | None = None if self.repository.isdigit() else self.repository
        told = f"{self._told_root}/{self._path}" if self._told_root and self._path else None
        self.web = WebAddress(self._ask_web, ISSUE_PATHS, told=told, remembered=repository_url)
        self._gl = gitlab.Gitlab(
            self.api_root,
            private_token=token or None,
            per_page=100,
            retry_transient_errors=False,
            timeout=timeout,
            # requests keeps PRIVATE-TOKEN on a redirect to another host (it strips only Authorization)
            # and a 307 replays a write: only same-origin redirects of reads are followed.
            session=NoForeignRedirects(),
        )
        self._last = threading.local()  # the last answer seen on this thread (for its headers)
        self._gl.session.hooks.setdefault("response", []).append(self._remember)
        # lazy: no request; the managers give the URL-encoded paths
        self._project = self._gl.projects.get(self.repository, lazy=True)

    # -- plumbing ---------------------------------------------------------------------------

    def _remember(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self._last.response = response

    def _request(
        self,
        verb: str,
        path: str,
        what: str,
        *,
        params: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
        idempotent: bool = True,
        write: bool | None = None,
        check: Any = None,
    ) -> tuple[dict[str, str], Any]:
        """One HTTP request under the call policy: (lower-case headers, parsed JSON or None).
        ``write``: whether it changes anything (default: any verb but GET; a GraphQL query is a
        POST that does not); ``check(data)`` raises the error a 200 may carry (GraphQL's
        ``errors``), inside the policy."""
        write = verb != "GET" if write is None else write

        def call() -> tuple[dict[str, str], Any]:  # counted by the policy (GitLab has no free 304s)
            self._last.response = None
            try:
                response = self._gl.http_request(
                    verb.lower(), path, query_data=params, post_data=body, **_NO_RETRY
                )
            except (glexc.GitlabError, requests.RequestException) as exc:  # incl. reset, timeout, …
                headers = self._last_headers()
                self.policy.stats.note_remaining(headers, "ratelimit-remaining")
                raise translate(exc, what, headers) from None
            except (ValueError, TypeError, OSError) as exc:
                # Raised by the HTTP stack before anything was sent (e.g. a token with a line break is an
                # invalid header); its text may hold the token, so only the class name is kept.
                raise TrackerError("invalid", f"{what}: connection problem ({type(exc).__name__}): the request "
                                   "could not be sent; check the token and the url") from None
            headers = {k.lower(): v for k, v in response.headers.items()}
            self.policy.stats.note_remaining(headers, "ratelimit-remaining")
            if response.status_code == 204 or not response.content:
                return headers, None
            try:
                data = response.json()
            except ValueError:
                raise TrackerError(
                    "invalid", f"{what}: GitLab's answer was not JSON; check the configured url"
                ) from None
            if check is not None:
                check(data)
            return headers, data

        return self.policy.call(call, write=write, idempotent=idempotent)

    def _last_headers(self) -> dict[str, str]:
        response = getattr(self._last, "response", None)
        if response is None:
            return {}
        return {k.lower(): v for k, v in response.headers.items()}

    def _pages(self, path: str, params: dict[str, Any], what: str) -> tuple[list[Any], datetime | None]:
        """Follow offset pagination (``X-Next-Page``, else ``Link: rel="next"``), one policy call
        per page, always on our own path: only the page number is taken from the answer, so a Link
        to another host (a misconfigured external_url, or a hostile server) is never followed.
        A listing that does not end (a page with nothing new, a page number that does not go up or
        goes past ``X-Total-Pages``, more than :data:`~guidesync.trackers.base.MAX_LISTED` items)
        fails: nothing is written from it.

        Returns (items, server time of the first page)."""
        items: list[Any] = []
        query = dict(params)
        server_time = None
        first = True
        guard = PageGuard(what, int(params.get("per_page", 20)), self.max_listed)
        current = 1
        total: int | None = None
        while True:
            headers, data = self._request("GET", path, what, params=query)
            if first:
                server_time = header_time(headers)
                first = False
            page_items = guard.page(data)
            items.extend(page_items)
            announced = headers.get("x-total-pages", "").strip()
            if announced.isdigit():
                total = max(total or 0, int(announced))
            page = self._next_page(headers)
            if page is None or not page_items:
                break
            guard.next_allowed(total)
            if int(page) <= current:
                raise TrackerError("invalid", f"{what}: after page {current} the server offers page {page}; stopped "
                                   "(nothing is written from a listing that does not end)")
            current = int(page)
            query = {**params, "page": page}
        return items, server_time

    @staticmethod
    def _next_page(headers: dict[str, str]) -> str | None:
        if "x-next-page" in headers:
            value = headers["x-next-page"].strip()
            return value if value.isdigit() else None
        m = LINK_NEXT.search(headers.get("link", ""))
        if m:
            pages = parse_qs(urlsplit(m.group(1)).query).get("page")
            if pages and pages[0].isdigit():
                return pages[0]
        return None

    @property
    def _labels_path(self) -> str:
        return self._project.labels.path

    @property
    def _issues_path(self) -> str:
        return self._project.issues.path

    def _issue_path(self, number: int) -> str:
        return f"{self._project.issues.path}/{int(number)}"

    def _checked_web(self, data: dict[str, Any]) -> dict[str, Any]:
        """An issue of this project as GitLab answered it: if its web_url does not fit the known
        address (a base from before external_url changed), the project is asked once."""
        if isinstance(data.get("iid"), int):
            self.web.check(str(data.get("web_url") or ""), data["iid"])
        return data

    def _ask_web(self) -> str:
        """The project's web_url, from GitLab (GET /projects/:id; it also gives the full path)."""
        _, data = self._request("GET", self._project.manager.path + f"/{self._project.encoded_id}",
                                f"project {self.repository}")
        if isinstance(data, dict) and data.get("path_with_namespace"):
            self._path = str(data["path_with_namespace"])
            if self._told_root and self.web.told is None:
                self.web.told = f"{self._told_root}/{self._path}"
        url = data.get("web_url") if isinstance(data, dict) else None
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise TrackerError("invalid", f"project {self.repository}: GitLab's answer has no web address "
                               "(web_url); set web_url in the configuration")
        return url

    # -- the interface ----------------------------------------------------------------------

    def learn_web(self, links: Iterable[tuple[str, int]] = ()) -> str:
        """The project's web address (asked once when nothing knows it; a project configured by
        numeric id with a told web root asks too, for its path). ``links``: (url, number) of links
        the base says are this project's; one that does not fit makes it ask once."""
        if self.web.told is None and self._told_root and self.web.learned is None:
            self.web.ask()
        return super().learn_web(links)

    def list_milestones(self, etags: dict[str, str]) -> Listing:
        # GitLab has no conditional requests here: no etags. include_ancestors (GitLab 16.7+)
        # brings the milestones of the project's group and its ancestor groups along.
        items, t = self._pages(
            self._project.milestones.path,
            {"include_ancestors": "true", "state": "all", "per_page": 100},
            "listing milestones",
        )
        seen: set[int] = set()
        out = []
        for m in items:
            if isinstance(m, dict) and "id" in m and int(m["id"]) not in seen:
                seen.add(int(m["id"]))
                out.append(_milestone(m))
        return Listing(tuple(out), {}, t)

    def list_issues(self, label: str, since: datetime | None, etags: dict[str, str]) -> Listing:
        # state omitted: all (opened and closed)
        params: dict[str, Any] = {"labels": label, "order_by": "updated_at", "sort": "desc", "per_page": 100}
        if since is not None:
            params["updated_after"] = since.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        items, t = self._pages(self._issues_path, params, "listing issues")
        # a moved issue stays here, closed, with moved_to_id: it lives elsewhere now (like a
        # transferred GitHub issue, it is not listed; get_issue reports it as gone)
        return Listing(tuple(self._issue(self._checked_web(i)) for i in items if isinstance(i, dict) and not _moved(i)), {}, t)

    def get_issue(self, number: int) -> RemoteIssue | None:
        try:
            _, data = self._request("GET", self._issue_path(number), f"reading issue #{number}")
        except TrackerError as exc:
            if isinstance(exc, (Gone, NotFound)):
                return None
            raise
        if not isinstance(data, dict) or "iid" not in data or _moved(data):
            return None
        return self._issue(self._checked_web(data))

    def create_milestone(self, title: str, description: str) -> RemoteMilestone:
        _, data = self._request(
            "POST", self._project.milestones.path, f"creating milestone {title!r}",
            body={"title": title, "description": description}, idempotent=False,
        )
        return _milestone(data)

    def update_milestone(self, number: int, *, title: str | Unset = UNSET, description: str | Unset = UNSET) -> RemoteMilestone:
        body = given(title=title, description=description)
        path = f"{self._project.milestones.path}/{int(number)}"
        if not body:  # GitLab refuses an empty update (400): just read it
            _, data = self._request("GET", path, f"reading milestone {number}")
        else:
            _, data = self._request("PUT", path, f"updating milestone {number}", body=body)
        return _milestone(data)

    def create_issue(self, title: str, body: str, milestone: int | None, labels: Iterable[str], *,
                     task: bool = False) -> RemoteIssue:
        """``task`` (a child to be): a task (``issue_type=task``) when child tasks are made through
        GraphQL, as only a task can be an issue's child. A server that refuses tasks (400) gets an
        issue, and its hierarchy mode becomes "links" for the rest of the run."""
        payload: dict[str, Any] = {"title": title, "description": body, "labels": ",".join(labels)}
        if milestone is not None:
            payload["milestone_id"] = int(milestone)
        if task and (self.hierarchy_mode or self._learn_hierarchy()) == "graphql":
            payload["issue_type"] = "task"
        what = f"creating issue {title[:60]!r}"
        try:
            _, data = self._request("POST", self._issues_path, what, body=payload, idempotent=False)
        except Invalid as exc:
            if "issue_type" not in payload or exc.status != 400 or "issue_type" not in str(exc):
                raise
            del payload["issue_type"]  # refused before anything was made: no tasks here
            self.hierarchy_mode = "links"
            _, data = self._request("POST", self._issues_path, what, body=payload, idempotent=False)
        if not isinstance(data, dict) or "iid" not in data:
            raise TrackerError("invalid", f"creating issue {title[:60]!r}: GitLab's answer is not an issue")
        self._parents[int(data["iid"])] = None  # new: no parent
        return self._issue(self._checked_web(data))

    def update_issue(
        self,
        number: int,
        *,
        title: str | Unset = UNSET,
        body: str | Unset = UNSET,
        milestone: int | None | Unset = UNSET,
        labels: tuple[str, ...] | Unset = UNSET,
    ) -> RemoteIssue:
        payload = given(
            title=title,
            description=body,
            milestone_id=milestone if isinstance(milestone, Unset) else (0 if milestone is None else int(milestone)),
            labels=labels if isinstance(labels, Unset) else ",".join(labels),
        )
        what = f"updating issue #{number}"
        if not payload:  # GitLab refuses an empty update (400): just read it
            _, data = self._request("GET", self._issue_path(number), what)
            return self._checked(data, what)
        return self._put_issue(number, payload, what)

    def _put_issue(self, number: int, payload: dict[str, Any], what: str) -> RemoteIssue:
        _, data = self._request("PUT", self._issue_path(number), what, body=payload)
        return self._checked(data, what)

    def _checked(self, data: Any, what: str) -> RemoteIssue:
        if not isinstance(data, dict) or "iid" not in data:
            raise TrackerError("invalid", f"{what}: GitLab's answer is not an issue")
        if _moved(data):
            raise TrackerError("gone", f"{what}: the issue was moved to another project")
        return self._issue(self._checked_web(data))

    def close_issue(self, number: int, reason: str) -> RemoteIssue:
        # GitLab has no close reasons: completed and not_planned both just close
        return self._put_issue(number, {"state_event": "close"}, f"closing issue #{number}")

    def reopen_issue(self, number: int) -> RemoteIssue:
        return self._put_issue(number, {"state_event": "reopen"}, f"reopening issue #{number}")

    def comment(self, number: int, body: str) -> None:
        self._request(
            "POST", f"{self._issue_path(number)}/notes", f"commenting on issue #{number}",
            body={"body": body}, idempotent=False,
        )

    # -- hierarchy -----------------------------------------------------------------------
    #
    # "graphql": the child is a task, put under its parent with workItemUpdate's hierarchyWidget
    # (placed with adjacentWorkItemId/relativePosition in the same mutation); work items are
    # issues, so the REST ``id`` names it (gid://gitlab/WorkItem/<id>). "links": a ``relates_to``
    # issue link from the parent to the child (REST, GitLab Free): no parent and no order are
    # kept (GitLab lists linked items in its own order); the parent's body lists the children.

    def _note_ids(self, data: dict[str, Any]) -> None:
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
