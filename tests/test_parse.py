"""The guide parser: templates, line endings, the blocks that hold no tasks, sections, problems."""

from __future__ import annotations

import pytest

from guidesync.core.model import GuideKind, IssueLink, SubItem
from guidesync.core.parse import Sections, normalize_label, parse_guide, split_lines
from tests.guide_samples import (
    EXAMPLES,
    FULL_IMPLEMENTATION,
    FULL_IMPLEMENTATION_TASKS,
    FULL_PHASE,
    FULL_PHASE_TASKS,
    URL,
    implementation,
    link,
    milestone,
    phase,
)


def tasks_of(text: str, **kw):
    g = parse_guide(text, "guides/g.md", **kw)
    assert g is not None
    return g.tasks


def summary(text: str, **kw):
    return [(t.line, t.text, t.checked, t.has_box) for t in tasks_of(text, **kw)]


def errors(guide):
    return [p for p in guide.problems if p.severity == "error"]


def warnings(guide):
    return [p for p in guide.problems if p.severity == "warning"]


# -- the two templates ---------------------------------------------------------------------------


def test_full_phase_template():
    g = parse_guide(FULL_PHASE, "guides/phase-2.md")
    assert g is not None
    assert g.kind is GuideKind.PHASE
    assert g.title == "Phase 2: Payments - Detailed Implementation Guide"
    assert g.problems == ()
    (ms,) = g.milestones
    assert ms.key == "guides/phase-2.md#phase"
    assert ms.title == "Phase 2: Payments"
    assert ms.line == 0
    assert ms.description.startswith("Take card payments through the gateway")
    assert ms.description.endswith("builds on the `payments` table.")
    assert [(t.line, t.text, t.checked, t.has_box) for t in ms.tasks] == FULL_PHASE_TASKS
    assert all(t.milestone == ms.key and t.guide == "guides/phase-2.md" for t in ms.tasks)
    webhook = ms.tasks[2]
    assert webhook.subitems == (
        SubItem("signature check", True, 1),
        SubItem("idempotency keys", False, 1),
        SubItem("stored for 24 h", None, 2),
    )
    assert (webhook.line, webhook.end_line) == (11, 15)


def test_full_implementation_template():
    g = parse_guide(FULL_IMPLEMENTATION, "docs/search.md")
    assert g is not None
    assert g.kind is GuideKind.IMPLEMENTATION
    assert g.title == "Implementation Guide: Search Suggestions"
    assert g.problems == ()
    assert [m.key for m in g.milestones] == ["docs/search.md#milestone-1", "docs/search.md#milestone-2", "docs/search.md#milestone-3"]
    assert [m.title for m in g.milestones] == [
        "Search Suggestions - Milestone 1: Suggest index",
        "Search Suggestions - Milestone 2: Suggest endpoint",
        "Search Suggestions - Milestone 3: Search box",
    ]
    assert [m.line for m in g.milestones] == [36, 55, 75]
    for number, ms in zip("123", g.milestones):
        assert [(t.line, t.text, t.checked, t.has_box) for t in ms.tasks] == FULL_IMPLEMENTATION_TASKS[number]
    m1 = g.milestones[0]
    # Goal and Verification make the description; the other labels and the "---" separator do not.
    assert m1.description == "**Goal**: An edge n-gram index, filled nightly.\n\n**Verification**:\n`curl /suggest?q=sh` lists shoes."
    assert g.milestones[2].description == "**Goal**: Show the suggestions under the search box.\n\n**Verification**:\nManual test in three browsers."
    assert g.milestones[1].tasks[1].subitems == (SubItem("per IP", True, 1),)


