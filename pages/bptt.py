"""Backprop through time: how ||dL/dh_t|| shrinks or grows going back in time, what the spectral
radius of W_hh, the cell kind, clipping and truncation do to it, and a finite-difference check."""

import streamlit as st

import rnnviz
from rnnviz.engine import bptt
from rnnviz.learning import optim
from ui import charts, compute, controls, graph_view, presentation, state, text

PAGE = "bptt"
URL_NAMES = ("cell", "D", "H", "L", "T", "seed", "scale", "signal", "custom", "loss", "radius", "clip", "trunc")
URL_NAMES += ("bview", "sel")
VIEWS = {
    "norms": "||dL/dh_t|| at every step",
    "graph": "On the unfolded graph",
    "cells": "RNN vs LSTM vs GRU",
    "jacobian": "||∂h_T/∂h_t||",
}
LOSS_LATEX = {"last": r"L = \sum_j h_T[j]", "every": r"L = \sum_{t=1}^{T} \sum_j h_t[j]"}


@st.fragment
def finite_difference_section(args: dict, loss: str, trunc: int) -> None:
    """Only this part reruns when another weight entry is chosen."""
    params = compute.run(**args).params
    weights = rnnviz.to_state_dict(params)
    fd_key, fd_row, fd_col = st.columns(3)
    key = fd_key.selectbox("Weight", list(weights), key=f"{PAGE}:fd-key:{args['cell']}:{args['L']}")
    shape = weights[key].shape
    row = fd_row.number_input("Row (0-based, as in PyTorch)", 0, shape[0] - 1, 0, key=f"{PAGE}:fd-row:{key}:{shape}")
    index = (row,)
    if len(shape) == 2:
        col = fd_col.number_input("Column (0-based)", 0, shape[1] - 1, 0, key=f"{PAGE}:fd-col:{key}:{shape}")
        index = (row, col)
    st.caption(f"{key}{list(index)}: {bptt.entry_label(params, key, index)}")
    check = compute.gradient_check(args, key, index, loss)
    m1, m2, m3 = st.columns(3)
    m1.metric("BPTT dL/dw", f"{check.analytic:.6g}")
    m2.metric("(L(w+ε) − L(w−ε)) / 2ε", f"{check.numeric:.6g}")
    m3.metric("Relative error", f"{check.relative_error:.1e}" if check.resolvable else "n/a")
    if check.analytic == 0 and check.numeric == 0:
        st.info("Both are exactly 0: this weight does not reach the loss here (a ReLU unit that never fires, say).")
    elif not check.resolvable:
        st.info(  # what the page is about, not an error: no warning colour
            f"**This gradient has vanished** on its way back: it is below what a finite difference can resolve "
            f"(about {check.noise:.0e}), so there is nothing to compare. To check one, pick a weight nearer the "
            "loss, a shorter sequence or a larger ρ.",
            icon=":material/trending_down:",
        )
    st.caption(
        "ε = 1e-6. A relative error around 1e-7 or smaller means BPTT is right; float64 rounding sets "
        "the floor. The finite difference knows nothing about truncation, so it checks full BPTT."
    )
    if trunc:
        cut = bptt.entry_gradient(compute.gradients(args, loss, trunc).params, key, index)  # what truncation uses
        st.caption(f"Truncated BPTT (k = {trunc}) gives {cut:.6g} here: an approximation, by design.")


linked = state.load_url(PAGE)
presentation.apply(PAGE)

st.title("Backprop through time")
st.caption(
    "The gradient of a loss at the end of the sequence reaches step t only by going back through "
    "every step in between: one Jacobian ∂h_(k)/∂h_(k−1) per step, multiplied together."
)

alerts = st.container()
loaded = controls.weights_upload(PAGE, alerts, where="the Backprop through time page")
if loaded is not None:
    alerts.info(controls.loaded_note(*loaded) + " Its W_hh is used as it is: ρ does not rescale it.")
with st.sidebar:
    note = "Set by the loaded weights file." if loaded is not None else ""
    cell, D, H, L = controls.network(PAGE, disabled=loaded is not None, note=note)
    _, seed, scale = controls.weights(PAGE, disabled=loaded is not None)
    T, kind, custom = controls.input_signal(PAGE)

left, right = st.columns(2)
with left:
    loss = controls.widget(PAGE, "loss", horizontal=True)
    st.latex(LOSS_LATEX[loss])
    st.caption("The sum of the top layer's hidden units, so dL/dh_t = (1, ..., 1) where the loss looks.")
with right:
    radius = controls.widget(PAGE, "radius", disabled=loaded is not None)
    st.caption(
        "W_hh is rescaled so its largest |eigenvalue| is ρ (for LSTM and GRU, each gate's block). "
        "Below 1 the gradient shrinks step by step; above 1 it can grow, until tanh saturates "
        "(tanh′ ≈ 0) and it vanishes after all."
    )

args = dict(cell=cell, D=D, H=H, L=L, T=T, seed=seed, scale=scale, signal=kind, custom=custom, radius=radius)
if loaded is not None:
    args = compute.file_args(args, loaded[1]) | {"radius": None}  # the file's own W_hh
args = compute.usable(PAGE, args)
L = args["L"]  # a file brings its own layers

with st.sidebar:
    st.header("Training tricks")
    trunc = controls.widget(PAGE, "trunc")
    clip = controls.widget(PAGE, "clip")

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
        presentation.chart(charts.norms_plot(args, loss, trunc), key=f"{PAGE}:norms")
with views["graph"]:
    if views["graph"].open:
        st.caption("Edges are coloured and thickened by the gradient they carry back; nodes show ||dL/dv||.")
        dot = charts.gradient_dot(args, loss, trunc)
        sel = graph_view.selected_node(PAGE, dot, key=f"{PAGE}:graph", linked=linked)
        if sel:
            graph_view.inspector(PAGE, dot, compute.run(**args).trace, sel, grads=compute.gradients(args, loss, trunc))
with views["cells"]:
    if views["cells"].open:
        st.caption(
            f"Same sizes, seed, input, loss and ρ; layer {L} (the top). The LSTM's cell state c carries the "
            "gradient through f ⊙ c without a squashing nonlinearity, so it often fades more slowly."
        )
        presentation.chart(charts.cells_plot(args, loss, trunc), key=f"{PAGE}:cells")
with views["jacobian"]:
    if views["jacobian"].open:
        st.caption(
            "How much a nudge to h_t still moves h_T, whatever the loss. It is a product of T − t step "
            "Jacobians: if they are all smaller than 1 it vanishes, larger than 1 it explodes."
        )
        presentation.chart(charts.jacobian_plot(args), key=f"{PAGE}:jacobian")

st.subheader("Gradient clipping")
grads = compute.gradients(args, loss, trunc).params
c1, c2, c3 = st.columns(3)
c1.metric("Global norm of dL/dW", f"{optim.global_norm(grads):.4g}", help="Over all weights at once.")
if clip:
    clipping = optim.clipping(grads, clip)
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
        text.show("bptt")

state.write_url(URL_NAMES)
