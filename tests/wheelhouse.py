"""A folder of wheels made from the packages installed in this environment, for installs that must
not reach a package index (``pip --no-index --find-links``): each installed distribution is packed
again from the files its RECORD lists (compiled extensions included, the wheel tag kept from its
WHEEL file); scripts are left out (pip makes them again from the entry points)."""

from __future__ import annotations

import re
import zipfile
from importlib import metadata
from pathlib import Path, PurePosixPath

from packaging.requirements import Requirement


def _key(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def closure(names: list[str]) -> dict[str, metadata.Distribution]:
    """The installed distributions ``names`` need, theirs included (extras asked for followed,
    markers evaluated here)."""
    installed = {_key(d.metadata["Name"]): d for d in metadata.distributions()}
    out: dict[str, metadata.Distribution] = {}
    done: set[tuple[str, str]] = set()
    todo = [(Requirement(n), "") for n in names]
    while todo:
        req, extra = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": extra}):
            continue
        key = _key(req.name)
        dist = installed.get(key)
        if dist is None:
            raise LookupError(f"{req.name} is not installed here")
        out[key] = dist
        for wanted in ("", *sorted(req.extras)):
            if (key, wanted) not in done:
                done.add((key, wanted))
                todo.extend((Requirement(r), wanted) for r in dist.requires or ())
    return out


def pack(dist: metadata.Distribution, folder: Path) -> Path:
    """``dist`` as a wheel in ``folder``."""
    name = re.sub(r"[-_.]+", "_", dist.metadata["Name"])
    version = dist.version
    tags = [line.split(":", 1)[1].strip() for line in (dist.read_text("WHEEL") or "").splitlines() if line.startswith("Tag:")]
    tag = next((t for t in tags if not t.startswith("py2")), "py3-none-any")  # py2.py3 wheels list py2 first
    target = folder / f"{name}-{version}-{tag}.whl"
    rows: list[str] = []
    info_dir = None
    with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as whl:
        for file in dist.files or ():
            path = PurePosixPath(str(file).replace("\\", "/"))
            if path.parts[0] == ".." or "__pycache__" in path.parts or path.suffix == ".pyc":
                continue
            if path.parent.name.endswith(".dist-info"):
                info_dir = path.parent
                if path.name in ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json"):
                    continue
            source = Path(dist.locate_file(file))
            if source.is_file():
                whl.write(source, str(path))
                rows.append(f"{path},,")
        if info_dir is None:
            raise LookupError(f"{name}: no .dist-info in its RECORD")
        rows.append(f"{info_dir}/RECORD,,")
        whl.writestr(f"{info_dir}/RECORD", "\n".join(rows) + "\n")
    return target


def wheelhouse(folder: Path, names: list[str]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [pack(d, folder) for d in closure(names).values()]
