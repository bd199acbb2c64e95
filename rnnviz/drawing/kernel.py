"""The drawing kernel: what every Graphviz graph of rnnviz is made of, and how it becomes DOT and SVG.

A builder (``folded``, ``unfolded``, ``operations``, ``wirings``) fills a ``Drawing``: nodes
with a kind, a step and a layer, and edges kept as data (tail, head, kind, step, the gradient
they carry) until ``to_digraph`` writes them as a ``graphviz.Digraph``. The classes that reach
the SVG are made here and only here: every node and edge of time step ``t`` carries ``step-t``
(1-based) after its kind (``input``, ``state``, ``cell``, ``output``, ``gate``, ``op``,
``weight``, ``ellipsis``), then what the builder adds (``layer-k``, ``initial``, ``encoder``,
...). Also here: number formats and label text, the gradient colour scale and its legend,
which steps a long sequence shows (``step_window``), and rendering with ``dot``.
"""

from __future__ import annotations

import html
import math
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field

import graphviz
import numpy as np

from ..engine.numerics import norm as _norm
from .style import FILL, FONT, FONTSIZE, GRAD_STOPS, HIGHLIGHT, LINE, PEN

KINDS = ("input", "state", "cell", "output", "gate", "op", "weight", "ellipsis")
MAX_NODES = 400  # the collapse keeps every graph below this
CELL_TITLE = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}
NODE_DEFAULTS = {"fontname": FONT, "fontsize": FONTSIZE, "penwidth": "1.2", "color": PEN}
EDGE_DEFAULTS = {"fontname": FONT, "fontsize": FONTSIZE, "color": LINE, "arrowsize": "0.8"}


class GraphvizUnavailable(RuntimeError):
    """The Graphviz ``dot`` program is not installed, so nothing can be rendered."""


def format_number(v: float) -> str:
    """Three significant digits, compact: ``-0.123``, ``12.3``, ``1.23e-05``, ``inf``, ``nan``."""
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == 0:
        return "0"
    if 1e-3 <= abs(v) < 1e3:
        return f"{v:.3g}"
    return f"{v:.2e}"


def label_number(v: float) -> str:
    """``format_number`` for labels: nan, which finite weights and inputs only give after an
    overflow (inf - inf), is written as the word "overflow"."""
    return "overflow" if math.isnan(float(v)) else format_number(v)


def format_vector(v: np.ndarray, preview: int = 2) -> str:
    """A scalar for one entry; otherwise the first ``preview`` entries and an ellipsis."""
    v = np.ravel(v)
    if v.size == 1:
        return label_number(v[0])
    shown = v if v.size <= preview + 1 else v[:preview]
    tail = "" if v.size <= preview + 1 else ", …"
    return "[" + ", ".join(label_number(a) for a in shown) + tail + "]"


def format_full(v: np.ndarray) -> str:
    """Every entry, for tooltips."""
    v = np.ravel(v)
    if v.size == 1:
        return label_number(v[0])
    return "[" + ", ".join(label_number(a) for a in v) + "]"


def norm(v: np.ndarray) -> float:
    return _norm(v)  # exact for huge values; inf or nan once they overflowed


def maybe_norm(v: np.ndarray | None) -> float | None:
    return None if v is None else norm(v)


def escape(text: str) -> str:
    """Make text literal inside a quoted DOT string (backslash escapes, quotes, newlines)."""
    text = str(text).replace("\\", "\\\\").replace('"', '\\"')
    return text.replace("\r", "").replace("\n", "\\n")


def text(lines: list[str]) -> graphviz.quoting.NoHtml:
    """Lines joined by DOT's centred line break; never read as an HTML label."""
    return graphviz.nohtml("\\n".join(escape(line) for line in lines))


def node_lines(name: str, shown: str | None, grad: np.ndarray | None) -> list[str]:
    """A node's label: its name, what it shows (a value, a word), and ||dL/dv|| when there are gradients."""
    out = [name] + ([shown] if shown is not None else [])
    return out + ([] if grad is None else ["‖∇‖ " + label_number(norm(grad))])


