"""Computational graphs of a recurrent network, drawn with Graphviz.

Three textbook pictures, built from the real weights and trace:

- ``folded_graph``: the cell with its feedback loop (for the single neuron, the input
  weight ``W_x`` and the feedback weight ``W_y`` on ``y_{t-1}``);
- ``unfolded_graph`` at ``level="cell"``: ``h_0``, then per step ``x_t -> cell_t -> h_t``
  along the time axis, stacked layers as rows;
- ``unfolded_graph`` at ``level="operations"``: inside every step the matrix products,
  additions, gates and pointwise products (LSTM ``c_t = f * c_{t-1} + i * g``,
  ``h_t = o * tanh(c_t)``; GRU ``r``, ``z``, ``n`` and the interpolation).

The builders return a ``graphviz.Digraph`` and render nothing; ``render`` and
``render_svg`` call the ``dot`` program. Every node and edge of step ``t`` has the
class ``step-t`` and its kind (``input``, ``state``, ``cell``, ``output``, ``gate``,
``op``, ``weight``, ``ellipsis``), which Graphviz copies into the SVG. Long sequences
collapse to their first and last steps around an ellipsis node, so no graph has more
than ``MAX_NODES`` nodes. The layout follows colah's "Understanding LSTM Networks" and
the unrolled-neuron figure of Géron's "Hands-On Machine Learning", ch. 15.
"""

from __future__ import annotations

import html
import math
import re
import shutil
from dataclasses import dataclass, field

import graphviz
import numpy as np

from ..engine.backward import Grads
from ..engine.cells import Params
from ..engine.forward import Trace
from ..engine.local_grads import step_grads
from ..engine.numerics import norm as _norm
from ..engine.numerics import quiet_overflow

LEVELS = ("cell", "operations")
KINDS = ("input", "state", "cell", "output", "gate", "op", "weight", "ellipsis")
MAX_NODES = 400  # the collapse keeps every graph below this
WEIGHT_MODES = ("labels", "nodes", "off")  # how weight sharing is drawn
DEFAULT_MAX_STEPS = {"cell": 12, "operations": 4}  # readable on a slide
MAX_STEPS_WEIGHT_NODES = 6  # shared weight nodes: an edge into every step, so keep few steps
FONT = "Helvetica,Arial,sans-serif"
FONTSIZE = "14"
FILL = {  # one colour per kind, the same in every view
    "input": "#fff2cc",
    "state": "#dae8fc",
    "cell": "#d5e8d4",
    "output": "#f8cecc",
    "gate": "#e1d5e7",
    "op": "#ffffff",
    "weight": "#eeeeee",
    "ellipsis": "#ffffff",
}
WEIGHT_COLOR = {"W_ih": "#b85450", "W_hh": "#6c8ebf", "b": "#82b366"}
HIGHLIGHT = "#ff7f00"
# gradient magnitude -> colour: (log10 |g|, colour) stops from vanishing to exploding
GRAD_STOPS = (
    (-6.0, "#cccccc"),
    (-4.0, "#9ecae1"),
    (-2.0, "#4292c6"),
    (0.0, "#08519c"),
    (1.0, "#756bb1"),
    (2.0, "#de2d26"),
)
CELL_TITLE = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}
# operation-level nodes per layer and step, besides the states (h, and c for the LSTM)
OPS_PER_STEP = {"rnn": 4, "lstm": 12, "gru": 10}


class GraphvizUnavailable(RuntimeError):
    """The Graphviz ``dot`` program is not installed, so nothing can be rendered."""


# ----- numbers and text


def format_number(v: float) -> str:
    """Three significant digits, compact: ``-0.123``, ``12.3``, ``1.23e-05``, ``inf``, ``nan``."""
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == 0:
        return "0"
    if 1e-3 <= abs(v) < 1e3:
        return f"{v:.3g}"
    return f"{v:.2e}"


def label_number(v: float) -> str:
    """``format_number`` for labels: nan, which finite weights and inputs only give after an
    overflow (inf - inf), is written as the word "overflow"."""
    return "overflow" if math.isnan(float(v)) else format_number(v)


def format_vector(v: np.ndarray, preview: int = 2) -> str:
    """A scalar for one entry; otherwise the first ``preview`` entries and an ellipsis."""
    v = np.ravel(v)
    if v.size == 1:
        return label_number(v[0])
    shown = v if v.size <= preview + 1 else v[:preview]
    tail = "" if v.size <= preview + 1 else ", …"
    return "[" + ", ".join(label_number(a) for a in shown) + tail + "]"


def format_full(v: np.ndarray) -> str:
    """Every entry, for tooltips."""
    v = np.ravel(v)
    if v.size == 1:
        return label_number(v[0])
    return "[" + ", ".join(label_number(a) for a in v) + "]"


def norm(v: np.ndarray) -> float:
    return _norm(v)  # exact for huge values; inf or nan once they overflowed


def escape(text: str) -> str:
    """Make text literal inside a quoted DOT string (backslash escapes, quotes, newlines)."""
    text = str(text).replace("\\", "\\\\").replace('"', '\\"')
    return text.replace("\r", "").replace("\n", "\\n")


def _label(lines: list[str]) -> graphviz.quoting.NoHtml:
    """Lines joined by DOT's centred line break; never read as an HTML label."""
    return graphviz.nohtml("\\n".join(escape(line) for line in lines))


_SUB = str.maketrans("0123456789-+", "₀₁₂₃₄₅₆₇₈₉₋₊")


