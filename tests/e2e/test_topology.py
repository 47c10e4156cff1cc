"""The production topology as processes (no Docker engine here): api-server, scheduler,
dag-processor, triggerer and a Celery worker, against the machine's PostgreSQL (one
database for Airflow's metadata, another for the warehouse) and Redis. An operator logs
in, starts a backfill through the REST API with their token, and every day ends loaded
into PostgreSQL and published, the tasks having run on the Celery worker."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import socket
import time
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from ducha.disclosure.publish import stale_days
from ducha_sample import generate
from scripts.services import HUMAN_DAGS, SERVICES, Api, Services, free_port, service_settings
from tests.conftest import BIN, PgDatabases, _services_required, airflow_home

pytestmark = [pytest.mark.airflow, pytest.mark.postgres]

INSPECTION = "c3-hn-2024"
DAYS = 4  # day 4 brings two files: the second waits for the first
REDIS = ("127.0.0.1", 6379)
TOPOLOGY = (*SERVICES, ("triggerer",))


def _redis_up() -> None:
    try:
        socket.create_connection(REDIS, timeout=3).close()
    except OSError as exc:
        reason = f"Redis not reachable at {REDIS[0]}:{REDIS[1]}: {exc}"
        if _services_required():
            pytest.fail(reason + " (required in CI)")
        pytest.skip(reason)


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory, pg_databases: PgDatabases) -> Iterator[dict]:
    _redis_up()
    metadata, warehouse = pg_databases.create(), pg_databases.create()
    home, data = tmp_path_factory.mktemp("topo_home"), tmp_path_factory.mktemp("topo_data")
    generate(data / "landing", INSPECTION, days=DAYS, seed=29, progress=False)
    queue = f"ducha-test-{uuid.uuid4().hex[:8]}"  # this test's tasks only, on a shared Redis
    password = secrets.token_urlsafe(16)
    (home / "passwords.json").write_text(json.dumps({"ops": password}))
    port = free_port()
    settings = {
        **service_settings(port),
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": metadata.replace("+psycopg:", "+psycopg_async:"),
        "AIRFLOW__CELERY__BROKER_URL": f"redis://{REDIS[0]}:{REDIS[1]}/0",
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{metadata}",
        "AIRFLOW__OPERATORS__DEFAULT_QUEUE": queue,
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "ops:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        # The warehouse is the Airflow connection; never the embedded SQLite file.
        "AIRFLOW_CONN_DUCHA_WAREHOUSE": warehouse.replace("postgresql+psycopg://", "postgres://"),
        "DUCHA_REQUIRE_WAREHOUSE_CONNECTION": "1",
    }
    settings.pop("AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS")  # SQLite's lock timeout
    env = airflow_home(home, data, **settings)
    services = (*TOPOLOGY, ("celery", "worker", "--queues", queue, "--concurrency", "2"))
    with Services(env, home / "service-logs", BIN / "airflow", services) as running:
        api = Api(f"http://127.0.0.1:{port}", "ops", password)
        api.wait_up()
        yield {"services": running, "api": api, "data": data, "warehouse": warehouse, "queue": queue}


def _wait(what: str, check, timeout: float = 600) -> object:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(3)


def test_an_operator_backfills_through_the_api_and_every_day_is_published(topology: dict) -> None:
    api: Api = topology["api"]
    services: Services = topology["services"]
    status, _ = api.request("POST", "/api/v2/backfills", {"dag_id": "ducha_ingest"}, auth=False)
    assert status in (401, 403), "an anonymous request must be refused"

    def parsed() -> bool:
        services._check_alive()
        return all(
            api.request("GET", f"/api/v2/dags/{d}")[0] == 200 for d in ("ducha_ingest", "ducha_publish")
        )

    _wait("the dag-processor did not parse the DAGs", parsed)
    for dag_id in ("ducha_ingest", "ducha_publish"):
        status, body = api.request("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})
        assert status == 200 and body["is_paused"] is False, body
    # Runs are at 22:00 Asia/Shanghai (14:00 UTC): 06-01T00Z … 06-05T00Z covers 06-01 … 06-04.
    status, backfill = api.request(
        "POST",
        "/api/v2/backfills",
        {
            "dag_id": "ducha_ingest",
            "from_date": "2024-06-01T00:00:00Z",
            "to_date": f"2024-06-{DAYS + 1:02d}T00:00:00Z",
            "reprocess_behavior": "completed",
            "max_active_runs": 1,
        },
    )
    assert status == 200, backfill

    warehouse = create_engine(topology["warehouse"])
    outbox = topology["data"] / "outbox"
    landed = sum(1 for p in (topology["data"] / "landing").rglob("*.xlsx"))

    def done() -> bool:
        services._check_alive()
        _, now = api.request("GET", f"/api/v2/backfills/{backfill['id']}")
        if not now.get("completed_at"):
            return False
        if any(r["state"] not in ("success", "failed") for r in _machine_runs(api)):
            return False
        with warehouse.connect() as conn:
            loaded = conn.execute(text("SELECT count(*) FROM files")).scalar_one()
        return loaded == landed and not stale_days(warehouse, outbox)

    _wait(f"the backfill did not finish; see {services.logs}", done)
    runs = _machine_runs(api)
    assert {r["state"] for r in runs} == {"success"}, runs
    ingest_runs = [r for r in runs if r["dag_id"] == "ducha_ingest" and r["run_type"] == "backfill"]
    assert len(ingest_runs) == DAYS
    # Every task went through this test's Celery queue to the worker.
    _, tis = api.request("GET", "/api/v2/dags/~/dagRuns/~/taskInstances?limit=100")
    machine = [t for t in tis["task_instances"] if t["dag_id"] not in HUMAN_DAGS]
    assert machine and {t["queue"] for t in machine} == {topology["queue"]}
    states = {(t["task_id"], t["state"]) for t in machine}
    assert {state for task, state in states if task not in ("any_file_failed", "ask_sign_off")} == {"success"}
    # Each day written asked for its sign-off; a publish run with nothing new asks nothing
    # (its mapped trigger has no item: skipped).
    assert {state for task, state in states if task == "ask_sign_off"} <= {"success", "skipped"}, states
    assert ("ask_sign_off", "success") in states, states
    assert {state for task, state in states if task == "any_file_failed"} == {"skipped"}, states
    # The warehouse is PostgreSQL; the tables of every day are out.
    with warehouse.connect() as conn:
        days = conn.execute(text("SELECT DISTINCT received_on FROM files ORDER BY 1")).scalars().all()
        cases = conn.execute(text("SELECT count(*) FROM v_case_latest")).scalar_one()
    warehouse.dispose()
    assert [dt.date.fromisoformat(str(d)) for d in days] == [dt.date(2024, 6, d) for d in range(1, DAYS + 1)]
    assert sorted(p.name for p in (outbox / INSPECTION).iterdir()) == [str(d) for d in days]
    manifest = json.loads((outbox / INSPECTION / str(days[-1]) / "manifest.json").read_text("utf-8"))
    assert manifest["cases"] == cases > 0
    assert not (topology["data"] / "warehouse.sqlite").exists(), "the SQLite default must not be used"


def _machine_runs(api: Api) -> list[dict]:
    """Every DAG run but those that wait for a person (a day's sign-off, paused here)."""
    _, runs = api.request("GET", "/api/v2/dags/~/dagRuns?limit=100")
    return [r for r in runs["dag_runs"] if r["dag_id"] not in HUMAN_DAGS]
