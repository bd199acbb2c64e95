"""The Gates and states and Backprop through time pages in a real browser: plots, the graph, presets."""

from __future__ import annotations

from conftest import screenshot, wait_for_app

PLOT = ".js-plotly-plot"
GRAPH = ".rnnviz-graph svg"
EXCEPTION = '[data-testid="stException"]'


def open_page(pg, app_url: str, path: str, query: str = "", plots: int = 1) -> None:
    # a fresh server serves st.navigation's url paths only after app.py has run once
    pg.goto(app_url)
    wait_for_app(pg)
    pg.goto(f"{app_url}/{path}{query}")
    wait_for_app(pg)
    pg.wait_for_function(f"() => document.querySelectorAll('{PLOT}').length >= {plots}", timeout=90_000)
    pg.wait_for_timeout(500)  # plotly draws after the element appears


def choose(pg, label: str, option: str) -> None:
    """Pick an option of a selectbox the way a user does: open it, click the option."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    box = pg.get_by_role("combobox", name=label)
    for _ in range(3):  # a rerun still in flight can close the list right after it opens
        box.click()
        try:
            pg.get_by_role("option", name=option).click(timeout=5_000)
            return
        except PlaywrightTimeout:
            pg.keyboard.press("Escape")
            wait_for_app(pg)
    raise AssertionError(f"could not choose {option!r} in {label!r}")


def open_tab(pg, label: str, title: str) -> None:
    """Click a tab and wait for its plot, titled ``title``."""
    pg.get_by_role("tab", name=label).click()
    pg.wait_for_function(
        f"(t) => [...document.querySelectorAll('{PLOT} .gtitle')].some(e => e.textContent === t)",
        arg=title,
        timeout=60_000,
    )
    wait_for_app(pg)


def plot_titles(pg) -> list[str]:
    return pg.evaluate(f"() => [...document.querySelectorAll('{PLOT} .gtitle')].map(t => t.textContent)")


def test_gates_page_renders_its_plots(page, app_url):
    open_page(page, app_url, "gates")
    assert page.locator(EXCEPTION).count() == 0
    assert plot_titles(page) == ["LSTM layer 1: gates and states"]  # one tab open, one plot drawn
    screenshot(page, "gates-defaults")
    open_tab(page, "RNN vs LSTM vs GRU", "hidden state h, unit 1")
    assert plot_titles(page) == ["hidden state h, unit 1"]
    assert "view=compare" in page.url
    open_tab(page, "Chosen units over time", "LSTM layer 1: units over time")
    assert page.locator(EXCEPTION).count() == 0
    screenshot(page, "gates-units")


def test_gates_latch_preset_from_a_link(page, app_url):
    open_page(page, app_url, "gates", "?preset=latch&cell=lstm&H=8&T=30&signal=impulse")
    assert page.locator(EXCEPTION).count() == 0
    assert page.get_by_text("LSTM memory latch", exact=False).count() >= 1
    screenshot(page, "gates-latch")


def test_gates_choosing_a_preset_switches_the_cell(page, app_url):
    open_page(page, app_url, "gates")
    choose(page, "Lesson preset", "leaky integrator (GRU)")
    page.wait_for_function("() => location.search.includes('preset=leaky')", timeout=30_000)
    wait_for_app(page)
    assert "cell=gru" in page.url
    assert page.get_by_role("combobox", name="Cell").input_value() == "GRU"
    page.wait_for_function(
        f"() => [...document.querySelectorAll('{PLOT} .gtitle')].some(t => t.textContent.startsWith('GRU'))",
        timeout=30_000,
    )
    assert page.locator(EXCEPTION).count() == 0


def test_gates_page_at_the_largest_size(page, app_url):
    open_page(page, app_url, "gates", "?cell=gru&H=32&L=3&T=100&D=8&signal=random")
    assert page.locator(EXCEPTION).count() == 0
    screenshot(page, "gates-max")


def test_bptt_page_renders_plots_and_the_gradient_graph(page, app_url):
    open_page(page, app_url, "bptt")
    assert page.locator(EXCEPTION).count() == 0
    assert plot_titles(page) == ["LSTM: ||dL/dh_t||"]
    screenshot(page, "bptt-defaults")
    page.get_by_role("tab", name="On the unfolded graph").click()
    page.wait_for_selector(GRAPH, timeout=60_000)
    steps = page.evaluate(f"() => document.querySelectorAll('{GRAPH} [class*=\"step-5\"]').length")
    assert steps > 0 and "bview=graph" in page.url
    screenshot(page, "bptt-graph")
    open_tab(page, "||∂h_T/∂h_t||", "||∂h_T/∂h_t||")
    assert plot_titles(page) == ["||∂h_T/∂h_t||"] and "bview=jacobian" in page.url
    open_tab(page, "RNN vs LSTM vs GRU", "||dL/dh_t||, three cells")
    assert page.locator(EXCEPTION).count() == 0


def test_bptt_page_with_truncation_and_clipping(page, app_url):
    from playwright.sync_api import expect

    open_page(page, app_url, "bptt", "?cell=rnn_tanh&T=40&H=8&radius=1.4&trunc=10&clip=1&loss=every&bview=graph", 0)
    page.wait_for_selector(GRAPH, timeout=60_000)
    assert page.locator(EXCEPTION).count() == 0
    # the metrics can show after the graph, the script done (their component loads on demand): wait for them
    expect(page.get_by_text("After clipping at 1")).to_have_count(1, timeout=30_000)
    screenshot(page, "bptt-trunc-clip")


def test_bptt_page_at_the_largest_size(page, app_url):
    open_page(page, app_url, "bptt", "?cell=lstm&H=32&L=3&T=100&D=8&signal=random&bview=graph", 0)
    page.wait_for_selector(GRAPH, timeout=60_000)
    assert page.locator(EXCEPTION).count() == 0
    screenshot(page, "bptt-max")
