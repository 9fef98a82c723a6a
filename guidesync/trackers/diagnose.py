"""What ``guidesync doctor`` asks a tracker: read-only requests only (GETs, and GraphQL queries).

Each forge has one function that returns its checks in order: the repository or project (the token
and the address proven by one answer), the right to create and close issues (GitHub: the
repository's ``permissions``; GitLab: the token's scopes and its access level), the label, the
rate-limit budget, the server's version and the features it offers. A check the tracker refused in
a way that stops everything after it (a rejected token, an unknown repository) ends the list.
The features the adapters learn (:meth:`~guidesync.trackers.base.Tracker.hierarchy`,
:attr:`~guidesync.trackers.base.Tracker.capabilities`) are asked the way the adapters ask them;
what only a write would show (GitLab's tiers, dependencies) is reported as the base kept it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping
from urllib.parse import quote, urlsplit

from ..errors import Auth, Forbidden, NotFound, TrackerError

OK, WARN, FAIL = "ok", "warn", "fail"

#: GitLab's roles by access level (doc/api/members.md)
GITLAB_ROLES = {0: "no access", 5: "Minimal access", 10: "Guest", 15: "Planner", 20: "Reporter", 30: "Developer",
                40: "Maintainer", 50: "Owner"}


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # ok | warn | fail
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"check": self.name, "status": self.status, "detail": self.detail}


class Stop(Exception):
    """A check failed in a way that leaves nothing else to ask."""


def _refused(exc: TrackerError, what: str, repository: str, url: str) -> Check:
    if isinstance(exc, Auth):
        return Check("tracker", FAIL, "the tracker rejected the token (401): check that it is valid and not expired")
    if isinstance(exc, NotFound):
        return Check(what, FAIL, f"{repository} not found on {url}, or the token cannot see it")
    if isinstance(exc, Forbidden):
        return Check(what, FAIL, f"the token may not read {repository}: {exc}")
    return Check("tracker", FAIL, f"the tracker did not answer as expected: {exc}")


def _features(kept: Mapping[str, Any], hierarchy: str | None) -> list[Check]:
    """What the base kept of the tracker's capabilities (learned at the first run that needed them)."""
    deps = kept.get("dependencies")
    shown = {"native": "recorded natively", "related": "recorded as relates_to links (no blocking links on this tier)",
             "body": "none on this server: issue bodies say it"}.get(deps, "not learned yet (at the first blocked-by)")
    out = [Check("dependencies", OK, f"blocked-by: {shown}")]
    if "assignees" in kept:
        out.append(Check("assignees", OK, f"an issue keeps at most {kept['assignees']} assignee(s) here"))
    return out


# --------------------------------------------------------------------------------------------- GitHub

_HIERARCHY_SHOWN = {"sub_issues": "REST sub-issue operations", "graphql": "GraphQL addSubIssue",
                    "links": "relates_to links, parents' bodies list them", "none": "none: parents' bodies list them"}


def github(t: Any, label: str, *, reserve: int, kept: Mapping[str, Any], hierarchy: str | None,
           probe: int | None) -> list[Check]:
    """Checks of a :class:`~guidesync.trackers.github.GitHubTracker` (``t``)."""
    out: list[Check] = []
    try:
        _, repo, _ = t._request("GET", "", f"repository {t.repository}")
    except TrackerError as exc:
        return [_refused(exc, "repository", t.repository, t.api_url)]
    repo = repo if isinstance(repo, dict) else {}
    out.append(Check("tracker", OK, f"{shown_api(t.api_url)} answers"))
    out.append(Check("repository", OK, f"{repo.get('full_name') or t.repository} ({repo.get('html_url') or '?'})"))
    perms = repo.get("permissions")
    if repo.get("archived"):
        out.append(Check("permissions", FAIL, "the repository is archived: nothing can be written to it"))
    elif not isinstance(perms, dict):
        out.append(Check("permissions", WARN, "GitHub does not show this token's permissions (an app's or Actions' "
                                              "token): the first write will tell; it needs Issues: read and write"))
    elif perms.get("push") or perms.get("maintain") or perms.get("admin"):
        out.append(Check("permissions", OK, "may create, edit and close issues, milestones and labels (push)"))
    elif perms.get("triage"):
        out.append(Check("permissions", WARN, "triage only: may close and label issues, but creating milestones and "
                                              "labels needs write access"))
    else:
        out.append(Check("permissions", FAIL, "read-only: the token may read the repository but not create or close "
                                              "issues (it needs Issues: read and write, or push access)"))
    out.append(_label(t, f"/labels/{quote(label, safe='')}", label))
    out.append(_github_rate(t, reserve))
    version = _github_version(t)
    out.append(version)
    out.extend(_github_features(t, version, hierarchy, probe))
    out.extend(_features(kept, hierarchy))
    return out


