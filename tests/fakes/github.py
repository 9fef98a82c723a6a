"""A stateful fake of GitHub's REST API (v3 JSON shapes) for tests.

Good enough for the real PyGithub client::

    fake = FakeGitHub(repos=("acme/shop",)).start()
    gh = github.Github(auth=github.Auth.Token("test-token"), base_url=fake.url,
                       seconds_between_requests=0, seconds_between_writes=0,
                       retry=None, per_page=100, lazy=True)

Covered: repositories, issues (list filters, pagination with ``Link``, weak
``ETag``/``If-None-Match``), issue comments, issue labels, lock/unlock,
milestones, labels, assignees (who can be assigned), issue dependencies
(``blocked_by``), ``/rate_limit`` and ``/user``; primary rate limit,
bad credentials, read-only tokens, archived repositories, deleted (410) and
transferred (301) issues; secondary-rate-limit / 429 fault helpers; an opt-in model of
the content-creation secondary limits (80/minute, 500/hour: ``content_limits=``,
:meth:`FakeGitHub.limit_content`, tests/fakes/secondary_limits.py).

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
* A label named in an issue create or edit that does not exist is created
  (colour ``ededed``, no description), as GitHub does (github/docs issue
  #35718; the REST description says nothing either way).
* Assignees: only collaborators (``add_collaborator``; a personal account's
  owner) can be assigned; ``GET /assignees/{login}`` answers 204 or 404;
  another login in an issue create or edit is refused or dropped, see
  ``unassignable``. Logins are case-insensitive; answers spell them as GitHub
  knows them.
* Milestone ``due_on`` keeps only the day in US Pacific time (see ``PACIFIC``);
  answers give that day's Pacific midnight in UTC; ``null`` clears it on an
  edit and is refused on a create.
* Issue dependencies (``…/dependencies/blocked_by``) exist on github.com only,
  not on GHES (404 there, like the REST sub-issues).
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from typing import Any, Iterable
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from .base import ApiError, FakeServer, Request, Response
from .graphql_schema import GITHUB_PROJECTS_SDL, GITHUB_SCALARS, GITHUB_SDL, GITHUB_SUB_ISSUES_SDL, GraphQLError, Schema
from .graphql_schema import parse as parse_graphql
from .secondary_limits import AUTO, ContentBudget, ContentLimits
from .projects import FakeProjects, _connection as connection

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
SUB_ISSUES_DOCS = DOCS + "/issues/sub-issues"
GRAPHQL_AUTH_DOCS = "https://docs.github.com/graphql/guides/forming-calls-with-graphql#authenticating-with-graphql"
#: GitHub Enterprise Server: the version the fake reports when it serves under /api/v3 and no
#: ``ghes_version`` is given, and the versions the sub-issue API appeared in (notes §3):
#: sub-issues shipped in 3.16 (release notes), GraphQL ``addSubIssue`` is documented from 3.17;
#: 3.16's GraphQL could not be confirmed, so the fake takes the stricter reading (3.17).
DEFAULT_GHES_VERSION = "3.17.0"
GHES_GRAPHQL_SUB_ISSUES_SINCE = (3, 17)
ADD_SUB_ISSUE_ERROR = "An error occurred while adding the sub-issue to the parent issue. "
LOCK_REASONS = ("off-topic", "too heated", "resolved", "spam")
ASSIGNEES_DOCS = DOCS + "/issues/assignees"
DEPENDENCIES_DOCS = DOCS + "/issues/issue-dependencies"
#: GitHub keeps a milestone's due date as a day in US Pacific time (an artifact of GitHub's
#: design, as GitHub staff explained on the community forum; quoted in microsoft/PowerShellForGitHub
#: PR #133: "all timestamps in the database are normalized to Pacific time ... midnight Pacific time
#: is 7AM or 8AM UTC time depending on whether Pacific time is in daylight savings"): a ``due_on``
#: of 2020-09-24T06:59:00Z lands on Sep 23, one of 07:01Z on Sep 24; answers give that day's
#: Pacific midnight in UTC.
PACIFIC = ZoneInfo("America/Los_Angeles")

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
    due_on: date | None = None  # the day, in US Pacific time (see PACIFIC)


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
    pull_request: bool = False  # a pull request seen through the issues API
    parent: int | None = None  # REST id of the parent issue (sub-issues)
    sub_issues: list[int] = field(default_factory=list)  # REST ids of the children, in priority order
    assignees: list[str] = field(default_factory=list)  # user keys (lower-case logins), in order
    blocked_by: list[int] = field(default_factory=list)  # REST ids of the issues blocking it, in order added

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
    #: the owner's kind: an organisation cannot be assigned, a personal account's owner can
    owner_type: str = "Organization"
    #: who can be assigned to its issues (lower-case login -> login): collaborators, members
    collaborators: dict[str, str] = field(default_factory=dict)

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


def _due_day(value: Any, *, creating: bool) -> date | None:
    """The day a milestone's ``due_on`` lands on: a time is taken in US Pacific time (see
    PACIFIC); a bare date (PyGithub sends one for a ``date``) is that day. ``null`` clears it on
    an edit; a create refuses it ("the GitHub create-milestone API requires due_on to be a string
    when present and rejects null", harvester/harvester PR #11739)."""
    if value is None:
        if creating:
            raise _validation("Milestone", "due_on", "invalid", None)
        return None
    if isinstance(value, str) and len(value.strip()) == 10:
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise _validation("Milestone", "due_on", "invalid", value) from None
    return _parse_time(value, "due_on", "Milestone").astimezone(PACIFIC).date()


def _pacific_midnight(day: date) -> datetime:
    """The start of ``day`` in US Pacific time, in UTC (07:00 or 08:00 as daylight saving says)."""
    return datetime.combine(day, time(0, 0), tzinfo=PACIFIC).astimezone(timezone.utc)


def _validation(resource: str, field_name: str, code: str, value: Any = None,
                doc: str = DOCS) -> ApiError:
    err: dict[str, Any] = {"resource": resource, "code": code, "field": field_name}
    if code == "invalid" and value is not None:  # a null value would fit every branch of the schema's oneOf
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
        ghes_version: str | None = None,
        content_limits: tuple[int, int] | None = None,
    ) -> None:
        super().__init__(latency=latency, prefix=prefix)
        #: GitHub's content-creation secondary limits (see :meth:`limit_content`; off by default:
        #: content requests are then only recorded). ``content_limits=(80, 500)`` turns them on
        #: with the default answer.
        self.content = ContentBudget()
        if content_limits is not None:
            self.limit_content(*content_limits)
        self.token = token
        #: GitHub Enterprise Server version ("3.15.4", "3.17.0"...). The fake is a GHES when it
        #: serves under ``/api/v3`` (then this defaults to DEFAULT_GHES_VERSION) or when this is
        #: set. A GHES reports it in ``GET /meta`` ``installed_version`` and in the
        #: ``X-GitHub-Enterprise-Version`` header; it has no REST sub-issue operations (they are
        #: not in the GHES descriptions: 404), no ``sub_issues_summary``/``parent_issue_url`` in
        #: issue objects (stricter: not documented for GHES), and GraphQL sub-issue mutations only
        #: from GHES_GRAPHQL_SUB_ISSUES_SINCE (before that ``__type(name: "AddSubIssueInput")`` is
        #: null and the mutations fail validation). Change it any time (the schema follows).
        self.ghes_version = ghes_version
        #: Limits of the sub-issue API (github/docs adding-sub-issues.md: 100 sub-issues per
        #: parent, "up to eight levels of nested sub-issues"). The depth is counted in issues on
        #: the path from the top issue to the deepest sub-issue, the top one included: the
        #: stricter of the two readings of "eight levels".
        self.sub_issue_limit = 100
        self.sub_issue_max_depth = 8
        #: Which issue the REST add/remove/reprioritize answers carry: the spec only says
        #: ``issue`` (its example is the generic issue #1347). "parent" (default, like GraphQL's
        #: payload ``issue``) or "child": code must not depend on which one it is.
        self.sub_issue_answer = "parent"
        #: GraphQL's ``type`` for a refused sub-issue mutation (the notes record VALIDATION for
        #: the 100 limit; stdlib-js/stdlib PR #13376).
        self.graphql_rule_error_type = "VALIDATION"
        #: What an issue create or edit does with a login in ``assignees`` that cannot be
        #: assigned (not a collaborator, see :meth:`add_collaborator`). "reject" (default, the
        #: stricter, as observed for a token with push access: ``422 Validation Failed``, an error
        #: ``{"resource": "Issue", "field": "assignees", "code": "invalid", "value": login}``;
        #: trstringer/manual-approval issue #71, microsoft/vscode-pull-request-github issue #1868)
        #: or "drop" (what the REST description says: "Assignees are silently dropped otherwise",
        #: for a requester without push access): the issue is written without it.
        self.unassignable = "reject"
        #: The most issues one issue may be blocked by (None: no limit; the docs name none).
        self.dependency_limit: int | None = None
        self.graphql_enabled = True
        self.graphql_limit = 5000
        self.graphql_used = 0
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
        self._user_ids = itertools.count(2001)
        self._users: dict[str, tuple[str, int]] = {}  # lower-case login -> (login, id)
        self._request_ids = itertools.count(1)
        self._repos: dict[str, _Repo] = {}
        for full_name in repos:
            self.add_repo(full_name)
        self.projects = FakeProjects(self)  # Projects (v2): tests/fakes/projects.py
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

    # ------------------------------------------------------ GHES / sub-issues
    @property
    def is_ghes(self) -> bool:
        return self.ghes_version is not None or self.prefix.endswith("/api/v3")

    @property
    def installed_version(self) -> str | None:
        if not self.is_ghes:
            return None
        return self.ghes_version or DEFAULT_GHES_VERSION

    def _version_tuple(self) -> tuple[int, ...]:
        version = self.installed_version or ""
        return tuple(int(p) for p in version.split(".") if p.isdigit())

    @property
    def rest_sub_issues(self) -> bool:
        """REST sub-issue operations and issue fields: github.com and GHE.com only."""
        return not self.is_ghes

    @property
    def rest_dependencies(self) -> bool:
        """REST issue dependencies (``…/dependencies/blocked_by``): github.com and GHE.com only
        (github/docs creating-issue-dependencies.md is versioned ``fpt`` and ``ghec``; the GHES
        descriptions have no such operations): a 404 elsewhere, like the REST sub-issues."""
        return not self.is_ghes

    @property
    def graphql_sub_issues(self) -> bool:
        return not self.is_ghes or self._version_tuple()[:2] >= GHES_GRAPHQL_SUB_ISSUES_SINCE

    @property
    def graphql_path(self) -> str:
        """Where GraphQL is served: ``/graphql`` at the API root, or ``/api/graphql`` beside
        ``/api/v3`` (PyGithub's Requester.get_graphql_prefix drops a trailing ``/v3``)."""
        prefix = self.prefix
        if prefix.endswith("/v3"):
            prefix = prefix[: -len("/v3")]
        return prefix + "/graphql"

    @property
    def graphql_url(self) -> str:
        return self.root_url + self.graphql_path

    def _issue_by_id(self, ident: Any) -> tuple[_Repo, _Issue] | None:
        """The live issue with REST id ``ident`` (any repository), or None."""
        if isinstance(ident, bool) or not isinstance(ident, int):
            return None
        for repo in self._repos.values():
            for issue in repo.issues.values():
                if issue.id == ident and issue.live:
                    return repo, issue
        return None

    def _live_children(self, issue: _Issue) -> list[tuple[_Repo, _Issue]]:
        out = []
        for cid in issue.sub_issues:
            found = self._issue_by_id(cid)
            if found is not None:
                out.append(found)
        return out

    def _sub_issues_summary(self, issue: _Issue) -> dict[str, int]:
        children = self._live_children(issue)
        total = len(children)
        completed = sum(1 for _, c in children if c.state == "closed")
        return {"total": total, "completed": completed,
                "percent_completed": (completed * 100) // total if total else 0}

    def _depth(self, issue: _Issue) -> int:
        """Issues on the path from the top ancestor down to ``issue`` (itself included)."""
        depth, seen = 1, {issue.id}
        while issue.parent is not None:
            found = self._issue_by_id(issue.parent)
            if found is None or found[1].id in seen:
                break
            issue = found[1]
            seen.add(issue.id)
            depth += 1
        return depth

    def _height(self, issue: _Issue, seen: frozenset[int] = frozenset()) -> int:
        """Levels of ``issue``'s subtree (1: no sub-issues)."""
        kids = [c for _, c in self._live_children(issue) if c.id not in seen]
        return 1 + max((self._height(c, seen | {issue.id}) for c in kids), default=0)

    def _ancestors(self, issue: _Issue) -> list[int]:
        out: list[int] = []
        while issue.parent is not None and issue.parent not in out:
            out.append(issue.parent)
            found = self._issue_by_id(issue.parent)
            if found is None:
                break
            issue = found[1]
        return out

    def _sub_issue_refusal(self, prepo: _Repo, parent: _Issue, crepo: _Repo, child: _Issue,
                           replace: bool) -> str | None:
        """Why GitHub refuses to put ``child`` under ``parent`` (None: it accepts).

        Observed wording (notes §1): "Sub issue may only have one parent", the "duplicate"
        wording when already under this parent, "Parent cannot have more than 100 sub-issues".
        The other sentences are the fake's own (the rules are documented, the words are not)."""
        if parent.pull_request or child.pull_request:
            return "Pull requests cannot be sub-issues or have sub-issues"
        if child.id == parent.id:
            return "An issue cannot be a sub-issue of itself"
        if crepo.owner.lower() != prepo.owner.lower():
            return "Sub issue must belong to the same repository owner as the parent issue"
        if child.id in parent.sub_issues:
            return "Issue may not contain duplicate sub-issues and Sub issue may only have one parent"
        if child.parent is not None and self._issue_by_id(child.parent) is not None and not replace:
            return "Issue may not contain duplicate sub-issues and Sub issue may only have one parent"
        # closed sub-issues count too (community discussion #207865)
        if len(self._live_children(parent)) >= self.sub_issue_limit:
            return f"Parent cannot have more than {self.sub_issue_limit} sub-issues"
        if child.id in self._ancestors(parent):
            return "Sub issue cannot be an ancestor of its parent issue"
        if self._depth(parent) + self._height(child) > self.sub_issue_max_depth:
            return (f"Sub issue cannot be added: it would exceed the maximum depth of "
                    f"{self.sub_issue_max_depth} levels of nested sub-issues")
        return None

    def _attach(self, parent: _Issue, child: _Issue) -> None:
        """Put ``child`` last under ``parent`` (moving it from its former parent).

        updated_at is left alone, on both: adding a sub-issue does not change the parent's
        ``updatedAt`` (observed on github.com, neomjs/neo issue #7947: "adding a sub-issue on
        GitHub does not update the parent issue's updatedAt timestamp, causing the delta-sync to
        skip the parent"); for the child nothing is documented, and not moving it is the
        stricter choice for a sync tool (a ``since`` listing will not show the change)."""
        if child.parent is not None:
            former = self._issue_by_id(child.parent)
            if former is not None and child.id in former[1].sub_issues:
                former[1].sub_issues.remove(child.id)
        parent.sub_issues = [c for c in parent.sub_issues if self._issue_by_id(c) is not None]
        parent.sub_issues.append(child.id)
        child.parent = parent.id
        self.clock.tick()

    def _detach(self, parent: _Issue, child: _Issue) -> None:
        parent.sub_issues.remove(child.id)
        child.parent = None
        self.clock.tick()  # updated_at untouched, as in _attach

    def _move_sub_issue(self, parent: _Issue, child: _Issue, anchor: _Issue, after: bool) -> None:
        order = [c for c in parent.sub_issues if c != child.id]
        at = order.index(anchor.id) + (1 if after else 0)
        order.insert(at, child.id)
        parent.sub_issues = order
        self.clock.tick()  # updated_at untouched, as in _attach

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

    def _person(self, login: str) -> tuple[str, int]:
        """(login as GitHub spells it, id) of a person, known from now on."""
        key = login.lower()
        if key not in self._users:
            self._users[key] = (login, next(self._user_ids))
        return self._users[key]

    def _assignee_json(self, key: str) -> dict[str, Any]:
        login, ident = self._person(key)
        return self._account_json(login, ident, "User")

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
            "owner": self._account_json(repo.owner, 500 + repo.id % 1000, repo.owner_type),
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
            "due_on": self.clock.iso(_pacific_midnight(ms.due_on)) if ms.due_on else None,
        }

    def _issue_json(self, repo: _Repo, issue: _Issue) -> dict[str, Any]:
        body = self._issue_json_core(repo, issue)
        if issue.pull_request:
            html = f"{self.web_root}/{repo.full_name}/pull/{issue.number}"
            body["html_url"] = html
            body["pull_request"] = {"url": f"{self._repo_api(repo)}/pulls/{issue.number}",
                                    "html_url": html, "diff_url": html + ".diff",
                                    "patch_url": html + ".patch", "merged_at": None}
        if self.rest_sub_issues:
            parent = self._issue_by_id(issue.parent) if issue.parent is not None else None
            body["sub_issues_summary"] = self._sub_issues_summary(issue)
            body["parent_issue_url"] = (f"{self._repo_api(parent[0])}/issues/{parent[1].number}"
                                        if parent else None)
        if self.rest_dependencies:
            body["issue_dependencies_summary"] = self._dependencies_summary(issue)
        return body

    def _dependencies_summary(self, issue: _Issue) -> dict[str, int]:
        """Open and all issues blocking ``issue``, and those it blocks (live ones only)."""
        blockers = self._live_blockers(issue)
        blocked = self._live_blocked(issue)
        return {"blocked_by": sum(1 for _, b in blockers if b.state == "open"), "total_blocked_by": len(blockers),
                "blocking": sum(1 for _, b in blocked if b.state == "open"), "total_blocking": len(blocked)}

    def _live_blockers(self, issue: _Issue) -> list[tuple[_Repo, _Issue]]:
        return [found for bid in issue.blocked_by if (found := self._issue_by_id(bid)) is not None]

    def _live_blocked(self, issue: _Issue) -> list[tuple[_Repo, _Issue]]:
        return [(r, i) for r in self._repos.values() for i in r.issues.values()
                if i.live and issue.id in i.blocked_by]

    def _issue_json_core(self, repo: _Repo, issue: _Issue) -> dict[str, Any]:
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
            "node_id": _node_id("PR" if issue.pull_request else "I", issue.id),
            "number": issue.number,
            "title": issue.title,
            "user": self._user_json(),
            "labels": labels,
            "state": issue.state,
            "state_reason": issue.state_reason,
            "locked": issue.locked,
            "active_lock_reason": issue.lock_reason if issue.locked else None,
            "assignee": self._assignee_json(issue.assignees[0]) if issue.assignees else None,
            "assignees": [self._assignee_json(key) for key in issue.assignees],
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
    def add_repo(self, full_name: str, *, private: bool = True, archived: bool = False,
                 owner_type: str = "Organization") -> None:
        """Create an (empty) repository ``owner/name``. ``owner_type`` "User": a personal
        account's repository, whose owner can be assigned (an organisation cannot)."""
        owner, _, name = full_name.partition("/")
        if not owner or not name or "/" in name:
            raise ValueError(f"repository must be 'owner/name', got {full_name!r}")
        if owner_type not in ("Organization", "User"):
            raise ValueError(f"owner_type must be 'Organization' or 'User', got {owner_type!r}")
        with self.lock:
            if full_name.lower() in self._repos:
                raise ValueError(f"repository {full_name!r} already exists")
            rid = 100_000 + len(self._repos) + 1
            repo = _Repo(rid, owner, name, self.clock.now(), private=private, archived=archived,
                         owner_type=owner_type)
            if owner_type == "User":
                repo.collaborators[owner.lower()] = self._person(owner)[0]
            self._repos[full_name.lower()] = repo

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

    def _assignee_keys(self, repo: _Repo, data: dict[str, Any]) -> list[str] | None:
        """The assignees a create or edit asks for (None: it does not say): ``assignees`` (logins,
        or objects with a ``login`` as the description allows for an edit), else the old single
        ``assignee`` (null: none). A login that cannot be assigned is refused (422) or dropped,
        as :attr:`unassignable` says; the same login twice counts once."""
        if "assignees" in data:
            value = data["assignees"]
            if value is None:
                value = []
        elif "assignee" in data:
            value = [] if data["assignee"] in (None, "") else [data["assignee"]]
        else:
            return None
        if not isinstance(value, list):
            raise _validation("Issue", "assignees", "invalid", value)
        keys: list[str] = []
        refused: list[str] = []
        for item in value:
            if isinstance(item, dict):
                item = item.get("login")
            if not isinstance(item, str) or not item.strip():
                raise _validation("Issue", "assignees", "invalid", item if isinstance(item, str) else None)
            key = item.strip().lower()
            if key not in repo.collaborators:
                refused.append(item.strip())
            elif key not in keys:
                keys.append(key)
        if refused and self.unassignable == "reject":
            raise ApiError(422, {"message": "Validation Failed",
                                 "errors": [{"value": login, "resource": "Issue", "field": "assignees",
                                             "code": "invalid"} for login in refused],
                                 "documentation_url": DOCS + "/issues/issues"})
        return keys

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
        assignees = self._assignee_keys(repo, data) or []
        now = self.clock.tick()
        keys: list[str] = []
        for name in names:
            key = self._label_for(repo, name, now, create=True)
            if key not in keys:
                keys.append(key)
        number = repo.next_issue
        repo.next_issue += 1
        issue = _Issue(self._next_id(), number, title, now, now, body=body or None,
                       labels=keys, milestone=milestone, assignees=assignees)
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
        assignees = self._assignee_keys(repo, data)
        now = self.clock.tick()
        if assignees is not None:  # the whole set: it replaces the issue's
            issue.assignees = assignees
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
        due_on = _due_day(data["due_on"], creating=False) if "due_on" in data else None
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
            if req.path == self.graphql_path and self.graphql_enabled and not self._token_of(req):
                return Response(401, {"message": "This endpoint requires you to be authenticated.",
                                      "documentation_url": GRAPHQL_AUTH_DOCS}, charged=False)
            return Response(401, {"message": "Bad credentials", "documentation_url": DOCS},
                            charged=False)
        if self.rate_remaining <= 0:
            return Response(403, {
                "message": f"API rate limit exceeded for user ID {self.user_id}. If you reach out to "
                           "GitHub Support for help, please include the request ID "
                           f"{self._peek_request_id()} and timestamp {self.clock.now():%Y-%m-%d %H:%M:%S} UTC.",
                "documentation_url": RATE_DOCS + "#about-the-primary-rate-limit",
            }, charged=False)
        if self._is_content(req):
            refusal = self.content.admit(self.clock.now())
            if refusal is not None:
                return self._content_refusal(req, refusal.retry_after)
        if req.path == self.graphql_path and self.graphql_enabled:
            return self._graphql(req)
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

    # ---------------------------------------------------------------- GraphQL
    def graphql_schema(self) -> Schema:
        """The schema excerpt this server serves now (it follows ``ghes_version``)."""
        key = self.graphql_sub_issues
        cache = self.__dict__.setdefault("_schemas", {})
        if key not in cache:
            cache[key] = Schema(GITHUB_SDL + GITHUB_PROJECTS_SDL + (GITHUB_SUB_ISSUES_SDL if key else ""),
                                scalars=GITHUB_SCALARS)
        return cache[key]

    def _graphql(self, req: Request) -> Response:
        """POST /graphql (GHES: /api/graphql): HTTP 200 with ``data`` and/or ``errors``."""
        if req.method != "POST":
            return self.not_found(req)
        headers = self._graphql_charge()
        if req.body is None:
            return Response(200, {"errors": [{"message": "Problems parsing JSON"}]}, headers,
                            charged=False)
        root = {"query": self._gql_query_root(), "mutation": self._gql_mutation_root()}
        return Response(200, self.projects.answer(self.graphql_schema(), req.body, root), headers, charged=False)

    def _graphql_charge(self) -> dict[str, str]:
        """Count one GraphQL request; its primary-limit headers."""
        self.graphql_used += 1
        return {"x-ratelimit-limit": str(self.graphql_limit),
                "x-ratelimit-remaining": str(max(self.graphql_limit - self.graphql_used, 0)),
                "x-ratelimit-used": str(self.graphql_used),
                "x-ratelimit-reset": str(self.rate_reset), "x-ratelimit-resource": "graphql"}

    # ------------------------------------------- content-creation (secondary) limits
    def limit_content(self, per_minute: int = 80, per_hour: int = 500, *,
                      retry_after: int | float | None | str = AUTO, status: int = 403,
                      graphql_status: int = 403, refuse_early: bool = True) -> ContentLimits:
        """Enforce GitHub's content-creation limits from now on (tests/fakes/secondary_limits.py
        says what counts and how): at most ``per_minute`` content-generating requests in any
        60 s and ``per_hour`` in any 3600 s of the server clock, API and :meth:`spend_content`
        together. A request over a limit is refused before it does anything: ``status`` (403 or
        429; GraphQL mutations: ``graphql_status``, 403 or 200) with GitHub's secondary-limit
        message, ``retry-after`` as ``retry_after`` says ("auto": the seconds until the windows
        have room; a number; None: no header), and the usual primary ``x-ratelimit-*`` headers.
        What was counted before stays counted."""
        limits = ContentLimits(per_minute, per_hour, retry_after, status, graphql_status, refuse_early)
        with self.lock:
            self.content.limits = limits
        return limits

    def unlimit_content(self) -> None:
        """Stop refusing content requests (they are still recorded)."""
        with self.lock:
            self.content.limits = None

    def spend_content(self, n: int = 1) -> None:
        """``n`` content-generating actions by the same user on the web, now (they count in the
        same windows; never refused)."""
        with self.lock:
            self.content.record(self.clock.now(), web=True, n=n)

    @property
    def secondary_hits(self) -> int:
        """Content requests refused by the content-creation limits so far."""
        return self.content.hits

    @property
    def early_retries(self) -> int:
        """Content requests that came before the last refusal's ``retry-after`` had passed (or
        within 60 s of a refusal without one): a retry storm."""
        return self.content.early

    @property
    def content_times(self) -> list[datetime]:
        """Arrival times (server clock) of the API content requests counted, in order."""
        return list(self.content.api_times)

    def content_peak(self, seconds: float = 60, *, web: bool = True) -> int:
        """The most content requests counted in any ``seconds`` (with ``web``: web ones too)."""
        return self.content.peak(seconds, web=web)

    def content_used(self, seconds: float = 60) -> int:
        """Content requests (API and web) counted in the last ``seconds`` of the server clock."""
        return self.content.used(self.clock.now(), seconds)

    def _is_content(self, req: Request) -> bool:
        """A content-generating request: REST other than GET/HEAD/OPTIONS; on the GraphQL
        address, a document whose chosen operation is a mutation (one that does not parse, or
        names no operation it has, is not: GitHub would run nothing)."""
        if not (req.path == self.graphql_path and self.graphql_enabled):
            return req.method not in ("GET", "HEAD", "OPTIONS")
        if req.method != "POST" or not isinstance(req.body, dict) or not isinstance(req.body.get("query"), str):
            return False
        try:
            ops, _ = parse_graphql(req.body["query"])
        except GraphQLError:
            return False
        name = req.body.get("operationName")
        chosen = [op for op in ops if op.name == name] if name else (ops if len(ops) == 1 else [])
        return bool(chosen) and chosen[0].kind == "mutation"

    def _content_refusal(self, req: Request, retry_after: int | None) -> Response:
        """GitHub's secondary-limit answer to a content request (REST: 403/429; GraphQL: 403
        with the same body, or 200 with a RATE_LIMITED error)."""
        limits = self.content.limits
        assert limits is not None
        message = SECONDARY_MESSAGE.format(rid=self._peek_request_id())
        headers = {} if retry_after is None else {"retry-after": str(retry_after)}
        if req.path == self.graphql_path and self.graphql_enabled:
            headers.update(self._graphql_charge())
            if limits.graphql_status == 200:
                return Response(200, {"errors": [{"type": "RATE_LIMITED", "message": message}]}, headers,
                                charged=False)
            return Response(403, {"message": message, "documentation_url": RATE_DOCS + "#about-secondary-rate-limits"},
                            headers, charged=False)
        return Response(limits.status, {"message": message,
                                        "documentation_url": RATE_DOCS + "#about-secondary-rate-limits"}, headers)

    def _gql_node(self, node_id: Any) -> tuple[_Repo, _Issue] | None:
        if not isinstance(node_id, str) or "_" not in node_id:
            return None
        kind, _, rest = node_id.partition("_")
        try:
            raw = base64.b64decode(rest + "=" * (-len(rest) % 4), validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            return None
        rkind, _, ident = raw.partition(":")
        if rkind != kind or kind not in ("I", "PR") or not ident.isdigit():
            return None
        found = self._issue_by_id(int(ident))
        if found is None or found[1].pull_request != (kind == "PR"):
            return None
        return found

    def _gql_repo(self, repo: _Repo) -> dict[str, Any]:
        return {"__typename": "Repository", "id": _node_id("R", repo.id), "databaseId": repo.id,
                "name": repo.name, "nameWithOwner": repo.full_name,
                "url": f"{self.web_root}/{repo.full_name}",
                "issue": lambda number: self._gql_issue_by_number(repo, number)}

    def _gql_issue_by_number(self, repo: _Repo, number: int) -> dict[str, Any] | None:
        issue = repo.issues.get(number)
        if issue is None or not issue.live or issue.pull_request:
            raise GraphQLError(f"Could not resolve to an Issue with the number of {number}.",
                               type="NOT_FOUND")
        return self._gql_issue(repo, issue)

    def _gql_issue(self, repo: _Repo, issue: _Issue) -> dict[str, Any]:
        html = f"{self.web_root}/{repo.full_name}/issues/{issue.number}"
        out: dict[str, Any] = {
            "__typename": "Issue", "id": _node_id("I", issue.id), "databaseId": issue.id,
            "fullDatabaseId": str(issue.id), "number": issue.number, "title": issue.title,
            "body": issue.body or "", "state": issue.state.upper(),
            "stateReason": issue.state_reason.upper() if issue.state_reason else None,
            "closed": issue.state == "closed", "url": html,
            "resourcePath": f"/{repo.full_name}/issues/{issue.number}",
            "repository": lambda: self._gql_repo(repo),
            "createdAt": self.clock.iso(issue.created_at),
            "updatedAt": self.clock.iso(issue.updated_at),
        }
        if self.graphql_sub_issues:
            def parent() -> dict[str, Any] | None:
                found = self._issue_by_id(issue.parent) if issue.parent is not None else None
                return self._gql_issue(*found) if found else None

            summary = self._sub_issues_summary(issue)
            out.update({
                "parent": parent,
                "subIssues": lambda **page: self._gql_connection(
                    [self._gql_issue(*rc) for rc in self._live_children(issue)], **page),
                "subIssuesSummary": {"total": summary["total"], "completed": summary["completed"],
                                     "percentCompleted": summary["percent_completed"]},
            })
        return out

    @staticmethod
    def _gql_connection(nodes: list[dict[str, Any]], first: int | None = None,
                        last: int | None = None, after: str | None = None,
                        before: str | None = None) -> dict[str, Any]:
        """A page of the ``subIssues`` connection, with GitHub's limits (the projects' helper)."""
        return connection(nodes, "subIssues", first, last, after, before)

    def _gql_query_root(self) -> dict[str, Any]:
        def node(id: str) -> dict[str, Any] | None:  # noqa: A002 - GraphQL's name
            found = self._gql_node(id)
            if found is None:
                raise GraphQLError(f"Could not resolve to a node with the global id of '{id}'",
                                   type="NOT_FOUND")
            return self._gql_issue(*found)

        def repository(owner: str, name: str, followRenames: bool = True) -> dict[str, Any]:
            repo = self._repos.get(f"{owner}/{name}".lower())
            if repo is None:
                raise GraphQLError(f"Could not resolve to a Repository with the name '{owner}/{name}'.",
                                   type="NOT_FOUND")
            return self._gql_repo(repo)

        return {
            "node": node,
            "nodes": lambda ids: [self._gql_issue(*f) if (f := self._gql_node(i)) else None
                                  for i in ids],
            "repository": repository,
            "viewer": {"__typename": "User", "id": _node_id("U", self.user_id), "login": self.login,
                       "databaseId": self.user_id},
        }

    def _gql_issue_arg(self, node_id: str) -> tuple[_Repo, _Issue]:
        found = self._gql_node(node_id)
        if found is None:
            raise GraphQLError(f"Could not resolve to a node with the global id of '{node_id}'",
                               type="NOT_FOUND")
        return found

    def _gql_writable(self, *repos: _Repo) -> None:
        for repo in repos:
            try:
                self._check_write(repo)
            except ApiError as exc:
                raise GraphQLError(exc.response.body["message"], type="FORBIDDEN") from None

    def _gql_refuse(self, message: str) -> GraphQLError:
        return GraphQLError(message, type=self.graphql_rule_error_type)

    def _gql_by_url(self, url: str) -> tuple[_Repo, _Issue]:
        prefix = self.web_root + "/"
        rest = url[len(prefix):] if url.startswith(prefix) else ""
        parts = rest.split("/")
        if len(parts) == 4 and parts[2] in ("issues", "pull") and parts[3].isdigit():
            repo = self._repos.get(f"{parts[0]}/{parts[1]}".lower())
            issue = repo.issues.get(int(parts[3])) if repo else None
            if repo is not None and issue is not None and issue.live:
                return repo, issue
        raise GraphQLError(f"Could not resolve to an issue or pull request with the URL of '{url}'",
                           type="NOT_FOUND")

    def _gql_mutation_root(self) -> dict[str, Any]:
        def add(input: dict[str, Any]) -> dict[str, Any]:  # noqa: A002
            prepo, parent = self._gql_issue_arg(input["issueId"])
            has_id, has_url = input.get("subIssueId") is not None, input.get("subIssueUrl") is not None
            if has_id == has_url:
                raise self._gql_refuse("Exactly one of subIssueId or subIssueUrl must be provided")
            crepo, child = (self._gql_issue_arg(input["subIssueId"]) if has_id
                            else self._gql_by_url(input["subIssueUrl"]))
            self._gql_writable(prepo, crepo)
            refusal = self._sub_issue_refusal(prepo, parent, crepo, child,
                                              bool(input.get("replaceParent")))
            if refusal is not None:
                raise self._gql_refuse(refusal)
            self._attach(parent, child)
            return {"clientMutationId": input.get("clientMutationId"),
                    "issue": self._gql_issue(prepo, parent), "subIssue": self._gql_issue(crepo, child)}

        def remove(input: dict[str, Any]) -> dict[str, Any]:  # noqa: A002
            prepo, parent = self._gql_issue_arg(input["issueId"])
            crepo, child = self._gql_issue_arg(input["subIssueId"])
            self._gql_writable(prepo)
            if child.id not in parent.sub_issues:
                raise self._gql_refuse("Sub issue is not a sub-issue of this issue")
            self._detach(parent, child)
            return {"clientMutationId": input.get("clientMutationId"),
                    "issue": self._gql_issue(prepo, parent), "subIssue": self._gql_issue(crepo, child)}

        def reprioritize(input: dict[str, Any]) -> dict[str, Any]:  # noqa: A002
            prepo, parent = self._gql_issue_arg(input["issueId"])
            _, child = self._gql_issue_arg(input["subIssueId"])
            self._gql_writable(prepo)
            if child.id not in parent.sub_issues:
                raise self._gql_refuse("Sub issue is not a sub-issue of this issue")
            after, before = input.get("afterId"), input.get("beforeId")
            if (after is None) == (before is None):
                raise self._gql_refuse("Either afterId or beforeId must be specified, not both")
            _, anchor = self._gql_issue_arg(after if after is not None else before)
            if anchor.id not in parent.sub_issues:
                raise self._gql_refuse("Positional sub issue is not a sub-issue of this issue")
            if anchor.id == child.id:
                raise self._gql_refuse("A sub-issue cannot be positioned relative to itself")
            self._move_sub_issue(parent, child, anchor, after=after is not None)
            return {"clientMutationId": input.get("clientMutationId"),
                    "issue": self._gql_issue(prepo, parent)}

        return {"addSubIssue": add, "removeSubIssue": remove, "reprioritizeSubIssue": reprioritize}

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
        if self.is_ghes:
            headers["X-GitHub-Enterprise-Version"] = str(self.installed_version)
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
        r("GET", _R + r"/issues/(?P<number>\d+)/sub_issues", self._h_list_sub_issues)
        r("POST", _R + r"/issues/(?P<number>\d+)/sub_issues", self._h_add_sub_issue)
        r("DELETE", _R + r"/issues/(?P<number>\d+)/sub_issue", self._h_remove_sub_issue)
        r("PATCH", _R + r"/issues/(?P<number>\d+)/sub_issues/priority", self._h_reprioritize_sub_issue)
        r("GET", _R + r"/issues/(?P<number>\d+)/parent", self._h_get_parent)
        r("GET", _R + r"/issues/(?P<number>\d+)/dependencies/blocked_by", self._h_list_blocked_by)
        r("POST", _R + r"/issues/(?P<number>\d+)/dependencies/blocked_by", self._h_add_blocked_by)
        r("DELETE", _R + r"/issues/(?P<number>\d+)/dependencies/blocked_by/(?P<bid>\d+)", self._h_remove_blocked_by)
        r("GET", _R + r"/issues/(?P<number>\d+)/dependencies/blocking", self._h_list_blocking)
        r("GET", _R + r"/assignees", self._h_list_assignees)
        r("GET", _R + r"/assignees/(?P<login>[^/]+)", self._h_check_assignee)
        r("GET", r"/meta", self._h_meta)
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

    # --- sub-issues (REST: github.com and GHE.com; not in the GHES descriptions)
    def _sub_issue_parent(self, req: Request, number: str, kw: dict[str, str], suffix: str,
                          write: bool) -> tuple[_Repo, _Issue]:
        if not self.rest_sub_issues:
            raise _not_found()
        repo = self._api_repo(**kw)
        if write:
            self._check_write(repo)
        return repo, self._find_issue(repo, number, suffix=suffix)

    @staticmethod
    def _id_field(data: dict[str, Any], name: str, required: bool = True) -> int | None:
        """An id field of a body: a JSON integer (a string is refused, notes §1)."""
        if name not in data or (data[name] is None and not required):
            if required:
                raise ApiError(422, {"message": f"Invalid request.\n\n\"{name}\" wasn't supplied.",
                                     "documentation_url": SUB_ISSUES_DOCS})
            return None
        value = data[name]
        if isinstance(value, bool) or not isinstance(value, int):
            shown = json.dumps(value)
            raise ApiError(422, {"message": f"Invalid request.\n\nFor 'properties/{name}', {shown} "
                                            "is not an integer.",
                                 "documentation_url": SUB_ISSUES_DOCS})
        return value

    def _sub_issue_answer(self, repo: _Repo, parent: _Issue, child: tuple[_Repo, _Issue]) -> dict[str, Any]:
        if self.sub_issue_answer == "child":
            return self._issue_json(*child)
        return self._issue_json(repo, parent)

    def _h_list_sub_issues(self, req: Request, number: str, **kw: str) -> Response:
        repo, parent = self._sub_issue_parent(req, number, kw, "/sub_issues", write=False)
        children = self._live_children(parent)
        return self._paginate(req, children, lambda rc: self._issue_json(*rc), repo)

    def _h_add_sub_issue(self, req: Request, number: str, **kw: str) -> Response:
        repo, parent = self._sub_issue_parent(req, number, kw, "/sub_issues", write=True)
        data = req.json()
        sub_id = self._id_field(data, "sub_issue_id")
        replace = data.get("replace_parent", False)
        if not isinstance(replace, bool):
            raise ApiError(422, {"message": "Invalid request.\n\nFor 'properties/replace_parent', "
                                            f"{json.dumps(replace)} is not a boolean.",
                                 "documentation_url": SUB_ISSUES_DOCS})
        found = self._issue_by_id(sub_id)
        if found is None:  # e.g. the issue NUMBER sent instead of its id (cli/cli #12258)
            raise _not_found()
        crepo, child = found
        self._check_write(crepo)
        refusal = self._sub_issue_refusal(repo, parent, crepo, child, replace)
        if refusal is not None:
            short = refusal
            if refusal.startswith("Issue may not"):
                short = ("Issue may not contain duplicate sub-issues" if child.id in parent.sub_issues
                         else "Sub issue may only have one parent")
            raise ApiError(422, {"message": ADD_SUB_ISSUE_ERROR + refusal,
                                 "errors": [{"resource": "Issue", "code": "custom",
                                             "field": "sub_issue_id", "message": short}],
                                 "documentation_url": SUB_ISSUES_DOCS + "#add-sub-issue"})
        self._attach(parent, child)
        body = self._sub_issue_answer(repo, parent, found)
        return Response(201, body, {"Location": body["url"]})

    def _h_remove_sub_issue(self, req: Request, number: str, **kw: str) -> dict[str, Any]:
        repo, parent = self._sub_issue_parent(req, number, kw, "/sub_issue", write=True)
        sub_id = self._id_field(req.json(), "sub_issue_id")
        found = self._issue_by_id(sub_id)
        if found is None or found[1].id not in parent.sub_issues:
            raise _not_found()  # not a sub-issue of this parent (the spec declares 404)
        self._detach(parent, found[1])
        return self._sub_issue_answer(repo, parent, found)

    def _h_reprioritize_sub_issue(self, req: Request, number: str, **kw: str) -> dict[str, Any]:
        repo, parent = self._sub_issue_parent(req, number, kw, "/sub_issues/priority", write=True)
        data = req.json()
        sub_id = self._id_field(data, "sub_issue_id")
        after_id = self._id_field(data, "after_id", required=False)
        before_id = self._id_field(data, "before_id", required=False)

        def refuse(message: str) -> ApiError:  # validation_failed_simple
            return ApiError(422, {"message": "Validation Failed", "errors": [message],
                                  "documentation_url": SUB_ISSUES_DOCS + "#reprioritize-sub-issue"})

        found = self._issue_by_id(sub_id)
        if found is None or found[1].id not in parent.sub_issues:
            raise refuse("Sub issue is not a sub-issue of this issue")
        if (after_id is None) == (before_id is None):  # "after OR before should be specified"
            raise refuse("Either after_id or before_id must be specified, not both")
        anchor_id = after_id if after_id is not None else before_id
        anchor = self._issue_by_id(anchor_id)
        if anchor is None or anchor[1].id not in parent.sub_issues:
            raise refuse("Positional sub issue is not a sub-issue of this issue")
        if anchor[1].id == found[1].id:
            raise refuse("A sub-issue cannot be positioned relative to itself")
        self._move_sub_issue(parent, found[1], anchor[1], after=after_id is not None)
        return self._sub_issue_answer(repo, parent, found)

    def _h_get_parent(self, req: Request, number: str, **kw: str) -> dict[str, Any]:
        repo, child = self._sub_issue_parent(req, number, kw, "/parent", write=False)
        parent = self._issue_by_id(child.parent) if child.parent is not None else None
        if parent is None:
            raise _not_found()
        return self._issue_json(*parent)

    # --- issue dependencies (REST: github.com and GHE.com; not in the GHES descriptions)
    #
    # Documented (OpenAPI): the body names the blocking issue by its REST ``id`` (an integer),
    # an add answers 201 with an issue, a removal 200 with an issue, a missing issue 404, a
    # refused add 422. The refusals' words are the fake's own (none are documented); a pull
    # request cannot block ("PR-as-blocker: unsupported", observed by bjcoombs/ai-native-toolkit
    # PR #321). A dependency on an issue of another repository is allowed (the id is global).
    # Adding or removing one leaves ``updated_at`` alone, as for sub-issues (stricter: a
    # ``since`` listing does not show it).

    def _dependency_issue(self, number: str, kw: dict[str, str], suffix: str,
                          write: bool) -> tuple[_Repo, _Issue]:
        if not self.rest_dependencies:
            raise _not_found()
        repo = self._api_repo(**kw)
        if write:
            self._check_write(repo)
        return repo, self._find_issue(repo, number, suffix=suffix)

    def _dependency_refusal(self, issue: _Issue, blocker: _Issue) -> str | None:
        if issue.pull_request or blocker.pull_request:
            return "Pull requests cannot have or be issue dependencies"
        if issue.id == blocker.id:
            return "An issue cannot be blocked by itself"
        if blocker.id in issue.blocked_by:
            return "Issue is already blocked by this issue"
        if self.dependency_limit is not None and len(self._live_blockers(issue)) >= self.dependency_limit:
            return f"An issue cannot be blocked by more than {self.dependency_limit} issues"
        return None

    def _h_list_blocked_by(self, req: Request, number: str, **kw: str) -> Response:
        repo, issue = self._dependency_issue(number, kw, "/dependencies/blocked_by", write=False)
        return self._paginate(req, self._live_blockers(issue), lambda rb: self._issue_json(*rb), repo)

    def _h_list_blocking(self, req: Request, number: str, **kw: str) -> Response:
        repo, issue = self._dependency_issue(number, kw, "/dependencies/blocking", write=False)
        return self._paginate(req, self._live_blocked(issue), lambda rb: self._issue_json(*rb), repo)

    def _h_add_blocked_by(self, req: Request, number: str, **kw: str) -> Response:
        repo, issue = self._dependency_issue(number, kw, "/dependencies/blocked_by", write=True)
        data = req.json()
        if "issue_id" not in data:
            raise ApiError(422, {"message": "Invalid request.\n\n\"issue_id\" wasn't supplied.",
                                 "documentation_url": DEPENDENCIES_DOCS})
        ident = data["issue_id"]
        if isinstance(ident, bool) or not isinstance(ident, int):
            raise ApiError(422, {"message": f"Invalid request.\n\nFor 'properties/issue_id', {json.dumps(ident)} "
                                            "is not an integer.", "documentation_url": DEPENDENCIES_DOCS})
        found = self._issue_by_id(ident)
        if found is None:  # e.g. the issue NUMBER sent instead of its id
            raise _not_found()
        refusal = self._dependency_refusal(issue, found[1])
        if refusal is not None:
            raise ApiError(422, {"message": "Validation Failed",
                                 "errors": [{"resource": "IssueDependency", "code": "custom",
                                             "field": "issue_id", "message": refusal}],
                                 "documentation_url": DEPENDENCIES_DOCS + "#add-a-dependency-an-issue-is-blocked-by"})
        issue.blocked_by.append(found[1].id)
        self.clock.tick()
        return Response(201, self._issue_json(repo, issue),
                        {"Location": f"{self._repo_api(repo)}/issues/{issue.number}/dependencies/blocked_by"})

    def _h_remove_blocked_by(self, req: Request, number: str, bid: str, **kw: str) -> dict[str, Any]:
        repo, issue = self._dependency_issue(number, kw, f"/dependencies/blocked_by/{bid}", write=True)
        if int(bid) not in issue.blocked_by:
            raise _not_found()  # not blocking this issue (the spec declares 404)
        issue.blocked_by.remove(int(bid))
        self.clock.tick()
        return self._issue_json(repo, issue)

    # --- assignees (docs: "Check if a user can be assigned": 204, otherwise 404)
    def _h_check_assignee(self, req: Request, login: str, **kw: str) -> Response:
        repo = self._api_repo(**kw)
        if login.lower() not in repo.collaborators:
            raise ApiError(404, {"message": "Not Found",
                                 "documentation_url": ASSIGNEES_DOCS + "#check-if-a-user-can-be-assigned"})
        return Response(204)

    def _h_list_assignees(self, req: Request, **kw: str) -> Response:
        repo = self._api_repo(**kw)
        return self._paginate(req, sorted(repo.collaborators), self._assignee_json, repo)

    # --- meta
    def _h_meta(self, req: Request) -> dict[str, Any]:
        body: dict[str, Any] = {"verifiable_password_authentication": self.is_ghes}
        if self.is_ghes:  # GHES "Get GitHub Enterprise Server meta information"
            body["installed_version"] = self.installed_version
        return body

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
        far = date.max

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
        due_on = _due_day(data["due_on"], creating=True) if "due_on" in data else None
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
                     labels: Iterable[str] = (), assignees: Iterable[str] = ()) -> int:
        """Create an issue; ``milestone`` is a number or a title. Returns its number."""
        with self.lock:
            r = self._repo(repo)
            if isinstance(milestone, str) and not milestone.isdigit():
                milestone = next(m.number for m in r.milestones.values() if m.title == milestone)
            data: dict[str, Any] = {"title": title, "body": body, "labels": list(labels)}
            if assignees:
                data["assignees"] = list(assignees)
            if milestone is not None:
                data["milestone"] = int(milestone)
            return self._create_issue(r, data).number

    def edit_issue(self, repo: str, number: int, **fields: Any) -> None:
        """Same fields as PATCH /issues/{n}: title, body, state, state_reason, milestone, labels,
        assignees."""
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
                pull_request=old.pull_request, parent=old.parent, sub_issues=list(old.sub_issues),
                assignees=[k for k in old.assignees if k in dst.collaborators],
                blocked_by=list(old.blocked_by),
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

    def create_pull_request(self, repo: str, title: str, body: str = "") -> int:
        """A pull request as the issues API sees it (it takes an issue number). Returns it."""
        with self.lock:
            issue = self._create_issue(self._repo(repo), {"title": title, "body": body})
            issue.pull_request = True
            return issue.number

    def issue_id(self, repo: str, number: int) -> int:
        """The REST ``id`` of issue ``number`` (what sub_issue_id takes)."""
        with self.lock:
            return self._direct_issue(self._repo(repo), number).id

    def node_id(self, repo: str, number: int) -> str:
        """The ``node_id`` (GraphQL ``Issue.id``) of issue ``number``."""
        with self.lock:
            issue = self._direct_issue(self._repo(repo), number)
            return _node_id("PR" if issue.pull_request else "I", issue.id)

    def add_sub_issue(self, repo: str, parent: int, child: int, child_repo: str | None = None,
                      *, replace: bool = False) -> None:
        """Attach directly, under GitHub's rules (ValueError with the refusal)."""
        with self.lock:
            prepo = self._repo(repo)
            crepo = self._repo(child_repo or repo)
            p, c = self._direct_issue(prepo, parent), self._direct_issue(crepo, child)
            refusal = self._sub_issue_refusal(prepo, p, crepo, c, replace)
            if refusal is not None:
                raise ValueError(refusal)
            self._attach(p, c)

    def sub_issues(self, repo: str, number: int) -> list[tuple[str, int]]:
        """(repository, number) of the live sub-issues of ``number``, in priority order."""
        with self.lock:
            issue = self._direct_issue(self._repo(repo), number)
            return [(r.full_name, c.number) for r, c in self._live_children(issue)]

    def parent_of(self, repo: str, number: int) -> tuple[str, int] | None:
        with self.lock:
            issue = self._direct_issue(self._repo(repo), number)
            found = self._issue_by_id(issue.parent) if issue.parent is not None else None
            return (found[0].full_name, found[1].number) if found else None

    def add_collaborator(self, repo: str, *logins: str) -> None:
        """Let ``logins`` be assigned to the issues of ``repo`` (collaborators, members)."""
        with self.lock:
            r = self._repo(repo)
            for login in logins:
                r.collaborators[login.lower()] = self._person(login)[0]

    def remove_collaborator(self, repo: str, *logins: str) -> None:
        """They can no longer be assigned (issues already assigned to them keep them)."""
        with self.lock:
            r = self._repo(repo)
            for login in logins:
                r.collaborators.pop(login.lower(), None)

    def assign(self, repo: str, number: int, *logins: str) -> None:
        """A person adds assignees on the web (under GitHub's rules, see :attr:`unassignable`)."""
        with self.lock:
            r = self._repo(repo)
            issue = self._direct_issue(r, number)
            have = [self._users[k][0] for k in issue.assignees]
            self._edit_issue(r, issue, {"assignees": have + list(logins)})

    def assignees(self, repo: str, number: int) -> list[str]:
        """The logins issue ``number`` is assigned to, in order."""
        with self.lock:
            issue = self._direct_issue(self._repo(repo), number)
            return [self._users[k][0] for k in issue.assignees]

    def add_dependency(self, repo: str, number: int, blocker: int, blocker_repo: str | None = None) -> None:
        """Mark issue ``number`` blocked by ``blocker`` directly, under GitHub's rules (ValueError
        with the refusal)."""
        with self.lock:
            issue = self._direct_issue(self._repo(repo), number)
            other = self._direct_issue(self._repo(blocker_repo or repo), blocker)
            refusal = self._dependency_refusal(issue, other)
            if refusal is not None:
                raise ValueError(refusal)
            issue.blocked_by.append(other.id)
            self.clock.tick()

    def blocked_by(self, repo: str, number: int) -> list[tuple[str, int]]:
        """(repository, number) of the live issues blocking ``number``, in the order added."""
        with self.lock:
            issue = self._direct_issue(self._repo(repo), number)
            return [(r.full_name, b.number) for r, b in self._live_blockers(issue)]

    def archive(self, repo: str, archived: bool = True) -> None:
        with self.lock:
            self._repo(repo).archived = archived
            self.clock.tick()
