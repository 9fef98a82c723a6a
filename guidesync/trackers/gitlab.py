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

How answers and errors are read is in :mod:`~guidesync.trackers.gitlab_api`; sub-issues (child
tasks, links) in :mod:`~guidesync.trackers.gitlab_hierarchy`; users, assignees and blocking links
in :mod:`~guidesync.trackers.gitlab_metadata`. This module holds the requests and the interface.
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from typing import Any, Iterable
from urllib.parse import parse_qs, urlsplit

import gitlab
import requests
from gitlab import exceptions as glexc

from ..errors import Gone, Invalid, NotFound
from .base import (
    LINK_NEXT,
    UNSET,
    CallPolicy,
    Listing,
    PageGuard,
    RemoteIssue,
    RemoteMilestone,
    TrackerError,
    Unset,
    WebAddress,
    given,
    header_time,
)
from .gitlab_api import (  # noqa: F401 - DEFAULT_URL, LIMITS, translate and instance_root are this module's too
    DEFAULT_URL,
    ISSUE_PATHS,
    LIMITS,
    NO_RETRY,
    instance_root,
    moved,
    parse_issue,
    parse_milestone,
    translate,
)
from .gitlab_hierarchy import GitLabHierarchy
from .gitlab_metadata import GitLabMetadata
from .http import NoForeignRedirects

#: :attr:`~GitLabTracker.capabilities` key: the milestone listing honours ``updated_after``
MILESTONES_SINCE = "milestones_since"
#: an ``updated_after`` no milestone can have changed after: a server that honours it lists none
NO_CHANGE_AFTER = "2999-01-01T00:00:00Z"


