"""The rows of a wiring's unfolded graph (``wirings``), with the numbers of a run on them.

From the bottom: the inputs, a row of states per layer (and, for a bidirectional layer, a
right-to-left row above it), the concatenation a bidirectional many-to-one reads, the
outputs. ``Numbers`` reads one sequence's values and gradients out of a ``WiringTrace`` and
``WiringGrads``; ``Builder`` puts the nodes and edges of every row into a kernel ``Drawing``
and returns the ``Grid`` they sit on, which ``wirings`` lays out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..learning.architectures import WiringGrads, WiringTrace
from .kernel import (
    Drawing,
    Node,
    format_full,
    format_vector,
    in_time_order,
    layer_mark,
    maybe_norm,
    node_lines,
    norm,
    step_window,
    sub,
    tooltip,
    weight_html,
)
from .style import CONTEXT_COLOR, DECODER_FILL, FEEDBACK_COLOR, WEIGHT_COLOR

if TYPE_CHECKING:
    from .wirings import Wiring

CONTEXT_COLUMN = ("context", "gap", 0)  # an empty column between the encoder and the decoder


@dataclass(frozen=True)
class Numbers:
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


@dataclass
class Grid:
    """A wiring's nodes on a grid: a column per visible step (and initial state, and gap), left
    to right, and a row per kind of node, bottom to top (each row maps columns to its nodes)."""

    columns: list[tuple]  # (part, "start" | "t" | "gap" | "end", step)
    rows: list[dict[tuple, str]]


@dataclass
class Row:
    """One row of states: a layer and direction of the encoder or the decoder."""

    part: str  # "encoder" or "decoder"
    layer: int
    reverse: bool
    ids: dict[int, str] = field(default_factory=dict)  # visible step -> state node
    cells: dict[tuple, str] = field(default_factory=dict)  # column -> node


@dataclass
class Inputs:
    feeds: dict[int, str]  # step -> the input node that step reads
    cells: dict[tuple, str]  # column -> node


class Builder:
    """Fills a drawing with a wiring's rows: inputs, states (a row per layer and direction), outputs."""

    def __init__(self, d: Drawing, shape: Wiring, num: Numbers | None, limit: int, name_weights: bool):
        self.d, self.shape, self.num, self.limit = d, shape, num, limit
        self.name_weights = name_weights
        self.named: set[str] = set()  # weights already named on an edge
        self.dirs = 2 if shape.bidirectional else 1
        self.enc_dec = shape.name == "encoder_decoder"
        self.show = num is not None and num.values

    def build(self) -> Grid:
        """Every row's nodes and edges, and the grid they sit on."""
        shape, L = self.shape, self.shape.num_layers
        enc_steps, _ = step_window(shape.encoder_steps, self.limit)
        columns = _columns("encoder", enc_steps, start=True, end=self.dirs == 2)
        inputs = self.inputs(enc_steps)
        rows: list[Row] = []
        below = {t: [x] for t, x in inputs.feeds.items()}
        for k in range(L):
            layer = [self.state_row("encoder", k, r, enc_steps, below) for r in range(self.dirs)]
            below = {t: [row.ids[t] for row in layer] for t in layer[0].ids}
            rows += layer
        top = below
        concat: dict[tuple, str] = {}
        if self.enc_dec:
            dec_steps, _ = step_window(shape.steps_out, self.limit)
            columns += [CONTEXT_COLUMN] + _columns("decoder", dec_steps)
            dec_inputs = self.decoder_inputs(dec_steps)
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
        return Grid(columns, [inputs.cells] + [r.cells for r in rows] + ([concat] if concat else []) + [outputs])

    def node(self, id: str, kind: str, step: int | None, lines: list[str], classes: list[str], tip: str, **kw) -> str:
        return self.d.node(Node(id, kind, step, lines, tip, classes=list(classes), **kw))

    def edge(self, tail: str, head: str, kind: str, *, classes=(), **kw) -> None:
        """An edge, in the head's part of an encoder-decoder (encoder or decoder)."""
        part = [c for c in self.d.nodes[head].classes if c in ("encoder", "decoder")]
        self.d.edge(tail, head, kind, classes=part + list(classes), **kw)

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

    def inputs(self, visible: list[int]) -> Inputs:
        """x_t on the bottom row; one_to_many: the one vector, read at every step or the first."""
        shape, num = self.shape, self.num
        part = ["encoder"] if self.enc_dec else []
        x = gx = None
        if num is not None:
            x, gx = num.inputs()
        if shape.name == "one_to_many":
            v, g = (None, None) if x is None else (x[0], None if gx is None else gx[0])
            shown = num.word(v) if self.show else None
            node = self.node("x_1", "input", 1, node_lines("x", shown, g), part, tooltip("x", v, g), grad=maybe_norm(g))
            steps = visible if shape.feed == "every" else [1]
            return Inputs({t: node for t in steps}, {("encoder", "t", 1): node})
        feeds = {}
        for t in visible:
            name = "x" + sub(t)
            v, g = (None, None) if x is None else (x[t - 1], None if gx is None else gx[t - 1])
            shown = num.word(v) if self.show else None
            lines, tip = node_lines(name, shown, g), tooltip(name, v, g)
            feeds[t] = self.node(f"x_{t}", "input", t, lines, part, tip, grad=maybe_norm(g))
        return Inputs(feeds, {("encoder", "t", t): x for t, x in feeds.items()})

    def decoder_inputs(self, visible: list[int]) -> dict[int, str]:
        """The decoder's input t: the start vector (zeros), then y_{t-1} fed back (or the target)."""
        num = self.num
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
            lines, tip = node_lines(name, shown, g), tooltip(tip, v, g)
            feeds[t] = self.node(f"din_{t}", "input", t, lines, ["decoder"], tip, grad=maybe_norm(g))
        return feeds

    def state_row(self, part: str, k: int, r: int, visible: list[int], below: dict, context: str | None = None) -> Row:
        """Layer k's states (direction r: 1 is reverse), its recurrent edges and the edges into it."""
        shape, d, num = self.shape, self.d, self.num
        L, reverse = shape.num_layers, r == 1
        j = k * self.dirs + r
        row = Row(part, k, reverse)
        mark = layer_mark(k, L)
        arrow = ("←" if reverse else "→") if self.dirs == 2 else ""
        letter = "s" if part == "decoder" else "h"
        classes = (
            ([part] if self.enc_dec else []) + (["reverse"] if reverse else []) + ([f"layer-{k}"] if L > 1 else [])
        )
        fill = {"fillcolor": DECODER_FILL} if part == "decoder" else {}
        own = reverse or part == "decoder"  # weights of their own: the second colour pair
        w_ih, w_hh = ("W_ih2", "W_hh2") if own else ("W_ih", "W_hh")
        sup = "←" if reverse else ("dec" if part == "decoder" else "")
        h = gh = c = None
        if num is not None:
            h, gh, c = num.states(part, j)
        chain = []  # in time order, an ellipsis for each hidden stretch
        for first, last in in_time_order(visible):
            if last is not None:
                chain.append(self.ellipsis(f"{letter}_{k}_{r}", first, last, classes, k))
                row.cells[(part, "gap", first)] = chain[-1]
                continue
            t = first
            name = arrow + letter + mark + sub(t)
            v, g = (None, None) if h is None else (h[t - 1], None if gh is None else gh[t - 1])
            cell = "" if c is None else f"c{mark}{sub(t)} = {format_full(c[t - 1])}"
            shown = format_vector(v) if self.show else None
            lines, tip = node_lines(name, shown, g), tooltip(name, v, g, cell)
            row.ids[t] = self.node(
                f"{letter}_{k}_{r}_{t}", "state", t, lines, classes, tip, layer=k, grad=maybe_norm(g), attrs=dict(fill)
            )
            chain.append(row.ids[t])
            row.cells[(part, "t", t)] = row.ids[t]
        start = context
        if context is None:  # h_0: left of the row, or right of a reverse row (it reads x_T first)
            name = arrow + letter + mark + sub(0)
            v = g = None
            if num is not None:
                v, g = num.initial(part, j)
            shown = format_vector(v) if self.show else None
            lines, tip = node_lines(name, shown, g), tooltip(name, v, g)
            start = self.node(
                f"{letter}_{k}_{r}_0", "state", None, lines, classes + ["initial"], tip, layer=k, grad=maybe_norm(g)
            )
            row.cells[(part, "end" if reverse else "start", 0)] = start
        # recurrent edges in processing order; a reverse row keeps its left-to-right layout, arrows pointing left
        processed = [start] + (chain[::-1] if reverse else chain)
        for a, b in zip(processed, processed[1:], strict=False):
            if a == context:
                self.edge(a, b, "state", classes=["context"], timeless=True, **_context_attrs(k, L))
                continue
            attrs = self.weight(w_hh, weight_html("hh", sup, mark), f"hh-{part}-{k}-{r}", flat=True)
            self.edge(a, b, "state", classes=["reverse"] if reverse else [], back=reverse, **attrs)
        # the edges from below: x_t into layer 0, the layer below's states into layer k > 0, in processing order
        for t in visible[::-1] if reverse else visible:
            for src in below.get(t, []):
                grad = None
                if shape.name == "one_to_many" and num is not None:
                    gx = num.step_input_grads()  # the vector's gradient from this step
                    grad = None if gx is None else norm(gx[t - 1])
                attrs = self.weight(w_ih, weight_html("ih", sup, mark), f"ih-{part}-{k}-{r}")
                self.edge(
                    src, row.ids[t], d.nodes[src].kind, classes=["reverse"] if reverse else [], grad=grad, **attrs
                )
        return row

    def ellipsis(self, prefix: str, first: int, last: int, classes: list[str], k: int) -> str:
        n = last - first + 1
        lines = ["⋯", f"{n} step{'s' if n > 1 else ''}", f"({first}–{last})"]
        tip = f"steps {first} to {last} are not drawn"
        return self.node(f"gap_{prefix}_{first}", "ellipsis", None, lines, classes, tip, layer=k)

    def concatenation(self, forward: Row, reverse: Row) -> str:
        """A bidirectional many_to_one reads both directions' last states: h_T forward, h_1 reverse."""
        T = self.shape.steps_in
        tip = "the forward direction's state after x_T beside the reverse direction's state after x_1"
        node = self.node("concat", "op", T, [f"[→h{sub(T)} ; ←h{sub(1)}]"], [], tip)
        self.edge(forward.ids[T], node, "state")
        self.edge(reverse.ids[1], node, "state", classes=["reverse"])
        return node

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
            lines, tip = node_lines(name, shown, g), tooltip(name, v, g)
            node = self.node(f"y_{t}", "output", t, lines, part, tip, grad=maybe_norm(g))
            cells[("decoder" if self.enc_dec else "encoder", "t", t)] = node
            for src in top[t]:
                attrs = self.weight("W_hy", weight_html("hy"), "hy")
                extra = ["reverse"] if "reverse" in d.nodes[src].classes else []
                self.edge(src, node, d.nodes[src].kind, classes=extra, grad=maybe_norm(g), **attrs)
        return cells

    def feedback(self) -> None:
        """Dashed edges y_{t-1} -> the decoder's input t, where both are drawn."""
        d = self.d
        for node in list(d.nodes.values()):
            if node.id.startswith("din_") and node.step > 1 and f"y_{node.step - 1}" in d.nodes:
                self.edge(
                    f"y_{node.step - 1}",
                    node.id,
                    "output",
                    classes=["feedback"],
                    grad=node.grad,
                    back=True,  # laid out upwards like every other edge between the rows
                    style="dashed",
                    color=FEEDBACK_COLOR,
                    weight="0",
                )


def _columns(part: str, visible: list[int], *, start: bool = False, end: bool = False) -> list[tuple]:
    """The columns of a part: its initial state, its steps and gaps in time order, a reverse row's initial state."""
    middle = [(part, "t", t) if last is None else (part, "gap", t) for t, last in in_time_order(visible)]
    return ([(part, "start", 0)] if start else []) + middle + ([(part, "end", 0)] if end else [])


def _context_attrs(k: int, L: int) -> dict[str, str]:
    text = "context" + (f" (layer {k + 1})" if L > 1 else "")
    # an external label over the empty column between the encoder and the decoder (see wirings._grid)
    return {"color": CONTEXT_COLOR, "penwidth": "2.4", "xlabel": text, "fontcolor": CONTEXT_COLOR}
