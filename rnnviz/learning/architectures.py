r"""Running a model's wiring forward, keeping every value, and backpropagating through it.

``run`` keeps every intermediate value (``rnnviz.forward``'s traces, the output layer's
logits and outputs) and ``backprop`` gives dL/d(every weight, input and initial state),
through the decoder's feedback loop, using ``rnnviz.backward`` for BPTT inside each
recurrent stack. The encoder-decoder's decoder reads its own previous output, or in training
the previous target (teacher forcing). The model itself (``Model``, ``OutputLayer``,
``init_model``, the wirings) is ``rnnviz.learning.models``'s, also importable from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..engine.backward import Grads, backward
from ..engine.forward import Trace, forward
from ..engine.numerics import as_float_array, quiet_overflow
from .checks import check_int
from .losses import cross_entropy, mse, softmax
from .models import (
    BIDIRECTIONAL_WIRINGS,
    FEEDS,
    MAX_FEATURES,
    MAX_HIDDEN,
    MAX_LAYERS,
    MAX_STEPS,
    WIRING_DESCRIPTIONS,
    WIRING_LABELS,
    WIRINGS,
    Model,
    OutputLayer,
    init_model,
    named_arrays,
    parameter_count,
    parameters,
    validate_model,
)

__all__ = [
    "BIDIRECTIONAL_WIRINGS",
    "FEEDS",
    "MAX_FEATURES",
    "MAX_HIDDEN",
    "MAX_LAYERS",
    "MAX_STEPS",
    "WIRINGS",
    "WIRING_DESCRIPTIONS",
    "WIRING_LABELS",
    "Model",
    "OutputLayer",
    "WiringGrads",
    "WiringTrace",
    "backprop",
    "backprop_logits",
    "init_model",
    "loss",
    "loss_and_grad",
    "named_arrays",
    "output_layer",
    "parameter_count",
    "parameters",
    "run",
    "softmax",
    "validate_model",
]


@dataclass(frozen=True, eq=False)
class WiringTrace:
    """Everything ``run`` computed; arrays keep the caller's layout (batched or not)."""

    model: Model
    x: np.ndarray  # as given: (T_in, [B,] D); one_to_many: (D,) or (B, D)
    encoder: Trace  # the encoder's trace (one_to_many: over the T_out generated steps)
    decoder: Trace | None  # encoder_decoder only
    logits: np.ndarray  # (T_out, [B,] O); many_to_one: (1, [B,] O)
    steps_in: int  # T_in (one_to_many: 1)
    steps_out: int  # number of outputs
    output_steps: tuple[int, ...]  # 1-based step of the stack each output is read from (enc-dec: the decoder's)
    decoder_inputs: np.ndarray | None  # encoder_decoder: (T_out, [B,] O), start vector then fed-back y or teacher
    teacher: np.ndarray | None = None  # encoder_decoder with teacher forcing: the targets as (T_out, [B,] O) floats
    features: np.ndarray | None = None  # (T_out, [B,] H_in): the states the output layer read

    @cached_property
    def y(self) -> np.ndarray:
        """softmax(logits) if the model's outputs are classes, else the logits (worked out when first read)."""
        return _y(self.model, self.logits)

    @property
    def batched(self) -> bool:
        return self.encoder.batched

    @property
    def predictions(self) -> np.ndarray:
        """(T_out, [B]) the most likely class per output (softmax models); the values otherwise."""
        return self.y.argmax(axis=-1) if self.model.softmax else self.y


def output_layer(output: OutputLayer, h: np.ndarray) -> np.ndarray:
    """y = h W_hy^T + b_y: (..., H_in) -> (..., O)."""
    return h @ output.W_hy.T + output.b_y


def _check_sequence(model: Model, x) -> np.ndarray:
    x = as_float_array("x", x, (2, 3))
    if not 1 <= x.shape[0] <= MAX_STEPS:
        raise ValueError(f"the input must have from 1 to {MAX_STEPS} steps, got {x.shape[0]}")
    if x.shape[-1] != model.input_size:
        raise ValueError(f"x has {x.shape[-1]} features per step but the model's input size is {model.input_size}")
    if x.ndim == 3 and x.shape[1] < 1:
        raise ValueError("the batch is empty")
    return x


