"""Publishing reconciles the outbox with the warehouse (ducha.disclosure.publish.reconcile):
every landing day with loaded files gets its tables, built from the files loaded up to
that day; however the work is split into runs, the outbox ends the same, byte for byte."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path

import pytest

from ducha.config import data_dirs
from ducha.disclosure.publish import reconcile, stale_days
from ducha.pipeline import Ingestor
from ducha_sample import generate

INSP = "c3-hn-2024"
DAYS = [dt.date(2024, 6, d) for d in range(1, 5)]


def _tree(root: Path) -> dict[str, str]:
    """Every published file (manifests included) by path, with its hash."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _ingestor(root: Path, landing: Path) -> Ingestor:
    shutil.copytree(landing, root / "landing")
    return Ingestor(data_dirs(root), f"sqlite:///{root / 'w.sqlite'}", run_label="t")


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("landing")
    generate(root, INSP, days=len(DAYS), seed=13, progress=False)
    return root


@pytest.fixture(scope="module")
def day_by_day(tmp_path_factory: pytest.TempPathFactory, landing: Path) -> Ingestor:
    """The reference: each day ingested, then published, before the next."""
    ingestor = _ingestor(tmp_path_factory.mktemp("daily"), landing)
    for day in DAYS:
        ingestor.ingest_day(day)
        assert [(o.inspection_id, o.as_of) for o in reconcile(ingestor.engine, ingestor.dirs.outbox)] == [
            (INSP, day.isoformat())
        ]
    return ingestor


def test_a_backfill_published_at_the_end_equals_day_by_day_runs(
    day_by_day: Ingestor, landing: Path, tmp_path: Path
) -> None:
    ingestor = _ingestor(tmp_path, landing)
    for day in DAYS:  # every day loaded, as a backfill does, before publishing wakes up
        ingestor.ingest_day(day)
    assert stale_days(ingestor.engine, ingestor.dirs.outbox) == [(INSP, d) for d in DAYS]
    published = reconcile(ingestor.engine, ingestor.dirs.outbox)
    assert [o.as_of for o in published] == [d.isoformat() for d in DAYS]  # oldest first
    assert _tree(ingestor.dirs.outbox) == _tree(day_by_day.dirs.outbox)
    manifest = json.loads((ingestor.dirs.outbox / INSP / "2024-06-02" / "manifest.json").read_text("utf-8"))
    assert manifest["warehouse"]["files"] == 2  # built from the files of 06-01 and 06-02


def test_running_it_again_changes_nothing(day_by_day: Ingestor) -> None:
    outbox = day_by_day.dirs.outbox
    before = {p: p.stat().st_mtime_ns for p in outbox.rglob("*")}
    assert stale_days(day_by_day.engine, outbox) == []
    assert reconcile(day_by_day.engine, outbox) == []
    assert {p: p.stat().st_mtime_ns for p in outbox.rglob("*")} == before


def test_a_late_file_makes_its_day_and_every_later_day_stale(
    day_by_day: Ingestor, landing: Path, tmp_path: Path
) -> None:
    ingestor = _ingestor(tmp_path, landing)
    late = ingestor.dirs.landing / INSP / DAYS[1].isoformat()
    moved = tmp_path / "held-back"
    shutil.move(late, moved)  # day 2's file arrives only after day 4 was published
    for day in DAYS:
        ingestor.ingest_day(day)
    reconcile(ingestor.engine, ingestor.dirs.outbox)
    assert stale_days(ingestor.engine, ingestor.dirs.outbox) == []
    shutil.move(moved, late)
    ingestor.ingest_day(DAYS[-1])  # picks up the late folder
    assert stale_days(ingestor.engine, ingestor.dirs.outbox) == [(INSP, d) for d in DAYS[1:]]
    reconcile(ingestor.engine, ingestor.dirs.outbox)
    assert _tree(ingestor.dirs.outbox) == _tree(day_by_day.dirs.outbox)


def test_a_missing_or_damaged_manifest_is_published_again(day_by_day: Ingestor, tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    shutil.copytree(day_by_day.dirs.outbox, outbox)
    shutil.rmtree(outbox / INSP / DAYS[0].isoformat())
    (outbox / INSP / DAYS[2].isoformat() / "manifest.json").write_text("{not json", encoding="utf-8")
    assert stale_days(day_by_day.engine, outbox) == [(INSP, DAYS[0]), (INSP, DAYS[2])]
    reconcile(day_by_day.engine, outbox)
    assert _tree(outbox) == _tree(day_by_day.dirs.outbox)
