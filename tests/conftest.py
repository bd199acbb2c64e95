"""Shared fixtures and helpers: a real Streamlit server on a free port, a headless Chromium page,
AppTest runs of a page, and reading what a page drew (DOT steps, Plotly figures).

The browser tests use Debian's chromium through Playwright (never a browser download).
In CI (CI=true) a missing browser is a failure; elsewhere those tests are skipped.

A browser test waits for the condition it checks (``expect(...)``, ``wait_for_function``),
never for a fixed time: a busy machine runs the app and the browser many times slower.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import pathlib
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "benchmarks"))
from common import SETTLED  # noqa: E402  (the app's run has finished: the same check as the benchmarks')
from serve_class import streamlit_command  # noqa: E402

ARTIFACTS = ROOT / "test-artifacts"
WAIT = 60_000  # ms: how long a browser test waits for a condition; a loaded 2-core machine needs tens of seconds
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _require_browser():
    missing = []
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package (pip install -r requirements-dev.txt)")
    if not os.path.exists(CHROMIUM):
        missing.append("Debian's chromium (apt-get install chromium)")
    if missing:
        message = "browser tests need " + " and ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@contextlib.contextmanager
def streamlit_server():
    """Run `streamlit run app.py` on a free loopback port until /_stcore/health answers; yield its URL."""
    port = _free_port()
    env = dict(os.environ, STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
    cmd = streamlit_command(port)
    # the server's log goes nowhere: an unread pipe would fill up and stall the server
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail("the Streamlit server did not become healthy within 60 s")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def app_url():
    with streamlit_server() as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    _require_browser()
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=WAIT)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """When a browser test fails, keep what the page showed: test-artifacts/failed-<test>.png and its state."""
    report = (yield).get_result()
    windows = item.funcargs.get("window") if hasattr(item, "funcargs") else None
    opened = [pg for pg in getattr(windows, "opened", []) if not pg.is_closed()]
    pg = opened[-1] if opened else None  # the page the test opened last
    if report.failed and call.when == "call" and pg is not None:
        from playwright.sync_api import Error as PlaywrightError

        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]+", "-", item.name)
        try:
            pg.screenshot(path=str(ARTIFACTS / f"failed-{name}.png"), full_page=True)
            state = pg.evaluate(
                """() => ({url: location.href, state: document.querySelector('[data-testid="stApp"]')
                  ?.dataset.testScriptState, text: document.querySelector('[data-testid="stMain"]')?.innerText})"""
            )
        except PlaywrightError as err:  # the page may have crashed: say so, and keep the test's own error
            state = f"could not read the page: {err}"
        report.sections.append(("page at the failure", str(state)))


class Windows:
    """Browser pages in windows of a chosen size, each in its own context (its own Streamlit session),
    closed after the test; the last one opened is what a failure report shows."""

    def __init__(self, browser):
        self.browser, self.opened = browser, []

    def __call__(self, width: int = 1280, height: int = 800):
        context = self.browser.new_context(viewport={"width": width, "height": height})
        context.set_default_timeout(WAIT)
        pg = context.new_page()
        self.opened.append(pg)
        return pg

    def close(self) -> None:
        for pg in self.opened:
            pg.context.close()


@pytest.fixture
def window(browser):
    """``window(width, height)``: a new browser page in a window that size (a laptop's by default)."""
    windows = Windows(browser)
    yield windows
    windows.close()


@pytest.fixture
def page(window):
    """A browser page in a laptop's window, 1280x800."""
    return window()


@pytest.fixture
def projector(window):
    """A browser page in a projector's window, 1024x768."""
    return window(1024, 768)


# what a screenshot waits for: fonts loaded, and every plot (its traces: lines or heatmap images)
# and every table in the window drawn
DRAWN = """() => {
  const inView = e => e.getBoundingClientRect().top < window.innerHeight;
  const shown = sel => [...document.querySelectorAll(sel)].filter(inView);
  return document.fonts.status === 'loaded'
    && shown('[data-testid="stPlotlyChart"]').every(c => c.querySelector('.main-svg :is(g.trace, g.hm)'))
    && shown('[data-testid="stDataFrame"]').every(c => c.querySelector('canvas'));
}"""


# the run is over and every element it sent is on the page: Streamlit draws each kind of element
# with code it loads the first time one shows, and until then it shows a skeleton in its place
IDLE = f"""() => ({SETTLED})() && !document.querySelector('[data-testid="stSkeleton"]')"""


def wait_for_app(pg, timeout: float = WAIT) -> None:
    """Wait until the app's script run has finished (stApp's data-test-script-state is notRunning)
    and every element it sent is drawn (no skeleton left where an element's code is still loading).

    Call it once something the run draws has shown. Right after a click or a key press the
    rerun may not have started yet, and the last run's "notRunning" still shows; and between
    a run that calls st.rerun (or st.switch_page) and the run that follows, the app reads as
    not running too. So first wait for what the action changes on the page (a text, a count,
    a drawing): once that shows, the browser has heard of the run that drew it.
    """
    pg.wait_for_function(IDLE, timeout=timeout, polling="raf")


def open_page(pg, app_url: str, path: str, query: str = "", *, selector: str = "h1", timeout: float = WAIT) -> None:
    """Open /path?query and wait for its first run: until ``selector`` (the page's title) shows, then to the end.

    On a fresh server the first run of a link reruns at once (ui.use_app_navigation), so the
    end of a run is only worth waiting for once the page has drawn something. ``timeout`` (ms)
    for each wait: a fresh server's first run also imports the app.
    """
    pg.goto(f"{app_url}/{path}{query}")
    pg.wait_for_selector(selector, timeout=timeout)
    wait_for_app(pg, timeout)


def wait_until(pg, condition, what: str, timeout: float = WAIT) -> None:
    """Poll a condition the page cannot see (say, on the messages a route has passed on), letting Playwright work."""
    deadline = time.monotonic() + timeout / 1000
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout / 1000:.0f} s waiting for {what}"
        pg.wait_for_timeout(50)  # a polling interval: Playwright delivers the route's messages meanwhile


