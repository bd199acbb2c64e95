"""Optimisers and gradient clipping on lists of numpy arrays, as ``torch.optim`` and ``torch.nn.utils`` do them.

Clipping by the global norm (Pascanu, Mikolov and Bengio, 2013) treats every gradient of a
model as one long vector ``g`` and rescales it when it is too long,

.. math::

    \\|g\\| = \\sqrt{\\textstyle\\sum_k \\|g_k\\|^2}, \\qquad
    g \\leftarrow g \\cdot \\min\\Big(1, \\frac{c}{\\|g\\| + 10^{-6}}\\Big),

which is ``torch.nn.utils.clip_grad_norm_``: the direction is kept, only the length is capped
at ``c``. Adam and SGD update the arrays in place, as ``torch.optim.Adam`` (its defaults) and
``torch.optim.SGD`` (no momentum) update a model's parameters.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np

from ..engine.numerics import norm
from .models import parameters

OPTIMIZERS = ("adam", "sgd")


def _arrays(grads) -> list[np.ndarray]:
    """A list of arrays as given, or every array of a Params, Model or other dataclass of arrays."""
    if isinstance(grads, list | tuple) and all(isinstance(g, np.ndarray) for g in grads):
        return list(grads)
    return parameters(grads)


def global_norm(grads) -> float:
    """sqrt of the sum of squares of every gradient entry (a list of arrays, or a Params or Model).

    Summed as torch does, array by array; where the squares overflow float64 the norm is found
    again without squaring huge numbers, so a huge finite gradient has a finite norm.
    """
    arrays = _arrays(grads)
    total = math.sqrt(sum(float(np.vdot(g, g)) for g in arrays))
    if math.isfinite(total) or not arrays:
        return total
    return norm(np.concatenate([g.ravel() for g in arrays]))


def clip_coefficient(total_norm: float, max_norm: float) -> float:
    """min(1, max_norm / (total_norm + 1e-6)): what clipping multiplies every gradient by (0 for an inf or nan norm)."""
    if not math.isfinite(total_norm):
        return 0.0
    return min(1.0, max_norm / (total_norm + 1e-6))


def _check_max_norm(max_norm) -> float:
    if isinstance(max_norm, bool) or not isinstance(max_norm, int | float) or not 0 < max_norm < math.inf:
        raise ValueError(f"the clipping threshold must be a finite number > 0, got {max_norm!r:.40}")
    return float(max_norm)


def clip_grad_norm_(grads: list[np.ndarray], max_norm: float) -> float:
    """Scale the gradients in place to a global norm of at most ``max_norm``; returns the norm before.

    Raises ValueError unless max_norm is a finite number above 0.
    """
    max_norm = _check_max_norm(max_norm)
    total = global_norm(grads)
    coef = clip_coefficient(total, max_norm)
    if coef < 1.0:
        with np.errstate(invalid="ignore"):  # an inf gradient times 0 is nan, as in torch
            for g in grads:
                g *= coef
    return total


def clip_by_global_norm(grads, max_norm: float):
    """A clipped copy of the gradients (a list of arrays, or a Params or Model) and their norm before."""
    clipped = copy.deepcopy(grads)
    return clipped, clip_grad_norm_(_arrays(clipped), max_norm)


@dataclass(frozen=True)
class Clipping:
    """What clipping at a threshold does to a gradient's global norm."""

    before: float
    after: float
    scale: float  # what clipping multiplies every gradient by: after / before, 1 where it is short enough


def clipping(grads, max_norm: float) -> Clipping:
    """The global norm of the gradients (a list of arrays, or a Params or Model) before and after clipping."""
    clipped, before = clip_by_global_norm(grads, max_norm)
    return Clipping(before, global_norm(clipped), clip_coefficient(before, max_norm))


class Adam:
    """Adam (Kingma and Ba, 2015) with torch.optim.Adam's defaults: betas (0.9, 0.999), eps 1e-8.

    .. math::

        m \\leftarrow \\beta_1 m + (1 - \\beta_1) g, \\quad v \\leftarrow \\beta_2 v + (1 - \\beta_2) g^2, \\quad
        w \\leftarrow w - \\eta \\frac{m / (1 - \\beta_1^t)}{\\sqrt{v / (1 - \\beta_2^t)} + \\epsilon}
    """

    def __init__(self, arrays: list[np.ndarray], lr: float, beta1: float = 0.9, beta2: float = 0.999, eps=1e-8):
        self.arrays, self.lr, self.beta1, self.beta2, self.eps, self.t = arrays, lr, beta1, beta2, eps, 0
        self.m = [np.zeros_like(a) for a in arrays]
        self.v = [np.zeros_like(a) for a in arrays]

    def step(self, grads: list[np.ndarray]) -> None:
        self.t += 1
        c1, c2 = 1 - self.beta1**self.t, 1 - self.beta2**self.t
        for a, g, m, v in zip(self.arrays, grads, self.m, self.v, strict=True):
            m *= self.beta1
            m += (1 - self.beta1) * g
            v *= self.beta2
            v += (1 - self.beta2) * g * g
            a -= self.lr * (m / c1) / (np.sqrt(v / c2) + self.eps)


class SGD:
    """Plain stochastic gradient descent, w <- w - lr * g (torch.optim.SGD without momentum)."""

    def __init__(self, arrays: list[np.ndarray], lr: float):
        self.arrays, self.lr = arrays, lr

    def step(self, grads: list[np.ndarray]) -> None:
        for a, g in zip(self.arrays, grads, strict=True):
            a -= self.lr * g


def make_optimizer(name: str, arrays: list[np.ndarray], lr: float) -> Adam | SGD:
    """The optimiser called ``name`` ("adam" or "sgd") over ``arrays``, which its steps update in place."""
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; expected 'adam' or 'sgd'")
    return Adam(arrays, lr) if name == "adam" else SGD(arrays, lr)