def _check_steps_out(steps_out) -> int:
    return check_int("steps_out", steps_out, 1, MAX_STEPS)


def _y(model: Model, logits: np.ndarray) -> np.ndarray:
    return softmax(logits) if model.softmax else logits


@quiet_overflow  # a state or output beyond float64 becomes inf or nan, without warnings
def run(
    model: Model, x, *, steps_out: int | None = None, h0=None, c0=None, teacher=None, check: bool = True
) -> WiringTrace:
    """Run a wiring forward and keep every intermediate value.

    Args:
        model: from ``init_model`` (or trained).
        x: (T_in, D) or batched (T_in, B, D); one_to_many: the vector, (D,) or (B, D).
        steps_out: how many outputs one_to_many and encoder_decoder emit (encoder_decoder: default
            T_in, or the teacher's length); many_to_one and many_to_many: None, or 1 and T_in.
        h0, c0: the encoder's initial states, (L, [B,] H) (2L rows when bidirectional); zeros if None.
        teacher: encoder_decoder only, teacher forcing: the targets (T_out, [B,] O) (values, or
            one-hot or probabilities), or class ids (T_out, [B]) of a softmax model. The decoder
            then reads the previous target instead of its own previous output.
        check: False skips checking the inputs, for a training loop over data known to be good
            (float64 arrays of the model's sizes, a teacher as rows, one_to_many's steps_out
            given, and no limit on the number of steps).
    Returns:
        A WiringTrace. Raises ValueError for bad input.
    """
    if check:
        x, steps_out, teacher = _checked(model, x, steps_out, teacher)
    if model.wiring == "one_to_many":
        return _run_one_to_many(model, x, steps_out, h0, c0)
    if model.wiring == "encoder_decoder":
        return _run_encoder_decoder(model, x, steps_out, h0, c0, teacher)
    trace = forward(model.encoder, x, h0, c0)
    T_in = x.shape[0]
    if model.wiring == "many_to_one":
        features = _last_state(model, trace)[None]  # (1, [B,] H_in)
        output_steps = (T_in,)
    else:
        features = trace.output  # (T, [B,] H_in)
        output_steps = tuple(range(1, T_in + 1))
    logits = output_layer(model.output, features)
    return WiringTrace(model, x, trace, None, logits, T_in, len(output_steps), output_steps, None, features=features)


def _checked(model: Model, x, steps_out, teacher) -> tuple[np.ndarray, int | None, np.ndarray | None]:
    """``run``'s inputs checked: x as float64, steps_out as the number of outputs where the wiring
    chooses it, the teacher as float rows; raises ValueError for anything that does not fit."""
    if not isinstance(model, Model):
        raise ValueError(f"model must be a Model made by init_model, got {type(model).__name__}")
    if teacher is not None and model.wiring != "encoder_decoder":
        raise ValueError("teacher forcing is only for the encoder_decoder wiring")
    if model.wiring == "one_to_many":
        v = as_float_array("x", x, (1, 2))
        if v.shape[-1] != model.input_size:
            raise ValueError(
                f"the input vector has {v.shape[-1]} values but the model's input size is {model.input_size}"
            )
        if v.ndim == 2 and v.shape[0] < 1:
            raise ValueError("the batch is empty")
        if steps_out is None:
            raise ValueError("one_to_many needs steps_out, the number of outputs to generate")
        return v, _check_steps_out(steps_out), None
    x = _check_sequence(model, x)
    T_in = x.shape[0]
    if model.wiring != "encoder_decoder":
        expected = 1 if model.wiring == "many_to_one" else T_in
        if steps_out is not None and steps_out != expected:
            raise ValueError(f"{model.wiring} gives {expected} output(s) for this input, not steps_out={steps_out!r}")
        return x, None, None
    if teacher is not None:
        try:
            teacher = np.asarray(teacher)
        except ValueError as err:  # a ragged list
            raise ValueError(f"teacher must be an array: {err}") from None
        T_t = teacher.shape[0] if teacher.ndim else 0
        if steps_out is not None and steps_out != T_t:
            raise ValueError(f"steps_out={steps_out!r} differs from the teacher's {T_t} steps")
        steps_out = T_t
    T = _check_steps_out(T_in if steps_out is None else steps_out)
    if teacher is not None:
        teacher = _one_hot_or_values(model, "teacher", teacher, (T,) + x.shape[1:-1])
    return x, T, teacher


