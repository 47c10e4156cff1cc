"""The disclosure tables as data: what each published table holds, as of a date.

Everything is computed from the warehouse state at ``as_of`` (the latest version of
each case reported on or before that day), so the same warehouse always gives the
same tables, and publishing an earlier date again reproduces what was published then.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd
from sqlalchemy import Connection, case, func, select

from ducha.config import Inspection
from ducha.contract import load_contract, split_types, split_unit, strip_unit
from ducha.disclosure.layout import Column, Sheet
from ducha.disclosure.redact import is_missing
from ducha.layouts import Layout
from ducha.text import batch_label, cn_date, cn_month_day
from ducha.warehouse.schema import PENALTY_COLUMNS, batches, case_versions, cases, files, quarantined_rows


def published_columns(layout: Layout) -> list[Column]:
    """A layout's columns as published: 序号 a whole number, the rest text."""
    return [Column(c.header, c.width, "int" if c.field == "seq" else "text", c.align) for c in layout.columns]


def latest_data_day(conn: Connection, inspection_id: str) -> dt.date | None:
    return conn.execute(
        select(func.max(case_versions.c.as_of)).where(case_versions.c.inspection_id == inspection_id)
    ).scalar()


def case_states(conn: Connection, inspection_id: str, as_of: dt.date) -> pd.DataFrame:
    """One row per case known on ``as_of``, with its latest state reported by then
    (latest by as-of day, then load order, as in the v_case_latest view)."""
    v = case_versions
    contract = load_contract()
    closed = contract.closed_statuses
    # A version with results: the locality's feedback (调查核实, 是否属实 or a closing).
    feedback = (
        (v.c.findings != "")
        | ((v.c.verified.is_not(None)) & (v.c.verified != ""))
        | v.c.status.in_((*closed, *contract.partly_closed_statuses))
    )
    # One pass over the versions, window functions per case: the latest version, the day
    # first reported, the day of the first feedback and the day first closed (a joined
    # GROUP BY subquery here was scanned once per case by SQLite: quadratic).
    ranked = (
        select(
            v.c.case_id,
            v.c.version_no,
            func.row_number()
            .over(partition_by=v.c.case_id, order_by=(v.c.as_of.desc(), v.c.version_no.desc()))
            .label("rank"),
            func.min(v.c.as_of).over(partition_by=v.c.case_id).label("first_reported"),
            func.min(case((v.c.status.in_(closed), v.c.as_of), else_=None))
            .over(partition_by=v.c.case_id)
            .label("closed_on"),
            func.min(case((feedback, v.c.as_of), else_=None))
            .over(partition_by=v.c.case_id)
            .label("feedback_on"),
        )
        .where(v.c.inspection_id == inspection_id, v.c.as_of <= as_of)
        .subquery()
    )
    latest = (
        select(
            ranked.c.case_id,
            ranked.c.version_no,
            ranked.c.first_reported,
            ranked.c.closed_on,
            ranked.c.feedback_on,
        )
        .where(ranked.c.rank == 1)
        .subquery()
    )
    # The batch date, and the due dates it sets, only once a file reported by then gave it.
    dated = batches.c.dated_on <= as_of
    q = (
        select(
            cases.c.case_id,
            cases.c.batch_no,
            v.c.seq,
            v.c.region,
            v.c.pollution_types,
            cases.c.summary,
            v.c.key_case,
            case((dated, cases.c.due_on), else_=None).label("due_on"),
            case((dated, batches.c.transferred_on), else_=None).label("transferred_on"),
            v.c.as_of,
            latest.c.first_reported,
            v.c.version_no,
            v.c.findings,
            v.c.verified,
            v.c.target,
            v.c.handling,
            v.c.status,
            v.c.accountability,
            *(v.c[p] for p in PENALTY_COLUMNS),
            latest.c.closed_on,
            latest.c.feedback_on,
        )
        .select_from(cases)
        .join(latest, latest.c.case_id == cases.c.case_id)
        .join(
            v,
            (v.c.inspection_id == cases.c.inspection_id)
            & (v.c.case_id == cases.c.case_id)
            & (v.c.version_no == latest.c.version_no),
        )
        .join(
            batches,
            (batches.c.inspection_id == cases.c.inspection_id) & (batches.c.batch_no == cases.c.batch_no),
        )
        .where(cases.c.inspection_id == inspection_id)
        .order_by(cases.c.batch_no, v.c.seq, cases.c.case_id)
    )
    frame = pd.DataFrame(conn.execute(q).mappings().all())
    if frame.empty:
        frame = pd.DataFrame(columns=[c.name for c in q.selected_columns])
    return frame