def test_example_phase_guide():
    text = (EXAMPLES / "phase-1-foundation.md").read_text(encoding="utf-8")
    g = parse_guide(text, "examples/guides/phase-1-foundation.md")
    assert g is not None and g.kind is GuideKind.PHASE and g.problems == ()
    (ms,) = g.milestones
    assert ms.title == "Phase 1: Foundation"
    assert [t.text for t in ms.tasks] == [
        "`services/api/` skeleton with health check endpoint",
        "PostgreSQL schema `orders` and `customers` (see [schema notes](docs/schema.md))",
        "CI pipeline running unit tests on every push 🚀",
        "Seed script `scripts/seed.py` for local development",
    ]
    assert [t.checked for t in ms.tasks] == [False, True, False, False]
    assert ms.tasks[2].subitems == (SubItem("lint job", True, 1), SubItem("test job", False, 1))
    assert ms.description.startswith("Set up the shop's skeleton")


def test_example_implementation_guide():
    text = (EXAMPLES / "checkout-redesign.md").read_text(encoding="utf-8")
    g = parse_guide(text, "examples/guides/checkout-redesign.md")
    assert g is not None and g.kind is GuideKind.IMPLEMENTATION and g.problems == ()
    assert [m.title for m in g.milestones] == ["Checkout Redesign - Milestone 1: Cart API", "Checkout Redesign - Milestone 2: Single-page checkout"]
    m1, m2 = g.milestones
    assert [(t.text, t.checked, t.has_box) for t in m1.tasks] == [
        ("Add `GET /cart/{id}` returning items, totals and applicable discounts", False, False),
        ("Move discount calculation from the view into `cart/pricing.py`", False, False),
        ("Cache cart totals for 30 seconds", False, False),
    ]
    assert [(t.checked, t.has_box) for t in m2.tasks] == [(True, True), (False, True), (False, True)]
    assert "Potential Issues" not in m1.description and "Implementation Details" not in m1.description
    assert m2.description == "**Goal**: One page with inline validation.\n\n**Verification**:\nManual walk-through on staging with a test card."


@pytest.mark.parametrize(
    "title, expected",
    [
        ("Phase 1: Foundation - Detailed Implementation Guide", "Phase 1: Foundation"),
        ("Phase 3: Search – Detailed Implementation Guide", "Phase 3: Search"),
        ("Phase 2.5: Hotfixes", "Phase 2.5: Hotfixes"),
        ("phase 4 : Payments - detailed implementation guide", "Phase 4: Payments"),
    ],
)
def test_phase_titles(title, expected):
    g = parse_guide(phase("- [ ] a\n", title=title), "g.md")
    assert g is not None and g.milestones[0].title == expected


def test_setext_title():
    g = parse_guide("Phase 1: Setext\n================\n\n## Deliverables Checklist\n\n- [ ] a\n", "g.md")
    assert g is not None and g.milestones[0].title == "Phase 1: Setext" and len(g.tasks) == 1


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\n\n",
        "# README\n\n## Deliverables Checklist\n\n- [ ] not a guide\n",
        "Just text\n\n- [ ] a\n",
        "## Phase 1: Only an H2\n\n## Deliverables Checklist\n\n- [ ] a\n",
        "```\n# Phase 1: In a fence\n```\n\n## Deliverables Checklist\n\n- [ ] a\n",
        "> # Phase 1: In a quote\n",
        "# Implementation Notes\n\n## Implementation Milestones\n",
    ],
)
def test_not_a_guide(text):
    assert parse_guide(text, "g.md") is None


def test_first_h1_decides():
    text = "# Changelog\n\n# Phase 1: Later\n\n## Deliverables Checklist\n\n- [ ] a\n"
    assert parse_guide(text, "g.md") is None


# -- line endings, BOM, front matter -------------------------------------------------------------


@pytest.mark.parametrize("sample", [FULL_PHASE, FULL_IMPLEMENTATION])
@pytest.mark.parametrize("eol", ["\r\n", "\r"])
def test_line_endings_give_the_same_model(sample, eol):
    lf = parse_guide(sample, "g.md")
    other = parse_guide(sample.replace("\n", eol), "g.md")
    assert other == lf
    assert [t.key for t in other.tasks] == [t.key for t in lf.tasks]


