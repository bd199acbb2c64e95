"""The network unfolded over time, drawn with Graphviz: ``unfolded_graph``.

``h_0``, then per step ``x_t -> cell_t -> h_t`` along the time axis, stacked layers as rows
(``level="cell"``); or inside every step its matrix products, additions, gates and pointwise
products (``level="operations"``, drawn by ``operations``). The single recurrent neuron is
the one-layer rnn with D = H = 1, its output y_t. Long sequences collapse to their first and
last steps around an ellipsis node, so no graph has more than ``MAX_NODES`` nodes. The layout
follows colah's "Understanding LSTM Networks" and the unrolled-neuron figure of Géron's
"Hands-On Machine Learning", ch. 15.
"""

from __future__ import annotations

import html

import graphviz
import numpy as np

from ..engine.backward import Grads
from ..engine.cells import Params
from ..engine.forward import Trace
from ..engine.local_grads import step_grads
from ..engine.numerics import quiet_overflow
from .kernel import (
    EDGE_DEFAULTS,
    NODE_DEFAULTS,
    Drawing,
    Edge,
    Look,
    Node,
    cell_title,
    format_full,
    gradient_scale,
    in_time_order,
    label_number,
    layer_mark,
    legend_row,
    legend_table,
    maybe_norm,
    node_id,
    node_lines,
    norm,
    step_window,
    sub,
    to_digraph,
    weight_html,
)
from .operations import ops_step
from .style import FONT, FONTSIZE, LINE, WEIGHT_COLOR
from .unfolding import Options, Row, Steps, node, weight_edges


@quiet_overflow
def unfolded_graph(
    trace: Trace,
    *,
    grads: Grads | None = None,
    level: str = "cell",
    values: bool = True,
    shared_weights: bool | str = True,
    highlight_step: int | None = None,
    highlight_path: bool = False,
    max_steps: int | None = None,
    batch_index: int = 0,
    neuron: bool = False,
    activation_label: str | None = None,
    rankdir: str = "LR",
) -> graphviz.Digraph:
    """The network unfolded over the trace's T steps, with its numbers.

    Args:
        trace: ``forward``'s result; batched traces show element ``batch_index``.
        grads: ``backward``'s result; nodes then show ||dL/dv|| and edges are coloured and
            thickened by the gradient magnitude they carry (log scale, legend included).
        level: ``"cell"`` (one node per cell and step) or ``"operations"`` (the products,
            sums, gates and pointwise operations inside each step).
        values: show the trace's values on the nodes (full vectors are in the tooltips).
        shared_weights: how the weights every step shares are drawn. ``True`` or "labels":
            edges (cell level) or product nodes (operations) named and coloured by the
            weight they use, the same at every step, with a legend; "nodes": each layer's
            W_ih, W_hh and b drawn once with dashed edges into every step (best for few
            steps); ``False`` or "off": neither. The neuron view labels its edges W_x, W_y.
        highlight_step: a step (1-based) that stands out; always kept visible.
        highlight_path: highlight the backward path from the loss at step T to
            ``highlight_step`` (step 1 if not given).
        max_steps: steps drawn before the middle collapses into an ellipsis; default
            ``DEFAULT_MAX_STEPS[level]``, lowered if needed to keep ``MAX_NODES``.
        neuron: the single recurrent neuron (rnn, D = H = 1, one layer): output y_t.
        activation_label: the activation's name on the drawing (default the nonlinearity).
        rankdir: Graphviz rank direction; "LR" puts time left to right.
    """
    opts = Options.make(
        trace,
        level=level,
        grads=grads,
        values=values,
        shared_weights=shared_weights,
        highlight_step=highlight_step,
        highlight_path=highlight_path,
        max_steps=max_steps,
        batch_index=batch_index,
        neuron=neuron,
        activation_label=activation_label,
    )
    s = Steps(trace, opts)
    d = Drawing(
        _look(rankdir, neuron and level == "cell"),
        grads=grads is not None,
        lit=opts.highlighted(trace.steps),
        path=highlight_path,
    )
    params, L = trace.params, trace.params.num_layers
    rows = [_initial_row(d, s, k) for k in range(L)]
    d.ranks.append([r.h for r in rows] + [r.c for r in rows if r.c])
    if opts.weights == "nodes" and not opts.neuron:
        _weight_nodes(d, params)
    visible, _ = step_window(trace.steps, opts.limit, opts.keep)
    step_fn = _cell_step if level == "cell" else ops_step
    for first, last in in_time_order(visible):
        if last is None:
            rows = _one_step(d, s, first, rows, step_fn)
        else:
            rows = [_ellipsis(d, s, k, first, last, rows[k]) for k in range(L)]
    legend = _legend(s, params, narrow=rankdir in ("TB", "BT"))
    if legend is not None:
        d.label = {"label": legend, "labelloc": "b", "labeljust": "l"}
    return to_digraph(d)


