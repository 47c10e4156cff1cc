"""The blank input workbook a clerk fills in: errors prevented where they start.

``write_template(out, inspection)`` writes one .xlsx with three sheets:

- 「填报表」: a merged title row, the header (the inspection's disclosure layout plus
  批次, 重点关注, 重复件 and the penalty columns, every header an alias intake
  recognises), a note on every header cell saying what the column expects, and
  Excel data validation on rows 3..2002 (dropdowns, numbers, the case-ID shape).
- 「填写说明」: the instructions in Chinese, one row per column, then the allowed values.
- 「选项」 (hidden): the dropdown lists. Excel caps an inline list at 255 characters,
  so a longer list (the regions, always) is referenced from here by range.

Choices worth knowing:

- The title carries the batch placeholder before the inspection name:
  "群众信访举报办理情况填报表（第N批 YYYY年M月D日）（{name}）". Intake reads the first
  "第…批" above the header, and inspection names contain one ("第三轮第四批中央…"),
  so the clerk's 第N批 must come first.
- 问题类型/污染类型 is a dropdown with error_type "information": one case can have
  several types ("水、大气"), which a list validation would refuse; "information" lets
  typed values through after a note instead of blocking them.
- 行政区域 offers the configured cities and counties with error_type "warning":
  development zones (高新区, 新区) and "city+county" names ("长沙市岳麓区") are valid
  too. The generic profile has no regions, so no validation there.
- 受理编号 is checked by a custom formula with error_type "warning": malformed IDs are
  flagged by intake, never dropped, so the clerk may keep one after the warning.
- 受理编号, 重复件 and 批次 columns are formatted as text, so Excel neither turns an
  ID into a number nor a typed "3" in 批次 into 3.0.
- The bytes are deterministic: a fixed creation date, in-memory packaging (fixed zip
  timestamps), nothing taken from the clock or the environment.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import xlsxwriter
from xlsxwriter.utility import quote_sheetname, xl_col_to_name, xl_rowcol_to_cell

from ducha.config import Inspection
from ducha.contract import Contract, load_contract, strip_unit
from ducha.layouts import layouts

SHEET_FORM = "填报表"
SHEET_HELP = "填写说明"
SHEET_LISTS = "选项"
TITLE = "群众信访举报办理情况填报表"
TITLE_PLACEHOLDER = "（第N批 YYYY年M月D日）"
FIRST_DATA_ROW = 3  # Excel row numbers, as the clerk sees them
LAST_DATA_ROW = 2002
CREATED = dt.datetime(2024, 1, 1, 0, 0, 0)  # fixed: the same inspection gives the same bytes
EXAMPLE_ID = "D3HN202406020040"
INLINE_LIST_LIMIT = 255  # Excel's limit for a list typed into the validation itself
MESSAGE_LIST_LIMIT = 200  # values listed in a 255-character message box; longer: "see the list"

EXTRA_FIELDS = ("batch", "key_case", "duplicate_of")  # after the layout's columns
PENALTY_FIELDS = tuple(load_contract().penalty_fields)  # the contract's order
EXTRA_WIDTHS = {"batch": 9, "key_case": 9, "duplicate_of": 20, "fine_amount": 13}
# Fields a closed case must have (quality rule CLOSED_WITHOUT_FINDINGS).
REQUIRED_WHEN_CLOSED = ("findings", "verified")


@dataclass(frozen=True)
class TemplateColumn:
    field: str
    header: str
    width: float
    required: str  # 必填 / 办结时必填 / 选填
    rule: str  # what the column expects, in the clerk's words
    example: str


def write_template(out: Path, inspection: Inspection) -> Path:
    """Write the blank input workbook for ``inspection`` to ``out`` and return its path.

    ``out`` may be an existing folder: the file is then named 「填报模板（{id}）.xlsx」.
    The file appears under its final name only when complete.
    """
    out = Path(out)
    if out.is_dir():
        out = out / f"填报模板（{inspection.id}）.xlsx"
    out.parent.mkdir(parents=True, exist_ok=True)
    contract = load_contract()
    columns = template_columns(inspection, contract)
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        wb = xlsxwriter.Workbook(str(tmp), {"in_memory": True, "strings_to_numbers": False})
        wb.set_properties(
            {
                "title": f"{TITLE}（{inspection.name}）",
                "subject": "群众信访举报办理情况填报模板",
                "author": "ducha",
                "comments": f"inspection={inspection.id}",
                "created": CREATED,
            }
        )
        form = wb.add_worksheet(SHEET_FORM)
        help_ws = wb.add_worksheet(SHEET_HELP)
        lists_ws = wb.add_worksheet(SHEET_LISTS)
        sources = _write_lists(lists_ws, inspection, contract)
        lists_ws.hide()
        _write_form(wb, form, inspection, columns, sources)
        _write_help(wb, help_ws, inspection, contract, columns)
        form.activate()
        wb.close()
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def template_title(inspection: Inspection) -> str:
    """The title row as written in the blank template."""
    return f"{TITLE}{TITLE_PLACEHOLDER}（{inspection.name}）"


def example_case_id(inspection: Inspection) -> str:
    """An ID of the inspection's shape: D + round + province code + the day after the start + 0040."""
    if inspection.round is None or not inspection.province_code or inspection.period_start is None:
        return EXAMPLE_ID
    day = inspection.period_start + dt.timedelta(days=1)
    return f"D{inspection.round % 10}{inspection.province_code}{day:%Y%m%d}0040"