@pytest.mark.parametrize("sample", [FULL_PHASE, FULL_IMPLEMENTATION])
def test_mixed_line_endings_give_the_same_model(sample):
    lines = sample.split("\n")
    eols = ["\r", "\r\n", "\n"]  # never "\r" then an empty line ending in "\n": that is one "\r\n"
    mixed = "".join(line + eols[i % 3] for i, line in enumerate(lines[:-1])) + lines[-1]
    assert parse_guide(mixed, "g.md") == parse_guide(sample, "g.md")


def test_split_lines_matches_markdown_it():
    assert split_lines("a\r\nb\rc\nd") == ["a", "b", "c", "d"]
    assert split_lines("a\n") == ["a", ""]
    # Only CR and LF break lines: form feed, vertical tab and U+2028 do not.
    assert split_lines("a\x0cb\x0bc\u2028d\x85e") == ["a\x0cb\x0bc\u2028d\x85e"]


def test_line_separator_characters_do_not_shift_lines():
    text = phase("- [ ] a\u2028b\n- [ ] c\x0cd\n- [ ] e\n")
    assert [t.line for t in tasks_of(text)] == [4, 5, 6]


def test_multiline_task_text_is_the_same_with_crlf():
    text = phase("- [ ] first line  \n  second line\n- [ ] next\n")
    lf = tasks_of(text)
    crlf = tasks_of(text.replace("\n", "\r\n"))
    assert [t.text for t in crlf] == [t.text for t in lf]
    assert lf[0].text.split("\n")[1] == "second line"
    assert (crlf[0].line, crlf[0].end_line) == (4, 6)


def test_bom():
    text = "\ufeff" + FULL_PHASE
    g = parse_guide(text, "g.md")
    assert g is not None and g.title == "Phase 2: Payments - Detailed Implementation Guide"
    assert g == parse_guide(FULL_PHASE, "g.md")


def test_front_matter_is_skipped():
    fm = "---\ntitle: Phase 1\ntodo:\n- [ ] in front matter\n# Phase 9: Not the title\n---\n"
    text = fm + phase("- [ ] real task\n")
    g = parse_guide(text, "g.md")
    assert g is not None
    assert g.title == "Phase 1: Foundation - Detailed Implementation Guide"
    assert [(t.line, t.text) for t in g.tasks] == [(10, "real task")]
    assert g.milestones[0].line == 6


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"])
def test_front_matter_with_bom_and_line_endings(eol):
    text = ("\ufeff---\nkey: value\n- [ ] no\n...\n" + phase("- [x] yes\n")).replace("\n", eol)
    assert summary(text) == [(8, "yes", True, True)]


def test_front_matter_only_at_the_top():
    text = phase("- [ ] a\n", after="\n---\nnot: front matter\n---\n")
    assert summary(text) == [(4, "a", False, True)]


def test_unclosed_front_matter_is_a_thematic_break():
    text = "---\n" + phase("- [ ] a\n")
    assert summary(text) == [(5, "a", False, True)]


# -- what is and is not a task -------------------------------------------------------------------


def test_code_fences_hold_no_tasks():
    items = "- [ ] a\n\n```markdown\n- [ ] fenced\n- [x] fenced\n```\n\n~~~\n* [ ] tilde\n~~~\n\n    - [ ] indented code\n\n- [ ] b\n"
    assert [t.text for t in tasks_of(phase(items))] == ["a", "b"]


def test_unclosed_fence_swallows_the_rest():
    assert tasks_of(phase("```\n- [ ] a\n- [ ] b\n")) == ()


def test_fence_inside_an_item_is_not_a_subitem():
    items = "- [ ] a\n  ```\n  - [ ] fenced\n  ```\n- [ ] b\n"
    ts = tasks_of(phase(items))
    assert [(t.text, t.subitems) for t in ts] == [("a", ()), ("b", ())]
    assert (ts[0].line, ts[0].end_line) == (4, 8)


