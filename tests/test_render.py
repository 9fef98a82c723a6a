"""Issue rendering: neutralising mentions and references, the hidden marker, titles, bodies, hashes."""

from __future__ import annotations

import re

import pytest
from markdown_it import MarkdownIt

from guidesync.core.model import Guide, GuideKind, Milestone, SubItem, Task
from guidesync.core.render import (
    ELLIPSIS,
    ZWSP,
    IssueContent,
    content_hash,
    issue_body,
    issue_title,
    marker,
    milestone_description,
    neutralize,
    read_marker,
    render_issue,
)

GUIDE_URL = "https://github.com/acme/shop/blob/HEAD/guides/phase-1.md"


def make(text: str = "Set up the skeleton", *, path: str = "guides/phase-1.md", subitems: tuple[SubItem, ...] = (),
         title: str = "Phase 1: Foundation - Detailed Implementation Guide"):
    key = f"{path}#phase"
    t = Task(path, key, text, False, True, 10, 11, None, subitems)
    ms = Milestone(key, "Phase 1: Foundation", "Set up the shop.", 0, (t,))
    g = Guide(path, title, GuideKind.PHASE, (ms,))
    return t, g, ms


# -- neutralize ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("ask @alice", f"ask @{ZWSP}alice"),
        ("@acme/reviewers please", f"@{ZWSP}acme/reviewers please"),
        ("(@bob)", f"(@{ZWSP}bob)"),
        ("**@bob**", f"**@{ZWSP}bob**"),
        ("fixes #12", f"fixes #{ZWSP}12"),
        ("(#12)", f"(#{ZWSP}12)"),
        ("see !34", f"see !{ZWSP}34"),
        ("like GH-12", f"like GH-{ZWSP}12"),
        ("@a #1 !2 GH-3", f"@{ZWSP}a #{ZWSP}1 !{ZWSP}2 GH-{ZWSP}3"),
    ],
)
def test_mentions_and_references_are_defused(text, expected):
    assert neutralize(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "plain text without sigils",
        "`@alice and #12`",  # code span
        "``a ` @b #1``",  # code span with a backtick inside
        "https://example.com/u/@alice#12",  # bare URL
        "<https://example.com/@alice>",  # autolink
        "mail bob@example.com",  # an e-mail address is no mention
        "C# and F# 7",  # a sigil not followed by a name or number
        "hello world!",
    ],
)
def test_code_urls_and_harmless_text_are_untouched(text):
    assert neutralize(text) == text


def test_link_destination_untouched_link_text_defused():
    text = "[@alice's notes on #12](https://example.com/@alice/notes#12)"
    assert neutralize(text) == f"[@{ZWSP}alice's notes on #{ZWSP}12](https://example.com/@alice/notes#12)"


def test_code_span_and_mention_on_one_line():
    assert neutralize("run `git log #12` then ping @ops") == f"run `git log #12` then ping @{ZWSP}ops"


def test_quick_action_lines_are_defused():
    text = "first line\n/close\n   /label ~bug\nnot /here"
    out = neutralize(text).split("\n")
    assert out[0] == "first line"
    assert out[1] == ZWSP + "/close"
    assert out[2] == ZWSP + "   /label ~bug"
    assert out[3] == "not /here"
    assert not any(line.lstrip().startswith("/") for line in out)


def test_neutralized_text_renders_the_same():
    # The zero-width space is invisible: stripping it gives the original back.
    text = "@alice fixes #12 and !3, GH-4\n/close"
    assert neutralize(text).replace(ZWSP, "") == text


@pytest.mark.parametrize("text", ["acme/shop#12", "see other/lib#7", "group/project!3"])
def test_cross_repository_references_are_defused(text):
    # GitHub and GitLab link (and cross-reference) owner/repo#12 like #12; render.py's _REFERENCE
    # lookbehind (?<![\w/`]) skips a sigil preceded by a word character, so these stay live.
    assert neutralize(text) != text


# -- marker ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["guides/phase-1.md", "docs/my guide é.md", "a/b --> c.md", "x%20y.md"])
def test_marker_round_trip(path):
    t, g, ms = make(path=path)
    body = issue_body(t, g, ms, GUIDE_URL)
    assert read_marker(body) == (path, t.key)
    m = marker(t)
    assert m.startswith("<!--") and m.endswith("-->") and "\n" not in m
    assert body.startswith(m)
    assert m.count("-->") == 1  # the path cannot end the comment early


def test_read_marker_without_a_marker():
    assert read_marker(None) is None
    assert read_marker("") is None
    assert read_marker("an issue somebody wrote by hand") is None
    assert read_marker("<!-- guidesync:task guide=x key=short -->") is None


def test_a_marker_copied_into_the_task_text_does_not_win():
    other, _, _ = make("Another task")
    t, g, ms = make(f"Copy of {marker(other)}")
    assert read_marker(issue_body(t, g, ms, GUIDE_URL)) == (t.guide, t.key)


def test_marker_key_follows_the_task_identity():
    a, _, _ = make("Set up the skeleton")
    b, _, _ = make("Set up   the\nskeleton")  # whitespace does not matter
    c, _, _ = make("Set up the skeleton", path="guides/other.md")
    assert a.key == b.key != c.key
    assert re.fullmatch(r"[0-9a-f]{16}", a.key)


