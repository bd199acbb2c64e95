"""Backprop through time: how ||dL/dh_t|| shrinks or grows going back in time, what the spectral
radius of W_hh, the cell kind, clipping and truncation do to it, and a finite-difference check."""

import graphviz
import streamlit as st

import rnnviz
from rnnviz import drawing as rgraph
from rnnviz.drawing import figures
from rnnviz.engine import bptt, presets, signals
from rnnviz.learning import optim
from ui import show, state
from ui.markup import literal

PAGE = "bptt"
URL_NAMES = ("cell", "D", "H", "L", "T", "seed", "scale", "signal", "custom", "loss", "radius", "clip", "trunc")
URL_NAMES += ("bview",)
CELL_LABELS = {"rnn_tanh": "RNN (tanh)", "rnn_relu": "RNN (ReLU)", "lstm": "LSTM", "gru": "GRU"}
SIGNAL_LABELS = {
    "impulse": "impulse (1, 0, 0, ...)",
    "step": "step (1, 1, 1, ...)",
    "sine": "sine (period 8)",
    "random": "seeded random",
    "custom": "custom list",
}
LOSS_LABELS = {"last": "on the last step", "every": "on every step"}
VIEWS = {
    "norms": "||dL/dh_t|| at every step",
    "graph": "On the unfolded graph",
    "cells": "RNN vs LSTM vs GRU",
    "jacobian": "||∂h_T/∂h_t||",
}
LOSS_LATEX = {"last": r"L = \sum_j h_T[j]", "every": r"L = \sum_{t=1}^{T} \sum_j h_t[j]"}
# Figures are cached as shared objects (st.cache_resource): a cache_data hit unpickles and
# revalidates a copy, 5-40 ms a figure. The page never changes a figure after building it.
FIGURE_TTL = 3600  # s


@st.cache_data(max_entries=48, show_spinner=False)
def run(choice: str, D: int, H: int, L: int, T: int, seed: int, scale: float, signal: str, custom: str, radius: float):
    """Weights with W_hh rescaled to the spectral radius, the input, and the forward trace."""
    params = presets.rescale_recurrent(presets.network_params(choice, D, H, L, seed=seed, scale=scale), radius)
    x = signals.make_signal(signal, T, D, seed=seed, custom=custom)  # (T, D)
    return params, x, rnnviz.forward(params, x)


@st.cache_data(max_entries=48, show_spinner=False)
def gradients(args: dict, loss: str, trunc: int) -> rnnviz.Grads:
    params, _, trace = run(**args)
    return bptt.loss_backward(params, trace, loss, truncate=trunc or None)


@st.cache_resource(max_entries=32, ttl=FIGURE_TTL, show_spinner=False)
def norms_plot(args: dict, loss: str, trunc: int):
    lines = {f"layer {k + 1}": n for k, n in enumerate(gradients(args, loss, trunc).dh_norm)}
    if trunc:
        lines[f"layer {args['L']}, full BPTT"] = gradients(args, loss, 0).dh_norm[-1]
    return figures.grad_norm_figure(lines, title=f"{CELL_LABELS[args['choice']]}: ||dL/dh_t||")


@st.cache_resource(max_entries=32, ttl=FIGURE_TTL, show_spinner=False)
def cells_plot(args: dict, loss: str, trunc: int):
    rnn = args["choice"] if args["choice"].startswith("rnn") else "rnn_tanh"
    compared = {"RNN": rnn, "LSTM": "lstm", "GRU": "gru"}
    lines = {label: gradients({**args, "choice": c}, loss, trunc).dh_norm[-1] for label, c in compared.items()}
    return figures.grad_norm_figure(lines, title="||dL/dh_t||, three cells")


@st.cache_resource(max_entries=32, ttl=FIGURE_TTL, show_spinner=False)
def jacobian_plot(args: dict):
    # ||dh_T/dh_t|| depends on the trace only, not on the loss or truncation
    lines = {f"layer {k + 1}": n for k, n in enumerate(gradients(args, "last", 0).jacobian_norms)}
    return figures.grad_norm_figure(lines, title="||∂h_T/∂h_t||", y_title="spectral norm (log scale)")


@st.cache_data(max_entries=32, show_spinner=False)
def gradient_dot(args: dict, loss: str, trunc: int) -> str:
    _, _, trace = run(**args)
    return rgraph.unfolded_graph(trace, grads=gradients(args, loss, trunc), values=False).source


@st.cache_data(max_entries=64, show_spinner=False)
def finite_difference(args: dict, key: str, index: tuple[int, ...], loss: str) -> bptt.GradientCheck:
    params, x, _ = run(**args)
    return bptt.gradient_check(params, x, key, index, loss)


