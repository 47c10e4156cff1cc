"""Bad and odd inputs, each generated here, each checked the way a clerk sees it: parse_file,
the real GX suite (Validator.validate) and the file report (ducha.intake.reports.file_report).

For every input the test says whether the file is rejected, rows are rejected, or only a
warning is raised, and which rule fires at which Excel row, under which column header as
written in the file, with which value.
"""

from __future__ import annotations

import io
import random
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ducha.config import get_inspection, limit
from ducha.intake import parse_file
from ducha.intake.reader import read_raw
from ducha.intake.reports import file_report
from ducha.issues import RULES
from ducha_sample import generate
from tests.unit.intake.conftest import (
    GENERIC,
    HEADERS,
    HN,
    TITLE,
    Checked,
    Formula,
    Sheet,
    case,
    case_id,
    check,
    closed_case,
    csv_bytes,
    grid,
    shared_validator,
    standard_sheet,
    validate,
    write_xls,
    write_xlsx,
)

ANY = object()  # "don't check this part of the issue"
SHEET = "第三批"


@dataclass(frozen=True)
class Expect:
    level: str
    rule: str
    row: object = ANY
    column: object = ANY
    value: object = ANY
    sheet: object = ANY

    def matches(self, i: dict[str, Any]) -> bool:
        return (
            i["level"] == self.level
            and i["rule"] == self.rule
            and all(
                want is ANY or i[key] == want
                for key, want in (
                    ("row", self.row),
                    ("column", self.column),
                    ("value", self.value),
                    ("sheet", self.sheet),
                )
            )
        )


@dataclass(frozen=True)
class Bad:
    id: str
    build: Callable[[Path], Path]
    outcome: str  # file (rejected) | rows (some rejected) | warning (accepted, warned) | ok
    expect: tuple[Expect, ...] = ()
    rows: tuple[int, int, int] | None = None  # total, accepted, rejected
    inspection: str = HN
    known: dict[str, str] | None = None
    also: Callable[[Checked], None] | None = None


# --- builders ---------------------------------------------------------------------------------


def raw_bytes(name: str, data: bytes | Callable[[], bytes]) -> Callable[[Path], Path]:
    def build(d: Path) -> Path:
        p = d / name
        p.write_bytes(data() if callable(data) else data)
        return p

    return build


def xlsx(*sheets: Sheet, name: str = "第三批.xlsx") -> Callable[[Path], Path]:
    return lambda d: write_xlsx(d / name, *sheets)


def table(*cases: dict[str, object], **kw: Any) -> Callable[[Path], Path]:
    return xlsx(standard_sheet(list(cases), **kw))


def valid_xlsx_bytes() -> bytes:
    with tempfile.TemporaryDirectory() as d:
        return write_xlsx(Path(d) / "ok.xlsx", standard_sheet([case(1)])).read_bytes()


def xls(*sheets: Sheet, name: str = "第三批.xls") -> Callable[[Path], Path]:
    return lambda d: write_xls(d / name, *sheets)


def encrypted_xlsx(d: Path) -> Path:
    from msoffcrypto.format.ooxml import OOXMLFile

    out = io.BytesIO()
    OOXMLFile(io.BytesIO(valid_xlsx_bytes())).encrypt("1234", out)
    p = d / "加密.xlsx"
    p.write_bytes(out.getvalue())
    return p


def oversize(d: Path) -> Path:
    p = d / "巨大.xlsx"
    with p.open("wb") as fh:  # sparse: costs nothing on disk
        fh.write(b"PK\x03\x04")
        fh.truncate(limit("max_file_bytes") + 1)
    return p


def zip_bomb(d: Path) -> Path:
    # A real deflated entry of zeros just over the 500 MiB limit: ~2 MB on disk, ~1 s to write.
    p = d / "炸弹.xlsx"
    chunk = b"\0" * (8 << 20)
    n = limit("max_uncompressed_bytes") // len(chunk) + 1
    with (
        zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf,
        zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh,
    ):
        for _ in range(n):
            fh.write(chunk)
    return p