class GitLabTracker(GitLabHierarchy, GitLabMetadata):
    """The :class:`~guidesync.trackers.base.Tracker` for GitLab."""

    name = "gitlab"
    label_color = "#0e8a16"
    blob_path = "-/blob"
    LIMITS = LIMITS
    _parse_issue = staticmethod(parse_issue)

    def __init__(self, repository: str, token: str | None, *, url: str = DEFAULT_URL, policy: CallPolicy, timeout: float = 30,
                 web_url: str | None = None, repository_url: str | None = None, hierarchy_mode: str | None = None,
                 capabilities: dict[str, Any] | None = None):
        """``web_url``: the instance's web root the configuration or the CI names (its
        external_url); ``repository_url``: the project's web address an earlier run learned.
        Without either, the first request that needs it asks GitLab (the project's web_url).
        ``hierarchy_mode``: how child tasks are made here, and ``capabilities`` what the server
        allows, as an earlier run learned them."""
        self.repository = str(repository).strip().strip("/")
        self.hierarchy_mode = self._known_mode(hierarchy_mode)
        self.capabilities = self._known_capabilities(capabilities)
        if self.hierarchy_mode == "sub_issues":  # GitHub's; not a GitLab mode
            self.hierarchy_mode = None
        self._ids, self._types, self._parents = {}, {}, {}  # per run (see GitLabHierarchy)
        self._users = {}  # per run (see GitLabMetadata)
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
                    verb.lower(), path, query_data=params, post_data=body, **NO_RETRY
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

    def list_milestones(self, etags: dict[str, str], since: datetime | None = None) -> Listing:
        """GitLab has no conditional requests here: no etags. include_ancestors (GitLab 16.7+)
        brings the milestones of the project's group and its ancestor groups along.

        ``since``: where this server is known to filter milestones by ``updated_after`` (GitLab
        15.10+; :data:`MILESTONES_SINCE` in :attr:`capabilities`), only those changed since are
        listed (a partial listing); else every one. While that is not known, the first listing that
        shows a milestone asks once (:meth:`_learn_milestone_filter`)."""
        params: dict[str, Any] = {"include_ancestors": "true", "state": "all", "per_page": 100}
        partial = False
        if since is not None and self.capabilities.get(MILESTONES_SINCE) is True:
            params["updated_after"], partial = _api_time(since), True
        items, t = self._pages(self._project.milestones.path, params, "listing milestones")
        seen: set[int] = set()
        out = []
        for m in items:
            if isinstance(m, dict) and "id" in m and int(m["id"]) not in seen:
                seen.add(int(m["id"]))
                out.append(parse_milestone(m))
        if out and MILESTONES_SINCE not in self.capabilities:
            self._learn_milestone_filter()
        return Listing(tuple(out), {}, t, partial=partial)

    def _learn_milestone_filter(self) -> None:
        """Does this server filter milestones by ``updated_after``? Asked of the server itself,
        once (the base keeps the answer), right after a listing that showed a milestone: the same
        listing from a time no milestone can have changed after. A server that honours the filter
        answers none; one that ignores the parameter (GitLab before 15.10, as any parameter Grape
        does not declare) answers the milestones it just listed. Its version is not asked: what
        counts is what this server does with the parameter (a proxy or a fork may differ), and
        the answer costs the one request either way."""
        try:
            _, data = self._request(
                "GET", self._project.milestones.path, "learning whether milestones can be listed by their last change",
                params={"include_ancestors": "true", "state": "all", "per_page": 1, "updated_after": NO_CHANGE_AFTER},
            )
        except TrackerError:
            return  # not learned: asked again by a later run; this one listed every milestone anyway
        if isinstance(data, list):
            self.capabilities[MILESTONES_SINCE] = not data

    def list_issues(self, label: str, since: datetime | None, etags: dict[str, str]) -> Listing:
        # state omitted: all (opened and closed)
        params: dict[str, Any] = {"labels": label, "order_by": "updated_at", "sort": "desc", "per_page": 100}
        if not label:  # every issue (``import_issues: milestone``)
            del params["labels"]
        if since is not None:
            params["updated_after"] = _api_time(since)
        items, t = self._pages(self._issues_path, params, "listing issues")
        # a moved issue stays here, closed, with moved_to_id: it lives elsewhere now (like a
        # transferred GitHub issue, it is not listed; get_issue reports it as gone)
        return Listing(tuple(self._issue(self._checked_web(i)) for i in items if isinstance(i, dict) and not moved(i)), {}, t)

    def get_issue(self, number: int) -> RemoteIssue | None:
        try:
            _, data = self._request("GET", self._issue_path(number), f"reading issue #{number}")
        except TrackerError as exc:
            if isinstance(exc, (Gone, NotFound)):
                return None
            raise
        if not isinstance(data, dict) or "iid" not in data or moved(data):
            return None
        return self._issue(self._checked_web(data))

    def create_milestone(self, title: str, description: str, *, due: str | None = None,
                         start: str | None = None) -> RemoteMilestone:
        body: dict[str, Any] = {"title": title, "description": description}
        if due is not None:
            body["due_date"] = due
        if start is not None:
            body["start_date"] = start
        _, data = self._request("POST", self._project.milestones.path, f"creating milestone {title!r}",
                                body=body, idempotent=False)
        return parse_milestone(data)

    def update_milestone(self, number: int, *, title: str | Unset = UNSET, description: str | Unset = UNSET,
                         due: str | None | Unset = UNSET, start: str | None | Unset = UNSET) -> RemoteMilestone:
        """A date None is cleared with an empty string (Rails stores a blank date as null)."""
        body = given(title=title, description=description, due_date=_day_param(due), start_date=_day_param(start))
        path = f"{self._project.milestones.path}/{int(number)}"
        if not body:  # GitLab refuses an empty update (400): just read it
            _, data = self._request("GET", path, f"reading milestone {number}")
        else:
            _, data = self._request("PUT", path, f"updating milestone {number}", body=body)
        return parse_milestone(data)

    def create_issue(self, title: str, body: str, milestone: int | None, labels: Iterable[str], *,
                     task: bool = False, assignees: Iterable[str] = (), due: str | None = None) -> RemoteIssue:
        """``task`` (a child to be): a task (``issue_type=task``) when child tasks are made through
        GraphQL, as only a task can be an issue's child. A server that refuses tasks (400) gets an
        issue, and its hierarchy mode becomes "links" for the rest of the run. ``assignees``:
        logins, sent as ``assignee_ids`` (see :mod:`~guidesync.trackers.gitlab_metadata`)."""
        payload: dict[str, Any] = {"title": title, "description": body, "labels": ",".join(labels)}
        if milestone is not None:
            payload["milestone_id"] = int(milestone)
        ids, sent = self._assignee_ids(assignees)
        if ids:
            payload["assignee_ids"] = ids
        if due is not None:
            payload["due_date"] = due
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
        issue = self._issue(self._checked_web(data))
        self._learn_assignees(sent, issue.assignees)
        return issue

    def update_issue(
        self,
        number: int,
        *,
        title: str | Unset = UNSET,
        body: str | Unset = UNSET,
        milestone: int | None | Unset = UNSET,
        labels: tuple[str, ...] | Unset = UNSET,
        assignees: tuple[str, ...] | Unset = UNSET,
        due: str | None | Unset = UNSET,
    ) -> RemoteIssue:
        """``assignees`` replace the issue's (``()`` clears them); logins none of which is a
        GitLab user leave them as they are, as GitLab itself does with such ids. ``due`` None
        clears the due date."""
        payload = given(
            title=title,
            description=body,
            milestone_id=milestone if isinstance(milestone, Unset) else (0 if milestone is None else int(milestone)),
            labels=labels if isinstance(labels, Unset) else ",".join(labels),
            due_date=_day_param(due),
        )
        sent: list[str] = []
        if not isinstance(assignees, Unset):
            ids, sent = self._assignee_ids(assignees)
            if ids or not tuple(assignees):
                payload["assignee_ids"] = ids
        what = f"updating issue #{number}"
        if not payload:  # GitLab refuses an empty update (400): just read it
            _, data = self._request("GET", self._issue_path(number), what)
            return self._checked(data, what)
        issue = self._put_issue(number, payload, what)
        self._learn_assignees(sent, issue.assignees)
        return issue

    def _put_issue(self, number: int, payload: dict[str, Any], what: str) -> RemoteIssue:
        _, data = self._request("PUT", self._issue_path(number), what, body=payload)
        return self._checked(data, what)

    def _note_ids(self, data: dict[str, Any]) -> None:
        self._note_hierarchy(data)
        self._note_users(data)

    def _checked(self, data: Any, what: str) -> RemoteIssue:
        if not isinstance(data, dict) or "iid" not in data:
            raise TrackerError("invalid", f"{what}: GitLab's answer is not an issue")
        if moved(data):
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


def _api_time(value: datetime) -> str:
    """A time as GitLab's ``updated_after`` takes it (ISO 8601, UTC)."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _day_param(value: str | None | Unset) -> str | Unset:
    """A date for an update: the day, or an empty string that clears it (None); UNSET leaves it."""
    return value if isinstance(value, Unset) else (value or "")
