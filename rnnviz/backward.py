"""Backpropagation through time over a ``Trace``.

``backward`` takes the upstream gradients torch would receive (``d_output`` on every
step's top-layer state, optionally ``d_h_n``/``d_c_n`` on the final states) and returns
what torch would put in ``.grad``, plus what a teacher wants to see: ||dL/dh_t|| at every
step and layer, and (lazily) the norms of the Jacobian products ||dh_T/dh_t||.

Truncated BPTT with ``truncate=k`` cuts the sequence into chunks of k steps and stops the
gradient at chunk boundaries, exactly like detaching the state every k steps in torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from .cells import LayerParams, Params, activation_slope
from .forward import LayerTrace, Trace
from .numerics import quiet_overflow, row_norms


@dataclass(frozen=True, eq=False)
class Grads:
    """Gradients of the loss; array layouts follow the trace (batched or not).

    Per-step arrays (``dh``, ``dc``, ``jacobian_norms``) hold one entry per direction-layer,
    in the order of ``params.layers``, and in real time order like ``trace.hidden``: entry t
    is about the state at time t+1. For a reverse direction, "from t+1" in the comments below
    means from the step it processes next, which is the one at time t-1.
    """

    params: Params  # dL/dW in the params layout: to_state_dict(grads.params) gives torch's .grad
    x: np.ndarray  # (T, [B,] D)
    h0: np.ndarray  # (L * num_directions, [B,] H)
    c0: np.ndarray | None  # (L * num_directions, [B,] H), LSTM only
    dh: tuple[np.ndarray, ...]  # per direction-layer (T, [B,] H): dL/dh_t, total (from above and from t+1)
    dc: tuple[np.ndarray, ...] | None  # per direction-layer (T, [B,] H): dL/dc_t, LSTM only
    trace: Trace = field(repr=False)

    @property
    def dh_norm(self) -> tuple[np.ndarray, ...]:
        """Per direction-layer (T,): ||dL/dh_t|| over the batch and the units, steps t = 1..T."""
        return tuple(_step_norms(d) for d in self.dh)

    @property
    def dc_norm(self) -> tuple[np.ndarray, ...] | None:
        if self.dc is None:
            return None
        return tuple(_step_norms(d) for d in self.dc)

    @cached_property
    def jacobian_norms(self) -> tuple[np.ndarray, ...]:
        """Per direction-layer (T,) or batched (T, B): spectral norm of dh_T/dh_t for t = 1..T.

        The product of the step Jacobians from t to T inside one layer (for the LSTM, with
        c_t held fixed, as dL/dh_t does): how much a change of h_t still moves h_T. For a
        reverse direction the last state it computes is h_1, so entry t is ||dh_1/dh_t||,
        in real time order like everything else.
        """
        tr = self.trace
        pairs = enumerate(zip(tr.params.layers, tr.layers, strict=True))
        return tuple(tr.in_time_order(j, jacobian_norms(lp, lt, tr)) for j, (lp, lt) in pairs)


def _step_norms(d: np.ndarray) -> np.ndarray:
    return row_norms(d)  # (T,): exact for huge gradients, inf where they overflowed


def _batch(a: np.ndarray | None, batched: bool) -> np.ndarray | None:
    """View an unbatched (T, .) array as (T, 1, .)."""
    if a is None or batched:
        return a
    return a[:, None]


def _check_grad(name: str, g, shape: tuple[int, ...]) -> np.ndarray:
    try:
        arr = np.asarray(g, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be numeric: {err}") from None
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
    return arr


@quiet_overflow
def backward(
    params: Params,
    trace: Trace,
    d_output,
    d_h_n=None,
    d_c_n=None,
    *,
    truncate: int | None = None,
) -> Grads:
    """Backpropagate through time.

    Args:
        params: the weights the trace was computed with.
        trace: the result of ``forward``.
        d_output: dL/d(output), shaped like ``trace.output`` ((T, [B,] 2H) bidirectional); None means zeros.
        d_h_n, d_c_n: dL/d(h_n) and dL/d(c_n) (LSTM), shaped like ``trace.h_n``; None means zeros.
        truncate: if set, truncated BPTT with chunks of this many steps (unidirectional networks only).
    Returns:
        Grads with the parameter, input and initial-state gradients and per-step dL/dh_t.
    """
    if truncate is not None and int(truncate) < 1:
        raise ValueError("truncate must be a positive number of steps")
    if params is not trace.params and params != trace.params:
        raise ValueError("params differ from the ones the trace was computed with")
    if truncate is not None and params.bidirectional:
        raise ValueError(
            "truncated BPTT is for unidirectional networks: the reverse direction of a bidirectional "
            "layer starts from the end of the sequence, so there is no chunk to stop at"
        )
    batched = trace.batched
    out_shape = trace.output.shape
    n, nd, H = len(params.layers), params.num_directions, params.hidden_size
    state_shape = (n,) + out_shape[1:-1] + (H,)
    d_out = np.zeros(out_shape) if d_output is None else _check_grad("d_output", d_output, out_shape)
    d_hn = np.zeros(state_shape) if d_h_n is None else _check_grad("d_h_n", d_h_n, state_shape)
    if d_c_n is not None and params.cell != "lstm":
        raise ValueError("d_c_n is only used by the LSTM")
    d_cn = None
    if params.cell == "lstm":
        d_cn = np.zeros(state_shape) if d_c_n is None else _check_grad("d_c_n", d_c_n, state_shape)

    layer_grads: list[LayerParams] = [None] * n  # type: ignore[list-item]
    dh_all: list[np.ndarray] = [None] * n  # type: ignore[list-item]
    dc_all: list[np.ndarray] = [None] * n  # type: ignore[list-item]
    dh0 = np.empty(state_shape)
    dc0 = np.empty(state_shape) if params.cell == "lstm" else None
    unb = (lambda a: a) if batched else (lambda a: None if a is None else a[:, 0])
    d_above = _batch(d_out, batched)  # (T, B, nd*H): gradient reaching the layer's output from above
    for k in reversed(range(n // nd)):
        d_below = None  # (T, B, D): dL/d(the layer's input), summed over the directions
        for d in range(nd):
            j = k * nd + d
            lp, lt = params.layers[j], trace.layers[j]
            d_dir = d_above[..., d * H : (d + 1) * H]
            dh_last = d_hn[j] if batched else d_hn[j][None]
            dc_last = None if d_cn is None else (d_cn[j] if batched else d_cn[j][None])
            res = _layer_backward(
                params.cell,
                params.nonlinearity,
                lp,
                lt,
                batched,
                d_dir[::-1] if d else d_dir,
                dh_last,
                dc_last,
                truncate,
            )
            layer_grads[j], dx, dh_rec, dc_rec, dh_first, dc_first = res
            dh_all[j] = trace.in_time_order(j, unb(dh_rec))
            dc_all[j] = None if dc_rec is None else trace.in_time_order(j, unb(dc_rec))
            dx = dx[::-1] if d else dx
            d_below = dx if d_below is None else np.add(d_below, dx, out=d_below)
            dh0[j] = dh_first if batched else dh_first[0]
            if dc0 is not None:
                dc0[j] = dc_first if batched else dc_first[0]
        d_above = d_below
    dx = d_above if batched else d_above[:, 0]
    return Grads(
        params=Params(params.cell, tuple(layer_grads), params.nonlinearity, params.bidirectional),
        x=dx,
        h0=dh0,
        c0=dc0,
        dh=tuple(dh_all),
        dc=tuple(dc_all) if params.cell == "lstm" else None,
        trace=trace,
    )


def _layer_backward(cell, nonlinearity, lp: LayerParams, lt: LayerTrace, batched, d_above, dh_last, dc_last, truncate):
    """BPTT through one layer. All arrays (T, B, .). Returns the parameter gradients,
    dL/dx (T, B, D), dL/dh_t and dL/dc_t (T, B, H), and dL/dh_0, dL/dc_0 (B, H)."""
    x, h_prev, h = (_batch(a, batched) for a in (lt.x, lt.h_prev, lt.h))
    T, B, H = h.shape
    dh_ext = d_above.copy()
    dh_ext[T - 1] += dh_last
    dZx, dZh, dh_rec, dc_rec, dh_next, dc_next = _recurrence(
        cell, nonlinearity, lp, lt, batched, dh_ext, dc_last, truncate
    )
    x2, hp2 = x.reshape(T * B, -1), h_prev.reshape(T * B, H)
    dZx2 = dZx.reshape(T * B, -1)
    dZh2 = dZx2 if dZh is None else dZh.reshape(T * B, -1)
    grads = LayerParams(
        W_ih=dZx2.T @ x2,
        W_hh=dZh2.T @ hp2,
        b_ih=dZx2.sum(axis=0),
        b_hh=dZh2.sum(axis=0),
    )
    dx = (dZx2 @ lp.W_ih).reshape(T, B, -1)  # (T, B, D)
    return grads, dx, dh_rec, dc_rec, dh_next, dc_next


def _recurrence(cell, nonlinearity, lp, lt, batched, dh_ext, dc_last, truncate):
    """The backward loop over time. Returns dZx (T, B, G*H), the gradient of the input-side
    pre-activations, dZh (the hidden-side ones, GRU only, else None), dL/dh_t, dL/dc_t, and
    the gradients reaching h_0 and c_0."""
    view = {name: _batch(getattr(lt, name), batched) for name in ("h_prev", "h", "c_prev", "c", "hn")}
    view.update({name: _batch(v, batched) for name, v in lt.gates.items()})
    cut = _cuts(dh_ext.shape[0], truncate)
    if cell == "rnn":
        return _rnn_recurrence(lp.W_hh, _batch(lt.pre["a"], batched), view, nonlinearity, dh_ext, cut)
    if cell == "lstm":
        return _lstm_recurrence(lp.W_hh, view, dh_ext, dc_last, cut)
    return _gru_recurrence(lp.W_hh, view, dh_ext, cut)


def _cuts(T: int, truncate: int | None) -> list[bool]:
    """cut[t]: the gradient stops between step t-1 and t (a chunk of truncated BPTT starts at t)."""
    return [bool(truncate) and t % truncate == 0 and t > 0 for t in range(T)]


def _rnn_recurrence(W_hh, a, v, nonlinearity, dh_ext, cut):
    h = v["h"]
    T, B, H = h.shape
    dact = activation_slope(a, h, nonlinearity)  # (T, B, H): phi'(a_t)
    dh_rec, dZ = np.empty_like(h), np.empty_like(h)
    dh_next = np.zeros((B, H))
    for t in range(T - 1, -1, -1):
        dh = np.add(dh_ext[t], dh_next, out=dh_rec[t])
        np.multiply(dh, dact[t], out=dZ[t])  # dL/da_t
        dh_next = np.zeros((B, H)) if cut[t] else dZ[t] @ W_hh
    return dZ, None, dh_rec, None, dh_next, None


def _lstm_recurrence(W_hh, v, dh_ext, dc_last, cut):
    i, f, g, o, c, c_prev = v["i"], v["f"], v["g"], v["o"], v["c"], v["c_prev"]
    T, B, H = c.shape
    tanh_c = np.tanh(c)
    # d(pre-activation)/d(c_t) for i, f, g and d/d(h_t) for o, every step at once, in place: (T, B, 4, H)
    local = np.empty((T, B, 4, H))
    for k, (gate, factor) in enumerate(((i, g), (f, c_prev), (g, i), (o, tanh_c))):
        block = local[:, :, k]
        if k == 2:
            np.multiply(gate, gate, out=block)
            np.subtract(1.0, block, out=block)  # tanh' = 1 - g^2
        else:
            np.subtract(1.0, gate, out=block)
            block *= gate  # sigmoid' = s (1 - s)
        block *= factor
    dc_from_h = np.multiply(tanh_c, tanh_c)
    np.subtract(1.0, dc_from_h, out=dc_from_h)
    dc_from_h *= o  # (T, B, H): d c_t's share of d h_t, o * (1 - tanh(c_t)^2)
    dZ = np.empty((T, B, 4, H))
    dh_rec, dc_rec = np.empty_like(c), np.empty_like(c)
    dh_next = np.zeros((B, H))
    dc_next = np.zeros((B, H)) if dc_last is None else dc_last
    for t in range(T - 1, -1, -1):
        dh = np.add(dh_ext[t], dh_next, out=dh_rec[t])
        dc = np.multiply(dh, dc_from_h[t], out=dc_rec[t])
        dc += dc_next
        np.multiply(local[t, :, :3], dc[:, None, :], out=dZ[t, :, :3])
        np.multiply(local[t, :, 3], dh, out=dZ[t, :, 3])
        if cut[t]:
            dh_next, dc_next = np.zeros((B, H)), np.zeros((B, H))
        else:
            dh_next, dc_next = dZ[t].reshape(B, 4 * H) @ W_hh, dc * f[t]
    return dZ.reshape(T, B, 4 * H), None, dh_rec, dc_rec, dh_next, dc_next


def _gru_recurrence(W_hh, v, dh_ext, cut):
    r, z, n, hn, h_prev = v["r"], v["z"], v["n"], v["hn"], v["h_prev"]
    T, B, H = n.shape
    # dL/d(pre-activations) = dL/dh_t * local, input side (r, z, n) and hidden side (r, z, r * n)
    local_x = np.empty((T, B, 3, H))
    dn = local_x[:, :, 2]
    np.multiply(n, n, out=dn)
    np.subtract(1.0, dn, out=dn)
    dn *= 1.0 - z  # d h_t / d(n's pre-activation) = (1 - z) (1 - n^2)
    dr = local_x[:, :, 0]
    np.subtract(1.0, r, out=dr)
    dr *= r
    dr *= hn
    dr *= dn  # through n: r's pre-activation moves r * (W_hn h + b_hn)
    dz = local_x[:, :, 1]
    np.subtract(1.0, z, out=dz)
    dz *= z
    dz *= h_prev - n  # h_t = n + z (h_{t-1} - n)
    local_h = local_x.copy()
    local_h[:, :, 2] *= r
    dh_rec = np.empty_like(n)
    dZh_t = np.empty((B, 3, H))
    dh_next = np.zeros((B, H))
    for t in range(T - 1, -1, -1):
        dh = np.add(dh_ext[t], dh_next, out=dh_rec[t])
        if cut[t]:
            dh_next = np.zeros((B, H))
            continue
        np.multiply(local_h[t], dh[:, None, :], out=dZh_t)
        dh_next = dZh_t.reshape(B, 3 * H) @ W_hh
        dh_next += dh * z[t]  # the direct path h_t = ... + z * h_{t-1}
    dZx = (local_x * dh_rec[:, :, None, :]).reshape(T, B, 3 * H)
    dZh = (local_h * dh_rec[:, :, None, :]).reshape(T, B, 3 * H)
    return dZx, dZh, dh_rec, None, dh_next, None


@quiet_overflow
def jacobian_norms(lp: LayerParams, lt: LayerTrace, trace: Trace) -> np.ndarray:
    """Spectral norms ||dh_T/dh_t||_2 for t = 1..T inside one layer: (T,) or batched (T, B).

    Runs the backward recurrence once with the H unit vectors as seeds at step T: the
    gradient reaching h_t is then row j of dh_T/dh_t for seed j.
    """
    batched = trace.batched
    h = _batch(lt.h, batched)
    T, B, H = h.shape

    def rep(a):  # (T, B, .) -> (T, B*H, .): every sample repeated once per seed
        return None if a is None else np.repeat(_batch(a, batched), H, axis=1)

    seeded = LayerTrace(
        x=rep(lt.x),
        h_prev=rep(lt.h_prev),
        c_prev=rep(lt.c_prev),
        pre={k: rep(v) for k, v in lt.pre.items()},
        gates={k: rep(v) for k, v in lt.gates.items()},
        h=rep(lt.h),
        c=rep(lt.c),
        hn=rep(lt.hn),
    )
    dh_ext = np.zeros((T, B * H, H))
    dh_ext[T - 1] = np.tile(np.eye(H), (B, 1))
    cell = trace.params.cell
    _, _, dh_rec, _, _, _ = _recurrence(cell, trace.params.nonlinearity, lp, seeded, True, dh_ext, None, None)
    jac = dh_rec.reshape(T, B, H, H)  # [t, b, j, :] = d h_T[j] / d h_t
    finite = np.isfinite(jac).all(axis=(2, 3))  # (T, B): the SVD cannot take inf or nan
    norms = np.full(finite.shape, np.inf)
    norms[finite] = np.linalg.norm(jac[finite], ord=2, axis=(1, 2))
    return norms if batched else norms[:, 0]
