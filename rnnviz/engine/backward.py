"""Backpropagation through time over a ``Trace``.

``backward`` takes the upstream gradients torch would receive (``d_output`` on every
step's top-layer state, optionally ``d_h_n``/``d_c_n`` on the final states) and returns
what torch would put in ``.grad``, plus what a teacher wants to see: ||dL/dh_t|| at every
step and layer, and (lazily) the norms of the Jacobian products ||dh_T/dh_t||.

Truncated BPTT with ``truncate=k`` cuts the sequence into chunks of k steps and stops the
gradient at chunk boundaries, exactly like detaching the state every k steps in torch.

Speed: the loop runs backwards a block of steps at a time (about 512 kB of gate gradients):
a block's local derivatives are computed together, in cache, then its steps one by one, and
then its share of the parameter gradients and of dL/dx in a few large matrix products. No
(T, B, G*H) array is made, and no step allocates memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from .cells import GATE_COUNT, LayerParams, Params, activation_slope
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
    x, h_prev = _batch(lt.x, batched), _batch(lt.h_prev, batched)
    T, B, D = x.shape
    H = h_prev.shape[-1]
    grads = LayerParams(*(np.zeros_like(a) for a in (lp.W_ih, lp.W_hh, lp.b_ih, lp.b_hh)))
    dx = np.empty((T, B, D))

    def accumulate(s: int, e: int, dZx: np.ndarray, dZh: np.ndarray | None) -> None:
        """Add steps s..e-1's share to the parameter gradients and fill their dL/dx."""
        dZx2 = dZx.reshape((e - s) * B, -1)  # (rows, G*H)
        dZh2 = dZx2 if dZh is None else dZh.reshape((e - s) * B, -1)
        grads.W_ih[...] += dZx2.T @ x[s:e].reshape(-1, D)
        grads.W_hh[...] += dZh2.T @ h_prev[s:e].reshape(-1, H)
        grads.b_ih[...] += dZx2.sum(axis=0)
        if dZh is not None:
            grads.b_hh[...] += dZh2.sum(axis=0)
        np.matmul(dZx2, lp.W_ih, out=dx[s:e].reshape(-1, D))

    dh_rec, dc_rec, dh_first, dc_first = _recurrence(
        cell, nonlinearity, lp, lt, batched, d_above, dh_last, dc_last, truncate, accumulate
    )
    if cell != "gru":  # rnn and lstm: the input and hidden sides share their pre-activations
        grads.b_hh[...] = grads.b_ih
    return grads, dx, dh_rec, dc_rec, dh_first, dc_first


def _recurrence(cell, nonlinearity, lp, lt, batched, d_above, dh_last, dc_last, truncate, accumulate=None):
    """The backward loop over time, from dL/dh_t from above (T, B, H) and dL/dh_T, dL/dc_T
    from after the sequence (B, H), a block of steps at a time, last block first.

    After each block [s, e) it calls ``accumulate(s, e, dZx, dZh)`` (when given) with the
    gradients of the block's input-side pre-activations dZx (e-s, B, G*H) and of the
    hidden-side ones dZh (GRU only, else None): they live in a buffer reused by the next
    block, so that no (T, B, G*H) array is ever made. Returns dL/dh_t, dL/dc_t (T, B, H)
    and the gradients reaching h_0 and c_0 (B, H)."""
    view = {name: _batch(getattr(lt, name), batched) for name in ("h_prev", "h", "c_prev", "c", "hn", "act", "tanh_c")}
    view.update({name: _batch(v, batched) for name, v in lt.gates.items()})
    T, B, H = d_above.shape
    cut = _cuts(T, truncate)
    blocks = _blocks(T, B * GATE_COUNT[cell] * H)
    if cell == "rnn":
        a = _batch(lt.pre["a"], batched)
        return _rnn_recurrence(lp.W_hh, a, view, nonlinearity, d_above, dh_last, cut, blocks, accumulate)
    if cell == "lstm":
        return _lstm_recurrence(lp.W_hh, view, d_above, dh_last, dc_last, cut, blocks, accumulate)
    return _gru_recurrence(lp.W_hh, view, d_above, dh_last, cut, blocks, accumulate)


def _cuts(T: int, truncate: int | None) -> list[bool]:
    """cut[t]: the gradient stops between step t-1 and t (a chunk of truncated BPTT starts at t)."""
    return [bool(truncate) and t % truncate == 0 and t > 0 for t in range(T)]


_BLOCK_VALUES = 2**16  # per (steps, B, G*H) block buffer: 512 kB, about what stays in a core's cache


