"""Unfolded graph: an RNN, LSTM or GRU stack drawn over T steps, with its numbers and gradients."""

from functools import partial

import graphviz
import streamlit as st
import streamlit.components.v1 as components

from rnnviz import drawing as rgraph
from rnnviz.engine import bptt, presets, signals
from ui import show, state
from ui.markup import literal
from ui.unfolded import (
    EDITS,
    LOSS,
    PAGE,
    edit_first_layer,
    seeded_params,
    trace_csv,
    unfolded_dot,
    uploaded_params,
    weights_file,
)

URL_NAMES = ("cell", "D", "H", "L", "T", "seed", "scale", "preset", "signal", "custom", "level", "values", "grads")
URL_NAMES += ("shared", "hl")
CELL_LABELS = {"rnn_tanh": "RNN (tanh)", "rnn_relu": "RNN (ReLU)", "lstm": "LSTM", "gru": "GRU"}
SIGNAL_LABELS = {
    "impulse": "impulse (1, 0, 0, ...)",
    "step": "step (1, 1, 1, ...)",
    "sine": "sine (period 8)",
    "random": "seeded random",
    "custom": "custom list",
}
PRESET_LABELS = {
    "random": "seeded random",
    "latch": "LSTM: memory latch",
    "reset": "LSTM: forget every step",
    "shut": "LSTM: input gate shut",
    "leaky": "GRU: leaky integrator",
}
LEVEL_LABELS = {"cell": "cells", "operations": "operations"}
MAX_EDIT = 4  # the matrix editor is offered up to this input and hidden size
PLAY_SECONDS = 1.0
READABLE_SCALE = 0.8  # a wide drawing shrinks to at most this: 12 pt labels stay >= 12 px on screen
HL_KEY = f"{PAGE}:hl"
EDITOR = f"{PAGE}:editor"  # the matrix editor's expander
TRAINED = "trained_model"  # set by the Train page: {"params", "x", "label"}
# runs in a same-origin component iframe: scroll the graph box (not the page) to the step's cell
SCROLL_TO_STEP = """<script>
setTimeout(() => {
  const box = window.parent.document.querySelector(".rnnviz-graph");
  const cell = box && box.querySelector("svg .node.step-STEP");
  if (!cell) return;
  const b = box.getBoundingClientRect(), c = cell.getBoundingClientRect();
  box.scrollLeft += c.left + c.width / 2 - (b.left + b.width / 2);
}, 300);
</script>"""


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


state.load_url(PAGE)
if EDITOR not in st.session_state:  # the last run was on another page: the editors' state has gone, so do the edits
    st.session_state.pop(EDITS, None)
st.title("The unfolded graph")
st.caption(
    "A recurrent network drawn once per time step: the same weights process x_1, x_2, ... in turn, "
    "and the state h_t carries what the network remembers to the next step."
)

trained = st.session_state.get(TRAINED)  # a model from the Train page, unless a file is loaded
from_file = st.session_state.get(f"{PAGE}:upload") is not None  # a loaded file sets the network
with st.sidebar:
    st.header("Network")
    if from_file:
        st.caption("Set by the loaded weights file (see *Load weights from a file*).")
    elif trained is not None:
        st.caption("Set by the model trained on the Train page.")
    from_file = from_file or trained is not None
    off = {"disabled": from_file}
    cell = state.widget(
        PAGE, "cell", st.selectbox, "Cell", options=list(CELL_LABELS), format_func=CELL_LABELS.get, **off
    )
    D = state.widget(PAGE, "D", st.number_input, "Input size D", min_value=1, max_value=8, step=1, **off)
    H = state.widget(PAGE, "H", st.slider, "Hidden size H", min_value=1, max_value=32, **off)
    L = state.widget(PAGE, "L", st.number_input, "Layers L", min_value=1, max_value=3, step=1, **off)
    st.header("Weights")
    preset = state.widget(
        PAGE, "preset", st.selectbox, "Weights", options=list(PRESET_LABELS), format_func=PRESET_LABELS.get, **off
    )
    st.caption(presets.PRESETS[preset])
    seed = state.widget(PAGE, "seed", st.number_input, "Seed", min_value=0, max_value=9999, step=1, **off)
    scale = state.widget(PAGE, "scale", st.slider, "Weight scale", min_value=0.0, max_value=5.0, step=0.1, **off)
    st.header("Input")
    T = state.widget(PAGE, "T", st.slider, "Sequence length", min_value=1, max_value=100)
    kind = state.widget(
        PAGE, "signal", st.selectbox, "Input signal x_t", options=list(SIGNAL_LABELS), format_func=SIGNAL_LABELS.get
    )
    custom = state.settings()["custom"]
    if kind == "custom":
        custom = state.widget(PAGE, "custom", st.text_input, "Values of x_1, x_2, ... (comma separated)")
        st.caption("Padded with zeros or cut to the sequence length; input unit k gets the values / k.")
    st.header("Drawing")
    level = state.widget(
        PAGE, "level", st.radio, "Level of detail", options=list(LEVEL_LABELS), format_func=LEVEL_LABELS.get
    )
    values = state.widget(PAGE, "values", st.toggle, "Show values")
    grads = state.widget(PAGE, "grads", st.toggle, "Show gradients")
    shared = state.widget(PAGE, "shared", st.toggle, "Show weight sharing")

    fit = st.toggle("Fit the drawing to the page", key=f"{PAGE}:fit")
    st.caption("Off: labels stay projector-sized and a wide drawing scrolls. On: the whole drawing, smaller.")