def tooltip(name: str, value: np.ndarray | None, grad: np.ndarray | None, *extra: str) -> str:
    """Every entry of a node's value and gradient, one per line (and ``extra`` lines between)."""
    parts = [name] + ([f"= {format_full(value)}"] if value is not None else []) + [e for e in extra if e]
    if grad is not None:
        parts.append(f"∂L/∂{name} = {format_full(grad)}")
    return "\n".join(parts)


_SUB = str.maketrans("0123456789-+", "₀₁₂₃₄₅₆₇₈₉₋₊")
_SUP = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def sub(n: int | str) -> str:
    """Unicode subscript: ``sub(12) == '₁₂'``."""
    return str(n).translate(_SUB)


def layer_mark(k: int, L: int) -> str:
    """Superscript layer number where there is more than one layer: ``h⁽²⁾`` for k = 1."""
    return "" if L == 1 else "⁽" + str(k + 1).translate(_SUP) + "⁾"


def cell_title(cell: str, activation: str | None = None, mark: str = "") -> str:
    """``LSTM⁽²⁾``; an RNN names its activation: ``RNN (tanh)``."""
    return CELL_TITLE[cell] + mark + (f" ({activation})" if cell == "rnn" and activation else "")


def weight_html(which: str, sup: str = "", mark: str = "") -> str:
    """``W<SUB>ih</SUB><SUP>dec</SUP>`` for an HTML-like label (our own text only)."""
    return f"W<SUB>{which}</SUB>" + (f"<SUP>{html.escape(sup)}</SUP>" if sup else "") + html.escape(mark)


