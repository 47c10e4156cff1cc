"""The Great Expectations suite (ducha.intake.quality): built from the contract and the inspection,
cross-field rules, and the GX result written for operators."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from ducha.config import Inspection, get_inspection
from ducha.contract import load_contract
from ducha.intake import ParsedFile, parse_file
from ducha.intake.quality import (
    CASE_KEY,
    PERIOD_GRACE,
    Rule,
    build_suite,
    cross_rules,
    rows_frame,
    types_allowed,
)
from ducha.intake.reports import file_report
from ducha.issues import RULES
from tests.unit.intake.conftest import (
    GENERIC,
    HEADERS,
    HN,
    TITLE,
    Sheet,
    case,
    case_id,
    closed_case,
    shared_validator,
    standard_sheet,
    validate,
    write_xlsx,
)

C = load_contract()
CROSS_RULES = {
    "CLOSED_WITHOUT_FINDINGS": "error",
    "PENALTY_ON_UNFOUNDED": "warning",
    "RECEIVED_AFTER_BATCH": "error",
    "DATE_OUT_OF_PERIOD": "error",
    "POLLUTION_TYPE": "error",
    "REGION_UNKNOWN": "warning",
}


@pytest.fixture(scope="module")
def hn() -> Inspection:
    return get_inspection(HN)


@pytest.fixture(scope="module")
def generic() -> Inspection:
    return get_inspection(GENERIC)


def _kind(e: object) -> str:
    return type(e).__name__


def _by_kind(suite: list) -> dict[str, list]:
    out: dict[str, list] = {}
    for e in suite:
        out.setdefault(_kind(e), []).append(e)
    return out


# --- the suite from the contract --------------------------------------------------------------


def test_suite_is_built_from_the_contract() -> None:
    suite = build_suite()
    kinds = _by_kind(suite)
    not_null = kinds["ExpectColumnValuesToNotBeNull"]
    assert sorted(e.column for e in not_null) == sorted(C.required) == ["case_id", "region", "summary"]
    assert {e.meta["rule"] for e in not_null} == {"REQUIRED_VALUE"}

    (unique,) = kinds["ExpectColumnValuesToBeUnique"]  # per file: "file number/case ID"
    assert (unique.column, unique.meta["rule"], unique.meta["field"]) == (
        CASE_KEY,
        "CASE_ID_DUPLICATE",
        "case_id",
    )

    id_regex = [e for e in kinds["ExpectColumnValuesToMatchRegex"] if e.column == "case_id"]
    assert [(e.regex, e.meta["level"]) for e in id_regex] == [(C.case_id_pattern.pattern, "warning")]

    in_set = {e.column: e for e in kinds["ExpectColumnValuesToBeInSet"]}
    assert list(in_set["verified"].value_set) == list(C.vocabularies["verified"].values)
    assert list(in_set["status"].value_set) == list(C.vocabularies["status"].values)

    lengths = {e.column: e.max_value for e in kinds["ExpectColumnValueLengthsToBeBetween"]}
    assert lengths == {f.name: f.max_length for f in C.fields.values() if f.max_length}
    assert lengths["summary"] == 5000

    between = kinds["ExpectColumnValuesToBeBetween"]
    assert sorted(e.column for e in between) == sorted(C.penalty_fields)
    assert len(between) == 8
    assert all(e.min_value == 0 and e.max_value is None for e in between)

    cross = {e.meta["rule"]: e for e in suite if e.column.startswith("_rule_")}
    assert {r: e.meta["level"] for r, e in cross.items()} == CROSS_RULES
    assert all(list(e.value_set) == [True] for e in cross.values())

    expected_total = 3 + 1 + 1 + 2 + 3 + 8 + len(CROSS_RULES)
    assert len(suite) == expected_total
    for e in suite:  # every expectation says what it means to a clerk
        assert e.meta["rule"] in RULES
        assert e.meta["level"] in ("error", "warning")
        assert e.meta["field"] in C.fields
        assert e.meta["expected"]
    # Compared with the warehouse per file, not by the suite: files are validated together.
    assert "CASE_CONFLICT" not in {e.meta["rule"] for e in suite}


def test_one_list_of_rules_in_the_contracts_words() -> None:
    """issues.RULES is the one list of rule codes (a rule the suite names must be there);
    the cross-field rules are one list, each with its check, and their texts take the
    contract's words for a closed case and a complaint found untrue."""
    with pytest.raises(KeyError):
        Rule("NO_SUCH_RULE", "error", "status", "…")
    assert [r.rule for r in cross_rules(C)] == list(CROSS_RULES)
    renamed = replace(C, unfounded="查无实据", closed_statuses=("全部办结", "验收销号"))
    expected = {r.rule: r.expected for r in cross_rules(renamed)}
    assert expected["PENALTY_ON_UNFOUNDED"].startswith("查无实据的案件")
    assert expected["CLOSED_WITHOUT_FINDINGS"].startswith("全部办结的案件")
    assert RULES["PENALTY_ON_UNFOUNDED"].startswith(C.unfounded)
    assert RULES["CLOSED_WITHOUT_FINDINGS"].startswith(C.closed_label)


