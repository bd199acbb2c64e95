"""Backprop through time, the lesson: a toy loss and a finite-difference check.

The loss is the plainest one whose gradient says where it came from: the sum of the top
layer's hidden units, on the last step only or on every step,

.. math::

    L_\\text{last} = \\sum_j h_T[j], \\qquad L_\\text{every} = \\sum_{t=1}^{T} \\sum_j h_t[j],

so dL/dh_t is a vector of ones wherever the loss looks, and everything else ||dL/dh_t||
shows has travelled back through time (gradient clipping is ``rnnviz.learning.optim``'s, the
one training uses). The finite-difference check nudges one entry of one weight, as a reader
would by hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import numpy as np

from .backward import Grads, backward
from .cells import Params
from .forward import Trace, forward
from .numerics import quiet_overflow

LOSSES = {
    "last": "L = sum of the units of h_T (the last step only)",
    "every": "L = sum over every step t of the sum of the units of h_t",
}
_FIELDS = {"weight_ih": "W_ih", "weight_hh": "W_hh", "bias_ih": "b_ih", "bias_hh": "b_hh"}
_KEY = re.compile(r"^(weight_ih|weight_hh|bias_ih|bias_hh)_l(\d+)$")


def loss_seed(trace: Trace, kind: str) -> np.ndarray:
    """dL/d(output), shaped like ``trace.output``: ones on the steps the loss looks at."""
    if kind not in LOSSES:
        raise ValueError(f"unknown loss {kind!r}; expected one of {', '.join(LOSSES)}")
    d_output = np.zeros_like(trace.output)  # (T, [B,] H)
    if kind == "last":
        d_output[-1] = 1.0
    else:
        d_output[:] = 1.0
    return d_output


@quiet_overflow
def loss_value(trace: Trace, kind: str) -> float:
    """The loss itself: sum(h_T) or sum over t of sum(h_t) of the top layer."""
    return float(np.sum(loss_seed(trace, kind) * trace.output))


def loss_backward(params: Params, trace: Trace, kind: str, *, truncate: int | None = None) -> Grads:
    """BPTT of the toy loss; ``truncate=k`` stops the gradient every k steps."""
    return backward(params, trace, loss_seed(trace, kind), truncate=truncate)


def _locate(params: Params, key: str, index) -> tuple[int, str, tuple[int, ...]]:
    """(layer, LayerParams field, index tuple) for a state_dict key and an index into it."""
    m = _KEY.match(str(key))
    if m is None:
        raise ValueError(f"unknown weight {key!r}; expected weight_ih_l0, weight_hh_l0, bias_ih_l0 or bias_hh_l0")
    layer, field = int(m.group(2)), _FIELDS[m.group(1)]
    if layer >= params.num_layers:
        raise ValueError(f"{key} does not exist: the network has {params.num_layers} layer(s)")
    shape = getattr(params.layers[layer], field).shape
    index = tuple(int(i) for i in np.atleast_1d(index))
    if len(index) != len(shape) or any(not 0 <= i < n for i, n in zip(index, shape, strict=True)):
        raise ValueError(f"index {list(index)} is outside {key}, which has shape {shape}")
    return layer, field, index


def nudge(params: Params, key: str, index, delta: float) -> Params:
    """A copy of params with ``state_dict[key][index]`` increased by delta."""
    layer, field, index = _locate(params, key, index)
    array = getattr(params.layers[layer], field).copy()
    array[index] += delta
    layers = list(params.layers)
    layers[layer] = replace(layers[layer], **{field: array})
    return replace(params, layers=tuple(layers))


def entry_gradient(grads: Params, key: str, index) -> float:
    """The analytic dL/dw of one weight entry, from BPTT's gradients."""
    layer, field, index = _locate(grads, key, index)
    return float(getattr(grads.layers[layer], field)[index])


@quiet_overflow
def finite_difference(params: Params, x, key: str, index, kind: str, *, eps: float = 1e-6, h0=None, c0=None) -> float:
    """Central difference (L(w + eps) - L(w - eps)) / (2 eps) for one weight entry w.

    It knows nothing of BPTT, so it checks the full (untruncated) gradient.
    """
    up = loss_value(forward(nudge(params, key, index, eps), x, h0, c0), kind)
    down = loss_value(forward(nudge(params, key, index, -eps), x, h0, c0), kind)
    return (up - down) / (2 * eps)


@dataclass(frozen=True)
class GradientCheck:
    """One weight's analytic and finite-difference gradients side by side."""

    analytic: float  # BPTT's dL/dw (full, untruncated)
    numeric: float  # central difference
    relative_error: float
    noise: float  # the central difference's rounding floor: smaller gradients cannot be resolved

    @property
    def resolvable(self) -> bool:
        """True when the gradients stand clear of the rounding floor, so the relative error means something."""
        return max(abs(self.analytic), abs(self.numeric)) > 100 * self.noise


@quiet_overflow
def gradient_check(params: Params, x, key: str, index, kind: str, *, eps: float = 1e-6) -> GradientCheck:
    """Full BPTT against a central difference for ``state_dict[key][index]``."""
    trace = forward(params, x)
    analytic = entry_gradient(loss_backward(params, trace, kind).params, key, index)
    numeric = finite_difference(params, x, key, index, kind, eps=eps)
    # L(w +- eps) are rounded to about machine epsilon times the size of the terms summed into L
    size = float(np.sum(np.abs(loss_seed(trace, kind) * trace.output)))
    noise = np.finfo(np.float64).eps * max(size, np.finfo(np.float64).tiny) / eps
    return GradientCheck(analytic, numeric, relative_error(analytic, numeric), noise)


@quiet_overflow
def relative_error(a: float, b: float) -> float:
    """|a - b| / max(|a|, |b|); 0 when both are 0 (the usual gradient-check measure)."""
    scale = max(abs(a), abs(b))
    return 0.0 if scale == 0 else abs(a - b) / scale


def entry_label(params: Params, key: str, index) -> str:
    """Words for one weight entry: which gate and unit a row feeds, which unit a column reads."""
    layer, field, index = _locate(params, key, index)
    H = params.hidden_size
    row = index[0]
    gates = params.gate_names
    words = f"unit {row % H + 1}" if not gates else f"gate {gates[row // H]}, unit {row % H + 1}"
    if len(index) == 2:
        col = index[1] + 1
        if field == "W_hh":
            words += f", from h_(t-1) unit {col}"
        elif layer == 0:
            words += f", from input feature {col}"
        else:
            words += f", from layer {layer}'s h_t unit {col}"
    return words
