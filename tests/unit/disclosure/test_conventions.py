"""Publishing conventions as configuration (issue 11): what 办结率 counts, 按时办结 by the
feedback deadline, 不属实率, and the wording of the summary paragraph."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pandas as pd
import pytest
import yaml

from ducha.config import Inspection, Region, _inspection_from_dict, get_inspection
from ducha.config_files import config_path
from ducha.disclosure import tables as T
from ducha.disclosure import weekly as W
from ducha.warehouse.schema import PENALTY_COLUMNS

HN = get_inspection("c3-hn-2024")
TRANSFER = dt.date(2024, 6, 3)
AS_OF = dt.date(2024, 6, 20)


def states(rows: list[dict[str, object]]) -> pd.DataFrame:
    """Case states as case_states returns them: one row per case."""
    base: dict[str, object] = {
        "batch_no": 1,
        "region": "长沙市岳麓区",
        "pollution_types": "水",
        "key_case": False,
        "status": "正在办理",
        "verified": None,
        "transferred_on": TRANSFER,
        "feedback_on": None,
        "closed_on": None,
        **dict.fromkeys(PENALTY_COLUMNS),
    }
    return pd.DataFrame([{**base, "case_id": f"D3HN20240602{i:04d}", **r} for i, r in enumerate(rows)])


def with_conventions(insp: Inspection = HN, **changes: object) -> Inspection:
    return replace(insp, conventions=replace(insp.conventions, **changes))


def closed(day: dt.date, **more: object) -> dict[str, object]:
    return {"status": "已办结", "verified": "属实", "feedback_on": day, "closed_on": day, **more}


def test_closure_rate_counts_what_the_convention_names() -> None:
    # "办结率54.9%" = (492 + 291) / 1427: 阶段性办结 counted, as several provinces do.
    rows = [closed(AS_OF)] * 492 + [{"status": "阶段性办结"}] * 291 + [{}] * (1427 - 492 - 291)
    frame = states(rows)
    plain = T.region_sheet(frame, HN, AS_OF).rows[-1]
    both = T.region_sheet(frame, with_conventions(closure_counts=("已办结", "阶段性办结")), AS_OF).rows[-1]
    assert round(plain[7], 4) == round(492 / 1427, 4)
    assert f"{both[7]:.1%}" == "54.9%"
    assert "（已办结＋阶段性办结）件数" in T.rate_notes(
        with_conventions(closure_counts=("已办结", "阶段性办结"))
    )
    weekly = W.weekly_data(frame, with_conventions(closure_counts=("已办结", "阶段性办结")), AS_OF)
    assert f"{weekly.rate:.1%}" == "54.9%" and f"{weekly.regions[0].rate:.1%}" == "54.9%"


def test_on_time_is_measured_against_the_feedback_deadline() -> None:
    frame = states(
        [
            closed(TRANSFER + dt.timedelta(days=4)),  # fed back in 4 days: on time
            closed(TRANSFER + dt.timedelta(days=9)),  # closed within the 10-day deadline, fed back late
            {"status": "正在办理", "verified": "属实", "feedback_on": TRANSFER + dt.timedelta(days=2)},
            {**closed(TRANSFER + dt.timedelta(days=4)), "region": "株洲市荷塘区"},
        ]
    )
    total = T.region_sheet(frame, HN, AS_OF).rows[-1]
    assert total[7] == 3 / 4  # 办结率
    assert total[8] == 2 / 4  # 按时办结率: no longer equal to 办结率
    # A city that keeps a 3-day feedback deadline of its own.
    strict = replace(
        HN, regions=tuple(replace(r, feedback_days=3) if r.name == "株洲市" else r for r in HN.regions)
    )
    assert T.region_sheet(frame, strict, AS_OF).rows[-1][8] == 1 / 4
    assert list(T.on_time(frame, HN)) == [True, False, False, True]


def test_unfounded_rate() -> None:
    frame = states([closed(AS_OF, verified="不属实")] + [closed(AS_OF)] * 3)
    sheet = T.region_sheet(frame, HN, AS_OF)
    assert sheet.columns[9].header == "不属实率" and sheet.rows[-1][9] == 1 / 4


def test_paragraph_first_batch_zero_items_scope_and_open_label() -> None:
    frame = states([closed(AS_OF, fine_amount=150000.0, rectify_orders=1.0), {}])
    text = T.summary_paragraph(frame, HN, AS_OF)
    assert text == (
        "截至6月20日，全省已对第1批2件信访件进行调查处理，其中，已办结1件、未办结1件，"
        "责令整改1家，罚款金额150000元。"
    )
    city = with_conventions(scope_word="全市", open_label="正在办理", fine_unit="万元")
    assert T.summary_paragraph(frame, city, AS_OF) == (
        "截至6月20日，全市已对第1批2件信访件进行调查处理，其中，已办结1件、正在办理1件，"
        "责令整改1家，罚款金额15万元。"
    )
    assert T.region_sheet(frame, city, AS_OF).columns[6].header == "正在办理"
    assert W.weekly_data(frame, city, AS_OF).status_names[2] == "正在办理"
    several = states([{**closed(AS_OF), "batch_no": 11}, {}])
    assert "已对1-11批2件" in T.summary_paragraph(several, HN, AS_OF)


def test_a_rounded_fine_reads_about() -> None:
    frame = states([closed(AS_OF, fine_amount=182133312.5)])
    text = T.summary_paragraph(frame, with_conventions(fine_unit="万元"), AS_OF)
    assert "罚款金额约18213.33万元" in text


def test_optional_sentences() -> None:
    frame = states([closed(AS_OF, key_case=True), closed(AS_OF, verified="不属实"), {"key_case": True}])
    text = T.summary_paragraph(
        frame, with_conventions(key_cases_sentence=True, verified_of_closed=True), AS_OF
    )
    assert "已办结2件（属实1件、不属实1件）" in text
    assert text.endswith("交办件中重点关注问题2件。")
    assert "重点关注" not in T.summary_paragraph(frame, HN, AS_OF)


def test_an_inspection_overrides_conventions_key_by_key() -> None:
    raw = yaml.safe_load((config_path("inspections") / "c3-hn-2024.yaml").read_text(encoding="utf-8"))
    own = _inspection_from_dict(
        {**raw, "conventions": {"feedback_days": 3, "paragraph": {"key_cases": True}}}
    )
    assert own.conventions.feedback_days == 3 and own.conventions.key_cases_sentence
    assert own.conventions.closure_counts == HN.conventions.closure_counts  # the project's default
    with pytest.raises(ValueError, match="unknown key"):
        _inspection_from_dict({**raw, "conventions": {"closure_rate": ["已办结"]}})
    with pytest.raises(ValueError, match="closure_counts"):
        _inspection_from_dict({**raw, "conventions": {"closure_counts": ["办完了"]}})
    with pytest.raises(ValueError, match="feedback_days"):
        _inspection_from_dict({**raw, "regions": [{"name": "长沙市", "code": "430100", "feedback_days": 0}]})
    assert isinstance(HN.regions[0], Region)
