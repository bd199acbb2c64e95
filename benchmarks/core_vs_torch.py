"""Core speed: rnnviz forward + backward against torch.nn.RNN/LSTM/GRU on the same weights.

Runs on one thread (numpy's BLAS and torch), alternating the two implementations, and prints
the median time of each and their ratio. torch is optional: without it the script says so and
reports rnnviz's times alone. Run: python benchmarks/core_vs_torch.py [--repeats N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import rnnviz  # noqa: E402

try:
    import torch

    torch.set_num_threads(1)
except ImportError:
    torch = None

SIZES = [(1000, 1, 8, 64), (100, 32, 32, 128), (50, 1, 1, 1)]  # (T, B, D, H)
CELLS = ["rnn", "lstm", "gru"]


def ours(params, x, d_out):
    trace = rnnviz.forward(params, x)
    rnnviz.backward(params, trace, d_out)


def torch_model(cell, params, dtype):
    cls = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
    m = cls(params.input_size, params.hidden_size, dtype=dtype)
    with torch.no_grad():
        for k, v in rnnviz.to_state_dict(params).items():
            getattr(m, k).copy_(torch.from_numpy(v))
    return m


def theirs(model, x, d_out):
    model.zero_grad()
    out, _ = model(x)
    out.backward(d_out)


def timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def bench(cell, size, repeats):
    T, B, D, H = size
    params = rnnviz.init_params(cell, D, H, seed=0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(T, B, D))
    d_out = rng.normal(size=(T, B, H))
    row = {"ours": []}
    models = {}
    if torch is not None:
        for name, dtype in (("torch64", torch.float64), ("torch32", torch.float32)):
            xt = torch.tensor(x, dtype=dtype, requires_grad=True)
            models[name] = (torch_model(cell, params, dtype), xt, torch.tensor(d_out, dtype=dtype))
            row[name] = []
    ours(params, x, d_out)  # warm up
    for model, xt, dt in models.values():
        theirs(model, xt, dt)
    for _ in range(repeats):  # alternate, so that noise hits both alike
        row["ours"].append(timed(ours, params, x, d_out))
        for name, (model, xt, dt) in models.items():
            row[name].append(timed(theirs, model, xt, dt))
    return {k: statistics.median(v) for k, v in row.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    if torch is None:
        print(
            "torch is not installed: showing rnnviz's times only (pip install torch==2.13.0 numpy graphviz in a venv)"
        )
    print("| cell | T, B, D, H | rnnviz f64 (ms) | torch f64 (ms) | ratio f64 | torch f32 (ms) | ratio f32 |")
    print("|---|---|---|---|---|---|---|")
    for size in SIZES:
        for cell in CELLS:
            r = bench(cell, size, args.repeats)
            ms = {k: 1000 * v for k, v in r.items()}
            if torch is None:
                print(f"| {cell} | {size} | {ms['ours']:.2f} | - | - | - | - |")
            else:
                print(
                    f"| {cell} | {size} | {ms['ours']:.2f} | {ms['torch64']:.2f} | {r['ours'] / r['torch64']:.2f} "
                    f"| {ms['torch32']:.2f} | {r['ours'] / r['torch32']:.2f} |"
                )


if __name__ == "__main__":
    main()
