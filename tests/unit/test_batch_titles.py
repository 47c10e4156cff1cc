"""Where the batch number comes from, including titles that name the inspection."""

from __future__ import annotations

import datetime as dt

import pytest

from ducha import text
from ducha.disclosure import tables
from ducha.intake import values as V
from ducha.intake.batch import TitleInfo, batch_number, parse_title
from ducha_sample import generator


@pytest.mark.parametrize(
    ("title", "batch", "day"),
    [
        ("群众信访举报转办和边督边改公开情况一览表（第八批 2024年3月21日）", 8, dt.date(2024, 3, 21)),
        (
            "第三轮第二批中央生态环境保护督察（湖南省）群众信访举报一览表（第八批 2024年6月8日）",
            8,
            dt.date(2024, 6, 8),
        ),
        (
            "填报表（第三批 2024年6月3日）（第三轮第二批中央生态环境保护督察（湖南省））",
            3,
            dt.date(2024, 6, 3),
        ),
        ("第二十五批 (4月13日8时至20时)", 25, dt.date(2024, 4, 13)),
        ("一览表（第31批）", 31, None),
        ("一览表（2024-06-03）", None, dt.date(2024, 6, 3)),
    ],
)
def test_parse_title(title: str, batch: int | None, day: dt.date | None) -> None:
    info = parse_title(title, year_hint=2024)
    assert (info.batch_no, info.day) == (batch, day)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("第十二批", 12),
        ("第12批", 12),
        ("12", 12),
        (12, 12),
        (12.0, 12),
        (12.5, None),
        (0, None),
        (True, None),
        (None, None),
        ("第一百零二批", 102),
        ("第两千零五批", 2005),  # every numeral cn_to_int reads is found in 第N批
        ("第壹批", 1),
    ],
)
def test_batch_number(cell: object, expected: int | None) -> None:
    assert batch_number(cell) == expected


@pytest.mark.parametrize("written", ["2024-06-03", "2024/6/3", "2024.6.3", "2024年6月3日", "6月3日", "6月3"])
def test_a_title_and_a_cell_read_a_date_alike(written: str) -> None:
    cell = V.date(written, year_hint=2024)
    assert cell == dt.date(2024, 6, 3)
    assert parse_title(f"一览表（第八批 {written}）", year_hint=2024) == TitleInfo(8, cell)


def test_the_sample_and_the_published_tables_write_batches_and_dates_with_one_helper() -> None:
    assert generator.batch_label is tables.batch_label is text.batch_label
    assert generator.cn_date is tables.cn_date is text.cn_date
