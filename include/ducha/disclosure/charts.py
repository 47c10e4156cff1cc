"""Charts as plain SVG markup, for the website: bar/column (grouped or stacked) and line.

Text stays text (``<text>`` elements), so the reader's browser draws Chinese with its own
fonts and the server needs none. Output is deterministic: fixed number formatting, ids
derived from the caller's ``ident``, nothing random. Every text is masked (personal data)
and XML-escaped. Layout uses an estimate of text width (wide characters 1 em, others
0.6 em), which is all a chart's margins need.
"""

from __future__ import annotations

import html
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from ducha.disclosure.redact import mask_personal

FONT_FAMILY = "Noto Sans CJK SC, Source Han Sans SC, Microsoft YaHei, PingFang SC, sans-serif"
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")
AXIS_COLOR = "#333333"
GRID_COLOR = "#dddddd"
TITLE_SIZE, AXIS_NAME_SIZE, TICK_SIZE, VALUE_SIZE, LEGEND_SIZE = 20, 14, 12, 12, 13

_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_IDENT = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]
    color: str | None = None


# ----------------------------------------------------------------------------- helpers


def esc(value: object) -> str:
    """Text for an SVG element or attribute: personal data masked, characters XML 1.0
    forbids replaced by a space, markup escaped."""
    return html.escape(_XML_INVALID.sub(" ", mask_personal(str(value))), quote=True)


