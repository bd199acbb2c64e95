"""Gates and states: heatmaps of every gate and state over time, chosen units as lines, lesson
presets that show one behaviour each, and the same input through RNN, LSTM and GRU."""

import streamlit as st

from rnnviz.engine import presets
from ui import charts, compute, controls, presentation, state, text

PAGE = "gates"
URL_NAMES = ("cell", "D", "H", "L", "T", "seed", "scale", "preset", "signal", "custom", "view")
LOOK_FOR = {
    "latch": "Look at the forget gate f: yellow (≈ 1) everywhere, so the cell state c keeps what the "
    "impulse wrote at t = 1 for the whole sequence.",
    "reset": "Look at the forget gate f: dark (≈ 0) everywhere, so c_t is rebuilt at every step and the "
    "impulse leaves almost no trace after it.",
    "shut": "Look at the input gate i: dark (≈ 0) everywhere, so nothing is written into c: c and h stay "
    "near 0 whatever the input.",
    "leaky": "Look at the update gate z: ≈ 0.8 everywhere, so h_t keeps 80 % of h_(t-1) and drifts "
    "smoothly instead of jumping.",
}
VIEWS = {"heatmaps": "Every gate and state", "units": "Chosen units over time", "compare": "RNN vs LSTM vs GRU"}
TRAINED = "trained_model"  # set by the Train page: {"params", "x", "label"}


@st.fragment
def units_section(args: dict, layer: int) -> None:
    """Only this part reruns when the units change."""
    H = args["H"]
    units = st.multiselect(
        "Units", range(H), default=[0], format_func=lambda u: f"unit {u + 1}", key=f"{PAGE}:units:{H}", max_selections=8
    )
    if units:
        presentation.chart(charts.unit_lines(args, layer, tuple(units)), key=f"{PAGE}:units")
    else:
        st.info("Choose at least one unit to plot.")


@st.fragment
def compare_section(args: dict, layer: int) -> None:
    H = args["H"]
    unit = st.selectbox("Unit", range(H), format_func=lambda u: f"unit {u + 1}", key=f"{PAGE}:compare-unit:{H}")
    presentation.chart(charts.three_cells(args, layer, unit), key=f"{PAGE}:compare")


def forget_trained() -> None:
    st.session_state.pop(TRAINED, None)


def preset_changed() -> None:
    """A preset's lesson is in the heatmaps: choosing one opens them."""
    if st.session_state[f"{PAGE}:preset"] != "random":
        state.set_value(PAGE, "view", "heatmaps")


state.load_url(PAGE)
presentation.apply(PAGE)
s = state.settings()

st.title("Gates and states")
st.caption(
    "Every gate is a sigmoid between 0 (closed) and 1 (open) that multiplies something: the LSTM's "
    "forget gate f decides how much of the old cell state c to keep, the input gate i how much new "
    "candidate g to write, the output gate o how much of c to show as h. The GRU's update gate z "
    "mixes old h and the new candidate n."
)
controls.preset_cell(PAGE)  # a preset names its cell

alerts = st.container()
loaded = controls.weights_upload(PAGE, alerts, where="the Gates page")
trained = None if loaded else st.session_state.get(TRAINED)  # a loaded file wins over a trained model
if loaded is not None:
    alerts.info(controls.loaded_note(*loaded))
elif trained is not None:
    st.info(
        f"Showing the model trained on the Train page ({trained['label']}) on its first validation sequence. "
        "A link cannot carry trained weights, so the address bar holds no settings while it is shown."
    )
    st.button("Back to random weights", on_click=forget_trained, icon=":material/undo:")

off = trained is not None or loaded is not None  # a trained model or a file sets the network: the sidebar says so
with st.sidebar:
    note = "Set by the model trained on the Train page." if trained is not None else ""
    note = "Set by the loaded weights file." if loaded is not None else note
    cell, D, H, L = controls.network(PAGE, note=note, shown=loaded[1] if loaded else trained and trained["params"])
    preset, seed, scale = controls.weights(PAGE, cell=cell, on_preset=preset_changed, shown=off)
    T, kind, custom = controls.input_signal(PAGE, given="The trained model's own input." if trained is not None else "")

args = dict(cell=cell, D=D, H=H, L=L, T=T, seed=seed, scale=scale, preset=preset, signal=kind, custom=custom)
if trained is not None:
    p = trained["params"]
    args |= dict(D=p.input_size, H=p.hidden_size, L=p.num_layers, preset="random", trained=(p, trained["x"]))
elif loaded is not None:
    args = compute.file_args(args, loaded[1])
args = compute.usable(PAGE, args)

if preset != "random" and not off:
    st.info(f"**{presets.PRESETS[preset]}.** {LOOK_FOR[preset]}")

layer = 0
L = args["L"]  # a trained model brings its own layers
if L > 1:
    layer = st.radio(
        "Layer", range(L), format_func=lambda k: f"layer {k + 1}", horizontal=True, key=f"{PAGE}:layer:{L}"
    )

# One view at a time: only the open tab's figure is built and drawn (a change of T redraws one plot, not three).
views = state.tabs(PAGE, "view", VIEWS)
with views["heatmaps"]:
    if views["heatmaps"].open:
        st.caption("Each row is a unit, each column a time step; gates share one 0-to-1 colour scale.")
        presentation.chart(charts.heatmaps(args, layer), key=f"{PAGE}:heatmaps")
with views["units"]:
    if views["units"].open:
        units_section(args, layer)
with views["compare"]:
    if views["compare"].open:
        st.caption(
            "Same sizes, seed, scale and input, seeded random weights (no preset). The RNN overwrites h at "
            "every step; the gated cells can hold on to it."
        )
        compare_section(args, layer)

equations = st.expander("What the gates compute", key=f"{PAGE}:equations", on_change="rerun")  # built only while open
with equations:
    if equations.open:
        text.show("gates")

state.write_url(() if off else URL_NAMES)  # a link cannot carry a file's or a trained model's weights