alerts = st.container()  # errors and notices about the weights and the input, above the graph
graph_area = st.container()  # filled below, once the weights and the input are known

# Weights: seeded (or a preset), then an uploaded file, then the matrix editor.
try:
    params = seeded_params(cell, D, H, L, seed, scale, preset)
    st.session_state[f"{PAGE}:good_params"] = params
except ValueError as err:
    params = st.session_state.get(f"{PAGE}:good_params") or seeded_params(cell, D, H, L, seed, scale, "random")
    alerts.error(f"These weights cannot be made: {literal(err)}. Showing the last weights that worked.")

with st.expander("Load weights from a file"):
    st.caption(
        "A `.npz` or `.json` file with a PyTorch `state_dict` (`weight_ih_l0`, `weight_hh_l0`, ...). "
        "Loaded weights replace the seeded ones and set the cell and sizes; they are not in the link."
    )
    upload = st.file_uploader("Load weights", type=["npz", "json"], key=f"{PAGE}:upload")
if upload is None:
    st.session_state.pop(f"{PAGE}:file_params", None)
else:
    try:
        st.session_state[f"{PAGE}:file_params"] = (upload.name, uploaded_params(upload.getvalue(), upload.name))
    except ValueError as err:
        alerts.error(f"This file cannot be used: {literal(err)}. Keeping the previous weights.")
if f"{PAGE}:file_params" in st.session_state:
    name, params = st.session_state[f"{PAGE}:file_params"]
    alerts.info(
        f"Using the weights from **{name}**: {params.cell.upper()}, D = {params.input_size}, "
        f"H = {params.hidden_size}, L = {params.num_layers}. Remove the file to go back to seeded weights."
    )

if trained is not None and f"{PAGE}:file_params" not in st.session_state:
    params = trained["params"]
    alerts.info(f"Showing the model trained on the Train page ({trained['label']}) on its first validation sequence.")
    alerts.button("Back to random weights", on_click=forget_trained, icon=":material/undo:")

if params.hidden_size <= MAX_EDIT and params.input_size <= MAX_EDIT:
    editor = st.expander("Edit the weights of layer 1", key=EDITOR, on_change="rerun")  # built only while open
    with editor:
        if editor.open:
            st.caption(
                "Rows are the gate units (PyTorch order), columns the inputs x or the previous state h. "
                "Edits are kept until the network or its seed changes; they are not in the link."
            )
        source = st.session_state.get(f"{PAGE}:file_params", ("trained" if trained else "seeded", None))[0]
        edit_key = f"{PAGE}:edit:{source}:{cell}:{D}:{H}:{L}:{seed}:{scale}:{preset}"
        params = edit_first_layer(params, edit_key, bool(editor.open))
else:
    st.session_state.pop(EDITS, None)  # as the editors' own state goes when they are not drawn

try:
    x = signals.make_signal(kind, T, params.input_size, seed=seed, custom=custom)
    st.session_state[f"{PAGE}:good_custom"] = custom
except ValueError as err:
    alerts.error(f"The custom signal cannot be used: {literal(err)}. Showing the last signal that worked.")
    x = signals.make_signal(kind, T, params.input_size, custom=st.session_state.get(f"{PAGE}:good_custom", "0"))
