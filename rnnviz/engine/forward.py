"""Forward pass over a sequence, keeping every intermediate value (the trace).

The trace is what the graph and the plots show and what ``backward`` differentiates:
per layer and per step the layer's input, the previous state, every pre-activation and
gate, the LSTM cell state and the new hidden state. Arrays keep the caller's layout:
time-major ``(T, D)`` unbatched or ``(T, B, D)`` batched, as ``torch.nn.RNN`` does.

Speed: one matrix product per step (the input side is projected for every step at once),
every elementwise operation written into preallocated memory, the trace's large arrays
allocated together (fewer, larger allocations are reused by malloc instead of being faulted
in page by page on every call), and GRU gates stored gate by gate so that a step's
elementwise work runs on contiguous blocks. A step's recurrent product is ``np.dot``: the same
BLAS call as ``np.matmul`` (bit-identical results) with about 2 us less overhead, which counts
at small sizes (a (32, 16) x (16, 64) product takes 4 us with dot, 6 us with matmul).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .cells import LayerParams, Params, activation, sigmoid
from .numerics import as_float_array, quiet_overflow


@dataclass(frozen=True, eq=False)
class LayerTrace:
    """One layer over T steps; shapes are (T, B, .) when batched, (T, .) otherwise."""

    x: np.ndarray  # (T, [B,] D) the layer's input
    h_prev: np.ndarray  # (T, [B,] H) h_{t-1}
    c_prev: np.ndarray | None  # (T, [B,] H) c_{t-1}, LSTM only
    pre: dict[str, np.ndarray]  # pre-activations: rnn "a"; lstm i, f, g, o; gru r, z, n
    gates: dict[str, np.ndarray]  # activations: lstm i, f, g, o; gru r, z, n; rnn none
    h: np.ndarray  # (T, [B,] H) h_t
    c: np.ndarray | None  # (T, [B,] H) c_t, LSTM only
    hn: np.ndarray | None  # (T, [B,] H) W_hn h_{t-1} + b_hn, GRU only
    act: np.ndarray | None = None  # (T, [B,] 4H) LSTM: i, f, g, o side by side (``gates`` are views of it)
    tanh_c: np.ndarray | None = None  # (T, [B,] H) tanh(c_t), LSTM only: kept for the backward pass

    def map(self, fn) -> LayerTrace:
        """The same trace with ``fn`` applied to every array (the missing ones stay None)."""

        def f(a):
            return None if a is None else fn(a)

        return LayerTrace(
            x=f(self.x),
            h_prev=f(self.h_prev),
            c_prev=f(self.c_prev),
            pre={k: f(v) for k, v in self.pre.items()},
            gates={k: f(v) for k, v in self.gates.items()},
            h=f(self.h),
            c=f(self.c),
            hn=f(self.hn),
            act=f(self.act),
            tanh_c=f(self.tanh_c),
        )


@dataclass(frozen=True, eq=False)
class Trace:
    """Everything ``forward`` computed. ``output``, ``h_n`` and ``c_n`` match torch's.

    ``layers`` holds one LayerTrace per LayerParams, in the same order as ``params.layers``.
    For a bidirectional network that is 2L of them in torch's order (layer 0 forward, layer 0
    reverse, layer 1 forward, ...), and a reverse direction's LayerTrace is kept in its
    processing order: its step 1 is time T, its ``x`` is the layer's input flipped in time
    and its ``h[-1]`` is the state after reading x_1. ``hidden``, ``cell`` and ``gates``
    give every direction-layer in real time order instead (reverse ones flipped back), so
    that entry t of every one of them lines up with x_{t+1}.
    """

    params: Params
    x: np.ndarray  # (T, [B,] D)
    h0: np.ndarray  # (L * num_directions, [B,] H)
    c0: np.ndarray | None  # (L * num_directions, [B,] H), LSTM only
    layers: tuple[LayerTrace, ...]
    batched: bool

    @property
    def steps(self) -> int:
        return self.x.shape[0]

    @property
    def num_directions(self) -> int:
        return self.params.num_directions

    def in_time_order(self, j: int, a: np.ndarray) -> np.ndarray:
        """Direction-layer j's per-step array (T, ...) from processing order to real time order."""
        return a[::-1] if j % self.num_directions else a

    @cached_property
    def output(self) -> np.ndarray:
        """(T, [B,] H), or (T, [B,] 2H) bidirectional: the forward and reverse h_t side by side."""
        if self.num_directions == 1:
            return self.layers[-1].h
        return _side_by_side(self.layers[-2].h, self.layers[-1].h)

    @property
    def h_n(self) -> np.ndarray:
        return np.stack([lt.h[-1] for lt in self.layers])

    @property
    def c_n(self) -> np.ndarray | None:
        if self.params.cell != "lstm":
            return None
        return np.stack([lt.c[-1] for lt in self.layers])

    @property
    def gates(self) -> tuple[dict[str, np.ndarray], ...]:
        return tuple({k: self.in_time_order(j, v) for k, v in lt.gates.items()} for j, lt in enumerate(self.layers))

    @property
    def hidden(self) -> tuple[np.ndarray, ...]:
        return tuple(self.in_time_order(j, lt.h) for j, lt in enumerate(self.layers))

    @property
    def cell(self) -> tuple[np.ndarray, ...] | None:
        if self.params.cell != "lstm":
            return None
        return tuple(self.in_time_order(j, lt.c) for j, lt in enumerate(self.layers))