def _look(rankdir: str, narrow: bool = False) -> Look:
    """``narrow``: the neuron's one column a step, packed so that five steps fit a 1024 px window at 12 px type."""
    ranksep = "0.35" if narrow else "0.45"
    graph = dict(rankdir=rankdir, newrank="true", nodesep="0.3", ranksep=ranksep, fontname=FONT, fontsize=FONTSIZE)
    return Look("rnn", graph, NODE_DEFAULTS, EDGE_DEFAULTS, _narrow_style if narrow else _node_style)


def _narrow_style(n: Node) -> dict[str, str]:
    return _node_style(n) | ({"margin": "0.1,0.1"} if n.kind == "cell" else {})


def _node_style(n: Node) -> dict[str, str]:
    if n.kind == "op":
        return {
            "shape": "circle" if len(n.lines[0]) <= 4 else "ellipse",
            "style": "filled",
            "fontsize": "16",
            "margin": "0.02",
        }
    if n.kind == "ellipsis":
        return {"shape": "plaintext", "style": "filled", "fontcolor": LINE}
    if n.kind == "cell":
        return {"shape": "box", "style": "rounded,filled,bold", "margin": "0.2,0.12"}
    if n.kind == "weight":
        return {"shape": "note", "style": "filled", "fontsize": "12"}
    return {"shape": "box", "style": "rounded,filled"}


def _one_step(d: Drawing, s: Steps, t: int, rows: list[Row], step_fn) -> list[Row]:
    """Every layer at step t; the input x_t below layer 0, each layer feeding the next."""
    name = "x" + sub(t)
    x_val = s.at(s.trace.x, t)
    dx = s.at(s.opts.grads.x, t) if s.opts.grads else None
    inp = d.node(
        node(node_id("x", t), "input", t, s.lines(name, x_val, dx), s.tooltip(name, x_val, dx), 0, maybe_norm(dx))
    )
    column = [inp]
    new_rows = []
    for k, row in enumerate(rows):
        new = step_fn(d, s, k, t, inp, row)
        column.append(node_id("cell", k, t))
        new_rows.append(new)
        # at cell level h_t goes up from the cell itself, so the layers stay in one column
        inp = column[-1] if s.opts.level == "cell" else new.h
    if s.opts.level == "cell" and s.opts.neuron:  # x_t, the neuron and y_t in one column: Géron's unrolled neuron
        d.ranks.append(column + [r.h for r in new_rows])
        d.edges.append(
            Edge(rows[0].h, new_rows[0].h, None, None, attrs={"style": "invis", "weight": "10"})
        )  # y in a row
    elif s.opts.level == "cell":
        d.ranks.append(column)
        d.ranks.append([r.h for r in new_rows] + [r.c for r in new_rows if r.c])
    return new_rows


