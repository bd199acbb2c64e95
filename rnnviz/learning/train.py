"""Training a recurrent network with a linear readout on a ``Task``: minibatch BPTT in numpy.

The model is the core's recurrent stack followed by a readout on the top layer's states,

.. math::

    y_t = W_{out} h_t + b_{out}, \\qquad p_t = \\mathrm{softmax}(y_t) \\text{ (chars only)},

trained on the task's loss (squared error, or cross-entropy in bits) by Adam or plain SGD,
with the gradient clipped by its global norm over every weight (recurrent and readout), as
``torch.nn.utils.clip_grad_norm_`` does. Gradients come from ``rnnviz.backward`` (truncated
BPTT with ``truncate``); the readout's are written out here. Everything is seeded: the same
arguments give the same history, number for number.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..engine.cells import Params
from ..engine.forward import forward
from .architectures import backprop_logits, output_layer, run
from .checks import check_float, check_int
from .losses import Loss, log_softmax
from .models import Model, Readout, copy_model, init_model, parameters
from .optim import OPTIMIZERS, clip_grad_norm_, make_optimizer
from .tasks import Task

FIT_CELLS = ("rnn", "rnn_tanh", "rnn_relu", "lstm", "gru")
MAX_HIDDEN = 256
MAX_LAYERS = 4
MAX_EPOCHS = 1000


class StopTraining(Exception):  # noqa: N818 (a signal, not an error)
    """Raise from a ``fit`` callback to stop training; the result holds the model so far."""


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


@dataclass(frozen=True, eq=False)
class EpochInfo:
    """What a ``fit`` callback receives after every epoch."""

    epoch: int  # 1-based
    epochs: int  # the budget
    train_loss: float  # mean over the epoch's minibatches
    val_loss: float
    seconds: float  # since training started
    params: Params  # the weights now (a copy)
    readout: Readout
    best_val_loss: float

    @property
    def seconds_left(self) -> float:
        """A linear estimate of the time the remaining epochs will take."""
        return self.seconds / self.epoch * (self.epochs - self.epoch)


@dataclass(frozen=True, eq=False)
class FitResult:
    """A trained model and how it got there."""

    task_name: str
    loss: str  # the task's loss kind; "xent" losses are in bits per character
    params: Params  # the trained recurrent weights, usable with rnnviz.forward
    readout: Readout
    history: dict[str, list[float]]  # "train_loss", "val_loss": one value per epoch run
    metrics: dict[str, float]  # the model's validation metrics and the task's baselines
    config: FitConfig
    best_epoch: int  # 1-based epoch the params come from
    stopped: str  # "completed" | "early_stopping" | "callback" | "diverged" (a loss became NaN or infinite)
    seconds: float  # wall time of the whole run
    epoch_seconds: list[float] = field(default_factory=list)

    @property
    def epochs_run(self) -> int:
        return len(self.history["train_loss"])


# ---------- the loss and its gradient


def task_loss(kind: str, warmup: int = 0) -> Loss:
    """The loss of a task's loss kind: "mse" and "last_mse" squared errors, "xent" cross-entropy in bits."""
    if kind == "xent":
        return Loss("xent", warmup, bits=True)
    if kind in ("mse", "last_mse"):
        return Loss("mse", warmup if kind == "mse" else 0)
    raise ValueError(f"unknown loss {kind!r}; expected mse, xent or last_mse")


def task_wiring(kind: str) -> str:
    """A task's wiring: one answer read at the last step ("last_mse"), else an output at every step."""
    return "many_to_one" if kind == "last_mse" else "many_to_many"


def loss_and_dy(kind: str, y: np.ndarray, target: np.ndarray, warmup: int = 0) -> tuple[float, np.ndarray]:
    """The loss and dL/dy for the readout's outputs y.

    Args:
        kind: "mse" (y (T, B, O)), "xent" (y (T, B, V) logits, target (T, B) ints, in bits),
            or "last_mse" (y (B, O), the last step's outputs only).
        warmup: steps at the start that are not scored ("mse" and "xent").
    Returns:
        (mean loss, dL/dy shaped like y).
    """
    return task_loss(kind, warmup)(y, target)


def _model(params: Params, readout: Readout, kind: str) -> Model:
    return Model(task_wiring(kind), params, readout, softmax=kind == "xent")


def _loss_and_grads(model: Model, loss: Loss, x: np.ndarray, target: np.ndarray, truncate: int | None):
    wtrace = run(model, x, check=False)
    value, d_logits = loss(wtrace.logits, target)
    return value, backprop_logits(model, wtrace, d_logits, truncate=truncate).model


