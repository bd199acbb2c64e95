"""The app fetches nothing from outside the server: no CDN, no web font, no outside favicon."""

from __future__ import annotations

from urllib.parse import urlsplit

from conftest import open_page

PAGES = ("", "neuron", "unfolded", "gates", "bptt", "train", "architectures")


def test_every_request_stays_on_the_server(page, app_url):
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    for path in PAGES:
        open_page(page, app_url, path)
    page.wait_for_function("() => document.querySelector('link[rel*=icon]') !== null")
    icon = page.evaluate("() => document.querySelector('link[rel*=icon]').href")
    assert urlsplit(icon).netloc == urlsplit(app_url).netloc, icon  # the shipped favicon, not a Material one
    outside = {u for u in requests if urlsplit(u).scheme in ("http", "https", "ws", "wss")}
    outside = {u for u in outside if urlsplit(u).netloc != urlsplit(app_url).netloc}
    assert not outside, sorted(outside)
