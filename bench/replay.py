"""A round replayed day by day through the library code the DAGs call.

Several inspections (one per province) receive a batch a day; each day's landing
folders are ingested (``Ingestor.ingest_day``, as the ingest DAG does) and every
inspection is published as of that day (``publish_all``, as the publish DAG does).
The sample generator writes the workbooks, with its dirty rows, later versions and
corrections, so the replay exercises quarantine and versioning too.
"""

from __future__ import annotations

import cProfile
import datetime as dt
import pstats
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine

from ducha.config import data_dirs
from ducha.disclosure.publish import publish_all
from ducha.pipeline import Ingestor
from ducha_sample import generate

T = TypeVar("T")
FIRST_DAY = dt.date(2024, 6, 1)  # the sample generator's first landing day


def inspection_ids(provinces: int) -> list[str]:
    """The sample's configured inspection, then generic ones ("c3-p2-2024" …)."""
    return ["c3-hn-2024", *(f"c3-p{n}-2024" for n in range(2, provinces + 1))][:provinces]


@dataclass
class DayCost:
    day: str
    cases: int  # cases in the warehouse after the day
    rows: int  # rows read from the day's files
    ingest_seconds: float
    publish_seconds: float
    ingest_work: int = 0  # database work units (SQLite VM steps / 1000), when counted
    publish_work: int = 0
    ingest_calls: int = 0  # Python function calls, when counted
    publish_calls: int = 0


@dataclass
class Replay:
    provinces: int
    days: int
    files: int = 0
    rows: int = 0
    per_day: list[DayCost] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return sum(d.ingest_seconds + d.publish_seconds for d in self.per_day)


def write_landing(root: Path, provinces: int, days: int, seed: int = 11) -> tuple[int, int]:
    """(files, rows) of ``days`` daily batches for each province under ``root/landing``."""
    files = rows = 0
    for n, inspection_id in enumerate(inspection_ids(provinces)):
        summary = generate(root / "landing", inspection_id, days=days, seed=seed + n, progress=False)
        files, rows = files + len(summary.files), rows + summary.rows
    return files, rows


def replay(
    root: Path,
    url: str,
    provinces: int,
    days: int,
    *,
    seed: int = 11,
    instrument: Callable[[Engine], Callable[[], int]] | None = None,
    count_calls: bool = False,
) -> Replay:
    """Ingest and publish every day of the round in order. ``instrument``: given the
    warehouse engine, returns a running count of database work, read around each step;
    ``count_calls``: count the Python function calls of each step too (cProfile), so
    Python work that grows with the warehouse shows without a clock."""
    out = Replay(provinces, days)
    out.files, out.rows = write_landing(root, provinces, days, seed)
    for offset in range(days):
        day = FIRST_DAY + dt.timedelta(days=offset)
        t0 = time.perf_counter()
        # As the ingest DAG does: a task (an Ingestor, a Data Docs site) per day.
        ingestor = Ingestor(data_dirs(root), url, run_label=day.isoformat())
        count = instrument(ingestor.engine) if instrument else (lambda: 0)
        w0 = count()
        ingested, ingest_calls = _calls(count_calls, ingestor.ingest_day, day)
        w1, t1 = count(), time.perf_counter()
        outcomes, publish_calls = _calls(
            count_calls, publish_all, ingestor.engine, ingestor.dirs.outbox, as_of=day
        )
        w2, t2 = count(), time.perf_counter()
        cases = sum(o.cases for o in outcomes)
        rows = ingested.totals()["rows_total"]
        out.per_day.append(
            DayCost(
                day.isoformat(), cases, rows, t1 - t0, t2 - t1, w1 - w0, w2 - w1, ingest_calls, publish_calls
            )
        )
        ingestor.engine.dispose()
    return out


def _calls(count: bool, step: Callable[..., T], *args: object, **kwargs: object) -> tuple[T, int]:
    """The step's result, and how many Python function calls it made (0 uncounted)."""
    if not count:
        return step(*args, **kwargs), 0
    profile = cProfile.Profile()
    result = profile.runcall(step, *args, **kwargs)
    return result, pstats.Stats(profile).total_calls  # type: ignore[attr-defined]


# --- the floor: the least any pipeline must do for the same round ------------------------------

_FLOOR_WIDTH = 24  # text columns of the bare table: wider than any sample sheet
# The naive suite's columns, by the contract's field they hold.
_CHECKED = {"case_id": "受理编号", "summary": "交办问题基本情况", "region": "行政区域", "status": "是否办结"}
_HEADER_ROWS = 6  # a floor looks only this far for the header (the pipeline: header_search_rows)