def test_one_not_null_expectation_per_required_field() -> None:
    fields = dict(C.fields)
    fields["status"] = replace(fields["status"], required=True)
    fields["seq"] = replace(fields["seq"], required=True)
    wider = replace(C, fields=fields)
    not_null = [e.column for e in build_suite(wider) if _kind(e) == "ExpectColumnValuesToNotBeNull"]
    assert sorted(not_null) == ["case_id", "region", "seq", "status", "summary"]
    assert Counter(_kind(e) for e in build_suite(wider))["ExpectColumnValuesToNotBeNull"] == 5


def _allowed(values: list[str | None], insp: Inspection) -> list[bool]:
    return types_allowed(pd.Series(values, dtype=object), insp.pollution_types).tolist()


def test_the_inspection_narrows_the_pollution_types(hn: Inspection, generic: Inspection) -> None:
    fine = ["水", "大气", "水、大气、噪声", "其他"]
    assert _allowed(fine, hn) == _allowed(fine, generic) == [True] * 4
    wider = ["扬尘", "水、扬尘", "群众身边的生态环境问题", "海洋", "固废"]
    assert _allowed(wider, hn) == [False] * 5
    assert _allowed(wider, generic) == [True] * 5
    broken = ["水、", "、水", "水大气", "水、、大气", "水 "]
    assert _allowed(broken, hn) == _allowed(broken, generic) == [False] * 5
    assert _allowed(["", None], hn) == [True, True]  # a blank is the REQUIRED rule's business
    only_water = replace(hn, id="water-only", pollution_types=("水",))
    assert _allowed(["水", "大气", "水、大气"], only_water) == [True, False, False]


def test_type_names_are_taken_literally(hn: Inspection) -> None:
    odd = replace(hn, id="odd", pollution_types=("水(地表)", "a.b"))
    assert _allowed(["水(地表)", "a.b、水(地表)", "axb", "水地表"], odd) == [True, True, False, False]


def test_the_clerk_reads_the_inspections_own_types_and_period(tmp_path: Path, hn: Inspection) -> None:
    only_water = replace(hn, id="water-only", pollution_types=("水",))
    rows = [case(1, 问题类型="大气"), case(2, 受理编号=case_id(2, "20230601"))]
    _, report = _validate(write_xlsx(tmp_path / "t.xlsx", standard_sheet(rows)), only_water)
    expected = {e["rule"]: e["expected"] for e in report["errors"]}
    assert expected == {
        "POLLUTION_TYPE": "允许的值：水",
        "DATE_OUT_OF_PERIOD": f"督察期间 {dt.date(2024, 6, 1) - PERIOD_GRACE} 至 2024-07-05",
    }


def test_one_suite_serves_every_inspection(tmp_path: Path, hn: Inspection, generic: Inspection) -> None:
    v = shared_validator()
    assert v.suite is v.suite and v.suite.name == "ducha.cases"
    # Files of two inspections in one run: each is judged by its own types.
    a = parse_file(write_xlsx(tmp_path / "a.xlsx", standard_sheet([case(1, 问题类型="扬尘")])), hn)
    b = parse_file(write_xlsx(tmp_path / "b.xlsx", standard_sheet([case(1, 问题类型="扬尘")])), generic)
    doc = v.check([a, b])
    assert [(f["inspection"], f["first_index"]) for f in doc["meta"]["files"]] == [(HN, 0), (GENERIC, 1)]
    assert _issues_by_row(a) == {3: {("error", "POLLUTION_TYPE")}}
    assert _issues_by_row(b) == {3: set()}


