"""The results page's charts, drawn on the server as SVG by pygal: nothing runs in the browser.

pygal writes a small configuration script into every chart for its optional tooltips; it is
taken out of the tree before serialising (the staff pages' policy would refuse to run it anyway),
with the comments. Every chart is an image with a name (``role="img"``, ``<title>``) and a
description; the page shows the same figures as a table beside it. Sizes are a viewBox: the
chart scales to the width of the screen, a phone's included.
"""

from __future__ import annotations

from typing import Sequence

import pygal
from pygal.etree import etree
from pygal.style import Style

_STYLE = Style(
    background="#ffffff", plot_background="#ffffff", foreground="#1f2933", foreground_strong="#1f2933",
    foreground_subtle="#9aa5b1", colors=("#0b5cad", "#c2410c", "#3f8f3f", "#7c3aed"),
    font_family='system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif',
    label_font_size=13, major_label_font_size=13, value_font_size=12, value_label_font_size=12,
    title_font_size=16, legend_font_size=13, tooltip_font_size=12,
)
_COMMON = dict(style=_STYLE, js=[], disable_xml_declaration=True, explicit_size=False, print_values=True,
               show_y_guides=False, margin=12, truncate_label=-1, legend_at_bottom=True)
WIDE, NARROW = 760, 400  # viewBox widths: a desktop's column, a phone's (its text stays readable)


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value:.1%}"


def block_rates(labels: Sequence[str], rates: Sequence[float], title: str, width: int = WIDE) -> str:
    """Click rate per block, one horizontal bar each (ranked as given)."""
    chart = pygal.HorizontalBar(width=width, height=max(160, 34 * len(labels) + 90), show_legend=False,
                                value_formatter=_percent, **_COMMON)
    chart.x_labels = [label[:60 if width == WIDE else 28] for label in labels][::-1]
    chart.add("Click rate", list(rates)[::-1])
    return _svg(chart, title, "Click rate (unique clickers over the recipients who got the block) per block.")


def trend(editions: Sequence[str], rates: Sequence[float], title: str, width: int = WIDE) -> str:
    """Click rate per edition, as a line over the editions."""
    chart = pygal.Line(width=width, height=300, show_legend=False, value_formatter=_percent, dots_size=4,
                       x_label_rotation=_rotation(editions, width), **_COMMON)
    chart.x_labels = list(editions)
    chart.add("Click rate", list(rates))
    return _svg(chart, title, "Click rate of each edition, oldest first.")


def churn(editions: Sequence[str], left: Sequence[float], narrowed: Sequence[float], title: str,
          width: int = WIDE) -> str:
    """Per edition: the share who unsubscribed beside the share who narrowed their choices instead."""
    chart = pygal.Bar(width=width, height=340, value_formatter=_percent,
                      x_label_rotation=_rotation(editions, width), **_COMMON)
    chart.x_labels = list(editions)
    chart.add("Unsubscribed", list(left))
    chart.add("Narrowed instead", list(narrowed))
    return _svg(chart, title, "Per edition, the share of recipients who unsubscribed and the share who "
                              "changed to a slower frequency, paused or excluded a product group instead.")


def _rotation(labels: Sequence[str], width: int) -> int:
    return 0 if len(labels) * 90 < width else 35


def _svg(chart, title: str, description: str) -> str:
    root = chart.render_tree()
    # pygal draws with lxml (inscriptis needs it too): the tree has parent pointers.
    for node in [n for n in root.iter() if not isinstance(n.tag, str) or _local(n.tag) == "script"]:
        node.getparent().remove(node)
    root.set("role", "img")
    root.set("aria-label", title)
    desc = etree.Element("desc")
    desc.text = description
    root.insert(0, desc)
    name = etree.Element("title")
    name.text = title
    root.insert(0, name)
    return etree.tostring(root, encoding="unicode")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]

