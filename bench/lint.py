"""Benchmark: ``guidesync lint`` on the examples against a bare Typer app that parses the same files.

    python bench/lint.py [--runs 30] [--paths examples/guides]

A pre-commit hook runs ``guidesync lint FILES…`` on every commit, so what counts is the whole
process: the interpreter, the imports, the parse. The bare app (written to a temporary folder) is
what any Typer command line that reads Markdown costs: Typer with its defaults, markdown-it-py's
``MarkdownIt("commonmark").parse`` of every file, one line printed. Both are run ``--runs`` times,
interleaved (so a busy machine slows both alike), each as its own process, with bytecode cached
as in an installed package (in a folder of the benchmark's own); the figures are the
median and the best wall time and the median CPU time (user + system, from ``os.wait4``). The goal
is ``guidesync lint`` within 1.1x of the bare app.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

BARE = '''\
from pathlib import Path
from typing import List

import typer
from markdown_it import MarkdownIt

app = typer.Typer()


@app.command()
def lint(paths: List[str]) -> None:
    """Parse the Markdown files; count them."""
    md = MarkdownIt("commonmark")
    n = 0
    for p in map(Path, paths):
        for f in sorted(p.rglob("*.md")) if p.is_dir() else [p]:
            md.parse(f.read_text(encoding="utf-8"))
            n += 1
    print(f"{n} guides")


@app.command()
def version() -> None:
    print("0")


if __name__ == "__main__":
    app()
'''


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{argv} failed: {proc.stderr.read().decode()[-500:] if proc.stderr else ''}")
    return wall, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--paths", nargs="+", default=["examples/guides"])
    args = parser.parse_args()
    guidesync = shutil.which("guidesync", path=str(Path(sys.executable).parent)) or shutil.which("guidesync")
    if guidesync is None:
        raise SystemExit("guidesync is not installed in this environment (pip install -e .)")
    with tempfile.TemporaryDirectory() as tmp:
        bare = Path(tmp) / "bare.py"
        bare.write_text(BARE, encoding="utf-8")
        commands = {"bare Typer app": [sys.executable, str(bare), "lint", *args.paths],
                    "guidesync lint": [guidesync, "lint", *args.paths]}
        # Bytecode as an installed package has it: written once into a folder of the benchmark's
        # own (PYTHONDONTWRITEBYTECODE, where set, would make every run compile every module).
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        env["PYTHONPATH"] = str(ROOT)  # this checkout's guidesync, even where another one is installed
        for argv in commands.values():  # warm the file cache and write the bytecode
            run(argv, ROOT, env)
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, argv in commands.items():
                times[name].append(run(argv, ROOT, env))
    rows = {}
    for name, samples in times.items():
        walls, cpus = [w for w, _ in samples], [c for _, c in samples]
        rows[name] = (statistics.median(walls), min(walls), statistics.median(cpus))
    base = rows["bare Typer app"]
    print(f"{'':16} {'median wall':>12} {'best wall':>10} {'median CPU':>11}")
    for name, (med, best, cpu) in rows.items():
        print(f"{name:16} {med * 1000:10.0f} ms {best * 1000:7.0f} ms {cpu * 1000:8.0f} ms")
    ours = rows["guidesync lint"]
    print(f"ratio (guidesync / bare): median wall {ours[0] / base[0]:.2f}x, best wall {ours[1] / base[1]:.2f}x, "
          f"median CPU {ours[2] / base[2]:.2f}x  ({args.runs} runs each, {sys.version.split()[0]})")


if __name__ == "__main__":
    main()
