"""Loading generated inspection days into a real SQLite warehouse: idempotence, versions,
reconciliation, quarantine, stored originals and the analysts' views."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, inspect, select, text

from ducha.config import DataDirs, data_dirs, get_inspection
from ducha.intake.reader import read_raw
from ducha.pipeline import DayOutcome, Ingestor
from ducha.warehouse.schema import batches, case_versions, cases, files, quarantined_rows
from ducha_sample import KEY_MARKS, SampleSummary, generate
from tests.unit.intake.conftest import Sheet, write_xlsx

HN = "c3-hn-2024"
DAYS = [dt.date(2024, 6, 1) + dt.timedelta(days=i) for i in range(4)]
CLOSED = ("已办结", "验收销号")
BROKEN = "补报材料.xlsx"  # dropped into day 2: no 受理编号 column, the whole file is quarantined


@dataclass
class Warehouse:
    root: Path
    dirs: DataDirs
    url: str
    ingestor: Ingestor
    sample: SampleSummary
    outcomes: list[DayOutcome]

    @property
    def engine(self) -> Engine:
        return self.ingestor.engine

    def landing(self, day: dt.date) -> Path:
        return self.dirs.landing / HN / day.isoformat()


def snapshot(engine: Engine) -> dict[str, list[tuple]]:
    """SELECT * of every table, sorted: two warehouses compare equal iff their contents do."""
    out = {}
    with engine.connect() as conn:
        for name in sorted(inspect(conn).get_table_names()):
            rows = conn.execute(text(f'SELECT * FROM "{name}"')).all()
            out[name] = sorted((tuple(r) for r in rows), key=repr)
    return out


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _broken_file(folder: Path) -> Path:
    rows = [["补报信访件材料（2024年6月2日）"], ["序号", "交办问题基本情况", "行政区域", "问题类型", "备注"]]
    rows += [
        [1, "某砖厂粉尘污染严重", "长沙市", "大气", "补报"],
        [2, "某养殖场粪污直排", "株洲市", "水", "补报"],
    ]
    return write_xlsx(folder / BROKEN, Sheet("Sheet1", rows))


# The same suite on both backends: CI has PostgreSQL and fails if these are skipped.
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def new_url(backend: str, request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """Makes warehouse URLs on this module's backend: empty, or a copy of another."""

    def make(dirs: DataDirs, copy_of: str | None = None) -> str:
        if backend == "sqlite":
            url = f"sqlite:///{dirs.warehouse_file}"
            if copy_of:
                src = Path(copy_of.removeprefix("sqlite:///"))
                with sqlite3.connect(src) as a, sqlite3.connect(dirs.warehouse_file) as b:
                    a.backup(b)
            return url
        return request.getfixturevalue("pg_databases").create(copy_of)

    return make


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory, new_url) -> Warehouse:  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("ducha")
    sample = generate(root / "landing", HN, days=len(DAYS), seed=7, progress=False)
    _broken_file(root / "landing" / HN / DAYS[1].isoformat())
    dirs = data_dirs(root)
    url = new_url(dirs)
    ingestor = Ingestor(dirs, url)
    outcomes = [ingestor.ingest_day(day) for day in DAYS]
    w = Warehouse(root, dirs, url, ingestor, sample, outcomes)
    w.new_url = new_url  # type: ignore[attr-defined]
    return w


def clone(src: Warehouse, dest: Path) -> Warehouse:
    """An independent copy (files and database) for a test that changes things."""
    for sub in ("landing", "archive", "quarantine"):
        shutil.copytree(src.root / sub, dest / sub)
    dirs = data_dirs(dest)
    dirs.ensure()
    url = src.new_url(dirs, copy_of=src.url)  # type: ignore[attr-defined]
    return Warehouse(dest, dirs, url, Ingestor(dirs, url, run_label="clone"), src.sample, src.outcomes)


def _count(engine: Engine, table) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def _file(w: Warehouse, name: str) -> Path:
    (path,) = [p for p in w.sample.files if p.name == name]
    return path


def _sheet_rows(path: Path) -> tuple[str, list[list[object]]]:
    sheets, _ = read_raw(path)
    return sheets[0].name, [list(r) for r in sheets[0].rows]


def _col(rows: list[list[object]], header: str) -> int:
    header_row = next(r for r in rows if header in r)
    return header_row.index(header)


UPDATE = "办理情况更新（2024年6月4日）.xlsx"


# --- the first load ---------------------------------------------------------------------------