@st.fragment
def finite_difference_section(args: dict, loss: str, trunc: int) -> None:
    """Only this part reruns when another weight entry is chosen."""
    params, x, _ = run(**args)
    weights = rnnviz.to_state_dict(params)
    fd_key, fd_row, fd_col = st.columns(3)
    key = fd_key.selectbox("Weight", list(weights), key=f"{PAGE}:fd-key:{args['choice']}:{args['L']}")
    shape = weights[key].shape
    row = fd_row.number_input("Row (0-based, as in PyTorch)", 0, shape[0] - 1, 0, key=f"{PAGE}:fd-row:{key}:{shape}")
    index = (row,)
    if len(shape) == 2:
        col = fd_col.number_input("Column (0-based)", 0, shape[1] - 1, 0, key=f"{PAGE}:fd-col:{key}:{shape}")
        index = (row, col)
    st.caption(f"{key}{list(index)}: {bptt.entry_label(params, key, index)}")
    check = finite_difference(args, key, index, loss)
    m1, m2, m3 = st.columns(3)
    m1.metric("BPTT dL/dw", f"{check.analytic:.6g}")
    m2.metric("(L(w+ε) − L(w−ε)) / 2ε", f"{check.numeric:.6g}")
    m3.metric("Relative error", f"{check.relative_error:.1e}" if check.resolvable else "n/a")
    if check.analytic == 0 and check.numeric == 0:
        st.info("Both are exactly 0: this weight does not reach the loss here (a ReLU unit that never fires, say).")
    elif not check.resolvable:
        st.warning(
            f"This gradient is below what a finite difference can resolve (about {check.noise:.0e}): "
            "it has vanished on its way back. Pick a weight nearer the loss, a shorter sequence or a larger ρ."
        )
    st.caption(
        "ε = 1e-6. A relative error around 1e-7 or smaller means BPTT is right; float64 rounding sets "
        "the floor. The finite difference knows nothing about truncation, so it checks full BPTT."
    )
    if trunc:
        cut = bptt.entry_gradient(gradients(args, loss, trunc).params, key, index)  # what truncated training uses
        st.caption(f"Truncated BPTT (k = {trunc}) gives {cut:.6g} here: an approximation, by design.")


state.load_url(PAGE)
s = state.settings()

st.title("Backprop through time")
st.caption(
    "The gradient of a loss at the end of the sequence reaches step t only by going back through "
    "every step in between: one Jacobian ∂h_(k)/∂h_(k−1) per step, multiplied together."
)

with st.sidebar:
    st.header("Network")
    choice = state.widget(PAGE, "cell", st.selectbox, "Cell", options=list(CELL_LABELS), format_func=CELL_LABELS.get)
    D = state.widget(PAGE, "D", st.number_input, "Input size D", min_value=1, max_value=8, step=1)
    H = state.widget(PAGE, "H", st.slider, "Hidden size H", min_value=1, max_value=32)
    L = state.widget(PAGE, "L", st.number_input, "Layers L", min_value=1, max_value=3, step=1)
    st.header("Weights")
    seed = state.widget(PAGE, "seed", st.number_input, "Seed", min_value=0, max_value=9999, step=1)
    scale = state.widget(PAGE, "scale", st.slider, "Weight scale", min_value=0.0, max_value=5.0, step=0.1)
    st.header("Input")
    T = state.widget(PAGE, "T", st.slider, "Sequence length", min_value=1, max_value=100)
    kind = state.widget(
        PAGE, "signal", st.selectbox, "Input signal x_t", options=list(SIGNAL_LABELS), format_func=SIGNAL_LABELS.get
    )
    custom = s["custom"]
    if kind == "custom":
        custom = state.widget(PAGE, "custom", st.text_input, "Values of x_1, x_2, ... (comma separated)")
        st.caption("Shorter lists are padded with zeros; longer ones are cut at the sequence length.")

left, right = st.columns(2)
with left:
    loss = state.widget(
        PAGE, "loss", st.radio, "Loss", options=list(LOSS_LABELS), format_func=LOSS_LABELS.get, horizontal=True
    )
    st.latex(LOSS_LATEX[loss])
    st.caption("The sum of the top layer's hidden units, so dL/dh_t = (1, ..., 1) where the loss looks.")
with right:
    radius = state.widget(
        PAGE, "radius", st.slider, "Spectral radius ρ of W_hh", min_value=0.0, max_value=3.0, step=0.05
    )
    st.caption(
        "W_hh is rescaled so its largest |eigenvalue| is ρ (for LSTM and GRU, each gate's block). "
        "Below 1 the gradient shrinks step by step; above 1 it can grow, until tanh saturates "
        "(tanh′ ≈ 0) and it vanishes after all."
    )

args = dict(choice=choice, D=D, H=H, L=L, T=T, seed=seed, scale=scale, signal=kind, custom=custom, radius=radius)
try:
    run(**args)
    st.session_state[f"{PAGE}:good"] = args
