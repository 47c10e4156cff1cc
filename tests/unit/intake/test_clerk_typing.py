"""What clerks really type (issue 11): merged cells down a city's rows, values with
punctuation or a remark around them, key-case marks that are no configured word."""

from __future__ import annotations

from pathlib import Path

from ducha.config import get_inspection
from tests.unit.intake.conftest import HEADERS, HN, TITLE, Sheet, case, check, closed_case, grid, write_xlsx


def test_a_region_merged_down_a_citys_rows_fills_each_row(tmp_path: Path) -> None:
    rows = grid([case(1), case(2, 行政区域=None), case(3, 行政区域=None), case(4, 行政区域="株洲市")])
    col = HEADERS.index("行政区域")
    # Title merged across (row 0), 行政区域 merged down the first three case rows (rows 2-4).
    sheet = Sheet("第三批", rows, [(0, 0, 0, len(HEADERS) - 1), (2, col, 4, col)])
    c = check(write_xlsx(tmp_path / "m.xlsx", sheet), get_inspection(HN))
    assert c.errors == [], c.errors
    assert [r.values["region"] for r in c.parsed.rows] == ["长沙市岳麓区"] * 3 + ["株洲市"]
    assert c.parsed.rows[1].raw["行政区域"] == "长沙市岳麓区"


def test_a_note_merged_across_its_row_is_no_case(tmp_path: Path) -> None:
    rows = grid([case(1)], notes="注：调查核实和处理整改情况将陆续公开。")
    sheet = Sheet("第三批", rows, [(0, 0, 0, len(HEADERS) - 1), (3, 0, 3, len(HEADERS) - 1)])
    c = check(write_xlsx(tmp_path / "n.xlsx", sheet), get_inspection(HN))
    assert len(c.parsed) == 1 and c.errors == []


def test_values_with_punctuation_or_a_remark_load_with_a_warning(tmp_path: Path) -> None:
    rows = [
        closed_case(1, 是否属实="属实。"),
        case(2, 是否办结="阶段性办结（长期坚持）", 调查核实情况="经核实，问题属实。", 是否属实="属实"),
    ]
    c = check(write_xlsx(tmp_path / "t.xlsx", Sheet("第三批", grid(rows))), get_inspection(HN))
    assert c.errors == [], c.errors
    assert [r.values["verified"] for r in c.parsed.rows] == ["属实", "属实"]
    assert c.parsed.rows[1].values["status"] == "阶段性办结"
    tolerated = [w for w in c.warnings if w["rule"] == "ENUM_TOLERATED"]
    assert [(w["row"], w["column"], w["value"]) for w in tolerated] == [
        (3, "是否属实", "属实。"),
        (4, "是否办结", "阶段性办结（长期坚持）"),
    ]
    assert "阶段性办结" in tolerated[1]["expected"]


def test_only_configured_words_mark_a_key_case(tmp_path: Path) -> None:
    headers = [*HEADERS, "重点关注"]
    rows = [
        case(1, 重点关注="是"),
        case(2, 重点关注="一般"),
        case(3, 重点关注="非重点"),
        case(4, 重点关注="待定"),
    ]
    path = write_xlsx(tmp_path / "k.xlsx", Sheet("第三批", grid(rows, headers=headers, title=TITLE)))
    c = check(path, get_inspection(HN))
    assert c.errors == []
    assert [r.values["key_case"] for r in c.parsed.rows] == [True, False, False, False]
    (w,) = [w for w in c.warnings if w["rule"] == "ENUM_TOLERATED"]
    assert (w["row"], w["column"], w["value"]) == (6, "重点关注", "待定")


def test_a_region_found_nowhere_is_a_warning_naming_it(tmp_path: Path) -> None:
    rows = [case(1, 行政区域="湘西州吉首市"), case(2, 行政区域="某开发区"), case(3, 行政区域="浏阳")]
    path = write_xlsx(tmp_path / "r.xlsx", Sheet("第三批", grid(rows)))
    c = check(path, get_inspection(HN))
    assert c.errors == []
    (w,) = [w for w in c.warnings if w["rule"] == "REGION_UNKNOWN"]
    assert (w["row"], w["column"], w["value"]) == (4, "行政区域", "某开发区")
    assert len(c.parsed) == 3  # loaded as written, not dropped
    # An inspection with no configured cities has nothing to check against.
    assert "REGION_UNKNOWN" not in check(path, get_inspection("p-xx-2025")).rules("warnings")


def test_the_samples_key_case_marks_read_as_the_batch_means_them(tmp_path: Path) -> None:
    from ducha.intake import parse_file
    from ducha_sample import KEY_MARKS, generate

    summary = generate(tmp_path, HN, days=4, seed=3)
    batch_files = sorted(p for p in summary.files if "交办清单" in p.name)
    assert len(batch_files) == 4
    for path in batch_files:
        parsed = parse_file(path, get_inspection(HN))
        (batch_no,) = parsed.batches
        mark, _ = KEY_MARKS[batch_no % len(KEY_MARKS)]
        rows = parsed.rows
        assert [r.values["key_case"] for r in rows] == [r.raw["重点关注"] == mark for r in rows]
        assert not [i for r in rows for i in r.issues if i.rule == "ENUM_TOLERATED"]
    assert {KEY_MARKS[b % len(KEY_MARKS)][0] for b in range(1, 5)} == {"是", "★", "√", "重点"}