@dataclass(frozen=True)
class BatchAccount:
    """What became of a batch's cases as of a day: nothing disappears silently."""

    batch_no: int
    transferred: int | None  # the team's count (title or operator), when known
    published: int  # the batch's cases in the tables
    pending: int  # its rows quarantined and not corrected by then (cases not published)

    @property
    def expected(self) -> int:
        return self.transferred if self.transferred is not None else self.published + self.pending

    def sentence(self) -> str:
        """ "本批交办52件，已公开50件，待补正2件": zero items left out, as releases do."""
        parts = [f"本批交办{self.expected}件", f"已公开{self.published}件"]
        if self.pending:
            parts.append(f"待补正{self.pending}件")
        unreported = self.expected - self.published - self.pending
        if unreported > 0:
            parts.append(f"尚未报送{unreported}件")
        return "，".join(parts) + "。"


def batch_accounts(
    conn: Connection, inspection_id: str, as_of: dt.date, states: pd.DataFrame
) -> dict[int, BatchAccount]:
    """Per batch known on ``as_of``: transferred, published and pending as of that day. A
    quarantined row counts as pending while no file received by then has corrected it,
    and once per case; a row of a case already published (a bad update) is not pending."""
    q, f, fixed = quarantined_rows, files, files.alias("fixed")
    rows = conn.execute(
        select(f.c.batch_no, q.c.case_id, q.c.file_sha256, q.c.sheet, q.c.row)
        .select_from(
            q.join(f, f.c.sha256 == q.c.file_sha256).outerjoin(fixed, fixed.c.sha256 == q.c.resolved_by)
        )
        .where(
            q.c.inspection_id == inspection_id,
            (f.c.received_on <= as_of) | f.c.received_on.is_(None),
            q.c.resolved.is_(False) | (fixed.c.received_on > as_of),
        )
    ).all()
    published = states.groupby("batch_no").size().to_dict() if len(states) else {}
    known = set(states["case_id"]) if len(states) else set()
    pending: dict[int, set[object]] = {}
    for batch_no, case_id, sha, sheet, row in rows:
        if batch_no is None or case_id in known:
            continue
        pending.setdefault(int(batch_no), set()).add(case_id or (sha, sheet, row))
    # A count read from a file counts from that file's day on (republishing an earlier day
    # gives the same bytes); an operator's entry (no day) counts on every day.
    b = batches
    counts = dict(
        conn.execute(
            select(b.c.batch_no, b.c.transferred_count).where(
                b.c.inspection_id == inspection_id, b.c.counted_on.is_(None) | (b.c.counted_on <= as_of)
            )
        ).all()
    )
    numbers = sorted({*map(int, published), *pending})
    return {
        b: BatchAccount(b, counts.get(b), int(published.get(b, 0)), len(pending.get(b, ()))) for b in numbers
    }


def batches_reported_on(states: pd.DataFrame, day: dt.date) -> list[int]:
    """Batches with a case first reported on ``day``: each gets its own table that day
    (a batch whose file arrives late is published when it arrives)."""
    if states.empty:
        return []
    return sorted({int(b) for b in states.loc[states["first_reported"] == day, "batch_no"]})


@dataclass(frozen=True)
class BatchTable:
    """A batch table to publish on a day: on its arrival, or again with results."""

    batch_no: int
    update: bool  # republished with its results: titled with the update wording


