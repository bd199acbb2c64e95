"""Gates and states: heatmaps of every gate and state over time, chosen units as lines, lesson
presets that show one behaviour each, and the same input through RNN, LSTM and GRU."""

import streamlit as st

import rnnviz
from rnnviz.drawing import figures
from rnnviz.engine import presets, signals
from ui import state
from ui.markup import literal

PAGE = "gates"
URL_NAMES = ("cell", "D", "H", "L", "T", "seed", "scale", "preset", "signal", "custom", "view")
CELL_LABELS = {"rnn_tanh": "RNN (tanh)", "rnn_relu": "RNN (ReLU)", "lstm": "LSTM", "gru": "GRU"}
SIGNAL_LABELS = {
    "impulse": "impulse (1, 0, 0, ...)",
    "step": "step (1, 1, 1, ...)",
    "sine": "sine (period 8)",
    "random": "seeded random",
    "custom": "custom list",
}
PRESET_LABELS = {
    "random": "none (seeded random weights)",
    "latch": "memory latch (LSTM)",
    "reset": "reset every step (LSTM)",
    "shut": "input gate held shut (LSTM)",
    "leaky": "leaky integrator (GRU)",
}
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
COMPARED = {"RNN": "rnn_tanh", "LSTM": "lstm", "GRU": "gru"}
VIEWS = {"heatmaps": "Every gate and state", "units": "Chosen units over time", "compare": "RNN vs LSTM vs GRU"}
TRAINED = "trained_model"  # set by the Train page: {"params", "x", "label"}
# Figures are cached as shared objects (st.cache_resource): a cache_data hit unpickles and
# revalidates a copy, 5-40 ms a figure. The page never changes a figure after building it.
FIGURE_TTL = 3600  # s


@st.cache_data(max_entries=48, show_spinner=False)
def run(
    choice: str,
    D: int,
    H: int,
    L: int,
    T: int,
    seed: int,
    scale: float,
    preset: str,
    signal: str,
    custom: str,
    trained=None,
):
    if trained is not None:  # (params, x): a model from the Train page on its own data
        return rnnviz.forward(trained[0], trained[1][:T])
    params = presets.network_params(choice, D, H, L, seed=seed, scale=scale, preset=preset)
    x = signals.make_signal(signal, T, D, seed=seed, custom=custom)  # (T, D)
    return rnnviz.forward(params, x)


@st.cache_resource(max_entries=32, ttl=FIGURE_TTL, show_spinner=False)
def heatmaps(args: dict, layer: int):
    return figures.gates_figure(run(**args), layer)


@st.cache_resource(max_entries=32, ttl=FIGURE_TTL, show_spinner=False)
def unit_lines(args: dict, layer: int, units: tuple[int, ...]):
    return figures.units_figure(run(**args), layer, units)


@st.cache_resource(max_entries=32, ttl=FIGURE_TTL, show_spinner=False)
def three_cells(args: dict, layer: int, unit: int):
    traces = {label: run(**{**args, "preset": "random", "choice": c, "trained": None}) for label, c in COMPARED.items()}
    return figures.compare_figure(traces, "h", unit, layer=layer)


@st.fragment
def units_section(args: dict, layer: int) -> None:
    """Only this part reruns when the units change."""
    H = args["H"]
    units = st.multiselect(
        "Units", range(H), default=[0], format_func=lambda u: f"unit {u + 1}", key=f"{PAGE}:units:{H}", max_selections=8
    )
    if units:
        st.plotly_chart(unit_lines(args, layer, tuple(units)), width="stretch", key=f"{PAGE}:units")
    else:
        st.info("Choose at least one unit to plot.")


@st.fragment
def compare_section(args: dict, layer: int) -> None:
    H = args["H"]
    unit = st.selectbox("Unit", range(H), format_func=lambda u: f"unit {u + 1}", key=f"{PAGE}:compare-unit:{H}")
    st.plotly_chart(three_cells(args, layer, unit), width="stretch", key=f"{PAGE}:compare")


def forget_trained() -> None:
    st.session_state.pop(TRAINED, None)


def preset_changed() -> None:
    """Choosing a preset switches to the cell it is made for, and to the heatmaps its lesson is about."""
    preset = st.session_state[f"{PAGE}:preset"]
    if preset == "random":
        return
    state.set_value(PAGE, "view", "heatmaps")
    if presets.cell_kind(state.settings()["cell"])[0] != presets.PRESET_CELL[preset]:
        state.set_value(PAGE, "cell", presets.PRESET_CELL[preset])


def cell_changed() -> None:
    """A cell the preset does not fit turns the preset off."""
    preset = state.settings()["preset"]
    cell = presets.cell_kind(st.session_state[f"{PAGE}:cell"])[0]
    if preset != "random" and presets.PRESET_CELL[preset] != cell:
        state.set_value(PAGE, "preset", "random")


