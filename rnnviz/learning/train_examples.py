"""Training the wirings on their toy examples (``rnnviz.learning.examples``), and scoring them.

``train`` hands an example to the one training loop (``rnnviz.learning.fit``) as
``ExampleData``: every step (an epoch of one minibatch) takes sequences of one length, a
length drawn in proportion to how many sequences have it, so no model ever reads padding;
the encoder-decoder trains with teacher forcing. ``evaluate`` scores a model on an example's
sequences (the encoder-decoder free-running) beside the example's trivial baselines.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from .architectures import WiringTrace, run
from .checks import check_int
from .examples import Example, ExampleInfo, baselines, batch, length_buckets
from .fit import Batch, checked_config, fit_model
from .losses import Loss
from .models import Model, init_model

MAX_STEPS = 100_000  # training steps


def example_model(
    info: ExampleInfo,
    cell: str | None = None,
    hidden_size: int | None = None,
    *,
    num_layers: int = 1,
    nonlinearity: str = "tanh",
    bidirectional: bool = False,
    seed: int = 0,
) -> Model:
    """A fresh model of the example's wiring and sizes (cell and hidden size: the budget's by default)."""
    return init_model(
        info.wiring,
        info.budget.cell if cell is None else cell,
        info.input_size,
        info.budget.hidden_size if hidden_size is None else hidden_size,
        info.output_size,
        num_layers=num_layers,
        nonlinearity=nonlinearity,
        bidirectional=bidirectional,
        softmax=info.softmax,
        feed=info.feed,
        seed=seed,
    )


def _check_fits(model: Model, info: ExampleInfo) -> None:
    if not isinstance(model, Model):
        raise ValueError(f"model must be a Model, got {type(model).__name__}")
    if (model.wiring, model.input_size, model.output_size, model.softmax) != (
        info.wiring,
        info.input_size,
        info.output_size,
        info.softmax,
    ):
        raise ValueError(
            f"the model ({model.wiring}, {model.input_size} inputs, {model.output_size} outputs) does not fit "
            f"the {info.name} example ({info.wiring}, {info.input_size} inputs, {info.output_size} outputs)"
        )


def _rows(info: ExampleInfo, target: np.ndarray) -> np.ndarray:
    """Targets as the loss and the decoder read them: one-hot rows of class ids, (1, B, O) for
    one answer per sequence; values as they are."""
    if not info.softmax:
        return target
    rows = np.eye(info.output_size)[target]
    return rows[None] if info.wiring == "many_to_one" else rows


class ExampleData:
    """An example as ``fit_model`` reads it: each epoch is one minibatch of sequences of one length
    (seeded), with no validation split (``evaluate`` scores a model on held-out sequences)."""

    def __init__(self, example: Example, batch_size: int, seed: int):
        self.example, info = example, example.info
        self.name, self.kind = info.name, "xent" if info.softmax else "mse"
        self.loss = Loss(self.kind)
        self.batch_size = batch_size
        self.rng = np.random.default_rng([seed, 3])
        self.buckets = length_buckets(info)
        sizes = np.array([len(b) for b in self.buckets], dtype=np.float64)
        self.p = sizes / sizes.sum()  # a length in proportion to how many sequences have it

    def epoch(self) -> Iterator[Batch]:
        info = self.example.info
        bucket = self.buckets[int(self.rng.choice(len(self.buckets), p=self.p))]
        idx = self.rng.choice(bucket, size=min(self.batch_size, len(bucket)), replace=False)
        x, target = batch(self.example, idx)
        rows = _rows(info, target)
        teacher = rows if info.wiring == "encoder_decoder" else None
        yield Batch(x, rows, steps_out=info.steps_out, teacher=teacher)

    def validation_loss(self, model: Model) -> None:
        return None

    def metrics(self, model: Model) -> dict[str, float]:
        return {}


def train(
    model: Model,
    example_data: Example,
    *,
    steps: int | None = None,
    lr: float | None = None,
    batch_size: int | None = None,
    clip: float | None = 1.0,
    seed: int = 0,
    callback: Callable[[int, float], bool | None] | None = None,
) -> tuple[Model, dict[str, list[float]]]:
    """Train a copy of ``model`` on an example with Adam and global-norm gradient clipping.

    Each step takes a minibatch of sequences of one length (a length drawn in proportion to how
    many sequences have it); the encoder-decoder trains with teacher forcing. ``callback(step,
    loss)`` runs after every step (1-based); returning False or raising ``StopTraining`` stops.
    ``clip`` None or 0 turns clipping off.

    Returns:
        (the trained model, history): history["loss"] the minibatch loss of every step run (a
        step whose loss is not finite is not run, and training stops there), history["seconds"]
        the training time since the start after each step.
    """
    _check_fits(model, example_data.info)
    budget = example_data.info.budget
    steps = check_int("steps", budget.steps if steps is None else steps, 1, MAX_STEPS)
    config = checked_config(
        model.cell,
        model.encoder.nonlinearity,
        model.hidden_size,
        model.num_layers,
        epochs=steps,
        lr=budget.lr if lr is None else lr,
        clip=clip,
        batch_size=budget.batch_size if batch_size is None else batch_size,
        seed=seed,
        max_epochs=MAX_STEPS,
    )
    data = ExampleData(example_data, config.batch_size, config.seed)
    each_step = None if callback is None else (lambda info: callback(info.epoch, info.train_loss))
    result = fit_model(model, data, config, each_step)
    ran = result.epochs_run - (result.stopped == "diverged")
    return result.model, {
        "loss": result.history["train_loss"][:ran],
        "seconds": np.cumsum(result.epoch_seconds[:ran]).tolist(),
    }


def _free_run(model: Model, x: np.ndarray, target: np.ndarray, info: ExampleInfo) -> WiringTrace:
    """An example's run as it is scored: the encoder-decoder free-running for as many steps as the target."""
    steps = target.shape[0] if info.wiring == "encoder_decoder" else info.steps_out
    return run(model, x, steps_out=steps, check=False)


def evaluate(model: Model, example_data: Example) -> dict[str, float]:
    """How well a model does on an example's sequences (the encoder-decoder free-running), beside
    the trivial baselines computed on the same data (``examples.baselines``).

    Softmax examples: "accuracy" over the outputs (every step), "loss" (cross-entropy), and
    sequences also "sequence_accuracy" (every step right); ``wave``: "mse".
    """
    x, target, info = example_data
    _check_fits(model, info)
    if not info.softmax:
        wt = _free_run(model, x, target, info)
        return {"mse": float(np.mean((wt.y - target) ** 2))} | baselines(example_data)
    right = total = seq_right = 0
    loss_sum = 0.0
    for bucket in length_buckets(info):
        xb, tb = batch(example_data, bucket)
        wt = _free_run(model, xb, tb, info)
        pred = wt.y.argmax(axis=-1).reshape(tb.shape)  # (B,) or (T, B)
        hits = pred == tb
        right += int(hits.sum())
        total += hits.size
        seq_right += int(hits.reshape(-1, len(bucket)).all(axis=0).sum())
        loss_sum += Loss("xent")(wt.logits, _rows(info, tb))[0] * hits.size
    out = {"accuracy": right / total, "loss": loss_sum / total}
    if info.wiring != "many_to_one":
        out["sequence_accuracy"] = seq_right / len(info.lengths)
    return out | baselines(example_data)
