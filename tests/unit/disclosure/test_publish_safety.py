"""Publishing with hostile names: a region cell or an inspection option never leads a
write outside the outbox, and never stops a day from being published."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest

from ducha.config import data_dirs, get_inspection
from ducha.disclosure.publish import UnknownInspection, publish_all
from ducha.paths import UnsafePath
from ducha.pipeline import Ingestor
from tests.unit.intake.conftest import BATCH_DAY, HN, case, standard_sheet, write_xlsx
from tests.unit.test_cli import run

LONG = "某" * 120  # 360 bytes: more than a file name may have
HOSTILE = ["长沙／岳麓区", "x／..／..／..／..／escaped", LONG]


def _files(root: Path) -> dict[Path, str]:
    """Every file under ``root`` and its hash; not SQLite's own shared-memory index."""
    return {
        p: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file() and not p.name.endswith("-shm")
    }


@pytest.fixture
def warehouse(tmp_path: Path) -> tuple[Ingestor, Path]:
    data = tmp_path / "data"
    folder = data / "landing" / HN / BATCH_DAY.isoformat()
    rows = [case(1), *(case(n, 行政区域=region) for n, region in enumerate(HOSTILE, start=2))]
    write_xlsx(folder / "第三批.xlsx", standard_sheet(rows))
    ingestor = Ingestor(data_dirs(data), f"sqlite:///{data / 'w.sqlite'}")
    (outcome,) = ingestor.ingest_day(BATCH_DAY).files
    assert outcome.status in ("loaded", "partial") and outcome.rows_loaded == 4, outcome
    return ingestor, data / "outbox"


def test_hostile_regions_publish_inside_the_outbox(warehouse: tuple[Ingestor, Path], tmp_path: Path) -> None:
    ingestor, outbox = warehouse
    before = _files(tmp_path)
    assert len(publish_all(ingestor.engine, outbox, inspection_id=HN, as_of=BATCH_DAY)) == 1
    created = set(_files(tmp_path)) - set(before)
    day = outbox.resolve() / HN / BATCH_DAY.isoformat()
    assert created and all(p.resolve().is_relative_to(day) for p in created), sorted(map(str, created))
    assert not [p for p in tmp_path.rglob("*escaped*") if not p.resolve().is_relative_to(day)]
    names = [p.name for p in day.iterdir()]
    assert all(len(n.encode()) <= 255 for n in names)
    assert not [p for p in day.iterdir() if p.is_dir()]  # a "／" never becomes a folder
    per_region = sorted(n for n in names if n.startswith("第三批公开情况一览表（") and n.endswith(".xlsx"))
    assert len(per_region) == len(set(per_region)) >= len(HOSTILE)
    assert any("长沙_岳麓区" in n for n in per_region) and any("x_.._.." in n for n in per_region)
    # The same warehouse publishes the same bytes again.
    first = {p.name: h for p, h in _files(day).items() if p.name != "manifest.json"}
    publish_all(ingestor.engine, outbox, inspection_id=HN, as_of=BATCH_DAY)
    assert {p.name: h for p, h in _files(day).items() if p.name != "manifest.json"} == first


def test_an_inspection_that_is_a_path_touches_nothing(
    warehouse: tuple[Ingestor, Path], tmp_path: Path
) -> None:
    ingestor, outbox = warehouse
    keep = outbox.parent / "keep" / "2021-04-13"
    keep.mkdir(parents=True)
    (keep / "原件.txt").write_text("do not replace", encoding="utf-8")
    before = _files(tmp_path)
    with pytest.raises(UnsafePath):
        publish_all(ingestor.engine, outbox, inspection_id="../keep", as_of=dt.date(2021, 4, 13))
    with pytest.raises(UnknownInspection):
        publish_all(ingestor.engine, outbox, inspection_id="no-such-inspection", as_of=dt.date(2021, 4, 13))
    assert _files(tmp_path) == before


@pytest.mark.parametrize("inspection", ["../keep", "no-such-inspection"])
def test_cli_publish_refuses_an_unknown_or_unsafe_inspection(tmp_path: Path, inspection: str) -> None:
    data, out = tmp_path / "data", tmp_path / "out"
    get_inspection(HN)  # the configured one exists; these do not
    keep = tmp_path / "keep" / "2021-04-13"
    keep.mkdir(parents=True)
    (keep / "原件.txt").write_text("do not replace", encoding="utf-8")
    before = _files(tmp_path)
    done = run(["publish", "--out", str(out), "--inspection", inspection, "--as-of", "2021-04-13"], tmp_path)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert inspection in done.stderr and "Traceback" not in done.stderr
    after = {
        p: h for p, h in _files(tmp_path).items() if not p.is_relative_to(data)
    }  # the CLI may make its data root
    assert after == before
    assert not out.exists() or not any(out.rglob("*"))
