"""Recurrent cells: parameters and one-step functions for the Elman RNN, LSTM and GRU.

Names, shapes and gate order follow PyTorch's ``torch.nn.RNN/LSTM/GRU`` so that a
state_dict copies over one to one: ``W_ih`` is ``(G*H, D)``, ``W_hh`` is ``(G*H, H)``,
both biases are kept, LSTM gates are stacked ``(i, f, g, o)`` and GRU gates ``(r, z, n)``.
Every step function works on a batch: ``x`` is ``(B, D)``, states are ``(B, H)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CELLS = ("rnn", "lstm", "gru")
NONLINEARITIES = ("tanh", "relu", "sigmoid", "linear")  # torch.nn.RNN has the first two
GATE_COUNT = {"rnn": 1, "lstm": 4, "gru": 3}
GATE_NAMES = {"rnn": (), "lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n")}
CELL_CHOICES = {  # the cells the app offers, as widgets, links and rnnviz.fit name them -> (cell, nonlinearity)
    "rnn_tanh": ("rnn", "tanh"),
    "rnn_relu": ("rnn", "relu"),
    "lstm": ("lstm", "tanh"),
    "gru": ("gru", "tanh"),
}
CELL_LABELS = {"rnn_tanh": "RNN (tanh)", "rnn_relu": "RNN (ReLU)", "lstm": "LSTM", "gru": "GRU"}


def cell_kind(choice: str) -> tuple[str, str]:
    """(cell, nonlinearity) of a cell choice: "rnn_tanh" -> ("rnn", "tanh"), "rnn_relu" -> ("rnn", "relu"),
    "lstm" -> ("lstm", "tanh"), "gru" -> ("gru", "tanh"); a bare "rnn" is the tanh RNN, as in torch."""
    if choice == "rnn":
        return CELL_CHOICES["rnn_tanh"]
    if not isinstance(choice, str) or choice not in CELL_CHOICES:
        raise ValueError(f"unknown cell {choice!r}; expected one of {', '.join(CELL_CHOICES)} (or rnn)")
    return CELL_CHOICES[choice]


def sigmoid(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Logistic function as (1 + tanh(x/2)) / 2: no overflow for any input, one transcendental."""
    out = np.multiply(x, 0.5, out=out)
    np.tanh(out, out=out)
    out *= 0.5
    out += 0.5
    return out


@dataclass(frozen=True, eq=False)
class LayerParams:
    """One layer's weights, PyTorch layout: ``W_ih`` (G*H, D), ``W_hh`` (G*H, H), biases (G*H,)."""

    W_ih: np.ndarray
    W_hh: np.ndarray
    b_ih: np.ndarray
    b_hh: np.ndarray


@dataclass(frozen=True, eq=False)
class Params:
    """A stack of recurrent layers of one cell kind ("rnn", "lstm" or "gru").

    With ``bidirectional=True`` (torch's ``bidirectional=True``) ``layers`` holds 2L
    LayerParams in torch's order: layer 0 forward, layer 0 reverse, layer 1 forward, ...;
    every layer after the first then reads 2H inputs (both directions' states side by side).
    """

    cell: str
    layers: tuple[LayerParams, ...]
    nonlinearity: str = "tanh"  # rnn only: tanh or relu (as torch), or sigmoid or linear
    bidirectional: bool = False  # layers alternate forward, reverse (torch's "_reverse" keys)

    def __post_init__(self) -> None:
        validate(self)

    @property
    def gate_count(self) -> int:
        return GATE_COUNT[self.cell]

    @property
    def hidden_size(self) -> int:
        return self.layers[0].W_hh.shape[1]

    @property
    def input_size(self) -> int:
        return self.layers[0].W_ih.shape[1]

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def num_layers(self) -> int:
        """Layers as torch counts them: a bidirectional layer (two LayerParams) is one."""
        return len(self.layers) // self.num_directions

    @property
    def layer_suffixes(self) -> tuple[str, ...]:
        """Each LayerParams' key suffix in a torch state_dict: "_l0", "_l0_reverse", "_l1", ..."""
        return tuple(layer_suffix(j, self.num_directions) for j in range(len(self.layers)))

    @property
    def gate_names(self) -> tuple[str, ...]:
        return GATE_NAMES[self.cell]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Params):
            return NotImplemented
        if (self.cell, self.nonlinearity, self.bidirectional, len(self.layers)) != (
            other.cell,
            other.nonlinearity,
            other.bidirectional,
            len(other.layers),
        ):
            return False
        return all(
            np.array_equal(getattr(a, k), getattr(b, k))
            for a, b in zip(self.layers, other.layers, strict=True)
            for k in ("W_ih", "W_hh", "b_ih", "b_hh")
        )

    __hash__ = None  # type: ignore[assignment]