def test_generated_days_load(loaded: Warehouse) -> None:
    outcome = {f.file: f for day in loaded.outcomes for f in day.files}
    assert set(outcome) == {p.name for p in loaded.sample.files} | {BROKEN}
    assert outcome["第一批交办清单.xlsx"].status == "loaded"
    assert outcome["第三批交办清单.xlsx"].status == "partial"  # the sample's invalid status
    assert outcome["第三批交办清单.xlsx"].rows_quarantined == 1
    assert outcome[BROKEN].status == "quarantined"
    assert outcome[UPDATE].status == "loaded"
    assert sum(f.rows_total for f in outcome.values()) == loaded.sample.rows
    with loaded.engine.connect() as conn:
        n_cases = conn.execute(select(func.count()).select_from(cases)).scalar_one()
        q_ids = conn.execute(
            select(quarantined_rows.c.case_id).where(quarantined_rows.c.case_id.is_not(None))
        )
        quarantined_ids = set(q_ids.scalars())
        loaded_ids = set(conn.execute(select(cases.c.case_id)).scalars())
        n_versions = conn.execute(select(func.count()).select_from(case_versions)).scalar_one()
        transferred = dict(conn.execute(select(batches.c.batch_no, batches.c.transferred_on)).all())
    assert len(quarantined_ids) == 1 and not quarantined_ids & loaded_ids
    assert n_cases == loaded.sample.cases - 1
    # Every case has its first version; every row of the update file brings a new state.
    assert n_versions == n_cases + outcome[UPDATE].rows_loaded
    assert transferred == {1: DAYS[0], 2: DAYS[1], 3: DAYS[2], 4: DAYS[3]}


def test_due_date_is_transfer_plus_deadline(loaded: Warehouse) -> None:
    deadline = get_inspection(HN).deadline_days
    with loaded.engine.connect() as conn:
        rows = conn.execute(
            select(cases.c.due_on, batches.c.transferred_on).join(
                batches,
                (batches.c.inspection_id == cases.c.inspection_id) & (batches.c.batch_no == cases.c.batch_no),
            )
        ).all()
    assert rows
    assert all(due == day + dt.timedelta(days=deadline) for due, day in rows)


# --- idempotence and versions -----------------------------------------------------------------


def test_same_file_twice_is_a_no_op(loaded: Warehouse, tmp_path: Path) -> None:
    w = clone(loaded, tmp_path)
    before = snapshot(w.engine)
    path = w.landing(DAYS[0]) / "第一批交办清单.xlsx"
    again = w.ingestor.ingest_file(path, get_inspection(HN), day=DAYS[0])
    assert (again.status, again.rows_loaded, again.rows_quarantined) == ("skipped", 0, 0)
    # The same bytes under another name and day are the same file.
    copy = w.landing(DAYS[3]) / "第一批交办清单（重复报送）.xlsx"
    shutil.copyfile(path, copy)
    assert w.ingestor.ingest_file(copy, get_inspection(HN), day=DAYS[3]).status == "skipped"
    assert snapshot(w.engine) == before


def test_rerunning_every_day_leaves_the_warehouse_identical(loaded: Warehouse, tmp_path: Path) -> None:
    w = clone(loaded, tmp_path)
    before = snapshot(w.engine)
    stored_before = sorted(p.relative_to(w.root) for p in (w.root / "archive").rglob("*"))
    for day in DAYS:
        outcome = w.ingestor.ingest_day(day)
        assert {f.status for f in outcome.files} == {"skipped"}
        assert outcome.totals()["files_skipped"] == len(outcome.files) > 0
    after = snapshot(w.engine)
    assert after.keys() == before.keys()
    for name in before:
        assert after[name] == before[name], name
    assert sorted(p.relative_to(w.root) for p in (w.root / "archive").rglob("*")) == stored_before


def _republish(w: Warehouse, *, change: int | None = None) -> tuple[Path, str | None]:
    """The update file published again on day 5 under a new title (different bytes); with
    ``change``, that data row's status moves from 阶段性办结 to 已办结."""
    name, rows = _sheet_rows(_file(w, UPDATE))
    rows[0] = ["群众信访举报办理情况更新表（2024年6月5日 重新发布）"]
    changed = None
    if change is not None:
        status, ids = _col(rows, "是否办结"), _col(rows, "受理编号")
        partly = [r for r in rows[2:] if len(r) > status and r[status] == "阶段性办结"]
        row = partly[change]
        row[status] = "已办结"
        changed = str(row[ids])
    folder = w.landing(DAYS[3] + dt.timedelta(days=1))
    return write_xlsx(folder / "办理情况更新（重新发布）.xlsx", Sheet(name, rows)), changed


def test_same_state_reported_again_adds_no_version(loaded: Warehouse, tmp_path: Path) -> None:
    w = clone(loaded, tmp_path)
    versions = _count(w.engine, case_versions)
    path, _ = _republish(w)
    assert sha256(path) not in {f.sha256 for d in w.outcomes for f in d.files}  # really a new file
    outcome = w.ingestor.ingest_file(path, get_inspection(HN), day=DAYS[3] + dt.timedelta(days=1))
    assert outcome.status == "loaded"
    assert outcome.rows_loaded == outcome.rows_total > 0
    assert _count(w.engine, case_versions) == versions


