"""What a CI run reports: the step outputs (``$GITHUB_OUTPUT`` or a dotenv file), the Markdown
summary with links to the issues (``$GITHUB_STEP_SUMMARY`` or a file), and the log lines and
annotations it prints (:class:`Console`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence, TextIO

from ..core.escape import annotation as escaped_annotation
from ..core.page import progress_markdown
from ..core.parse import HIERARCHY
from ..core.progress import GuideProgress, progress
from ..core.escape import controls, problem_annotation, shown
from ..guides import load
from ..core.base import loads
from .settings import Settings

#: Outputs written to $GITHUB_OUTPUT (and action.yml ``outputs:``).
OUTPUTS = ("created", "updated", "closed", "reopened", "guides-changed", "commit", "pull-request")

#: GitLab dotenv names that differ from GUIDESYNC_<OUTPUT>: a dotenv report becomes variables of the
#: later jobs, and GUIDESYNC_COMMIT there would override the GUIDESYNC_COMMIT input (true/false).
DOTENV_NAMES = {"commit": "GUIDESYNC_COMMIT_SHA"}


@dataclass
class Console:
    """The run's log. Every line is redacted; text from the files or the tracker is shown, never run
    as a workflow command; only the commands guidesync builds itself are printed as they are."""

    out: TextIO
    redact: Callable[[str], str]
    annotations: bool  # GitHub: errors and lint problems as annotations; GitLab: plain lines

    def say(self, text: str) -> None:
        """Print text: whatever came from the files or the tracker is shown, never run (escape.shown)."""
        print(shown(self.redact(text)), file=self.out)

    def command(self, line: str) -> None:
        """Print a workflow command guidesync built itself, its values escaped (escape.annotation)."""
        print(self.redact(line), file=self.out)

    def error(self, msg: str) -> None:
        msg = self.redact(msg)
        if self.annotations:
            self.command(escaped_annotation("error", msg))
        else:
            self.say(f"guidesync: error: {msg}")

    def problem(self, p: Mapping[str, Any]) -> None:
        """A lint problem, as an annotation on its file or a ``file:line`` line."""
        if self.annotations:
            self.command(problem_annotation(p))
        else:
            self.say(f"{p['file']}:{p.get('line') or ''}: {p['severity']}: {p['message']}")


def escape_cell(text: str) -> str:
    """Text for a Markdown table cell of the summary: one line, no control character, no ``|``."""
    return " ".join(controls(str(text)).split()).replace("\\", "\\\\").replace("|", "\\|")


def write_outputs(s: Settings, values: Mapping[str, Any]) -> None:
    if not s.output_file:
        return
    with open(s.output_file, "a", encoding="utf-8") as f:
        for name in OUTPUTS:
            value = str(values.get(name, "") or (0 if name not in ("commit", "pull-request") else ""))
            value = " ".join(value.splitlines())
            if s.output_format == "dotenv":
                f.write(f"{DOTENV_NAMES.get(name, 'GUIDESYNC_' + name.upper().replace('-', '_'))}={value}\n")
            else:
                f.write(f"{name}={value}\n")


@dataclass(frozen=True)
class IssueInfo:
    """A linked issue as the guides show it now."""

    url: str
    text: str  # the task's text
    where: str  # guide:line


@dataclass
class SummaryRow:
    """One issue the run touched (or would touch): a row of the summary table."""

    number: int | None  # None: an issue still to be created
    url: str = ""
    text: str = ""
    where: str = ""
    what: list[str] = field(default_factory=list)

    @property
    def ref(self) -> str:
        n = self.number
        return "new" if n is None else (f"[#{n}]({self.url})" if self.url else f"#{n}")

    def cells(self) -> tuple[str, str, str, str]:
        """(issue link, task, what, where), escaped for the table."""
        return self.ref, escape_cell(self.text), ", ".join(self.what), escape_cell(self.where)


def issue_info(root: Path, cfg: Any, loaded: Any = None) -> dict[int, IssueInfo]:
    """issue number -> what the guides as they are now say about it (``loaded``: read already)."""
    out: dict[int, IssueInfo] = {}
    try:
        loaded = loaded or load((), root, cfg.guides, cfg.exclude, cfg.sections)
    except Exception:  # the summary is a courtesy; never fail the run for it
        return out
    for lg in loaded.guides:
        for t in lg.guide.tasks:
            if t.link:
                out[t.link.number] = IssueInfo(t.link.url, t.text, f"{t.guide}:{t.line + 1}")
    return out


def load_guides(root: Path, cfg: Any) -> Any:
    """The guides as they are now, read the way ``status`` reads them (None if they cannot be read)."""
    try:
        return load((), root, cfg.guides, cfg.exclude, cfg.sections,
                    hierarchy=HIERARCHY[cfg.tracker] if cfg.sub_issues else None)
    except Exception:  # the summary is a courtesy; never fail the run for it
        return None


def progress_of(loaded: Any, today: str | None = None) -> tuple[GuideProgress, ...]:
    """Each guide's milestones' progress, for the summary's first table."""
    if loaded is None:
        return ()
    return progress((lg.guide for lg in loaded.guides), today or date.today().isoformat())


def find_repository_url(root: Path, cfg: Any) -> str | None:
    """The repository's web address: named by the config or the CI, else as the tracker gave it
    (kept in the state file); None when neither says (it is never worked out from the API URL)."""
    if cfg is None or not cfg.repository:
        return None
    if getattr(cfg, "web_url", None) and not str(cfg.repository).isdigit():
        return f"{cfg.web_url}/{cfg.repository}"
    try:
        return loads((root / cfg.state_file).read_text(encoding="utf-8")).repository_url
    except Exception:  # the summary is a courtesy; never fail the run for it
        return None


