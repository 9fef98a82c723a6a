"""Sync benchmark: request counts, wall time and peak memory of guidesync against the fake forges.

    python bench/sync.py sync [--sizes 100,1000,10000] [--latency 0.02] [--forges github,gitlab] [--k 10]
    python bench/sync.py plan [--guides 500,2000] [--tasks-per-guide 25]

``sync``: for each forge and size N (tasks; M = N/25 milestones, at least 4) it generates a
repository of guides (``bench/generate.py``), starts the fake GitHub / GitLab of the tests with a
fixed latency added to every request, and runs, each as its own ``python -m guidesync … --json``
process (so wall time and peak RSS are those of a real run, interpreter start included):

1. first push;  2. a settling sync (reads back what the push wrote);  3. a no-op sync;
4. an incremental sync after k changed tasks (k/2 boxes checked, k/2 texts edited);  5. ``sync --full``;
6. the naive baseline: one ``GET /issues/{n}`` per task with PyGithub (python-gitlab on GitLab),
   what a one-off script does on every run.

Requests (total / charged / writes) are counted by the fake server; "charged" leaves out the
304 answers GitHub does not charge. The benchmark config uses ``write_interval: 0``.

``plan``: offline parse + plan of generated repositories (in this process) against a bare
markdown-it-py parse of the same files, and the peak traced memory of both (tracemalloc).

The fakes' own bookkeeping is made O(1) per rendered issue here (milestone counters memoised on
GitHub, only the requested page rendered on GitLab) so that the server's CPU, not part of what is
measured, does not grow with N² and distort wall times; the HTTP answers are unchanged.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from bench import generate  # noqa: E402

TOKEN = "bench-token-0000"
#: these benchmarks measure requests and time without GitHub's content-creation pacing (its
#: window would make every run past 80 writes wait real minutes): bench/pacing.py measures that
UNPACED = {"content_per_minute": 0, "content_per_hour": 0}
REPO = "acme/shop"


# ------------------------------------------------------------------------------- fast fakes


def fast_fakes():
    """Subclasses of the test fakes whose per-issue rendering does not scan every issue."""
    from tests.fakes.github import FakeGitHub
    from tests.fakes.gitlab import FakeGitLab

    class BenchGitHub(FakeGitHub):
        _counts_key: Any = None
        _counts: dict[int, tuple[int, int]] = {}

        def _milestone_counts(self, repo, number):  # one pass per state of the fake, not one per issue
            key = (repo.id, self.clock.now(), len(repo.issues))
            if key != self._counts_key:
                counts: dict[int, list[int]] = {}
                for issue in repo.issues.values():
                    if issue.live and issue.milestone is not None:
                        c = counts.setdefault(issue.milestone, [0, 0])
                        c[0 if issue.state == "open" else 1] += 1
                self._counts = {k: (v[0], v[1]) for k, v in counts.items()}
                self._counts_key = key
            return self._counts.get(number, (0, 0))

    class _Lazy:
        __slots__ = ("issue",)

        def __init__(self, issue):
            self.issue = issue

    class BenchGitLab(FakeGitLab):
        _lazy = False
        _index: dict[tuple[int, int], dict] = {}

        def _h_list_issues(self, req, pid):  # render only the page asked for
            self._lazy = True
            try:
                resp = super()._h_list_issues(req, pid)
            finally:
                self._lazy = False
            resp.body = [self._render_issue(x.issue) if isinstance(x, _Lazy) else x for x in resp.body]
            return resp

        def _render_issue(self, issue):
            if self._lazy:
                return _Lazy(issue)
            return super()._render_issue(issue)

        def _issue(self, project, iid):  # an index instead of a scan of every issue
            key = (project["id"], int(iid))
            found = self._index.get(key)
            if found is None or self._issues.get(found["id"]) is not found:
                self._index = {(i["project_id"], i["iid"]): i for i in self._issues.values()}
                found = self._index.get(key)
            return found if found is not None else super()._issue(project, iid)  # (the 404)

    return BenchGitHub, BenchGitLab


def start_fake(forge: str, latency: float):
    BenchGitHub, BenchGitLab = fast_fakes()
    if forge == "github":
        server = BenchGitHub(token=TOKEN, repos=(REPO,), latency=latency, rate_limit=10**9).start()
        config = {"tracker": "github", "repository": REPO, "url": server.url}
        env = {"GITHUB_TOKEN": TOKEN}
    else:
        server = BenchGitLab(token=TOKEN, projects=(REPO,), latency=latency).start()
        server.rate_limit_limit = 10**9  # the fake never resets its per-minute window
        config = {"tracker": "gitlab", "repository": REPO, "url": server.url}
        env = {"GITLAB_TOKEN": TOKEN}
    return server, config, env


# ------------------------------------------------------------------------------- measuring


@dataclass
class Row:
    forge: str
    n: int
    m: int
    scenario: str
    total: int
    charged: int
    writes: int
    wall: float
    cpu: float
    rss_mb: float
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def child(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str, float, float, float]:
    """Run a child process; (exit code, stdout, wall seconds, cpu seconds, peak RSS MB)."""
    full_env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_TOKEN", "GH_TOKEN", "GITLAB_TOKEN")}
    full_env.update(env)
    full_env["PYTHONPATH"] = str(ROOT)
    out_path = Path(tempfile.mkstemp(prefix="bench-out-")[1])
    t0 = time.perf_counter()
    with out_path.open("wb") as out:
        proc = subprocess.Popen([sys.executable, *args], cwd=cwd, env=full_env, stdout=out, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    text = out_path.read_text()
    out_path.unlink()
    if proc.returncode not in (0,):
        sys.stderr.write(f"[{' '.join(args[:3])}] exit {proc.returncode}\n{err[-2000:]}\n")
    return proc.returncode, text, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def counts(server) -> dict[str, int]:
    return server.counts()


def run_tool(server, root: Path, env: dict[str, str], mode: str, *flags: str) -> tuple[dict[str, int], float, float, float, dict]:
    before = counts(server)
    code, text, wall, cpu, rss = child(["-m", "guidesync", mode, "--json", *flags], root, env)
    after = counts(server)
    delta = {k: after[k] - before[k] for k in after}
    try:
        data = json.loads(text)
    except ValueError:
        data = {"raw": text[-500:]}
    data["exit"] = code
    return delta, wall, cpu, rss, data


def change_k(root: Path, k: int) -> int:
    """Check k/2 open boxes and edit k - k/2 task texts; returns the number of changed tasks."""
    checks, edits = k // 2, k - k // 2
    done = 0
    for p in sorted((root / "guides").glob("*.md")):
        if checks <= 0 and edits <= 0:
            break
        lines = p.read_text(encoding="utf-8").split("\n")
        for i, line in enumerate(lines):
            if not line.startswith("- [ ] Task ") or "([#" not in line:
                continue
            if checks > 0:
                lines[i] = line.replace("- [ ]", "- [x]", 1)
                checks -= 1
                done += 1
            elif edits > 0:
                lines[i] = line.replace(": implement component", ": build component", 1)
                edits -= 1
                done += 1
        p.write_text("\n".join(lines), encoding="utf-8", newline="\n")
    return done


NAIVE = r"""
import sys, time
forge, url, repo, token, n = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
states = {}
if forge == "github":
    import github
    gh = github.Github(auth=github.Auth.Token(token), base_url=url, retry=None, per_page=100,
                       seconds_between_requests=None, seconds_between_writes=None, lazy=True)
    r = gh.get_repo(repo, lazy=True)
    for number in range(1, n + 1):
        states[number] = r.get_issue(number).state
