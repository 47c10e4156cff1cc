"""The blank input workbook: recognised by intake, validated where the clerk types."""

from __future__ import annotations

import datetime as dt
import zipfile
from dataclasses import replace
from pathlib import Path

import openpyxl
import pytest

from ducha.config import Inspection, get_inspection
from ducha.contract import load_contract, strip_unit
from ducha.intake.parse import parse_file
from ducha.intake.template import (
    LAST_DATA_ROW,
    SHEET_FORM,
    SHEET_HELP,
    SHEET_LISTS,
    TITLE_PLACEHOLDER,
    template_title,
    write_template,
)
from ducha.intake.validator import Validator
from ducha.text import header_key
from tests.unit.intake.conftest import validate

HN = "c3-hn-2024"
PENALTIES = [
    "责令整改（家）",
    "立案处罚（家）",
    "罚款金额（元）",
    "立案侦查（件）",
    "行政拘留（人）",
    "刑事拘留（人）",
    "约谈（人）",
    "问责（人）",
]
CENTRAL11 = [
    "序号",
    "受理编号",
    "交办问题基本情况",
    "行政区域",
    "问题类型",
    "调查核实情况",
    "是否属实",
    "办结目标",
    "处理和整改情况",
    "是否办结",
    "责任人被处理情况",
]
STANDARD9 = [
    "序号",
    "受理编号",
    "交办问题基本情况",
    "行政区域",
    "污染类型",
    "调查核实情况",
    "是否属实",
    "处理和整改情况",
    "责任人被处理情况",
]
EXTRAS = ["批次", "重点关注", "重复件"]

# Three valid cases, by header; a header the template lacks is skipped.
ROWS = [
    {
        "序号": 1,
        "受理编号": "D3HN202406020040",
        "交办问题基本情况": "长沙市岳麓区某搅拌站夜间施工，粉尘和噪声扰民。",
        "行政区域": "长沙市",
        "问题类型": "大气、噪声",
        "污染类型": "大气、噪声",
        "调查核实情况": "经现场核查，该搅拌站未落实抑尘措施，夜间违规施工。",
        "是否属实": "属实",
        "办结目标": "2024年6月底前完成整改",
        "处理和整改情况": "处理情况：责令整改，罚款5000元。整改情况：已加装喷淋设施。",
        "是否办结": "已办结",
        "责任人被处理情况": "无",
        "批次": "3",
        "重点关注": "是",
        "责令整改（家）": 1,
        "立案处罚（家）": 1,
        "罚款金额（元）": 5000,
    },
    {
        "序号": 2,
        "受理编号": "X3HN202406020007",
        "交办问题基本情况": "湘潭县某养殖场废水直排河沟。",
        "行政区域": "湘潭县",
        "问题类型": "水",
        "污染类型": "水",
        "是否办结": "正在办理",
        "批次": "第三批",
        "重点关注": "否",
    },
    {
        "序号": 3,
        "受理编号": "D3HN202406020112",
        "交办问题基本情况": "衡阳市某小区餐饮油烟扰民。",
        "行政区域": "衡阳市",
        "问题类型": "大气",
        "污染类型": "大气",
        "调查核实情况": "经核查，反映问题部分属实。",
        "是否属实": "部分属实",
        "是否办结": "阶段性办结",
        "重复件": "D3HN202406020040",
        "约谈（人）": 2,
    },
]


@pytest.fixture(scope="module")
def validator() -> Validator:
    return Validator()  # importing great_expectations costs seconds: once per module


@pytest.fixture(scope="module")
def hn() -> Inspection:
    return get_inspection(HN)


@pytest.fixture(scope="module")
def generic() -> Inspection:
    return get_inspection(None)


@pytest.fixture(scope="module")
def hn_file(tmp_path_factory: pytest.TempPathFactory, hn: Inspection) -> Path:
    return write_template(tmp_path_factory.mktemp("tpl") / "hn.xlsx", hn)


@pytest.fixture(scope="module")
def generic_file(tmp_path_factory: pytest.TempPathFactory, generic: Inspection) -> Path:
    return write_template(tmp_path_factory.mktemp("tpl") / "generic.xlsx", generic)