def _initial_row(d: Drawing, s: Steps, k: int) -> Row:
    """h_0 (and c_0) of layer k, with dL/dh_0 when gradients are given."""
    trace, opts, L = s.trace, s.opts, s.trace.params.num_layers
    grads = opts.grads
    mark = layer_mark(k, L)

    def state(name: str, a: np.ndarray, ga: np.ndarray | None) -> str:
        label = name + mark + sub(0)
        v = s.initial(a, k)
        g = None if ga is None else s.initial(ga, k)
        kind = "output" if opts.neuron else "state"
        lines, tip = s.lines(label, v, g), s.tooltip(label, v, g)
        ident = node_id("h" if name == "y" else name, k, 0)  # the neuron's y_0 is its h_0, as y_t is h_t
        return d.node(node(ident, kind, None, lines, tip, k, maybe_norm(g), initial=True))

    h = state("y" if opts.neuron else "h", trace.h0, grads.h0 if grads else None)
    c = state("c", trace.c0, grads.c0 if grads else None) if trace.params.cell == "lstm" else None
    return Row(h, c)


def _ellipsis(d: Drawing, s: Steps, k: int, first: int, last: int, row: Row) -> Row:
    """One node per layer standing for the hidden steps first..last."""
    n = last - first + 1
    lines = [f"… {n} step{'s' if n > 1 else ''} hidden …", f"(steps {first}–{last})"]
    tip = f"steps {first} to {last} are not drawn"
    ellipsis = d.node(node(node_id("ellipsis", k, first), "ellipsis", None, lines, tip, k))
    lt, grads = s.trace.layers[k], s.opts.grads
    d.edge(row.h, ellipsis)
    if row.c:
        d.edge(row.c, ellipsis)
    if s.opts.level == "cell":
        d.ranks.append([ellipsis])
    if grads:  # the edges out carry the gradient of the state that leaves the gap, h_last
        d.nodes[ellipsis].grad = norm(s.at(grads.dh[k], last))
    return Row(ellipsis, ellipsis if lt.c is not None else None)


def _cell_step(d: Drawing, s: Steps, k: int, t: int, inp: str, row: Row) -> Row:
    """Cell level: one node for the cell, then h_t (and c_t)."""
    trace, opts = s.trace, s.opts
    params, lt, L = trace.params, trace.layers[k], trace.params.num_layers
    local = step_grads(params, trace, opts.grads, k, t, opts.batch_index) if opts.grads else {}
    mark = layer_mark(k, L)
    title = "Σ, " + opts.activation_label if opts.neuron else cell_title(params.cell, opts.activation_label)
    z = local.get("a", local.get("z", local.get("gx")))
    tip = s.tooltip(f"{title} step {t}", None, z) + _gate_tooltip(s, lt, t)
    cell = d.node(node(node_id("cell", k, t), "cell", t, node_lines(title, None, z), tip, k, maybe_norm(z)))
    h_name = ("y" if opts.neuron else "h") + mark + sub(t)
    h_val, dh = s.at(lt.h, t), local.get("h")
    kind = "output" if opts.neuron else "state"
    lines, tip = s.lines(h_name, h_val, dh), s.tooltip(h_name, h_val, dh)
    h = d.node(node(node_id("h", k, t), kind, t, lines, tip, k, maybe_norm(dh)))
    wx, wy = (
        (weight_html("x"), weight_html("y"))
        if opts.neuron
        else (weight_html("ih", mark=mark), weight_html("hh", mark=mark))
    )
    if opts.weights != "labels":
        wx = wy = None
    in_grad = maybe_norm(local.get("x")) if k == 0 else opts.grads and norm(s.at(opts.grads.dh[k - 1], t))
    d.edge(inp, cell, "input" if k == 0 else "state", grad=in_grad, back=True, **_edge_label(wx, "W_ih"))
    d.edge(row.h, cell, **_edge_label(wy, "W_hh"))
    d.edge(cell, h, "cell", grad=maybe_norm(dh), back=opts.neuron)  # the neuron's y_t goes above its cell
    c = None
    if params.cell == "lstm":
        c_name = "c" + mark + sub(t)
        c_val, dc = s.at(lt.c, t), local.get("c")
        lines, tip = s.lines(c_name, c_val, dc), s.tooltip(c_name, c_val, dc)
        c = d.node(node(node_id("c", k, t), "state", t, lines, tip, k, maybe_norm(dc)))
        d.edge(row.c, cell)
        d.edge(cell, c, "cell", grad=maybe_norm(dc))
    if opts.weights == "nodes" and not opts.neuron:
        weight_edges(d, s, k, t, {"W_ih": cell, "W_hh": cell, "b": cell}, local)
    return Row(h, c)


