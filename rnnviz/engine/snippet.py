"""A Python snippet that reproduces a number of rnnviz in PyTorch: ``torch_snippet``.

The snippet builds ``torch.nn.RNN``, ``LSTM`` or ``GRU`` with exactly these weights (every
float written with ``repr``, so it reads back bit for bit) and this input, runs it in float64
and prints the value of one node of the unfolded graph (``drawing.kernel.node_id``): a state
``h_k_t`` or ``c_k_t`` is torch's own h_n / c_n after the first t steps; an operation inside a
step is computed from torch's weights and those states with PyTorch's equations. So "agrees
with PyTorch" can be checked by anyone with torch installed; rnnviz itself never imports it.
"""

from __future__ import annotations

import numpy as np

from .cells import Params
from .weights import to_state_dict

MODULES = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}
# an operation of layer k at step t, from: inp (the layer's input x_t), hp (h_{t-1}), cp (c_{t-1}) and the
# layer's weights w_ih, w_hh, b_ih, b_hh; "gates" is torch's stacked pre-activation (i, f, g, o or r, z, n)
OPERATIONS = {
    "rnn": {
        "gx": "w_ih @ inp",
        "gh": "w_hh @ hp",
        "a": "w_ih @ inp + b_ih + w_hh @ hp + b_hh",
        "h": "ACT(w_ih @ inp + b_ih + w_hh @ hp + b_hh)",
    },
    "lstm": {
        "gx": "w_ih @ inp",
        "gh": "w_hh @ hp",
        "z": "w_ih @ inp + b_ih + w_hh @ hp + b_hh",
        "i": "torch.sigmoid(gates[0:H])",
        "f": "torch.sigmoid(gates[H : 2 * H])",
        "g": "torch.tanh(gates[2 * H : 3 * H])",
        "o": "torch.sigmoid(gates[3 * H :])",
        "fc": "torch.sigmoid(gates[H : 2 * H]) * cp",
        "ig": "torch.sigmoid(gates[0:H]) * torch.tanh(gates[2 * H : 3 * H])",
        "c": "c_n[k]",
        "tanh_c": "torch.tanh(c_n[k])",
        "h": "h_n[k]",
    },
    "gru": {
        "gx": "w_ih @ inp + b_ih",
        "gh": "w_hh @ hp + b_hh",
        "r": "torch.sigmoid(gx[0:H] + gh[0:H])",
        "z": "torch.sigmoid(gx[H : 2 * H] + gh[H : 2 * H])",
        "rhn": "torch.sigmoid(gx[0:H] + gh[0:H]) * gh[2 * H :]",
        "n": "torch.tanh(gx[2 * H :] + torch.sigmoid(gx[0:H] + gh[0:H]) * gh[2 * H :])",
        "one_minus_z": "1 - torch.sigmoid(gx[H : 2 * H] + gh[H : 2 * H])",
        "zn": "(1 - torch.sigmoid(gx[H : 2 * H] + gh[H : 2 * H])) * torch.tanh(gx[2 * H :] + torch.sigmoid(gx[0:H] + gh[0:H]) * gh[2 * H :])",  # noqa: E501
        "zh": "torch.sigmoid(gx[H : 2 * H] + gh[H : 2 * H]) * hp",
        "h": "h_n[k]",
    },
}


def _literal(a: np.ndarray) -> str:
    """Nested lists of floats written with repr: ast.literal_eval gives the same numbers back."""
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 0:
        return repr(float(a))
    return "[" + ", ".join(_literal(row) for row in a) + "]"


def _target(node: str, cell: str, L: int, T: int) -> tuple[str, int, int]:
    """(what to print, layer, step) for a node id; raises ValueError for a node torch cannot show."""
    parts = str(node).split("_")
    try:
        if parts[0] == "x" and len(parts) == 2:
            return "x", 0, int(parts[1])
        if parts[0] in ("h", "c", "cell") and len(parts) == 3:
            what, k, t = ("h" if parts[0] == "cell" else parts[0]), int(parts[1]), int(parts[2])
        elif parts[0] == "op" and len(parts) >= 4:
            what, k, t = "_".join(parts[1:-2]), int(parts[-2]), int(parts[-1])
        elif parts[0] == "w" and len(parts) >= 3:
            return "w:" + "_".join(parts[1:-1]), int(parts[-1]), 0
        else:
            raise ValueError
    except ValueError:
        raise ValueError(f"{str(node)[:60]!r} is not a node PyTorch can reproduce") from None
    if not 0 <= k < L or not 0 <= t <= T or (what == "c" and cell != "lstm"):
        raise ValueError(f"{str(node)[:60]!r} is not in this network")
    if parts[0] == "op" and what not in OPERATIONS[cell]:
        raise ValueError(f"{str(node)[:60]!r}: a {cell.upper()} has no operation {what!r}")
    return what, k, t


