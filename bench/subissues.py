"""Sub-issues benchmark: what ``sub_issues: true`` costs against the fake forges, request by request.

    python bench/subissues.py [--sizes 100:200,1000:1000] [--forges github,ghes,gitlab] [--latency 0.02] [--json FILE]

For each forge and each size ``N:M`` (N tasks, M nested checkbox sub-items spread evenly over the
first tasks, at most 10 under one task; one phase guide per 25 tasks, so ceil(N/25) milestones), it
writes the guides and runs, each as its own ``python -m guidesync … --json`` process against a
fresh fake server (the tests' fakes, with bench/sync.py's lighter bookkeeping and a fixed latency
added to every request):

* with ``sub_issues: true``: the first push, a settling sync, a no-op sync;
* on a second fake, the same guides with ``sub_issues`` off (the sub-items are body text): the
  first push, a settling sync, a no-op sync.

The fake's clock is moved on two hours before every sync (time passes between scheduled runs; the
fakes' clocks otherwise move one second per write). The first push is checked against its formula:
4 fixed reads (the repository, the milestone and issue listings, the label) + the label + the
milestones + N + M creates + M attaches (none where the tracker has no sub-issues) + the probe
(1 request; 2 on GHES: the REST sub-issue route, then GraphQL's schema). ``ghes`` is GHES 3.17
(GraphQL ``addSubIssue``).
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.sync import REPO, TOKEN, UNPACED, Row, fast_fakes, machine, markdown_table, print_row, run_tool, HEADER  # noqa: E402

PER_GUIDE = 25
MAX_CHILDREN = 10
HOURS = 2 * 3600
PROBE = {"github": 1, "ghes": 2, "gitlab": 1}


def build(tasks: int, sub_items: int) -> dict[str, str]:
    """{file name: guide}: ``tasks`` open tasks in phase guides of PER_GUIDE, ``sub_items`` open
    sub-items, MAX_CHILDREN (or fewer, the last) under each of the first tasks."""
    if sub_items > tasks * MAX_CHILDREN:
        raise ValueError(f"at most {MAX_CHILDREN} sub-items per task")
    per_task = [0] * tasks
    left = sub_items
    for i in range(tasks):
        per_task[i] = min(MAX_CHILDREN, left)
        left -= per_task[i]
    files = {}
    for g in range(math.ceil(tasks / PER_GUIDE)):
        lines = [f"# Phase {g + 1}: Area {g + 1} - Detailed Implementation Guide", "", "## Deliverables Checklist", ""]
        for i in range(g * PER_GUIDE, min(tasks, (g + 1) * PER_GUIDE)):
            lines.append(f"- [ ] Task {i}: implement component {i}")
            lines += [f"  - [ ] Step {j} of component {i}" for j in range(per_task[i])]
        files[f"phase-{g + 1:04d}.md"] = "\n".join(lines + [""])
    return files


def start(forge: str, latency: float):
    BenchGitHub, BenchGitLab = fast_fakes()
    if forge == "gitlab":
        server = BenchGitLab(token=TOKEN, projects=(REPO,), latency=latency).start()
        server.rate_limit_limit = 10**9
        return server, {"tracker": "gitlab", "repository": REPO, "url": server.url}, {"GITLAB_TOKEN": TOKEN}
    kw = {"prefix": "/api/v3", "ghes_version": "3.17.0"} if forge == "ghes" else {}
    server = BenchGitHub(token=TOKEN, repos=(REPO,), latency=latency, rate_limit=10**9, **kw).start()
    return server, {"tracker": "github", "repository": REPO, "url": server.url}, {"GITHUB_TOKEN": TOKEN}


def bench_one(forge: str, n: int, m: int, latency: float, rows: list[Row]) -> dict[str, int]:
    import yaml

    milestones = math.ceil(n / PER_GUIDE)
    figures: dict[str, int] = {}
    for sub in (True, False):
        root = Path(tempfile.mkdtemp(prefix=f"bench-sub-{forge}-{n}-"))
        server, config, env = start(forge, latency)
        try:
            (root / "guides").mkdir()
            for name, text in build(n, m).items():
                (root / "guides" / name).write_text(text, encoding="utf-8")
            (root / "config").mkdir()
            cfg = {**config, "write_interval": 0, **UNPACED, "full_sync_hours": 0, "sub_issues": sub}
            (root / "config" / "guidesync.yaml").write_text(yaml.safe_dump(cfg, sort_keys=True))
            tag = "sub_issues on" if sub else "sub_issues off"
            for scenario, mode in (("first push", "push"), ("settling sync", "sync"), ("no-op sync", "sync")):
                if mode == "sync":
                    server.clock.tick(HOURS)
                before_log = len(server.log)
                delta, wall, cpu, rss, data = run_tool(server, root, env, mode)
                note = tag + (f" exit {data['exit']}" if data.get("exit") else "")
                rows.append(Row(forge, n, m, scenario, delta["total"], delta["charged"], delta["writes"], wall, cpu, rss, note))
                print_row(rows[-1], flush=True)
                figures[f"{scenario} {tag}"] = delta["total"]
                if scenario == "first push" and sub:
                    log = server.log[before_log:]
                    counts = data.get("counts") or {}
                    figures["attached"] = counts.get("attached", -1)
                    figures["created"] = counts.get("created", -1)
                    figures["probe"] = sum(1 for e in log if (e.method == "GET" and e.path.endswith("/sub_issues"))
                                           or "__type" in str((e.body or {}).get("query", "") if isinstance(e.body, dict) else ""))
            assert not server.errors, server.errors[:1]
        finally:
            server.stop()
            shutil.rmtree(root, ignore_errors=True)
    expected = 4 + 1 + milestones + n + m + m + PROBE[forge]
    figures["expected first push"] = expected
    print(f"#   {forge} N={n} M={m}: first push {figures['first push sub_issues on']} requests = 4 reads + 1 label + "
          f"{milestones} milestones + {n} + {m} creates + {figures['attached']} attaches + {figures['probe']} probe "
          f"(formula: {expected}); no-op sync {figures['no-op sync sub_issues on']} with, "
          f"{figures['no-op sync sub_issues off']} without", flush=True)
    assert figures["created"] == n + m and figures["attached"] == m and figures["probe"] == PROBE[forge], figures
    assert figures["first push sub_issues on"] == expected, figures
    assert figures["no-op sync sub_issues on"] == figures["no-op sync sub_issues off"], figures
    return figures


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100:200,1000:1000", help="N:M pairs (tasks:sub-items), comma-separated")
    ap.add_argument("--forges", default="github,ghes,gitlab")
    ap.add_argument("--latency", type=float, default=0.02, help="seconds added to every request (default 0.02)")
    ap.add_argument("--json", help="also write the rows to this file")
    args = ap.parse_args(argv)
    sizes = [tuple(int(x) for x in pair.split(":")) for pair in args.sizes.split(",") if pair.strip()]
    print(f"# {machine()}; latency {args.latency * 1000:.0f} ms per request", flush=True)
    print(HEADER, flush=True)
    rows: list[Row] = []
    figures = {}
    for n, m in sizes:
        for forge in [f.strip() for f in args.forges.split(",") if f.strip()]:
            figures[f"{forge} {n}:{m}"] = bench_one(forge, n, m, args.latency, rows)
    print()
    print(markdown_table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine(), "latency": args.latency, "figures": figures,
                                               "rows": [r.as_dict() for r in rows]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