def test_a_changed_state_adds_a_version(loaded: Warehouse, tmp_path: Path) -> None:
    w = clone(loaded, tmp_path)
    versions = _count(w.engine, case_versions)
    day5 = DAYS[3] + dt.timedelta(days=1)
    path, case_id = _republish(w, change=0)
    assert case_id
    assert w.ingestor.ingest_file(path, get_inspection(HN), day=day5).status == "loaded"
    assert _count(w.engine, case_versions) == versions + 1
    with w.engine.connect() as conn:
        history = conn.execute(
            select(case_versions.c.version_no, case_versions.c.status, case_versions.c.as_of)
            .where(case_versions.c.case_id == case_id)
            .order_by(case_versions.c.version_no)
        ).all()
        latest = conn.execute(
            text("SELECT status, reported_on, closed_on FROM v_case_latest WHERE case_id = :c"),
            {"c": case_id},
        ).one()
    assert [tuple(h) for h in history] == [
        (1, "正在办理", DAYS[0]),
        (2, "阶段性办结", DAYS[3]),
        (3, "已办结", day5),
    ]
    assert (latest.status, str(latest.reported_on), str(latest.closed_on)) == ("已办结", str(day5), str(day5))


def test_load_order_does_not_change_the_latest_state(loaded: Warehouse, tmp_path: Path) -> None:
    root = tmp_path / "late"
    shutil.copytree(loaded.root / "landing", root / "landing")
    dirs = data_dirs(root)
    ing = Ingestor(dirs, loaded.new_url(dirs), run_label="late")  # type: ignore[attr-defined]
    for day in [DAYS[3], *DAYS[:3]]:  # day 4's run succeeded before the first three
        ing.ingest_day(day)
    query = "SELECT case_id, status, reported_on, due_on FROM v_case_latest ORDER BY case_id"
    with loaded.engine.connect() as a, ing.engine.connect() as b:
        assert b.execute(text(query)).all() == a.execute(text(query)).all()


# --- reconciliation and quarantine ------------------------------------------------------------


def test_reconciliation_per_file(loaded: Warehouse) -> None:
    with loaded.engine.connect() as conn:
        rows = conn.execute(select(files)).all()
        per_file = dict(
            conn.execute(
                select(quarantined_rows.c.file_sha256, func.count()).group_by(quarantined_rows.c.file_sha256)
            ).all()
        )
        sources = dict(
            conn.execute(
                select(case_versions.c.source_file, func.count()).group_by(case_versions.c.source_file)
            ).all()
        )
    assert len(rows) == len(loaded.sample.files) + 1
    for f in rows:
        assert f.rows_total == f.rows_loaded + f.rows_quarantined, f.name
        assert per_file.get(f.sha256, 0) == f.rows_quarantined, f.name
        assert sources.get(f.sha256, 0) <= f.rows_loaded, f.name  # a repeated state adds no version
        expected = "quarantined" if f.rows_loaded == 0 else ("partial" if f.rows_quarantined else "loaded")
        assert f.status == expected, f.name
    by_name = {f.name: f for f in rows}
    assert by_name[BROKEN].rows_total == 0  # refused before any row was read
    third = by_name["第三批交办清单.xlsx"]
    written = len(_sheet_rows(_file(loaded, "第三批交办清单.xlsx"))[1]) - 3  # title, header, notes
    assert (third.rows_total, third.rows_loaded, third.rows_quarantined) == (written, written - 1, 1)


def test_quarantined_rows_carry_raw_and_errors(loaded: Warehouse) -> None:
    with loaded.engine.connect() as conn:
        (q,) = conn.execute(select(quarantined_rows)).all()
        (f,) = conn.execute(select(files).where(files.c.sha256 == q.file_sha256)).all()
    raw = q.raw if isinstance(q.raw, dict) else json.loads(q.raw)
    errors = q.errors if isinstance(q.errors, list) else json.loads(q.errors)
    assert f.name == "第三批交办清单.xlsx"
    assert q.sheet == "第三批"
    assert not q.resolved
    assert q.resolved_by is None
    assert raw["是否办结"] == "处理中啦"
    assert raw["受理编号"] == q.case_id
    assert set(raw) >= {"序号", "受理编号", "交办问题基本情况", "行政区域", "问题类型", "是否办结"}
    assert [(e["rule"], e["row"], e["column"], e["value"], e["level"]) for e in errors] == [
        ("ENUM_VALUE", q.row, "是否办结", "处理中啦", "error")
    ]
    # The Excel row is the one the clerk sees: title and header above the data.
    _, rows = _sheet_rows(loaded.root / f.stored_path)
    assert rows[q.row - 1][_col(rows, "受理编号")] == q.case_id
    # The clerk's report next to the stored copy says the same.
    report = json.loads((loaded.root / (f.stored_path + ".report.json")).read_text(encoding="utf-8"))
    assert [(e["rule"], e["row"]) for e in report["errors"]] == [("ENUM_VALUE", q.row)]