def loss_and_grads(
    params: Params,
    readout: Readout,
    kind: str,
    x: np.ndarray,
    target: np.ndarray,
    *,
    warmup: int = 0,
    truncate: int | None = None,
) -> tuple[float, Params, Readout]:
    """The training loss on one batch and its gradient w.r.t. every weight.

    Args:
        params, readout: the model.
        kind: the task's loss ("mse", "xent" or "last_mse").
        x: inputs (T, B, D); target: as the task's targets for these B sequences.
        truncate: truncated BPTT with chunks of this many steps (None: full BPTT).
    Returns:
        (loss, dL/d(recurrent weights) as a Params, dL/d(readout) as a Readout).
    """
    loss, grads = _loss_and_grads(_model(params, readout, kind), task_loss(kind, warmup), x, target, truncate)
    return loss, grads.encoder, grads.output


def _outputs(model: Model, x: np.ndarray) -> np.ndarray:
    """The model's outputs (logits) for inputs x: (T, N, O), or (N, O) for an answer at the last step."""
    logits = run(model, x, check=False).logits
    return logits[0] if model.wiring == "many_to_one" else logits


def evaluate(params: Params, readout: Readout, task: Task, split: str = "val") -> float:
    """The loss on a whole split, without gradients."""
    x, y = task.split(split)
    return task_loss(task.loss, task.warmup)(_outputs(_model(params, readout, task.loss), x), y)[0]


# ---------- fit


def make_config(
    task: Task,
    cell: str = "lstm",
    hidden_size: int = 16,
    num_layers: int = 1,
    *,
    epochs: int | None = None,
    lr: float | None = None,
    optimizer: str = "adam",
    clip: float | None = 1.0,
    truncate: int | None = None,
    batch_size: int | None = None,
    patience: int | None = None,
    seed: int = 0,
) -> FitConfig:
    """Check ``fit``'s arguments and fill in the task's default budget; raises ValueError."""
    if not isinstance(task, Task):
        raise ValueError(f"task must be a Task made by make_task, got {type(task).__name__}")
    if cell not in FIT_CELLS:
        raise ValueError(f"unknown cell {cell!r}; expected one of {', '.join(FIT_CELLS)}")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}; expected 'adam' or 'sgd'")
    kind, _, nonlinearity = cell.partition("_")
    default_lr = task.budget.lr if optimizer == "adam" else task.budget.sgd_lr
    return FitConfig(
        cell=kind,
        nonlinearity=nonlinearity or "tanh",
        hidden_size=check_int("hidden_size", hidden_size, 1, MAX_HIDDEN),
        num_layers=check_int("num_layers", num_layers, 1, MAX_LAYERS),
        epochs=check_int("epochs", task.budget.epochs if epochs is None else epochs, 1, MAX_EPOCHS),
        lr=check_float("lr", default_lr if lr is None else lr, 0.0, 10.0),
        optimizer=optimizer,
        clip=None if not clip else check_float("clip", clip, 0.0, 1e6),
        truncate=check_int("truncate", truncate, 1, 10_000, allow_none=True),
        batch_size=check_int("batch_size", task.budget.batch_size if batch_size is None else batch_size, 1, 4096),
        patience=check_int("patience", patience, 1, MAX_EPOCHS, allow_none=True),
        seed=check_int("seed", seed, 0, 2**63 - 1),
    )


def task_model(task: Task, config: FitConfig) -> Model:
    """PyTorch's uniform initialisation (±1/sqrt(H)) for the stack and the readout, except
    the LSTM's forget-gate biases, which start at +1 so the cell remembers from the start
    (Gers et al. 2000; Jozefowicz et al. 2015), and the readout's bias, which starts at 0."""
    return init_model(
        task_wiring(task.loss),
        config.cell,
        task.input_size,
        config.hidden_size,
        task.output_size,
        num_layers=config.num_layers,
        nonlinearity=config.nonlinearity,
        softmax=task.loss == "xent",
        forget_bias=1.0,
        output_bias=False,
        seed=config.seed,
    )


