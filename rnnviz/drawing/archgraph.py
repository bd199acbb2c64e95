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

Conventions as in ``rnnviz.drawing.kernel``: every node and edge of time step t carries the class
``step-t`` (1-based) and its kind (``input``, ``state``, ``output``, ``op``, ``ellipsis``).
In the encoder-decoder, encoder items also carry ``encoder`` and decoder items ``decoder``,
whose steps are numbered 1..T_out again. The dashed edge that feeds y_{t-1} back into the
decoder's input t carries ``feedback``; the edge from the encoder's last state to the
decoder's first carries ``context`` and crosses an empty column that keeps the two apart.
Initial states carry ``initial``, reverse-direction
states ``reverse``. Long sequences collapse around an ellipsis node. The builder returns a
``graphviz.Digraph``, renders nothing, and its DOT is deterministic.

One-to-many draws its single input vector once, at step 1 (``steps_in`` is 1): with
``feed="every"`` that node has an edge into every step, with ``feed="first"`` only into step
1 (the later steps read zeros).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import graphviz
import numpy as np

from ..engine.numerics import quiet_overflow
from ..learning.architectures import BIDIRECTIONAL_WIRINGS, FEEDS, MAX_LAYERS, WIRINGS, Model, WiringGrads, WiringTrace
from .kernel import (
    MAX_NODES,
    escape,
    format_full,
    format_vector,
    grad_color,
    grad_width,
    label_number,
    norm,
    step_window,
    sub,
)
from .style import FILL, FONT, FONTSIZE

DEFAULT_MAX_STEPS = 8  # visible steps per sequence (the encoder's and the decoder's each)
NODE_WIDTH, NODE_HEIGHT = "0.5", "0.5"  # inches, in every wiring, so that drawings compare
# Every step of a row uses the same weights: one colour each. The reverse direction and the
# decoder have weights of their own (a second colour pair; no wiring has both).
WEIGHT_COLOR = {"W_ih": "#b85450", "W_hh": "#6c8ebf", "W_hy": "#4d8a2a", "W_ih2": "#d79b00", "W_hh2": "#9673a6"}
CONTEXT_COLOR = "#222222"
FEEDBACK_COLOR = "#777777"
DECODER_FILL = "#e1d5e7"
CONTEXT_COLUMN = ("context", "gap", 0)  # an empty column between the encoder and the decoder
CONTEXT_WIDTH = "0.45"  # inches: room for the word "context" over its edge
CELL_TITLE = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}


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


# ----- what one drawing holds


@dataclass
class _Node:
    id: str
    kind: str
    step: int | None
    lines: list[str]
    classes: list[str] = field(default_factory=list)  # beyond kind and step: encoder, reverse, ...
    tooltip: str = ""
    grad: float | None = None  # ||dL/dv||: colours the edges that carry it


@dataclass
class _Edge:
    tail: str
    head: str
    kind: str
    step: int | None
    classes: list[str]
    grad: float | None
    attrs: dict[str, str]
    back: bool = False  # laid out tail -> head, arrow at the tail: the right-to-left rows


@dataclass
class _Drawing:
    nodes: dict[str, _Node] = field(default_factory=dict)
    edges: list[_Edge] = field(default_factory=list)
    columns: list[tuple] = field(default_factory=list)  # left to right: (part, "start" | "t" | "gap" | "end", step)
    rows: list[dict[tuple, str]] = field(default_factory=list)  # bottom to top: column -> node, rank=same
    named: set[str] = field(default_factory=set)  # weights already named on an edge
    name_weights: bool = True

    def node(self, n: _Node) -> str:
        self.nodes[n.id] = n
        return n.id

    def edge(self, tail: str, head: str, kind: str, step: int | None, *, classes=(), grad=None, back=False, **attrs):
        """An edge, in the head's part of an encoder-decoder (encoder or decoder)."""
        part = [c for c in self.nodes[head].classes if c in ("encoder", "decoder")]
        self.edges.append(_Edge(tail, head, kind, step, part + list(classes), grad, attrs, back))

    def weight(self, weight: str, html_name: str, key: str, flat: bool = False) -> dict[str, str]:
        """An edge's colour by the weight it uses; the weight's name on its first edge only.

        Between rows the name is an external label (``xlabel``), placed after the layout: a
        label would bend its edge around it and widen its column. Within a row (``flat``) it
        is a label, which dot puts beside the edge, clear of it.
        """
        attrs = {"color": WEIGHT_COLOR[weight]}
        if self.name_weights and key not in self.named:
            self.named.add(key)
            attrs.update({"label" if flat else "xlabel": f"<{html_name}>", "fontcolor": WEIGHT_COLOR[weight]})
        return attrs