else:
    import gitlab
    gl = gitlab.Gitlab(url, private_token=token, per_page=100)
    p = gl.projects.get(repo, lazy=True)
    for iid in range(1, n + 1):
        states[iid] = p.issues.get(iid).state
print(len(states))
"""


@contextmanager
def repository(forge: str, n: int, m: int, latency: float, **settings: Any) -> Iterator[tuple[Path, Any, dict[str, str]]]:
    """A temporary repository of n generated tasks over m milestones and a fresh fake server with
    ``latency``, configured for it (``write_interval: 0``, ``max_close`` unbounded, and ``settings``):
    (root, server, env). Afterwards the server must have met no error of its own."""
    import yaml

    root = Path(tempfile.mkdtemp(prefix=f"bench-{forge}-{n}-{m}-"))
    try:
        generate.write(root / "guides", n, m)
        server, config, env = start_fake(forge, latency)
        (root / "config").mkdir()
        cfg = {**config, "write_interval": 0, **UNPACED, "max_close": 10**6, **settings}
        (root / "config" / "guidesync.yaml").write_text(yaml.safe_dump(cfg, sort_keys=True))
        try:
            yield root, server, env
            assert not server.errors, server.errors[:1]
        finally:
            server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def bench_one(forge: str, n: int, latency: float, k: int, naive: bool, rows: list[Row], full: bool) -> None:
    m = max(4, n // 25)
    with repository(forge, n, m, latency, full_sync_hours=0) as (root, server, env):
        def record(name: str, mode: str, *flags: str, note: str = "") -> dict:
            delta, wall, cpu, rss, data = run_tool(server, root, env, mode, *flags)
            if data.get("exit"):
                note = (note + f" exit {data['exit']}").strip()
            if data.get("complete") is False:
                note = (note + " incomplete").strip()
            rows.append(Row(forge, n, m, name, delta["total"], delta["charged"], delta["writes"], wall, cpu, rss, note))
            print_row(rows[-1], flush=True)
            return data

        record("first push", "push")
        record("settling sync", "sync")
        record("no-op sync", "sync")
        changed = change_k(root, k)
        record(f"incremental (k={changed})", "sync")
        if full:
            record("sync --full", "sync", "--full")
        if naive:
            before = counts(server)
            code, text, wall, cpu, rss = child(["-c", NAIVE, forge, server.url, REPO, TOKEN, str(n)], root, env)
            after = counts(server)
            d = {kk: after[kk] - before[kk] for kk in after}
            rows.append(Row(forge, n, m, "naive: GET per task", d["total"], d["charged"], d["writes"], wall, cpu, rss,
                            "" if code == 0 else f"exit {code}"))
            print_row(rows[-1], flush=True)


HEADER = f"{'forge':<7} {'N':>6} {'M':>4}  {'scenario':<22} {'total':>6} {'charged':>7} {'writes':>6} {'wall s':>8} {'cpu s':>7} {'RSS MB':>7}  note"


def print_row(r: Row, flush: bool = False) -> None:
    print(f"{r.forge:<7} {r.n:>6} {r.m:>4}  {r.scenario:<22} {r.total:>6} {r.charged:>7} {r.writes:>6} "
          f"{r.wall:>8.2f} {r.cpu:>7.2f} {r.rss_mb:>7.1f}  {r.note}", flush=flush)


def markdown_table(rows: list[Row]) -> str:
    out = ["| forge | N | M | scenario | requests | charged | writes | wall (s) | CPU (s) | peak RSS (MB) |",
           "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        out.append(f"| {r.forge} | {r.n:,} | {r.m} | {r.scenario}{' (' + r.note + ')' if r.note else ''} | {r.total:,} | "
                   f"{r.charged:,} | {r.writes:,} | {r.wall:.2f} | {r.cpu:.2f} | {r.rss_mb:.0f} |")
    return "\n".join(out)


def machine() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({cpu or platform.processor()}), {platform.system()} {platform.release()}, Python {platform.python_version()}"


def cmd_sync(args: argparse.Namespace) -> int:
    sizes = [int(s.replace("_", "").replace(",", "")) for s in args.sizes.split(",") if s.strip()] if args.sizes else [100, 1000, 10000]
    forges = [f.strip() for f in args.forges.split(",") if f.strip()]
    print(f"# {machine()}; latency {args.latency * 1000:.0f} ms per request", flush=True)
    code, _, wall, cpu, rss = child(["-m", "guidesync", "version"], ROOT, {})
    print(f"# baseline: `python -m guidesync version` takes {wall:.2f} s wall, {cpu:.2f} s CPU, {rss:.0f} MB RSS", flush=True)
    print(HEADER, flush=True)
    rows: list[Row] = []
    for n in sizes:
        for forge in forges:
            bench_one(forge, n, args.latency, args.k, not args.no_naive, rows, not args.no_full)
    print()
    print(markdown_table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine(), "latency": args.latency,
                                               "rows": [r.as_dict() for r in rows]}, indent=1))
    return 0


# ------------------------------------------------------------------------------- plan (offline)


def _peak(fn):
    gc.collect()
    tracemalloc.start()
    t0 = time.perf_counter()
    result = fn()
    wall = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result, wall, peak / 2**20


def _timed(fn, repeat: int):
    """Best of ``repeat`` runs: (result, wall seconds, CPU seconds of this process)."""
    best_wall = best_cpu = float("inf")
    result = None
    for _ in range(repeat):
        result = None
        gc.collect()
        t0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        best_wall = min(best_wall, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    return result, best_wall, best_cpu


def cmd_plan(args: argparse.Namespace) -> int:
    from markdown_it import MarkdownIt

    from guidesync.guides import load
    from guidesync.core.parse import DEFAULT_SECTIONS
    from guidesync.core.plan import Options, Snapshot, make_plan
    from guidesync.core.base import Base

    print(f"# {machine()}; times are the best of {args.repeat} runs, CPU seconds (wall in brackets)", flush=True)
    print(f"{'guides':>6} {'tasks':>6} {'MB':>5} | {'md-it parse':>15} | {'load (parse)':>15} {'plan':>13} "
          f"{'load+plan':>15} {'ratio':>5} | {'peak MB: md-it all':>18} {'md-it 1-by-1':>12} {'load+plan':>9} {'KB/guide':>8}",
          flush=True)
    results = []
    for g in [int(x) for x in args.guides.split(",")]:
        milestones = g * 2  # phase (1) and implementation (3) guides alternate: 2 guides per 4 milestones
        tasks = g * args.tasks_per_guide
        root = Path(tempfile.mkdtemp(prefix=f"bench-plan-{g}-"))
        try:
            files = generate.write(root / "guides", tasks, milestones)
            assert len(files) == g, (len(files), g)
            size = sum(len(t.encode()) for t in files.values()) / 2**20
            paths = sorted((root / "guides").glob("*.md"))
            md = MarkdownIt("commonmark", {"tasklists": True})  # what guidesync.core.parse uses

            def bare_parse():
                n = 0
                for p in paths:
                    n += len(md.parse(p.read_text(encoding="utf-8")))
                return n

            def bare_parse_all():
                return [md.parse(p.read_text(encoding="utf-8")) for p in paths]

            def do_load():
                return load(None, root, ["**/*.md"], [], DEFAULT_SECTIONS)

            def do_plan(loaded):
                return make_plan([lg.guide for lg in loaded.guides], Base(), Snapshot(offline=True), Options(mode="push"))

            def load_and_plan():
                loaded = do_load()
                gc.freeze()  # as the CLI does once the guides are loaded
                try:
                    return loaded, do_plan(loaded)
                finally:
                    gc.unfreeze()

            _, md_wall, md_cpu = _timed(bare_parse, args.repeat)
            loaded, ld_wall, ld_cpu = _timed(do_load, args.repeat)
            plan, pl_wall, pl_cpu = _timed(lambda: do_plan(loaded), args.repeat)
            _, lp_wall, lp_cpu = _timed(load_and_plan, args.repeat)
            n_tasks = sum(len(lg.guide.tasks) for lg in loaded.guides)
            assert n_tasks == tasks, (n_tasks, tasks)
            assert sum(1 for s in plan.tasks if s.create) == tasks
            del loaded, plan
            # the whole command, as a user runs it (interpreter start and the printed report included)
            code, _, cli_wall, cli_cpu, cli_rss = child(["-m", "guidesync", "plan", "--offline"], root, {})
            assert code == 0, code
            _, _, peak_all = _peak(bare_parse_all)
            _, _, peak_one = _peak(bare_parse)
            _, _, peak_plan = _peak(load_and_plan)
            row = {"guides": g, "tasks": tasks, "milestones": milestones, "mb": round(size, 2),
                   "md_parse_cpu": md_cpu, "md_parse_wall": md_wall, "load_cpu": ld_cpu, "load_wall": ld_wall,
                   "plan_cpu": pl_cpu, "plan_wall": pl_wall, "load_plan_cpu": lp_cpu, "load_plan_wall": lp_wall,
                   "ratio_cpu": lp_cpu / md_cpu, "peak_md_all_mb": peak_all, "peak_md_one_mb": peak_one,
                   "peak_load_plan_mb": peak_plan, "kb_per_guide": peak_plan * 1024 / g,
                   "cli_plan_offline_wall": cli_wall, "cli_plan_offline_cpu": cli_cpu, "cli_plan_offline_rss_mb": cli_rss}
            results.append(row)
            print(f"{g:>6} {tasks:>6} {size:>5.1f} | {md_cpu:>6.2f} ({md_wall:>6.2f}) | {ld_cpu:>6.2f} ({ld_wall:>6.2f}) "
                  f"{pl_cpu:>5.2f} ({pl_wall:>5.2f}) {lp_cpu:>6.2f} ({lp_wall:>6.2f}) {lp_cpu / md_cpu:>5.2f} | "
                  f"{peak_all:>18.1f} {peak_one:>12.1f} {peak_plan:>9.1f} {peak_plan * 1024 / g:>8.1f}", flush=True)
            print(f"{'':>6} `guidesync plan --offline` (one run): {cli_cpu:.2f} s CPU ({cli_wall:.2f} s wall), "
                  f"peak RSS {cli_rss:.0f} MB", flush=True)
        finally:
            shutil.rmtree(root, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine(), "rows": results}, indent=1))
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="guidesync sync and plan benchmarks")
    sub = ap.add_subparsers(dest="command", required=True)
    s = sub.add_parser("sync", help="request counts, wall time and memory against the fake forges")
    s.add_argument("--sizes", default="100,1000,10000", help="numbers of tasks, comma-separated")
    s.add_argument("--latency", type=float, default=0.02, help="seconds added to every request (default 0.02)")
    s.add_argument("--forges", default="github,gitlab")
    s.add_argument("--k", type=int, default=10, help="changed tasks in the incremental scenario")
    s.add_argument("--no-naive", action="store_true", help="skip the naive GET-per-task baseline")
    s.add_argument("--no-full", action="store_true", help="skip the sync --full scenario")
    s.add_argument("--json", help="also write the rows to this file")
    s.set_defaults(fn=cmd_sync)
    p = sub.add_parser("plan", help="offline parse + plan vs a bare markdown-it-py parse")
    p.add_argument("--guides", default="500,2000", help="numbers of guides, comma-separated")
    p.add_argument("--tasks-per-guide", type=int, default=25)
    p.add_argument("--repeat", type=int, default=3, help="timings are the best of this many runs")
    p.add_argument("--json")
    p.set_defaults(fn=cmd_plan)
    args = ap.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
