"""`make bench`: the scale targets of the pipeline, each a median of several runs and a
ratio against a baseline measured in the same run (these machines are noisy: absolute
seconds do not compare across runs or machines). docs/benchmarks.md explains each line.

    python bench/run.py [--rows 100000] [--runs 3] [--quick]

Every measured command runs in a fresh process, imports included, as a user runs it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PY = sys.executable
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

# A command run as `python -c WRAP <module-or-script> args…`: prints its peak RSS (KB)
# on the last line of stderr: its own peak plus its largest child's (a forked worker's
# shared pages counted twice), so the figure bounds the command's memory from above.
WRAP = """
import resource, runpy, sys
target, sys.argv = sys.argv[1], sys.argv[1:]
try:
    if target.endswith(".py"):
        runpy.run_path(target, run_name="__main__")
    else:
        runpy.run_module(target, run_name="__main__")
except SystemExit as exc:
    code = exc.code
else:
    code = 0
# The process and its largest child (ingest's GX worker), each at its peak: an upper bound.
peak = sum(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
print("maxrss", peak, file=sys.stderr)
sys.exit(code if isinstance(code, int) else 1)
"""

# In process, after the imports: ducha's read + validate + load of one workbook, the
# naive stages, and the floor (raw calamine read, GX on the same frame, bare inserts).
STAGES = """
import json, sys, time, datetime as dt
from pathlib import Path
path, url, which = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
if which == "ducha":
    from ducha.config import data_dirs, get_inspection
    from ducha.pipeline import Ingestor
    ingestor = Ingestor(data_dirs(Path(sys.argv[4])), url)
    insp = get_inspection("c3-hn-2024")
    ingestor.validator.start()  # GX in its worker, as `ducha ingest` has it
    ingestor.validator.prepare()  # the GX context and suite: set-up, not a stage
    t0 = time.perf_counter()
    outcome = ingestor.ingest_file(path, insp, day=dt.date(2024, 6, 20))
    assert outcome.rows_loaded > 0, outcome
elif which == "naive":
    import great_expectations as gx, pandas as pd
    from sqlalchemy import create_engine
    sys.path.insert(0, sys.argv[5])
    from bench.naive import suite_runner
    engine = create_engine(url)
    validate = suite_runner()  # the GX context and suite: set-up, not a stage, as for ducha
    t0 = time.perf_counter()
    frame = pd.read_excel(path, header=1, engine="openpyxl", dtype=str)
    validate(frame[frame["受理编号"].notna()])
    frame.to_sql("complaints", engine, index=False, if_exists="replace", chunksize=10_000)
else:  # the floor
    import great_expectations as gx, pandas as pd
    from python_calamine import CalamineWorkbook
    from sqlalchemy import create_engine
    sys.path.insert(0, sys.argv[5])
    from bench.naive import suite_runner
    engine = create_engine(url)
    validate = suite_runner(quiet=True)
    t0 = time.perf_counter()
    grid = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    frame = pd.DataFrame(grid[2:-1], columns=[str(h) for h in grid[1]])
    validate(frame)
    rows = list(frame.itertuples(index=False, name=None))
    cols = ", ".join(f'"c{i}" text' for i in range(frame.shape[1]))
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE TABLE floor_rows ({cols})")
        marks = ", ".join(["?" if url.startswith("sqlite") else "%s"] * frame.shape[1])
        if url.startswith("sqlite"):
            conn.exec_driver_sql(f"INSERT INTO floor_rows VALUES ({marks})", rows)
        else:
            with conn.connection.driver_connection.cursor() as cur, cur.copy(f"COPY floor_rows FROM STDIN") as copy:
                for r in rows:
                    copy.write_row(r)
print(json.dumps({"seconds": time.perf_counter() - t0}))
"""


def median_run(argv: list[str], runs: int, env: dict[str, str] | None = None, setup=None) -> dict:  # type: ignore[no-untyped-def]
    """Median wall seconds (and the largest peak RSS) of ``argv`` over ``runs`` runs;
    ``setup`` runs before each (a fresh warehouse), outside the clock."""
    seconds, rss, out = [], [], ""
    for _ in range(runs):
        extra = setup() if setup else []
        t0 = time.perf_counter()
        done = subprocess.run(
            [*argv, *extra], capture_output=True, text=True, env={**os.environ, **(env or {})}
        )
        seconds.append(time.perf_counter() - t0)
        if done.returncode != 0:  # the bench workbooks are valid: any exit but 0 is a failure
            raise SystemExit(f"failed: {' '.join(argv)}\n{done.stderr[-3000:]}")
        rss += [int(line.split()[1]) for line in done.stderr.splitlines() if line.startswith("maxrss ")]
        out = done.stdout
    return {
        "seconds": round(statistics.median(seconds), 3),
        "runs": [round(s, 3) for s in seconds],
        "peak_rss_mb": round(max(rss) / 1024, 1) if rss else None,
        "stdout": out.strip()[-500:],
    }


class Warehouses:
    """Fresh, empty warehouses: SQLite files, PostgreSQL databases (dropped at the end)."""

    def __init__(self, tmp: Path) -> None:
        self.tmp, self.n, self.created = tmp, 0, []
        self.postgres = self._pg_up()

    def _pg_up(self) -> bool:
        from sqlalchemy import create_engine, text

        try:
            with create_engine(PG_ADMIN).connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception as exc:
            print(f"PostgreSQL not reachable ({type(exc).__name__}): SQLite figures only")
            return False

    def backends(self) -> list[str]:
        return ["sqlite", "postgresql"] if self.postgres else ["sqlite"]

    def fresh(self, backend: str) -> str:
        self.n += 1
        if backend == "sqlite":
            path = self.tmp / f"w{self.n}.sqlite"
            path.unlink(missing_ok=True)
            return f"sqlite:///{path}"
        from sqlalchemy import create_engine, text

        name = f"ducha_bench_{os.getpid()}_{self.n}"
        # Noted before it exists: a bench killed during CREATE still drops it (IF EXISTS).
        self.created.append(name)
        with create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT").connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        return PG_ADMIN.rsplit("/", 1)[0] + "/" + name

    def drop(self) -> None:
        from sqlalchemy import create_engine, text

        if not self.created:
            return
        with create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT").connect() as conn:
            for name in self.created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def ingest_argv(path: Path) -> list[str]:
    return [PY, "-c", WRAP, "ducha.cli", "ingest", "--inspection", "c3-hn-2024", str(path), "--warehouse"]


def naive_argv(path: Path) -> list[str]:
    return [PY, "-c", WRAP, str(REPO / "bench" / "naive.py"), str(path)]


def whole_process(book: Path, wh: Warehouses, tmp: Path, runs: int) -> dict:
    """`ducha ingest` against the naive script, imports included, on each database."""
    out = {}
    env = {"DUCHA_DATA_DIR": str(tmp / "data")}
    for backend in wh.backends():
        naive = median_run(naive_argv(book), runs, env, setup=lambda b=backend: [wh.fresh(b)])
        ducha = median_run(ingest_argv(book), runs, env, setup=lambda b=backend: _fresh_run(tmp, wh, b))
        out[backend] = {
            "naive script": naive,
            "ducha ingest": ducha,
            "speed-up": round(naive["seconds"] / ducha["seconds"], 2),
        }
    return out


def _fresh_data(tmp: Path) -> None:
    """An empty data folder: no archive or reports of an earlier run."""
    import shutil

    shutil.rmtree(tmp / "data", ignore_errors=True)


def _fresh_run(tmp: Path, wh: Warehouses, backend: str) -> list[str]:
    """Before each `ducha ingest`: an empty data folder and an empty warehouse (its URL)."""
    _fresh_data(tmp)
    return [wh.fresh(backend)]


def in_process(book: Path, wh: Warehouses, tmp: Path, runs: int) -> dict:
    out = {}
    for backend in wh.backends():
        row: dict[str, object] = {}
        for which in ("ducha", "naive", "floor"):
            times = []
            for _ in range(runs):
                _fresh_data(tmp)
                argv = [PY, "-c", STAGES, str(book), wh.fresh(backend), which, str(tmp / "data"), str(REPO)]
                done = subprocess.run(argv, capture_output=True, text=True)
                if done.returncode:
                    raise SystemExit(f"stage {which} failed:\n{done.stderr[-3000:]}")
                times.append(json.loads(done.stdout.strip().splitlines()[-1])["seconds"])
            row[which] = round(statistics.median(times), 3)
        row["naive / ducha"] = round(row["naive"] / row["ducha"], 2)  # type: ignore[operator]
        row["ducha / floor"] = round(row["ducha"] / row["floor"], 2)  # type: ignore[operator]
        out[backend] = row
    return out


def scaling(tmp: Path, wh: Warehouses, sizes: list[int], runs: int) -> dict:
    """`ducha ingest` at several sizes (SQLite): seconds, rows/s, and the slope."""
    from bench.workbook import big_workbook

    out = {}
    for rows in sizes:
        book = big_workbook(tmp / f"scale{rows}.xlsx", rows)
        r = median_run(
            ingest_argv(book),
            runs,
            {"DUCHA_DATA_DIR": str(tmp / "data")},
            setup=lambda: _fresh_run(tmp, wh, "sqlite"),
        )
        out[str(rows)] = {"seconds": r["seconds"], "peak_rss_mb": r["peak_rss_mb"]}
    base, top = sizes[0], sizes[-1]
    out["slope: s per 100k rows between the smallest and largest"] = round(
        (out[str(top)]["seconds"] - out[str(base)]["seconds"]) / (top - base) * 100_000, 2
    )
    out["time ratio largest/smallest (linear: the size ratio)"] = round(
        out[str(top)]["seconds"] / out[str(base)]["seconds"], 2
    )
    return out


def _ingested(book: Path, wh: Warehouses, tmp: Path, backend: str) -> str:
    """A fresh warehouse of ``backend`` holding the book's cases (`ducha ingest`); its URL."""
    url = wh.fresh(backend)
    _fresh_data(tmp)
    env = {**os.environ, "DUCHA_DATA_DIR": str(tmp / "data")}
    subprocess.run([*ingest_argv(book), url], check=False, capture_output=True, env=env)
    return url


def latest_count_and_publish(book: Path, wh: Warehouses, tmp: Path, runs: int) -> dict:
    """`SELECT count(*) FROM v_case_latest` on a warehouse of the book's cases, and
    `ducha publish` of that inspection (one batch: every case in every table)."""
    from sqlalchemy import create_engine, text

    from bench.workbook import BATCH_DAY

    out = {}
    for backend in wh.backends():
        url = _ingested(book, wh, tmp, backend)
        engine = create_engine(url)
        counts = []
        with engine.connect() as conn:
            for _ in range(max(runs, 3)):
                t0 = time.perf_counter()
                cases = conn.execute(text("SELECT count(*) FROM v_case_latest")).scalar_one()
                counts.append(time.perf_counter() - t0)
        engine.dispose()
        publish = median_run(
            [
                PY,
                "-c",
                WRAP,
                "ducha.cli",
                "publish",
                "--inspection",
                "c3-hn-2024",
                "--warehouse",
                url,
                "--out",
                str(tmp / "outbox"),
                # The book's batch day: every run writes every table (without --as-of a
                # run after the first finds the outbox up to date and writes nothing).
                "--as-of",
                BATCH_DAY.isoformat(),
            ],
            runs,
            {"DUCHA_DATA_DIR": str(tmp / "data")},
        )
        out[backend] = {
            "cases": cases,
            "v_case_latest count s": round(statistics.median(counts), 3),
            "ducha publish s": publish["seconds"],
            "publish peak_rss_mb": publish["peak_rss_mb"],
        }
    return out


def round_replay(tmp: Path, wh: Warehouses, provinces: int, days: int, once_provinces: int) -> dict:
    """The round day by day (ingest_day + publish_all, as the DAGs run them), and a
    round's intake dropped at once (``once_provinces`` × ``days``: 5 × 30 is about the
    24,000 cases of issue 9's target): landing -> tables in one ingest and publish."""
    sys.path.insert(0, str(REPO))
    from bench.replay import FIRST_DAY, floor, replay, write_landing

    out = {}
    for backend in wh.backends():
        root = tmp / f"replay-{backend}"
        r = replay(root, wh.fresh(backend), provinces, days)
        out[backend] = {
            "files": r.files,
            "rows": r.rows,
            "cases": r.per_day[-1].cases,
            "seconds": round(r.seconds, 1),
            "ingest s": round(sum(d.ingest_seconds for d in r.per_day), 1),
            "publish s": round(sum(d.publish_seconds for d in r.per_day), 1),
            "first day s": round(r.per_day[0].ingest_seconds + r.per_day[0].publish_seconds, 2),
            "last day s": round(r.per_day[-1].ingest_seconds + r.per_day[-1].publish_seconds, 2),
        }
        # The same landing through the floor (bench/replay.py: raw read, the naive suite,
        # a bare table, unmasked unformatted files): the target is within 3× of it.
        floor_s = floor(root, wh.fresh(backend), provinces, days)
        out[backend]["floor s"] = round(floor_s, 1)
        out[backend]["replay / floor"] = round(r.seconds / floor_s, 2)
        # Everything at once: the same round's files in one landing day.
        import datetime as dt
        import shutil

        from ducha.config import data_dirs
        from ducha.disclosure.publish import publish_all
        from ducha.pipeline import Ingestor

        once = tmp / f"once-{backend}"
        write_landing(once, once_provinces, days)
        last = FIRST_DAY + dt.timedelta(days=days - 1)
        for insp_dir in (once / "landing").iterdir():  # every day's files into the last day
            target = insp_dir / last.isoformat()
            for folder in sorted(p for p in insp_dir.iterdir() if p != target):
                for f in folder.iterdir():
                    shutil.move(str(f), target / f"{folder.name}-{f.name}")
                folder.rmdir()
        t0 = time.perf_counter()
        ingestor = Ingestor(data_dirs(once), wh.fresh(backend), run_label="once")
        day = ingestor.ingest_day(last)
        outcomes = publish_all(ingestor.engine, ingestor.dirs.outbox, as_of=last)
        out[backend]["landing -> tables, all at once s"] = round(time.perf_counter() - t0, 1)
        out[backend]["cases at once"] = sum(o.cases for o in outcomes)
        out[backend]["rows at once"] = day.totals()["rows_total"]
    return out


def pickup_latency(tmp: Path, runs: int, every_minutes: int = 1) -> dict:
    """Same-day pickup under a real scheduler (scheduler, dag-processor, api-server as
    processes, LocalExecutor, SQLite): a workbook renamed into today's landing folder,
    until its day's manifest lists it. The wait for the next look (0 … every_minutes) is
    part of what a clerk sees; the run itself is the rest."""
    import datetime as dt
    import shutil

    from ducha.config import local_day
    from ducha_sample import generate
    from scripts.services import Services, free_port, migrated_home, service_settings

    home, data = tmp / "pickup-home", tmp / "pickup-data"
    insp = "c3-p2-2024"
    bin_dir = Path(PY).parent
    env = migrated_home(
        home, data, bin_dir, DUCHA_PICKUP_MINUTES=str(every_minutes), **service_settings(free_port())
    )
    books = []
    for n in range(runs):  # distinct workbooks: each one is new to the warehouse
        generate(tmp / f"pickup-sample-{n}", insp, days=1, seed=100 + n, progress=False)
        books += list((tmp / f"pickup-sample-{n}" / insp / "2024-06-01").glob("*.xlsx"))
    seconds = []
    with Services(env, home / "logs", bin_dir / "airflow") as services:
        services.wait_parsed(("ducha_pickup", "ducha_publish"))
        for dag_id in ("ducha_publish", "ducha_pickup"):
            services.airflow("dags", "unpause", dag_id)
        for n, book in enumerate(books):
            day = local_day(dt.datetime.now(dt.UTC))
            folder = data / "landing" / insp / day.isoformat()
            folder.mkdir(parents=True, exist_ok=True)
            hidden = folder / f".{n}-{book.name}"
            shutil.copy(book, hidden)
            old = time.time() - 120  # written a while ago, renamed into place now
            os.utime(hidden, (old, old))
            t0 = time.perf_counter()
            hidden.rename(folder / f"{n}-{book.name}")
            manifest = data / "outbox" / insp / day.isoformat() / "manifest.json"
            while True:
                services._check_alive()
                try:
                    if json.loads(manifest.read_text("utf-8"))["warehouse"]["files"] >= n + 1:
                        break
                except (OSError, ValueError, KeyError):
                    pass
                if time.perf_counter() - t0 > 600:
                    raise TimeoutError(f"pickup {n} not published; see {home / 'logs'}")
                time.sleep(0.5)
            seconds.append(time.perf_counter() - t0)
    return {
        "pickup every (minutes)": every_minutes,
        "landing -> manifest s (median)": round(statistics.median(seconds), 1),
        "min s": round(min(seconds), 1),
        "max s": round(max(seconds), 1),
        "runs": len(seconds),
    }


def pages(book: Path, wh: Warehouses, tmp: Path, runs: int) -> dict:
    """The 案件查询 and 挂图作战 queries on a warehouse of the book's cases: a first and a
    40th page of everything, a keyword, a city's overdue cases, the map's figures —
    median milliseconds, and each against `count(*) FROM v_case_latest` on the same
    warehouse (reading every case's latest state once: the floor of a count)."""
    import datetime as dt

    from sqlalchemy import create_engine, text

    from ducha.config import get_inspection
    from ducha.web import search, stats
    from ducha.web.access import Scope

    insp = get_inspection("c3-hn-2024")
    everything, city = Scope(everything=True), Scope(regions=frozenset({"长沙市"}))
    today = dt.date(2024, 7, 1)
    asks = {
        "page 1": lambda c: search.search(c, insp, search.Criteria(today=today), everything),
        "page 40": lambda c: search.search(c, insp, search.Criteria(today=today), everything, page=40),
        "keyword": lambda c: search.search(c, insp, search.Criteria(keyword="废水", today=today), everything),
        "city overdue": lambda c: search.search(c, insp, search.Criteria(overdue=True, today=today), city),
        "map figures": lambda c: stats.dashboard(c, insp, everything, today),
    }
    out = {}
    for backend in wh.backends():
        url = _ingested(book, wh, tmp, backend)
        engine = create_engine(url)
        row: dict[str, object] = {}
        with engine.connect() as conn:
            row["cases"] = conn.execute(text("SELECT count(*) FROM v_case_latest")).scalar_one()

            def ms(ask) -> float:  # type: ignore[no-untyped-def]
                seconds = []
                for _ in range(max(runs, 5)):
                    t0 = time.perf_counter()
                    ask(conn)
                    seconds.append(time.perf_counter() - t0)
                return round(1000 * statistics.median(seconds), 1)

            floor = ms(lambda c: c.execute(text("SELECT count(*) FROM v_case_latest")).scalar_one())
            row["count floor ms"] = floor
            for name, ask in asks.items():
                took = ms(ask)
                row[f"{name} ms"] = took
                row[f"{name} / floor"] = round(took / floor, 2)
            case_id = conn.execute(text("SELECT max(case_id) FROM v_case_latest")).scalar_one()
        engine.dispose()
        row.update(_routes(url, tmp, insp.id, case_id, runs))
        out[backend] = row
    return out


def _routes(url: str, tmp: Path, inspection_id: str, case_id: str, runs: int) -> dict:
    """The same asks as whole requests to the pages' app (routing, the form's choices,
    the as-of day, the template): median ms. Airflow's login check is left out (the
    user is given), the rest is what a browser waits for."""
    saved = {k: os.environ.get(k) for k in ("DUCHA_WAREHOUSE_URL", "DUCHA_DATA_DIR")}
    os.environ.update({"DUCHA_WAREHOUSE_URL": url, "DUCHA_DATA_DIR": str(tmp / "data")})
    try:
        return _timed_routes(inspection_id, case_id, runs)
    finally:  # later sections name their own warehouses; leave them nothing of this one
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _timed_routes(inspection_id: str, case_id: str, runs: int) -> dict:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from ducha.web.access import Scope
    from ducha.web.app import PREFIX, create_app
    from ducha.web.shared import Viewer, current_viewer

    app = create_app()
    app.dependency_overrides[current_viewer] = lambda: Viewer("bench", ("admin",), Scope(everything=True), "")
    root = FastAPI()
    root.mount(PREFIX, app)
    base = f"/ducha/cases?inspection={inspection_id}"
    asks = {
        "route page 1": base,
        "route page 40": base + "&page=40",
        "route keyword": base + "&q=%E5%BA%9F%E6%B0%B4",
        "route overdue": base + "&overdue=1",
        "route map data": f"/ducha/map/data/{inspection_id}",
        "route case": f"/ducha/cases/{inspection_id}/{case_id}",
    }
    row: dict[str, float] = {}
    with TestClient(root) as client:
        for name, path in asks.items():
            seconds = []
            for _ in range(max(runs, 5)):
                t0 = time.perf_counter()
                got = client.get(path)
                seconds.append(time.perf_counter() - t0)
                assert got.status_code == 200, (path, got.status_code, got.text[:300])
            row[f"{name} ms"] = round(1000 * statistics.median(seconds), 1)
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--provinces", type=int, default=8)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--once-provinces", type=int, default=5, help="provinces landed at once (5: ~24k cases)")
    ap.add_argument("--quick", action="store_true", help="small sizes, one run: checks the harness")
    ap.add_argument("--only", nargs="*", default=None, help="sections to run (default: all)")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "latest.json")
    args = ap.parse_args()
    # A killed run still drops the PostgreSQL databases it made (the finally below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.quick:
        args.rows, args.runs, args.provinces, args.days, args.once_provinces = 5_000, 1, 2, 3, 2
    sys.path.insert(0, str(REPO))
    from bench.workbook import big_workbook

    report: dict[str, object] = {"machine": _machine(), "rows": args.rows, "runs": args.runs}
    sections = set(args.only or ["process", "stages", "scale", "publish", "pages", "replay", "pickup"])
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        wh = Warehouses(tmp)
        try:
            book = big_workbook(tmp / "big.xlsx", args.rows)
            if "process" in sections:
                report["whole process"] = _show(
                    "whole process (ducha ingest vs naive script)", whole_process(book, wh, tmp, args.runs)
                )
            if "stages" in sections:
                report["in process"] = _show(
                    "in process: read + validate + load", in_process(book, wh, tmp, args.runs)
                )
            if "scale" in sections:
                sizes = [args.rows // 10, args.rows, args.rows * 3]
                report["scaling"] = _show("scaling (SQLite)", scaling(tmp, wh, sizes, 1))
            half = tmp / "half.xlsx"  # 50,000 cases: publishing's and the pages' size
            if sections & {"publish", "pages"}:
                big_workbook(half, args.rows // 2)
            if "publish" in sections:
                report["latest + publish"] = _show(
                    "v_case_latest count (all rows) and publish (half)",
                    {
                        "count": latest_count_and_publish(book, wh, tmp, args.runs),
                        "publish": latest_count_and_publish(half, wh, tmp, args.runs),
                    },
                )
            if "pages" in sections:
                report["pages"] = _show(
                    "pages: case search and map figures (half)", pages(half, wh, tmp, args.runs)
                )
            if "pickup" in sections:
                report["same-day pickup"] = _show(
                    "same-day pickup (real scheduler)", pickup_latency(tmp, args.runs)
                )
            if "replay" in sections:
                report["round replay"] = _show(
                    "round replay", round_replay(tmp, wh, args.provinces, args.days, args.once_provinces)
                )
        finally:
            wh.drop()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    print(f"\nwritten to {args.out}")
    return 0


def _show(title: str, data: dict) -> dict:
    print(f"\n== {title}")
    print(json.dumps(data, ensure_ascii=False, indent=1, default=str))
    return data


def _machine() -> dict[str, object]:
    import importlib.metadata as md

    versions = {
        p: md.version(p)
        for p in ("pandas", "sqlalchemy", "great-expectations", "python-calamine", "xlsxwriter", "psycopg")
    }
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "when": time.strftime("%Y-%m-%d"),
        **versions,
    }


if __name__ == "__main__":
    sys.exit(main())