def _raw_rows(path: Path) -> tuple[list[tuple], dict[str, list[object]]]:
    """Every data row of every sheet as read (calamine) — its region, then its cells padded
    to the bare table's width — and the columns the naive suite checks. Headers are found
    as the pipeline finds them, cell by cell through the contract's aliases (any variant,
    Traditional too; a two-row header: the lower cell, else the upper), so the floor reads
    every sheet the pipeline reads; a row counts if any cell holds something (a merged 序号
    leaves the first blank) and it is not a notes row."""
    from python_calamine import CalamineWorkbook

    from ducha.contract import load_contract, strip_unit
    from ducha.text import header_key

    index = load_contract().alias_index()

    def field(cell: object) -> str | None:
        key = header_key(cell)
        return index.get(strip_unit(key)) or index.get(key) if key else None

    rows: list[tuple] = []
    checked: dict[str, list[object]] = {name: [] for name in _CHECKED.values()}
    book = CalamineWorkbook.from_path(str(path))
    for name in book.sheet_names:
        grid = book.get_sheet_by_name(name).to_python()
        top = next((r for r in range(min(_HEADER_ROWS, len(grid))) if "case_id" in map(field, grid[r])), None)
        if top is None:
            continue
        header, start = list(grid[top]), top + 1
        if start < len(grid) and grid[start] and sum(field(c) is not None for c in grid[start]) >= 2:
            header = [low if field(low) else up for up, low in zip(grid[top], grid[start], strict=False)]
            start += 1
        at = {f: c for c, f in ((c, field(h)) for c, h in enumerate(header)) if f in _CHECKED}
        region_at = at.get("region")
        body = [
            r
            for r in grid[start:]
            if any(c != "" for c in r) and not str(next((c for c in r if c != ""), "")).startswith("注")
        ]
        region = ""
        for r in body:
            # 行政区域 merged down a city's rows: its value is in the first (a fill-down)
            cell = str(r[region_at]) if region_at is not None and region_at < len(r) else ""
            region = cell or region
            cells = tuple(str(c) for c in r[:_FLOOR_WIDTH])
            rows.append((region, *cells, *("",) * (_FLOOR_WIDTH - len(cells))))
        for f, column in _CHECKED.items():
            checked[column].extend(r[at[f]] if f in at and at[f] < len(r) else None for r in body)
    return rows, checked


def floor(root: Path, url: str, provinces: int, days: int) -> float:
    """Seconds for the floor of the replay written under ``root``: day by day, each day's
    files read raw (calamine), the naive six-expectation GX suite run once on the day's
    frame, the rows appended to one bare table (``executemany`` / ``COPY``), then, per
    inspection, its rows so far read back and the day's files written unmasked and
    unformatted: the day's rows (xlsx, csv, html), one xlsx per city, and a count by
    region over all its rows so far (xlsx). No versions, keys, masking, notes or charts."""
    import csv
    import html

    import pandas as pd
    import xlsxwriter
    from sqlalchemy import create_engine, text

    from bench.naive import validate

    engine = create_engine(url)
    sqlite = url.startswith("sqlite")
    cols = ", ".join(["inspection text", "region text", *(f"c{i} text" for i in range(_FLOOR_WIDTH))])
    with engine.begin() as conn:  # a fresh warehouse: one bare table, no key, no index
        conn.exec_driver_sql(f"CREATE TABLE floor_rows ({cols})")
    out = root / "floor-out"
    total = 0.0
    for offset in range(days):
        day = FIRST_DAY + dt.timedelta(days=offset)
        t0 = time.perf_counter()
        today: dict[str, list[tuple]] = {}
        checked: dict[str, list[object]] = {}
        for inspection_id in inspection_ids(provinces):
            folder = root / "landing" / inspection_id / day.isoformat()
            for path in sorted(folder.glob("*.xls*")):
                rows, found = _raw_rows(path)
                today.setdefault(inspection_id, []).extend((inspection_id, *r) for r in rows)
                for k, v in found.items():
                    checked.setdefault(k, []).extend(v)
        validate(pd.DataFrame(checked), quiet=True)
        every = [r for rows in today.values() for r in rows]
        with engine.begin() as conn:
            if sqlite:
                marks = ", ".join(["?"] * (_FLOOR_WIDTH + 2))
                conn.exec_driver_sql(f"INSERT INTO floor_rows VALUES ({marks})", every)
            else:
                with (
                    conn.connection.driver_connection.cursor() as cur,
                    cur.copy("COPY floor_rows FROM STDIN") as copy,
                ):
                    for r in every:
                        copy.write_row(r)
        for inspection_id, rows in today.items():
            with engine.connect() as conn:
                regions = conn.execute(
                    text("SELECT region, count(*) FROM floor_rows WHERE inspection = :i GROUP BY region"),
                    {"i": inspection_id},
                ).all()
            folder = out / inspection_id / day.isoformat()
            folder.mkdir(parents=True, exist_ok=True)
            body = [r[2:] for r in rows]
            _xlsx(xlsxwriter, folder / "day.xlsx", body)
            with (folder / "day.csv").open("w", newline="", encoding="utf-8-sig") as fh:
                csv.writer(fh).writerows(body)
            (folder / "day.html").write_text(
                "<table>"
                + "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in body)
                + "</table>",
                encoding="utf-8",
            )
            cities: dict[str, list[tuple]] = {}
            for r in rows:  # by the city the region names first (the floor resolves nothing)
                cities.setdefault(r[1][:3], []).append(r[2:])
            for n, part in enumerate(cities.values()):
                _xlsx(xlsxwriter, folder / f"city{n}.xlsx", part)
            _xlsx(xlsxwriter, folder / "summary.xlsx", [tuple(r) for r in regions])
        total += time.perf_counter() - t0
    engine.dispose()
    return total


def _xlsx(xlsxwriter, path: Path, rows: list[tuple]) -> None:  # type: ignore[no-untyped-def]
    book = xlsxwriter.Workbook(str(path), {"in_memory": True})
    sheet = book.add_worksheet()
    for r, row in enumerate(rows):
        sheet.write_row(r, 0, row)
    book.close()
