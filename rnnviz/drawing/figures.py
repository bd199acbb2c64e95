"""Plotly figures of traces, gradients and training runs: arrays in, ``go.Figure`` out.

Every function here is pure: it builds a figure and returns it, never shows or renders
it, and never imports streamlit, so a notebook gets the same pictures as the app. The
figures are made for a projector (16 pt text, axis titles, 1-based integer time ticks as
in textbooks: ``x_1 .. x_T``, ``h_0`` the initial state) and keep one colour per
quantity (``COLORS``). Plotly cannot draw NaN or inf faithfully, so none reaches the
figure data: NaN becomes a gap, values beyond +-1e300 (inf included) are clipped, and a
note under the plot says so in words.

Figures are assembled (``plotting``) from plain dicts already in plotly's canonical form and
built without plotly's property-by-property validation, about ten times faster
(tests/test_figures.py checks that validating them changes nothing); edits made to a
returned figure are validated as usual.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ..engine.forward import Trace
from . import plotting
from .style import COLORS

LABELS: dict[str, str] = {
    "x": "input x",
    "h": "hidden state h",
    "c": "cell state c",
    "a": "pre-activation a",
    "i": "input gate i",
    "f": "forget gate f",
    "g": "candidate g",
    "o": "output gate o",
    "r": "reset gate r",
    "z": "update gate z",
    "n": "candidate n",
}

SEQUENTIAL = "Viridis"
DIVERGING = "RdBu_r"  # blue negative, white zero, red positive
BOUNDED = {**dict.fromkeys("ifozr", (-0.05, 1.05)), **dict.fromkeys("gn", (-1.05, 1.05))}  # sigmoid / tanh ranges
DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
COLORBAR_MARGIN = 100  # px on the right: room for a colorbar, so plotly need not widen the margin and redraw


def _layer(trace: Trace, layer: int):
    L = len(trace.layers)
    if not -L <= layer < L:
        raise ValueError(f"layer {layer} does not exist: the network has {L} layer(s)")
    return trace.layers[layer]


def _quantity(trace: Trace, layer: int, name: str, batch_index: int = 0) -> np.ndarray:
    """One quantity of one layer as (T, H): "h", "c" (LSTM), a gate name, or "a" (rnn pre-activation)."""
    lt = _layer(trace, layer)
    arrays = {"h": lt.h, **lt.gates}
    if lt.c is not None:
        arrays["c"] = lt.c
    if "a" in lt.pre:
        arrays["a"] = lt.pre["a"]
    if name not in arrays:
        raise ValueError(f"a {trace.params.cell} has no quantity {name!r}; it has {', '.join(arrays)}")
    return _pick_batch(trace, arrays[name], batch_index)


def _pick_batch(trace: Trace, a: np.ndarray, batch_index: int) -> np.ndarray:
    if not trace.batched:
        if batch_index != 0:
            raise ValueError("batch_index must be 0 for an unbatched trace")
        return a
    B = a.shape[1]
    if not 0 <= batch_index < B:
        raise ValueError(f"batch_index {batch_index} is out of range for a batch of {B}")
    return a[:, batch_index]


def _panels(trace: Trace) -> tuple[str, ...]:
    """What gates_figure shows for each cell kind, top to bottom."""
    return {"lstm": ("i", "f", "g", "o", "c", "h"), "gru": ("r", "z", "n", "h"), "rnn": ("a", "h")}[trace.params.cell]


def _color_range(name: str, values: np.ndarray, nonlinearity: str) -> tuple[float, float, str]:
    """Fixed colour ranges where the activation bounds the value, symmetric ones elsewhere."""
    if name in ("i", "f", "o", "r", "z"):
        return 0.0, 1.0, SEQUENTIAL
    if name in ("g", "n") or (name == "h" and nonlinearity == "tanh"):
        return -1.0, 1.0, DIVERGING
    m = plotting.finite_abs_max(values) or 1.0
    if name == "h":  # relu: h >= 0
        return 0.0, m, SEQUENTIAL
    return -m, m, DIVERGING


def signal_figure(
    x, y, *, y0=None, x_label: str = "input x_t", y_label: str = "output y_t", title: str = "input and output over time"
) -> go.Figure:
    """The single recurrent neuron: input x_t and output y_t over t = 1..T (y_0 at t = 0 if given); ``title``
    "" where a heading above says it already."""
    x, y = plotting.vector("x", x), plotting.vector("y", y)
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same length, got {x.size} and {y.size}")
    T = x.size
    t_y, y_all = np.arange(1, T + 1), y
    if y0 is not None:
        t_y, y_all = np.arange(0, T + 1), np.concatenate([[float(y0)], y])
    x_trace, x_note = plotting.line(np.arange(1, T + 1), x, x_label, COLORS["x"])
    y_trace, y_note = plotting.line(t_y, y_all, y_label, COLORS["y"])
    layout = {
        "xaxis": plotting.index_axis("time step t", 0 if y0 is not None else 1, T),
        "yaxis": {"title": {"text": "value"}},
    }
    return plotting.figure([x_trace, y_trace], layout, title, 400, plotting.join([x_note, y_note]))


def _heatmap(values: np.ndarray, name: str, zmin, zmax, colorscale, **kwargs) -> tuple[dict, str]:
    """A (T, H) array as a heatmap trace with z = values.T: time on x (1..T), units on y (1..H)."""
    z, note = plotting.clean(np.asarray(values, dtype=np.float64).T)  # (H, T)
    T, H = values.shape
    heatmap = {
        "type": "heatmap",
        "z": z,
        "x": np.arange(1, T + 1),
        "y": np.arange(1, H + 1),
        "zmin": None if zmin is None else float(zmin),
        "zmax": None if zmax is None else float(zmax),
        "colorscale": plotting.colorscale(colorscale),
        "name": name,
        "hovertemplate": "t = %{x}<br>unit %{y}<br>value = %{z:.4g}<extra>" + name + "</extra>",
        **kwargs,
    }
    return {k: v for k, v in heatmap.items() if v is not None}, f"{name}: {note}" if note else ""


def heatmap_figure(values, *, title: str, zmin=None, zmax=None, colorscale=None, unit_label: str = "unit") -> go.Figure:
    """A (T, H) array as a time x unit heatmap: z is values.T, x = t 1..T, y = unit 1..H (1 on top).

    Without a colour scale, data with negative values get a diverging scale centred on 0,
    other data a sequential one.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2 or values.size == 0:
        raise ValueError(f"values must be a non-empty (T, H) array, got shape {values.shape}")
    diverging = bool(np.any(values < 0))  # NaN compares False
    extra = dict(zmid=0.0) if diverging and zmin is None and zmax is None else {}
    scale = colorscale or (DIVERGING if diverging else SEQUENTIAL)
    heatmap, note = _heatmap(values, title, zmin, zmax, scale, **extra)
    T, H = values.shape
    layout = {
        "xaxis": plotting.index_axis("time step t", 1, T),
        "yaxis": plotting.index_axis(unit_label, 1, H, reverse=True),
        "margin": {"r": COLORBAR_MARGIN},
    }
    return plotting.figure([heatmap], layout, title, max(320, 160 + 20 * min(H, 32)), note)  # px: about 20 per unit