# --- cross-field rules, through the real suite ------------------------------------------------


def _validate(path: Path, insp: Inspection, known: dict[str, str] | None = None) -> tuple[ParsedFile, dict]:
    parsed = parse_file(path, insp)
    validate(shared_validator(), parsed, known)
    return parsed, file_report(parsed)


def _issues_by_row(parsed: ParsedFile) -> dict[int, set[tuple[str, str]]]:
    return {r.row: {(i.level, i.rule) for i in r.issues} for r in parsed.rows}


def test_closed_without_findings(tmp_path: Path, hn: Inspection) -> None:
    rows = [
        closed_case(1),  # fine
        closed_case(2, 调查核实情况=None),
        closed_case(3, 是否属实=None),
        closed_case(4, 是否办结="验收销号", 调查核实情况="  "),
        case(5, 是否办结="阶段性办结"),  # partly closed: findings may follow
        case(6),  # still open
        closed_case(7, 是否属实="不属实", **{"责令整改（家）": None, "罚款金额（元）": None}),
    ]
    parsed, report = _validate(write_xlsx(tmp_path / "c.xlsx", standard_sheet(rows)), hn)
    bad = {("error", "CLOSED_WITHOUT_FINDINGS")}
    assert _issues_by_row(parsed) == {3: set(), 4: bad, 5: bad, 6: bad, 7: set(), 8: set(), 9: set()}
    assert report["rows"] == {"total": 7, "accepted": 4, "rejected": 3}
    (e,) = [e for e in report["errors"] if e["row"] == 6]
    assert (e["column"], e["value"]) == ("是否办结", "验收销号")


def test_penalty_on_unfounded_is_a_warning(tmp_path: Path, hn: Inspection) -> None:
    rows = [
        closed_case(1, 是否属实="不属实", **{"责令整改（家）": None, "罚款金额（元）": "5000元"}),
        closed_case(2, 是否属实="不属实", **{"责令整改（家）": 0, "罚款金额（元）": "无"}),
        closed_case(3, 是否属实="属实"),
    ]
    parsed, report = _validate(write_xlsx(tmp_path / "p.xlsx", standard_sheet(rows)), hn)
    assert _issues_by_row(parsed) == {3: {("warning", "PENALTY_ON_UNFOUNDED")}, 4: set(), 5: set()}
    assert report["ok"] is True
    assert report["rows"]["accepted"] == 3


def test_received_after_batch(tmp_path: Path, hn: Inspection) -> None:
    rows = [
        case(1, 受理编号=case_id(1, "20240602")),
        case(2, 受理编号=case_id(2, "20240603")),  # received the day it went out: fine
        case(3, 受理编号=case_id(3, "20240604")),
    ]
    parsed, _ = _validate(write_xlsx(tmp_path / "r.xlsx", standard_sheet(rows)), hn)
    assert _issues_by_row(parsed) == {3: set(), 4: set(), 5: {("error", "RECEIVED_AFTER_BATCH")}}


def test_received_after_batch_needs_a_batch_date(tmp_path: Path, hn: Inspection) -> None:
    rows = [case(1, 受理编号=case_id(1, "20240620"))]
    path = write_xlsx(tmp_path / "r.xlsx", standard_sheet(rows, title="一览表（第三批）"))
    parsed, report = _validate(path, hn)
    assert parsed.batches == {3: None}
    assert report["ok"] is True


def test_received_outside_the_period_with_one_day_of_grace(
    tmp_path: Path, hn: Inspection, generic: Inspection
) -> None:
    days = ["20240530", "20240531", "20240601", "20240705", "20240706", "20230601"]
    rows = [case(i, 受理编号=case_id(i, d)) for i, d in enumerate(days, start=1)]
    path = write_xlsx(tmp_path / "d.xlsx", standard_sheet(rows, title="一览表（第三十五批）"))
    parsed, _ = _validate(path, hn)
    out = {("error", "DATE_OUT_OF_PERIOD")}
    assert _issues_by_row(parsed) == {3: out, 4: set(), 5: set(), 6: set(), 7: out, 8: out}
    parsed, report = _validate(path, generic)  # no period: any date
    assert report["ok"] is True