def template_columns(inspection: Inspection, contract: Contract | None = None) -> list[TemplateColumn]:
    """The template's columns, in order: the layout's, then 批次, 重点关注, 重复件, penalties."""
    c = contract or load_contract()
    layout = layouts()[inspection.layout]
    out: list[TemplateColumn] = []
    for col in layout.columns:
        out.append(_column(col.field, col.header, col.width, inspection, c))
    for name in (*EXTRA_FIELDS, *PENALTY_FIELDS):
        if any(x.field == name for x in out):
            continue
        header = c.fields[name].label
        if name == "fine_amount":
            header = f"{header}（{inspection.fine_unit}）"
        width = EXTRA_WIDTHS.get(name, max(10.0, 2 * len(header) + 1))
        out.append(_column(name, header, width, inspection, c))
    return out


# --- what each column expects ----------------------------------------------------------


def _column(field: str, header: str, width: float, insp: Inspection, c: Contract) -> TemplateColumn:
    example_id = example_case_id(insp)
    verified = "、".join(c.vocabularies["verified"].values)
    status = "、".join(c.vocabularies["status"].values)
    types = "、".join(insp.pollution_types)
    city = insp.regions[0] if insp.regions else None
    region_example = (city.name + (city.counties[0] if city.counties else "")) if city else "某某市某某区"
    unit = {"家": "家数", "件": "件数", "人": "人数"}
    closed = c.closed_label  # the guidance names the contract's words, not its own
    specs: dict[str, tuple[str, str]] = {
        "seq": ("本批次内的序号，从 1 起的整数", "1"),
        "case_id": (
            "16 位：D（来电）或 X（来信）+ 督察轮次 1 位数字 + 省份代码 2 个大写字母"
            " + 受理日期 8 位（YYYYMMDD）+ 当日序号 4 位；按交办清单原样填写，不加批次前缀",
            example_id,
        ),
        "summary": (
            "交办清单中的举报内容，原样填写；不得填写举报人姓名、电话、身份证号码",
            "某公司夜间偷排废水……",
        ),
        "region": (
            "问题所在的市、县（区）名称"
            + ("，可从下拉列表选择；开发区、新区等可直接输入" if insp.regions else ""),
            region_example,
        ),
        "pollution_types": (f"可选：{types}；涉及多个类型时用顿号「、」分隔", "水、大气"),
        "findings": (f"调查核实的经过和结论；{closed}的案件必填", "经现场核查，该公司……"),
        "verified": (f"从下拉列表选择：{verified}；{closed}的案件必填", c.vocabularies["verified"].values[0]),
        "target": ("办结目标或整改目标及整改措施", "2024年7月底前完成整改"),
        "handling": ("处理情况和整改情况，可写成「处理情况：…… 整改情况：……」", "处理情况：责令停产整治……"),
        "status": (f"从下拉列表选择：{status}", closed),
        "accountability": ("责任人被处理的情况；没有时填「无」", "无"),
        "remarks": ("其他需要说明的情况", ""),
        "batch": ("交办批次：数字或「第N批」，如 3 或 第三批；不填时取标题中的批次", "第三批"),
        "key_case": ("重点关注件填「是」，否则填「否」或留空", "否"),
        "duplicate_of": ("重复举报时填写此前同一问题的受理编号，否则留空", example_id),
        "fine_amount": (f"只填数字（单位：{insp.fine_unit}，不写单位）；没有填 0 或留空", "5000"),
    }
    kind = c.fields[field].kind
    if field in specs:
        rule, example = specs[field]
    elif kind == "count":
        what = unit.get(header[-2:-1], "数量")
        rule, example = (f"只填{what}，不小于 0 的整数（单位见列名，不写单位）；没有填 0 或留空", "0")
    else:
        rule, example = ("按实际情况填写", "")
    if c.fields[field].required:
        required = "必填"
    elif field in REQUIRED_WHEN_CLOSED:
        required = "办结时必填"
    else:
        required = "选填"
    return TemplateColumn(field, header, float(width), required, rule, example)


