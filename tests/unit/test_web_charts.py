"""The web app's server-side charts: labels are escaped, numbers written the Indonesian way, the y axis
ends on a round number above the largest value."""

from __future__ import annotations

import pytest

from services.web import charts


@pytest.mark.parametrize(("top", "axis"), [(0, 1), (7, 10), (11, 20), (180, 200), (211_077, 500_000), (5, 5)])
def test_the_axis_ends_on_a_round_number(top: float, axis: float) -> None:
    assert charts._ceiling(top) == axis


def test_labels_are_escaped_and_numbers_use_dots() -> None:
    svg = str(charts.line_chart("Cakupan <b>", ["1 Jan", "<script>"], [charts.Line("wajib & rekam", [0, 211_077])],
                                ident="grafik"))
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "Cakupan &lt;b&gt;" in svg
    assert "wajib &amp; rekam" in svg and "500.000" in svg
    bars = str(charts.bar_chart("Antrean", [("Curup <i>", 1234, "(tertua 2 hari)")], ident="bar"))
    assert "Curup &lt;i&gt;" in bars and "1.234" in bars