state.load_url(PAGE)
s = state.settings()
if s["preset"] != "random" and presets.cell_kind(s["cell"])[0] != presets.PRESET_CELL[s["preset"]]:
    # a link with a preset and another cell: the preset wins, as when it is chosen by hand
    st.info(f"The {s['preset']!r} preset needs the {presets.PRESET_CELL[s['preset']].upper()}; switched to it.")
    state.set_value(PAGE, "cell", presets.PRESET_CELL[s["preset"]])

st.title("Gates and states")
st.caption(
    "Every gate is a sigmoid between 0 (closed) and 1 (open) that multiplies something: the LSTM's "
    "forget gate f decides how much of the old cell state c to keep, the input gate i how much new "
    "candidate g to write, the output gate o how much of c to show as h. The GRU's update gate z "
    "mixes old h and the new candidate n."
)

trained = st.session_state.get(TRAINED)
if trained is not None:
    st.info(f"Showing the model trained on the Train page ({trained['label']}) on its first validation sequence.")
    st.button("Back to random weights", on_click=forget_trained, icon=":material/undo:")

off = {"disabled": trained is not None}  # the trained model sets the network, the weights and the input
with st.sidebar:
    st.header("Network")
    if trained is not None:
        st.caption("Set by the model trained on the Train page.")
    cells = list(CELL_LABELS)
    choice = state.widget(
        PAGE, "cell", st.selectbox, "Cell", options=cells, format_func=CELL_LABELS.get, on_change=cell_changed, **off
    )
    D = state.widget(PAGE, "D", st.number_input, "Input size D", min_value=1, max_value=8, step=1, **off)
    H = state.widget(PAGE, "H", st.slider, "Hidden size H", min_value=1, max_value=32, **off)
    L = state.widget(PAGE, "L", st.number_input, "Layers L", min_value=1, max_value=3, step=1, **off)
    st.header("Weights")
    preset = state.widget(
        PAGE,
        "preset",
        st.selectbox,
        "Lesson preset",
        options=list(PRESET_LABELS),
        format_func=PRESET_LABELS.get,
        on_change=preset_changed,
        **off,
    )
    seed = state.widget(PAGE, "seed", st.number_input, "Seed", min_value=0, max_value=9999, step=1, **off)
    scale = state.widget(PAGE, "scale", st.slider, "Weight scale", min_value=0.0, max_value=5.0, step=0.1, **off)
    st.header("Input")
    T = state.widget(PAGE, "T", st.slider, "Sequence length", min_value=1, max_value=100)
    kind = state.widget(
        PAGE,
        "signal",
        st.selectbox,
        "Input signal x_t",
        options=list(SIGNAL_LABELS),
        format_func=SIGNAL_LABELS.get,
        **off,
    )
    custom = s["custom"]
    if kind == "custom":
        custom = state.widget(PAGE, "custom", st.text_input, "Values of x_1, x_2, ... (comma separated)", **off)
        st.caption("Shorter lists are padded with zeros; longer ones are cut at the sequence length.")

args = dict(choice=choice, D=D, H=H, L=L, T=T, seed=seed, scale=scale, preset=preset, signal=kind, custom=custom)
if trained is not None:
    p = trained["params"]
    args |= dict(D=p.input_size, H=p.hidden_size, L=p.num_layers, preset="random", trained=(p, trained["x"]))
try:
    run(**args)
    st.session_state[f"{PAGE}:good"] = args
except ValueError as err:
    st.error(f"The input cannot be used: {literal(err)}. Showing the last input that worked.")
    args = st.session_state.get(f"{PAGE}:good", {**args, "signal": "impulse"})

if preset != "random" and trained is None:
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
        st.plotly_chart(heatmaps(args, layer), width="stretch", key=f"{PAGE}:heatmaps")
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
        st.markdown("**LSTM** (PyTorch's gate order i, f, g, o)")
        st.latex(
            r"""\begin{aligned}
            i_t &= \sigma(W_{ii} x_t + W_{hi} h_{t-1} + b_i) & f_t &= \sigma(W_{if} x_t + W_{hf} h_{t-1} + b_f) \\
            g_t &= \tanh(W_{ig} x_t + W_{hg} h_{t-1} + b_g) & o_t &= \sigma(W_{io} x_t + W_{ho} h_{t-1} + b_o) \\
            c_t &= f_t \odot c_{t-1} + i_t \odot g_t & h_t &= o_t \odot \tanh(c_t)
            \end{aligned}"""
        )
        st.markdown("**GRU** (gate order r, z, n)")
        st.latex(
            r"""\begin{aligned}
            r_t &= \sigma(W_{ir} x_t + W_{hr} h_{t-1} + b_r) & z_t &= \sigma(W_{iz} x_t + W_{hz} h_{t-1} + b_z) \\
            n_t &= \tanh\big(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn})\big) &
            h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}
            \end{aligned}"""
        )
        st.markdown(
            "The presets push one gate's bias far into the sigmoid's flat part (σ(6) ≈ 0.998, "
            "σ(−6) ≈ 0.002) so that gate stays put whatever the input; the other weights stay random."
        )

state.write_url(URL_NAMES)