def layer_suffix(j: int, num_directions: int = 1) -> str:
    """The torch key suffix of the j-th LayerParams: "_l{k}", or "_l{k}_reverse" for a reverse direction."""
    k, direction = divmod(j, num_directions)
    return f"_l{k}" + ("_reverse" if direction else "")


def require_unidirectional(params: Params, where: str) -> Params:
    """Return params unchanged, or raise ValueError if they are bidirectional and ``where`` cannot show them."""
    if params.bidirectional:
        raise ValueError(
            f"bidirectional weights: {where} draws one direction only; open them on the Architectures page"
        )
    return params


def validate(params: Params) -> None:
    """Raise ValueError unless the shapes of every layer fit together."""
    if params.cell not in CELLS:
        raise ValueError(f"unknown cell {params.cell!r}; expected one of {', '.join(CELLS)}")
    if params.nonlinearity not in NONLINEARITIES:
        raise ValueError(f"unknown nonlinearity {params.nonlinearity!r}; expected one of {', '.join(NONLINEARITIES)}")
    if params.cell != "rnn" and params.nonlinearity != "tanh":
        raise ValueError("a nonlinearity can only be chosen for the 'rnn' cell")
    if not isinstance(params.bidirectional, (bool, np.bool_)):
        raise ValueError(f"bidirectional must be True or False, got {params.bidirectional!r:.40}")
    if not params.layers:
        raise ValueError("a network needs at least one layer")
    nd = params.num_directions
    if len(params.layers) % nd:
        raise ValueError(
            f"a bidirectional network needs a forward and a reverse LayerParams per layer, "
            f"got an odd number ({len(params.layers)})"
        )
    G = GATE_COUNT[params.cell]
    W_hh0 = getattr(params.layers[0], "W_hh", None)
    H = W_hh0.shape[-1] if isinstance(W_hh0, np.ndarray) and W_hh0.ndim == 2 else 0
    if H < 1:
        raise ValueError("weight_hh_l0 must be a matrix of shape (G*H, H) with H >= 1")
    for j, layer in enumerate(params.layers):
        suffix = layer_suffix(j, nd)
        if not isinstance(layer, LayerParams):
            raise ValueError(f"layer {suffix[1:]} must be a LayerParams, got {type(layer).__name__}")
        D = layer.W_ih.shape[1] if isinstance(layer.W_ih, np.ndarray) and layer.W_ih.ndim == 2 else -1
        if j >= nd and D != nd * H:
            what = "both directions' hidden sizes, 2H" if nd == 2 else "the hidden size"
            raise ValueError(f"weight_ih{suffix} must have {nd * H} columns ({what}), got {D}")
        expected = {
            "weight_ih": (G * H, D),
            "weight_hh": (G * H, H),
            "bias_ih": (G * H,),
            "bias_hh": (G * H,),
        }
        arrays = {
            "weight_ih": layer.W_ih,
            "weight_hh": layer.W_hh,
            "bias_ih": layer.b_ih,
            "bias_hh": layer.b_hh,
        }
        for name, shape in expected.items():
            a = arrays[name]
            if not isinstance(a, np.ndarray) or a.shape != shape or D < 1:
                got = getattr(a, "shape", type(a).__name__)
                raise ValueError(
                    f"{name}{suffix} of a {params.cell} with hidden size {H} must have shape {shape}, got {got}"
                )
            if a.dtype != np.float64:
                raise ValueError(f"{name}{suffix} must be float64, got {a.dtype}")


def init_params(
    cell: str,
    input_size: int,
    hidden_size: int,
    num_layers: int = 1,
    *,
    nonlinearity: str = "tanh",
    seed: int = 0,
    scale: float = 1.0,
    bidirectional: bool = False,
) -> Params:
    """Seeded initialisation as PyTorch does it: every weight uniform in ±scale/sqrt(H)."""
    if cell not in CELLS:
        raise ValueError(f"unknown cell {cell!r}; expected one of {', '.join(CELLS)}")
    if min(input_size, hidden_size, num_layers) < 1:
        raise ValueError("input size, hidden size and layers must all be at least 1")
    rng = np.random.default_rng(seed)
    G, H = GATE_COUNT[cell], hidden_size
    nd = 2 if bidirectional else 1
    bound = scale / np.sqrt(H)
    layers = []
    for j in range(num_layers * nd):  # torch's order: layer 0 forward, layer 0 reverse, layer 1 forward, ...
        D = input_size if j < nd else nd * H
        W_ih, W_hh, b_ih, b_hh = (
            rng.uniform(-bound, bound, size=shape) for shape in ((G * H, D), (G * H, H), (G * H,), (G * H,))
        )
        layers.append(LayerParams(W_ih, W_hh, b_ih, b_hh))
    return Params(cell, tuple(layers), nonlinearity, bool(bidirectional))