def _blocks(T: int, row: int) -> list[tuple[int, int]]:
    """Blocks of steps [s, e), the last first, of about _BLOCK_VALUES values of row (B * G * H) each:
    big enough for the parameter-gradient products to run at full speed, small enough to stay in cache."""
    m = min(T, max(1, _BLOCK_VALUES // row))
    return [(s, min(s + m, T)) for s in reversed(range(0, T, m))]


def _rnn_recurrence(W_hh, a, v, nonlinearity, d_above, dh_last, cut, blocks, accumulate):
    h = v["h"]
    T, B, H = h.shape
    dZ = np.empty((max(e - s for s, e in blocks), B, H))  # a block's phi'(a_t), turned into dL/da_t in place
    dh_rec = np.empty_like(h)
    zeros, after = np.zeros((B, H)), np.empty((B, H))
    dh_next = dh_last  # dL/dh_{t+1}'s share of dL/dh_t; at t = T, the gradient from after the sequence
    for s, e in blocks:
        dZb = activation_slope(a[s:e], h[s:e], nonlinearity, out=dZ[: e - s])
        for t in range(e - 1, s - 1, -1):
            dh = np.add(d_above[t], dh_next, out=dh_rec[t])
            dZb[t - s] *= dh  # dL/da_t
            dh_next = zeros if cut[t] else np.dot(dZb[t - s], W_hh, out=after)
        if accumulate is not None:
            accumulate(s, e, dZb, None)
    return dh_rec, None, dh_next, None


def _lstm_recurrence(W_hh, v, d_above, dh_last, dc_last, cut, blocks, accumulate):
    r"""LSTM steps backwards. With dh_t = dL/dh_t and dc_t = dL/dc_t (c_t's own gradient plus h_t's share),
    the gradients of the four pre-activations are (sigma' = s (1 - s), tanh' = 1 - g^2):

    .. math::
        dc_t = dh_t\, o_t (1 - \tanh^2 c_t) + dc_{t+1} f_{t+1}, \qquad
        d_{input} = dc_t\, g_t\, i_t (1 - i_t), \qquad
        d_{forget} = dc_t\, c_{t-1} f_t (1 - f_t), \\
        d_{cand} = dc_t\, i_t (1 - g_t^2), \qquad
        d_{output} = dh_t \tanh(c_t)\, o_t (1 - o_t), \qquad
        dh_{t-1} = [d_{input}, d_{forget}, d_{cand}, d_{output}]\, W_{hh}

    A block's local factors (everything but dc_t and dh_t) are computed together on the gate-major
    (steps, B, 4, H) layout, then each step multiplies its four gate blocks by [dc, dc, dc, dh] at once.
    """
    i, f, g, o, c_prev = v["i"], v["f"], v["g"], v["o"], v["c_prev"]
    act, tanh_c = v["act"], v["tanh_c"]  # (T, B, 4H): i, f, g, o side by side; (T, B, H) tanh(c_t)
    T, B, H = f.shape
    offset = np.zeros(4 * H)
    offset[2 * H : 3 * H] = 1.0  # (1 - s)(s + 0) = sigma' for i, f, o; (1 - g)(g + 1) = tanh' for g
    m = max(e - s for s, e in blocks)
    dZ = np.empty((m, B, 4 * H))  # a block's local derivatives, turned into dL/d(pre-activations) in place
    scratch, dc_from_h = np.empty((m, B, 4 * H)), np.empty((m, B, H))
    dh_rec, dc_rec = np.empty((T, B, H)), np.empty((T, B, H))
    zeros, after_h, after_c = np.zeros((B, H)), np.empty((B, H)), np.empty((B, H))
    upstream = np.empty((B, 4, H))  # a step's dc for i, f, g and dh for o, side by side
    dh_next = dh_last
    dc_next = zeros if dc_last is None else dc_last
    for s, e in blocks:
        dZb = np.subtract(1.0, act[s:e], out=dZ[: e - s])
        dZb *= np.add(act[s:e], offset, out=scratch[: e - s])  # sigma' or tanh' of each gate
        dZ4 = dZb.reshape(e - s, B, 4, H)
        d_input, d_forget, d_cand, d_output = (dZ4[:, :, k] for k in range(4))
        d_input *= g[s:e]  # d c_t / d(pre i) = g_t i_t (1 - i_t)
        d_forget *= c_prev[s:e]  # d c_t / d(pre f) = c_{t-1} f_t (1 - f_t)
        d_cand *= i[s:e]  # d c_t / d(pre g) = i_t (1 - g_t^2)
        d_output *= tanh_c[s:e]  # d h_t / d(pre o) = tanh(c_t) o_t (1 - o_t)
        share = np.multiply(tanh_c[s:e], tanh_c[s:e], out=dc_from_h[: e - s])
        np.subtract(1.0, share, out=share)
        share *= o[s:e]  # d h_t / d c_t = o_t (1 - tanh^2 c_t)
        for t in range(e - 1, s - 1, -1):
            dh = np.add(d_above[t], dh_next, out=dh_rec[t])
            dc = np.multiply(dh, share[t - s], out=dc_rec[t])
            dc += dc_next
            upstream[:, :3] = dc[:, None, :]  # two copies and one contiguous product: about half
            upstream[:, 3] = dh  # the time of multiplying the strided gate blocks in place
            dZ4[t - s] *= upstream  # d_input, d_forget, d_cand by dc_t; d_output by dh_t
            if cut[t]:
                dh_next, dc_next = zeros, zeros
            else:
                dh_next = np.dot(dZb[t - s], W_hh, out=after_h)
                dc_next = np.multiply(dc, f[t], out=after_c)  # c_t = f_t c_{t-1} + ...
        if accumulate is not None:
            accumulate(s, e, dZb, None)
    return dh_rec, dc_rec, dh_next, dc_next


def _gru_recurrence(W_hh, v, d_above, dh_last, cut, blocks, accumulate):
    r, z, n, hn, h_prev = v["r"], v["z"], v["n"], v["hn"], v["h_prev"]
    T, B, H = z.shape
    m = max(e - s for s, e in blocks)
    # A block's dh_t/d(pre-activations), gate-major (3, steps, B, H) so that it is computed on whole
    # arrays: input side (r, z, n) and hidden side (r, z, r * n's). The products need the gradients
    # row by row, (steps, B, 3H): dZx and dZh.
    local_x, local_h, one_minus_z = np.empty((3, m, B, H)), np.empty((3, m, B, H)), np.empty((m, B, H))
    dZx, dZh = np.empty((m, B, 3 * H)), np.empty((m, B, 3 * H))
    dh_rec = np.empty((T, B, H))
    zeros, after, direct = np.zeros((B, H)), np.empty((B, H)), np.empty((B, H))
    dh_next = dh_last
    for s, e in blocks:
        k = e - s
        dr, dz, dn = local_x[0, :k], local_x[1, :k], local_x[2, :k]
        np.subtract(1.0, z[s:e], out=one_minus_z[:k])
        np.multiply(n[s:e], n[s:e], out=dn)
        np.subtract(1.0, dn, out=dn)
        dn *= one_minus_z[:k]  # d h_t / d(n's pre-activation) = (1 - z) (1 - n^2)
        np.subtract(h_prev[s:e], n[s:e], out=dz)
        dz *= z[s:e]
        dz *= one_minus_z[:k]  # h_t = n + z (h_{t-1} - n)
        np.subtract(1.0, r[s:e], out=dr)
        dr *= r[s:e]
        dr *= hn[s:e]
        dr *= dn  # through n: r's pre-activation moves r * (W_hn h + b_hn)
        local_h[:2, :k] = local_x[:2, :k]
        np.multiply(dn, r[s:e], out=local_h[2, :k])
        for t in range(e - 1, s - 1, -1):
            dh = np.add(d_above[t], dh_next, out=dh_rec[t])
            rows = dZh[t - s].reshape(B, 3, H).transpose(1, 0, 2)  # (3, B, H) view of the row layout
            np.multiply(local_h[:, t - s], dh, out=rows)
            if cut[t]:
                dh_next = zeros
            else:
                dh_next = np.dot(dZh[t - s], W_hh, out=after)
                dh_next += np.multiply(dh, z[t], out=direct)  # the direct path h_t = ... + z * h_{t-1}
        if accumulate is not None:  # the input side, now that the block's dL/dh_t are known
            np.multiply(local_x[:, :k], dh_rec[s:e], out=dZx[:k].reshape(k, B, 3, H).transpose(2, 0, 1, 3))
            accumulate(s, e, dZx[:k], dZh[:k])
    return dh_rec, None, dh_next, None


@quiet_overflow
def jacobian_norms(lp: LayerParams, lt: LayerTrace, trace: Trace) -> np.ndarray:
    """Spectral norms ||dh_T/dh_t||_2 for t = 1..T inside one layer: (T,) or batched (T, B).

    Runs the backward recurrence once with the H unit vectors as seeds at step T: the
    gradient reaching h_t is then row j of dh_T/dh_t for seed j.
    """
    batched = trace.batched
    h = _batch(lt.h, batched)
    T, B, H = h.shape

    # (T, B, .) -> (T, B*H, .): every sample repeated once per seed
    seeded = lt.map(lambda a: np.repeat(_batch(a, batched), H, axis=1))
    seeds = np.tile(np.eye(H), (B, 1))  # (B*H, H): seed j of sample b is row b*H + j
    cell = trace.params.cell
    d_above = np.zeros((T, B * H, H))
    dh_rec, _, _, _ = _recurrence(cell, trace.params.nonlinearity, lp, seeded, True, d_above, seeds, None, None)
    jac = dh_rec.reshape(T, B, H, H)  # [t, b, j, :] = d h_T[j] / d h_t
    finite = np.isfinite(jac).all(axis=(2, 3))  # (T, B): the SVD cannot take inf or nan
    norms = np.full(finite.shape, np.inf)
    norms[finite] = np.linalg.norm(jac[finite], ord=2, axis=(1, 2))
    return norms if batched else norms[:, 0]
