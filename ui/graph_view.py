"""The graph view: every drawing of the app, dot's SVG made clickable, zoomable and pannable.

One Streamlit component (components v2: inline, no iframe) around the server-side SVG. In the
browser, with no round trip: hover lights a node's ancestors and descendants and dims the rest,
zoom (buttons, Ctrl+wheel, pinch) and pan (drag, scroll bars), labels crisp at any zoom (the SVG
is resized, never scaled as a bitmap), a step brought into view. A click on a node selects it
(one rerun); a second click or Esc clears it; the arrow keys move it along time and layers.
The JavaScript and CSS live in ui/static and are read once, at import.
"""

from __future__ import annotations

import html
import math
import pathlib
import re
from collections.abc import Callable

import streamlit as st

from rnnviz.drawing import inspect
from rnnviz.drawing.kernel import navigation
from rnnviz.engine import snippet
from ui import presentation, show, state
from ui.markup import literal

STATIC = pathlib.Path(__file__).parent / "static"
HTML = (
    '<div class="rnnviz-graph-view"><div class="rnnviz-graph-tools">'
    '<button class="zoom-out" title="Zoom out" aria-label="Zoom out">−</button>'
    '<button class="zoom-in" title="Zoom in" aria-label="Zoom in">+</button>'
    '<button class="zoom-fit" title="Back to the first view" aria-label="Reset the view">Reset</button>'
    '<button class="zoom-whole" title="The whole drawing in the box" aria-label="Whole drawing">Whole</button>'
    '<span class="hint"></span></div><div class="rnnviz-graph" tabindex="0"></div></div>'
)
VIEW = st.components.v2.component(
    "rnnviz_graph",
    html=HTML,
    css=(STATIC / "graph_view.css").read_text(encoding="utf-8"),
    js=(STATIC / "graph_view.js").read_text(encoding="utf-8"),
    isolate_styles=False,
)
_NODE = re.compile(r'<g id="([^"]+)" class="node ([^"]*)"')
_FONT = re.compile(r'font-size="([\d.]+)"')
READABLE_PX = 12  # the smallest type a drawing is shown with unless the page asks for the whole of it
BOX_HEIGHT = 640  # px: a drawing's box; a taller drawing scrolls in it
TALL = 1600  # px: the box of a drawing whose time runs downwards: up to this tall, the page scrolls, not the box
PX_PER_PT = 4 / 3


def readable_scale(svg: str) -> float:
    """The smallest zoom at which the drawing's smallest type is still ``READABLE_PX`` on screen."""
    sizes = [float(s) for s in _FONT.findall(svg)]
    # rounded up to a thousandth: at the exact quotient a label can come out a hair under 12 px
    return min(math.ceil(1000 * READABLE_PX / (min(sizes) * PX_PER_PT)) / 1000, 1.0) if sizes else 1.0


@st.cache_data(max_entries=64, show_spinner=False)
def nodes(svg: str) -> dict[str, str]:
    """The drawing's nodes as the SVG has them: id -> class attribute (after "node")."""
    return dict(_NODE.findall(svg))


# arrow key -> move (rnnviz.drawing.kernel.navigation's), in a drawing whose time runs downwards, by
# the side its higher layers are drawn on
DOWNWARDS = {
    "left": {"up": "left", "down": "right", "left": "up", "right": "down"},
    "right": {"up": "left", "down": "right", "right": "up", "left": "down"},
}


@st.cache_data(max_entries=64, show_spinner=False)
def arrows(svg: str, down: str | None = None) -> dict[str, dict[str, str]]:
    """Where the arrow keys lead from each node (rnnviz.drawing.kernel.navigation): left and right along
    time, up and down between layers; in a drawing whose time runs downwards (``down``: the side its
    higher layers are on, "left" or "right"), up and down along time, and left and right between layers."""
    moves = navigation(list(nodes(svg).items()))
    if down is None:
        return moves
    keys = DOWNWARDS[down]
    return {i: {key: m[move] for key, move in keys.items() if move in m} for i, m in moves.items()}


def display(
    dot: str,
    *,
    key: str,
    max_height: int | None = None,
    min_scale: float | None = None,
    scale: float | None = None,
    focus: int | None = None,
    selected: str | None = None,
    on_select: Callable[[str | None], None] | None = None,
    down: str | None = None,
    whole: bool = False,
) -> dict[str, str]:
    """Show a DOT source as the graph view; returns its nodes (id -> classes), {} without Graphviz.

    The drawing opens as wide as the box, shrunk at most to ``min_scale`` of its natural size
    (default: its smallest type stays ``READABLE_PX`` on screen) and scrolled beyond; ``scale``
    enlarges it (1.5 is 50 % larger type; by default presentation mode's ``presentation.SCALE``, else 1).
    ``focus``: a step brought into view.
    ``on_select``, if given, makes nodes selectable: it is called with the clicked node's id
    (None: cleared) before the rerun; ``selected`` is the node shown selected. ``down``: time runs
    downwards in this drawing, its higher layers on that side ("left" or "right"), and the arrow keys
    follow it (``arrows``), and the box is ``TALL`` (the page scrolls, not the box) unless ``max_height``
    says otherwise; else ``BOX_HEIGHT``. ``whole``: the drawing fits the box's height too (down to ``min_scale``).
    """
    if not show.graphviz_ready(dot):
        return {}
    if scale is None:
        scale = presentation.SCALE if presentation.enabled() else 1.0
    if max_height is None:  # time downwards: the page scrolls, not the box, unless the whole drawing is asked for
        max_height = TALL if down and not whole else BOX_HEIGHT
    svg = show.page_svg(dot)
    found = nodes(svg)
    data = {
        "svg": svg,
        "selected": selected if selected in found else None,
        "selectable": on_select is not None,
        "focus": focus,
        "minScale": readable_scale(svg) if min_scale is None else min_scale,
        "whole": whole,
        "scale": scale,
        "maxHeight": max_height,
        "nav": arrows(svg, down) if on_select is not None else {},
    }

    def picked() -> None:
        value = st.session_state[key].get("select")
        if on_select is not None:
            on_select(value if value in found else None)

    VIEW(key=key, data=data, on_select_change=picked)
    return found