def batch_tables(states: pd.DataFrame, day: dt.date, insp: Inspection) -> list[BatchTable]:
    """The batch tables of ``day``, by the inspection's convention (``batch_tables``)."""
    policy = insp.conventions.batch_tables
    arrivals = batches_reported_on(states, day)
    if policy == "on_arrival":
        return [BatchTable(b, False) for b in arrivals]
    if policy == "with_results":
        updated = {int(b) for b in updated_cases(states, day)["batch_no"]} - set(arrivals)
        return sorted([*(BatchTable(b, False) for b in arrivals), *(BatchTable(b, True) for b in updated)],
                      key=lambda t: t.batch_no)  # fmt: skip
    return [
        BatchTable(b, False) for b in batches_completed_on(states, day, insp.conventions.complete_percent)
    ]


def held_batches(accounts: dict[int, BatchAccount], choices: dict[int, str], default: str) -> set[int]:
    """Batches held back on a day: rows of theirs await correction, and the operator's
    choice in force for the batch (``choices``: batch -> publish | hold), else the
    inspection's `pending_rows`, says hold."""
    return {b for b, a in accounts.items() if a.pending and choices.get(b, default) == "hold"}


def held_and_released(
    tables: list[BatchTable], held_now: set[int], held_before: set[int]
) -> list[BatchTable]:
    """A held batch's table waits, and comes out on the first day it is no longer held
    (its last row corrected, or an operator's decision to publish)."""
    kept = [t for t in tables if t.update or t.batch_no not in held_now]
    released = [
        BatchTable(b, False) for b in sorted(held_before - held_now) if all(t.batch_no != b for t in kept)
    ]
    return sorted([*kept, *released], key=lambda t: (t.batch_no, t.update))


def batches_completed_on(states: pd.DataFrame, day: dt.date, percent: int) -> list[int]:
    """Batches whose share of cases with results (fed back) first reaches ``percent`` on
    ``day``: it did by the end of ``day`` and had not the day before."""
    if states.empty:
        return []
    fed = pd.to_datetime(states["feedback_on"], errors="coerce")
    first = pd.to_datetime(states["first_reported"], errors="coerce")
    today = pd.Timestamp(day)
    frame = pd.DataFrame(
        {
            "batch_no": states["batch_no"].astype(int),
            "known_before": first < today,
            "fed": (fed <= today).fillna(False),
            "fed_before": (fed < today).fillna(False),
        }
    )
    out = []
    for batch_no, g in frame.groupby("batch_no", sort=True):
        now = g["fed"].sum() * 100 >= percent * len(g)
        before = g["known_before"].any() and (
            g["fed_before"].sum() * 100 >= percent * g["known_before"].sum()
        )
        if now and not before:
            out.append(int(batch_no))
    return out


def batch_stem(batch_no: int, update: bool, insp: Inspection) -> str:
    """The file name stem of a batch table: "第三批公开情况一览表", "…（更新）"."""
    return f"{batch_label(batch_no)}公开情况一览表" + (insp.conventions.update_wording if update else "")


def updated_cases(states: pd.DataFrame, day: dt.date) -> pd.DataFrame:
    """Earlier cases whose state changed on ``day``: re-published in the updates table."""
    if states.empty:
        return states
    mask = (states["as_of"] == day) & (states["first_reported"] < day)
    return states[mask].sort_values(["batch_no", "seq", "case_id"], na_position="last")


