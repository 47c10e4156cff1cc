"""`make bench`: speed and memory of the pipeline's heavy steps on a 100k-row workbook.

Each step runs in a fresh process (so imports and peak memory are its own), and every
figure is quoted as a ratio against a baseline measured in the same run: these machines
are noisy, absolute seconds are not comparable across runs.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

STEPS: dict[str, str] = {
    # baseline: what a naive implementation would do
    "openpyxl read-only (baseline)": """
import openpyxl
wb = openpyxl.load_workbook(PATH, read_only=True, data_only=True)
n = sum(1 for _ in wb.worksheets[0].iter_rows(values_only=True))
""",
    "calamine raw read (ducha reader)": """
from ducha.intake.reader import read_raw
sheets, _ = read_raw(Path(PATH))
n = len(sheets[0].rows)
""",
    "parse + normalise (ducha intake)": """
from ducha.config import get_inspection
from ducha.intake.parse import parse_file
n = len(parse_file(Path(PATH), get_inspection("c3-hn-2024")).rows)
""",
    "parse + GX validation (ducha intake + quality)": """
from ducha.config import get_inspection
from ducha.intake.parse import parse_file
from ducha.quality import Validator
p = parse_file(Path(PATH), get_inspection("c3-hn-2024"))
Validator().validate(p)
n = sum(1 for r in p.rows if not r.issues)
""",
}

# Loading: parse outside the clock (t0 is reset), then time only the warehouse write.
LOAD_SETUP = """
from ducha.config import get_inspection
from ducha.intake.parse import parse_file
from ducha.warehouse.db import upgrade
parsed = parse_file(Path(PATH), get_inspection("c3-hn-2024"))
engine = upgrade(URL)
"""
LOAD_STEPS: dict[str, str] = {
    "DataFrame.to_sql of the same rows (baseline)": LOAD_SETUP
    + """
import pandas as pd
frame = pd.DataFrame([{k: (v if not isinstance(v, list) else "、".join(v)) for k, v in r.values.items()}
                      for r in parsed.rows])
t0 = time.perf_counter()
frame.to_sql("bench_rows", engine, index=False, if_exists="replace", chunksize=10_000)
n = len(frame)
""",
    "ducha load_file (stage + merge, versions)": LOAD_SETUP
    + """
from ducha.warehouse.load import load_file
t0 = time.perf_counter()
n = load_file(engine, parsed, stored_path="bench").rows_loaded
""",
}

RUNNER = """
import resource, sys, time
from pathlib import Path
PATH = sys.argv[1]
URL = sys.argv[2] if len(sys.argv) > 2 else ""
t0 = time.perf_counter()
{body}
elapsed = time.perf_counter() - t0
print(elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, n)
"""


def run_step(body: str, path: Path, url: str = "") -> tuple[float, int, int]:
    done = subprocess.run(
        [sys.executable, "-c", RUNNER.format(body=body), str(path), url], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"benchmark step failed:\n{done.stderr[-3000:]}")
    seconds, rss_kb, n = done.stdout.strip().splitlines()[-1].split()
    return float(seconds), int(rss_kb), int(n)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "latest.json")
    args = ap.parse_args()
    sys.path.insert(0, str(REPO))
    from bench.workbook import big_workbook

    report: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = big_workbook(Path(tmp) / "big.xlsx", args.rows)
        print(f"workbook: {args.rows} rows, {path.stat().st_size / 1e6:.1f} MB")
        report["intake"] = _section(STEPS, path, "", "openpyxl read-only (baseline)")
        for backend, url in _warehouses(Path(tmp)):
            report[f"load into {backend}"] = _section(
                LOAD_STEPS,
                path,
                url,
                "DataFrame.to_sql of the same rows (baseline)",
                fresh=(backend, Path(tmp)),
            )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    doc = {"rows": args.rows, "when": time.strftime("%Y-%m-%d"), "results": report}
    args.out.write_text(json.dumps(doc, ensure_ascii=False, indent=2))
    _drop_created()
    print(f"\nwritten to {args.out}")
    return 0


def _section(
    steps: dict[str, str], path: Path, url: str, baseline: str, fresh: tuple[str, Path] | None = None
) -> dict[str, dict]:
    results: dict[str, dict] = {}
    for name, body in steps.items():
        step_url = _fresh(*fresh, url) if fresh else url
        seconds, rss_kb, n = run_step(body, path, step_url)
        results[name] = {"seconds": round(seconds, 3), "peak_rss_mb": round(rss_kb / 1024, 1), "rows": n}
    base = results[baseline]["seconds"]
    title = "intake" if not url else f"load ({url.split(':')[0]})"
    print(f"\n{title:50} {'seconds':>8} {'x baseline':>10} {'rows/s':>10} {'peak MB':>8}")
    for name, r in results.items():
        r["ratio_to_baseline"] = round(r["seconds"] / base, 3)
        print(
            f"{name:50} {r['seconds']:8.2f} {r['ratio_to_baseline']:10.2f} "
            f"{r['rows'] / r['seconds']:10.0f} {r['peak_rss_mb']:8.0f}"
        )
    return results


PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _warehouses(tmp: Path) -> list[tuple[str, str]]:
    out = [("sqlite", f"sqlite:///{tmp / 'bench.sqlite'}")]
    from sqlalchemy import create_engine, text

    try:
        with create_engine(PG_ADMIN).connect() as conn:
            conn.execute(text("SELECT 1"))
        out.append(("postgresql", PG_ADMIN))
    except Exception as exc:  # a user's machine without PostgreSQL: say so, bench the rest
        print(f"PostgreSQL not reachable ({type(exc).__name__}): load benchmark on SQLite only")
    return out


_counter = iter(range(1_000_000))


def _fresh(backend: str, tmp: Path, url: str) -> str:
    """An empty database for one step."""
    n = next(_counter)
    if backend == "sqlite":
        return f"sqlite:///{tmp / f'bench-{n}.sqlite'}"
    from sqlalchemy import create_engine, text

    name = f"ducha_bench_{n}_{int(time.time())}"
    with create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    _created.append(name)
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name


_created: list[str] = []


def _drop_created() -> None:
    if not _created:
        return
    from sqlalchemy import create_engine, text

    with create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT").connect() as conn:
        for name in _created:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    sys.exit(main())
