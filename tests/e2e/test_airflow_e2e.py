"""The main job through real Airflow: `airflow dags test` of both DAGs over sample days,
then the warehouse rows and the published tables are checked, and a re-run of every day
must leave the warehouse and the tables identical."""

from __future__ import annotations

import hashlib
import html
import json
import re
import sqlite3
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from ducha.contract import load_contract
from ducha.disclosure.redact import find_personal
from ducha.layouts import layouts
from ducha_sample import generate
from tests.conftest import run_dag
from tests.pii import missing_forms, personal_data

pytestmark = pytest.mark.airflow

INSPECTION = "c3-hn-2024"
DAYS = ["2024-06-01", "2024-06-02", "2024-06-03", "2024-06-04"]


def _table_dump(db: Path) -> dict[str, list[tuple]]:
    con = sqlite3.connect(db)
    try:
        names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        return {n: sorted(con.execute(f"SELECT * FROM {n}").fetchall(), key=repr) for n in names}
    finally:
        con.close()


def _outbox_hashes(outbox: Path) -> dict[str, str]:
    return {
        str(p.relative_to(outbox)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(outbox.rglob("*"))
        if p.is_file() and p.name != "manifest.json"
    }


@pytest.fixture(scope="module")
def demo_run(airflow_env: dict[str, str]) -> dict:
    data = Path(airflow_env["DUCHA_DATA_DIR"])
    summary = generate(data / "landing", INSPECTION, days=len(DAYS), seed=11)
    for day in DAYS:
        run_dag(airflow_env, "ducha_ingest", day)
        run_dag(airflow_env, "ducha_publish", day, json.dumps({"as_of": day}))
    return {"data": data, "summary": summary}


def test_warehouse_holds_every_good_row(demo_run: dict) -> None:
    data: Path = demo_run["data"]
    tables = _table_dump(data / "warehouse.sqlite")
    files = tables["files"]
    assert len(files) == len(demo_run["summary"].files)
    # Reconciliation: every row read is either loaded or quarantined, per file.
    for f in files:
        sha, total, loaded, quarantined = f[0], f[8], f[9], f[10]
        assert total == loaded + quarantined, sha
    con = sqlite3.connect(data / "warehouse.sqlite")
    n_cases = con.execute("SELECT COUNT(*) FROM cases").fetchone()[0]
    n_batches = con.execute("SELECT COUNT(*) FROM batches").fetchone()[0]
    n_quarantined = con.execute("SELECT COUNT(*) FROM quarantined_rows").fetchone()[0]
    latest = con.execute("SELECT COUNT(*) FROM v_case_latest").fetchone()[0]
    statuses = dict(con.execute("SELECT status, COUNT(*) FROM v_case_latest GROUP BY status").fetchall())
    con.close()
    assert n_batches == len(DAYS)
    # The day-3 batch carries one row with an invalid status: quarantined, not lost.
    assert n_quarantined == 1
    assert n_cases == demo_run["summary"].cases - 1
    assert latest == n_cases
    assert statuses.get("正在办理", 0) > 0 and (statuses.get("已办结", 0) + statuses.get("阶段性办结", 0)) > 0


def test_clerk_report_names_the_bad_cell(demo_run: dict) -> None:
    reports = list((demo_run["data"] / "archive").rglob("*第三批*.report.json"))
    assert len(reports) == 1
    report = json.loads(reports[0].read_text(encoding="utf-8"))
    assert report["ok"] is False and report["rows"]["rejected"] == 1
    (err,) = report["errors"]
    assert err["rule"] == "ENUM_VALUE" and err["column"] == "是否办结" and err["value"] == "处理中啦"
    assert err["row"] > 2 and err["sheet"] == "第三批"


def test_tables_published_in_the_configured_layout(demo_run: dict) -> None:
    folder = demo_run["data"] / "outbox" / INSPECTION / DAYS[-1]
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    names = {f["name"] for f in manifest["files"]}
    assert "第四批公开情况一览表.xlsx" in names and "累计情况汇总（截至2024-06-04）.xlsx" in names
    wb = CalamineWorkbook.from_path(str(folder / "第四批公开情况一览表.xlsx"))
    rows = wb.get_sheet_by_index(0).to_python(skip_empty_area=False)
    assert rows[0][0] == "群众信访举报转办和边督边改公开情况一览表（第四批 2024年6月4日）"
    assert rows[1] == [c.header for c in layouts()["central11"].columns]
    data_rows = [r for r in rows[2:] if r[1]]
    assert [int(r[0]) for r in data_rows] == list(range(1, len(data_rows) + 1))
    pattern = load_contract().case_id_pattern
    assert all(pattern.match(str(r[1])) for r in data_rows)
    summary = CalamineWorkbook.from_path(str(folder / "累计情况汇总（截至2024-06-04）.xlsx"))
    text = " ".join(str(c) for r in summary.get_sheet_by_index(0).to_python() for c in r)
    assert "截至6月4日，全省已对1-4批" in text


def _cell_text(value: object) -> str:
    # A rate such as 0.2906403940886699 is not a phone number; a whole number could be.
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else ""
    return str(value)


_HEX_DIGEST = re.compile(r"\b[0-9a-f]{64}\b")


def _cells_text(path: Path) -> str:
    wb = CalamineWorkbook.from_path(str(path))
    rows = (r for n in wb.sheet_names for r in wb.get_sheet_by_name(n).to_python())
    return "\n".join(_cell_text(c) for r in rows for c in r)


def test_nothing_personal_is_published(demo_run: dict) -> None:
    """Swept with a detector of its own (tests/pii.py), not the masker's patterns, over a
    sample that holds every form the masker claims to handle."""
    landing_text = "\n".join(_cells_text(p) for p in (demo_run["data"] / "landing").rglob("*.xlsx"))
    assert missing_forms(landing_text) == [], "the sample must hold every form for this test to mean anything"
    assert personal_data(landing_text)
    swept = 0
    for path in (demo_run["data"] / "outbox").rglob("*"):
        if path.suffix == ".csv":
            text = path.read_text(encoding="utf-8-sig")
        elif path.suffix == ".json":  # a file's sha256 is no one's number, whatever digits it runs to
            text = _HEX_DIGEST.sub("", path.read_text(encoding="utf-8"))
        elif path.suffix in (".html", ".svg"):  # what a reader sees, not the markup's coordinates
            text = html.unescape(re.sub(r"<[^>]*>", "\n", path.read_text(encoding="utf-8")))
        elif path.suffix == ".xlsx":
            text = _cells_text(path)
        else:
            continue
        swept += 1
        assert personal_data(text) == [], path.name
        assert find_personal(text) == [], path.name
    assert swept > 20


def test_rerunning_every_day_changes_nothing(demo_run: dict, airflow_env: dict[str, str]) -> None:
    data: Path = demo_run["data"]
    before_db = _table_dump(data / "warehouse.sqlite")
    before_out = _outbox_hashes(data / "outbox")
    for day in DAYS[-2:]:
        run_dag(airflow_env, "ducha_ingest", day)
        run_dag(airflow_env, "ducha_publish", day, json.dumps({"as_of": day}))
    assert _table_dump(data / "warehouse.sqlite") == before_db
    assert _outbox_hashes(data / "outbox") == before_out
