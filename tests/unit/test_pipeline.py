"""The ingest job (ducha.pipeline): the files of a landing folder are validated together,
in one GX run, yet each file's report is its own, and each file is compared with the
warehouse as the files before it left it."""

from __future__ import annotations

import json
import shutil
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
    # bad status; c: case 1 with another text (a re-typed summary), after a and b have loaded it.
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
        "loaded",  # c: a re-typed summary of a case loaded before it, matched by its ID
        "partial",
    ]


def test_a_file_is_compared_with_the_files_loaded_before_it(day: tuple[Ingestor, dict[str, dict]]) -> None:
    _, reports = day
    assert _found(reports["c.xlsx"]) == {(ROW, "CASE_SUMMARY_DIFFERS")}


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
    from ducha_sample import generate

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


def test_a_plan_goes_through_xcom_in_load_order(day: tuple[Ingestor, dict[str, dict]]) -> None:
    """What the ingest DAG's mapped tasks are handed: landing paths and ids only, each file
    naming the earlier files of its own inspection it waits for."""
    from ducha.pipeline import DayPlan, plan_day

    ingestor, _ = day
    plan = plan_day(ingestor.engine, ingestor.dirs, BATCH_DAY)
    handed = json.loads(json.dumps(plan.to_xcom(ingestor.dirs, run_label="r")))
    by_label = {d["label"]: d for d in handed["deliveries"]}
    on_day = BATCH_DAY.isoformat()
    assert [d["label"] for d in handed["deliveries"]] == sorted(by_label, key=lambda x: (x.split("/")[0], x))
    assert {label: d["after"] for label, d in by_label.items()} == {
        f"{HN}/{on_day}/a.xlsx": [],
        f"{HN}/{on_day}/b.xlsx": [handed["deliveries"].index(by_label[f"{HN}/{on_day}/a.xlsx"])],
        f"{HN}/{on_day}/c.xlsx": [
            handed["deliveries"].index(by_label[f"{HN}/{on_day}/{n}.xlsx"]) for n in ("a", "b")
        ],
        f"{GENERIC}/{on_day}/d.xlsx": [],
    }
    assert set(by_label[f"{GENERIC}/{on_day}/d.xlsx"]) == {
        "inspection_id",
        "path",
        "day",
        "label",
        "run_label",
        "after",
    }
    assert DayPlan.from_xcom(ingestor.dirs, handed) == plan


def test_a_handed_path_must_stay_in_landing(tmp_path: Path) -> None:
    from ducha.paths import UnsafePath
    from ducha.pipeline import delivery_from_xcom

    for path in ("../archive/x.xlsx", f"{HN}/../../x.xlsx", "/etc/passwd"):
        with pytest.raises(UnsafePath):
            delivery_from_xcom(data_dirs(tmp_path), {"inspection_id": HN, "path": path, "day": None})


def test_file_by_file_as_the_mapped_tasks_do_gives_the_same_warehouse(
    day: tuple[Ingestor, dict[str, dict]], tmp_path: Path
) -> None:
    """Each mapped task ingests one file in a process of its own, in plan order: the case
    versions, files and quarantine come out as one ingest_day call leaves them."""
    import shutil

    from sqlalchemy import text

    from ducha.pipeline import delivery_from_xcom, plan_day

    reference, _ = day
    shutil.copytree(reference.dirs.landing, tmp_path / "landing")
    first = Ingestor(data_dirs(tmp_path), f"sqlite:///{tmp_path}/w.db", run_label="plan")
    handed = plan_day(first.engine, first.dirs, BATCH_DAY).to_xcom(first.dirs, run_label="r")
    for delivery in handed["deliveries"]:
        one = Ingestor(data_dirs(tmp_path), f"sqlite:///{tmp_path}/w.db", run_label=delivery["run_label"])
        one.ingest_files([delivery_from_xcom(one.dirs, delivery)])

    def rows(ingestor: Ingestor) -> dict[str, list]:
        queries = {
            "versions": "SELECT inspection_id, case_id, version_no, as_of, state_hash, source_file FROM case_versions ORDER BY 1, 2, 3",
            "files": "SELECT sha256, status, rows_total, rows_loaded FROM files ORDER BY 1",
            "quarantine": "SELECT file_sha256, sheet, row, case_id FROM quarantined_rows ORDER BY 1, 2, 3",
        }
        with ingestor.engine.connect() as conn:
            return {k: [tuple(r) for r in conn.execute(text(q))] for k, q in queries.items()}

    assert rows(first) == rows(reference)


