"""The Unfolded graph page's cached computations, weights file, matrix editor, trace table and exports.

They live here, imported once, rather than in pages/unfolded.py, which Streamlit runs on every
rerun: the page's script then wraps nothing in st.cache_data each time (each wrap reads the
function's source: about 2 ms a rerun for five), and is smaller to compile where no script cache
is kept (AppTest). So do the step-through's buttons, their callbacks and the Play timer.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import numpy as np
import pandas as pd
import streamlit as st

import rnnviz
from rnnviz import drawing as rgraph
from rnnviz.engine import bptt, numerics
from ui import controls, show, state, text
from ui.markup import literal

PAGE = "unfolded"
LOSS = "last"  # the toy loss of rnnviz.bptt: L = sum of the units of h_T, top layer
EDITS = f"{PAGE}:edits"  # the matrix editor's data and values, kept while its expander is closed
HL_KEY = f"{PAGE}:hl"  # the highlighted step's slider
PLAY_SECONDS = 1.0  # Play moves the highlight one step on this often
TRAINED = "trained_model"  # set by the Train page: {"params", "x", "label"}


@st.cache_data(max_entries=16, show_spinner=False)
def unfolded_dot(
    params: rnnviz.Params, x: np.ndarray, level: str, values: bool, grads: bool, shared: bool, hl: int, flow: str
):
    trace = rnnviz.forward(params, x)
    g = bptt.loss_backward(params, trace, LOSS) if grads else None
    rankdir = "TB" if flow == "down" else "LR"
    digraph = rgraph.unfolded_graph(
        trace, grads=g, level=level, values=values, shared_weights=shared, highlight_step=hl or None, rankdir=rankdir
    )
    return digraph.source, numerics.describe_overflow(trace, g)


@st.cache_data(max_entries=16, show_spinner=False)
def inspected(params: rnnviz.Params, x: np.ndarray, grads: bool):
    """The trace and (if ``grads``) the gradients the drawing shows, for the inspector."""
    trace = rnnviz.forward(params, x)
    return trace, bptt.loss_backward(params, trace, LOSS) if grads else None


@st.cache_data(max_entries=16, show_spinner=False)
def trace_csv(params: rnnviz.Params, x: np.ndarray, grads: bool) -> bytes:
    return trace_table(params, x, grads).to_csv(index=False).encode()


def file_weights() -> tuple[tuple[str, rnnviz.Params] | None, str]:
    """The loaded file's (name, weights) while a usable file is loaded, and what is wrong with a file that is not.

    Read from the upload box's state before the sidebar is drawn, so that the network controls are
    locked by a file that sets the weights, in the run that loads it, and never by a refused one.
    A refused file keeps the previous file's weights, if one was loaded.
    """
    upload = st.session_state.get(f"{PAGE}:upload")
    if upload is None:
        st.session_state.pop(f"{PAGE}:file_params", None)
        return None, ""
    try:
        params = controls.uploaded_params(upload.getvalue(), upload.name, "the Unfolded page")
        st.session_state[f"{PAGE}:file_params"] = (upload.name, params)
    except ValueError as err:
        kept = "Keeping the previous file's weights" if f"{PAGE}:file_params" in st.session_state else "Nothing loaded"
        return st.session_state.get(f"{PAGE}:file_params"), f"This file cannot be used: {literal(err)}. {kept}."
    return st.session_state[f"{PAGE}:file_params"], ""


def upload_box() -> None:
    """The expander that loads weights from a file (read by ``file_weights`` on the next run)."""
    with st.expander("Load weights from a file"):
        text.show("weights_files")
        st.file_uploader("Weights file", type=list(controls.WEIGHT_TYPES), key=f"{PAGE}:upload")


def notes(level: str, shared: bool, grads: bool, T: int, fit: bool, flow: str) -> str:
    """What the drawing shows, under it."""
    out = []
    if level == "operations":
        out.append(
            "Inside each step: the matrix products, the sum with the bias, the gates and the pointwise products."
        )
    if shared:
        out.append("Edges named and coloured by their weight: every step uses the same W_ih, W_hh and b.")
    if grads:
        out.append(f"Gradients of {bptt.LOSSES[LOSS]}: ||∇|| on the nodes, darker and thicker edges carry more.")
    if T > rgraph.DEFAULT_MAX_STEPS[level]:
        out.append("The middle of a long sequence is collapsed into one ⋯ node.")
    sideways = flow == "across" and not fit
    hint = " Scroll sideways for the later steps, or fit the drawing to the page (sidebar)." if sideways else ""
    return " ".join(out) + " Hover over a node for what it depends on; click it for where its number comes from." + hint


def export(dot_source: str, params: rnnviz.Params, x: np.ndarray, grads: bool) -> None:
    """Download buttons for the drawing, the trace and the weights (in every format rnnviz writes).

    The drawing and the trace follow every change: their files are made only when clicked (data=callable).
    """
    cols = st.columns(3)
    cols[0].download_button(
        "Graph (DOT)", lambda: dot_source, "unfolded.dot", "text/vnd.graphviz", width="stretch", on_click="ignore"
    )
    if rgraph.graphviz_available():
        svg = partial(show.svg_document, dot_source)  # laid out once, for the drawing above and this file
        cols[1].download_button("Graph (SVG)", svg, "unfolded.svg", "image/svg+xml", width="stretch", on_click="ignore")
    else:
        cols[1].caption("SVG needs Graphviz's `dot` program.")
    csv = partial(trace_csv, params, x, grads)
    cols[2].download_button("Trace (CSV)", csv, "trace.csv", "text/csv", width="stretch", on_click="ignore")
    st.caption("The CSV has one row per step t, layer, quantity (x, gates, c, h, gradients) and unit.")
    controls.weights_downloads(params, "weights")  # made now (cached), to show why a format cannot hold them
    st.caption("Every weights file opens again here and in PyTorch (the .onnx in onnxruntime too).")


def trace_table(params: rnnviz.Params, x: np.ndarray, grads: bool) -> pd.DataFrame:
    """Long format: one row per step, layer (1-based), quantity and unit (1-based)."""
    trace = rnnviz.forward(params, x)
    quantities = [("x", trace.x, None)]
    for k, lt in enumerate(trace.layers):
        quantities += [(name, a, k) for name, a in lt.gates.items()]
        if lt.c is not None:
            quantities.append(("c", lt.c, k))
        quantities.append(("h", lt.h, k))
    if grads:
        g = bptt.loss_backward(params, trace, LOSS)
        quantities += [("dL/dh", a, k) for k, a in enumerate(g.dh)]
        quantities += [("dL/dc", a, k) for k, a in enumerate(g.dc or ())]
    frames = []
    for name, a, k in quantities:
        T, n = a.shape
        frames.append(
            pd.DataFrame(
                {
                    "t": np.repeat(np.arange(1, T + 1), n),
                    "layer": "" if k is None else k + 1,
                    "quantity": name,
                    "unit": np.tile(np.arange(1, n + 1), T),
                    "value": a.reshape(-1),
                }
            )
        )
    return pd.concat(frames, ignore_index=True).sort_values(["t", "layer"], kind="stable", ignore_index=True)


def matrix_frame(a: np.ndarray, rows: list[str], cols: list[str] | None) -> pd.DataFrame:
    return pd.DataFrame(a if cols else a[:, None], index=rows, columns=cols or ["value"])


TOOLBAR_ROOM = "small"  # st.space above a data editor; measured in tests/test_browser_classroom.py


def edited(name: str, a: np.ndarray, rows: list[str], cols: list[str] | None, key: str) -> np.ndarray:
    """A data editor over one weight array; returns the edited values (NaN where a cell was cleared)."""
    st.markdown(f"`{name}`")
    st.space(TOOLBAR_ROOM)  # the table's toolbar shows above it on hover: room for it, off the label
    frame = st.data_editor(matrix_frame(a, rows, cols), key=key, width="content")
    return frame.to_numpy(dtype=np.float64).reshape(a.shape)


def bad_entries(name: str, edited_values: np.ndarray, base: np.ndarray, rows: list[str], cols: list[str] | None):
    """``edited_values`` with each empty or non-number entry back at its unedited value, and a line naming them."""
    bad = ~np.isfinite(edited_values)
    if not bad.any():
        return edited_values, ""
    cells = np.argwhere(bad.reshape(len(rows), -1))  # (n, 2): row, column
    where = [f"{rows[i]}, {cols[j]}" if cols else rows[i] for i, j in cells]
    return np.where(bad, base, edited_values), f"{name}: {'; '.join(where)}"


def edit_first_layer(params: rnnviz.Params, key: str, editing: bool) -> rnnviz.Params:
    """Editable W_ih, W_hh and biases of layer 1; an empty or bad entry keeps the unedited weights.

    The four editors are built only while their expander is open (``editing``): they cost
    about 12 ms a rerun. What they hold is kept in session state (EDITS), so with the
    expander closed the edits still apply, and reopened, the editors start from them. As
    with the editors' own state, the edits go when the network, its seed or its weights
    change, when the expander is not offered, or when the page is left.
    """
    lp = params.layers[0]
    base = (lp.W_ih, lp.W_hh, lp.b_ih, lp.b_hh)
    saved = st.session_state.get(EDITS)
    if saved and (saved["key"] != key or not all(map(np.array_equal, saved["base"], base))):
        saved = None
    if editing:
        H, D = lp.W_hh.shape[1], lp.W_ih.shape[1]
        gates = params.gate_names or ("a",)
        rows = [f"{g}{j + 1}" for g in gates for j in range(H)]
        # the editors' data stays the same while they are shown; reopened, they start from the last edits
        shown = saved is not None and f"{key}:W_ih" in st.session_state
        start = saved["start"] if shown else saved["values"] if saved else base
        left, right = st.columns(2)
        x_cols, h_cols = [f"x{d + 1}" for d in range(D)], [f"h{j + 1}" for j in range(H)]
        with left:
            W_ih = edited("W_ih (weight_ih_l0)", start[0], rows, x_cols, f"{key}:W_ih")
            b_ih = edited("b_ih (bias_ih_l0)", start[2], rows, None, f"{key}:b_ih")
        with right:
            W_hh = edited("W_hh (weight_hh_l0)", start[1], rows, h_cols, f"{key}:W_hh")
            b_hh = edited("b_hh (bias_hh_l0)", start[3], rows, None, f"{key}:b_hh")
        # one bad entry keeps the others' edits: it alone goes back to its unedited value, and is named
        W_ih, bad_ih = bad_entries("W_ih", W_ih, base[0], rows, x_cols)
        W_hh, bad_hh = bad_entries("W_hh", W_hh, base[1], rows, h_cols)
        b_ih, bad_bi = bad_entries("b_ih", b_ih, base[2], rows, None)
        b_hh, bad_bh = bad_entries("b_hh", b_hh, base[3], rows, None)
        bad = [b for b in (bad_ih, bad_hh, bad_bi, bad_bh) if b]
        if bad:
            st.error(
                "Empty or not a number, so the graph uses the unedited value there (the other edits apply): "
                + literal(" | ".join(bad))
            )
        st.session_state[EDITS] = {"key": key, "base": base, "start": start, "values": (W_ih, W_hh, b_ih, b_hh)}
    else:
        W_ih, W_hh, b_ih, b_hh = saved["values"] if saved else base
    if saved is None and not editing:
        return params
    return replace(params, layers=(rnnviz.LayerParams(W_ih, W_hh, b_ih, b_hh),) + params.layers[1:])


def forget_trained() -> None:
    st.session_state.pop(TRAINED, None)


def step_back() -> None:
    st.session_state[HL_KEY] = max(st.session_state.get(HL_KEY, 0) - 1, 0)


def step_on(T: int) -> None:
    st.session_state[HL_KEY] = min(st.session_state.get(HL_KEY, 0) + 1, T)


def start_play(T: int) -> None:
    if st.session_state.get(HL_KEY, 0) >= T:
        st.session_state[HL_KEY] = 0
    st.session_state[f"{PAGE}:playing"] = True


def stop_play() -> None:
    st.session_state[f"{PAGE}:playing"] = False


def step_through(T: int, graph_area) -> int:
    """The highlighted step (0: none) as a slider with Back, Next and Play above the drawing (in
    ``graph_area``); Play's timer asks for a rerun every PLAY_SECONDS that moves it one step on."""
    if st.session_state.pop(f"{PAGE}:advance", False):
        step_on(T)
        if st.session_state.get(HL_KEY, 0) >= T:
            stop_play()
    if state.settings()["hl"] > T:
        state.settings()["hl"] = T
    if st.session_state.get(HL_KEY, 0) > T:
        st.session_state[HL_KEY] = T
    playing = st.session_state.get(f"{PAGE}:playing", False)
    with graph_area:
        prev_col, slider_col, next_col, play_col = st.columns([1.3, 5, 1.3, 1.3], vertical_alignment="bottom")
        with slider_col:
            hl = controls.widget(PAGE, "hl", max_value=T, disabled=playing)
        prev_col.button("◀ Back", on_click=step_back, disabled=playing or hl == 0, width="stretch")
        next_col.button("Next ▶", on_click=step_on, args=(T,), disabled=playing or hl >= T, width="stretch")
        if playing:
            play_col.button("■ Stop", on_click=stop_play, width="stretch")
        else:
            play_col.button("▶ Play", on_click=start_play, args=(T,), width="stretch")

    @st.fragment(run_every=PLAY_SECONDS if playing else None)
    def play_timer() -> None:
        """While playing, every tick asks for a full rerun that moves the highlight one step on."""
        ticks = st.session_state.get(f"{PAGE}:ticks", 0) + 1
        st.session_state[f"{PAGE}:ticks"] = ticks
        if playing and ticks > 1:
            st.session_state[f"{PAGE}:advance"] = True
            st.session_state[f"{PAGE}:ticks"] = 0
            st.rerun()

    st.session_state[f"{PAGE}:ticks"] = 0
    play_timer()
    return hl
