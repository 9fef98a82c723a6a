"""GitHub (and GitHub Enterprise) through PyGithub.

Every call goes through PyGithub's ``Requester`` (its documented way to call an endpoint directly),
one HTTP request per call, so request counts are exact and the answers' headers (ETag, Date,
rate limit) are ours to read. PyGithub's own retries and throttling are switched off: the shared
:class:`~guidesync.trackers.base.CallPolicy` does both the same way for every forge.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import github
from github import GithubException

from ..errors import Ambiguous, Conflict, Gone, Invalid, NotFound
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
from .http import shown_origin, under_api

DEFAULT_API = "https://api.github.com"
#: where an issue's page is under the repository's web address (html_url)
ISSUE_PATHS = ("issues",)


def _logins(people: Any) -> tuple[str, ...]:
    """The logins of an answer's ``assignees`` (user objects)."""
    return tuple(p["login"] for p in people or () if isinstance(p, dict) and isinstance(p.get("login"), str))


def _issue(data: dict[str, Any]) -> RemoteIssue:
    state = data.get("state", "open")
    if state == "closed":
        state = "not_planned" if data.get("state_reason") in ("not_planned", "duplicate") else "completed"
    ms = data.get("milestone") or None
    return RemoteIssue(
        number=int(data["number"]),
        url=data.get("html_url") or "",
        title=data.get("title") or "",
        body=data.get("body") or "",
        issue_state=state,
        milestone=int(ms["number"]) if ms else None,
        labels=tuple(l["name"] if isinstance(l, dict) else str(l) for l in data.get("labels") or ()),
        updated_at=api_time(data.get("updated_at")),
        locked=bool(data.get("locked")),
        assignees=_logins(data.get("assignees")),
    )


# -- milestone due dates ---------------------------------------------------------------
#
# GitHub keeps a milestone's due date as a day in US Pacific time and answers that day's Pacific
# midnight in UTC (07:00 or 08:00, as daylight saving says): a ``due_on`` of 00:00Z lands on the
# day before. Noon UTC is 04:00 or 05:00 in Pacific time, so it lands on the intended day
# whatever the season (and would under a UTC reading too); no time-zone database is needed to
# send it. Reading an answer back takes its day in Pacific time.

try:
    _PACIFIC: Any = ZoneInfo("America/Los_Angeles")
except ZoneInfoNotFoundError:  # pragma: no cover - a system without a time-zone database
    _PACIFIC = None


def _due_on(day: str) -> str:
    """The ``due_on`` to send for ``day`` (YYYY-MM-DD)."""
    try:
        date.fromisoformat(day)
    except (TypeError, ValueError):
        raise TrackerError("invalid", f"milestone due date {day!r} is not a day (YYYY-MM-DD)") from None
    return f"{day}T12:00:00Z"


def _pacific_day(value: Any) -> str | None:
    """The day (YYYY-MM-DD) a ``due_on`` of an answer stands for: its date in US Pacific time."""
    when = api_time(value)
    if when is None:
        return None
    if _PACIFIC is None:  # GitHub answers Pacific midnight (07:00Z or 08:00Z): 7 hours back is that day
        return (when - timedelta(hours=7)).date().isoformat()
    return when.astimezone(_PACIFIC).date().isoformat()


def _milestone(data: dict[str, Any]) -> RemoteMilestone:
    return RemoteMilestone(
        number=int(data["number"]),
        title=data.get("title") or "",
        description=data.get("description") or "",
        state=data.get("state") or "open",
        due=_pacific_day(data.get("due_on")),
    )


def _json(output: Any) -> Any:
    """An answer's body as PyGithub reads it: JSON, None when empty, {"data": text} when not JSON."""
    if isinstance(output, bytes):
        output = output.decode("utf-8", "replace")
    if not output:
        return None
    try:
        return json.loads(output)
    except ValueError:
        return {"data": output}


def _message(exc: GithubException) -> str:
    data = exc.data if isinstance(exc.data, dict) else {}
    msg = " ".join(str(data.get("message") or "").split())[:300] or f"HTTP {exc.status}"
    errors = data.get("errors")
    if isinstance(errors, list) and errors:
        parts = []
        for e in errors:
            if isinstance(e, dict):
                parts.append(e.get("message") or "/".join(str(e.get(k)) for k in ("resource", "field", "code") if e.get(k)))
            else:
                parts.append(str(e))
        msg += " (" + " ".join("; ".join(parts).split())[:300] + ")"
    return msg


