r"""Training a recurrent network with a linear readout on a ``Task``: minibatch BPTT in numpy.

The model is the core's recurrent stack followed by a readout on the top layer's states
(a ``Model`` wired many-to-many, or many-to-one for a task with one answer per sequence),

.. math::

    y_t = W_{out} h_t + b_{out}, \qquad p_t = \mathrm{softmax}(y_t) \text{ (chars only)},

trained by the one training loop (``rnnviz.learning.fit``) on the task's loss (squared error,
or cross-entropy in bits) with Adam or plain SGD, the gradient clipped by its global norm over
every weight (recurrent and readout), as ``torch.nn.utils.clip_grad_norm_`` does. Gradients
come from ``rnnviz.backward`` (truncated BPTT with ``truncate``). Everything is seeded: the
same arguments give the same history, number for number.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from ..engine.cells import Params, cell_kind
from ..engine.forward import forward
from .architectures import backprop_logits, output_layer, run
from .checks import check_int
from .fit import Batch, EpochInfo, FitConfig, FitResult, checked_config, fit_model, result_so_far
from .losses import Loss, log_softmax
from .models import Model, Readout, init_model
from .tasks import Task, naive_forecast

MAX_EPOCHS = 1000


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
    model = _model(params, readout, kind)
    wtrace = run(model, x, check=False)
    loss, d_logits = task_loss(kind, warmup)(wtrace.logits, target)
    grads = backprop_logits(model, wtrace, d_logits, truncate=truncate).model
    return loss, grads.encoder, grads.output


def _outputs(model: Model, x: np.ndarray) -> np.ndarray:
    """The model's outputs (logits) for inputs x: (T, N, O), or (N, O) for an answer at the last step."""
    logits = run(model, x, check=False).logits
    return logits[0] if model.wiring == "many_to_one" else logits


def evaluate(params: Params, readout: Readout, task: Task, split: str = "val") -> float:
    """The loss on a whole split, without gradients."""
    x, y = task.split(split)
    return task_loss(task.loss, task.warmup)(_outputs(_model(params, readout, task.loss), x), y)[0]


class TaskData:
    """A task as ``fit_model`` reads it: its training sequences in shuffled minibatches (a new
    order every epoch, seeded), its validation loss, and its metrics."""

    def __init__(self, task: Task, batch_size: int, seed: int):
        self.task, self.name, self.kind = task, task.name, task.loss
        self.loss = task_loss(task.loss, task.warmup)
        self.batch_size = min(batch_size, task.x_train.shape[1])
        self.rng = np.random.default_rng([seed, 2])

    def epoch(self) -> Iterator[Batch]:
        x, y, n = self.task.x_train, self.task.y_train, self.task.x_train.shape[1]
        order = self.rng.permutation(n)
        for k in range(0, n, self.batch_size):
            idx = order[k : k + self.batch_size]
            yield Batch(x[:, idx], y[idx] if self.kind == "last_mse" else y[:, idx], weight=len(idx))  # (T, B, D)

    def validation_loss(self, model: Model) -> float:
        return self.loss(_outputs(model, self.task.x_val), self.task.y_val)[0]

    def metrics(self, model: Model) -> dict[str, float]:
        return metrics(model, self.task)


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
    kind, nonlinearity = cell_kind(cell)
    budget = task.budget
    return checked_config(
        kind,
        nonlinearity,
        hidden_size,
        num_layers,
        epochs=budget.epochs if epochs is None else epochs,
        lr=(budget.lr if optimizer == "adam" else budget.sgd_lr) if lr is None else lr,
        optimizer=optimizer,
        clip=clip,
        truncate=truncate,
        batch_size=budget.batch_size if batch_size is None else batch_size,
        patience=patience,
        seed=seed,
        max_epochs=MAX_EPOCHS,
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
    callback: Callable[[EpochInfo], bool | None] | None = None,
    **settings,
) -> FitResult:
    """Train a recurrent network with a linear readout on ``task``.

    Args:
        task: from ``make_task``.
        cell: a choice of ``rnnviz.engine.cells.CELL_CHOICES`` ("rnn_tanh", "rnn_relu", "lstm", "gru"), or "rnn" (tanh).
        hidden_size, num_layers: the size of the recurrent stack.
        callback: called after every epoch with an ``EpochInfo``; returning False (or raising
            ``StopTraining``) stops training, and the result holds the model so far.
        **settings: as ``make_config`` takes them:
            epochs, lr, batch_size: the budget; None (the default) takes the task's (``task.budget``).
            optimizer: "adam" (the default) or "sgd" (plain, no momentum).
            clip: max global norm of the gradient over every weight (default 1); None or 0 turns clipping off.
            truncate: truncated BPTT, the gradient is cut every this many steps; None (the default): full BPTT.
            patience: stop after this many epochs without a better validation loss, and keep the
                best epoch's weights; None (the default): run every epoch and keep the last weights.
            seed: seeds the initial weights and the order of the minibatches (default 0).
    Returns:
        A FitResult. Raises ValueError for a bad argument.
    """
    config = make_config(task, cell, hidden_size, num_layers, **settings)
    data = TaskData(task, config.batch_size, config.seed)
    return fit_model(task_model(task, config), data, config, callback)


def stopped_result(info: EpochInfo, task: Task) -> FitResult:
    """The model a ``fit`` callback saw after an epoch, as the result of a run stopped there."""
    return result_so_far(info, TaskData(task, info.config.batch_size, info.config.seed))


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
    out = _outputs(result.model, x)
    if task.loss == "xent":
        out = np.exp(log_softmax(out))
    baseline = naive_forecast(task.name, x) if task.loss == "mse" else None  # a forecast per step
    return Prediction(outputs=out, targets=y, baseline=baseline, warmup=task.warmup)


def metrics(model: Model, task: Task) -> dict[str, float]:
    """Validation metrics of a model, with the task's baselines beside them."""
    x, y = task.split("val")
    outputs = _outputs(model, x)
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
    result: FitResult, task: Task, length: int = 200, temperature: float = 1.0, seed: int = 0, prompt: str = ""
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
