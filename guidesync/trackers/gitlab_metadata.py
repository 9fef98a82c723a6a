"""The guide's fields on GitLab: who an issue is assigned to, and which issue blocks which; the part
of :class:`~guidesync.trackers.gitlab.GitLabTracker` that looks users up and links issues.

Assignees: a login is looked up once per run (``GET /users?username=``, which GitLab matches
whatever the case: 0 or 1 user), and its id kept for ``assignee_ids``; the users an answer shows
(an issue's ``assignees``) are kept as well, so keeping an assignee people added on the tracker
costs nothing. Project membership is not asked: who may be assigned is GitLab's own rule (a user
who can read the issue: any user on a public project), and GitLab drops the others silently, which
the engine sees when it compares what it sent with what the answer kept. Below Premium an issue
keeps only the first of several ``assignee_ids``: an answer that kept exactly the first ``n`` of
more teaches ``capabilities["assignees"] = n``, and from then on only the first ``n`` are sent.

Dependencies: ``block(issue, blocker)`` makes a ``blocks`` link from the blocker to the issue
(``POST …/issues/<blocker>/links``). ``is_blocked_by`` from the issue would say the same, but
GitLab refused it through the API before 15.9 (gitlab-org/gitlab#365796) and stores it as a
``blocks`` link the other way round anyway. Below Premium GitLab refuses blocking links (403
"Blocked issues not available for current license"; the Community Edition: 400 "link_type does
not have a valid value"): then a ``relates_to`` link is made instead, and
``capabilities["dependencies"]`` says which ("native" or "related"), learned on the first block.
"""

from __future__ import annotations

from typing import Any, Iterable

from ..errors import Conflict, Gone, NotFound
from .base import Adapter, TrackerError

#: what GitLab answers when the tier has no blocking links (EE::IssueLinks::CreateService)
_NO_LICENSE = "not available for current license"
#: how the link ``block`` made shows in the blocked issue's list, by how it was recorded
_SEEN_FROM_ISSUE = {"native": "is_blocked_by", "related": "relates_to"}


class GitLabMetadata(Adapter):
    """Assignees and dependencies of the GitLab adapter. The adapter supplies ``_request``,
    ``_issue_path``, ``_same_project`` and ``repository``."""

    repository: str
    capabilities: dict[str, Any]
    #: lower-case username -> (id, username as GitLab spells it, active), from look-ups and answers;
    #: None: looked up, no such user
    _users: dict[str, tuple[int, str, bool] | None]

    def _issue_path(self, number: int) -> str:
        raise NotImplementedError

    def _same_project(self, row: dict[str, Any]) -> bool:
        raise NotImplementedError

    # -- assignees ----------------------------------------------------------------------

    def _note_users(self, data: dict[str, Any]) -> None:
        """Keep the assignees an issue of an answer shows (their ids cost no look-up then)."""
        for person in data.get("assignees") or () if isinstance(data, dict) else ():
            if isinstance(person, dict) and isinstance(person.get("id"), int) and isinstance(person.get("username"), str):
                self._users[person["username"].lower()] = (person["id"], person["username"],
                                                           person.get("state", "active") == "active")

    def assignable(self, login: str) -> bool:
        key = str(login).strip().lower()
        if not key:
            return False
        if key not in self._users:
            _, rows = self._request("GET", "/users", f"looking up user {login!r}", params={"username": login})
            found = next((r for r in rows if isinstance(r, dict) and isinstance(r.get("id"), int)
                          and str(r.get("username") or "").lower() == key), None) if isinstance(rows, list) else None
            self._users[key] = None if found is None else (found["id"], found["username"],
                                                           found.get("state", "active") == "active")
        user = self._users[key]
        return user is not None and user[2]

    def _assignee_ids(self, logins: Iterable[str]) -> tuple[list[int], list[str]]:
        """(ids to send, their usernames) for ``logins``: each one known (looked up first when
        it is not), at most as many as the tracker keeps (:attr:`capabilities` ``assignees``)."""
        ids: list[int] = []
        names: list[str] = []
        for login in logins:
            key = str(login).strip().lower()
            if key not in self._users:
                self.assignable(login)
            user = self._users.get(key)
            if user is not None and user[0] not in ids:
                ids.append(user[0])
                names.append(user[1])
        limit = self.capabilities.get("assignees")
        if isinstance(limit, int) and limit > 0:
            ids, names = ids[:limit], names[:limit]
        return ids, names

    def _learn_assignees(self, sent: list[str], kept: tuple[str, ...]) -> None:
        """An answer that kept exactly the first ``n`` of more assignees sent: the tracker keeps
        ``n`` (GitLab below Premium: 1). One that kept others (a user who may not read the issue
        was dropped) teaches nothing."""
        n = len(kept)
        if 0 < n < len(sent) and [k.lower() for k in kept] == [s.lower() for s in sent[:n]]:
            self.capabilities["assignees"] = n

    # -- dependencies ---------------------------------------------------------------------

    def _post_link(self, source: int, target: int, link_type: str, what: str) -> None:
        """A link from issue ``source`` to ``target`` (this project's); one already there between
        them (409, of any type, either way) is fine, so the request may be sent again."""
        try:
            self._request("POST", f"{self._issue_path(source)}/links", what, idempotent=True,
                          body={"target_project_id": self.repository, "target_issue_iid": int(target),
                                "link_type": link_type})
        except Conflict:
            pass

    @staticmethod
    def _no_blocking_links(exc: TrackerError) -> bool:
        """GitLab's answer when this server has no blocking links: the tier's licence (403), or a
        Community Edition that knows only relates_to (400 on link_type)."""
        text = str(exc).lower()
        return (exc.status == 403 and _NO_LICENSE in text) or (exc.status == 400 and "link_type" in text)

    def block(self, issue: int, blocker: int) -> str:
        mode = self.capabilities.get("dependencies")
        if mode == "body":
            return mode
        what = f"recording that #{blocker} blocks #{issue}"
        if mode != "related":
            try:
                self._post_link(blocker, issue, "blocks", what)
                self.capabilities["dependencies"] = "native"
                return "native"
            except TrackerError as exc:
                if not self._no_blocking_links(exc):
                    raise
                self.capabilities["dependencies"] = "related"
        self._post_link(blocker, issue, "relates_to", what + " (as related issues: the tier has no blocking links)")
        return "related"

    def unblock(self, issue: int, blocker: int) -> None:
        """Deletes the link :meth:`block` made: seen from ``issue``, an ``is_blocked_by`` link to
        ``blocker`` ("native"), or a ``relates_to`` one ("related"). Nothing else: a relates_to
        link is deleted only where block makes those, and not where sub-issues are relates_to
        links too (hierarchy mode "links": it may be the one that makes ``issue`` a sub-issue)."""
        mode = self.capabilities.get("dependencies")
        if mode == "body" or (mode == "related" and self.hierarchy_mode == "links"):
            return
        wanted = _SEEN_FROM_ISSUE.get(mode, "is_blocked_by")
        what = f"taking away that #{blocker} blocks #{issue}"
        try:
            _, rows = self._request("GET", f"{self._issue_path(issue)}/links", what)
            for row in rows if isinstance(rows, list) else ():
                if isinstance(row, dict) and row.get("iid") == blocker and row.get("link_type") == wanted \
                        and isinstance(row.get("issue_link_id"), int) and self._same_project(row):
                    self._request("DELETE", f"{self._issue_path(issue)}/links/{row['issue_link_id']}", what)
        except (NotFound, Gone):
            pass  # the issue or the link is gone already
