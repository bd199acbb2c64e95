"""Memory: the Streamlit server's RSS with 1 and with 10 concurrent browser sessions.

A fresh server per measurement. Each session is its own browser context (its own Streamlit
session) that opens pages in turn (one session: all; of many, each opens 3, rotating so
that together they cover every page) and moves its "Sequence length" slider a few steps
(session i moves it i+1 steps, so the sessions ask for different sequences and the shared
caches fill as in a classroom), then stays connected. RSS is VmRSS from /proc/<pid>/status of
the streamlit process plus its children (dot runs as a short-lived child), sampled every
0.2 s: "settled" is read once every session is idle, "peak" is the highest sample.
Run: python benchmarks/memory.py [--sessions 1 10] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import threading
import time

from common import APP, CHROMIUM, CHROMIUM_ARGS, SETTLED, Server, app_pages


async def settle(page) -> None:
    await page.wait_for_timeout(300)
    await page.wait_for_function(SETTLED, timeout=120_000, polling=100)


async def one_session(browser, url: str, index: int, pages: list[str], per_session: int):
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await page.goto(url)
    await settle(page)
    mine = pages if per_session >= len(pages) else [pages[(index + k) % len(pages)] for k in range(per_session)]
    for name in mine:
        await page.goto(f"{url}/{name}")
        await settle(page)
        slider = page.get_by_role("slider", name="Sequence length")
        if await slider.count() == 0:
            continue
        for _ in range(index % 4 + 1):
            await slider.focus()
            await page.keyboard.press("ArrowRight")
            await settle(page)
    return context


async def measure(n: int, pages: list[str], per_session: int) -> dict:
    from playwright.async_api import async_playwright

    server = Server(APP)
    samples: list[float] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            samples.append(server.rss_mb())
            time.sleep(0.2)

    try:
        started = server.rss_mb()
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            warm = await browser.new_context()  # the first request on a fresh server goes to "/"
            page = await warm.new_page()
            await page.goto(server.url)
            await settle(page)
            await warm.close()
            await asyncio.sleep(2)
            idle = server.rss_mb()
            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            start = time.perf_counter()
            runs = [one_session(browser, server.url, i, pages, per_session) for i in range(n)]
            contexts = await asyncio.gather(*runs)
            elapsed = time.perf_counter() - start
            await asyncio.sleep(2)
            settled = server.rss_mb()
            stop.set()
            sampler.join()
            for c in contexts:
                await c.close()
            await browser.close()
    finally:
        stop.set()
        server.stop()
    return {
        "sessions": n,
        "started": started,
        "idle": idle,
        "settled": settled,
        "peak": max(samples + [settled]),
        "seconds": elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--pages-per-session", type=int, default=3, help="pages each of several sessions opens")
    parser.add_argument("--json", help="write the results here too")
    args = parser.parse_args()
    pages = app_pages()
    results = []
    for n in args.sessions:
        r = asyncio.run(measure(n, pages, len(pages) if n == 1 else args.pages_per_session))
        results.append(r)
        print(r, file=sys.stderr)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    print(
        f"One session opens every page ({', '.join(pages)}); of several, session i opens "
        f"{args.pages_per_session} of them starting at page i, so together they cover all; "
        "each moves the sequence length 1 to 4 steps on every page it opens."
    )
    print()
    print("| sessions | server RSS settled (MB) | peak (MB) | server idle before (MB) | per session (MB) | time (s) |")
    print("|---|---|---|---|---|---|")
    for r in results:
        per = (r["settled"] - r["idle"]) / r["sessions"]
        print(
            f"| {r['sessions']} | {r['settled']:.0f} | {r['peak']:.0f} | {r['idle']:.0f} | {per:.1f} "
            f"| {r['seconds']:.0f} |"
        )


if __name__ == "__main__":
    main()