def test_html_blocks_hold_no_tasks():
    items = "- [ ] a\n\n<details>\n<summary>More</summary>\n- [ ] in html\n</details>\n\n<!--\n- [ ] in a comment\n-->\n\n- [ ] b\n"
    assert [t.text for t in tasks_of(phase(items))] == ["a", "b"]


def test_blockquoted_lists_are_not_tasks():
    assert [t.text for t in tasks_of(phase("> - [ ] quoted\n\n- [ ] real\n"))] == ["real"]


def test_lists_outside_the_section_are_not_tasks():
    text = "# Phase 1: A\n\n- [ ] before any section\n\n## Overview\n\n- [ ] overview item\n\n## Deliverables Checklist\n\n- [ ] the task\n\n## Rollback Plan\n\n1. [ ] step\n"
    assert [t.text for t in tasks_of(text)] == ["the task"]


def test_subsections_of_the_checklist_hold_tasks():
    text = phase("### Backend\n\n- [ ] api\n\n### Frontend\n\n- [ ] ui\n\n## Next\n\n- [ ] no\n")
    assert [t.text for t in tasks_of(text)] == ["api", "ui"]


def test_every_item_form_is_a_task():
    items = "- [ ] dash open\n- [x] dash done\n\n* [X] star upper\n\n+ [ ] plus\n\n1. [ ] ordered dot\n2. [x] ordered dot done\n\n1) [ ] ordered paren\n\n- plain bullet\n\n7. plain ordered\n"
    assert summary(phase(items)) == [
        (4, "dash open", False, True),
        (5, "dash done", True, True),
        (7, "star upper", True, True),
        (9, "plus", False, True),
        (11, "ordered dot", False, True),
        (12, "ordered dot done", True, True),
        (14, "ordered paren", False, True),
        (16, "plain bullet", False, False),
        (18, "plain ordered", False, False),
    ]


def test_tab_after_marker_and_tab_before_text():
    assert summary(phase("-\t[x] tab marker\n- [ ]\ttab box\n")) == [(4, "tab marker", True, True), (5, "tab box", False, True)]


def test_box_needs_a_blank_after_it():
    # markdown-it-py (and GitHub) only see a box when a blank follows it on the same line.
    assert summary(phase("- [x]done\n- [ ]\n  continued\n- [ ] \n")) == [(4, "[x]done", False, False), (5, "[ ]\ncontinued", False, False)]


def test_empty_items_are_not_tasks_and_warned():
    g = parse_guide(phase("- [ ] a\n-\n- [ ] \n- [ ] b\n"), "g.md")
    assert [t.text for t in g.tasks] == ["a", "b"]
    assert [(p.line, p.severity) for p in g.problems] == [(5, "warning"), (6, "warning")]


def test_nested_items_are_subitems():
    items = "- [ ] parent\n  - [x] child done\n  - [ ] child open\n    1. [X] grandchild\n  - plain child\n- [ ] next\n"
    ts = tasks_of(phase(items))
    assert [t.text for t in ts] == ["parent", "next"]
    assert ts[0].subitems == (
        SubItem("child done", True, 1),
        SubItem("child open", False, 1),
        SubItem("grandchild", True, 2),
        SubItem("plain child", None, 1),
    )
    assert (ts[0].line, ts[0].end_line) == (4, 9)
    assert (ts[1].line, ts[1].end_line) == (9, 10)


def test_nested_items_with_tabs():
    ts = tasks_of(phase("- [ ] parent\n\t- [x] tab child\n- [ ] next\n"))
    assert [t.text for t in ts] == ["parent", "next"]
    assert ts[0].subitems == (SubItem("tab child", True, 1),)


def test_loose_list_spans_exclude_blank_lines():
    ts = tasks_of(phase("- [ ] a\n\n  more of a\n\n- [ ] b\n\n\n## Next\n"))
    assert [(t.line, t.end_line) for t in ts] == [(4, 7), (8, 9)]
    assert ts[0].text == "a"  # the first paragraph only