def shown_api(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}".rstrip("/")


def _label(t: Any, path: str, label: str) -> Check:
    try:
        t._request("GET", path, f"reading label {label!r}")
    except NotFound:
        return Check("label", OK, f"{label!r} is not there yet: the first push creates it")
    except TrackerError as exc:
        return Check("label", WARN, f"{label!r} could not be read: {exc}")
    return Check("label", OK, f"{label!r} exists")


def _github_rate(t: Any, reserve: int) -> Check:
    try:
        _, data, _ = t._request("GET", f"{t.api_url}/rate_limit", "reading the rate limit")
    except NotFound:  # GitHub Enterprise Server with rate limiting off
        return Check("rate limit", OK, "no rate limit on this server")
    except TrackerError as exc:
        return Check("rate limit", WARN, f"could not be read: {exc}")
    core = ((data or {}).get("resources") or {}).get("core") or {}
    remaining, limit = core.get("remaining"), core.get("limit")
    if not isinstance(remaining, int):
        return Check("rate limit", WARN, "GitHub's answer has no budget")
    status = FAIL if remaining <= reserve else OK
    tail = f" (rate_reserve is {reserve}: a run stops at once)" if status == FAIL else ""
    return Check("rate limit", status, f"{remaining} of {limit} requests left this hour{tail}")


def _github_version(t: Any) -> Check:
    host = (urlsplit(t.api_url).hostname or "").lower()
    if host == "api.github.com":
        return Check("server", OK, "github.com")
    if host.endswith(".ghe.com"):
        return Check("server", OK, f"GitHub Enterprise Cloud with data residency ({host[len('api.'):]})")
    try:
        _, data, _ = t._request("GET", f"{t.api_url}/meta", "reading the server's version")
    except TrackerError as exc:
        return Check("server", WARN, f"version unknown: {exc}")
    version = (data or {}).get("installed_version") if isinstance(data, dict) else None
    if version:
        return Check("server", OK, f"GitHub Enterprise Server {version}")
    return Check("server", OK, "GitHub (no Enterprise Server version given)")


def _github_features(t: Any, server: Check, hierarchy: str | None, probe: int | None) -> list[Check]:
    try:
        graphql = t._graphql_has("AddSubIssueInput")
        has_graphql = True
    except NotFound:
        graphql, has_graphql = False, False
    except TrackerError as exc:
        return [Check("graphql", WARN, f"could not be asked: {exc}")]
    out = [Check("graphql", OK if has_graphql else WARN, "available" if has_graphql else
                 "not available: sub-issues on GitHub Enterprise Server and Projects need it")]
    mode = hierarchy
    if mode is None and probe is not None:
        try:
            mode = t.hierarchy(probe)  # the adapter's own question (read-only), as a run asks it
        except TrackerError:
            mode = None
    if mode is None:
        ghes = server.detail.startswith("GitHub Enterprise Server")
        mode = ("graphql" if graphql else "none") if ghes else "sub_issues"
    out.append(Check("sub-issues", OK, _HIERARCHY_SHOWN.get(mode, mode)))
    return out


# --------------------------------------------------------------------------------------------- GitLab


