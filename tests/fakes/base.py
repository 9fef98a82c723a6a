"""Shared framework for the stateful fake forge servers used by the tests.

A :class:`FakeServer` is a real HTTP/1.1 server (stdlib ``ThreadingHTTPServer``)
bound to 127.0.0.1 on an OS-chosen port, with keep-alive and exact
``Content-Length`` so that ``requests`` connection pooling works.  Subclasses
register routes (or override :meth:`FakeServer.handle`) and keep their state
under ``self.lock``; every handler runs while holding that lock, so the state
is consistent and the processing order is deterministic.

Public API (relied on by tests/fakes/github.py and tests/fakes/gitlab.py):

* ``LoggedRequest``  - one entry of ``FakeServer.log``.
* ``Clock``          - deterministic server time (starts 2026-01-01T00:00:00Z).
* ``Fault``          - injected misbehaviour (status / drop_before / drop_after / delay).
* ``Request``        - what a handler receives.
* ``Response``       - what a handler returns.
* ``ApiError``       - raise from a handler to answer an error response.
* ``FakeServer``     - the base class.

Handler contract::

    class MyFake(FakeServer):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.route("GET", r"/things/(?P<tid>[^/]+)", self.get_thing)

        def get_thing(self, req: Request, tid: str) -> Response:
            return Response(200, {"id": tid})      # or return the body (-> 200)

        def not_found(self, req) -> Response:      # forge-specific 404 shape
            return Response(404, {"message": "Not Found"})

        def decorate(self, req, resp) -> None:     # common headers (rate limit...)
            resp.headers.setdefault("X-Thing", "1")
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = [
    "ApiError",
    "Clock",
    "Fault",
    "FakeServer",
    "LoggedRequest",
    "Request",
    "Response",
    "http_date",
]

_REDACTED_HEADERS = {"authorization", "private-token", "job-token", "proxy-authorization"}
_WRITE_METHODS = {"POST", "PATCH", "PUT", "DELETE"}
_NO_BODY_STATUSES = {204, 304}


# --------------------------------------------------------------------------- log


@dataclass
class LoggedRequest:
    """One request as seen by the fake server (appended to ``FakeServer.log``)."""

    method: str
    path: str  # as received, without query string, including any prefix
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names, credentials redacted
    body: Any
    status: int  # 0 when the connection was dropped without a response
    charged: bool  # counted against the primary rate limit
    response: Any = None  # the answer's body as the handler returned it (None: none was sent)
    fault: bool = False  # the answer came from an injected Fault, not from the fake's own logic

    @property
    def is_write(self) -> bool:
        return self.method in _WRITE_METHODS


# ------------------------------------------------------------------------- clock


class Clock:
    """Deterministic server time. ``tick()`` advances one second by default."""

    START = datetime(2026, 1, 1, 0, 0, 0, tzinfo=timezone.utc)

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or self.START
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def tick(self, seconds: float = 1) -> datetime:
        with self._lock:
            self._now = self._now + timedelta(seconds=seconds)
            return self._now

    def set(self, dt: datetime) -> None:
        """Jump to an absolute (aware) time."""
        with self._lock:
            self._now = dt.astimezone(timezone.utc)

    def iso(self, dt: datetime | None = None) -> str:
        """ISO 8601 UTC with ``Z`` and whole seconds, e.g. ``2026-01-01T00:00:05Z``."""
        dt = self.now() if dt is None else dt
        return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    def http(self, dt: datetime | None = None) -> str:
        """RFC 7231 IMF-fixdate, e.g. ``Thu, 01 Jan 2026 00:00:00 GMT``."""
        return http_date(self.now() if dt is None else dt)


def http_date(dt: datetime) -> str:
    return format_datetime(dt.astimezone(timezone.utc), usegmt=True)


# ------------------------------------------------------------------------ faults


FAULT_KINDS = ("status", "drop_before", "drop_after", "delay")


@dataclass
class Fault:
    """Injected misbehaviour.

    ``path`` is a regex *searched* in the request path (prefix included).
    The fault fires on the ``nth`` matching request (1-based) and on the
    following ``times - 1`` matching requests.

    kinds:
      * ``status``      answer ``status``/``body``/``headers`` without applying
      * ``drop_before`` close the socket without applying or answering
      * ``drop_after``  apply the request, then close the socket without answering
      * ``delay``       sleep ``delay`` seconds (or, with ``barrier``, wait until that many
                        requests are held), then handle normally
    """

    method: str | None
    path: str
    kind: str
    nth: int = 1
    times: int = 1
    status: int = 500
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    barrier: threading.Barrier | None = None
    seen: int = 0  # matching requests observed so far
    fired: int = 0  # times this fault actually fired

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {FAULT_KINDS}")
        if self.nth < 1 or self.times < 1:
            raise ValueError("nth and times must be >= 1")
        if self.method is not None:
            self.method = self.method.upper()

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method != method:
            return False
        return re.search(self.path, path) is not None

    @property
    def exhausted(self) -> bool:
        return self.seen >= self.nth + self.times - 1


# ---------------------------------------------------------------- request/response


@dataclass
class Request:
    """A parsed request handed to route handlers."""

    method: str
    path: str  # full path as received (prefix included, still percent-encoded)
    route: str | None  # path with the server prefix removed; None if the prefix did not match
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names, NOT redacted
    body: Any  # parsed JSON / form dict / None
    raw_body: bytes = b""

    def arg(self, name: str, default: str | None = None) -> str | None:
        """First value of query parameter ``name`` (or ``default``)."""
        values = self.query.get(name)
        return values[0] if values else default

    def args(self, name: str) -> list[str]:
        """All values of query parameter ``name`` (``name`` and ``name[]`` both accepted)."""
        return list(self.query.get(name, [])) + list(self.query.get(name + "[]", []))

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    def json(self) -> dict:
        """The body as a dict ({} when absent or not an object)."""
        return self.body if isinstance(self.body, dict) else {}

    @property
    def is_write(self) -> bool:
        return self.method in _WRITE_METHODS


@dataclass
class Response:
    """What a handler returns.

    ``body``: dict/list -> JSON; str -> UTF-8 text; bytes -> raw; None -> empty.
    ``charged``: counted against the primary rate limit (set False e.g. for 304).
    """

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    charged: bool = True

    def encode(self) -> tuple[bytes, str | None]:
        if self.status in _NO_BODY_STATUSES or self.body is None:
            return b"", None
        if isinstance(self.body, bytes):
            return self.body, "application/octet-stream"
        if isinstance(self.body, str):
            return self.body.encode("utf-8"), "text/plain; charset=utf-8"
        return json.dumps(self.body).encode("utf-8"), "application/json; charset=utf-8"

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


class ApiError(Exception):
    """Raise inside a handler to answer ``status`` with ``body`` (JSON) and ``headers``."""

    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None,
                 charged: bool = True) -> None:
        super().__init__(f"{status}: {body!r}")
        self.response = Response(status, body, dict(headers or {}), charged)


# ------------------------------------------------------------------------ server


_Route = tuple[str, "re.Pattern[str]", Callable[..., Any]]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeForge/1.0"
    sys_version = ""
    fake: "FakeServer"  # set on the per-server subclass

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        pass

    def setup(self) -> None:
        super().setup()
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        self.fake._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.fake._track(self.connection, add=False)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                line = self.rfile.readline()
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self) -> None:
        raw = self._read_body()
        self.fake._serve(self, raw)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    # -- used by FakeServer._serve
    def send_fake_response(self, resp: Response) -> None:
        payload, ctype = resp.encode()
        if self.command == "HEAD":
            payload_len, payload = len(payload), b""
        else:
            payload_len = len(payload)
        self.send_response_only(resp.status)
        names = {k.lower() for k in resp.headers}
        for key, value in resp.headers.items():
            self.send_header(key, str(value))
        if "date" not in names:
            self.send_header("Date", self.fake.clock.http())
        if "server" not in names:
            self.send_header("Server", self.server_version)
        if ctype and "content-type" not in names:
            self.send_header("Content-Type", ctype)
        if resp.status not in _NO_BODY_STATUSES or payload_len:
            self.send_header("Content-Length", str(payload_len))
        if self.close_connection:
            self.send_header("Connection", "close")
        # headers and body in a single write: avoids Nagle/delayed-ACK stalls
        self._headers_buffer.append(b"\r\n")
        if payload:
            self._headers_buffer.append(payload)
        self.flush_headers()
        self.wfile.flush()

    def drop(self) -> None:
        self.close_connection = True
        try:
            self.wfile.flush()
        except OSError:
            pass
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128


def _parse_body(raw: bytes, content_type: str) -> Any:
    if not raw:
        return None
    ctype = content_type.split(";", 1)[0].strip().lower()
    if ctype == "application/x-www-form-urlencoded":
        parsed = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
        return {k: (v[0] if len(v) == 1 else v) for k, v in parsed.items()}
    if ctype.startswith("multipart/"):
        return None
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None  # unparseable: handlers see body None and raw_body


class FakeServer:
    """Base class of the fake forges. See the module docstring for the contract."""

    def __init__(self, *, latency: float = 0.0, prefix: str = "") -> None:
        self.latency = latency
        self.prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
        self.clock = Clock()
        self.log: list[LoggedRequest] = []
        self.faults: list[Fault] = []
        self.errors: list[str] = []  # tracebacks of handler crashes (answered 500)
        self.lock = threading.RLock()  # guards the forge state; held while handling
        self._log_lock = threading.Lock()
        self._routes: list[_Route] = []
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self._conns: set[socket.socket] = set()
        self.connections = 0  # TCP connections accepted so far (keep-alive check)
        self._conns_lock = threading.Lock()

    # ---------------------------------------------------------------- lifecycle
    @property
    def root_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no prefix). Valid after start()."""
        if self._httpd is None:
            raise RuntimeError("server not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` + prefix. Valid after start()."""
        return self.root_url + self.prefix

    @property
    def port(self) -> int:
        return self._httpd.server_address[1] if self._httpd else 0

    def start(self) -> "FakeServer":
        if self._httpd is not None:
            return self
        handler = type("BoundHandler", (_Handler,), {"fake": self})
        self._httpd = _Server(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01},
            name=f"{type(self).__name__}:{self.port}", daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        with self._conns_lock:
            conns = list(self._conns)
            self._conns.clear()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> "FakeServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._conns_lock:
            if add:
                self.connections += 1
                self._conns.add(conn)
            else:
                self._conns.discard(conn)

    # ------------------------------------------------------------------- faults
    def add_fault(self, **kw: Any) -> Fault:
        """Register a :class:`Fault` (kwargs of Fault) and return it."""
        fault = Fault(**kw)
        with self.lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def _match_fault(self, method: str, path: str) -> Fault | None:
        chosen = None
        with self.lock:
            for fault in self.faults:
                if fault.exhausted or not fault.matches(method, path):
                    continue
                fault.seen += 1
                if chosen is None and fault.seen >= fault.nth:
                    fault.fired += 1
                    chosen = fault
        return chosen

    # ---------------------------------------------------------------------- log
    def requests(self, method: str | None = None, path: str | None = None) -> list[LoggedRequest]:
        """Logged requests filtered by method and by a regex searched in the path."""
        with self._log_lock:
            entries = list(self.log)
        if method is not None:
            entries = [e for e in entries if e.method == method.upper()]
        if path is not None:
            entries = [e for e in entries if re.search(path, e.path)]
        return entries

    def counts(self) -> dict[str, int]:
        with self._log_lock:
            entries = list(self.log)
        return {
            "total": len(entries),
            "charged": sum(1 for e in entries if e.charged),
            "writes": sum(1 for e in entries if e.is_write),
            "not_modified": sum(1 for e in entries if e.status == 304),
        }

    def reset_log(self) -> None:
        with self._log_lock:
            self.log.clear()

    def _record(self, req: Request, status: int, charged: bool, response: Any = None,
                fault: bool = False) -> None:
        headers = {
            k: ("<redacted>" if k in _REDACTED_HEADERS else v) for k, v in req.headers.items()
        }
        entry = LoggedRequest(req.method, req.path, req.query, headers, req.body, status, charged,
                              response, fault)
        with self._log_lock:
            self.log.append(entry)

    # ------------------------------------------------------------------ routing
    def route(self, method: str, pattern: str, func: Callable[..., Any]) -> None:
        """Register ``func(req, **named_groups)`` for ``method`` and a regex fully
        matching ``Request.route`` (prefix removed). Captured groups are
        percent-decoded. Unnamed groups are passed positionally."""
        self._routes.append((method.upper(), re.compile(pattern), func))

    def handle(self, req: Request) -> Response:
        """Dispatch to the registered routes; subclasses may override."""
        if req.route is None:
            return self.not_found(req)
        for method, regex, func in self._routes:
            if method != req.method:
                continue
            match = regex.fullmatch(req.route)
            if match is None:
                continue
            named = {k: unquote(v) for k, v in match.groupdict().items() if v is not None}
            if named:
                result = func(req, **named)
            else:
                result = func(req, *(unquote(g) for g in match.groups() if g is not None))
            if isinstance(result, Response):
                return result
            return Response(200, result)
        return self.not_found(req)

    def not_found(self, req: Request) -> Response:
        """Forge-specific 404 for unknown routes; override in subclasses."""
        return Response(404, {"message": "Not Found"})

    def decorate(self, req: Request, resp: Response) -> None:
        """Hook called (under ``self.lock``) on every response about to be sent,
        including fault responses and responses of drop_after requests.
        Override to add common headers (rate limits, request ids...)."""

    # ------------------------------------------------------------------ serving
    def _build_request(self, h: _Handler, raw: bytes) -> Request:
        parts = urlsplit(h.path)
        path = parts.path or "/"
        query = parse_qs(parts.query, keep_blank_values=True)
        headers = {k.lower(): v for k, v in h.headers.items()}
        body = _parse_body(raw, headers.get("content-type", ""))
        if not self.prefix:
            route: str | None = path
        elif path == self.prefix or path.startswith(self.prefix + "/"):
            route = path[len(self.prefix):] or "/"
        else:
            route = None
        return Request(h.command.upper(), path, route, query, headers, body, raw)

    def _apply(self, req: Request) -> Response:
        """Run the handler under the lock and decorate its response."""
        with self.lock:
            try:
                resp = self.handle(req)
            except ApiError as exc:
                resp = exc.response
            except Exception:  # a bug in the fake: answer 500 and remember it
                tb = traceback.format_exc()
                self.errors.append(tb)
                resp = Response(500, {"message": "fake server error", "traceback": tb})
            self.decorate(req, resp)
            return resp

    def _serve(self, h: _Handler, raw: bytes) -> None:
        req = self._build_request(h, raw)
        if self.latency > 0:
            time.sleep(self.latency)
        fault = self._match_fault(req.method, req.path)
        if fault is not None and fault.kind == "delay":
            if fault.barrier is not None:
                fault.barrier.wait(timeout=60)
            elif fault.delay > 0:
                time.sleep(fault.delay)
            fault = None
        if fault is not None and fault.kind == "drop_before":
            self._record(req, 0, False, fault=True)
            h.drop()
            return
        if fault is not None and fault.kind == "status":
            resp = Response(fault.status, fault.body, dict(fault.headers))
            with self.lock:
                self.decorate(req, resp)
                # fault headers win over decorated ones
                for key, value in fault.headers.items():
                    for existing in [k for k in resp.headers if k.lower() == key.lower()]:
                        del resp.headers[existing]
                    resp.headers[key] = value
        else:
            resp = self._apply(req)
        if fault is not None and fault.kind == "drop_after":
            self._record(req, 0, resp.charged, fault=True)
            h.drop()
            return
        body = None if resp.status in _NO_BODY_STATUSES else resp.body
        self._record(req, resp.status, resp.charged, body, fault=fault is not None)
        try:
            h.send_fake_response(resp)
        except OSError:
            h.close_connection = True


# base-ready
