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

RUNNER = """
import resource, sys, time
from pathlib import Path
PATH = sys.argv[1]
t0 = time.perf_counter()
{body}
elapsed = time.perf_counter() - t0
print(elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, n)
"""


def run_step(body: str, path: Path) -> tuple[float, int, int]:
    done = subprocess.run(
        [sys.executable, "-c", RUNNER.format(body=body), str(path)], capture_output=True, text=True
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

    with tempfile.TemporaryDirectory() as tmp:
        path = big_workbook(Path(tmp) / "big.xlsx", args.rows)
        print(f"workbook: {args.rows} rows, {path.stat().st_size / 1e6:.1f} MB")
        results = {}
        for name, body in STEPS.items():
            seconds, rss_kb, n = run_step(body, path)
            results[name] = {"seconds": round(seconds, 3), "peak_rss_mb": round(rss_kb / 1024, 1), "rows": n}
    base = results["openpyxl read-only (baseline)"]["seconds"]
    print(f"{'step':50} {'seconds':>8} {'x baseline':>10} {'rows/s':>10} {'peak MB':>8}")
    for name, r in results.items():
        r["ratio_to_baseline"] = round(r["seconds"] / base, 3)
        print(
            f"{name:50} {r['seconds']:8.2f} {r['ratio_to_baseline']:10.2f} "
            f"{r['rows'] / r['seconds']:10.0f} {r['peak_rss_mb']:8.0f}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {"rows": args.rows, "when": time.strftime("%Y-%m-%d"), "results": results},
            ensure_ascii=False,
            indent=2,
        )
    )
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
