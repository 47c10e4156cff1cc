"""The ingest job (ducha.pipeline): the files of a landing folder are validated together,
in one GX run, yet each file's report is its own, and each file is compared with the
warehouse as the files before it left it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ducha.config import data_dirs
from ducha.pipeline import Ingestor
from tests.unit.intake.conftest import BATCH_DAY, GENERIC, HN, case, standard_sheet, write_xlsx

ROW = 3  # the first case's Excel row: title, header, then cases


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> tuple[Ingestor, dict[str, dict]]:
    root = tmp_path_factory.mktemp("pipeline")
    folder = root / "landing" / HN / BATCH_DAY.isoformat()
    folder.mkdir(parents=True)
    # a: case 2 twice (a duplicate within the file); b: case 1 again, the same text, and a
    # bad status; c: case 1 with another text, after a and b have loaded it.
    write_xlsx(folder / "a.xlsx", standard_sheet([case(1), case(2), case(2)]))
    write_xlsx(folder / "b.xlsx", standard_sheet([case(1), case(3, 是否办结="不知道")]))
    write_xlsx(
        folder / "c.xlsx", standard_sheet([case(1, 交办问题基本情况="另一段内容：工地夜间施工扰民。")])
    )
    # Another inspection's folder the same day: the same run, judged by its own types.
    other = root / "landing" / GENERIC / BATCH_DAY.isoformat()
    other.mkdir(parents=True)
    write_xlsx(other / "d.xlsx", standard_sheet([case(1, 问题类型="扬尘"), case(2, 问题类型="不存在的类型")]))
    ingestor = Ingestor(data_dirs(root), f"sqlite:///{root}/w.db", run_label="t")
    builds = []
    real_build = ingestor.validator._context.build_data_docs
    ingestor.validator._context.build_data_docs = lambda *a, **k: builds.append(1) or real_build(*a, **k)
    outcome = ingestor.ingest_day(BATCH_DAY)
    reports = {
        f.file: json.loads((root / f.report).read_text("utf-8")) | {"status": f.status} for f in outcome.files
    }
    reports["_builds"] = {"count": len(builds)}
    return ingestor, reports


def _found(report: dict) -> set[tuple[int, str]]:
    return {(i["row"], i["rule"]) for i in [*report["errors"], *report["warnings"]]}


def test_each_file_gets_its_own_findings(day: tuple[Ingestor, dict[str, dict]]) -> None:
    _, reports = day
    assert _found(reports["a.xlsx"]) == {(ROW + 1, "CASE_ID_DUPLICATE"), (ROW + 2, "CASE_ID_DUPLICATE")}
    # Case 1 was in a.xlsx too: not a duplicate, since uniqueness is per file.
    assert _found(reports["b.xlsx"]) == {(ROW + 1, "ENUM_VALUE")}
    assert reports["b.xlsx"]["errors"][0]["value"] == "不知道"
    assert _found(reports["d.xlsx"]) == {(ROW + 1, "POLLUTION_TYPE")}
    assert [r["status"] for r in reports.values() if "status" in r] == [
        "partial",
        "partial",
        "quarantined",
        "partial",
    ]


def test_a_file_is_compared_with_the_files_loaded_before_it(day: tuple[Ingestor, dict[str, dict]]) -> None:
    _, reports = day
    assert _found(reports["c.xlsx"]) == {(ROW, "CASE_CONFLICT")}


def test_one_gx_run_and_one_data_docs_build_per_day_for_every_inspection(
    day: tuple[Ingestor, dict[str, dict]],
) -> None:
    ingestor, reports = day
    (result,) = [json.loads(p.read_text("utf-8")) for p in (ingestor.dirs.reports / "gx").glob("*.gx.json")]
    assert [(f["file"], f["first_index"], f["rows"]) for f in result["meta"]["files"]] == [
        ("a.xlsx", 0, 3),
        ("b.xlsx", 3, 2),
        ("c.xlsx", 5, 1),
        ("d.xlsx", 6, 2),
    ]
    (duplicate,) = [
        r for r in result["results"] if r["expectation_config"]["meta"]["rule"] == "CASE_ID_DUPLICATE"
    ]
    assert duplicate["result"]["unexpected_index_list"] == [1, 2]
    assert reports["_builds"]["count"] == 1
    assert (ingestor.dirs.reports / "data_docs" / "t" / "index.html").is_file()


def test_the_same_file_twice_in_one_folder_loads_once(tmp_path: Path) -> None:
    folder = tmp_path / "landing" / HN / BATCH_DAY.isoformat()
    folder.mkdir(parents=True)
    write_xlsx(folder / "a.xlsx", standard_sheet([case(1)]))
    (folder / "a-copy.xlsx").write_bytes((folder / "a.xlsx").read_bytes())
    ingestor = Ingestor(data_dirs(tmp_path), f"sqlite:///{tmp_path}/w.db", run_label="t")
    outcome = ingestor.ingest_day(BATCH_DAY)
    assert [(f.file, f.status) for f in outcome.files] == [("a-copy.xlsx", "loaded"), ("a.xlsx", "skipped")]


def test_a_file_still_being_written_waits_and_untaken_lists_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """ingest_day(settled_before=…) leaves a file changed after that moment in landing,
    untaken; untaken() lists exactly the files the warehouse has not taken in."""
    import datetime as dt
    import logging
    import os
    import time

    from ducha.pipeline import untaken
    from ducha.sample import generate

    generate(tmp_path / "landing", HN, days=2, seed=3, progress=False)
    day1, day2 = dt.date(2024, 6, 1), dt.date(2024, 6, 2)
    ingestor = Ingestor(data_dirs(tmp_path), f"sqlite:///{tmp_path / 'w.sqlite'}")
    (first,) = (tmp_path / "landing" / HN / day1.isoformat()).glob("*.xlsx")
    (second,) = (tmp_path / "landing" / HN / day2.isoformat()).glob("*.xlsx")
    assert [p for _, _, p in untaken(ingestor.engine, ingestor.dirs, day2, earlier=True)] == [first, second]
    assert [p for _, _, p in untaken(ingestor.engine, ingestor.dirs, day2)] == [second]
    now = time.time()
    os.utime(second, (now + 600, now + 600))  # still being written
    with caplog.at_level(logging.INFO, logger="ducha.pipeline"):
        outcome = ingestor.ingest_day(day2, settled_before=now)
    assert [f.file for f in outcome.files] == [first.name]  # day 1's late file only
    (summary,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("ingested ")]
    rows = outcome.totals()["rows_total"]
    assert summary.startswith(f"ingested {day2}: 1 files (0 quarantined, 0 already loaded), {rows} rows: ")
    assert summary.endswith(f"; late files of {day1}")
    assert untaken(ingestor.engine, ingestor.dirs, day2, earlier=True, settled_before=now) == []
    assert [p for _, _, p in untaken(ingestor.engine, ingestor.dirs, day2, earlier=True)] == [second]
    ingestor.ingest_day(day2)
    assert untaken(ingestor.engine, ingestor.dirs, day2, earlier=True) == []
