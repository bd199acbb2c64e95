r"""Sequence wirings: a recurrent stack with an output layer, read four classic ways.

The output layer is linear, with a softmax where the outputs are classes,

.. math::

    y_t = W_{hy} h_t + b_y, \qquad p_t = \mathrm{softmax}(y_t),

and the wirings (Karpathy, "The Unreasonable Effectiveness of RNNs", 2015; Sutskever,
Vinyals and Le, "Sequence to Sequence Learning", 2014) decide which states it reads:

- ``many_to_one``: read a whole sequence, one output from the last state (sentiment);
- ``one_to_many``: one vector, fed at every step or only at the first, and an output per
  step (captioning, generating a sequence from a description);
- ``many_to_many``: an output at every step, aligned with the inputs (tagging, next value);
- ``encoder_decoder``: an encoder reads the input; its final state seeds a decoder that emits
  its own sequence, feeding back its previous output (or, in training, the previous target:
  teacher forcing) as its next input (translation, reversal).

``run`` keeps every intermediate value (``rnnviz.forward``'s traces) and ``backprop`` gives
dL/d(every weight, input and initial state), through the decoder's feedback loop, using
``rnnviz.backward`` for BPTT inside each recurrent stack.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from ..engine.backward import Grads, backward
from ..engine.cells import CELLS, Params, init_params
from ..engine.forward import Trace, forward
from ..engine.numerics import quiet_overflow

WIRINGS = ("many_to_one", "one_to_many", "many_to_many", "encoder_decoder")
WIRING_LABELS = {
    "many_to_one": "Many to one",
    "one_to_many": "One to many",
    "many_to_many": "Many to many",
    "encoder_decoder": "Encoder-decoder",
}
WIRING_DESCRIPTIONS = {
    "many_to_one": "Read a whole sequence and give one output from the last state (e.g. sentence -> sentiment).",
    "one_to_many": "One input vector, fed at every step or only at the first, and an output per step "
    "(e.g. a feature vector -> a sequence).",
    "many_to_many": "An output at every step, aligned with the inputs (e.g. a tag for every word, the next value).",
    "encoder_decoder": "An encoder reads the input; its final state seeds a decoder that emits its own sequence, "
    "feeding back its previous output (e.g. a sentence -> its translation or its reverse).",
}
FEEDS = ("every", "first")  # one_to_many: the vector is the input at every step, or only at step 1
BIDIRECTIONAL_WIRINGS = ("many_to_one", "many_to_many")  # the others run forward in time by nature
MAX_STEPS = 60  # per side: input steps and output steps
MAX_HIDDEN = 256
MAX_LAYERS = 4
MAX_FEATURES = 1024  # input and output sizes


# ---------- the model


@dataclass(frozen=True, eq=False)
class OutputLayer:
    """The linear output layer ``y_t = W_hy h_t + b_y``."""

    W_hy: np.ndarray  # (O, H_in): H_in = H, or 2H on a bidirectional top layer
    b_y: np.ndarray  # (O,)

    def __post_init__(self) -> None:
        for name, a, ndim in (("W_hy", self.W_hy, 2), ("b_y", self.b_y, 1)):
            if not isinstance(a, np.ndarray) or a.ndim != ndim or a.dtype != np.float64:
                got = f"{getattr(a, 'dtype', type(a).__name__)} {getattr(a, 'shape', '')}"
                raise ValueError(f"{name} must be a float64 array with {ndim} dimension(s), got {got}")
        if self.W_hy.shape[0] != self.b_y.shape[0] or min(self.W_hy.shape) < 1:
            raise ValueError(f"W_hy {self.W_hy.shape} and b_y {self.b_y.shape} must have the same number of outputs")

    @property
    def output_size(self) -> int:
        return self.W_hy.shape[0]


@dataclass(frozen=True, eq=False)
class Model:
    """A wiring: the recurrent stack(s) and the output layer on top."""

    wiring: str  # one of WIRINGS
    encoder: Params  # the stack that reads the input (one_to_many: the generator)
    output: OutputLayer
    softmax: bool = False  # True: outputs are class probabilities (cross-entropy); False: values (MSE)
    decoder: Params | None = None  # encoder_decoder only: the encoder's cell and sizes, input size O
    feed: str = "every"  # one_to_many: "every" (the vector at every step) or "first" (x_1 = vector, zeros after)

    def __post_init__(self) -> None:
        validate_model(self)

    @property
    def cell(self) -> str:
        return self.encoder.cell

    @property
    def input_size(self) -> int:
        return self.encoder.input_size

    @property
    def hidden_size(self) -> int:
        return self.encoder.hidden_size

    @property
    def output_size(self) -> int:
        return self.output.output_size

    @property
    def num_layers(self) -> int:
        return self.encoder.num_layers  # as torch counts them: a bidirectional layer is one

    @property
    def bidirectional(self) -> bool:
        return self.encoder.bidirectional

    @property
    def readout_size(self) -> int:
        """H_in, the width of the state the output layer reads: H, or 2H when bidirectional."""
        return self.hidden_size * (2 if self.bidirectional else 1)


def validate_model(model: Model) -> None:
    """Raise ValueError unless the wiring, the stacks and the output layer fit together."""
    if model.wiring not in WIRINGS:
        raise ValueError(f"unknown wiring {model.wiring!r}; expected one of {', '.join(WIRINGS)}")
    if not isinstance(model.encoder, Params):
        raise ValueError(f"the encoder must be a Params, got {type(model.encoder).__name__}")
    if not isinstance(model.output, OutputLayer):
        raise ValueError(f"the output layer must be an OutputLayer, got {type(model.output).__name__}")
    if model.feed not in FEEDS:
        raise ValueError(f"unknown feed {model.feed!r}; expected 'every' or 'first'")
    if model.bidirectional and model.wiring not in BIDIRECTIONAL_WIRINGS:
        raise ValueError(
            f"a bidirectional encoder only fits many_to_one and many_to_many, not {model.wiring} "
            "(its steps must run forward in time)"
        )
    if model.output.W_hy.shape[1] != model.readout_size:
        raise ValueError(
            f"W_hy has {model.output.W_hy.shape[1]} columns but the stack's top layer gives {model.readout_size} values"
        )
    if model.wiring != "encoder_decoder":
        if model.decoder is not None:
            raise ValueError("only the encoder_decoder wiring has a decoder")
        return
    dec, enc = model.decoder, model.encoder
    if not isinstance(dec, Params):
        raise ValueError("the encoder_decoder wiring needs a decoder (a Params)")
    if (dec.cell, dec.nonlinearity, dec.hidden_size, dec.num_layers) != (
        enc.cell,
        enc.nonlinearity,
        enc.hidden_size,
        enc.num_layers,
    ) or dec.bidirectional:
        raise ValueError(
            "the decoder must have the encoder's cell, nonlinearity, hidden size and layers "
            "(the encoder's final state becomes the decoder's first)"
        )
    if dec.input_size != model.output_size:
        raise ValueError(
            f"the decoder reads its previous output: its input size must be {model.output_size}, got {dec.input_size}"
        )


def _check_int(name: str, value, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not low <= value <= high:
        raise ValueError(f"{name} must be a whole number from {low} to {high}, got {value!r}")
    return int(value)


def _subseed(seed: int, k: int) -> int:
    """An independent integer seed for part k of a model (init_params takes one int)."""
    return int(np.random.default_rng([seed, k]).integers(2**62))


def init_model(
    wiring: str,
    cell: str,
    input_size: int,
    hidden_size: int,
    output_size: int,
    *,
    num_layers: int = 1,
    nonlinearity: str = "tanh",
    bidirectional: bool = False,
    softmax: bool = False,
    feed: str = "every",
    seed: int = 0,
) -> Model:
    """A seeded model, initialised as PyTorch does (recurrent weights and the output layer
    uniform in ±1/sqrt(fan-in)).

    Args:
        wiring: one of WIRINGS.
        cell: "rnn", "lstm" or "gru"; nonlinearity: the rnn's activation.
        input_size, hidden_size, output_size: D, H and O.
        bidirectional: a bidirectional encoder (many_to_one and many_to_many only).
        softmax: outputs are classes (softmax, cross-entropy) rather than values (MSE).
        feed: one_to_many only, "every" or "first".
    """
    if wiring not in WIRINGS:
        raise ValueError(f"unknown wiring {wiring!r}; expected one of {', '.join(WIRINGS)}")
    if cell not in CELLS:
        raise ValueError(f"unknown cell {cell!r}; expected one of {', '.join(CELLS)}")
    D = _check_int("input_size", input_size, 1, MAX_FEATURES)
    H = _check_int("hidden_size", hidden_size, 1, MAX_HIDDEN)
    O = _check_int("output_size", output_size, 1, MAX_FEATURES)  # noqa: E741
    L = _check_int("num_layers", num_layers, 1, MAX_LAYERS)
    seed = _check_int("seed", seed, 0, 2**63 - 1)
    if bidirectional and wiring not in BIDIRECTIONAL_WIRINGS:
        raise ValueError(
            f"bidirectional is only for many_to_one and many_to_many, not {wiring} (its steps must run forward in time)"
        )
    encoder = init_params(cell, D, H, L, nonlinearity=nonlinearity, seed=seed, bidirectional=bool(bidirectional))
    decoder = None
    if wiring == "encoder_decoder":
        decoder = init_params(cell, O, H, L, nonlinearity=nonlinearity, seed=_subseed(seed, 1))
    H_in = H * (2 if bidirectional else 1)
    rng = np.random.default_rng([seed, 2])
    bound = 1.0 / math.sqrt(H_in)
    output = OutputLayer(rng.uniform(-bound, bound, size=(O, H_in)), rng.uniform(-bound, bound, size=O))
    return Model(wiring, encoder, output, softmax=bool(softmax), decoder=decoder, feed=feed)


# ---------- forward


@dataclass(frozen=True, eq=False)
class WiringTrace:
    """Everything ``run`` computed; arrays keep the caller's layout (batched or not)."""

    model: Model
    x: np.ndarray  # as given: (T_in, [B,] D); one_to_many: (D,) or (B, D)
    encoder: Trace  # the encoder's trace (one_to_many: over the T_out generated steps)
    decoder: Trace | None  # encoder_decoder only
    logits: np.ndarray  # (T_out, [B,] O); many_to_one: (1, [B,] O)
    y: np.ndarray  # softmax(logits) if model.softmax else logits
    steps_in: int  # T_in (one_to_many: 1)
    steps_out: int  # number of outputs
    output_steps: tuple[int, ...]  # 1-based step of the stack each output is read from (enc-dec: the decoder's)
    decoder_inputs: np.ndarray | None  # encoder_decoder: (T_out, [B,] O), start vector then fed-back y or teacher
    teacher: np.ndarray | None = None  # encoder_decoder with teacher forcing: the targets as (T_out, [B,] O) floats
    features: np.ndarray | None = None  # (T_out, [B,] H_in): the states the output layer read

    @property
    def batched(self) -> bool:
        return self.encoder.batched

    @property
    def predictions(self) -> np.ndarray:
        """(T_out, [B]) the most likely class per output (softmax models); the values otherwise."""
        return self.y.argmax(axis=-1) if self.model.softmax else self.y


