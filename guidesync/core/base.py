"""The base: what guides and tracker agreed on at the last sync, kept in ``.guidesync/state.json``.

The file is committed with the guides, so it is written to merge well: sorted keys, one record a
line, no timestamps that change when nothing else did. Conversion to and from text is pure; the file
itself is read and written by :mod:`guidesync.store`.
"""

from __future__ import annotations

from ..errors import UsageError

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, Mapping

VERSION = 1


class BaseFileError(UsageError):
    """The base file cannot be read: bad JSON, another version, another repository."""


@dataclass(frozen=True)
class Record:
    """One linked task as last synced."""

    guide: str
    key: str  # the task's marker key when it was last synced
    checked: bool  # the guide's box
    issue_state: str  # the tracker's state: "open" | "completed" | "not_planned", or GONE / REMOVED
    hash: str  # hash of the title and body last written to the tracker
    milestone: int | None  # tracker milestone number last written
    pending: bool = False  # created, but its link has not reached the guide yet
    unmanaged: bool = False  # linked by hand to an issue guidesync did not make for this task: never written to
    children: tuple[int, ...] = ()  # sub-issues guidesync attached to it, in the tracker's order
    # what guidesync set from the guide's fields, so that a change in the guide changes exactly
    # those (what people set on the tracker stays): assignees, labels besides the managed ones,
    # GitLab's due date, and the issues recorded as blocking this one
    assignees: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    due: str | None = None
    blocked_by: tuple[int, ...] = ()
    # with a GitHub project configured: the issue's item there, and the status and date set on it
    project_item: str | None = None
    project_status: str | None = None
    project_date: str | None = None
    imported: bool = False  # opened on the tracker and imported into its guide (``import_issues``)


#: Record states besides the tracker's own: the issue was deleted or moved away; the task left
#: every guide and guidesync closed (or kept) its issue. A removed record is a tombstone: it keeps
#: the issue from being taken over by another task, and brings it back if the task returns.
GONE, REMOVED = "gone", "removed"


@dataclass(frozen=True)
class MilestoneRecord:
    number: int
    title: str  # the title last written from the guide
    hash: str  # hash of the description last written
    due: str | None = None  # the dates last written from the guide (YYYY-MM-DD)
    start: str | None = None


@dataclass(frozen=True)
class Base:
    """The base: per linked issue a record, per milestone a record, and where the next listing starts."""

    tracker: str | None = None
    repository: str | None = None
    #: the repository's web address as the tracker gave it (GitHub's ``html_url``, GitLab's project
    #: ``web_url``): issue links are recognised by it, so later runs need not ask again. Absent from
    #: files written before it existed (the next run asks once).
    repository_url: str | None = None
    since: str | None = None  # server time (ISO 8601, UTC) from which the next listing starts
    full_at: str | None = None  # server time of the last full listing
    label: bool = False  # the managed label is known to exist
    unsure: tuple[str, ...] = ()  # marker keys of creations whose answer was lost: find them next run
    #: how the tracker makes sub-issues, once learned (``Tracker.hierarchy_mode``); None: not asked yet
    hierarchy: str | None = None
    #: what the tracker was found to allow (``Tracker.capabilities``), learned once
    capabilities: Mapping[str, Any] = field(default_factory=dict)
    #: labels named by the guides' fields that are known to exist on the tracker
    labels: tuple[str, ...] = ()
    #: the GitHub project (v2) as learned: its owner, number, node id and field ids; opaque here
    project: Mapping[str, Any] = field(default_factory=dict)
    #: the ``import_issues`` mode of the last run: a run with another one lists every issue once
    imports: str | None = None
    #: when the last hour's writes went out (whole seconds since the epoch), so that consecutive
    #: runs together keep within the tracker's content-creation limits (:mod:`guidesync.trackers.pacing`)
    content: tuple[int, ...] = ()
    etags: Mapping[str, str] = field(default_factory=dict)
    milestones: Mapping[str, MilestoneRecord] = field(default_factory=dict)
    records: Mapping[int, Record] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.records and not self.milestones and self.since is None


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)


