"""The Unfolded graph page in a real browser: the SVG, the sequence length, label size, uploads."""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import open_page, screenshot, steady_box, wait_for_app
from playwright.sync_api import expect

GRAPH = ".rnnviz-graph svg"
EXCEPTION = '[data-testid="stException"]'

# Rendered font size of the first few node labels: the computed font-size in SVG units times
# the SVG's on-screen scale (client height over the bounding-box height of the same text).
LABEL_PX = """() => {
  const texts = [...document.querySelectorAll('.rnnviz-graph svg g.node text')].slice(0, 20);
  return texts.map(t => {
    const box = t.getBBox(), rect = t.getBoundingClientRect();
    return parseFloat(getComputedStyle(t).fontSize) * rect.height / box.height;
  });
}"""
STEP_CLASSES = """() => [...new Set([...document.querySelectorAll('.rnnviz-graph svg [class*="step-"]')]
  .flatMap(e => [...e.classList]).filter(c => /^step-\\d+$/.test(c)))]"""


def open_unfolded(pg, app_url: str, query: str = "") -> None:
    open_page(pg, app_url, "unfolded", query, selector=GRAPH)


def drawn_steps(pg) -> list[int]:
    return sorted(int(c.split("-")[1]) for c in pg.evaluate(STEP_CLASSES))


def test_page_renders_its_graph_with_readable_labels(page, app_url):
    open_unfolded(page, app_url)
    assert page.locator(EXCEPTION).count() == 0
    assert drawn_steps(page) == [1, 2, 3, 4, 5]
    sizes = page.evaluate(LABEL_PX)
    assert sizes, "no node labels found in the SVG"
    assert min(sizes) >= 12, f"node labels render at {min(sizes):.1f} px"
    screenshot(page, "unfolded-defaults")


def test_sequence_length_slider_changes_the_drawn_steps(page, app_url):
    open_unfolded(page, app_url)
    slider = page.get_by_role("slider", name="Sequence length")
    slider.focus()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    expect(slider).to_have_attribute("aria-valuetext", "8")
    page.wait_for_selector(f"{GRAPH} .step-8")
    wait_for_app(page)
    assert drawn_steps(page) == list(range(1, 9))
    expect(page).to_have_url(re.compile(r"[?&]T=8(&|$)"))
    screenshot(page, "unfolded-T8")


def test_operations_level_gradients_and_highlight(page, app_url):
    open_unfolded(page, app_url, "?level=operations&grads=1&hl=2&H=3")
    assert page.locator(EXCEPTION).count() == 0
    assert page.locator(f"{GRAPH} .step-2").count() > 0
    screenshot(page, "unfolded-operations-grads")


def test_largest_settings_stay_collapsed(page, app_url):
    open_unfolded(page, app_url, "?T=100&H=32&L=3&D=8&level=operations&grads=1")
    assert page.locator(EXCEPTION).count() == 0
    steps = drawn_steps(page)
    assert steps[0] == 1 and steps[-1] == 100 and len(steps) < 10
    screenshot(page, "unfolded-max")


def test_bad_upload_shows_an_error_and_keeps_the_graph(page, app_url, tmp_path):
    open_unfolded(page, app_url)
    page.get_by_text("Load weights from a file").click()
    bad = tmp_path / "broken.json"
    bad.write_text('{"cell": "lstm", "state_dict": {"weight_hh_l0": [[1, 2, 3]]}}')
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(bad))
    expect(page.locator('[data-testid="stAlertContentError"]').first).to_contain_text("broken.json")
    wait_for_app(page)
    assert page.locator(GRAPH).count() == 1
    assert page.locator(EXCEPTION).count() == 0
    screenshot(page, "unfolded-bad-upload")


def test_good_upload_replaces_the_weights(page, app_url, tmp_path):
    import rnnviz
    from rnnviz.engine import presets

    weights = tmp_path / "gru.npz"
    weights.write_bytes(rnnviz.dump_weights(presets.network_params("gru", 3, 4, 2, seed=7), "npz"))
    open_unfolded(page, app_url)
    page.get_by_text("Load weights from a file").click()
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(weights))
    expect(page.locator('[data-testid="stAlertContentInfo"]').first).to_contain_text("GRU, D = 3, H = 4, L = 2")
    wait_for_app(page)
    assert page.locator(f"{GRAPH} .node").count() > 0
    assert page.locator(EXCEPTION).count() == 0
    screenshot(page, "unfolded-uploaded")