def zip_not_workbook() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("readme.txt", "这不是工作簿")
    return buf.getvalue()


def csv_file(name: str, rows: list[list[object]], encoding: str) -> Callable[[Path], Path]:
    return raw_bytes(name, csv_bytes(rows, encoding))


def tsv(rows: list[list[object]]) -> bytes:
    text = "\n".join("\t".join("" if v is None else str(v) for v in r) for r in rows)
    return text.encode("utf-8")


# --- extra checks -----------------------------------------------------------------------------


def formulas_read_cached(c: Checked) -> None:
    v = c.parsed.rows[0].values
    assert v["rectify_orders"] == 2.0  # cached 2, not a re-evaluation of =1+1+5
    assert v["summary"] == "缓存的举报内容"  # cached text, the formula itself is never read
    assert v["fine_amount"] == 8000.0


def gb18030_read(c: Checked) -> None:
    r = c.parsed.rows
    assert [x.values["region"] for x in r] == ["长沙市岳麓区", "张家界市"]
    assert r[1].values["summary"] == "锅炉房燃煤烟尘扰民，𠀀字也能读"
    assert r[0].written["case_id"] == "受理编号"


def bom_read(c: Checked) -> None:
    r = c.parsed.rows[0]
    assert r.written["seq"] == "序号"  # the BOM is not part of the first header
    assert r.values["seq"] == 1
    assert r.values["pollution_types"] == ["水", "大气"]


def hidden_not_read(c: Checked) -> None:
    assert c.parsed.sheets == [SHEET]
    assert [r.values["case_id"] for r in c.parsed.rows] == [case_id(1)]


def rows_are(*excel_rows: int) -> Callable[[Checked], None]:
    def check_rows(c: Checked) -> None:
        assert [r.row for r in c.parsed.rows] == list(excel_rows)

    return check_rows


def internal_not_read(c: Checked) -> None:
    for r in c.parsed.rows:
        assert "联系电话" not in r.raw
        assert "13812345678" not in repr(r.raw) + repr(r.values)


def names_missing(label: str) -> Callable[[Checked], None]:
    def check_named(c: Checked) -> None:
        (e,) = c.errors
        assert e["expected"] == label
        assert label in e["message"]

    return check_named


def generic_accepts_local_types(c: Checked) -> None:
    assert c.parsed.rows[0].values["pollution_types"] == ["扬尘", "油烟"]


LONG = "很长的举报内容。" * 626  # 5008 characters, over the 5000 limit
BLANK_ROW = Sheet(
    SHEET,
    [
        [TITLE],
        HEADERS,
        [case(1).get(h) for h in HEADERS],
        [],
        [None, "  "],
        [case(2).get(h) for h in HEADERS],
    ],
)
REPEATED_HEADER = Sheet(
    SHEET,
    [[TITLE], HEADERS, [case(1).get(h) for h in HEADERS], list(HEADERS), [case(2).get(h) for h in HEADERS]],
)
TOTAL_ROW = Sheet(
    SHEET,
    [
        [TITLE],
        HEADERS,
        [case(1).get(h) for h in HEADERS],
        ["合计", None, None, None, None, None, None, None, None, None, 3, 70000],
        ["小计：2件"],
        ["注：此行非数据"],
    ],
)
CSV_ROWS = grid([case(1), case(2, 行政区域="张家 界市", 交办问题基本情况="锅炉房燃煤烟尘扰民，𠀀字也能读")])
HEADERS_PLUS = [*HEADERS, "联系电话"]