def test_task_spans_with_continuation_lines():
    ts = tasks_of(phase("- [ ] one\n  two\nlazy three\n- [x] four"))
    assert [(t.line, t.end_line, t.text) for t in ts] == [(4, 7, "one\ntwo\nlazy three"), (7, 8, "four")]


def test_inline_markup_is_kept_in_the_text():
    items = "- [ ] Add `GET /cart/{id}` and **bold** and [docs](https://example.com/a_(b)) 🚀\n- [ ] émoji ✅ and 日本語 `x([#1](u))`\n"
    assert [t.text for t in tasks_of(phase(items))] == [
        "Add `GET /cart/{id}` and **bold** and [docs](https://example.com/a_(b)) 🚀",
        "émoji ✅ and 日本語 `x([#1](u))`",
    ]


# -- issue links ---------------------------------------------------------------------------------


def test_link_is_parsed_and_stripped_from_the_text():
    items = f"- [ ] Build it {link(12)}\n- [x] Ship it {link(7)}  \n- plain {link(3, 'https://gitlab.example.com/g/p/-/issues/3')}\n- [ ] none\n"
    ts = tasks_of(phase(items))
    assert [(t.text, t.link) for t in ts] == [
        ("Build it", IssueLink(12, URL.format(12))),
        ("Ship it", IssueLink(7, URL.format(7))),
        ("plain", IssueLink(3, "https://gitlab.example.com/g/p/-/issues/3")),
        ("none", None),
    ]


def test_link_on_a_multiline_item():
    ts = tasks_of(phase(f"- [ ] first {link(5)}  \n  second\n"))
    assert ts[0].link == IssueLink(5, URL.format(5))
    # The hard break after the link stays in the text, exactly as without the link.
    assert ts[0].text == "first  \nsecond" == tasks_of(phase("- [ ] first  \n  second\n"))[0].text


def test_link_only_counts_at_the_end_of_the_first_line():
    items = f"- [ ] a {link(1)} then more\n- [ ] b\n  {link(2)}\n"
    ts = tasks_of(phase(items))
    assert [t.link for t in ts] == [None, None]
    assert ts[0].text == f"a {link(1)} then more"


def test_link_key_does_not_depend_on_the_link():
    plain = tasks_of(phase("- [ ] Build it\n"))[0]
    linked = tasks_of(phase(f"- [x] Build it {link(12)}\n"))[0]
    assert plain.key == linked.key


def test_duplicate_link_is_an_error():
    g = parse_guide(phase(f"- [ ] a {link(4)}\n- [ ] b {link(4)}\n- [ ] c {link(5)}\n"), "g.md")
    (err,) = errors(g)
    assert err.line == 5 and "#4" in err.message and "line 5" in err.message


def test_duplicate_link_across_milestones_is_an_error():
    text = implementation(milestone(1, "A", f"- [ ] a {link(9)}\n"), milestone(2, "B", f"- [ ] b {link(9)}\n"))
    g = parse_guide(text, "g.md")
    assert len(errors(g)) == 1 and "#9" in errors(g)[0].message


# -- occurrences and keys ------------------------------------------------------------------------


def test_occurrence_counts_identical_texts():
    ts = tasks_of(phase("- [ ] Write tests\n- [ ] Other\n- [x] Write  tests\n\n1. [ ] Write tests\n"))
    assert [t.occurrence for t in ts] == [0, 0, 1, 2]
    assert len({t.key for t in ts}) == 4


def test_occurrence_counts_over_the_whole_milestone():
    # Two lists under two "Changes Required" labels of one milestone, two checklist sections of one phase.
    impl = implementation(
        "### Milestone 1: A\n**Changes Required**:\n- [ ] same\n\n**Changes Required**:\n- [ ] same\n\n",
        "### Milestone 2: B\n**Changes Required**:\n- [ ] same\n",
    )
    ts = tasks_of(impl)
    assert [(t.milestone.rsplit("#", 1)[1], t.occurrence) for t in ts] == [("milestone-1", 0), ("milestone-1", 1), ("milestone-2", 0)]
    assert len({t.key for t in ts}) == 3
    ph = phase("- [ ] same\n", after="\n## Deliverables Checklist\n\n- [ ] same\n")
    assert [t.occurrence for t in tasks_of(ph)] == [0, 1]


