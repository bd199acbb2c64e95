"""The graph view in a real browser: a click selects a node and the inspector shows its numbers (checked
against rnnviz.forward / rnnviz.backward computed here), the selection survives a reload from the URL,
arrow keys move it and Esc clears it; hover dims exactly the nodes that are neither ancestors nor
descendants (computed from the DOT here); the Neuron page's five steps fit at 1280x800 and 1024x768
with labels of at least 12 px, and the step to look at is brought into view."""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import open_page, screenshot, wait_for_app
from playwright.sync_api import expect

import rnnviz
from rnnviz import drawing as rgraph
from rnnviz.engine import bptt, neuron, presets, signals

VIEW = ".rnnviz-graph-view.selectable"
INSPECTOR = '[class*="st-key-{page}-inspector"]'
SIX = dict(rtol=5e-6, atol=1e-12)  # the inspector writes 6 significant digits


def node(pg, ident: str):
    return pg.locator(f'{VIEW} g.node[id="{ident}"]')


def inspector_numbers(pg, page: str, label: str) -> np.ndarray:
    box = pg.locator(INSPECTOR.format(page=page))
    line = box.locator("p", has_text=label).first.inner_text()
    return np.array([float(v) for v in re.search(r"\[?([-\d., e+]+)\]?\s*$", line).group(1).split(",")])


def wait_selected(pg, page: str, ident: str) -> None:
    expect(pg).to_have_url(re.compile(rf"[?&]sel={ident}(&|$)"))
    expect(pg.locator(f"{VIEW}[data-selected='{ident}']")).to_have_count(1)
    expect(pg.locator(INSPECTOR.format(page=page))).to_have_count(1)
    wait_for_app(pg)


def test_click_reload_arrows_and_escape_on_the_neuron(page, app_url):
    open_page(page, app_url, "neuron", "?T=5&wx=1.5&wy=-0.75", selector=f"{VIEW} svg")
    trace = rnnviz.forward(neuron.neuron_params(1.5, -0.75, 0.0, "tanh"), signals.make_signal("impulse", 5, 1))
    node(page, "h_0_3").click()
    wait_selected(page, "neuron", "h_0_3")
    np.testing.assert_allclose(inspector_numbers(page, "neuron", "Value"), trace.hidden[0][2], **SIX)
    expect(page.locator(INSPECTOR.format(page="neuron"))).to_contain_text("y₃")
    screenshot(page, "graph-view-neuron-selected")
    page.reload()  # the selection is in the URL
    page.wait_for_selector(f"{VIEW} svg")
    wait_selected(page, "neuron", "h_0_3")
    node(page, "h_0_3").click()  # a second click clears, as Esc does; a click selects again
    expect(page).to_have_url(re.compile(r"[?&]sel=(&|$)"))
    node(page, "h_0_3").click()
    wait_selected(page, "neuron", "h_0_3")
    page.keyboard.press("ArrowRight")
    wait_selected(page, "neuron", "h_0_4")
    np.testing.assert_allclose(inspector_numbers(page, "neuron", "Value"), trace.hidden[0][3], **SIX)
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    wait_selected(page, "neuron", "h_0_2")
    page.keyboard.press("Escape")
    expect(page).to_have_url(re.compile(r"[?&]sel=(&|$)"))
    expect(page.locator(INSPECTOR.format(page="neuron"))).to_have_count(0)


def dependence(dot: str, start: str) -> set[str]:
    """The nodes ``start`` depends on or that depend on it, from the DOT's visible edges (dir=back reversed)."""
    up, down = {}, {}
    for tail, head, attrs in re.findall(r"^\t+(\w+) -> (\w+) \[(.*)\]$", dot, re.M):
        if "class=" not in attrs:  # an invisible edge that only holds the layout
            continue
        if "dir=back" in attrs:
            tail, head = head, tail
        up.setdefault(head, []).append(tail)
        down.setdefault(tail, []).append(head)

    def reach(graph):
        seen, todo = {start}, [start]
        while todo:
            for n in graph.get(todo.pop(), []):
                if n not in seen:
                    seen.add(n)
                    todo.append(n)
        return seen

    return reach(up) | reach(down)


@pytest.mark.parametrize("level, hovered", [("cell", "h_0_2"), ("operations", "op_f_0_2")])
def test_hover_dims_exactly_what_neither_feeds_nor_is_fed_by_the_node(page, app_url, level, hovered):
    open_page(page, app_url, "unfolded", f"?cell=lstm&H=2&T=4&level={level}", selector=f"{VIEW} svg")
    trace = rnnviz.forward(presets.network_params("lstm", 1, 2, 1, seed=0), signals.make_signal("impulse", 4, 1))
    dot = rgraph.unfolded_graph(trace, level=level).source
    lit = dependence(dot, hovered)
    everything = set(re.findall(r"^\t+(\w+) \[.*class=\"", dot, re.M))
    assert set(page.evaluate(f"() => [...document.querySelectorAll('{VIEW} g.node[id]')].map(n => n.id)")) == everything
    node(page, hovered).hover()
    page.wait_for_function(f"() => document.querySelector('{VIEW} svg.rnnviz-dimmed g.node.rnnviz-lit')")
    shown = page.evaluate(f"() => [...document.querySelectorAll('{VIEW} g.node.rnnviz-lit')].map(n => n.id)")
    assert set(shown) == lit and lit < everything
    dim = sorted(everything - lit)[0]  # and a node left out really fades (once the transition is over)
    page.wait_for_function(f"() => getComputedStyle(document.getElementById('{dim}')).opacity < 0.2", polling="raf")
    screenshot(page, f"graph-view-hover-{level}", idle=False)
    page.mouse.move(1, 1)  # off the drawing: nothing dims
    page.wait_for_function(f"() => !document.querySelector('{VIEW} svg.rnnviz-dimmed')")