# --- the hidden lists sheet -----------------------------------------------------------


def _region_names(insp: Inspection) -> list[str]:
    names: list[str] = []
    for r in insp.regions:
        for name in (r.name, *r.counties):
            if name not in names:
                names.append(name)
    return names


def _label(c: Contract, field: str) -> str:
    """A field's header as the clerk sees it: guidance names the contract's words."""
    return c.fields[field].label


def _write_lists(ws, insp: Inspection, c: Contract) -> dict[str, list[str] | str]:
    """Every dropdown list as a column of 「选项」; the validation source for each field:
    the values themselves when short enough to inline, else a range of this sheet."""
    lists: dict[str, tuple[str, list[str]]] = {
        "verified": (f"可选值：{_label(c, 'verified')}", list(c.vocabularies["verified"].values)),
        "status": (f"可选值：{_label(c, 'status')}", list(c.vocabularies["status"].values)),
        "key_case": (f"可选值：{_label(c, 'key_case')}", ["是", "否"]),
        "pollution_types": (f"可选值：{_label(c, 'pollution_types')}", list(insp.pollution_types)),
    }
    if insp.regions:
        lists["region"] = (f"可选值：{_label(c, 'region')}", _region_names(insp))
    sources: dict[str, list[str] | str] = {}
    for col, (field, (title, values)) in enumerate(lists.items()):
        ws.write_string(0, col, title)
        for row, value in enumerate(values, start=1):
            ws.write_string(row, col, value)
        ws.set_column(col, col, 20)
        letter = xl_col_to_name(col)
        ref = f"={quote_sheetname(SHEET_LISTS)}!${letter}$2:${letter}${len(values) + 1}"
        inline = len(",".join(values)) <= INLINE_LIST_LIMIT and field != "region"
        sources[field] = values if inline else ref
    return sources


# --- the form ------------------------------------------------------------------------


