"""Argument checks shared by the learning modules: a ValueError that names the argument, or the value."""

from __future__ import annotations

import math

import numpy as np


def check_int(name: str, value, low: int, high: int, allow_none: bool = False) -> int | None:
    """``value`` as an int if it is a whole number from low to high (None passes with ``allow_none``)."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not low <= value <= high:
        raise ValueError(f"{name} must be a whole number from {low} to {high}, got {value!r}")
    return int(value)


def check_float(name: str, value, low: float, high: float, allow_none: bool = False) -> float | None:
    """``value`` as a float if it is a finite number above low and at most high (None passes with ``allow_none``)."""
    if value is None and allow_none:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(v) or not low < v <= high:
        raise ValueError(f"{name} must be a finite number above {low} and at most {high}, got {value!r}")
    return v