def softmax(z: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, shifted by the maximum so that no exp overflows."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def output_layer(output: OutputLayer, h: np.ndarray) -> np.ndarray:
    """y = h W_hy^T + b_y: (..., H_in) -> (..., O)."""
    return h @ output.W_hy.T + output.b_y


def _as_array(name: str, a, ndims: tuple[int, ...]) -> np.ndarray:
    try:
        arr = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be numeric: {err}") from None
    if arr.ndim not in ndims:
        raise ValueError(f"{name} must have {' or '.join(map(str, ndims))} dimensions, got shape {arr.shape}")
    if arr.size and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def _check_sequence(model: Model, x) -> np.ndarray:
    x = _as_array("x", x, (2, 3))
    if not 1 <= x.shape[0] <= MAX_STEPS:
        raise ValueError(f"the input must have from 1 to {MAX_STEPS} steps, got {x.shape[0]}")
    if x.shape[-1] != model.input_size:
        raise ValueError(f"x has {x.shape[-1]} features per step but the model's input size is {model.input_size}")
    if x.ndim == 3 and x.shape[1] < 1:
        raise ValueError("the batch is empty")
    return x


def _check_steps_out(steps_out) -> int:
    return _check_int("steps_out", steps_out, 1, MAX_STEPS)


def _outputs(model: Model, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    logits = output_layer(model.output, features)
    return logits, (softmax(logits) if model.softmax else logits)


@quiet_overflow  # a state or output beyond float64 becomes inf or nan, without warnings
def run(model: Model, x, *, steps_out: int | None = None, h0=None, c0=None, teacher=None) -> WiringTrace:
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
    Returns:
        A WiringTrace. Raises ValueError for bad input.
    """
    if not isinstance(model, Model):
        raise ValueError(f"model must be a Model made by init_model, got {type(model).__name__}")
    if teacher is not None and model.wiring != "encoder_decoder":
        raise ValueError("teacher forcing is only for the encoder_decoder wiring")
    if model.wiring == "one_to_many":
        return _run_one_to_many(model, x, steps_out, h0, c0)
    x = _check_sequence(model, x)
    T_in = x.shape[0]
    if model.wiring == "encoder_decoder":
        return _run_encoder_decoder(model, x, steps_out, h0, c0, teacher)
    expected = 1 if model.wiring == "many_to_one" else T_in
    if steps_out is not None and steps_out != expected:
        raise ValueError(f"{model.wiring} gives {expected} output(s) for this input, not steps_out={steps_out!r}")
    trace = forward(model.encoder, x, h0, c0)
    if model.wiring == "many_to_one":
        features = _last_state(model, trace)[None]  # (1, [B,] H_in)
        output_steps = (T_in,)
    else:
        features = trace.output  # (T, [B,] H_in)
        output_steps = tuple(range(1, T_in + 1))
    logits, y = _outputs(model, features)
    return WiringTrace(model, x, trace, None, logits, y, T_in, len(output_steps), output_steps, None, features=features)


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


def _run_one_to_many(model: Model, x, steps_out, h0, c0) -> WiringTrace:
    v = _as_array("x", x, (1, 2))
    if v.shape[-1] != model.input_size:
        raise ValueError(f"the input vector has {v.shape[-1]} values but the model's input size is {model.input_size}")
    if v.ndim == 2 and v.shape[0] < 1:
        raise ValueError("the batch is empty")
    if steps_out is None:
        raise ValueError("one_to_many needs steps_out, the number of outputs to generate")
    T = _check_steps_out(steps_out)
    trace = forward(model.encoder, _vector_sequence(model, v, T), h0, c0)
    logits, y = _outputs(model, trace.output)
    return WiringTrace(model, v, trace, None, logits, y, 1, T, tuple(range(1, T + 1)), None, features=trace.output)


def _one_hot_or_values(model: Model, name: str, a, lead: tuple[int, ...]) -> np.ndarray:
    """Targets as floats (*lead, O): class ids (*lead) of a softmax model become one-hot rows."""
    arr = np.asarray(a)
    O = model.output_size  # noqa: E741
    if model.softmax and arr.shape == lead and arr.dtype.kind in "iu":
        if arr.size and (arr.min() < 0 or arr.max() >= O):
            raise ValueError(f"{name} holds class ids outside 0..{O - 1}")
        return np.eye(O)[arr]
    arr = _as_array(name, arr, (len(lead) + 1,))
    if arr.shape != lead + (O,):
        ids = f", or class ids {lead}" if model.softmax else ""
        raise ValueError(f"{name} must have shape {lead + (O,)}{ids}, got {arr.shape}")
    return arr


def _run_encoder_decoder(model: Model, x, steps_out, h0, c0, teacher) -> WiringTrace:
    T_in = x.shape[0]
    batch = x.shape[1:-1]  # () or (B,)
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
    enc = forward(model.encoder, x, h0, c0)
    if not np.all(np.isfinite(enc.h_n)) or (enc.c_n is not None and not np.all(np.isfinite(enc.c_n))):
        raise ValueError(
            "the encoder's final state overflowed float64 (inf or nan), so it cannot start the decoder; "
            "try smaller weights or inputs"
        )
    O = model.output_size  # noqa: E741
    inputs = np.zeros((T,) + batch + (O,))  # (T_out, [B,] O); step 1 reads the zero "start" vector
    taught = None
    if teacher is not None:
        taught = _one_hot_or_values(model, "teacher", teacher, (T,) + batch)
        inputs[1:] = taught[:-1]
    else:
        h, c = enc.h_n, enc.c_n
        for t in range(T - 1):  # each step reads the previous step's output
            step = forward(model.decoder, inputs[t : t + 1], h, c)
            h, c = step.h_n, step.c_n
            inputs[t + 1] = _outputs(model, step.output[0])[1]
            if not np.all(np.isfinite(inputs[t + 1])):
                raise ValueError(
                    f"the decoder's output at step {t + 1} overflowed float64 (inf or nan), so it cannot be "
                    "fed back; try smaller weights"
                )
    dec = forward(model.decoder, inputs, enc.h_n, enc.c_n)
    logits, y = _outputs(model, dec.output)
    return WiringTrace(
        model,
        x,
        enc,
        dec,
        logits,
        y,
        T_in,
        T,
        tuple(range(1, T + 1)),  # the decoder's own steps
        inputs,
        teacher=taught,
        features=dec.output,
    )


# ---------- loss


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
    z = wtrace.logits
    if wtrace.model.softmax:
        n = max(1, math.prod(z.shape[:-1]))
        shifted = z - z.max(axis=-1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
        loss = -float(np.sum(t * log_p)) / n
        return loss, (np.exp(log_p) * t.sum(axis=-1, keepdims=True) - t) / n
    err = z - t
    return float(np.mean(err**2)), 2.0 * err / err.size


def loss(wtrace: WiringTrace, target) -> float:
    """Mean squared error, or mean cross-entropy for a softmax model (target: class ids
    (T_out, [B]) or one-hot/probability rows (T_out, [B,] O); many_to_one may leave out T_out = 1)."""
    return loss_and_grad(wtrace, target)[0]


# ---------- backward


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
def backprop(model: Model, wtrace: WiringTrace, target) -> WiringGrads:
    """The gradient of ``loss(wtrace, target)`` w.r.t. every weight, the input and h0/c0.

    The encoder_decoder's free-running decoder reads y_{t-1} as its input x_t, so dL/dy_{t-1}
    also collects dL/dx_t from the decoder (through the softmax's Jacobian for a softmax
    model): a reverse-time loop over single decoder steps finds these before one BPTT call
    over the whole decoder.
    """
    if not isinstance(wtrace, WiringTrace):
        raise ValueError(f"wtrace must be the WiringTrace of run, got {type(wtrace).__name__}")
    if not _same_model(model, wtrace.model):
        raise ValueError("the model differs from the one the trace was computed with")
    d_logits = loss_and_grad(wtrace, target)[1]
    enc_trace, W_hy = wtrace.encoder, model.output.W_hy
    dec_grads = None
    if model.wiring == "many_to_one":
        d_feat = d_logits[0] @ W_hy  # ([B,] H_in)
        dirs = 2 if model.bidirectional else 1
        d_h_n = np.zeros_like(enc_trace.h_n)
        d_h_n[-dirs:] = np.stack(np.split(d_feat, dirs, axis=-1))
        enc_grads = backward(model.encoder, enc_trace, None, d_h_n)
    elif model.wiring in ("many_to_many", "one_to_many"):
        enc_grads = backward(model.encoder, enc_trace, d_logits @ W_hy)
    else:
        if wtrace.teacher is None:
            d_logits = _feedback(model, wtrace, d_logits)
        dec_grads = backward(model.decoder, wtrace.decoder, d_logits @ W_hy)
        enc_grads = backward(model.encoder, enc_trace, None, dec_grads.h0, dec_grads.c0)
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


# ---------- parameters as named arrays (for training, counting and tests)


def named_arrays(obj, prefix: str = "") -> list[tuple[str, np.ndarray]]:
    """Every array in a Model (or Params, OutputLayer, ...), depth first, with a dotted name:
    ``encoder.layers[0].W_ih``, ..., ``output.W_hy``, ``output.b_y``. The same structure gives
    the same order, so a WiringGrads.model lines up with its Model."""
    if isinstance(obj, np.ndarray):
        return [(prefix, obj)]
    if isinstance(obj, tuple | list):
        return [item for k, v in enumerate(obj) for item in named_arrays(v, f"{prefix}[{k}]")]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out = []
        for f in dataclasses.fields(obj):
            name = f"{prefix}.{f.name}" if prefix else f.name
            out += named_arrays(getattr(obj, f.name), name)
        return out
    return []


def parameter_count(model: Model) -> int:
    """How many numbers the model learns."""
    return sum(a.size for _, a in named_arrays(model))
