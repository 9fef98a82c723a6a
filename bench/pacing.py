"""Pacing benchmark: a first push larger than GitHub's hourly content budget, run on a schedule.

    python bench/pacing.py [--scenarios plain:10000,subissues:1000,fields:1000] [--every 3600] [--json FILE]

GitHub allows at most 80 content-generating requests (writes) a minute and 500 an hour. For each
scenario this starts the tests' fake GitHub (bench/sync.py's lighter bookkeeping) with its model of
those limits switched on (tests/fakes/secondary_limits.py: sliding windows on the fake's clock,
every write counted whatever its answer, a refusal before anything happens), writes the guides,
and runs guidesync in this process on the fake's clock: a ``push`` first, then a scheduled
``sync`` every ``--every`` seconds of fake time, until a run is complete and every task is linked.
Waits are not slept: they move the fake's clock. The configuration is the default one (writes 1 s
apart, the content window on); the fake's clock also moves 1 s with every write it serves.

Scenarios (none with a checked box: a plan just written):

* ``plain:N``: bench/generate.py's guides, N tasks over N/25 milestones;
* ``subissues:N``: N tasks, N nested sub-items (10 under each of the first N/10 tasks), ``sub_issues: true``;
* ``fields:N``: bench/fields.py's guides (assignee, label, due date on every task, blocked-by on every tenth).

Printed per run: requests, writes, issues listed (pages), whether complete; then the totals: runs,
content requests C, the fake's refusals (secondary-limit 403s) and early retries, the busiest
minute and hour, duplicates, tasks linked, and the simulated time T from the first write to the
last against the floor F = floor((C - 1) / 500) hours (the 500-per-hour limit alone lets the c-th
write go no earlier than floor((c - 1) / 500) hours after the first).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench import fields as fields_bench  # noqa: E402
from bench import generate, subissues  # noqa: E402
from bench.sync import REPO, TOKEN, fast_fakes, machine  # noqa: E402

LINK = re.compile(r"\(\[#(\d+)\]\(")


def guides(kind: str, n: int) -> tuple[dict[str, str], dict[str, Any]]:
    if kind == "plain":
        return generate.build(n, max(4, n // 25), checked_every=0, sub_every=0), {}
    if kind == "subissues":
        return subissues.build(n, n), {"sub_issues": True}
    if kind == "fields":
        return fields_bench.build(n, 5, 3, True), {}
    raise SystemExit(f"unknown scenario {kind!r}")


def run_scenario(kind: str, n: int, every: float) -> dict[str, Any]:
    import yaml

    from guidesync import commands
    from guidesync.context import Context

    BenchGitHub, _ = fast_fakes()
    server = BenchGitHub(token=TOKEN, repos=(REPO,), rate_limit=10**9).start()
    if kind == "fields":
        server.add_collaborator(REPO, *(f"user{i}" for i in range(5)))
    server.limit_content(per_minute=80, per_hour=500)
    root = Path(tempfile.mkdtemp(prefix=f"bench-pacing-{kind}-"))
    files, extra = guides(kind, n)
    try:
        (root / "guides").mkdir()
        for name, text in files.items():
            (root / "guides" / name).write_text(text, encoding="utf-8")
        (root / "config").mkdir()
        cfg = {"tracker": "github", "repository": REPO, "url": server.url, **extra}
        (root / "config" / "guidesync.yaml").write_text(yaml.safe_dump(cfg, sort_keys=True))

        def now() -> float:
            return server.clock.now().timestamp()

        def sleep(seconds: float) -> None:
            server.clock.tick(seconds)

        ctx = Context(root=root, env={"GITHUB_TOKEN": TOKEN}, sleep=sleep, clock=now, use_gh=False)
        runs: list[dict[str, Any]] = []
        wall = time.perf_counter()
        start = now()
        mode = "push"
        while True:
            began = now()
            before = server.counts()
            log_start = len(server.log)
            out = commands.sync(ctx, mode, as_json=True)
            data = json.loads(out.text)
            after = server.counts()
            pages = sum(1 for e in server.log[log_start:] if e.method == "GET" and e.path.endswith("/issues"))
            del server.log[:]  # the log is only needed per run
            runs.append({"run": len(runs) + 1, "mode": mode, "at_h": round((began - start) / 3600, 3),
                         "took_s": round(now() - began), "requests": after["total"] - before["total"],
                         "writes": after["writes"] - before["writes"], "issue_pages": pages,
                         "created": data["counts"]["created"], "complete": data["complete"], "exit": out.code,
                         "limited": data["requests"]["limited"]})
            print(f"  run {len(runs):3d} {mode:4s} at {runs[-1]['at_h']:7.3f} h: {runs[-1]['requests']:5d} requests, "
                  f"{runs[-1]['writes']:4d} writes, {pages:3d} issue pages, {runs[-1]['created']:4d} created, "
                  f"complete {data['complete']}", flush=True)
            if out.code != 0 or len(runs) > 200:
                raise SystemExit(f"run {len(runs)} failed: exit {out.code}: {data.get('errors')}")
            text = "".join(p.read_text(encoding="utf-8") for p in (root / "guides").glob("*.md"))
            if data["complete"] and mode == "sync" and runs[-1]["writes"] == 0:
                break
            mode = "sync"
            if now() < began + every:  # the next scheduled run (a run longer than the interval: at once)
                server.clock.tick(began + every - now())
        wall = time.perf_counter() - wall
        content = server.content.api_times
        c = len(content)
        first, last = content[0].timestamp(), content[-1].timestamp()
        floor_h = (c - 1) // 500
        issues = server.issues(REPO)
        titles = [i["title"] for i in issues.values()]
        links = [int(x) for x in LINK.findall(text)]
        result = {
            "scenario": f"{kind}:{n}", "runs": len(runs), "content_requests": c,
            "secondary_403": server.secondary_hits, "early_retries": server.early_retries,
            "peak_minute": server.content_peak(60, web=False), "peak_hour": server.content_peak(3600, web=False),
            "issues": len(issues), "duplicate_titles": len(titles) - len(set(titles)),
            "links": len(links), "links_unique": len(set(links)), "unlinked_issues": len(set(issues) - set(links)),
            "simulated_h": round((last - first) / 3600, 3), "floor_h": floor_h,
            "over_floor": round((last - first) / 3600 / floor_h - 1, 4) if floor_h else None,
            "wall_s": round(wall, 1), "per_run": runs,
        }
        return result
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", default="plain:10000,subissues:1000,fields:1000")
    ap.add_argument("--every", type=float, default=3600.0, help="seconds of fake time between scheduled runs")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args(argv)
    print(f"# {machine()}", flush=True)
    results = []
    for item in args.scenarios.split(","):
        kind, _, n = item.partition(":")
        print(f"# {kind}:{n}", flush=True)
        r = run_scenario(kind, int(n), args.every)
        results.append(r)
        print("# " + ", ".join(f"{k} {v}" for k, v in r.items() if k != "per_run"), flush=True)
    print("| scenario | runs | content requests | secondary 403s | early retries | busiest minute / hour | issues | "
          "duplicates | linked | simulated time | floor | over the floor | wall |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        over = "" if r["over_floor"] is None else f"{r['over_floor'] * 100:.2f} %"
        print(f"| {r['scenario']} | {r['runs']} | {r['content_requests']:,} | {r['secondary_403']} | {r['early_retries']} | "
              f"{r['peak_minute']} / {r['peak_hour']} | {r['issues']:,} | {r['duplicate_titles']} | "
              f"{r['links_unique']:,} | {r['simulated_h']} h | {r['floor_h']} h | {over} | {r['wall_s']} s |")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    bad = [r for r in results if r["secondary_403"] or r["early_retries"] or r["duplicate_titles"] or r["unlinked_issues"]
           or r["links"] != r["links_unique"]]
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
