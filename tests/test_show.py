"""ui.show: the light inline SVG draws the same as dot's, and the spare dot lays out as a fresh one does."""

import re
import xml.etree.ElementTree as ET

import graphviz
import pytest

import rnnviz
from rnnviz import drawing as rgraph
from rnnviz.engine import bptt, neuron, presets, signals
from ui import show

SVG = "{http://www.w3.org/2000/svg}"
XLINK_TITLE = "{http://www.w3.org/1999/xlink}title"
INHERITED = ("font-family", "font-size", "text-anchor")

pytestmark = pytest.mark.skipif(not rgraph.graphviz_available(), reason="needs Graphviz's dot")


def sources() -> list[str]:
    """DOT sources like the pages': clusters, gradients, highlights, weight sharing, the folded neuron."""
    out = []
    for cell, level in (("rnn_tanh", "cell"), ("lstm", "operations"), ("gru", "operations")):
        params = presets.network_params(cell, 2, 3, 2, seed=1)
        trace = rnnviz.forward(params, signals.make_signal("sine", 9, 2))
        grads = bptt.loss_backward(params, trace, "last")
        out.append(rgraph.unfolded_graph(trace, level=level, grads=grads, highlight_step=3).source)
        out.append(rgraph.unfolded_graph(trace, level=level, shared_weights=True).source)
    p = neuron.neuron_params(1.0, 0.5, 0.0)
    out.append(rgraph.folded_graph(p, neuron=True, activation_label="tanh").source)
    out.append(rgraph.unfolded_graph(rnnviz.forward(p, [[1.0], [0.0]]), neuron=True, values=True).source)
    return out


def effective(element, ancestors, name):
    """An attribute as it applies to an element: its own, else the nearest ancestor's."""
    for e in [element, *reversed(ancestors)]:
        if name in e.attrib:
            return e.attrib[name]
    return None


def drawn(svg: str) -> list[tuple]:
    """What the drawing shows, element by element: tag, class, geometry, colours, text and its font, tooltip."""
    root = ET.fromstring(svg)
    out = []

    def walk(e, ancestors):
        tag = e.tag.removeprefix(SVG)
        if tag == "title":
            return  # dot's internal names: never shown where a link's tooltip is
        if tag not in ("g", "svg"):  # groups only carry classes and ids
            attrs = {k: v for k, v in e.attrib.items() if k not in INHERITED and k != "id"}
            fonts = tuple(effective(e, ancestors, n) for n in INHERITED) if tag == "text" else ()
            out.append((tag, (e.text or "").strip(), tuple(sorted(attrs.items())), fonts))
        elif "class" in e.attrib:
            out.append(("class", e.attrib["class"]))
        for child in e:
            walk(child, [*ancestors, e])

    walk(root, [])
    return out


@pytest.mark.parametrize("index", range(8))
def test_inline_svg_draws_the_same_with_fewer_nodes(index):
    full = rgraph.render_svg(graphviz.Source(sources()[index]))
    light = show.inline_svg(full)
    assert drawn(light) == drawn(re.sub(r"^.*?(?=<svg)", "", full, flags=re.S))
    assert "<title>" not in light and "<!--" not in light and "\n<" not in light
    # the only ids left are the kernel's: every drawn node's and edge's (dot's node1, a_node1, ... are gone)
    kept = re.findall(r'<g id="([^"]+)" class="(node|edge) ', light)
    assert len(kept) == light.count(' id="')
    dot_nodes = re.findall(r'^\t+(\w+) \[.*class="', sources()[index], re.M)  # a cluster's nodes are indented more
    assert sorted(i for i, what in kept if what == "node") == sorted(dot_nodes)
    assert len(light) < 0.8 * len(full)
    tooltips = [e.get(XLINK_TITLE) for e in ET.fromstring(light).iter() if e.get(XLINK_TITLE)]
    assert tooltips == [e.get(XLINK_TITLE) for e in ET.fromstring(full.split("?>", 1)[1]).iter() if e.get(XLINK_TITLE)]


def test_inline_svg_keeps_step_classes_and_the_size_the_page_scales():
    full = rgraph.render_svg(graphviz.Source(sources()[0]))
    light = show.inline_svg(full)
    assert sorted(re.findall(r"step-\d+", light)) == sorted(re.findall(r"step-\d+", full))
    assert show._SIZE.search(light).groups() == show._SIZE.search(full).groups()


def test_the_spare_dot_lays_out_as_a_fresh_dot_does():
    pool = show.DotPool()
    for source in sources() * 2:  # every graph twice: nothing carries over from one layout to the next
        assert pool.svg(source) == rgraph.render_svg(graphviz.Source(source))


def test_the_spare_dot_answers_none_for_a_graph_dot_refuses():
    pool = show.DotPool()
    assert pool.svg("digraph { a -> }") is None
    assert "<svg" in pool.svg("digraph { a -> b }")  # and goes on with the next one