def test_lstm_cell_state_and_elementwise_product_at_operation_level(page, app_url):
    open_page(page, app_url, "unfolded", "?cell=lstm&H=2&T=3&level=operations&grads=1", selector=f"{VIEW} svg")
    params = presets.network_params("lstm", 1, 2, 1, seed=0)
    trace = rnnviz.forward(params, signals.make_signal("impulse", 3, 1))
    grads = bptt.loss_backward(params, trace, "last")
    node(page, "c_0_2").click()
    wait_selected(page, "unfolded", "c_0_2")
    np.testing.assert_allclose(inspector_numbers(page, "unfolded", "Value"), trace.layers[0].c[1], **SIX)
    np.testing.assert_allclose(inspector_numbers(page, "unfolded", "Gradient"), grads.dc[0][1], **SIX)
    node(page, "op_ig_0_2").click()  # i ⊙ g
    wait_selected(page, "unfolded", "op_ig_0_2")
    gates = trace.layers[0].gates
    np.testing.assert_allclose(inspector_numbers(page, "unfolded", "Value"), gates["i"][1] * gates["g"][1], **SIX)
    np.testing.assert_allclose(inspector_numbers(page, "unfolded", "Gradient"), grads.dc[0][1], **SIX)  # d(c)/d(ig) = 1
    screenshot(page, "graph-view-lstm-product")


def test_a_node_of_the_bptt_graph(page, app_url):
    open_page(page, app_url, "bptt", "?cell=gru&H=2&T=4&bview=graph&radius=1", selector=f"{VIEW} svg")
    params = presets.rescale_recurrent(presets.network_params("gru", 1, 2, 1, seed=0), 1.0)
    trace = rnnviz.forward(params, signals.make_signal("impulse", 4, 1))
    grads = bptt.loss_backward(params, trace, "last")
    node(page, "h_0_2").click()
    wait_selected(page, "bptt", "h_0_2")
    np.testing.assert_allclose(inspector_numbers(page, "bptt", "Value"), trace.hidden[0][1], **SIX)
    np.testing.assert_allclose(inspector_numbers(page, "bptt", "Gradient"), grads.dh[0][1], **SIX)


# every node of the page's selectable drawing: inside its scroll box and the window, labels >= 12 px
GEOMETRY = """() => {
  const view = document.querySelector('.rnnviz-graph-view.selectable'), box = view.querySelector('.rnnviz-graph');
  const b = box.getBoundingClientRect();
  const out = [...box.querySelectorAll('g.node[id]')].filter(n => {
    const r = n.getBoundingClientRect();
    return r.left < b.left - 0.5 || r.right > b.right + 0.5 || r.right > window.innerWidth || r.left < 0;
  }).map(n => n.id);
  const px = [...box.querySelectorAll('g.node text')].map(t =>
    parseFloat(getComputedStyle(t).fontSize) * t.getBoundingClientRect().height / t.getBBox().height);
  return {out, smallest: Math.min(...px), nodes: box.querySelectorAll('g.node[id]').length};
}"""


@pytest.mark.parametrize("size", [(1280, 800), (1024, 768)])
def test_the_neurons_five_steps_are_seen_whole_with_readable_labels(page, app_url, size):
    page.set_viewport_size({"width": size[0], "height": size[1]})
    open_page(page, app_url, "neuron", "", selector=f"{VIEW}[data-ready] svg")
    found = page.evaluate(GEOMETRY)
    assert found["nodes"] == 16 and found["out"] == [], found  # y_0 and x_t, the neuron, y_t of 5 steps
    assert found["smallest"] >= 12, found
    screenshot(page, f"graph-view-neuron-{size[0]}x{size[1]}")


def test_the_step_to_look_at_is_brought_into_view(page, app_url):
    page.set_viewport_size({"width": 1024, "height": 768})
    open_page(page, app_url, "neuron", "?T=12&step=12", selector=f"{VIEW}[data-ready] svg")
    in_view = """(step) => {
      const box = document.querySelector('.rnnviz-graph-view.selectable .rnnviz-graph');
      const b = box.getBoundingClientRect();
      return [...box.querySelectorAll(`g.node.step-${step}`)].every(n => {
        const r = n.getBoundingClientRect();
        return r.left >= b.left - 0.5 && r.right <= b.right + 0.5;
      });
    }"""
    page.wait_for_function(in_view, arg=12)
    assert not page.evaluate(in_view, 1), "12 steps are wider than the box at 12 px labels: step 1 is scrolled away"
    screenshot(page, "graph-view-neuron-step-12")
