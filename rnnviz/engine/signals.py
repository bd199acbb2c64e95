"""Input sequences for the explorer pages: impulse, step, sine, seeded random, or typed by the user."""

from __future__ import annotations

import re

import numpy as np

SIGNALS = ("impulse", "step", "sine", "random", "custom")
MAX_CUSTOM_CHARS = 2000
MAX_CUSTOM_VALUES = 500
MAX_ABS_VALUE = 1e6
CUSTOM_GRAMMAR = "numbers separated by commas, such as 1, 0, -0.5, 2e-1"  # what the pages' help says
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")  # 2, -0.5, .5, 3., 1e-3; no 1_000, no inf


def parse_custom(text: str) -> np.ndarray:
    """Parse a typed list of numbers separated by commas (``1, 0, -0.5, 2e-1``) into a 1-D array.

    Spaces around a comma are fine; anything else (an empty entry as in ``1,,2``, a semicolon or a
    space between two numbers, ``1_000``) raises ValueError naming the first entry that is not a
    finite number of sane size.
    """
    if not isinstance(text, str):
        raise ValueError(f"the custom signal must be text: {CUSTOM_GRAMMAR}")
    if len(text) > MAX_CUSTOM_CHARS:
        raise ValueError(f"the custom signal is {len(text)} characters long; at most {MAX_CUSTOM_CHARS} are read")
    if not text.strip():
        raise ValueError(f"the custom signal is empty: type {CUSTOM_GRAMMAR}")
    tokens = [tok.strip() for tok in text.split(",")]
    if len(tokens) > MAX_CUSTOM_VALUES:
        raise ValueError(f"the custom signal has {len(tokens)} values; at most {MAX_CUSTOM_VALUES} are used")
    values = []
    for k, tok in enumerate(tokens, start=1):
        if not tok:
            raise ValueError(f"entry {k} of the custom signal is empty: type {CUSTOM_GRAMMAR}")
        if not _NUMBER.fullmatch(tok):
            raise ValueError(f"entry {k} of the custom signal, '{tok[:20]}', is not a number: type {CUSTOM_GRAMMAR}")
        v = float(tok)
        if not np.isfinite(v) or abs(v) > MAX_ABS_VALUE:
            raise ValueError(
                f"entry {k} of the custom signal, '{tok[:20]}', must be a number between ±{MAX_ABS_VALUE:g}"
            )
        values.append(v)
    return np.array(values)


def make_signal(kind: str, steps: int, features: int = 1, *, seed: int = 0, custom: str = "") -> np.ndarray:
    """An input sequence (T, D). Every feature gets the same shape of signal, scaled down
    slightly per feature (random draws independently), so D > 1 stays readable.

    ``custom`` is padded with zeros when shorter than ``steps`` and cut when longer.
    """
    if steps < 1 or features < 1:
        raise ValueError("the sequence needs at least one step and one feature")
    t = np.arange(steps)
    if kind == "impulse":
        base = (t == 0).astype(np.float64)
    elif kind == "step":
        base = np.ones(steps)
    elif kind == "sine":
        base = np.sin(2 * np.pi * t / 8.0)
    elif kind == "random":
        return np.random.default_rng(seed).normal(size=(steps, features))
    elif kind == "custom":
        values = parse_custom(custom)[:steps]
        base = np.zeros(steps)
        base[: len(values)] = values
    else:
        raise ValueError(f"unknown signal {kind!r}; expected impulse, step, sine, random or custom")
    weights = 1.0 / (1.0 + np.arange(features))  # (D,): feature k carries the signal at 1/(k+1)
    return base[:, None] * weights[None, :]  # (T, D)


def fit_steps(x: np.ndarray, steps: int) -> np.ndarray:
    """``x`` (T, D) cut to ``steps`` rows, or padded with rows of zeros up to them: (steps, D)."""
    out = np.zeros((steps, x.shape[1]))
    n = min(steps, len(x))
    out[:n] = x[:n]
    return out