def _write_form(wb, ws, insp: Inspection, columns: list[TemplateColumn], sources: dict) -> None:
    title_fmt = wb.add_format(
        {"bold": True, "font_size": 16, "align": "center", "valign": "vcenter", "text_wrap": True}
    )
    head_fmt = wb.add_format(
        {
            "bold": True,
            "align": "center",
            "valign": "vcenter",
            "text_wrap": True,
            "border": 1,
            "bg_color": "#DDEBF7",
        }
    )
    required_fmt = wb.add_format(
        {
            "bold": True,
            "align": "center",
            "valign": "vcenter",
            "text_wrap": True,
            "border": 1,
            "bg_color": "#FCE4D6",
        }
    )
    text_fmt = wb.add_format({"text_wrap": True, "valign": "top"})
    as_text_fmt = wb.add_format({"text_wrap": True, "valign": "top", "num_format": "@"})
    number_fmt = wb.add_format({"valign": "top"})

    last = len(columns) - 1
    ws.merge_range(0, 0, 0, last, template_title(insp), title_fmt)
    ws.set_row(0, 36)
    ws.set_row(1, 42)
    for i, col in enumerate(columns):
        if col.field in ("case_id", "duplicate_of", "batch"):
            fmt = as_text_fmt
        elif col.field in PENALTY_FIELDS or col.field == "seq":
            fmt = number_fmt
        else:
            fmt = text_fmt
        ws.set_column(i, i, col.width, fmt)
        ws.write_string(1, i, col.header, required_fmt if col.required == "必填" else head_fmt)
        note = f"{col.header}（{col.required}）\n{col.rule}"
        if col.example:
            note += f"\n示例：{col.example}"
        ws.write_comment(1, i, note, {"author": "ducha", "x_scale": 2.2, "y_scale": 1.6})
        _validate(ws, i, col, insp, sources)
    id_col = next((i for i, c in enumerate(columns) if c.field == "case_id"), -1)
    ws.freeze_panes(2, id_col + 1)
    ws.set_selection(FIRST_DATA_ROW - 1, 0, FIRST_DATA_ROW - 1, 0)
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.repeat_rows(1)
    ws.fit_to_pages(1, 0)


def _allowed(values: list[str] | tuple[str, ...]) -> str:
    """The allowed values for a message box (Excel: at most 255 characters)."""
    text = "、".join(values)
    return text if len(text) <= MESSAGE_LIST_LIMIT else "见下拉列表或「填写说明」工作表"


def _dv(ws, col: int, options: dict) -> None:
    rc = ws.data_validation(FIRST_DATA_ROW - 1, col, LAST_DATA_ROW - 1, col, options)
    if rc != 0:  # xlsxwriter only warns: a silently missing validation is worse
        raise ValueError(f"data validation on column {col} rejected ({rc}): {options}")