def batch_sheet(
    states: pd.DataFrame,
    batch_no: int,
    layout: Layout,
    account: BatchAccount | None = None,
    *,
    update_wording: str = "",
    note: str = "",
) -> Sheet:
    """The per-batch table, header exactly as published, 序号 numbered across the batch
    (each city's copy: ``city_sheets``); its note says what became of the batch's cases.
    Republished with its results, it keeps its own title and date and adds
    ``update_wording`` ("（更新）")."""
    rows = _batch_rows(states, batch_no)
    grid = _batch_grid(rows, layout)
    sheet = _batch_sheet(layout, batch_no, grid, _first(rows["transferred_on"].tolist()))
    if update_wording:
        sheet = replace(sheet, title=(sheet.title or "") + update_wording)
    if note:
        sheet = replace(sheet, notes=[*sheet.notes, note.format(batch=batch_label(batch_no))])
    if account is None:
        return sheet
    accounted = "注：" + account.sentence() + ("待补正的信访件核实补正后公开。" if account.pending else "")
    return replace(sheet, notes=[*sheet.notes, accounted])


def city_sheets(
    states: pd.DataFrame, batch_no: int, layout: Layout, insp: Inspection, *, update_wording: str = ""
) -> list[tuple[str, Sheet]]:
    """Each city's copy of a batch table: only its rows, keeping the batch-wide 序号, as
    cities publish them; in the configured order, from one sort and one split."""
    rows = _batch_rows(states, batch_no)
    # The batch's cells once; each copy takes its cities' rows of them (a batch has a copy
    # for each of a dozen or more cities, republished whenever the batch changes).
    grid = _batch_grid(rows, layout)
    transferred = rows["transferred_on"].tolist()
    positions: dict[str, list[int]] = {}
    for i, city in enumerate(cities(rows, insp).tolist()):
        positions.setdefault(city, []).append(i)
    out = []
    for city in insp.in_region_order(set(positions)):
        at = positions[city]
        day = _first([transferred[i] for i in at])
        sheet = _batch_sheet(layout, batch_no, [grid[i] for i in at], day, city)
        out.append((city, replace(sheet, title=(sheet.title or "") + update_wording)))
    return out


def _batch_rows(states: pd.DataFrame, batch_no: int) -> pd.DataFrame:
    return states[states["batch_no"] == batch_no].sort_values(["seq", "case_id"], na_position="last")


def _batch_grid(rows: pd.DataFrame, layout: Layout) -> list[list[object]]:
    """A batch's cells, 序号 numbered across the batch."""
    return _grid(rows, [c.field for c in layout.columns], range(1, len(rows) + 1))


def _batch_sheet(
    layout: Layout, batch_no: int, grid: list[list[object]], day: object, region: str | None = None
) -> Sheet:
    """A batch table (or a city's copy, titled with the city) of cells made by ``_grid``,
    dated by the day the batch was transferred (if known)."""
    title = layout.title.format(batch_label=batch_label(batch_no), batch_date=cn_date(day) if day else "")  # type: ignore[arg-type]
    return Sheet(
        name=batch_label(batch_no),
        columns=published_columns(layout),
        rows=grid,
        title=(region or "") + title.replace("（ ", "（").replace(" ）", "）"),
    )


def _first(values: list[object]) -> object:
    """The first value that is not missing, or None."""
    return next((v for v in values if not is_missing(v)), None)


def cities(states: pd.DataFrame, insp: Inspection) -> pd.Series:
    """The city of each case (its ``city`` column, when the caller has added it)."""
    if "city" in states.columns:
        return states["city"]
    names = {r: insp.city_of(str(r)) for r in states["region"].unique()}
    return states["region"].map(names)


def with_cities(states: pd.DataFrame, insp: Inspection) -> pd.DataFrame:
    """``states`` with the ``city`` column every per-city table and chart reads."""
    return states.assign(city=cities(states, insp)) if "city" not in states.columns else states


def _grid(rows: pd.DataFrame, fields: list[str], numbers: Iterable[int]) -> list[list[object]]:
    """Table cells, built column by column: a missing value is "", 序号 falls back to the
    row's number in its batch."""
    columns: list[list[object]] = []
    for name in fields:
        values = rows[name].tolist()
        if name == "seq":
            columns.append([n if is_missing(v) else int(v) for v, n in zip(values, numbers, strict=True)])  # type: ignore[call-overload]
        else:
            columns.append(["" if is_missing(v) else v for v in values])
    return [list(r) for r in zip(*columns, strict=True)] if columns else []


