"""Servers that play the attacker in the security tests (issue 11): they record what reaches them.

:class:`Capture` is a :class:`~tests.fakes.base.FakeServer` on 127.0.0.1 that keeps every request it
receives *with* its credential headers (the fakes' own log redacts them), and answers whatever its
``answer`` function says (by default ``200 {}``). :class:`GitBackend` serves a bare repository over
smart HTTP through ``git http-backend`` and records the headers of each request, so that a test can
see whether ``git push`` sent its ``Authorization`` header to a host it was redirected to.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any, Callable

from tests.fakes.base import FakeServer, Request, Response

CREDENTIAL_HEADERS = ("authorization", "private-token", "job-token")


class Capture(FakeServer):
    """Records every request (credentials included) and answers ``answer(req)``."""

    def __init__(self, answer: Callable[[Request], Response] | None = None, **kw: Any):
        super().__init__(**kw)
        self.got: list[Request] = []
        self.answer = answer or (lambda req: Response(200, {}))

    def handle(self, req: Request) -> Response:
        self.got.append(req)
        return self.answer(req)

    def credentials(self) -> list[str]:
        """Every credential header value that reached this server."""
        return [v for r in self.got for k, v in r.headers.items() if k in CREDENTIAL_HEADERS]

    def everything(self) -> str:
        """All it received, as one text to search for a secret."""
        return "\n".join(f"{r.method} {r.path} {r.query} {r.headers} {r.raw_body!r}" for r in self.got)


class GitBackend(FakeServer):
    """A bare repository served over smart HTTP by ``git http-backend`` (push enabled)."""

    def __init__(self, project_root: Path, **kw: Any):
        super().__init__(**kw)
        self.project_root = Path(project_root)
        self.got: list[Request] = []

    def credentials(self) -> list[str]:
        return [v for r in self.got for k, v in r.headers.items() if k in CREDENTIAL_HEADERS]

    def handle(self, req: Request) -> Response:
        self.got.append(req)
        path, _, query = req.path.partition("?")
        query = "&".join(f"{k}={v}" for k, values in req.query.items() for v in values)
        env = {
            "GIT_PROJECT_ROOT": str(self.project_root), "GIT_HTTP_EXPORT_ALL": "1", "REQUEST_METHOD": req.method,
            "PATH_INFO": path, "QUERY_STRING": query, "CONTENT_TYPE": req.headers.get("content-type", ""),
            "CONTENT_LENGTH": str(len(req.raw_body)), "REMOTE_USER": "attacker", "REMOTE_ADDR": "127.0.0.1",
            "GIT_PROTOCOL": req.headers.get("git-protocol", ""), "PATH": os.environ.get("PATH", ""),
            "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(self.project_root),
        }
        done = subprocess.run(["git", "-c", "http.receivepack=true", "http-backend"], input=req.raw_body, env=env,
                              capture_output=True, timeout=30)
        head, _, body = done.stdout.partition(b"\r\n\r\n")
        status, headers = 200, {}
        for line in head.split(b"\r\n"):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers[name] = value.strip()
        return Response(status, body, headers)


def redirect_to(target: str, status: int = 302) -> Callable[[Request], Response]:
    """An ``answer`` that sends every request on to the same path on ``target``."""

    def answer(req: Request) -> Response:
        query = "&".join(f"{k}={v}" for k, values in req.query.items() for v in values)
        return Response(status, None, {"Location": target + req.path + (f"?{query}" if query else "")})

    return answer