def fit(
    task: Task,
    cell: str = "lstm",
    hidden_size: int = 16,
    num_layers: int = 1,
    *,
    epochs: int | None = None,
    lr: float | None = None,
    optimizer: str = "adam",
    clip: float | None = 1.0,
    truncate: int | None = None,
    batch_size: int | None = None,
    patience: int | None = None,
    callback: Callable[[EpochInfo], bool | None] | None = None,
    seed: int = 0,
) -> FitResult:
    """Train a recurrent network with a linear readout on ``task``.

    Args:
        task: from ``make_task``.
        cell: "rnn" (tanh), "rnn_tanh", "rnn_relu", "lstm" or "gru".
        hidden_size, num_layers: the size of the recurrent stack.
        epochs, lr, batch_size: the budget; None takes the task's default (``task.budget``).
        optimizer: "adam" or "sgd" (plain, no momentum).
        clip: max global norm of the gradient over every weight; None or 0 turns clipping off.
        truncate: truncated BPTT, the gradient is cut every this many steps; None: full BPTT.
        patience: stop after this many epochs without a better validation loss, and keep the
            best epoch's weights; None: run every epoch and keep the last weights.
        callback: called after every epoch with an ``EpochInfo``; returning False (or raising
            ``StopTraining``) stops training, and the result holds the model so far.
        seed: seeds the initial weights and the order of the minibatches.
    Returns:
        A FitResult. Raises ValueError for a bad argument.
    """
    config = make_config(
        task,
        cell,
        hidden_size,
        num_layers,
        epochs=epochs,
        lr=lr,
        optimizer=optimizer,
        clip=clip,
        truncate=truncate,
        batch_size=batch_size,
        patience=patience,
        seed=seed,
    )
    model = task_model(task, config)
    arrays = parameters(model)  # updated in place from here on
    loss_fn = task_loss(task.loss, task.warmup)
    opt = make_optimizer(config.optimizer, arrays, config.lr)
    rng = np.random.default_rng([config.seed, 2])
    last = task.loss.startswith("last")
    n = task.x_train.shape[1]
    B = min(config.batch_size, n)

    history: dict[str, list[float]] = {"train_loss": [], "val_loss": []}
    epoch_seconds: list[float] = []
    best = (math.inf, 0, copy_model(model))  # (val loss, epoch, weights)
    stopped = "completed"
    start = time.perf_counter()
    for epoch in range(1, config.epochs + 1):
        t0 = time.perf_counter()
        order = rng.permutation(n)
        total = 0.0
        for k in range(0, n, B):
            idx = order[k : k + B]
            x = task.x_train[:, idx]  # (T, B, D)
            y = task.y_train[idx] if last else task.y_train[:, idx]
            loss, d_model = _loss_and_grads(model, loss_fn, x, y, config.truncate)
            if not math.isfinite(loss):
                break  # diverged: keep the weights of the last finite step's epoch as they are
            grads = parameters(d_model)
            if config.clip is not None:
                clip_grad_norm_(grads, config.clip)
            opt.step(grads)
            total += loss * len(idx)
        else:
            loss = total / n
        train_loss = loss
        val_loss = loss_fn(_outputs(model, task.x_val), task.y_val)[0]
        history["train_loss"].append(float(train_loss))
        history["val_loss"].append(float(val_loss))
        epoch_seconds.append(time.perf_counter() - t0)
        if val_loss < best[0]:
            best = (val_loss, epoch, copy_model(model))
        if not math.isfinite(train_loss) or not math.isfinite(val_loss):
            stopped = "diverged"
            break
        snapshot = copy_model(model) if callback is not None else model
        info = EpochInfo(
            epoch=epoch,
            epochs=config.epochs,
            train_loss=float(train_loss),
            val_loss=float(val_loss),
            seconds=time.perf_counter() - start,
            params=snapshot.encoder,
            readout=snapshot.output,
            best_val_loss=float(best[0]),
        )
        if callback is not None:
            try:
                if callback(info) is False:
                    stopped = "callback"
            except StopTraining:
                stopped = "callback"
            if stopped == "callback":
                break
        if config.patience is not None and epoch - best[1] >= config.patience:
            stopped = "early_stopping"
            break

    keep_best = config.patience is not None or stopped == "diverged"
    if keep_best and best[1] > 0:
        best_epoch, model = best[1], best[2]
    else:
        best_epoch, model = len(history["val_loss"]), copy_model(model)
    params, readout = model.encoder, model.output
    return FitResult(
        task_name=task.name,
        loss=task.loss,
        params=params,
        readout=readout,
        history=history,
        metrics=metrics(params, readout, task),
        config=config,
        best_epoch=best_epoch,
        stopped=stopped,
        seconds=time.perf_counter() - start,
        epoch_seconds=epoch_seconds,
    )


# ---------- using a trained model


@dataclass(frozen=True, eq=False)
class Prediction:
    """A model's outputs on a split beside the targets.

    For "mse" tasks ``outputs`` and ``targets`` are (T, N, O); for "last_mse" (N, O); for
    "xent" ``outputs`` are next-character probabilities (T, N, V) and ``targets`` (T, N) ints.
    ``baseline`` is the naive forecast where the task has one (sine: the current value;
    stock: a return of zero, "tomorrow = today"), shaped like ``outputs``; else None.
    """

    outputs: np.ndarray
    targets: np.ndarray
    baseline: np.ndarray | None
    warmup: int

    def series(self, index: int = 0) -> dict[str, np.ndarray]:
        """1-D curves to plot: "target", "prediction" (and "baseline") of sequence ``index``
        over its T steps; for "last_mse" tasks, over the first ``index``.. sequences' answers
        (one point per sequence); for "xent", the probability given to the true next character."""
        if self.targets.ndim == 2 and self.outputs.ndim == 2:  # last_mse: (N, O)
            out = {"target": self.targets[:, 0], "prediction": self.outputs[:, 0]}
        elif self.targets.ndim == 2:  # xent
            p = np.take_along_axis(self.outputs[:, index], self.targets[:, index, None], axis=-1)[:, 0]
            return {"probability of the true next character": p}
        else:
            out = {"target": self.targets[:, index, 0], "prediction": self.outputs[:, index, 0]}
            if self.baseline is not None:
                out["baseline"] = self.baseline[:, index, 0]
        return out