def updates_sheet(updates: pd.DataFrame, layout: Layout, day: dt.date) -> Sheet:
    """Earlier cases re-published because their status or findings changed."""
    columns = [
        Column("批次", 8),
        *published_columns(layout),
    ]
    grid = _grid(updates, [c.field for c in layout.columns], [0] * len(updates))
    labels = [batch_label(int(b)) for b in updates["batch_no"]]
    return Sheet(
        name="办理情况更新",
        columns=columns,
        rows=[[label, *cells] for label, cells in zip(labels, grid, strict=True)],
        title=f"群众信访举报办理情况更新表（{cn_date(day)}）",
        notes=["注：本表为此前已公开、本日办理进展或调查核实情况有变化的信访件；序号为所属批次内的序号。"],
    )


# --- cumulative summary -------------------------------------------------------------


def _closed(states: pd.DataFrame) -> pd.Series:
    return states["status"].isin(load_contract().closed_statuses)


def _partly(states: pd.DataFrame) -> pd.Series:
    return states["status"].isin(load_contract().partly_closed_statuses)


def counted_closed(states: pd.DataFrame, insp: Inspection) -> pd.Series:
    """The cases 办结率 counts: the statuses of the inspection's convention."""
    return states["status"].isin(insp.conventions.closure_counts)


def on_time(states: pd.DataFrame, insp: Inspection) -> pd.Series:
    """按时办结: counted as closed, and the results first fed back within the feedback
    deadline of the case's city ("5日内反馈查处整改情况") after the batch's transfer."""
    if states.empty:
        return pd.Series(dtype=bool)
    days = {r: insp.feedback_days_for(str(r)) for r in states["region"].unique()}
    transferred = pd.to_datetime(states["transferred_on"], errors="coerce")
    deadline = transferred + pd.to_timedelta(states["region"].map(days), unit="D")
    fed_back = pd.to_datetime(states["feedback_on"], errors="coerce")
    return counted_closed(states, insp) & (fed_back <= deadline).fillna(False).astype(bool)


def rate_notes(insp: Inspection) -> str:
    """How the rates of a table were counted, in the words of the table's note."""
    contract = load_contract()
    counted = "＋".join(insp.conventions.closure_counts)
    counted = f"（{counted}）" if len(insp.conventions.closure_counts) > 1 else counted
    return (
        f"注：办结率＝{counted}件数÷累计交办件数；按时办结率＝交办后{insp.conventions.feedback_days}日内"
        f"反馈查处整改情况且{contract.closed_label}的件数÷累计交办件数（市州另有时限的按其时限）；"
        f"{contract.unfounded}率＝{contract.unfounded}件数÷累计交办件数。"
    )


CENT = Decimal("0.01")


def money_total(values: Iterable[object]) -> Decimal:
    """The exact sum of amounts: Decimal as the warehouse gives them (a float, as from a
    caller's own frame, counts as its shortest form)."""
    return sum((Decimal(str(v)) for v in values if not is_missing(v)), Decimal(0))


def _fmt_amount(x: Decimal) -> str:
    """An amount to the fen, without trailing zeros: 1200.50 -> "1200.5", 1200.00 -> "1200"."""
    text = f"{x.quantize(CENT, rounding=ROUND_HALF_UP):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def published_fine(total: Decimal, insp: Inspection) -> tuple[str, str]:
    """(amount as published, unit): converted into the convention's unit; an amount
    that rounding changed reads "约…" as releases write it ("约18213.33万元")."""
    unit = insp.published_fine_unit
    value = total
    if unit != insp.fine_unit:
        value = total / 10000 if unit == "万元" else total * 10000
    return ("约" if value != value.quantize(CENT, rounding=ROUND_HALF_UP) else "") + _fmt_amount(value), unit


def batch_span(max_batch: int) -> str:
    """ "第1批" for one batch, "1-11批" for several, as releases write them."""
    return f"第{max_batch}批" if max_batch == 1 else f"1-{max_batch}批"


