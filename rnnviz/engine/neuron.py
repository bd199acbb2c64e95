r"""The single recurrent neuron, :math:`y_t = \phi(W_x x_t + W_y y_{t-1} + b)`.

It is the RNN cell with D = H = 1 (DESIGN.md): ``W_x`` is ``weight_ih_l0[0, 0]``, ``W_y`` is
``weight_hh_l0[0, 0]`` and ``b`` is ``bias_ih_l0[0]`` (``bias_hh_l0`` stays 0), so the
neuron page runs on the same engine as every other page.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .cells import LayerParams, Params, activation_slope
from .forward import Trace

ACTIVATION_LATEX = {"tanh": r"\tanh", "sigmoid": r"\sigma", "relu": r"\mathrm{ReLU}", "linear": r"\mathrm{id}"}


def neuron_params(w_x: float, w_y: float, b: float, activation: str = "tanh") -> Params:
    """Params of the single neuron; raises ValueError for a non-finite weight or unknown activation."""
    values = np.array([w_x, w_y, b], dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise ValueError("W_x, W_y and b must be finite numbers")
    layer = LayerParams(
        W_ih=np.array([[values[0]]]), W_hh=np.array([[values[1]]]), b_ih=np.array([values[2]]), b_hh=np.zeros(1)
    )
    return Params("rnn", (layer,), activation)


def _num(v: float) -> str:
    text = f"{v:.3g}"
    return f"({text})" if v < 0 else text


def neuron_latex(trace: Trace, t: int) -> str:
    """The neuron's equation at 1-based step ``t`` with the trace's numbers substituted, one ``=`` a line
    (an ``aligned`` block: on one line it is wider than a 1024 px window's main column)."""
    if not 1 <= t <= trace.steps:
        raise ValueError(f"step {t} is outside 1..{trace.steps}")
    lp, lt = trace.params.layers[0], trace.layers[0]
    phi = ACTIVATION_LATEX[trace.params.nonlinearity]
    k = t - 1
    w_x, w_y, b = lp.W_ih[0, 0], lp.W_hh[0, 0], lp.b_ih[0] + lp.b_hh[0]
    x, y_prev, a, y = lt.x[k, 0], lt.h_prev[k, 0], lt.pre["a"][k, 0], lt.h[k, 0]
    return (
        rf"\begin{{aligned}} y_{{{t}}} &= {phi}(W_x\,x_{{{t}}} + W_y\,y_{{{t - 1}}} + b) \\"
        rf" &= {phi}({_num(w_x)} \cdot {_num(x)} + {_num(w_y)} \cdot {_num(y_prev)} + {_num(b)}) \\"
        rf" &= {phi}({_num(a)}) = {y:.3g} \end{{aligned}}"
    )


@dataclass(frozen=True)
class NeuronGradient:
    r"""How the loss :math:`L = y_T` reaches back through the neuron, step by step.

    .. math::

        \frac{\partial y_k}{\partial y_{k-1}} = W_y\,\phi'(a_k), \qquad
        \frac{\partial y_T}{\partial y_t} = \prod_{k=t+1}^{T} W_y\,\phi'(a_k), \qquad
        \frac{\partial L}{\partial W_x} = \sum_{t=1}^{T} \frac{\partial y_T}{\partial y_t}\,\phi'(a_t)\,x_t

    (and ``y_{t-1}`` in place of ``x_t`` for W_y, 1 for b). Arrays are indexed by the 1-based step
    minus one.
    """

    slope: np.ndarray  # (T,) phi'(a_t)
    factor: np.ndarray  # (T,) dy_t/dy_(t-1) = W_y phi'(a_t)
    dy_T: np.ndarray  # (T,) dy_T/dy_t; the last is 1
    d_y0: float  # dy_T/dy_0
    d_wx: float
    d_wy: float
    d_b: float


def neuron_gradient(trace: Trace) -> NeuronGradient:
    """The gradient of the last output y_T through the neuron of ``trace`` (an unbatched 1-unit RNN)."""
    lp, lt = trace.params.layers[0], trace.layers[0]
    a, y, x, y_prev = lt.pre["a"][:, 0], lt.h[:, 0], lt.x[:, 0], lt.h_prev[:, 0]  # (T,) each
    slope = activation_slope(a, y, trace.params.nonlinearity)
    factor = lp.W_hh[0, 0] * slope
    # dy_T/dy_t = factor_(t+1) * ... * factor_T: a product from the end, one factor a step
    dy_T = np.append(np.cumprod(factor[:0:-1])[::-1], 1.0)
    da = dy_T * slope  # (T,) dy_T/da_t
    return NeuronGradient(
        slope=slope,
        factor=factor,
        dy_T=dy_T,
        d_y0=float(dy_T[0] * factor[0]),
        d_wx=float(da @ x),
        d_wy=float(da @ y_prev),
        d_b=float(da.sum()),
    )


def chain_latex(grad: NeuronGradient, w_y: float, t: int = 1, shown: int = 3) -> str:
    r"""dy_T/dy_t as its product of W_y phi'(a_k) factors with the numbers (the first ``shown`` and the last
    written out, the rest as \cdots), then its value: one ``=`` a line, so it fits a narrow column."""
    T = len(grad.dy_T)
    if not 1 <= t <= T:
        raise ValueError(f"step {t} is outside 1..{T}")
    if t == T:
        return rf"\frac{{\partial y_{{{T}}}}}{{\partial y_{{{T}}}}} = 1"
    ks = list(range(t + 1, T + 1))
    written = ks if len(ks) <= shown + 1 else [*ks[:shown], None, ks[-1]]
    terms = [r"\cdots" if k is None else rf"({_num(w_y)} \cdot {_num(grad.slope[k - 1])})" for k in written]
    return (
        rf"\begin{{aligned}} \frac{{\partial y_{{{T}}}}}{{\partial y_{{{t}}}}} "
        rf"&= \prod_{{k={t + 1}}}^{{{T}}} W_y\,\phi'(a_k) \\ &= {' '.join(terms)} \\"
        rf" &= {grad.dy_T[t - 1]:.3g} \end{{aligned}}"
    )


def neuron_table(trace: Trace) -> dict[str, np.ndarray]:
    """Columns of the step-by-step table: t, x_t, y_{t-1}, the pre-activation a_t and y_t."""
    lt = trace.layers[0]
    return {
        "t": np.arange(1, trace.steps + 1),
        "x_t": lt.x[:, 0],
        "y_(t-1)": lt.h_prev[:, 0],
        "a_t = W_x x_t + W_y y_(t-1) + b": lt.pre["a"][:, 0],
        "y_t": lt.h[:, 0],
    }