def sub(n: int | str) -> str:
    """Unicode subscript: ``sub(12) == '₁₂'``."""
    return str(n).translate(_SUB)


def _layer_mark(k: int, L: int) -> str:
    """Superscript layer index where there is more than one layer: ``h⁽¹⁾``."""
    if L == 1:
        return ""
    return "⁽" + str(k + 1).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")) + "⁾"


# ----- gradient colours


def _lerp_color(c0: str, c1: str, s: float) -> str:
    a = [int(c0[i : i + 2], 16) for i in (1, 3, 5)]
    b = [int(c1[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * s):02x}" for x, y in zip(a, b, strict=True))


def grad_color(g: float) -> str:
    """Colour of a gradient magnitude on a log scale: grey below 1e-6, blue, red above 1e2."""
    if math.isnan(g):
        return "#000000"
    m = math.log10(g) if g > 0 else -math.inf
    if m <= GRAD_STOPS[0][0]:
        return GRAD_STOPS[0][1]
    for (m0, c0), (m1, c1) in zip(GRAD_STOPS, GRAD_STOPS[1:], strict=False):
        if m <= m1:
            return _lerp_color(c0, c1, (m - m0) / (m1 - m0))
    return GRAD_STOPS[-1][1]


def grad_width(g: float) -> float:
    """Pen width from 0.5 (vanishing, <= 1e-6) to 4 (exploding, >= 1e2)."""
    if not g > 0 or math.isnan(g):
        return 0.5
    s = min(max((math.log10(g) + 6.0) / 8.0, 0.0), 1.0)
    return round(0.5 + 3.5 * s, 2)


# ----- which steps are drawn


def step_window(T: int, max_steps: int, keep: int | None = None) -> tuple[list[int], list[tuple[int, int]]]:
    """The visible steps (1-based) and the hidden gaps ``(first, last)`` between them.

    All steps when ``T <= max_steps``; otherwise the first half and the last half of
    ``max_steps``, plus ``keep`` (a highlighted step) if it would be hidden.
    """
    if T <= max_steps:
        return list(range(1, T + 1)), []
    budget = max(max_steps, 2)
    extra = keep is not None and budget // 2 < keep <= T - (budget - budget // 2)
    if extra:
        budget = max(budget - 1, 2)
    head = budget - budget // 2
    tail = budget - head
    steps = set(range(1, head + 1)) | set(range(T - tail + 1, T + 1))
    if keep is not None and 1 <= keep <= T:
        steps.add(keep)
    visible = sorted(steps)
    gaps = [(a + 1, b - 1) for a, b in zip(visible, visible[1:], strict=False) if b > a + 1]
    return visible, gaps


def nodes_per_step(params: Params, level: str) -> int:
    """Nodes one visible step adds: the input x_t plus, per layer, the cell or its operations and states."""
    states = 2 if params.cell == "lstm" else 1
    inner = 1 if level == "cell" else OPS_PER_STEP[params.cell]
    return 1 + params.num_layers * (inner + states)


def weights_mode(shared_weights: bool | str) -> str:
    """``True`` -> "labels", ``False`` -> "off"; "labels", "nodes" and "off" pass through."""
    mode = {True: "labels", False: "off"}.get(shared_weights, shared_weights)
    if mode not in WEIGHT_MODES:
        raise ValueError(f"shared_weights must be True, False, 'labels', 'nodes' or 'off', got {shared_weights!r}")
    return mode


def fixed_nodes(params: Params, *, shared_weights: bool | str, neuron: bool = False) -> int:
    """Nodes that do not depend on T: initial states and shared weights (the legend is the graph's label)."""
    L = params.num_layers
    initial = L * (2 if params.cell == "lstm" else 1)
    weights = 3 * L if weights_mode(shared_weights) == "nodes" and not neuron else 0
    return initial + weights


def visible_limit(params: Params, level: str, max_steps: int | None, *, fixed: int, weights: str = "labels") -> int:
    """``max_steps`` (default per level), lowered until the graph fits in ``MAX_NODES``.

    Up to two gaps (around a highlighted step) cost one ellipsis node per layer each. With
    shared weight nodes at most ``MAX_STEPS_WEIGHT_NODES`` steps: their long edges into
    every step make dot's layout slow (minutes for 24 steps).
    """
    wanted = DEFAULT_MAX_STEPS[level] if max_steps is None else int(max_steps)
    if weights == "nodes":
        wanted = min(wanted, MAX_STEPS_WEIGHT_NODES)
    room = MAX_NODES - fixed - 2 * params.num_layers
    return max(2, min(wanted, room // nodes_per_step(params, level)))


def expected_node_count(trace: Trace, *, level: str = "cell", **options) -> int:
    """What ``unfolded_graph(trace, level=level, **options)`` will draw, from the structure alone."""
    opts = _Options.make(trace, level=level, **options)
    visible, gaps = step_window(trace.steps, opts.limit, opts.keep)
    return opts.fixed + len(visible) * nodes_per_step(trace.params, level) + len(gaps) * trace.params.num_layers


# ----- the drawing: nodes and edges with a kind and a step, styled at the end


@dataclass
class _Node:
    id: str
    kind: str
    step: int | None  # None: not tied to a step (initial state, weight, legend, ellipsis)
    lines: list[str]
    tooltip: str = ""
    layer: int | None = None
    grad: float | None = None
    attrs: dict[str, str] = field(default_factory=dict)


@dataclass
class _Edge:
    tail: str
    head: str
    kind: str
    step: int | None
    grad: float | None = None
    attrs: dict[str, str] = field(default_factory=dict)
    below: bool = False  # the tail is drawn below the head in the same column


@dataclass
class _Drawing:
    nodes: dict[str, _Node] = field(default_factory=dict)
    edges: list[_Edge] = field(default_factory=list)
    ranks: list[list[str]] = field(default_factory=list)  # groups drawn with rank=same
    clusters: dict[str, tuple[str, str, list[str]]] = field(default_factory=dict)  # name -> (label, class, ids)
    legend: str | None = None  # an HTML-like table, already escaped

    def node(self, node: _Node) -> str:
        self.nodes[node.id] = node
        return node.id

    def edge(self, tail: str, head: str, kind: str | None = None, grad=None, below=False, **attrs) -> None:
        """An edge belongs to the step of its head; its kind and gradient default to the tail's."""
        t, h = self.nodes[tail], self.nodes[head]
        step = h.step if h.step is not None else t.step if h.kind != "ellipsis" else None
        self.edges.append(_Edge(tail, head, kind or t.kind, step, t.grad if grad is None else grad, attrs, below))


def node_id(*parts: object) -> str:
    """A DOT identifier from parts: ``node_id("h", 0, 3) == "h_0_3"``."""
    return "_".join(str(p) for p in parts)


# ----- options


@dataclass(frozen=True)
class _Options:
    level: str
    values: bool
    grads: Grads | None
    weights: str  # one of WEIGHT_MODES
    highlight_step: int | None
    highlight_path: bool
    batch_index: int
    neuron: bool
    activation_label: str
    limit: int
    fixed: int

    @property
    def keep(self) -> int | None:
        return self.highlight_step

    @staticmethod
    def make(
        trace: Trace,
        *,
        level: str = "cell",
        grads: Grads | None = None,
        values: bool = True,
        shared_weights: bool | str = True,
        highlight_step: int | None = None,
        highlight_path: bool = False,
        max_steps: int | None = None,
        batch_index: int = 0,
        neuron: bool = False,
        activation_label: str | None = None,
    ) -> _Options:
        params = trace.params
        if level not in LEVELS:
            raise ValueError(f"unknown level {level!r}; expected 'cell' or 'operations'")
        if neuron and (params.cell != "rnn" or params.hidden_size != 1 or params.input_size != 1):
            raise ValueError("the single neuron view needs an rnn cell with input size 1 and hidden size 1")
        if neuron and params.num_layers != 1:
            raise ValueError("the single neuron view has one layer")
        if max_steps is not None and int(max_steps) < 2:
            raise ValueError("max_steps must be at least 2 (the first and the last step)")
        if highlight_step is not None and not 1 <= highlight_step <= trace.steps:
            raise ValueError(f"highlight_step must be between 1 and {trace.steps}, got {highlight_step}")
        if highlight_path and highlight_step is None:
            highlight_step = 1
        if grads is not None and len(grads.dh) != params.num_layers:
            raise ValueError("the gradients belong to a different network")
        B = trace.x.shape[1] if trace.batched else 1
        if not 0 <= batch_index < B:
            raise ValueError(f"batch_index must be between 0 and {B - 1}, got {batch_index}")
        fixed = fixed_nodes(params, shared_weights=shared_weights, neuron=neuron)
        return _Options(
            level=level,
            values=values,
            grads=grads,
            weights=weights_mode(shared_weights),
            highlight_step=highlight_step,
            highlight_path=highlight_path,
            batch_index=batch_index,
            neuron=neuron,
            activation_label=activation_label or params.nonlinearity,
            limit=visible_limit(params, level, max_steps, fixed=fixed, weights=weights_mode(shared_weights)),
            fixed=fixed,
        )


class _Steps:
    """Values at step t (1-based) for the chosen batch element, and their labels."""

    def __init__(self, trace: Trace, opts: _Options):
        self.trace, self.opts = trace, opts

    def at(self, a: np.ndarray, t: int) -> np.ndarray:
        """Row t (1-based) of a (T, [B,] .) array."""
        return a[t - 1, self.opts.batch_index] if self.trace.batched else a[t - 1]

    def initial(self, a: np.ndarray, k: int) -> np.ndarray:
        """Layer k of an (L, [B,] H) initial state."""
        return a[k, self.opts.batch_index] if self.trace.batched else a[k]

    def lines(self, name: str, value: np.ndarray | None, grad: np.ndarray | None) -> list[str]:
        out = [name]
        if self.opts.values and value is not None:
            out.append(format_vector(value))
        if grad is not None:
            out.append("‖∇‖ " + label_number(norm(grad)))
        return out

    def tooltip(self, name: str, value: np.ndarray | None, grad: np.ndarray | None) -> str:
        parts = [name]
        if value is not None:
            parts.append(f"= {format_full(value)}")
        if grad is not None:
            parts.append(f"∂L/∂{name} = {format_full(grad)}")
        return "\n".join(parts)


def _weight_grads(local: dict, x: np.ndarray, h_prev: np.ndarray) -> dict[str, float]:
    """Frobenius norms of step t's contribution to each shared weight's gradient."""
    gx, gh = norm(local["gx"]), norm(local["gh"])
    return {"W_ih": gx * norm(x), "W_hh": gh * norm(h_prev), "b": math.hypot(gx, gh)}


# ----- one step of one layer


@dataclass
class _Row:
    """What the next step of a layer connects to: h_{t-1} (and c_{t-1}) node ids."""

    h: str
    c: str | None = None


def _cell_step(d: _Drawing, s: _Steps, k: int, t: int, inp: str, row: _Row) -> _Row:
    """Cell level: one node for the cell, then h_t (and c_t)."""
    trace, opts = s.trace, s.opts
    params, lt, L = trace.params, trace.layers[k], trace.params.num_layers
    local = step_grads(params, trace, opts.grads, k, t, opts.batch_index) if opts.grads else {}
    mark = _layer_mark(k, L)
    title = "Σ, " + opts.activation_label if opts.neuron else CELL_TITLE[params.cell]
    if params.cell == "rnn" and not opts.neuron:
        title += f" ({opts.activation_label})"
    z = local.get("a", local.get("z", local.get("gx")))
    tip = s.tooltip(f"{title} step {t}", None, z) + _gate_tooltip(s, lt, t)
    cell_lines = [title] if z is None else [title, "‖∇‖ " + label_number(norm(z))]
    cell = d.node(_Node(node_id("cell", k, t), "cell", t, cell_lines, tip, k, _maybe_norm(z)))
    h_name = ("y" if opts.neuron else "h") + mark + sub(t)
    h_val, dh = s.at(lt.h, t), local.get("h")
    kind = "output" if opts.neuron else "state"
    h = d.node(
        _Node(node_id("h", k, t), kind, t, s.lines(h_name, h_val, dh), s.tooltip(h_name, h_val, dh), k, _maybe_norm(dh))
    )
    wx, wy = ("W<SUB>x</SUB>", "W<SUB>y</SUB>") if opts.neuron else (f"W<SUB>ih</SUB>{mark}", f"W<SUB>hh</SUB>{mark}")
    if opts.weights != "labels":
        wx = wy = None
    in_grad = _maybe_norm(local.get("x")) if k == 0 else opts.grads and norm(s.at(opts.grads.dh[k - 1], t))
    d.edge(inp, cell, "input" if k == 0 else "state", grad=in_grad, below=True, **_edge_label(wx, "W_ih"))
    d.edge(row.h, cell, **_edge_label(wy, "W_hh"))
    d.edge(cell, h, "cell", grad=_maybe_norm(dh))
    c = None
    if params.cell == "lstm":
        c_name = "c" + mark + sub(t)
        c_val, dc = s.at(lt.c, t), local.get("c")
        c = d.node(
            _Node(
                node_id("c", k, t),
                "state",
                t,
                s.lines(c_name, c_val, dc),
                s.tooltip(c_name, c_val, dc),
                k,
                _maybe_norm(dc),
            )
        )
        d.edge(row.c, cell)
        d.edge(cell, c, "cell", grad=_maybe_norm(dc))
    if opts.weights == "nodes" and not opts.neuron:
        _weight_edges(d, s, k, t, {"W_ih": cell, "W_hh": cell, "b": cell}, local)
    return _Row(h, c)


def _gate_tooltip(s: _Steps, lt, t: int) -> str:
    return "".join(f"\n{name} = {format_full(s.at(v, t))}" for name, v in lt.gates.items())


def _maybe_norm(v: np.ndarray | None) -> float | None:
    return None if v is None else norm(v)


def _edge_label(html_text: str | None, weight: str) -> dict[str, str]:
    """An HTML-like edge label (for subscripts; the text is ours, never user input) in the weight's colour."""
    if html_text is None:
        return {}
    return {"label": f"<{html_text}>", "color": WEIGHT_COLOR[weight], "fontcolor": WEIGHT_COLOR[weight]}


def _weight_edges(d: _Drawing, s: _Steps, k: int, t: int, heads: dict[str, str], local: dict) -> None:
    """Dashed edges from layer k's shared weights into the nodes that use them at step t."""
    lt = s.trace.layers[k]
    contrib = _weight_grads(local, s.at(lt.x, t), s.at(lt.h_prev, t)) if local else {}
    for name, head in heads.items():
        if head is None:
            continue
        d.edge(
            node_id("w", name, k),
            head,
            "weight",
            grad=contrib.get(name),
            style="dashed",
            color=WEIGHT_COLOR[name],
            weight="0",
        )


def _ops_step(d: _Drawing, s: _Steps, k: int, t: int, inp: str, row: _Row) -> _Row:
    """Operation level: the step's computational graph in a cluster."""
    trace, opts = s.trace, s.opts
    params, lt, L = trace.params, trace.layers[k], trace.params.num_layers
    local = step_grads(params, trace, opts.grads, k, t, opts.batch_index) if opts.grads else {}
    mark = _layer_mark(k, L)
    before = set(d.nodes)

    def op(name: str, symbol: str, value=None, kind: str = "op", shown: bool = False) -> str:
        grad = local.get(name)
        lines = s.lines(symbol, value, grad) if shown else [symbol]
        return d.node(
            _Node(node_id("op", name, k, t), kind, t, lines, s.tooltip(symbol, value, grad), k, _maybe_norm(grad))
        )

    def state(name: str, value, grad_key: str) -> str:
        label = name + mark + sub(t)
        grad = local.get(grad_key)
        return d.node(
            _Node(
                node_id(name, k, t),
                "state",
                t,
                s.lines(label, value, grad),
                s.tooltip(label, value, grad),
                k,
                _maybe_norm(grad),
            )
        )

    wx, wh = ("W_x", "W_y") if opts.neuron else ("W_ih", "W_hh")
    xname = "x" if k == 0 else "h" + _layer_mark(k - 1, L)
    hname = "y" if opts.neuron else "h"
    gx = op(
        "gx", f"{wx}·{xname}" + (" + b_ih" if params.cell == "gru" else ""), s.at(lt.x, t) @ params.layers[k].W_ih.T
    )
    gh_val = s.at(lt.h_prev, t) @ params.layers[k].W_hh.T
    gh = op("gh", f"{wh}·{hname}" + (" + b_hh" if params.cell == "gru" else ""), gh_val)
    d.edge(inp, gx, grad=_maybe_norm(local.get("x")) if k == 0 else None)
    d.edge(row.h, gh)
    weights = {"W_ih": gx, "W_hh": gh}
    if params.cell == "rnn":
        a = op("a", "+ b", s.at(lt.pre["a"], t), shown=True)
        act = op("h", opts.activation_label)
        h = state(hname, s.at(lt.h, t), "h")
        for src in (gx, gh):
            d.edge(src, a)
        d.edge(a, act)
        d.edge(act, h)
        weights["b"], c = a, None
    elif params.cell == "lstm":
        z = op("z", "+ b", np.concatenate([s.at(lt.pre[n], t) for n in "ifgo"]))
        d.edge(gx, z)
        d.edge(gh, z)
        gate = {}
        for n in "ifgo":
            fn = "tanh" if n == "g" else "σ"
            gate[n] = op(n, f"{n} = {fn}", s.at(lt.gates[n], t), kind="gate", shown=True)
            d.edge(z, gate[n])
        fc, ig = op("fc", "×"), op("ig", "×")
        add_c, tanh_c, mul_o = op("c", "+"), op("tanh_c", "tanh"), op("h", "×")
        c = state("c", s.at(lt.c, t), "c")
        h = state(hname, s.at(lt.h, t), "h")
        d.edge(row.c, fc)
        d.edge(gate["f"], fc)
        d.edge(gate["i"], ig)
        d.edge(gate["g"], ig)
        d.edge(fc, add_c)
        d.edge(ig, add_c)
        d.edge(add_c, c)
        d.edge(c, tanh_c)
        d.edge(tanh_c, mul_o)
        d.edge(gate["o"], mul_o)
        d.edge(mul_o, h)
        weights["b"] = z
    else:
        r = op("r", "r = σ", s.at(lt.gates["r"], t), kind="gate", shown=True)
        zg = op("z", "z = σ", s.at(lt.gates["z"], t), kind="gate", shown=True)
        rhn = op("rhn", "×")
        n = op("n", "n = tanh", s.at(lt.gates["n"], t), kind="gate", shown=True)
        omz, zn, zh, add = op("one_minus_z", "1 −"), op("zn", "×"), op("zh", "×"), op("h", "+")
        h = state(hname, s.at(lt.h, t), "h")
        for g in (r, zg):
            d.edge(gx, g)
            d.edge(gh, g)
        d.edge(gh, rhn)
        d.edge(r, rhn)
        d.edge(gx, n)
        d.edge(rhn, n)
        d.edge(zg, omz)
        d.edge(omz, zn)
        d.edge(n, zn)
        d.edge(zg, zh)
        d.edge(row.h, zh)
        d.edge(zn, add)
        d.edge(zh, add)
        d.edge(add, h)
        weights["b"], c = None, None
    if opts.weights == "labels":
        for node, name in ((gx, "W_ih"), (gh, "W_hh"), (weights["b"], "b")):
            if node is not None:
                d.nodes[node].attrs.update(color=WEIGHT_COLOR[name], penwidth="2")
    if opts.weights == "nodes" and not opts.neuron:
        if params.cell == "gru":  # the biases sit inside both products
            weights["b"] = gx
            _weight_edges(d, s, k, t, weights, local)
            d.edge(node_id("w", "b", k), gh, "weight", style="dashed", color=WEIGHT_COLOR["b"], weight="0")
        else:
            _weight_edges(d, s, k, t, weights, local)
    members = [i for i in d.nodes if i not in before and d.nodes[i].kind != "state"]
    title = f"{CELL_TITLE[params.cell]}{mark} step {t}"
    d.clusters[node_id("cluster", k, t)] = (title, f"cell step-{t} layer-{k}", members)
    return _Row(h, c)


# ----- the unfolded graph


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
    opts = _Options.make(
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
    s = _Steps(trace, opts)
    d = _Drawing()
    params, L = trace.params, trace.params.num_layers
    rows = [_initial_row(d, s, k) for k in range(L)]
    d.ranks.append([r.h for r in rows] + [r.c for r in rows if r.c])
    if opts.weights == "nodes" and not opts.neuron:
        _weight_nodes(d, params)
    visible, gaps = step_window(trace.steps, opts.limit, opts.keep)
    step_fn = _cell_step if level == "cell" else _ops_step
    prev = 0
    for t in visible:
        if t > prev + 1:
            rows = [_ellipsis(d, s, k, prev + 1, t - 1, rows[k]) for k in range(L)]
        rows = _one_step(d, s, t, rows, step_fn)
        prev = t
    d.legend = _legend(s, params)
    return _to_digraph(d, s, rankdir)


def _one_step(d: _Drawing, s: _Steps, t: int, rows: list[_Row], step_fn) -> list[_Row]:
    """Every layer at step t; the input x_t below layer 0, each layer feeding the next."""
    name = "x" + sub(t)
    x_val = s.at(s.trace.x, t)
    dx = s.at(s.opts.grads.x, t) if s.opts.grads else None
    inp = d.node(
        _Node(node_id("x", t), "input", t, s.lines(name, x_val, dx), s.tooltip(name, x_val, dx), 0, _maybe_norm(dx))
    )
    column = [inp]
    new_rows = []
    for k, row in enumerate(rows):
        new = step_fn(d, s, k, t, inp, row)
        column.append(node_id("cell", k, t))
        new_rows.append(new)
        # at cell level h_t goes up from the cell itself, so the layers stay in one column
        inp = column[-1] if s.opts.level == "cell" else new.h
    if s.opts.level == "cell":
        d.ranks.append(column)
        d.ranks.append([r.h for r in new_rows] + [r.c for r in new_rows if r.c])
    return new_rows


def _initial_row(d: _Drawing, s: _Steps, k: int) -> _Row:
    """h_0 (and c_0) of layer k, with dL/dh_0 when gradients are given."""
    trace, opts, L = s.trace, s.opts, s.trace.params.num_layers
    grads = opts.grads
    mark = _layer_mark(k, L)

    def state(name: str, a: np.ndarray, ga: np.ndarray | None) -> str:
        label = name + mark + sub(0)
        v = s.initial(a, k)
        g = None if ga is None else s.initial(ga, k)
        kind = "output" if opts.neuron else "state"
        return d.node(
            _Node(node_id(name, k, 0), kind, None, s.lines(label, v, g), s.tooltip(label, v, g), k, _maybe_norm(g))
        )

    h = state("y" if opts.neuron else "h", trace.h0, grads.h0 if grads else None)
    c = state("c", trace.c0, grads.c0 if grads else None) if trace.params.cell == "lstm" else None
    return _Row(h, c)


def _ellipsis(d: _Drawing, s: _Steps, k: int, first: int, last: int, row: _Row) -> _Row:
    """One node per layer standing for the hidden steps first..last."""
    n = last - first + 1
    lines = [f"… {n} step{'s' if n > 1 else ''} hidden …", f"(steps {first}–{last})"]
    node = d.node(
        _Node(node_id("ellipsis", k, first), "ellipsis", None, lines, f"steps {first} to {last} are not drawn", k)
    )
    lt, grads = s.trace.layers[k], s.opts.grads

    def carried(a):  # gradient of the hidden state that leaves the gap (at step `last`)
        return None if grads is None or a is None else norm(s.at(a, last))

    d.edge(row.h, node)
    if row.c:
        d.edge(row.c, node)
    if s.opts.level == "cell":
        d.ranks.append([node])
    d.nodes[node].grad = carried(grads.dh[k]) if grads else None  # the edges out carry h_last
    return _Row(node, node if lt.c is not None else None)


def _weight_nodes(d: _Drawing, params: Params) -> None:
    """Layer k's W_ih, W_hh and b: one node each, shared by every step."""
    L = params.num_layers
    for k, lp in enumerate(params.layers):
        mark = _layer_mark(k, L)
        shapes = {"W_ih": lp.W_ih.shape, "W_hh": lp.W_hh.shape, "b": lp.b_ih.shape}
        for name, shape in shapes.items():
            label = name.replace("b", "b_ih + b_hh") if name == "b" else name
            lines = [label + mark, "×".join(map(str, shape)) + ", shared"]
            tip = f"{label}{mark}: the same {'×'.join(map(str, shape))} array at every step"
            d.node(_Node(node_id("w", name, k), "weight", None, lines, tip, k, attrs={"color": WEIGHT_COLOR[name]}))


def _legend(s: _Steps, params: Params) -> str | None:
    """An HTML-like table: the gradient colour scale and what the dashed weight edges mean."""
    rows = []
    opts = s.opts
    if opts.grads is not None:
        cells = "".join(
            f'<TD WIDTH="44" BGCOLOR="{grad_color(10.0**m)}"><FONT POINT-SIZE="12">{html.escape(text)}</FONT></TD>'
            for m, text in ((-7, "<1e-6"), (-4, "1e-4"), (-2, "1e-2"), (0, "1"), (1, "10"), (2.5, ">1e2"))
        )
        scale = f'<TABLE BORDER="0" CELLSPACING="1"><TR>{cells}</TR></TABLE>'
        rows.append('<TR><TD ALIGN="LEFT" COLSPAN="6">‖∂L/∂v‖ on edges and nodes: vanishing → exploding</TD></TR>')
        rows.append(f'<TR><TD ALIGN="LEFT" COLSPAN="6">{scale}</TD></TR>')
    if opts.neuron and opts.weights != "off":
        lp = params.layers[0]
        w = (
            f"W<SUB>x</SUB> = {label_number(lp.W_ih[0, 0])},  W<SUB>y</SUB> = {label_number(lp.W_hh[0, 0])},  "
            f"b = {label_number(lp.b_ih[0] + lp.b_hh[0])},  φ = {html.escape(opts.activation_label)}"
        )
        rows.append(f'<TR><TD ALIGN="LEFT" COLSPAN="6">{w}: the same at every step</TD></TR>')
    elif opts.weights != "off":
        lp = params.layers[0]
        shapes = {"W_ih": lp.W_ih.shape, "W_hh": lp.W_hh.shape, "b": lp.b_ih.shape}
        names = ",  ".join(
            f'<FONT COLOR="{WEIGHT_COLOR[n]}">{n.replace("_", "<SUB>", 1) + "</SUB>" if "_" in n else n}</FONT>'
            f" ({'×'.join(map(str, shape))}{', layer 1' if params.num_layers > 1 else ''})"
            for n, shape in shapes.items()
        )
        how = "dashed edges" if opts.weights == "nodes" else "same name, same colour"
        rows.append(
            f'<TR><TD ALIGN="LEFT" COLSPAN="6">{how}: {names}, one copy per layer, used at every step</TD></TR>'
        )
    if not rows:
        return None
    return '<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="2">' + "".join(rows) + "</TABLE>>"


# ----- styling and Graphviz output


def _node_style(n: _Node, level: str) -> dict[str, str]:
    if n.kind == "op":
        return {
            "shape": "circle" if len(n.lines[0]) <= 4 else "ellipse",
            "style": "filled",
            "fontsize": "16",
            "margin": "0.02",
        }
    if n.kind == "ellipsis":
        return {"shape": "plaintext", "style": "filled", "fontcolor": "#555555"}
    if n.kind == "cell":
        return {"shape": "box", "style": "rounded,filled,bold", "margin": "0.2,0.12"}
    if n.kind == "weight":
        return {"shape": "note", "style": "filled", "fontsize": "12"}
    return {"shape": "box", "style": "rounded,filled"}


def _classes(kind: str, step: int | None, layer: int | None, initial: bool = False) -> str:
    parts = [kind]
    if step is not None:
        parts.append(f"step-{step}")
    elif initial:
        parts.append("initial")
    if layer is not None:
        parts.append(f"layer-{layer}")
    return " ".join(parts)


def _highlighted(s: _Steps) -> set[int]:
    """Steps that stand out: the highlighted one, or every step on the path back from T."""
    t = s.opts.highlight_step
    if t is None:
        return set()
    return set(range(t, s.trace.steps + 1)) if s.opts.highlight_path else {t}


def _to_digraph(d: _Drawing, s: _Steps, rankdir: str) -> graphviz.Digraph:
    g = graphviz.Digraph(name="rnn")
    g.attr(rankdir=rankdir, newrank="true", nodesep="0.3", ranksep="0.45", fontname=FONT, fontsize=FONTSIZE)
    g.attr("node", fontname=FONT, fontsize=FONTSIZE, penwidth="1.2", color="#444444")
    g.attr("edge", fontname=FONT, fontsize=FONTSIZE, color="#555555", arrowsize="0.8")
    lit = _highlighted(s)
    clustered = {i for _, _, ids in d.clusters.values() for i in ids}
    for n in d.nodes.values():
        if n.id in clustered or n.kind == "legend":
            continue
        g.node(n.id, **_node_attrs(n, s, lit))
    for name, (label, cls, ids) in d.clusters.items():
        with g.subgraph(name=name) as c:
            step = int(cls.split("step-")[1].split()[0])
            lit_c = step in lit
            c.attr(label=escape(label), labeljust="l", style="rounded,dashed", color=HIGHLIGHT if lit_c else "#999999")
            c.attr(fontcolor="#555555", fontsize="12", penwidth="2.5" if lit_c else "1")
            c.attr(**{"class": cls})
            for i in ids:
                c.node(i, **_node_attrs(d.nodes[i], s, lit))
    for group in d.ranks:
        with g.subgraph() as r:
            r.attr(rank="same")
            for i in group:
                r.node(i)
    for e in d.edges:
        if e.below:  # drawn head -> tail with the arrow reversed, so dot puts the tail below
            g.edge(e.head, e.tail, dir="back", **_edge_attrs(e, d, s, lit))
        else:
            g.edge(e.tail, e.head, **_edge_attrs(e, d, s, lit))
    if d.legend is not None:
        g.attr(label=d.legend, labelloc="b", labeljust="l")
    return g


def _node_attrs(n: _Node, s: _Steps, lit: set[int]) -> dict[str, str]:
    attrs = _node_style(n, s.opts.level)
    attrs.update(label=_label(n.lines), fillcolor=FILL.get(n.kind, "#ffffff"))
    attrs["class"] = _classes(n.kind, n.step, n.layer, initial=n.id.endswith("_0") and n.step is None)
    if n.tooltip:
        attrs["tooltip"] = _label(n.tooltip.split("\n"))
    attrs.update(n.attrs)
    if n.step in lit:
        attrs.update(color=HIGHLIGHT, penwidth="3")
    return attrs


def _edge_attrs(e: _Edge, d: _Drawing, s: _Steps, lit: set[int]) -> dict[str, str]:
    attrs = dict(e.attrs)
    kind_step = e.step if e.kind != "ellipsis" and d.nodes[e.head].kind != "ellipsis" else None
    attrs["class"] = _classes(e.kind, kind_step, None)
    if s.opts.grads is not None and e.grad is not None:
        attrs.update(color=grad_color(e.grad), penwidth=str(grad_width(e.grad)))
        attrs["tooltip"] = _label([f"‖∂L/∂v‖ = {label_number(e.grad)}"])
    head_lit = d.nodes[e.head].step in lit
    tail = d.nodes[e.tail]
    on_path = head_lit and (tail.step in lit or not s.opts.highlight_path)
    if on_path and e.kind != "weight":
        attrs.update(penwidth=str(max(float(attrs.get("penwidth", 1)), 2.5)))
        if s.opts.grads is None:
            attrs["color"] = HIGHLIGHT
        if s.opts.highlight_path:
            attrs["style"] = "bold"
    return attrs


# ----- the folded cell


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
    g = graphviz.Digraph(name="rnn_folded")
    g.attr(rankdir=rankdir, nodesep="0.5", ranksep="0.7", fontname=FONT, fontsize=FONTSIZE)
    g.attr("node", fontname=FONT, fontsize=FONTSIZE, penwidth="1.2", color="#444444", style="rounded,filled")
    g.attr("edge", fontname=FONT, fontsize=FONTSIZE, color="#555555", arrowsize="0.8")
    if neuron:
        _folded_neuron(g, params, act, values)
    else:
        _folded_cells(g, params, act)
    return g


def _folded_neuron(g: graphviz.Digraph, params: Params, act: str, values: bool) -> None:
    """x_t -> (Σ, φ) -> y_t, and the loop that feeds y_{t-1} back with weight W_y."""
    lp = params.layers[0]
    wx, wy, b = lp.W_ih[0, 0], lp.W_hh[0, 0], lp.b_ih[0] + lp.b_hh[0]

    def weight(name: str, v: float) -> str:  # an HTML-like label: W<SUB>x</SUB> = 0.5
        return f"<{name}{' = ' + label_number(v) if values else ''}>"

    g.node("x", label="xₜ", shape="box", fillcolor=FILL["input"], **{"class": "input folded"})
    bias = [f"b = {label_number(b)}"] if values else ["+ b"]
    g.node(
        "neuron", label=_label(["Σ, " + act] + bias), shape="circle", fillcolor=FILL["cell"], **{"class": "cell folded"}
    )
    g.node("y", label="yₜ", shape="box", fillcolor=FILL["output"], **{"class": "output folded"})
    g.edge("x", "neuron", label=weight("W<SUB>x</SUB>", wx), **{"class": "input folded"})
    g.edge("neuron", "y", **{"class": "cell folded"})
    loop = "<(yₜ₋₁ fed back)<BR/>" + weight("W<SUB>y</SUB>", wy)[1:]  # the subscript's line last: it hangs low
    g.edge("neuron", "neuron", label=loop, **{"class": "output folded"})


def _folded_cells(g: graphviz.Digraph, params: Params, act: str) -> None:
    L = params.num_layers
    g.node(
        "x",
        label=_label(["x_t", f"D = {params.input_size}"]),
        shape="box",
        fillcolor=FILL["input"],
        **{"class": "input folded"},
    )
    prev = "x"
    for k in range(L):
        mark = _layer_mark(k, L)
        title = CELL_TITLE[params.cell] + mark + (f" ({act})" if params.cell == "rnn" else "")
        lines = [title, f"H = {params.hidden_size}"]
        cid = node_id("cell", k)
        g.node(
            cid,
            label=_label(lines),
            shape="box",
            fillcolor=FILL["cell"],
            style="rounded,filled,bold",
            **{"class": f"cell folded layer-{k}"},
        )
        g.edge(prev, cid, label=_label(["W_ih" + mark]), **{"class": "input folded"})
        loop = ["W_hh" + mark, "h" + mark + "_t−1"] + (["c" + mark + "_t−1"] if params.cell == "lstm" else [])
        g.edge(cid, cid, label=_label(loop), **{"class": f"state folded layer-{k}"})
        prev = cid
    g.node(
        "h",
        label=_label(["h_t" if L == 1 else "h" + _layer_mark(L - 1, L) + "_t"]),
        shape="box",
        fillcolor=FILL["state"],
        **{"class": "state folded"},
    )
    g.edge(prev, "h", **{"class": "cell folded"})


# ----- output


def dot_source(graph: graphviz.Digraph) -> str:
    """The DOT text of a graph (deterministic for the same inputs)."""
    return graph.source


_NODE_LINE = re.compile(r"^\s*(\"(?:[^\"\\]|\\.)*\"|[A-Za-z_][\w]*)\s*(\[|$)")
_KEYWORDS = {"graph", "node", "edge", "subgraph", "digraph", "strict"}


def count_nodes(graph: graphviz.Digraph | str) -> int:
    """Distinct node statements in a graph or its DOT text (rank groups repeat no node)."""
    source = graph if isinstance(graph, str) else graph.source
    ids = set()
    for line in source.splitlines():
        m = _NODE_LINE.match(line)
        if m and m.group(1) not in _KEYWORDS and "->" not in line:
            ids.add(m.group(1))
    return len(ids)


def graphviz_available() -> bool:
    """Whether the ``dot`` program is on the PATH (needed for SVG and PNG, not for DOT)."""
    return shutil.which("dot") is not None


def render(graph: graphviz.Digraph, fmt: str = "svg") -> bytes:
    """Lay out and render with ``dot``: ``fmt`` is "svg", "png", "pdf", ...

    Raises GraphvizUnavailable when ``dot`` is not installed.
    """
    if not graphviz_available():
        raise GraphvizUnavailable(
            "the Graphviz 'dot' program is not installed, so the graph cannot be rendered as "
            f"{fmt.upper()}; install Graphviz (apt install graphviz, brew install graphviz) "
            "or export the DOT text instead"
        )
    try:
        data = graph.pipe(format=fmt, quiet=True)
    except graphviz.ExecutableNotFound as err:
        raise GraphvizUnavailable(f"the Graphviz 'dot' program could not be run: {err}") from None
    # dot writes '-' as '&#45;' (same character to any XML reader); plain text keeps class="step-3" greppable
    return data.replace(b"&#45;", b"-") if fmt == "svg" else data


def render_svg(graph: graphviz.Digraph) -> str:
    """The graph as SVG text (see ``render``)."""
    return render(graph, "svg").decode("utf-8")