# ----- numbers from a WiringTrace and WiringGrads


@dataclass(frozen=True)
class _Numbers:
    """Values and gradients of one batch element, and how to word them."""

    wtrace: WiringTrace
    grads: WiringGrads | None
    batch_index: int
    values: bool
    input_names: tuple[str, ...] | None
    output_names: tuple[str, ...] | None

    def _pick(self, a: np.ndarray | None, batched: bool) -> np.ndarray | None:
        """Batch element ``batch_index`` of a (T, [B,] .) array."""
        if a is None:
            return None
        return a[:, self.batch_index] if batched else a

    def _stack(self, part: str):
        return self.wtrace.encoder if part == "encoder" else self.wtrace.decoder

    def _stack_grads(self, part: str):
        if self.grads is None:
            return None
        return self.grads.encoder if part == "encoder" else self.grads.decoder

    def states(self, part: str, j: int) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """Direction-layer j's h_t, dL/dh_t and (LSTM) c_t of a stack, each (T, H) in time order."""
        trace, g = self._stack(part), self._stack_grads(part)
        cells = trace.cell
        return (
            self._pick(trace.hidden[j], trace.batched),
            None if g is None else self._pick(g.dh[j], trace.batched),
            None if cells is None else self._pick(cells[j], trace.batched),
        )

    def initial(self, part: str, j: int) -> tuple[np.ndarray, np.ndarray | None]:
        """Direction-layer j's h_0 and dL/dh_0."""
        trace, g = self._stack(part), self._stack_grads(part)
        b = (j, self.batch_index) if trace.batched else (j,)
        return trace.h0[b], None if g is None else g.h0[b]

    def inputs(self) -> tuple[np.ndarray, np.ndarray | None]:
        """x_t and dL/dx_t, (T_in, D); one_to_many: the vector and its gradient, (1, D)."""
        x = self.wtrace.x
        gx = None if self.grads is None else self.grads.x
        if self.wtrace.model.wiring == "one_to_many":
            batched = x.ndim == 2
            x = x[self.batch_index][None] if batched else x[None]
            gx = None if gx is None else (gx[self.batch_index][None] if batched else gx[None])
            return x, gx
        batched = self.wtrace.encoder.batched
        return self._pick(x, batched), self._pick(gx, batched)

    def step_input_grads(self) -> np.ndarray | None:
        """dL/d(the stack's input at each step), (T, D): one_to_many's share of the vector's gradient per step."""
        if self.grads is None:
            return None
        return self._pick(self.grads.encoder.x, self.wtrace.encoder.batched)

    def outputs(self) -> tuple[np.ndarray, np.ndarray | None]:
        """y and dL/d(logits) per output, (T_out, O)."""
        batched = self.wtrace.encoder.batched
        d = None if self.grads is None else self.grads.d_logits
        return self._pick(self.wtrace.y, batched), self._pick(d, batched)

    def decoder_inputs(self) -> tuple[np.ndarray, np.ndarray | None]:
        """What the decoder read at each step and dL/d(it), (T_out, O)."""
        batched = self.wtrace.encoder.batched
        g = None if self.grads is None else self.grads.decoder.x
        return self._pick(self.wtrace.decoder_inputs, batched), self._pick(g, batched)

    @property
    def teacher_forced(self) -> bool:
        return self.wtrace.teacher is not None

    def word(self, v: np.ndarray) -> str:
        """An input: the word a one-hot vector stands for (quoted), else its values."""
        v = np.ravel(v)
        names = self.input_names
        hot = np.flatnonzero(v)
        if names is not None and len(names) == v.size and hot.size == 1 and v[hot[0]] == 1.0:
            return f"“{names[hot[0]]}”"
        return format_vector(v)

    def verdict(self, y: np.ndarray) -> str:
        """An output: the likeliest class and its probability (softmax), else the values."""
        y = np.ravel(y)
        if not self.wtrace.model.softmax:
            return format_vector(y)
        k = int(np.argmax(y))
        names = self.output_names
        name = names[k] if names is not None and len(names) == y.size else f"class {k + 1}"
        return f"{name} {y[k]:.2f}"


