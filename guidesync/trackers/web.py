"""The repository's web address: how links are compared (:func:`web_key`), read
(:func:`issue_number_in`) and learned (:class:`WebAddress`), the same on every forge."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, Callable, Iterable, TypeVar
from urllib.parse import urlsplit

#: an issue value (a :class:`~guidesync.trackers.base.RemoteIssue`): ``number`` and ``url``
I = TypeVar("I", bound=Any)

_DEFAULT_PORTS = {"http": 80, "https": 443}
_NUMBER = re.compile(r"[0-9]{1,12}")


def web_key(url: str) -> tuple[str, str] | None:
    """How two web addresses are compared: (host[:port], path), lower-case, without the scheme,
    user info, a scheme's default port, query, fragment and trailing slashes. None when ``url``
    is not an http(s) address.

    http and https of the same host count as one: both forges serve their pages on https and send
    http there, so a hand-typed ``http://`` link names the same page; a different host, an explicit
    different port or a different path is another place."""
    try:
        parts = urlsplit(str(url).strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        host += f":{port}"
    return host, parts.path.rstrip("/").lower()


def issue_number_in(url: str, repository_urls: Iterable[str], kinds: Iterable[str]) -> int | None:
    """N when ``url`` is ``{repository_url}/{kind}/N`` for one of the repository's web addresses
    (compared by :func:`web_key`: any case, a trailing slash, a query or a fragment allowed)."""
    key = web_key(url)
    if key is None:
        return None
    host, path = key
    for repository_url in repository_urls:
        base = web_key(repository_url)
        if base is None or base[0] != host:
            continue
        for kind in kinds:
            head = f"{base[1]}/{kind}/"
            if path.startswith(head) and _NUMBER.fullmatch(path[len(head):]):
                return int(path[len(head):])
    return None


class WebAddress:
    """The repository's web address, learned, never derived from the API URL.

    - ``told``: from the configuration (``web_url``) or the CI's own variables; links are built
      from it and recognised by it, and it is not kept in the base;
    - ``learned``: what the tracker said (``learn()``, one request), or what it said in an earlier
      run (kept in the base); :attr:`learned` is what the engine keeps.

    A link is the repository's when it fits any of them (an address the tracker gave earlier and
    no longer gives still names this repository's issues: links written with it stay its own). The
    tracker is asked at most once a run: when nothing is known yet, or when one of its own answers
    does not fit what is known (a base from before the instance moved, a wrong ``web_url``), so a
    stale address costs one request, once."""

    def __init__(self, learn: Callable[[], str], kinds: tuple[str, ...], *, told: str | None = None,
                 remembered: str | None = None):
        self._learn = learn
        self.kinds = kinds
        self.told = told.rstrip("/") if told else None
        self.learned = remembered.rstrip("/") if remembered else None
        self.asked = False  # the tracker was asked in this run
        self._earlier: list[str] = []  # addresses learned before the one the tracker gives now

    @property
    def known(self) -> bool:
        return self.told is not None or self.learned is not None

    def own_page(self, url: str, number: int) -> bool:
        """Could ``url`` be written into a guide as issue ``number``'s link? A plain URL, and once
        the address is known (never asked for just this), that issue's own page."""
        from ..core.model import plain_url

        return plain_url(url) and (not self.known or self.number(url) == number)

    def checked(self, issue: I) -> I:
        """An issue from an answer, its URL kept only if :meth:`own_page` (never written otherwise)."""
        if issue.url and not self.own_page(issue.url, issue.number):
            return replace(issue, url="")
        return issue

    def ensure(self) -> str:
        """The address links are built from (the told one first); asks the tracker if none is known."""
        if self.told is None and self.learned is None:
            self.ask()
        return self.told or self.learned  # type: ignore[return-value]

    def ask(self) -> None:
        url = self._learn().strip().rstrip("/")
        if self.learned and self.learned != url:
            self._earlier.append(self.learned)
        self.learned, self.asked = url, True

    def number(self, url: str) -> int | None:
        self.ensure()
        return issue_number_in(url, [u for u in (self.told, self.learned, *self._earlier) if u], self.kinds)

    def fits(self, url: str, number: int) -> bool:
        """Is ``url``, from one of the tracker's own answers, issue ``number`` of this repository?
        When it is not and the tracker was not asked in this run, ask it once and look again."""
        if self.number(url) == number:
            return True
        if self.asked:
            return False
        self.ask()
        return self.number(url) == number

    def check(self, url: str, number: int) -> None:
        """:meth:`fits` for an answer that is this repository's anyway (a listing, a creation):
        learns again if it does not fit; asks nothing when no address is known yet."""
        if self.told is not None or self.learned is not None:
            self.fits(url, number)
