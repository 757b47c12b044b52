"""Inline SVG charts: escaped labels, deterministic markup, readable axes."""

from __future__ import annotations

import pytest

from frister.reports.charts import Series, columns, nice_max, share_bars
from frister.reports.render import num, pct


def test_labels_are_escaped_and_the_markup_is_deterministic():
    a = columns("<b>Tittel</b>", ["Uke 1", "Uke 2"], [Series("enhet & co", [1, 2]), Series("x", [None, 3])], stacked=True)
    b = columns("<b>Tittel</b>", ["Uke 1", "Uke 2"], [Series("enhet & co", [1, 2]), Series("x", [None, 3])], stacked=True)
    assert str(a) == str(b)
    assert "<b>" not in str(a) and "&lt;b&gt;Tittel" in str(a) and "enhet &amp; co" in str(a)
    assert str(a).startswith('<svg xmlns="http://www.w3.org/2000/svg"')


def test_share_bars_colour_by_direction():
    svg = str(share_bars("Andeler", [("Innen fristen", 0.95, True), ("Over frist", 0.05, False),
                                     ("Tilsyn", 0.5, True), ("Ingen", None, True)]))
    assert svg.count('fill="#3d8b3d"') == 2 and svg.count('fill="#b33d3d"') == 1
    assert "ingen data" in svg and "95,0\u00a0%" in svg


@pytest.mark.parametrize("value, expected", [(0, 1), (0.5, 1), (3, 4), (4, 4), (128, 200), (774, 800), (1001, 2000)])
def test_nice_max(value, expected):
    assert nice_max(value) == expected


def test_norwegian_number_formats():
    assert pct(0.964) == "96,4\u00a0%" and pct(None) == "–" and pct(1 / 3, 0) == "33\u00a0%"
    assert num(1234567) == "1\u00a0234\u00a0567" and num(27.25, 1) == "27,2" and num(None) == "–"