def test_a_corrected_file_loads_the_row_and_resolves_the_entry(loaded: Warehouse, tmp_path: Path) -> None:
    w = clone(loaded, tmp_path)
    with w.engine.connect() as conn:
        (q,) = conn.execute(select(quarantined_rows)).all()
    name, rows = _sheet_rows(_file(w, "第三批交办清单.xlsx"))
    status, ids = _col(rows, "是否办结"), _col(rows, "受理编号")
    (bad,) = [r for r in rows if len(r) > status and r[status] == "处理中啦"]
    bad[status] = "正在办理"
    fixed = write_xlsx(
        w.landing(DAYS[3] + dt.timedelta(days=1)) / "第三批交办清单（更正）.xlsx",
        Sheet(name, [*rows[:2], bad]),
    )
    outcome = w.ingestor.ingest_file(fixed, get_inspection(HN), day=DAYS[3] + dt.timedelta(days=1))
    assert (outcome.status, outcome.rows_loaded) == ("loaded", 1)
    with w.engine.connect() as conn:
        entries = conn.execute(select(quarantined_rows)).all()
        loaded_case = conn.execute(select(cases).where(cases.c.case_id == str(bad[ids]))).one()
    assert len(entries) == 1  # resolved, not deleted
    (e,) = entries
    assert (e.file_sha256, e.row, e.case_id) == (q.file_sha256, q.row, q.case_id)
    assert bool(e.resolved) is True
    assert e.resolved_by == outcome.sha256
    assert (loaded_case.batch_no, loaded_case.first_file) == (3, outcome.sha256)


# --- stored originals -------------------------------------------------------------------------


def test_originals_are_stored_byte_for_byte(loaded: Warehouse) -> None:
    landed = {p.name: p for p in loaded.dirs.landing.rglob("*.xlsx")}
    with loaded.engine.connect() as conn:
        rows = conn.execute(select(files)).all()
    assert {f.name for f in rows} == set(landed)
    for f in rows:
        stored = loaded.root / f.stored_path
        bucket = "quarantine" if f.status == "quarantined" else "archive"
        assert Path(f.stored_path).parts[:3] == (bucket, HN, landed[f.name].parent.name), f.stored_path
        assert stored.read_bytes() == landed[f.name].read_bytes()
        assert sha256(stored) == f.sha256 == sha256(landed[f.name])
        assert f.size == stored.stat().st_size
        assert stored.with_name(stored.name + ".report.json").is_file()
        assert stored.with_name(stored.name + ".report.html").is_file()
    assert (loaded.dirs.reports / "data_docs" / "cli" / "index.html").is_file()
    # One GX run per ingest run (here a day, one folder); each result says whose rows it holds.
    results = [json.loads(p.read_text("utf-8")) for p in (loaded.dirs.reports / "gx").glob("*.gx.json")]
    validated = sorted(f["sha256"] for r in results for f in r["meta"]["files"])
    assert validated == sorted(f.sha256 for f in rows if f.name != BROKEN)  # not the refused file
    assert len(results) == len(DAYS)


def test_quarantined_file_keeps_its_landing_day(loaded: Warehouse) -> None:
    with loaded.engine.connect() as conn:
        (day,) = conn.execute(select(files.c.received_on).where(files.c.name == BROKEN)).one()
    assert day == DAYS[1]


# --- the analysts' views ----------------------------------------------------------------------


def test_latest_and_ledger_views(loaded: Warehouse) -> None:
    with loaded.engine.connect() as conn:
        n_cases = conn.execute(select(func.count()).select_from(cases)).scalar_one()
        versions = conn.execute(
            select(
                case_versions.c.case_id,
                case_versions.c.version_no,
                case_versions.c.status,
                case_versions.c.as_of,
            )
        ).all()

        def count(view: str) -> int:
            return conn.execute(text(f"SELECT COUNT(*) FROM {view}")).scalar_one()

        latest = {r.case_id: r for r in conn.execute(text("SELECT * FROM v_case_latest")).all()}
        closed_rows = conn.execute(text("SELECT case_id, closed_on_time FROM v_ledger_closed")).all()
        assigned, in_progress, closed = (
            count("v_ledger_assigned"),
            count("v_ledger_in_progress"),
            count("v_ledger_closed"),
        )
    last: dict[str, tuple] = {}
    for v in versions:
        if v.case_id not in last or v.version_no > last[v.case_id][0]:
            last[v.case_id] = (v.version_no, v.status, v.as_of)
    expected_closed = {c for c, (_, status, _) in last.items() if status in CLOSED}
    assert len(latest) == assigned == n_cases == len(last)
    assert closed == len(expected_closed) > 0
    assert in_progress == n_cases - len(expected_closed) > 0
    assert {c for c, _ in closed_rows} == expected_closed
    for case_id, (_, status, as_of) in last.items():
        assert latest[case_id].status == status
        assert str(latest[case_id].reported_on) == str(as_of)
    # Closed on day 4, due ten days after transfer: on time.
    assert all(bool(on_time) for _, on_time in closed_rows)