def selected_node(page: str, dot: str, *, key: str, linked: bool = False, **view) -> str | None:
    """The page's main drawing, its nodes selectable, the selection kept in the shared setting ``sel``
    (so in the URL). Returns the selected node's id, or None.

    A selection made on another page is dropped (unless a link brought it); one that is not in
    this drawing (say T shrank under it) falls back to no selection with a note, never an error.
    """
    settings = state.settings()
    if st.session_state.get("_sel_page") != page and not linked:
        settings["sel"] = ""
    st.session_state["_sel_page"] = page

    def pick(node: str | None) -> None:
        settings["sel"] = node or ""
        st.session_state["_sel_page"] = page

    wanted = str(settings["sel"])
    found = display(dot, key=key, selected=wanted or None, on_select=pick, **view)
    if wanted and found and wanted not in found:
        st.info(f"The selected node {literal(wanted[:60])} is not in this drawing any more, so nothing is selected.")
        settings["sel"] = ""
        return None
    return wanted if wanted in found else None


_EDGE = re.compile(r'<g id="([^"]+)-&gt;([^"]+)" class="edge ')


@st.cache_data(max_entries=64, show_spinner=False)
def parents(svg: str) -> dict[str, list[str]]:
    """What each node is computed from, as the drawing's edges say (tail -> head, in drawing order)."""
    out: dict[str, list[str]] = {}
    for tail, head in _EDGE.findall(svg):
        if tail not in out.get(head, []):
            out.setdefault(head, []).append(tail)
    return out


def inspector(page: str, dot: str, trace, node: str, *, grads=None, neuron: bool = False) -> None:
    """The selected node explained (rnnviz.drawing.inspect): name, meaning, equation with the numbers,
    value, gradient, the steps that share a weight, and its inputs, each a button that selects it."""
    settings = state.settings()
    unit = st.session_state.get(f"{page}:unit", 0)
    try:
        found = inspect.inspect(trace, node, grads=grads, unit=min(unit, trace.params.hidden_size - 1), neuron=neuron)
    except ValueError as err:
        st.info(f"Nothing to explain about this node: {literal(err)}.")
        return

    def pick(other: str) -> None:
        settings["sel"] = other
        st.session_state["_sel_page"] = page

    box = st.container(border=True, key=f"{page}-inspector")
    with box:
        st.markdown(f"**{found.title}**: {found.meaning}")  # the inspector's own words, no user text
        if found.units > inspect.FULL_UNITS:
            st.number_input(
                "Unit whose row the equation shows (0-based)", 0, found.units - 1, key=f"{page}:unit", step=1
            )
        st.latex(found.equation)
        st.latex(found.numbers)
        if found.value is not None:
            st.markdown(f"Value: `{inspect.full_text(found.value)}`")
        if found.grad is not None:
            st.markdown(f"Gradient dL/d({found.title}): `{inspect.full_text(found.grad)}`")
        if found.uses:
            st.caption(f"The same array at every step: used at steps {found.uses[0]} to {found.uses[-1]}.")
        with st.expander("Reproduce in PyTorch"):
            try:
                code = snippet.torch_snippet(trace.params, trace.x, node, trace.h0)
                st.caption("This network and input in torch.nn, in float64; it prints this node's value.")
                st.code(code, language="python")
            except ValueError as err:
                st.caption(f"Not for this node: {literal(err)}.")
        inputs = parents(show.page_svg(dot)).get(node, [])
        if inputs:
            st.caption("Computed from (click to inspect):")
            columns = st.columns(min(len(inputs), 4))
            for i, other in enumerate(inputs):
                columns[i % len(columns)].button(
                    inspect.title_of(trace, other, neuron=neuron),
                    key=f"{page}:input:{other}",
                    on_click=pick,
                    args=(other,),
                    width="stretch",
                )


_TIP = re.compile(r'<g id="([^"]+)" class="node [^"]*"><a xlink:title="([^"]*)"')


@st.cache_data(max_entries=64, show_spinner=False)
def tooltips(svg: str) -> dict[str, str]:
    """Each node's tooltip (its name, full value and gradient, as the builder wrote them), unescaped."""
    return {i: html.unescape(tip) for i, tip in _TIP.findall(svg)}


def described(page: str, dot: str, node: str) -> None:
    """A selected node of a drawing the inspector has no equations for (a wiring): what its tooltip says,
    every entry of its value and gradient, and its inputs, each a button that selects it."""
    svg = show.page_svg(dot)
    tips = tooltips(svg)
    settings = state.settings()

    def pick(other: str) -> None:
        settings["sel"] = other
        st.session_state["_sel_page"] = page

    with st.container(border=True, key=f"{page}-inspector"):
        lines = tips.get(node, node).split("\n")
        st.markdown(f"**{literal(lines[0])}**")
        for line in lines[1:]:  # a wiring's labels can hold the typed input's characters: shown literally
            st.markdown(literal(line))
        inputs = parents(svg).get(node, [])
        if inputs:
            st.caption("Computed from (click to inspect):")
            columns = st.columns(min(len(inputs), 4))
            for i, other in enumerate(inputs):
                label = tips.get(other, other).split("\n")[0]
                columns[i % len(columns)].button(
                    label, key=f"{page}:input:{other}", on_click=pick, args=(other,), width="stretch"
                )
