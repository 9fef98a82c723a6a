"""``guidesync demo`` (issue 17, point 3): plan, push, an issue closed as a person would, pull, the
guides' diff; offline (no socket is opened), no token, against the in-memory tracker."""

from __future__ import annotations

import socket
from fnmatch import fnmatch
from pathlib import Path

import pytest
from typer.testing import CliRunner

from guidesync.cli import app
from guidesync.demo import example_guides

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kw):
        raise AssertionError("the demo opened a connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    for name in ("GITHUB_TOKEN", "GH_TOKEN", "GITLAB_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def test_the_demo_shows_the_whole_life_cycle(no_network, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing is written where it runs
    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    text = result.stdout
    steps = ["== 1. the plan", "== 2. guidesync push", "== 3. on the tracker, a person closes an issue",
             "== 4. guidesync pull", "== 5. what changed in the guides"]
    assert [text.index(s) for s in steps] == sorted(text.index(s) for s in steps)
    assert "Summary: 3 milestones to create, 10 issues to create" in text
    for n in range(1, 11):
        assert f"created #{n} " in text
    assert "push: 10 created, 0 updated, 2 closed" in text
    assert "closed #1 Add `GET /cart/{id}` returning items, totals and applicable discounts (completed)" in text
    assert "checked #1 (guides/checkout-redesign.md:18)" in text
    assert "pull: 0 created, 0 updated, 0 closed, 0 reopened, 1 checked" in text
    # the diff: the plain bullet gained a checked box and its link; the others their links
    assert "-- Add `GET /cart/{id}` returning items, totals and applicable discounts\n" in text
    assert ("+- [x] Add `GET /cart/{id}` returning items, totals and applicable discounts "
            "([#1](https://tracker.example/demo/shop/issues/1))") in text
    assert "+- [ ] Seed script `scripts/seed.py` for local development ([#10](https://tracker.example/demo/shop/issues/10))" in text
    assert list(tmp_path.iterdir()) == []


def test_dir_keeps_the_demo_repository_and_refuses_a_full_folder(no_network, tmp_path):
    where = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--dir", str(where)])
    assert result.exit_code == 0, result.output
    guide = (where / "guides" / "checkout-redesign.md").read_text(encoding="utf-8")
    assert "- [x] Add `GET /cart/{id}` returning items, totals and applicable discounts ([#1](" in guide
    assert (where / ".guidesync" / "state.json").is_file() and f"kept in {where}" in result.stdout
    again = CliRunner().invoke(app, ["demo", "--dir", str(where)])
    assert again.exit_code == 2 and "not empty" in again.output
    assert (where / "guides" / "checkout-redesign.md").read_text(encoding="utf-8") == guide


def test_the_shipped_examples_are_the_repository_examples():
    shipped = example_guides()
    repo = {p.name: p.read_bytes() for p in sorted((ROOT / "examples" / "guides").glob("*.md"))}
    assert shipped == repo, "copy examples/guides/*.md to guidesync/data/examples/"
    tomllib = pytest.importorskip("tomllib")
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["package-data"]
    assert all(any(fnmatch(f"data/examples/{name}.example", pattern) for pattern in declared["guidesync"])
               for name in shipped)