# --- corrections of case facts ----------------------------------------------------------------

FIRST = "第一批交办清单.xlsx"
DAY5 = DAYS[3] + dt.timedelta(days=1)


def _untouched_rows(w: Warehouse) -> tuple[str, list[list[object]], list[list[object]]]:
    """第一批's sheet, and its data rows of cases the update file does not touch."""
    name, rows = _sheet_rows(_file(w, FIRST))
    _, update_rows = _sheet_rows(_file(w, UPDATE))
    updated = {r[_col(update_rows, "受理编号")] for r in update_rows[2:]}
    ids = _col(rows, "受理编号")
    return name, rows, [r for r in rows[2:] if r[ids] not in updated]


def _version_facts(conn, case_id: str) -> list[tuple]:  # type: ignore[no-untyped-def]
    v = case_versions
    q = select(
        v.c.version_no, v.c.as_of, v.c.region, v.c.region_code, v.c.pollution_types, v.c.key_case, v.c.seq
    )
    return [tuple(r) for r in conn.execute(q.where(v.c.case_id == case_id).order_by(v.c.version_no))]


def test_a_corrected_fact_is_a_new_version_published_and_reported(loaded: Warehouse, tmp_path: Path) -> None:
    from ducha.disclosure.tables import case_states

    w = clone(loaded, tmp_path)
    versions = _count(w.engine, case_versions)
    name, rows, untouched = _untouched_rows(w)
    key = _col(rows, "重点关注")
    cols = {h: _col(rows, h) for h in ("受理编号", "行政区域", "问题类型", "序号")}
    target = next(
        r for r in untouched if r[key] != "是" and not str(r[cols["行政区域"]]).startswith("长沙市")
    )
    before = (target[cols["行政区域"]], target[cols["问题类型"]], target[cols["序号"]])
    target[cols["行政区域"]] = "长沙市天心区"
    target[cols["问题类型"]] = "噪声、大气"
    target[key] = "是"
    target[cols["序号"]] = 99
    path = write_xlsx(w.landing(DAY5) / "第一批交办清单（更正）.xlsx", Sheet(name, [*rows[:2], *untouched]))
    outcome = w.ingestor.ingest_file(path, get_inspection(HN), day=DAY5)
    assert outcome.status == "loaded"
    case_id = str(target[cols["受理编号"]])
    with w.engine.connect() as conn:
        history = _version_facts(conn, case_id)
        latest = conn.execute(
            text(
                "SELECT region, region_code, pollution_types, key_case FROM v_case_latest WHERE case_id = :c"
            ),
            {"c": case_id},
        ).one()
        on_day4 = case_states(conn, HN, DAYS[3]).set_index("case_id").loc[case_id]
        on_day5 = case_states(conn, HN, DAY5).set_index("case_id").loc[case_id]
    # Only the corrected case has a new version; the first one is kept as history.
    assert _count(w.engine, case_versions) == versions + 1
    assert len(history) == 2
    assert history[0][2] == before[0] and history[0][6] == int(before[2])
    assert history[1][1:] == (DAY5, "长沙市天心区", "430100", "噪声、大气", True, 99)
    assert (latest.region, latest.region_code, latest.pollution_types, bool(latest.key_case)) == (
        "长沙市天心区",
        "430100",
        "噪声、大气",
        True,
    )
    # Tables as of a day show what was reported by then.
    assert (on_day4.region, on_day4.seq) == (before[0], int(before[2]))
    assert (on_day5.region, on_day5.pollution_types, bool(on_day5.key_case), on_day5.seq) == (
        "长沙市天心区",
        "噪声、大气",
        True,
        99,
    )
    # The clerk's report names each change, its cell and what it replaced.
    report = json.loads((w.root / outcome.report).read_text(encoding="utf-8"))
    changed = {
        (e["column"], e["message"].rsplit("：", 1)[-1])
        for e in report["warnings"]
        if e["rule"] == "CASE_CHANGED"
    }
    assert changed == {
        ("行政区域", f"「{before[0]}」改为「长沙市天心区」"),
        ("问题类型", f"「{before[1]}」改为「噪声、大气」"),
        ("重点关注", "「否」改为「是」"),
        ("序号", f"「{int(before[2])}」改为「99」"),
    }