def test_key_is_stable_across_line_endings_bom_and_box_state():
    a = tasks_of(phase("- [ ] Build   it\n  now\n"))[0]
    b = tasks_of("\ufeff" + phase("- [x] Build it\n  now\n").replace("\n", "\r\n"))[0]
    assert a.key == b.key
    assert len(a.key) == 16


def test_key_depends_on_path_and_milestone():
    text = phase("- [ ] a\n")
    assert parse_guide(text, "a.md").tasks[0].key != parse_guide(text, "b.md").tasks[0].key


# -- sections ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "heading",
    ["Deliverables Checklist", "✅ Deliverables Checklist", "Deliverables Checklist:", "deliverables checklist", "**Deliverables** Checklist", "📋 Deliverables  Checklist 📋"],
)
def test_decorated_section_headings(heading):
    assert [t.text for t in tasks_of(phase("- [ ] a\n", heading=heading))] == ["a"]


def test_normalize_label():
    assert normalize_label("✅ Deliverables Checklist:") == "deliverables checklist"
    assert normalize_label("**Changes Required**") == "changes required"
    assert normalize_label("Étapes à suivre") == "étapes à suivre"


def test_renamed_sections():
    sections = Sections(
        phase_tasks=("Tasks", "To do"),
        phase_description=("Summary",),
        milestones=("Milestones",),
        milestone_tasks=("Work items",),
        milestone_description=("Why",),
    )
    ph = "# Phase 1: A\n\n## Summary\n\nThe summary.\n\n## 📝 To do:\n\n- [ ] renamed\n\n## Deliverables Checklist\n\n- [ ] default name ignored\n"
    g = parse_guide(ph, "g.md", sections)
    assert [t.text for t in g.tasks] == ["renamed"]
    assert g.milestones[0].description == "The summary."
    impl = "# Implementation Guide: F\n\n## Milestones\n\n### Milestone 1: A\n**Why**: because\n\n**Work items:**\n- [ ] w\n\n**Changes Required**:\n- [ ] not with these sections\n"
    g = parse_guide(impl, "g.md", sections)
    assert [t.text for t in g.tasks] == ["w"]
    assert g.milestones[0].description == "**Why**: because"
    assert tasks_of(impl) == ()  # the default names find no milestones section


def test_milestone_labels_variants():
    items = "- [ ] a\n"
    for label_line in ("**Changes Required**:", "**Changes Required:**", "__Changes Required__:", "**changes required**"):
        text = implementation(f"### Milestone 1: A\n{label_line}\n{items}")
        assert [t.text for t in tasks_of(text)] == ["a"], label_line


def test_label_paragraph_may_be_followed_directly_by_the_list():
    text = implementation("### Milestone 1: A\n**Changes Required**:\n- [ ] a\n- [ ] b\n\n**Verification**: tests pass\n")
    g = parse_guide(text, "g.md")
    assert [t.text for t in g.tasks] == ["a", "b"]


def test_only_the_changes_required_list_holds_tasks():
    text = implementation(
        "### Milestone 1: A\n- [ ] before the labels\n\n**Goal**: g\n\n- [ ] under goal\n\n**Changes Required**:\n\n- [ ] yes\n\n"
        "**Implementation Details**:\n\n- [ ] no\n\n**Verification**:\n\n- [ ] no either\n"
    )
    assert [t.text for t in tasks_of(text)] == ["yes"]