def torch_snippet(params: Params, x: np.ndarray, node: str, h0: np.ndarray | None = None) -> str:
    """Python code that builds torch.nn.RNN/LSTM/GRU with ``params`` and runs it on ``x`` (T, D),
    starting from ``h0`` (L, H; zeros if None; the LSTM's c_0 is zeros), and prints ``node``'s value.

    Raises ValueError for a bidirectional network, a batch, or a node it cannot reproduce.
    """
    if params.num_directions != 1:
        raise ValueError("the snippet reproduces one-directional networks")
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError("the snippet reproduces one sequence (T, D), not a batch")
    cell, L, H = params.cell, params.num_layers, params.hidden_size
    what, k, t = _target(node, cell, L, x.shape[0])
    if cell == "rnn" and params.nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"torch.nn.RNN has tanh and relu only, not {params.nonlinearity}")
    h0 = np.zeros((L, H)) if h0 is None else np.asarray(h0, dtype=np.float64).reshape(L, H)
    extra = f", nonlinearity={params.nonlinearity!r}" if cell == "rnn" else ""
    weights = ",\n    ".join(f"{name!r}: {_literal(a)}" for name, a in to_state_dict(params).items())
    lines = [
        "import torch",
        "",
        "torch.set_default_dtype(torch.float64)",
        f"net = torch.nn.{MODULES[cell]}(input_size={params.input_size}, hidden_size={H}, num_layers={L}{extra})",
        "W = {\n    " + weights + ",\n}",
        f"X = {_literal(x)}  # x_1 ... x_T, one row a step",
        f"H0 = {_literal(h0)}  # h_0 of each layer",
        "with torch.no_grad():",
        "    for name, value in W.items():",
        "        getattr(net, name).copy_(torch.tensor(value))",
        "x, h0 = torch.tensor(X), torch.tensor(H0)",
        "start = (h0, torch.zeros_like(h0))" if cell == "lstm" else "start = h0",
    ]
    lines += _value_lines(what, cell, k, t, H, params.nonlinearity)
    return "\n".join(lines) + "\n"


def _value_lines(what: str, cell: str, k: int, t: int, H: int, act: str) -> list[str]:
    """The snippet's last lines: run the net and print the node's value."""
    if what == "x":
        return [f"print(x[{t - 1}].tolist())  # x_{t}"]
    if what.startswith("w:"):
        attr = {"W_ih": f"weight_ih_l{k}", "W_hh": f"weight_hh_l{k}"}.get(what[2:])
        if attr is None:  # b: the two biases always act as their sum
            return [f"print((net.bias_ih_l{k} + net.bias_hh_l{k}).tolist())  # b_ih + b_hh, layer {k + 1}"]
        return [f"print(net.{attr}.tolist())"]
    lstm = cell == "lstm"
    if t == 0:
        first = ("start[1]" if what == "c" else "start[0]") if lstm else "start"
        return [f"print({first}[{k}].tolist())  # layer {k + 1}'s initial state"]
    split = "h_n, c_n = after" if lstm else "h_n = after"
    out = ["with torch.no_grad():", f"    _, after = net(x[:{t}], start)  # the states after the first {t} steps"]
    out.append(f"    {split}")
    if what in ("h", "c"):
        return out + [f"    print({what}_n[{k}].tolist())  # layer {k + 1}, step {t}"]
    before = f"net(x[:{t - 1}], start)[1]" if t > 1 else "start"
    out += [
        f"    before = {before}  # the states after {t - 1} steps",
        f"    hp = {'before[0]' if lstm else 'before'}[{k}]" + (f"\n    cp = before[1][{k}]" if lstm else ""),
        f"    inp = {f'x[{t - 1}]' if k == 0 else f'h_n[{k - 1}]'}  # the layer's input at step {t}",
        f"    w_ih, w_hh, b_ih, b_hh = net.weight_ih_l{k}, net.weight_hh_l{k}, net.bias_ih_l{k}, net.bias_hh_l{k}",
        f"    H = {H}",
        "    gates = w_ih @ inp + b_ih + w_hh @ hp + b_hh",
        "    gx, gh = w_ih @ inp + b_ih, w_hh @ hp + b_hh",
        f"    print(({OPERATIONS[cell][what].replace('ACT', 'torch.' + act).replace('[k]', f'[{k}]')}).tolist())",
    ]
    return out