BAD: list[Bad] = [
    # --- the whole file is refused -----------------------------------------------------------
    Bad("empty_0_bytes", raw_bytes("第三批.xlsx", b""), "file", (Expect("error", "FILE_EMPTY"),)),
    Bad(
        "random_bytes_xlsx",
        raw_bytes("第三批.xlsx", random.Random(20240603).randbytes(4096)),
        "file",
        (Expect("error", "FILE_UNREADABLE"),),
    ),
    Bad(
        "zip_not_workbook",
        raw_bytes("第三批.xlsx", zip_not_workbook),
        "file",
        (Expect("error", "FILE_UNREADABLE"),),
    ),
    Bad("encrypted_xlsx", encrypted_xlsx, "file", (Expect("error", "FILE_ENCRYPTED"),)),
    Bad("oversize", oversize, "file", (Expect("error", "FILE_TOO_LARGE"),)),
    Bad("zip_bomb", zip_bomb, "file", (Expect("error", "FILE_ZIP_BOMB"),)),
    Bad(
        "unsupported_pdf",
        raw_bytes("第三批.pdf", b"%PDF-1.4\n"),
        "file",
        (Expect("error", "FILE_UNSUPPORTED"),),
    ),
    Bad(
        "no_extension", raw_bytes("第三批", valid_xlsx_bytes), "file", (Expect("error", "FILE_UNSUPPORTED"),)
    ),
    Bad(
        "csv_that_is_xlsx",
        raw_bytes("第三批.csv", valid_xlsx_bytes),
        "file",
        (Expect("error", "FILE_UNREADABLE"),),
    ),
    Bad(
        "xlsx_named_xls",
        raw_bytes("第三批.xls", valid_xlsx_bytes),
        "file",
        (Expect("error", "FILE_UNREADABLE"),),
    ),
    Bad(
        "xls_named_xlsx",
        xls(standard_sheet([case(1)]), name="第三批.xlsx"),
        "file",
        (Expect("error", "FILE_UNREADABLE"),),
    ),
    Bad(
        "html_named_xls",
        raw_bytes("第三批.xls", "<html><table><tr><td>受理编号</td></tr></table></html>".encode()),
        "file",
        (Expect("error", "FILE_UNREADABLE"),),
    ),
    Bad(
        "utf16_text",
        raw_bytes("第三批.txt", "\t".join(HEADERS).encode("utf-16")),
        "file",
        (Expect("error", "FILE_UNREADABLE"),),
    ),
    Bad(
        "csv_neither_utf8_nor_gbk",
        raw_bytes("第三批.csv", "受理编号,交办问题基本情况,行政区域\n".encode() + b"\x80\xff\x80\n"),
        "file",
        (Expect("error", "FILE_UNREADABLE"),),
    ),
    Bad(
        "only_empty_sheets",
        xlsx(Sheet("Sheet1", []), Sheet("Sheet2", [[None, "  "]])),
        "file",
        (Expect("error", "FILE_EMPTY"),),
    ),
    Bad(
        "no_header",
        xlsx(Sheet("Sheet1", [["关于第三批信访件的说明"], ["各县市区："], ["请于6月10日前反馈。"]])),
        "file",
        (Expect("error", "NO_HEADER"), Expect("warning", "SHEET_NO_HEADER", sheet="Sheet1")),
    ),
    *(
        Bad(
            f"missing_column_{missing}",
            table(case(1), headers=[h for h in HEADERS if h != missing]),
            "file",
            (Expect("error", "MISSING_COLUMN", row=2, sheet=SHEET),),
            also=names_missing(missing),
        )
        for missing in ("受理编号", "交办问题基本情况", "行政区域")
    ),
    Bad(
        "no_batch_anywhere",
        table(case(1), name="Sheet1", title="群众信访举报转办情况一览表"),
        "file",
        (Expect("error", "NO_BATCH"),),
    ),
    Bad(
        "only_a_notes_row", table(notes="注：本批次无本地交办件。"), "file", (Expect("error", "FILE_EMPTY"),)
    ),
    # --- rows are refused, the rest of the file loads ----------------------------------------
    Bad(
        "duplicate_case_id",
        table(case(1), case(2, 受理编号=case_id(1)), case(3)),
        "rows",
        (
            Expect("error", "CASE_ID_DUPLICATE", 3, "受理编号", case_id(1), SHEET),
            Expect("error", "CASE_ID_DUPLICATE", 4, "受理编号", case_id(1), SHEET),
        ),
        rows=(3, 1, 2),
    ),
    Bad(
        "blank_case_id",
        table(case(1, 受理编号="  "), case(2)),
        "rows",
        (Expect("error", "REQUIRED_VALUE", 3, "受理编号", ""),),
        rows=(2, 1, 1),
    ),
    Bad(
        "blank_summary",
        table(case(1), case(2, 交办问题基本情况=None)),
        "rows",
        (Expect("error", "REQUIRED_VALUE", 4, "交办问题基本情况", ""),),
        rows=(2, 1, 1),
    ),
    Bad(
        "blank_region",
        table(case(1), case(2, 行政区域="\u3000")),
        "rows",
        (Expect("error", "REQUIRED_VALUE", 4, "行政区域", ""),),
        rows=(2, 1, 1),
    ),
    Bad(
        "unknown_verified",
        table(closed_case(1, 是否属实="待核实"), case(2)),
        "rows",
        (Expect("error", "ENUM_VALUE", 3, "是否属实", "待核实"),),
        rows=(2, 1, 1),
    ),
    Bad(
        "unknown_status",
        table(case(1), case(2, 是否办结="处理中啦")),
        "rows",
        (Expect("error", "ENUM_VALUE", 4, "是否办结", "处理中啦"),),
        rows=(2, 1, 1),
    ),
    Bad(
        "legacy_xls_unknown_status",
        xls(standard_sheet([case(1), case(2, 是否办结="处理中啦")])),
        "rows",
        (Expect("error", "ENUM_VALUE", 4, "是否办结", "处理中啦", SHEET),),
        rows=(2, 1, 1),
    ),
    Bad(
        "unknown_type_configured_inspection",
        table(case(1, 问题类型="扬尘、油烟"), case(2)),
        "rows",
        (Expect("error", "POLLUTION_TYPE", 3, "问题类型", "扬尘、油烟"),),
        rows=(2, 1, 1),
    ),
    Bad(
        "negative_penalty",
        table(closed_case(1, **{"责令整改（家）": "-2家"}), case(2)),
        "rows",
        (Expect("error", "NUMBER_NEGATIVE", 3, "责令整改（家）", "-2家"),),
        rows=(2, 1, 1),
    ),
    Bad(
        "unparseable_penalty",
        table(closed_case(1, **{"罚款金额（元）": "若干"}), case(2)),
        "rows",
        (Expect("error", "NUMBER_FORMAT", 3, "罚款金额（元）", "若干"),),
        rows=(2, 1, 1),
    ),
    Bad(
        "boolean_penalty",
        table(closed_case(1, **{"责令整改（家）": True})),
        "rows",
        (Expect("error", "NUMBER_FORMAT", 3, "责令整改（家）", "True"),),
        rows=(1, 0, 1),
    ),
    Bad(
        "closed_without_findings",
        table(closed_case(1, 调查核实情况=None), case(2)),
        "rows",
        (Expect("error", "CLOSED_WITHOUT_FINDINGS", 3, "是否办结", "已办结"),),
        rows=(2, 1, 1),
    ),
    Bad(
        "struck_off_without_verified",
        table(closed_case(1, 是否办结="已销号", 是否属实=None)),
        "rows",
        (Expect("error", "CLOSED_WITHOUT_FINDINGS", 3, "是否办结", "已销号"),),
        rows=(1, 0, 1),
    ),
    Bad(
        "received_after_batch",
        table(case(1, 受理编号=case_id(1, "20240605")), case(2)),
        "rows",
        (Expect("error", "RECEIVED_AFTER_BATCH", 3, "受理编号", case_id(1, "20240605")),),
        rows=(2, 1, 1),
    ),
    Bad(
        "received_outside_period",
        table(case(1), case(2, 受理编号=case_id(2, "20240301"))),
        "rows",
        (Expect("error", "DATE_OUT_OF_PERIOD", 4, "受理编号", case_id(2, "20240301")),),
        rows=(2, 1, 1),
    ),
    Bad(
        "over_long_summary",
        table(case(1, 交办问题基本情况=LONG), case(2)),
        "rows",
        (Expect("error", "TEXT_TOO_LONG", 3, "交办问题基本情况", LONG),),
        rows=(2, 1, 1),
    ),
    Bad(
        "over_long_findings",
        table(closed_case(1, 调查核实情况="核" * 20001)),
        "rows",
        (Expect("error", "TEXT_TOO_LONG", 3, "调查核实情况", "核" * 20001),),
        rows=(1, 0, 1),
    ),
    Bad(
        "unreadable_received_date",
        table(case(1, 受理日期="六月初"), case(2, 受理日期="2024-06-02"), headers=[*HEADERS, "受理日期"]),
        "rows",
        (Expect("error", "DATE_FORMAT", 3, "受理日期", "六月初"),),
        rows=(2, 1, 1),
    ),
    Bad(
        "case_conflict_with_warehouse",
        table(case(1), case(2, 受理编号="D3HN2024060200X")),
        "rows",
        (
            Expect("error", "CASE_CONFLICT", 4, "交办问题基本情况", case(2)["交办问题基本情况"]),
            Expect("warning", "CASE_ID_PATTERN", 4, "受理编号", "D3HN2024060200X"),
        ),
        rows=(2, 1, 1),
        known={case_id(1): str(case(1)["交办问题基本情况"]), "D3HN2024060200X": "已入库的另一段内容"},
    ),
    Bad(
        "retyped_summary_of_a_known_case_loads",
        table(case(1), case(2)),
        "warning",
        (Expect("warning", "CASE_SUMMARY_DIFFERS", 4, "交办问题基本情况", case(2)["交办问题基本情况"]),),
        rows=(2, 2, 0),
        known={case_id(1): str(case(1)["交办问题基本情况"]), case_id(2): "已入库的另一段内容"},
    ),
    # --- accepted with a warning ------------------------------------------------------------
    Bad(
        "bad_id_pattern_is_flagged_not_dropped",
        table(case(1, 受理编号="D3600797202406020106"), case(2)),
        "warning",
        (Expect("warning", "CASE_ID_PATTERN", 3, "受理编号", "D3600797202406020106"),),
        rows=(2, 2, 0),
    ),
    Bad(
        "penalties_on_unfounded",
        table(closed_case(1, 是否属实="不属实")),
        "warning",
        (Expect("warning", "PENALTY_ON_UNFOUNDED", 3, "是否属实", "不属实"),),
        rows=(1, 1, 0),
    ),
    Bad(
        "hidden_sheet_skipped",
        xlsx(standard_sheet([case(1)]), Sheet("隐藏", grid([case(2)]), hidden=True)),
        "warning",
        (Expect("warning", "SHEET_HIDDEN", sheet="隐藏"),),
        rows=(1, 1, 0),
        also=hidden_not_read,
    ),
    Bad(
        "legacy_xls_hidden_sheet",
        xls(standard_sheet([case(1)]), Sheet("隐藏", grid([case(2)]), hidden=True)),
        "warning",
        (Expect("warning", "SHEET_HIDDEN", sheet="隐藏"),),
        rows=(1, 1, 0),
        also=hidden_not_read,
    ),
    Bad(
        "internal_contact_column",
        table(case(1, 联系电话="13812345678"), headers=HEADERS_PLUS),
        "warning",
        (Expect("warning", "COLUMN_INTERNAL", column="联系电话", sheet=SHEET),),
        rows=(1, 1, 0),
        also=internal_not_read,
    ),
    # --- odd but fine -----------------------------------------------------------------------
    Bad(
        "generic_profile_accepts_local_types",
        table(case(1, 问题类型="扬尘、油烟")),
        "ok",
        rows=(1, 1, 0),
        inspection=GENERIC,
        also=generic_accepts_local_types,
    ),
    Bad(
        "empty_extra_sheet_skipped_with_a_note",
        xlsx(standard_sheet([case(1)]), Sheet("Sheet2", []), Sheet("Sheet3", [[None]])),
        "warning",
        (Expect("warning", "SHEET_EMPTY", sheet="Sheet2"), Expect("warning", "SHEET_EMPTY", sheet="Sheet3")),
        rows=(1, 1, 0),
    ),
    Bad("header_repeated_mid_table", xlsx(REPEATED_HEADER), "ok", rows=(2, 2, 0), also=rows_are(3, 5)),
    Bad("total_and_subtotal_rows", xlsx(TOTAL_ROW), "ok", rows=(1, 1, 0), also=rows_are(3)),
    Bad("blank_rows_between_data", xlsx(BLANK_ROW), "ok", rows=(2, 2, 0), also=rows_are(3, 6)),
    Bad(
        "formulas_read_as_cached_values",
        table(
            closed_case(
                1,
                **{
                    "责令整改（家）": Formula("=1+1+5", 2),
                    "交办问题基本情况": Formula('="公式"&"文本"', "缓存的举报内容"),
                    "罚款金额（元）": Formula("=SUM(1,2)", "8000元"),
                },
            )
        ),
        "ok",
        rows=(1, 1, 0),
        also=formulas_read_cached,
    ),
    Bad("csv_gb18030", csv_file("第三批.csv", CSV_ROWS, "gb18030"), "ok", rows=(2, 2, 0), also=gb18030_read),
    Bad(
        "csv_utf8_bom",
        csv_file("第三批.csv", grid([case(1, 问题类型="水；大气")]), "utf-8-sig"),
        "ok",
        rows=(1, 1, 0),
        also=bom_read,
    ),
    Bad("tab_separated_txt", raw_bytes("第三批.txt", tsv(grid([case(1), case(2)]))), "ok", rows=(2, 2, 0)),
    Bad(
        "uppercase_extension_and_synonyms",
        xlsx(standard_sheet([closed_case(1, 是否属实="是", 是否办结="办结")]), name="第三批.XLSX"),
        "ok",
        rows=(1, 1, 0),
    ),
]