def _lines(name: str, shown: str | None, grad: np.ndarray | None) -> list[str]:
    out = [name] + ([shown] if shown is not None else [])
    return out + ([] if grad is None else ["‖∇‖ " + label_number(norm(grad))])


def _tooltip(name: str, value: np.ndarray | None, grad: np.ndarray | None, *extra: str) -> str:
    parts = [name] + ([f"= {format_full(value)}"] if value is not None else []) + [e for e in extra if e]
    if grad is not None:
        parts.append(f"∂L/∂{name} = {format_full(grad)}")
    return "\n".join(parts)


def _norm(g: np.ndarray | None) -> float | None:
    return None if g is None else norm(g)


def _layer_mark(k: int, L: int) -> str:
    """Superscript layer number where there is more than one layer: ``h⁽²⁾``."""
    if L == 1:
        return ""
    return "⁽" + str(k + 1).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")) + "⁾"


def _weight_html(which: str, sup: str, mark: str) -> str:
    """``W<SUB>ih</SUB><SUP>dec</SUP>`` for an HTML-like edge label (our own text only)."""
    return f"W<SUB>{which}</SUB>" + (f"<SUP>{html.escape(sup)}</SUP>" if sup else "") + html.escape(mark)


# ----- building the drawing


@dataclass
class _Row:
    """One row of states: a layer and direction of the encoder or the decoder."""

    part: str  # "encoder" or "decoder"
    layer: int
    reverse: bool
    ids: dict[int, str] = field(default_factory=dict)  # visible step -> state node
    cells: dict[tuple, str] = field(default_factory=dict)  # column -> node


@dataclass
class _Inputs:
    feeds: dict[int, str]  # step -> the input node that step reads
    cells: dict[tuple, str]  # column -> node


