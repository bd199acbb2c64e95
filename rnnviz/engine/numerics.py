"""Floating-point extremes: overflow kept quiet inside the core, then reported in words.

A ReLU or linear RNN whose recurrent weights grow the state multiplies it at every step, and
an uploaded file may hold weights near the largest float64. The core then computes what
IEEE arithmetic gives (``inf``, and ``nan`` where ``inf - inf`` leaves no number), without
RuntimeWarnings, and ``describe_overflow`` says in a sentence where it happened, so a page
can show it with ``st.warning`` instead of plotting or drawing garbage silently.
"""

from __future__ import annotations

import functools
import math

import numpy as np

FLOAT_MAX = float(np.finfo(np.float64).max)  # about 1.8e308


def quiet_overflow(fn):
    """Run ``fn`` with numpy's overflow and invalid-operation warnings off (results show inf or nan)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with np.errstate(over="ignore", invalid="ignore"):
            return fn(*args, **kwargs)

    return wrapper


def as_float_array(name: str, a, ndims: tuple[int, ...]) -> np.ndarray:
    """``a`` as a float64 array of one of the numbers of dimensions ``ndims``, all finite; else ValueError."""
    try:
        arr = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be numeric: {err}") from None
    if arr.ndim not in ndims:
        raise ValueError(f"{name} must have {' or '.join(map(str, ndims))} dimensions, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def row_norms(a: np.ndarray) -> np.ndarray:
    """Euclidean norm of each row of a (N, ...) array, exact for huge finite values (no overflow in x²).

    A row holding nan gives nan; otherwise a row holding inf gives inf.
    """
    flat = np.asarray(a, dtype=np.float64).reshape(len(a), -1)  # (N, M)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        scale = np.max(np.abs(flat), axis=1, initial=0.0)  # (N,); nan propagates, inf stays inf
        ok = np.isfinite(scale) & (scale > 0)
        safe = np.where(ok, scale, 1.0)[:, None]
        scaled = np.sqrt(np.einsum("nm,nm->n", flat / safe, flat / safe))
        return np.where(ok, scale * scaled, scale)  # a norm beyond float64's range is inf, quietly


def norm(a) -> float:
    """Euclidean norm of all entries together, without overflow for huge finite values.

    Up to 256 entries it is ``math.hypot`` (scaled, so exact for huge values too; nan if any
    entry is nan, else inf if any is inf, as ``row_norms``): a graph takes a few thousand of
    these, and numpy's per-call overhead was a fifth of drawing it.
    """
    flat = np.ravel(np.asarray(a, dtype=np.float64))
    if flat.size <= 256:
        values = flat.tolist()
        n = math.hypot(*values)
        return math.nan if n == math.inf and any(v != v for v in values) else n  # nan wins, as in row_norms
    return float(row_norms(flat[None])[0])


def _first_bad_step(arrays) -> int | None:
    """1-based first step t where any of the (T, ...) arrays holds a non-finite value."""
    first = None
    for a in arrays:
        if a is None:
            continue
        bad = ~np.isfinite(a.reshape(a.shape[0], -1)).all(axis=1)  # (T,)
        if bad.any():
            t = int(np.argmax(bad)) + 1
            first = t if first is None else min(first, t)
    return first


def first_overflow(trace) -> tuple[int, int] | None:
    """(layer, step), both 1-based, where the forward values first left float64's range; None if never."""
    for k, lt in enumerate(trace.layers):
        t = _first_bad_step([lt.h, lt.c, *lt.pre.values()])
        if t is not None:
            return k + 1, t
    return None


def describe_overflow(trace, grads=None) -> str | None:
    """A sentence for the user when the trace (or the gradients) overflowed float64; None when all is finite."""
    sentences = []
    found = first_overflow(trace)
    if found is not None:
        layer, t = found
        where = f"in layer {layer} " if trace.params.num_layers > 1 else ""
        sentences.append(
            f"The values {where}grew beyond the largest number a computer float holds (about {FLOAT_MAX:.1e}) "
            f"at step t = {t}: from there on they show as inf, or as 'overflow' where no number is left. "
            "The recurrent weights multiply the state at every step; make them smaller or the sequence shorter."
        )
    if grads is not None:
        bad = [_last_bad_step(d) for d in grads.dh]
        steps = [t for t in bad if t is not None]
        if steps:
            sentences.append(
                f"The gradients overflowed too: dL/dh_t is not a finite number from step t = {max(steps)} backwards "
                "(an exploding gradient in its most extreme form)."
            )
    return " ".join(sentences) or None


def _last_bad_step(a: np.ndarray) -> int | None:
    bad = ~np.isfinite(a.reshape(a.shape[0], -1)).all(axis=1)  # (T,)
    return int(len(bad) - np.argmax(bad[::-1])) if bad.any() else None
