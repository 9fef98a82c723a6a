"""The base file: a deterministic, merge-friendly text format."""

from __future__ import annotations

import json

import pytest

from guidesync.core.base import VERSION, MilestoneRecord, Record, Base, BaseFileError, dumps, loads

WHERE = ".guidesync/state.json"


def sample() -> Base:
    return Base(
        tracker="github",
        repository="acme/shop",
        since="2024-05-01T10:00:00Z",
        full_at="2024-05-01T09:00:00Z",
        label=True,
        etags={"milestones": 'W/"abc"', "issues?page=1": '"def"'},
        milestones={
            "guides/phase-1.md#phase": MilestoneRecord(1, "Phase 1: Foundation", "aaaaaaaaaaaaaaaa"),
            "guides/checkout.md#milestone-1": MilestoneRecord(2, "Checkout - Milestone 1: Cart API", "bbbbbbbbbbbbbbbb"),
        },
        records={
            10: Record("guides/phase-1.md", "0123456789abcdef", True, "completed", "cccccccccccccccc", 1),
            2: Record("guides/checkout.md", "fedcba9876543210", False, "open", "dddddddddddddddd", 2),
            33: Record("guides/ünïcode guide.md", "00112233445566ff", False, "not_planned", "eeeeeeeeeeeeeeee", None),
            7: Record("guides/phase-1.md", "1111111111111111", False, "gone", "", None),
        },
    )


def test_round_trip():
    state = sample()
    again = loads(dumps(state), WHERE)
    assert again == state
    assert dumps(again) == dumps(state)


def test_empty_state_round_trip():
    text = dumps(Base())
    assert loads(text) == Base()
    assert Base().empty and not sample().empty
    assert json.loads(text)["version"] == VERSION


def test_same_state_same_bytes_whatever_the_insertion_order():
    a = sample()
    b = Base(
        tracker=a.tracker, repository=a.repository, since=a.since, full_at=a.full_at, label=a.label,
        etags=dict(reversed(list(a.etags.items()))),
        milestones=dict(reversed(list(a.milestones.items()))),
        records=dict(sorted(a.records.items(), reverse=True)),
    )
    assert dumps(a) == dumps(b)
    assert dumps(a).encode("utf-8") == dumps(sample()).encode("utf-8")


def test_records_sorted_numerically_one_per_line():
    text = dumps(sample())
    lines = text.splitlines()
    task_lines = [ln for ln in lines if ln.startswith('    "') and '"guide"' in ln]
    assert [json.loads("{" + ln.rstrip(",") + "}").popitem()[0] for ln in task_lines] == ["2", "7", "10", "33"]
    # Each record is complete on its own line, so two branches adding tasks merge line by line.
    for ln in task_lines:
        (key, rec), = json.loads("{" + ln.rstrip(",") + "}").items()
        assert set(rec) == {"guide", "key", "checked", "state", "hash", "milestone"}
    ms_lines = [ln for ln in lines if '"guides/' in ln and "#" in ln.split(":")[0]]
    assert len(ms_lines) == 2
    assert text.endswith("}\n") and "\r" not in text


def test_sorted_keys_inside_records_and_non_ascii_kept():
    text = dumps(sample())
    line = next(ln for ln in text.splitlines() if ln.startswith('    "33"'))
    assert line.index('"checked"') < line.index('"guide"') < line.index('"hash"') < line.index('"key"')
    assert "ünïcode" in text


def test_changing_one_record_changes_one_line():
    a = sample()
    records = dict(a.records)
    records[10] = Record("guides/phase-1.md", "0123456789abcdef", False, "open", "cccccccccccccccc", 1)
    b = Base(**{**a.__dict__, "records": records})
    la, lb = dumps(a).splitlines(), dumps(b).splitlines()
    assert len(la) == len(lb)
    assert sum(1 for x, y in zip(la, lb) if x != y) == 1


def test_malformed_json_names_file_and_line():
    text = dumps(sample())
    lines = text.splitlines()
    lines.insert(5, "<<<<<<< HEAD")  # a merge conflict left in the file
    with pytest.raises(BaseFileError) as exc:
        loads("\n".join(lines), WHERE)
    msg = str(exc.value)
    assert msg.startswith(f"{WHERE}:6:") and "not valid JSON" in msg and "\n" not in msg


