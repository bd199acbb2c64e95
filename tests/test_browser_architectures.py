"""The Architectures page in a real browser: the four wirings side by side (SVGs with step
classes, one scale, readable labels), a change of wiring, and training to completion.

Screenshots go to test-artifacts/ (architectures-*.png).
"""

from __future__ import annotations

import re
import time

from conftest import choose, open_page, screenshot, wait_for_app
from playwright.sync_api import expect

GRAPHS = ".rnnviz-graph svg"
EXCEPTION = '[data-testid="stException"]'
PROGRESS = '[data-testid="stProgress"]'
METRIC = '[data-testid="stMetric"]'
# per drawing: whether it has a decoder, the steps of its input and output nodes, and its on-screen scale
DRAWINGS = """() => [...document.querySelectorAll('.rnnviz-graph svg')].map(svg => {
  const steps = sel => [...new Set([...svg.querySelectorAll(sel)].flatMap(e => [...e.classList])
    .filter(c => /^step-\\d+$/.test(c)).map(c => +c.slice(5)))].sort((a, b) => a - b);
  return {
    decoder: svg.querySelectorAll('g.node.decoder').length > 0,
    inputs: steps('g.node.input'),
    encoderInputs: steps('g.node.input.encoder'),
    outputs: steps('g.node.output'),
    scale: svg.getBoundingClientRect().width / svg.viewBox.baseVal.width,
    feedback: svg.querySelectorAll('g.edge.feedback').length,
    context: svg.querySelectorAll('g.edge.context').length,
  };
})"""
LABEL_PX = """(n) => [...document.querySelectorAll('.rnnviz-graph svg')].slice(0, n).flatMap(svg =>
  [...svg.querySelectorAll('g.node text')].map(t =>
    parseFloat(getComputedStyle(t).fontSize) * t.getBoundingClientRect().height / t.getBBox().height))"""


def open_architectures(pg, app_url: str, query: str = "") -> None:
    open_page(pg, app_url, "architectures", query, selector=GRAPHS)


def percent(text: str) -> float:
    """The metric's value: the first line that is a percentage."""
    return next(float(line[:-1]) for line in text.split("\n") if re.fullmatch(r"[\d.]+%", line.strip()))


def test_the_four_wirings_side_by_side(page, app_url):
    open_architectures(page, app_url)
    assert page.locator(EXCEPTION).count() == 0
    drawings = page.evaluate(DRAWINGS)[:4]
    assert [d["decoder"] for d in drawings] == [False, False, False, True]  # the encoder-decoder comes last
    m2o, o2m, m2m, ed = drawings
    assert m2o["inputs"] == [1, 2, 3, 4] and m2o["outputs"] == [4]
    assert o2m["inputs"] == [1] and o2m["outputs"] == [1, 2, 3, 4]
    assert m2m["inputs"] == [1, 2, 3, 4] and m2m["outputs"] == [1, 2, 3, 4]
    assert ed["encoderInputs"] == [1, 2, 3, 4] and ed["outputs"] == [1, 2, 3]
    assert ed["context"] == 1 and ed["feedback"] == 2
    scales = [d["scale"] for d in drawings]
    assert max(scales) - min(scales) < 0.02 * max(scales), f"one scale for the four drawings: {scales}"
    sizes = page.evaluate(LABEL_PX, 4)
    print(f"\nside by side at 1280x800: scale {scales[0]:.2f}, node labels {min(sizes):.1f}-{max(sizes):.1f} px")
    assert min(sizes) >= 12, f"node labels render at {min(sizes):.1f} px"
    screenshot(page, "architectures-side-by-side")


def test_change_the_wiring_then_train_to_completion(page, app_url):
    open_architectures(page, app_url, "?cell=gru")
    choose(page, "Wiring", "Encoder-decoder")
    page.wait_for_function(
        """() => [...document.querySelectorAll('.rnnviz-graph svg')].some(s =>
             s.querySelector('g.node.state.decoder') && s.querySelector('g.node.input.step-1.encoder')
             && !s.closest('[data-testid="stColumn"]'))"""
    )
    wait_for_app(page)
    assert page.locator(EXCEPTION).count() == 0
    expect(page.get_by_role("combobox", name="Application")).to_have_value("Letters -> reversed")
    expect(page).to_have_url(re.compile(r"[?&]wiring=encoder_decoder(&|$)"))
    expect(page).to_have_url(re.compile(r"[?&]example=reverse(&|$)"))
    start = time.perf_counter()
    page.get_by_role("button", name="Train").click()
    page.wait_for_selector(PROGRESS)
    page.get_by_text("Trained for").wait_for(timeout=300_000)  # as the Train page's training
    print(f"\nreverse: default training in the page took {time.perf_counter() - start:.1f} s")
    wait_for_app(page)
    assert page.locator(EXCEPTION).count() == 0
    assert page.locator(PROGRESS).count() == 0, "the progress bar goes once training is done"
    metrics = page.locator(METRIC)
    assert metrics.count() >= 2
    accuracy, baseline = (percent(metrics.nth(k).inner_text()) for k in (0, 1))
    assert accuracy > baseline + 30, (accuracy, baseline)
    page.locator('[data-testid="stPlotlyChart"]').last.scroll_into_view_if_needed()  # plots draw once in view
    expect(page.locator(".js-plotly-plot .gtitle").filter(has_text=re.compile("^training loss$"))).not_to_have_count(0)
    screenshot(page, "architectures-trained-reverse", height=2600)


def test_bidirectional_tagging(page, app_url):
    open_architectures(page, app_url, "?wiring=many_to_many&bidir=1&hidden=8")
    assert page.locator(EXCEPTION).count() == 0
    explore = page.locator(GRAPHS).nth(4)
    assert explore.locator("g.node.state.reverse").count() > 0
    assert explore.locator("g.node.output").count() == explore.locator("g.node.input").count()
    screenshot(page, "architectures-bidirectional", height=2600)
