"""The production path: the DAGs write to PostgreSQL named by the Airflow connection
``ducha_warehouse``, not to the embedded SQLite default."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from ducha_sample import generate
from tests.conftest import run_dag

pytestmark = [pytest.mark.airflow, pytest.mark.postgres]


def test_dags_load_and_publish_through_the_airflow_connection(
    airflow_env: dict[str, str], postgres_url: str, tmp_path: Path
) -> None:
    generate(tmp_path / "landing", "c3-hn-2024", days=2, seed=13)
    # Airflow spells the connection the Airflow way; Ducha turns it into a psycopg 3 URL.
    conn_uri = postgres_url.replace("postgresql+psycopg://", "postgres://")
    env = {**airflow_env, "DUCHA_DATA_DIR": str(tmp_path), "AIRFLOW_CONN_DUCHA_WAREHOUSE": conn_uri}
    for day in ("2024-06-01", "2024-06-02"):
        run_dag(env, "ducha_ingest", day)
    run_dag(env, "ducha_publish", "2024-06-02", json.dumps({"as_of": "2024-06-02"}))
    engine = create_engine(postgres_url)
    try:
        with engine.connect() as conn:
            n_files = conn.execute(text("SELECT COUNT(*) FROM files")).scalar_one()
            n_cases = conn.execute(text("SELECT COUNT(*) FROM v_case_latest")).scalar_one()
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    finally:
        engine.dispose()
    assert n_files == 2 and n_cases > 100 and revision
    assert not (tmp_path / "warehouse.sqlite").exists(), "the SQLite default must not be used"
    manifest = json.loads((tmp_path / "outbox" / "c3-hn-2024" / "2024-06-02" / "manifest.json").read_text())
    assert manifest["cases"] == n_cases
