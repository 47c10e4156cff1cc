"""A county's own tables: its rows of the city copies a publisher signed off.

Every published table mixes counties (the smallest copy is a city's), so a county
officer would have none. Their extract is derived on request from the city's copy in
the same folder — the signed-off bytes, not the warehouse, which may have moved on —
keeping that copy's rows whose 行政区域 the county's scope covers, its columns, its
batch-wide 序号 and its title with the county's name. The same request gives the same
bytes (fixed workbook metadata), and a name is served only if the day's manifest has
the city copy it comes from.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from ducha.disclosure.layout import Sheet
from ducha.disclosure.tables import published_columns
from ducha.disclosure.writers import write_xlsx
from ducha.layouts import layouts
from ducha.paths import safe_name
from ducha.web.access import Scope
from ducha.web.catalog import DayFolder, NotFound

KIND = "batch_county"
SOURCE_KIND = "batch_region"  # a city's copy of a batch table
REGION_FIELD = "region"


@dataclass(frozen=True)
class Extract:
    """One county's rows of one city copy."""

    folder: DayFolder
    source: str  # the city copy's name in the manifest
    county: str  # as cases write it ("长沙市天心区")
    city: str

    @property
    def name(self) -> str:
        stem = self.source.rpartition(".")[0].rpartition("（")[0]
        return f"{stem}（{safe_name(self.county)}）.xlsx"

    @cached_property
    def sheet(self) -> Sheet:
        """The county's rows of the city copy, in the copy's order and layout."""
        from python_calamine import CalamineWorkbook

        layout = layouts()[self.folder.inspection.layout]
        # Through the same checks as any download: named in the manifest, a regular file.
        source = self.folder.file_path(self.source, Scope(everything=True))
        sheet_of = CalamineWorkbook.from_path(str(source)).get_sheet_by_index(0)
        grid = sheet_of.to_python()
        headers = [c.header for c in layout.columns]
        start = next(
            (i for i, row in enumerate(grid) if [str(v) for v in row[: len(headers)]] == headers), None
        )
        if start is None:
            raise NotFound(self.name)  # not a table of the inspection's layout
        title = str(grid[0][0]) if start > 0 and grid[0] else ""
        at = [c.field for c in layout.columns].index(REGION_FIELD)
        scope = Scope(regions=frozenset({self.county}))
        columns = published_columns(layout)
        rows = [
            [_cell(v, c.kind) for v, c in zip(row[: len(headers)], columns, strict=True)]
            for row in grid[start + 1 :]
            if len(row) >= len(headers) and scope.sees_region(self.folder.inspection, str(row[at]))
        ]
        return Sheet(
            name=sheet_of.name,
            columns=columns,
            rows=rows,
            title=self.county + title.removeprefix(self.city) if title else None,
        )

    def entry(self) -> dict:
        """Like a manifest entry, for the page (no hash: it is made on request)."""
        return {"name": self.name, "rows": len(self.sheet.rows), "kind": KIND, "region": self.county,
                "source": self.source}  # fmt: skip

    def xlsx(self) -> bytes:
        created = dt.datetime.combine(dt.date.fromisoformat(self.folder.day), dt.time(0, 0))
        with tempfile.TemporaryDirectory(prefix="ducha-extract-") as work:
            path = Path(work) / "extract.xlsx"
            write_xlsx(path, [self.sheet], created=created)
            return path.read_bytes()


def extracts(folder: DayFolder, scope: Scope) -> list[Extract]:
    """The county extracts this scope gets of the day: one per city copy and county of
    the scope that has rows in it (none for a scope that sees whole cities' copies)."""
    insp = folder.inspection
    counties = scope.counties(insp)
    if scope.everything or not counties:
        return []
    out = []
    for entry in folder.manifest.get("files", []):
        if entry.get("kind") != SOURCE_KIND or not str(entry.get("name", "")).endswith(".xlsx"):
            continue
        city = str(entry.get("region") or "")
        for county in sorted(counties):
            if insp.city_of(county) == city and city not in scope.cities(insp):
                extract = Extract(folder, entry["name"], county, city)
                if _readable(extract) and extract.sheet.rows:
                    out.append(extract)
    return out


def extract(folder: DayFolder, name: str, scope: Scope) -> Extract:
    for found in extracts(folder, scope):
        if found.name == name:
            return found
    raise NotFound(name)


def _readable(extract: Extract) -> bool:
    """The source can be served and read as a table of the layout (read once, here)."""
    try:
        extract.sheet  # noqa: B018
    except NotFound:
        return False
    return True


def _cell(value: object, kind: str) -> object:
    if value is None or value == "":
        return ""
    if kind == "int" and isinstance(value, float) and value.is_integer():
        return int(value)
    return value