def test_milestones_outside_the_section_are_ignored():
    text = "# Implementation Guide: F\n\n## Overview\n\n### Milestone 9: Elsewhere\n**Changes Required**:\n- [ ] no\n\n" + (
        "## Implementation Milestones\n\n" + milestone(1, "Here", "- [ ] yes\n") + "## Testing Strategy\n\n### Milestone 2: After\n**Changes Required**:\n- [ ] no\n"
    )
    g = parse_guide(text, "g.md")
    assert [m.title for m in g.milestones] == ["F - Milestone 1: Here"]
    assert [t.text for t in g.tasks] == ["yes"]


# -- problems ------------------------------------------------------------------------------------


def test_duplicate_milestone_number_is_an_error():
    text = implementation(milestone(1, "A", "- [ ] a\n"), milestone(2, "B", "- [ ] b\n"), milestone(1, "Again", "- [ ] c\n"))
    g = parse_guide(text, "g.md")
    assert [m.title for m in g.milestones] == ["Checkout - Milestone 1: A", "Checkout - Milestone 2: B"]
    (err,) = errors(g)
    second = text.split("\n").index("### Milestone 1: Again")
    assert err.line == second and "milestone 1 appears twice" in err.message and "line 5" in err.message
    assert str(err).startswith(f"g.md:{second + 1}: error:")


def test_badly_named_milestone_heading_is_warned():
    text = implementation("### Step 1: Wrong\n**Changes Required**:\n- [ ] a\n\n", milestone(2, "Right", "- [ ] b\n"))
    g = parse_guide(text, "g.md")
    assert [t.text for t in g.tasks] == ["b"]
    (w,) = warnings(g)
    assert w.line == 4 and "Step 1: Wrong" in w.message


def test_empty_checklist_section_is_warned():
    g = parse_guide(phase("Nothing yet.\n"), "g.md")
    assert g.tasks == () and len(g.milestones) == 1
    (w,) = warnings(g)
    assert w.line == 0 and "no items" in w.message


def test_missing_checklist_section_is_warned():
    g = parse_guide("# Phase 1: A\n\n## Overview\n\nText.\n", "g.md")
    assert g is not None and g.tasks == ()
    (w,) = warnings(g)
    assert "Deliverables Checklist" in w.message


def test_empty_changes_required_is_warned():
    text = implementation(milestone(1, "Empty", "Nothing yet.\n"), milestone(2, "Full", "- [ ] a\n"))
    g = parse_guide(text, "g.md")
    assert len(g.milestones) == 2 and g.milestones[0].tasks == ()
    (w,) = warnings(g)
    assert w.line == 4 and "no items" in w.message


def test_milestone_without_changes_required_is_warned():
    text = implementation("### Milestone 1: A\n**Goal**: g\n\n- [ ] unlabelled\n")
    g = parse_guide(text, "g.md")
    assert g.tasks == () and len(g.milestones) == 1
    (w,) = warnings(g)
    assert "Changes Required" in w.message


def test_milestones_section_without_milestones_is_warned():
    g = parse_guide(implementation("Coming soon.\n\n"), "g.md")
    assert g is not None and g.milestones == ()
    (w,) = warnings(g)
    assert w.line == 2 and "no 'Milestone N: Name' headings" in w.message


def test_missing_milestones_section_is_warned():
    g = parse_guide("# Implementation Guide: F\n\n## Overview\n\nText.\n", "g.md")
    assert g is not None and g.milestones == ()
    (w,) = warnings(g)
    assert "Implementation Milestones" in w.message


def test_problem_locations_are_one_based_in_messages():
    g = parse_guide(phase("-\n"), "docs/g.md")
    assert str(g.problems[0]).startswith("docs/g.md:5: warning:")


def test_parse_is_pure_and_repeatable():
    assert parse_guide(FULL_IMPLEMENTATION, "g.md") == parse_guide(FULL_IMPLEMENTATION, "g.md")


def test_nul_characters_do_not_break_parsing():
    ts = tasks_of(phase("- [ ] a\x00b\n- [x] c\n"))
    assert [t.line for t in ts] == [4, 5]
