"""HTTP rules both adapters keep, whatever their client library does: where a request may go.

- :func:`origin` and :func:`same_origin`: scheme, host and port, the unit a token is bound to;
- :func:`under_api` : a URL the server handed us (a next-page link) is followed only on the API's
  own origin and under its path prefix, checked here, not by an ``assert`` that ``python -O`` drops;
- :class:`NoForeignRedirects`: a ``requests`` session that follows a redirect only for a read and
  only on the same origin. ``requests`` drops ``Authorization`` on a redirect to another host but
  keeps every other header (GitLab's ``PRIVATE-TOKEN``), and a 307/308 replays a write's body.
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import requests

DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of a URL, lower case, the scheme's default port filled in."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        return scheme, "", -1
    return scheme, (parts.hostname or "").lower(), port or DEFAULT_PORTS.get(scheme)


def same_origin(a: str, b: str) -> bool:
    oa = origin(a)
    return bool(oa[1]) and oa == origin(b)


def under_api(url: str, api_url: str) -> bool:
    """Is ``url`` on the API's origin and under its path prefix (``/api/v3`` on GitHub Enterprise)?"""
    if not same_origin(url, api_url):
        return False
    prefix = urlsplit(api_url).path.rstrip("/")
    path = urlsplit(url).path
    return not prefix or path == prefix or path.startswith(prefix + "/")


def shown_origin(url: str) -> str:
    """``scheme://host:port`` of a URL, for messages (never its path or query)."""
    scheme, host, port = origin(url)
    return f"{scheme}://{host}:{port}" if host else "(no host)"


class NoForeignRedirects(requests.Session):
    """Follows a redirect only when it answers a GET or HEAD and stays on the same origin; any
    other 3xx comes back as the answer, which the adapter reports as an error."""

    def get_redirect_target(self, resp: requests.Response) -> str | None:  # type: ignore[override]
        target = super().get_redirect_target(resp)
        if target is None:
            return None
        method = (resp.request.method or "GET").upper() if resp.request is not None else "GET"
        if method not in ("GET", "HEAD"):
            return None
        if not same_origin(urljoin(resp.url, target), resp.url):
            return None
        return target
