"""Issue 11, item 9: what the CI templates install, and from where (checked offline).

The action installs its dependencies from ``requirements/action.txt`` with ``--require-hashes`` and
guidesync itself from its own checkout without dependencies; the GitLab template installs a pinned
tag of the guidesync repository, never the newest ``guidesync`` on an index by bare name.
"""

from __future__ import annotations

import re
import subprocess
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from guidesync import __version__
from guidesync.ci.settings import GITLAB_INPUTS, Settings
from guidesync.ci.summary import write_outputs
from guidesync.ci.templates import gitlab_job

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements" / "action.txt"


def _locked() -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) of the lock file."""
    text = re.sub(r"\\\n", " ", LOCK.read_text(encoding="utf-8"))
    out = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        assert not line.startswith("-"), f"an option in the lock file: {line}"
        spec, *opts = line.split()
        name, _, version = spec.partition("==")
        assert version, f"{spec}: not pinned with =="
        hashes = [o.split(":", 1)[1] for o in opts if o.startswith("--hash=sha256:")]
        assert len(hashes) == len(opts), f"{spec}: only --hash=sha256: options may follow"
        out[canonicalize_name(name)] = (version, hashes)
    return out


def _runtime_closure() -> set[str]:
    """guidesync's runtime dependencies and theirs, as installed here (extras and markers evaluated)."""
    seen: set[str] = set()
    todo = [(Requirement(r), ()) for r in metadata.requires("guidesync") or () if "extra ==" not in r]
    while todo:
        req, extras = todo.pop()
        env = {"extra": extras[0] if extras else ""}
        if req.marker is not None and not req.marker.evaluate(env):
            continue
        name = canonicalize_name(req.name)
        key = name + "[" + ",".join(sorted(req.extras)) + "]"
        if key in seen:
            continue
        seen.add(key)
        for r in metadata.requires(req.name) or ():
            sub = Requirement(r)
            if sub.marker is None or sub.marker.evaluate({"extra": ""}) or any(sub.marker.evaluate({"extra": e}) for e in req.extras):
                todo.append((sub, tuple(req.extras)))
    return {k.split("[")[0] for k in seen}


def test_the_lock_file_pins_every_runtime_dependency_with_hashes():
    locked = _locked()
    missing = _runtime_closure() - set(locked)
    assert not missing, f"requirements/action.txt lacks {sorted(missing)}: regenerate it (see its header)"
    for name, (version, hashes) in locked.items():
        assert hashes and all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes), name
    assert {"setuptools", "wheel"} <= set(locked)  # the --no-build-isolation build of guidesync itself


def test_the_pinned_versions_satisfy_the_project():
    locked = _locked()
    for r in metadata.requires("guidesync") or ():
        req = Requirement(r)
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        version = locked[canonicalize_name(req.name)][0]
        assert req.specifier.contains(version, prereleases=True), f"{req}: the lock has {version}"
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    build = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    for r in build["build-system"]["requires"]:
        req = Requirement(r)
        assert req.specifier.contains(locked[canonicalize_name(req.name)][0]), r


def test_the_action_installs_with_require_hashes_and_its_own_checkout_without_dependencies():
    meta = yaml.safe_load((ROOT / "action.yml").read_text())
    steps = meta["runs"]["steps"]
    assert re.fullmatch(r"actions/setup-python@[0-9a-f]{40}", steps[0]["uses"]), "pin setup-python by commit"
    lines = [l.strip() for l in steps[1]["run"].splitlines() if "pip install" in l]
    assert len(lines) == 2
    assert "--require-hashes" in lines[0] and "--no-deps" in lines[0] and '-r "$GITHUB_ACTION_PATH/requirements/action.txt"' in lines[0]
    assert "--no-deps" in lines[1] and "--no-build-isolation" in lines[1] and "--no-index" in lines[1]
    assert lines[1].endswith('"$GITHUB_ACTION_PATH"')
    assert "pip check" in steps[1]["run"]


def test_the_gitlab_template_installs_a_pinned_tag_and_exports_the_commit_as_its_own_name():
    job = yaml.safe_load(gitlab_job())["guidesync"]
    v = job["variables"]
    assert v["GUIDESYNC_VERSION"] == f"v{__version__}" and v["GUIDESYNC_SOURCE"].endswith("/guidesync.git")
    assert v["GUIDESYNC_PIP_SPEC"] == ""
    install = job["script"][0]
    # The shell picks GUIDESYNC_PIP_SPEC if set, else git+SOURCE@VERSION: never a bare, unpinned name.
    spec = subprocess.run(["sh", "-c", 'printf %s ' + install.split("pip-version-check", 1)[1].strip()],
                          env={"GUIDESYNC_SOURCE": v["GUIDESYNC_SOURCE"], "GUIDESYNC_VERSION": v["GUIDESYNC_VERSION"],
                               "GUIDESYNC_PIP_SPEC": ""}, capture_output=True, text=True).stdout
    assert spec == f"git+{v['GUIDESYNC_SOURCE']}@v{__version__}"


def test_the_dotenv_report_names_the_commit_guidesync_commit_sha(tmp_path):
    out = tmp_path / "guidesync.env"
    s = Settings(tracker="gitlab", output_format="dotenv", output_file=str(out))
    write_outputs(s, {"commit": "abc123", "created": 2})
    names = dict(line.split("=", 1) for line in out.read_text().splitlines())
    assert names["GUIDESYNC_COMMIT_SHA"] == "abc123" and "GUIDESYNC_COMMIT" not in names
    assert names["GUIDESYNC_CREATED"] == "2"
    assert set(names) & set(GITLAB_INPUTS.values()) == set()
