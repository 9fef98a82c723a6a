"""Headless Chromium driven over the DevTools protocol through a pipe (``--remote-debugging-pipe``):
no WebSocket client, no browser download, nothing installed but Debian's ``chromium``.

The protocol's messages are JSON texts, each ended by a NUL byte; Chromium reads them on its file
descriptor 3 and answers on 4. :class:`Browser` opens one page, records what its console says and
every request it makes, evaluates JavaScript in it, and takes screenshots and PDFs.

Also the script that writes the README's screenshot, from the same demo the browser test renders:

    python -m tests.browser docs/report.png
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    """The browser: $CHROMIUM, else the first of the usual names on PATH."""
    named = os.environ.get("CHROMIUM")
    if named:
        return named if shutil.which(named) else None
    return next((p for p in map(shutil.which, CANDIDATES) if p), None)


class BrowserError(Exception):
    pass


class Browser:
    """One headless Chromium with one page attached. Use as a context manager."""

    def __init__(self, executable: str, *, width: int = 1100, height: int = 900, timeout: float = 30.0):
        self.timeout = timeout
        self.width, self.height = width, height
        self.profile = tempfile.mkdtemp(prefix="guidesync-chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # Moved above 9 first, so that putting them on 3 and 4 in the child cannot clobber one another.
        hi_r = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 10)
        hi_w = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 10)
        os.close(to_browser_r)
        os.close(from_browser_w)

        def onto_3_and_4() -> None:
            os.dup2(hi_r, 3)
            os.dup2(hi_w, 4)

        args = [executable, "--headless", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-default-apps", "--mute-audio", "--hide-scrollbars", "--force-color-profile=srgb",
                "--font-render-hinting=none", f"--user-data-dir={self.profile}", f"--window-size={width},{height}",
                "about:blank"]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     pass_fds=(3, 4), preexec_fn=onto_3_and_4)
        os.close(hi_r)
        os.close(hi_w)
        self._next = 0
        self._answers: dict[int, queue.Queue] = {}
        self._events: queue.Queue = queue.Queue()
        self._lock = threading.Lock()
        self.console: list[dict[str, Any]] = []  # console calls, exceptions and log entries
        self.requests: list[str] = []  # every URL the page asked for
        self.session: str | None = None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    # -------------------------------------------------------------------------- the pipe

    def _read(self) -> None:
        buf = b""
        while True:
            try:
                chunk = os.read(self._from_browser, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                self._events.put(None)
                for q in list(self._answers.values()):
                    q.put({"error": {"message": "the browser closed the pipe"}})
                return
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                msg = json.loads(raw)
                if "id" in msg:
                    with self._lock:
                        q = self._answers.get(msg["id"])
                    if q is not None:
                        q.put(msg)
                else:
                    self._record(msg)
                    self._events.put(msg)

    def _record(self, msg: dict[str, Any]) -> None:
        method, params = msg.get("method"), msg.get("params", {})
        if method == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            self.console.append({"kind": "console", "level": params.get("type"), "text": text})
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            self.console.append({"kind": "exception", "level": "error",
                                 "text": details.get("exception", {}).get("description") or details.get("text")})
        elif method == "Log.entryAdded":
            entry = params.get("entry", {})
            self.console.append({"kind": "log", "level": entry.get("level"), "text": entry.get("text"),
                                 "source": entry.get("source"), "url": entry.get("url")})
        elif method == "Network.requestWillBeSent":
            self.requests.append(params.get("request", {}).get("url", ""))

    def send(self, method: str, params: dict[str, Any] | None = None, *, browser: bool = False) -> dict[str, Any]:
        """Call a protocol method (on the page, unless ``browser``) and return its result."""
        with self._lock:
            self._next += 1
            n = self._next
            q: queue.Queue = queue.Queue()
            self._answers[n] = q
        msg: dict[str, Any] = {"id": n, "method": method, "params": params or {}}
        if self.session and not browser:
            msg["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(msg).encode() + b"\0")
        try:
            answer = q.get(timeout=self.timeout)
        except queue.Empty:
            raise BrowserError(f"{method}: no answer in {self.timeout} s") from None
        finally:
            with self._lock:
                self._answers.pop(n, None)
        if "error" in answer:
            raise BrowserError(f"{method}: {answer['error'].get('message')}")
        return answer.get("result", {})

    def wait_for(self, method: str) -> dict[str, Any]:
        """The next event named ``method`` (earlier ones of other names are passed over)."""
        while True:
            try:
                msg = self._events.get(timeout=self.timeout)
            except queue.Empty:
                raise BrowserError(f"no {method} in {self.timeout} s") from None
            if msg is None:
                raise BrowserError(f"the browser exited before {method}")
            if msg.get("method") == method:
                return msg.get("params", {})

    # ------------------------------------------------------------------------- the page

    def __enter__(self) -> "Browser":
        target = self.send("Target.createTarget", {"url": "about:blank"}, browser=True)["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True}, browser=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable")
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": self.width, "height": self.height, "deviceScaleFactor": 1, "mobile": False})
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self, url: str) -> None:
        """Load ``url`` and wait for its load event."""
        answer = self.send("Page.navigate", {"url": url})
        if answer.get("errorText"):
            raise BrowserError(f"{url}: {answer['errorText']}")
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (JSON-serialisable)."""
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression[:60]}…: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def screenshot(self, path: Path, *, full: bool = True) -> bytes:
        """A PNG of the page (the whole of it, with ``full``), written to ``path``."""
        params: dict[str, Any] = {"format": "png"}
        if full:
            size = self.send("Page.getLayoutMetrics")["cssContentSize"]
            params.update(captureBeyondViewport=True,
                          clip={"x": 0, "y": 0, "width": self.width, "height": size["height"], "scale": 1})
        data = base64.b64decode(self.send("Page.captureScreenshot", params)["data"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return data

    def pdf(self) -> bytes:
        return base64.b64decode(self.send("Page.printToPDF", {"printBackground": False})["data"])

    def close(self) -> None:
        try:
            if self.proc.poll() is None:
                self.send("Browser.close", browser=True)
        except BrowserError:
            pass
        try:
            self.proc.wait(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_browser, self._from_browser):
            try:
                os.close(fd)
            except OSError:
                pass
        if self.proc.stderr:
            self.proc.stderr.close()
        shutil.rmtree(self.profile, ignore_errors=True)


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's header."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def readme_shot(exe: str, index: Path, target: Path) -> bytes:
    """The README's picture: the top of the page (header, burn-up, the first guide), 1100 x 980."""
    with Browser(exe, width=1100, height=980) as b:
        b.open(index.as_uri())
        return b.screenshot(target, full=False)


def main(argv: list[str]) -> int:
    """Write the README's screenshot: the demo report, rendered and captured."""
    from tests.report_demo import render_demo

    target = Path(argv[0] if argv else "docs/report.png").resolve()
    exe = find_chromium()
    if exe is None:
        print("no chromium found (apt-get install chromium)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        index = render_demo(Path(tmp))
        readme_shot(exe, index, target)
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
