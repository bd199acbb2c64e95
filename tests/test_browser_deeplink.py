"""A shared link opened first on a fresh server shows the app's navigation and page."""

from conftest import streamlit_server, wait_for_app


def test_deep_link_on_a_fresh_server_uses_the_app_navigation(page):
    with streamlit_server() as url:
        page.goto(url + "/neuron?T=4&wx=2")
        wait_for_app(page)
        page.wait_for_selector(".rnnviz-graph svg", timeout=30_000)
        nav = page.locator('[data-testid="stSidebarNav"] a').all_inner_texts()
        assert any("Recurrent neuron" in n for n in nav), nav
        assert not any(n.strip() in ("app", "neuron") for n in nav), nav
        assert page.locator('[data-testid="stException"]').count() == 0
        assert "T=4" in page.url and "wx=2" in page.url
