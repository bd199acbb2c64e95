"""The Train page in a real browser: a live progress bar, plots after training, a Stop that keeps
the model so far, RNN vs LSTM vs GRU, and the trained model opened in the unfolded graph.

The default run of each task is timed from the click to the results and printed (pytest -s).
"""

from __future__ import annotations

import re
import time

import pytest
from conftest import screenshot, wait_for_app

PLOT = ".js-plotly-plot"
EXCEPTION = '[data-testid="stException"]'
PROGRESS = '[data-testid="stProgress"]'
METRIC = '[data-testid="stMetric"]'


def open_train(pg, app_url: str, query: str = "") -> None:
    pg.goto(app_url)  # a fresh server serves st.navigation's url paths only after app.py has run once
    wait_for_app(pg)
    pg.goto(f"{app_url}/train{query}")
    wait_for_app(pg)


def tall_screenshot(pg, name: str, height: int = 2600) -> None:
    """The whole page: Streamlit scrolls inside its own box, so make the window as tall as the page."""
    pg.set_viewport_size({"width": 1280, "height": height})
    pg.wait_for_timeout(800)
    screenshot(pg, name)
    pg.set_viewport_size({"width": 1280, "height": 800})


def click_train(pg, live: bool = True) -> float:
    """Click the Train button, check the progress bar shows up, wait for the results; the seconds taken."""
    start = time.perf_counter()
    pg.get_by_role("button", name="Train").first.click()
    if live:  # a run of a second or less can be over before the bar is seen
        pg.wait_for_selector(PROGRESS, timeout=30_000)
    pg.get_by_text("how well it does").wait_for(timeout=120_000)
    seconds = time.perf_counter() - start
    wait_for_app(pg, timeout=60_000)
    pg.wait_for_timeout(500)  # plotly draws after the element appears
    return seconds


@pytest.mark.parametrize("task", ["sine", "stock", "chars", "adding"])
def test_default_training_of_each_task(page, app_url, task):
    open_train(page, app_url, f"?task={task}")
    assert page.locator(EXCEPTION).count() == 0
    seconds = click_train(page)
    print(f"\n{task}: default training in the page took {seconds:.1f} s from the click to the results")
    assert page.locator(EXCEPTION).count() == 0
    assert page.locator(METRIC).count() >= 2
    titles = page.evaluate(f"() => [...document.querySelectorAll('{PLOT} .gtitle')].map(t => t.textContent)")
    assert "training curves" in titles
    if task == "chars":
        from playwright.sync_api import expect

        # the generated text's code block can show after the script is done (loaded on demand): wait for it
        expect(page.locator("code").first).to_have_text(re.compile(r"^the "), timeout=30_000)
    else:
        assert any(t.startswith("LSTM:") for t in titles), titles
    if task == "stock":
        assert page.get_by_text("A pure random walk").count() == 1
    tall_screenshot(page, f"train-{task}")


def test_progress_bar_is_live(page, app_url):
    open_train(page, app_url, "?task=chars&epochs=12")
    page.get_by_role("button", name="Train").first.click()
    page.wait_for_selector(PROGRESS, timeout=30_000)
    # read the text in the same check: the bar is gone once the last epoch is done, maybe before a second look
    seen = page.wait_for_function(
        f"() => {{ const t = document.querySelector('{PROGRESS}')?.textContent || ''; "
        "return /epoch [2-9] of 12/.test(t) && t; }",
        timeout=60_000,
    )
    text = seen.json_value()
    assert "s left" in text and "validation loss" in text
    page.wait_for_selector(f"{PLOT}", timeout=30_000)  # the live loss curves
    screenshot(page, "train-live")
    page.get_by_text("how well it does").wait_for(timeout=120_000)
    assert page.locator(PROGRESS).count() == 0, "the progress bar goes once training is done"


def test_stop_keeps_a_usable_partial_model(page, app_url):
    open_train(page, app_url, "?task=chars&epochs=100")
    page.get_by_role("button", name="Train").first.click()
    page.wait_for_function(
        f"() => /epoch [3-9] of 100/.test(document.querySelector('{PROGRESS}')?.textContent || '')", timeout=60_000
    )
    page.get_by_test_id("stMain").get_by_role("button", name="Stop", exact=True).click()
    page.get_by_text("Training was stopped").wait_for(timeout=30_000)
    wait_for_app(page)
    page.wait_for_timeout(500)
    assert page.locator(EXCEPTION).count() == 0
    warning = page.get_by_text("Training was stopped").inner_text()
    epochs = int(warning.split("LSTM ")[1].split(" of")[0])
    assert 3 <= epochs < 100
    assert page.locator(METRIC).count() >= 2
    assert page.locator("code").first.inner_text().startswith("the "), "the partial model generates text"
    tall_screenshot(page, "train-stopped")


def test_compare_three_cells_on_the_adding_task(page, app_url):
    open_train(page, app_url, "?task=adding&compare=1&epochs=6&hidden=8")
    start = time.perf_counter()
    page.get_by_role("button", name="Train RNN, LSTM and GRU").click()
    page.get_by_text("RNN vs LSTM vs GRU").wait_for(timeout=180_000)
    print(f"\ncompare on adding (6 epochs, H = 8): {time.perf_counter() - start:.1f} s")
    wait_for_app(page, timeout=60_000)
    page.wait_for_timeout(500)
    assert page.locator(EXCEPTION).count() == 0
    assert page.locator('[data-testid="stDataFrame"]').count() == 1
    tall_screenshot(page, "train-compare")


def test_trained_model_opens_in_the_unfolded_graph(page, app_url):
    open_train(page, app_url, "?task=sine&epochs=2&hidden=3")
    click_train(page, live=False)
    page.get_by_role("button", name="Open in the unfolded graph").click()
    page.wait_for_selector(".rnnviz-graph svg", timeout=60_000)
    wait_for_app(page)
    assert "/unfolded" in page.url
    assert page.get_by_text("Showing the model trained on the Train page").count() == 1
    assert page.locator(EXCEPTION).count() == 0
    screenshot(page, "train-opened-unfolded")
    page.get_by_role("button", name="Back to random weights").click()
    page.wait_for_function(
        "() => !document.body.innerText.includes('Showing the model trained on the Train page')", timeout=30_000
    )
    assert page.locator(EXCEPTION).count() == 0
