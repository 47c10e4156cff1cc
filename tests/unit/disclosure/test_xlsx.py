"""The direct table writer (disclosure/xlsx.py) against xlsxwriter: the same sheets give
the same bytes as writers.add_sheet through xlsxwriter, on sheets built to reach every
branch (escapes, control characters, edge spaces, long text, numbers of every kind,
grouped headers, several sheets). The sample's published workbooks are pinned by
test_golden_outbox.py, which xlsxwriter wrote before this writer existed."""

from __future__ import annotations

import math
import random
import zipfile
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from ducha.disclosure import xlsx
from ducha.disclosure.layout import Column, Sheet
from ducha.disclosure.writers import add_sheet, open_workbook, write_xlsx

CREATED = datetime(2024, 6, 3, 0, 0)
KINDS = ("text", "int", "number", "percent")
ALIGNS = (None, "left", "center", "right")

TEXTS = [
    "",
    "普通文本",
    "A & B <c> \"d\" 'e'",
    " 前导空格",
    "尾随空格 ",
    "多行\n文本\n",
    "\t制表",
    "控制\x01字符\x1f",
    "字面 _x0041_ 转义",
    "=SUM(A1:A2)",
    "+86 13912345678",
    "@cmd",
    "-1",
    "身份证 110101199003071234",
    "😀 表情 𠀀",
    "长" * 40,
    "x" * 40_000,  # over Excel's cell limit: cut at 32,767
    "😀" * 20_000,  # 40,000 UTF-16 units
]
NUMBERS = [
    0,
    1,
    -7,
    12_345_678_901_234_567,
    0.5,
    1 / 3,
    1e-9,
    2.5e20,
    -0.0,
    Decimal("3.25"),
    math.nan,
    math.inf,
]
OTHERS = [None, True, False, "—", math.nan]


def random_sheet(rng: random.Random, name: str) -> Sheet:
    ncols = rng.randint(1, 7)
    columns = [
        Column(
            header=rng.choice(["序号", "地区", "=危险", "类型 ", "A&B", "金额", ""])
            + rng.choice(["", str(i)]),
            width=rng.choice([0.5, 6, 8.43, 8.43, 12, 12, 40.7, 100]),
            kind=rng.choice(KINDS),
            align=rng.choice(ALIGNS),
        )
        for i in range(ncols)
    ]
    rows = [
        [rng.choice(rng.choice([TEXTS[:-2], NUMBERS, OTHERS])) for _ in range(ncols)]
        for _ in range(rng.randint(0, 25))
    ]
    if rng.random() < 0.1:
        rows.append([rng.choice(TEXTS[-2:]) for _ in range(ncols)])
    header_rows = None
    if ncols >= 3 and rng.random() < 0.5:
        header_rows = [
            ["地区", "当日", "", *(["累计"] * (ncols - 3))],
            ["", "总数", "重点", *(["总数"] * (ncols - 3))],
        ]
    return Sheet(
        name=name,
        columns=columns,
        rows=rows,
        title=rng.choice([None, "", "某市公开情况一览表（第一批）", "=标题", "标题 " * 30]),
        notes=rng.sample(["注：说明一。", "注：" + "很长的说明" * 40, "=注", " 空格"], k=rng.randint(0, 3)),
        header_rows=header_rows,
    )


def xlsxwriter_bytes(path: Path, sheets: list[Sheet]) -> bytes:
    with open_workbook(path, created=CREATED, title=sheets[0].title) as (workbook, formats):
        for sheet in sheets:
            add_sheet(workbook, formats, sheet)
    return path.read_bytes()


@pytest.mark.parametrize("seed", range(40))
def test_the_same_bytes_as_xlsxwriter(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    names = ["第一批", "按地区", "O'Brien 表", "sheet 2", "按污染类型"]
    sheets = [random_sheet(rng, names[i]) for i in range(rng.randint(1, 4))]
    write_xlsx(tmp_path / "direct.xlsx", sheets, created=CREATED)
    expected = xlsxwriter_bytes(tmp_path / "xlsxwriter.xlsx", sheets)
    got = (tmp_path / "direct.xlsx").read_bytes()
    if got != expected:  # name the part that differs
        with (
            zipfile.ZipFile(tmp_path / "direct.xlsx") as a,
            zipfile.ZipFile(tmp_path / "xlsxwriter.xlsx") as b,
        ):
            assert a.namelist() == b.namelist()
            assert {n: a.read(n) for n in a.namelist()} == {n: b.read(n) for n in b.namelist()}
    assert got == expected


@pytest.mark.parametrize("writer", ["direct", "xlsxwriter"])
def test_rich_text_markup_in_a_cell_stays_text(tmp_path: Path, writer: str) -> None:
    """xlsxwriter's write_string puts a string that starts with "<r>" and ends with
    "</r>" into the file unescaped (its own rich-text form): a clerk's cell could break
    the file. Both writers keep it as text (xlsxwriter's path as three escaped runs)."""
    text = "<r>投诉 & 举报</r>"
    sheet = Sheet(
        name="表", title=text, columns=[Column("内容"), Column("金额", kind="int")], rows=[[text, 1]]
    )
    path = tmp_path / "t.xlsx"
    if writer == "direct":
        write_xlsx(path, [sheet], created=CREATED)
    else:
        xlsxwriter_bytes(path, [sheet])
    ws = openpyxl.load_workbook(path).active
    assert (ws["A1"].value, ws["A3"].value, ws["B3"].value) == (text, text, 1)
    assert ws["A3"].border.left.style == "thin"


def test_more_rows_than_excel_holds_is_an_error(tmp_path: Path) -> None:
    sheet = Sheet(name="表", columns=[Column("a")], rows=[[""]] * 1_048_576)
    with pytest.raises(ValueError, match="more rows"):
        write_xlsx(tmp_path / "t.xlsx", [sheet], created=CREATED)


def test_formats_of_one_spec_share_a_number(tmp_path: Path) -> None:
    """Format names are numbered by their properties, as xlsxwriter numbers formats:
    "title@center" is "title" (a title is centred), so the two share one entry."""
    names = [
        f"{kind}{'@' + align if align else ''}{quoted}"
        for kind in ("title", "header", "note", *KINDS)
        for align in ALIGNS
        for quoted in ("", "_quoted")
    ]
    styles = xlsx._Styles()
    numbers = [styles(name) for name in names]
    assert numbers[:6] == [1, 2, 3, 4, 1, 2]  # title, _quoted, @left, @left_quoted, @center (= title), …
    assert len(set(numbers)) == len(styles.order) < len(names)
    xml, theme = xlsx._styles_and_theme(tuple(styles.order))  # raises if xlsxwriter merged two
    assert xml.count(b"<xf ") == len(styles.order) + 2  # with the default and Normal's
    assert theme.startswith(b"<?xml")


@pytest.mark.parametrize(
    ("names", "error"),
    [
        (["a" * 32], "1 to 31"),
        (["a/b"], "1 to 31"),
        ([""], "1 to 31"),
        (["'a"], "apostrophe"),
        (["表", "表"], "twice"),
        (["Sheet", "sheet"], "twice"),
    ],
)
def test_sheet_names_follow_excels_rules(tmp_path: Path, names: list[str], error: str) -> None:
    sheets = [Sheet(name=n, columns=[Column("a")], rows=[]) for n in names]
    with pytest.raises(ValueError, match=error):
        write_xlsx(tmp_path / "t.xlsx", sheets, created=CREATED)
    assert not list(tmp_path.iterdir())  # nothing half-written
