"""What is wrong with a file or a row, said so that a clerk can act on it.

Every issue carries a stable English rule code (for operators and scripts) and a
Chinese message (for the clerk), and points at the cell: file, sheet, Excel row,
the column header as written in the clerk's file, and the value.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

from ducha.contract import load_contract

Level = Literal["error", "warning"]

_C = load_contract()

# Rule code -> what it means, in the clerk's words. The code is the stable contract; the
# one list of rules (quality.py's expectations name theirs from here).
RULES: dict[str, str] = {
    # file level: the whole file is quarantined
    "FILE_TOO_LARGE": "文件过大",
    "FILE_ZIP_BOMB": "文件解压后过大（疑似压缩炸弹）",
    "FILE_ENCRYPTED": "文件已加密，请去除密码后重新报送",
    "FILE_UNSUPPORTED": "不支持的文件格式，请使用 xlsx、xls 或 csv",
    "FILE_UNREADABLE": "文件无法读取（已损坏或格式与扩展名不符）",
    "FILE_OUTSIDE_LANDING": "文件路径超出接收目录",
    "FILE_EMPTY": "文件中没有数据",
    "NO_HEADER": "未找到表头行",
    "MISSING_COLUMN": "缺少必填列",
    "NO_BATCH": "无法确定批次",
    # sheet level notes
    "SHEET_HIDDEN": "隐藏工作表，未读取",
    "SHEET_EMPTY": "空白工作表，未读取",
    "SHEET_NO_HEADER": "工作表没有可识别的表头，未读取",
    "COLUMN_INTERNAL": "内部联系信息列，未读取",
    "COLUMN_DUPLICATE": "列名重复，仅读取第一列",
    "SEQ_OWN_NUMBERING": "本表序号为自编序号，已按受理编号匹配，原批次序号不变",
    # row level
    "REQUIRED_VALUE": "必填项为空",
    "CASE_ID_DUPLICATE": "受理编号在本文件中重复",
    "CASE_ID_PATTERN": "受理编号格式不符合规范",
    "ENUM_VALUE": "取值不在允许范围内",
    "ENUM_TOLERATED": "取值写法不规范，已按约定读取",
    "POLLUTION_TYPE": "污染类型不在允许范围内",
    "REGION_UNKNOWN": "行政区域未能识别（已按原文入库）",
    "CELL_ERROR": "单元格为 Excel 错误值（公式出错）",
    "NUMBER_FORMAT": "数值无法识别",
    "NUMBER_NEGATIVE": "数值不能为负数",
    "DATE_FORMAT": "日期无法识别",
    "DATE_OUT_OF_PERIOD": "日期不在督察期间内",
    "RECEIVED_AFTER_BATCH": "受理日期晚于交办日期",
    "TEXT_TOO_LONG": "文字过长",
    "CLOSED_WITHOUT_FINDINGS": (
        f"{_C.closed_label}案件须填写{_C.fields['findings'].label}和{_C.fields['verified'].label}"
    ),
    "PENALTY_ON_UNFOUNDED": f"{_C.unfounded}案件填报了处罚数据",
    "CASE_CONFLICT": "该受理编号已入库，但交办问题基本情况不一致",
    "CASE_SUMMARY_DIFFERS": "交办问题基本情况与已入库的同一受理编号表述不同",
    "CASE_CHANGED": "已入库案件的信息被更正（将按更正后的内容公开）",
}


# File-level rules meaning the file could not be read at all (`ducha validate` exits 2);
# the other file-level rules reject a file that was read (exit 1).
UNREADABLE_RULES = frozenset(
    {
        "FILE_TOO_LARGE",
        "FILE_ZIP_BOMB",
        "FILE_ENCRYPTED",
        "FILE_UNSUPPORTED",
        "FILE_UNREADABLE",
        "FILE_OUTSIDE_LANDING",
    }
)


@dataclass(frozen=True)
class Issue:
    level: Level
    rule: str
    message: str
    sheet: str | None = None
    row: int | None = None  # Excel row number, as the clerk sees it
    column: str | None = None  # the header as written in the clerk's file
    value: str | None = None
    expected: str | None = None

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    def where(self) -> str:
        parts = []
        if self.sheet:
            parts.append(f"工作表「{self.sheet}」")
        if self.row:
            parts.append(f"第{self.row}行")
        if self.column:
            parts.append(f"「{self.column}」列")
        return "".join(parts)


def issue(level: Level, rule: str, detail: str = "", **where: object) -> Issue:
    base = RULES[rule]
    message = f"{base}：{detail}" if detail else base
    return Issue(level, rule, message, **{k: (None if v is None else v) for k, v in where.items()})  # type: ignore[arg-type]


class FileRejected(Exception):
    """A file-level error: the whole file goes to quarantine with this issue."""

    def __init__(self, rule: str, detail: str = "", **where: object) -> None:
        self.issue = issue("error", rule, detail, **where)
        super().__init__(self.issue.message)
