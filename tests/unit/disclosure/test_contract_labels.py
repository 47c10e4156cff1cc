"""The words published tables count statuses under come from the contract: a contract
that renames a status or the not-verified value publishes the new word everywhere."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from ducha.config import get_inspection
from ducha.config_files import config_path
from ducha.disclosure import tables as T
from ducha.disclosure import weekly as W
from ducha.warehouse.schema import PENALTY_COLUMNS

HN = get_inspection("c3-hn-2024")
AS_OF = dt.date(2024, 6, 20)


@pytest.fixture
def renamed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The contract with 阶段性办结 written 阶段办结 and 不属实 written 查无实据."""
    text = config_path("contract.yaml").read_text(encoding="utf-8")
    text = text.replace("阶段性办结", "阶段办结").replace("不属实", "查无实据")
    (tmp_path / "contract.yaml").write_text(text, encoding="utf-8")
    monkeypatch.setenv("DUCHA_CONFIG_DIR", str(tmp_path))
    yield


def _states() -> pd.DataFrame:
    base = {
        "batch_no": 1,
        "region": "长沙市岳麓区",
        "pollution_types": "水",
        "key_case": False,
        "transferred_on": dt.date(2024, 6, 3),
        "feedback_on": None,
        "closed_on": None,
        **dict.fromkeys(PENALTY_COLUMNS),
    }
    rows = [
        {"status": "已办结", "verified": "查无实据", "closed_on": AS_OF, "feedback_on": AS_OF},
        {"status": "阶段办结", "verified": "属实"},
        {"status": "正在办理", "verified": None},
    ]
    return pd.DataFrame([{**base, "case_id": f"D3HN20240602{i:04d}", **r} for i, r in enumerate(rows)])


@pytest.mark.usefixtures("renamed")
def test_renamed_labels_reach_every_table() -> None:
    states = _states()
    paragraph = T.summary_paragraph(states, HN, AS_OF)
    assert "已办结1件、阶段办结1件、未办结1件" in paragraph
    region = T.region_sheet(states, HN, AS_OF)
    headers = [c.header for c in region.columns]
    assert headers[4:7] == ["已办结", "阶段办结", "未办结"] and headers[9] == "查无实据率"
    assert region.rows[-1][5] == 1 and region.rows[-1][9] == 1 / 3
    assert "查无实据率＝查无实据件数" in region.notes[0]
    data = W.weekly_data(states, HN, AS_OF)
    assert data.status_names == ("已办结", "阶段办结", "未办结") and data.partly == 1
    batch_chart = W.chart_specs(data)[0]
    assert [s.name for s in batch_chart.series][1] == "阶段办结" and "阶段办结1件" in batch_chart.desc
    assert [r[0] for r in T.verified_sheet(states, AS_OF).rows][3] == "查无实据"
