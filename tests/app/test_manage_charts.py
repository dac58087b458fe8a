"""The SVG chart builders: accessible text, round axes, bars in proportion, escaped names,
and a plain statement when there is nothing to draw. Pure functions: no application needed.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from app.manage.charts import Series, bar_chart, hbar_chart, nice_top

SVG = "{http://www.w3.org/2000/svg}"


def parsed(markup) -> ET.Element:
    return ET.fromstring(str(markup))


def bars(svg: ET.Element, css: str) -> list[ET.Element]:
    """Return the bars of one class (a bar has a title; a legend's swatch has none)."""
    return [r for r in svg.iter(f"{SVG}rect") if r.get("class") == css and r.find(f"{SVG}title") is not None]


def heights(svg: ET.Element, css: str) -> list[float]:
    return [float(r.get("height")) for r in bars(svg, css)]


def test_a_chart_is_an_image_named_by_its_title_and_description():
    svg = parsed(bar_chart("c1", "Mail per day", "3 in, 1 out.", ["Mon", "Tue"],
                           [Series("Inbound", [1, 2], "inbound"), Series("Outbound", [1, 0], "outbound")]))

    assert svg.get("role") == "img" and svg.get("aria-labelledby") == "c1-title c1-desc"
    assert svg.find(f"{SVG}title").text == "Mail per day" and svg.find(f"{SVG}desc").text == "3 in, 1 out."
    tips = [t.text for r in svg.iter(f"{SVG}rect") for t in r.iter(f"{SVG}title")]
    assert tips == ["Mon: Inbound 1", "Mon: Outbound 1", "Tue: Inbound 2"], "no bar for a zero"


def test_bars_are_in_proportion_and_stack_when_asked():
    side = parsed(bar_chart("c", "t", "d", ["a", "b"], [Series("x", [2, 4], "x")]))
    assert heights(side, "series-x")[1] == 2 * heights(side, "series-x")[0]

    stacked = parsed(bar_chart("c", "t", "d", ["a"], [Series("x", [1], "x"), Series("y", [3], "y")],
                               stacked=True))
    (x,), (y,) = bars(stacked, "series-x"), bars(stacked, "series-y")
    assert float(y.get("height")) == 3 * float(x.get("height"))
    assert float(y.get("y")) + float(y.get("height")) == float(x.get("y")), "y sits on top of x"


def test_axes_end_on_a_round_number_and_counts_never_get_fractional_steps():
    assert nice_top(7) == (8, 2)
    assert nice_top(292) == (300, 100)
    assert nice_top(9.5, whole=False) == (10, 2.5)
    assert nice_top(0) == (1, 1)


def test_names_are_escaped_and_shortened_with_the_whole_name_kept_for_a_pointer():
    name = "<script>alert(1)</script> & a very long account name indeed"
    markup = str(hbar_chart("c", "t", "d", [name], [Series("Requests", [3], "usage")]))

    assert "<script>" not in markup and "&lt;script&gt;" in markup
    svg = parsed(markup)
    shown = [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "name"]
    assert shown[0].endswith("…") and len(shown[0]) == 22
    assert name in [t.text for t in svg.iter(f"{SVG}title")]


def test_a_chart_with_nothing_to_draw_says_so():
    for markup in (bar_chart("c", "t", "d", ["a", "b"], [Series("x", [0, 0], "x")]),
                   hbar_chart("c", "t", "d", [], [Series("x", [], "x")])):
        assert "Nothing in this period" in str(markup)
        assert not re.search(r'<rect class="series-x"', str(markup))