# -- title --------------------------------------------------------------------------------------------------


def test_title_is_the_task_text_on_one_line():
    t, _, _ = make("Cache   cart\ntotals for @ops")
    assert issue_title(t) == f"Cache cart totals for @{ZWSP}ops"


def test_title_truncated_at_255_with_ellipsis():
    t, _, _ = make("word " * 100)
    title = issue_title(t)
    assert len(title) == 255 and title.endswith(ELLIPSIS)
    assert title[:-1] == ("word " * 100)[:254].rstrip()
    exact, _, _ = make("x" * 255)
    assert issue_title(exact) == "x" * 255
    assert issue_title(make("y" * 256)[0]) == "y" * 254 + ELLIPSIS
    assert len(issue_title(t, limit=40)) <= 40


def test_title_starting_with_a_slash_keeps_it():
    t, _, _ = make("/checkout route")
    assert issue_title(t) == "/checkout route"


# -- body ------------------------------------------------------------------------------------------------------


def test_body_has_context_and_defused_text():
    t, g, ms = make("Ask @alice about #12, see `@code`")
    body = issue_body(t, g, ms, GUIDE_URL)
    assert f"[Phase 1: Foundation - Detailed Implementation Guide]({GUIDE_URL})" in body
    assert "**Phase 1: Foundation**" in body
    assert f"Ask @{ZWSP}alice about #{ZWSP}12, see `@code`" in body
    assert "@alice" not in body.replace("`@code`", "")


def test_body_truncated_under_a_small_limit_keeps_marker_and_links_the_guide():
    t, g, ms = make("A long task. " * 400)
    body = issue_body(t, g, ms, GUIDE_URL, limit=900)
    assert len(body) <= 900
    assert body.startswith(marker(t)) and read_marker(body) == (t.guide, t.key)
    text_part = body.split("\n\n---\n")[0]
    assert text_part.endswith(f"[the guide]({GUIDE_URL}))")
    assert "truncated" in text_part and ELLIPSIS in text_part
    full = issue_body(t, g, ms, GUIDE_URL)
    assert "truncated" not in full and len(full) > 900


def test_body_within_the_limit_is_not_truncated():
    t, g, ms = make("short")
    body = issue_body(t, g, ms, GUIDE_URL, limit=len(issue_body(t, g, ms, GUIDE_URL)))
    assert "truncated" not in body


def test_sub_items_become_a_nested_task_list():
    subs = (
        SubItem("lint job", True, 1),
        SubItem("fast, ask @ci", None, 2),
        SubItem("test job", False, 1),
        SubItem("deep", False, 3),
    )
    t, g, ms = make("CI pipeline", subitems=subs)
    body = issue_body(t, g, ms, GUIDE_URL)
    assert f"CI pipeline\n\n- [x] lint job\n  - fast, ask @{ZWSP}ci\n- [ ] test job\n    - [ ] deep" in body
    # It really is a nested list in CommonMark: the depth-2 item is inside the first item.
    tokens = MarkdownIt("commonmark").parse(body)
    items = [(tok.level, tok.map[0]) for tok in tokens if tok.type == "list_item_open"]
    levels = [lvl for lvl, _ in items]
    assert levels[0] < levels[1] and levels[0] == levels[2]


def test_render_issue_uses_the_limits():
    t, g, ms = make("word " * 100)
    c = render_issue(t, g, ms, GUIDE_URL, {"title": 50, "body": 700})
    assert len(c.title) <= 50 and c.title.endswith(ELLIPSIS)
    assert len(c.body) <= 700
    d = render_issue(t, g, ms, GUIDE_URL, {})
    assert len(d.title) == 255


# -- hashes and the milestone description --------------------------------------------------------------------


def test_content_hash_follows_title_and_body():
    base = content_hash("title", "body")
    assert re.fullmatch(r"[0-9a-f]{16}", base)
    assert content_hash("title", "body") == base
    assert content_hash("title!", "body") != base
    assert content_hash("title", "body!") != base
    assert IssueContent("title", "body").hash == base


def test_rendered_hash_changes_when_the_task_changes():
    t1, g, ms = make("Set up the skeleton")
    t2, _, _ = make("Set up the skeleton and health check")
    t3, _, _ = make("Set up the skeleton", subitems=(SubItem("health", False, 1),))
    h = [render_issue(t, g, ms, GUIDE_URL, {}).hash for t in (t1, t2, t3)]
    assert len(set(h)) == 3
    assert render_issue(t1, g, ms, GUIDE_URL, {}).hash == h[0]


def test_milestone_description_is_defused_and_links_the_guide():
    _, g, ms = make()
    ms = Milestone(ms.key, ms.title, "Goal: ask @alice, fix #3", 0, ms.tasks)
    d = milestone_description(ms, g, GUIDE_URL)
    assert f"@{ZWSP}alice" in d and f"#{ZWSP}3" in d
    assert d.endswith(f"({GUIDE_URL}), kept in step by guidesync.")
    long = Milestone(ms.key, ms.title, "x" * 5000, 0, ms.tasks)
    short = milestone_description(long, g, GUIDE_URL, limit=1000)
    assert len(short) <= 1000 and ELLIPSIS in short and GUIDE_URL in short