def steady_box(pg, locator) -> dict:
    """The element's box once it has stopped moving (the page above it can still be laying out: a click
    by position needs the position the element will have)."""
    box, deadline = None, time.monotonic() + WAIT / 1000
    while time.monotonic() < deadline:
        now = locator.bounding_box()
        if now is not None and now == box:
            return box
        box = now
        pg.wait_for_timeout(250)
    raise AssertionError(f"the element kept moving: {box}")


def choose(pg, label: str, option: str) -> None:
    """Pick an option of a selectbox as a user does: open it, click the option."""
    from playwright.sync_api import expect

    wait_for_app(pg)  # a rerun that lands while the list is open closes it
    box = pg.get_by_role("combobox", name=label)
    # Opening a list near the bottom of the sidebar scrolls the sidebar (to 337 px on the neuron
    # page at 1280x800), and that scroll closes the list again (5 times in 8 on a busy machine).
    # Centred first, the box opens its list without scrolling anything.
    box.evaluate("box => box.scrollIntoView({block: 'center'})")
    box.click()
    pg.get_by_role("option", name=option).click()
    expect(box).to_have_value(option)


def screenshot(pg, name: str, height: int | None = None, idle: bool = True) -> pathlib.Path:
    """Save test-artifacts/name.png once the app is idle (unless not ``idle``: a run in progress) and drawn.

    ``height``: a window that tall (Streamlit scrolls inside its own box, so a full-page
    screenshot holds only what fits in the window).
    """
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    size = pg.viewport_size
    if height:
        pg.set_viewport_size({"width": size["width"], "height": height})
    if idle:
        wait_for_app(pg)
    pg.wait_for_function(DRAWN, polling="raf")
    pg.screenshot(path=str(path), full_page=True)
    if height:
        pg.set_viewport_size(size)
    return path