def format_time(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def loads(text: str, where: str = "state file") -> Base:
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BaseFileError(f"{where}:{exc.lineno}: not valid JSON ({exc.msg}); fix or delete it and run with --full") from None
    if not isinstance(raw, dict) or raw.get("version") != VERSION:
        raise BaseFileError(f"{where}: not a guidesync state file of version {VERSION}")
    for section in ("tasks", "milestones", "etags"):
        if not isinstance(raw.get(section, {}), dict):
            raise BaseFileError(f"{where}: {section!r} must be an object; fix or delete the file and run with --full")
    try:
        records = {int(k): _from_file(v) for k, v in raw.get("tasks", {}).items()}
        milestones = {k: MilestoneRecord(**v) for k, v in raw.get("milestones", {}).items()}  # type: ignore[arg-type]
        repository_url = raw.get("repository_url")
        if repository_url is not None and not (isinstance(repository_url, str) and repository_url.startswith(("http://", "https://"))):
            raise ValueError(f"repository_url must be an http(s) URL, not {repository_url!r}")
        return Base(
            tracker=raw.get("tracker"),
            repository=raw.get("repository"),
            repository_url=repository_url,
            since=raw.get("since"),
            full_at=raw.get("full_at"),
            label=bool(raw.get("label", False)),
            unsure=tuple(sorted(str(k) for k in raw.get("unsure", ()))),
            hierarchy=_hierarchy(raw.get("hierarchy")),
            capabilities=_mapping(raw.get("capabilities", {}), "capabilities"),
            labels=tuple(sorted(str(k) for k in raw.get("guide_labels", ()))),
            project=_mapping(raw.get("project", {}), "project"),
            imports=raw.get("import_issues"),
            content=_times(raw.get("content_window", [])),
            etags=dict(raw.get("etags", {})),
            milestones=milestones,
            records=records,
        )
    except (TypeError, ValueError, AttributeError) as exc:
        raise BaseFileError(f"{where}: malformed entry ({exc}); fix or delete it and run with --full") from None


HIERARCHY_MODES = ("sub_issues", "graphql", "links", "none")


def _hierarchy(value: Any) -> str | None:
    if value is not None and value not in HIERARCHY_MODES:
        raise ValueError(f"hierarchy must be one of {', '.join(HIERARCHY_MODES)}, not {value!r}")
    return value


def _times(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(isinstance(t, int) and not isinstance(t, bool) for t in value):
        raise ValueError("content_window must be a list of whole seconds")
    return tuple(sorted(value))


def _mapping(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{name} must be an object")
    return dict(value)


def _line(key: str, value: Any) -> str:
    return f"    {json.dumps(key, ensure_ascii=False)}: {json.dumps(value, sort_keys=True, ensure_ascii=False)}"


def _from_file(data: Any) -> Record:
    """A record from its line in the file, where the issue's state is spelled ``state``."""
    if not isinstance(data, dict):
        raise TypeError(f"a task record must be an object, not {type(data).__name__}")
    data = dict(data)
    if "state" in data:
        data["issue_state"] = data.pop("state")
    if "children" in data:
        children = data["children"]
        if not isinstance(children, list) or not all(isinstance(c, int) and not isinstance(c, bool) for c in children):
            raise ValueError("children must be a list of issue numbers")
        data["children"] = tuple(children)
    for name in ("assignees", "labels"):
        if name in data:
            if not isinstance(data[name], list) or not all(isinstance(x, str) for x in data[name]):
                raise ValueError(f"{name} must be a list of names")
            data[name] = tuple(data[name])
    if "blocked_by" in data:
        if not isinstance(data["blocked_by"], list) or not all(isinstance(c, int) and not isinstance(c, bool) for c in data["blocked_by"]):
            raise ValueError("blocked_by must be a list of issue numbers")
        data["blocked_by"] = tuple(data["blocked_by"])
    return Record(**data)


def _record(rec: Record) -> dict[str, Any]:
    data = asdict(rec)
    data["state"] = data.pop("issue_state")  # the file's spelling, as earlier versions wrote it
    for flag in ("pending", "unmanaged", "children", *_FIELD_KEYS):
        if not data[flag]:
            del data[flag]  # the usual case stays out of the file
    for name in ("children", "assignees", "labels", "blocked_by"):
        if name in data:
            data[name] = list(data[name])
    return data


#: the record's field keys, written only when set (files of earlier versions have none)
_FIELD_KEYS = ("assignees", "labels", "due", "blocked_by", "project_item", "project_status", "project_date", "imported")


def _milestone_record(rec: MilestoneRecord) -> dict[str, Any]:
    return {k: v for k, v in asdict(rec).items() if v is not None or k not in ("due", "start")}


def dumps(base: Base) -> str:
    """Deterministic text: the same state always gives the same bytes."""
    head = {
        "version": VERSION,
        "tracker": base.tracker,
        "repository": base.repository,
        **({"repository_url": base.repository_url} if base.repository_url else {}),
        "since": base.since,
        "full_at": base.full_at,
        "label": base.label,
    }
    if base.unsure:
        head["unsure"] = sorted(base.unsure)
    if base.hierarchy:
        head["hierarchy"] = base.hierarchy
    if base.capabilities:
        head["capabilities"] = dict(sorted(base.capabilities.items()))
    if base.labels:
        head["guide_labels"] = sorted(base.labels)
    if base.project:
        head["project"] = base.project
    if base.imports and base.imports != "off":
        head["import_issues"] = base.imports
    if base.content:
        head["content_window"] = sorted(base.content)
    out = ["{"]
    for k, v in head.items():
        out.append(f"  {json.dumps(k)}: {json.dumps(v, sort_keys=True, ensure_ascii=False)},")

    def block(name: str, items: list[tuple[str, Any]], last: bool = False) -> None:
        if not items:
            out.append(f"  {json.dumps(name)}: {{}}" + ("" if last else ","))
            return
        out.append(f"  {json.dumps(name)}: {{")
        out.append(",\n".join(_line(k, v) for k, v in items))
        out.append("  }" + ("" if last else ","))

    block("etags", sorted(base.etags.items()))
    block("milestones", [(k, _milestone_record(v)) for k, v in sorted(base.milestones.items())])
    block("tasks", [(str(k), _record(v)) for k, v in sorted(base.records.items())], last=True)
    out.append("}")
    return "\n".join(out) + "\n"
