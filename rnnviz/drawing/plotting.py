"""What every Plotly figure of rnnviz is built from: the look, and the safety net for numbers.

The look: a cut of plotly's white template, the projector font and a title, margins set up
front, 1-based integer time axes, one colour per quantity (``style.COLORS``). The safety net:
Plotly cannot draw NaN or inf faithfully, so ``clean`` keeps them out of the figure data (NaN
a gap, values beyond +-1e300 clipped) and returns a note that says so in words. Figures are
assembled from plain dicts in plotly's canonical form without its property-by-property
validation (``figure``), and stacked subplots from a cached ``make_subplots`` layout (``stack``).
"""

from __future__ import annotations

import functools
import json

import numpy as np

try:  # plotly finds pandas in sys.modules, even half-imported by another thread: import it whole first
    import pandas  # noqa: F401
except ImportError:  # plotly works without pandas
    pass
import plotly.graph_objects as go
import plotly.io as pio
from plotly.subplots import make_subplots

from .style import COLORS, FONT_SIZE, PALETTE, PEN, TITLE_SIZE

LIMIT = 1e300  # beyond this (inf included) values are clipped; plotly and JSON cannot carry inf


def _white_template() -> go.layout.Template:
    """Plotly's "plotly_white", cut to what these figures use: its layout without the polar,
    ternary, 3-D and map subplots, and its defaults for scatter and heatmap traces only.

    Passing "plotly_white" by name makes plotly copy and validate the whole template (every
    trace type) into each figure, 10-100 ms a figure; this cut draws the same and is a few ms.
    Built once, never mutated: plotly copies a template into each figure, and rnnviz sets no
    global default (``pio.templates.default``), as a library must not change global state.
    """
    white = pio.templates["plotly_white"]
    unused = ("polar", "ternary", "scene", "geo", "mapbox", "map")
    layout = {k: v for k, v in white.layout.to_plotly_json().items() if k not in unused}
    return go.layout.Template(layout=layout, data={"scatter": white.data.scatter, "heatmap": white.data.heatmap})


TEMPLATE = _white_template()
TEMPLATE_JSON = TEMPLATE.to_plotly_json()


def colorscale(scale) -> list[list]:
    """A colorscale as plotly's [position, colour] pairs, as validation makes it ("Viridis", "RdBu_r", or pairs)."""
    return _named_colorscale(scale) if isinstance(scale, str) else _pairs(scale)


@functools.cache
def _named_colorscale(name: str) -> list[list]:
    return _pairs(name)


def _pairs(scale) -> list[list]:
    return [list(pair) for pair in go.Heatmap(colorscale=scale).colorscale]


def clean(values) -> tuple[np.ndarray | list, str]:
    """Values safe for plotly: +-inf and |v| > 1e300 clipped, NaN as None (a gap); plus a note."""
    a = np.asarray(values, dtype=np.float64)
    nan = np.isnan(a)
    inf = np.isinf(a)
    big = np.isfinite(a) & (np.abs(a) > LIMIT)
    notes = []
    if inf.any():
        notes.append(f"{inf.sum()} infinite value(s) drawn at ±1e300")
    if big.any():
        notes.append(f"{big.sum()} value(s) beyond ±1e300 clipped")
    if nan.any():
        notes.append(f"{nan.sum()} NaN value(s) not drawn")
    a = np.clip(a, -LIMIT, LIMIT)
    if nan.any():
        return np.where(nan, None, a).tolist(), "; ".join(notes)
    return a, "; ".join(notes)


def finite_abs_max(values) -> float:
    a = np.abs(np.asarray(values, dtype=np.float64))
    a = a[np.isfinite(a)]
    return float(min(a.max(), LIMIT)) if a.size else 0.0


def vector(name: str, values) -> np.ndarray:
    a = np.asarray(values, dtype=np.float64)
    if a.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array, got shape {a.shape}")
    return a


def _tick_step(n: int) -> int:
    """An integer tick spacing: every step up to 20, else 1, 2 or 5 times a power of ten (about 10 ticks)."""
    if n <= 20:
        return 1
    scale = 10 ** int(np.floor(np.log10(n / 10)))
    return next(k * scale for k in (1, 2, 5, 10) if k * scale >= n / 10)


def index_axis(title: str, first: int, last: int, reverse: bool = False) -> dict:
    """Axis over integer steps first..last (1-based), with integer ticks."""
    lo, hi = first - 0.5, last + 0.5
    step = _tick_step(last - first + 1)
    return {
        "title": {"text": title},
        "tick0": 0 if step > 1 else first,
        "dtick": step,
        "range": [hi, lo] if reverse else [lo, hi],
    }