def test_a_blank_fact_keeps_what_is_known(loaded: Warehouse, tmp_path: Path) -> None:
    w = clone(loaded, tmp_path)
    versions = _count(w.engine, case_versions)
    name, rows, untouched = _untouched_rows(w)
    key, seq, ids = _col(rows, "重点关注"), _col(rows, "序号"), _col(rows, "受理编号")
    mark = KEY_MARKS[1 % len(KEY_MARKS)][0]  # how the sample's 第一批 marks a key case
    target = next(r for r in untouched if r[key] == mark)
    target[key] = ""
    target[seq] = None
    path = write_xlsx(w.landing(DAY5) / "第一批交办清单（漏填）.xlsx", Sheet(name, [*rows[:2], *untouched]))
    outcome = w.ingestor.ingest_file(path, get_inspection(HN), day=DAY5)
    assert outcome.status == "loaded" and outcome.warnings == 0
    with w.engine.connect() as conn:
        history = _version_facts(conn, str(target[ids]))
    assert _count(w.engine, case_versions) == versions  # nothing changed, nothing erased
    assert [h[5] for h in history] == [True]


def _report(w: Warehouse, outcome) -> dict:  # type: ignore[no-untyped-def]
    return json.loads((w.root / outcome.report).read_text(encoding="utf-8"))


_LATEST = text(
    "SELECT v.case_id, v.seq, v.findings, v.status FROM case_versions v JOIN cases c"
    " ON c.inspection_id = v.inspection_id AND c.case_id = v.case_id AND c.latest_version_no = v.version_no"
)


def test_a_city_feedback_file_numbers_its_own_rows(loaded: Warehouse, tmp_path: Path) -> None:
    """A city's file numbers its rows 1, 2, 3 …: matched by 受理编号, its results load and
    the cases keep their batch 序号 (no CASE_CHANGED), with one note per sheet."""
    w = clone(loaded, tmp_path)
    _, rows = _sheet_rows(_file(w, "第二批交办清单.xlsx"))
    cols = {h: _col(rows, h) for h in ("序号", "受理编号", "交办问题基本情况", "行政区域")}
    capital = str(rows[2][cols["行政区域"]])[:3]
    city_rows = [
        r for r in rows[2:-1] if r[cols["受理编号"]] and not str(r[cols["行政区域"]]).startswith(capital)
    ]
    picked = city_rows[:6]
    header = [
        "序号",
        "受理编号",
        "交办问题基本情况",
        "行政区域",
        "核查情况",
        "是否属实",
        "办理状态",
        "联系人",
    ]
    grid = [["某市群众信访举报件办理情况反馈表"], header]
    for n, r in enumerate(picked, start=1):
        grid.append(
            [n, r[cols["受理编号"]], r[cols["交办问题基本情况"]], r[cols["行政区域"]],
             f"经调查核实，反馈{n}。", "属实", "已办结", "张三"]
        )  # fmt: skip
    path = write_xlsx(w.landing(DAY5) / "某市反馈表.xlsx", Sheet("第二批", grid))
    outcome = w.ingestor.ingest_file(path, get_inspection(HN), day=DAY5)
    assert outcome.status == "loaded"
    with w.engine.connect() as conn:
        latest = {r.case_id: r for r in conn.execute(_LATEST).all()}
    for n, r in enumerate(picked, start=1):
        case = latest[str(r[cols["受理编号"]])]
        assert case.seq == int(r[cols["序号"]]) != n  # the batch's number, not the file's
        assert (case.findings, case.status) == (f"经调查核实，反馈{n}。", "已办结")
    report = _report(w, outcome)
    assert [e["rule"] for e in report["warnings"] if e["rule"] in ("SEQ_OWN_NUMBERING", "CASE_CHANGED")] == [
        "SEQ_OWN_NUMBERING"
    ]


def test_a_resent_list_that_renumbers_two_rows_still_corrects_them(loaded: Warehouse, tmp_path: Path) -> None:
    """The control: 序号 running 1..n down a resent batch list that disagrees on two rows
    only is a correction of those two, loaded and reported."""
    w = clone(loaded, tmp_path)
    name, rows = _sheet_rows(_file(w, FIRST))
    seq, ids = _col(rows, "序号"), _col(rows, "受理编号")
    body = [list(r) for r in rows[2:-1] if r[ids]]
    body[0], body[1] = body[1], body[0]  # two rows change places, the numbers stay 1, 2, 3 …
    body[0][seq], body[1][seq] = 1, 2
    path = write_xlsx(w.landing(DAY5) / "第一批交办清单（更正序号）.xlsx", Sheet(name, [*rows[:2], *body]))
    outcome = w.ingestor.ingest_file(path, get_inspection(HN), day=DAY5)
    rules = [e["rule"] for e in _report(w, outcome)["warnings"]]
    assert "SEQ_OWN_NUMBERING" not in rules and rules.count("CASE_CHANGED") == 2
    with w.engine.connect() as conn:
        got = {r.case_id: r.seq for r in conn.execute(_LATEST).all()}
    assert (got[str(body[0][ids])], got[str(body[1][ids])]) == (1, 2)


