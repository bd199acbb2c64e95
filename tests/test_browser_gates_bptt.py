"""The Gates and states and Backprop through time pages in a real browser: plots, the graph, presets."""

from __future__ import annotations

import re

from conftest import choose, open_page, screenshot, wait_for_app
from playwright.sync_api import expect

PLOT = ".js-plotly-plot"
TITLES = f"{PLOT} .gtitle"
GRAPH = ".rnnviz-graph svg"
EXCEPTION = '[data-testid="stException"]'


def in_url(name: str, value: str) -> re.Pattern:
    return re.compile(rf"[?&]{name}={re.escape(value)}(&|$)")


def click_tab(pg, label: str, title: str) -> None:
    """Click a tab and wait until its plot, titled ``title``, is the only one drawn, and the rerun has ended."""
    pg.get_by_role("tab", name=label).click()
    expect(pg.locator(TITLES)).to_have_text([title])
    wait_for_app(pg)


def test_gates_page_renders_its_plots(page, app_url):
    open_page(page, app_url, "gates", selector=TITLES)
    assert page.locator(EXCEPTION).count() == 0
    expect(page.locator(TITLES)).to_have_text(["LSTM layer 1: gates and states"])  # one tab open, one plot drawn
    screenshot(page, "gates-defaults")
    click_tab(page, "RNN vs LSTM vs GRU", "hidden state h, unit 1")
    expect(page).to_have_url(in_url("view", "compare"))
    click_tab(page, "Chosen units over time", "LSTM layer 1: units over time")
    assert page.locator(EXCEPTION).count() == 0
    screenshot(page, "gates-units")


def test_gates_latch_preset_from_a_link(page, app_url):
    open_page(page, app_url, "gates", "?preset=latch&cell=lstm&H=8&T=30&signal=impulse", selector=TITLES)
    assert page.locator(EXCEPTION).count() == 0
    assert page.get_by_text("LSTM memory latch", exact=False).count() >= 1
    screenshot(page, "gates-latch")


def test_gates_a_cell_offers_its_own_presets(page, app_url):
    open_page(page, app_url, "gates", selector=TITLES)
    choose(page, "Cell", "GRU")
    expect(page.locator(TITLES)).to_have_text([re.compile(r"^GRU")])
    choose(page, "Lesson preset", "leaky integrator (GRU)")
    expect(page.get_by_text("Look at the update gate z")).to_have_count(1)
    wait_for_app(page)
    expect(page).to_have_url(in_url("preset", "leaky"))
    expect(page).to_have_url(in_url("cell", "gru"))
    assert page.locator(EXCEPTION).count() == 0


def test_gates_page_at_the_largest_size(page, app_url):
    open_page(page, app_url, "gates", "?cell=gru&H=32&L=3&T=100&D=8&signal=random", selector=TITLES)
    assert page.locator(EXCEPTION).count() == 0
    screenshot(page, "gates-max")


def test_bptt_page_renders_plots_and_the_gradient_graph(page, app_url):
    open_page(page, app_url, "bptt", selector=TITLES)
    assert page.locator(EXCEPTION).count() == 0
    expect(page.locator(TITLES)).to_have_text(["LSTM: ||dL/dh_t||"])
    screenshot(page, "bptt-defaults")
    page.get_by_role("tab", name="On the unfolded graph").click()
    page.wait_for_selector(GRAPH)
    wait_for_app(page)
    assert page.locator(f'{GRAPH} [class*="step-5"]').count() > 0
    expect(page).to_have_url(in_url("bview", "graph"))
    screenshot(page, "bptt-graph")
    click_tab(page, "||∂h_T/∂h_t||", "||∂h_T/∂h_t||")
    expect(page).to_have_url(in_url("bview", "jacobian"))
    click_tab(page, "RNN vs LSTM vs GRU", "||dL/dh_t||, three cells")
    assert page.locator(EXCEPTION).count() == 0


def test_bptt_page_with_truncation_and_clipping(page, app_url):
    query = "?cell=rnn_tanh&T=40&H=8&radius=1.4&trunc=10&clip=1&loss=every&bview=graph"
    open_page(page, app_url, "bptt", query, selector=GRAPH)
    assert page.locator(EXCEPTION).count() == 0
    # the metrics can show after the graph, the script done (their component loads on demand): wait for them
    expect(page.get_by_text("After clipping at 1")).to_have_count(1, timeout=30_000)
    screenshot(page, "bptt-trunc-clip")


def test_bptt_page_at_the_largest_size(page, app_url):
    open_page(page, app_url, "bptt", "?cell=lstm&H=32&L=3&T=100&D=8&signal=random&bview=graph", selector=GRAPH)
    assert page.locator(EXCEPTION).count() == 0
    screenshot(page, "bptt-max")