def _legend_margin(traces: list[dict]) -> int:
    """px on the right for the legend plotly shows beside two or more traces (40 without one).

    Margins are set wide enough up front: when a legend, colorbar or tick labels do not fit,
    plotly widens the margin and draws the whole figure again, in the browser, on every update.
    """
    if len(traces) < 2:
        return 40
    return 76 + 6 * max(len(t.get("name", "")) for t in traces)  # about 6 px a character at the legend's size


def figure(traces: list[dict], layout: dict, title: str, height: int, note: str = "", **grid) -> go.Figure:
    """A figure of trace and layout dicts with the common look: white template, projector font,
    a title, and an optional note under the plot. Axes keep to the margins (no automargin).

    ``grid`` passes make_subplots' grid (``_grid_ref``, ``_grid_str``) on, so ``add_trace(row=...)``
    still works on the result.
    """
    note_height = 22 * (note.count("<br>") + 1) + 10 if note else 0  # px: one line per note
    margin = {"l": 80, "r": _legend_margin(traces), "t": 70, "b": 80 + note_height, **layout.pop("margin", {})}
    for key in layout:
        if key.startswith(("xaxis", "yaxis")):  # the margins above hold the tick labels and titles
            layout[key] = {**layout[key], "automargin": False}
    layout = {
        **layout,
        "template": TEMPLATE_JSON,
        "font": {"size": FONT_SIZE},
        "title": {"text": title, "font": {"size": TITLE_SIZE}, "xref": "paper", "x": 0, "xanchor": "left"},
        "height": height + note_height,
        "margin": margin,
    }
    if note:
        annotation = {
            "name": "note",
            "text": note,
            "xref": "paper",
            "yref": "paper",
            "x": 0,
            "y": 0,
            "xanchor": "left",
            "yanchor": "top",
            "yshift": -65,
            "showarrow": False,
            "align": "left",
            "font": {"size": FONT_SIZE - 2, "color": PEN},
        }
        layout["annotations"] = [*layout.get("annotations", []), annotation]
    fig = go.Figure({"data": traces, "layout": layout, **grid}, _validate=False)
    fig._validate = True  # what a caller changes later is checked
    return fig


def join(notes) -> str:
    """One line per non-empty note."""
    return "<br>".join(n for n in notes if n)


def color(name: str, k: int) -> str:
    """The quantity's own colour ("val loss" finds "val_loss"), else the k-th of PALETTE."""
    return COLORS.get(name.lower().replace(" ", "_"), PALETTE[k % len(PALETTE)])


def line(t, y, name: str, color: str, dash: str = "solid", **kwargs) -> tuple[dict, str]:
    """A markers+lines trace over steps t; returns the trace and a note on anything cleaned."""
    values, note = clean(y)
    trace = {
        "type": "scatter",
        "x": t,
        "y": values,
        "name": name,
        "mode": "lines+markers",
        "line": {"color": color, "dash": dash},
        "connectgaps": False,
        **kwargs,
    }
    return trace, f"{name}: {note}" if note else ""


@functools.lru_cache(maxsize=32)
def _stack_grid(titles: tuple[str, ...], spacing: float) -> tuple[str, dict]:
    """make_subplots' layout (as JSON) and subplot grid for one column of rows sharing the x axis."""
    fig = make_subplots(rows=len(titles), cols=1, shared_xaxes=True, vertical_spacing=spacing, subplot_titles=titles)
    layout = fig.layout.to_plotly_json()
    layout.pop("template", None)
    return json.dumps(layout), {"_grid_ref": fig._grid_ref, "_grid_str": fig._grid_str}


def stack(titles, spacing: float) -> tuple[dict, dict]:
    """A fresh layout of stacked subplots (as plotly.subplots.make_subplots makes it) and its grid.

    make_subplots costs 20-60 ms a figure and each row-wise update as much again; this builds
    the layout once per shape, and the figure in one go (``fig.add_trace(row=...)`` still works).
    """
    layout, grid = _stack_grid(tuple(titles), spacing)
    return json.loads(layout), grid


def axis_names(row: int) -> tuple[str, str, str, str]:
    """Layout keys and trace references of the axes of subplot ``row`` (1-based): xaxis2, yaxis2, x2, y2."""
    k = str(row) if row > 1 else ""
    return f"xaxis{k}", f"yaxis{k}", f"x{k}", f"y{k}"


def shared_time_axis(layout: dict, rows: int, steps: int) -> None:
    """Every row's x axis over steps 1..steps, titled on the bottom row only."""
    for row in range(1, rows + 1):
        layout[axis_names(row)[0]].update(index_axis("", 1, steps))
    layout[axis_names(rows)[0]]["title"] = {"text": "time step t"}
