"""Bar charts as inline SVG, drawn on the server: no script, no chart library, no request to
another site, and nothing the page's Content-Security-Policy would refuse.

Pure functions from numbers to markup. Geometry goes in SVG attributes; colours and type
come from ``desk.css`` through the classes named here (``series-*``, ``bar-*``), because
the policy allows no inline style. Every chart is an ``img`` with a ``<title>`` and a
``<desc>`` that says its totals in words, and every bar has a ``<title>`` a pointer shows;
the dashboard puts the exact numbers in a table beside each chart as well.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from flask_babel import gettext as _
from markupsafe import Markup, escape

WIDTH = 560
LEFT, RIGHT, TOP, BOTTOM = 58, 12, 30, 34
PLOT_HEIGHT = 170
ROW = 24  # one bar of a horizontal chart
LABEL_WIDTH = 150  # the names beside horizontal bars
LABEL_CHARS = 22
VALUE_WIDTH, VALUE_WIDTH_WIDE = 50, 110  # room after the longest bar for its number


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]
    css: str  # the class that colours it: series-<css> in desk.css


def count(value: float) -> str:
    """Format a count, or a duration in hours, as the charts print it."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def nice_top(largest: float, *, whole: bool = True) -> tuple[float, float]:
    """Return a round top for the value axis and its step, about four steps in all.

    With ``whole`` (counts) every step is a whole number: no axis offers 2.5 tickets.
    """
    if largest <= 0:
        return 1, 1
    raw = largest / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    factors = (1, 2, 5, 10) if whole else (1, 2, 2.5, 5, 10)
    step = next(m * magnitude for m in factors if m * magnitude >= raw)
    if whole:
        step = max(1, round(step))
    return step * math.ceil(largest / step - 1e-9), step


def bar_chart(chart_id: str, title: str, desc: str, labels: Sequence[str], series: Sequence[Series], *,
              stacked: bool = False, unit: str = "", axis: str = "", label_every: int = 1,
              bar_classes: Sequence[str] | None = None) -> Markup:
    """Return a vertical bar chart: one slot per label, series side by side or stacked.

    ``axis`` names what the value axis counts, with its unit ("Messages", "Hours"); every
    value of the chart is in that one unit, which ``unit`` repeats after each number.

    ``bar_classes`` colours each bar of a one-series chart by its own class instead.
    """
    slots = len(labels)
    plot_width = WIDTH - LEFT - RIGHT
    height = TOP + PLOT_HEIGHT + BOTTOM
    totals = [sum(s.values[i] for s in series) for i in range(slots)]
    largest = max(totals if stacked else [v for s in series for v in s.values] or [0], default=0)
    top, step = nice_top(largest, whole=all(float(v).is_integer() for s in series for v in s.values))
    scale = PLOT_HEIGHT / top
    parts = [_axis(top, step, scale, plot_width, unit, axis)]
    slot = plot_width / max(slots, 1)
    for i, label in enumerate(labels):
        x = LEFT + i * slot
        parts += _slot_bars(x, slot, i, label, series, stacked, scale, unit, bar_classes)
        if (slots - 1 - i) % label_every == 0:  # the latest slot always has its label
            parts.append(_text(x + slot / 2, TOP + PLOT_HEIGHT + 16, label, "middle", "tick"))
    if largest == 0:
        parts.append(_text(LEFT + plot_width / 2, TOP + PLOT_HEIGHT / 2, _("Nothing in this period"),
                           "middle", "empty-note"))
    legend = _legend(series) if len(series) > 1 else ""
    return _svg(chart_id, title, desc, height, legend + "".join(parts))


def _slot_bars(x: float, slot: float, i: int, label: str, series: Sequence[Series], stacked: bool,
               scale: float, unit: str, bar_classes: Sequence[str] | None) -> list[str]:
    bars = []
    base = TOP + PLOT_HEIGHT
    width = slot * (0.7 if stacked or len(series) == 1 else 0.8 / len(series))
    left = x + (slot - (width if stacked else width * len(series))) / 2
    for n, s in enumerate(series):
        value = s.values[i]
        if value <= 0:
            continue
        h = max(value * scale, 1)
        bar_x = left if stacked else left + n * width
        css = f"bar-{bar_classes[i]}" if bar_classes else f"series-{s.css}"
        bars.append(_rect(bar_x, base - h, width, h, css, _tip(label, s.name, value, unit)))
        if stacked:
            base -= h
    return bars


