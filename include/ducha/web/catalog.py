"""What the pages may show of the published folders: inspections, days, a day's
manifest and the files it names — nothing else under the data root is ever served.

Every lookup goes through a manifest: a name that is not in the day's manifest, or
that the user's scope does not cover, is "not found", whatever the request spelled
(``..``, encoded slashes, absolute paths, links).
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ducha.config import Inspection, get_inspection
from ducha.disclosure.writers import MANIFEST_NAME
from ducha.paths import DAY_PATTERN, INSPECTION_ID_PATTERN, UnsafePath, under
from ducha.web.access import Scope

_INSPECTION = re.compile(INSPECTION_ID_PATTERN)
_DAY = re.compile(DAY_PATTERN)


class NotFound(LookupError):
    """Nothing the user may see is there (one answer for absent and forbidden alike, so
    a county officer cannot probe which other files exist)."""


@dataclass(frozen=True)
class DayFolder:
    inspection_id: str
    day: str
    path: Path
    manifest: dict

    @property
    def inspection(self) -> Inspection:
        return get_inspection(self.inspection_id)

    def files(self, scope: Scope) -> list[dict]:
        """The manifest's entries this scope may see, in manifest order."""
        insp = self.inspection
        return [f for f in self.manifest.get("files", []) if scope.sees_table(insp, f.get("region"))]

    def entry(self, name: str, scope: Scope) -> dict:
        for f in self.files(scope):
            if f["name"] == name:
                return f
        raise NotFound(name)

    def file_path(self, name: str, scope: Scope) -> Path:
        """The file named ``name`` in this day's manifest, if the scope covers it; a
        regular file inside the folder, never a link."""
        entry = self.entry(name, scope)
        try:
            path = under(self.path, entry["name"])
        except UnsafePath as exc:
            raise NotFound(name) from exc
        if path.is_symlink() or not path.is_file():
            raise NotFound(name)
        return path


def inspections(root: Path) -> list[str]:
    """Inspection folders under ``root`` (outbox/ or released/), by id."""
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if _plain_dir(p) and _INSPECTION.fullmatch(p.name))


def days(root: Path, inspection_id: str) -> list[str]:
    """The days of an inspection that have a manifest, newest first."""
    folder = _inspection_dir(root, inspection_id)
    return sorted(
        (p.name for p in folder.iterdir() if _plain_dir(p) and _DAY.fullmatch(p.name) and _has_manifest(p)),
        reverse=True,
    )


def day_folder(root: Path, inspection_id: str, day: str) -> DayFolder:
    if not _DAY.fullmatch(day):
        raise NotFound(day)
    try:
        path = under(_inspection_dir(root, inspection_id), day)
    except UnsafePath as exc:
        raise NotFound(day) from exc
    if not _plain_dir(path) or not _has_manifest(path):
        raise NotFound(day)
    manifest = json.loads((path / MANIFEST_NAME).read_text(encoding="utf-8"))
    return DayFolder(inspection_id, day, path, manifest)


def zip_of(folder: DayFolder, scope: Scope, made: Iterable[tuple[str, bytes]] = ()) -> bytes:
    """The day's files this scope sees (and ``made``: files made for it on request), and
    the manifest when it sees them all (a partial zip carries no manifest that names
    files it lacks)."""
    visible = folder.files(scope)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for entry in visible:
            archive.write(folder.file_path(entry["name"], scope), f"{folder.day}/{entry['name']}")
        for name, data in made:
            archive.writestr(f"{folder.day}/{name}", data)
        if len(visible) == len(folder.manifest.get("files", [])):
            archive.write(folder.path / MANIFEST_NAME, f"{folder.day}/{MANIFEST_NAME}")
    return buffer.getvalue()


def grouped(entries: Iterable[dict]) -> dict[str, list[dict]]:
    """A day's files by table (one stem, several formats), in the order they come."""
    out: dict[str, list[dict]] = {}
    for entry in entries:
        stem, _, _ = entry["name"].rpartition(".")
        out.setdefault(stem, []).append(entry)
    return out


def _inspection_dir(root: Path, inspection_id: str) -> Path:
    if not isinstance(inspection_id, str) or not _INSPECTION.fullmatch(inspection_id):
        raise NotFound(inspection_id)
    try:
        folder = under(root, inspection_id)
    except UnsafePath as exc:
        raise NotFound(inspection_id) from exc
    if not _plain_dir(folder):
        raise NotFound(inspection_id)
    return folder


def _plain_dir(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()


def _has_manifest(path: Path) -> bool:
    manifest = path / MANIFEST_NAME
    return manifest.is_file() and not manifest.is_symlink()