def _last_state(model: Model, trace: Trace) -> np.ndarray:
    """The top layer's final state ([B,] H_in); bidirectional: the forward direction's h_T beside
    the reverse direction's state after reading x_1 (torch's h_n[-2] and h_n[-1])."""
    dirs = 2 if model.bidirectional else 1
    h_n = trace.h_n  # (dirs * L, [B,] H)
    return np.concatenate(list(h_n[-dirs:]), axis=-1)


def _vector_sequence(model: Model, v: np.ndarray, T: int) -> np.ndarray:
    """The generator's input sequence: v at every step, or v then zeros."""
    seq = np.zeros((T,) + v.shape)  # (T, [B,] D)
    if model.feed == "every":
        seq[:] = v
    else:
        seq[0] = v
    return seq


def _run_one_to_many(model: Model, v: np.ndarray, T: int, h0, c0) -> WiringTrace:
    trace = forward(model.encoder, _vector_sequence(model, v, T), h0, c0)
    logits = output_layer(model.output, trace.output)
    return WiringTrace(model, v, trace, None, logits, 1, T, tuple(range(1, T + 1)), None, features=trace.output)


def _one_hot_or_values(model: Model, name: str, a, lead: tuple[int, ...]) -> np.ndarray:
    """Targets as floats (*lead, O): class ids (*lead) of a softmax model become one-hot rows."""
    arr = np.asarray(a)
    O = model.output_size  # noqa: E741
    if model.softmax and arr.shape == lead and arr.dtype.kind in "iu":
        if arr.size and (arr.min() < 0 or arr.max() >= O):
            raise ValueError(f"{name} holds class ids outside 0..{O - 1}")
        return np.eye(O)[arr]
    arr = as_float_array(name, arr, (len(lead) + 1,))
    if arr.shape != lead + (O,):
        ids = f", or class ids {lead}" if model.softmax else ""
        raise ValueError(f"{name} must have shape {lead + (O,)}{ids}, got {arr.shape}")
    return arr


def _run_encoder_decoder(model: Model, x: np.ndarray, T: int | None, h0, c0, taught: np.ndarray | None):
    T_in = x.shape[0]
    batch = x.shape[1:-1]  # () or (B,)
    if T is None:
        T = T_in if taught is None else taught.shape[0]
    enc = forward(model.encoder, x, h0, c0)
    if not np.all(np.isfinite(enc.h_n)) or (enc.c_n is not None and not np.all(np.isfinite(enc.c_n))):
        raise ValueError(
            "the encoder's final state overflowed float64 (inf or nan), so it cannot start the decoder; "
            "try smaller weights or inputs"
        )
    O = model.output_size  # noqa: E741
    inputs = np.zeros((T,) + batch + (O,))  # (T_out, [B,] O); step 1 reads the zero "start" vector
    if taught is not None:
        inputs[1:] = taught[:-1]
    else:
        h, c = enc.h_n, enc.c_n
        for t in range(T - 1):  # each step reads the previous step's output
            step = forward(model.decoder, inputs[t : t + 1], h, c)
            h, c = step.h_n, step.c_n
            inputs[t + 1] = _y(model, output_layer(model.output, step.output[0]))
            if not np.all(np.isfinite(inputs[t + 1])):
                raise ValueError(
                    f"the decoder's output at step {t + 1} overflowed float64 (inf or nan), so it cannot be "
                    "fed back; try smaller weights"
                )
    dec = forward(model.decoder, inputs, enc.h_n, enc.c_n)
    logits = output_layer(model.output, dec.output)
    steps = tuple(range(1, T + 1))  # the decoder's own steps
    return WiringTrace(model, x, enc, dec, logits, T_in, T, steps, inputs, teacher=taught, features=dec.output)