def test_a_run_whose_files_are_all_taken_in_does_not_import_gx(tmp_path: Path) -> None:
    """Nor does a run that validates, in its own process: GX lives in the validator's
    worker, imported while the files are read; the results and Data Docs are its."""
    import subprocess
    import sys

    from ducha_sample import generate

    generate(tmp_path / "landing", HN, days=1, seed=5, progress=False)
    script = (
        "import sys, datetime as dt; from ducha.config import data_dirs; from ducha.pipeline import Ingestor\n"
        f"i = Ingestor(data_dirs({str(tmp_path)!r}), {f'sqlite:///{tmp_path}/w.db'!r})\n"
        "o = i.ingest_day(dt.date(2024, 6, 1))\n"
        "print([f.status for f in o.files], 'great_expectations' in sys.modules, 'validator' in vars(i))\n"
    )
    runs = [
        subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
        for _ in "12"
    ]
    assert runs[0].stdout.strip() == "['loaded'] False True"
    assert len(list((tmp_path / "reports" / "gx").glob("*.gx.json"))) == 1  # it validated
    assert list((tmp_path / "reports" / "data_docs").glob("*/validations/**/*.html"))
    assert runs[1].stdout.strip() == "['skipped'] False False"


def test_a_file_replaced_under_its_name_is_a_new_file(tmp_path: Path) -> None:
    """A clerk re-sends 第三批.xlsx with a corrected row under the same name: the pickup
    sees a file not taken in (files are known by their bytes, not their names), loads
    it, and both originals stay in the archive byte for byte (issue 13)."""
    import time

    from sqlalchemy import func, select

    from ducha.pipeline import untaken
    from ducha.warehouse.schema import case_versions, files

    folder = tmp_path / "landing" / HN / BATCH_DAY.isoformat()
    first = write_xlsx(
        folder / "第三批.xlsx", standard_sheet([case(1), case(2, 是否办结="处理中啦")])
    ).read_bytes()
    ingestor = Ingestor(data_dirs(tmp_path), f"sqlite:///{tmp_path / 'w.sqlite'}")
    assert ingestor.ingest_day(BATCH_DAY).totals()["rows_quarantined"] == 1
    assert untaken(ingestor.engine, ingestor.dirs, BATCH_DAY) == []
    second = write_xlsx(folder / "第三批.xlsx", standard_sheet([case(1), case(2)])).read_bytes()
    assert second != first
    assert [p.name for _, _, p in untaken(ingestor.engine, ingestor.dirs, BATCH_DAY)] == ["第三批.xlsx"]
    again = ingestor.ingest_day(BATCH_DAY, settled_before=time.time() + 1)  # as the pickup runs it
    assert [(f.file, f.status) for f in again.files] == [("第三批.xlsx", "loaded")]
    with ingestor.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(files)).scalar_one() == 2
        assert conn.execute(select(func.count(func.distinct(case_versions.c.case_id)))).scalar_one() == 2
    archived = sorted(p.read_bytes() for p in (tmp_path / "archive").rglob("*第三批.xlsx"))
    quarantined = sorted(p.read_bytes() for p in (tmp_path / "quarantine").rglob("*第三批.xlsx"))
    assert sorted(archived + quarantined) == sorted([first, second])


def _landed(root: Path, *files: tuple[str, list[dict]]) -> Path:
    folder = root / "landing" / HN / BATCH_DAY.isoformat()
    folder.mkdir(parents=True)
    for name, rows in files:
        write_xlsx(folder / name, standard_sheet(rows))
    return root


def _held(ingestor: Ingestor) -> dict[str, list[tuple]]:
    """What the warehouse holds, without its generated keys and times."""
    from sqlalchemy import text

    queries = {
        "files": "SELECT name, status, rows_total, rows_loaded, rows_quarantined FROM files ORDER BY name",
        "cases": "SELECT case_id, region, first_file FROM cases ORDER BY case_id",
        "versions": "SELECT case_id, version_no, state_hash, source_row FROM case_versions ORDER BY 1, 2",
        "quarantine": "SELECT file_sha256, sheet, row, case_id, errors FROM quarantined_rows ORDER BY 1, 2, 3",
    }
    with ingestor.engine.connect() as conn:
        return {name: [tuple(r) for r in conn.execute(text(sql))] for name, sql in queries.items()}


