"""Nothing disappears silently (issue 11): a batch records the count the team transferred,
and its table, the manifest and `ducha status` say "交办N件，已公开M件，待补正K件"."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook
from sqlalchemy import select

from ducha.cli import main
from ducha.config import data_dirs
from ducha.disclosure import tables as T
from ducha.disclosure.publish import publish
from ducha.intake.batch import parse_title
from ducha.pipeline import Ingestor
from ducha.warehouse.schema import batches
from tests.unit.intake.conftest import BATCH_DAY, HN, TITLE, case, standard_sheet, write_xlsx

NEXT_DAY = BATCH_DAY + dt.timedelta(days=1)


@pytest.mark.parametrize(
    ("title", "count"),
    [
        ("一览表（第三批 2024年6月3日 共52件）", 52),
        ("第三批交办52件", 52),
        ("第三批转办 52 件", 52),
        (TITLE, None),
        ("截至4月11日累计移交17批次1449件", None),  # a cumulative figure, not a batch's count
    ],
)
def test_a_title_states_the_batchs_count(title: str, count: int | None) -> None:
    assert parse_title(title).count == count


@pytest.fixture
def landed(tmp_path: Path) -> Ingestor:
    """Batch 3 said to hold 4 cases; case 3 is refused (a bad status), case 4 never sent."""
    day = tmp_path / "landing" / HN / BATCH_DAY.isoformat()
    title = TITLE.removesuffix("）") + " 共4件）"
    write_xlsx(day / "a.xlsx", standard_sheet([case(1), case(2), case(3, 是否办结="处理中啦")], title=title))
    ingestor = Ingestor(data_dirs(tmp_path), f"sqlite:///{tmp_path / 'w.sqlite'}", run_label="t")
    ingestor.ingest_day(BATCH_DAY)
    return ingestor


def _accounts(ingestor: Ingestor, day: dt.date) -> T.BatchAccount:
    with ingestor.engine.connect() as conn:
        (account,) = T.batch_accounts(conn, HN, day, T.case_states(conn, HN, day)).values()
    return account


def test_a_rejected_row_is_pending_not_lost(landed: Ingestor, tmp_path: Path) -> None:
    account = _accounts(landed, BATCH_DAY)
    assert (account.transferred, account.published, account.pending) == (4, 2, 1)
    assert account.sentence() == "本批交办4件，已公开2件，待补正1件，尚未报送1件。"
    out = publish(landed.engine, HN, tmp_path / "outbox", as_of=BATCH_DAY)
    folder = Path(out.folder or "")
    rows = (
        CalamineWorkbook.from_path(str(folder / "第三批公开情况一览表.xlsx"))
        .get_sheet_by_index(0)
        .to_python()
    )
    assert rows[-1][0] == "注：本批交办4件，已公开2件，待补正1件，尚未报送1件。待补正的信访件核实补正后公开。"
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    assert manifest["batches"] == [{"batch_no": 3, "transferred": 4, "published": 2, "pending": 1}]


def test_a_corrected_row_is_no_longer_pending_from_its_day_on(landed: Ingestor, tmp_path: Path) -> None:
    before = publish(landed.engine, HN, tmp_path / "a", as_of=BATCH_DAY)
    fixed = tmp_path / "landing" / HN / NEXT_DAY.isoformat()
    write_xlsx(
        fixed / "b.xlsx", standard_sheet([case(3), case(4)], title=TITLE.removesuffix("）") + " 共9件）")
    )
    landed.ingest_day(NEXT_DAY)
    after = _accounts(landed, NEXT_DAY)
    assert (after.transferred, after.published, after.pending) == (4, 4, 0)  # the first count stands
    assert after.sentence() == "本批交办4件，已公开4件。"
    # As of the first day, the row was still pending: that day's tables do not change.
    assert _accounts(landed, BATCH_DAY).pending == 1
    again = publish(landed.engine, HN, tmp_path / "b", as_of=BATCH_DAY)
    name = "第三批公开情况一览表.xlsx"
    assert (Path(again.folder or "") / name).read_bytes() == (Path(before.folder or "") / name).read_bytes()


def test_an_operator_records_the_count_and_status_shows_the_gap(
    landed: Ingestor, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    assert main(["batch-count", "--inspection", HN, "3", "5", "--warehouse", url]) == 0
    with landed.engine.connect() as conn:
        assert conn.execute(select(batches.c.transferred_count)).scalar_one() == 5
    assert main(["batch-count", "--inspection", HN, "9", "5", "--warehouse", url]) == 2  # no such batch
    # The count changes every day's tables: a day published before it is stale after it.
    from ducha.disclosure.publish import stale_days

    landed.engine.dispose()
    publish(landed.engine, HN, tmp_path / "out", as_of=BATCH_DAY)
    assert stale_days(landed.engine, tmp_path / "out", HN) == []
    assert main(["batch-count", "--inspection", HN, "3", "6", "--warehouse", url]) == 0
    assert stale_days(landed.engine, tmp_path / "out", HN) == [(HN, BATCH_DAY)]
    assert main(["batch-count", "--inspection", HN, "3", "5", "--warehouse", url]) == 0
    monkeypatch.setenv("DUCHA_DATA_DIR", str(tmp_path))
    capsys.readouterr()
    assert main(["status", "--warehouse", url]) == 0
    shown = capsys.readouterr().out
    assert "1 batches, 1 not wholly published" in shown
    assert "第三批: 本批交办5件，已公开2件，待补正1件，尚未报送2件。" in shown


def test_a_count_given_later_leaves_earlier_days_as_they_were(tmp_path: Path) -> None:
    first = tmp_path / "landing" / HN / BATCH_DAY.isoformat()
    write_xlsx(first / "a.xlsx", standard_sheet([case(1), case(2)]))  # no count in its title
    later = tmp_path / "landing" / HN / NEXT_DAY.isoformat()
    write_xlsx(later / "b.xlsx", standard_sheet([case(3)], title=TITLE.removesuffix("）") + " 共5件）"))
    ingestor = Ingestor(data_dirs(tmp_path), f"sqlite:///{tmp_path / 'w.sqlite'}", run_label="t")
    ingestor.ingest_day(BATCH_DAY)
    ingestor.ingest_day(NEXT_DAY)
    early, late = _accounts(ingestor, BATCH_DAY), _accounts(ingestor, NEXT_DAY)
    assert (early.transferred, early.expected, early.sentence()) == (None, 2, "本批交办2件，已公开2件。")
    assert (late.transferred, late.sentence()) == (5, "本批交办5件，已公开3件，尚未报送2件。")


def test_hold_keeps_a_batch_back_until_its_last_row_is_corrected(
    landed: Ingestor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    from ducha.config import get_inspection
    from ducha.disclosure import publish as P

    insp = get_inspection(HN)
    held = replace(insp, conventions=replace(insp.conventions, pending_rows="hold"))
    monkeypatch.setattr(P, "get_inspection", lambda _id: held)
    name = "第三批公开情况一览表.xlsx"
    first = Path(publish(landed.engine, HN, tmp_path / "out", as_of=BATCH_DAY).folder or "")
    assert not (first / name).exists()  # 1 row awaits correction: held
    fixed = tmp_path / "landing" / HN / NEXT_DAY.isoformat()
    write_xlsx(fixed / "b.xlsx", standard_sheet([case(3)]))
    landed.ingest_day(NEXT_DAY)
    second = Path(publish(landed.engine, HN, tmp_path / "out", as_of=NEXT_DAY).folder or "")
    rows = CalamineWorkbook.from_path(str(second / name)).get_sheet_by_index(0).to_python()
    assert rows[-1][0] == "注：本批交办4件，已公开3件，尚未报送1件。"  # released, whole
    third = Path(
        publish(landed.engine, HN, tmp_path / "out", as_of=NEXT_DAY + dt.timedelta(days=1)).folder or ""
    )
    assert not (third / name).exists()  # once
    monkeypatch.setattr(P, "get_inspection", lambda _id: insp)  # publish (the default): at once
    assert (Path(publish(landed.engine, HN, tmp_path / "d", as_of=BATCH_DAY).folder or "") / name).exists()


# --- an operator's explicit choice ------------------------------------------------------------


def _decisions(ingestor: Ingestor) -> list[tuple]:
    from ducha.warehouse.schema import batch_decisions as d

    with ingestor.engine.connect() as conn:
        q = select(d.c.batch_no, d.c.decision, d.c.effective_on, d.c.pending, d.c.decided_by, d.c.note)
        return [tuple(r) for r in conn.execute(q.order_by(d.c.decision_id))]


def test_publishing_a_batch_with_pending_rows_needs_an_explicit_choice(
    landed: Ingestor, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ducha publish --batch 3` refuses while a row awaits correction; the operator's
    choice is recorded with who, why and from which day, and the day tables follow it."""
    from ducha.disclosure.publish import stale_days

    url, out = f"sqlite:///{tmp_path / 'w.sqlite'}", tmp_path / "out"
    args = ["publish", "--inspection", HN, "--warehouse", url, "--out", str(out), "--batch", "3"]
    name = "第三批公开情况一览表.xlsx"
    daily = Path(publish(landed.engine, HN, out, as_of=BATCH_DAY).folder or "")
    assert (daily / name).exists()  # the default (publish), with its note
    assert main(args) == 1
    assert "待补正" in capsys.readouterr().err
    assert _decisions(landed) == [] and not (out / HN / "batches").exists()
    assert main(["publish", "--warehouse", url, "--out", str(out), "--pending", "hold"]) == 2  # which batch?

    # Hold: nothing published now; the day's tables are stale, and republished without it.
    assert main([*args, "--pending", "hold", "--by", "李科长", "--note", "待核实后公开"]) == 0
    assert _decisions(landed) == [(3, "hold", BATCH_DAY, 1, "李科长", "待核实后公开")]
    assert not (out / HN / "batches").exists()
    assert stale_days(landed.engine, out, HN) == [(HN, BATCH_DAY)]
    daily = Path(publish(landed.engine, HN, out, as_of=BATCH_DAY).folder or "")
    assert not (daily / name).exists()
    manifest = json.loads((daily / "manifest.json").read_text("utf-8"))
    (entry,) = manifest["batches"]
    assert entry["held"] is True
    # Who and why stay in the warehouse: the manifest is published.
    assert entry["decision"] == {"decision": "hold", "effective_on": BATCH_DAY.isoformat(), "pending_then": 1}
    # The same choice again records nothing and makes no day stale.
    assert main([*args, "--pending", "hold", "--by", "李科长"]) == 0
    assert len(_decisions(landed)) == 1 and stale_days(landed.engine, out, HN) == []
    monkeypatch.setenv("DUCHA_DATA_DIR", str(tmp_path))
    capsys.readouterr()
    assert main(["status", "--warehouse", url]) == 0
    assert "[hold: 李科长," in capsys.readouterr().out

    # A later decision for the same day wins; the earlier one is kept as history.
    assert main([*args, "--pending", "publish", "--by", "王处长"]) == 0
    assert [d[1] for d in _decisions(landed)] == ["hold", "publish"]
    on_demand = out / HN / "batches" / f"第三批（截至{BATCH_DAY.isoformat()}）"
    rows = CalamineWorkbook.from_path(str(on_demand / name)).get_sheet_by_index(0).to_python()
    assert "待补正1件" in rows[-1][0]
    assert json.loads((on_demand / "manifest.json").read_text("utf-8"))["decision"]["decision"] == "publish"
    daily = Path(publish(landed.engine, HN, out, as_of=BATCH_DAY).folder or "")
    assert (daily / name).exists()