def gates_figure(trace: Trace, layer: int = 0, *, batch_index: int = 0) -> go.Figure:
    """Heatmaps (time x unit) of every gate, the LSTM cell state c_t and the hidden state h_t.

    Gates in [0, 1] share a fixed sequential scale, tanh-ranged quantities (g, n, tanh h)
    a fixed -1..1 diverging one, c and the rnn pre-activation a a symmetric diverging one.
    """
    names = _panels(trace)
    layout, grid = plotting.stack([LABELS[n] for n in names], 0.3 / len(names) ** 1.2)
    traces, notes = [], []
    for row, name in enumerate(names, start=1):
        values = _quantity(trace, layer, name, batch_index)  # (T, H)
        zmin, zmax, scale = _color_range(name, values, trace.params.nonlinearity)
        _, y, x_ref, y_ref = plotting.axis_names(row)
        domain = layout[y]["domain"]
        bar = dict(y=(domain[0] + domain[1]) / 2, len=domain[1] - domain[0], yanchor="middle", thickness=15)
        heatmap, note = _heatmap(values, LABELS[name], zmin, zmax, scale, colorbar=bar, xaxis=x_ref, yaxis=y_ref)
        traces.append(heatmap)
        layout[y].update(plotting.index_axis("unit", 1, values.shape[1], reverse=True))
        notes.append(note)
    T, H = trace.steps, trace.params.hidden_size
    plotting.shared_time_axis(layout, len(names), T)
    layout["margin"] = {"r": COLORBAR_MARGIN}
    title = f"{trace.params.cell.upper()} layer {_layer_number(trace, layer)}: gates and states"
    return plotting.figure(
        traces, layout, title, 100 + len(names) * (120 + 4 * min(H, 16)), plotting.join(notes), **grid
    )


def _layer_number(trace: Trace, layer: int) -> int:
    return layer % len(trace.layers) + 1


def _default_quantities(trace: Trace) -> tuple[str, ...]:
    cell = trace.params.cell
    return ("h", "c", "i", "f", "g", "o") if cell == "lstm" else ("h", "r", "z", "n") if cell == "gru" else ("h",)


