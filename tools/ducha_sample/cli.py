"""``ducha-sample``: write a sample landing tree (what ``make demo`` ingests)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ducha_sample.generator import DEFAULT_INSPECTION, generate


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="ducha-sample", description="Write a realistic sample landing tree.")
    p.add_argument("--out", type=Path, required=True, help="landing folder root (e.g. data/landing)")
    p.add_argument("--inspection", default=DEFAULT_INSPECTION)
    p.add_argument("--days", type=int, default=10)
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args(argv)
    summary = generate(args.out, args.inspection, days=args.days, seed=args.seed)
    print(f"wrote {len(summary.files)} files, {summary.rows} rows, {summary.cases} cases under {args.out}")
    for note in summary.dirty:
        print(f"  dirty on purpose: {note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
