"""Report benchmark: ``guidesync report`` over a generated history.

    python bench/report.py                       # the table of bench/README.md
    python bench/report.py --commits 1000 --guides 20 --per-commit 1 [--repeat 3] [--keep DIR]

For each case it writes a git repository with ``git fast-import`` (a few seconds for thousands of
commits): G phase guides of 25 tasks, then C commits, each changing ``per-commit`` guides (a box
checked; when a guide is all done, a new task added and its oldest dropped, so that every version
of a guide is the same size), one in 100 renaming a guide instead, a README.md
edited every 10 commits (a Markdown file that is no guide). Then, in this process and best of
``repeat``:

- **report**: ``guidesync.reportcmd.report`` as the CLI runs it (the guides read, the history read
  with ``git log`` and ``git cat-file --batch``, the burn-up, the page and the badge written);
- the **history** part alone (``read_history`` + ``burnup``), with its counts: blobs read and
  ``parse_guide`` calls (each blob at most once);
- the **naive** reader's parses: one per guide per commit (commits x guides), and the time those
  parses take from memory (no git at all), i.e. what a reader without the blob cache spends
  parsing alone.

Times: wall and CPU seconds (this process and its git children), the best of ``repeat``; the
naive parses in CPU seconds of this process. Memory: the peak traced by ``tracemalloc`` during one
report, and the process's peak RSS (``ru_maxrss``: interpreter and modules included) after the cases.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from guidesync.commands import Context  # noqa: E402
from guidesync.core.parse import parse_guide  # noqa: E402
from guidesync.core.progress import burnup  # noqa: E402
from guidesync.guides import in_scope  # noqa: E402
from guidesync.history import read_history  # noqa: E402
from guidesync.reportcmd import report  # noqa: E402

TASKS = 25
START = 1704067200  # 2024-01-01 UTC


def guide_text(n: int, tasks_: list[list]) -> str:
    """A phase guide; ``tasks_``: [serial, checked] (the serial makes every task's text its own)."""
    tasks = "".join(f"- [{'x' if b else ' '}] Task {k} of phase {n}: build and test part {k}\n" for k, b in tasks_)
    return (f"# Phase {n}: Part {n} - Detailed Implementation Guide\n\n## Overview\nWhat phase {n} delivers, and why "
            f"it matters for the phases after it.\n\n## Deliverables Checklist\n{tasks}\n## Notes\nNothing here is a task.\n")


def generate(root: Path, commits: int, guides: int, per_commit: int, seed: int = 1) -> dict[str, int]:
    """Write the repository; what it holds."""
    rnd = random.Random(seed)
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True, env=env)
    serial = iter(range(1, 10**9))
    state = {i: [[next(serial), False] for _ in range(TASKS)] for i in range(guides)}
    paths = {i: f"docs/phase-{i + 1}.md" for i in range(guides)}
    out: list[bytes] = []

    def data(text: str) -> bytes:
        raw = text.encode()
        return b"data %d\n" % len(raw) + raw + b"\n"

    def commit(n: int, ops: list[bytes], message: str) -> None:
        out.append(b"commit refs/heads/main\nmark :%d\n" % (n + 1))
        out.append(b"committer Bench <bench@example.com> %d +0000\n" % (START + n * 3600))
        out.append(data(message))
        if n:
            out.append(b"from :%d\n" % n)
        out.extend(ops)

    commit(0, [b"M 100644 inline " + paths[i].encode() + b"\n" + data(guide_text(i + 1, state[i])) for i in range(guides)]
           + [b"M 100644 inline README.md\n" + data("# Readme\n")], "the guides")
    renames = 0
    for n in range(1, commits):
        ops: list[bytes] = []
        if n % 100 == 50:  # a rename, content unchanged
            i = rnd.randrange(guides)
            new = f"docs/renamed/{renames}-phase-{i + 1}.md"
            ops.append(f"R {paths[i]} {new}\n".encode())
            paths[i] = new
            renames += 1
        else:
            for i in rnd.sample(range(guides), per_commit):
                open_ = [t for t in state[i] if not t[1]]
                if open_:
                    rnd.choice(open_)[1] = True
                else:  # all done: a new task, the oldest one dropped (every guide keeps its size)
                    state[i] = state[i][1:] + [[next(serial), False]]
                ops.append(b"M 100644 inline " + paths[i].encode() + b"\n" + data(guide_text(i + 1, state[i])))
            if n % 10 == 0:
                ops.append(b"M 100644 inline README.md\n" + data(f"# Readme\n\nEdit {n}.\n"))
        commit(n, ops, f"step {n}")
    subprocess.run(["git", "fast-import", "--quiet"], cwd=root, input=b"".join(out), check=True, env=env)
    subprocess.run(["git", "reset", "-q", "--hard", "main"], cwd=root, check=True, env=env)
    return {"renames": renames}


