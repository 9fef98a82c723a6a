"""Benchmark: guidesync's guide parser against a bare markdown-it-py parse of the same files.

    python bench/parse.py [--files 2000] [--repeat 3] [--seed 1] [--keep DIR]

Writes ``--files`` generated guides (both templates, ~25 tasks and ~5 KB each) into a temporary
folder, reads them back into memory, then times (best of ``--repeat``):

  a) ``MarkdownIt("commonmark", {"tasklists": True}).parse(text)`` of every file, and
  b) ``guidesync.core.parse.parse_guide(text, path)`` of every file,

and measures with tracemalloc the peak memory of parsing every guide one at a time, from disk,
keeping only the Guide models. The target is (b) within 1.5x of (a).
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from markdown_it import MarkdownIt  # noqa: E402

from guidesync.core.parse import parse_guide  # noqa: E402

WORDS = (
    "add update remove cache index service endpoint handler schema migration queue worker retry "
    "timeout config flag metric log alert dashboard test fixture client server token session cart "
    "order payment invoice refund customer address search filter page component route build deploy"
).split()
CODE = ["`services/api/main.py`", "`GET /cart/{id}`", "`orders`", "`scripts/seed.py`", "`CheckoutPage`", "`RETRY_LIMIT`"]
EXTRAS = ["🚀", "✅", "(see [docs](https://example.com/docs))", "**important**", "für", "日本語"]


def sentence(rng: random.Random, lo: int = 6, hi: int = 14) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(lo, hi))]
    if rng.random() < 0.5:
        words.insert(rng.randrange(len(words)), rng.choice(CODE))
    if rng.random() < 0.15:
        words.append(rng.choice(EXTRAS))
    return " ".join(words).capitalize()


def paragraph(rng: random.Random, sentences: int = 3) -> str:
    return " ".join(sentence(rng) + "." for _ in range(sentences))


def task_line(rng: random.Random, n: int, marker: str = "-") -> list[str]:
    box = rng.choice(["[ ] ", "[ ] ", "[x] ", ""])
    line = f"{marker} {box}{sentence(rng)}"
    if rng.random() < 0.4:
        line += f" ([#{n}](https://github.com/acme/shop/issues/{n}))"
    out = [line]
    if rng.random() < 0.15:
        out.append("  " + sentence(rng, 4, 8))
    for _ in range(rng.choice([0, 0, 0, 1, 2])):
        out.append(f"  - {rng.choice(['[ ] ', '[x] ', ''])}{sentence(rng, 3, 6)}")
    return out


def code_block(rng: random.Random, lang: str = "python") -> list[str]:
    body = [f"def {rng.choice(WORDS)}_{rng.choice(WORDS)}(x):", f"    # - [ ] {sentence(rng, 3, 5)}", f"    return x  # {sentence(rng, 3, 6)}"]
    return [f"```{lang}", *body, "```"]


def phase_guide(rng: random.Random, k: int, tasks: int) -> str:
    out = [f"# Phase {k}: {sentence(rng, 2, 3)} - Detailed Implementation Guide", "", "## Overview", "", paragraph(rng), "", "## Deliverables Checklist", ""]
    for i in range(tasks):
        out += task_line(rng, k * 100 + i)
    out += ["", "## Prerequisites", "", *(f"- {sentence(rng, 3, 6)}" for _ in range(3)), "", "## Step-by-Step Implementation", ""]
    for s in range(1, 3):
        out += [f"### {s}. {sentence(rng, 2, 4)}", "", f"**File**: {rng.choice(CODE)}", "", *code_block(rng), "", "**Key Points:**", f"- {sentence(rng)}", f"- {sentence(rng)}", ""]
    out += ["## Testing Checklist", "", "### Unit Tests", "", f"1. **{sentence(rng, 2, 3)}**", "   ```python", "   assert True", "   ```", ""]
    out += ["## Security Considerations", "", f"- {sentence(rng)}", "", "## Rollback Plan", "", "1. " + sentence(rng), "2. " + sentence(rng), ""]
    return "\n".join(out)


def implementation_guide(rng: random.Random, k: int, tasks: int) -> str:
    out = [f"# Implementation Guide: {sentence(rng, 2, 4)}", "", "## Overview", "", paragraph(rng, 2), "", "## Background & Context", "", paragraph(rng, 1), ""]
    out += ["## Implementation Milestones", ""]
    per = [tasks // 5 + (1 if i < tasks % 5 else 0) for i in range(5)]
    for m, count in enumerate(per, 1):
        out += [f"### Milestone {m}: {sentence(rng, 2, 4)}", f"**Goal**: {sentence(rng)}", "", "**Changes Required**:"]
        for i in range(count):
            out += task_line(rng, k * 100 + m * 10 + i)
        out += ["", "**Implementation Details**:", paragraph(rng, 1), ""]
        if m % 2:
            out += [*code_block(rng), ""]
        out += ["**Verification**:", sentence(rng), "", "---", ""]
    out += ["## Testing Strategy", "", "### Unit Tests", paragraph(rng, 1), "", "## Security Considerations", "", paragraph(rng, 1), ""]
    return "\n".join(out)


def generate(folder: Path, files: int, seed: int) -> list[Path]:
    rng = random.Random(seed)
    paths = []
    for k in range(files):
        tasks = rng.randint(20, 30)
        text = phase_guide(rng, k, tasks) if k % 2 == 0 else implementation_guide(rng, k, tasks)
        if k % 7 == 3:
            text = text.replace("\n", "\r\n")
        p = folder / f"guides/{k // 100:02d}/guide-{k:04d}.md"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(text.encode("utf-8"))
        paths.append(p)
    return paths


def best_of(repeat: int, fn) -> float:
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", type=Path, help="write the guides here (kept) instead of a temporary folder")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="guidesync-bench-") as tmp:
        folder = args.keep or Path(tmp)
        paths = generate(folder, args.files, args.seed)
        texts = [(p.relative_to(folder).as_posix(), p.read_bytes().decode("utf-8")) for p in paths]
        size = sum(len(t.encode("utf-8")) for _, t in texts)

        md = MarkdownIt("commonmark", {"tasklists": True})
        guides = [parse_guide(t, rel) for rel, t in texts]
        assert all(g is not None for g in guides), "a generated file is not a guide"
        tasks = sum(len(g.tasks) for g in guides)
        problems = sum(len(g.problems) for g in guides)
        del guides

        def bare() -> None:
            for _, t in texts:
                md.parse(t)

        def ours() -> None:
            for rel, t in texts:
                parse_guide(t, rel)

        bare()  # warm up
        t_bare = best_of(args.repeat, bare)
        t_ours = best_of(args.repeat, ours)

        # Peak memory: one file at a time from disk, keeping only the models.
        del texts
        gc.collect()
        tracemalloc.start()
        kept = []
        for p in paths:
            kept.append(parse_guide(p.read_bytes().decode("utf-8"), p.relative_to(folder).as_posix()))
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()

    print(f"python {sys.version.split()[0]}, markdown-it-py {__import__('markdown_it').__version__}")
    print(f"files            {args.files}")
    print(f"size             {size / 1e6:.1f} MB")
    print(f"tasks            {tasks} ({problems} problems)")
    print(f"markdown-it-py   {t_bare:.2f} s  ({size / 1e6 / t_bare:.1f} MB/s)")
    print(f"parse_guide      {t_ours:.2f} s  ({size / 1e6 / t_ours:.1f} MB/s)")
    print(f"ratio            {t_ours / t_bare:.2f}x  (target <= 1.5x)")
    print(f"peak memory      {peak / 1e6:.1f} MB  (models kept: {current / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
