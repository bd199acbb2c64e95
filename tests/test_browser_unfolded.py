"""The Unfolded graph page in a real browser: the SVG, the sequence length, label size, uploads."""

from __future__ import annotations

import re

from conftest import screenshot, wait_for_app

GRAPH = ".rnnviz-graph svg"

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


def open_page(pg, app_url: str, query: str = "") -> None:
    # Streamlit runs a fresh server in its legacy pages-folder mode until app.py has called
    # st.navigation once, so load the entry page first (see the report on pages/ vs st.navigation).
    pg.goto(app_url)
    wait_for_app(pg)
    pg.goto(f"{app_url}/unfolded{query}")
    wait_for_app(pg)
    pg.wait_for_selector(GRAPH, timeout=30_000)


def snap(pg, name: str) -> None:
    pg.wait_for_timeout(1000)  # let the last elements finish drawing
    screenshot(pg, name)


def drawn_steps(pg) -> list[int]:
    return sorted(int(c.split("-")[1]) for c in pg.evaluate(STEP_CLASSES))


def test_page_renders_its_graph_with_readable_labels(page, app_url):
    open_page(page, app_url)
    assert page.locator('[data-testid="stException"]').count() == 0
    assert drawn_steps(page) == [1, 2, 3, 4, 5]
    sizes = page.evaluate(LABEL_PX)
    assert sizes, "no node labels found in the SVG"
    assert min(sizes) >= 12, f"node labels render at {min(sizes):.1f} px"
    snap(page, "unfolded-defaults")


def test_sequence_length_slider_changes_the_drawn_steps(page, app_url):
    open_page(page, app_url)
    slider = page.get_by_role("slider", name="Sequence length")
    slider.focus()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    assert slider.get_attribute("aria-valuetext") == "8"
    page.wait_for_function(
        """() => document.querySelectorAll('.rnnviz-graph svg .step-8').length > 0""", timeout=30_000
    )
    wait_for_app(page)
    assert drawn_steps(page) == list(range(1, 9))
    assert re.search(r"T=8", page.url)
    snap(page, "unfolded-T8")


def test_operations_level_gradients_and_highlight(page, app_url):
    open_page(page, app_url, "?level=operations&grads=1&hl=2&H=3")
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator(f"{GRAPH} .step-2").count() > 0
    snap(page, "unfolded-operations-grads")


def test_largest_settings_stay_collapsed(page, app_url):
    open_page(page, app_url, "?T=100&H=32&L=3&D=8&level=operations&grads=1")
    assert page.locator('[data-testid="stException"]').count() == 0
    steps = drawn_steps(page)
    assert steps[0] == 1 and steps[-1] == 100 and len(steps) < 10
    snap(page, "unfolded-max")


def test_bad_upload_shows_an_error_and_keeps_the_graph(page, app_url, tmp_path):
    open_page(page, app_url)
    page.get_by_text("Load weights from a file").click()
    bad = tmp_path / "broken.json"
    bad.write_text('{"cell": "lstm", "state_dict": {"weight_hh_l0": [[1, 2, 3]]}}')
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(bad))
    error = page.locator('[data-testid="stAlertContentError"]')
    error.first.wait_for(timeout=30_000)
    assert "broken.json" in error.first.inner_text()
    wait_for_app(page)
    assert page.locator(GRAPH).count() == 1
    assert page.locator('[data-testid="stException"]').count() == 0
    snap(page, "unfolded-bad-upload")


def test_good_upload_replaces_the_weights(page, app_url, tmp_path):
    import rnnviz
    from rnnviz import presets

    weights = tmp_path / "gru.npz"
    weights.write_bytes(rnnviz.dump_weights(presets.network_params("gru", 3, 4, 2, seed=7), "npz"))
    open_page(page, app_url)
    page.get_by_text("Load weights from a file").click()
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(weights))
    info = page.locator('[data-testid="stAlertContentInfo"]')
    info.first.wait_for(timeout=30_000)
    assert "GRU, D = 3, H = 4, L = 2" in info.first.inner_text()
    wait_for_app(page)
    assert page.locator(f"{GRAPH} .node").count() > 0
    assert page.locator('[data-testid="stException"]').count() == 0
    snap(page, "unfolded-uploaded")


def test_fit_to_page_shows_the_whole_drawing(page, app_url):
    open_page(page, app_url, "?T=8")
    page.get_by_text("Fit the drawing to the page", exact=True).click()
    wait_for_app(page)
    box = page.evaluate(
        "() => [document.querySelector('.rnnviz-graph').clientWidth,"
        " document.querySelector('.rnnviz-graph svg').getBoundingClientRect().width]"
    )
    assert box[1] <= box[0] + 1
    snap(page, "unfolded-fit")


def test_play_moves_the_highlight_on(page, app_url):
    open_page(page, app_url)
    page.get_by_role("button", name="▶ Play").click()
    page.wait_for_function("() => /hl=[3-5]/.test(location.search)", timeout=20_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    snap(page, "unfolded-playing")