def run_page(path: str, query: dict[str, str] | None = None, *, timeout: float = 180) -> AppTest:  # noqa: F821
    """AppTest of app.py opened on ``path`` (pages/x.py) with the given link parameters, after its first run."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.switch_page(path)
    return at.run()


def assert_clean(at) -> None:
    """No exception and no st.error on the page."""
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def open_tab(at, key: str, label: str):
    """Switch the tabs with widget key ``key`` as a click does (their state is the open tab's label); rerun."""
    at.session_state[key] = label
    return at.run()


def charts(at) -> dict[str, dict]:
    """The page's Plotly figures (data and layout), by widget key ("gates:heatmaps"), in page order."""
    # an element id is "$$ID-<hash>-<key>"
    return {c.proto.id.split("-", 2)[-1]: json.loads(c.proto.spec) for c in at.get("plotly_chart")}


def plotly_array(value) -> np.ndarray:
    """A Plotly data array as floats: a list (None for a gap), or Plotly's typed array {bdata, dtype[, shape]}."""
    if isinstance(value, dict) and "bdata" in value:
        a = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"]).astype(float)
        return a.reshape([int(n) for n in str(value.get("shape", a.size)).split(",")])
    return np.array([np.nan if v is None else v for v in value], dtype=float)


def node_classes(dot: str) -> list[list[str]]:
    """The class list of every node of a drawing, a DOT source or dot's SVG (edges are left out, and so is
    the SVG's own "node" class)."""
    if "<svg" in dot:
        return [m.split() for m in re.findall(r'<g [^>]*class="node ([^"]*)"', dot)]
    return [m.split() for m in re.findall(r'^\t\w+ \[.*class="([^"]*)"', dot, re.M)]


def dot_steps(dot: str, *classes: str) -> list[int]:
    """The steps (classes step-t) drawn in a DOT source; with ``classes``, of the nodes whose class has them all."""
    if not classes:
        return sorted({int(t) for t in re.findall(r"\bstep-(\d+)\b", dot)})
    found = {c for n in node_classes(dot) if all(k in n for k in classes) for c in n if c.startswith("step-")}
    return sorted(int(c[5:]) for c in found)


EPS = np.finfo(np.float64).eps


def assert_ulps(actual, desired, ulps: int = 8, err_msg: str = "") -> None:
    """Equal to within a few units in the last place of desired's largest entry.

    For one result reached through different BLAS calls (other shapes, another CPU): the
    summation order changes and each entry moves by about an ulp of the largest terms it
    sums, so a tolerance relative to each entry would fail where terms cancel. Measured: at
    most 2 ulps when backward's products run in blocks of 1, 2, 3 or all steps and their
    contraction is summed in reverse order.
    """
    desired = np.asarray(desired)
    atol = ulps * EPS * np.max(np.abs(desired), initial=0.0)
    np.testing.assert_allclose(actual, desired, rtol=0, atol=atol, err_msg=err_msg)


def graph_views(at) -> list[dict]:
    """What the page gave its graph views (ui.graph_view: svg, selected, focus, nav, ...), in screen order."""
    views = [json.loads(c.proto.json) for c in at.get("bidi_component") if c.proto.component_name == "rnnviz_graph"]
    return [v for v in views if "svg" in v]


def drawings(at) -> list[str]:
    """The graphs the page shows, in screen order: the inline SVG dot made (ui.show.graph, in its graph
    view), or the DOT the browser lays out (st.graphviz_chart) where dot is missing."""
    svgs = [view["svg"] for view in graph_views(at)]
    return svgs or [chart.proto.spec for chart in at.get("graphviz_chart")]


def json_numbers(fig) -> np.ndarray:
    """Every number in fig.to_json(), typed arrays (plotly's "bdata") decoded; NaN/inf tokens raise."""

    def reject(token):
        raise AssertionError(f"{token} in the figure's JSON")

    found = []

    def walk(node):
        if isinstance(node, dict) and "bdata" in node and "dtype" in node:
            found.extend(np.frombuffer(base64.b64decode(node["bdata"]), dtype=node["dtype"]).astype(float))
        elif isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, int | float) and not isinstance(node, bool):
            found.append(float(node))

    walk(json.loads(fig.to_json(), parse_constant=reject))
    return np.array(found)