def test_malformed_json_default_name():
    with pytest.raises(BaseFileError, match=r"^state file:1: not valid JSON"):
        loads("{", )


def test_wrong_version_is_refused():
    raw = json.loads(dumps(sample()))
    raw["version"] = VERSION + 1
    with pytest.raises(BaseFileError, match=rf"^{WHERE}: not a guidesync state file of version {VERSION}"):
        loads(json.dumps(raw), WHERE)
    with pytest.raises(BaseFileError):
        loads("[]", WHERE)
    with pytest.raises(BaseFileError):
        loads('{"tasks": {}}', WHERE)


def test_malformed_entry_is_refused_with_the_file_name():
    raw = json.loads(dumps(sample()))
    del raw["tasks"]["2"]["hash"]
    with pytest.raises(BaseFileError, match=rf"^{WHERE}: malformed entry"):
        loads(json.dumps(raw), WHERE)
    raw = json.loads(dumps(sample()))
    raw["tasks"]["two"] = raw["tasks"].pop("2")
    with pytest.raises(BaseFileError, match=rf"^{WHERE}: malformed entry"):
        loads(json.dumps(raw), WHERE)


@pytest.mark.parametrize("section, value", [("tasks", []), ("tasks", None), ("milestones", "x")])
def test_sections_of_the_wrong_type_are_a_state_error(section, value):
    # state.loads only catches TypeError/ValueError; raw.get("tasks", {}).items() on a list, null or
    # string raises AttributeError, which reaches the user as a traceback instead of a one-line error.
    raw = json.loads(dumps(sample()))
    raw[section] = value
    with pytest.raises(BaseFileError, match=rf"^{WHERE}: "):
        loads(json.dumps(raw), WHERE)


# -- the repository's web address (added after version 1 shipped) --------------------------------------


def test_repository_url_round_trips_and_is_left_out_when_unknown():
    state = Base(**{**sample().__dict__, "repository_url": "https://octo.ghe.com/acme/shop"})
    text = dumps(state)
    assert loads(text, WHERE) == state
    lines = text.splitlines()
    assert lines[4] == '  "repository_url": "https://octo.ghe.com/acme/shop",'  # next to the repository
    assert '"repository_url"' not in dumps(sample())


def test_a_base_written_before_repository_url_existed_still_loads():
    """The exact bytes an earlier version wrote: no repository_url key. They load (the web address
    unknown, so the next run asks the tracker once) and are written back unchanged."""
    old = (
        '{\n'
        '  "version": 1,\n'
        '  "tracker": "github",\n'
        '  "repository": "acme/shop",\n'
        '  "since": "2024-05-01T10:00:00Z",\n'
        '  "full_at": "2024-05-01T09:00:00Z",\n'
        '  "label": true,\n'
        '  "etags": {},\n'
        '  "milestones": {\n'
        '    "guides/phase-1.md#phase": {"hash": "aaaaaaaaaaaaaaaa", "number": 1, "title": "Phase 1: Foundation"}\n'
        '  },\n'
        '  "tasks": {\n'
        '    "10": {"checked": true, "guide": "guides/phase-1.md", "hash": "cccccccccccccccc", "key": "0123456789abcdef", "milestone": 1, "state": "completed"}\n'
        '  }\n'
        '}\n'
    )
    state = loads(old, WHERE)
    assert state.repository_url is None
    assert state.records[10].issue_state == "completed" and state.milestones["guides/phase-1.md#phase"].number == 1
    assert dumps(state) == old


@pytest.mark.parametrize("value", [3, "ghe.example.com/acme/shop", ["https://x"]])
def test_a_repository_url_that_is_not_a_web_address_is_a_state_error(value):
    raw = json.loads(dumps(sample()))
    raw["repository_url"] = value
    with pytest.raises(BaseFileError, match=rf"^{WHERE}: malformed entry"):
        loads(json.dumps(raw), WHERE)
