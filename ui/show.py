"""Drawing graphs on the page: SVG rendered server-side with dot, readable and scrollable."""

from __future__ import annotations

import re

import graphviz
import streamlit as st

from rnnviz import graph as rgraph

_PROLOG = re.compile(r"^.*?(?=<svg)", re.S)
_SIZE = re.compile(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"')


@st.cache_data(max_entries=64, show_spinner=False)
def svg_document(dot: str) -> str:
    """The SVG file dot makes of a DOT source (XML prolog included), laid out once per source.

    The page's drawing and its SVG download share this cache, so a new graph runs dot once.
    """
    return rgraph.render_svg(graphviz.Source(dot))


def _svg(dot: str) -> str:
    """The drawing for inline HTML: the SVG element without the XML prolog."""
    return _PROLOG.sub("", svg_document(dot))


def _scalable(svg: str, min_scale: float) -> str:
    """Let the SVG shrink to the box width, but not below ``min_scale`` of its natural size."""
    size = _SIZE.search(svg)
    if size is None or min_scale >= 1:
        return svg
    width = float(size.group(1)) * 4 / 3  # pt -> CSS px
    style = f"width:100%;min-width:{width * min_scale:.0f}px;max-width:{width:.0f}px;height:auto"
    return svg[: size.start()] + f'<svg style="{style}"' + svg[size.end() :]


def graph(g: graphviz.Digraph, *, max_height: int = 640, min_scale: float = 1.0) -> str:
    """Show a graph at its natural size (labels stay readable) in a scrollable box.

    With ``min_scale`` < 1 a wide graph shrinks to fit the page, down to that fraction of its
    natural size, and scrolls beyond. Returns the DOT source. Falls back to
    st.graphviz_chart when the dot program is missing.
    """
    dot = g.source
    if not rgraph.graphviz_available():
        st.graphviz_chart(dot)
        st.caption("Graphviz's `dot` program is not installed here, so the browser lays out the graph.")
        return dot
    # one line: a blank line would end the markdown HTML block
    svg = _scalable(_svg(dot), min_scale).replace("\n", " ")
    # st.html sanitizes with DOMPurify's html profile, which drops <svg>; markdown keeps it
    st.markdown(
        f'<div class="rnnviz-graph" style="overflow:auto;max-height:{max_height}px">{svg}</div>',
        unsafe_allow_html=True,
    )
    return dot