def _validate(ws, i: int, col: TemplateColumn, insp: Inspection, sources: dict) -> None:
    f = col.field
    if f in ("verified", "status", "key_case"):
        _dv(
            ws,
            i,
            {
                "validate": "list",
                "source": sources[f],
                "error_type": "stop",
                "input_title": col.header,
                "input_message": "请从下拉列表中选择",
                "error_title": "取值不在允许范围内",
                "error_message": "请从下拉列表中选择：" + _allowed(_values(sources[f], f, insp)),
            },
        )
    elif f == "pollution_types":
        _dv(
            ws,
            i,
            {
                "validate": "list",
                "source": sources[f],
                # "information": several types ("水、大气") can still be typed in.
                "error_type": "information",
                "input_title": col.header,
                "input_message": "从下拉列表选择一个类型；涉及多个类型时直接输入，用顿号分隔，如：水、大气",
                "error_title": "请核对污染类型",
                "error_message": "多个类型请用顿号「、」分隔，每个类型须为："
                + _allowed(insp.pollution_types),
            },
        )
    elif f == "region" and insp.regions:
        _dv(
            ws,
            i,
            {
                "validate": "list",
                "source": sources["region"],
                "error_type": "warning",
                "input_title": col.header,
                "input_message": "从下拉列表选择市或县（区）；开发区、新区或「市+区县」可直接输入",
                "error_title": "请核对行政区域",
                "error_message": "不在本次督察的市、县（区）列表中。开发区、新区等请选「是」保留。",
            },
        )
    elif f == "case_id":
        ref = xl_rowcol_to_cell(FIRST_DATA_ROW - 1, i)
        formula = (
            f'=AND(LEN({ref})=16,OR(LEFT({ref},1)="D",LEFT({ref},1)="X"),ISNUMBER(--MID({ref},2,1)),'
            f"CODE(MID({ref},3,1))>=65,CODE(MID({ref},3,1))<=90,"
            f"CODE(MID({ref},4,1))>=65,CODE(MID({ref},4,1))<=90,ISNUMBER(--MID({ref},5,12)))"
        )
        _dv(
            ws,
            i,
            {
                "validate": "custom",
                "value": formula,
                "error_type": "warning",
                "input_title": "受理编号（16位）",
                "input_message": f"D/X + 轮次 + 省份代码 + 受理日期 8 位 + 序号 4 位\n例：{example_case_id(insp)}",
                "error_title": "受理编号格式不符",
                "error_message": f"应为 16 位，如 {example_case_id(insp)}。如交办清单原样如此，请选「是」保留。",
            },
        )
    elif f in PENALTY_FIELDS:
        unit = f"（单位：{insp.fine_unit}）" if f == "fine_amount" else "（单位见列名）"
        _dv(
            ws,
            i,
            {
                "validate": "decimal",
                "criteria": ">=",
                "value": 0,
                "error_type": "stop",
                "input_title": col.header,
                "input_message": f"只填数字，不写单位{unit}；没有填 0 或留空",
                "error_title": "请填写数字",
                "error_message": "只能填写不小于 0 的数字，不写单位。",
            },
        )
    elif f == "batch":
        _dv(
            ws,
            i,
            {
                "validate": "any",
                "input_title": "批次",
                "input_message": "填 1 至 99 的数字或「第N批」，如 3 或 第三批；不填时取标题中的批次",
            },
        )
    elif f == "seq":
        _dv(
            ws,
            i,
            {
                "validate": "whole",
                "criteria": ">=",
                "value": 1,
                "error_type": "warning",
                "input_title": "序号",
                "input_message": "本批次内的序号：1、2、3……",
                "error_title": "序号应为正整数",
                "error_message": "序号应为从 1 起的整数。",
            },
        )
    elif f == "duplicate_of":
        _dv(
            ws,
            i,
            {
                "validate": "any",
                "input_title": "重复件",
                "input_message": f"重复举报时填此前同一问题的受理编号，如 {example_case_id(insp)}；否则留空",
            },
        )


def _values(source: list[str] | str, field: str, insp: Inspection) -> list[str]:
    if isinstance(source, list):
        return source
    return _region_names(insp) if field == "region" else []


# --- the instructions ------------------------------------------------------------------


