"""A large batch workbook for benchmarks: the sample's rows repeated with fresh IDs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import xlsxwriter
from python_calamine import CalamineWorkbook

from ducha_sample import generate

# The book's batch: a late one of the inspection, so IDs can spread over the days before it.
BATCH_DAY = dt.date(2024, 6, 20)


def big_workbook(out: Path, rows: int, seed: int = 1) -> Path:
    """``rows`` valid case rows of one batch, in the real layout (title, header, notes)."""
    src_root = out.parent / "bench-sample"
    generate(src_root, "c3-hn-2024", days=1, seed=seed)
    src = next((src_root / "c3-hn-2024" / "2024-06-01").glob("*.xlsx"))
    grid = CalamineWorkbook.from_path(str(src)).get_sheet_by_index(0).to_python(skip_empty_area=False)
    title, header, body = grid[0], grid[1], [r for r in grid[2:] if r and str(r[1]).startswith(("D", "X"))]
    wb = xlsxwriter.Workbook(str(out), {"constant_memory": True})
    wb.set_properties({"created": dt.datetime(2024, 6, 1)})
    ws = wb.add_worksheet("第一批")
    day = f"{BATCH_DAY.year}年{BATCH_DAY.month}月{BATCH_DAY.day}日"
    ws.write_row(0, 0, [f"{title[0].split('（')[0]}（第二十批 {day}）"])
    ws.write_row(1, 0, header)
    for i in range(rows):
        row = list(body[i % len(body)])
        row[0] = i + 1
        # Unique, well-formed IDs received in the 20 days before the batch: channel, day,
        # a round digit and the sequence vary (4 million combinations).
        day = dt.date(2024, 5, 31) + dt.timedelta(days=i // 20000 % 20)
        row[1] = f"{'DX'[i % 2]}{i // 400000 % 10}HN{day:%Y%m%d}{i // 2 % 10000:04d}"
        ws.write_row(i + 2, 0, ["" if v is None else v for v in row])
    ws.write_row(rows + 2, 0, ["注：本表为基准测试数据。"])
    wb.close()
    return out
