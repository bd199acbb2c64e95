"""Server-side rerun of each page with Streamlit's AppTest, at the defaults and at the maximum.

For each page: open it through app.py (as the server does) with the settings in the URL, run
once (imports, first build), then time further runs: "warm" reruns the script with its caches
filled (what a rerun that changes nothing heavy costs), "cold" calls st.cache_data.clear() and
st.cache_resource.clear() before each run (what a never-seen setting costs). The median of --repeats runs is shown.
"Maximum" puts every control at its most expensive end (the query below). AppTest's own
overhead (building the element tree) is included, as a server would pay for serialising it.
Run: python benchmarks/rerun.py [--repeats 5] [--pages neuron gates] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
import warnings

from common import APP, ROOT, app_pages

sys.path.insert(0, str(ROOT))

NETWORK_MAX = {"T": "100", "H": "32", "L": "3", "D": "8", "signal": "random", "scale": "5"}
MAXIMUM = {
    "home": {},
    "neuron": {"T": "100", "step": "100", "signal": "random"},
    "unfolded": {**NETWORK_MAX, "level": "operations", "values": "1", "grads": "1", "shared": "1", "hl": "100"},
    "gates": {**NETWORK_MAX},
    "bptt": {**NETWORK_MAX, "loss": "every", "radius": "3", "clip": "100"},
    "train": {"task": "chars", "hidden": "64", "layers": "3", "epochs": "100", "bptt": "200", "compare": "1"},
}
MAX_NOTE = {
    "neuron": "T=100, step 100, random input",
    "unfolded": "T=100, H=32, L=3, D=8, operations, values, gradients, sharing, highlight",
    "gates": "T=100, H=32, L=3, D=8, random input, scale 5",
    "bptt": "T=100, H=32, L=3, D=8, loss on every step, ρ=3, clip",
    "train": "chars, H=64, 3 layers, 100 epochs, BPTT 200, compare cells (page only: training waits for its button)",
}


def measure(page: str, query: dict[str, str], repeats: int) -> dict:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=300)
    for key, value in query.items():
        at.query_params[key] = value
    if page != "home":
        at.switch_page(f"pages/{page}.py")
    start = time.perf_counter()
    at.run()
    first = time.perf_counter() - start
    problems = [e.value for e in at.exception] + [e.value for e in at.error]
    warm, cold = [], []
    for _ in range(repeats):  # alternate warm and cold runs
        start = time.perf_counter()
        at.run()
        warm.append(time.perf_counter() - start)
        st.cache_data.clear()
        st.cache_resource.clear()  # the pages keep their figures there
        start = time.perf_counter()
        at.run()
        cold.append(time.perf_counter() - start)
    return {
        "first": 1000 * first,
        "warm": 1000 * statistics.median(warm),
        "cold": 1000 * statistics.median(cold),
        "problems": [str(p)[:200] for p in problems],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--pages", nargs="*", default=None)
    parser.add_argument("--json", help="write the results here too")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    logging.getLogger("streamlit").setLevel(logging.ERROR)
    pages = args.pages or ["home", *app_pages()]
    results = {}
    for page in pages:
        for setting, query in (("defaults", {}), ("maximum", MAXIMUM.get(page, {}))):
            if setting == "maximum" and not query:
                continue
            r = measure(page, query, args.repeats)
            results[f"{page}@{setting}"] = r
            print(f"{page} {setting}: {r}", file=sys.stderr)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    print("| page | settings | first run (ms) | warm caches (ms) | cold caches (ms) |")
    print("|---|---|---|---|---|")
    for key, r in results.items():
        page, setting = key.split("@")
        label = setting if setting == "defaults" else f"maximum: {MAX_NOTE.get(page, '')}"
        note = " (errors: " + "; ".join(r["problems"]) + ")" if r["problems"] else ""
        print(f"| {page} | {label}{note} | {r['first']:.0f} | {r['warm']:.0f} | {r['cold']:.0f} |")


if __name__ == "__main__":
    main()
