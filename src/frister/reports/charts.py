"""Inline SVG charts: no scripts, no external assets, deterministic markup.

Two shapes cover the reports: horizontal bars for shares (0–100 %), and columns over
categories (months, weeks, years), grouped or stacked by series. Every label is
escaped, its control characters shown (:mod:`frister.text`); coordinates are written
with one decimal so the same input gives the same bytes. The result is
:class:`markupsafe.Markup`, ready for a template.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from markupsafe import Markup, escape

from frister.reports.render import num, pct
from frister.text import printable

PALETTE = ("#1f5f8b", "#d9822b", "#3d8b3d", "#8b3d7a", "#7a7a7a", "#b8a21e", "#2b9bb3", "#b33d3d")
GOOD, BAD, NEUTRAL = "#3d8b3d", "#b33d3d", "#1f5f8b"


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    values: Sequence[float | None]


def nice_max(value: float) -> float:
    """The smallest of 1, 2, 4, 5, 8 × 10^k (k ≥ 0) at or above ``value``: an axis in four even steps."""
    step = 1
    while True:
        for m in (1, 2, 4, 5, 8):
            if m * step >= value:
                return float(m * step)
        step *= 10


def _label(text: str) -> Markup:
    """Text for the SVG: control characters shown (:func:`frister.text.printable`), then escaped."""
    return escape(printable(text))


def _f(x: float) -> str:
    return f"{x:.1f}"


def _text(x: float, y: float, label: str, anchor: str = "start", size: int = 11, extra: str = "") -> str:
    return (f'<text x="{_f(x)}" y="{_f(y)}" font-size="{size}" text-anchor="{anchor}"{extra}>'
            f"{_label(label)}</text>")


def share_bars(title: str, items: Sequence[tuple[str, float | None, bool]], good_from: float = 0.9) -> Markup:
    """One horizontal bar per item ``(label, share, higher_is_better)``, 0–100 %; None is 'no data'.

    A bar is green when the share is at least ``good_from`` (or, when lower is better,
    at most ``1 - good_from``), else red.
    """
    label_w, bar_w, row_h, top = 260, 300, 22, 28
    width = label_w + bar_w + 70
    height = top + row_h * len(items) + 10
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="sans-serif">',
             f"<title>{_label(title)}</title>", _text(0, 16, title, size=13, extra=' font-weight="bold"')]
    for i, (label, value, higher_is_better) in enumerate(items):
        y = top + i * row_h
        parts.append(_text(label_w - 6, y + 14, label, anchor="end"))
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{bar_w}" height="{row_h - 6}" fill="#eeeeee"/>')
        if value is None:
            parts.append(_text(label_w + 4, y + 14, "ingen data", extra=' fill="#555555"'))
            continue
        good = value >= good_from if higher_is_better else value <= 1 - good_from
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{_f(bar_w * max(0.0, min(1.0, value)))}" '
                     f'height="{row_h - 6}" fill="{GOOD if good else BAD}"/>')
        parts.append(_text(label_w + bar_w + 6, y + 14, pct(value)))
    parts.append("</svg>")
    return Markup("".join(parts))


def columns(title: str, categories: Sequence[str], series: Sequence[Series], stacked: bool = False,
            percent: bool = False, marks: Sequence[bool] | None = None) -> Markup:
    """Columns per category, one colour per series (grouped, or stacked when ``stacked``).

    ``percent`` draws values as 0–100 % on a fixed axis; ``marks`` shades categories
    (e.g. weeks with public holidays or the summer holiday).
    """
    n = max(1, len(categories))
    left, right, top, bottom = 44, 10, 30, 46
    slot = max(34, min(70, 640 // n))
    plot_w, plot_h = slot * n, 180
    per_row = 3
    col_w = 24 + 6 * max((len(s.name) for s in series), default=0)
    legend_h = 18 * ((len(series) + per_row - 1) // per_row) if len(series) > 1 else 0
    width, height = left + plot_w + right, top + plot_h + bottom + legend_h
    if len(series) > 1:
        width = max(width, left + col_w * min(per_row, len(series)) + right)
    if percent:
        y_max = 1.0
    elif stacked:
        y_max = nice_max(max([sum(s.values[i] or 0 for s in series) for i in range(len(categories))] or [0]))
    else:
        y_max = nice_max(max([v or 0 for s in series for v in s.values] or [0]))

    def y_of(v: float) -> float:
        return top + plot_h - plot_h * (v / y_max)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="sans-serif">',
             f"<title>{_label(title)}</title>", _text(0, 16, title, size=13, extra=' font-weight="bold"')]
    for i, marked in enumerate(marks or ()):
        if marked:
            parts.append(f'<rect x="{left + i * slot}" y="{top}" width="{slot}" height="{plot_h}" fill="#fff2cc"/>')
    for k in range(5):
        v = y_max * k / 4
        y = y_of(v)
        parts.append(f'<line x1="{left}" y1="{_f(y)}" x2="{left + plot_w}" y2="{_f(y)}" stroke="#dddddd"/>')
        parts.append(_text(left - 4, y + 4, pct(v, 0) if percent else num(v, 0 if y_max >= 4 else 1),
                           anchor="end", size=10))
    inner = slot - 8
    bar_w = inner if stacked else inner / max(1, len(series))
    for i in range(len(categories)):
        x0 = left + i * slot + 4
        base = 0.0
        for j, s in enumerate(series):
            v = s.values[i]
            if v is None:
                continue
            colour = PALETTE[j % len(PALETTE)]
            if stacked:
                y1, y2 = y_of(base + v), y_of(base)
                x = x0
                base += v
            else:
                y1, y2 = y_of(v), y_of(0)
                x = x0 + j * bar_w
            if y2 - y1 > 0:
                parts.append(f'<rect x="{_f(x)}" y="{_f(y1)}" width="{_f(bar_w)}" height="{_f(y2 - y1)}" '
                             f'fill="{colour}"><title>{_label(s.name)} {_label(categories[i])}: '
                             f'{_label(pct(v) if percent else num(v))}</title></rect>')
        parts.append(_text(left + i * slot + slot / 2, top + plot_h + 14, categories[i], anchor="middle", size=10))
    parts.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#000000"/>')
    if len(series) > 1:
        for j, s in enumerate(series):
            lx = left + (j % per_row) * col_w
            ly = top + plot_h + 32 + 18 * (j // per_row)
            parts.append(f'<rect x="{lx}" y="{ly - 9}" width="10" height="10" fill="{PALETTE[j % len(PALETTE)]}"/>')
            parts.append(_text(lx + 14, ly, s.name, size=10))
    parts.append("</svg>")
    return Markup("".join(parts))
