"""Writing a day's disclosure files into the outbox, all or nothing."""

from __future__ import annotations

import datetime as dt
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, select

from ducha.config import Inspection, get_inspection, registry
from ducha.disclosure import tables as T
from ducha.disclosure.weekly import write_weekly
from ducha.disclosure.writers import Sheet, sha256_file, write_csv, write_html, write_manifest, write_xlsx
from ducha.paths import check_inspection_id, safe_name, under
from ducha.warehouse.schema import inspections

log = logging.getLogger(__name__)


@dataclass
class PublishOutcome:
    inspection_id: str
    as_of: str | None
    folder: str | None
    files: list[dict[str, object]] = field(default_factory=list)
    cases: int = 0


class UnknownInspection(ValueError):
    """An inspection id that is neither configured nor in the warehouse."""


def inspections_in_warehouse(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.execute(select(inspections.c.inspection_id)).scalars())


def publish(
    engine: Engine,
    inspection_id: str,
    out_root: Path,
    *,
    as_of: dt.date | None = None,
    run_id: str | None = None,
) -> PublishOutcome:
    """The per-batch tables for batches reported on ``as_of`` and the cumulative
    summary as of that day, into ``out_root/<inspection>/<as_of>/``."""
    insp = get_inspection(check_inspection_id(inspection_id))
    with engine.connect() as conn:
        day = as_of or T.latest_data_day(conn, inspection_id)
        if day is None:
            log.info("%s: no data in the warehouse yet, nothing to publish", inspection_id)
            return PublishOutcome(inspection_id, None, None)
        states = T.case_states(conn, inspection_id, day)
    states = T.with_cities(states, insp)  # read once, shared by every table and chart
    layout = T.layouts()[insp.layout]
    final = under(out_root, inspection_id, day.isoformat())
    tmp = under(out_root, inspection_id, f".{day.isoformat()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        entries = _write_day(tmp, states, insp, layout, day)
        write_manifest(
            tmp,
            files=entries,
            as_of=day.isoformat(),
            run_id=run_id,
            extra={"inspection_id": inspection_id, "inspection_name": insp.name, "cases": len(states)},
        )
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)  # no half-written day left beside the outbox
        raise
    _swap_in(tmp, final)
    log.info("%s: published %d files as of %s into %s", inspection_id, len(entries), day, final)
    return PublishOutcome(inspection_id, day.isoformat(), str(final), entries, len(states))


def region_file_names(regions: list[str]) -> list[str]:
    """One safe, distinct file-name part per region, in order. A region is a cell a clerk
    typed: it may hold separators ("长沙／岳麓区"), "..", or run to any length. Distinct
    means distinct on a case-insensitive file system too, and a renamed duplicate
    ("<name>~<n>") is itself checked against every name already taken."""
    out: list[str] = []
    taken: set[str] = set()
    for region in regions:
        name = safe_name(region)
        n = 1
        while name.casefold() in taken:  # regions that differ only in unsafe characters
            n += 1
            name = safe_name(f"{safe_name(region)}~{n}")
        taken.add(name.casefold())
        out.append(name)
    return out


def _write_day(
    tmp: Path, states: pd.DataFrame, insp: Inspection, layout: T.Layout, day: dt.date
) -> list[dict[str, object]]:
    """Every table, chart and page of the day into ``tmp``; the manifest entries."""
    created = dt.datetime.combine(day, dt.time(0, 0))  # fixed metadata: same data, same bytes
    entries: list[dict[str, object]] = []

    def add(path: Path, rows: int, kind: str) -> None:
        entries.append(
            {
                "name": path.name,
                "sha256": sha256_file(path),
                "bytes": path.stat().st_size,
                "rows": rows,
                "kind": kind,
            }
        )

    def table(stem: str, sheet: Sheet, kind: str, formats: tuple[str, ...] = ("xlsx", "csv", "html")) -> None:
        if "xlsx" in formats:
            write_xlsx(under(tmp, f"{stem}.xlsx"), [sheet], created=created)
        if "csv" in formats:
            write_csv(under(tmp, f"{stem}.csv"), sheet)
        if "html" in formats:
            write_html(under(tmp, f"{stem}.html"), [sheet], page_title=sheet.title or stem)
        for ext in formats:
            add(under(tmp, f"{stem}.{ext}"), len(sheet.rows), kind)

    for batch_no in T.batches_reported_on(states, day):
        stem = f"{T.batch_label(batch_no)}公开情况一览表"
        table(stem, T.batch_sheet(states, batch_no, layout), "batch")
        regions = T.batch_regions(states, batch_no, insp)
        for region, name in zip(regions, region_file_names(regions), strict=True):
            # Each city publishes its own rows of the batch, keeping the batch-wide 序号.
            sheet = T.batch_sheet(states, batch_no, layout, region=region, insp=insp)
            table(f"{stem}（{name}）", sheet, "batch_region", ("xlsx",))
    updates = T.updated_cases(states, day)
    if len(updates):
        table(f"办理情况更新表（{day.isoformat()}）", T.updates_sheet(updates, layout, day), "updates")
    summary: list[Sheet] = T.summary_sheets(states, insp, day)
    stem = f"累计情况汇总（截至{day.isoformat()}）"
    write_xlsx(under(tmp, f"{stem}.xlsx"), summary, created=created)
    write_html(under(tmp, f"{stem}.html"), summary, page_title=summary[0].title or stem)
    for ext in ("xlsx", "html"):
        add(under(tmp, f"{stem}.{ext}"), len(states), "summary")
    # The periodic report: native Excel charts, and the same charts as SVG for the web.
    for path in write_weekly(tmp, states, insp, day, created=created):
        add(path, len(states), "weekly")
    return entries


def _swap_in(tmp: Path, final: Path) -> None:
    """Replace the folder as a whole: readers see the old set or the new one."""
    old = final.with_name("." + final.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def publish_all(
    engine: Engine,
    out_root: Path,
    *,
    inspection_id: str | None = None,
    as_of: dt.date | None = None,
    run_id: str | None = None,
) -> list[PublishOutcome]:
    known = inspections_in_warehouse(engine)
    if inspection_id is not None:
        check_inspection_id(inspection_id)
        if inspection_id not in known and inspection_id not in registry():
            raise UnknownInspection(
                f"unknown inspection {inspection_id!r}: not configured, not in the warehouse"
            )
    ids = [inspection_id] if inspection_id else known
    return [publish(engine, i, out_root, as_of=as_of, run_id=run_id) for i in ids]