def gitlab(t: Any, label: str, *, reserve: int, kept: Mapping[str, Any], hierarchy: str | None) -> list[Check]:
    """Checks of a :class:`~guidesync.trackers.gitlab.GitLabTracker` (``t``)."""
    out: list[Check] = []
    try:
        _, project = t._request("GET", t._project.manager.path + f"/{t._project.encoded_id}", f"project {t.repository}")
    except TrackerError as exc:
        return [_refused(exc, "project", t.repository, t.api_root)]
    project = project if isinstance(project, dict) else {}
    out.append(Check("tracker", OK, f"{shown_api(t.api_root)} answers"))
    out.append(Check("project", OK, f"{project.get('path_with_namespace') or t.repository} ({project.get('web_url') or '?'})"))
    out.append(_gitlab_scopes(t))
    out.append(_gitlab_access(project))
    out.append(_label(t, f"{t._labels_path}/{quote(label, safe='')}", label))
    remaining = t.policy.stats.remaining
    if remaining is None:
        out.append(Check("rate limit", OK, "GitLab reports no budget here (no RateLimit headers)"))
    else:
        status = FAIL if remaining <= reserve else OK
        out.append(Check("rate limit", status, f"{remaining} requests left in this window" +
                         (f" (rate_reserve is {reserve}: a run stops at once)" if status == FAIL else "")))
    try:
        _, version = t._request("GET", "/version", "reading the server's version")
        shown = str((version or {}).get("version") or "?")
        edition = "Enterprise Edition" if shown.endswith("-ee") or (version or {}).get("enterprise") else "Community Edition"
        out.append(Check("server", OK, f"GitLab {shown} ({edition})"))
    except TrackerError as exc:
        out.append(Check("server", WARN, f"version unknown: {exc}"))
    mode = hierarchy
    try:
        mode = mode or t.hierarchy(0)  # GitLab's GraphQL schema says it (no probe issue needed)
        out.append(Check("graphql", OK, "available" if mode == "graphql" else "no work items over GraphQL"))
    except TrackerError as exc:
        out.append(Check("graphql", WARN, f"could not be asked: {exc}"))
    if mode:
        out.append(Check("sub-issues", OK, {"graphql": "child tasks (work items)", "links": "relates_to links, "
                                            "parents' bodies list them"}.get(mode, mode)))
    out.extend(_features(kept, hierarchy))
    since = kept.get("milestones_since")
    out.append(Check("milestones", OK, {
        True: "a run lists only those changed since the last (updated_after)",
        False: "every run lists them all: this GitLab ignores updated_after (15.10 and later filter by it)",
    }.get(since, "not learned yet (at the first run that lists a milestone)")))
    if kept.get("assignees") == 1 or kept.get("dependencies") == "related":
        out.append(Check("tier", OK, "Free (or Community Edition): one assignee, no blocking links"))
    elif kept.get("dependencies") == "native":
        out.append(Check("tier", OK, "Premium or higher: blocking links"))
    return out


def _gitlab_scopes(t: Any) -> Check:
    try:
        _, token = t._request("GET", "/personal_access_tokens/self", "reading the token's scopes")
    except TrackerError as exc:
        return Check("token scopes", WARN, f"not shown ({exc.status or exc.kind}): a job token or an older GitLab")
    scopes = sorted(str(s) for s in (token or {}).get("scopes") or ())
    if "api" in scopes:
        return Check("token scopes", OK, ", ".join(scopes))
    return Check("token scopes", FAIL, f"{', '.join(scopes) or 'none'}: read-only, it cannot create or close issues "
                                       "(it needs the api scope)")


def _gitlab_access(project: Mapping[str, Any]) -> Check:
    perms = project.get("permissions") or {}
    levels = [int(a.get("access_level") or 0) for a in (perms.get("project_access"), perms.get("group_access"))
              if isinstance(a, dict)]
    if not levels:
        return Check("access level", WARN, "GitLab does not show it for this token: the first write will tell")
    level = max(levels)
    role = GITLAB_ROLES.get(level, str(level))
    if level < 15:
        return Check("access level", FAIL, f"{role} ({level}): may not close others' issues or make milestones and "
                                           "labels (Planner, 15, or Reporter, 20, at least)")
    if level < 30:
        return Check("access level", OK, f"{role} ({level}): issues, milestones and labels; the CI write-back push "
                                         "needs Developer (30)")
    return Check("access level", OK, f"{role} ({level})")