class _Builder:
    def __init__(self, shape: Wiring, num: _Numbers | None, limit: int, name_weights: bool):
        self.shape, self.num, self.limit = shape, num, limit
        self.d = _Drawing(name_weights=name_weights)
        self.dirs = 2 if shape.bidirectional else 1
        self.enc_dec = shape.name == "encoder_decoder"
        self.show = num is not None and num.values

    def build(self) -> _Drawing:
        """A grid: a column per visible step (and initial state, and gap), a row per kind of node."""
        shape, d, L = self.shape, self.d, self.shape.num_layers
        enc_steps = step_window(shape.encoder_steps, self.limit)
        d.columns = _columns("encoder", *enc_steps, start=True, end=self.dirs == 2)
        inputs = self.inputs(enc_steps[0])
        rows: list[_Row] = []
        below = {t: [x] for t, x in inputs.feeds.items()}
        for k in range(L):
            layer = [self.state_row("encoder", k, r, enc_steps, below) for r in range(self.dirs)]
            below = {t: [row.ids[t] for row in layer] for t in layer[0].ids}
            rows += layer
        top = below
        concat: dict[tuple, str] = {}
        if self.enc_dec:
            dec_steps = step_window(shape.steps_out, self.limit)
            d.columns += [CONTEXT_COLUMN] + _columns("decoder", *dec_steps)
            dec_inputs = self.decoder_inputs(dec_steps[0])
            inputs.cells.update({("decoder", "t", t): x for t, x in dec_inputs.items()})
            below = {t: [x] for t, x in dec_inputs.items()}
            for k in range(L):
                context = rows[k].ids[shape.steps_in]
                row = self.state_row("decoder", k, 0, dec_steps, below, context=context)
                rows[k].cells.update(row.cells)  # the decoder continues the encoder's rows
                below = {t: [row.ids[t]] for t in row.ids}
            top = below
        elif shape.name == "many_to_one" and self.dirs == 2:
            T = shape.steps_in
            concat = {("encoder", "t", T): self.concatenation(rows[-2], rows[-1])}
            top = {T: list(concat.values())}
        outputs = self.outputs(top)
        if self.enc_dec and not (self.num is not None and self.num.teacher_forced):
            self.feedback()
        d.rows = [inputs.cells] + [r.cells for r in rows] + ([concat] if concat else []) + [outputs]
        return d

    # --- inputs

    def inputs(self, visible: list[int]) -> _Inputs:
        """x_t on the bottom row; one_to_many: the one vector, read at every step or the first."""
        shape, d, num = self.shape, self.d, self.num
        part = ["encoder"] if self.enc_dec else []
        x = gx = None
        if num is not None:
            x, gx = num.inputs()
        if shape.name == "one_to_many":
            v, g = (None, None) if x is None else (x[0], None if gx is None else gx[0])
            shown = num.word(v) if self.show else None
            node = d.node(_Node("x_1", "input", 1, _lines("x", shown, g), part, _tooltip("x", v, g), _norm(g)))
            steps = visible if shape.feed == "every" else [1]
            return _Inputs({t: node for t in steps}, {("encoder", "t", 1): node})
        feeds = {}
        for t in visible:
            name = "x" + sub(t)
            v, g = (None, None) if x is None else (x[t - 1], None if gx is None else gx[t - 1])
            shown = num.word(v) if self.show else None
            feeds[t] = d.node(_Node(f"x_{t}", "input", t, _lines(name, shown, g), part, _tooltip(name, v, g), _norm(g)))
        return _Inputs(feeds, {("encoder", "t", t): x for t, x in feeds.items()})

    def decoder_inputs(self, visible: list[int]) -> dict[int, str]:
        """The decoder's input t: the start vector (zeros), then y_{t-1} fed back (or the target)."""
        d, num = self.d, self.num
        inputs = grads = None
        if num is not None:
            inputs, grads = num.decoder_inputs()
        teacher = num is not None and num.teacher_forced
        feeds = {}
        for t in visible:
            name = "start" if t == 1 else ("target" if teacher else "y") + sub(t - 1)
            v = g = None
            if inputs is not None:
                v, g = inputs[t - 1], None if grads is None else grads[t - 1]
            shown = num.verdict(v) if self.show and t > 1 else None
            if t == 1:
                tip = "the start vector (zeros)"
            else:
                tip = f"{name}, {'the target' if teacher else 'the output'} of step {t - 1}, read at step {t}"
            feeds[t] = d.node(
                _Node(f"din_{t}", "input", t, _lines(name, shown, g), ["decoder"], _tooltip(tip, v, g), _norm(g))
            )
        return feeds

    # --- a row of states

    def state_row(self, part: str, k: int, r: int, steps, below: dict, context: str | None = None) -> _Row:
        """Layer k's states (direction r: 1 is reverse), its recurrent edges and the edges into it."""
        shape, d, num = self.shape, self.d, self.num
        visible, gaps = steps
        L, reverse = shape.num_layers, r == 1
        j = k * self.dirs + r
        row = _Row(part, k, reverse)
        mark = _layer_mark(k, L)
        arrow = ("←" if reverse else "→") if self.dirs == 2 else ""
        letter = "s" if part == "decoder" else "h"
        classes = (
            ([part] if self.enc_dec else []) + (["reverse"] if reverse else []) + ([f"layer-{k}"] if L > 1 else [])
        )
        own = reverse or part == "decoder"  # weights of their own: the second colour pair
        w_ih, w_hh = ("W_ih2", "W_hh2") if own else ("W_ih", "W_hh")
        sup = "←" if reverse else ("dec" if part == "decoder" else "")
        h = gh = c = None
        if num is not None:
            h, gh, c = num.states(part, j)

        for t in visible:
            name = arrow + letter + mark + sub(t)
            v, g = (None, None) if h is None else (h[t - 1], None if gh is None else gh[t - 1])
            cell = "" if c is None else f"c{mark}{sub(t)} = {format_full(c[t - 1])}"
            shown = format_vector(v) if self.show else None
            row.ids[t] = d.node(
                _Node(
                    f"{letter}_{k}_{r}_{t}",
                    "state",
                    t,
                    _lines(name, shown, g),
                    classes,
                    _tooltip(name, v, g, cell),
                    _norm(g),
                )
            )
        # the chain in time order, an ellipsis for each hidden stretch
        chain, prev = [], 0
        for t in visible:
            if t > prev + 1:
                chain.append(self.ellipsis(f"{letter}_{k}_{r}", prev + 1, t - 1, classes))
                row.cells[(part, "gap", prev + 1)] = chain[-1]
            chain.append(row.ids[t])
            row.cells[(part, "t", t)] = row.ids[t]
            prev = t
        start = context
        if context is None:  # h_0: left of the row, or right of a reverse row (it reads x_T first)
            name = arrow + letter + mark + sub(0)
            v = g = None
            if num is not None:
                v, g = num.initial(part, j)
            shown = format_vector(v) if self.show else None
            start = d.node(
                _Node(
                    f"{letter}_{k}_{r}_0",
                    "state",
                    None,
                    _lines(name, shown, g),
                    classes + ["initial"],
                    _tooltip(name, v, g),
                    _norm(g),
                )
            )
        if context is None:
            row.cells[(part, "end" if reverse else "start", 0)] = start
        # recurrent edges in processing order; a reverse row keeps its left-to-right layout, arrows pointing left
        processed = [start] + (chain[::-1] if reverse else chain)
        for a, b in zip(processed, processed[1:], strict=False):
            tail, head = d.nodes[a], d.nodes[b]
            step = head.step if head.kind != "ellipsis" else None
            if a == context:
                d.edge(a, b, "state", None, classes=["context"], grad=tail.grad, back=False, **_context_attrs(k, L))
                continue
            attrs = d.weight(w_hh, _weight_html("hh", sup, mark), f"hh-{part}-{k}-{r}", flat=True)
            d.edge(a, b, "state", step, classes=["reverse"] if reverse else [], grad=tail.grad, back=reverse, **attrs)
        # the edges from below: x_t into layer 0, the layer below's states into layer k > 0, in processing order
        for t in visible[::-1] if reverse else visible:
            for src in below.get(t, []):
                tail = d.nodes[src]
                grad = tail.grad
                if shape.name == "one_to_many" and num is not None:
                    gx = num.step_input_grads()  # the vector's gradient from this step
                    grad = None if gx is None else norm(gx[t - 1])
                attrs = d.weight(w_ih, _weight_html("ih", sup, mark), f"ih-{part}-{k}-{r}")
                extra = ["reverse"] if reverse else []
                d.edge(src, row.ids[t], tail.kind, t, classes=extra, grad=grad, **attrs)
        return row

    def ellipsis(self, prefix: str, first: int, last: int, classes: list[str]) -> str:
        n = last - first + 1
        lines = ["⋯", f"{n} step{'s' if n > 1 else ''}", f"({first}–{last})"]
        return self.d.node(
            _Node(f"gap_{prefix}_{first}", "ellipsis", None, lines, classes, f"steps {first} to {last} are not drawn")
        )

    def concatenation(self, forward: _Row, reverse: _Row) -> str:
        """A bidirectional many_to_one reads both directions' last states: h_T forward, h_1 reverse."""
        d, T = self.d, self.shape.steps_in
        node = d.node(
            _Node(
                "concat",
                "op",
                T,
                [f"[→h{sub(T)} ; ←h{sub(1)}]"],
                [],
                "the forward direction's state after x_T beside the reverse direction's state after x_1",
            )
        )
        d.edge(forward.ids[T], node, "state", T, grad=d.nodes[forward.ids[T]].grad)
        d.edge(reverse.ids[1], node, "state", T, classes=["reverse"], grad=d.nodes[reverse.ids[1]].grad)
        return node

    # --- outputs and the feedback

    def outputs(self, top: dict[int, list[str]]) -> dict[tuple, str]:
        """y on the top row, read through W_hy from the top layer (both directions when bidirectional)."""
        shape, d, num = self.shape, self.d, self.num
        part = ["decoder"] if self.enc_dec else []
        y = gy = None
        if num is not None:
            y, gy = num.outputs()
        steps = [shape.steps_in] if shape.name == "many_to_one" else sorted(top)
        cells = {}
        for t in steps:
            index = 0 if shape.name == "many_to_one" else t - 1
            name = "y" if shape.name == "many_to_one" else "y" + sub(t)
            v, g = (None, None) if y is None else (y[index], None if gy is None else gy[index])
            shown = num.verdict(v) if self.show else None
            node = d.node(_Node(f"y_{t}", "output", t, _lines(name, shown, g), part, _tooltip(name, v, g), _norm(g)))
            cells[("decoder" if self.enc_dec else "encoder", "t", t)] = node
            for src in top[t]:
                attrs = d.weight("W_hy", "W<SUB>hy</SUB>", "hy")
                extra = ["reverse"] if "reverse" in d.nodes[src].classes else []
                d.edge(src, node, d.nodes[src].kind, t, classes=extra, grad=_norm(g), **attrs)
        return cells

    def feedback(self) -> None:
        """Dashed edges y_{t-1} -> the decoder's input t, where both are drawn."""
        d = self.d
        for node in list(d.nodes.values()):
            if node.id.startswith("din_") and node.step > 1 and f"y_{node.step - 1}" in d.nodes:
                d.edge(
                    f"y_{node.step - 1}",
                    node.id,
                    "output",
                    node.step,
                    classes=["feedback"],
                    grad=node.grad,
                    back=True,  # laid out upwards like every other edge between the rows
                    style="dashed",
                    color=FEEDBACK_COLOR,
                    weight="0",
                )