def test_a_batch_list_after_a_city_file_sets_the_batch_numbers(loaded: Warehouse, tmp_path: Path) -> None:
    """A city's file can arrive before its batch's list (the list refused and resent): its
    new cases first take the city's row numbers; the list, which brings cases of its own,
    is a batch list and corrects them (no SEQ_OWN_NUMBERING)."""
    w = clone(loaded, tmp_path)
    header = ["序号", "受理编号", "交办问题基本情况", "行政区域", "是否办结"]
    ids = [f"D3HN20240604{n:04d}" for n in range(901, 909)]
    summary = "雨花区某厂{}号车间噪声扰民。"
    city = [[n - 4, ids[n - 1], summary.format(n), "长沙市雨花区", "正在办理"] for n in (5, 6, 7)]
    first = write_xlsx(w.landing(DAY5) / "某市反馈表.xlsx", Sheet("第九批", [["反馈表"], header, *city]))
    assert w.ingestor.ingest_file(first, get_inspection(HN), day=DAY5).status == "loaded"
    full = [[n, ids[n - 1], summary.format(n), "长沙市雨花区", "正在办理"] for n in range(1, 9)]
    title = "一览表（第九批 2024年6月5日）"
    listed = write_xlsx(w.landing(DAY5) / "第九批交办清单.xlsx", Sheet("第九批", [[title], header, *full]))
    outcome = w.ingestor.ingest_file(listed, get_inspection(HN), day=DAY5)
    assert "SEQ_OWN_NUMBERING" not in [e["rule"] for e in _report(w, outcome)["warnings"]]
    with w.engine.connect() as conn:
        got = {r.case_id: r.seq for r in conn.execute(_LATEST).all()}
    assert [got[i] for i in ids] == list(range(1, 9))


def test_reconciliation_counts_the_database_not_the_split(loaded: Warehouse, tmp_path: Path) -> None:
    """Two accepted rows of one case (a file that skipped validation) would load as one
    case: the counts from the database disagree with the file, and the load rolls back."""
    from ducha.intake import parse_file
    from ducha.warehouse.load import ReconciliationError, load_file

    w = clone(loaded, tmp_path)
    before = snapshot(w.engine)
    name, rows = _sheet_rows(_file(w, FIRST))
    ids = _col(rows, "受理编号")
    twin = list(rows[2])
    twin[ids] = "D3HN202406049999"
    again = list(twin)
    path = write_xlsx(w.landing(DAY5) / "未校验.xlsx", Sheet(name, [*rows[:2], twin, again]))
    parsed = parse_file(path, get_inspection(HN), day_override=DAY5)  # no validator: both rows pass
    assert len(parsed.rows) == 2 and not any(r.issues for r in parsed.rows)
    with pytest.raises(ReconciliationError, match=r"2 rows in the file.*1 loaded \+ 0 quarantined"):
        load_file(w.engine, parsed, stored_path="archive/x")
    assert snapshot(w.engine) == before


