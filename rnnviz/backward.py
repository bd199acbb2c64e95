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


@dataclass(frozen=True, eq=False)
class Grads:
    """Gradients of the loss; array layouts follow the trace (batched or not)."""

    params: Params  # dL/dW in the params layout: to_state_dict(grads.params) gives torch's .grad
    x: np.ndarray  # (T, [B,] D)
    h0: np.ndarray  # (L, [B,] H)
    c0: np.ndarray | None  # (L, [B,] H), LSTM only
    dh: tuple[np.ndarray, ...]  # per layer (T, [B,] H): dL/dh_t, total (from above and from t+1)
    dc: tuple[np.ndarray, ...] | None  # per layer (T, [B,] H): dL/dc_t, LSTM only
    trace: Trace = field(repr=False)

    @property
    def dh_norm(self) -> tuple[np.ndarray, ...]:
        """Per layer (T,): ||dL/dh_t|| over the batch and the units, steps t = 1..T."""
        return tuple(_step_norms(d) for d in self.dh)

    @property
    def dc_norm(self) -> tuple[np.ndarray, ...] | None:
        if self.dc is None:
            return None
        return tuple(_step_norms(d) for d in self.dc)

    @cached_property
    def jacobian_norms(self) -> tuple[np.ndarray, ...]:
        """Per layer (T,) or batched (T, B): spectral norm of dh_T/dh_t for t = 1..T.

        The product of the step Jacobians from t to T inside one layer (for the LSTM, with
        c_t held fixed, as dL/dh_t does): how much a change of h_t still moves h_T.
        """
        pairs = zip(self.trace.params.layers, self.trace.layers, strict=True)
        return tuple(jacobian_norms(lp, lt, self.trace) for lp, lt in pairs)