def _columns(part: str, visible: list[int], _gaps, *, start: bool = False, end: bool = False) -> list[tuple]:
    """The columns of a part: its initial state, its steps and gaps in time order, a reverse row's initial state."""
    cols = [(part, "start", 0)] if start else []
    prev = 0
    for t in visible:
        if t > prev + 1:
            cols.append((part, "gap", prev + 1))
        cols.append((part, "t", t))
        prev = t
    return cols + ([(part, "end", 0)] if end else [])


def _context_attrs(k: int, L: int) -> dict[str, str]:
    text = "context" + (f" (layer {k + 1})" if L > 1 else "")
    # an external label over the empty column between the encoder and the decoder (see _to_digraph)
    return {"color": CONTEXT_COLOR, "penwidth": "2.4", "xlabel": text, "fontcolor": CONTEXT_COLOR}


# ----- legend and Graphviz output


def _legend(shape: Wiring, grads: bool, title: str | None) -> str:
    """An HTML-like table: which colour is which shared weight, and the gradient scale."""

    def weight(key: str, which: str, sup: str = "") -> str:
        return f'<FONT COLOR="{WEIGHT_COLOR[key]}">{_weight_html(which, sup, "")}</FONT>'

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
        rows.append(f'<TR><TD ALIGN="LEFT"><FONT POINT-SIZE="16">{html.escape(title)}</FONT></TD></TR>')
    rows.append(f'<TR><TD ALIGN="LEFT">{cell}Same colour, same weights at every step:</TD></TR>')
    rows.append(f'<TR><TD ALIGN="LEFT">{("," + sp + sp).join(names)}</TD></TR>')
    if grads:
        cells = "".join(
            f'<TD WIDTH="40" BGCOLOR="{grad_color(10.0**m)}"><FONT POINT-SIZE="11">{html.escape(text)}</FONT></TD>'
            for m, text in ((-7, "<1e-6"), (-4, "1e-4"), (-2, "1e-2"), (0, "1"), (1, "10"), (2.5, ">1e2"))
        )
        rows.append('<TR><TD ALIGN="LEFT">‖∂L/∂v‖ on nodes and edges, vanishing → exploding:</TD></TR>')
        rows.append(f'<TR><TD ALIGN="LEFT"><TABLE BORDER="0" CELLSPACING="1"><TR>{cells}</TR></TABLE></TD></TR>')
    return '<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="1">' + "".join(rows) + "</TABLE>>"