def _side_by_side(h_forward: np.ndarray, h_reverse: np.ndarray) -> np.ndarray:
    """A bidirectional layer's output (T, [B,] 2H): forward h_t, then the reverse one at the same time t."""
    return np.concatenate([h_forward, h_reverse[::-1]], axis=-1)


def _initial_state(name: str, s, n: int, B: int, H: int, batched: bool, bidirectional: bool) -> np.ndarray:
    """Return the initial state as (n, B, H), n = L * num_directions; None means zeros."""
    if s is None:
        return np.zeros((n, B, H))
    s = as_float_array(name, s, (3,) if batched else (2,))
    expected = (n, B, H) if batched else (n, H)
    if s.shape != expected:
        hint = " (2 per layer: forward, reverse, as torch's bidirectional=True)" if bidirectional else ""
        raise ValueError(f"{name} must have shape {expected}{hint}, got {s.shape}")
    return s if batched else s[:, None, :]


@quiet_overflow  # a state beyond float64 becomes inf; numerics.describe_overflow reports it
def forward(params: Params, x, h0=None, c0=None) -> Trace:
    """Run the stack over ``x`` and keep every intermediate value.

    Args:
        params: the network's weights.
        x: input sequence, (T, D) or batched (T, B, D), time-major.
        h0: initial hidden state (L, H) or (L, B, H); zeros when None. Bidirectional:
            (2L, [B,] H) in torch's order (layer 0 forward, layer 0 reverse, ...).
        c0: initial cell state for the LSTM, same shape as h0; zeros when None.
    Returns:
        A Trace; ``trace.output`` (T, [B,] H) and ``trace.h_n``, ``trace.c_n`` (L, [B,] H).
        Bidirectional: ``output`` is (T, [B,] 2H), each step's forward and reverse states
        side by side, and ``h_n``, ``c_n`` are (2L, [B,] H); the reverse direction's final
        state is the one after reading x_1, as in torch.
    """
    x = as_float_array("x", x, (2, 3))
    batched = x.ndim == 3
    xb = x if batched else x[:, None, :]  # (T, B, D)
    T, B, D = xb.shape
    H, nd = params.hidden_size, params.num_directions
    n = len(params.layers)  # L * num_directions
    if T < 1:
        raise ValueError("the sequence must have at least one step")
    if D != params.input_size:
        raise ValueError(f"x has {D} features per step but the network's input size is {params.input_size}")
    if c0 is not None and params.cell != "lstm":
        raise ValueError("c0 is only used by the LSTM")
    h0b = _initial_state("h0", h0, n, B, H, batched, params.bidirectional)
    c0b = _initial_state("c0", c0, n, B, H, batched, params.bidirectional) if params.cell == "lstm" else None

    run_layer = {"rnn": _rnn_layer, "lstm": _lstm_layer, "gru": _gru_layer}[params.cell]
    layers = []
    inp = xb
    for j, lp in enumerate(params.layers):
        reverse = j % nd == 1
        c_init = c0b[j] if c0b is not None else None
        layers.append(run_layer(lp, inp[::-1] if reverse else inp, h0b[j], c_init, params.nonlinearity))
        if j % nd == nd - 1 and j < n - 1:  # the next layer reads this one's output
            inp = _side_by_side(layers[-2].h, layers[-1].h) if reverse else layers[-1].h
    if not batched:
        layers = [_unbatch(lt) for lt in layers]
    return Trace(
        params=params,
        x=x,
        h0=h0b if batched else h0b[:, 0],
        c0=None if c0b is None else (c0b if batched else c0b[:, 0]),
        layers=tuple(layers),
        batched=batched,
    )


