"""Shared fixtures: a real Streamlit server on a free port and a headless Chromium page.

The browser tests use Debian's chromium through Playwright (never a browser download).
In CI (CI=true) a missing browser is a failure; elsewhere those tests are skipped.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import pathlib
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
from serve_class import streamlit_command  # noqa: E402

ARTIFACTS = ROOT / "test-artifacts"
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
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = context.new_page()
    yield pg
    context.close()


def wait_for_app(pg, timeout: float = 30_000) -> None:
    """Wait until the script has finished running (no running indicator) and content shows."""
    pg.wait_for_selector('[data-testid="stApp"]', timeout=timeout)
    pg.wait_for_function("""() => !document.querySelector('[data-testid="stStatusWidget"]')""", timeout=timeout)
    pg.wait_for_timeout(300)


def screenshot(pg, name: str) -> pathlib.Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    pg.screenshot(path=str(path), full_page=True)
    return path


def run_page(path: str, query: dict[str, str] | None = None, *, timeout: float = 120) -> AppTest:  # noqa: F821
    """AppTest of app.py opened on ``path`` with the given link parameters, after its first run."""
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


def drawings(at) -> list[str]:
    """The graphs the page shows, in screen order: the inline SVG dot made (ui.show.graph), or the DOT the
    browser lays out (st.graphviz_chart) where dot is missing."""
    svgs = [m.value for m in at.markdown if m.value.startswith('<div class="rnnviz-graph"')]
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