if trained is not None and f"{PAGE}:file_params" not in st.session_state:
    x = trained["x"][:T]  # the task's own input: the first validation sequence

# Step highlight and step-through: 0 means no step is highlighted.
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
        hl = state.widget(
            PAGE, "hl", st.slider, "Highlighted step (0 = none)", min_value=0, max_value=T, disabled=playing
        )
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

dot_source, overflow = unfolded_dot(params, x, level, values, grads, shared, hl)
st.session_state["unfolded_dot"] = dot_source
if overflow:
    alerts.warning(overflow)  # uploaded or edited weights can make the states grow past float64
notes = []
if level == "operations":
    notes.append("Inside each step: the matrix products, the sum with the bias, the gates and the pointwise products.")
if shared:
    notes.append("Edges named and coloured by their weight: every step uses the same W_ih, W_hh and b.")
if grads:
    notes.append(f"Gradients of {bptt.LOSSES[LOSS]}: ||∇|| on the nodes, darker and thicker edges carry more.")
if T > rgraph.DEFAULT_MAX_STEPS[level]:
    notes.append("The middle of a long sequence is collapsed into one ⋯ node.")
with graph_area:
    show.graph(graphviz.Source(dot_source), min_scale=0.1 if fit else READABLE_SCALE)
    if hl and not fit:  # bring the highlighted step into view inside the scrolling box
        components.html(SCROLL_TO_STEP.replace("STEP", str(hl)), height=0)
    hint = "" if fit else " Scroll sideways for the later steps, or fit the drawing to the page (sidebar)."
    st.caption(" ".join(notes) + " Hover over a node to see its full vector." + hint)

export = st.expander("Export", key=f"{PAGE}:export", on_change="rerun")  # built only while open
with export:
    if export.open:
        # the drawing and the trace follow every change: their files are made only when clicked (data=callable)
        cols = st.columns(5)
        cols[0].download_button(
            "Graph (DOT)", lambda: dot_source, "unfolded.dot", "text/vnd.graphviz", width="stretch", on_click="ignore"
        )
        if rgraph.graphviz_available():
            svg = partial(show.svg_document, dot_source)  # laid out once, for the drawing above and this file
            cols[1].download_button(
                "Graph (SVG)", svg, "unfolded.svg", "image/svg+xml", width="stretch", on_click="ignore"
            )
        else:
            cols[1].caption("SVG needs Graphviz's `dot` program.")
        csv = partial(trace_csv, params, x, grads)
        cols[2].download_button("Trace (CSV)", csv, "trace.csv", "text/csv", width="stretch", on_click="ignore")
        for col, fmt in zip(cols[3:], ("npz", "json"), strict=True):
            try:  # made now (cached: the weights do not follow the sequence length), to show why one cannot be
                data = weights_file(params, fmt)
                col.download_button(f"Weights (.{fmt})", data, f"weights.{fmt}", width="stretch", on_click="ignore")
            except ValueError as err:
                col.caption(f"Weights as .{fmt}: {literal(err)}")
        st.caption("The CSV has one row per step t, layer, quantity (x, gates, c, h, gradients) and unit.")

how_to_read = st.expander("How to read this graph", key=f"{PAGE}:how-to-read", on_change="rerun")
with how_to_read:
    if how_to_read.open:
        st.markdown(
            """
- **Time runs left to right.** `h_0` is the initial state (zeros); step *t* reads `x_t` and
  `h_{t-1}` and writes `h_t`. With several layers, each layer's `h_t` is the input of the layer above.
- **One set of weights.** Every step uses the same `W_ih`, `W_hh` and biases: that is what makes
  the network recurrent, and why gradients from every step add up in the same weights.
- **LSTM**: gates `i, f, g, o`; `c_t = f * c_{t-1} + i * g` and `h_t = o * tanh(c_t)`.
  **GRU**: gates `r, z, n`; `h_t = (1 - z) * n + z * h_{t-1}`.
- **Values**: where H > 1, a node shows the first entries of its vector; hover for all of them.
- **Gradients**: the loss is the sum of the top layer's last state; each node then shows
  ||dL/dv||, so you can see how much of the gradient survives the way back to step 1.
"""
        )

state.write_url(URL_NAMES)
