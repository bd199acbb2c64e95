"""A shared link opened first on a fresh server shows the app's navigation and page."""

import os
import subprocess
import sys
import time
import urllib.request

from conftest import ROOT, _free_port, wait_for_app


def test_deep_link_on_a_fresh_server_uses_the_app_navigation(page):
    port = _free_port()
    env = dict(os.environ, STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(ROOT / "app.py"),
        "--server.headless=true",
        f"--server.port={port}",
        "--server.address=127.0.0.1",
        "--server.fileWatcherType=none",
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                urllib.request.urlopen(url + "/_stcore/health", timeout=2)
                break
            except OSError:
                time.sleep(0.3)
        page.goto(url + "/neuron?T=4&wx=2")
        wait_for_app(page)
        page.wait_for_selector(".rnnviz-graph svg", timeout=30_000)
        nav = page.locator('[data-testid="stSidebarNav"] a').all_inner_texts()
        assert any("Recurrent neuron" in n for n in nav), nav
        assert not any(n.strip() in ("app", "neuron") for n in nav), nav
        assert page.locator('[data-testid="stException"]').count() == 0
        assert "T=4" in page.url and "wx=2" in page.url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
