"""Training speed: one epoch of rnnviz.fit against the same model, data and batches in PyTorch.

The torch side is what a reader would write: nn.RNN/LSTM/GRU plus nn.Linear, float32 on the
CPU, Adam, clip_grad_norm_, the task's loss, then the validation loss; both start from the
same weights and see the same minibatches. The same loop in torch float64 (rnnviz's precision)
is timed too, for context. One thread each (numpy's BLAS and torch). Prints
the median epoch time of each and their ratio; without torch it says so and times rnnviz
alone. Run: python benchmarks/train_vs_torch.py [--tasks sine adding] [--epochs N]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import rnnviz  # noqa: E402
from rnnviz.learning import train  # noqa: E402

try:
    import torch

    torch.set_num_threads(1)
except ImportError:
    torch = None

CELLS = ["rnn", "lstm", "gru"]


def ours(task, cell, epochs):
    """Median (wall, CPU) seconds per epoch of rnnviz.fit (minibatches and the validation loss)."""
    marks = [_now()]
    rnnviz.fit(task, cell=cell, hidden_size=16, epochs=epochs, seed=0, callback=lambda info: marks.append(_now()))
    return _medians(marks)


def _now():
    return time.perf_counter(), time.process_time()


def _medians(marks):
    """Median wall and CPU time between consecutive (wall, cpu) marks."""
    steps = [(b[0] - a[0], b[1] - a[1]) for a, b in zip(marks, marks[1:], strict=False)]
    return statistics.median(s[0] for s in steps), statistics.median(s[1] for s in steps)


def torch_model(task, cell, dtype=None):
    config = train.make_config(task, cell=cell, hidden_size=16, seed=0)
    model = train.task_model(task, config)  # the weights rnnviz.fit starts from
    cls = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
    rnn = cls(task.input_size, 16)
    head = torch.nn.Linear(16, task.output_size)
    with torch.no_grad():
        for k, v in rnnviz.to_state_dict(model.encoder).items():
            getattr(rnn, k).copy_(torch.from_numpy(v))
        head.weight.copy_(torch.from_numpy(model.output.W_hy))
        head.bias.copy_(torch.from_numpy(model.output.b_y))
    if dtype is not None:
        rnn, head = rnn.to(dtype), head.to(dtype)
    return config, rnn, head


def torch_loss(task, rnn, head, x, y):
    out, _ = rnn(x)  # (T, B, H)
    w = task.warmup
    if task.loss == "last_mse":
        return ((head(out[-1]) - y) ** 2).mean()
    if task.loss == "xent":
        logits = head(out[w:])
        return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y[w:].reshape(-1)) / math.log(2)
    return ((head(out[w:]) - y[w:]) ** 2).mean()


def theirs(task, cell, epochs, dtype=None):
    """Median (wall, CPU) seconds per epoch of the same training loop in torch, float32 (or ``dtype``)."""
    dtype = dtype or torch.float32
    config, rnn, head = torch_model(task, cell, dtype)
    weights = list(rnn.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(weights, lr=config.lr)
    as_y = (lambda a: torch.from_numpy(a)) if task.loss == "xent" else (lambda a: torch.from_numpy(a).to(dtype))
    x_train, y_train = torch.from_numpy(task.x_train).to(dtype), as_y(task.y_train)
    x_val, y_val = torch.from_numpy(task.x_val).to(dtype), as_y(task.y_val)
    last = task.loss.startswith("last")
    rng = np.random.default_rng([config.seed, 2])  # the batches rnnviz.fit draws
    n, B = x_train.shape[1], config.batch_size
    marks = [_now()]
    for _ in range(epochs):
        order = torch.from_numpy(rng.permutation(n))
        for k in range(0, n, B):
            idx = order[k : k + B]
            y = y_train[idx] if last else y_train[:, idx]
            opt.zero_grad()
            loss = torch_loss(task, rnn, head, x_train[:, idx], y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(weights, config.clip)
            opt.step()
        with torch.no_grad():
            torch_loss(task, rnn, head, x_val, y_val)
        marks.append(_now())
    return _medians(marks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=["sine", "chars", "adding"], choices=rnnviz.TASKS)
    parser.add_argument("--epochs", type=int, default=3, help="epochs timed per run (the median is shown)")
    args = parser.parse_args()
    if torch is None:
        print(
            "torch is not installed: showing rnnviz's epoch times only "
            "(pip install torch==2.13.0 numpy graphviz in a venv)"
        )
    print("CPU time is shown beside wall time: on a busy machine it is the fairer measure.")
    print(
        "| task | cell | T, N train, batch | rnnviz f64 ms/epoch (CPU) | torch f32 ms/epoch (CPU) | ratio (CPU) "
        "| torch f64 ms/epoch (CPU) | ratio f64 (CPU) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name in args.tasks:
        task = rnnviz.make_task(name, seed=0)
        shape = f"{task.length}, {task.x_train.shape[1]}, {task.budget.batch_size}"
        for cell in CELLS:
            mine = ours(task, cell, args.epochs)
            row = f"| {name} | {cell} | {shape} | {1000 * mine[0]:.0f} ({1000 * mine[1]:.0f}) |"
            if torch is None:
                print(row + " - | - | - | - |")
                continue
            for other in (theirs(task, cell, args.epochs), theirs(task, cell, args.epochs, torch.float64)):
                ratio = f"{mine[0] / other[0]:.1f} ({mine[1] / other[1]:.1f})"
                row += f" {1000 * other[0]:.0f} ({1000 * other[1]:.0f}) | {ratio} |"
            print(row)


if __name__ == "__main__":
    main()