def hbar_chart(chart_id: str, title: str, desc: str, labels: Sequence[str], series: Sequence[Series], *,
               unit: str = "", bar_classes: Sequence[str] | None = None,
               value_text: Callable[[int], str] | None = None) -> Markup:
    """Return a horizontal stacked bar chart, one row per label, for named things (accounts).

    ``value_text(i)`` is printed after row ``i``'s bar (its total by default).
    """
    rows = len(labels)
    legend_room = TOP if len(series) > 1 else 8
    height = legend_room + max(rows, 1) * ROW + 8
    plot_width = WIDTH - LABEL_WIDTH - (VALUE_WIDTH_WIDE if value_text else VALUE_WIDTH)
    totals = [sum(s.values[i] for s in series) for i in range(rows)]
    scale = plot_width / max(max(totals, default=0), 1)
    parts = []
    for i, label in enumerate(labels):
        y = legend_room + i * ROW
        short = label if len(label) <= LABEL_CHARS else label[:LABEL_CHARS - 1] + "…"
        parts.append(f'<g><title>{escape(label)}</title>'
                     f'{_text(LABEL_WIDTH - 8, y + ROW / 2 + 4, short, "end", "name")}</g>')
        x = LABEL_WIDTH
        for s in series:
            value = s.values[i]
            if value > 0:
                w = max(value * scale, 1)
                css = f"bar-{bar_classes[i]}" if bar_classes else f"series-{s.css}"
                parts.append(_rect(x, y + 4, w, ROW - 8, css, _tip(label, s.name, value, unit)))
                x += w
        shown = value_text(i) if value_text else f"{count(totals[i])}{unit}"
        parts.append(_text(x + 6, y + ROW / 2 + 4, shown, "start", "value"))
    if not rows:
        parts.append(_text(WIDTH / 2, legend_room + ROW / 2 + 4, _("Nothing in this period"), "middle",
                           "empty-note"))
    legend = _legend(series) if len(series) > 1 else ""
    return _svg(chart_id, title, desc, height, legend + "".join(parts))


def _axis(top: float, step: float, scale: float, plot_width: float, unit: str, name: str) -> str:
    middle = TOP + PLOT_HEIGHT / 2
    lines = [f'<text class="axis-name" transform="rotate(-90)" x="{-middle:.1f}" y="12" '
             f'text-anchor="middle">{escape(name)}</text>'] if name else []
    ticks = round(top / step)
    for k in range(ticks + 1):
        value = k * step
        y = TOP + PLOT_HEIGHT - value * scale
        lines.append(f'<line class="grid" x1="{LEFT}" x2="{LEFT + plot_width}" y1="{y:.1f}" y2="{y:.1f}"/>')
        lines.append(_text(LEFT - 6, y + 4, f"{count(value)}{unit}", "end", "tick"))
    return '<g aria-hidden="true">' + "".join(lines) + "</g>"


def _legend(series: Sequence[Series]) -> str:
    items, x = [], LEFT
    for s in series:
        items.append(f'<rect class="series-{s.css}" x="{x}" y="8" width="12" height="12" rx="2"/>')
        items.append(_text(x + 17, 18, s.name, "start", "legend"))
        x += 17 + 7 * len(s.name) + 18
    return '<g aria-hidden="true">' + "".join(items) + "</g>"


def _tip(label: str, name: str, value: float, unit: str) -> str:
    return f"{label}: {name} {count(value)}{unit}" if name else f"{label}: {count(value)}{unit}"


def _rect(x: float, y: float, width: float, height: float, css: str, tip: str) -> str:
    return (f'<rect class="{css}" x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{height:.1f}">'
            f"<title>{escape(tip)}</title></rect>")


def _text(x: float, y: float, text: str, anchor: str, css: str) -> str:
    return f'<text class="{css}" x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}">{escape(text)}</text>'


def _svg(chart_id: str, title: str, desc: str, height: float, body: str) -> Markup:
    return Markup(
        f'<svg class="chart" id="{escape(chart_id)}" role="img" viewBox="0 0 {WIDTH} {height:.0f}" '
        f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>'
        f'<desc id="{escape(chart_id)}-desc">{escape(desc)}</desc>{body}</svg>'
    )
