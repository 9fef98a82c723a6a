"""What GitLab's REST API answers and how guidesync reads it: the instance root, issues and
milestones as :class:`~guidesync.trackers.base.RemoteIssue` / ``RemoteMilestone``, days, and
python-gitlab's errors as :class:`~guidesync.trackers.base.TrackerError` kinds. No requests here.
"""

from __future__ import annotations

import re
from typing import Any

from gitlab import exceptions as glexc

from .base import RemoteIssue, RemoteMilestone, TrackerError, api_time, connection_error, retry_wait, status_error
from .http import shown_origin

DEFAULT_URL = "https://gitlab.com"
#: GitLab's own limits: title 255 characters, description 1,048,576 (kept a little under).
LIMITS = {"title": 255, "body": 1_000_000}
#: error texts GitLab answers (400) when the object already exists
_CONFLICT_TEXTS = ("already being used", "already exists", "has already been taken")
#: GitLab's own cases on top of the common status table
_KINDS = {409: "conflict"}
#: no retry, no sleep inside python-gitlab: CallPolicy decides
NO_RETRY = {"obey_rate_limit": False, "retry_transient_errors": False, "max_retries": 0}
#: where an issue's page is under the project's web address; GitLab still answers the old form
#: without ``/-/`` (a redirect), and shows issues as work items too
ISSUE_PATHS = ("-/issues", "-/work_items", "issues")
_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def day(value: Any) -> str | None:
    """A date of an answer (``due_date``, ``start_date``: ``YYYY-MM-DD``), or None."""
    return value if isinstance(value, str) and _DAY.match(value) else None


def usernames(data: dict[str, Any]) -> tuple[str, ...]:
    """The usernames of an issue's assignees (``assignees``; an older answer: ``assignee``)."""
    people = data.get("assignees")
    if not isinstance(people, list):
        people = [data["assignee"]] if isinstance(data.get("assignee"), dict) else []
    return tuple(p["username"] for p in people if isinstance(p, dict) and isinstance(p.get("username"), str))


def instance_root(url: str) -> str:
    """``https://gitlab.example/gitlab/`` or ``…/gitlab/api/v4`` -> ``https://gitlab.example/gitlab``."""
    url = (url or DEFAULT_URL).strip().rstrip("/")
    if url.endswith("/api/v4"):
        url = url[: -len("/api/v4")]
    return url


def parse_issue(data: dict[str, Any]) -> RemoteIssue:
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
        assignees=usernames(data),
        due=day(data.get("due_date")),
    )


def parse_milestone(data: dict[str, Any]) -> RemoteMilestone:
    return RemoteMilestone(
        number=int(data["id"]),
        title=data.get("title") or "",
        description=data.get("description") or "",
        state="closed" if data.get("state") == "closed" else "open",
        group=data.get("group_id") is not None and data.get("project_id") is None,
        shown=int(data["iid"]) if isinstance(data.get("iid"), int) else None,
        due=day(data.get("due_date")),
        start=day(data.get("start_date")),
    )


def moved(data: Any) -> bool:
    return isinstance(data, dict) and bool(data.get("moved_to_id"))


def message(exc: glexc.GitlabError) -> str:
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
        msg = f"{what}: GitLab answered {status}: {message(exc)}"
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