def _step_norms(d: np.ndarray) -> np.ndarray:
    flat = d.reshape(d.shape[0], -1)
    return np.sqrt(np.einsum("ti,ti->t", flat, flat))


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
        d_output: dL/d(output), shaped like ``trace.output``; None means zeros.
        d_h_n, d_c_n: dL/d(h_n) and dL/d(c_n) (LSTM), shaped like ``trace.h_n``; None means zeros.
        truncate: if set, truncated BPTT with chunks of this many steps.
    Returns:
        Grads with the parameter, input and initial-state gradients and per-step dL/dh_t.
    """
    if truncate is not None and int(truncate) < 1:
        raise ValueError("truncate must be a positive number of steps")
    if params is not trace.params and params != trace.params:
        raise ValueError("params differ from the ones the trace was computed with")
    batched = trace.batched
    out_shape = trace.output.shape
    L = params.num_layers
    state_shape = (L,) + out_shape[1:]
    d_out = np.zeros(out_shape) if d_output is None else _check_grad("d_output", d_output, out_shape)
    d_hn = np.zeros(state_shape) if d_h_n is None else _check_grad("d_h_n", d_h_n, state_shape)
    if d_c_n is not None and params.cell != "lstm":
        raise ValueError("d_c_n is only used by the LSTM")
    d_cn = None
    if params.cell == "lstm":
        d_cn = np.zeros(state_shape) if d_c_n is None else _check_grad("d_c_n", d_c_n, state_shape)

    layer_grads: list[LayerParams] = [None] * L  # type: ignore[list-item]
    dh_all: list[np.ndarray] = [None] * L  # type: ignore[list-item]
    dc_all: list[np.ndarray] = [None] * L  # type: ignore[list-item]
    dh0 = np.empty(state_shape)
    dc0 = np.empty(state_shape) if params.cell == "lstm" else None
    d_above = _batch(d_out, batched)  # (T, B, H): gradient reaching the layer's h_t from above
    for k in reversed(range(L)):
        lp, lt = params.layers[k], trace.layers[k]
        dh_last = d_hn[k] if batched else d_hn[k][None]
        dc_last = None if d_cn is None else (d_cn[k] if batched else d_cn[k][None])
        res = _layer_backward(params.cell, params.nonlinearity, lp, lt, batched, d_above, dh_last, dc_last, truncate)
        layer_grads[k], d_above, dh_rec, dc_rec, dh_first, dc_first = res
        unb = (lambda a: a) if batched else (lambda a: None if a is None else a[:, 0])
        dh_all[k], dc_all[k] = unb(dh_rec), unb(dc_rec)
        dh0[k] = dh_first if batched else dh_first[0]
        if dc0 is not None:
            dc0[k] = dc_first if batched else dc_first[0]
    dx = d_above if batched else d_above[:, 0]
    return Grads(
        params=Params(params.cell, tuple(layer_grads), params.nonlinearity),
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
    dx = dZx @ lp.W_ih  # (T, B, D)
    return grads, dx, dh_rec, dc_rec, dh_next, dc_next


def _recurrence(cell, nonlinearity, lp, lt, batched, dh_ext, dc_last, truncate):
    """The backward loop over time. Returns dZx (T, B, G*H), the gradient of the input-side
    pre-activations, dZh (the hidden-side ones, GRU only, else None), dL/dh_t, dL/dc_t, and
    the gradients reaching h_0 and c_0."""
    W_hh = lp.W_hh
    h_prev, h = _batch(lt.h_prev, batched), _batch(lt.h, batched)
    T, B, H = h.shape
    dh_rec = np.empty_like(h)
    dh_next = np.zeros((B, H))
    dc_rec = dc_next = dZh = None
    G = W_hh.shape[0] // H
    dZx = np.empty((T, B, G * H))
    if cell == "rnn":
        dact = activation_slope(_batch(lt.pre["a"], batched), h, nonlinearity)  # (T, B, H)
        for t in range(T - 1, -1, -1):
            dh = dh_ext[t] + dh_next
            dh_rec[t] = dh
            np.multiply(dh, dact[t], out=dZx[t])
            dh_next = dZx[t] @ W_hh
            if truncate and t % truncate == 0 and t > 0:
                dh_next = np.zeros((B, H))
    elif cell == "lstm":
        gates = {n: _batch(v, batched) for n, v in lt.gates.items()}
        i, f, g, o = gates["i"], gates["f"], gates["g"], gates["o"]
        c, c_prev = _batch(lt.c, batched), _batch(lt.c_prev, batched)
        tanh_c = np.tanh(c)
        dc_rec = np.empty_like(c)
        dc_next = np.zeros((B, H)) if dc_last is None else dc_last.copy()
        for t in range(T - 1, -1, -1):
            dh = dh_ext[t] + dh_next
            dh_rec[t] = dh
            dc = dc_next + dh * o[t] * (1.0 - tanh_c[t] ** 2)
            dc_rec[t] = dc
            di, df, dg, do = dc * g[t], dc * c_prev[t], dc * i[t], dh * tanh_c[t]
            z = dZx[t]
            z[:, :H] = di * i[t] * (1.0 - i[t])
            z[:, H : 2 * H] = df * f[t] * (1.0 - f[t])
            z[:, 2 * H : 3 * H] = dg * (1.0 - g[t] ** 2)
            z[:, 3 * H :] = do * o[t] * (1.0 - o[t])
            dh_next = z @ W_hh
            dc_next = dc * f[t]
            if truncate and t % truncate == 0 and t > 0:
                dh_next, dc_next = np.zeros((B, H)), np.zeros((B, H))
    else:  # gru
        gates = {n: _batch(v, batched) for n, v in lt.gates.items()}
        r, zg, n = gates["r"], gates["z"], gates["n"]
        hn = _batch(lt.hn, batched)
        dZh = np.empty_like(dZx)
        for t in range(T - 1, -1, -1):
            dh = dh_ext[t] + dh_next
            dh_rec[t] = dh
            dpre_n = dh * (1.0 - zg[t]) * (1.0 - n[t] ** 2)
            dpre_z = dh * (h_prev[t] - n[t]) * zg[t] * (1.0 - zg[t])
            dpre_r = dpre_n * hn[t] * r[t] * (1.0 - r[t])
            dZx[t, :, :H] = dpre_r
            dZx[t, :, H : 2 * H] = dpre_z
            dZx[t, :, 2 * H :] = dpre_n
            dZh[t, :, : 2 * H] = dZx[t, :, : 2 * H]
            dZh[t, :, 2 * H :] = dpre_n * r[t]
            dh_next = dh * zg[t] + dZh[t] @ W_hh
            if truncate and t % truncate == 0 and t > 0:
                dh_next = np.zeros((B, H))
    return dZx, dZh, dh_rec, dc_rec, dh_next, dc_next


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
    norms = np.linalg.norm(jac, ord=2, axis=(2, 3))  # (T, B)
    return norms if batched else norms[:, 0]