def summary_paragraph(states: pd.DataFrame, insp: Inspection, as_of: dt.date) -> str:
    """The statistics sentence, in the wording provinces publish: zero items left out,
    the scope word, fine unit and optional sentences of the inspection's conventions."""
    conv = insp.conventions
    n = len(states)
    if not n:
        return f"截至{cn_month_day(as_of)}，{insp.scope_word}尚无交办信访件。"
    closed_mask = _closed(states)
    closed = int(closed_mask.sum())
    partly = int(_partly(states).sum())
    contract = load_contract()
    max_batch = int(states["batch_no"].max())
    closed_text = f"{contract.closed_label}{closed}件"
    if conv.verified_of_closed and closed:
        verified = states.loc[closed_mask, "verified"].fillna("").value_counts()
        shown = [f"{v}{verified[v]}件" for v in contract.vocabularies["verified"].values if v in verified]
        closed_text += f"（{'、'.join(shown)}）" if shown else ""
    statuses = [
        (closed, closed_text),
        (partly, f"{contract.partly_closed_label}{partly}件"),
        (n - closed - partly, f"{conv.open_label}{n - closed - partly}件"),
    ]
    text = f"截至{cn_month_day(as_of)}，{insp.scope_word}已对{batch_span(max_batch)}{n}件信访件进行调查处理"
    shown_statuses = [t for count, t in statuses if count]
    if shown_statuses:
        text += "，其中，" + "、".join(shown_statuses)
    shown_penalties = _penalty_phrases(states, insp)
    if shown_penalties:
        text += "，" + "，".join(shown_penalties)
    text += "。"
    if conv.key_cases_sentence:
        text += f"交办件中重点关注问题{int(states['key_case'].fillna(False).astype(bool).sum())}件。"
    return text


def _penalty_phrases(states: pd.DataFrame, insp: Inspection) -> list[str]:
    """Each penalty with a total, in the contract's order, as releases word them:
    "责令整改88家", "罚款金额约18213.33万元"."""
    contract = load_contract()
    out = []
    for p in PENALTY_COLUMNS:
        name, unit = split_unit(contract.fields[p].label)
        if contract.fields[p].kind == "money":
            total = money_total(states[p])
            amount, unit = published_fine(total, insp)
            text = f"{name}{amount}{unit}"
        else:
            total = float(states[p].fillna(0).sum())
            text = f"{name}{total:.0f}{unit}"
        if total:
            out.append(text)
    return out


def region_sheet(states: pd.DataFrame, insp: Inspection, as_of: dt.date) -> Sheet:
    contract = load_contract()
    headers = [
        "地区",
        "当日交办",
        "累计交办",
        "重点",
        contract.closed_label,
        contract.partly_closed_label,
        insp.conventions.open_label,
        "办结率",
        "按时办结率",
        f"{contract.unfounded}率",
    ]
    kinds = ["text", "int", "int", "int", "int", "int", "int", "percent", "percent", "percent"]
    rows: list[list[object]] = []
    if not states.empty:
        frame = states.assign(
            city=cities(states, insp),
            today=states["transferred_on"] == as_of,
            closed=_closed(states),
            partly=_partly(states),
            counted=counted_closed(states, insp),
            on_time=on_time(states, insp),
            unfounded=states["verified"] == contract.unfounded,
        )
        # One aggregation for every city (a copy of each city's rows was taken before).
        counted = ["today", "key_case", "closed", "partly", "counted", "on_time", "unfounded"]
        flags = frame[counted].fillna(False).astype(bool)
        by_city = flags.groupby(frame["city"], sort=False).sum().astype(int)
        by_city["total"] = frame.groupby("city", sort=False).size()
        by_city.loc["合计"] = by_city.sum()
        for name in [*insp.in_region_order(list(by_city.index[:-1])), "合计"]:
            g = by_city.loc[name]
            total, closed, partly = int(g["total"]), int(g["closed"]), int(g["partly"])
            rows.append(
                [
                    name,
                    int(g["today"]),
                    total,
                    int(g["key_case"]),
                    closed,
                    partly,
                    total - closed - partly,
                    int(g["counted"]) / total if total else 0.0,
                    int(g["on_time"]) / total if total else 0.0,
                    int(g["unfounded"]) / total if total else 0.0,
                ]
            )
    return Sheet(
        name="按地区",
        columns=[Column(h, 12 if i else 22, k) for i, (h, k) in enumerate(zip(headers, kinds, strict=True))],
        rows=rows,
        title=f"群众信访举报办理情况统计表（按地区，截至{cn_date(as_of)}）",
        notes=[rate_notes(insp)],
    )


