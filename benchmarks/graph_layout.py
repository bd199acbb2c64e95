"""Graph layout: how long `dot` takes against the number of nodes, up to the collapse bound.

Builds rnnviz.unfolded_graph for the RNN, LSTM and GRU at the cell and operation levels with
1 to 3 layers and increasing T (H=32, D=8, values and gradients shown, weight sharing as
labels, as the Unfolded page draws them), counts its nodes (rnnviz.count_nodes) and times
rnnviz.render_svg (the `dot` layout the page runs; median of --repeats) and the Python that
builds the graph. The last rows are the largest graphs the UI can produce: T=100 with a
highlighted step in the middle (two gaps), and the "nodes" weight mode (not offered by the
pages; its layout is the slowest per node).
Run: python benchmarks/graph_layout.py [--repeats 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

from common import ROOT

sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

import rnnviz  # noqa: E402
from rnnviz.drawing import MAX_NODES  # noqa: E402
from rnnviz.engine import bptt  # noqa: E402

STEPS = [1, 2, 4, 8, 12, 100]


def build(cell, level, L, T, hl=None, shared="labels", max_steps=None, H=32, D=8):
    params = rnnviz.init_params(cell, D, H, num_layers=L, seed=0)
    x = np.random.default_rng(0).normal(size=(T, D))
    trace = rnnviz.forward(params, x)
    grads = bptt.loss_backward(params, trace, "last")
    return rnnviz.unfolded_graph(
        trace, grads=grads, level=level, values=True, shared_weights=shared, highlight_step=hl, max_steps=max_steps
    )


def timed(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", help="write the results here too")
    args = parser.parse_args()
    if not rnnviz.graphviz_available():
        print("Graphviz's dot is not installed: nothing to time")
        return
    rows = []
    cells, levels = ("rnn", "lstm", "gru"), ("cell", "operations")
    configs = [(c, lv, L, T, None, "labels", None) for lv in levels for c in cells for L in (1, 2, 3) for T in STEPS]
    configs += [(c, lv, 3, 100, 50, "labels", None) for lv in levels for c in cells]
    configs += [(c, "operations", 3, 100, 50, "nodes", None) for c in ("lstm", "gru")]
    # beyond the pages: more steps kept, up to the MAX_NODES collapse bound
    configs += [("lstm", "operations", 3, 100, None, "labels", m) for m in (6, 8, 10, 14)]
    configs += [("lstm", "cell", 3, 100, None, "labels", m) for m in (24, 40, 60, 100)]
    for cell, level, L, T, hl, shared, max_steps in configs:
        t_build, g = timed(lambda: build(cell, level, L, T, hl, shared, max_steps), args.repeats)  # noqa: B023
        t_dot, svg = timed(lambda: rnnviz.render_svg(g), args.repeats)  # noqa: B023
        rows.append(
            {
                "cell": cell,
                "level": level,
                "L": L,
                "T": T,
                "hl": hl,
                "weights": shared,
                "max_steps": max_steps,
                "nodes": rnnviz.count_nodes(g),
                "build_ms": 1000 * t_build,
                "dot_ms": 1000 * t_dot,
                "svg_kb": len(svg) / 1000,
            }
        )
        print(rows[-1], file=sys.stderr)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    max_ui = max(r["nodes"] for r in rows if r["max_steps"] is None and r["weights"] == "labels")
    print("| nodes (range) | graphs | dot median (ms) | dot max (ms) | worst graph |")
    print("|---|---|---|---|---|")
    bands = [(0, 25), (25, 50), (50, 100), (100, 200), (200, 300), (300, 400), (400, 10**9)]
    for lo, hi in bands:
        band = [r for r in rows if lo <= r["nodes"] < hi]
        if not band:
            continue
        worst = max(band, key=lambda r: r["dot_ms"])
        median = statistics.median(r["dot_ms"] for r in band)
        top = hi - 1 if hi < 10**9 else "..."
        print(f"| {lo}-{top} | {len(band)} | {median:.0f} | {worst['dot_ms']:.0f} | {describe(worst)} |")
    print()
    print(f"Collapse bound: rnnviz.drawing.MAX_NODES = {MAX_NODES}; largest graph the UI draws: {max_ui} nodes.")
    print()
    print("| largest graphs (T=100, L=3, H=32, D=8) | nodes | build (ms) | dot (ms) | SVG (kB) |")
    print("|---|---|---|---|---|")
    ui = [r for r in rows if r["T"] == 100 and r["L"] == 3 and r["max_steps"] is None]
    for r in sorted(ui, key=lambda r: -r["dot_ms"])[:6] + [r for r in rows if r["max_steps"]]:
        print(f"| {describe(r)} | {r['nodes']} | {r['build_ms']:.0f} | {r['dot_ms']:.0f} | {r['svg_kb']:.0f} |")


def describe(r: dict) -> str:
    extra = f", step {r['hl']} highlighted" if r["hl"] else ""
    weights = ", weight nodes" if r["weights"] == "nodes" else ""
    kept = f", max_steps={r['max_steps']} (not in the UI)" if r["max_steps"] else ""
    return f"{r['cell']} {r['level']} L={r['L']} T={r['T']}{extra}{weights}{kept}"


if __name__ == "__main__":
    main()