def _classes(kind: str, step: int | None, extra: list[str]) -> str:
    return " ".join(dict.fromkeys([kind] + ([f"step-{step}"] if step is not None else []) + extra))


def _text(lines: list[str]) -> graphviz.quoting.NoHtml:
    """Lines joined by DOT's centred line break, never read as an HTML label."""
    return graphviz.nohtml("\\n".join(escape(line) for line in lines))


def _node_attrs(n: _Node) -> dict[str, str]:
    attrs = {"label": _text(n.lines), "fillcolor": FILL[n.kind], "class": _classes(n.kind, n.step, n.classes)}
    if n.kind == "ellipsis":
        attrs.update(shape="plaintext", fontcolor="#555555", fontsize="11", width="0.3")
    elif n.kind == "op":
        attrs.update(fontsize="13", height="0.36")
    elif "initial" in n.classes:
        attrs.update(style="rounded,filled,dashed", width="0.4")
    if "decoder" in n.classes and n.kind == "state":
        attrs["fillcolor"] = DECODER_FILL
    if n.tooltip:
        attrs["tooltip"] = _text(n.tooltip.split("\n"))
    return attrs


def _edge_attrs(e: _Edge, grads: bool) -> dict[str, str]:
    attrs = dict(e.attrs)
    attrs["class"] = _classes(e.kind, e.step, e.classes)
    if grads and e.grad is not None:
        attrs.update(color=grad_color(e.grad), penwidth=str(grad_width(e.grad)))
        attrs["tooltip"] = _text([f"‖∂L/∂v‖ = {label_number(e.grad)}"])
    return attrs


