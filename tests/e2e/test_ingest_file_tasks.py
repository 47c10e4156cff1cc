"""One task per landed file, through real Airflow (`airflow dags test`): a file whose task
fails stops only the later files of its own inspection, which fail at once saying why;
another inspection's file loads; the summary still runs and the run is marked failed.
Once the cause is gone, a re-run of the day loads what was left, in order."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from ducha_sample import generate
from tests.conftest import BIN, airflow_home, run_dag

pytestmark = pytest.mark.airflow

DAY = "2024-06-01"


def _states(home: Path) -> dict[tuple[str, str | None], str]:
    con = sqlite3.connect(home / "airflow.db")
    try:
        rows = con.execute(
            "SELECT task_id, rendered_map_index, state FROM task_instance WHERE dag_id = 'ducha_ingest'"
        ).fetchall()
    finally:
        con.close()
    return {(task, name): state for task, name, state in rows}


def _loaded(data: Path) -> list[str]:
    con = sqlite3.connect(data / "warehouse.sqlite")
    try:
        return sorted(f"{i}/{n}" for i, n in con.execute("SELECT inspection_id, name FROM files"))
    finally:
        con.close()


def test_a_failed_file_stops_only_its_inspection_and_the_run_is_red(tmp_path: Path) -> None:
    env = {**airflow_home(tmp_path / "home", tmp_path / "data"), "DUCHA_TASK_RETRIES": "0"}
    data = Path(env["DUCHA_DATA_DIR"])
    for n, inspection in enumerate(("c3-hn-2024", "c3-p2-2024")):
        generate(data / "landing", inspection, days=1, seed=41 + n, progress=False)
    hn = data / "landing" / "c3-hn-2024" / DAY
    (good,) = [p.name for p in hn.iterdir()]
    # A link to a file not there (yet): sorted first, its task fails reading it.
    os.symlink("送达中.xlsx", hn / "0-送达中.xlsx")

    done = subprocess.run(
        [str(BIN / "airflow"), "dags", "test", "ducha_ingest", DAY],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    out = done.stdout + done.stderr
    assert "state=failed" in out, out[-5000:]
    states = _states(tmp_path / "home")
    (p2_file,) = [p.name for p in (data / "landing" / "c3-p2-2024" / DAY).iterdir()]
    assert states == {
        ("plan", None): "success",
        ("ingest_file", f"c3-hn-2024/{DAY}/0-送达中.xlsx"): "failed",
        ("ingest_file", f"c3-hn-2024/{DAY}/{good}"): "failed",
        ("ingest_file", f"c3-p2-2024/{DAY}/{p2_file}"): "success",
        ("summary", None): "success",
        ("any_file_failed", None): "failed",
    }, states
    # `dags test` logs every task to its own output.
    assert f"c3-hn-2024/{DAY}/{good} loads after map index [0] of the same inspection, which failed" in out
    assert f"2 FAILED: c3-hn-2024/{DAY}/0-送达中.xlsx, c3-hn-2024/{DAY}/{good}" in out
    assert _loaded(data) == [f"c3-p2-2024/{p2_file}"]

    (hn / "0-送达中.xlsx").unlink()  # the sender's copy never came: the link goes
    run_dag(env, "ducha_ingest", DAY)
    assert _loaded(data) == sorted([f"c3-hn-2024/{good}", f"c3-p2-2024/{p2_file}"])