def test_at_least_thirty_distinct_bad_inputs() -> None:
    assert len({b.id for b in BAD}) == len(BAD) >= 30
    assert {b.outcome for b in BAD} == {"file", "rows", "warning", "ok"}


@pytest.mark.parametrize("bad", BAD, ids=[b.id for b in BAD])
def test_bad_input(bad: Bad, tmp_path: Path) -> None:
    path = bad.build(tmp_path)
    c = check(path, get_inspection(bad.inspection), known=bad.known)
    report = c.report
    for want in bad.expect:
        pool = c.errors if want.level == "error" else c.warnings
        assert any(want.matches(i) for i in pool), (want, pool)
    # Nothing else fires: the expected rules are the only ones.
    assert c.rules("errors") == {e.rule for e in bad.expect if e.level == "error"}, c.errors
    assert c.rules("warnings") == {e.rule for e in bad.expect if e.level == "warning"}, c.warnings
    if bad.outcome == "file":
        assert c.parsed.rejected
        assert report["ok"] is False
        assert report["rows"]["accepted"] == 0
        assert c.parsed.rows == []
        (file_error,) = c.errors
        assert file_error["row"] in (None, 2)  # file-level; MISSING_COLUMN names the header row
    elif bad.outcome == "rows":
        assert not c.parsed.rejected
        assert report["ok"] is False
        assert report["rows"]["rejected"] >= 1
        for e in c.errors:
            assert e["sheet"] and e["row"] and e["column"], e
            assert RULES[e["rule"]] in e["message"]
    else:
        assert report["ok"] is True
        assert report["rows"]["rejected"] == 0
        assert (not c.warnings) == (bad.outcome == "ok")
    if bad.rows is not None:
        r = report["rows"]
        assert (r["total"], r["accepted"], r["rejected"]) == bad.rows
    if bad.also:
        bad.also(c)