def test_a_failure_beside_the_cases_write_rolls_the_whole_file_back(
    loaded: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The new cases are written in a thread while the versions are hashed. A hash that
    fails must wait for that write before the transaction ends: the write belongs to
    the file's transaction, and the connection is the thread's until it is done."""
    import threading
    import time

    from ducha.intake import parse_file
    from ducha.warehouse import load

    w = clone(loaded, tmp_path)
    before = snapshot(w.engine)
    name, rows = _sheet_rows(_file(w, FIRST))
    ids = _col(rows, "受理编号")
    fresh = [list(r) for r in rows[2:5]]
    for n, row in enumerate(fresh):
        row[ids] = f"D3HN2024060499{n:02d}"
    path = write_xlsx(w.landing(DAY5) / "新案件.xlsx", Sheet(name, [*rows[:2], *fresh]))
    parsed = parse_file(path, get_inspection(HN), day_override=DAY5)
    bulk, writes = load._bulk, []

    def slow_bulk(conn, table, columns) -> None:  # type: ignore[no-untyped-def]
        if table is cases:
            time.sleep(0.5)  # the hash below has failed by now
            # Where the write runs, and whether the file's transaction is still open.
            writes.append((threading.current_thread() is threading.main_thread(), conn.in_transaction()))
        bulk(conn, table, columns)

    def failing_hash(state) -> str:  # type: ignore[no-untyped-def]
        raise RuntimeError("hash failed")

    monkeypatch.setattr(load, "_bulk", slow_bulk)
    monkeypatch.setattr(load, "state_hash", failing_hash)
    with pytest.raises(RuntimeError, match="hash failed"):
        load.load_file(w.engine, parsed, stored_path="archive/x")
    assert writes == [(False, True)]  # beside the hashing, inside the transaction
    assert snapshot(w.engine) == before

    monkeypatch.undo()
    assert load.load_file(w.engine, parsed, stored_path="archive/x").rows_loaded == 3


# --- as-of history ----------------------------------------------------------------------------


def test_an_earlier_day_republishes_the_same_when_its_batch_date_comes_later(
    tmp_path: Path,
    new_url,  # type: ignore[no-untyped-def]
) -> None:
    """Day 1 has 第一批 without its title (no transfer date); day 2 brings the dated file.
    The due dates it sets apply from day 2 on: day 1's tables do not change."""
    from ducha.disclosure.publish import publish_all

    sample = generate(tmp_path / "landing", HN, days=2, seed=7, progress=False)
    (dated,) = [p for p in sample.files if p.name == FIRST]
    name, rows = _sheet_rows(dated)
    day1, day2 = DAYS[0], DAYS[1]
    later = tmp_path / "later" / FIRST
    later.parent.mkdir()
    shutil.move(dated, later)
    undated = [["批次", *rows[1]], *(["第一批", *r] for r in rows[2:])]  # no title: no date
    write_xlsx(
        tmp_path / "landing" / HN / day1.isoformat() / "第一批交办清单（无标题）.xlsx", Sheet(name, undated)
    )
    dirs = data_dirs(tmp_path)
    ingestor = Ingestor(dirs, new_url(dirs))
    ingestor.ingest_day(day1)
    with ingestor.engine.connect() as conn:
        assert (
            conn.execute(select(batches.c.transferred_on).where(batches.c.batch_no == 1)).scalar_one() is None
        )
    publish_all(ingestor.engine, tmp_path / "first", inspection_id=HN, as_of=day1)
    shutil.move(later, tmp_path / "landing" / HN / day2.isoformat() / FIRST)
    ingestor.ingest_day(day2)
    with ingestor.engine.connect() as conn:
        due = conn.execute(select(cases.c.due_on).where(cases.c.batch_no == 1)).scalars().all()
    assert due and all(d == day1 + dt.timedelta(days=get_inspection(HN).deadline_days) for d in due)
    publish_all(ingestor.engine, tmp_path / "again", inspection_id=HN, as_of=day1)

    def tables(root: Path) -> dict[str, str]:
        folder = root / HN / day1.isoformat()
        return {p.name: sha256(p) for p in sorted(folder.iterdir()) if p.name != "manifest.json"}

    assert tables(tmp_path / "first") and tables(tmp_path / "again") == tables(tmp_path / "first")


def test_a_file_that_lands_after_its_day_ran_is_picked_up_by_a_later_run(
    loaded: Warehouse, tmp_path: Path
) -> None:
    w = clone(loaded, tmp_path)
    name, rows = _sheet_rows(_file(w, "第三批交办清单.xlsx"))
    status = _col(rows, "是否办结")
    (bad,) = [r for r in rows if len(r) > status and r[status] == "处理中啦"]
    bad[status] = "正在办理"
    late = write_xlsx(w.landing(DAYS[2]) / "第三批交办清单（补报）.xlsx", Sheet(name, [*rows[:2], bad]))
    outcome = w.ingestor.ingest_day(DAY5)  # no folder of its own: only the sweep finds work
    assert [(f.file, f.status) for f in outcome.files] == [(late.name, "loaded")]
    assert outcome.late_days == [DAYS[2].isoformat()] and outcome.inspections == [HN]
    with w.engine.connect() as conn:
        (f,) = conn.execute(select(files).where(files.c.name == late.name)).all()
    assert f.received_on == DAYS[2]  # the day it belongs to, not the day it was found
    assert Path(f.stored_path).parts[:3] == ("archive", HN, DAYS[2].isoformat())
    again = w.ingestor.ingest_day(DAY5)
    assert again.files == [] and again.late_days == []


def test_state_hash_is_frozen() -> None:
    """Stored hashes of earlier loads are compared with new ones: the digest of a state
    must stay the one its first form gave (json.dumps, ensure_ascii=False, default=str)."""
    import hashlib
    import json

    from ducha.warehouse.load import state_hash

    state = ["长沙市", "430100", "水、大气", False, 3, "", "属实", None, 1200.0, dt.date(2024, 6, 1)]
    state += ['引"号\\\n\x00\u2028', True, 10**30, -0.0, 1e300, float("nan"), float("inf")]
    first_form = json.dumps(state, ensure_ascii=False, default=str)
    assert state_hash(state) == hashlib.sha256(first_form.encode("utf-8")).hexdigest()
    assert state_hash(tuple(state)) == state_hash(state)
