"""In front of a class (issue 14): at 1024x768 and 1280x800, at every page's defaults and in presentation mode,
no page link, lesson link, metric or tab label is cut short, no display equation is wider than its column, and
no node of any drawing is cut off sideways or labelled smaller than 12 px;
presentation mode collapses the sidebar, enlarges the plots' and drawings' type, and stays in the link."""

from __future__ import annotations

import re

import pytest
from conftest import DRAWN, open_page, screenshot, steady_box, wait_for_app

SIZES = [(1024, 768), (1280, 800)]
# each page, and what its default view shows last (metrics load their code after the run has ended)
PAGES = {
    "": '[data-testid="stPageLink"]',
    "neuron": ".katex-display",
    "unfolded": ".rnnviz-graph",
    "gates": '[data-testid="stPlotlyChart"]',
    "bptt": '[data-testid="stMetricLabel"]',
    "train": '[data-testid="stButton"]',
    "architectures": ".rnnviz-graph",
}
# every text cut short (an element that clips what it holds, narrower than its content), and every display
# equation wider than its column (KaTeX's block then scrolls sideways instead of showing it whole)
CUT = """() => {
  const out = [];
  const texts = '[data-testid="stSidebarNav"] a, [data-testid="stPageLink"], [data-testid="stMetricLabel"],'
    + ' [data-testid="stMetricValue"], [data-baseweb="tab"]';
  for (const box of document.querySelectorAll(texts))
    for (const e of [box, ...box.querySelectorAll('*')])
      if (e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX !== 'visible') {
        out.push(`text "${box.innerText.trim()}": ${e.scrollWidth} px in ${e.clientWidth}`);
        break;
      }
  for (const k of document.querySelectorAll('.katex-display')) {
    const column = k.closest('[data-testid="stElementContainer"]').getBoundingClientRect();
    const left = k.getBoundingClientRect().left;  // the block is as wide as the equation, up to the column's width
    if (left + k.scrollWidth > column.right + 1)
      out.push(`equation "${k.textContent.slice(0, 40)}": ${k.scrollWidth} px in ${Math.round(column.width)}`);
  }
  return out;
}"""
# every drawing shown (a graph view with a width: not in a closed expander or tab): each node and each label, of
# nodes and edges, inside its scroll box and the window sideways, and each label at least 12 px on screen
DRAWINGS = """() => {
  const out = [];
  [...document.querySelectorAll('.rnnviz-graph-view')].forEach((view, i) => {
    const box = view.querySelector('.rnnviz-graph'), b = box.getBoundingClientRect();
    if (!b.width) return;
    for (const n of box.querySelectorAll('g.node[id]')) {
      const r = n.getBoundingClientRect();
      if (r.left < b.left - 0.5 || r.right > b.right + 0.5 || r.left < 0 || r.right > window.innerWidth)
        out.push(`drawing ${i + 1}: node ${n.id} cut off (${Math.round(r.left)}-${Math.round(r.right)} px`
          + ` in ${Math.round(b.left)}-${Math.round(b.right)})`);
    }
    for (const t of box.querySelectorAll('g.node text, g.edge text')) {
      const bbox = t.getBBox();
      if (!bbox.height || !t.textContent.trim()) continue;
      const r = t.getBoundingClientRect(), px = parseFloat(getComputedStyle(t).fontSize) * r.height / bbox.height;
      if (px < 12 - 0.05) out.push(`drawing ${i + 1}: label "${t.textContent.trim()}" at ${px.toFixed(1)} px`);
      if (r.left < b.left - 0.5 || r.right > b.right + 0.5 || r.left < 0 || r.right > window.innerWidth)
        out.push(`drawing ${i + 1}: label "${t.textContent.trim()}" cut off`);
    }
  });
  return out;
}"""
READY = """() => [...document.querySelectorAll('.rnnviz-graph-view')].every(v => v.dataset.ready)"""
WHAT = """() => ({tick: parseFloat(document.querySelector('.main-svg .xtick text').style.fontSize),
  folded: document.querySelector('.rnnviz-graph svg').getBoundingClientRect().width,
  caption: (c => [getComputedStyle(c.querySelector('p')).color, getComputedStyle(c).opacity])(
    document.querySelector('[data-testid="stMain"] [data-testid="stCaptionContainer"]'))})"""
COLLAPSED = """() => document.querySelector('[data-testid="stSidebar"]')?.dataset.collapsed"""


@pytest.mark.parametrize("present", [False, True], ids=["laptop", "presentation"])
@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_no_label_or_equation_is_cut_on_any_page(window, app_url, size, present):
    pg = window(*size)
    problems = []  # every page's, so that one run shows them all
    for path, last in PAGES.items():
        open_page(pg, app_url, path, "?present=1" if present else "")
        pg.wait_for_selector(last)
        wait_for_app(pg)
        pg.wait_for_function(DRAWN, polling="raf")
        pg.wait_for_function(READY, polling="raf")
        where = f"/{path} at {size[0]}x{size[1]}{' in presentation mode' if present else ''}"
        problems += [f"{where}: {p}" for p in pg.evaluate(CUT) + pg.evaluate(DRAWINGS)]
        screenshot(pg, f"classroom-{path or 'home'}-{size[0]}x{size[1]}{'-present' if present else ''}")
    assert problems == []