def predict(result: FitResult, task: Task, split: str = "val") -> Prediction:
    """Run a trained model over a split of its task (see ``Prediction``)."""
    _check_match(result, task)
    x, y = task.split(split)
    out = _outputs(_model(result.params, result.readout, task.loss), x)
    if task.loss == "xent":
        out = np.exp(log_softmax(out))
    baseline = None
    if task.name == "sine":
        baseline = x.copy()  # next value = current value
    elif task.name == "stock":
        baseline = np.zeros_like(out)  # a return of zero: tomorrow's price = today's
    return Prediction(outputs=out, targets=y, baseline=baseline, warmup=task.warmup)


def metrics(params: Params, readout: Readout, task: Task) -> dict[str, float]:
    """Validation metrics of a model, with the task's baselines beside them."""
    x, y = task.split("val")
    outputs = _outputs(_model(params, readout, task.loss), x)
    w = task.warmup
    if task.loss == "xent":
        logits = outputs[w:]  # (T', N, V)
        bits = loss_and_dy("xent", logits, y[w:])[0]
        accuracy = float(np.mean(logits.argmax(axis=-1) == y[w:]))
        out = {"val_bits_per_char": bits, "val_accuracy": accuracy}
    elif task.loss == "last_mse":
        err = outputs - y  # (N, 1)
        # the classic criterion: an answer counts as right when it is within 0.04 of the sum
        out = {"val_mse": float(np.mean(err**2)), "val_accuracy": float(np.mean(np.abs(err) < 0.04))}
    else:
        err = outputs[w:] - y[w:]
        out = {"val_mse": float(np.mean(err**2))}
        if "baseline_val_mse" in task.baselines:
            out["val_skill"] = 1.0 - out["val_mse"] / task.baselines["baseline_val_mse"]  # > 0: beats the baseline
    return out | task.baselines


def _check_match(result: FitResult, task: Task) -> None:
    if result.task_name != task.name or result.params.input_size != task.input_size:
        raise ValueError(f"this model was trained on {result.task_name!r}, not on this {task.name!r} task")
    if result.readout.W_out.shape[0] != task.output_size:
        raise ValueError("the model's readout does not fit this task's outputs")


def sample(
    result: FitResult,
    task: Task,
    length: int = 200,
    temperature: float = 1.0,
    seed: int = 0,
    prompt: str = "",
) -> str:
    """Generate text with a model trained on the chars task: the prompt, then ``length`` characters.

    Each character is drawn from softmax(logits / temperature); a temperature of 0 picks the
    most likely character every time. The prompt (lowercased) primes the state; an empty prompt
    starts from a space.
    """
    if task.loss != "xent":
        raise ValueError("sampling needs a model trained on the chars task")
    _check_match(result, task)
    check_int("length", length, 0, 100_000)
    if isinstance(temperature, bool) or not isinstance(temperature, int | float) or not 0 <= temperature <= 100:
        raise ValueError(f"temperature must be a number from 0 to 100, got {temperature!r}")
    check_int("seed", seed, 0, 2**63 - 1)
    prompt = prompt.lower()
    unknown = sorted(set(prompt) - set(task.vocab))
    if unknown:
        raise ValueError(f"the prompt has characters the model has never seen: {''.join(unknown)!r}")
    V = len(task.vocab)
    eye = np.eye(V)
    rng = np.random.default_rng(seed)
    params, readout = result.params, result.readout
    primer = prompt or " "
    trace = forward(params, eye[[task.vocab.index(ch) for ch in primer]][:, None, :])  # (T, 1, V)
    h, c = trace.h_n, trace.c_n  # (L, 1, H)
    logits = output_layer(readout, trace.output[-1, 0])  # (V,)
    chars = []
    for _ in range(length):
        if temperature == 0:
            k = int(np.argmax(logits))
        else:
            p = np.exp(log_softmax(logits / temperature))
            k = int(rng.choice(V, p=p / p.sum()))
        chars.append(task.vocab[k])
        trace = forward(params, eye[k][None, None, :], h, c)
        h, c = trace.h_n, trace.c_n
        logits = output_layer(readout, trace.output[-1, 0])
    return prompt + "".join(chars)