def _write_help(wb, ws, insp: Inspection, c: Contract, columns: list[TemplateColumn]) -> None:
    title_fmt = wb.add_format({"bold": True, "font_size": 14, "align": "center", "valign": "vcenter"})
    section_fmt = wb.add_format({"bold": True, "font_size": 12})
    para_fmt = wb.add_format({"text_wrap": True, "valign": "top"})
    head_fmt = wb.add_format(
        {"bold": True, "align": "center", "valign": "vcenter", "border": 1, "bg_color": "#DDEBF7"}
    )
    cell_fmt = wb.add_format({"text_wrap": True, "valign": "top", "border": 1})
    ws.set_column(0, 0, 20)
    ws.set_column(1, 1, 12)
    ws.set_column(2, 2, 70)
    ws.set_column(3, 3, 26)

    example_id = example_case_id(insp)
    unit = insp.fine_unit
    verified = "、".join(c.vocabularies["verified"].values)
    status = "、".join(c.vocabularies["status"].values)
    types = "、".join(insp.pollution_types)
    general = [
        f"1. 本模板用于{insp.name}群众信访举报办理情况的报送。每批交办件报送一个文件，"
        "文件名以批次开头：第N批….xlsx，如「第三批交办件办理情况.xlsx」。",
        f"2. 第 1 行标题须写明批次和交办日期：将标题中的「{TITLE_PLACEHOLDER}」改为实际批次和日期，"
        "如「（第三批 2024年6月3日）」。批次写在标题最前面的括号里。",
        f"3. 第 2 行为列名，请勿修改、删除或调换；从第 {FIRST_DATA_ROW} 行起每行填写一件举报，"
        f"至多填到第 {LAST_DATA_ROW} 行；不要合并单元格，不要插入小计、合计行。",
        f"4. 受理编号为 16 位：D（来电）或 X（来信）+ 督察轮次 1 位数字 + 省份代码 2 个大写字母"
        f" + 受理日期 8 位（YYYYMMDD）+ 当日序号 4 位，如 {example_id}。按交办清单原样填写。",
        "5. 一件举报可涉及多个污染类型，用顿号「、」分隔，如「水、大气」；下拉列表一次只能选一个，多个类型请直接输入。",
        f"6. 处罚问责各列（{'、'.join(strip_unit(_label(c, f)) for f in c.penalty_fields)}）"
        f"只填数字，不写单位，单位见列名；罚款金额的单位为{unit}。没有的填 0 或留空。"
        "注意行政拘留与刑事拘留不要填反。",
        f"7. 个人信息：{'、'.join(_label(c, f) for f in ('summary', 'findings', 'handling'))}等文字中不得填写举报人姓名、"
        "电话号码、身份证号码等个人信息；公开时虽会自动遮盖，但不应报送。不要增加联系人、联系电话等列。",
        f"8. {c.closed_label}的案件须填写「{_label(c, 'findings')}」和「{_label(c, 'verified')}」；"
        f"{c.unfounded}的案件一般不应有处罚数据。",
        "9. 带下拉箭头的单元格请从列表中选择；鼠标停在列名上可查看该列的填写要求。",
    ]
    row = 0
    ws.merge_range(row, 0, row, 3, f"{TITLE}填写说明（{insp.name}）", title_fmt)
    ws.set_row(row, 30)
    row += 2
    ws.write_string(row, 0, "一、总体要求", section_fmt)
    row += 1
    for text in general:
        ws.merge_range(row, 0, row, 3, text, para_fmt)
        ws.set_row(row, 36)
        row += 1
    row += 1
    ws.write_string(row, 0, "二、各列填写要求", section_fmt)
    row += 1
    for i, h in enumerate(("列名", "是否必填", "填写要求", "示例")):
        ws.write_string(row, i, h, head_fmt)
    row += 1
    for col in columns:
        ws.write_string(row, 0, col.header, cell_fmt)
        ws.write_string(row, 1, col.required, cell_fmt)
        ws.write_string(row, 2, col.rule, cell_fmt)
        ws.write_string(row, 3, col.example, cell_fmt)
        row += 1
    row += 1
    ws.write_string(row, 0, "三、允许的取值", section_fmt)
    row += 1
    allowed = [
        (_label(c, "verified"), verified),
        (_label(c, "status"), status),
        (_label(c, "pollution_types"), types + "（多个用顿号「、」分隔）"),
        (_label(c, "key_case"), "是、否"),
        ("受理编号格式", f"[D 或 X][轮次][省份代码][YYYYMMDD][4 位序号]，如 {example_id}"),
    ]
    if insp.regions:
        allowed.append(("行政区域（市）", "、".join(r.name for r in insp.regions)))
        allowed.append(("行政区域（县、区）", "各市所辖县（市、区）见下拉列表；开发区、新区等可直接填写"))
    for name, text in allowed:
        ws.write_string(row, 0, name, cell_fmt)
        ws.merge_range(row, 1, row, 3, text, cell_fmt)
        row += 1
