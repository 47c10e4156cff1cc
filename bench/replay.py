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
from ducha.sample import generate

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
