"""Publishing side by side (forked worker processes): a day's files (write_table_files)
and several inspections' days (publish_days) come out byte for byte as one process
writes them, the outcomes and the log lines stay in the caller's order, and a worker's
failure reaches the caller."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import shutil
from pathlib import Path

import pytest

import ducha.disclosure.publish as publish_module
import ducha.disclosure.writers as writers_module
from ducha.config import data_dirs
from ducha.disclosure.publish import reconcile
from ducha.disclosure.writers import TableFile, write_table_files
from ducha.pipeline import Ingestor
from ducha_sample import generate
from tests.unit.disclosure.test_writers import CREATED, cases_sheet, stats_sheet

INSPECTIONS = ["c3-hn-2024", "c3-p2-2024", "c3-p3-2024"]
DAYS = 3


def _tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


class PoolSpy:
    """Counts the pools a module starts; each is the real pool."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, module: object) -> None:
        self.workers: list[int] = []
        real = module.fork_map  # type: ignore[attr-defined]

        def spy(workers: int, *args: object, **kwargs: object) -> object:
            self.workers.append(workers)
            return real(workers, *args, **kwargs)

        monkeypatch.setattr(module, "fork_map", spy)


def _files(folder: Path) -> list[TableFile]:
    cases, stats = cases_sheet(), stats_sheet()
    return [
        TableFile(folder / "cases.xlsx", "xlsx", (cases,), CREATED),
        TableFile(folder / "cases.csv", "csv", (cases,), CREATED),
        TableFile(folder / "cases.html", "html", (cases, stats), CREATED, "第八批"),
        TableFile(folder / "stats.xlsx", "xlsx", (stats, cases), CREATED),
    ]


def test_a_days_files_written_side_by_side_equal_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = PoolSpy(monkeypatch, writers_module)
    write_table_files(_files(tmp_path / "one"), workers=1)
    write_table_files(_files(tmp_path / "small"), workers=2)  # under min_cells: no pool
    assert spy.workers == []
    write_table_files(_files(tmp_path / "forked"), workers=2, min_cells=0)
    assert spy.workers == [2]
    assert _tree(tmp_path / "forked") == _tree(tmp_path / "one") == _tree(tmp_path / "small")
    assert len(_tree(tmp_path / "one")) == 4


def test_a_workers_failure_reaches_the_caller(tmp_path: Path) -> None:
    files = _files(tmp_path)
    bad = TableFile(tmp_path / "bad.pdf", "pdf", (cases_sheet(),), CREATED)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown table format 'pdf'"):
        write_table_files([*files, bad], workers=2, min_cells=0)
    assert not (tmp_path / "bad.pdf").exists()


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three inspections' days loaded, nothing published yet."""
    root = tmp_path_factory.mktemp("loaded")
    for n, insp in enumerate(INSPECTIONS):
        generate(root / "landing", insp, days=DAYS, seed=5 + n, progress=False)
    ingestor = Ingestor(data_dirs(root), f"sqlite:///{root / 'w.sqlite'}", run_label="t")
    for day in range(1, DAYS + 1):
        ingestor.ingest_day(dt.date(2024, 6, day))
    ingestor.engine.dispose()
    return root


def _reconciled(
    loaded: Path, root: Path, workers: str, monkeypatch: pytest.MonkeyPatch
) -> list[tuple[str, str]]:
    root.mkdir()
    shutil.copy(loaded / "w.sqlite", root / "w.sqlite")
    monkeypatch.setenv("DUCHA_PUBLISH_WORKERS", workers)
    ingestor = Ingestor(data_dirs(root), f"sqlite:///{root / 'w.sqlite'}", run_label="t")
    outcomes = reconcile(ingestor.engine, ingestor.dirs.outbox)
    ingestor.engine.dispose()
    return [(o.inspection_id, o.as_of) for o in outcomes]


def test_inspections_published_side_by_side_equal_one_process(
    loaded: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    spy = PoolSpy(monkeypatch, publish_module)
    one = _reconciled(loaded, tmp_path / "one", "1", monkeypatch)
    assert spy.workers == []
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="ducha.disclosure.publish"):
        forked = _reconciled(loaded, tmp_path / "forked", "2", monkeypatch)
    assert spy.workers == [2]
    # Oldest first, as one process publishes; every inspection's every day.
    days = [f"2024-06-0{d}" for d in range(1, DAYS + 1)]
    assert forked == one == sorted(((i, d) for i in INSPECTIONS for d in days), key=lambda x: (x[1], x[0]))
    assert _tree(tmp_path / "forked" / "outbox") == _tree(tmp_path / "one" / "outbox")
    # Logged by the caller, in the order of the outcomes (a worker's lines could interleave).
    lines = [r.getMessage() for r in caplog.records if ": published " in r.getMessage()]
    assert [(line.split(":")[0], line.split(" as of ")[1][:10]) for line in lines] == forked
