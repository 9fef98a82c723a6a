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

from ..errors import Gone, NotFound
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
                 web_url: str | None = None, repository_url: str | None = None):
        """``web_url``: the instance's web root the configuration or the CI names (its
        external_url); ``repository_url``: the project's web address an earlier run learned.
        Without either, the first request that needs it asks GitLab (the project's web_url)."""
        self.repository = str(repository).strip().strip("/")
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
    ) -> tuple[dict[str, str], Any]:
        """One HTTP request under the call policy: (lower-case headers, parsed JSON or None)."""
        write = verb != "GET"

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
                return headers, response.json()
            except ValueError:
                raise TrackerError(
                    "invalid", f"{what}: GitLab's answer was not JSON; check the configured url"
                ) from None

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

    def create_issue(self, title: str, body: str, milestone: int | None, labels: Iterable[str]) -> RemoteIssue:
        payload: dict[str, Any] = {"title": title, "description": body, "labels": ",".join(labels)}
        if milestone is not None:
            payload["milestone_id"] = int(milestone)
        _, data = self._request("POST", self._issues_path, f"creating issue {title[:60]!r}", body=payload, idempotent=False)
        if not isinstance(data, dict) or "iid" not in data:
            raise TrackerError("invalid", f"creating issue {title[:60]!r}: GitLab's answer is not an issue")
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