def test_rejected_row_raw_is_the_row_as_written(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "x.xlsx", standard_sheet([case(1, 是否办结="处理中啦", 行政区域="長沙市 嶽麓區")])
    )
    c = check(path, get_inspection(HN))
    (row,) = c.parsed.rows
    assert row.raw["是否办结"] == "处理中啦"
    assert row.raw["行政区域"] == "長沙市 嶽麓區"  # as written, not normalised
    assert row.raw["调查核实情况"] == ""
    assert set(row.raw) == set(HEADERS)


# --- bugs -------------------------------------------------------------------------------------


def test_numeric_cells_are_reported_as_written(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "n.xlsx", standard_sheet([closed_case(1, **{"责令整改（家）": -1})]))
    c = check(path, get_inspection(HN))
    (e,) = c.errors
    assert (e["rule"], e["column"]) == ("NUMBER_NEGATIVE", "责令整改（家）")
    assert e["value"] == "-1"
    assert c.parsed.rows[0].raw["序号"] == "1"


def test_excel_error_values_are_not_silently_blank(tmp_path: Path) -> None:
    row = closed_case(1, **{"责令整改（家）": Formula("=1/0", "#DIV/0!")})
    c = check(write_xlsx(tmp_path / "e.xlsx", standard_sheet([row])), get_inspection(HN))
    assert any(e["column"] == "责令整改（家）" and "#DIV/0!" in str(e["value"]) for e in c.errors), c.report