def headers(path: Path) -> list[str]:
    ws = openpyxl.load_workbook(path)[SHEET_FORM]
    return [c.value for c in ws[2] if c.value]


def validations(path: Path) -> dict[str, object]:
    """Header -> the data validation on its column (rows 3..2002)."""
    wb = openpyxl.load_workbook(path)
    ws = wb[SHEET_FORM]
    by_letter = {c.column_letter: c.value for c in ws[2]}
    out = {}
    for dv in ws.data_validations.dataValidation:
        ranges = str(dv.sqref).split()
        assert len(ranges) == 1
        first, last = ranges[0].split(":")
        letter = first.rstrip("0123456789")
        assert first == f"{letter}3" and last == f"{letter}{LAST_DATA_ROW}"
        out[by_letter[letter]] = dv
    return out


def list_values(path: Path, formula: str) -> list[str]:
    """The values of a list validation: inline ("a,b") or a range of the lists sheet."""
    if formula.startswith('"'):
        return formula.strip('"').split(",")
    sheet, ref = formula.lstrip("=").split("!")
    assert sheet.strip("'") == SHEET_LISTS
    ws = openpyxl.load_workbook(path)[SHEET_LISTS]
    return [c.value for row in ws[ref.replace("$", "")] for c in row]


def fill(template: Path, out: Path, title: str) -> Path:
    wb = openpyxl.load_workbook(template)
    ws = wb[SHEET_FORM]
    ws["A1"] = title
    cols = {c.value: c.column for c in ws[2] if c.value}
    for r, values in enumerate(ROWS, start=3):
        for header, value in values.items():
            if header in cols:
                ws.cell(row=r, column=cols[header], value=value)
    out.parent.mkdir(parents=True, exist_ok=True)
    wb.save(out)
    return out


# --- the header -----------------------------------------------------------------------


def test_headers_hn(hn_file: Path) -> None:
    assert headers(hn_file) == [*CENTRAL11, *EXTRAS, *PENALTIES]


def test_headers_generic(generic_file: Path) -> None:
    assert headers(generic_file) == [*STANDARD9, *EXTRAS, *PENALTIES]


def test_fine_unit_in_header(tmp_path: Path, hn: Inspection) -> None:
    path = write_template(tmp_path / "wan.xlsx", replace(hn, fine_unit="万元"))
    assert "罚款金额（万元）" in headers(path)


@pytest.mark.parametrize("which", ["hn_file", "generic_file"])
def test_every_header_is_a_contract_alias(which: str, request: pytest.FixtureRequest) -> None:
    index = load_contract().alias_index()
    fields = [index.get(strip_unit(header_key(h))) for h in headers(request.getfixturevalue(which))]
    assert None not in fields
    assert len(set(fields)) == len(fields)


def test_title_frozen_pane_and_notes(hn_file: Path, hn: Inspection) -> None:
    wb = openpyxl.load_workbook(hn_file)
    ws = wb[SHEET_FORM]
    assert wb.sheetnames == [SHEET_FORM, SHEET_HELP, SHEET_LISTS]
    assert wb.active.title == SHEET_FORM
    assert ws["A1"].value == template_title(hn)
    assert ws["A1"].value.startswith("群众信访举报办理情况填报表（第N批 YYYY年M月D日）")
    assert hn.name in ws["A1"].value
    assert f"A1:{ws.cell(row=2, column=ws.max_column).column_letter}1" in {
        str(r) for r in ws.merged_cells.ranges
    }
    assert ws.freeze_panes == "C3"  # title, header, 序号 and 受理编号 stay in view
    for cell in ws[2]:
        assert cell.comment is not None and cell.value in cell.comment.text
        assert cell.alignment.wrap_text
    assert "D3HN202406020040" in ws["B2"].comment.text
    assert ws.column_dimensions["C"].width >= 30  # 交办问题基本情况: wide
    assert wb[SHEET_LISTS].sheet_state == "hidden"


# --- data validation ------------------------------------------------------------------


