r"""Losses on a model's outputs and their gradients: mean squared error and cross-entropy.

For outputs (logits) ``y`` and targets ``t`` over n scored outputs,

.. math::

    L_\text{mse} = \frac{1}{N} \sum (y - t)^2, \qquad
    L_\text{xent} = -\frac{1}{n} \sum_i \sum_k t_{ik} \log \mathrm{softmax}(y_i)_k,

where N counts every value and the cross-entropy's targets are class ids (one-hot rows) or
probability rows; divided by ln 2 it is in bits. Each function returns the loss and dL/dy.
The first ``warmup`` steps (axis 0) can be left out of the score: their gradient is 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

LN2 = math.log(2.0)
KINDS = ("mse", "xent")


def softmax(z: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, shifted by the maximum so that no exp overflows."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def log_softmax(y: np.ndarray) -> np.ndarray:
    y = y - y.max(axis=-1, keepdims=True)
    return y - np.log(np.exp(y).sum(axis=-1, keepdims=True))


def _scored(d: np.ndarray, like: np.ndarray, warmup: int) -> np.ndarray:
    """The gradient of the scored steps, with zeros for the first ``warmup`` steps."""
    if not warmup:
        return d
    full = np.zeros_like(like)
    full[warmup:] = d
    return full


def mse(y: np.ndarray, target: np.ndarray, warmup: int = 0) -> tuple[float, np.ndarray]:
    """Mean squared error over every scored value, and dL/dy."""
    err = y[warmup:] - target[warmup:]
    return float(np.mean(err**2)), _scored(2.0 * err / err.size, y, warmup)


def cross_entropy(
    logits: np.ndarray, target: np.ndarray, warmup: int = 0, *, bits: bool = False
) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of softmax(logits) over the scored outputs (in bits with ``bits``), and dL/dlogits.

    ``target`` holds class ids shaped like ``logits[..., 0]``, or probability (one-hot) rows
    shaped like ``logits``.
    """
    z, t = logits[warmup:], target[warmup:]
    if t.shape != z.shape:  # class ids: the log-probability of the true class of each of n outputs
        rows = t.reshape(-1)
        n, pick = rows.size, (np.arange(rows.size), rows)
        unit = n * LN2 if bits else n
        z = z.reshape(n, -1)  # (n, V) logits
        z = z - z.max(axis=-1, keepdims=True)
        p = np.exp(z)  # one exp for both the loss and its gradient
        total = p.sum(axis=-1)  # (n,)
        loss = (np.log(total).sum() - z[pick].sum()) / unit  # -log softmax of the true class
        p /= total[:, None]  # softmax
        p[pick] -= 1.0  # minus the one-hot
        p /= unit
        return float(loss), _scored(p.reshape(logits[warmup:].shape), logits, warmup)
    n = max(1, math.prod(z.shape[:-1]))
    unit = n * LN2 if bits else n
    log_p = log_softmax(z)
    loss = -float(np.sum(t * log_p)) / unit
    return loss, _scored((np.exp(log_p) * t.sum(axis=-1, keepdims=True) - t) / unit, logits, warmup)


@dataclass(frozen=True)
class Loss:
    """A loss as a data set scores it: "mse" or "xent", the unscored first steps, and the unit."""

    kind: str  # "mse" | "xent"
    warmup: int = 0  # first steps (axis 0) not scored
    bits: bool = False  # xent: in bits (divided by ln 2) instead of nats

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown loss {self.kind!r}; expected one of {', '.join(KINDS)}")

    def __call__(self, y: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
        """(mean loss, dL/dy) for outputs ``y`` and their targets."""
        if self.kind == "mse":
            return mse(y, target, self.warmup)
        return cross_entropy(y, target, self.warmup, bits=self.bits)
