"""Fields in guides (issue 14): every form the parser reads, what lint says of bad ones, how the
issue body and the plan show them, and a property: guidesync's edits never touch a byte of a field."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from guidesync.core.base import Base, Record
from guidesync.core.edit import Edit, apply_edits
from guidesync.core.fields import check_ids, read_fields
from guidesync.core.model import IssueLink
from guidesync.core.parse import parse_guide
from guidesync.core.plan import Options, Snapshot, make_plan
from guidesync.core.render import BLOCKED_BY, issue_body, with_blockers

PHASE = "# Phase 6: Billing - Detailed Implementation Guide\n\n## Deliverables Checklist\n\n{items}\n"
IMPL = """# Implementation Guide: Search

## Implementation Milestones

### Milestone 2: Query API [start:: 2026-12-01] [due:: 2026-12-24]

**Goal**: answer queries.

**Changes Required**:
- [ ] Parser [id:: parser]
- [ ] Planner [blocked-by:: parser]

### Milestone 3: Ranking

**Due**: 2026-12-31

**Start**: 2026-12-26

**Goal**: rank.

**Changes Required**:
- [ ] Scores
"""


def phase(*items: str):
    g = parse_guide(PHASE.format(items="\n".join(items)), "g.md")
    assert g is not None
    return g


def test_task_fields_every_form():
    g = phase("- [ ] Retry failed charges [assignee:: alice] [labels:: payments, backend] [due:: 2026-12-18]",
              "- [ ] Two people [assignees:: @alice, bob] 🛫 2026-12-01 📅 2026-12-09",
              "* [X] Ledger [id:: ledger-schema] [blocked-by:: a, b]",
              "- [ ] In [due:: 2026-12-05] the middle")
    a, b, c, d = g.milestones[0].tasks
    assert (a.text, a.fields.assignees, a.fields.labels, a.fields.due) == (
        "Retry failed charges", ("alice",), ("payments", "backend"), "2026-12-18")
    assert (b.text, b.fields.assignees, b.fields.start, b.fields.due) == ("Two people", ("alice", "bob"), "2026-12-01", "2026-12-09")
    assert (c.text, c.checked, c.fields.id, c.fields.blocked_by) == ("Ledger", True, "ledger-schema", ("a", "b"))
    assert (d.text, d.fields.due) == ("In the middle", "2026-12-05")


def test_fields_after_the_link_keep_the_link_read():
    g = phase("- [ ] Linked ([#12](https://github.com/o/r/issues/12)) [due:: 2026-12-18]",
              "- [ ] Calendar ([#13](https://github.com/o/r/issues/13)) \U0001F4C6 2026-12-19")
    t, u = g.milestones[0].tasks
    assert t.link == IssueLink(12, "https://github.com/o/r/issues/12")
    assert (t.text, t.fields.due) == ("Linked", "2026-12-18")
    assert (u.link.number, u.text, u.fields.due) == (13, "Calendar", "2026-12-19")
    # and a link written again lands where the old one is, not after the date
    line = "- [ ] Calendar ([#13](https://github.com/o/r/issues/13)) \U0001F4C6 2026-12-19"
    again = apply_edits(line, [Edit(0, link=IssueLink(13, "https://github.com/o/r/issues/13"))])
    assert again == line


def test_fields_inside_code_and_unknown_keys_stay_text_and_unknown_keys_warn():
    g = phase("- [ ] Shows `[due:: 2026-12-18]` [colour:: red]")
    (t,) = g.milestones[0].tasks
    assert t.text == "Shows `[due:: 2026-12-18]` [colour:: red]" and t.fields.due is None
    (p,) = g.problems
    assert p.severity == "warning" and p.line == 4 and "unknown field 'colour'" in p.message


def test_bad_values_are_errors_at_their_line():
    g = phase("- [ ] A [due:: 2026-02-30]", "- [ ] B [id:: has space]", "- [ ] C [due:: 2026-12-01] [due:: 2026-12-02]")
    got = [(p.line, p.severity, p.message) for p in g.problems]
    assert got[0][:2] == (4, "error") and "'2026-02-30' is not a day" in got[0][2]
    assert got[1][:2] == (5, "error") and "is not an id" in got[1][2]
    assert got[2][:2] == (6, "warning") and "given twice" in got[2][2]
    assert g.milestones[0].tasks[2].fields.due == "2026-12-01"


def test_milestone_dates_from_headings_and_labels():
    g = parse_guide(IMPL, "i.md")
    m2, m3 = g.milestones
    assert m2.title == "Search - Milestone 2: Query API"
    assert (m2.fields.start, m2.fields.due) == ("2026-12-01", "2026-12-24")
    assert (m3.fields.start, m3.fields.due) == ("2026-12-26", "2026-12-31")
    assert "Due" not in m3.description  # the label is no part of the description
    ph = parse_guide("# Phase 6: Billing - Detailed Implementation Guide [due:: 2026-12-20]\n\n**Start**: 2026-12-01\n\n"
                     "## Deliverables Checklist\n- [ ] A\n", "p.md")
    assert ph.milestones[0].title == "Phase 6: Billing"
    assert (ph.milestones[0].fields.start, ph.milestones[0].fields.due) == ("2026-12-01", "2026-12-20")


def test_a_bad_milestone_date_is_an_error_at_its_line():
    g = parse_guide(IMPL.replace("**Due**: 2026-12-31", "**Due**: next week"), "i.md")
    (p,) = [p for p in g.problems if p.severity == "error"]
    assert p.line == 14 and "'next week' is not a day" in p.message


def test_ids_across_guides():
    a = parse_guide(IMPL, "i.md")
    b = phase("- [ ] Dup [id:: parser]", "- [ ] Loop1 [id:: l1] [blocked-by:: l2]", "- [ ] Loop2 [id:: l2] [blocked-by:: l1]",
              "- [ ] Self [id:: me] [blocked-by:: me]", "- [ ] Orphan [blocked-by:: nowhere]")
    msgs = [(p.path, p.line, p.message) for p in check_ids([a, b])]
    assert ("g.md", 4, "id 'parser' is taken already (by i.md:10); ids must be unique in the repository") in msgs
    assert any(m[1] == 8 and "no task has this id" in m[2] for m in msgs)
    assert any(m[1] == 7 and "cannot be blocked by itself" in m[2] for m in msgs)
    assert any("goes round in a circle: l1 -> l2 -> l1" in m[2] for m in msgs)
    assert check_ids([a]) == []


def test_the_body_shows_the_fields_without_pinging_and_the_blockers_line_is_replaceable():
    g = phase("- [ ] Retry [assignee:: alice] [labels:: payments] [due:: 2026-12-18] [blocked-by:: x]")
    t = g.milestones[0].tasks[0]
    body = issue_body(t, g, g.milestones[0], "https://example/g.md")
    assert "**Due**: 2026-12-18 · **Assignees**: alice · **Labels**: payments" in body and "@" not in body
    assert BLOCKED_BY not in body
    named = with_blockers(body, (3, 4))
    assert f"{BLOCKED_BY}#3, #4" in named and with_blockers(named, ()) == body
    assert issue_body(t, g, g.milestones[0], "https://example/g.md", blockers=(3, 4)) == named


def test_the_plan_changes_exactly_what_the_guide_changed():
    g = phase("- [ ] Retry ([#5](https://tracker.example/acme/shop/issues/5)) [assignee:: carol] [labels:: payments]")
    rec = Record("g.md", g.milestones[0].tasks[0].key, False, "open", "old", 1, assignees=("alice",), labels=("payments", "backend"))
    plan = make_plan([g], Base(records={5: rec}), Snapshot(offline=True), Options(mode="push", owns_link=lambda u, n: True))
    (step,) = plan.tasks
    assert (step.fields.assign, step.fields.unassign) == (("carol",), ("alice",))
    assert (step.fields.add_labels, step.fields.remove_labels) == ((), ("backend",))
    assert step.update and step.record.assignees == ("carol",) and step.fallback.assignees == ("alice",)


FIELD = st.sampled_from(["[due:: 2026-12-18]", "[assignee:: alice, bob]", "[labels:: a, b]", "[id:: x-1]",
                         "[blocked-by:: y]", "📅 2026-01-02", "🛫 2026-01-01", "[colour:: red]", "`[due:: 1]`"])
WORD = st.text(st.characters(codec="utf-8", exclude_characters="\r\n[]()`\\<>*_#!|&", exclude_categories=("Cs", "Cc")),
               min_size=1, max_size=8).filter(lambda w: w.strip() == w and w)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(FIELD, WORD), min_size=1, max_size=7), st.booleans(), st.sampled_from(["\n", "\r\n"]))
def test_edits_never_change_a_byte_of_a_field(parts, check, newline):
    line = "- [ ] Task " + " ".join(parts)
    text = PHASE.format(items=line).replace("\n", newline)
    g = parse_guide(text, "g.md")
    (t,) = g.milestones[0].tasks
    edited = apply_edits(text, [Edit(t.line, checked=check, link=IssueLink(9, "https://tracker.example/o/r/issues/9"))])
    old, new = text.split(newline)[t.line], edited.split(newline)[t.line]
    assert new.startswith(old[:3]) and new[6:].startswith(old[6:])  # only the box changed, the link went at the end
    assert new[6:] == old[6:] + " ([#9](https://tracker.example/o/r/issues/9))"
    again = parse_guide(edited, "g.md").milestones[0].tasks[0]
    assert (again.text, again.fields, again.link.number) == (t.text, t.fields, 9)
    # linking again keeps it: the link is found, not added twice
    twice = apply_edits(edited, [Edit(t.line, link=IssueLink(9, "https://tracker.example/o/r/issues/9"))])
    assert twice == edited


def test_read_fields_leaves_a_line_without_fields_alone():
    line = "plain text with :: colons and [brackets]"
    assert read_fields(line) == (line, read_fields("")[1], [])
