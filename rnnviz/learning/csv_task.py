"""Your own data: next-row prediction on the numeric columns of a CSV, a task like the built-in ones
(rnnviz.learning.tasks) with the naive "next row = this row" forecast as its baseline."""

from __future__ import annotations

import numpy as np

from . import tabular
from .tasks import CSV_BUDGET, CSV_LENGTH, MAX_CSV_COLUMNS, MAX_CSV_WINDOWS, Task, _check_options, _naive_mse, _seed


def make_csv_task(data: bytes, columns, length: int = CSV_LENGTH[0], seed: int = 0, filename: str = "the file") -> Task:
    """Next-step prediction on the chosen numeric columns of a CSV (rows in time order): the first 80 % of the
    rows train, the last 20 % validate; every column standardised with the training rows' mean and std.

    Raises:
        ValueError: for a file ``tabular.parse_csv`` refuses, a column that is not numeric, a constant
            column, or too few rows for the window.
    """
    seed = _seed(seed)
    T = _check_options("csv", {"length": length})["length"]
    numeric, other = tabular.parse_csv(data)
    if not numeric:
        raise ValueError(f"no column holds only numbers (columns: {', '.join(map(repr, other[:8]))})")
    columns = list(columns) if isinstance(columns, list | tuple) else None
    if not columns or len(columns) > MAX_CSV_COLUMNS:
        raise ValueError(f"choose 1 to {MAX_CSV_COLUMNS} of the numeric columns: {', '.join(map(repr, numeric))}")
    for name in columns:
        if name not in numeric:
            why = "holds text" if name in other else "is not in the file"
            raise ValueError(f"column {name!r:.40} {why}; the numeric ones are {', '.join(map(repr, numeric))}")
    series = np.stack([numeric[c] for c in columns], axis=-1)  # (R, C)
    rows = len(series)
    cut = int(0.8 * rows)
    if rows - cut < T + 1:
        raise ValueError(
            f"the last 20 % of the rows ({rows - cut} of {rows}) validate, and a window of {T} steps needs "
            f"{T + 1}: shorten the window or use a file with at least {5 * (T + 1)} rows"
        )
    mean, std = series[:cut].mean(axis=0), series[:cut].std(axis=0)
    for name, sd in zip(columns, std, strict=True):
        if not sd > 0:
            raise ValueError(f"column {name!r:.40} is constant over the training rows: there is nothing to predict")
    z = (series - mean) / std

    def windows(part, most):
        starts = np.arange(0, len(part) - T)
        starts = starts[np.linspace(0, len(starts) - 1, min(most, len(starts))).round().astype(int)]
        idx = starts[None, :] + np.arange(T + 1)[:, None]  # (T+1, n)
        w = part[idx]  # (T+1, n, C)
        return w[:-1], w[1:]

    x_train, y_train = windows(z[:cut], MAX_CSV_WINDOWS)
    order = np.random.default_rng(seed).permutation(x_train.shape[1])
    x_val, y_val = windows(z[cut:], MAX_CSV_WINDOWS // 4)
    warmup = min(5, T // 4)
    names = ", ".join(columns)
    return Task(
        name="csv",
        title=f"Next row of {filename}: {names}",
        description=(
            f"{rows:,} rows of {names}, in the file's order. The first {cut:,} rows train (windows of {T} rows), "
            f"the last {rows - cut:,} validate. At every row the network reads the chosen columns (each "
            "standardised: minus its training mean, over its training std) and predicts the next row's."
        ),
        loss="mse",
        x_train=x_train[:, order],
        y_train=y_train[:, order],
        x_val=x_val,
        y_val=y_val,
        output_size=len(columns),
        options={"length": T},
        seed=seed,
        budget=CSV_BUDGET,
        warmup=warmup,
        baselines={"baseline_val_mse": _naive_mse("csv", x_val, y_val, warmup)},
        baseline_labels={"baseline_val_mse": "Naive: next row = this row"},
        note=(
            "The naive forecast repeats the current row. On a smooth series it is hard to beat; on noise "
            "nothing beats the mean. Compare the model with it before believing a low loss."
        ),
    )