def test_validations_hn(hn_file: Path, hn: Inspection) -> None:
    c = load_contract()
    dvs = validations(hn_file)

    for header, vocab in (("是否属实", "verified"), ("是否办结", "status")):
        dv = dvs[header]
        assert dv.type == "list" and dv.errorStyle in (None, "stop")
        assert list_values(hn_file, dv.formula1) == list(c.vocabularies[vocab].values)
    assert list_values(hn_file, dvs["重点关注"].formula1) == ["是", "否"]

    types = dvs["问题类型"]
    assert types.type == "list" and types.errorStyle == "information"  # "水、大气" can be typed
    assert list_values(hn_file, types.formula1) == list(hn.pollution_types)

    region = dvs["行政区域"]
    assert region.type == "list" and region.errorStyle == "warning"
    assert not region.formula1.startswith('"')  # too long to inline: from the lists sheet
    expected = [name for r in hn.regions for name in (r.name, *r.counties)]
    assert list_values(hn_file, region.formula1) == expected
    assert {"长沙市", "岳麓区", "湘西土家族苗族自治州", "吉首市"} <= set(expected)

    case_id = dvs["受理编号"]
    assert case_id.type == "custom" and case_id.errorStyle == "warning"
    assert "LEN(B3)=16" in case_id.formula1
    assert "D3HN202406020040" in case_id.prompt

    for header in PENALTIES:
        dv = dvs[header]
        assert (dv.type, dv.operator, dv.formula1) == ("decimal", "greaterThanOrEqual", "0")

    batch = dvs["批次"]
    assert batch.type in (None, "none") and "第三批" in batch.prompt


def test_validations_generic(generic_file: Path) -> None:
    c = load_contract()
    dvs = validations(generic_file)
    assert "行政区域" not in dvs  # no configured regions: nothing to choose from
    assert "是否办结" not in dvs  # standard9 has no status column
    types = dvs["污染类型"]
    assert types.errorStyle == "information"
    assert list_values(generic_file, types.formula1) == list(c.vocabularies["pollution_types"].values)
    assert list_values(generic_file, dvs["是否属实"].formula1) == list(c.vocabularies["verified"].values)


def test_long_list_comes_from_lists_sheet(tmp_path: Path, hn: Inspection) -> None:
    many = tuple(f"第{i}类很长很长的污染类型名称" for i in range(30))
    path = write_template(tmp_path / "long.xlsx", replace(hn, pollution_types=many))
    dv = validations(path)["问题类型"]
    assert not dv.formula1.startswith('"')
    assert list_values(path, dv.formula1) == list(many)


# --- the instructions -----------------------------------------------------------------


@pytest.mark.parametrize("which", ["hn_file", "generic_file"])
def test_instructions_list_every_header(which: str, request: pytest.FixtureRequest) -> None:
    path = request.getfixturevalue(which)
    ws = openpyxl.load_workbook(path)[SHEET_HELP]
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    head = rows.index(["列名", "是否必填", "填写要求", "示例"])
    end = next(i for i in range(head + 1, len(rows)) if not any(rows[i]))
    by_header = {r[0]: r for r in rows[head + 1 : end]}
    assert len(by_header) == end - head - 1  # one row per column
    for h in headers(path):
        assert h in by_header, h
        assert by_header[h][1] in ("必填", "办结时必填", "选填") and by_header[h][2]
    for required in ("受理编号", "交办问题基本情况", "行政区域"):
        assert by_header[required][1] == "必填"
    text = "\n".join(str(v) for r in rows for v in r if v)
    for phrase in (
        "第N批….xlsx",
        TITLE_PLACEHOLDER,
        "（第三批 2024年6月3日）",
        "D3HN202406020040",
        "一件举报可涉及多个污染类型",
        "顿号「、」",
        "电话号码",
        "身份证号码",
        "属实、基本属实、部分属实、不属实",
        "已办结、阶段性办结、正在办理、未办结、验收销号",
        "单位见列名",
    ):
        assert phrase in text, phrase