def _lerp_color(c0: str, c1: str, s: float) -> str:
    a = [int(c0[i : i + 2], 16) for i in (1, 3, 5)]
    b = [int(c1[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * s):02x}" for x, y in zip(a, b, strict=True))


def grad_color(g: float) -> str:
    """Colour of a gradient magnitude on a log scale: grey below 1e-6, blue, red above 1e2."""
    if math.isnan(g):
        return "#000000"
    m = math.log10(g) if g > 0 else -math.inf
    if m <= GRAD_STOPS[0][0]:
        return GRAD_STOPS[0][1]
    for (m0, c0), (m1, c1) in zip(GRAD_STOPS, GRAD_STOPS[1:], strict=False):
        if m <= m1:
            return _lerp_color(c0, c1, (m - m0) / (m1 - m0))
    return GRAD_STOPS[-1][1]


def grad_width(g: float) -> float:
    """Pen width from 0.5 (vanishing, <= 1e-6) to 4 (exploding, >= 1e2)."""
    if not g > 0 or math.isnan(g):
        return 0.5
    s = min(max((math.log10(g) + 6.0) / 8.0, 0.0), 1.0)
    return round(0.5 + 3.5 * s, 2)


def legend_row(content: str, colspan: int | None = None) -> str:
    """A left-aligned row of an HTML-like legend table."""
    span = f' COLSPAN="{colspan}"' if colspan else ""
    return f'<TR><TD ALIGN="LEFT"{span}>{content}</TD></TR>'


def legend_table(rows: list[str], spacing: int) -> str:
    """An HTML-like label (a graph's legend) from its rows."""
    return f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="{spacing}">' + "".join(rows) + "</TABLE>>"


def gradient_scale(width: int, point_size: int) -> str:
    """The gradient colour scale as a row of swatches, vanishing (< 1e-6) to exploding (> 1e2)."""
    cells = "".join(
        f'<TD WIDTH="{width}" BGCOLOR="{grad_color(10.0**m)}"><FONT POINT-SIZE="{point_size}">'
        f"{html.escape(label)}</FONT></TD>"
        for m, label in ((-7, "<1e-6"), (-4, "1e-4"), (-2, "1e-2"), (0, "1"), (1, "10"), (2.5, ">1e2"))
    )
    return f'<TABLE BORDER="0" CELLSPACING="1"><TR>{cells}</TR></TABLE>'


def step_window(T: int, max_steps: int, keep: int | None = None) -> tuple[list[int], list[tuple[int, int]]]:
    """The visible steps (1-based) and the hidden gaps ``(first, last)`` between them.

    All steps when ``T <= max_steps``; otherwise the first half and the last half of
    ``max_steps``, plus ``keep`` (a highlighted step) if it would be hidden.
    """
    if T <= max_steps:
        return list(range(1, T + 1)), []
    budget = max(max_steps, 2)
    extra = keep is not None and budget // 2 < keep <= T - (budget - budget // 2)
    if extra:
        budget = max(budget - 1, 2)
    head = budget - budget // 2
    tail = budget - head
    steps = set(range(1, head + 1)) | set(range(T - tail + 1, T + 1))
    if keep is not None and 1 <= keep <= T:
        steps.add(keep)
    visible = sorted(steps)
    gaps = [(a + 1, b - 1) for a, b in zip(visible, visible[1:], strict=False) if b > a + 1]
    return visible, gaps


def in_time_order(visible: list[int]) -> list[tuple[int, int | None]]:
    """The visible steps in time order, each after the hidden stretch before it if any:
    ``(t, None)`` for step t, ``(first, last)`` for the hidden steps first..last."""
    out: list[tuple[int, int | None]] = []
    prev = 0
    for t in visible:
        if t > prev + 1:
            out.append((prev + 1, t - 1))
        out.append((t, None))
        prev = t
    return out


def node_id(*parts: object) -> str:
    """A node's identity, the same in the DOT and the SVG: ``node_id("h", 0, 3) == "h_0_3"``."""
    return "_".join(str(p) for p in parts)


def edge_id(tail: str, head: str) -> str:
    """An edge's identity in the SVG: ``edge_id("h_0_1", "cell_0_2") == "h_0_1->cell_0_2"`` (tail, then head,
    in the direction the numbers flow, also for an edge drawn reversed)."""
    return f"{tail}->{head}"


def classes(kind: str, step: int | None, extra: list[str] = ()) -> str:
    """The class attribute of a node, edge or cluster: its kind, ``step-t``, then ``extra``."""
    return " ".join(dict.fromkeys([kind] + ([f"step-{step}"] if step is not None else []) + list(extra)))


def _place(ident: str, klass: str) -> tuple[str, int, int | None]:
    """A node's role (its id without numbers: "h", "op_fc"; a bidirectional layer's backward row is a
    role of its own), layer and step (0 for an initial state)."""
    names = klass.split()
    step = next((int(c[5:]) for c in names if c.startswith("step-")), 0 if "initial" in names else None)
    layer = next((int(c[6:]) for c in names if c.startswith("layer-")), 0)
    role = "_".join(p for p in ident.split("_") if not p.isdigit())
    return role + (" reverse" if "reverse" in names else ""), layer, step


def navigation(nodes: list[tuple[str, str]]) -> dict[str, dict[str, str]]:
    """Where the arrow keys lead from each node, given (id, class attribute) of a drawing's nodes:
    "left" / "right" the same node at the nearest step before / after, "up" / "down" the same node
    one layer above / below at the same step (or that layer's first node of the same kind)."""
    placed = {i: _place(i, k) for i, k in nodes}
    kind = {i: (k.split() or [""])[0] for i, k in nodes}
    track: dict[tuple[str, int], list[tuple[int, str]]] = {}  # (role, layer) -> (step, id)
    column: dict[tuple[int, int], list[str]] = {}  # (layer, step) -> ids in drawing order
    for i, (role, layer, step) in placed.items():
        if step is not None:
            track.setdefault((role, layer), []).append((step, i))
            column.setdefault((layer, step), []).append(i)
    for steps in track.values():
        steps.sort()
    out: dict[str, dict[str, str]] = {}
    for i, (role, layer, step) in placed.items():
        if step is None:
            continue
        moves: dict[str, str] = {}
        steps = track[(role, layer)]
        at = steps.index((step, i))
        if at > 0:
            moves["left"] = steps[at - 1][1]
        if at + 1 < len(steps):
            moves["right"] = steps[at + 1][1]
        for move, other in (("up", layer + 1), ("down", layer - 1)):
            ids = column.get((other, step), [])
            pick = [j for j in ids if placed[j][0] == role] or [j for j in ids if kind[j] == kind[i]]
            if pick:
                moves[move] = pick[0]
        out[i] = moves
    return out


@dataclass
class Node:
    id: str  # made by node_id from the kind, layer, step (and operation)
    kind: str  # one of KINDS; "" for an invisible place holder of the layout
    step: int | None  # None: not tied to a step (initial state, weight, ellipsis)
    lines: list[str]
    tooltip: str = ""
    layer: int | None = None
    grad: float | None = None  # ||dL/dv||: colours the edges that carry it
    classes: list[str] = field(default_factory=list)  # after the kind and the step
    attrs: dict[str, str] = field(default_factory=dict)  # Graphviz attributes beyond the kind's style


@dataclass
class Edge:
    tail: str
    head: str
    kind: str | None  # None: an invisible edge that only holds the layout in place
    step: int | None
    classes: list[str] = field(default_factory=list)
    grad: float | None = None
    attrs: dict[str, str] = field(default_factory=dict)
    back: bool = False  # written head -> tail with the arrow reversed: dot puts the tail after the head


@dataclass
class Cluster:
    """A box around the nodes of one layer's step (the operations inside it)."""

    name: str
    title: str
    kind: str
    step: int
    classes: list[str]
    members: list[str]


@dataclass(frozen=True)
class Look:
    """How a drawing is laid out and styled: the graph's name, its attributes (rank direction,
    spacing), the defaults of its nodes and edges, and the style of a node by its kind."""

    name: str
    graph: dict[str, str]
    node: dict[str, str]
    edge: dict[str, str]
    style: Callable[[Node], dict[str, str]]


@dataclass
class Drawing:
    """What a builder fills and ``to_digraph`` writes: nodes, edges, rank groups and clusters as
    data, the graph's label, and what stands out (gradients, highlighted steps)."""

    look: Look
    nodes: dict[str, Node] = field(default_factory=dict)  # written in this order
    edges: list[Edge] = field(default_factory=list)
    ranks: list[list[str]] = field(default_factory=list)  # groups drawn with rank=same
    clusters: list[Cluster] = field(default_factory=list)
    label: dict[str, str] = field(default_factory=dict)  # the graph's label: a legend or a title
    grads: bool = False  # edges coloured and thickened by the gradient they carry
    lit: set[int] = field(default_factory=set)  # highlighted steps
    path: bool = False  # the highlighted steps are the backward path: only edges between them stand out

    def node(self, node: Node) -> str:
        self.nodes[node.id] = node
        return node.id

    def edge(
        self,
        tail: str,
        head: str,
        kind: str | None = None,
        *,
        classes=(),
        grad=None,
        back=False,
        timeless=False,
        **attrs,
    ) -> None:
        """An edge of the step of its head (of none into or out of an ellipsis, or ``timeless``:
        from one sequence to another); its kind and gradient default to the tail's."""
        t, h = self.nodes[tail], self.nodes[head]
        kind = kind or t.kind
        step = None if timeless or "ellipsis" in (kind, h.kind) else h.step if h.step is not None else t.step
        self.edges.append(Edge(tail, head, kind, step, list(classes), t.grad if grad is None else grad, attrs, back))


def to_digraph(d: Drawing) -> graphviz.Digraph:
    """The drawing as Graphviz's DOT: nodes in order (a cluster's inside it), rank groups, edges, label."""
    look = d.look
    g = graphviz.Digraph(name=look.name)
    g.attr(**look.graph)
    g.attr("node", **look.node)
    g.attr("edge", **look.edge)
    clustered = {i for c in d.clusters for i in c.members}
    for n in d.nodes.values():
        if n.id not in clustered:
            g.node(n.id, **_node_attrs(n, d))
    for cl in d.clusters:
        with g.subgraph(name=cl.name) as c:
            lit = cl.step in d.lit
            c.attr(label=escape(cl.title), labeljust="l", style="rounded,dashed", color=HIGHLIGHT if lit else "#999999")
            c.attr(fontcolor=LINE, fontsize="12", penwidth="2.5" if lit else "1")
            c.attr(**{"class": classes(cl.kind, cl.step, cl.classes)})
            for i in cl.members:
                c.node(i, **_node_attrs(d.nodes[i], d))
    for group in d.ranks:
        with g.subgraph() as r:
            r.attr(rank="same")
            for i in group:
                r.node(i)
    for e in d.edges:
        if e.back:
            g.edge(e.head, e.tail, dir="back", **_edge_attrs(e, d))
        else:
            g.edge(e.tail, e.head, **_edge_attrs(e, d))
    if d.label:
        g.attr(**d.label)
    return g


def _node_attrs(n: Node, d: Drawing) -> dict[str, str]:
    if not n.kind:
        return dict(n.attrs)
    attrs = d.look.style(n)
    attrs.update(label=text(n.lines), fillcolor=FILL.get(n.kind, "#ffffff"))
    attrs["class"] = classes(n.kind, n.step, n.classes)
    attrs["id"] = n.id  # the SVG's <g> keeps it: the page, the URL and the tests find the node by it
    if n.tooltip:
        attrs["tooltip"] = text(n.tooltip.split("\n"))
    attrs.update(n.attrs)
    if n.step in d.lit:
        attrs.update(color=HIGHLIGHT, penwidth="3")
    return attrs


def _edge_attrs(e: Edge, d: Drawing) -> dict[str, str]:
    attrs = dict(e.attrs)
    if e.kind is None:
        return attrs
    attrs["class"] = classes(e.kind, e.step, e.classes)
    attrs["id"] = edge_id(e.tail, e.head)  # what depends on what, for the page (in the data's direction)
    if d.grads and e.grad is not None:
        attrs.update(color=grad_color(e.grad), penwidth=str(grad_width(e.grad)))
        attrs["tooltip"] = text([f"‖∂L/∂v‖ = {label_number(e.grad)}"])
    on_path = d.nodes[e.head].step in d.lit and (d.nodes[e.tail].step in d.lit or not d.path)
    if on_path and e.kind != "weight":
        attrs.update(penwidth=str(max(float(attrs.get("penwidth", 1)), 2.5)))
        if not d.grads:
            attrs["color"] = HIGHLIGHT
        if d.path:
            attrs["style"] = "bold"
    return attrs


def dot_source(graph: graphviz.Digraph) -> str:
    """The DOT text of a graph (deterministic for the same inputs)."""
    return graph.source


_NODE_LINE = re.compile(r"^\s*(\"(?:[^\"\\]|\\.)*\"|[A-Za-z_][\w]*)\s*(\[|$)")
_KEYWORDS = {"graph", "node", "edge", "subgraph", "digraph", "strict"}


def count_nodes(graph: graphviz.Digraph | str) -> int:
    """Distinct node statements in a graph or its DOT text (rank groups repeat no node)."""
    source = graph if isinstance(graph, str) else graph.source
    ids = set()
    for line in source.splitlines():
        m = _NODE_LINE.match(line)
        if m and m.group(1) not in _KEYWORDS and "->" not in line:
            ids.add(m.group(1))
    return len(ids)


def graphviz_available() -> bool:
    """Whether the ``dot`` program is on the PATH (needed for SVG and PNG, not for DOT)."""
    return shutil.which("dot") is not None


def render(graph: graphviz.Digraph, fmt: str = "svg") -> bytes:
    """Lay out and render with ``dot``: ``fmt`` is "svg", "png", "pdf", ...

    Raises GraphvizUnavailable when ``dot`` is not installed.
    """
    if not graphviz_available():
        raise GraphvizUnavailable(
            "the Graphviz 'dot' program is not installed, so the graph cannot be rendered as "
            f"{fmt.upper()}; install Graphviz (apt install graphviz, brew install graphviz) "
            "or export the DOT text instead"
        )
    try:
        data = graph.pipe(format=fmt, quiet=True)
    except graphviz.ExecutableNotFound as err:
        raise GraphvizUnavailable(f"the Graphviz 'dot' program could not be run: {err}") from None
    # dot writes '-' as '&#45;' (same character to any XML reader); plain text keeps class="step-3" greppable
    return data.replace(b"&#45;", b"-") if fmt == "svg" else data


def render_svg(graph: graphviz.Digraph) -> str:
    """The graph as SVG text (see ``render``)."""
    return render(graph, "svg").decode("utf-8")