def _gate_tooltip(s: Steps, lt, t: int) -> str:
    return "".join(f"\n{name} = {format_full(s.at(v, t))}" for name, v in lt.gates.items())


def _edge_label(html_text: str | None, weight: str) -> dict[str, str]:
    """An HTML-like edge label (for subscripts; the text is ours, never user input) in the weight's colour."""
    if html_text is None:
        return {}
    return {"label": f"<{html_text}>", "color": WEIGHT_COLOR[weight], "fontcolor": WEIGHT_COLOR[weight]}


def _weight_nodes(d: Drawing, params: Params) -> None:
    """Layer k's W_ih, W_hh and b: one node each, shared by every step."""
    L = params.num_layers
    for k, lp in enumerate(params.layers):
        mark = layer_mark(k, L)
        shapes = {"W_ih": lp.W_ih.shape, "W_hh": lp.W_hh.shape, "b": lp.b_ih.shape}
        for name, shape in shapes.items():
            label = name.replace("b", "b_ih + b_hh") if name == "b" else name
            lines = [label + mark, "×".join(map(str, shape)) + ", shared"]
            tip = f"{label}{mark}: the same {'×'.join(map(str, shape))} array at every step"
            d.node(node(node_id("w", name, k), "weight", None, lines, tip, k, color=WEIGHT_COLOR[name]))


def _legend(s: Steps, params: Params, narrow: bool = False) -> str | None:
    """An HTML-like table: the gradient colour scale and what the dashed weight edges mean; ``narrow``
    (time running downwards: a drawing as wide as two nodes) breaks the weights' line in two."""
    rows = []
    opts = s.opts
    if opts.grads is not None:
        rows.append(legend_row("‖∂L/∂v‖ on edges and nodes: vanishing → exploding", 6))
        rows.append(legend_row(gradient_scale(44, 12), 6))
    if opts.neuron and opts.weights != "off":
        lp = params.layers[0]
        wx, wy, b = (label_number(v) for v in (lp.W_ih[0, 0], lp.W_hh[0, 0], lp.b_ih[0] + lp.b_hh[0]))
        act = html.escape(opts.activation_label)
        w = f"{weight_html('x')} = {wx},  {weight_html('y')} = {wy},  b = {b},  φ = {act}"
        rows.append(legend_row(f"{w}: the same at every step", 6))
    elif opts.weights != "off":
        lp = params.layers[0]
        shapes = {"W_ih": lp.W_ih.shape, "W_hh": lp.W_hh.shape, "b": lp.b_ih.shape}
        shown = {"W_ih": weight_html("ih"), "W_hh": weight_html("hh"), "b": "b"}
        names = ",  ".join(
            f'<FONT COLOR="{WEIGHT_COLOR[n]}">{shown[n]}</FONT>'
            f" ({'×'.join(map(str, shape))}{', layer 1' if params.num_layers > 1 else ''})"
            for n, shape in shapes.items()
        )
        how = "dashed edges" if opts.weights == "nodes" else "same name, same colour"
        if narrow:
            rows += [legend_row(f"{how}: {names},", 6), legend_row("one copy per layer, used at every step", 6)]
        else:
            rows.append(legend_row(f"{how}: {names}, one copy per layer, used at every step", 6))
    return legend_table(rows, 2) if rows else None
