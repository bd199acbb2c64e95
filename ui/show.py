"""Drawing graphs on the page: SVG rendered server-side with dot, readable and scrollable."""

from __future__ import annotations

import re

import graphviz
import streamlit as st

from rnnviz import graph as rgraph

_PROLOG = re.compile(r"^.*?(?=<svg)", re.S)


@st.cache_data(max_entries=64, show_spinner=False)
def _svg(dot: str) -> str:
    return _PROLOG.sub("", rgraph.render_svg(graphviz.Source(dot)))


def graph(g: graphviz.Digraph, *, max_height: int = 640) -> str:
    """Show a graph at its natural size (labels stay readable) in a scrollable box.

    Returns the DOT source. Falls back to st.graphviz_chart when the dot program is missing.
    """
    dot = g.source
    if not rgraph.graphviz_available():
        st.graphviz_chart(dot)
        st.caption("Graphviz's `dot` program is not installed here, so the browser lays out the graph.")
        return dot
    svg = _svg(dot).replace("\n", " ")  # one line: a blank line would end the markdown HTML block
    # st.html sanitizes with DOMPurify's html profile, which drops <svg>; markdown keeps it
    st.markdown(
        f'<div class="rnnviz-graph" style="overflow:auto;max-height:{max_height}px">{svg}</div>',
        unsafe_allow_html=True,
    )
    return dot
