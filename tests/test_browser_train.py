"""The Train page in a real browser: a live progress bar, plots after training, a Stop that keeps
the model so far, RNN vs LSTM vs GRU, and the trained model opened in the unfolded graph.

The default run of each task is timed from the click to the results and printed (pytest -s).
"""

from __future__ import annotations

import re
import time

import pytest
from conftest import open_page, screenshot, wait_for_app
from playwright.sync_api import expect

PLOT = ".js-plotly-plot"
TITLES = f"{PLOT} .gtitle"
EXCEPTION = '[data-testid="stException"]'
PROGRESS = '[data-testid="stProgress"]'
METRIC = '[data-testid="stMetric"]'
TRAINING = 300_000  # ms: the adding task's default training took 38 s on 2 cores at load 12


def open_train(pg, app_url: str, query: str = "") -> None:
    open_page(pg, app_url, "train", query)


def click_train(pg, live: bool = True) -> float:
    """Click the Train button, check the progress bar shows up, wait for the results; the seconds taken."""
    start = time.perf_counter()
    pg.get_by_role("button", name="Train").first.click()
    if live:  # a run of a second or less can be over before the bar is seen
        pg.wait_for_selector(PROGRESS)
    pg.get_by_text("how well it does").wait_for(timeout=TRAINING)
    seconds = time.perf_counter() - start
    wait_for_app(pg)
    return seconds


@pytest.mark.parametrize("task", ["sine", "stock", "chars", "adding"])
def test_default_training_of_each_task(page, app_url, task):
    open_train(page, app_url, f"?task={task}")
    assert page.locator(EXCEPTION).count() == 0
    seconds = click_train(page)
    print(f"\n{task}: default training in the page took {seconds:.1f} s from the click to the results")
    assert page.locator(EXCEPTION).count() == 0
    assert page.locator(METRIC).count() >= 2
    expect(page.locator(TITLES).filter(has_text=re.compile("^training curves$"))).not_to_have_count(0)
    if task == "chars":
        # the generated text's code block can show after the script is done (loaded on demand): wait for it
        expect(page.locator("code").first).to_have_text(re.compile("^the "), timeout=30_000)
    else:
        expect(page.locator(TITLES).filter(has_text=re.compile("^LSTM:"))).not_to_have_count(0)
    if task == "stock":
        assert page.get_by_text("A pure random walk").count() == 1
    screenshot(page, f"train-{task}", height=2600)


def test_progress_bar_is_live(page, app_url):
    # 60 epochs of about 0.1 s: the server sends the newest bar only when it gets to flush (the epochs
    # between are merged in its queue), so a short run can go from "epoch 1" to done; any epoch in
    # between shows the bar live
    open_train(page, app_url, "?task=chars&epochs=60")
    page.get_by_role("button", name="Train").first.click()
    page.wait_for_selector(PROGRESS)
    # read the text in the same check: the bar is gone once the last epoch is done, maybe before a second look
    seen = page.wait_for_function(
        f"() => {{ const t = document.querySelector('{PROGRESS}')?.textContent || ''; "
        "return /epoch ([2-9]|[1-5][0-9]) of 60/.test(t) && t; }"
    )
    text = seen.json_value()
    assert "s left" in text and "validation loss" in text
    page.wait_for_selector(f"{PLOT}")  # the live loss curves
    screenshot(page, "train-live", idle=False)
    page.get_by_text("how well it does").wait_for(timeout=TRAINING)
    expect(page.locator(PROGRESS), "the progress bar goes once training is done").to_have_count(0)


def test_stop_keeps_a_usable_partial_model(page, app_url):
    open_train(page, app_url, "?task=chars&epochs=100")
    page.get_by_role("button", name="Train").first.click()
    page.wait_for_function(f"() => /epoch [3-9] of 100/.test(document.querySelector('{PROGRESS}')?.textContent || '')")
    page.get_by_test_id("stMain").get_by_role("button", name="Stop", exact=True).click()
    page.get_by_text("Training was stopped").wait_for()
    wait_for_app(page)
    assert page.locator(EXCEPTION).count() == 0
    warning = page.get_by_text("Training was stopped").inner_text()
    epochs = int(warning.split("LSTM ")[1].split(" of")[0])
    assert 3 <= epochs < 100
    assert page.locator(METRIC).count() >= 2
    assert page.locator("code").first.inner_text().startswith("the "), "the partial model generates text"
    screenshot(page, "train-stopped", height=2600)


def test_compare_three_cells_on_the_adding_task(page, app_url):
    open_train(page, app_url, "?task=adding&compare=1&epochs=6&hidden=8")
    start = time.perf_counter()
    page.get_by_role("button", name="Train RNN, LSTM and GRU").click()
    page.get_by_text("RNN vs LSTM vs GRU").wait_for(timeout=TRAINING)
    print(f"\ncompare on adding (6 epochs, H = 8): {time.perf_counter() - start:.1f} s")
    wait_for_app(page)
    assert page.locator(EXCEPTION).count() == 0
    assert page.locator('[data-testid="stDataFrame"]').count() == 1
    screenshot(page, "train-compare", height=2600)


def test_trained_model_opens_in_the_unfolded_graph(page, app_url):
    open_train(page, app_url, "?task=sine&epochs=2&hidden=3")
    click_train(page, live=False)
    page.get_by_role("button", name="Open in the unfolded graph").click()
    page.wait_for_selector(".rnnviz-graph svg")
    wait_for_app(page)
    expect(page).to_have_url(re.compile(r"/unfolded(\?|$)"))
    assert page.get_by_text("Showing the model trained on the Train page").count() == 1
    assert page.locator(EXCEPTION).count() == 0
    screenshot(page, "train-opened-unfolded")
    page.get_by_role("button", name="Back to random weights").click()
    expect(page.get_by_text("Showing the model trained on the Train page")).to_have_count(0)
    wait_for_app(page)
    assert page.locator(EXCEPTION).count() == 0