def units_figure(trace: Trace, layer: int = 0, units=(0,), *, batch_index: int = 0, quantities=None) -> go.Figure:
    """Line plots over t = 1..T of the chosen units (0-based indices, shown 1-based), one row per quantity.

    ``quantities`` defaults to h, plus c and the gates for the LSTM and the gates for the GRU.
    Colour says the quantity, the dash pattern the unit.
    """
    quantities = tuple(quantities) if quantities is not None else _default_quantities(trace)
    units = tuple(int(u) for u in units)
    H = trace.params.hidden_size
    if not units or not quantities:
        raise ValueError("choose at least one unit and one quantity")
    if any(not 0 <= u < H for u in units):
        raise ValueError(f"units must be in 0..{H - 1}, got {list(units)}")
    layout, grid = plotting.stack([LABELS.get(q, q) for q in quantities], 0.25 / len(quantities) ** 1.2)
    traces, notes = [], []
    for row, name in enumerate(quantities, start=1):
        values = _quantity(trace, layer, name, batch_index)  # (T, H)
        _, y, x_ref, y_ref = plotting.axis_names(row)
        for k, u in enumerate(units):
            line, note = plotting.line(
                np.arange(1, trace.steps + 1),
                values[:, u],
                f"{name} unit {u + 1}",
                plotting.color(name, row - 1),
                DASHES[k % len(DASHES)],
                xaxis=x_ref,
                yaxis=y_ref,
            )
            traces.append(line)
            notes.append(note)
        layout[y]["title"] = {"text": name}  # the quantity's symbol; the row's title above names it in words
        if name in BOUNDED:  # the whole range, so "half open" looks half open
            layout[y]["range"] = list(BOUNDED[name])
    plotting.shared_time_axis(layout, len(quantities), trace.steps)
    title = f"{trace.params.cell.upper()} layer {_layer_number(trace, layer)}: units over time"
    return plotting.figure(traces, layout, title, 80 + 200 * len(quantities), plotting.join(notes), **grid)


def compare_figure(
    traces: dict[str, Trace], quantity: str = "h", unit: int = 0, *, layer: int = 0, batch_index: int = 0
) -> go.Figure:
    """The same quantity of the same unit (0-based, shown 1-based) for several traces, e.g. RNN vs LSTM vs GRU."""
    if not traces:
        raise ValueError("give at least one trace to compare")
    lines, notes = [], []
    for k, (label, trace) in enumerate(traces.items()):
        values = _quantity(trace, layer, quantity, batch_index)  # (T, H)
        if not 0 <= unit < values.shape[1]:
            raise ValueError(f"{label} has {values.shape[1]} unit(s); unit {unit} is out of range")
        line, note = plotting.line(np.arange(1, trace.steps + 1), values[:, unit], label, plotting.color(label, k))
        lines.append(line)
        notes.append(note)
    layout = {
        "xaxis": plotting.index_axis("time step t", 1, max(t.steps for t in traces.values())),
        "yaxis": {"title": {"text": f"{quantity}_t, unit {unit + 1}"}},
    }
    return plotting.figure(
        lines, layout, f"{LABELS.get(quantity, quantity)}, unit {unit + 1}", 420, plotting.join(notes)
    )


def _steps_text(index: np.ndarray, step: str = "t") -> str:
    """0-based indices as 1-based steps with runs collapsed: "t = 1-4, 9"."""
    steps = (np.asarray(index) + 1).tolist()
    runs, start = [], steps[0]
    for prev, cur in zip(steps, steps[1:] + [None], strict=True):
        if cur != prev + 1:
            runs.append(f"{start}" if start == prev else f"{start}-{prev}")
            start = cur
    return f"{step} = " + ", ".join(runs)


def _log_bounds(series: dict[str, np.ndarray]) -> tuple[float, float]:
    """Where to draw exact zeros (a decade under the smallest positive value) and infinities."""
    values = np.concatenate([v.ravel() for v in series.values()] + [np.empty(0)])
    positive = values[np.isfinite(values) & (values > 0)]
    if positive.size == 0:
        return 1e-300, plotting.LIMIT
    return max(positive.min() / 10, 1e-300), min(positive.max() * 10, plotting.LIMIT)