def test_an_operator_releases_a_held_batch_on_its_day(
    landed: Ingestor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under `pending_rows: hold`, a decision to publish releases the batch from its day
    on; the days before it republish as they were (still held)."""
    from dataclasses import replace

    from ducha.config import get_inspection
    from ducha.disclosure import publish as P

    insp = get_inspection(HN)
    held = replace(insp, conventions=replace(insp.conventions, pending_rows="hold"))
    monkeypatch.setattr(P, "get_inspection", lambda _id: held)
    name = "第三批公开情况一览表.xlsx"
    later = tmp_path / "landing" / HN / NEXT_DAY.isoformat()
    write_xlsx(later / "c.xlsx", standard_sheet([case(5)], title="一览表（第四批 2024年6月4日）"))
    landed.ingest_day(NEXT_DAY)
    assert not (Path(publish(landed.engine, HN, tmp_path / "a", as_of=NEXT_DAY).folder or "") / name).exists()
    P.publish_batch(
        landed.engine, HN, tmp_path / "x", 3, as_of=NEXT_DAY, pending="publish", decided_by="王处长"
    )
    released = Path(publish(landed.engine, HN, tmp_path / "b", as_of=NEXT_DAY).folder or "")
    assert (released / name).exists()
    assert not (
        Path(publish(landed.engine, HN, tmp_path / "c", as_of=BATCH_DAY).folder or "") / name
    ).exists()
    with pytest.raises(ValueError, match="names who"):
        P.publish_batch(landed.engine, HN, tmp_path / "x", 3, as_of=NEXT_DAY, pending="hold", decided_by=" ")


def test_a_released_batch_with_every_row_still_awaiting_correction_publishes_nothing_yet(
    tmp_path: Path,
) -> None:
    """Hold, then publish, a batch whose only row is quarantined: the day is published
    (no table for it, nothing to show), and its table comes once its row is corrected."""
    from ducha.disclosure.publish import publish_batch, reconcile

    first = tmp_path / "landing" / HN / BATCH_DAY.isoformat()
    write_xlsx(first / "a.xlsx", standard_sheet([case(1, 是否办结="处理中啦")]))
    nxt = tmp_path / "landing" / HN / NEXT_DAY.isoformat()
    write_xlsx(nxt / "b.xlsx", standard_sheet([case(9)], title="一览表（第四批 2024年6月4日）"))
    ingestor = Ingestor(data_dirs(tmp_path), f"sqlite:///{tmp_path / 'w.sqlite'}", run_label="t")
    ingestor.ingest_day(BATCH_DAY)
    ingestor.ingest_day(NEXT_DAY)
    out = tmp_path / "out"
    publish_batch(ingestor.engine, HN, out, 3, as_of=BATCH_DAY, pending="hold", decided_by="李科长")
    publish_batch(ingestor.engine, HN, out, 3, as_of=NEXT_DAY, pending="publish", decided_by="王处长")
    outcomes = reconcile(ingestor.engine, out, inspection_id=HN)
    assert [o.as_of for o in outcomes] == [BATCH_DAY.isoformat(), NEXT_DAY.isoformat()]
    assert not list((out / HN / NEXT_DAY.isoformat()).glob("第三批*"))
    later = NEXT_DAY + dt.timedelta(days=1)
    write_xlsx(tmp_path / "landing" / HN / later.isoformat() / "c.xlsx", standard_sheet([case(1)]))
    ingestor.ingest_day(later)
    assert (
        Path(publish(ingestor.engine, HN, out, as_of=later).folder or "") / "第三批公开情况一览表.xlsx"
    ).exists()


def test_a_decision_recorded_while_a_load_commits_waits_its_turn(landed: Ingestor, tmp_path: Path) -> None:
    """`ducha publish --batch 3 --pending hold` while a load holds the write lock and then
    commits: the decision waits for it and is recorded. (It was written in the same
    transaction that read the states: SQLite refused that write at once, "database is
    locked", because the load had changed the database since the read.)"""
    import sqlite3
    import threading

    from ducha.disclosure.publish import publish_batch

    holding, done = threading.Event(), threading.Event()

    def load_committing() -> None:
        db = sqlite3.connect(tmp_path / "w.sqlite", isolation_level=None, timeout=60)
        db.execute("BEGIN IMMEDIATE")
        db.execute("UPDATE files SET warnings = warnings + 0")
        holding.set()
        done.wait(1.5)  # the decision reads meanwhile, then waits for the lock
        db.execute("COMMIT")
        db.close()

    loader = threading.Thread(target=load_committing)
    loader.start()
    holding.wait(10)
    try:
        made = publish_batch(
            landed.engine, HN, tmp_path / "out", 3, as_of=BATCH_DAY, pending="hold", decided_by="李科长"
        )
    finally:
        done.set()
        loader.join()
    assert made.decision is not None and made.decision.decision == "hold"
    assert _decisions(landed)[0][:2] == (3, "hold")


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_a_day_is_published_from_one_state_while_a_load_commits(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A corrected file for the day commits while the day's tables are being read (after
    the states, before the batch accounts): the table, its note and the manifest all show
    the warehouse before it, or all after — never the rows of one and the counts of the
    other. (On PostgreSQL each statement saw the loads committed before it.)"""
    from ducha.config import get_inspection

    url = (
        f"sqlite:///{tmp_path / 'w.sqlite'}"
        if backend == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    day = tmp_path / "landing" / HN / BATCH_DAY.isoformat()
    title = TITLE.removesuffix("）") + " 共4件）"
    write_xlsx(day / "a.xlsx", standard_sheet([case(1), case(2), case(3, 是否办结="处理中啦")], title=title))
    ingestor = Ingestor(data_dirs(tmp_path), url, run_label="t")
    ingestor.ingest_day(BATCH_DAY)
    fixed = write_xlsx(tmp_path / "later" / "b.xlsx", standard_sheet([case(3), case(4)], title=title))
    real, loaded = T.batch_accounts, []

    def a_load_commits_first(*args, **kwargs):  # type: ignore[no-untyped-def]
        if not loaded:
            loaded.append(ingestor.ingest_file(fixed, get_inspection(HN), day=BATCH_DAY).status)
        return real(*args, **kwargs)

    monkeypatch.setattr(T, "batch_accounts", a_load_commits_first)
    folder = Path(publish(ingestor.engine, HN, tmp_path / "outbox", as_of=BATCH_DAY).folder or "")
    assert loaded == ["loaded"]
    grid = (
        CalamineWorkbook.from_path(str(folder / "第三批公开情况一览表.xlsx"))
        .get_sheet_by_index(0)
        .to_python()
    )
    shown = [r for r in grid[2:] if isinstance(r[0], int | float)]  # 序号: a data row
    (batch,) = json.loads((folder / "manifest.json").read_text("utf-8"))["batches"]
    assert (batch["published"], batch["pending"]) == (len(shown), 1) == (2, 1)
    assert grid[-1][0].startswith("注：本批交办4件，已公开2件，待补正1件")
    ingestor.engine.dispose()