def translate(exc: Exception, what: str) -> TrackerError:
    """A PyGithub or transport exception -> :class:`TrackerError` (never carrying headers or tokens)."""
    if isinstance(exc, TrackerError):
        return exc
    if isinstance(exc, GithubException):
        status = exc.status
        headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
        msg = f"{what}: GitHub answered {status}: {_message(exc)}"
        retry_after = headers.get("retry-after")
        messages = {"auth": f"{what}: GitHub rejected the token (401 Bad credentials)"}
        if status == 429 or (status == 403 and (retry_after is not None or "rate limit" in msg.lower())):
            wait = retry_wait(headers, "x-ratelimit-reset", spent="x-ratelimit-remaining")
            return status_error(status, msg, kinds={403: "rate_limited"}, retry_after=wait)
        location = headers.get("location")
        to = f" to {shown_origin(location)}" if location and "://" in location else ""
        if status == 301:  # a transferred issue (a write's redirect is never followed)
            return TrackerError("gone", f"{what}: GitHub answered 301, moved away{to}; not followed", status=status)
        if status is not None and 300 <= status < 400:
            return TrackerError("invalid", f"{what}: GitHub answered {status}, a redirect{to}; guidesync does not follow "
                                "it (the token would go along, a write would be replayed): check the configured url",
                                status=status)
        if status == 422:
            data = exc.data if isinstance(exc.data, dict) else {}
            errors = [e for e in data.get("errors") or () if isinstance(e, dict)]
            codes = {e.get("code") for e in errors}
            error = TrackerError("conflict" if "already_exists" in codes else "invalid", msg, status=status)
            #: (field, code, value) of each refusal, for a caller that can do without the value
            error.refusals = tuple((str(e.get("field") or ""), str(e.get("code") or ""), e.get("value")) for e in errors)
            return error
        if status is None:
            return TrackerError("invalid", msg, status=status)
        return status_error(status, msg, messages=messages)
    if isinstance(exc, RuntimeError) and "redirected" in str(exc):
        # PyGithub follows a 301 of a read only on the same host and raises this otherwise.
        return TrackerError("invalid", f"{what}: GitHub redirected to another host or scheme; not followed: "
                            "check the configured url")
    return connection_error(exc, what)


#: GitHub's refusal of a sub-issue that already has a parent, this one or another (observed
#: wording, notes §1: "Issue may not contain duplicate sub-issues and Sub issue may only have one
#: parent"): the same for REST (422) and GraphQL (a VALIDATION error)
_ALREADY_PARENTED = re.compile(r"duplicate sub-issues|only have one parent", re.IGNORECASE)
#: GraphQL error ``type`` -> error kind (others: invalid)
_GRAPHQL_KINDS = {"NOT_FOUND": "not_found", "FORBIDDEN": "forbidden", "RATE_LIMITED": "rate_limited",
                  "INTERNAL": "transient", "SERVICE_UNAVAILABLE": "transient", "TIMEOUT": "transient"}
#: during the preview GitHub wanted this header for sub-issues; harmless where it is not needed
_SUB_ISSUES_FEATURE = {"GraphQL-Features": "sub_issues"}


def graphql_error(errors: Any, what: str) -> TrackerError:
    """GraphQL ``errors`` (HTTP 200) -> :class:`TrackerError`, by the first error's ``type``."""
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    text = " ".join(str(first.get("message") or "GraphQL error").split())[:300]
    kind = _GRAPHQL_KINDS.get(str(first.get("type") or ""), "invalid")
    return TrackerError(kind, f"{what}: GitHub's GraphQL API answered: {text}")


def _without_write_redirects(base: type) -> type:
    """A PyGithub connection class that hides the Location of a redirect answering a write.

    PyGithub follows a 301 by sending the same request to the new place. For an issue transferred
    to another repository that would edit, retitle or close *that* repository's issue. Without the
    Location the 301 comes back to us, and the write is reported as "gone" instead."""

    class Guarded(base):  # type: ignore[misc, valid-type]
        def getresponse(self):  # noqa: ANN201 - PyGithub's own response type
            response = super().getresponse()
            if 300 <= response.status < 400 and self.verb.upper() not in ("GET", "HEAD"):
                response.headers = {k: v for k, v in response.headers.items() if k.lower() != "location"}
            return response

    Guarded.__name__ = f"WriteRedirectGuarded{base.__name__}"
    return Guarded