def test_pipe_in_a_type_cell_is_not_smuggled_past_the_type_check(tmp_path: Path) -> None:
    c = check(
        write_xlsx(tmp_path / "t.xlsx", standard_sheet([case(1, 问题类型="水|大气")])), get_inspection(HN)
    )
    types = c.parsed.rows[0].values["pollution_types"]
    assert types == ["水", "大气"] or "POLLUTION_TYPE" in c.rules("errors"), types


def test_odd_digit_in_batch_column_does_not_crash(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "b.xlsx", standard_sheet([case(1, 批次="፩")], headers=["批次", *HEADERS]))
    parsed = parse_file(path, get_inspection(HN))
    assert parsed.rows[0].batch_no == 3  # falls back to the title's batch


# --- property: nothing a clerk writes makes the pipeline raise --------------------------------


@pytest.fixture(scope="module")
def base_rows(tmp_path_factory: pytest.TempPathFactory) -> list[list[object]]:
    """The first rows of a generated (valid) batch workbook, as read."""
    root = tmp_path_factory.mktemp("sample")
    summary = generate(root, HN, days=1, seed=11, progress=False)
    sheets, _ = read_raw(summary.files[0])
    rows = sheets[0].rows
    return [list(r) for r in rows[:14]] + [list(rows[-1])]  # title, header, 12 cases, the notes row


