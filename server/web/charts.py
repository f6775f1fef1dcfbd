"""Server-side SVG charts: geometry computed here, drawn by the templates as plain SVG elements.

No JavaScript and no inline styles (the CSP forbids both): bars are ``<rect>`` elements with
classes, labels are ``<text>``; the numbers behind each bar are also in a ``<title>`` for
screen readers and in a table below the chart.
"""

from __future__ import annotations

from dataclasses import dataclass

WIDTH, HEIGHT = 720, 260
LEFT, BOTTOM, TOP = 40, 30, 10


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar: position, size, series class and the value and label it stands for."""

    x: float
    y: float
    w: float
    h: float
    series: str
    value: int
    label: str


@dataclass(frozen=True, slots=True)
class Chart:
    """Bars, axis ticks (value, y) and category labels (text, x) of one chart."""

    bars: list[Bar]
    ticks: list[tuple[int, float]]
    labels: list[tuple[str, float]]
    width: int = WIDTH
    height: int = HEIGHT


def _scale(top: int) -> tuple[int, list[int]]:
    """A round maximum at or above ``top`` and 4 ticks up to it."""
    step = next(m * 10**k for k in range(12) for m in (1, 2, 5) if m * 10**k * 4 >= top)
    return step * 4, [step * i for i in range(5)]


def grouped_bars(series: dict[str, list[int]], labels: list[str], every: int = 1) -> Chart:
    """Bars grouped per category (e.g. hour), one bar per series side by side."""
    count = len(labels)
    top, ticks = _scale(max([1, *(v for values in series.values() for v in values)]))
    plot_w, plot_h = WIDTH - LEFT, HEIGHT - BOTTOM - TOP
    group_w = plot_w / count
    bar_w = group_w * 0.8 / len(series)
    bars = []
    for s, (name, values) in enumerate(series.items()):
        for i, value in enumerate(values):
            h = plot_h * value / top
            x = LEFT + i * group_w + group_w * 0.1 + s * bar_w
            bars.append(
                Bar(
                    round(x, 1),
                    round(TOP + plot_h - h, 1),
                    round(bar_w, 1),
                    round(h, 1),
                    name,
                    value,
                    labels[i],
                )
            )
    tick_ys = [(v, round(TOP + plot_h - plot_h * v / top, 1)) for v in ticks]
    label_xs = [(labels[i], round(LEFT + (i + 0.5) * group_w, 1)) for i in range(0, count, every)]
    return Chart(bars, tick_ys, label_xs)