@pytest.mark.parametrize(
    ("first", "why"),
    [
        ([case(1), case(2), case(2)], "ReconciliationError"),  # a duplicate: the load itself fails
        ([case(1), case(2, 是否办结="不知道")], "_LoadedTooSoon"),  # a bad value: it would commit
    ],
    ids=["duplicate", "bad-value"],
)
def test_a_file_loaded_ahead_of_gx_that_gx_refuses_rows_of_loads_as_in_process(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, first: list[dict], why: str
) -> None:
    """With GX in its worker the first file loads while GX runs; GX then refuses rows of
    it (rules only GX checks), so that load is rolled back and the file loads again with
    the findings: the warehouse and the reports are what an in-process run leaves."""
    files = (("a.xlsx", first), ("b.xlsx", [case(1), case(3, 是否办结="不知道")]))
    # The same bytes in both landings (a workbook written twice can differ in its time stamp).
    shutil.copytree(_landed(tmp_path / "w", *files) / "landing", tmp_path / "p" / "landing")
    ahead = Ingestor(data_dirs(tmp_path / "w"), f"sqlite:///{tmp_path}/w.db", run_label="t")
    here = Ingestor(data_dirs(tmp_path / "p"), f"sqlite:///{tmp_path}/p.db", run_label="t")
    _ = here.validator._context  # GX set up in this process: nothing goes ahead
    with caplog.at_level("INFO", logger="ducha.pipeline"):
        went_ahead = ahead.ingest_day(BATCH_DAY)
    assert ahead.validator.in_worker is False  # closed once done
    in_process = here.ingest_day(BATCH_DAY)
    # The load ahead failed on its own (the duplicate) or would have committed: either way
    # GX's findings explain it, and the file loads again.
    assert [m for m in caplog.messages if "GX refused rows" in m] == [
        "a.xlsx: GX refused rows of it while it loaded; loading it again without them"
    ]
    assert not [m for m in caplog.messages if "interrupted" in m], why
    assert [(f.file, f.status, f.rows_loaded, f.rows_quarantined) for f in went_ahead.files] == [
        (f.file, f.status, f.rows_loaded, f.rows_quarantined) for f in in_process.files
    ]
    assert _held(ahead) == _held(here)
    for f, g in zip(went_ahead.files, in_process.files, strict=True):
        mine = json.loads((tmp_path / "w" / f.report).read_text("utf-8"))
        theirs = json.loads((tmp_path / "p" / g.report).read_text("utf-8"))
        assert _found(mine) == _found(theirs) and mine["errors"] == theirs["errors"]


def test_a_clean_file_loads_while_gx_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The load of the first file begins before GX's findings are in, and commits after."""
    import ducha.warehouse.load as load
    from ducha.intake.validator import Validator

    events: list[str] = []
    real_load, real_submit = load.load_file, Validator.submit

    def load_file(*args, **kwargs):  # type: ignore[no-untyped-def]
        events.append("load begins" + (" ahead" if kwargs.get("before_commit") else ""))
        result = real_load(*args, **kwargs)
        events.append(f"load {result.status}")
        return result

    def submit(self, files):  # type: ignore[no-untyped-def]
        finish = real_submit(self, files)

        def recorded() -> dict:
            doc = finish()
            events.append("gx findings in")
            return doc

        return recorded

    monkeypatch.setattr(load, "load_file", load_file)
    monkeypatch.setattr(Validator, "submit", submit)
    root = _landed(tmp_path, ("a.xlsx", [case(1), case(2)]))
    outcome = Ingestor(data_dirs(root), f"sqlite:///{tmp_path}/w.db", run_label="t").ingest_day(BATCH_DAY)
    assert [f.status for f in outcome.files] == ["loaded"]
    assert events[:3] == ["load begins ahead", "gx findings in", "load loaded"]
    assert (root / outcome.files[0].report).is_file()