CELL = st.one_of(
    st.none(),
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8", categories=["Cc", "Cf", "Zs", "So"]), max_size=20),
    st.sampled_from(
        [
            "😀🌊",
            "——",
            "—",
            "第፩批",
            "第二十批",
            "D3HN202406020001",
            "X9XX999999999999",
            "-3",
            "1.5万元",
            "若干",
            "=1+1",
            "水|大气",
            "合计",
            "注：",
            "受理编号",
            "已办结",
            "不属实",
            "0",
            "\x00\x01\x1f",
            "  ",
        ]
    ),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.builds(lambda n: "长" * n, st.integers(min_value=4990, max_value=21000)),
)


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_parse_and_validate_never_raise(base_rows: list[list[object]], data: st.DataObject) -> None:
    rows = [list(r) for r in base_rows]
    width = len(rows[1])
    mutations = data.draw(
        st.lists(
            st.tuples(st.integers(0, len(rows) - 1), st.integers(0, width), CELL),
            min_size=1,
            max_size=25,
        )
    )
    for r, c, value in mutations:
        rows[r] += [None] * (c + 1 - len(rows[r]))
        rows[r][c] = value
    with tempfile.TemporaryDirectory() as d:
        path = write_xlsx(Path(d) / "第一批交办清单.xlsx", Sheet("第一批", rows))
        parsed = parse_file(path, get_inspection(HN))
        validate(shared_validator(), parsed, {"D3HN202405310001": "另一段内容"})
        report = file_report(parsed)
    for issue in [*report["errors"], *report["warnings"]]:  # type: ignore[misc]
        assert issue["rule"] in RULES
        assert issue["level"] in ("error", "warning")
    rows_ = report["rows"]
    assert rows_["accepted"] + rows_["rejected"] == rows_["total"] == len(parsed.rows)
