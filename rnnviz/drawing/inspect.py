r"""What a node of an unfolded graph is, and where its number comes from: ``inspect``.

For a node id of ``unfolded_graph`` (``kernel.node_id``: ``x_3``, ``h_0_3``, ``c_0_2``,
``cell_0_3``, ``op_fc_0_2``, ``w_W_ih_0``, ...) the inspector gives its name, its meaning in
one sentence, its equation, the same equation with the trace's numbers put in, its value and,
given the gradients, dL/d(node). The numbers are the trace's own (``rnnviz.forward``) and the
gradients ``backward``'s and ``local_grads.step_grads``'; nothing is computed twice. Up to
``FULL_UNITS`` hidden units every vector and matrix is written whole; above, the chosen unit's
row. The equations are those of ``engine.cells`` (PyTorch's), e.g. for the LSTM

.. math::

    c_t = f_t \odot c_{t-1} + i_t \odot g_t, \qquad h_t = o_t \odot \tanh(c_t)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import numpy as np

from ..engine.backward import Grads
from ..engine.forward import Trace
from ..engine.local_grads import step_grads
from .kernel import format_number, sub

FULL_UNITS = 4  # up to this hidden size the equations show whole vectors and matrices
SHOWN = 8  # entries of a long vector written before an ellipsis
OP_TITLES = {"rnn": "φ(a)", "lstm": "o ⊙ tanh(c)", "gru": "(1 − z) ⊙ n + z ⊙ h", "lstm_c": "f ⊙ c + i ⊙ g"}
GATE_WORDS = {
    "i": "the input gate: how much of the candidate g_t is written into the cell",
    "f": "the forget gate: how much of the old cell state c_{t-1} is kept",
    "g": "the candidate: the new content the input gate may write into the cell",
    "o": "the output gate: how much of tanh(c_t) is shown as h_t",
    "r": "the reset gate: how much of the old state enters the candidate n_t",
    "z": "the update gate: how much of the old state h_{t-1} is kept",
    "n": "the candidate: the new state the update gate mixes in",
}


@dataclass(frozen=True)
class Inspection:
    """One node, explained: everything the page shows about it (the page only renders this)."""

    node: str  # the node id
    title: str  # its name, as on the drawing: "h₃", "f ⊙ c₂ (layer 1)"
    meaning: str  # one sentence
    equation: str  # LaTeX, in symbols
    numbers: str  # LaTeX, the same with the trace's numbers (the chosen unit's row above FULL_UNITS)
    value: np.ndarray | None  # the node's value (None: a node that stands for several)
    grad: np.ndarray | None  # dL/d(node), when gradients were given
    uses: tuple[int, ...] = ()  # a shared weight: the steps that use it
    units: int = 0  # hidden units it has (a unit picker is offered above FULL_UNITS)
    unit: int | None = None  # the unit whose row ``numbers`` shows, or None for all


def _num(v: float) -> str:
    return format_number(v).replace("e", r"\mathrm{e}")


def vec(v: np.ndarray, rows=None) -> str:
    """A column vector as a LaTeX bmatrix (``rows``: only those entries); long ones elided."""
    v = np.ravel(v) if rows is None else np.ravel(v)[rows]
    if v.size == 1:
        return _num(v[0])
    shown = [_num(a) for a in v] if v.size <= SHOWN else [_num(a) for a in v[:3]] + [r"\vdots"] + [_num(v[-1])]
    return r"\begin{bmatrix}" + r"\\".join(shown) + r"\end{bmatrix}"


def mat(W: np.ndarray, rows=None) -> str:
    """A matrix as a LaTeX bmatrix (``rows``: only those rows); long rows elided."""
    W = W if rows is None else W[rows]
    if W.size == 1:
        return _num(W.flat[0])

    def row(r):
        cells = [_num(a) for a in r] if r.size <= SHOWN else [_num(a) for a in r[:3]] + [r"\cdots", _num(r[-1])]
        return " & ".join(cells)

    lines = [row(r) for r in W] if W.shape[0] <= SHOWN else [row(r) for r in W[:3]] + [r"\vdots", row(W[-1])]
    return r"\begin{bmatrix}" + r"\\".join(lines) + r"\end{bmatrix}"


def parse_node(node: str) -> tuple[str, str, int, int]:
    """(kind, name, layer, step) of a node id: ("h", "h", 0, 3) for ``h_0_3``, ("op", "tanh_c", 0, 2),
    ("x", "x", 0, 3), ("w", "W_ih", 0, 0), ("cell", "cell", 1, 2). Raises ValueError for any other id."""
    parts = str(node).split("_")
    try:
        if parts[0] == "x" and len(parts) == 2:
            return "x", "x", 0, int(parts[1])
        if parts[0] in ("h", "c", "cell") and len(parts) == 3:
            return parts[0], parts[0], int(parts[1]), int(parts[2])
        if parts[0] == "op" and len(parts) >= 4:
            return "op", "_".join(parts[1:-2]), int(parts[-2]), int(parts[-1])
        if parts[0] == "w" and len(parts) >= 3:
            return "w", "_".join(parts[1:-1]), int(parts[-1]), 0
    except ValueError:
        pass
    raise ValueError(f"{str(node)[:60]!r} is not a node of an unfolded graph")


def inspect(trace: Trace, node: str, *, grads: Grads | None = None, unit: int = 0, neuron: bool = False) -> Inspection:
    """The node ``node`` of ``unfolded_graph(trace, ...)`` explained with the trace's numbers.

    ``grads``: ``backward``'s result for this trace (dL/d(node) is then given); ``unit``: the
    hidden unit (0-based) whose row the equation shows when H > FULL_UNITS; ``neuron``: the
    single neuron's names (y_t, W_x, W_y). Raises ValueError for a node the trace does not have.
    """
    params = trace.params
    if trace.batched:
        raise ValueError("the inspector explains one sequence, not a batch")
    if params.num_directions != 1:
        raise ValueError("the inspector explains one-directional networks")
    kind, name, k, t = parse_node(node)
    L, T, H = params.num_layers, trace.steps, params.hidden_size
    if not 0 <= k < L or not 0 <= t <= T or (kind in ("x", "cell", "op") and t == 0):
        raise ValueError(f"{node[:60]!r} is not in this network of {L} layer(s) over {T} step(s)")
    if not 0 <= unit < H:
        raise ValueError(f"unit must be between 0 and {H - 1}, got {unit}")
    ctx = _Context(trace, grads, k, t, None if H <= FULL_UNITS else unit, neuron)
    if kind == "x":
        return ctx.input(node)
    if kind == "w":
        return ctx.weight(node, name)
    if t == 0:
        return ctx.initial(node, name)
    if params.cell == "lstm" and kind == "c":
        return ctx.op(node, "c")
    if params.cell != "lstm" and kind == "c":
        raise ValueError(f"{node[:60]!r}: only an LSTM has a cell state c")
    found = ctx.op(node, "h" if kind in ("h", "cell") else name, cell=kind == "cell")
    if kind == "op" and name in ("h", "c"):  # the operation that makes h_t or c_t, not the state itself
        return replace(found, title=f"{OP_TITLES[params.cell if name == 'h' else 'lstm_c']}, step {t}{ctx.where}")
    return found


def _sub(s: object) -> str:
    return "_{" + str(s) + "}"


class _Context:
    """Layer k's numbers at step t, and the LaTeX of its equations."""

    def __init__(self, trace: Trace, grads: Grads | None, k: int, t: int, unit: int | None, neuron: bool):
        self.trace, self.grads, self.k, self.t, self.unit, self.neuron = trace, grads, k, t, unit, neuron
        self.params = trace.params
        self.H = self.params.hidden_size
        self.lp = self.params.layers[k]
        self.lt = trace.layers[k]
        self.local = step_grads(self.params, trace, grads, k, t) if grads is not None and t > 0 else {}
        self.mark = "" if self.params.num_layers == 1 else f"^{{({k + 1})}}"
        self.where = "" if self.params.num_layers == 1 else f" (layer {k + 1})"

    # names, as the drawing writes them
    def h(self, s) -> str:
        return ("y" if self.neuron else "h") + self.mark + _sub(s)

    def x(self) -> str:
        return ("x" if self.k == 0 else "h^{(" + str(self.k) + ")}") + _sub(self.t)

    def w(self, which: str) -> str:
        if self.neuron:
            return {"ih": "W_x", "hh": "W_y"}[which]
        return "W" + _sub(which) + self.mark

    def at(self, a: np.ndarray) -> np.ndarray:
        return a[self.t - 1]

    def rows(self, blocks: int = 1):
        """The rows of a (blocks*H)-sized quantity that belong to the chosen unit (None: all)."""
        return None if self.unit is None else [b * self.H + self.unit for b in range(blocks)]

    def picked(self, v: np.ndarray, blocks: int = 1) -> str:
        return vec(v, self.rows(blocks))

    def make(self, node, title, meaning, equation, numbers, value, grad, **kw) -> Inspection:
        title = re.sub(r"(?<=[A-Za-z)])(\d+)", lambda m: sub(m.group(1)), title)  # h3 -> h₃, as drawn
        return Inspection(node, title, meaning, equation, numbers, value, grad, units=self.H, unit=self.unit, **kw)

    def input(self, node: str) -> Inspection:
        x = self.at(self.trace.x)
        g = None if self.grads is None else self.grads.x[self.t - 1]
        meaning = f"The input at step {self.t}: what the network reads at this step."
        return self.make(node, f"x{self.t}", meaning, f"x_{{{self.t}}}", f"x_{{{self.t}}} = {vec(x)}", x, g)

    def initial(self, node: str, name: str) -> Inspection:
        a = (self.trace.h0 if name == "h" else self.trace.c0)[self.k]
        g = None if self.grads is None else (self.grads.h0 if name == "h" else self.grads.c0)[self.k]
        what = "output" if self.neuron else "hidden state" if name == "h" else "cell state"
        meaning = f"The initial {what}{self.where}: what step 1 starts from (zeros unless set)."
        sym = self.h(0) if name == "h" else "c" + self.mark + "_{0}"
        return self.make(node, f"{name}0{self.where}", meaning, sym, f"{sym} = {self.picked(a)}", a, g)

    def weight(self, node: str, name: str) -> Inspection:
        lp = self.lp
        arrays = {"W_ih": lp.W_ih, "W_hh": lp.W_hh, "b": lp.b_ih + lp.b_hh}
        if name not in arrays:
            raise ValueError(f"{node[:60]!r}: no weight {name!r}")
        value = arrays[name]
        grad = None
        if self.grads is not None:
            gl = self.grads.params.layers[self.k]
            grad = {"W_ih": gl.W_ih, "W_hh": gl.W_hh, "b": gl.b_ih + gl.b_hh}[name]
        sym = {"W_ih": self.w("ih"), "W_hh": self.w("hh"), "b": r"b_{ih} + b_{hh}"}[name]
        shape = "×".join(map(str, value.shape))
        meaning = (
            f"A shared weight{self.where} ({shape}): one array used at every step, so its gradient "
            "is the sum of every step's contribution."
        )
        blocks = value.shape[0] // self.H
        numbers = f"{sym} = " + (mat(value, self.rows(blocks)) if value.ndim == 2 else vec(value, self.rows(blocks)))
        uses = tuple(range(1, self.trace.steps + 1))
        return self.make(node, name + self.where, meaning, sym, numbers, value, grad, uses=uses)

    def op(self, node: str, name: str, cell: bool = False) -> Inspection:
        maker = {"rnn": self._rnn, "lstm": self._lstm, "gru": self._gru}[self.params.cell]
        found = maker(name)
        if found is None:
            raise ValueError(f"{node[:60]!r}: a {self.params.cell.upper()} has no operation {name!r}")
        title, meaning, equation, numbers, value, blocks = found
        grad = self.local.get(name)
        if cell:
            title = f"{self.params.cell.upper()} cell, step {self.t}{self.where}"
            meaning = (
                f"The cell at step {self.t}: it computes the new state from the input and the old state. {meaning}"
            )
            grad = None
        return self.make(node, title, meaning, equation, numbers, value, grad)

    # the products every cell starts with
    def products(self, gru: bool) -> tuple[np.ndarray, np.ndarray]:
        x, hp = self.at(self.lt.x), self.at(self.lt.h_prev)
        gx, gh = self.lp.W_ih @ x, self.lp.W_hh @ hp
        return (gx + self.lp.b_ih, gh + self.lp.b_hh) if gru else (gx, gh)

    def product(self, which: str, blocks: int, gru: bool) -> tuple:
        x, hp = self.at(self.lt.x), self.at(self.lt.h_prev)
        W, v, sym_v = (self.lp.W_ih, x, self.x()) if which == "ih" else (self.lp.W_hh, hp, self.h(self.t - 1))
        b = self.lp.b_ih if which == "ih" else self.lp.b_hh
        out = W @ v + (b if gru else 0)
        rows = self.rows(blocks)
        eq = f"{self.w(which)}\\,{sym_v}" + (f" + b_{{{which}}}" if gru else "")
        nums = f"{mat(W, rows)}\\,{vec(v)}" + (f" + {vec(b, rows)}" if gru else "") + f" = {vec(out, rows)}"
        src = "the input" if which == "ih" else "the previous state"
        meaning = f"The matrix product of the weight {'W_ih' if which == 'ih' else 'W_hh'} with {src}."
        return f"{'W_' + which}·", meaning, eq, nums, out, blocks

    def _rnn(self, name: str):
        lt, lp, t = self.lt, self.lp, self.t
        act = self.params.nonlinearity
        a, h = self.at(lt.pre["a"]), self.at(lt.h)
        gx, gh = self.products(False)
        b = lp.b_ih + lp.b_hh
        if name in ("gx", "gh"):
            return self.product("ih" if name == "gx" else "hh", 1, False)
        if name == "a":
            eq = f"a_{{{t}}} = {self.w('ih')}\\,{self.x()} + {self.w('hh')}\\,{self.h(t - 1)} + b"
            nums = f"{self.picked(gx)} + {self.picked(gh)} + {self.picked(b)} = {self.picked(a)}"
            return "a (pre-activation)", "The weighted sum before the activation.", eq, nums, a, 1
        if name == "h":
            eq = f"{self.h(t)} = \\mathrm{{{act}}}(a_{{{t}}}) = \\mathrm{{{act}}}({self.w('ih')}\\,{self.x()} + "
            eq += f"{self.w('hh')}\\,{self.h(t - 1)} + b)"
            nums = f"{self.h(t)} = \\mathrm{{{act}}}({self.picked(a)}) = {self.picked(h)}"
            meaning = f"The new {'output' if self.neuron else 'hidden state'}: the activation of the weighted sum."
            return f"{'y' if self.neuron else 'h'}{t}{self.where}", meaning, eq, nums, h, 1
        return None

    def _lstm(self, name: str):
        lt, lp, t, H = self.lt, self.lp, self.t, self.H
        gate = {n: self.at(lt.gates[n]) for n in "ifgo"}
        c, cp, h = self.at(lt.c), self.at(lt.c_prev), self.at(lt.h)
        gx, gh = self.products(False)
        b = lp.b_ih + lp.b_hh
        z = gx + gh + b
        cm = "c" + self.mark
        if name in ("gx", "gh"):
            return self.product("ih" if name == "gx" else "hh", 4, False)
        if name == "z":
            eq = f"z_{{{t}}} = {self.w('ih')}\\,{self.x()} + {self.w('hh')}\\,{self.h(t - 1)} + b"
            nums = f"{self.picked(gx, 4)} + {self.picked(gh, 4)} + {self.picked(b, 4)} = {self.picked(z, 4)}"
            meaning = "The pre-activations of the four gates i, f, g, o, stacked (PyTorch's order)."
            return "z (pre-activations)", meaning, eq, nums, z, 4
        if name in gate:
            j = "ifgo".index(name)
            fn = "\\tanh" if name == "g" else "\\sigma"
            eq = f"{name}_{{{t}}} = {fn}(z^{{({name})}}_{{{t}}})"
            nums = f"{name}_{{{t}}} = {fn}({self.picked(z[j * H : (j + 1) * H])}) = {self.picked(gate[name])}"
            return f"{name}{t}{self.where}", GATE_WORDS[name].capitalize() + ".", eq, nums, gate[name], 1
        if name == "fc":
            eq = f"f_{{{t}}} \\odot {cm}_{{{t - 1}}}"
            nums = f"{self.picked(gate['f'])} \\odot {self.picked(cp)} = {self.picked(gate['f'] * cp)}"
            return f"f ⊙ c{t - 1}", "What the forget gate keeps of the old cell state.", eq, nums, gate["f"] * cp, 1
        if name == "ig":
            eq = f"i_{{{t}}} \\odot g_{{{t}}}"
            nums = f"{self.picked(gate['i'])} \\odot {self.picked(gate['g'])} = {self.picked(gate['i'] * gate['g'])}"
            value = gate["i"] * gate["g"]
            return "i ⊙ g", "What the input gate writes of the candidate.", eq, nums, value, 1
        if name == "c":
            eq = f"{cm}_{{{t}}} = f_{{{t}}} \\odot {cm}_{{{t - 1}}} + i_{{{t}}} \\odot g_{{{t}}}"
            nums = f"{cm}_{{{t}}} = {self.picked(gate['f'] * cp)} + {self.picked(gate['i'] * gate['g'])}"
            nums += f" = {self.picked(c)}"
            meaning = "The new cell state: the kept part of the old one plus what the input gate writes."
            return f"c{t}{self.where}", meaning, eq, nums, c, 1
        if name == "tanh_c":
            eq = f"\\tanh({cm}_{{{t}}})"
            nums = f"\\tanh({self.picked(c)}) = {self.picked(np.tanh(c))}"
            return f"tanh(c{t})", "The cell state squashed into (-1, 1).", eq, nums, np.tanh(c), 1
        if name == "h":
            eq = f"{self.h(t)} = o_{{{t}}} \\odot \\tanh({cm}_{{{t}}})"
            nums = f"{self.h(t)} = {self.picked(gate['o'])} \\odot {self.picked(np.tanh(c))} = {self.picked(h)}"
            meaning = "The new hidden state: the output gate's share of tanh(c_t)."
            return f"h{t}{self.where}", meaning, eq, nums, h, 1
        return None

    def _gru(self, name: str):
        lt, t, H = self.lt, self.t, self.H
        r, zg, n = (self.at(lt.gates[g]) for g in "rzn")
        hp, h, hn = self.at(lt.h_prev), self.at(lt.h), self.at(lt.hn)
        gx, gh = self.products(True)
        if name in ("gx", "gh"):
            return self.product("ih" if name == "gx" else "hh", 3, True)
        if name in ("r", "z"):
            j = "rz".index(name)
            part = slice(j * H, (j + 1) * H)
            value = r if name == "r" else zg
            eq = f"{name}_{{{t}}} = \\sigma(g^{{x}}_{{{name}}} + g^{{h}}_{{{name}}})"
            nums = f"\\sigma({self.picked(gx[part])} + {self.picked(gh[part])}) = {self.picked(value)}"
            return f"{name}{t}{self.where}", GATE_WORDS[name].capitalize() + ".", eq, nums, value, 1
        if name == "rhn":
            eq = f"r_{{{t}}} \\odot (W_{{hn}}\\,{self.h(t - 1)} + b_{{hn}})"
            nums = f"{self.picked(r)} \\odot {self.picked(hn)} = {self.picked(r * hn)}"
            return "r ⊙ (W_hn h + b_hn)", "The part of the old state the reset gate lets in.", eq, nums, r * hn, 1
        if name == "n":
            eq = f"n_{{{t}}} = \\tanh(g^{{x}}_{{n}} + r_{{{t}}} \\odot (W_{{hn}}\\,{self.h(t - 1)} + b_{{hn}}))"
            nums = f"\\tanh({self.picked(gx[2 * H :])} + {self.picked(r * hn)}) = {self.picked(n)}"
            return f"n{t}{self.where}", GATE_WORDS["n"].capitalize() + ".", eq, nums, n, 1
        if name == "one_minus_z":
            nums = f"1 - {self.picked(zg)} = {self.picked(1 - zg)}"
            return "1 − z", "The share of the candidate in the new state.", f"1 - z_{{{t}}}", nums, 1 - zg, 1
        if name == "zn":
            nums = f"{self.picked(1 - zg)} \\odot {self.picked(n)} = {self.picked((1 - zg) * n)}"
            return (
                "(1 − z) ⊙ n",
                "The candidate's part of the new state.",
                f"(1 - z_{{{t}}}) \\odot n_{{{t}}}",
                nums,
                (1 - zg) * n,
                1,
            )
        if name == "zh":
            eq = f"z_{{{t}}} \\odot {self.h(t - 1)}"
            nums = f"{self.picked(zg)} \\odot {self.picked(hp)} = {self.picked(zg * hp)}"
            return "z ⊙ h", "The old state's part of the new state.", eq, nums, zg * hp, 1
        if name == "h":
            eq = f"{self.h(t)} = (1 - z_{{{t}}}) \\odot n_{{{t}}} + z_{{{t}}} \\odot {self.h(t - 1)}"
            nums = f"{self.h(t)} = {self.picked((1 - zg) * n)} + {self.picked(zg * hp)} = {self.picked(h)}"
            meaning = "The new hidden state: a mix of the candidate and the old state, set by the update gate."
            return f"h{t}{self.where}", meaning, eq, nums, h, 1
        return None


def full_text(v: np.ndarray) -> str:
    """Every entry to 6 significant digits: what the inspector writes as a node's value and gradient."""
    v = np.ravel(v)
    text = ", ".join(f"{a:.6g}" for a in v)
    return text if v.size == 1 else f"[{text}]"


def title_of(trace: Trace, node: str, *, neuron: bool = False) -> str:
    """A node's name for a link to it ("h₂", "i ⊙ g"), or its id where it cannot be inspected."""
    try:
        return inspect(trace, node, neuron=neuron).title
    except ValueError:
        return node
