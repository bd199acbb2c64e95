"""Architectures: one recurrent cell wired four ways, side by side, and one wiring explored on a
toy application (a sentence -> its sentiment, a vector -> a wave, tags, a reversed or translated
sentence) with its numbers, a Train button, and the outputs in words."""

import graphviz
import streamlit as st

from rnnviz.drawing import archfigures, wirings
from rnnviz.learning import architectures as A
from rnnviz.learning import examples as E
from ui import arch, controls, presentation, state
from ui.arch import (
    GO,
    PAGE,
    SIDE_BY_SIDE,
    TEST_SIZE,
    TRAIN_SIZE,
    TRAINED,
    chosen_input,
    data,
    example_changed,
    fresh_model,
    item_changed,
    item_labels,
    open_link,
    request_training,
    schematic_dots,
    settle,
    train,
    training_scores,
    wiring_changed,
    with_file,
)
from ui.markup import literal

URL_NAMES = ("wiring", "example", "cell", "hidden", "bidir", "feed", "length", "item", "text", "seed", "tsteps")
URL_NAMES += ("flow", "values", "grads", "sel")
BIDIR_NOTE = {
    True: "A second row of cells reads the sequence backwards; the output layer reads both (torch's "
    "`bidirectional=True`).",
    False: "Bidirectional only for many to one and many to many: here each output is made before the "
    "rest of the sequence exists, so nothing can read it backwards.",
}

from_link = open_link()
s = state.settings()
st.title("Architectures: one cell, four wirings")
st.markdown(
    "One recurrent cell, wired four ways to its inputs and outputs, fits four kinds of task. Inputs at the "
    "bottom, states in the middle (the same weights at every step), outputs on top; time runs left to right."
)
st.subheader("The four wirings side by side")
dots = schematic_dots()
panels = [(title, graphviz.Source(dot), caption) for (*_, title, caption), dot in zip(SIDE_BY_SIDE, dots, strict=True)]
arch.grid(panels)
st.caption(
    "Every step of a row uses the same weights, one colour each: red W_ih on the inputs, blue W_hh from "
    "one state to the next, green W_hy to the outputs; the decoder (purple states) has its own W_ih "
    "(orange) and W_hh (purple). The encoder's last state starts the decoder: the context. Dashed: each "
    "output fed back as the decoder's next input."
)

st.header("Explore one wiring")
settle(s)

with st.sidebar:
    st.header("Wiring and application")
    wiring = controls.widget(PAGE, "wiring", on_change=wiring_changed)
    applications = [e for e in E.EXAMPLES if E.EXAMPLE_WIRING[e] == wiring]
    example = controls.widget(PAGE, "example", options=applications, on_change=example_changed)
    st.header("Network")
    from_file = st.session_state.get(f"{PAGE}:upload") is not None  # a loaded file sets the recurrent network
    if from_file:
        st.caption("Set by the loaded weights file.")
    cell = controls.widget(PAGE, "cell", disabled=from_file)
    hidden = controls.widget(PAGE, "hidden", disabled=from_file)
    can_bidir = wiring in A.BIDIRECTIONAL_WIRINGS
    bidir = controls.widget(PAGE, "bidir", disabled=from_file or not can_bidir)
    st.caption(BIDIR_NOTE[can_bidir])
    bidir = bidir and can_bidir
    feed = controls.widget(PAGE, "feed") if wiring == "one_to_many" else s["feed"]
    st.header("Data and training")
    low, default, high = E.LENGTHS[example]
    length_label = "Samples to generate" if example == "wave" else "Longest sequence"
    length = controls.widget(PAGE, "length", label=length_label, min_value=low, max_value=high)
    seed = controls.widget(PAGE, "seed", label="Seed (data and weights)")
    tsteps = controls.widget(PAGE, "tsteps")
    st.header("Drawing")
    flow = controls.widget(PAGE, "flow", horizontal=True)
    values = controls.widget(PAGE, "values")
    grads = controls.widget(PAGE, "grads")

train_set, test_set = data(example, length, seed, TRAIN_SIZE), data(example, length, seed + 1, TEST_SIZE)
info = train_set.info
st.subheader(info.title)
st.markdown(info.description)

# the input: a sequence of the held-out set, or typed
labels, typed = item_labels(example, length, seed)
item = state.widget(
    PAGE,
    "item",
    st.selectbox,
    "Input",
    options=[*range(1, len(labels) + 1), 0],
    format_func=lambda k: "Type your own…" if k == 0 else f"{k}: {labels[k - 1]}",
    on_change=item_changed,
    args=(typed,),
)
x, target = chosen_input(example, info, item, test_set)

# the model: trained for exactly these settings, else fresh from the seed or the loaded file's weights
key = (example, cell, hidden, bidir, feed, length, seed, tsteps)
model = fresh_model(example, cell, hidden, bidir, feed, seed)
alerts = st.container()
model, key = with_file(model, key, alerts, example, feed, seed)
buttons = st.columns([2, 5], vertical_alignment="center")
buttons[0].button("Train", type="primary", icon=":material/model_training:", width="stretch", on_click=request_training)
status = buttons[1].empty()
if st.session_state.pop(GO, False):
    try:
        train(key, model, train_set, test_set, tsteps, seed, status)
    except ValueError as err:
        st.error(f"Training cannot run: {literal(err)}.")
result = st.session_state.get(TRAINED, {}).get(key)
if result is None:
    status.info("Untrained: random weights from the seed, so the outputs are guesses. Press **Train**.")
else:
    model = result["model"]
    status.success(f"Trained for {len(result['history']['loss'])} steps on {TRAIN_SIZE} sequences.")

try:
    wtrace = archfigures.run_one(model, info, x, target)
    gradients = A.backprop(model, wtrace, target) if grads and target is not None else None
    g = wirings.wiring_graph(
        wiring,
        trace=wtrace,
        grads=gradients,
        values=values,
        input_names=info.input_vocab,
        output_names=info.output_vocab,
        rankdir="LR" if flow == "down" else "BT",  # time downwards: inputs on the left, outputs on the right
    )
except ValueError as err:
    st.error(f"This input cannot be run: {literal(err)}.")
    st.stop()

said = E.prediction_text(info, wtrace.y)
line = f"**Input:** {literal(E.input_text(info, wtrace.x))}  \n**Output:** {literal(said)}"
if target is not None and example != "wave":
    line += f"  \n**Target:** {literal(E.target_text(info, target))} ({archfigures.agreement(info, wtrace, target)})"
st.markdown(line)
arch.drawing(g.source, flow, grads, target is not None, linked=from_link)

st.subheader("The outputs")
if example == "wave":
    presentation.chart(archfigures.wave_figure(wtrace, target), key=f"{PAGE}:wave")
elif wiring == "many_to_one":
    st.dataframe(archfigures.probability_rows(info, wtrace), hide_index=True, width="content")
else:
    st.dataframe(archfigures.output_rows(info, wtrace, target), hide_index=True, width="stretch")

if result is not None:
    training_scores(result, info, wiring)
    st.markdown("**The trained recurrent weights**")
    controls.weights_downloads(model.encoder, f"{example}-{model.cell}")
    st.caption("The recurrent stack with PyTorch's names; the output layer and a decoder are not in these files.")

state.write_url(URL_NAMES)
