"""Charts as SVG for the website, drawn by pygal: bar/column (grouped or stacked) and line.

Text stays text (``<text>`` elements, no glyph outlines), so the reader's browser draws
Chinese with its own fonts and the server needs none. pygal lays text out by counting
characters, never by a font's metrics, so the layout is the same on every machine.
Output is deterministic: the chart's id is the caller's ``ident``, the stdlib
ElementTree serialises it (pygal would use lxml if installed, which writes other bytes),
and what pygal adds that varies or calls out (its dated comment, its JavaScript) is
dropped. Every text is masked (personal data) and freed of characters XML forbids.
The few subclasses below (stack totals, label placement) override pygal's drawing hooks,
which is why requirements.txt pins pygal exactly.
"""

from __future__ import annotations

import math
import re
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pygal
from pygal.etree import etree as pygal_etree
from pygal.graph.graph import Graph
from pygal.style import Style

from ducha.disclosure.redact import mask_personal

FONT_FAMILY = "Noto Sans CJK SC, Source Han Sans SC, Microsoft YaHei, PingFang SC, sans-serif"
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")
TEXT_COLOR = "#333333"
GRID_COLOR = "#dddddd"
TITLE_SIZE, AXIS_NAME_SIZE, TICK_SIZE, VALUE_SIZE, LEGEND_SIZE = 20, 14, 12, 12, 13
NO_DATA = "暂无数据"

_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_IDENT = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")

pygal_etree.to_etree()  # pygal's switch, for every chart of this process: the same bytes with or without lxml


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]
    color: str | None = None


# ----------------------------------------------------------------------------- helpers


def clean(value: object) -> str:
    """Text for the chart: personal data masked, characters XML 1.0 forbids replaced by a
    space (ElementTree escapes markup when it writes)."""
    return _XML_INVALID.sub(" ", mask_personal(str(value)))


CATEGORY_CHARS = 20  # a category shown longer is cut: its margin would leave pygal no plot


def category_label(value: object) -> str:
    """A category's name as a chart shows it: cleaned, and at most CATEGORY_CHARS long (a
    hostile 255-byte region made pygal split its axis title forever); tables keep it whole."""
    text = clean(value)
    return text if len(text) <= CATEGORY_CHARS else text[: CATEGORY_CHARS - 1] + "…"


def fmt_value(value: float) -> str:
    """A value label: integers without ".0", other numbers with up to two decimals."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.2f}".rstrip("0").rstrip(".")


def text_width(text: str, size: float) -> float:
    """Width of text: wide (CJK) characters 1 em, others 0.6 em."""
    return sum(size if unicodedata.east_asian_width(ch) in "WF" else size * 0.6 for ch in text)


def _pygal_width(text: str, size: float) -> float:
    """pygal's own estimate (0.6 em a character), which CJK text outgrows."""
    return len(text) * 0.6 * size