def _log_series(
    name: str,
    v: np.ndarray,
    color: str,
    floor: float,
    ceiling: float,
    *,
    step: str = "t",
    zero: str = "0",
    inf: str = "inf",
) -> tuple[list, str]:
    """Traces for one series on a log axis: positive values as a line, 0 and inf as marked points."""
    t = np.arange(1, v.size + 1)
    ok = np.isfinite(v) & (v > 0)
    line = {
        "type": "scatter",
        "x": t,
        "y": np.where(ok, np.minimum(v, plotting.LIMIT), None).tolist(),
        "name": name,
        "mode": "lines+markers",
        "line": {"color": color},
        "connectgaps": False,
    }
    traces, notes = [line], []
    marks = [(v == 0, floor, zero, "triangle-down"), (v == np.inf, ceiling, inf, "triangle-up")]
    for where, level, words, symbol in marks:
        if where.any():
            traces.append(
                {
                    "type": "scatter",
                    "x": t[where],
                    "y": np.full(where.sum(), level),
                    "name": f"{name}: {words}",
                    "mode": "markers",
                    "marker": {"color": color, "symbol": symbol, "size": 12},
                    "hovertemplate": step + " = %{x}<br>" + words + "<extra>" + name + "</extra>",
                }
            )
            notes.append(f"{words} at {_steps_text(np.flatnonzero(where), step)}, drawn at {level:.3g}")
    bad = [
        ("NaN", np.isnan(v)),
        ("-inf or negative", (v < 0)),
        ("beyond 1e300, clipped", np.isfinite(v) & (v > plotting.LIMIT)),
    ]
    notes += [f"{words} at {_steps_text(np.flatnonzero(where), step)}" for words, where in bad if where.any()]
    return traces, f"{name}: " + "; ".join(notes) if notes else ""


def _log_lines(arrays: dict[str, np.ndarray], **words) -> tuple[list[dict], list[str]]:
    """Several series over steps 1..N for a log axis, with zeros and infinities marked (see _log_series)."""
    floor, ceiling = _log_bounds(arrays)
    traces, notes = [], []
    for k, (name, v) in enumerate(arrays.items()):
        series, note = _log_series(name, v, plotting.color(name, k), floor, ceiling, **words)
        traces += series
        notes.append(note)
    return traces, notes


LOG_AXIS = {"type": "log", "exponentformat": "power"}
LOG_MARGIN = 100  # px on the left: powers of ten such as 10^-120 are wider than plain tick labels


def grad_norm_figure(
    series: dict[str, np.ndarray],
    *,
    title: str = "||dL/dh_t|| over time",
    y_title: str = "norm (log scale)",
) -> go.Figure:
    """Gradient norms per step t = 1..T on a log axis, one line per series.

    Exact zeros (vanished) and infinities (exploded) cannot sit on a log axis: they are
    drawn as triangles a decade below the smallest / above the largest value and listed
    in a note; NaN and negative values are left out and listed too.
    """
    arrays = {name: plotting.vector(name, v) for name, v in series.items()}
    traces, notes = _log_lines(arrays, zero="0 (vanished)", inf="inf (exploded)")
    T = max((v.size for v in arrays.values()), default=1)
    layout = {
        "xaxis": plotting.index_axis("time step t", 1, max(T, 1)),
        "yaxis": {**LOG_AXIS, "title": {"text": y_title}},
        "margin": {"l": LOG_MARGIN},
    }
    return plotting.figure(traces, layout, title, 420, plotting.join(notes))


def loss_figure(history: dict[str, list[float]], *, log_y: bool = False) -> go.Figure:
    """Training curves (train_loss, val_loss, ...) over epochs 1..N; on a log axis if ``log_y``."""
    arrays = {name.replace("_", " "): plotting.vector(name, v) for name, v in history.items()}
    if log_y:
        traces, notes = _log_lines(arrays, step="epoch")
    else:
        traces, notes = [], []
        for k, (name, v) in enumerate(arrays.items()):
            line, note = plotting.line(np.arange(1, v.size + 1), v, name, plotting.color(name, k))
            traces.append(line)
            notes.append(note)
    N = max((v.size for v in arrays.values()), default=1)
    yaxis = {**(LOG_AXIS if log_y else {}), "title": {"text": "loss"}}
    layout = {
        "xaxis": plotting.index_axis("epoch", 1, max(N, 1)),
        "yaxis": yaxis,
        "margin": {"l": LOG_MARGIN if log_y else 80},
    }
    return plotting.figure(traces, layout, "training curves", 400, plotting.join(notes))


def prediction_figure(target, prediction, *, baseline=None, title: str = "prediction vs target") -> go.Figure:
    """A series over t = 1..T, the model's prediction of it, and optionally a naive baseline."""
    target, prediction = plotting.vector("target", target), plotting.vector("prediction", prediction)
    curves = {"target": target, "prediction": prediction}
    if baseline is not None:
        curves["baseline"] = plotting.vector("baseline", baseline)
    if len({v.size for v in curves.values()}) != 1:
        raise ValueError(f"lengths differ: {', '.join(f'{k} {v.size}' for k, v in curves.items())}")
    dashes = {"target": "solid", "prediction": "dash", "baseline": "dot"}
    lines, notes = [], []
    for name, v in curves.items():
        line, note = plotting.line(np.arange(1, target.size + 1), v, name, COLORS[name], dashes[name])
        lines.append(line)
        notes.append(note)
    layout = {"xaxis": plotting.index_axis("time step t", 1, target.size), "yaxis": {"title": {"text": "value"}}}
    return plotting.figure(lines, layout, title, 420, plotting.join(notes))
