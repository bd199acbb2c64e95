"""Recurrent neuron: y_t = act(W_x x_t + W_y y_{t-1} + b), folded, unfolded, plotted and tabulated."""

import numpy as np
import streamlit as st

import rnnviz
from rnnviz import drawing as rgraph
from rnnviz.drawing import figures
from rnnviz.engine import neuron, signals
from ui import controls, graph_view, presentation, show, state
from ui.markup import literal

PAGE = "neuron"
URL_NAMES = ("wx", "wy", "b", "act", "T", "y0", "signal", "custom", "seed", "step", "sel", "nview")
VIEWS = {
    "unfolded": "Unfolded over time",
    "io": "Input and output over time",
    "gradient": "How the gradient flows back",
}


def gradient_note(grad: neuron.NeuronGradient, w_y: float) -> str:
    """What the factors W_y φ′(a_t) of this neuron do, in words with its numbers."""
    factors = np.abs(grad.factor[1:])  # the steps a gradient from y_T crosses on its way to y_1
    if factors.size == 0:
        return "With one step there is nothing to go back through."
    above = int(np.sum(factors > 1))
    fate = "grows" if abs(grad.dy_T[0]) > 1 else "shrinks"
    return (
        f"Here |W_y| = {abs(w_y):g}: of the {factors.size} factors, {above} are above 1 in size, the largest is "
        f"{factors.max():.3g} and the smallest {factors.min():.3g}; over {factors.size} steps the gradient {fate} "
        f"to {grad.dy_T[0]:.3g}."
    )


linked = state.load_url(PAGE)
presentation.apply(PAGE)
st.title("The recurrent neuron")
st.latex(r"y_t = \phi\left(W_x\, x_t + W_y\, y_{t-1} + b\right)")
st.caption(
    "One neuron that feeds its own output back: at every step it sees the new input x_t and its "
    "previous output y_{t-1}. The same three numbers W_x, W_y and b are used at every step."
)

with st.sidebar:
    st.header("Neuron")
    w_x, w_y, b, act, y0 = (controls.widget(PAGE, name) for name in ("wx", "wy", "b", "act", "y0"))
    T, kind, custom = controls.input_signal(PAGE)
    seed = state.settings()["seed"]
    if kind == "random":
        seed = controls.widget(PAGE, "seed", label="Random seed")

try:
    x = signals.make_signal(kind, T, 1, seed=seed, custom=custom)
    st.session_state["neuron_last_x"] = x
except ValueError as err:
    st.error(f"The custom signal cannot be used: {literal(err)}. Showing the last signal that worked.")
    x = signals.fit_steps(st.session_state.get("neuron_last_x", np.zeros((0, 1))), T)

params = neuron.neuron_params(w_x, w_y, b, act)
trace = rnnviz.forward(params, x, h0=[[y0]])

left, right = st.columns([2, 3])
with left:
    st.subheader("Folded")
    folded = rgraph.folded_graph(params, neuron=True, activation_label=act)
    show.graph(folded, key=f"{PAGE}:folded", max_height=420)
    st.caption("The loop is the feedback: the output y goes back in, weighted by W_y, at the next step.")
with right:
    st.subheader("One step in numbers")
    if state.settings()["step"] > T or st.session_state.get(f"{PAGE}:step", 1) > T:
        state.set_value(PAGE, "step", T)  # the sequence got shorter than the chosen step
    step = min(controls.widget(PAGE, "step", max_value=max(T, 2), disabled=T == 1), T)
    st.latex(neuron.neuron_latex(trace, step))
    st.caption(f"What the folded neuron computes at step {step}. *Unfolded over time*, below, marks this step.")

views = state.tabs(PAGE, "nview", VIEWS)  # only the open tab is built (and drawn in the browser)
with views["unfolded"]:
    if views["unfolded"].open:
        st.caption(
            f"The same neuron drawn once for each of the {T} step{'s' if T > 1 else ''}; every copy uses the same "
            "W_x, W_y and b. Numbers are live."
        )
        unfolded = rgraph.unfolded_graph(trace, neuron=True, values=True, highlight_step=step)
        sel = graph_view.selected_node(PAGE, unfolded.source, key=f"{PAGE}:unfolded", linked=linked, focus=step)
        if sel:
            graph_view.inspector(PAGE, unfolded.source, trace, sel, neuron=True)
with views["io"]:
    if views["io"].open:
        st.caption("The input x_t and the neuron's output y_t at every step (y_0 is the initial output).")
        presentation.chart(figures.signal_figure(x[:, 0], trace.output[:, 0], y0=y0, title=""), key=f"{PAGE}:io")
with views["gradient"]:
    if views["gradient"].open:
        grad = neuron.neuron_gradient(trace)
        st.caption(
            f"Take the loss L = y_{T}. Going back one step multiplies the gradient by ∂y_t/∂y_(t−1) = W_y φ′(a_t), "
            "so it reaches y_1 as a product of these factors. φ′ is at most 1 (tanh, ReLU, identity) or 1/4 (sigmoid): "
            "with |W_y| < 1 every factor is below 1 and the gradient vanishes; with |W_y| > 1 factors can be above 1 "
            "and it explodes, until φ saturates and φ′ ≈ 0 brings it down again."
        )
        st.latex(neuron.chain_latex(grad, w_y, 1))
        st.markdown(gradient_note(grad, w_y))
        d_wx, d_wy, d_b, d_y0 = st.columns(4)
        d_wx.metric("∂y_T/∂W_x", f"{grad.d_wx:.4g}")
        d_wy.metric("∂y_T/∂W_y", f"{grad.d_wy:.4g}")
        d_b.metric("∂y_T/∂b", f"{grad.d_b:.4g}")
        d_y0.metric("∂y_T/∂y_0", f"{grad.d_y0:.4g}")
        dy_T = {f"|∂y_{T}/∂y_t|": np.abs(grad.dy_T)}
        fig = figures.grad_norm_figure(dy_T, title="", y_title=f"|∂y_{T}/∂y_t| (log scale)")
        presentation.chart(fig, key=f"{PAGE}:dy_T")

table = st.expander("The whole trace as a table", key=f"{PAGE}:table", on_change="rerun")  # built only while open
with table:
    if table.open:
        st.dataframe(neuron.neuron_table(trace), hide_index=True, width="stretch")

state.write_url(URL_NAMES)
