"""The demo: write the sample inspection, then let the real scheduler do the work —
api-server, scheduler and dag-processor run as processes in the project's Airflow home,
a backfill of `ducha_ingest` covers every sample day, `ducha_publish` runs on the
warehouse events it emits — wait until every day's tables are in the outbox, stop what
was started, and say what happened (`ducha status`).

Usage: python scripts/demo.py [INSPECTION] [DAYS] [SEED]; the environment is the
Makefile's (AIRFLOW_HOME, DAGS_FOLDER, DUCHA_DATA_DIR, PATH with the virtualenv).
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from scripts.services import Services, free_port, service_settings  # noqa: E402

DAGS = ("ducha_ingest", "ducha_publish")


def main() -> int:
    inspection = sys.argv[1] if len(sys.argv) > 1 else "c3-hn-2024"
    days = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    seed = sys.argv[3] if len(sys.argv) > 3 else "7"
    bin_dir = Path(sys.executable).parent
    data = Path(os.environ["DUCHA_DATA_DIR"])
    logs = data / "logs" / "demo"
    sample = ["--out", str(data / "landing"), "--inspection", inspection, "--days", str(days)]
    subprocess.run([str(bin_dir / "ducha-sample"), *sample, "--seed", seed], check=True)
    landing_days = sorted(p.name for p in (data / "landing" / inspection).iterdir() if p.is_dir())
    first = dt.date.fromisoformat(landing_days[0])
    # Runs are at 22:00 Asia/Shanghai: --to-date is a moment, so the day after the last one.
    last = dt.date.fromisoformat(landing_days[-1]) + dt.timedelta(days=1)
    env = {**os.environ, **service_settings(free_port())}
    started = time.monotonic()
    print(f"Starting Airflow (api-server, scheduler, dag-processor; logs in {logs}) …", flush=True)
    with Services(env, logs, bin_dir / "airflow") as airflow:
        airflow.wait_parsed(DAGS)
        for dag_id in DAGS:
            airflow.airflow("dags", "unpause", dag_id)
        print(f"Backfilling ducha_ingest for landing days {first} … {landing_days[-1]} …", flush=True)
        window = ["--from-date", first.isoformat(), "--to-date", last.isoformat()]
        backfills = airflow.backfill("ducha_ingest", *window, "--reprocess-behavior", "completed")
        runs = airflow.wait_idle(backfills, done=lambda: published(data))
    failed = [r for r in runs if r["state"] != "success"]
    ingest = [r for r in runs if r["dag_id"] == "ducha_ingest" and r["run_type"] == "backfill"]
    publish = [r for r in runs if r["dag_id"] == "ducha_publish"]
    print(
        f"Done in {time.monotonic() - started:.0f} s: {len(ingest)} ingest runs, {len(publish)} publish runs"
        f" (the scheduler folds warehouse events; each publish run catches up every day)"
        + (f"; FAILED: {[(r['dag_id'], r['run_id']) for r in failed]}" if failed else "")
    )
    print()
    subprocess.run([str(bin_dir / "ducha"), "status"], check=True)
    return 1 if failed else 0


def published(data: Path) -> bool:
    """Files are loaded into the data folder's warehouse and no loaded day is without
    its tables (what the demo and the scheduler test wait for)."""
    from sqlalchemy import func, select
    from sqlalchemy.exc import DBAPIError

    from ducha.config import data_dirs, warehouse_url
    from ducha.disclosure.publish import stale_days
    from ducha.warehouse.db import engine
    from ducha.warehouse.schema import files

    dirs = data_dirs(data)
    warehouse = engine(warehouse_url(dirs=dirs))
    try:
        with warehouse.connect() as conn:
            loaded = conn.execute(select(func.count()).select_from(files)).scalar_one()
        return loaded > 0 and not stale_days(warehouse, dirs.outbox)
    except DBAPIError:
        return False  # no warehouse yet: the first ingest run creates it
    finally:
        warehouse.dispose()


if __name__ == "__main__":
    sys.exit(main())