def naive(root: Path) -> tuple[int, float]:
    """A reader without the blob cache: every guide of every commit parsed. (parses, seconds), the
    texts read into memory first so that only the parsing is timed."""
    from guidesync.history import Blobs, git, parse_log

    out = git(root, "log", "--first-parent", "-m", "--reverse", "--raw", "-z", "--no-abbrev", "-M", "--relative",
              "--format=\x01%H %ct", "HEAD", "--", ":(icase)*.md")
    log = list(parse_log(out))
    blobs, texts = Blobs(root), {}
    for _, _, entries in log:
        for e in entries:
            if e.status != "D" and e.new_oid not in texts:
                texts[e.new_oid] = (blobs.read(e.new_oid) or b"").decode()
    blobs.close()
    tree: dict[str, str] = {}
    parses, t0 = 0, time.process_time()
    for _, _, entries in log:
        for e in entries:
            if e.old:
                tree.pop(e.old, None)
            if e.status == "D":
                tree.pop(e.path, None)
            else:
                tree[e.path] = e.new_oid
        for path, oid in tree.items():
            if path.startswith("docs/"):
                parse_guide(texts[oid], path)
                parses += 1
    return parses, time.process_time() - t0


def cpu() -> float:
    """CPU seconds of this process and of its finished children (the git processes)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def best(fn, repeat: int) -> tuple[float, float, object]:
    """(best wall seconds, best CPU seconds, the result) over ``repeat`` runs."""
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        gc.collect()
        t0, c0 = time.perf_counter(), cpu()
        result = fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(cpu() - c0)
    return min(walls), min(cpus), result


def case(commits: int, guides: int, per_commit: int, repeat: int, keep: Path | None, with_naive: bool) -> dict[str, object]:
    tmp = Path(tempfile.mkdtemp(prefix="guidesync-bench-report-"))
    root = (keep or tmp) / f"repo-{commits}-{guides}-{per_commit}"
    try:
        t0 = time.perf_counter()
        generate(root, commits, guides, per_commit)
        made = time.perf_counter() - t0
        ctx = Context(root=root)

        def run_report():
            return report(ctx, out=tmp / "out", today="2024-06-01", now=START + commits * 3600)

        def run_history():
            h = read_history(root, parse=lambda text, path: parse_guide(text, path),
                             in_scope=lambda p: in_scope(p, ("**/*.md",)))
            return h, burnup(h.changes)

        t_report, c_report, outcome = best(run_report, repeat)
        t_history, c_history, (h, points) = best(run_history, repeat)
        tracemalloc.start()
        run_report()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        row: dict[str, object] = {
            "commits": commits, "guides": guides, "per_commit": per_commit, "generate_s": made,
            "points": len(points), "blobs": h.blobs, "parses": h.parses, "naive_parses": commits * guides,
            "report_s": t_report, "history_s": t_history, "report_cpu": c_report, "history_cpu": c_history,
            "peak_mb": peak / 1e6,
            "page_kb": (tmp / "out" / "index.html").stat().st_size / 1e3,
        }
        if with_naive:
            row["naive_parses"], row["naive_parse_s"] = naive(root)
        assert outcome.code == 0  # type: ignore[attr-defined]
        return row
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


CASES = [(1000, 20, 1), (1000, 100, 1), (2000, 20, 1), (1000, 20, 5)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--commits", type=int)
    ap.add_argument("--guides", type=int, default=20)
    ap.add_argument("--per-commit", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", type=Path, help="keep the generated repositories here")
    ap.add_argument("--no-naive", action="store_true", help="skip the naive parse baseline")
    args = ap.parse_args(argv)
    cases = [(args.commits, args.guides, args.per_commit)] if args.commits else CASES
    print(f"# Python {platform.python_version()}, git {subprocess.run(['git', '--version'], capture_output=True, text=True).stdout.split()[-1]}, "
          f"{os.cpu_count()} CPUs", flush=True)
    print("| commits | guides | changed per commit | points | blobs read | parses | commits × guides | report wall / CPU (s) "
          "| history wall / CPU (s) | naive: the parses alone, CPU (s) | peak traced (MB) | page (KB) |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for c, g, k in cases:
        # the naive baseline parses commits x guides guides (about 2.5 ms each): only up to 20,000 of them
        r = case(c, g, k, args.repeat, args.keep, not args.no_naive and c * g <= 20_000)
        naive_s = f"{r['naive_parse_s']:.2f}" if "naive_parse_s" in r else "–"
        print(f"| {c:,} | {g} | {k} | {r['points']:,} | {r['blobs']:,} | {r['parses']:,} | {r['naive_parses']:,} "
              f"| {r['report_s']:.2f} / {r['report_cpu']:.2f} | {r['history_s']:.2f} / {r['history_cpu']:.2f} | {naive_s} "
              f"| {r['peak_mb']:.1f} | {r['page_kb']:.0f} |", flush=True)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS of this process: {rss:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