def _targets(wtrace: WiringTrace, target) -> np.ndarray:
    """The targets as floats shaped like the logits (class ids become one-hot rows)."""
    lead = wtrace.logits.shape[:-1]  # (T_out, [B])
    arr = np.asarray(target)
    full = (lead + wtrace.logits.shape[-1:],) + ((lead,) if wtrace.model.softmax else ())
    if wtrace.model.wiring == "many_to_one" and arr.shape not in full and (1,) + arr.shape in full:
        arr = arr[None]  # one output: the leading step axis may be left out
    t = _one_hot_or_values(wtrace.model, "target", arr, lead)
    if wtrace.model.softmax and t.size:
        if t.min() < 0 or not np.allclose(t.sum(axis=-1), 1.0, atol=1e-6):
            raise ValueError("targets of a softmax model must be class ids, or one-hot/probability rows summing to 1")
    return t


@quiet_overflow  # a state or output beyond float64 becomes inf or nan, without warnings
def loss_and_grad(wtrace: WiringTrace, target) -> tuple[float, np.ndarray]:
    """The loss and its gradient dL/d(logits), ignoring the decoder's feedback.

    Softmax models: the mean cross-entropy (natural log) over the outputs, -sum_k t_k log p_k;
    otherwise the mean squared error over every output value.
    """
    t = _targets(wtrace, target)
    return (cross_entropy if wtrace.model.softmax else mse)(wtrace.logits, t)


def loss(wtrace: WiringTrace, target) -> float:
    """Mean squared error, or mean cross-entropy for a softmax model (target: class ids
    (T_out, [B]) or one-hot/probability rows (T_out, [B,] O); many_to_one may leave out T_out = 1)."""
    return loss_and_grad(wtrace, target)[0]


@dataclass(frozen=True, eq=False)
class WiringGrads:
    """dL/d(everything) for one ``run``; arrays in the trace's layout."""

    model: Model  # the model's structure, holding dL/d(every parameter)
    x: np.ndarray  # shaped like the trace's x
    encoder: Grads  # rnnviz.backward's result for the encoder (dh per step for the BPTT view)
    decoder: Grads | None  # encoder_decoder only
    d_logits: np.ndarray  # (T_out, [B,] O): total dL/d(logits), including the decoder's feedback path

    @property
    def h0(self) -> np.ndarray:
        """dL/d(the encoder's h0)."""
        return self.encoder.h0

    @property
    def c0(self) -> np.ndarray | None:
        return self.encoder.c0


def _same_model(a: Model, b: Model) -> bool:
    if a is b:
        return True
    arrays_a, arrays_b = named_arrays(a), named_arrays(b)
    return (
        (a.wiring, a.softmax, a.feed, a.cell, a.encoder.nonlinearity)
        == (b.wiring, b.softmax, b.feed, b.cell, b.encoder.nonlinearity)
        and len(arrays_a) == len(arrays_b)
        and all(na == nb and np.array_equal(x, y) for (na, x), (nb, y) in zip(arrays_a, arrays_b, strict=True))
    )


def _softmax_vjp(p: np.ndarray, g: np.ndarray) -> np.ndarray:
    """g^T dsoftmax/dz = p * (g - <g, p>)."""
    return p * (g - np.sum(g * p, axis=-1, keepdims=True))


