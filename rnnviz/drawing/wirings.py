"""The unfolded graph of each sequence wiring, drawn with Graphviz in the textbook layout.

One recurrent cell, wired four ways (Karpathy, "The Unreasonable Effectiveness of Recurrent
Neural Networks", 2015; Goodfellow et al., "Deep Learning", ch. 10):

- ``many_to_one``: read x_1..x_T, one output from the last state (sentiment);
- ``one_to_many``: one input vector, a sequence out (captioning, a wave from its parameters);
- ``many_to_many``: an output at every step (tagging, language models);
- ``encoder_decoder``: the encoder's last state (the context) starts a decoder that feeds
  each output back in as its next input (translation, reversing a sequence).

Rows from the bottom: inputs, states (a row per layer, and above each forward row a
right-to-left row for the reverse direction of a bidirectional layer), outputs; time runs
left to right. Every wiring uses the same rows, node sizes and fonts, so the four drawings
line up side by side.

Classes as in every drawing (``kernel``): every node and edge of time step t carries
``step-t`` (1-based) after its kind (``input``, ``state``, ``output``, ``op``, ``ellipsis``).
In the encoder-decoder, encoder items also carry ``encoder`` and decoder items ``decoder``,
whose steps are numbered 1..T_out again. The dashed edge that feeds y_{t-1} back into the
decoder's input t carries ``feedback``; the edge from the encoder's last state to the
decoder's first carries ``context`` and crosses an empty column that keeps the two apart.
Initial states carry ``initial``, reverse-direction states ``reverse``. Long sequences
collapse around an ellipsis node. The rows are built by ``wiring_rows``, laid out here on a
grid of invisible place holders. The builder returns a ``graphviz.Digraph``, renders
nothing, and its DOT is deterministic.

One-to-many draws its single input vector once, at step 1 (``steps_in`` is 1): with
``feed="every"`` that node has an edge into every step, with ``feed="first"`` only into step
1 (the later steps read zeros).
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import graphviz

from ..engine.numerics import quiet_overflow
from ..learning.architectures import BIDIRECTIONAL_WIRINGS, FEEDS, MAX_LAYERS, WIRINGS, Model, WiringGrads, WiringTrace
from .kernel import (
    CELL_TITLE,
    EDGE_DEFAULTS,
    MAX_NODES,
    NODE_DEFAULTS,
    Drawing,
    Edge,
    Look,
    Node,
    gradient_scale,
    legend_row,
    legend_table,
    text,
    to_digraph,
    weight_html,
)
from .style import FONT, LINE, WEIGHT_COLOR
from .wiring_rows import CONTEXT_COLUMN, Builder, Grid, Numbers

DEFAULT_MAX_STEPS = 8  # visible steps per sequence (the encoder's and the decoder's each)
NODE_WIDTH, NODE_HEIGHT = "0.5", "0.5"  # inches, in every wiring, so that drawings compare
CONTEXT_WIDTH = "0.45"  # inches: room for the word "context" over its edge


@dataclass(frozen=True)
class Wiring:
    """The structure of an unfolded wiring: what is drawn, without numbers."""

    name: str
    steps_in: int  # inputs read: T_in (one_to_many: 1)
    steps_out: int  # outputs written: T_out (many_to_one: 1)
    bidirectional: bool = False
    num_layers: int = 1
    feed: str = "every"  # one_to_many only
    cell: str | None = None  # named in the legend when known

    @property
    def encoder_steps(self) -> int:
        """Steps of the stack that reads the input (one_to_many: the steps it generates)."""
        return self.steps_out if self.name == "one_to_many" else self.steps_in


def wiring_shape(
    wiring: str,
    steps_in: int | None = None,
    steps_out: int | None = None,
    *,
    bidirectional: bool = False,
    num_layers: int = 1,
    feed: str = "every",
    cell: str | None = None,
) -> Wiring:
    """Check and complete a wiring's sizes.

    ``many_to_one`` and ``many_to_many`` need ``steps_in`` (one output; as many outputs),
    ``one_to_many`` needs ``steps_out`` (one input), ``encoder_decoder`` both. A size the
    wiring fixes may be left out, and must agree when given.
    """
    if wiring not in WIRINGS:
        raise ValueError(f"unknown wiring {wiring!r}; expected one of {', '.join(WIRINGS)}")
    if feed not in FEEDS:
        raise ValueError(f"feed must be 'every' or 'first', got {feed!r}")
    if bidirectional and wiring not in BIDIRECTIONAL_WIRINGS:
        raise ValueError(f"{wiring} cannot be bidirectional: its steps must run forward in time")
    fixed_in = 1 if wiring == "one_to_many" else None
    fixed_out = {"many_to_one": 1, "many_to_many": steps_in}.get(wiring)
    steps_in = _steps("steps_in", steps_in, fixed_in, wiring)
    steps_out = _steps("steps_out", steps_out, fixed_out, wiring)
    if isinstance(num_layers, bool) or not 1 <= int(num_layers) <= MAX_LAYERS:
        raise ValueError(f"num_layers must be from 1 to {MAX_LAYERS}, got {num_layers!r}")
    if cell is not None and cell not in CELL_TITLE:
        raise ValueError(f"unknown cell {cell!r}; expected one of rnn, lstm, gru")
    return Wiring(wiring, steps_in, steps_out, bool(bidirectional), int(num_layers), feed, cell)


def _steps(name: str, value: int | None, fixed: int | None, wiring: str) -> int:
    if value is None and fixed is None:
        raise ValueError(f"{wiring} needs {name}")
    if value is not None and fixed is not None and int(value) != int(fixed):
        raise ValueError(f"{wiring} has {name} = {fixed}, got {value}")
    n = int(fixed if value is None else value)
    if n < 1:
        raise ValueError(f"{name} must be at least 1, got {n}")
    return n


def model_shape(model: Model, steps_in: int, steps_out: int) -> Wiring:
    """The structure of a model run over the given lengths."""
    return wiring_shape(
        model.wiring,
        steps_in,
        steps_out,
        bidirectional=model.bidirectional,
        num_layers=model.num_layers,
        feed=model.feed,
        cell=model.cell,
    )


def grid_rows(shape: Wiring) -> int:
    """Rows of the drawing: inputs, a state row per layer and direction, the concatenation, outputs."""
    concat = shape.name == "many_to_one" and shape.bidirectional
    return 2 + shape.num_layers * (2 if shape.bidirectional else 1) + concat


def visible_limit(shape: Wiring, max_steps: int | None) -> int:
    """Visible steps per sequence: ``max_steps`` (default 8), lowered so that the grid of
    rows x columns (a column per visible step, per gap and per initial state) stays below
    ``MAX_NODES``, invisible place holders included."""
    wanted = DEFAULT_MAX_STEPS if max_steps is None else int(max_steps)
    if wanted < 2:
        raise ValueError("max_steps must be at least 2 (the first and the last step)")
    parts = 2 if shape.name == "encoder_decoder" else 1
    initial = 2 if shape.bidirectional else 1
    columns = (MAX_NODES - 1) // grid_rows(shape)
    return max(2, min(wanted, (columns - initial) // parts - 1))  # one gap column per part


@quiet_overflow
def wiring_graph(
    wiring: str,
    steps_in: int | None = None,
    steps_out: int | None = None,
    *,
    trace: WiringTrace | None = None,
    grads: WiringGrads | None = None,
    bidirectional: bool = False,
    num_layers: int = 1,
    feed: str = "every",
    cell: str | None = None,
    values: bool = True,
    max_steps: int | None = None,
    batch_index: int = 0,
    input_names=None,
    output_names=None,
    weight_names: bool = True,
    legend: bool = True,
    title: str | None = None,
    rankdir: str = "BT",
) -> graphviz.Digraph:
    """The unfolded graph of a wiring: a schematic from its sizes, or a run of a model with its numbers.

    Args:
        wiring: one of ``WIRINGS``.
        steps_in, steps_out: the lengths (see ``wiring_shape``); with a trace, its own.
        trace: a ``WiringTrace``; its model sets the structure (bidirectional, layers,
            feed, cell) and its numbers go on the nodes.
        grads: the matching ``WiringGrads``: nodes show ||dL/dv|| and edges are coloured and
            thickened by the gradient they carry, on the scale of ``unfolded_graph``.
        bidirectional, num_layers, feed, cell: the structure of a schematic.
        values: numbers on the nodes (full vectors in the tooltips). A softmax output shows
            its likeliest class and probability, a one-hot input the word it stands for.
        max_steps: visible steps per sequence before the middle collapses (default 8).
        batch_index: which sequence of a batched trace to show.
        input_names: names of the input features (a vocabulary: one-hot inputs show words).
        output_names: names of a softmax output's classes.
        weight_names: name each shared weight on the first edge that uses it.
        legend: under the drawing, which colour is which weight (and the gradient scale).
        title: a line above the legend, or above the drawing without a legend.
        rankdir: "BT": inputs at the bottom, outputs on top, time left to right; "LR": inputs on the
            left, outputs on the right, time running downwards (a long sequence as a narrow drawing).
    """
    if trace is None:
        if grads is not None:
            raise ValueError("gradients need the trace they belong to")
        shape = wiring_shape(
            wiring, steps_in, steps_out, bidirectional=bidirectional, num_layers=num_layers, feed=feed, cell=cell
        )
        numbers = None
    else:
        if wiring != trace.model.wiring:
            raise ValueError(f"the trace is of a {trace.model.wiring} model, not {wiring}")
        shape = model_shape(trace.model, trace.steps_in, trace.steps_out)
        for name, given, actual in (("steps_in", steps_in, shape.steps_in), ("steps_out", steps_out, shape.steps_out)):
            if given is not None and int(given) != actual:
                raise ValueError(f"{name} = {given} but the trace has {actual}")
        if grads is not None and grads.d_logits.shape != trace.logits.shape:
            raise ValueError("the gradients belong to a different run")
        B = trace.encoder.x.shape[1] if trace.encoder.batched else 1
        if not 0 <= batch_index < B:
            raise ValueError(f"batch_index must be between 0 and {B - 1}, got {batch_index}")
        names = [None if n is None else tuple(map(str, n)) for n in (input_names, output_names)]
        numbers = Numbers(trace, grads, batch_index, values, *names)
    d = Drawing(_look(shape.name, rankdir), grads=grads is not None)
    _lay_out(d, Builder(d, shape, numbers, visible_limit(shape, max_steps), weight_names).build())
    if legend:
        d.label = {"label": _legend(shape, grads is not None, title), "labelloc": "b", "labeljust": "l"}
    elif title:
        d.label = {"label": text([title]), "labelloc": "t", "labeljust": "l", "fontsize": "16"}
    return to_digraph(d)


def _look(name: str, rankdir: str = "BT") -> Look:
    graph = dict(rankdir=rankdir, newrank="true", nodesep="0.3", ranksep="0.45", fontname=FONT, fontsize="13")
    node = dict(NODE_DEFAULTS, shape="box", style="rounded,filled", width=NODE_WIDTH, height=NODE_HEIGHT)
    node["margin"] = "0.06,0.04"
    edge = dict(EDGE_DEFAULTS, fontsize="13", arrowsize="0.7", penwidth="1.5")
    return Look(name, graph, node, edge, _node_style)


def _node_style(n: Node) -> dict[str, str]:
    if n.kind == "ellipsis":
        return dict(shape="plaintext", fontcolor=LINE, fontsize="11", width="0.3")
    if n.kind == "op":
        return dict(fontsize="13", height="0.36")
    if "initial" in n.classes:
        return dict(style="rounded,filled,dashed", width="0.4")
    return {}


def _lay_out(d: Drawing, grid: Grid) -> None:
    """The grid, declared left to right: an invisible node where a row has nothing in a
    column, so that every column lines up and dot keeps every row in time order.

    The column between the encoder and the decoder is empty in the state rows, where the
    context edge runs straight through it, and holds wide place holders in the others.
    """
    last = len(grid.rows) - 1
    cells = [
        [
            row.get(col) or (None if col == CONTEXT_COLUMN and 0 < k < last else f"pad_{k}_{c}")
            for c, col in enumerate(grid.columns)
        ]
        for k, row in enumerate(grid.rows)
    ]
    nodes = {}
    for ids in cells:
        for c, i in enumerate(ids):
            if i in d.nodes:
                nodes[i] = d.nodes[i]
                nodes[i].attrs["group"] = f"c{c}"
            elif i is not None:
                width = CONTEXT_WIDTH if grid.columns[c] == CONTEXT_COLUMN else "0.01"
                nodes[i] = Node(
                    i, "", None, [], attrs=dict(label="", style="invis", width=width, height="0.01", group=f"c{c}")
                )
    d.nodes = nodes
    d.ranks = [[i for i in ids if i is not None] for ids in cells]
    for ids in d.ranks:  # each row in time order
        d.edges += [Edge(a, b, None, None, attrs={"style": "invis"}) for a, b in zip(ids, ids[1:], strict=False)]
    for lower, upper in zip(cells, cells[1:], strict=False):  # each row above the one before it, column by column
        for a, b in zip(lower, upper, strict=True):
            if a is not None and b is not None:  # heavier than any real edge: columns stay straight
                d.edges.append(Edge(a, b, None, None, attrs={"style": "invis", "weight": "20"}))


def _legend(shape: Wiring, grads: bool, title: str | None) -> str:
    """An HTML-like table: which colour is which shared weight, and the gradient scale."""

    def weight(key: str, which: str, sup: str = "") -> str:
        return f'<FONT COLOR="{WEIGHT_COLOR[key]}">{weight_html(which, sup)}</FONT>'

    sp = "&#160;"  # a space an SVG viewer keeps at the start of a text run
    names = [weight("W_ih", "ih") + sp + "input", weight("W_hh", "hh") + sp + "recurrent"]
    if shape.bidirectional:
        names += [weight("W_ih2", "ih", "←") + "," + sp + weight("W_hh2", "hh", "←") + sp + "reverse direction"]
    if shape.name == "encoder_decoder":
        names = [
            weight("W_ih", "ih") + "," + sp + weight("W_hh", "hh") + sp + "encoder",
            weight("W_ih2", "ih", "dec") + "," + sp + weight("W_hh2", "hh", "dec") + sp + "decoder",
        ]
    names.append(weight("W_hy", "hy") + sp + "output layer")
    cell = f"{CELL_TITLE[shape.cell]} cells. " if shape.cell else ""
    rows = []
    if title:
        rows.append(legend_row(f'<FONT POINT-SIZE="16">{html.escape(title)}</FONT>'))
    rows.append(legend_row(f"{cell}Same colour, same weights at every step:"))
    rows.append(legend_row(("," + sp + sp).join(names)))
    if grads:
        rows.append(legend_row("‖∂L/∂v‖ on nodes and edges, vanishing → exploding:"))
        rows.append(legend_row(gradient_scale(40, 11)))
    return legend_table(rows, 1)
