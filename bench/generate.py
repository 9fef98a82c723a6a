"""Synthetic repositories of guides for the benchmarks and the scale tests.

``build(tasks, milestones)`` returns ``{file name: text}``: ``tasks`` tasks spread round-robin over
``milestones`` milestones, written as a mix of both templates (a phase guide holds one milestone,
an implementation guide ``per_impl`` milestones; they alternate). Every ``checked_every``-th task is
checked, every ``plain_every``-th one is a plain bullet (no box), every ``sub_every``-th one has
two sub-items. Task texts are unique. The output is deterministic.

    python bench/generate.py OUT_DIR --tasks 1000 --milestones 40
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _layout(milestones: int, per_impl: int) -> list[tuple[str, int]]:
    """The guides as (kind, number of milestones), alternating phase and implementation."""
    out: list[tuple[str, int]] = []
    left = milestones
    phase_next = True
    while left > 0:
        if phase_next or left == 1:
            out.append(("phase", 1))
            left -= 1
        else:
            k = min(per_impl, left)
            out.append(("impl", k))
            left -= k
        phase_next = not phase_next
    return out


def task_line(i: int, *, checked_every: int = 7, plain_every: int = 11, sub_every: int = 13) -> list[str]:
    """The Markdown lines of task number ``i`` (0-based)."""
    text = f"Task {i}: implement component {i} in `pkg/module_{i}.py` and cover it with tests"
    if plain_every and i % plain_every == plain_every - 1:
        lines = [f"- {text}"]
    else:
        box = "x" if checked_every and i % checked_every == 0 else " "
        lines = [f"- [{box}] {text}"]
    if sub_every and i % sub_every == sub_every - 1:
        lines += [f"  - [x] design note for component {i}", f"  - [ ] review of component {i}"]
    return lines


def build(
    tasks: int,
    milestones: int,
    *,
    per_impl: int = 3,
    checked_every: int = 7,
    plain_every: int = 11,
    sub_every: int = 13,
) -> dict[str, str]:
    """``{file name: guide text}`` for ``tasks`` tasks over ``milestones`` milestones."""
    if milestones < 1:
        raise ValueError("at least one milestone")
    # task i goes to milestone i % milestones
    per_ms: list[list[int]] = [[] for _ in range(milestones)]
    for i in range(tasks):
        per_ms[i % milestones].append(i)

    def items(ms: int) -> list[str]:
        out: list[str] = []
        for i in per_ms[ms]:
            out += task_line(i, checked_every=checked_every, plain_every=plain_every, sub_every=sub_every)
        return out

    files: dict[str, str] = {}
    ms = 0
    for g, (kind, count) in enumerate(_layout(milestones, per_impl), start=1):
        if kind == "phase":
            lines = [
                f"# Phase {g}: Area {g} - Detailed Implementation Guide",
                "",
                "## Overview",
                "",
                f"Build area {g} of the system so that the later phases have somewhere to land.",
                "",
                "## Deliverables Checklist",
                "",
                *items(ms),
                "",
                "## Prerequisites",
                "",
                "- Docker installed",
                "",
                "## Step-by-Step Implementation",
                "",
                "```python",
                "# - [ ] not a task: code",
                "```",
                "",
            ]
            ms += 1
            files[f"phase-{g:05d}-area-{g}.md"] = "\n".join(lines)
        else:
            lines = [
                f"# Implementation Guide: Feature {g}",
                "",
                "## Overview",
                "",
                f"Feature {g} in {count} milestones.",
                "",
                "## Implementation Milestones",
                "",
            ]
            for j in range(1, count + 1):
                lines += [
                    f"### Milestone {j}: Step {j} of feature {g}",
                    f"**Goal**: Deliver step {j} of feature {g}.",
                    "",
                    "**Changes Required**:",
                    *items(ms),
                    "",
                    "**Verification**:",
                    f"`pytest tests/feature_{g}` passes.",
                    "",
                    "---",
                    "",
                ]
                ms += 1
            lines += ["## Testing Strategy", "", "Unit tests for every step.", ""]
            files[f"feature-{g:05d}.md"] = "\n".join(lines)
    assert ms == milestones
    return files


def write(folder: Path | str, tasks: int, milestones: int, **kw: int) -> dict[str, str]:
    """Write :func:`build`'s guides into ``folder`` (created); returns them."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = build(tasks, milestones, **kw)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8", newline="\n")
    return files


def is_checked(i: int, *, checked_every: int = 7, plain_every: int = 11) -> bool:
    """Whether task ``i`` of :func:`build` is checked (a plain bullet never is)."""
    plain = bool(plain_every) and i % plain_every == plain_every - 1
    return bool(checked_every) and i % checked_every == 0 and not plain


def expected(tasks: int, *, checked_every: int = 7, plain_every: int = 11) -> dict[str, int]:
    """Counts the guides of :func:`build` imply: tasks, checked tasks."""
    checked = sum(1 for i in range(tasks) if is_checked(i, checked_every=checked_every, plain_every=plain_every))
    return {"tasks": tasks, "checked": checked}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder")
    ap.add_argument("--tasks", type=int, default=1000)
    ap.add_argument("--milestones", type=int, default=40)
    ap.add_argument("--per-impl", type=int, default=3, help="milestones per implementation guide")
    args = ap.parse_args(argv)
    files = write(args.folder, args.tasks, args.milestones, per_impl=args.per_impl)
    print(f"{len(files)} guides, {args.milestones} milestones, {args.tasks} tasks in {args.folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