def rnn_step(lp: LayerParams, x: np.ndarray, h: np.ndarray, nonlinearity: str = "tanh"):
    r"""One Elman RNN step.

    .. math::
        a_t = x_t W_{ih}^T + b_{ih} + h_{t-1} W_{hh}^T + b_{hh}, \qquad h_t = \phi(a_t)

    Args: x (B, D), h (B, H). Returns (a, h_new), both (B, H).
    """
    a = x @ lp.W_ih.T + lp.b_ih + h @ lp.W_hh.T + lp.b_hh  # (B, H)
    return a, activation(a, nonlinearity)


def activation(a: np.ndarray, nonlinearity: str, out: np.ndarray | None = None) -> np.ndarray:
    """The RNN cell's activation phi(a): tanh, relu, sigmoid or linear (the identity)."""
    if out is None:
        out = np.empty_like(a)
    if nonlinearity == "tanh":
        return np.tanh(a, out=out)
    if nonlinearity == "relu":
        return np.maximum(a, 0.0, out=out)
    if nonlinearity == "sigmoid":
        return sigmoid(a, out=out)
    out[...] = a
    return out


def activation_slope(a: np.ndarray, h: np.ndarray, nonlinearity: str, out: np.ndarray | None = None) -> np.ndarray:
    """phi'(a), written with the output h = phi(a) where that is cheaper."""
    if out is None:
        out = np.empty_like(a)
    if nonlinearity == "tanh":
        np.multiply(h, h, out=out)
        return np.subtract(1.0, out, out=out)
    if nonlinearity == "relu":
        return np.greater(a, 0.0, out=out)  # 1.0 where a > 0, else 0.0
    if nonlinearity == "sigmoid":
        np.subtract(1.0, h, out=out)
        out *= h
        return out
    out.fill(1.0)
    return out


def lstm_step(lp: LayerParams, x: np.ndarray, h: np.ndarray, c: np.ndarray):
    r"""One LSTM step, gates stacked (i, f, g, o) as in PyTorch.

    .. math::
        i = \sigma(W_{ii} x + b_{ii} + W_{hi} h + b_{hi}) \\
        f = \sigma(W_{if} x + b_{if} + W_{hf} h + b_{hf}) \\
        g = \tanh(W_{ig} x + b_{ig} + W_{hg} h + b_{hg}) \\
        o = \sigma(W_{io} x + b_{io} + W_{ho} h + b_{ho}) \\
        c' = f * c + i * g, \qquad h' = o * \tanh(c')

    Args: x (B, D), h (B, H), c (B, H). Returns (pre, gates, c_new, h_new) where pre and
    gates map "i", "f", "g", "o" to (B, H) arrays.
    """
    H = h.shape[-1]
    z = x @ lp.W_ih.T + lp.b_ih + h @ lp.W_hh.T + lp.b_hh  # (B, 4H)
    pre = {name: z[:, k * H : (k + 1) * H] for k, name in enumerate("ifgo")}
    i = sigmoid(pre["i"])
    f = sigmoid(pre["f"])
    g = np.tanh(pre["g"])
    o = sigmoid(pre["o"])
    c_new = f * c + i * g
    h_new = o * np.tanh(c_new)
    return pre, {"i": i, "f": f, "g": g, "o": o}, c_new, h_new


def gru_step(lp: LayerParams, x: np.ndarray, h: np.ndarray):
    r"""One GRU step, gates stacked (r, z, n) as in PyTorch.

    .. math::
        r = \sigma(W_{ir} x + b_{ir} + W_{hr} h + b_{hr}) \\
        z = \sigma(W_{iz} x + b_{iz} + W_{hz} h + b_{hz}) \\
        n = \tanh(W_{in} x + b_{in} + r * (W_{hn} h + b_{hn})) \\
        h' = (1 - z) * n + z * h

    Args: x (B, D), h (B, H). Returns (pre, gates, hn, h_new): pre and gates map "r", "z",
    "n" to (B, H) arrays; hn = W_hn h + b_hn (B, H) is kept for the backward pass.
    """
    H = h.shape[-1]
    gx = x @ lp.W_ih.T + lp.b_ih  # (B, 3H)
    gh = h @ lp.W_hh.T + lp.b_hh  # (B, 3H)
    hn = gh[:, 2 * H :]
    r = sigmoid(gx[:, :H] + gh[:, :H])
    z = sigmoid(gx[:, H : 2 * H] + gh[:, H : 2 * H])
    pre_n = gx[:, 2 * H :] + r * hn
    n = np.tanh(pre_n)
    h_new = (1.0 - z) * n + z * h
    pre = {"r": gx[:, :H] + gh[:, :H], "z": gx[:, H : 2 * H] + gh[:, H : 2 * H], "n": pre_n}
    return pre, {"r": r, "z": z, "n": n}, hn, h_new