def _unbatch(lt: LayerTrace) -> LayerTrace:
    return lt.map(lambda a: a[:, 0])


def _states(h0: np.ndarray, T: int) -> tuple[np.ndarray, np.ndarray]:
    """One buffer (T+1, B, H) holding h_0..h_T; returns (h_prev, h) views into it."""
    buf = np.empty((T + 1,) + h0.shape)
    buf[0] = h0
    return buf[:-1], buf[1:]


def _input_projection(x: np.ndarray, W_ih: np.ndarray, bias: np.ndarray, out: np.ndarray) -> np.ndarray:
    """x W_ih^T + bias for every step at once into out: one matrix product, (T, B, D) -> (T, B, G*H)."""
    T, B, D = x.shape
    np.matmul(x.reshape(T * B, D), W_ih.T, out=out.reshape(T * B, -1))
    out += bias
    return out


def _pre_and_act(T: int, B: int, GH: int) -> tuple[np.ndarray, np.ndarray]:
    """The pre-activations and the gates, (T, B, G*H) each, as the two halves of one allocation:
    one large block instead of two is reused by malloc from call to call instead of being
    returned to the system and faulted in again, page by page."""
    buf = np.empty((2, T, B, GH))
    return buf[0], buf[1]


def _gate_views(a: np.ndarray, names: str, H: int) -> dict[str, np.ndarray]:
    """Views of the gate blocks of a (T, B, G*H) array, by gate name."""
    return {name: a[..., k * H : (k + 1) * H] for k, name in enumerate(names)}


def _rnn_layer(lp: LayerParams, x, h0, c0, nonlinearity) -> LayerTrace:
    """``cells.rnn_step`` over T steps: a_t = x_t W_ih^T + b_ih + b_hh + h_{t-1} W_hh^T, h_t = phi(a_t)."""
    T, B, H = x.shape[0], h0.shape[0], h0.shape[1]
    buf = np.empty((2 * T + 1, B, H))  # a_1..a_T and h_0..h_T in one allocation (see _pre_and_act)
    a = _input_projection(x, lp.W_ih, lp.b_ih + lp.b_hh, out=buf[:T])  # (T, B, H)
    buf[T] = h0
    h_prev, h = buf[T:-1], buf[T + 1 :]
    W_hh_T = lp.W_hh.T
    gh = np.empty_like(h0)  # (B, H) scratch
    for t in range(T):
        a[t] += np.dot(h_prev[t], W_hh_T, out=gh)
        activation(a[t], nonlinearity, out=h[t])
    return LayerTrace(x, h_prev, None, {"a": a}, {}, h, None, None)


