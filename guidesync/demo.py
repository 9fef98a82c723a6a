"""``guidesync demo``: the whole life cycle in one command, offline, without a token.

It copies the example guides (shipped in the package as ``guidesync/data/examples/*.md.example``,
named so that no guide discovery takes them for guides; the same bytes as the repository's
``examples/guides/*.md``) into a temporary repository, then, against the in-memory
tracker the tests use (:mod:`guidesync.trackers.memory`):

1. prints the plan (``push --dry-run``);
2. pushes: milestones and issues are created, links are written into the guides;
3. closes one issue "as a person would" on the tracker;
4. pulls: that task's box is checked in the guide;
5. prints the summary of each run and the guides' diff, before against after.

Nothing leaves the machine; the folder is removed at the end unless ``--dir`` names one to keep.
"""

from __future__ import annotations

import difflib
import tempfile
from importlib.resources import files
from pathlib import Path
from typing import Any

from .context import Context, Outcome
from .errors import OK, USAGE

REPOSITORY = "demo/shop"
#: the token variable the run reads: the in-memory tracker takes anything, and no real token is used
TOKEN = {"GITHUB_TOKEN": "demo-token-not-a-secret"}
CONFIG = (
    "# guidesync demo: the tracker is in memory (nothing is sent anywhere)\n"
    "tracker: github\n"
    f"repository: {REPOSITORY}\n"
    "guides:\n"
    '  - "guides/**/*.md"\n'
    "write_interval: 0\n"
)


def example_guides() -> dict[str, bytes]:
    """The example guides shipped with the package: {guide file name (``*.md``): bytes}."""
    folder = files(__package__) / "data" / "examples"
    suffix = ".example"
    return {p.name[: -len(suffix)]: p.read_bytes() for p in sorted(folder.iterdir(), key=lambda p: p.name)
            if p.name.endswith(".md" + suffix)}


def demo(where: str | None = None) -> Outcome:
    """Run the demo in ``where`` (kept) or in a temporary folder (removed)."""
    if where is not None:
        root = Path(where)
        if root.exists() and any(root.iterdir()):
            return Outcome(USAGE, f"{root}: not empty; give a new or empty folder to --dir")
        root.mkdir(parents=True, exist_ok=True)
        return _demo(root, kept=True)
    with tempfile.TemporaryDirectory(prefix="guidesync-demo-") as tmp:
        return _demo(Path(tmp), kept=False)


def _demo(root: Path, *, kept: bool) -> Outcome:
    from . import commands
    from .trackers.memory import MemoryTracker, Remote

    (root / "config").mkdir(exist_ok=True)
    (root / "config" / "guidesync.yaml").write_text(CONFIG, encoding="utf-8")
    (root / "guides").mkdir(exist_ok=True)
    before = example_guides()
    for name, data in before.items():
        (root / "guides" / name).write_bytes(data)

    remote = Remote(REPOSITORY)

    def tracker(name: str, repository: str, token: str | None, *, policy: Any, **kw: Any) -> MemoryTracker:
        return MemoryTracker(remote, policy=policy, hierarchy_mode=kw.get("hierarchy_mode"),
                             capabilities=kw.get("capabilities"))

    ctx = Context(root=root, env=dict(TOKEN), use_gh=False, tracker_factory=tracker)
    out: list[str] = [f"guidesync demo: {len(before)} example guides in {'folder ' + str(root) if kept else 'a temporary folder'}, "
                      f"an in-memory tracker for {REPOSITORY} (nothing leaves this machine)", ""]

    plan = commands.sync(ctx, "push", dry_run=True)
    out += ["== 1. the plan (guidesync push --dry-run)", plan.text, ""]
    push = commands.sync(ctx, "push")
    out += ["== 2. guidesync push", push.text, ""]
    if push.code != OK:
        return Outcome(push.code, "\n".join(out))

    issue = min((n for n, i in remote.issues.items() if i.state == "open" and not i.deleted), default=None)
    if issue is None:
        return Outcome(OK, "\n".join(out + ["(no open issue to close)"]))
    remote.close_issue(issue)
    remote.clock.tick(60)
    out += ["== 3. on the tracker, a person closes an issue",
            f"closed #{issue} {remote.issues[issue].title} (completed)", ""]
    pull = commands.sync(ctx, "pull")
    out += ["== 4. guidesync pull", pull.text, ""]

    out.append("== 5. what changed in the guides (before the push, after the pull)")
    for name, data in before.items():
        after = (root / "guides" / name).read_bytes()
        out.extend(line.rstrip("\n") for line in difflib.unified_diff(
            data.decode("utf-8").splitlines(keepends=True), after.decode("utf-8").splitlines(keepends=True),
            f"a/guides/{name}", f"b/guides/{name}", n=0))
    out += ["", f"{len(remote.issues)} issues and {len(remote.milestones)} milestones on the in-memory tracker; "
            "try it on your own guides: guidesync init, guidesync doctor, guidesync plan"]
    if kept:
        out.append(f"the demo repository is kept in {root}")
    return Outcome(pull.code, "\n".join(out))
