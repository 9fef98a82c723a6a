"""A stateful fake of GitHub's REST API (v3 JSON shapes) for tests.

Good enough for the real PyGithub client::

    fake = FakeGitHub(repos=("acme/shop",)).start()
    gh = github.Github(auth=github.Auth.Token("test-token"), base_url=fake.url,
                       seconds_between_requests=0, seconds_between_writes=0,
                       retry=None, per_page=100, lazy=True)

Covered: repositories, issues (list filters, pagination with ``Link``, weak
``ETag``/``If-None-Match``), issue comments, issue labels, lock/unlock,
milestones, labels, ``/rate_limit`` and ``/user``; primary rate limit,
bad credentials, read-only tokens, archived repositories, deleted (410) and
transferred (301) issues; secondary-rate-limit / 429 fault helpers.

Behaviour notes (documented GitHub behaviour the fake follows):

* Locked conversations: GitHub lets only collaborators with write access
  comment; integrations/bots (e.g. a GitHub App or Actions ``GITHUB_TOKEN``)
  get ``403 {"message": "Unable to create comment because issue is locked."}``.
  The fake answers that 403 while ``locked_comments_forbidden`` is True (the
  default, the bot case); set it False to emulate a collaborator's PAT.
  Editing a locked issue (title/body/state/labels/milestone) is allowed.
* ``/rate_limit`` is not charged (as documented); 304 answers are not charged.
* Link headers list ``prev, next, last, first`` in GitHub's order and format;
  by default their path is the requested one (``/repos/o/r/...``); with
  ``canonical_links=True`` they use GitHub's ``/repositories/{id}/...`` form
  (both forms are routed).
* Empty issue bodies are returned as ``null`` like GitHub does.
* Repositories start without labels (GitHub would create its default set).
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable
from urllib.parse import quote, urlencode

from .base import ApiError, FakeServer, Request, Response

__all__ = ["FakeGitHub"]

DOCS = "https://docs.github.com/rest"
RATE_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
SECONDARY_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID {rid}."
)
LOCKED_MESSAGE = "Unable to create comment because issue is locked."
ARCHIVED_MESSAGE = "Repository was archived so is read-only."
INTEGRATION_MESSAGE = "Resource not accessible by integration"
STATE_REASONS = ("completed", "not_planned", "reopened", "duplicate")
LOCK_REASONS = ("off-topic", "too heated", "resolved", "spam")

# route prefix: /repos/{owner}/{name} or /repositories/{id}
_R = r"(?:/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)|/repositories/(?P<rid>\d+))"


# ---------------------------------------------------------------------- model


@dataclass
class _Label:
    id: int
    name: str
    color: str = "ededed"
    description: str | None = None


@dataclass
class _Milestone:
    id: int
    number: int
    title: str
    created_at: datetime
    updated_at: datetime
    description: str | None = None
    state: str = "open"
    closed_at: datetime | None = None
    due_on: datetime | None = None


@dataclass
class _Comment:
    id: int
    body: str
    created_at: datetime
    updated_at: datetime


@dataclass
class _Issue:
    id: int
    number: int
    title: str
    created_at: datetime
    updated_at: datetime
    body: str | None = None
    state: str = "open"
    state_reason: str | None = None
    labels: list[str] = field(default_factory=list)  # label keys (lower-case names)
    milestone: int | None = None
    closed_at: datetime | None = None
    locked: bool = False
    lock_reason: str | None = None
    comments: list[_Comment] = field(default_factory=list)
    deleted: bool = False
    moved_to: tuple[str, int] | None = None  # (full_name key, number) after a transfer

    @property
    def live(self) -> bool:
        return not self.deleted and self.moved_to is None


@dataclass
class _Repo:
    id: int
    owner: str
    name: str
    created_at: datetime
    private: bool = True
    archived: bool = False
    issues: dict[int, _Issue] = field(default_factory=dict)
    milestones: dict[int, _Milestone] = field(default_factory=dict)
    labels: dict[str, _Label] = field(default_factory=dict)  # key: lower-case name
    next_issue: int = 1
    next_milestone: int = 1

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


def _node_id(kind: str, ident: int) -> str:
    raw = f"{kind}:{ident}".encode()
    return kind + "_" + base64.b64encode(raw).decode().rstrip("=")


def _parse_time(value: Any, field_name: str, resource: str) -> datetime:
    if not isinstance(value, str):
        raise _validation(resource, field_name, "invalid", value)
    text = value.strip()
    try:
        if len(text) == 10:  # date only
            dt = datetime.fromisoformat(text + "T00:00:00+00:00")
        else:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _validation(resource, field_name, "invalid", value) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def _validation(resource: str, field_name: str, code: str, value: Any = None,
                doc: str = DOCS) -> ApiError:
    err: dict[str, Any] = {"resource": resource, "code": code, "field": field_name}
    if code == "invalid":
        err["value"] = value
    return ApiError(422, {"message": "Validation Failed", "errors": [err], "documentation_url": doc})


def _not_found() -> ApiError:
    return ApiError(404, {"message": "Not Found", "documentation_url": DOCS})


def _etag_matches(header: str, etag: str) -> bool:
    def bare(tag: str) -> str:
        tag = tag.strip()
        return tag[2:] if tag.startswith("W/") else tag

    candidates = [t for t in header.split(",") if t.strip()]
    return any(t.strip() == "*" or bare(t) == bare(etag) for t in candidates)


# ----------------------------------------------------------------------- fake


class FakeGitHub(FakeServer):
    """Stateful fake GitHub REST v3 server. See the module docstring."""

    def __init__(
        self,
        *,
        token: str = "test-token",
        repos: Iterable[str] = ("acme/shop",),
        prefix: str = "",
        latency: float = 0.0,
        rate_limit: int = 5000,
        web_url: str | None = None,
        read_only: bool = False,
        canonical_links: bool = False,
    ) -> None:
        super().__init__(latency=latency, prefix=prefix)
        self.token = token
        self.read_only = read_only
        self.web_url = web_url.rstrip("/") if web_url else None
        self.canonical_links = canonical_links
        self.locked_comments_forbidden = True
        self.login = "guidesync-bot"
        self.user_id = 1001
        # primary rate limit (resource "core")
        self.rate_limit = rate_limit
        self.rate_used = 0
        self.rate_reset = int(self.clock.now().timestamp()) + 3600
        self.unauth_used = 0
        self._ids = itertools.count(1_000_001)
        self._request_ids = itertools.count(1)
        self._repos: dict[str, _Repo] = {}
        for full_name in repos:
            self.add_repo(full_name)
        self._register_routes()

    # ------------------------------------------------------------- utilities
    @property
    def web_root(self) -> str:
        return self.web_url or self.root_url

    @property
    def rate_remaining(self) -> int:
        return max(self.rate_limit - self.rate_used, 0)

    def _roll_rate_window(self) -> None:
        now = int(self.clock.now().timestamp())
        if now >= self.rate_reset:
            self.rate_used = 0
            self.unauth_used = 0
            self.rate_reset = now + 3600

    def _next_id(self) -> int:
        return next(self._ids)

    def _repo(self, full_name: str) -> _Repo:
        repo = self._repos.get(full_name.lower())
        if repo is None:
            raise KeyError(f"unknown repository {full_name!r}")
        return repo

    def _api_repo(self, owner: str | None = None, name: str | None = None,
                  rid: str | None = None) -> _Repo:
        if rid is not None:
            for repo in self._repos.values():
                if repo.id == int(rid):
                    return repo
            raise _not_found()
        repo = self._repos.get(f"{owner}/{name}".lower())
        if repo is None:
            raise _not_found()
        return repo

    def _check_write(self, repo: _Repo) -> None:
        if self.read_only:
            raise ApiError(403, {"message": INTEGRATION_MESSAGE, "documentation_url": DOCS})
        if repo.archived:
            raise ApiError(403, {"message": ARCHIVED_MESSAGE, "documentation_url": DOCS})

    def _token_of(self, req: Request) -> str | None:
        auth = req.header("authorization") or ""
        scheme, _, value = auth.partition(" ")
        if scheme.lower() in ("token", "bearer") and value.strip():
            return value.strip()
        return None

    def _authed(self, req: Request) -> bool:
        return self._token_of(req) == self.token

    # --------------------------------------------------------------- renderers
    def _account_json(self, login: str, ident: int, kind: str) -> dict[str, Any]:
        """A ``simple-user`` (GitHub's shape for users and organisations inside other objects)."""
        api = f"{self.url}/users/{login}"
        return {
            "login": login,
            "id": ident,
            "node_id": _node_id("U" if kind == "User" else "O", ident),
            "avatar_url": f"{self.web_root}/avatars/{login}",
            "gravatar_id": "",
            "url": api,
            "html_url": f"{self.web_root}/{login}",
            "followers_url": api + "/followers",
            "following_url": api + "/following{/other_user}",
            "gists_url": api + "/gists{/gist_id}",
            "starred_url": api + "/starred{/owner}{/repo}",
            "subscriptions_url": api + "/subscriptions",
            "organizations_url": api + "/orgs",
            "repos_url": api + "/repos",
            "events_url": api + "/events{/privacy}",
            "received_events_url": api + "/received_events",
            "type": kind,
            "user_view_type": "public",
            "site_admin": False,
        }

    def _user_json(self) -> dict[str, Any]:
        return self._account_json(self.login, self.user_id, "User")

    def _repo_api(self, repo: _Repo) -> str:
        return f"{self.url}/repos/{repo.full_name}"

    def _repo_json(self, repo: _Repo) -> dict[str, Any]:
        """A ``full-repository``: every field GitHub's description requires (most are fixed)."""
        api = self._repo_api(repo)
        html = f"{self.web_root}/{repo.full_name}"
        host = self.web_root.split("://", 1)[-1].split("/", 1)[0]
        writable = not self.read_only
        open_issues = sum(1 for i in repo.issues.values() if i.live and i.state == "open")
        created = self.clock.iso(repo.created_at)
        return {
            "id": repo.id,
            "node_id": _node_id("R", repo.id),
            "name": repo.name,
            "full_name": repo.full_name,
            "private": repo.private,
            "visibility": "private" if repo.private else "public",
            "owner": self._account_json(repo.owner, 500 + repo.id % 1000, "Organization"),
            "html_url": html,
            "description": None,
            "fork": False,
            "url": api,
            "archive_url": api + "/{archive_format}{/ref}",
            "assignees_url": api + "/assignees{/user}",
            "blobs_url": api + "/git/blobs{/sha}",
            "branches_url": api + "/branches{/branch}",
            "collaborators_url": api + "/collaborators{/collaborator}",
            "comments_url": api + "/comments{/number}",
            "commits_url": api + "/commits{/sha}",
            "compare_url": api + "/compare/{base}...{head}",
            "contents_url": api + "/contents/{+path}",
            "contributors_url": api + "/contributors",
            "deployments_url": api + "/deployments",
            "downloads_url": api + "/downloads",
            "events_url": api + "/events",
            "forks_url": api + "/forks",
            "git_commits_url": api + "/git/commits{/sha}",
            "git_refs_url": api + "/git/refs{/sha}",
            "git_tags_url": api + "/git/tags{/sha}",
            "git_url": f"git://{host}/{repo.full_name}.git",
            "hooks_url": api + "/hooks",
            "issue_comment_url": api + "/issues/comments{/number}",
            "issue_events_url": api + "/issues/events{/number}",
            "issues_url": api + "/issues{/number}",
            "keys_url": api + "/keys{/key_id}",
            "labels_url": api + "/labels{/name}",
            "languages_url": api + "/languages",
            "merges_url": api + "/merges",
            "milestones_url": api + "/milestones{/number}",
            "notifications_url": api + "/notifications{?since,all,participating}",
            "pulls_url": api + "/pulls{/number}",
            "releases_url": api + "/releases{/id}",
            "ssh_url": f"git@{host}:{repo.full_name}.git",
            "stargazers_url": api + "/stargazers",
            "statuses_url": api + "/statuses/{sha}",
            "subscribers_url": api + "/subscribers",
            "subscription_url": api + "/subscription",
            "tags_url": api + "/tags",
            "teams_url": api + "/teams",
            "trees_url": api + "/git/trees{/sha}",
            "clone_url": html + ".git",
            "mirror_url": None,
            "svn_url": html,
            "homepage": None,
            "language": None,
            "forks": 0,
            "forks_count": 0,
            "stargazers_count": 0,
            "watchers": 0,
            "watchers_count": 0,
            "size": 0,
            "default_branch": "main",
            "open_issues": open_issues,
            "open_issues_count": open_issues,
            "is_template": False,
            "topics": [],
            "has_issues": True,
            "has_projects": True,
            "has_wiki": True,
            "has_pages": False,
            "has_downloads": True,
            "has_discussions": False,
            "archived": repo.archived,
            "disabled": False,
            "license": None,
            "pushed_at": created,
            "created_at": created,
            "updated_at": created,
            "permissions": {
                "admin": writable,
                "maintain": writable,
                "push": writable,
                "triage": writable,
                "pull": True,
            },
            "allow_forking": True,
            "web_commit_signoff_required": False,
            "network_count": 0,
            "subscribers_count": 0,
        }

    def _label_json(self, repo: _Repo, label: _Label) -> dict[str, Any]:
        return {
            "id": label.id,
            "node_id": _node_id("LA", label.id),
            "url": f"{self._repo_api(repo)}/labels/{quote(label.name, safe='')}",
            "name": label.name,
            "color": label.color,
            "default": False,
            "description": label.description,
        }

    def _milestone_counts(self, repo: _Repo, number: int) -> tuple[int, int]:
        open_n = closed_n = 0
        for issue in repo.issues.values():
            if issue.live and issue.milestone == number:
                if issue.state == "open":
                    open_n += 1
                else:
                    closed_n += 1
        return open_n, closed_n

    def _milestone_json(self, repo: _Repo, ms: _Milestone) -> dict[str, Any]:
        api = f"{self._repo_api(repo)}/milestones/{ms.number}"
        open_n, closed_n = self._milestone_counts(repo, ms.number)
        return {
            "url": api,
            "html_url": f"{self.web_root}/{repo.full_name}/milestone/{ms.number}",
            "labels_url": api + "/labels",
            "id": ms.id,
            "node_id": _node_id("MI", ms.id),
            "number": ms.number,
            "state": ms.state,
            "title": ms.title,
            "description": ms.description,
            "creator": self._user_json(),
            "open_issues": open_n,
            "closed_issues": closed_n,
            "created_at": self.clock.iso(ms.created_at),
            "updated_at": self.clock.iso(ms.updated_at),
            "closed_at": self.clock.iso(ms.closed_at) if ms.closed_at else None,
            "due_on": self.clock.iso(ms.due_on) if ms.due_on else None,
        }

    def _issue_json(self, repo: _Repo, issue: _Issue) -> dict[str, Any]:
        api = f"{self._repo_api(repo)}/issues/{issue.number}"
        labels = [self._label_json(repo, repo.labels[k]) for k in issue.labels if k in repo.labels]
        ms = repo.milestones.get(issue.milestone) if issue.milestone is not None else None
        return {
            "url": api,
            "repository_url": self._repo_api(repo),
            "labels_url": api + "/labels{/name}",
            "comments_url": api + "/comments",
            "events_url": api + "/events",
            "timeline_url": api + "/timeline",
            "html_url": f"{self.web_root}/{repo.full_name}/issues/{issue.number}",
            "id": issue.id,
            "node_id": _node_id("I", issue.id),
            "number": issue.number,
            "title": issue.title,
            "user": self._user_json(),
            "labels": labels,
            "state": issue.state,
            "state_reason": issue.state_reason,
            "locked": issue.locked,
            "active_lock_reason": issue.lock_reason if issue.locked else None,
            "assignee": None,
            "assignees": [],
            "milestone": self._milestone_json(repo, ms) if ms else None,
            "comments": len(issue.comments),
            "created_at": self.clock.iso(issue.created_at),
            "updated_at": self.clock.iso(issue.updated_at),
            "closed_at": self.clock.iso(issue.closed_at) if issue.closed_at else None,
            "closed_by": self._user_json() if issue.state == "closed" else None,
            "author_association": "OWNER",
            "body": issue.body if issue.body else None,
            "performed_via_github_app": None,
            "reactions": {
                "url": api + "/reactions", "total_count": 0, "+1": 0, "-1": 0, "laugh": 0,
                "hooray": 0, "confused": 0, "heart": 0, "rocket": 0, "eyes": 0,
            },
        }

    def _comment_json(self, repo: _Repo, issue: _Issue, c: _Comment) -> dict[str, Any]:
        return {
            "url": f"{self._repo_api(repo)}/issues/comments/{c.id}",
            "html_url": f"{self.web_root}/{repo.full_name}/issues/{issue.number}#issuecomment-{c.id}",
            "issue_url": f"{self._repo_api(repo)}/issues/{issue.number}",
            "id": c.id,
            "node_id": _node_id("IC", c.id),
            "user": self._user_json(),
            "created_at": self.clock.iso(c.created_at),
            "updated_at": self.clock.iso(c.updated_at),
            "author_association": "OWNER",
            "body": c.body,
            "performed_via_github_app": None,
        }

    # ------------------------------------------------------------- core logic
    def add_repo(self, full_name: str, *, private: bool = True, archived: bool = False) -> None:
        """Create an (empty) repository ``owner/name``."""
        owner, _, name = full_name.partition("/")
        if not owner or not name or "/" in name:
            raise ValueError(f"repository must be 'owner/name', got {full_name!r}")
        with self.lock:
            if full_name.lower() in self._repos:
                raise ValueError(f"repository {full_name!r} already exists")
            rid = 100_000 + len(self._repos) + 1
            self._repos[full_name.lower()] = _Repo(
                rid, owner, name, self.clock.now(), private=private, archived=archived
            )

    def _label_for(self, repo: _Repo, name: str, now: datetime, create: bool) -> str:
        key = name.lower()
        if key not in repo.labels:
            if not create:
                raise KeyError(name)
            repo.labels[key] = _Label(self._next_id(), name)
        return key

    def _label_names(self, value: Any) -> list[str]:
        if isinstance(value, dict):
            value = value.get("labels", [])
        if not isinstance(value, list):
            raise _validation("Issue", "labels", "invalid", value)
        names = []
        for item in value:
            if isinstance(item, dict):
                item = item.get("name")
            if not isinstance(item, str) or not item.strip():
                raise _validation("Label", "name", "invalid", item)
            names.append(item.strip())
        return names

    def _resolve_milestone(self, repo: _Repo, value: Any, resource: str = "Issue") -> int | None:
        if value is None or value == "":  # PyGithub's Issue.edit(milestone=None) sends ""
            return None
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value not in repo.milestones:
            raise _validation(resource, "milestone", "invalid", value)
        return value

    def _create_issue(self, repo: _Repo, data: dict[str, Any]) -> _Issue:
        title = data.get("title")
        if isinstance(title, int) and not isinstance(title, bool):
            title = str(title)
        if not isinstance(title, str) or not title.strip():
            raise _validation("Issue", "title", "missing_field")
        body = data.get("body")
        if body is not None and not isinstance(body, str):
            raise _validation("Issue", "body", "invalid", body)
        milestone = self._resolve_milestone(repo, data.get("milestone"))
        names = self._label_names(data.get("labels") or [])
        now = self.clock.tick()
        keys: list[str] = []
        for name in names:
            key = self._label_for(repo, name, now, create=True)
            if key not in keys:
                keys.append(key)
        number = repo.next_issue
        repo.next_issue += 1
        issue = _Issue(self._next_id(), number, title, now, now, body=body or None,
                       labels=keys, milestone=milestone)
        repo.issues[number] = issue
        return issue

    def _edit_issue(self, repo: _Repo, issue: _Issue, data: dict[str, Any]) -> None:
        changes: dict[str, Any] = {}
        if "title" in data:
            title = data["title"]
            if not isinstance(title, str) or not title.strip():
                raise _validation("Issue", "title", "missing_field")
            changes["title"] = title
        if "body" in data:
            body = data["body"]
            if body is not None and not isinstance(body, str):
                raise _validation("Issue", "body", "invalid", body)
            changes["body"] = body or None
        state = data.get("state", None)
        if "state" in data and state not in ("open", "closed"):
            raise _validation("Issue", "state", "invalid", state)
        if "state_reason" in data:
            reason = data["state_reason"]
            if reason is not None and reason not in STATE_REASONS:
                raise _validation("Issue", "state_reason", "invalid", reason)
        if "milestone" in data:
            changes["milestone"] = self._resolve_milestone(repo, data["milestone"])
        if "labels" in data:
            changes["labels_names"] = self._label_names(data["labels"] or [])
        now = self.clock.tick()
        if "title" in changes:
            issue.title = changes["title"]
        if "body" in changes:
            issue.body = changes["body"]
        if "milestone" in changes:
            issue.milestone = changes["milestone"]
        if "labels_names" in changes:
            keys: list[str] = []
            for name in changes["labels_names"]:
                key = self._label_for(repo, name, now, create=True)
                if key not in keys:
                    keys.append(key)
            issue.labels = keys
        if state == "closed":
            if issue.state != "closed":
                issue.closed_at = now
            issue.state = "closed"
            issue.state_reason = data.get("state_reason") or "completed"
        elif state == "open":
            if issue.state != "open":
                issue.state_reason = "reopened"
                issue.closed_at = None
            issue.state = "open"
            if "state_reason" in data:
                issue.state_reason = data["state_reason"]
        elif "state_reason" in data:
            issue.state_reason = data["state_reason"]
        issue.updated_at = now

    def _add_comment(self, repo: _Repo, issue: _Issue, body: Any) -> _Comment:
        if not isinstance(body, str) or not body.strip():
            raise _validation("IssueComment", "body", "missing_field")
        now = self.clock.tick()
        comment = _Comment(self._next_id(), body, now, now)
        issue.comments.append(comment)
        issue.updated_at = now
        return comment

    def _find_issue(self, repo: _Repo, number: str | int, *, method: str = "GET",
                    suffix: str = "") -> _Issue:
        try:
            n = int(number)
        except (TypeError, ValueError):
            raise _not_found() from None
        issue = repo.issues.get(n)
        if issue is None:
            raise _not_found()
        if issue.deleted:
            raise ApiError(410, {"message": "This issue was deleted",
                                 "documentation_url": DOCS + "/issues/issues#get-an-issue"})
        if issue.moved_to is not None:
            target = self._repos[issue.moved_to[0]]
            location = f"{self.url}/repositories/{target.id}/issues/{issue.moved_to[1]}{suffix}"
            raise ApiError(301, {"message": "Moved Permanently", "url": location,
                                 "documentation_url": DOCS + "/guides/best-practices-for-using-the-rest-api#follow-redirects"},
                           {"Location": location})
        return issue

    def _find_milestone(self, repo: _Repo, number: str | int) -> _Milestone:
        try:
            ms = repo.milestones.get(int(number))
        except (TypeError, ValueError):
            ms = None
        if ms is None:
            raise _not_found()
        return ms

    def _find_label(self, repo: _Repo, name: str) -> _Label:
        label = repo.labels.get(name.lower())
        if label is None:
            raise _not_found()
        return label

    def _check_milestone_title(self, repo: _Repo, title: Any, exclude: int | None = None) -> str:
        if not isinstance(title, str) or not title.strip():
            raise _validation("Milestone", "title", "missing_field")
        for ms in repo.milestones.values():
            if ms.title == title and ms.number != exclude:
                raise _validation("Milestone", "title", "already_exists",
                                  doc=DOCS + "/issues/milestones#create-a-milestone")
        return title

    def _edit_milestone(self, repo: _Repo, ms: _Milestone, data: dict[str, Any]) -> None:
        title = self._check_milestone_title(repo, data["title"], ms.number) if "title" in data else None
        state = data.get("state")
        if "state" in data and state not in ("open", "closed"):
            raise _validation("Milestone", "state", "invalid", state)
        description = data.get("description")
        if description is not None and not isinstance(description, str):
            raise _validation("Milestone", "description", "invalid", description)
        due = data.get("due_on")
        due_on = _parse_time(due, "due_on", "Milestone") if due is not None else None
        now = self.clock.tick()
        if title is not None:
            ms.title = title
        if "description" in data:
            ms.description = description
        if "due_on" in data:
            ms.due_on = due_on
        if state == "closed" and ms.state != "closed":
            ms.closed_at = now
        elif state == "open":
            ms.closed_at = None
        if state:
            ms.state = state
        ms.updated_at = now

    def _remove_label_everywhere(self, repo: _Repo, key: str) -> None:
        for issue in repo.issues.values():
            if key in issue.labels:
                issue.labels.remove(key)

    # ------------------------------------------------------------- pagination
    def _link_base(self, req: Request, repo: _Repo | None) -> str:
        path = req.path
        if self.canonical_links and repo is not None and req.route is not None:
            route = req.route
            for head in (f"/repos/{repo.owner}/{repo.name}",):
                if route.lower().startswith(head.lower()):
                    route = f"/repositories/{repo.id}" + route[len(head):]
            path = self.prefix + route
        return self.root_url + path

    def _paginate(self, req: Request, items: list[Any], render: Any,
                  repo: _Repo | None = None) -> Response:
        try:
            per_page = int(req.arg("per_page", "30") or 30)
        except ValueError:
            per_page = 30
        per_page = min(max(per_page, 1), 100)
        try:
            page = max(int(req.arg("page", "1") or 1), 1)
        except ValueError:
            page = 1
        last = max(1, math.ceil(len(items) / per_page))
        chunk = items[(page - 1) * per_page: page * per_page]
        body = [render(item) for item in chunk]
        headers: dict[str, str] = {}
        base = self._link_base(req, repo)

        def link(p: int, rel: str) -> str:
            pairs: list[tuple[str, str]] = []
            replaced = False
            for key, values in req.query.items():
                for value in values:
                    if key == "page":
                        if not replaced:
                            pairs.append(("page", str(p)))
                            replaced = True
                    else:
                        pairs.append((key, value))
            if not replaced:
                pairs.append(("page", str(p)))
            return f'<{base}?{urlencode(pairs)}>; rel="{rel}"'

        links = []
        if page > 1:
            links.append(link(page - 1, "prev"))
        if page < last:
            links.append(link(page + 1, "next"))
            links.append(link(last, "last"))
        if page > 1:
            links.append(link(1, "first"))
        if links:
            headers["Link"] = ", ".join(links)
        return Response(200, body, headers)

    # ----------------------------------------------------------------- server
    def not_found(self, req: Request) -> Response:
        return Response(404, {"message": "Not Found", "documentation_url": DOCS})

    def handle(self, req: Request) -> Response:
        self._roll_rate_window()
        if not self._authed(req):
            return Response(401, {"message": "Bad credentials", "documentation_url": DOCS},
                            charged=False)
        if self.rate_remaining <= 0:
            return Response(403, {
                "message": f"API rate limit exceeded for user ID {self.user_id}. If you reach out to "
                           "GitHub Support for help, please include the request ID "
                           f"{self._peek_request_id()} and timestamp {self.clock.now():%Y-%m-%d %H:%M:%S} UTC.",
                "documentation_url": RATE_DOCS + "#about-the-primary-rate-limit",
            }, charged=False)
        if req.is_write and req.raw_body.strip() and req.body is None:
            return Response(400, {"message": "Problems parsing JSON", "documentation_url": DOCS})
        resp = super().handle(req)
        if req.method == "GET" and resp.status == 200 and resp.body is not None:
            etag = 'W/"' + hashlib.sha256(json.dumps(resp.body).encode()).hexdigest() + '"'
            resp.headers["ETag"] = etag
            inm = req.header("if-none-match")
            if inm and _etag_matches(inm, etag):
                keep = {k: v for k, v in resp.headers.items() if k.lower() in ("etag", "link")}
                return Response(304, None, keep, charged=False)
        return resp

    def _peek_request_id(self) -> str:
        return self._format_request_id(self._last_request_no + 1)

    _last_request_no = 0

    @staticmethod
    def _format_request_id(n: int) -> str:
        return f"FA4E:{n % 0xFFFF:04X}:{n * 7919 % 0xFFFFFF:06X}:{n * 104729 % 0xFFFFFFF:07X}:{n:08X}"

    def decorate(self, req: Request, resp: Response) -> None:
        self._roll_rate_window()
        authed = self._authed(req)
        if authed:
            if resp.charged:
                self.rate_used = min(self.rate_used + 1, self.rate_limit)
            limit, used = self.rate_limit, self.rate_used
        else:
            resp.charged = False
            self.unauth_used += 1
            limit, used = 60, min(self.unauth_used, 60)
        self._last_request_no = next(self._request_ids)
        headers = {
            "x-ratelimit-limit": str(limit),
            "x-ratelimit-remaining": str(max(limit - used, 0)),
            "x-ratelimit-used": str(used),
            "x-ratelimit-reset": str(self.rate_reset),
            "x-ratelimit-resource": "core",
            "x-github-request-id": self._format_request_id(self._last_request_no),
            "x-github-media-type": "github.v3; format=json",
            "x-github-api-version-selected": "2022-11-28",
            "Vary": "Accept, Authorization, Cookie, X-GitHub-OTP",
        }
        if authed:
            headers["X-OAuth-Scopes"] = "repo"
            headers["X-Accepted-OAuth-Scopes"] = "repo"
        if resp.status not in (204, 304) and resp.body is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
        for key, value in headers.items():
            if resp.header(key) is None:
                resp.headers[key] = value

    # ----------------------------------------------------------------- routes
    def _register_routes(self) -> None:
        r = self.route
        r("GET", r"/rate_limit", self._h_rate_limit)
        r("GET", r"/user", self._h_user)
        r("GET", _R, self._h_repo)
        r("GET", _R + r"/issues", self._h_list_issues)
        r("POST", _R + r"/issues", self._h_create_issue)
        r("GET", _R + r"/issues/comments/(?P<cid>\d+)", self._h_get_comment)
        r("PATCH", _R + r"/issues/comments/(?P<cid>\d+)", self._h_edit_comment)
        r("DELETE", _R + r"/issues/comments/(?P<cid>\d+)", self._h_delete_comment)
        r("GET", _R + r"/issues/(?P<number>\d+)", self._h_get_issue)
        r("PATCH", _R + r"/issues/(?P<number>\d+)", self._h_edit_issue)
        r("GET", _R + r"/issues/(?P<number>\d+)/comments", self._h_list_comments)
        r("POST", _R + r"/issues/(?P<number>\d+)/comments", self._h_create_comment)
        r("GET", _R + r"/issues/(?P<number>\d+)/labels", self._h_issue_labels)
        r("POST", _R + r"/issues/(?P<number>\d+)/labels", self._h_add_issue_labels)
        r("PUT", _R + r"/issues/(?P<number>\d+)/labels", self._h_set_issue_labels)
        r("DELETE", _R + r"/issues/(?P<number>\d+)/labels", self._h_clear_issue_labels)
        r("DELETE", _R + r"/issues/(?P<number>\d+)/labels/(?P<label>[^/]+)", self._h_remove_issue_label)
        r("PUT", _R + r"/issues/(?P<number>\d+)/lock", self._h_lock)
        r("DELETE", _R + r"/issues/(?P<number>\d+)/lock", self._h_unlock)
        r("GET", _R + r"/milestones", self._h_list_milestones)
        r("POST", _R + r"/milestones", self._h_create_milestone)
        r("GET", _R + r"/milestones/(?P<number>\d+)", self._h_get_milestone)
        r("PATCH", _R + r"/milestones/(?P<number>\d+)", self._h_edit_milestone)
        r("DELETE", _R + r"/milestones/(?P<number>\d+)", self._h_delete_milestone)
        r("GET", _R + r"/labels", self._h_list_labels)
        r("POST", _R + r"/labels", self._h_create_label)
        r("GET", _R + r"/labels/(?P<label>[^/]+)", self._h_get_label)
        r("PATCH", _R + r"/labels/(?P<label>[^/]+)", self._h_edit_label)
        r("DELETE", _R + r"/labels/(?P<label>[^/]+)", self._h_delete_label)

    # --- account
    def _h_rate_limit(self, req: Request) -> Response:
        core = {"limit": self.rate_limit, "used": self.rate_used,
                "remaining": self.rate_remaining, "reset": self.rate_reset}

        def bucket(limit: int) -> dict[str, int]:
            return {"limit": limit, "used": 0, "remaining": limit, "reset": self.rate_reset}

        body = {
            "resources": {
                "core": core,
                "search": bucket(30),
                "graphql": bucket(5000),
                "integration_manifest": bucket(5000),
                "code_search": bucket(10),
            },
            "rate": dict(core),
        }
        return Response(200, body, charged=False)

    def _h_user(self, req: Request) -> dict[str, Any]:
        user = self._user_json()
        user.update({"name": "Guidesync Bot", "email": None, "public_repos": 0,
                     "created_at": "2020-01-01T00:00:00Z", "updated_at": "2020-01-01T00:00:00Z"})
        return user

    # --- repository
    def _h_repo(self, req: Request, **kw: str) -> dict[str, Any]:
        return self._repo_json(self._api_repo(**kw))

    # --- issues
    def _h_list_issues(self, req: Request, **kw: str) -> Response:
        repo = self._api_repo(**kw)
        state = req.arg("state", "open") or "open"
        if state not in ("open", "closed", "all"):
            raise _validation("Issue", "state", "invalid", state)
        items = [i for i in repo.issues.values() if i.live and (state == "all" or i.state == state)]
        labels = req.arg("labels")
        if labels:
            wanted = [name.strip().lower() for name in labels.split(",") if name.strip()]
            items = [i for i in items if all(w in i.labels for w in wanted)]
        milestone = req.arg("milestone")
        if milestone is not None and milestone != "":
            if milestone == "*":
                items = [i for i in items if i.milestone is not None]
            elif milestone == "none":
                items = [i for i in items if i.milestone is None]
            elif milestone.isdigit():
                items = [i for i in items if i.milestone == int(milestone)]
            else:
                raise _validation("Issue", "milestone", "invalid", milestone)
        since = req.arg("since")
        if since:
            since_dt = _parse_time(since, "since", "Issue")
            items = [i for i in items if i.updated_at >= since_dt]
        sort = req.arg("sort", "created") or "created"
        direction = req.arg("direction", "desc") or "desc"
        if sort not in ("created", "updated", "comments"):
            raise _validation("Issue", "sort", "invalid", sort)
        if direction not in ("asc", "desc"):
            raise _validation("Issue", "direction", "invalid", direction)
        keyf = {
            "created": lambda i: (i.created_at, i.number),
            "updated": lambda i: (i.updated_at, i.number),
            "comments": lambda i: (len(i.comments), i.number),
        }[sort]
        items.sort(key=keyf, reverse=direction == "desc")
        return self._paginate(req, items, lambda i: self._issue_json(repo, i), repo)

    def _h_create_issue(self, req: Request, **kw: str) -> Response:
        repo = self._api_repo(**kw)
        self._check_write(repo)
        issue = self._create_issue(repo, req.json())
        body = self._issue_json(repo, issue)
        return Response(201, body, {"Location": body["url"]})

    def _h_get_issue(self, req: Request, number: str, **kw: str) -> dict[str, Any]:
        repo = self._api_repo(**kw)
        return self._issue_json(repo, self._find_issue(repo, number))

    def _h_edit_issue(self, req: Request, number: str, **kw: str) -> dict[str, Any]:
        repo = self._api_repo(**kw)
        self._check_write(repo)
        issue = self._find_issue(repo, number)
        self._edit_issue(repo, issue, req.json())
        return self._issue_json(repo, issue)

    # --- comments
    def _h_list_comments(self, req: Request, number: str, **kw: str) -> Response:
        repo = self._api_repo(**kw)
        issue = self._find_issue(repo, number, suffix="/comments")
        comments = list(issue.comments)
        since = req.arg("since")
        if since:
            since_dt = _parse_time(since, "since", "IssueComment")
            comments = [c for c in comments if c.updated_at >= since_dt]
        return self._paginate(req, comments, lambda c: self._comment_json(repo, issue, c), repo)

    def _h_create_comment(self, req: Request, number: str, **kw: str) -> Response:
        repo = self._api_repo(**kw)
        self._check_write(repo)
        issue = self._find_issue(repo, number, suffix="/comments")
        if issue.locked and self.locked_comments_forbidden:
            raise ApiError(403, {"message": LOCKED_MESSAGE,
                                 "documentation_url": "https://docs.github.com/articles/locking-conversations/"})
        comment = self._add_comment(repo, issue, req.json().get("body"))
        body = self._comment_json(repo, issue, comment)
        return Response(201, body, {"Location": body["url"]})

    def _comment_by_id(self, repo: _Repo, cid: str) -> tuple[_Issue, _Comment]:
        for issue in repo.issues.values():
            if not issue.live:
                continue
            for comment in issue.comments:
                if comment.id == int(cid):
                    return issue, comment
        raise _not_found()

    def _h_get_comment(self, req: Request, cid: str, **kw: str) -> dict[str, Any]:
        repo = self._api_repo(**kw)
        issue, comment = self._comment_by_id(repo, cid)
        return self._comment_json(repo, issue, comment)

    def _h_edit_comment(self, req: Request, cid: str, **kw: str) -> dict[str, Any]:
        repo = self._api_repo(**kw)
        self._check_write(repo)
        issue, comment = self._comment_by_id(repo, cid)
        body = req.json().get("body")
        if not isinstance(body, str) or not body.strip():
            raise _validation("IssueComment", "body", "missing_field")
        comment.body = body
        comment.updated_at = self.clock.tick()
        return self._comment_json(repo, issue, comment)

    def _h_delete_comment(self, req: Request, cid: str, **kw: str) -> Response:
        repo = self._api_repo(**kw)
        self._check_write(repo)
        issue, comment = self._comment_by_id(repo, cid)
        issue.comments.remove(comment)
        self.clock.tick()
        return Response(204)

    # --- issue labels
    def _issue_labels_json(self, repo: _Repo, issue: _Issue) -> list[dict[str, Any]]:
        return [self._label_json(repo, repo.labels[k]) for k in issue.labels if k in repo.labels]

    def _h_issue_labels(self, req: Request, number: str, **kw: str) -> Response:
        repo = self._api_repo(**kw)
        issue = self._find_issue(repo, number, suffix="/labels")
        labels = [repo.labels[k] for k in issue.labels if k in repo.labels]
        return self._paginate(req, labels, lambda lb: self._label_json(repo, lb), repo)

    def _set_labels(self, req: Request, number: str, kw: dict[str, str], replace: bool) -> Any:
        repo = self._api_repo(**kw)
        self._check_write(repo)
        issue = self._find_issue(repo, number, suffix="/labels")
        names = self._label_names(req.body if req.body is not None else [])
        now = self.clock.tick()
        keys = [] if replace else list(issue.labels)
        for name in names:
            key = self._label_for(repo, name, now, create=True)
            if key not in keys:
                keys.append(key)
        issue.labels = keys
        issue.updated_at = now
        return self._issue_labels_json(repo, issue)

    def _h_add_issue_labels(self, req: Request, number: str, **kw: str) -> Any:
        return self._set_labels(req, number, kw, replace=False)

    def _h_set_issue_labels(self, req: Request, number: str, **kw: str) -> Any:
        return self._set_labels(req, number, kw, replace=True)

    def _h_clear_issue_labels(self, req: Request, number: str, **kw: str) -> Response:
        repo = self._api_repo(**kw)
        self._check_write(repo)
        issue = self._find_issue(repo, number, suffix="/labels")
        issue.labels = []
        issue.updated_at = self.clock.tick()
        return Response(204)

    def _h_remove_issue_label(self, req: Request, number: str, label: str, **kw: str) -> Any:
        repo = self._api_repo(**kw)
        self._check_write(repo)
        issue = self._find_issue(repo, number, suffix=f"/labels/{quote(label, safe='')}")
        key = label.lower()
        if key not in issue.labels:
            raise ApiError(404, {"message": "Label does not exist",
                                 "documentation_url": DOCS + "/issues/labels#remove-a-label-from-an-issue"})
        issue.labels.remove(key)
        issue.updated_at = self.clock.tick()
        return self._issue_labels_json(repo, issue)

    # --- lock
    def _h_lock(self, req: Request, number: str, **kw: str) -> Response:
        repo = self._api_repo(**kw)
        self._check_write(repo)
        issue = self._find_issue(repo, number, suffix="/lock")
        reason = req.json().get("lock_reason")
        if reason is not None and reason not in LOCK_REASONS:
            raise _validation("Issue", "lock_reason", "invalid", reason)
        issue.locked, issue.lock_reason = True, reason
        issue.updated_at = self.clock.tick()
        return Response(204)

    def _h_unlock(self, req: Request, number: str, **kw: str) -> Response:
        repo = self._api_repo(**kw)
        self._check_write(repo)
        issue = self._find_issue(repo, number, suffix="/lock")
        issue.locked, issue.lock_reason = False, None
        issue.updated_at = self.clock.tick()
        return Response(204)

    # --- milestones
    def _h_list_milestones(self, req: Request, **kw: str) -> Response:
        repo = self._api_repo(**kw)
        state = req.arg("state", "open") or "open"
        if state not in ("open", "closed", "all"):
            raise _validation("Milestone", "state", "invalid", state)
        sort = req.arg("sort", "due_on") or "due_on"
        direction = req.arg("direction", "asc") or "asc"
        if sort not in ("due_on", "completeness"):
            raise _validation("Milestone", "sort", "invalid", sort)
        if direction not in ("asc", "desc"):
            raise _validation("Milestone", "direction", "invalid", direction)
        items = [m for m in repo.milestones.values() if state == "all" or m.state == state]
        far = datetime.max.replace(tzinfo=timezone.utc)

        def completeness(m: _Milestone) -> float:
            o, c = self._milestone_counts(repo, m.number)
            return c / (o + c) if (o + c) else 0.0

        if sort == "due_on":
            items.sort(key=lambda m: (m.due_on or far, m.number), reverse=direction == "desc")
        else:
            items.sort(key=lambda m: (completeness(m), m.number), reverse=direction == "desc")
        return self._paginate(req, items, lambda m: self._milestone_json(repo, m), repo)

    def _h_create_milestone(self, req: Request, **kw: str) -> Response:
        repo = self._api_repo(**kw)
        self._check_write(repo)
        ms = self._create_milestone(repo, req.json())
        body = self._milestone_json(repo, ms)
        return Response(201, body, {"Location": body["url"]})

    def _create_milestone(self, repo: _Repo, data: dict[str, Any]) -> _Milestone:
        title = self._check_milestone_title(repo, data.get("title"))
        state = data.get("state", "open") or "open"
        if state not in ("open", "closed"):
            raise _validation("Milestone", "state", "invalid", state)
        description = data.get("description")
        if description is not None and not isinstance(description, str):
            raise _validation("Milestone", "description", "invalid", description)
        due = data.get("due_on")
        due_on = _parse_time(due, "due_on", "Milestone") if due is not None else None
        now = self.clock.tick()
        number = repo.next_milestone
        repo.next_milestone += 1
        ms = _Milestone(self._next_id(), number, title, now, now, description=description,
                        state=state, closed_at=now if state == "closed" else None, due_on=due_on)
        repo.milestones[number] = ms
        return ms

    def _h_get_milestone(self, req: Request, number: str, **kw: str) -> dict[str, Any]:
        repo = self._api_repo(**kw)
        return self._milestone_json(repo, self._find_milestone(repo, number))

    def _h_edit_milestone(self, req: Request, number: str, **kw: str) -> dict[str, Any]:
        repo = self._api_repo(**kw)
        self._check_write(repo)
        ms = self._find_milestone(repo, number)
        self._edit_milestone(repo, ms, req.json())
        return self._milestone_json(repo, ms)

    def _h_delete_milestone(self, req: Request, number: str, **kw: str) -> Response:
        repo = self._api_repo(**kw)
        self._check_write(repo)
        ms = self._find_milestone(repo, number)
        self._drop_milestone(repo, ms.number)
        return Response(204)

    def _drop_milestone(self, repo: _Repo, number: int) -> None:
        self.clock.tick()
        del repo.milestones[number]
        for issue in repo.issues.values():
            if issue.milestone == number:
                issue.milestone = None

    # --- labels
    def _h_list_labels(self, req: Request, **kw: str) -> Response:
        repo = self._api_repo(**kw)
        labels = sorted(repo.labels.values(), key=lambda lb: lb.name.lower())
        return self._paginate(req, labels, lambda lb: self._label_json(repo, lb), repo)

    def _h_get_label(self, req: Request, label: str, **kw: str) -> dict[str, Any]:
        repo = self._api_repo(**kw)
        return self._label_json(repo, self._find_label(repo, label))

    def _h_create_label(self, req: Request, **kw: str) -> Response:
        repo = self._api_repo(**kw)
        self._check_write(repo)
        label = self._create_label(repo, req.json())
        body = self._label_json(repo, label)
        return Response(201, body, {"Location": body["url"]})

    def _create_label(self, repo: _Repo, data: dict[str, Any]) -> _Label:
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise _validation("Label", "name", "missing_field")
        name = name.strip()
        if name.lower() in repo.labels:
            raise _validation("Label", "name", "already_exists",
                              doc=DOCS + "/issues/labels#create-a-label")
        color = str(data.get("color") or "ededed").lstrip("#").lower()
        self.clock.tick()
        label = _Label(self._next_id(), name, color, data.get("description"))
        repo.labels[name.lower()] = label
        return label

    def _h_edit_label(self, req: Request, label: str, **kw: str) -> dict[str, Any]:
        repo = self._api_repo(**kw)
        self._check_write(repo)
        lb = self._find_label(repo, label)
        data = req.json()
        new_name = data.get("new_name")
        if new_name is not None:
            if not isinstance(new_name, str) or not new_name.strip():
                raise _validation("Label", "name", "invalid", new_name)
            new_key = new_name.strip().lower()
            old_key = lb.name.lower()
            if new_key != old_key and new_key in repo.labels:
                raise _validation("Label", "name", "already_exists")
            del repo.labels[old_key]
            lb.name = new_name.strip()
            repo.labels[new_key] = lb
            for issue in repo.issues.values():
                issue.labels = [new_key if k == old_key else k for k in issue.labels]
        if data.get("color") is not None:
            lb.color = str(data["color"]).lstrip("#").lower()
        if "description" in data:
            lb.description = data["description"]
        self.clock.tick()
        return self._label_json(repo, lb)

    def _h_delete_label(self, req: Request, label: str, **kw: str) -> Response:
        repo = self._api_repo(**kw)
        self._check_write(repo)
        lb = self._find_label(repo, label)
        self.clock.tick()
        del repo.labels[lb.name.lower()]
        self._remove_label_everywhere(repo, lb.name.lower())
        return Response(204)

    # ---------------------------------------------------------- fault helpers
    def secondary_rate_limit(self, path: str, method: str | None = "POST", nth: int = 1,
                             retry_after: int = 1, times: int = 1):
        """Answer GitHub's secondary-rate-limit 403 (with ``Retry-After``) on the
        ``nth`` matching request (and ``times - 1`` more)."""
        return self.add_fault(
            method=method, path=path, kind="status", nth=nth, times=times, status=403,
            body={"message": SECONDARY_MESSAGE.format(rid="FA4E:0000:000000:0000000:00000000"),
                  "documentation_url": RATE_DOCS + "#about-secondary-rate-limits"},
            headers={"Retry-After": str(retry_after)},
        )

    def too_many_requests(self, path: str, method: str | None = None, nth: int = 1,
                          retry_after: int = 1, times: int = 1):
        """Answer ``429 Too Many Requests`` with ``Retry-After`` (GitHub's other
        secondary-limit answer) on the ``nth`` matching request."""
        return self.add_fault(
            method=method, path=path, kind="status", nth=nth, times=times, status=429,
            body={"message": SECONDARY_MESSAGE.format(rid="FA4E:0000:000000:0000000:00000000"),
                  "documentation_url": RATE_DOCS + "#about-secondary-rate-limits"},
            headers={"Retry-After": str(retry_after)},
        )

    # ---------------------------------------------------- direct state API
    # (no HTTP; every mutation ticks the clock; repo names are case-insensitive)
    def issues(self, repo: str = "acme/shop") -> dict[int, dict[str, Any]]:
        """Live issues (not deleted / transferred away) as API JSON, by number."""
        with self.lock:
            r = self._repo(repo)
            return {n: self._issue_json(r, i) for n, i in sorted(r.issues.items()) if i.live}

    def issue(self, repo: str, number: int) -> dict[str, Any]:
        with self.lock:
            r = self._repo(repo)
            return self._issue_json(r, self._direct_issue(r, number))

    def milestones(self, repo: str = "acme/shop") -> dict[int, dict[str, Any]]:
        with self.lock:
            r = self._repo(repo)
            return {n: self._milestone_json(r, m) for n, m in sorted(r.milestones.items())}

    def labels(self, repo: str = "acme/shop") -> dict[str, dict[str, Any]]:
        """Labels as API JSON keyed by their (display) name."""
        with self.lock:
            r = self._repo(repo)
            return {lb.name: self._label_json(r, lb) for lb in r.labels.values()}

    def comments(self, repo: str, number: int) -> list[dict[str, Any]]:
        with self.lock:
            r = self._repo(repo)
            issue = self._direct_issue(r, number)
            return [self._comment_json(r, issue, c) for c in issue.comments]

    def _direct_issue(self, repo: _Repo, number: int) -> _Issue:
        issue = repo.issues.get(int(number))
        if issue is None or not issue.live:
            raise KeyError(f"no live issue #{number} in {repo.full_name}")
        return issue

    def create_issue(self, repo: str, title: str, body: str = "", milestone: int | str | None = None,
                     labels: Iterable[str] = ()) -> int:
        """Create an issue; ``milestone`` is a number or a title. Returns its number."""
        with self.lock:
            r = self._repo(repo)
            if isinstance(milestone, str) and not milestone.isdigit():
                milestone = next(m.number for m in r.milestones.values() if m.title == milestone)
            data: dict[str, Any] = {"title": title, "body": body, "labels": list(labels)}
            if milestone is not None:
                data["milestone"] = int(milestone)
            return self._create_issue(r, data).number

    def edit_issue(self, repo: str, number: int, **fields: Any) -> None:
        """Same fields as PATCH /issues/{n}: title, body, state, state_reason, milestone, labels."""
        with self.lock:
            r = self._repo(repo)
            self._edit_issue(r, self._direct_issue(r, number), fields)

    def close_issue(self, repo: str, number: int, reason: str = "completed") -> None:
        self.edit_issue(repo, number, state="closed", state_reason=reason)

    def reopen_issue(self, repo: str, number: int) -> None:
        self.edit_issue(repo, number, state="open")

    def delete_issue(self, repo: str, number: int) -> None:
        with self.lock:
            r = self._repo(repo)
            self._direct_issue(r, number).deleted = True
            self.clock.tick()

    def transfer_issue(self, repo: str, number: int, to_repo: str) -> int:
        """Move an issue (comments, matching labels/milestone by name) to ``to_repo``;
        the old number then answers 301. Returns the new number."""
        with self.lock:
            src, dst = self._repo(repo), self._repo(to_repo)
            old = self._direct_issue(src, number)
            now = self.clock.tick()
            new_number = dst.next_issue
            dst.next_issue += 1
            ms_title = src.milestones[old.milestone].title if old.milestone in src.milestones else None
            new_ms = next((m.number for m in dst.milestones.values() if m.title == ms_title), None)
            new = _Issue(
                old.id, new_number, old.title, old.created_at, now, body=old.body, state=old.state,
                state_reason=old.state_reason, labels=[k for k in old.labels if k in dst.labels],
                milestone=new_ms, closed_at=old.closed_at, locked=old.locked,
                lock_reason=old.lock_reason, comments=list(old.comments),
            )
            dst.issues[new_number] = new
            old.moved_to = (dst.full_name.lower(), new_number)
            return new_number

    def lock_issue(self, repo: str, number: int, reason: str | None = None) -> None:
        with self.lock:
            issue = self._direct_issue(self._repo(repo), number)
            issue.locked, issue.lock_reason = True, reason
            issue.updated_at = self.clock.tick()

    def unlock_issue(self, repo: str, number: int) -> None:
        with self.lock:
            issue = self._direct_issue(self._repo(repo), number)
            issue.locked, issue.lock_reason = False, None
            issue.updated_at = self.clock.tick()

    def add_comment(self, repo: str, number: int, body: str) -> int:
        with self.lock:
            r = self._repo(repo)
            return self._add_comment(r, self._direct_issue(r, number), body).id

    def create_milestone(self, repo: str, title: str, *, description: str | None = None,
                         state: str = "open", due_on: str | None = None) -> int:
        with self.lock:
            data: dict[str, Any] = {"title": title, "description": description, "state": state}
            if due_on is not None:
                data["due_on"] = due_on
            return self._create_milestone(self._repo(repo), data).number

    def edit_milestone(self, repo: str, number: int, **fields: Any) -> None:
        """Same fields as PATCH /milestones/{n}: title, state, description, due_on."""
        with self.lock:
            r = self._repo(repo)
            ms = r.milestones.get(int(number))
            if ms is None:
                raise KeyError(f"no milestone #{number} in {r.full_name}")
            self._edit_milestone(r, ms, fields)

    def rename_milestone(self, repo: str, number: int, title: str) -> None:
        self.edit_milestone(repo, number, title=title)

    def delete_milestone(self, repo: str, number: int) -> None:
        with self.lock:
            r = self._repo(repo)
            if int(number) not in r.milestones:
                raise KeyError(f"no milestone #{number} in {r.full_name}")
            self._drop_milestone(r, int(number))

    def create_label(self, repo: str, name: str, color: str = "ededed",
                     description: str | None = None) -> None:
        with self.lock:
            self._create_label(self._repo(repo),
                               {"name": name, "color": color, "description": description})

    def remove_label(self, repo: str, number: int, name: str) -> None:
        """Take label ``name`` off issue ``number`` (the label itself stays)."""
        with self.lock:
            issue = self._direct_issue(self._repo(repo), number)
            key = name.lower()
            if key not in issue.labels:
                raise KeyError(f"issue #{number} has no label {name!r}")
            issue.labels.remove(key)
            issue.updated_at = self.clock.tick()

    def delete_label(self, repo: str, name: str) -> None:
        with self.lock:
            r = self._repo(repo)
            key = name.lower()
            if key not in r.labels:
                raise KeyError(f"no label {name!r} in {r.full_name}")
            self.clock.tick()
            del r.labels[key]
            self._remove_label_everywhere(r, key)

    def archive(self, repo: str, archived: bool = True) -> None:
        with self.lock:
            self._repo(repo).archived = archived
            self.clock.tick()