def issue_url(cfg: Any, n: int, repository_url: str | None) -> str:
    if not repository_url:
        return ""
    return f"{repository_url}/issues/{n}" if cfg.tracker == "github" else f"{repository_url}/-/issues/{n}"


class _Table:
    """The summary's rows by key, in the order they were first touched."""

    def __init__(self, info: Mapping[int, IssueInfo], cfg: Any, repository_url: str | None):
        self.info, self.cfg, self.repository_url = info, cfg, repository_url
        self.rows: dict[Any, SummaryRow] = {}

    def row(self, key: Any, number: int | None) -> SummaryRow:
        if key not in self.rows:
            found = self.info.get(number) if number is not None else None
            r = SummaryRow(number, *((found.url, found.text, found.where) if found else ("", "", "")))
            if number is not None and not r.url and self.cfg is not None and self.cfg.repository:
                r.url = issue_url(self.cfg, number, self.repository_url)
            self.rows[key] = r
        return self.rows[key]


def _planned(data: Mapping[str, Any], table: _Table) -> list[str]:
    """A plan's rows (what each task would do) into ``table``; the milestone lines."""
    milestones: list[str] = []
    for m in data.get("milestones", []):
        if m.get("create"):
            milestones.append(f"would create milestone {m['title']}")
        elif m.get("update"):
            milestones.append(f"would update milestone {m['title']}")
    for i, t in enumerate(data.get("tasks", [])):
        what = [a for a in t.get("actions", []) if a != "forget"]
        if not what:
            continue
        r = table.row(("task", i), t.get("issue"))
        r.text = t.get("text") or r.text
        if t.get("guide"):
            r.where = f"{t['guide']}:{t['line']}"
        r.what += what
    for imp in data.get("imports", []):  # issues opened on the tracker that join a guide
        if imp.get("waits"):
            continue  # a push only sees it
        r = table.row(imp["issue"], imp["issue"])
        r.url, r.text, r.where = imp.get("url") or r.url, imp.get("title") or r.text, f"{imp['guide']}:{imp['line']}"
        r.what.append("import")
    return milestones


def _done(data: Mapping[str, Any], table: _Table) -> list[str]:
    """A run's rows (what was done to each issue, from its events) into ``table``; the milestone lines."""
    milestones: list[str] = []
    for e in data.get("events", []):
        action = e["action"]
        if action.startswith("milestone_"):
            milestones.append(f"{action.split('_')[1]} milestone {e.get('title', '')}".strip())
            continue
        n = e.get("issue")
        r = table.row(n if n is not None else ("event", len(table.rows)), n)
        if e.get("url"):
            r.url = e["url"]
        if not r.text and e.get("title"):
            r.text = e["title"]
        if not r.where and e.get("guide") and e.get("line") is not None:
            r.where = f"{e['guide']}:{e['line'] + 1}"
        detail = f" ({str(e['detail']).replace('_', ' ')})" if e.get("detail") and action == "closed" else ""
        if action + detail not in r.what:
            r.what.append(action + detail)
    return milestones


def summary_rows(data: Mapping[str, Any], info: Mapping[int, IssueInfo], cfg: Any,
                 planned: bool, repository_url: str | None = None) -> tuple[list[SummaryRow], list[str]]:
    """One row per issue touched, in order; and the milestone lines."""
    table = _Table(info, cfg, repository_url)
    milestones = _planned(data, table) if planned else _done(data, table)
    return list(table.rows.values()), milestones


def summary_markdown(s: Settings, data: Mapping[str, Any] | None, counts: Mapping[str, int], info: Mapping[int, IssueInfo],
                     cfg: Any, notes: Sequence[str], planned: bool, repository_url: str | None = None,
                     progress: Sequence[GuideProgress] = ()) -> str:
    """The job summary: the per-milestone progress table (the guides as they are after the run),
    then the table of what the run did (or would do), its counts and its notes."""
    title = f"guidesync {s.command}" + (" (dry run)" if s.dry_run and s.command != "plan" else "")
    lines = [f"### {title}", ""]
    if progress:
        lines += [progress_markdown(progress), ""]
    rows, milestones = summary_rows(data or {}, info, cfg, planned, repository_url) if data else ([], [])
    if rows:
        lines += ["| Issue | Task | " + ("Would" if planned else "Done") + " | Where |", "| --- | --- | --- | --- |"]
        lines += ["| {} | {} | {} | {} |".format(*r.cells()) for r in rows]
        lines.append("")
    elif data is not None:
        lines += ["Nothing to do." if planned else "Nothing changed.", ""]
    for m in milestones:
        lines.append(f"- {escape_cell(m)}")
    if milestones:
        lines.append("")
    verb = "to " if planned else ""
    lines.append(f"**{counts.get('created', 0)}** {verb}create, **{counts.get('updated', 0)}** {verb}update, "
                 f"**{counts.get('closed', 0)}** {verb}close, **{counts.get('reopened', 0)}** {verb}reopen"
                 + ("" if planned else f", **{counts.get('guides_changed', 0)}** guides changed")
                 + (f", **{counts['imported']}** {verb}import" if counts.get("imported") else ""))
    lines.append("")
    for n in notes:
        lines.append(f"- {escape_cell(n)}")
    return "\n".join(lines).rstrip() + "\n"


def publish_summary(s: Settings, text: str, console: Console) -> None:
    """The summary into its file (appended), or into the log when GitLab has no file for it."""
    if s.summary_file:
        with open(s.summary_file, "a", encoding="utf-8") as f:
            f.write(text)
    elif s.tracker == "gitlab":
        console.say(text)
