"""The Gates and BPTT pages' figures and gradient drawing, cached, built from ui.compute's results.

Figures are cached as shared objects (st.cache_resource): a cache_data hit unpickles and
revalidates a copy, 5-40 ms a figure. No page changes a figure after building it.
"""

from __future__ import annotations

import streamlit as st

from rnnviz import drawing as rgraph
from rnnviz.drawing import figures
from rnnviz.engine.cells import CELL_LABELS
from ui.compute import gradients, run

FIGURE_TTL = 3600  # s
COMPARED = {"RNN": "rnn_tanh", "LSTM": "lstm", "GRU": "gru"}


@st.cache_resource(max_entries=32, ttl=FIGURE_TTL, show_spinner=False)
def heatmaps(args: dict, layer: int):
    return figures.gates_figure(run(**args).trace, layer)


@st.cache_resource(max_entries=32, ttl=FIGURE_TTL, show_spinner=False)
def unit_lines(args: dict, layer: int, units: tuple[int, ...]):
    return figures.units_figure(run(**args).trace, layer, units)


@st.cache_resource(max_entries=32, ttl=FIGURE_TTL, show_spinner=False)
def three_cells(args: dict, layer: int, unit: int):
    """h of one unit in an RNN, an LSTM and a GRU with the same settings and seeded random weights."""
    seeded = {**args, "preset": "random", "trained": None, "loaded": None}
    traces = {label: run(**{**seeded, "cell": c}).trace for label, c in COMPARED.items()}
    return figures.compare_figure(traces, "h", unit, layer=layer)


@st.cache_resource(max_entries=32, ttl=FIGURE_TTL, show_spinner=False)
def norms_plot(args: dict, loss: str, trunc: int):
    lines = {f"layer {k + 1}": n for k, n in enumerate(gradients(args, loss, trunc).dh_norm)}
    if trunc:
        lines[f"layer {args['L']}, full BPTT"] = gradients(args, loss, 0).dh_norm[-1]
    return figures.grad_norm_figure(lines, title=f"{CELL_LABELS[args['cell']]}: ||dL/dh_t||")


@st.cache_resource(max_entries=32, ttl=FIGURE_TTL, show_spinner=False)
def cells_plot(args: dict, loss: str, trunc: int):
    """The top layer's ||dL/dh_t|| in the RNN (the chosen one, if an RNN is chosen), the LSTM and the GRU."""
    rnn = args["cell"] if args["cell"].startswith("rnn") else "rnn_tanh"
    compared = {"RNN": rnn, "LSTM": "lstm", "GRU": "gru"}
    seeded = {**args, "loaded": None}  # the same sizes with seeded weights, also when a file is loaded
    lines = {label: gradients({**seeded, "cell": c}, loss, trunc).dh_norm[-1] for label, c in compared.items()}
    return figures.grad_norm_figure(lines, title="||dL/dh_t||, three cells")


@st.cache_resource(max_entries=32, ttl=FIGURE_TTL, show_spinner=False)
def jacobian_plot(args: dict):
    # ||dh_T/dh_t|| depends on the trace only, not on the loss or truncation
    lines = {f"layer {k + 1}": n for k, n in enumerate(gradients(args, "last", 0).jacobian_norms)}
    return figures.grad_norm_figure(lines, title="||∂h_T/∂h_t||", y_title="spectral norm (log scale)")


@st.cache_data(max_entries=32, show_spinner=False)
def gradient_dot(args: dict, loss: str, trunc: int) -> str:
    """The unfolded graph with the gradients on its edges and nodes, as DOT."""
    return rgraph.unfolded_graph(run(**args).trace, grads=gradients(args, loss, trunc), values=False).source
