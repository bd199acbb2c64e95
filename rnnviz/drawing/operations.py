"""Inside one step of an unfolded graph: its matrix products, additions, gates and pointwise
products, in a cluster per layer and step (``unfolded_graph(level="operations")``).

LSTM: ``c_t = f * c_{t-1} + i * g``, ``h_t = o * tanh(c_t)``; GRU: the gates ``r``, ``z``, the
candidate ``n`` and the interpolation ``h_t = (1 - z) * n + z * h_{t-1}``. Each operation node
shows the gradient at its output (``engine.local_grads.step_grads``) when there are gradients.
"""

from __future__ import annotations

import numpy as np

from ..engine.local_grads import step_grads
from .kernel import Cluster, Drawing, cell_title, layer_mark, maybe_norm, node_id, sub
from .style import WEIGHT_COLOR
from .unfolding import Row, Steps, node, weight_edges


def ops_step(d: Drawing, s: Steps, k: int, t: int, inp: str, row: Row) -> Row:
    """Operation level: the step's computational graph in a cluster."""
    trace, opts = s.trace, s.opts
    params, lt, L = trace.params, trace.layers[k], trace.params.num_layers
    o = _Ops(d, s, k, t)
    before = set(d.nodes)
    wx, wh = ("W_x", "W_y") if opts.neuron else ("W_ih", "W_hh")
    xname = "x" if k == 0 else "h" + layer_mark(k - 1, L)
    hname = "y" if opts.neuron else "h"
    gru = params.cell == "gru"  # its biases sit inside both products
    gx = o.op("gx", f"{wx}·{xname}" + (" + b_ih" if gru else ""), s.at(lt.x, t) @ params.layers[k].W_ih.T)
    gh = o.op("gh", f"{wh}·{hname}" + (" + b_hh" if gru else ""), s.at(lt.h_prev, t) @ params.layers[k].W_hh.T)
    d.edge(inp, gx, grad=maybe_norm(o.local.get("x")) if k == 0 else None)
    d.edge(row.h, gh)
    if params.cell == "rnn":
        h, c, bias = _rnn(o, gx, gh, hname)
    elif params.cell == "lstm":
        h, c, bias = _lstm(o, gx, gh, hname, row)
    else:
        h, c, bias = _gru(o, gx, gh, hname, row)
    if opts.weights == "labels":
        for n, name in ((gx, "W_ih"), (gh, "W_hh"), (bias, "b")):
            if n is not None:
                d.nodes[n].attrs.update(color=WEIGHT_COLOR[name], penwidth="2")
    if opts.weights == "nodes" and not opts.neuron:
        weight_edges(d, s, k, t, {"W_ih": gx, "W_hh": gh, "b": gx if gru else bias}, o.local)
        if gru:
            d.edge(node_id("w", "b", k), gh, "weight", style="dashed", color=WEIGHT_COLOR["b"], weight="0")
    members = [i for i in d.nodes if i not in before and d.nodes[i].kind != "state"]
    title = f"{cell_title(params.cell, mark=layer_mark(k, L))} step {t}"
    d.clusters.append(Cluster(node_id("cluster", k, t), title, "cell", t, [f"layer-{k}"], members))
    return Row(h, c)


class _Ops:
    """The nodes of layer k's step t: operations and the states they make, with their gradients."""

    def __init__(self, d: Drawing, s: Steps, k: int, t: int):
        self.d, self.s, self.k, self.t = d, s, k, t
        self.lt = s.trace.layers[k]
        grads = s.opts.grads
        self.local = step_grads(s.trace.params, s.trace, grads, k, t, s.opts.batch_index) if grads else {}

    def op(self, name: str, symbol: str, value=None, kind: str = "op", shown: bool = False) -> str:
        """An operation; ``shown``: its value on the node too (gates, pre-activations)."""
        s, grad = self.s, self.local.get(name)
        lines = s.lines(symbol, value, grad) if shown else [symbol]
        tip = s.tooltip(symbol, value, grad)
        return self.d.node(
            node(node_id("op", name, self.k, self.t), kind, self.t, lines, tip, self.k, maybe_norm(grad))
        )

    def state(self, name: str, value: np.ndarray, grad_key: str) -> str:
        """h_t or c_t."""
        s, grad = self.s, self.local.get(grad_key)
        label = name + layer_mark(self.k, s.trace.params.num_layers) + sub(self.t)
        lines, tip = s.lines(label, value, grad), s.tooltip(label, value, grad)
        return self.d.node(node(node_id(name, self.k, self.t), "state", self.t, lines, tip, self.k, maybe_norm(grad)))

    def at(self, a: np.ndarray) -> np.ndarray:
        return self.s.at(a, self.t)