def type_sheet(states: pd.DataFrame, insp: Inspection, as_of: dt.date) -> Sheet:
    counts: dict[str, int] = dict.fromkeys(insp.pollution_types, 0)
    for value in states.get("pollution_types", pd.Series(dtype=str)).fillna(""):
        for t in split_types(str(value)):
            counts[t] = counts.get(t, 0) + 1
    n = len(states)
    rows = [[t, c, c / n if n else 0.0] for t, c in counts.items()]
    return Sheet(
        name="按污染类型",
        columns=[Column("污染类型", 16), Column("件数", 10, "int"), Column("占交办件数比例", 14, "percent")],
        rows=[*rows, ["交办件数", n, 1.0 if n else 0.0]],
        title=f"群众信访举报污染类型统计表（截至{cn_date(as_of)}）",
        notes=["注：一件举报可能涉及多个污染类型，各类型件数之和大于交办件数。"],
    )


def verified_sheet(states: pd.DataFrame, as_of: dt.date) -> Sheet:
    values = load_contract().vocabularies["verified"].values
    n = len(states)
    col = states["verified"] if n else pd.Series(dtype=str)
    rows = [[v, int((col == v).sum())] for v in values]
    rows.append(["尚未核实", int(col.isna().sum() + (col == "").sum()) if n else 0])
    return Sheet(
        name="按是否属实",
        columns=[Column("是否属实", 16), Column("件数", 10, "int")],
        rows=[*rows, ["合计", n]],
        title=f"群众信访举报核实情况统计表（截至{cn_date(as_of)}）",
    )


def penalty_sheet(states: pd.DataFrame, insp: Inspection, as_of: dt.date) -> Sheet:
    """One row of totals, one column per penalty, as statistics tables print them."""
    contract = load_contract()
    columns: list[Column] = []
    row: list[object] = []
    for p in PENALTY_COLUMNS:
        if contract.fields[p].kind == "money":
            amount, unit = published_fine(money_total(states[p]) if len(states) else Decimal(0), insp)
            columns.append(Column(f"{strip_unit(contract.fields[p].label)}（{unit}）", 16, "number"))
            row.append(float(amount.removeprefix("约")))
        else:
            total = float(states[p].fillna(0).sum()) if len(states) else 0.0
            columns.append(Column(contract.fields[p].label, 12, "int"))
            row.append(round(total))
    return Sheet(
        name="处罚问责",
        columns=columns,
        rows=[row],
        title=f"边督边改处罚问责情况统计表（截至{cn_date(as_of)}）",
    )


def overview_text(summary: list[Sheet]) -> str:
    """The statistics sentence of summary sheets (their first sheet's one cell)."""
    return str(summary[0].rows[0][0])


def summary_sheets(states: pd.DataFrame, insp: Inspection, as_of: dt.date) -> list[Sheet]:
    paragraph = summary_paragraph(states, insp, as_of)
    overview = Sheet(
        name="总体情况",
        columns=[Column("累计情况", 120)],
        rows=[[paragraph]],
        title=f"{insp.name}群众信访举报办理情况（截至{cn_date(as_of)}）",
    )
    return [
        overview,
        region_sheet(states, insp, as_of),
        type_sheet(states, insp, as_of),
        verified_sheet(states, as_of),
        penalty_sheet(states, insp, as_of),
    ]
