"""Drawing graphs on the page: SVG rendered server-side with dot, readable and scrollable."""

from __future__ import annotations

import re
import subprocess
import threading
from collections import Counter

import graphviz
import streamlit as st

from rnnviz import drawing as rgraph

_PROLOG = re.compile(r"^.*?(?=<svg)", re.S)
_SIZE = re.compile(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"')
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_TITLE = re.compile(r"<title>[^<]*</title>")  # dot's internal node names; tooltips come from xlink:title
# dot's own ids (graph0, node1, edge1, clust1, a_...): nothing refers to them; the kernel's node and edge ids stay
_ID = re.compile(r' id="(?:(?:graph|node|edge|clust)\d+|a_[^"]*)"')
_BETWEEN_TAGS = re.compile(r">\s+<")
_SVG_START = re.compile(r"(<svg\b[^>]*)>")
_TEXT_ATTRIBUTES = ("font-family", "font-size", "text-anchor")  # dot sets them on every <text>


class DotPool:
    """A ``dot -Tsvg`` process started ahead of time, so a new drawing does not wait for it to start.

    Starting dot takes about 20 ms, half of it before dot reads its input, and that half is
    paid here while the server is idle: each layout takes the spare process and starts the
    next one. Every graph gets a fresh dot, as with ``rgraph.render_svg`` (a dot reused for
    several graphs lays out clusters differently), so the SVG is byte for byte the same.
    """

    CMD = ("dot", "-Kdot", "-Tsvg")  # what graphviz.Source.pipe(format="svg") runs

    def __init__(self, timeout: float = 60.0):
        self.timeout = timeout  # s
        self._lock = threading.Lock()
        self._spare: subprocess.Popen | None = None

    def _start(self) -> subprocess.Popen:
        return subprocess.Popen(self.CMD, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def svg(self, source: str) -> str | None:
        """The SVG document dot makes of ``source``; None if dot failed (the caller renders as usual)."""
        with self._lock:
            proc, self._spare = self._spare, None
        try:
            if proc is None or proc.poll() is not None:
                proc = self._start()
            out, _ = proc.communicate(source.encode("utf-8"), timeout=self.timeout)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            return None
        finally:
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
            self._refill()
        if proc.returncode != 0:
            return None
        return out.decode("utf-8").replace("&#45;", "-")  # as rgraph.render: class="step-3" stays greppable

    def _refill(self) -> None:
        """Start the next spare once this layout is done (not while it runs: two dots starting at once are slower)."""
        with self._lock:
            if self._spare is None:
                try:
                    self._spare = self._start()
                except OSError:
                    pass


@st.cache_resource(max_entries=1, show_spinner=False)
def dot_pool() -> DotPool:
    """The server's spare dot, shared by every session."""
    return DotPool()


@st.cache_data(max_entries=64, show_spinner=False)
def svg_document(dot: str) -> str:
    """The SVG file dot makes of a DOT source (XML prolog included), laid out once per source.

    The page's drawing and its SVG download share this cache, so a new graph runs dot once.
    """
    return dot_pool().svg(dot) or rgraph.render_svg(graphviz.Source(dot))


def inline_svg(svg: str) -> str:
    """dot's SVG made light for the page: the same drawing in about half the elements and attributes.

    The browser builds an inline SVG node by node through the markdown renderer, so what it
    never shows costs time on every rerun: the XML prolog, comments, dot's ``<title>`` names
    and own ``id`` attributes (the kernel's node ids stay: the page finds nodes by them), whitespace
    between tags, and the font attributes repeated on every
    ``<text>`` (the most common value moves to the ``<svg>`` element, where texts inherit it).
    """
    svg = _PROLOG.sub("", svg)
    svg = _BETWEEN_TAGS.sub("><", _ID.sub("", _TITLE.sub("", _COMMENT.sub("", svg))))
    texts = svg.count("<text")
    hoisted = []
    for name in _TEXT_ATTRIBUTES:
        values = re.findall(f' {name}="([^"]*)"', svg)
        if not values or len(values) != texts:  # some text would start inheriting a value it never had
            continue
        common = Counter(values).most_common(1)[0][0]
        svg = svg.replace(f' {name}="{common}"', "")
        hoisted.append(f' {name}="{common}"')
    links = svg.count("<a ")
    if svg.count("<g><a ") == links == svg.count("</a></g>"):  # dot wraps each link in a group of its own
        svg = svg.replace("<g><a ", "<a ").replace("</a></g>", "</a>")
    return _SVG_START.sub(lambda m: m.group(1) + "".join(hoisted) + ">", svg, count=1)


@st.cache_data(max_entries=64, show_spinner=False)
def _svg(dot: str) -> str:
    """The drawing for inline HTML (see ``inline_svg``), cached: slimming it is a few ms of regexes."""
    return inline_svg(svg_document(dot))


def page_svg(dot: str) -> str:
    """The drawing as the page shows it: slimmed (``inline_svg``), on one line, cached."""
    return _svg(dot).replace("\n", " ")


_WIDTH = re.compile(r'<svg width="([\d.]+)pt"')


def natural_width(dot: str) -> float:
    """The width dot gives a drawing, in points (1 when dot is missing: the browser lays it out)."""
    if not rgraph.graphviz_available():
        return 1.0
    found = _WIDTH.search(svg_document(dot))
    return float(found.group(1)) if found else 1.0


def graphviz_ready(dot: str) -> bool:
    """Whether dot can lay out the drawing; if not, the browser lays it out (st.graphviz_chart) and a note says so."""
    if rgraph.graphviz_available():
        return True
    st.warning(NO_DOT, icon=":material/info:")
    st.graphviz_chart(dot)
    return False


NO_DOT = (
    "Graphviz's `dot` program is not installed, so the browser lays out this drawing: smaller type, no clicking, "
    "no SVG export. Install Graphviz and restart the app: `sudo apt-get install graphviz` (Debian, Ubuntu), "
    "`brew install graphviz` (macOS) or `conda install graphviz`."
)


def graph(g: graphviz.Digraph | graphviz.Source, *, key: str | None = None, **view) -> str:
    """Show a graph in the graph view (ui.graph_view.display: zoom, pan, hover, selection); returns the DOT.

    ``view``: ``max_height``, ``min_scale`` (a wide graph shrinks to fit the page down to that
    fraction of its natural size and scrolls beyond), ``scale``, ``focus``, ``selected``, ``on_select``.
    """
    from ui import graph_view  # it draws with this module's SVG

    dot = g.source
    graph_view.display(dot, key=key, **view)
    return dot