def test_case_conflict_with_the_warehouse(tmp_path: Path, hn: Inspection) -> None:
    malformed = "D3HN20240602002"  # 15 characters: an ID too doubtful to match a case on
    rows = [case(1), case(2), case(3, 受理编号=malformed)]
    known = {
        case_id(1): str(case(1)["交办问题基本情况"]),  # same text: fine
        case_id(2): "已入库的另一段内容",  # well-formed ID, re-typed summary: matched, noted
        malformed: "已入库的另一段内容",  # malformed ID, another summary: refused
        "D3HN209901010001": "与本文件无关",
    }
    parsed, report = _validate(write_xlsx(tmp_path / "k.xlsx", standard_sheet(rows)), hn, known)
    assert _issues_by_row(parsed) == {
        3: set(),
        4: {("warning", "CASE_SUMMARY_DIFFERS")},
        5: {("error", "CASE_CONFLICT"), ("warning", "CASE_ID_PATTERN")},
    }
    (e,) = report["errors"]
    assert (e["row"], e["column"], e["value"]) == (5, "交办问题基本情况", case(3)["交办问题基本情况"])


def test_issues_point_at_excel_rows_across_gaps(tmp_path: Path, hn: Inspection) -> None:
    rows = [
        [TITLE],
        HEADERS,
        [case(1).get(h) for h in HEADERS],
        [],
        list(HEADERS),  # the header printed again on page 2
        [case(2, 是否办结="办理中").get(h) for h in HEADERS],
        [],
        [case(3, 是否办结="不知道").get(h) for h in HEADERS],
    ]
    parsed, report = _validate(write_xlsx(tmp_path / "g.xlsx", Sheet("第三批", rows)), hn)
    assert [r.row for r in parsed.rows] == [3, 6, 8]
    assert [(e["row"], e["rule"], e["value"]) for e in report["errors"]] == [(8, "ENUM_VALUE", "不知道")]
    assert parsed.rows[1].values["status"] == "正在办理"  # a synonym, not an error


def test_rows_frame_is_what_gx_sees(tmp_path: Path, hn: Inspection) -> None:
    rows = [closed_case(1, 问题类型="水、大气"), case(2, 调查核实情况="  ")]
    parsed = parse_file(write_xlsx(tmp_path / "f.xlsx", standard_sheet(rows)), hn)
    frame = rows_frame([parsed])
    assert list(frame.columns[: len(C.fields)]) == list(C.fields)
    assert [c for c in frame.columns if c.startswith("_rule_")] == ["_rule_" + r.lower() for r in CROSS_RULES]
    assert frame.loc[0, "pollution_types"] == "水|大气"
    assert frame["findings"].isna().tolist() == [False, True]  # blanks are nulls for GX
    assert frame.loc[0, "fine_amount"] == 50000.0
    assert frame["rectify_orders"].dtype.kind == "f"
    assert bool(frame.loc[0, "_rule_closed_without_findings"]) is True


def test_files_validated_together_are_each_judged_by_their_own_inspection(
    tmp_path: Path, hn: Inspection, generic: Inspection
) -> None:
    """rows_frame converts the files' columns once, together: the rules that depend on
    the inspection (period, types) still apply each file's own, in the files' order."""
    old_id = case_id(1, "20230601")  # received a year before the Hunan period
    rows = [case(1, 受理编号=old_id, 问题类型="扬尘"), case(2)]
    files = [
        parse_file(write_xlsx(tmp_path / f"{n}.xlsx", standard_sheet(rows)), insp)
        for n, insp in enumerate([hn, generic, hn])
    ]
    frame = rows_frame(files)
    assert frame[CASE_KEY].tolist() == [f"{n}/{cid}" for n in range(3) for cid in (old_id, case_id(2))]
    # The generic profile has no period and allows 扬尘.
    assert frame["_rule_pollution_type"].tolist() == [False, True, True, True, False, True]
    assert frame["_rule_date_out_of_period"].tolist() == [False, True, True, True, False, True]
    assert frame["_rule_received_after_batch"].all()


# --- what the validator writes ----------------------------------------------------------------
