"""GitLab no-op cost against the number of milestones M, on a GitLab that filters milestones by
``updated_after`` (15.10 and later) and on one that does not (issue 18).

    python bench/milestones.py [--milestones 4,40,150,400] [--versions 16.11.0-ee,15.9.0] [--latency 0] [--json FILE]

For each server version and M it generates a repository of N = max(100, 2 M) tasks over M
milestones (``bench/generate.py``), starts the fake GitLab of the tests (``bench/sync.py``'s
lightened one) at that version, and runs, each as its own ``python -m guidesync … --json``
process: the first ``push``; a settling ``sync`` (it reads back what the push wrote, and asks the
server once whether ``updated_after`` filters its milestones); two no-op ``sync`` runs; a ``sync``
after k = 10 changed tasks (5 boxes checked, 5 texts edited: no milestone is written into); a
``sync`` after one task was added (an issue created in a milestone: every milestone is listed
first, as a changed-only listing cannot say that it still exists). The fake's clock is moved on by an hour before each run after the push, as between scheduled runs
(without it the push's last two minutes stay inside every listing's window). Requests are counted
by the fake server.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.sync import Row, change_k, print_row, repository, run_tool  # noqa: E402

HOUR = 3600


def bench_one(version: str, m: int, latency: float, rows: list[Row]) -> None:
    n = max(100, 2 * m)
    with repository("gitlab", n, m, latency) as (root, server, env):
        server.version = version
        steps = (("first push", "push"), ("settling sync", "sync"), ("no-op sync", "sync"), ("no-op sync", "sync"),
                 ("incremental (k=10)", "sync"), ("one task added", "sync"))
        for i, (name, mode) in enumerate(steps):
            if i:
                server.clock.tick(HOUR)
            if name.startswith("incremental"):
                assert change_k(root, 10) == 10
            elif name == "one task added":
                add_task(root)
            delta, wall, cpu, rss, data = run_tool(server, root, env, mode)
            note = f"exit {data['exit']}" if data.get("exit") else ""
            rows.append(Row(f"gitlab {version}", n, m, name, delta["total"], delta["charged"], delta["writes"],
                            wall, cpu, rss, note))
            print_row(rows[-1], flush=True)


def add_task(root: Path) -> None:
    """A new task before the first task of the first guide."""
    path = sorted((root / "guides").glob("*.md"))[0]
    text = path.read_text(encoding="utf-8")
    line = next(x for x in text.split("\n") if x.startswith(("- [ ] Task ", "- [x] Task ")))
    path.write_text(text.replace(line, "- [ ] A task added later\n" + line, 1), encoding="utf-8", newline="\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--milestones", default="4,40,150,400", help="numbers of milestones, comma-separated")
    ap.add_argument("--versions", default="16.11.0-ee,15.9.0", help="GitLab versions the fake answers as")
    ap.add_argument("--latency", type=float, default=0.0, help="seconds added to every request (default 0)")
    ap.add_argument("--json", help="also write the rows to this file")
    args = ap.parse_args(argv)
    rows: list[Row] = []
    for version in args.versions.split(","):
        for m in (int(x) for x in args.milestones.split(",")):
            bench_one(version, m, args.latency, rows)
    print()
    print("| server | N | M | scenario | requests | writes |")
    print("| --- | ---: | ---: | --- | ---: | ---: |")
    for r in rows:
        print(f"| {r.forge} | {r.n:,} | {r.m} | {r.scenario} | {r.total:,} | {r.writes:,} |")
    if args.json:
        Path(args.json).write_text(json.dumps([r.as_dict() for r in rows], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
