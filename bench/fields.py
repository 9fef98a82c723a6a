"""Fields benchmark: what assignees, labels, due dates and blocked-by cost against the fake forges.

    python bench/fields.py [--sizes 100,1000] [--forges github,gitlab] [--people 5] [--labels 3] [--latency 0.02]

For each forge and each size N (one phase guide per 25 tasks), the same guides are run twice,
each run its own ``python -m guidesync … --json`` process against a fresh fake (bench/sync.py's):

* with fields: every task ``[assignee:: userI]`` (PEOPLE distinct people), ``[labels:: labelJ]``
  (LABELS distinct labels) and ``[due:: …]``; every tenth task ``[blocked-by:: …]`` the task before it;
* without fields: the same task texts.

Each: a first push, a settling sync and a no-op sync (the fake's clock moved two hours before each
sync). Printed: the requests of each run, and for the first push with fields the assignee look-ups
(one per person: cached per run), label reads and creations (once per label), dependency writes and
the bodies rewritten to name a blocker created later in the same run. Checked: look-ups == PEOPLE;
the no-op sync costs the same with and without fields.
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.sync import REPO, TOKEN, UNPACED, HEADER, Row, fast_fakes, machine, markdown_table, print_row, run_tool  # noqa: E402

PER_GUIDE = 25
HOURS = 2 * 3600


def build(n: int, people: int, labels: int, fields: bool) -> dict[str, str]:
    files = {}
    for g in range(math.ceil(n / PER_GUIDE)):
        lines = [f"# Phase {g + 1}: Area {g + 1} - Detailed Implementation Guide", "", "## Deliverables Checklist", ""]
        for i in range(g * PER_GUIDE, min(n, (g + 1) * PER_GUIDE)):
            extra = ""
            if fields:
                extra = (f" [id:: t{i}] [assignee:: user{i % people}] [labels:: label{i % labels}]"
                         f" [due:: 2026-12-{1 + i % 28:02d}]")
                if i % 10 == 9:
                    extra += f" [blocked-by:: t{i - 1}]"
            lines.append(f"- [ ] Task {i}: implement component {i}{extra}")
        files[f"phase-{g + 1:04d}.md"] = "\n".join(lines + [""])
    return files


def start(forge: str, latency: float, people: int):
    BenchGitHub, BenchGitLab = fast_fakes()
    names = [f"user{i}" for i in range(people)]
    if forge == "gitlab":
        server = BenchGitLab(token=TOKEN, projects=(REPO,), latency=latency).start()
        server.rate_limit_limit = 10**9
        for name in names:
            server.add_user(name)
        return server, {"tracker": "gitlab", "repository": REPO, "url": server.url}, {"GITLAB_TOKEN": TOKEN}
    server = BenchGitHub(token=TOKEN, repos=(REPO,), latency=latency, rate_limit=10**9).start()
    server.add_collaborator(REPO, *names)
    return server, {"tracker": "github", "repository": REPO, "url": server.url}, {"GITHUB_TOKEN": TOKEN}


def _kind(e) -> str:
    path = e.path
    if "/assignees/" in path or path.endswith("/users"):
        return "look-ups"
    if "/labels" in path and "/issues/" not in path:
        return "labels"
    if "dependencies" in path or path.endswith("/links"):
        return "dependencies"
    return ""


def bench_one(forge: str, n: int, people: int, labels: int, latency: float, rows: list[Row]) -> dict[str, int]:
    import yaml

    figures: dict[str, int] = {}
    for fields in (True, False):
        root = Path(tempfile.mkdtemp(prefix=f"bench-fields-{forge}-{n}-"))
        server, config, env = start(forge, latency, people)
        try:
            (root / "guides").mkdir()
            for name, text in build(n, people, labels, fields).items():
                (root / "guides" / name).write_text(text, encoding="utf-8")
            (root / "config").mkdir()
            cfg = {**config, "write_interval": 0, **UNPACED, "full_sync_hours": 0}
            (root / "config" / "guidesync.yaml").write_text(yaml.safe_dump(cfg, sort_keys=True))
            tag = "fields" if fields else "no fields"
            for scenario, mode in (("first push", "push"), ("settling sync", "sync"), ("no-op sync", "sync")):
                if mode == "sync":
                    server.clock.tick(HOURS)
                before = len(server.log)
                delta, wall, cpu, rss, data = run_tool(server, root, env, mode)
                rows.append(Row(forge, n, 0, scenario, delta["total"], delta["charged"], delta["writes"], wall, cpu, rss,
                                tag + (f" exit {data['exit']}" if data.get("exit") else "")))
                print_row(rows[-1], flush=True)
                figures[f"{scenario} {tag}"] = delta["total"]
                if scenario == "first push" and fields:
                    for e in server.log[before:]:
                        k = _kind(e)
                        if k:
                            figures[k] = figures.get(k, 0) + 1
                    figures["bodies naming a later blocker"] = sum(
                        1 for e in data.get("events", ()) if "names the issues that block" in str(e.get("detail", "")))
            assert not server.errors, server.errors[:1]
        finally:
            server.stop()
            shutil.rmtree(root, ignore_errors=True)
    print(f"#   {forge} N={n}: first push {figures['first push fields']} with fields, {figures['first push no fields']} "
          f"without; assignee look-ups {figures.get('look-ups', 0)} ({people} people), label requests "
          f"{figures.get('labels', 0)} ({labels} labels + the managed one), dependency requests "
          f"{figures.get('dependencies', 0)}; no-op sync {figures['no-op sync fields']} with, "
          f"{figures['no-op sync no fields']} without", flush=True)
    assert figures.get("look-ups", 0) == people, figures
    assert figures["no-op sync fields"] == figures["no-op sync no fields"], figures
    return figures


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100,1000")
    ap.add_argument("--forges", default="github,gitlab")
    ap.add_argument("--people", type=int, default=5)
    ap.add_argument("--labels", type=int, default=3)
    ap.add_argument("--latency", type=float, default=0.02)
    args = ap.parse_args(argv)
    print(f"# {machine()}; latency {args.latency * 1000:.0f} ms per request", flush=True)
    print(HEADER, flush=True)
    rows: list[Row] = []
    for n in [int(x) for x in args.sizes.split(",") if x.strip()]:
        for forge in [f.strip() for f in args.forges.split(",") if f.strip()]:
            bench_one(forge, n, args.people, args.labels, args.latency, rows)
    print()
    print(markdown_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
