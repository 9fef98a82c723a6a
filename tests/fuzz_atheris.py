"""Coverage-guided fuzzing of guide decoding, parsing, write-back and rendering with atheris.

Run it by hand for as long as you like (libFuzzer flags)::

    pip install atheris
    python tests/fuzz_atheris.py -max_total_time=600 -artifact_prefix=/tmp/guidesync-fuzz-

A crash leaves the input in the ``crash-*`` file and exits non-zero; replay it with
``python tests/fuzz_atheris.py /tmp/guidesync-fuzz-crash-…``. CI runs a short bounded run through
``tests/test_hostile_input.py::test_atheris_bounded_run`` (skipped when atheris is not installed).

Each input: the first byte picks a template header to prepend (so the structure code is reached
often), the rest is the guide's bytes. Properties checked: decoding either gives text or a
``GuideError`` naming the file; parsing never raises; tasks sit on list-item lines; a box-and-link
edit of every task changes nothing else and parses back to the same tasks with the new state;
rendered titles and bodies stay within the forges' limits and carry the task's marker.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from guidesync.guides import GuideError, decode
    from guidesync.core.model import IssueLink
    from guidesync.core.parse import ITEM_START, LINE_BREAK, parse_guide
    from guidesync.core.render import read_marker, render_issue
    from guidesync.core.edit import Edit, apply_edits

HEADS = (
    b"",
    b"# Phase 1: Fuzz - Detailed Implementation Guide\n\n## Overview\n\nText.\n\n## Deliverables Checklist\n\n",
    b"# Implementation Guide: Fuzz\n\n## Implementation Milestones\n\n### Milestone 1: One\n**Goal**: g\n\n**Changes Required**:\n",
    b"\xef\xbb\xbf---\nfront: matter\n---\r\n# Phase 2: Fuzz\r\n\r\n## Deliverables Checklist\r\n\r\n",
)
NAME = "guides/fuzz.md"
URL = "https://github.com/acme/shop/blob/HEAD/guides/fuzz.md"
LIMITS = ({"title": 255, "body": 65536}, {"title": 255, "body": 1_000_000}, {"title": 40, "body": 600})


def check(data: bytes) -> None:
    if not data:
        return
    raw = HEADS[data[0] % len(HEADS)] + data[1:]
    try:
        text = decode(raw, NAME)
    except GuideError as exc:
        assert str(exc).startswith(NAME), exc
        return
    guide = parse_guide(text, NAME)
    if guide is None:
        return
    lines = LINE_BREAK.split(text)
    edits = []
    for i, task in enumerate(guide.tasks):
        assert ITEM_START.match(lines[task.line]), (task, lines[task.line])
        edits.append(Edit(task.line, checked=not task.checked, link=IssueLink(i + 1, f"https://github.com/acme/shop/issues/{i + 1}")))
        limits = LIMITS[i % len(LIMITS)]
        ms = next(m for m in guide.milestones if task in m.tasks)
        content = render_issue(task, guide, ms, URL, limits)
        assert len(content.title) <= limits["title"] and "\n" not in content.title
        assert read_marker(content.body) == (NAME, task.key)
        if limits["body"] >= 1000:
            assert len(content.body) <= limits["body"], len(content.body)
    if not edits:
        return
    new = apply_edits(text, edits)
    after = LINE_BREAK.split(new)
    assert len(after) == len(lines)
    edited = {e.line for e in edits}
    assert all(a == b for i, (a, b) in enumerate(zip(lines, after)) if i not in edited)
    again = parse_guide(new, NAME)
    assert again is not None and [t.line for t in again.tasks] == [t.line for t in guide.tasks]
    for old, t, e in zip(guide.tasks, again.tasks, edits):
        assert t.checked == e.checked and t.link == e.link, (old, t)


def main(argv: list[str]) -> None:
    atheris.Setup(argv, check)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