def _rnn(o: _Ops, gx: str, gh: str, hname: str) -> tuple[str, None, str]:
    """a = W_ih x + W_hh h + b, h = φ(a)."""
    a = o.op("a", "+ b", o.at(o.lt.pre["a"]), shown=True)
    act = o.op("h", o.s.opts.activation_label)
    h = o.state(hname, o.at(o.lt.h), "h")
    for src in (gx, gh):
        o.d.edge(src, a)
    o.d.edge(a, act)
    o.d.edge(act, h)
    return h, None, a


def _lstm(o: _Ops, gx: str, gh: str, hname: str, row: Row) -> tuple[str, str, str]:
    """z = W_ih x + W_hh h + b; i, f, o = σ(z), g = tanh(z); c = f * c_{t-1} + i * g; h = o * tanh(c)."""
    d, lt = o.d, o.lt
    z = o.op("z", "+ b", np.concatenate([o.at(lt.pre[n]) for n in "ifgo"]))
    d.edge(gx, z)
    d.edge(gh, z)
    gate = {}
    for n in "ifgo":
        fn = "tanh" if n == "g" else "σ"
        gate[n] = o.op(n, f"{n} = {fn}", o.at(lt.gates[n]), kind="gate", shown=True)
        d.edge(z, gate[n])
    fc, ig = o.op("fc", "×"), o.op("ig", "×")
    add_c, tanh_c, mul_o = o.op("c", "+"), o.op("tanh_c", "tanh"), o.op("h", "×")
    c = o.state("c", o.at(lt.c), "c")
    h = o.state(hname, o.at(lt.h), "h")
    for tail, head in (
        (row.c, fc),
        (gate["f"], fc),
        (gate["i"], ig),
        (gate["g"], ig),
        (fc, add_c),
        (ig, add_c),
        (add_c, c),
        (c, tanh_c),
        (tanh_c, mul_o),
        (gate["o"], mul_o),
        (mul_o, h),
    ):
        d.edge(tail, head)
    return h, c, z


def _gru(o: _Ops, gx: str, gh: str, hname: str, row: Row) -> tuple[str, None, None]:
    """r, z = σ(gx + gh); n = tanh(gx_n + r * gh_n); h = (1 - z) * n + z * h_{t-1} (biases inside gx, gh)."""
    d, lt = o.d, o.lt
    r = o.op("r", "r = σ", o.at(lt.gates["r"]), kind="gate", shown=True)
    zg = o.op("z", "z = σ", o.at(lt.gates["z"]), kind="gate", shown=True)
    rhn = o.op("rhn", "×")
    n = o.op("n", "n = tanh", o.at(lt.gates["n"]), kind="gate", shown=True)
    omz, zn, zh, add = o.op("one_minus_z", "1 −"), o.op("zn", "×"), o.op("zh", "×"), o.op("h", "+")
    h = o.state(hname, o.at(lt.h), "h")
    for g in (r, zg):
        d.edge(gx, g)
        d.edge(gh, g)
    for tail, head in (
        (gh, rhn),
        (r, rhn),
        (gx, n),
        (rhn, n),
        (zg, omz),
        (omz, zn),
        (n, zn),
        (zg, zh),
        (row.h, zh),
        (zn, add),
        (zh, add),
        (add, h),
    ):
        d.edge(tail, head)
    return h, None, None
