"""The shape of the package: no import cycle anywhere (function-level imports included); the core
imports nothing outside it that could reach the network, the disk or the clock."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "guidesync"


def _module(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph() -> dict[str, set[str]]:
    modules = {_module(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - node.level + 1]
                    head = ".".join(base + ([node.module] if node.module else []))
                else:
                    head = node.module or ""
                targets = [head] + [f"{head}.{a.name}" for a in node.names]
            for t in targets:
                if t in modules and t != name:
                    graph[name].add(t)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, " -> ".join(cycle or ())


def test_the_cycle_finder_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


#: What the pure core may import besides itself: the standard library's pure modules, the Markdown
#: parser and the error hierarchy (a leaf: it imports nothing of guidesync's).
CORE_MAY_IMPORT = {"__future__", "collections", "dataclasses", "datetime", "difflib", "enum", "functools",
                   "hashlib", "json", "re", "typing", "unicodedata", "urllib.parse", "markdown_it",
                   "markdown_it.token", "guidesync.errors"}
#: Calls that would reach the disk, a process or the clock, whatever module they come from.
IO_CALLS = {"open", "print", "input", "now", "today", "utcnow", "time", "sleep", "urlopen"}


def core_imports() -> dict[str, set[str]]:
    """Each core module -> the modules it imports (absolute names), function-level imports included."""
    out: dict[str, set[str]] = {}
    for path in sorted((PACKAGE / "core").glob("*.py")):
        name = _module(path)
        package = "guidesync.core"
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    found.add(".".join(base + ([node.module] if node.module else [])))
                else:
                    found.add(node.module or "")
        out[name] = found
    return out


def test_the_core_imports_no_io_module():
    imports = core_imports()
    assert "guidesync.core.plan" in imports and "guidesync.core.base" in imports
    for module, found in imports.items():
        outside = {m for m in found if not m.startswith("guidesync.core")} - CORE_MAY_IMPORT
        assert not outside, f"{module} imports {sorted(outside)}"


def test_the_core_calls_nothing_that_does_io():
    for path in sorted((PACKAGE / "core").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                assert name not in IO_CALLS, f"{path.name}:{node.lineno} calls {name}()"


def test_the_error_hierarchy_is_a_leaf():
    assert not import_graph()["guidesync.errors"]


def test_the_core_check_sees_a_forbidden_import(tmp_path, monkeypatch):
    core = tmp_path / "guidesync" / "core"
    core.mkdir(parents=True)
    (core / "bad.py").write_text("from ..trackers.base import RemoteIssue\nimport os\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", tmp_path / "guidesync")
    assert core_imports() == {"guidesync.core.bad": {"guidesync.trackers.base", "os"}}


def _readme_rows() -> list[tuple[str, list[str]]]:
    """The README's "where things are" table: (first cell, every `name` in the row)."""
    text = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    table = text[text.index("| module | responsibility |"):]
    rows = []
    for line in table.splitlines()[2:]:
        if not line.startswith("|"):
            break
        first = line.split("|")[1]
        rows.append((first, re.findall(r"`([^`]+)`", line)))
    return rows


def test_the_readme_names_every_module_where_it_is():
    rows = _readme_rows()
    named: set[str] = set()
    for first, names in rows:
        heads = re.findall(r"`([^`]+)`", first)
        folder = heads[0].rsplit("/", 1)[0] if heads else ""
        folder = folder if folder.startswith("guidesync") else f"guidesync/{folder}"
        for name in names:
            if name.endswith(".py") or "/" in name:
                if name.startswith("guidesync/"):
                    named.add(name)
                elif "/" in name:
                    named.add(f"guidesync/{name}")
                else:
                    named.add(f"{folder}/{name}")
    modules = {f"guidesync/{p.relative_to(PACKAGE).as_posix()}" for p in PACKAGE.rglob("*.py")
               if p.name not in ("__init__.py", "__main__.py")}
    missing = {m for m in modules if m not in named and m.rsplit("/", 1)[0] + "/" not in named}
    assert not missing, f"README's table does not name {sorted(missing)}"
    stale = {n for n in named if n.endswith(".py") and n not in modules}
    assert not stale, f"README's table names modules that do not exist: {sorted(stale)}"