def test_presentation_mode_from_a_link_and_the_switch(page, app_url):
    from playwright.sync_api import expect

    page.set_viewport_size({"width": 1024, "height": 768})
    open_page(page, app_url, "neuron", "?wy=0.9&nview=io")  # the tab with the plot
    page.wait_for_function(DRAWN, polling="raf")
    laptop = page.evaluate(WHAT)
    open_page(page, app_url, "neuron", "?wy=0.9&nview=io&present=1")
    page.wait_for_function(f"() => ({COLLAPSED})() === 'true'")  # the sidebar out of the way
    page.wait_for_function(DRAWN, polling="raf")
    expect(page.get_by_test_id("stAppDeployButton")).to_have_count(0)  # client.toolbarMode = "viewer"
    sizes = page.evaluate(WHAT)
    assert sizes["tick"] >= 15  # Streamlit's plot theme: 12 px ticks on a laptop
    assert sizes["folded"] > 1.2 * laptop["folded"]  # the folded neuron drawn larger: it has room in its column
    assert sizes["caption"] == ["rgb(31, 35, 40)", "1"]  # near-black captions, not 60 % grey
    expect(page).to_have_url(re.compile(r"wy=0\.9.*nview=io.*present=1"))

    page.get_by_test_id("stExpandSidebarButton").click()  # the switch is at the top of the sidebar
    page.get_by_text("Presentation mode").click()
    expect(page).not_to_have_url(re.compile("present="))
    page.wait_for_function(f"() => ({COLLAPSED})() === 'false'")
    wait_for_app(page)
    page.wait_for_function(DRAWN, polling="raf")
    assert page.evaluate(WHAT) == laptop


def test_neuron_weights_are_typed_exactly(page, app_url):
    from playwright.sync_api import expect

    open_page(page, app_url, "neuron")
    typed = {"wx": ("W_x (input weight)", "0.75"), "wy": ("W_y (feedback weight)", "-1.25")}
    typed["b"] = ("b (bias)", "0.123456")
    for name, (label, value) in typed.items():
        box = page.get_by_role("spinbutton", name=label)
        box.fill(value)
        box.press("Enter")
        expect(page).to_have_url(re.compile(f"[?&]{name}={value}(&|$)"))  # as typed, not rounded to a step
        wait_for_app(page)
    # the step equation with the typed numbers: y_1 = tanh(0.75 * 1 + (-1.25) * 0 + 0.123456)
    expect(page.locator(".katex-display").nth(1)).to_contain_text("0.75⋅1+(−1.25)⋅0+0.123")


def test_1_a_refused_weights_file_leaves_the_network_controls_free(page, app_url, tmp_path):
    from playwright.sync_api import expect

    import rnnviz

    junk, good = tmp_path / "junk.npz", tmp_path / "gru.npz"
    junk.write_bytes(b"not a zip file")
    good.write_bytes(rnnviz.dump_weights(rnnviz.init_params("gru", 2, 3, 1, seed=1), "npz"))
    open_page(page, app_url, "unfolded", selector=".rnnviz-graph svg")
    page.get_by_text("Load weights from a file").click()
    box = page.locator('[data-testid="stFileUploader"] input[type="file"]')
    box.set_input_files(str(junk))
    expect(page.locator('[data-testid="stAlertContentError"]').first).to_contain_text("This file cannot be used")
    wait_for_app(page)
    expect(page.get_by_role("combobox", name="Cell")).to_be_enabled()  # before: locked until the file was removed
    expect(page.get_by_text("Set by the loaded weights file")).to_have_count(0)
    box.set_input_files(str(good))  # a usable file sets them, in the run that loads it: the sidebar names its network
    expect(page.get_by_text("Using the weights from")).to_have_count(1)
    wait_for_app(page)
    expect(page.get_by_text("Set by the loaded weights file")).to_have_count(1)
    expect(page.get_by_role("combobox", name="Cell")).to_have_count(0)
    expect(page.get_by_test_id("stSidebar")).to_contain_text("GRU, input size D = 2, hidden size H = 3, layers L = 1")


OVERLAP = """([toolbar, label]) => {
  const a = toolbar.getBoundingClientRect(), b = label.getBoundingClientRect();
  return a.top < b.bottom && b.top < a.bottom && a.left < b.right && b.left < a.right;
}"""


def test_7_the_weight_editors_toolbar_clears_the_labels(window, app_url):
    from playwright.sync_api import expect

    # the editors in the window without scrolling, below a short drawing (time left to right): a hover
    # by position needs the grid to stay where the mouse is
    page = window(1280, 1600)
    open_page(page, app_url, "unfolded", "?flow=across", selector=".rnnviz-graph svg")
    page.get_by_text("Edit the weights of layer 1").click()
    grids = page.locator('[data-testid="stDataFrame"]')
    expect(grids).to_have_count(4)  # W_ih and b_ih on the left, then W_hh and b_hh
    wait_for_app(page)
    labels = page.locator('[data-testid="stExpanderDetails"] [data-testid="stMarkdown"] code')
    for k in range(4):  # the toolbar shows on hover, above its table: not over the name of the weight
        box = steady_box(page, grids.nth(k))
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        toolbar = page.locator('[data-testid="stElementToolbar"]').nth(k)  # one a table, in order
        expect(toolbar).to_have_css("opacity", "1")
        label = labels.filter(has_text=("W_ih", "b_ih", "W_hh", "b_hh")[k]).first
        assert not page.evaluate(OVERLAP, [toolbar.element_handle(), label.element_handle()]), k