def nice_ticks(maximum: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least maximum, about count steps, integer steps."""
    if not maximum > 0 or not math.isfinite(maximum):
        return [0.0, 1.0]
    raw = maximum / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    step = max(1.0, float(round(step)))
    top = math.ceil(maximum / step) * step
    return [i * step for i in range(round(top / step) + 1)]


def _check(categories: Sequence[str], series: Sequence[Series], ident: str) -> None:
    if not _IDENT.match(ident):
        raise ValueError(f"chart: ident must be a plain ASCII name, got {ident!r}")
    if not series:
        raise ValueError("chart: no series")
    for s in series:
        if len(s.values) != len(categories):
            raise ValueError(
                f"chart: series {s.name!r} has {len(s.values)} values for {len(categories)} categories"
            )
        if any(not math.isfinite(v) or v < 0 for v in s.values):
            raise ValueError(f"chart: series {s.name!r}: values must be finite and not negative")


def _describe(desc: str, categories: Sequence[str], series: Sequence[Series], unit: str) -> str:
    """The chart's data in words, for screen readers."""
    parts = [
        f"{cat}：" + "，".join(f"{s.name}{fmt_value(s.values[i])}{unit}" for s in series)
        for i, cat in enumerate(categories)
    ]
    data = "；".join(parts) + "。" if parts else "暂无数据。"
    return f"{desc} {data}" if desc else data


def _label_step(count: int, room: float, label_width: float) -> int:
    """Show every step-th category label so they do not overlap."""
    if count == 0 or room <= 0:
        return 1
    return max(1, math.ceil(count * label_width / room))


def _style(colors: Sequence[str], value_colors: Sequence[str], stroke_width: float = 1) -> Style:
    return Style(
        font_family=FONT_FAMILY,
        background="#ffffff",
        plot_background="#ffffff",
        foreground=TEXT_COLOR,
        foreground_strong=TEXT_COLOR,
        foreground_subtle=GRID_COLOR,
        guide_stroke_dasharray="none",
        major_guide_stroke_dasharray="none",
        guide_stroke_color=GRID_COLOR,
        major_guide_stroke_color=GRID_COLOR,
        colors=tuple(colors),
        value_colors=tuple(value_colors),
        title_font_size=TITLE_SIZE,
        label_font_size=TICK_SIZE,
        major_label_font_size=TICK_SIZE,
        value_font_size=VALUE_SIZE,
        legend_font_size=LEGEND_SIZE,
        no_data_font_size=AXIS_NAME_SIZE,
        opacity="1",
        opacity_hover="1",
        stroke_width=str(stroke_width),
        stroke_width_hover=str(stroke_width),
        transition="0s",
    )


def _colors(series: Sequence[Series]) -> list[str]:
    return [s.color or PALETTE[i % len(PALETTE)] for i, s in enumerate(series)]


def _config(
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    category_axis: str,
    value_axis: str,
    width: float,
    height: float,
    style: Style,
    margin_left: float = 0,
    margin_right: float = 0,
) -> dict[str, object]:
    """The settings every chart shares; every text is cleaned here, once."""
    maximum = max((v for s in series for v in s.values), default=0)
    return {
        "title": clean(title),
        "x_title": clean(category_axis) or None,
        "y_title": clean(value_axis) or None,
        "x_labels": [category_label(c) for c in categories],
        "y_labels": nice_ticks(maximum),
        "value_formatter": fmt_value,
        "width": round(width),
        "height": round(height),
        "explicit_size": True,
        "style": style,
        "show_legend": len(series) > 1,
        "legend_at_bottom": True,
        "legend_at_bottom_columns": len(series),
        "truncate_legend": -1,  # pygal counts characters; a CJK name would be cut short
        "truncate_label": -1,
        "no_data_text": NO_DATA,
        "print_values": True,
        "js": [],  # no script: the pages show charts as images, and it would call out
        "margin_left": round(20 + margin_left),
        "margin_right": round(20 + margin_right),
    }


def _add(
    chart: Graph,
    categories: Sequence[str],
    series: Sequence[Series],
    unit: str,
    shown: Callable[[Series, int], bool],
) -> None:
    """Each series with a tooltip per value; a value whose label is not shown prints empty
    (and the empty text is dropped when the chart is finished)."""
    for s in series:
        name = clean(s.name)
        chart.add(
            name,
            [
                {
                    "value": v,
                    "tooltip": clean(f"{cat} {s.name}：{fmt_value(v)}{unit}"),
                    **({} if shown(s, i) else {"formatter": lambda _v: ""}),
                }
                for i, (cat, v) in enumerate(zip(categories, s.values, strict=True))
            ],
        )


def _tooltip_position(node: ET.Element) -> bool:
    """pygal's <desc class="x …"> / "y …": where its script would place a tooltip. There
    is no script, and as text they read like long numbers (a reader, or the personal-data
    sweep, sees 130.3041459369818)."""
    kind = (node.get("class") or "").split(" ")[0]
    return node.tag == "desc" and kind in ("x", "y")


def _finish(chart: Graph, ident: str, desc: str) -> str:
    """The chart's tree, made accessible and stable, as text."""
    root = chart.render_tree()
    for parent in list(root.iter()):
        for child in list(parent):
            empty_text = child.tag == "text" and not (child.text or "").strip() and not len(child)
            if child.tag in (ET.Comment, "script") or empty_text or _tooltip_position(child):
                parent.remove(child)
    root.set("font-family", FONT_FAMILY)  # for a viewer that ignores the CSS
    root.set("role", "img")
    root.set("aria-labelledby", f"{ident}-title {ident}-desc")
    title = root.find("title")
    assert title is not None  # pygal always writes one
    title.set("id", f"{ident}-title")
    description = ET.Element("desc", {"id": f"{ident}-desc"})
    description.text = clean(desc)
    root.insert(list(root).index(title) + 1, description)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _new(kind: type[Graph], ident: str, config: dict[str, object]) -> Graph:
    chart = kind(**config)
    chart.uuid = ident  # pygal draws a random one; the CSS ids are "chart-<ident>"
    return chart


# ----------------------------------------------------------------------------- charts


class _Totals:
    """A stacked bar chart that also prints each stack's total past its end
    (class "value total")."""

    def _plot(self) -> None:
        super()._plot()  # type: ignore[misc]
        node = self.svg.node(self.nodes["text_overlay"], class_="totals")
        for i, x in enumerate(self._x_pos):
            total = self.positive_cumulation[i]
            along, up = self.view((x, total))  # a horizontal view answers transposed
            offset = VALUE_SIZE / 2 + 2
            px, py = (up + offset, along + VALUE_SIZE / 3) if self.horizontal else (along, up - offset)
            anchor = "start" if self.horizontal else "middle"
            self.svg.node(
                node, "text", class_="value total", x=px, y=py, attrib={"text-anchor": anchor}
            ).text = fmt_value(total)


class _HorizontalBar(pygal.HorizontalBar):
    """Value labels start just past their bar's end (pygal centres them on it)."""

    def _static_value(self, serie_node, value, x, y, metadata, align_text="left", classes=None):
        super()._static_value(serie_node, value, x, y, metadata, "start", classes)


class _Line(pygal.Line):
    """A point's value label starts just right of it, level with it (pygal sets it below
    and right, where the last one runs into the axis labels)."""

    def _static_value(self, serie_node, value, x, y, metadata, align_text="left", classes=None):
        super()._static_value(
            serie_node, value, x - VALUE_SIZE + 6, y - VALUE_SIZE, metadata, "start", classes
        )


class _StackedBar(_Totals, pygal.StackedBar):
    pass


class _HorizontalStackedBar(_Totals, pygal.HorizontalStackedBar):
    pass


def bar_chart(
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    horizontal: bool = False,
    stacked: bool = False,
    category_axis: str = "",
    value_axis: str = "",
    desc: str = "",
    unit: str = "",
    ident: str = "chart",
    width: float = 960,
    height: float | None = None,
) -> str:
    """A column chart (horizontal=False) or bar chart, grouped or stacked. Each bar has a
    value label (class "value"; a stack also a total, class "value total", and a part too
    small for its label shows none) and a tooltip."""
    categories = [str(c) for c in categories]
    _check(categories, series, ident)
    n = len(categories)
    totals = [sum(s.values[i] for s in series) for i in range(n)]
    top = nice_ticks(max(totals if stacked else [v for s in series for v in s.values], default=0))[-1]
    colors = _colors(series)
    labels = [category_label(c) for c in categories]
    if horizontal:
        per_band = 30 if stacked or len(series) == 1 else 16 * len(series) + 12
        height = height or max(320.0, 140 + n * per_band)
        # Category names stand left of the bars and values past their ends: room for both.
        left = max((text_width(c, TICK_SIZE) - _pygal_width(c, TICK_SIZE) for c in labels), default=0)
        right = text_width(fmt_value(top), VALUE_SIZE) + VALUE_SIZE
    else:
        height = height or 540.0
        left, right = 0.0, 0.0
    style = _style(colors, ["#ffffff"] * len(series) if stacked else [TEXT_COLOR] * len(series))
    # pygal draws a horizontal chart's first category at the bottom and names its value
    # axis x: reversed and swapped, the first category is on top and each axis named right.
    drawn, drawn_series = categories, list(series)
    if horizontal:
        drawn = categories[::-1]
        drawn_series = [Series(s.name, list(s.values)[::-1], s.color) for s in series]
        category_axis, value_axis = value_axis, category_axis
    config = _config(
        title,
        drawn,
        drawn_series,
        category_axis=category_axis,
        value_axis=value_axis,
        width=width,
        height=height,
        style=style,
        margin_left=max(left, 0),
        margin_right=right,
    )
    if stacked:
        config["y_labels"] = nice_ticks(max(totals, default=0))
        config["print_values_position"] = "center"
        kind: type = _HorizontalStackedBar if horizontal else _StackedBar
    else:
        config["print_values_position"] = "top"
        kind = _HorizontalBar if horizontal else pygal.Bar
    if not horizontal:
        band = (width - 100) / max(n, 1)
        if max((text_width(c, TICK_SIZE) for c in labels), default=0) > band * 0.9:
            # -45°, each label ending at its tick (pygal anchors 180° and more at the end).
            config["x_label_rotation"] = 315
    chart = _new(kind, ident, config)

    def shown(s: Series, i: int) -> bool:
        # A stacked part shows its label where the label fits inside it (about 16 px of ~400).
        return not stacked or s.values[i] >= top * 0.04

    _add(chart, drawn, drawn_series, unit, shown)
    return _finish(chart, ident, _describe(desc, categories, series, unit))


def line_chart(
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    category_axis: str = "",
    value_axis: str = "",
    desc: str = "",
    unit: str = "",
    ident: str = "chart",
    width: float = 960,
    height: float = 540,
) -> str:
    """Lines over categories (days), a marker with a tooltip per point and the last value
    of each line as its label (class "value")."""
    categories = [str(c) for c in categories]
    _check(categories, series, ident)
    n = len(categories)
    colors = _colors(series)
    last_w = max((text_width(fmt_value(s.values[-1]), VALUE_SIZE) for s in series if n), default=0)
    config = _config(
        title,
        categories,
        series,
        category_axis=category_axis,
        value_axis=value_axis,
        width=width,
        height=height,
        style=_style(colors, colors, stroke_width=2.5),
        margin_right=last_w + VALUE_SIZE,
    )
    label_w = max((text_width(category_label(c), TICK_SIZE) for c in categories), default=0)
    config["x_labels_major_every"] = _label_step(n, width - 120, label_w + 12)
    config["show_minor_x_labels"] = False
    config["dots_size"] = 3.5
    chart = _new(_Line, ident, config)
    _add(chart, categories, series, unit, lambda _s, i: i == n - 1)
    return _finish(chart, ident, _describe(desc, categories, series, unit))
