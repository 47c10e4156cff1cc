"""When a batch's table is published (issue 11): on arrival, again with its results
("（更新）", its own date kept), or once most of its cases have results; and on an
operator's demand (`ducha publish --batch N`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from python_calamine import CalamineWorkbook

from ducha.cli import main
from ducha.config import Inspection, _inspection_from_dict, data_dirs, get_inspection
from ducha.disclosure import publish as P
from ducha.disclosure import tables as T
from ducha.intake.batch import batch_number
from ducha.pipeline import Ingestor
from ducha.text import batch_label, cn_date
from ducha_sample import generate

INSP = "c3-hn-2024"
DAYS = [dt.date(2024, 6, d) for d in range(1, 9)]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Ingestor:
    root = tmp_path_factory.mktemp("policies")
    generate(root / "landing", INSP, days=len(DAYS), seed=5)
    ingestor = Ingestor(data_dirs(root), f"sqlite:///{root / 'w.sqlite'}", run_label="t")
    for day in DAYS:
        ingestor.ingest_day(day)
    return ingestor


def _with(policy: str, monkeypatch: pytest.MonkeyPatch, **more: object) -> Inspection:
    insp = get_inspection(INSP)
    insp = replace(insp, conventions=replace(insp.conventions, batch_tables=policy, **more))
    monkeypatch.setattr(P, "get_inspection", lambda _id: insp)
    return insp


def _title(path: Path) -> str:
    return str(CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()[0][0])


def test_with_results_republishes_a_batch_with_its_own_date(
    warehouse: Ingestor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = DAYS[-1]
    with warehouse.engine.connect() as conn:
        states = T.case_states(conn, INSP, day)
    updated = sorted(
        {int(b) for b in T.updated_cases(states, day)["batch_no"]} - set(T.batches_reported_on(states, day))
    )
    assert updated, "the sample must update earlier batches on its last day"
    plain = Path(P.publish(warehouse.engine, INSP, tmp_path / "a", as_of=day).folder or "")
    assert not list(plain.glob("*（更新）*"))  # on arrival only (the default)
    _with("with_results", monkeypatch)
    folder = Path(P.publish(warehouse.engine, INSP, tmp_path / "b", as_of=day).folder or "")
    for batch_no in updated:
        path = folder / f"{batch_label(batch_no)}公开情况一览表（更新）.xlsx"
        arrived = states.loc[states["batch_no"] == batch_no, "transferred_on"].dropna().iloc[0]
        assert _title(path).endswith(f"（{batch_label(batch_no)} {cn_date(arrived)}）（更新）")
        assert (folder / path.with_suffix(".csv").name).is_file()
        notes = [r[0] for r in CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()[-2:]]
        label = batch_label(batch_no)
        assert notes[0] == f"注：本表所列为{label}交办信访件，调查核实和处理整改情况将陆续公开。"  # kept
        assert notes[1].startswith("注：本批交办")
    arrivals = T.batches_reported_on(states, day)
    assert all((folder / f"{batch_label(b)}公开情况一览表.xlsx").is_file() for b in arrivals)


def test_when_complete_publishes_a_batch_once_on_the_day_it_has_its_results(
    warehouse: Ingestor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _with("when_complete", monkeypatch, complete_percent=30)
    published: dict[int, list[dt.date]] = {}
    for day in DAYS:
        folder = Path(P.publish(warehouse.engine, INSP, tmp_path, as_of=day).folder or "")
        for path in folder.glob("第*批公开情况一览表.xlsx"):
            published.setdefault(batch_number(path.name) or 0, []).append(day)
    assert published and all(len(days) == 1 for days in published.values()), published


@pytest.mark.parametrize(
    ("fed", "percent", "completed"),
    [
        ([1, 3], 100, {3: [1]}),  # both fed back by day 3: complete that day, not before
        ([1, 3], 50, {1: [1]}),
        ([1, None], 100, {}),
    ],
)
def test_batches_completed_on(fed: list[int | None], percent: int, completed: dict[int, list[int]]) -> None:
    states = pd.DataFrame(
        {
            "batch_no": [1, 1],
            "first_reported": [dt.date(2024, 6, 1)] * 2,
            "feedback_on": [None if d is None else dt.date(2024, 6, d) for d in fed],
        }
    )
    for d in (1, 2, 3, 4):
        assert T.batches_completed_on(states, dt.date(2024, 6, d), percent) == completed.get(d, [])


def test_an_operator_publishes_one_batch_on_demand(warehouse: Ingestor, tmp_path: Path) -> None:
    url = str(warehouse.engine.url)
    args = ["publish", "--inspection", INSP, "--warehouse", url, "--out", str(tmp_path)]
    assert main([*args, "--batch", "2", "--as-of", DAYS[-1].isoformat()]) == 0
    folder = tmp_path / INSP / "batches" / f"第二批（截至{DAYS[-1].isoformat()}）"
    assert _title(folder / "第二批公开情况一览表（更新）.xlsx").endswith("（更新）")
    assert (folder / "manifest.json").is_file() and list(
        folder.glob("第二批公开情况一览表（更新）（*市*）.xlsx")
    )
    assert main([*args, "--batch", "2", "--as-of", DAYS[1].isoformat()]) == 0  # its own day: no update
    assert (
        tmp_path / INSP / "batches" / f"第二批（截至{DAYS[1].isoformat()}）" / "第二批公开情况一览表.xlsx"
    ).is_file()
    assert main([*args, "--batch", "42"]) == 2
    assert (
        main(["publish", "--warehouse", url, "--out", str(tmp_path), "--batch", "2"]) == 2
    )  # which inspection?


def test_a_policy_must_be_known() -> None:
    raw = {"id": "x", "name": "x", "deadline_days": 10, "fine_unit": "元"}
    with pytest.raises(ValueError, match="batch_tables"):
        _inspection_from_dict({**raw, "conventions": {"batch_tables": "sometimes"}})
    with pytest.raises(ValueError, match="complete_percent"):
        _inspection_from_dict({**raw, "conventions": {"complete_percent": 0}})
