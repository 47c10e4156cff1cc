"""The periodic (weekly) report: four statistics series as a workbook with native Excel
charts, and the same charts as SVG for the website.

Series (all as of ``as_of``, from ``tables.case_states``):

- by batch: cases transferred per batch, split by status (已办结 / 阶段性办结 / 未办结: the
  contract's closed and partly closed labels, then the convention's open label);
- by pollution type: cases per type (one case may have several types, so the counts
  add up to more than the cases);
- by region: cases, closed cases and closure rate per city (``Inspection.city_of``);
- closure progress: for each day from the first transfer to ``as_of``, cases transferred
  by then and cases closed by then (first reported closed on or before that day, among
  the cases closed as of ``as_of``, so the line ends at the published closed count).

Same input, same bytes: the workbook's creation date is the caller's ``created`` and
xlsxwriter numbers charts and axes sequentially; the SVGs hold nothing variable.
PNG versions are not produced (they need a renderer with CJK fonts on the server).
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import xlsxwriter

from ducha.config import Inspection
from ducha.contract import load_contract, split_types
from ducha.disclosure import charts
from ducha.disclosure.layout import Column, Sheet
from ducha.disclosure.redact import is_missing
from ducha.disclosure.writers import add_sheet, atomic_path, open_workbook, print_landscape
from ducha.paths import under
from ducha.text import batch_label, cn_date, cn_month_day

UNKNOWN_REGION = "未注明地区"
STATUS_COLORS = ("#2e7d32", "#f9a825", "#c62828")
SVG_NAMES = {
    "batch": "周报图表_按批次.svg",
    "type": "周报图表_按污染类型.svg",
    "region": "周报图表_按地区.svg",
    "progress": "周报图表_办结进度.svg",
}
CHART_SHEET = "图表"
# An A4 landscape page (0.5" side margins) prints ~1020 x 670 px: one chart per page.
CHART_WIDTH, CHART_HEIGHT = 960, 600
ROWS_PER_PAGE = 32  # default rows are 20 px


def xlsx_name(as_of: dt.date) -> str:
    return f"周报（截至{as_of.isoformat()}）.xlsx"


@dataclass(frozen=True)
class BatchCount:
    batch_no: int
    label: str
    total: int
    closed: int
    partly: int

    @property
    def open(self) -> int:
        return self.total - self.closed - self.partly


@dataclass(frozen=True)
class TypeCount:
    type: str
    count: int


@dataclass(frozen=True)
class RegionCount:
    region: str
    total: int
    closed: int
    counted: int  # the cases 办结率 counts (the inspection's convention)

    @property
    def rate(self) -> float:
        return self.counted / self.total if self.total else 0.0


@dataclass(frozen=True)
class DayProgress:
    day: dt.date
    transferred: int  # cumulative
    closed: int  # cumulative

    @property
    def rate(self) -> float:
        return self.closed / self.transferred if self.transferred else 0.0


@dataclass(frozen=True)
class WeeklyData:
    as_of: dt.date
    total: int
    closed: int
    partly: int
    batches: tuple[BatchCount, ...]
    types: tuple[TypeCount, ...]
    regions: tuple[RegionCount, ...]  # configured order, then others by name
    progress: tuple[DayProgress, ...]  # one per day, first transfer .. as_of
    counted: int  # the cases 办结率 counts (the inspection's convention)
    closed_label: str  # the contract's word for closed cases (已办结)
    partly_label: str  # and for partly closed ones (阶段性办结)
    open_label: str  # the convention's label for cases neither closed nor partly closed
    closure_note: str  # how 办结率 counts, for the region table's note

    @property
    def rate(self) -> float:
        return self.counted / self.total if self.total else 0.0

    @property
    def status_names(self) -> tuple[str, str, str]:
        return (self.closed_label, self.partly_label, self.open_label)

    @property
    def open(self) -> int:
        return self.total - self.closed - self.partly


# ----------------------------------------------------------------------------- data


def _types_of(value: object) -> list[str]:
    """The distinct types of one case, in order ("水、大气" -> ["水", "大气"])."""
    return [] if is_missing(value) else split_types(str(value))


def _region_of(insp: Inspection, value: object) -> str:
    if is_missing(value) or not str(value).strip():
        return UNKNOWN_REGION
    return insp.city_of(str(value).strip())


def weekly_data(states: pd.DataFrame, insp: Inspection, as_of: dt.date) -> WeeklyData:
    """The four series from ``case_states(conn, inspection_id, as_of)``."""
    contract = load_contract()
    n = len(states)
    closed = states["status"].isin(contract.closed_statuses).to_numpy(dtype=bool)
    partly = states["status"].isin(contract.partly_closed_statuses).to_numpy(dtype=bool)
    counted = states["status"].isin(insp.conventions.closure_counts).to_numpy(dtype=bool)
    frame = pd.DataFrame({"batch_no": states["batch_no"].to_numpy(), "closed": closed, "partly": partly})

    batches = tuple(
        BatchCount(int(b), batch_label(int(b)), len(g), int(g["closed"].sum()), int(g["partly"].sum()))
        for b, g in frame.groupby("batch_no", sort=True)
    )

    type_counts: dict[str, int] = dict.fromkeys(insp.pollution_types, 0)
    for value in states["pollution_types"]:
        for t in _types_of(value):
            type_counts[t] = type_counts.get(t, 0) + 1
    types = tuple(TypeCount(t, c) for t, c in type_counts.items())

    by_city: dict[str, list[int]] = {}
    for region, is_closed, is_counted in zip(states["region"], closed, counted, strict=True):
        counts = by_city.setdefault(_region_of(insp, region), [0, 0, 0])
        counts[0] += 1
        counts[1] += int(is_closed)
        counts[2] += int(is_counted)
    names = insp.in_region_order(by_city)
    regions = tuple(RegionCount(c, *by_city[c]) for c in names)

    # Cumulative counts per day. A case without a transfer day counts from the first day,
    # and no day lies after as_of, so the line always ends at (total, closed).
    transferred = _dates(states["transferred_on"])
    known = [d for d in transferred if d is not None and d <= as_of]
    first = min(known, default=as_of)
    t_days = sorted(min(d or first, as_of) for d in transferred)
    c_days = sorted(
        min(d or as_of, as_of) for d, c in zip(_dates(states["closed_on"]), closed, strict=True) if c
    )
    days = [first + dt.timedelta(days=i) for i in range((as_of - first).days + 1)]
    progress = tuple(DayProgress(day, bisect_right(t_days, day), bisect_right(c_days, day)) for day in days)

    return WeeklyData(
        as_of=as_of,
        total=n,
        closed=int(closed.sum()),
        partly=int(partly.sum()),
        batches=batches,
        types=types,
        regions=regions,
        progress=progress,
        counted=int(counted.sum()),
        closed_label=contract.closed_label,
        partly_label=contract.partly_closed_label,
        open_label=insp.conventions.open_label,
        closure_note="＋".join(insp.conventions.closure_counts),
    )


def _dates(values: pd.Series) -> list[dt.date | None]:
    """Dates (date objects, timestamps or ISO text) as dates, missing ones as None."""
    parsed = pd.to_datetime(values, errors="coerce")
    return [None if pd.isna(v) else v.date() for v in parsed]


# ----------------------------------------------------------------------------- sheets


def data_sheets(data: WeeklyData) -> list[Sheet]:
    """The four data tables (the charts' sources), each with a total or note row."""
    as_of = cn_date(data.as_of)
    by_batch = Sheet(
        name="按批次",
        columns=[Column("批次", 14), Column("交办件数", 12, "int")]
        + [Column(s, 12, "int") for s in data.status_names],
        rows=[[b.label, b.total, b.closed, b.partly, b.open] for b in data.batches]
        + [["合计", data.total, data.closed, data.partly, data.open]],
        title=f"各批次交办件数及办理情况（截至{as_of}）",
    )
    by_type = Sheet(
        name="按污染类型",
        columns=[Column("污染类型", 16), Column("件数", 10, "int"), Column("占交办件数比例", 14, "percent")],
        rows=[[t.type, t.count, t.count / data.total if data.total else 0.0] for t in data.types]
        + [["交办件数", data.total, 1.0 if data.total else 0.0]],
        title=f"群众信访举报污染类型统计（截至{as_of}）",
        notes=["注：一件举报可能涉及多个污染类型，各类型件数之和大于交办件数。"],
    )
    by_region = Sheet(
        name="按地区",
        columns=[
            Column("地区", 22),
            Column("交办", 10, "int"),
            Column(data.closed_label, 10, "int"),
            Column("办结率", 10, "percent"),
        ],
        rows=[[r.region, r.total, r.closed, r.rate] for r in data.regions]
        + [["合计", data.total, data.closed, data.rate]],
        title=f"各地区交办及办结情况（截至{as_of}）",
        notes=[f"注：办结率＝{data.closure_note}件数÷交办件数。"],
    )
    progress = Sheet(
        name="办结进度",
        columns=[
            Column("日期", 14),
            Column("累计交办", 12, "int"),
            Column("累计办结", 12, "int"),
            Column("办结率", 10, "percent"),
        ],
        rows=[[cn_month_day(p.day), p.transferred, p.closed, p.rate] for p in data.progress],
        title=f"累计交办及办结进度（截至{as_of}）",
        notes=[f"注：累计办结为截至当日{data.closed_label}的件数，办结率＝累计办结÷累计交办。"],
    )
    return [by_batch, by_type, by_region, progress]


# ----------------------------------------------------------------------------- charts


@dataclass(frozen=True)
class ChartSpec:
    key: str  # SVG_NAMES key, also the SVG ident
    title: str
    kind: str  # "column_stacked", "bar", "line"
    sheet: str
    categories: list[str]
    series: list[charts.Series]
    series_cols: list[int]  # columns of the data sheet holding each series
    category_axis: str
    value_axis: str
    desc: str


def chart_specs(data: WeeklyData) -> list[ChartSpec]:
    as_of = cn_month_day(data.as_of)
    rate = f"{data.rate:.1%}"
    names = data.status_names
    return [
        ChartSpec(
            "batch",
            f"各批次交办件数及办理情况（截至{as_of}）",
            "column_stacked",
            "按批次",
            [b.label for b in data.batches],
            [
                charts.Series(names[0], [b.closed for b in data.batches], STATUS_COLORS[0]),
                charts.Series(names[1], [b.partly for b in data.batches], STATUS_COLORS[1]),
                charts.Series(names[2], [b.open for b in data.batches], STATUS_COLORS[2]),
            ],
            [2, 3, 4],
            "批次",
            "件数",
            f"共交办{len(data.batches)}批{data.total}件，{names[0]}{data.closed}件，"
            f"{names[1]}{data.partly}件，{names[2]}{data.open}件。",
        ),
        ChartSpec(
            "type",
            f"按污染类型统计（截至{as_of}）",
            "bar",
            "按污染类型",
            [t.type for t in data.types],
            [charts.Series("件数", [t.count for t in data.types], "#1565c0")],
            [1],
            "污染类型",
            "件数",
            f"交办{data.total}件，一件举报可能涉及多个污染类型。",
        ),
        ChartSpec(
            "region",
            f"各地区交办及办结件数（截至{as_of}）",
            "bar",
            "按地区",
            [r.region for r in data.regions],
            [
                charts.Series("交办", [r.total for r in data.regions], "#1565c0"),
                charts.Series(names[0], [r.closed for r in data.regions], STATUS_COLORS[0]),
            ],
            [1, 2],
            "地区",
            "件数",
            f"共{len(data.regions)}个地区交办{data.total}件，{names[0]}{data.closed}件。",
        ),
        ChartSpec(
            "progress",
            f"累计交办及办结进度（截至{as_of}）",
            "line",
            "办结进度",
            [cn_month_day(p.day) for p in data.progress],
            [
                charts.Series("累计交办", [p.transferred for p in data.progress], "#1565c0"),
                charts.Series("累计办结", [p.closed for p in data.progress], "#2e7d32"),
            ],
            [1, 2],
            "日期",
            "件数",
            f"截至{as_of}累计交办{data.total}件，{names[0]}{data.closed}件，办结率{rate}。",
        ),
    ]


def render_svg(spec: ChartSpec) -> str:
    common = {
        "category_axis": spec.category_axis,
        "value_axis": spec.value_axis,
        "desc": spec.desc,
        "unit": "件",
        "ident": f"weekly-{spec.key}",
    }
    if spec.kind == "line":
        return charts.line_chart(spec.title, spec.categories, spec.series, **common)
    return charts.bar_chart(
        spec.title,
        spec.categories,
        spec.series,
        horizontal=spec.kind == "bar",
        stacked=spec.kind == "column_stacked",
        **common,
    )


def _first_data_row(sheet: Sheet) -> int:
    """The 0-based row of the first data row, as writers._xlsx_sheet lays a sheet out."""
    return (1 if sheet.title else 0) + len(sheet.header_grid)


def _excel_chart(workbook: xlsxwriter.Workbook, spec: ChartSpec, sheet: Sheet):
    if spec.kind == "column_stacked":
        chart = workbook.add_chart({"type": "column", "subtype": "stacked"})
    else:
        chart = workbook.add_chart({"type": spec.kind})
    first = _first_data_row(sheet)
    last = first + max(len(spec.categories), 1) - 1
    header = first - 1
    for k, col in enumerate(spec.series_cols):
        s = spec.series[k]
        options: dict[str, object] = {
            "name": [sheet.name, header, col],
            "categories": [sheet.name, first, 0, last, 0],
            "values": [sheet.name, first, col, last, col],
        }
        if spec.kind == "line":
            options["line"] = {"color": s.color, "width": 2.25}
            options["marker"] = {
                "type": "circle",
                "size": 5,
                "fill": {"color": s.color},
                "border": {"color": s.color},
            }
        else:
            options["fill"] = {"color": s.color}
            options["gap"] = 60
            # "0;-0;;@": the zero section is empty, so a zero gets no label.
            labels: dict[str, object] = {"value": True, "num_format": "0;-0;;@"}
            if spec.kind == "column_stacked":
                labels.update(position="center", font={"color": "#FFFFFF"})
            else:
                labels["position"] = "outside_end"
            options["data_labels"] = labels
        chart.add_series(options)
    value_axis = {"name": spec.value_axis, "major_gridlines": {"visible": True, "line": {"color": "#DDDDDD"}}}
    if spec.kind == "bar":  # xlsxwriter: a bar chart's x axis is the (horizontal) value axis
        chart.set_x_axis(value_axis)
        chart.set_y_axis({"name": spec.category_axis, "reverse": True})
    else:
        chart.set_x_axis({"name": spec.category_axis})
        chart.set_y_axis(value_axis)
    chart.set_title({"name": spec.title, "name_font": {"size": 14, "bold": True}})
    chart.set_legend({"position": "bottom"} if len(spec.series) > 1 else {"none": True})
    chart.set_size({"width": CHART_WIDTH, "height": CHART_HEIGHT})
    return chart


def write_weekly_xlsx(
    path: Path, data: WeeklyData, insp: Inspection, *, created: dt.datetime, author: str = "Ducha"
) -> None:
    sheets = data_sheets(data)
    specs = chart_specs(data)
    by_name = {s.name: s for s in sheets}
    title = f"{insp.name}群众信访举报办理情况周报（截至{cn_date(data.as_of)}）"
    with open_workbook(path, created=created, title=title, author=author) as (workbook, formats):
        ws = workbook.add_worksheet(CHART_SHEET)
        for sheet in sheets:
            add_sheet(workbook, formats, sheet)
        for i, spec in enumerate(specs):
            ws.insert_chart(
                i * ROWS_PER_PAGE,
                0,
                _excel_chart(workbook, spec, by_name[spec.sheet]),
                {"x_offset": 10, "y_offset": 10},
            )
        ws.hide_gridlines(2)
        print_landscape(ws, "A4")  # a chart a page
        ws.print_area(0, 0, len(specs) * ROWS_PER_PAGE - 1, 15)
        ws.set_h_pagebreaks([i * ROWS_PER_PAGE for i in range(1, len(specs))])
        ws.activate()


def write_weekly(
    folder: Path, states: pd.DataFrame, insp: Inspection, as_of: dt.date, *, created: dt.datetime
) -> list[Path]:
    """Write the weekly workbook and the four SVG charts into folder; return their paths
    (workbook first, then the SVGs in SVG_NAMES order)."""
    folder = Path(folder)
    data = weekly_data(states, insp, as_of)
    xlsx = under(folder, xlsx_name(as_of))
    write_weekly_xlsx(xlsx, data, insp, created=created)
    paths = [xlsx]
    for spec in chart_specs(data):
        path = under(folder, SVG_NAMES[spec.key])
        with atomic_path(path) as temp:
            temp.write_bytes(render_svg(spec).encode("utf-8"))
        paths.append(path)
    return paths


__all__: Sequence[str] = (
    "BatchCount",
    "DayProgress",
    "RegionCount",
    "TypeCount",
    "WeeklyData",
    "weekly_data",
    "write_weekly",
)
