"""One training loop for any model on any data: minibatch BPTT, an optimiser, clipping, early stopping.

``fit_model`` trains a ``Model`` (``rnnviz.learning.models``) on a data source that hands
out the minibatches of one epoch at a time and scores the model on held-out data where it
has some. Every epoch it runs each minibatch forward (``architectures.run``), takes the
data's loss and its gradient w.r.t. the outputs, backpropagates through time (truncated if
asked), clips the gradient by its global norm and lets the optimiser step
(``rnnviz.learning.optim``). After the epoch it records the losses, keeps the best weights
so far, and asks a callback whether to go on. The built-in data: ``train.TaskData`` (the
tasks) and ``train_examples.ExampleData`` (the wirings' examples).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from ..engine.cells import Params
from .architectures import backprop_logits, run
from .checks import check_float, check_int
from .losses import Loss
from .models import MAX_HIDDEN, MAX_LAYERS, Model, OutputLayer, copy_model, parameters
from .optim import OPTIMIZERS, clip_grad_norm_, make_optimizer


class StopTraining(Exception):  # noqa: N818 (a signal, not an error)
    """Raise from a ``fit`` callback to stop training; the result holds the model so far."""


@dataclass(frozen=True)
class Budget:
    """A data set's default training run: what ``fit`` uses for an argument left at None."""

    epochs: int  # passes over the data; an example's epoch is one minibatch, a step
    lr: float  # Adam's learning rate
    batch_size: int
    sgd_lr: float | None = None  # plain SGD needs a larger step than Adam (None: trained with Adam only)
    hidden_size: int = 16  # the model's, where the data set suggests one
    cell: str = "lstm"

    @property
    def steps(self) -> int:
        """An example's budget in minibatch steps: its epochs."""
        return self.epochs


@dataclass(frozen=True)
class FitConfig:
    """Every setting of a training run, defaults resolved (what ``fit`` actually used)."""

    cell: str  # "rnn" | "lstm" | "gru"
    nonlinearity: str  # rnn only: "tanh" | "relu"
    hidden_size: int
    num_layers: int
    epochs: int
    lr: float
    optimizer: str  # "adam" | "sgd"
    clip: float | None  # max global gradient norm; None: no clipping
    truncate: int | None  # BPTT length; None: the whole sequence
    batch_size: int
    patience: int | None  # early stopping: epochs without a better validation loss; None: off
    seed: int


def checked_config(
    cell: str,
    nonlinearity: str,
    hidden_size: int,
    num_layers: int,
    *,
    epochs: int,
    lr: float,
    optimizer: str = "adam",
    clip: float | None = None,
    truncate: int | None = None,
    batch_size: int,
    patience: int | None = None,
    seed: int = 0,
    max_epochs: int,
) -> FitConfig:
    """A FitConfig from settings checked one by one; raises ValueError naming the first bad one.

    ``clip`` None or 0 turns clipping off.
    """
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}; expected 'adam' or 'sgd'")
    return FitConfig(
        cell=cell,
        nonlinearity=nonlinearity,
        hidden_size=check_int("hidden_size", hidden_size, 1, MAX_HIDDEN),
        num_layers=check_int("num_layers", num_layers, 1, MAX_LAYERS),
        epochs=check_int("epochs", epochs, 1, max_epochs),
        lr=check_float("lr", lr, 0.0, 10.0),
        optimizer=optimizer,
        clip=None if not clip else check_float("clip", clip, 0.0, 1e6),
        truncate=check_int("truncate", truncate, 1, 10_000, allow_none=True),
        batch_size=check_int("batch_size", batch_size, 1, 4096),
        patience=check_int("patience", patience, 1, max_epochs, allow_none=True),
        seed=check_int("seed", seed, 0, 2**63 - 1),
    )


@dataclass(frozen=True, eq=False)
class Batch:
    """One minibatch as the model reads it and the data's loss scores it."""

    x: np.ndarray  # (T, B, D); one_to_many: (B, D) vectors
    target: np.ndarray  # what the data's loss compares the outputs (logits) with
    weight: float = 1  # its share of the epoch's mean loss (a task's: its number of sequences)
    steps_out: int | None = None  # one_to_many: how many outputs to generate
    teacher: np.ndarray | None = None  # encoder_decoder: the targets as rows, fed to the decoder (teacher forcing)


class Data(Protocol):
    """What ``fit_model`` trains on: the minibatches of each epoch, and scores on held-out data."""

    name: str
    kind: str  # the loss as the data names it, e.g. a task's "mse", "xent" or "last_mse"
    loss: Loss

    def epoch(self) -> Iterable[Batch]:
        """The next epoch's minibatches, in the order to train on them (drawn from the data's own seeded generator)."""
        ...

    def validation_loss(self, model: Model) -> float | None:
        """The loss on held-out data; None where the data has none (no early stopping then)."""
        ...

    def metrics(self, model: Model) -> dict[str, float]:
        """The trained model's scores beside the data's baselines (empty where scored elsewhere)."""
        ...


class _Trained:
    """A trained ``model``'s recurrent weights and readout, under the names ``fit`` gave them."""

    model: Model

    @property
    def params(self) -> Params:
        """The recurrent weights, usable with rnnviz.forward."""
        return self.model.encoder

    @property
    def readout(self) -> OutputLayer:
        return self.model.output


