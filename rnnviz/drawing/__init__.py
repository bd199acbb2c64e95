"""Drawings of recurrent networks: Graphviz graphs built on one kernel, and Plotly figures.

``kernel`` holds what every graph is made of (nodes, edges, classes, labels, number formats,
the gradient scale, collapse, DOT and SVG output); ``folded``, ``unfolded`` (with
``operations`` inside a step) and ``wirings`` build on it; ``style`` is the look they share
with the Plotly ``figures`` and ``archfigures``. The graph builders and their output are
re-exported here.
"""

from .folded import folded_graph
from .kernel import (
    MAX_NODES,
    GraphvizUnavailable,
    count_nodes,
    dot_source,
    format_number,
    graphviz_available,
    render,
    render_svg,
)
from .unfolded import unfolded_graph
from .unfolding import DEFAULT_MAX_STEPS, LEVELS, expected_node_count

__all__ = [
    "DEFAULT_MAX_STEPS",
    "LEVELS",
    "MAX_NODES",
    "GraphvizUnavailable",
    "count_nodes",
    "dot_source",
    "expected_node_count",
    "folded_graph",
    "format_number",
    "graphviz_available",
    "render",
    "render_svg",
    "unfolded_graph",
]
