"""Drawings side by side at one scale, for the Architectures page."""

from __future__ import annotations

import re

import graphviz
import streamlit as st

from rnnviz import drawing as rgraph
from ui import show

_WIDTH = re.compile(r'<svg width="([\d.]+)pt"')


def natural_width(dot: str) -> float:
    """The width dot gives a drawing, in points (1 when dot is missing: the browser lays it out)."""
    if not rgraph.graphviz_available():
        return 1.0
    found = _WIDTH.search(show.svg_document(dot))
    return float(found.group(1)) if found else 1.0


def grid(panels: list[tuple[str, graphviz.Digraph, str]], per_row: int = 2, gap: float = 36.0) -> None:
    """Drawings ``per_row`` to a row, each under its title and over its caption, all at one scale.

    Columns are as wide as their drawings, with a blank column of ``gap`` points between
    two drawings and one that brings every row to the widest row's width, and no other gap:
    a drawing fills its column, so every drawing shrinks by the same factor and the same
    node has the same size in every panel.
    """
    rows = [panels[k : k + per_row] for k in range(0, len(panels), per_row)]
    widths = [[natural_width(g.source) for _, g, _ in row] for row in rows]
    total = max(sum(w) + gap * (len(w) - 1) for w in widths)
    for row, w in zip(rows, widths, strict=True):
        spec = [x for width in w for x in (gap, width)][1:]  # drawing, gap, drawing, ...
        spare = total - sum(spec)
        columns = st.columns(spec + ([spare] if spare > 0.5 else []), gap=None)
        for column, (title, g, caption) in zip(columns[::2], row, strict=False):
            with column:
                st.markdown(f"**{title}**")
                show.graph(g, max_height=420, min_scale=0.3)
                st.caption(caption)