@pytest.mark.parametrize("flow", ["across", "down"])
def test_fit_to_page_shows_the_whole_drawing(page, app_url, flow):
    open_unfolded(page, app_url, f"?T=8&flow={flow}")
    fits = """() => {
      const svg = document.querySelector('.rnnviz-graph svg').getBoundingClientRect();
      return svg.width <= document.querySelector('.rnnviz-graph').clientWidth + 1 && svg.height <= 640;
    }"""
    page.wait_for_function("() => document.querySelector('.rnnviz-graph-view[data-ready]')")
    assert not page.evaluate(fits), "at the readable scale, 8 steps are wider or taller than the box"
    page.get_by_text("Fit the drawing to the page", exact=True).click()
    page.wait_for_function(fits)
    wait_for_app(page)
    assert page.locator(EXCEPTION).count() == 0
    screenshot(page, f"unfolded-fit-{flow}")


def test_play_moves_the_highlight_on(page, app_url):
    open_unfolded(page, app_url)
    page.get_by_role("button", name="▶ Play").click()
    expect(page).to_have_url(re.compile(r"[?&]hl=[3-5](&|$)"))
    assert page.locator(EXCEPTION).count() == 0
    screenshot(page, "unfolded-playing")


H1 = """() => {
  const texts = [...document.querySelectorAll('.rnnviz-graph svg g.node text')].map(t => t.textContent);
  return texts[texts.indexOf('h₁') + 1];
}"""


def drawn_h1(pg) -> list[float]:
    """The numbers the drawing shows under h_1."""
    return [float(v) for v in pg.evaluate(H1).strip("[]").split(",")]


def default_h1(b_ih_0: float | None = None) -> list[float]:
    """h_1 of the page's default network and input computed by the core, optionally with b_ih[0] replaced."""
    import rnnviz
    from rnnviz.engine import presets, signals
    from ui import share

    s = share.defaults()
    params = presets.network_params(s["cell"], s["D"], s["H"], s["L"], seed=s["seed"], scale=s["scale"])
    assert s["preset"] == "random"
    if b_ih_0 is not None:
        params.layers[0].b_ih[0] = b_ih_0
    x = signals.make_signal(s["signal"], s["T"], s["D"], seed=s["seed"], custom=s["custom"])
    return list(rnnviz.forward(params, x).output[0])


def test_weight_edits_stay_while_the_editor_is_closed(window, app_url):
    """The editors are built only while their expander is open; the edits apply until the page is left."""
    page = window(1280, 1600)  # the editors in the window without scrolling: they stay where the mouse clicks
    open_unfolded(page, app_url, "?flow=across")  # a short drawing above them
    drawn = {"rtol": 2e-3, "atol": 5e-4}  # rounded: the drawing shows 3 decimals
    np.testing.assert_allclose(drawn_h1(page), default_h1(), **drawn)
    editor = page.get_by_text("Edit the weights of layer 1")
    grids = page.locator('[data-testid="stDataFrame"]')
    assert grids.count() == 0
    editor.click()
    expect(grids).to_have_count(4)  # W_ih and b_ih on the left, then W_hh and b_hh
    wait_for_app(page)
    b_ih = grids.nth(1)
    box = steady_box(page, b_ih)
    before = page.evaluate(H1)
    page.mouse.dblclick(box["x"] + box["width"] - 30, box["y"] + 35 + 17)  # b_ih's first row (i1), below the header
    cell = page.locator("input.gdg-input")  # the grid's cell editor: its code loads on the first edit
    expect(cell).to_be_focused()
    cell.fill("3")
    cell.press("Enter")
    page.wait_for_function(f"() => ({H1})() !== {before!r}")
    wait_for_app(page)
    edited = default_h1(b_ih_0=3.0)
    np.testing.assert_allclose(drawn_h1(page), edited, **drawn)
    editor.click()  # closed: no editors on the page, the edit still drawn
    expect(grids).to_have_count(0)
    wait_for_app(page)
    np.testing.assert_allclose(drawn_h1(page), edited, **drawn)
    editor.click()  # reopened: the editors start from the edit
    expect(grids).to_have_count(4)
    wait_for_app(page)
    np.testing.assert_allclose(drawn_h1(page), edited, **drawn)
    screenshot(page, "unfolded-edited")
    page.get_by_role("link", name="Gates and states").click()  # leaving the page drops the edits, as before
    expect(page.get_by_role("heading", name="Gates and states")).to_be_visible()
    wait_for_app(page)
    page.get_by_role("link", name="Unfolded graph").click()
    expect(page.get_by_role("heading", name="The unfolded graph")).to_be_visible()
    wait_for_app(page)
    page.wait_for_selector(GRAPH)
    np.testing.assert_allclose(drawn_h1(page), default_h1(), **drawn)