@quiet_overflow  # a state or output beyond float64 becomes inf or nan, without warnings
def backprop(model: Model, wtrace: WiringTrace, target, *, truncate: int | None = None) -> WiringGrads:
    """The gradient of ``loss(wtrace, target)`` w.r.t. every weight, the input and h0/c0.

    The encoder_decoder's free-running decoder reads y_{t-1} as its input x_t, so dL/dy_{t-1}
    also collects dL/dx_t from the decoder (through the softmax's Jacobian for a softmax
    model): a reverse-time loop over single decoder steps finds these before one BPTT call
    over the whole decoder. ``truncate``: truncated BPTT inside each stack (``rnnviz.backward``'s).
    """
    if not isinstance(wtrace, WiringTrace):
        raise ValueError(f"wtrace must be the WiringTrace of run, got {type(wtrace).__name__}")
    if not _same_model(model, wtrace.model):
        raise ValueError("the model differs from the one the trace was computed with")
    return backprop_logits(model, wtrace, loss_and_grad(wtrace, target)[1], truncate=truncate)


@quiet_overflow
def backprop_logits(model: Model, wtrace: WiringTrace, d_logits: np.ndarray, *, truncate=None) -> WiringGrads:
    """``backprop`` from a given dL/d(logits), shaped like ``wtrace.logits`` (whatever loss it came from)."""
    enc_trace, W_hy = wtrace.encoder, model.output.W_hy
    dec_grads = None
    if model.wiring == "many_to_one":
        d_feat = d_logits[0] @ W_hy  # ([B,] H_in): each direction's final state side by side
        dirs = 2 if model.bidirectional else 1
        d_h_n = np.zeros_like(enc_trace.h_n)
        d_h_n[-dirs:] = np.moveaxis(d_feat.reshape(*d_feat.shape[:-1], dirs, -1), -2, 0)  # (dirs, [B,] H)
        enc_grads = backward(model.encoder, enc_trace, None, d_h_n, truncate=truncate)
    elif model.wiring in ("many_to_many", "one_to_many"):
        enc_grads = backward(model.encoder, enc_trace, d_logits @ W_hy, truncate=truncate)
    else:
        if wtrace.teacher is None:
            d_logits = _feedback(model, wtrace, d_logits)
        dec_grads = backward(model.decoder, wtrace.decoder, d_logits @ W_hy, truncate=truncate)
        enc_grads = backward(model.encoder, enc_trace, None, dec_grads.h0, dec_grads.c0, truncate=truncate)
    dx = enc_grads.x
    if model.wiring == "one_to_many":
        dx = dx.sum(axis=0) if model.feed == "every" else dx[0]
    feats = wtrace.features.reshape(-1, wtrace.features.shape[-1])  # (N, H_in)
    d_flat = d_logits.reshape(-1, d_logits.shape[-1])  # (N, O)
    d_output = OutputLayer(d_flat.T @ feats, d_flat.sum(axis=0))
    d_model = Model(
        model.wiring,
        enc_grads.params,
        d_output,
        softmax=model.softmax,
        decoder=None if dec_grads is None else dec_grads.params,
        feed=model.feed,
    )
    return WiringGrads(d_model, dx, enc_grads, dec_grads, d_logits)


def _feedback(model: Model, wtrace: WiringTrace, d_logits: np.ndarray) -> np.ndarray:
    """Total dL/d(logits) of a free-running decoder: the direct part plus, for t < T, what
    reaches y_t through the decoder's next input x_{t+1} = y_t."""
    dec = model.decoder
    inputs = wtrace.decoder_inputs
    T = inputs.shape[0]
    steps, h, c = [], wtrace.decoder.h0, wtrace.decoder.c0
    for t in range(T):  # the decoder once more, one step at a time, to backpropagate step by step
        step = forward(dec, inputs[t : t + 1], h, c)
        steps.append(step)
        h, c = step.h_n, step.c_n
    total = d_logits.copy()
    d_h, d_c = None, None  # dL/d(state after step t), from the steps after it
    d_next_input = None  # dL/dx_{t+1}
    for t in range(T - 1, -1, -1):
        if d_next_input is not None:
            fed = wtrace.y[t]
            total[t] += _softmax_vjp(fed, d_next_input) if model.softmax else d_next_input
        g = backward(dec, steps[t], (total[t] @ model.output.W_hy)[None], d_h, d_c)
        d_next_input, d_h, d_c = g.x[0], g.h0, g.c0
    return total
