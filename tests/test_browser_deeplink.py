"""A shared link opened first on a fresh server shows the app's navigation and page."""

import re

from conftest import open_page, streamlit_server
from playwright.sync_api import expect


def test_deep_link_on_a_fresh_server_uses_the_app_navigation(page):
    with streamlit_server() as url:
        # a fresh server's first run imports numpy, plotly and the app: at load 20 on 2 cores over 60 s
        open_page(page, url, "neuron", "?T=4&wx=2", selector=".rnnviz-graph svg", timeout=180_000)
        nav = page.locator('[data-testid="stSidebarNav"] a').all_inner_texts()
        assert any("Recurrent neuron" in n for n in nav), nav
        assert not any(n.strip() in ("app", "neuron") for n in nav), nav
        assert page.locator('[data-testid="stException"]').count() == 0
        expect(page).to_have_url(re.compile(r"/neuron\?(.*&)?T=4(&|$)"))
        expect(page).to_have_url(re.compile(r"[?&]wx=2(&|$)"))
