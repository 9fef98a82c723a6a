"""Shared fixtures: a workspace of guides wired to a fake GitHub or GitLab, and a runner.

Every GitHub request the tool sends in these tests, and every answer the fake GitHub gives, is
validated against GitHub's OpenAPI description when the workspace is torn down.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from guidesync import commands
from guidesync.commands import Context, Outcome
from guidesync.trackers import make_tracker
from guidesync.trackers.memory import MemoryTracker
from tests.fakes.github import FakeGitHub
from tests.fakes.gitlab import FakeGitLab
from tests.fakes.memory import MemoryServer

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "guides"
TOKEN = "test-token-7f3a"


class Forge:
    """One fake forge, seen the same way whatever it is (the contract tests' vocabulary)."""

    name: str
    repo: str
    server: Any

    def config(self) -> dict[str, Any]:
        raise NotImplementedError

    def env(self, token: str = TOKEN) -> dict[str, str]:
        raise NotImplementedError

    # normalised view: {number: {"title", "state" ("open"/"closed"), "reason", "milestone", "labels", "body"}}
    def issues(self) -> dict[int, dict[str, Any]]:
        raise NotImplementedError

    def milestones(self) -> dict[int, str]:
        raise NotImplementedError

    def comments(self, n: int) -> list[str]:
        raise NotImplementedError

    def close(self, n: int) -> None:
        raise NotImplementedError

    def reopen(self, n: int) -> None:
        raise NotImplementedError

    def delete(self, n: int) -> None:
        raise NotImplementedError

    def rate_limit(self, path: str, method: str = "POST", nth: int = 1, retry_after: int = 1) -> None:
        raise NotImplementedError

    create_path = ""

    def writes(self) -> int:
        return self.server.counts()["writes"]

    def counts(self) -> dict[str, int]:
        return self.server.counts()


class GitHubForge(Forge):
    name = "github"
    create_path = r"/repos/acme/shop/issues$"

    def __init__(self, repo: str = "acme/shop", pages_host: str | None = None, **kw: Any):
        self.repo = repo
        self.server = FakeGitHub(token=TOKEN, repos=(repo,), **kw).start()
        if pages_host:  # the pages on another name of the same port (the API answers on 127.0.0.1)
            self.server.web_url = f"http://{pages_host}:{self.server.port}"

    def config(self) -> dict[str, Any]:
        return {"tracker": "github", "repository": self.repo, "url": self.server.url}

    def env(self, token: str = TOKEN) -> dict[str, str]:
        return {"GITHUB_TOKEN": token}

    def issues(self) -> dict[int, dict[str, Any]]:
        out = {}
        for n, i in self.server.issues(self.repo).items():
            out[n] = {
                "title": i["title"],
                "state": i["state"],
                "reason": i.get("state_reason"),
                "milestone": (i.get("milestone") or {}).get("title"),
                "labels": [l["name"] for l in i.get("labels", [])],
                "body": i.get("body") or "",
                "url": i["html_url"],
            }
        return out

    def milestones(self) -> dict[int, str]:
        return {n: m["title"] for n, m in self.server.milestones(self.repo).items()}

    def comments(self, n: int) -> list[str]:
        return [c["body"] for c in self.server.comments(self.repo, n)]

    def close(self, n: int) -> None:
        self.server.close_issue(self.repo, n)

    def close_not_planned(self, n: int) -> None:
        self.server.close_issue(self.repo, n, reason="not_planned")

    def reopen(self, n: int) -> None:
        self.server.reopen_issue(self.repo, n)

    def delete(self, n: int) -> None:
        self.server.delete_issue(self.repo, n)

    def rate_limit(self, path: str, method: str = "POST", nth: int = 1, retry_after: int = 1) -> None:
        self.server.secondary_rate_limit(path, method=method, nth=nth, retry_after=retry_after)


class GitLabForge(Forge):
    name = "gitlab"
    create_path = r"/projects/[^/]+/issues$"

    def __init__(self, repo: str = "acme/shop", prefix: str = "", **kw: Any):
        self.repo = repo
        self.server = FakeGitLab(token=TOKEN, projects=(repo,), prefix=prefix, **kw).start()

    def config(self) -> dict[str, Any]:
        return {"tracker": "gitlab", "repository": self.repo, "url": self.server.url}

    def env(self, token: str = TOKEN) -> dict[str, str]:
        return {"GITLAB_TOKEN": token}

    def issues(self) -> dict[int, dict[str, Any]]:
        out = {}
        for n, i in self.server.issues(self.repo).items():
            out[n] = {
                "title": i["title"],
                "state": "open" if i["state"] == "opened" else "closed",
                "reason": None,
                "milestone": (i.get("milestone") or {}).get("title"),
                "labels": list(i.get("labels", [])),
                "body": i.get("description") or "",
                "url": i["web_url"],
            }
        return out

    def milestones(self) -> dict[int, str]:
        return {n: m["title"] for n, m in self.server.milestones(self.repo).items()}

    def comments(self, n: int) -> list[str]:
        return [c["body"] for c in self.server.notes(self.repo, n)]

    def close(self, n: int) -> None:
        self.server.close_issue(self.repo, n)

    def reopen(self, n: int) -> None:
        self.server.reopen_issue(self.repo, n)

    def delete(self, n: int) -> None:
        self.server.delete_issue(self.repo, n)

    def rate_limit(self, path: str, method: str = "POST", nth: int = 1, retry_after: int = 1) -> None:
        self.server.rate_limit(path, method=method, nth=nth, retry_after=retry_after)


class MemoryForge(GitHubForge):
    """The in-memory tracker (guidesync.trackers.memory) behind the fake GitHub's state API: for the
    engine's scenarios that are not about HTTP. The configuration says github; the run's tracker is
    a MemoryTracker on this forge's Remote (see :func:`memory_trackers`)."""

    name = "memory"

    def __init__(self, repo: str = "acme/shop"):
        self.repo = repo
        self.server = MemoryServer(repo)  # type: ignore[assignment]

    def rate_limit(self, path: str, method: str = "POST", nth: int = 1, retry_after: int = 1) -> None:
        raise NotImplementedError("the in-memory tracker has no rate limit: run this test over HTTP")


def memory_trackers(monkeypatch: pytest.MonkeyPatch, forges: dict[str, MemoryForge]) -> None:
    """Runs whose configured url is a memory forge's get a MemoryTracker on it (with the run's own
    CallPolicy); any other url the adapter, as always.

    commands.py has no hook to hand a tracker in (``Context.tracker_factory`` would be one line
    there); until it has, this replaces the factory it imported, for the test only."""

    def factory(name: str, repository: str, token: str | None, *, url: str, policy: Any, **kw: Any) -> Any:
        forge = forges.get(url.rstrip("/"))
        if forge is None:
            return make_tracker(name, repository, token, url=url, policy=policy, **kw)
        return MemoryTracker(forge.server.remote, policy=policy, hierarchy_mode=kw.get("hierarchy_mode"),
                             capabilities=kw.get("capabilities"))

    monkeypatch.setattr(commands, "make_tracker", factory)


@dataclass
class Workspace:
    root: Path
    forge: Forge
    sleeps: list[float] = field(default_factory=list)
    extra_config: dict[str, Any] = field(default_factory=dict)

    def write_config(self, **extra: Any) -> None:
        self.extra_config.update(extra)
        cfg = {**self.forge.config(), "write_interval": 0, "max_retry_wait": 30, **self.extra_config}
        path = self.root / "config" / "guidesync.yaml"
        path.parent.mkdir(exist_ok=True)
        path.write_text(yaml.safe_dump(cfg, sort_keys=True))

    def guide(self, name: str) -> Path:
        return self.root / "guides" / name

    def read(self, name: str) -> str:
        return self.guide(name).read_bytes().decode("utf-8")

    def write(self, name: str, text: str) -> None:
        self.guide(name).write_bytes(text.encode("utf-8"))

    def sleep(self, seconds: float) -> None:
        """The run's waits: recorded, and the server's clock moves on by them (time passes)."""
        self.sleeps.append(seconds)
        self.forge.server.clock.tick(seconds)

    def now(self) -> float:
        """The run's clock is the server's (the content-creation window is kept on it)."""
        return self.forge.server.clock.now().timestamp()

    def context(self, *paths: str, token: str = TOKEN) -> Context:
        return Context(root=self.root, paths=tuple(paths), env=self.forge.env(token), sleep=self.sleep, clock=self.now,
                       use_gh=False)

    def run(self, mode: str, *paths: str, **kw: Any) -> Outcome:
        return commands.sync(self.context(*paths), mode, **kw)

    def state_text(self) -> str:
        p = self.root / ".guidesync" / "state.json"
        return p.read_text() if p.exists() else ""


#: Variables that say "inside CI" or name the CI's tracker. Inside CI guidesync takes the tracker URL
#: from them, never from the config (issue 11): the tests, which point the config at fakes on
#: 127.0.0.1, must not inherit them from the CI that runs the suite (GitHub Actions sets them all).
CI_MARKERS = ("GITHUB_ACTIONS", "GITLAB_CI", "GITHUB_API_URL", "CI_API_V4_URL", "CI_SERVER_URL", "GUIDESYNC_URL")


@pytest.fixture(autouse=True)
def not_inside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CI_MARKERS:
        monkeypatch.delenv(name, raising=False)


def _forge(name: str, **kw: Any) -> Forge:
    if name == "memory":
        return MemoryForge(**kw)
    return GitHubForge(**kw) if name == "github" else GitLabForge(**kw)


#: Where the API is reached and where the pages are, as on the real forges. The fakes listen on
#: 127.0.0.1, so a pages host is another name (or another host altogether: it only appears in URLs,
#: nothing is asked of it).
LAYOUTS: dict[str, tuple[str, dict[str, Any]]] = {
    # github.com: API at the root of api.HOST, pages at HOST (here: 127.0.0.1 vs localhost)
    "github.com": ("github", {"pages_host": "localhost"}),
    # GitHub Enterprise Server: API at HOST/api/v3, pages at HOST
    "ghes": ("github", {"prefix": "/api/v3"}),
    # GHE.com with data residency: API at api.SUBDOMAIN.ghe.com, pages at SUBDOMAIN.ghe.com (https)
    "ghe.com": ("github", {"web_url": "https://octo.ghe.test"}),
    # gitlab.com or a self-hosted instance at the root of its host
    "gitlab": ("gitlab", {}),
    # GitLab under a relative URL root
    "gitlab-relative": ("gitlab", {"prefix": "/gitlab"}),
    # GitLab reached by another name than its external_url (an internal hostname, a proxy)
    "gitlab-external": ("gitlab", {"external_url": "https://gitlab.example.test"}),
}


@pytest.fixture
def make_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Workspace]:
    """Build a workspace on a fresh fake forge; GitHub traffic is checked against the OpenAPI spec."""
    made: list[Workspace] = []
    in_memory: dict[str, MemoryForge] = {}

    def make(forge: str = "github", guides: tuple[str, ...] = ("phase-1-foundation.md", "checkout-redesign.md"), **kw: Any) -> Workspace:
        """``forge``: "github", "gitlab", "memory" (the in-memory tracker) or one of LAYOUTS (its
        fake's settings, then ``kw``)."""
        if forge in LAYOUTS:
            forge, preset = LAYOUTS[forge]
            kw = {**preset, **kw}
        root = tmp_path / f"ws{len(made)}"
        (root / "guides").mkdir(parents=True)
        for g in guides:
            shutil.copy(EXAMPLES / g, root / "guides" / g)
        ws = Workspace(root, _forge(forge, **kw))
        if isinstance(ws.forge, MemoryForge):
            if not in_memory:
                memory_trackers(monkeypatch, in_memory)
            in_memory[ws.forge.server.url] = ws.forge
        ws.write_config()
        made.append(ws)
        monkeypatch.chdir(root)
        return ws

    yield make
    for ws in made:
        ws.forge.server.stop()
    for ws in made:
        if ws.forge.name == "github":
            from tests.openapi_github import validate_log

            # GraphQL is not in the REST description; the fake checks it against its own schema
            server = ws.forge.server
            rest = [e for e in server.log if e.path != getattr(server, "graphql_path", None)]
            errors = validate_log(rest, prefix=getattr(server, "prefix", "") or "")
            errors = list(dict.fromkeys(errors))
            assert not errors, "requests or answers that GitHub's OpenAPI description rejects:\n" + "\n".join(errors[:20])


FORGES = ["github", "gitlab"]
#: where engine scenarios that are not about HTTP run: the in-memory tracker (the tracker contract,
#: tests/tracker_contract.py, holds it to what both adapters do over HTTP)
ENGINE = ["memory"]


LINK = re.compile(r" \(\[#(\d+)\]\([^)]+\)\)")


def links(text: str) -> dict[int, str]:
    """issue number -> the guide line that links it."""
    out = {}
    for line in text.splitlines():
        m = LINK.search(line)
        if m:
            out[int(m.group(1))] = line
    return out


def number_of(text: str, fragment: str) -> int:
    """The issue linked by the one guide line that contains ``fragment``."""
    for n, line in links(text).items():
        if fragment in line:
            return n
    raise AssertionError(f"no linked line contains {fragment!r}")