_guard_installed = False


def _install_write_redirect_guard() -> None:
    global _guard_installed
    if _guard_installed:
        return
    from github.Requester import HTTPRequestsConnectionClass, HTTPSRequestsConnectionClass, Requester

    Requester.injectConnectionClasses(
        _without_write_redirects(HTTPRequestsConnectionClass), _without_write_redirects(HTTPSRequestsConnectionClass)
    )
    # injectConnectionClasses also turns off connection reuse (meant for test doubles); keep it on.
    Requester._Requester__persist = True  # type: ignore[attr-defined]
    _guard_installed = True


class GitHubTracker(Adapter):
    """The :class:`~guidesync.trackers.base.Tracker` for GitHub."""

    name = "github"
    label_color = "0e8a16"
    blob_path = "blob"
    LIMITS = {"title": 255, "body": 65536}
    _labels_path = "/labels"
    _parse_issue = staticmethod(_issue)

    def __init__(self, repository: str, token: str | None, *, url: str = DEFAULT_API, policy: CallPolicy, timeout: float = 30,
                 web_url: str | None = None, repository_url: str | None = None, hierarchy_mode: str | None = None,
                 capabilities: dict[str, Any] | None = None):
        """``web_url``: the web root the configuration or the CI names (the repository's pages are
        under it); ``repository_url``: the repository's web address an earlier run learned. Without
        either, the first request that needs it asks GitHub (the repository's html_url).
        ``hierarchy_mode``: how sub-issues are made here, as an earlier run learned it."""
        self.repository = repository
        self.hierarchy_mode = self._known_mode(hierarchy_mode)
        self.capabilities = self._known_capabilities(capabilities)
        #: issue number -> (REST id, node id), from every issue of this repository an answer held
        self._ids: dict[int, tuple[int, str]] = {}
        #: lower-case login -> whether it can be assigned here (asked once per run)
        self._assignable: dict[str, bool] = {}
        self.api_url = url.rstrip("/")
        told = f"{web_url.rstrip('/')}/{repository}" if web_url else None
        self.web = WebAddress(self._ask_web, ISSUE_PATHS, told=told, remembered=repository_url)
        self.policy = policy
        _install_write_redirect_guard()
        auth = github.Auth.Token(token) if token else None
        self._gh = github.Github(
            auth=auth,
            base_url=self.api_url,
            timeout=int(max(1, timeout)),
            per_page=100,
            retry=None,
            seconds_between_requests=None,
            seconds_between_writes=None,
            lazy=True,
        )
        self._requester = self._gh.requester
        self._repo_path = f"/repos/{repository}"

    # -- plumbing ---------------------------------------------------------------------------

    def _request(
        self,
        verb: str,
        path: str,
        what: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        idempotent: bool = True,
        write: bool | None = None,
        check: Any = None,
    ) -> tuple[dict[str, Any], Any, int]:
        """One HTTP request under the call policy: (headers, data, status). ``write``: whether it
        changes anything (default: any verb but GET; a GraphQL query is a POST that does not);
        ``check(data)``: raises the error an answer of 200 may still carry (GraphQL's ``errors``),
        inside the policy, so that it is retried like any other."""
        write = verb != "GET" if write is None else write
        url = path if path.startswith("http") else self._repo_path + path

        def call() -> tuple[dict[str, Any], Any, int]:
            try:
                # requestJson, not requestJsonAndCheck: with no connection given it always talks to
                # the configured host (an absolute URL keeps only its path and query), and it hands
                # back the status, so that a 3xx it did not follow is an error here, not "no data".
                status, h, output = self._requester.requestJson(verb, url, parameters=params, headers=headers, input=body)
                h = {k.lower(): v for k, v in h.items()}
                data = _json(output)
                if status >= 300 and status != 304:
                    raise self._requester.createException(status, h, data)
            except GithubException as exc:
                self.policy.stats.note_remaining(exc.headers or {}, "x-ratelimit-remaining")
                raise translate(exc, what) from None
            except Exception as exc:  # transport errors: connection reset, timeout, …
                raise translate(exc, what) from None
            if status == 304:
                self.policy.stats.free()
            self.policy.stats.note_remaining(h, "x-ratelimit-remaining")
            if check is not None:
                check(data)
            return h, data, status

        return self.policy.call(call, write=write, idempotent=idempotent)

    def _pages(self, path: str, params: dict[str, Any], what: str, etags: dict[str, str], etag_key: str) -> tuple[list[Any] | None, dict[str, str], datetime | None]:
        """Follow ``Link: rel="next"``; the first page is asked conditionally.

        A next page is followed only on the API's own origin and under its path (checked here: the
        check PyGithub makes is an ``assert``, gone under ``python -O``), and only while the listing
        makes sense (:class:`~guidesync.trackers.base.PageGuard`); otherwise the listing fails.

        Returns (items or None if the first page was 304, new etags, server time of the first page)."""
        items: list[Any] = []
        new_etags: dict[str, str] = {}
        url: str | None = path
        query: dict[str, Any] | None = dict(params)
        first = True
        server_time = None
        guard = PageGuard(what, int(params.get("per_page", 30)), self.max_listed)
        while url:
            cond = {"If-None-Match": etags[etag_key]} if first and etag_key in etags else None
            h, data, status = self._request("GET", url, what, params=query, headers=cond)
            if first:
                server_time = header_time(h)
                if h.get("etag"):
                    new_etags[etag_key] = h["etag"]
                if status == 304:
                    return None, new_etags or {etag_key: etags[etag_key]}, server_time
            first = False
            items.extend(guard.page(data))
            m = LINK_NEXT.search(h.get("link", ""))
            if not m:
                break
            guard.next_allowed()
            url, query = m.group(1), None  # absolute: PyGithub keeps its path and query as given
            if not under_api(url, self.api_url):
                raise TrackerError("invalid", f"{what}: the next page is on {shown_origin(url)} or outside the API's path, "
                                   f"not on the API {shown_origin(self.api_url)}; not followed (the token would go along)")
        return items, new_etags, server_time

    # -- the interface ----------------------------------------------------------------------

    def _ask_web(self) -> str:
        """The repository's html_url, from GitHub (GET /repos/{owner}/{repo})."""
        _, data, _ = self._request("GET", "", f"repository {self.repository}")
        url = data.get("html_url") if isinstance(data, dict) else None
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise TrackerError("invalid", f"repository {self.repository}: GitHub's answer has no web address "
                               "(html_url); set web_url in the configuration")
        return url

    def list_milestones(self, etags: dict[str, str], since: datetime | None = None) -> Listing:
        # GitHub filters milestones by no time (``since`` is ignored): the ETag makes a quiet listing a free 304
        items, new, t = self._pages(
            "/milestones", {"state": "all", "per_page": 100}, "listing milestones", etags, "milestones"
        )
        return Listing(None if items is None else tuple(_milestone(m) for m in items), new, t)

    def list_issues(self, label: str, since: datetime | None, etags: dict[str, str]) -> Listing:
        params: dict[str, Any] = {"labels": label, "state": "all", "sort": "updated", "direction": "desc", "per_page": 100}
        if not label:  # every issue (``import_issues: milestone``)
            del params["labels"]
        if since is not None:
            params["since"] = since.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        # Newest first: any change to any listed issue changes the first page, so a 304 on the first
        # page means nothing changed, however many pages there are. One ETag key whatever ``since``
        # is: GitHub's ETag is a digest of the answer, so the same issues listed from a slightly
        # later ``since`` still come back 304.
        items, new, t = self._pages("/issues", params, "listing issues", etags, "issues")
        if items is None:
            return Listing(None, new, t)
        raw = [i for i in items if "pull_request" not in i]
        for data in raw:  # this repository's own issues: one that does not fit asks once
            self.web.check(str(data.get("html_url") or ""), int(data["number"]))
            if self.web.asked:
                break
        return Listing(tuple(self._issue(i) for i in raw), new, t)

    def get_issue(self, number: int) -> RemoteIssue | None:
        try:
            _, data, _ = self._request("GET", f"/issues/{number}", f"reading issue #{number}")
        except TrackerError as exc:
            if isinstance(exc, (Gone, NotFound)):
                return None
            raise
        if not isinstance(data, dict) or not self.web.fits(str(data.get("html_url", "")), number):
            return None  # transferred: the redirect led to another repository's issue
        return self._issue(data)

    def create_milestone(self, title: str, description: str, *, due: str | None = None,
                         start: str | None = None) -> RemoteMilestone:
        """``start`` is ignored: GitHub milestones have none. ``due`` is sent so that it lands on
        that day in US Pacific time (see :func:`_due_on`); None sends none (a create refuses null)."""
        body: dict[str, Any] = {"title": title, "description": description}
        if due is not None:
            body["due_on"] = _due_on(due)
        _, data, _ = self._request("POST", "/milestones", f"creating milestone {title!r}", body=body, idempotent=False)
        return _milestone(data)

    def update_milestone(self, number: int, *, title: str | Unset = UNSET, description: str | Unset = UNSET,
                         due: str | None | Unset = UNSET, start: str | None | Unset = UNSET) -> RemoteMilestone:
        """``due`` None clears it (``due_on: null``, which an edit takes); ``start`` is ignored."""
        body = given(title=title, description=description)
        if not isinstance(due, Unset):
            body["due_on"] = None if due is None else _due_on(due)
        _, data, _ = self._request("PATCH", f"/milestones/{number}", f"updating milestone #{number}", body=body)
        return _milestone(data)

    def assignable(self, login: str) -> bool:
        """``GET /repos/{o}/{r}/assignees/{login}``: 204 yes, 404 no; asked once per login (any
        case) and run. Any other answer raises."""
        key = login.strip().lower()
        if not key:
            return False  # the path would name the listing of all assignees
        if key not in self._assignable:
            try:
                self._request("GET", f"/assignees/{quote(login.strip(), safe='')}",
                              f"checking whether {login.strip()!r} can be assigned")
                self._assignable[key] = True
            except NotFound:
                self._assignable[key] = False
        return self._assignable[key]

    def create_issue(self, title: str, body: str, milestone: int | None, labels: Iterable[str], *,
                     task: bool = False, assignees: Iterable[str] = (), due: str | None = None) -> RemoteIssue:
        """``task`` changes nothing here: any GitHub issue can be a sub-issue. ``due`` is ignored:
        GitHub issues have no due date (the body says it)."""
        payload: dict[str, Any] = {"title": title, "body": body, "labels": list(labels)}
        if milestone is not None:
            payload["milestone"] = milestone
        people = list(assignees)
        if people:
            payload["assignees"] = people
        _, data, _ = self._write_issue("POST", "/issues", f"creating issue {title[:60]!r}", payload, idempotent=False)
        if not isinstance(data, dict) or not isinstance(data.get("number"), int):
            raise TrackerError("invalid", f"creating issue {title[:60]!r}: GitHub's answer is not an issue")
        self.web.check(str(data.get("html_url") or ""), data["number"])  # learns the address again if it does not fit
        return self._issue(data)

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
        """``labels`` and ``assignees`` replace the issue's (an empty one clears them); ``due`` is
        ignored (GitHub issues have none)."""
        payload = given(title=title, body=body, milestone=milestone,
                        labels=labels if isinstance(labels, Unset) else list(labels),
                        assignees=assignees if isinstance(assignees, Unset) else list(assignees))
        return self._patch_issue(number, payload, f"updating issue #{number}")

    def _write_issue(self, verb: str, path: str, what: str, payload: dict[str, Any], *,
                     idempotent: bool = True) -> tuple[dict[str, Any], Any, int]:
        """Create or edit an issue. GitHub refuses the whole write (422, ``assignees`` invalid)
        when a login cannot be assigned, as it may have become since :meth:`assignable` said yes:
        nothing was written, so it is sent once more without the logins it named (without any
        when it named none); the answer shows who was kept."""
        try:
            return self._request(verb, path, what, body=payload, idempotent=idempotent)
        except Invalid as exc:
            sent = payload.get("assignees")
            refused = [r for r in getattr(exc, "refusals", ()) if r[0] in ("assignees", "assignee")]
            if exc.status != 422 or not sent or not refused:
                raise
            named = {str(value).lower() for _, _, value in refused if isinstance(value, str)}
            for login in named:
                self._assignable[login] = False
            kept = [login for login in sent if str(login).lower() not in named]
            if len(kept) == len(sent):  # it named nobody that was sent: send nobody
                kept = []
            return self._request(verb, path, what, body={**payload, "assignees": kept}, idempotent=idempotent)

    def _patch_issue(self, number: int, payload: dict[str, Any], what: str) -> RemoteIssue:
        _, data, _ = self._write_issue("PATCH", f"/issues/{number}", what, payload)
        if not isinstance(data, dict) or not self.web.fits(str(data.get("html_url", "")), number):
            raise TrackerError("gone", f"{what}: the issue was transferred to another repository")
        return self._issue(data)

    def close_issue(self, number: int, reason: str) -> RemoteIssue:
        return self._patch_issue(number, {"state": "closed", "state_reason": reason}, f"closing issue #{number}")

    def reopen_issue(self, number: int) -> RemoteIssue:
        return self._patch_issue(number, {"state": "open", "state_reason": "reopened"}, f"reopening issue #{number}")

    def pull_request(self, *, head: str, base: str, title: str, body: str) -> tuple[int, str, bool]:
        """The open pull request from ``head`` into ``base``, else a new one: (number, url, opened now).
        One page is asked (GitHub filters by head, so there is at most one): no link is followed."""
        owner = self.repository.split("/")[0]
        _, data, _ = self._request("GET", "/pulls", "looking for the write-back pull request",
                                   params={"state": "open", "head": f"{owner}:{head}", "base": base, "per_page": 100})
        for pr in data if isinstance(data, list) else ():
            if isinstance(pr, dict) and isinstance(pr.get("number"), int):
                return pr["number"], str(pr.get("html_url") or ""), False
        _, data, _ = self._request("POST", "/pulls", "opening the write-back pull request",
                                   body={"title": title, "head": head, "base": base, "body": body}, idempotent=False)
        if not isinstance(data, dict) or not isinstance(data.get("number"), int):
            raise TrackerError("invalid", "opening the write-back pull request: GitHub's answer is not a pull request")
        return data["number"], str(data.get("html_url") or ""), True

    def comment(self, number: int, body: str) -> None:
        self._request("POST", f"/issues/{number}/comments", f"commenting on issue #{number}", body={"body": body}, idempotent=False)

    # -- dependencies ----------------------------------------------------------------------
    #
    # "native": REST issue dependencies (github.com, GHE.com), the blocking issue named by its
    # REST id (known from this run's answers, else read once). "body": a server without them
    # (GHES): only the body says it. Learned by the first block and kept in the base.

    def block(self, issue: int, blocker: int) -> str:
        """POST …/issues/{issue}/dependencies/blocked_by. A 404 there is either a server without
        dependencies or an issue that is not there: the blocker (which exists, its id was just
        known) is asked for its own dependencies once; a 404 again means the server has none
        ("body", without requests from then on). Adding one that is there already is fine: a
        refusal (422) is checked against the issue's dependencies."""
        if self.capabilities.get("dependencies") == "body":
            return "body"
        blocker_id = self._ids_of(blocker)[0]
        what = f"marking issue #{issue} blocked by #{blocker}"
        path = f"/issues/{int(issue)}/dependencies/blocked_by"
        try:
            # sending it twice does no harm (the second is refused as there already): idempotent
            self._request("POST", path, what, body={"issue_id": blocker_id})
        except NotFound:
            if self.capabilities.get("dependencies") is None and not self._has_dependencies(blocker):
                self.capabilities["dependencies"] = "body"
                return "body"
            raise
        except (Conflict, Invalid) as exc:
            if exc.status != 422 or blocker_id not in self._blockers(issue, what):
                raise
        self.capabilities["dependencies"] = "native"
        return "native"

    def unblock(self, issue: int, blocker: int) -> None:
        """DELETE …/dependencies/blocked_by/{id}; a dependency (or a blocker) no longer there is fine."""
        if self.capabilities.get("dependencies") == "body":
            return
        try:
            blocker_id = self._ids_of(blocker)[0]
        except (Gone, NotFound):
            return  # the blocker was deleted or moved away: so was its dependency
        try:
            self._request("DELETE", f"/issues/{int(issue)}/dependencies/blocked_by/{blocker_id}",
                          f"taking away the dependency of issue #{issue} on #{blocker}")
        except NotFound:
            pass

    def _has_dependencies(self, probe: int) -> bool:
        """Does GET …/issues/{probe}/dependencies/blocked_by answer (``probe`` exists)?"""
        try:
            self._request("GET", f"/issues/{int(probe)}/dependencies/blocked_by", "asking for issue dependencies",
                          params={"per_page": 1})
        except NotFound:
            return False
        return True

    def _blockers(self, issue: int, what: str) -> set[int]:
        """The REST ids of the issues blocking ``issue``."""
        items, _, _ = self._pages(f"/issues/{int(issue)}/dependencies/blocked_by", {"per_page": 100}, what, {}, "blocked_by")
        return {i["id"] for i in items or () if isinstance(i, dict) and isinstance(i.get("id"), int)}

    # -- hierarchy -----------------------------------------------------------------------
    #
    # "sub_issues" (github.com, GHE.com): the REST operations, bodies naming the REST ``id``.
    # "graphql" (GHES 3.17+, whose REST descriptions have no sub-issues): addSubIssue and
    # reprioritizeSubIssue, naming node ids. "none": nothing (older GHES). The ids come from the
    # issues this run already saw (listing, get, create, update, close); only an issue not seen
    # is read, once.

    def _note_ids(self, data: dict[str, Any]) -> None:
        if isinstance(data, dict) and isinstance(data.get("number"), int) and isinstance(data.get("id"), int):
            self._ids[data["number"]] = (data["id"], str(data.get("node_id") or ""))

    def _ids_of(self, number: int) -> tuple[int, str]:
        """(REST id, node id) of issue ``number``: known from an earlier answer, else read once."""
        if number not in self._ids:
            what = f"reading issue #{number}"
            _, data, _ = self._request("GET", f"/issues/{number}", what)
            if not isinstance(data, dict) or not self.web.fits(str(data.get("html_url", "")), number):
                raise TrackerError("gone", f"{what}: the issue was transferred to another repository")
            self._issue(data)
            if number not in self._ids:
                raise TrackerError("invalid", f"{what}: GitHub's answer has no id")
        return self._ids[number]

    def _graphql(self, query: str, variables: dict[str, Any], what: str, *, write: bool = False,
                 idempotent: bool | None = None) -> dict[str, Any]:
        """One GraphQL request (PyGithub's GraphQL address: ``/graphql``, ``/api/graphql`` on
        GHES), under the call policy like any other; ``errors`` raise their kind."""

        def check(data: Any) -> None:
            if not isinstance(data, dict):
                raise TrackerError("invalid", f"{what}: GitHub's GraphQL answer is not JSON")
            if data.get("errors"):
                raise graphql_error(data["errors"], what)

        _, data, _ = self._request("POST", self._requester.graphql_url, what, body={"query": query, "variables": variables},
                                   headers=dict(_SUB_ISSUES_FEATURE), write=write,
                                   idempotent=not write if idempotent is None else idempotent, check=check)
        return data.get("data") or {}

    def _graphql_has(self, type_name: str) -> bool:
        """Does the GraphQL schema have ``type_name``? False when there is no GraphQL API (404)."""
        try:
            data = self._graphql('query($name: String!) { __type(name: $name) { name } }', {"name": type_name},
                                 f"asking GitHub's GraphQL API for {type_name}")
        except NotFound:
            return False
        return isinstance(data.get("__type"), dict)

    def hierarchy(self, probe: int) -> str:
        """GET …/issues/{probe}/sub_issues answers: the REST operations are there. A 404 (``probe``
        exists, so the operation does not: GHES) asks GraphQL whether it has ``AddSubIssueInput``."""
        if self.hierarchy_mode is None:
            try:
                self._request("GET", f"/issues/{int(probe)}/sub_issues", "asking for sub-issues", params={"per_page": 1})
                mode = "sub_issues"
            except NotFound:
                mode = "graphql" if self._graphql_has("AddSubIssueInput") else "none"
            self.hierarchy_mode = mode
        return self.hierarchy_mode

    def _current_parent(self, child: int) -> tuple[int | None, str | None]:
        if self.hierarchy_mode == "graphql":
            data = self._graphql("query($id: ID!) { node(id: $id) { ... on Issue { parent { number repository "
                                 "{ nameWithOwner } } } } }", {"id": self._ids_of(child)[1]},
                                 f"reading the parent of issue #{child}")
            parent = (data.get("node") or {}).get("parent")
            if not isinstance(parent, dict) or not isinstance(parent.get("number"), int):
                return None, None
            repo = str((parent.get("repository") or {}).get("nameWithOwner") or "")
            if repo.lower() == self.repository.lower():
                return parent["number"], f"#{parent['number']}"
            return None, f"{repo or 'another repository'}#{parent['number']}"
        try:
            _, data, _ = self._request("GET", f"/issues/{int(child)}/parent", f"reading the parent of issue #{child}")
        except NotFound:  # no parent (or no such issue)
            return None, None
        if not isinstance(data, dict) or not isinstance(data.get("number"), int):
            return None, None
        number = data["number"]
        if self.web.fits(str(data.get("html_url") or ""), number):
            self._note_ids(data)
            return number, f"#{number}"
        where = str(data.get("html_url") or "").split("/issues/")[0].rsplit("/", 2)[-2:]
        return None, f"{'/'.join(where) if len(where) == 2 else 'another repository'}#{number}"

    def _attach(self, mode: str, parent: int, child: int, after: int | None, move_from: int | None) -> None:
        what = f"making issue #{child} a sub-issue of #{parent}"
        add = self._add_rest if mode == "sub_issues" else self._add_graphql
        try:
            added = add(parent, child, move_from, what)
        except Ambiguous as exc:  # the answer was lost: did it happen?
            added = self._settle(parent, child, move_from, exc) or add(parent, child, move_from, what)
        if not added and not self._settle(parent, child, move_from, None):
            added = add(parent, child, move_from, what)  # under move_from (or none): replace it now
        if after is not None:
            self._place(mode, parent, child, after)

    def _detach(self, mode: str, parent: int, child: int) -> None:
        what = f"taking issue #{child} from under #{parent}"
        if self._current_parent(child)[0] != parent:
            return  # not under it (any more): nothing to take away
        if mode == "sub_issues":
            self._request("DELETE", f"/issues/{int(parent)}/sub_issue", what, body={"sub_issue_id": self._ids_of(child)[0]})
        else:
            self._graphql("mutation($input: RemoveSubIssueInput!) { removeSubIssue(input: $input) { issue { number } } }",
                          {"input": {"issueId": self._ids_of(parent)[1], "subIssueId": self._ids_of(child)[1]}},
                          what, write=True, idempotent=True)

    def _add_rest(self, parent: int, child: int, move_from: int | None, what: str) -> bool:
        """POST …/sub_issues: True when added now, False when refused as a sub-issue already."""
        body: dict[str, Any] = {"sub_issue_id": self._ids_of(child)[0]}
        if move_from is not None:
            body["replace_parent"] = True
        try:
            self._request("POST", f"/issues/{int(parent)}/sub_issues", what, body=body, idempotent=False)
        except Invalid as exc:
            if exc.status == 422 and _ALREADY_PARENTED.search(str(exc)):
                return False
            raise
        return True

    def _add_graphql(self, parent: int, child: int, move_from: int | None, what: str) -> bool:
        given_input: dict[str, Any] = {"issueId": self._ids_of(parent)[1], "subIssueId": self._ids_of(child)[1]}
        if move_from is not None:
            given_input["replaceParent"] = True
        try:
            self._graphql("mutation($input: AddSubIssueInput!) { addSubIssue(input: $input) { subIssue { number } } }",
                          {"input": given_input}, what, write=True)
        except Invalid as exc:
            if _ALREADY_PARENTED.search(str(exc)):
                return False
            raise
        return True

    def _place(self, mode: str, parent: int, child: int, after: int) -> None:
        """Put ``child`` right after its sibling ``after``."""
        what = f"placing issue #{child} after #{after} under #{parent}"
        if mode == "sub_issues":
            self._request("PATCH", f"/issues/{int(parent)}/sub_issues/priority", what,
                          body={"sub_issue_id": self._ids_of(child)[0], "after_id": self._ids_of(after)[0]})
        else:
            self._graphql("mutation($input: ReprioritizeSubIssueInput!) { reprioritizeSubIssue(input: $input) "
                          "{ issue { number } } }", {"input": {"issueId": self._ids_of(parent)[1],
                                                              "subIssueId": self._ids_of(child)[1],
                                                              "afterId": self._ids_of(after)[1]}}, what, write=True, idempotent=True)