except ValueError as err:
    st.error(f"The input cannot be used: {literal(err)}. Showing the last input that worked.")
    args = st.session_state.get(f"{PAGE}:good", {**args, "signal": "impulse"})

with st.sidebar:
    st.header("Training tricks")
    trunc = state.widget(
        PAGE, "trunc", st.slider, "Truncated BPTT: chunk length k (0 = off)", min_value=0, max_value=100
    )
    clip = state.widget(
        PAGE,
        "clip",
        st.slider,
        "Clip the gradient's global norm at (0 = off)",
        min_value=0.0,
        max_value=100.0,
        step=0.5,
    )

grads = gradients(args, loss, trunc)

# One view at a time: only the open tab's gradients, figure or drawing are computed and drawn.
views = state.tabs(PAGE, "bview", VIEWS)
with views["norms"]:
    if views["norms"].open:
        st.caption(
            "How strongly the loss depends on each step's hidden state. A straight falling line on this log "
            "scale is a gradient that vanishes exponentially going back in time; a rising one explodes."
            + (
                f" Truncation cuts the gradient every {trunc} steps going back, so with the loss on the last step "
                "the earlier chunks get exactly 0 (the triangles); with the loss on every step each chunk gets "
                "its own."
                if trunc
                else ""
            )
        )
        st.plotly_chart(norms_plot(args, loss, trunc), width="stretch", key=f"{PAGE}:norms")
with views["graph"]:
    if views["graph"].open:
        st.caption("Edges are coloured and thickened by the gradient they carry back; nodes show ||dL/dv||.")
        st.session_state["bptt_dot"] = show.graph(graphviz.Source(gradient_dot(args, loss, trunc)), min_scale=0.8)
with views["cells"]:
    if views["cells"].open:
        st.caption(
            f"Same sizes, seed, input, loss and ρ; layer {L} (the top). The LSTM's cell state c carries the "
            "gradient through f ⊙ c without a squashing nonlinearity, so it often fades more slowly."
        )
        st.plotly_chart(cells_plot(args, loss, trunc), width="stretch", key=f"{PAGE}:cells")
with views["jacobian"]:
    if views["jacobian"].open:
        st.caption(
            "How much a nudge to h_t still moves h_T, whatever the loss. It is a product of T − t step "
            "Jacobians: if they are all smaller than 1 it vanishes, larger than 1 it explodes."
        )
        st.plotly_chart(jacobian_plot(args), width="stretch", key=f"{PAGE}:jacobian")

st.subheader("Gradient clipping")
before = optim.global_norm(grads.params)
c1, c2, c3 = st.columns(3)
c1.metric("Global norm of dL/dW (all weights)", f"{before:.4g}")
if clip:
    clipping = optim.clipping(grads.params, clip)
    c2.metric(f"After clipping at {clip:g}", f"{clipping.after:.4g}")
    c3.metric("Scale factor", f"{clipping.scale:.4g}")
else:
    c2.metric("After clipping", "off")
st.caption(
    "Clipping rescales the whole gradient to a length of at most the threshold (as torch's "
    "clip_grad_norm_): an exploding step stays finite, the direction is kept. It does not bring back "
    "a vanished gradient."
)

st.subheader("Check one weight by finite differences")
finite_difference_section(args, loss, trunc)

why = st.expander("Why gradients vanish or explode", key=f"{PAGE}:why", on_change="rerun")  # built only while open
with why:
    if why.open:
        st.markdown("Going back one step multiplies the gradient by the transpose of that step's Jacobian:")
        st.latex(
            r"\frac{\partial L}{\partial h_t} = \Big(\frac{\partial h_{t+1}}{\partial h_t}\Big)^{\!\top}"
            r"\frac{\partial L}{\partial h_{t+1}} + \frac{\partial L_t}{\partial h_t}, \qquad"
            r"\frac{\partial h_{t+1}}{\partial h_t} = \operatorname{diag}\big(\tanh'(a_{t+1})\big)\, W_{hh}"
            r"\quad \text{(tanh RNN)}"
        )
        st.markdown(
            "(L_t is the loss's own term at step t: 1 per unit where the loss looks.) Since |tanh′| ≤ 1, "
            "a spectral radius ρ of W_hh below 1 makes the product shrink roughly like "
            "ρ^(T−t): the early steps get no learning signal (vanishing). Above 1 it can grow like ρ^(T−t) "
            "until tanh saturates (exploding), which is what clipping guards against. The LSTM adds a second "
            "path, c_t = f_t ⊙ c_(t−1) + i_t ⊙ g_t, whose Jacobian is just diag(f_t): with the forget gate "
            "near 1 the gradient passes almost unchanged. Truncated BPTT with chunk length k stops the "
            "gradient after k steps, trading long-range credit for speed and memory."
        )

state.write_url(URL_NAMES)
