"""Browser round trip: rnnviz's pages against the bare Streamlit app, in one run, alternating.

For every page with a "Sequence length" slider, the slider thumb is focused and ArrowRight is
pressed N times, then ArrowLeft N times (first each value is new to the server's caches, then
each is seen again), alternating change by change with the same presses on the bare app
(benchmarks/bare_app.py) in a second tab. A change counts as finished when, polled on every
animation frame in the page:
  * the app's root (data-testid="stApp") says data-test-script-state="notRunning" and the
    running indicator (stStatusWidget) is gone, and
  * every drawing and plot that follows the sequence length has changed: the text of each SVG
    (graphviz labels and step classes) and the shape of each Plotly trace
    as drawn (x/y/z lengths in _fullData, x-axis ranges).
Which drawings and plots follow the slider is learnt from one change before the timing starts.
The cold load is a new browser context (no cache, new session) going to the page until the
script has finished and as many SVGs and plots are drawn as on a warm load.
Run: python benchmarks/roundtrip.py [--changes 12] [--loads 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

from common import APP, BARE, Server, app_pages, launch, percentile, wait_settled

SIGNATURE = """() => {
  const svgs = [...document.querySelectorAll('.rnnviz-graph svg, [data-testid="stGraphVizChart"] svg')]
    .map(s => s.textContent + '|' + s.querySelectorAll('g.node').length);
  const len = a => (a && a.length !== undefined) ? a.length : -1;
  const plots = [...document.querySelectorAll('.js-plotly-plot')].filter(g => g.querySelector('.main-svg'))
    .map(g => JSON.stringify([(g._fullData || []).map(d => [len(d.x), len(d.y), d.z ? [len(d.z), len(d.z[0])] : 0]),
      Object.keys(g._fullLayout || {}).filter(k => /^xaxis/.test(k)).map(k => g._fullLayout[k].range)]));
  return [...svgs.map(s => 'svg:' + s), ...plots.map(p => 'plot:' + p)];
}"""

DONE = """([before, watch]) => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (document.querySelector('[data-testid="stStatusWidget"]')) return false;
  const now = (SIGNATURE)();
  if (now.length !== before.length) return false;
  return watch.every(i => now[i] !== before[i]);
}""".replace("SIGNATURE", SIGNATURE)

DRAWN = """(n) => (SIGNATURE)().length >= n""".replace("SIGNATURE", SIGNATURE)


class Tab:
    """One page of one app in its own browser context (its own Streamlit session)."""

    def __init__(self, browser, url: str):
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.page.goto(url)
        wait_settled(self.page)
        # plots are drawn after the script has finished (Plotly's bundle loads lazily): wait
        # until the number of drawings and plots has held for a second, else learn() compares
        # a page without its plots to one with them and watches nothing
        count, deadline = -1, time.monotonic() + 60
        while time.monotonic() < deadline:
            self.page.wait_for_timeout(1000)
            wait_settled(self.page)
            now = len(self.signature())
            if now == count:
                break
            count = now
        self.slider = self.page.get_by_role("slider", name="Sequence length")
        self.watch: list[int] = []
        self.key = "ArrowRight"

    def signature(self) -> list[str]:
        return self.page.evaluate(SIGNATURE)

    def learn(self) -> int:
        """Change once, wait generously, and remember which drawings and plots changed."""
        before = self.signature()
        self.slider.focus()
        self.page.keyboard.press("ArrowRight")
        self.watch = []
        for _ in range(8):  # until the set of changed elements stops growing (a busy machine is slow)
            self.page.wait_for_timeout(1000)
            wait_settled(self.page)
            after = self.signature()
            changed = [i for i, (a, b) in enumerate(zip(before, after, strict=False)) if a != b]
            if changed and changed == self.watch:
                break
            self.watch = changed
        self.page.keyboard.press("ArrowLeft")  # back to the start value
        self.page.wait_for_timeout(300)
        wait_settled(self.page)
        self.page.wait_for_timeout(1000)
        return len(self.watch)

    def change(self, key: str) -> float:
        """Seconds from the key press to the finished script with every watched element redrawn."""
        self.slider.focus()
        before = self.signature()
        start = time.perf_counter()
        self.page.keyboard.press(key)
        self.page.wait_for_function(DONE, arg=[before, self.watch], polling="raf", timeout=60_000)
        return time.perf_counter() - start

    def close(self) -> None:
        self.context.close()


def cold_load(browser, url: str, expected: int) -> float:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    start = time.perf_counter()
    page.goto(url)
    page.wait_for_function(DRAWN, arg=expected, polling="raf", timeout=60_000)
    wait_settled(page)
    elapsed = time.perf_counter() - start
    context.close()
    return elapsed


def save(results: dict, path: str | None) -> None:
    """Write what has been measured so far (a run stopped by a time limit keeps its figures)."""
    if path:
        with open(path, "w") as f:
            json.dump(results, f, indent=1)


def stats(ms: list[float]) -> dict:
    return {"p50": percentile(ms, 50), "p95": percentile(ms, 95), "n": len(ms)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=12, help="presses each way (2x this changes per page)")
    parser.add_argument("--loads", type=int, default=5, help="cold loads per page (and as many of the bare app)")
    parser.add_argument("--pages", nargs="*", default=None)
    parser.add_argument("--json", help="write the results here too")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    pages = args.pages or app_pages()
    results = {"roundtrip": {}, "load": {}}
    app, bare = Server(APP), Server(BARE)
    try:
        with sync_playwright() as p:
            browser = launch(p)
            # warm both servers: "/" first (a first deep link reruns once through app.py)
            for url in (app.url, bare.url):
                Tab(browser, url).close()
            for name in pages:
                ours, base = Tab(browser, f"{app.url}/{name}"), Tab(browser, bare.url)
                if ours.slider.count() == 0:
                    print(f"{name}: no 'Sequence length' slider, skipped", file=sys.stderr)
                    ours.close()
                    base.close()
                    continue
                watched = ours.learn(), base.learn()
                times = {"ours": [], "bare": [], "ours_new": [], "ours_seen": []}
                for key in ["ArrowRight"] * args.changes + ["ArrowLeft"] * args.changes:
                    t_ours = 1000 * ours.change(key)
                    times["ours"].append(t_ours)
                    times["ours_new" if key == "ArrowRight" else "ours_seen"].append(t_ours)
                    times["bare"].append(1000 * base.change(key))
                ours.close()
                base.close()
                row = {k: stats(v) for k, v in times.items()}
                row["watched"] = watched
                results["roundtrip"][name] = row
                save(results, args.json)
                print(
                    f"roundtrip {name}: ours p50 {row['ours']['p50']:.0f} p95 {row['ours']['p95']:.0f} ms, "
                    f"bare p50 {row['bare']['p50']:.0f} p95 {row['bare']['p95']:.0f} ms (watched {watched})",
                    file=sys.stderr,
                )
            # cold loads: expected element counts from a warm load, then alternate
            expected = {}
            for name, url in [("bare", bare.url)] + [(n, f"{app.url}/{n}") for n in ["", *pages]]:
                tab = Tab(browser, url)
                tab.page.wait_for_timeout(1000)
                expected[name] = len(tab.signature())
                tab.close()
            for name in ["", *pages]:
                ms = {"ours": [], "bare": []}
                for _ in range(args.loads):
                    ms["ours"].append(1000 * cold_load(browser, f"{app.url}/{name}", expected[name]))
                    ms["bare"].append(1000 * cold_load(browser, bare.url, expected["bare"]))
                results["load"][name or "home"] = {k: statistics.median(v) for k, v in ms.items()}
                save(results, args.json)
                print(f"load {name or 'home'}: {results['load'][name or 'home']}", file=sys.stderr)
            browser.close()
    finally:
        app.stop()
        bare.stop()
    save(results, args.json)
    print("| page | rnnviz p50 / p95 (ms) | new values p50 | seen values p50 | bare p50 / p95 (ms) | ratio p50 |")
    print("|---|---|---|---|---|---|")
    for name, r in results["roundtrip"].items():
        o, b = r["ours"], r["bare"]
        print(
            f"| {name} | {o['p50']:.0f} / {o['p95']:.0f} | {r['ours_new']['p50']:.0f} | {r['ours_seen']['p50']:.0f} "
            f"| {b['p50']:.0f} / {b['p95']:.0f} | {o['p50'] / b['p50']:.2f} |"
        )
    print()
    print("| page | rnnviz cold load (ms) | bare (ms) | ratio |")
    print("|---|---|---|---|")
    for name, r in results["load"].items():
        print(f"| {name} | {r['ours']:.0f} | {r['bare']:.0f} | {r['ours'] / r['bare']:.2f} |")


if __name__ == "__main__":
    main()