def test_the_guidance_names_the_contracts_words(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A deployment that calls 是否属实 核查结论 (its own contract.yaml) gets instructions
    and dropdown titles in its words: the template writes none of its own."""
    from ducha.config_files import config_path

    own = tmp_path / "conf"
    own.mkdir()
    shipped = config_path("contract.yaml").read_text(encoding="utf-8")
    own_contract = shipped.replace("label: 是否属实,   ", "label: 核查结论,   ").replace(
        "label: 调查核实情况,", "label: 核查经过,"
    )
    assert own_contract.count("核查结论") == 1 and own_contract.count("核查经过") == 1
    (own / "contract.yaml").write_text(own_contract, encoding="utf-8")
    monkeypatch.setenv("DUCHA_CONFIG_DIR", str(own))
    assert load_contract().fields["verified"].label == "核查结论"
    path = write_template(tmp_path / "t.xlsx", get_inspection(HN))
    book = openpyxl.load_workbook(path)
    text = "\n".join(
        str(v)
        for name in (SHEET_HELP, SHEET_LISTS)
        for r in book[name].iter_rows()
        for v in (c.value for c in r)
        if v
    )
    assert "「核查经过」和「核查结论」" in text and "可选值：核查结论" in text
    assert "「调查核实情况」和「是否属实」" not in text and "可选值：是否属实" not in text


# --- round trip through intake and the quality suite -----------------------------------


@pytest.mark.parametrize("which", ["hn_file", "generic_file"])
def test_filled_template_is_accepted(
    which: str, request: pytest.FixtureRequest, validator: Validator, tmp_path: Path
) -> None:
    template: Path = request.getfixturevalue(which)
    insp: Inspection = request.getfixturevalue("hn" if which == "hn_file" else "generic")
    title = template_title(insp).replace(TITLE_PLACEHOLDER, "（第三批 2024年6月3日）")
    path = fill(template, tmp_path / "第三批交办件办理情况.xlsx", title)

    # openpyxl kept the validations and notes when it saved the clerk's copy
    assert len(validations(path)) == len(validations(template))

    parsed = parse_file(path, insp)
    validate(validator, parsed)
    assert not parsed.rejected, parsed.issues
    assert [i.rule for i in parsed.issues if i.level == "error"] == []
    # The two helper sheets are skipped, and said so (warnings only).
    assert {(i.rule, i.sheet) for i in parsed.issues} <= {
        ("SHEET_HIDDEN", SHEET_LISTS),
        ("SHEET_NO_HEADER", SHEET_HELP),
    }
    assert parsed.sheets == [SHEET_FORM]
    assert len(parsed.rows) == 3
    assert [r.issues for r in parsed.rows] == [[], [], []]
    assert parsed.batch == (3, dt.date(2024, 6, 3))  # not 4, from the name's "第四批"
    assert [r.batch_no for r in parsed.rows] == [3, 3, 3]

    first, second, third = (r.values for r in parsed.rows)
    assert first["case_id"] == "D3HN202406020040"
    assert first["pollution_types"] == ["大气", "噪声"]
    assert first["key_case"] is True and second["key_case"] is False
    assert first["fine_amount"] == 5000
    assert first["rectify_orders"] == 1
    assert third["interviews"] == 2
    assert third["duplicate_of"] == "D3HN202406020040"
    assert second["region"] == "湘潭县"
    if which == "hn_file":
        assert first["status"] == "已办结"


# --- determinism ----------------------------------------------------------------------


def test_deterministic_bytes(tmp_path: Path, hn: Inspection, generic: Inspection) -> None:
    a = write_template(tmp_path / "a.xlsx", hn).read_bytes()
    b = write_template(tmp_path / "b.xlsx", hn).read_bytes()
    assert a == b
    assert write_template(tmp_path / "c.xlsx", generic).read_bytes() != a
    with zipfile.ZipFile(tmp_path / "a.xlsx") as zf:
        core = zf.read("docProps/core.xml").decode()
        assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in zf.infolist())
    assert "2024-01-01T00:00:00Z" in core


def test_out_folder_and_no_leftovers(tmp_path: Path, hn: Inspection) -> None:
    path = write_template(tmp_path, hn)
    assert path == tmp_path / f"填报模板（{HN}）.xlsx"
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]
