r"""A model: a recurrent stack and a linear output layer, and the wiring that says which states it reads.

The output layer is linear, with a softmax where the outputs are classes,

.. math::

    y_t = W_{hy} h_t + b_y, \qquad p_t = \mathrm{softmax}(y_t),

and the wirings (Karpathy, "The Unreasonable Effectiveness of RNNs", 2015; Sutskever,
Vinyals and Le, "Sequence to Sequence Learning", 2014) decide which states it reads:

- ``many_to_one``: read a whole sequence, one output from the last state (sentiment, the adding problem);
- ``one_to_many``: one vector, fed at every step or only at the first, and an output per
  step (captioning, generating a sequence from a description);
- ``many_to_many``: an output at every step, aligned with the inputs (tagging, the next value or character);
- ``encoder_decoder``: an encoder reads the input; its final state seeds a decoder that emits
  its own sequence, feeding back its previous output (translation, reversal).

Running and differentiating a model is ``rnnviz.learning.architectures``; training it is
``rnnviz.learning.fit``. A model is a tree of arrays: ``named_arrays`` lists them in a fixed
order (what optimisers and clipping work on) and ``with_arrays`` puts a list back.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from ..engine.cells import CELLS, Params, init_params
from .checks import check_int

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
MAX_STEPS = 60  # per side, for ``run``'s checked inputs: input steps and output steps
MAX_HIDDEN = 256
MAX_LAYERS = 4
MAX_FEATURES = 1024  # input and output sizes


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

    @property
    def W_out(self) -> np.ndarray:
        """``W_hy`` by the name ``Readout`` gave it."""
        return self.W_hy

    @property
    def b_out(self) -> np.ndarray:
        """``b_y`` by the name ``Readout`` gave it."""
        return self.b_y


Readout = OutputLayer  # the name the task trainer used for the same layer (W_out, b_out)


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
    forget_bias: float = 0.0,
    output_bias: bool = True,
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
        forget_bias: added to every LSTM forget-gate bias (b_hh), e.g. 1 so that the cell
            remembers from the start (Gers et al. 2000; Jozefowicz et al. 2015); other cells have no forget gate.
        output_bias: False starts the output layer's bias at zero.
    """
    if wiring not in WIRINGS:
        raise ValueError(f"unknown wiring {wiring!r}; expected one of {', '.join(WIRINGS)}")
    if cell not in CELLS:
        raise ValueError(f"unknown cell {cell!r}; expected one of {', '.join(CELLS)}")
    D = check_int("input_size", input_size, 1, MAX_FEATURES)
    H = check_int("hidden_size", hidden_size, 1, MAX_HIDDEN)
    O = check_int("output_size", output_size, 1, MAX_FEATURES)  # noqa: E741
    L = check_int("num_layers", num_layers, 1, MAX_LAYERS)
    seed = check_int("seed", seed, 0, 2**63 - 1)
    if bidirectional and wiring not in BIDIRECTIONAL_WIRINGS:
        raise ValueError(
            f"bidirectional is only for many_to_one and many_to_many, not {wiring} (its steps must run forward in time)"
        )
    encoder = init_params(cell, D, H, L, nonlinearity=nonlinearity, seed=seed, bidirectional=bool(bidirectional))
    decoder = None
    if wiring == "encoder_decoder":
        decoder = init_params(cell, O, H, L, nonlinearity=nonlinearity, seed=_subseed(seed, 1))
    if cell == "lstm" and forget_bias:
        for lp in encoder.layers + (decoder.layers if decoder else ()):
            lp.b_hh[H : 2 * H] += forget_bias  # the gate blocks are (i, f, g, o)
    H_in = H * (2 if bidirectional else 1)
    rng = np.random.default_rng([seed, 2 if output_bias else 1])  # stream 1: where fit always drew it from
    bound = 1.0 / math.sqrt(H_in)
    W_hy = rng.uniform(-bound, bound, size=(O, H_in))
    b_y = rng.uniform(-bound, bound, size=O) if output_bias else np.zeros(O)
    return Model(wiring, encoder, OutputLayer(W_hy, b_y), softmax=bool(softmax), decoder=decoder, feed=feed)


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


def parameters(obj) -> list[np.ndarray]:
    """The arrays of ``named_arrays``, without their names, in the same order (torch's ``model.parameters()``).

    A Model's and a Params' are listed directly: a training loop asks for them at every step.
    """
    if isinstance(obj, Params):
        return [a for lp in obj.layers for a in (lp.W_ih, lp.W_hh, lp.b_ih, lp.b_hh)]
    if isinstance(obj, Model):
        decoder = [] if obj.decoder is None else parameters(obj.decoder)
        return parameters(obj.encoder) + [obj.output.W_hy, obj.output.b_y] + decoder
    return [a for _, a in named_arrays(obj)]


def with_arrays(obj, arrays):
    """``obj`` (a Model, Params, ...) rebuilt with ``arrays`` (in ``named_arrays`` order) in place of its own."""
    return _rebuild(obj, iter(arrays))


def _rebuild(obj, arrays):
    if isinstance(obj, np.ndarray):
        return next(arrays)
    if isinstance(obj, tuple | list):
        return type(obj)(_rebuild(v, arrays) for v in obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        fields = dataclasses.fields(obj)
        return dataclasses.replace(obj, **{f.name: _rebuild(getattr(obj, f.name), arrays) for f in fields})
    return obj


def copy_model(model):
    """A copy of a Model (or Params, ...) with copies of its arrays."""
    return with_arrays(model, (a.copy() for a in parameters(model)))


def parameter_count(model: Model) -> int:
    """How many numbers the model learns."""
    return sum(a.size for a in parameters(model))