def _lstm_layer(lp: LayerParams, x, h0, c0, nonlinearity) -> LayerTrace:
    """``cells.lstm_step`` over T steps (tests/test_core.py checks every array against it):
    z = x W_ih^T + b_ih + b_hh + h_{t-1} W_hh^T; i, f, o = sigma(z); g = tanh(z);
    c_t = f * c_{t-1} + i * g; h_t = o * tanh(c_t)."""
    T, B, H = x.shape[0], h0.shape[0], h0.shape[1]
    z, act = _pre_and_act(T, B, 4 * H)  # (T, B, 4H): i, f, g, o before and after their nonlinearities
    _input_projection(x, lp.W_ih, lp.b_ih + lp.b_hh, out=z)
    tanh_c = np.empty(z.shape[:-1] + (H,))  # (T, B, H)
    h_prev, h = _states(h0, T)
    c_prev, c = _states(c0, T)
    # One tanh over the whole row: sigmoid(z) = 0.5 tanh(z / 2) + 0.5 for i, f, o; g = tanh(z).
    # half and shift are (B, 4H), not (4H,): a broadcast operand made each of these three
    # operations about twice as slow at small sizes.
    half = np.full(z.shape[1:], 0.5)
    half[:, 2 * H : 3 * H] = 1.0
    shift = np.full(z.shape[1:], 0.5)
    shift[:, 2 * H : 3 * H] = 0.0
    gh = np.empty(z.shape[1:])  # (B, 4H) scratch
    ig = np.empty_like(h0)  # (B, H) scratch
    W_hh_T = lp.W_hh.T
    gates = _gate_views(act, "ifgo", H)
    i, f, g, o = gates.values()  # (T, B, H) views, sliced once
    for t in range(T):
        z[t] += np.dot(h_prev[t], W_hh_T, out=gh)
        a = np.multiply(z[t], half, out=act[t])
        np.tanh(a, out=a)
        a *= half
        a += shift
        np.multiply(f[t], c_prev[t], out=c[t])
        c[t] += np.multiply(i[t], g[t], out=ig)  # c_t = f * c_{t-1} + i * g
        np.multiply(o[t], np.tanh(c[t], out=tanh_c[t]), out=h[t])  # h_t = o * tanh(c_t)
    return LayerTrace(x, h_prev, c_prev, _gate_views(z, "ifgo", H), gates, h, c, None, act, tanh_c)


def _gru_layer(lp: LayerParams, x, h0, c0, nonlinearity) -> LayerTrace:
    """``cells.gru_step`` over T steps (tests/test_core.py checks every array against it)."""
    T, B, D = x.shape
    H = h0.shape[-1]
    # Gate-major storage (3, T, B, H): every gate's (B, H) block of a step is contiguous, so the
    # elementwise work of a step runs on whole arrays instead of row by row.
    buf = np.empty((2, 3, T, B, H))  # pre-activations and gates in one allocation (see _pre_and_act)
    pre, act = buf[0], buf[1]
    x2 = x.reshape(T * B, D)
    bias = lp.b_ih.reshape(3, H).copy()
    bias[:2] += lp.b_hh[: 2 * H].reshape(2, H)  # b_hn stays inside r * (W_hn h + b_hn)
    for k in range(3):
        np.matmul(x2, lp.W_ih[k * H : (k + 1) * H].T, out=pre[k].reshape(T * B, H))
    pre += bias[:, None, None, :]
    hn = np.empty((T, B, H))  # W_hn h_{t-1} + b_hn
    h_prev, h = _states(h0, T)
    W_hh_T = lp.W_hh.T
    b_hn = lp.b_hh[2 * H :]
    gh = np.empty((B, 3 * H))  # scratch: h_{t-1} W_hh^T, gates side by side
    rhn = np.empty_like(h0)  # (B, H) scratch
    for t in range(T):
        np.dot(h_prev[t], W_hh_T, out=gh)
        pre[0, t] += gh[:, :H]  # gate by gate: a (2, B, H) view of gh would be copied first
        pre[1, t] += gh[:, H : 2 * H]
        sigmoid(pre[:2, t], out=act[:2, t])
        r, zg = act[0, t], act[1, t]
        np.add(gh[:, 2 * H :], b_hn, out=hn[t])
        pre[2, t] += np.multiply(r, hn[t], out=rhn)  # n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
        n = np.tanh(pre[2, t], out=act[2, t])
        np.subtract(h_prev[t], n, out=h[t])
        h[t] *= zg
        h[t] += n  # h_t = (1 - z) * n + z * h_{t-1} = n + z * (h_{t-1} - n)
    names = "rzn"
    pres = {name: pre[k] for k, name in enumerate(names)}
    gates = {name: act[k] for k, name in enumerate(names)}
    return LayerTrace(x, h_prev, None, pres, gates, h, None, hn)