def _to_digraph(d: _Drawing, shape: Wiring, *, grads: bool, legend: bool, title: str | None) -> graphviz.Digraph:
    g = graphviz.Digraph(name=shape.name)
    g.attr(rankdir="BT", newrank="true", nodesep="0.3", ranksep="0.45", fontname=FONT, fontsize="13")
    g.attr(
        "node",
        shape="box",
        style="rounded,filled",
        fontname=FONT,
        fontsize=FONTSIZE,
        penwidth="1.2",
        color="#444444",
        width=NODE_WIDTH,
        height=NODE_HEIGHT,
        margin="0.06,0.04",
    )
    g.attr("edge", fontname=FONT, fontsize="13", color="#555555", arrowsize="0.7", penwidth="1.5")
    # a full grid, declared left to right: an invisible node where a row has nothing in a
    # column, so that every column lines up and dot keeps every row in time order. The
    # column between the encoder and the decoder is empty in the state rows, where the
    # context edge runs straight through it, and holds wide place holders in the others.
    last = len(d.rows) - 1
    grid = [
        [
            row.get(col) or (None if col == CONTEXT_COLUMN and 0 < k < last else f"pad_{k}_{c}")
            for c, col in enumerate(d.columns)
        ]
        for k, row in enumerate(d.rows)
    ]
    for ids in grid:
        for c, i in enumerate(ids):
            if i in d.nodes:
                g.node(i, group=f"c{c}", **_node_attrs(d.nodes[i]))
            elif i is not None:
                width = CONTEXT_WIDTH if d.columns[c] == CONTEXT_COLUMN else "0.01"
                g.node(i, label="", style="invis", width=width, height="0.01", group=f"c{c}")
    for ids in grid:
        with g.subgraph() as r:
            r.attr(rank="same")
            for i in ids:
                if i is not None:
                    r.node(i)
    for e in d.edges:
        if e.back:
            g.edge(e.head, e.tail, dir="back", **_edge_attrs(e, grads))
        else:
            g.edge(e.tail, e.head, **_edge_attrs(e, grads))
    for ids in grid:  # each row in time order
        present = [i for i in ids if i is not None]
        for a, b in zip(present, present[1:], strict=False):
            g.edge(a, b, style="invis")
    for lower, upper in zip(grid, grid[1:], strict=False):  # each row above the one before it, column by column
        for a, b in zip(lower, upper, strict=True):
            if a is not None and b is not None:
                g.edge(a, b, style="invis", weight="20")  # heavier than any real edge: columns stay straight
    if legend:
        g.attr(label=_legend(shape, grads, title), labelloc="b", labeljust="l")
    elif title:
        g.attr(label=_text([title]), labelloc="t", labeljust="l", fontsize="16")
    return g


# ----- the public builder


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
) -> graphviz.Digraph:
    """The unfolded graph of a wiring: a schematic from its sizes, or a run of a model with its numbers.

    Args:
        wiring: one of ``WIRINGS``.
        steps_in, steps_out: the lengths (see ``wiring_shape``); with a trace, its own.
        trace: a ``WiringTrace``; its model sets the structure (bidirectional, layers,
            feed, cell) and its numbers go on the nodes.
        grads: the matching ``WiringGrads``: nodes show ||dL/dv|| and edges are coloured and
            thickened by the gradient they carry, on ``rnnviz.graph``'s scale.
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
        numbers = _Numbers(trace, grads, batch_index, values, *names)
    limit = visible_limit(shape, max_steps)
    drawing = _Builder(shape, numbers, limit, weight_names).build()
    return _to_digraph(drawing, shape, grads=grads is not None, legend=legend, title=title)
