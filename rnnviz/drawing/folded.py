"""The folded network, drawn with Graphviz: the cell with its feedback loop, no time steps.

For the single recurrent neuron (an rnn with D = H = 1) the textbook picture: the input x_t
enters with weight W_x, the output y_{t-1} is fed back with weight W_y; otherwise each
layer's cell with its loop over h_{t-1} (and c_{t-1}), stacked from x_t to h_t.
"""

from __future__ import annotations

import graphviz

from ..engine.cells import Params
from .kernel import (
    EDGE_DEFAULTS,
    NODE_DEFAULTS,
    Drawing,
    Look,
    Node,
    cell_title,
    label_number,
    layer_mark,
    node_id,
    text,
    to_digraph,
    weight_html,
)
from .style import FONT, FONTSIZE


def folded_graph(
    params: Params,
    *,
    neuron: bool = False,
    activation_label: str | None = None,
    values: bool = True,
    rankdir: str = "BT",
) -> graphviz.Digraph:
    """The cell with its feedback loop (the rolled-up network, no time steps).

    With ``neuron=True`` (an rnn with D = H = 1) this is the textbook recurrent neuron:
    the input x_t enters with weight W_x, the output y_{t-1} is fed back with weight W_y,
    the neuron adds the bias b and applies the activation (``activation_label`` names it
    for activations the drawing should call differently, default the nonlinearity).
    """
    if neuron and (params.cell != "rnn" or params.hidden_size != 1 or params.input_size != 1 or params.num_layers != 1):
        raise ValueError("the single neuron view needs one rnn layer with input size 1 and hidden size 1")
    act = activation_label or params.nonlinearity
    graph = dict(rankdir=rankdir, nodesep="0.5", ranksep="0.7", fontname=FONT, fontsize=FONTSIZE)
    d = Drawing(Look("rnn_folded", graph, {**NODE_DEFAULTS, "style": "rounded,filled"}, EDGE_DEFAULTS, _node_style))
    if neuron:
        _folded_neuron(d, params, act, values)
    else:
        _folded_cells(d, params, act)
    return to_digraph(d)


def _node_style(n: Node) -> dict[str, str]:
    if n.id == "neuron":
        return {"shape": "circle"}
    if n.kind == "cell":
        return {"shape": "box", "style": "rounded,filled,bold"}
    return {"shape": "box"}


def _folded_neuron(d: Drawing, params: Params, act: str, values: bool) -> None:
    """x_t -> (Σ, φ) -> y_t, and the loop that feeds y_{t-1} back with weight W_y."""
    lp = params.layers[0]
    wx, wy, b = lp.W_ih[0, 0], lp.W_hh[0, 0], lp.b_ih[0] + lp.b_hh[0]

    def weight(name: str, v: float) -> str:  # an HTML-like label: W<SUB>x</SUB> = 0.5
        return f"<{name}{' = ' + label_number(v) if values else ''}>"

    bias = [f"b = {label_number(b)}"] if values else ["+ b"]
    x = d.node(Node("x", "input", None, ["xₜ"], classes=["folded"]))
    neuron = d.node(Node("neuron", "cell", None, ["Σ, " + act] + bias, classes=["folded"]))
    y = d.node(Node("y", "output", None, ["yₜ"], classes=["folded"]))
    d.edge(x, neuron, label=weight(weight_html("x"), wx), classes=["folded"])
    d.edge(neuron, y, classes=["folded"])
    loop = "<(yₜ₋₁ fed back)<BR/>" + weight(weight_html("y"), wy)[1:]  # the subscript's line last: it hangs low
    d.edge(neuron, neuron, "output", label=loop, classes=["folded"])


def _folded_cells(d: Drawing, params: Params, act: str) -> None:
    """x_t, each layer's cell with its loop over h_{t-1} (and c_{t-1}) through W_hh, then h_t."""
    L = params.num_layers
    prev = d.node(Node("x", "input", None, ["x_t", f"D = {params.input_size}"], classes=["folded"]))
    for k in range(L):
        mark = layer_mark(k, L)
        lines = [cell_title(params.cell, act, mark), f"H = {params.hidden_size}"]
        cell = d.node(Node(node_id("cell", k), "cell", None, lines, layer=k, classes=["folded", f"layer-{k}"]))
        d.edge(prev, cell, "input", label=text(["W_ih" + mark]), classes=["folded"])
        loop = ["W_hh" + mark, "h" + mark + "_t−1"] + (["c" + mark + "_t−1"] if params.cell == "lstm" else [])
        d.edge(cell, cell, "state", label=text(loop), classes=["folded", f"layer-{k}"])
        prev = cell
    h = d.node(Node("h", "state", None, ["h_t" if L == 1 else "h" + layer_mark(L - 1, L) + "_t"], classes=["folded"]))
    d.edge(prev, h, "cell", classes=["folded"])
