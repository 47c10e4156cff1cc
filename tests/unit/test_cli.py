"""`ducha` as clerks and operators use it: exit codes, the --json contract, no tracebacks."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ducha_sample import generate

DUCHA = [sys.executable, "-m", "ducha.cli"]
KEYS = {"file", "sha256", "ok", "batch", "rows", "errors", "warnings"}
ISSUE_KEYS = {"level", "sheet", "row", "column", "value", "rule", "message", "expected"}


def run(args: list[str], tmp_path: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DUCHA_DATA_DIR": str(tmp_path / "data")}
    for name in ("AIRFLOW_CONN_DUCHA_WAREHOUSE", "DUCHA_WAREHOUSE_URL", "DUCHA_REQUIRE_WAREHOUSE_CONNECTION"):
        env.pop(name, None)
    env.update(extra)
    return subprocess.run([*DUCHA, *args], capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("landing")
    generate(root, "c3-hn-2024", days=3, seed=5)
    return root / "c3-hn-2024"


def test_validate_clean_file_exits_0_with_documented_json(landing: Path, tmp_path: Path) -> None:
    done = run(["validate", "--json", str(landing / "2024-06-01" / "第一批交办清单.xlsx")], tmp_path)
    assert done.returncode == 0, done.stderr
    (line,) = done.stdout.strip().splitlines()
    report = json.loads(line)
    assert set(report) == KEYS
    assert report["ok"] is True
    assert report["batch"] == {"number": 1, "date": "2024-06-01"}
    assert report["rows"]["total"] == report["rows"]["accepted"] > 0
    assert report["rows"]["rejected"] == 0 and report["errors"] == []


def test_validate_bad_row_exits_1_and_names_the_cell(landing: Path, tmp_path: Path) -> None:
    files = [landing / "2024-06-01" / "第一批交办清单.xlsx", landing / "2024-06-03" / "第三批交办清单.xlsx"]
    done = run(["validate", "--json", *map(str, files)], tmp_path)
    assert done.returncode == 1, done.stderr
    first, second = (json.loads(x) for x in done.stdout.strip().splitlines())
    assert first["ok"] and not second["ok"]
    (err,) = second["errors"]
    assert set(err) == ISSUE_KEYS
    assert (err["rule"], err["column"], err["value"], err["sheet"]) == (
        "ENUM_VALUE",
        "是否办结",
        "处理中啦",
        "第三批",
    )
    assert isinstance(err["row"], int) and err["row"] >= 3


def test_validate_unreadable_file_exits_2_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "第九批.xlsx"
    bad.write_bytes(b"this is not a workbook at all")
    done = run(["validate", "--json", str(bad)], tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    report = json.loads(done.stdout)
    assert report["errors"][0]["rule"] == "FILE_UNREADABLE"


def test_validate_missing_file_and_bad_usage_exit_2(tmp_path: Path) -> None:
    assert run(["validate", str(tmp_path / "nope.xlsx")], tmp_path).returncode == 2
    usage = run(["validate"], tmp_path)
    assert usage.returncode == 2 and "Traceback" not in usage.stderr
    assert run(["publish", "--out", str(tmp_path), "--as-of", "June 3"], tmp_path).returncode == 2


def test_validate_human_output_in_chinese(landing: Path, tmp_path: Path) -> None:
    done = run(["validate", str(landing / "2024-06-03" / "第三批交办清单.xlsx")], tmp_path)
    assert done.returncode == 1
    assert "REJECTED" in done.stdout and "处理中啦" in done.stdout and "允许的值" in done.stdout


def test_ingest_then_publish_then_status(landing: Path, tmp_path: Path) -> None:
    done = run(["ingest", "--json", str(landing)], tmp_path)
    assert done.returncode == 1, done.stderr  # one row of day 3 is quarantined
    outcomes = [json.loads(x) for x in done.stdout.strip().splitlines()]
    assert len(outcomes) == 3
    assert sum(o["rows_quarantined"] for o in outcomes) == 1
    again = run(["ingest", "--json", str(landing)], tmp_path)
    assert {json.loads(x)["status"] for x in again.stdout.strip().splitlines()} == {"skipped"}
    out = tmp_path / "out"
    pub = run(["publish", "--out", str(out), "--as-of", "2024-06-03"], tmp_path)
    assert pub.returncode == 0, pub.stderr
    assert (out / "c3-hn-2024" / "2024-06-03" / "manifest.json").is_file()
    assert (out / "c3-hn-2024" / "2024-06-03" / "第三批公开情况一览表.xlsx").is_file()
    status = run(["status"], tmp_path)
    assert status.returncode == 0 and "3 batches" in status.stdout and "1 unresolved" in status.stdout
    ledgers = run(["ledgers", "--as-of", "2024-06-20"], tmp_path, DUCHA_NOTIFY_TO="")
    assert ledgers.returncode == 0, ledgers.stderr
    assert ledgers.stdout.startswith("c3-hn-2024 as of 2024-06-20: ") and " overdue, " in ledgers.stdout
    assert len(list((tmp_path / "data" / "ledgers" / "c3-hn-2024" / "2024-06-20").glob("*台账*.xlsx"))) == 3
    docs = list((tmp_path / "data" / "reports" / "data_docs").rglob("index.html"))
    assert docs, "a Data Docs site is written for the run"


def test_publish_empty_warehouse_says_so(tmp_path: Path) -> None:
    done = run(["publish", "--out", str(tmp_path / "out"), "--inspection", "c3-hn-2024"], tmp_path)
    assert done.returncode == 0 and "nothing to publish" in done.stdout


def test_template_then_validate_empty_template_is_rejected_not_unreadable(tmp_path: Path) -> None:
    out = tmp_path / "填报模板.xlsx"
    done = run(["template", str(out), "--inspection", "c3-hn-2024"], tmp_path)
    assert done.returncode == 0 and out.is_file(), done.stderr
    check = run(["validate", "--json", str(out)], tmp_path)
    assert check.returncode == 1, check.stdout  # read fine, but has no rows
    assert json.loads(check.stdout)["errors"][0]["rule"] == "FILE_EMPTY"


def test_a_link_out_of_the_landing_folder_is_refused_with_a_report(tmp_path: Path) -> None:
    from ducha.config import data_dirs
    from ducha.pipeline import Ingestor

    secret = tmp_path / "outside" / "secret.xlsx"
    secret.parent.mkdir()
    secret.write_bytes(b"not for us")
    folder = tmp_path / "data" / "landing" / "c3-hn-2024" / "2024-06-03"
    folder.mkdir(parents=True)
    (folder / "第三批.xlsx").symlink_to(secret)
    dirs = data_dirs(tmp_path / "data")
    outcome = Ingestor(dirs, f"sqlite:///{tmp_path / 'w.sqlite'}").ingest_day(dt.date(2024, 6, 3))
    (f,) = outcome.files
    assert f.status == "refused"
    report = json.loads((dirs.root / f.report).read_text(encoding="utf-8"))
    assert report["errors"][0]["rule"] == "FILE_OUTSIDE_LANDING"
    assert not list(dirs.archive.rglob("*secret*")) and not list(dirs.quarantine.rglob("*.xlsx"))


def test_an_unreadable_warehouse_connection_stops_the_run(landing: Path, tmp_path: Path) -> None:
    """No second, private SQLite warehouse when the configured one cannot be used."""
    done = run(["ingest", str(landing)], tmp_path, AIRFLOW_CONN_DUCHA_WAREHOUSE="postgres//typo@db/w")
    assert done.returncode == 2, done.stdout
    assert "AIRFLOW_CONN_DUCHA_WAREHOUSE" in done.stderr and "Traceback" not in done.stderr
    assert not list(tmp_path.rglob("*.sqlite"))
    assert not (tmp_path / "data" / "archive").exists() or not list(
        (tmp_path / "data" / "archive").rglob("*.xlsx")
    )


# Run as `python -c`: the CLI's main, then a check that GX was never imported.
_NO_GX = (
    "import sys; from ducha.cli import main; code = main(sys.argv[1:]); "
    "sys.exit(97 if 'great_expectations' in sys.modules else code)"
)


def test_commands_that_do_not_validate_do_not_import_great_expectations(
    landing: Path, tmp_path: Path
) -> None:
    """Importing GX costs seconds: publish, status and db upgrade must not pay it."""
    url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    ingested = run(["ingest", str(landing), "--warehouse", url], tmp_path)
    assert ingested.returncode in (0, 1) and "loaded" in ingested.stdout, (
        ingested.stderr
    )  # 1: rows quarantined
    env = {**os.environ, "DUCHA_DATA_DIR": str(tmp_path / "data")}
    for args in (
        ["publish", "--warehouse", url, "--out", str(tmp_path / "outbox")],
        ["status", "--warehouse", url],
        ["db", "upgrade", "--warehouse", url],
    ):
        done = subprocess.run([sys.executable, "-c", _NO_GX, *args], capture_output=True, text=True, env=env)
        assert done.returncode == 0, (args, done.returncode, done.stderr[-2000:])
    assert any((tmp_path / "outbox").rglob("manifest.json"))