def fmt_value(value: float) -> str:
    """A value label: integers without ".0", other numbers with up to two decimals."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _c(x: float) -> str:
    """A coordinate, fixed to one decimal."""
    return f"{x:.1f}"


def text_width(text: str, size: float) -> float:
    return sum(size if unicodedata.east_asian_width(ch) in "WF" else size * 0.6 for ch in text)


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


def _text(x: float, y: float, text: str, size: float, *, anchor: str = "middle", extra: str = "") -> str:
    return (
        f'<text x="{_c(x)}" y="{_c(y)}" font-size="{size}" text-anchor="{anchor}"{extra}>{esc(text)}</text>'
    )


def _color(series: Series, i: int) -> str:
    return esc(series.color or PALETTE[i % len(PALETTE)])


def _check(categories: Sequence[str], series: Sequence[Series]) -> None:
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


def _open(ident: str, width: float, height: float, title: str, desc: str) -> list[str]:
    if not _IDENT.match(ident):
        raise ValueError(f"chart: ident must be a plain ASCII name, got {ident!r}")
    return [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_c(width)}" height="{_c(height)}" '
        f'viewBox="0 0 {_c(width)} {_c(height)}" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc" font-family="{FONT_FAMILY}">',
        f'<title id="{ident}-title">{esc(title)}</title>',
        f'<desc id="{ident}-desc">{esc(desc)}</desc>',
        f'<rect x="0" y="0" width="{_c(width)}" height="{_c(height)}" fill="#ffffff"/>',
        _text(width / 2, 32, title, TITLE_SIZE, extra=' font-weight="bold"'),
    ]


def _legend(series: Sequence[Series], width: float, y: float) -> list[str]:
    items = [(s, 18 + 6 + text_width(s.name, LEGEND_SIZE) + 20) for s in series]
    x = (width - sum(w for _, w in items) + 20) / 2
    out = ['<g class="legend">']
    for i, (s, w) in enumerate(items):
        out.append(f'<rect x="{_c(x)}" y="{_c(y - 11)}" width="18" height="12" fill="{_color(s, i)}"/>')
        out.append(_text(x + 24, y, s.name, LEGEND_SIZE, anchor="start"))
        x += w
    out.append("</g>")
    return out


def _close(out: list[str]) -> str:
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _label_step(count: int, room: float, label_width: float) -> int:
    """Show every step-th category label so they do not overlap."""
    if count == 0 or room <= 0:
        return 1
    return max(1, math.ceil(count * label_width / room))


# ----------------------------------------------------------------------------- charts


def _no_data(left: float, right: float, top: float, bottom: float) -> str:
    """The placeholder an empty chart shows instead of bars or lines."""
    return _text((left + right) / 2, (top + bottom) / 2, "暂无数据", AXIS_NAME_SIZE, extra=' class="empty"')


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
    value label (class "value"; a stack also a total, class "value total") and a tooltip."""
    categories = [str(c) for c in categories]
    _check(categories, series)
    n = len(categories)
    totals = [sum(s.values[i] for s in series) for i in range(n)]
    ticks = nice_ticks(max(totals if stacked else [v for s in series for v in s.values], default=0))
    top_value = ticks[-1]
    legend = len(series) > 1
    plot_top = 84 if legend else 60
    label_w = max((text_width(c, TICK_SIZE) for c in categories), default=0)
    tick_w = max(text_width(fmt_value(t), TICK_SIZE) for t in ticks)

    if horizontal:
        per_band = 30 if stacked or len(series) == 1 else 16 * len(series) + 12
        height = height or max(320.0, plot_top + n * per_band + 70)
        left = 40 + label_w + 10
        right = width - 30 - text_width(fmt_value(top_value), VALUE_SIZE)
        bottom = height - 62
        band = (bottom - plot_top) / max(n, 1)
        length = right - left
        rotate = False
    else:
        height = height or 540.0
        left = 40 + tick_w + 10
        right = width - 24
        band = (right - left) / max(n, 1)
        rotate = label_w > band * 0.9
        label_room = label_w * 0.72 + TICK_SIZE if rotate else TICK_SIZE + 6
        bottom = height - 40 - label_room
        length = bottom - plot_top

    out = _open(ident, width, height, title, _describe(desc, categories, series, unit))
    if legend:
        out += _legend(series, width, 62)

    def scale(v: float) -> float:
        return v / top_value * length

    # Grid, value ticks and axes.
    out.append(f'<g class="axis" stroke="{AXIS_COLOR}" fill="none">')
    grid = []
    for t in ticks:
        if horizontal:
            x = left + scale(t)
            grid.append(
                f'<line x1="{_c(x)}" y1="{_c(plot_top)}" x2="{_c(x)}" y2="{_c(bottom)}" stroke="{GRID_COLOR}"/>'
            )
        else:
            y = bottom - scale(t)
            grid.append(
                f'<line x1="{_c(left)}" y1="{_c(y)}" x2="{_c(right)}" y2="{_c(y)}" stroke="{GRID_COLOR}"/>'
            )
    out += grid
    out.append(f'<line x1="{_c(left)}" y1="{_c(plot_top)}" x2="{_c(left)}" y2="{_c(bottom)}"/>')
    out.append(f'<line x1="{_c(left)}" y1="{_c(bottom)}" x2="{_c(right)}" y2="{_c(bottom)}"/>')
    out.append("</g>")
    out.append('<g class="ticks" fill="#333333">')
    for t in ticks:
        if horizontal:
            out.append(_text(left + scale(t), bottom + 18, fmt_value(t), TICK_SIZE))
        else:
            out.append(
                _text(
                    left - 6, bottom - scale(t), fmt_value(t), TICK_SIZE, anchor="end", extra=' dy="0.35em"'
                )
            )
    step = _label_step(n, bottom - plot_top, TICK_SIZE + 2) if horizontal else 1
    if not horizontal and rotate:
        step = _label_step(n, right - left, TICK_SIZE + 4)
    for i, cat in enumerate(categories):
        if i % step:
            continue
        mid = (plot_top if horizontal else left) + band * (i + 0.5)
        if horizontal:
            out.append(_text(left - 6, mid, cat, TICK_SIZE, anchor="end", extra=' dy="0.35em"'))
        elif rotate:
            y = bottom + 14
            out.append(
                _text(
                    mid, y, cat, TICK_SIZE, anchor="end", extra=f' transform="rotate(-45 {_c(mid)} {_c(y)})"'
                )
            )
        else:
            out.append(_text(mid, bottom + 18, cat, TICK_SIZE))
    out.append("</g>")

    # Horizontal bars put categories on the rotated (left) axis; otherwise values go there.
    rotated, below, below_y = (
        (category_axis, value_axis, height - 16) if horizontal else (value_axis, category_axis, height - 14)
    )
    axis_mid = (plot_top + bottom) / 2
    out.append(
        _text(18, axis_mid, rotated, AXIS_NAME_SIZE, extra=f' transform="rotate(-90 18 {_c(axis_mid)})"')
    )
    out.append(_text((left + right) / 2, below_y, below, AXIS_NAME_SIZE))

    if not n:
        out.append(_no_data(left, right, plot_top, bottom))
    # Bars.
    out.append('<g class="bars">')
    inner = band * 0.7
    for i, cat in enumerate(categories):
        start = (plot_top if horizontal else left) + band * 0.15 + band * i
        base = 0.0
        for k, s in enumerate(series):
            v = s.values[i]
            size = scale(v)
            thick = inner if stacked else inner / len(series)
            offset = start if stacked else start + thick * k
            pos = scale(base) if stacked else 0.0
            if horizontal:
                x, y, w, h = left + pos, offset, size, thick
            else:
                x, y, w, h = offset, bottom - pos - size, thick, size
            tip = f"{cat} {s.name}：{fmt_value(v)}{unit}"
            out.append(
                f'<rect x="{_c(x)}" y="{_c(y)}" width="{_c(w)}" height="{_c(h)}" fill="{_color(s, k)}">'
                f"<title>{esc(tip)}</title></rect>"
            )
            if stacked:
                if v > 0 and size >= VALUE_SIZE + 4 and thick >= text_width(fmt_value(v), VALUE_SIZE) + 2:
                    out.append(
                        _text(
                            x + w / 2,
                            y + h / 2,
                            fmt_value(v),
                            VALUE_SIZE,
                            extra=' dy="0.35em" fill="#ffffff" class="value"',
                        )
                    )
            elif horizontal:
                out.append(
                    _text(
                        x + w + 4,
                        y + h / 2,
                        fmt_value(v),
                        VALUE_SIZE,
                        anchor="start",
                        extra=' dy="0.35em" class="value"',
                    )
                )
            else:
                out.append(_text(x + w / 2, y - 4, fmt_value(v), VALUE_SIZE, extra=' class="value"'))
            base += v
        if stacked:
            end = scale(totals[i])
            label = fmt_value(totals[i])
            if horizontal:
                out.append(
                    _text(
                        left + end + 4,
                        start + inner / 2,
                        label,
                        VALUE_SIZE,
                        anchor="start",
                        extra=' dy="0.35em" class="value total"',
                    )
                )
            else:
                out.append(
                    _text(
                        start + inner / 2, bottom - end - 4, label, VALUE_SIZE, extra=' class="value total"'
                    )
                )
    out.append("</g>")
    return _close(out)


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
    _check(categories, series)
    n = len(categories)
    ticks = nice_ticks(max((v for s in series for v in s.values), default=0))
    legend = len(series) > 1
    plot_top = 84 if legend else 60
    tick_w = max(text_width(fmt_value(t), TICK_SIZE) for t in ticks)
    last_w = max((text_width(fmt_value(s.values[-1]), VALUE_SIZE) for s in series if n), default=0)
    left, right = 40 + tick_w + 10, width - 24 - last_w
    label_w = max((text_width(c, TICK_SIZE) for c in categories), default=0)
    bottom = height - 40 - TICK_SIZE - 6
    step = _label_step(n, right - left, label_w + 12)

    out = _open(ident, width, height, title, _describe(desc, categories, series, unit))
    if legend:
        out += _legend(series, width, 62)

    def x_at(i: int) -> float:
        return (left + right) / 2 if n == 1 else left + (right - left) * i / (n - 1)

    def y_at(v: float) -> float:
        return bottom - v / ticks[-1] * (bottom - plot_top)

    out.append(f'<g class="axis" stroke="{AXIS_COLOR}" fill="none">')
    for t in ticks:
        out.append(
            f'<line x1="{_c(left)}" y1="{_c(y_at(t))}" x2="{_c(right)}" y2="{_c(y_at(t))}" stroke="{GRID_COLOR}"/>'
        )
    out.append(f'<line x1="{_c(left)}" y1="{_c(plot_top)}" x2="{_c(left)}" y2="{_c(bottom)}"/>')
    out.append(f'<line x1="{_c(left)}" y1="{_c(bottom)}" x2="{_c(right)}" y2="{_c(bottom)}"/>')
    for i in range(0, n, step):
        out.append(f'<line x1="{_c(x_at(i))}" y1="{_c(bottom)}" x2="{_c(x_at(i))}" y2="{_c(bottom + 5)}"/>')
    out.append("</g>")
    out.append('<g class="ticks" fill="#333333">')
    for t in ticks:
        out.append(_text(left - 6, y_at(t), fmt_value(t), TICK_SIZE, anchor="end", extra=' dy="0.35em"'))
    for i in range(0, n, step):
        out.append(_text(x_at(i), bottom + 20, categories[i], TICK_SIZE))
    out.append("</g>")
    middle = (plot_top + bottom) / 2
    out.append(
        _text(18, middle, value_axis, AXIS_NAME_SIZE, extra=f' transform="rotate(-90 18 {_c(middle)})"')
    )
    out.append(_text((left + right) / 2, height - 14, category_axis, AXIS_NAME_SIZE))

    if not n:
        out.append(_no_data(left, right, plot_top, bottom))
    out.append('<g class="lines">')
    for k, s in enumerate(series):
        color = _color(s, k)
        points = " ".join(f"{_c(x_at(i))},{_c(y_at(v))}" for i, v in enumerate(s.values))
        if n:
            out.append(f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="2.5"/>')
        for i, v in enumerate(s.values):
            tip = f"{categories[i]} {s.name}：{fmt_value(v)}{unit}"
            out.append(
                f'<circle cx="{_c(x_at(i))}" cy="{_c(y_at(v))}" r="3.5" fill="{color}"><title>{esc(tip)}</title></circle>'
            )
    out.append("</g>")
    # The last value of each line, pushed apart vertically where they would overlap.
    if n:
        ends = sorted(((y_at(s.values[-1]), k) for k, s in enumerate(series)), reverse=True)
        placed: list[float] = []
        for y, k in ends:
            y = min(y, placed[-1] - VALUE_SIZE - 2) if placed else y
            placed.append(y)
            s = series[k]
            extra = f' dy="0.35em" fill="{_color(s, k)}" class="value"'
            out.append(
                _text(x_at(n - 1) + 6, y, fmt_value(s.values[-1]), VALUE_SIZE, anchor="start", extra=extra)
            )
    return _close(out)
