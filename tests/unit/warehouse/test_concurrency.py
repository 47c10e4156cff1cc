"""Loads at the same time: no duplicate, no lost update, nothing left locked."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ducha.config import data_dirs, get_inspection
from ducha.pipeline import Ingestor
from ducha.warehouse.db import engine, upgrade
from ducha.warehouse.schema import case_versions, cases, files
from ducha_sample import generate

# Each worker imports everything, then all start loading at the same instant.
WORKER = """
import datetime as dt, sys, time
from pathlib import Path
from ducha.config import data_dirs, get_inspection
from ducha.pipeline import Ingestor
url, root, start_at, *paths = sys.argv[1:]
ing = Ingestor(data_dirs(root), url, run_label="concurrency")
time.sleep(max(0.0, float(start_at) - time.time()))
for p in paths:
    p = Path(p)
    print(ing.ingest_file(p, get_inspection("c3-hn-2024"), day=dt.date.fromisoformat(p.parent.name)).status)
"""


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'w.sqlite'}"
    return request.getfixturevalue("postgres_url")


def _workers(url: str, root: Path, groups: list[list[Path]]) -> list[str]:
    upgrade(url)
    start_at = str(time.time() + 7)  # after every worker has imported GX
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, url, str(root), start_at, *map(str, g)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for g in groups
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0] * len(procs), [o[1][-2000:] for o in outs]
    return [line for o in outs for line in o[0].split()]


def _content(url: str) -> tuple[int, int, set[tuple]]:
    with engine(url).connect() as conn:
        n_files = conn.execute(select(func.count()).select_from(files)).scalar_one()
        n_cases = conn.execute(select(func.count()).select_from(cases)).scalar_one()
        states = set(
            conn.execute(
                select(case_versions.c.case_id, case_versions.c.as_of, case_versions.c.state_hash)
            ).all()
        )
    return n_files, n_cases, states


def test_same_file_twice_at_once_loads_once(url: str, tmp_path: Path) -> None:
    generate(tmp_path / "landing", "c3-hn-2024", days=1, seed=2)
    (path,) = (tmp_path / "landing" / "c3-hn-2024" / "2024-06-01").glob("*.xlsx")
    statuses = _workers(url, tmp_path, [[path], [path], [path]])
    assert sorted(statuses) == ["loaded", "skipped", "skipped"]
    n_files, n_cases, states = _content(url)
    assert n_files == 1 and n_cases == len(states) > 60


def _ingest_days(ingestor: Ingestor, days: list[Path]) -> None:
    insp = get_inspection("c3-hn-2024")
    for d in days:
        for p in sorted(d.glob("*.xlsx")):
            ingestor.ingest_file(p, insp, day=dt.date.fromisoformat(d.name))


def test_days_loaded_in_parallel_match_a_sequential_load(url: str, tmp_path: Path) -> None:
    generate(tmp_path / "landing", "c3-hn-2024", days=6, seed=4)
    days = sorted((tmp_path / "landing" / "c3-hn-2024").iterdir())
    seq_url = f"sqlite:///{tmp_path / 'seq.sqlite'}"
    _ingest_days(Ingestor(data_dirs(tmp_path / "seq"), seq_url, run_label="seq"), days)
    _ingest_days(Ingestor(data_dirs(tmp_path), url, run_label="first"), days[:3])
    # Days 4-6 each update earlier cases: three workers race on the same case_versions keys.
    statuses = _workers(url, tmp_path, [sorted(d.glob("*.xlsx")) for d in days[3:]])
    assert set(statuses) <= {"loaded", "partial"}
    assert _content(url) == _content(seq_url)
    with engine(url).connect() as conn:  # version numbers run 1..n per case: none lost, none twice
        per_case = conn.execute(
            select(case_versions.c.case_id, func.count(), func.max(case_versions.c.version_no)).group_by(
                case_versions.c.case_id
            )
        ).all()
    assert per_case and all(n == top for _, n, top in per_case)
