"""Weights in and out: PyTorch state_dicts, presets, and .npz/.json files.

``from_state_dict`` accepts exactly what ``torch.nn.RNN/LSTM/GRU.state_dict()`` holds
(converted to numpy), so a trained model copies over one to one.
"""

from __future__ import annotations

import re

import numpy as np

from .cells import CELLS, GATE_COUNT, LayerParams, Params

MAX_PARAMETERS = 4_000_000  # a sane cap for a teaching tool (about 32 MB of float64)
MAX_LAYERS = 16
_KEY = re.compile(r"^(weight_ih|weight_hh|bias_ih|bias_hh)_l(\d+)$")
_FIELDS = {"weight_ih": "W_ih", "weight_hh": "W_hh", "bias_ih": "b_ih", "bias_hh": "b_hh"}


def _to_float_array(key: str, value) -> np.ndarray:
    if isinstance(value, np.ndarray) and value.dtype.kind not in "biuf":
        raise ValueError(f"{key} must hold numbers, got dtype {value.dtype}")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{key} must be an array of numbers") from None
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{key} contains NaN or infinite values")
    return arr


def infer_cell(state_dict: dict) -> str:
    """Guess the cell kind from the gate multiple: rows of weight_hh_l0 / its columns."""
    W = state_dict.get("weight_hh_l0")
    shape = getattr(W, "shape", None)
    if shape is None or len(shape) != 2 or shape[1] < 1 or shape[0] % shape[1]:
        raise ValueError("cannot tell the cell kind: weight_hh_l0 must be a (G*H, H) matrix")
    kinds = {g: c for c, g in GATE_COUNT.items()}
    G = shape[0] // shape[1]
    if G not in kinds:
        raise ValueError(
            f"weight_hh_l0 has {shape[0]} rows for hidden size {shape[1]}: a gate multiple of {G}, "
            "but rnn has 1, gru 3 and lstm 4"
        )
    return kinds[G]


def from_state_dict(state_dict: dict, cell: str | None = None, nonlinearity: str = "tanh") -> Params:
    """Build Params from a PyTorch state_dict ({key: array}); layers and sizes come from the keys.

    Missing bias keys mean zero biases (torch's ``bias=False``). Raises ValueError naming the
    key and the expected shape when something does not fit.
    """
    if not isinstance(state_dict, dict):
        raise ValueError("a state_dict must be a mapping from PyTorch parameter names to arrays")
    if cell is None:
        cell = infer_cell(state_dict)
    if cell not in CELLS:
        raise ValueError(f"unknown cell {cell!r}; expected one of {', '.join(CELLS)}")
    layer_ids = set()
    for key in state_dict:
        m = _KEY.match(str(key))
        if m is None:
            hint = " (bidirectional '_reverse' weights are not supported)" if "_reverse" in str(key) else ""
            raise ValueError(
                f"unexpected key {key!r}{hint}; expected weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, ..."
            )
        layer_ids.add(int(m.group(2)))
    if not layer_ids:
        raise ValueError("the state_dict is empty: expected weight_ih_l0, weight_hh_l0, ...")
    L = max(layer_ids) + 1
    if L > MAX_LAYERS:
        raise ValueError(f"{L} layers is more than the {MAX_LAYERS} rnnviz supports")
    if layer_ids != set(range(L)):
        missing = sorted(set(range(L)) - layer_ids)
        raise ValueError(f"layer {missing[0]} is missing: expected keys for layers 0..{L - 1}")
    total = sum(int(np.prod(getattr(v, "shape", ()) or (1,))) for v in state_dict.values())
    if total > MAX_PARAMETERS:
        raise ValueError(f"{total:,} parameters is more than the {MAX_PARAMETERS:,} rnnviz accepts")
    G = GATE_COUNT[cell]
    layers = []
    for k in range(L):
        for name in ("weight_ih", "weight_hh"):
            if f"{name}_l{k}" not in state_dict:
                raise ValueError(f"missing key {name}_l{k}")
        W_hh = _to_float_array(f"weight_hh_l{k}", state_dict[f"weight_hh_l{k}"])
        if W_hh.ndim != 2 or W_hh.shape[1] < 1 or W_hh.shape[0] != G * W_hh.shape[1]:
            raise ValueError(f"weight_hh_l{k} of a {cell} must have shape ({G}*H, H) = ({G}H, H), got {W_hh.shape}")
        H = W_hh.shape[1]
        arrays = {"weight_hh": W_hh, "weight_ih": _to_float_array(f"weight_ih_l{k}", state_dict[f"weight_ih_l{k}"])}
        for name in ("bias_ih", "bias_hh"):
            key = f"{name}_l{k}"
            arrays[name] = _to_float_array(key, state_dict[key]) if key in state_dict else np.zeros(G * H)
        layers.append(LayerParams(**{_FIELDS[n]: a for n, a in arrays.items()}))
    return Params(cell, tuple(layers), nonlinearity)


def to_state_dict(params: Params) -> dict[str, np.ndarray]:
    """PyTorch keys to copies of the arrays, layer by layer, in torch's key order."""
    sd = {}
    for k, lp in enumerate(params.layers):
        for name, attr in _FIELDS.items():
            sd[f"{name}_l{k}"] = getattr(lp, attr).copy()
    return sd


def load_weights(data: bytes, filename: str) -> Params:
    """Parse the bytes of an uploaded .npz or .json weights file; raises ValueError."""
    raise ValueError("not implemented yet")


def dump_weights(params: Params, fmt: str = "npz") -> bytes:
    """Serialise params as .npz (a torch state_dict saved with np.savez) or .json."""
    raise ValueError("not implemented yet")