@dataclass(frozen=True, eq=False)
class EpochInfo(_Trained):
    """What a ``fit`` callback receives after every epoch."""

    epoch: int  # 1-based
    epochs: int  # the budget
    train_loss: float  # mean over the epoch's minibatches
    val_loss: float | None  # None where the data has no validation split
    seconds: float  # since training started
    model: Model  # the weights now (a copy)
    best_val_loss: float
    history: dict[str, list[float]] = field(default_factory=dict)  # the losses so far (a copy)
    config: FitConfig | None = None

    @property
    def seconds_left(self) -> float:
        """A linear estimate of the time the remaining epochs will take."""
        return self.seconds / self.epoch * (self.epochs - self.epoch)


@dataclass(frozen=True, eq=False)
class FitResult(_Trained):
    """A trained model and how it got there."""

    task_name: str  # the data's name
    loss: str  # the data's loss kind; a task's "xent" losses are in bits per character
    model: Model
    history: dict[str, list[float]]  # "train_loss", "val_loss": one value per epoch run
    metrics: dict[str, float]  # the model's validation metrics and the data's baselines
    config: FitConfig
    best_epoch: int  # 1-based epoch the weights come from
    stopped: str  # "completed" | "early_stopping" | "callback" | "diverged" (a loss became NaN or infinite)
    seconds: float  # wall time of the whole run
    epoch_seconds: list[float] = field(default_factory=list)

    @property
    def epochs_run(self) -> int:
        return len(self.history["train_loss"])


def fit_model(
    model: Model, data: Data, config: FitConfig, callback: Callable[[EpochInfo], bool | None] | None = None
) -> FitResult:
    """Train a copy of ``model`` on ``data`` with the optimiser, clipping, BPTT length and budget of ``config``.

    Args:
        callback: called after every epoch with an ``EpochInfo``; returning False (or raising
            ``StopTraining``) stops training, and the result holds the model so far.
    Returns:
        A FitResult: with ``config.patience``, or after a loss became inf or nan, the weights of
        the epoch with the best validation loss, else the last epoch's.
    """
    model = copy_model(model)  # trained in place from here on; the caller's model stays as it was
    arrays = parameters(model)
    opt = make_optimizer(config.optimizer, arrays, config.lr)
    history: dict[str, list[float]] = {"train_loss": [], "val_loss": []}
    epoch_seconds: list[float] = []
    best: tuple[float, int, Model | None] = (math.inf, 0, None)  # (val loss, epoch, weights)
    stopped = "completed"
    start = time.perf_counter()
    for epoch in range(1, config.epochs + 1):
        t0 = time.perf_counter()
        total, count = 0.0, 0
        for batch in data.epoch():
            wtrace = run(model, batch.x, steps_out=batch.steps_out, teacher=batch.teacher, check=False)
            loss, d_logits = data.loss(wtrace.logits, batch.target)
            if not math.isfinite(loss):
                break  # diverged: keep the weights of the last finite step as they are
            grads = parameters(backprop_logits(model, wtrace, d_logits, truncate=config.truncate).model)
            if config.clip is not None:
                clip_grad_norm_(grads, config.clip)
            opt.step(grads)
            total += loss * batch.weight
            count += batch.weight
        else:
            loss = total / count
        train_loss, val_loss = loss, data.validation_loss(model)
        history["train_loss"].append(float(train_loss))
        if val_loss is not None:
            history["val_loss"].append(float(val_loss))
        epoch_seconds.append(time.perf_counter() - t0)
        if val_loss is not None and val_loss < best[0]:
            best = (val_loss, epoch, copy_model(model))
        if not math.isfinite(train_loss) or (val_loss is not None and not math.isfinite(val_loss)):
            stopped = "diverged"
            break
        if callback is not None and _stop(callback, epoch, train_loss, val_loss, start, model, best, history, config):
            stopped = "callback"
            break
        if config.patience is not None and val_loss is not None and epoch - best[1] >= config.patience:
            stopped = "early_stopping"
            break

    keep_best = config.patience is not None or stopped == "diverged"
    if keep_best and best[1] > 0:
        best_epoch, model = best[1], best[2]
    else:
        best_epoch = len(history["train_loss"])
    return FitResult(
        task_name=data.name,
        loss=data.kind,
        model=model,
        history=history,
        metrics=data.metrics(model),
        config=config,
        best_epoch=best_epoch,
        stopped=stopped,
        seconds=time.perf_counter() - start,
        epoch_seconds=epoch_seconds,
    )


def _stop(callback, epoch, train_loss, val_loss, start, model, best, history, config) -> bool:
    """Call the callback with the epoch's EpochInfo; True if it asks to stop."""
    info = EpochInfo(
        epoch=epoch,
        epochs=config.epochs,
        train_loss=float(train_loss),
        val_loss=None if val_loss is None else float(val_loss),
        seconds=time.perf_counter() - start,
        model=copy_model(model),
        best_val_loss=float(best[0]),
        history={name: list(values) for name, values in history.items()},
        config=config,
    )
    try:
        return callback(info) is False
    except StopTraining:
        return True


def result_so_far(info: EpochInfo, data: Data) -> FitResult:
    """The model as it was after an epoch (what a callback saw), as the result of a run stopped there."""
    return FitResult(
        task_name=data.name,
        loss=data.kind,
        model=info.model,
        history=info.history,
        metrics=data.metrics(info.model),
        config=info.config,
        best_epoch=info.epoch,
        stopped="callback",
        seconds=info.seconds,
    )
