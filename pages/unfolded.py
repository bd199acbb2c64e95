"""Unfolded graph: an RNN, LSTM or GRU stack drawn over T steps, with its numbers and gradients."""

import streamlit as st

from rnnviz.engine import signals
from ui import compute, controls, graph_view, presentation, state, text
from ui.markup import literal
from ui.unfolded import (
    EDITS,
    PAGE,
    TRAINED,
    edit_first_layer,
    export,
    file_weights,
    forget_trained,
    inspected,
    notes,
    step_through,
    unfolded_dot,
    upload_box,
)

URL_NAMES = ("cell", "D", "H", "L", "T", "seed", "scale", "preset", "signal", "custom", "level", "values", "grads")
URL_NAMES += ("shared", "flow", "hl", "sel")
CUSTOM_NOTE = "Padded with zeros or cut to the sequence length; input unit k gets the values / k."
MAX_EDIT = 4  # the matrix editor is offered up to this input and hidden size
FIT_SCALE = 0.1  # "Fit the drawing to the page": the whole drawing, down to a tenth of its size
EDITOR = f"{PAGE}:editor"  # the matrix editor's expander


linked = state.load_url(PAGE)
presentation.apply(PAGE)
if EDITOR not in st.session_state:  # the last run was on another page: the editors' state has gone, so do the edits
    st.session_state.pop(EDITS, None)
st.title("The unfolded graph")
st.caption(
    "A recurrent network drawn once per time step: the same weights process x_1, x_2, ... in turn, "
    "and the state h_t carries what the network remembers to the next step."
)
controls.preset_cell(PAGE)  # a preset names its cell

trained = st.session_state.get(TRAINED)  # a model from the Train page, unless a file is loaded
loaded, refused = file_weights()  # a usable file sets the network; a refused one sets nothing
from_file = loaded is not None
with st.sidebar:
    note = "Set by the loaded weights file (see *Load weights from a file*)." if from_file else ""
    note = note or ("Set by the model trained on the Train page." if trained is not None else "")
    off = from_file or trained is not None  # the sidebar names the network shown, not the settings'
    shown = loaded[1] if from_file else trained and trained["params"]
    cell, D, H, L = controls.network(PAGE, note=note, shown=shown)
    preset, seed, scale = controls.weights(PAGE, cell=cell, describe=True, shown=off)
    given = "The trained model's own input." if trained is not None and not from_file else ""
    T, kind, custom = controls.input_signal(PAGE, note=CUSTOM_NOTE, given=given)
    st.header("Drawing")
    level, flow = controls.widget(PAGE, "level"), controls.widget(PAGE, "flow", horizontal=True)
    values, grads, shared = (controls.widget(PAGE, name) for name in ("values", "grads", "shared"))
    fit = st.toggle("Fit the drawing to the page", key=f"{PAGE}:fit")
    st.caption("Off: labels stay projector-sized and a wide drawing scrolls. On: the whole drawing, smaller.")

alerts = st.container()  # errors and notices about the weights and the input, above the graph
graph_area = st.container()  # filled below, once the weights and the input are known

# Weights: seeded (or a preset) unless a file or a trained model sets them, then the matrix editor.
try:
    params = None if off else compute.network_params(cell, D, H, L, seed, scale, preset)
    st.session_state[f"{PAGE}:good_params"] = params or st.session_state.get(f"{PAGE}:good_params")
except ValueError as err:
    params = st.session_state.get(f"{PAGE}:good_params") or compute.network_params(cell, D, H, L, seed, scale)
    alerts.error(f"These weights cannot be made: {literal(err)}. Showing the last weights that worked.")

upload_box()
if refused:
    alerts.error(refused)
if loaded is not None:
    name, params = loaded
    alerts.info(controls.loaded_note(name, params))
elif trained is not None:
    params = trained["params"]
    alerts.info(
        f"Showing the model trained on the Train page ({trained['label']}) on its first validation sequence. "
        "A link cannot carry trained weights, so the address bar holds no settings while it is shown."
    )
    alerts.button("Back to random weights", on_click=forget_trained, icon=":material/undo:")

if params.hidden_size <= MAX_EDIT and params.input_size <= MAX_EDIT:
    editor = st.expander("Edit the weights of layer 1", key=EDITOR, on_change="rerun")  # built only while open
    with editor:
        if editor.open:
            st.caption(
                "Rows are the gate units (PyTorch order), columns the inputs x or the previous state h. "
                "Edits are kept until the network or its seed changes; they are not in the link."
            )
        source = loaded[0] if loaded else "trained" if trained else "seeded"
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
if trained is not None and loaded is None:
    x = trained["x"][:T]  # the task's own input: the first validation sequence

hl = step_through(T, graph_area)  # the highlighted step (0: none), its buttons and Play

dot_source, overflow = unfolded_dot(params, x, level, values, grads, shared, hl, flow)
if overflow:
    alerts.warning(overflow)  # uploaded or edited weights can make the states grow past float64
with graph_area:
    # fit: the whole drawing; otherwise readable type, scrolled so that the highlighted step is in view
    view = {"min_scale": FIT_SCALE, "whole": True} if fit else {"focus": hl or None}
    if flow == "down":
        view["down"] = "left"  # dot draws the higher layers on the left
    sel = graph_view.selected_node(PAGE, dot_source, key=f"{PAGE}:graph", linked=linked, **view)
    if sel:
        trace, gradients = inspected(params, x, grads)
        graph_view.inspector(PAGE, dot_source, trace, sel, grads=gradients)
    st.caption(notes(level, shared, grads, T, fit, flow))

export_files = st.expander("Export", key=f"{PAGE}:export", on_change="rerun")  # built only while open
with export_files:
    if export_files.open:
        export(dot_source, params, x, grads)

how_to_read = st.expander("How to read this graph", key=f"{PAGE}:how-to-read", on_change="rerun")
with how_to_read:
    if how_to_read.open:
        text.show("unfolded")

state.write_url(() if off else URL_NAMES)  # a link cannot carry a file's or a trained model's weights
