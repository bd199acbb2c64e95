"""Presentation mode, for a projector: one switch in the sidebar of every page and a link parameter
(``present=1``, a setting of the table in ui/share.py, so it round-trips like the others).

On, it collapses the sidebar, draws plots with larger type (``chart``: every Plotly font, margin and
height scaled by ``SCALE``), lets drawings grow to the width of their box (the ``.rnnviz-graph`` box of
ui/show.py; a graph view of its own asks ``enabled()`` and scales by ``SCALE``) and darkens the grey captions. The
Deploy button and the developer menu are off for the whole app (``client.toolbarMode = "viewer"`` in
.streamlit/config.toml: Streamlit reads it once per server, not per session).

A page calls ``apply(PAGE)`` once, right after ``state.load_url``, and shows its figures with ``chart``.
"""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from ui import controls, state

NAME = "present"  # the setting, and the link parameter
SCALE = 1.3  # type in plots and drawings, against the laptop view
CAPTION = "#1f2328"  # captions in near-black instead of Streamlit's 60 % grey: contrast on a washed-out projector
# Drawings may grow past their natural size up to their box (the graph view sizes them, by SCALE); no
# height cap: a drawing whose time runs downwards would shrink to a cap's height with its labels.
STYLE = f"""<style>
[data-testid="stMain"] [data-testid="stCaptionContainer"] {{ opacity: 1; }}
[data-testid="stMain"] [data-testid="stCaptionContainer"] :is(p, li) {{ color: {CAPTION}; }}
[data-testid="stMain"] .rnnviz-graph svg {{ max-width: none !important; }}
</style>"""


def enabled() -> bool:
    """Whether this session is in presentation mode."""
    return bool(state.settings()[NAME])


def apply(page: str) -> bool:
    """The switch at the top of the sidebar, and the page set up for it; returns whether it is on."""
    with st.sidebar:
        on = controls.widget(page, NAME)
    # set on every run: a rerun that turns it on collapses the sidebar, one that turns it off expands it
    st.set_page_config(initial_sidebar_state="collapsed" if on else "auto")
    if on:
        st.html(STYLE)
    return on


def chart(fig: go.Figure, **kwargs) -> None:
    """st.plotly_chart, the whole width, with the figure's type enlarged in presentation mode."""
    st.plotly_chart(figure(fig), **({"width": "stretch"} | kwargs))


def figure(fig: go.Figure) -> go.Figure:
    """``fig`` as this session shows it: enlarged in presentation mode (a copy: cached figures stay as they are)."""
    return larger(fig) if enabled() else fig


def larger(fig: go.Figure, factor: float = SCALE) -> go.Figure:
    """A copy of ``fig`` with every font size, the margins, the note's offset and the height scaled by ``factor``."""
    spec = fig.to_plotly_json()
    layout = spec["layout"]
    # Streamlit's plot theme sets its own sizes where a figure sets none (12 px ticks and legend, 14 px
    # axis titles): given here, they are scaled like the rest
    layout.setdefault("font", {}).setdefault("size", 12)
    layout.setdefault("legend", {}).setdefault("font", {}).setdefault("size", 12)
    for key in [k for k in layout if k.startswith(("xaxis", "yaxis"))]:
        layout[key].setdefault("tickfont", {}).setdefault("size", 12)
        title = layout[key].setdefault("title", {})
        if isinstance(title, dict):
            title.setdefault("font", {}).setdefault("size", 14)
    for trace in spec["data"]:
        if "colorbar" in trace or trace.get("type") == "heatmap":
            trace.setdefault("colorbar", {}).setdefault("tickfont", {}).setdefault("size", 12)
    _scale_fonts(spec, factor)
    layout["margin"] = {k: round(v * factor) for k, v in layout.get("margin", {}).items() if k in "lrtb"}
    if "height" in layout:
        layout["height"] = round(layout["height"] * factor)
    for note in layout.get("annotations", []):
        for shift in ("xshift", "yshift"):
            if shift in note:
                note[shift] = round(note[shift] * factor)
    return go.Figure(spec)


def _scale_fonts(node, factor: float) -> None:
    """Every ``font.size`` (``tickfont``, ``titlefont``, ...) under ``node`` but the template, times ``factor``."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "template":
                continue
            if key.endswith("font") and isinstance(value, dict) and isinstance(value.get("size"), int | float):
                value["size"] = round(value["size"] * factor, 1)
            _scale_fonts(value, factor)
    elif isinstance(node, list | tuple):
        for value in node:
            _scale_fonts(value, factor)
