r"""The gradient at the output of every operation inside one step, from ``backward``'s results.

``backward`` keeps dL/dh_t (and the LSTM's dL/dc_t) per layer and step; the operation-level
drawing also shows dL/d(each intermediate) of a step: the gates, the pre-activations, the
pointwise products. From the step's total dL/dh_t (and dL/dc_t) each is the chain rule
through that step's equations (those of ``cells``), e.g.

.. math::

    \text{rnn: } h = \phi(a) &\Rightarrow \partial a = \partial h \, \phi'(a) \\
    \text{lstm: } c = f c_{t-1} + i g,\; h = o \tanh c &\Rightarrow
        \partial f = \partial c \, c_{t-1},\; \partial o = \partial h \tanh c \\
    \text{gru: } h = (1 - z) n + z h_{t-1} &\Rightarrow
        \partial n = \partial h (1 - z),\; \partial z = \partial h (h_{t-1} - n)

the derivatives ``backward`` takes for a whole block of steps at once, here for one step in
readable form (checked against finite differences in tests/test_local_grads.py).
"""

from __future__ import annotations

import numpy as np

from .backward import Grads
from .cells import Params, activation_slope
from .forward import Trace


def step_grads(params: Params, trace: Trace, grads: Grads, k: int, t: int, batch_index: int = 0) -> dict:
    """dL/d(output of each operation) of layer k at step t (1-based), for one batch element.

    Names: every cell ``h``, ``gx`` (W_ih x, GRU + b_ih), ``gh`` (W_hh h_{t-1}, GRU + b_hh)
    and ``x`` (what reaches the step's input x_t, or the layer below's h_t, from this step);
    rnn ``a`` (the pre-activation); lstm ``z`` (the 4H pre-activations), ``i f g o``, ``fc``
    (f*c_{t-1}), ``ig`` (i*g), ``c``, ``tanh_c``; gru ``r z n``, ``rhn`` (r*(W_hn h_{t-1} + b_hn)),
    ``one_minus_z``, ``zn`` ((1-z)*n), ``zh`` (z*h_{t-1}).
    """
    lt = trace.layers[k]

    def at(a):
        return a[t - 1, batch_index] if trace.batched else a[t - 1]

    lp = params.layers[k]
    dh, h_prev = at(grads.dh[k]), at(lt.h_prev)
    out = {"h": dh}
    if params.cell == "rnn":
        da = dh * activation_slope(at(lt.pre["a"]), at(lt.h), params.nonlinearity)
        out.update(a=da, gx=da, gh=da)
    elif params.cell == "lstm":
        i, f, g, o = (at(lt.gates[n]) for n in "ifgo")
        c, c_prev, dc = at(lt.c), at(lt.c_prev), at(grads.dc[k])
        tanh_c = np.tanh(c)
        gate = {"i": dc * g, "f": dc * c_prev, "g": dc * i, "o": dh * tanh_c}
        dz = np.concatenate(
            [gate["i"] * i * (1 - i), gate["f"] * f * (1 - f), gate["g"] * (1 - g**2), gate["o"] * o * (1 - o)]
        )
        out.update(gate, z=dz, gx=dz, gh=dz, fc=dc, ig=dc, c=dc, tanh_c=dh * o)
    else:
        r, z, n, hn = at(lt.gates["r"]), at(lt.gates["z"]), at(lt.gates["n"]), at(lt.hn)
        dn = dh * (1 - z)
        dpre_n = dn * (1 - n**2)
        dr = dpre_n * hn
        dz = dh * (h_prev - n)
        dgx = np.concatenate([dr * r * (1 - r), dz * z * (1 - z), dpre_n])
        dgh = np.concatenate([dgx[: 2 * n.size], dpre_n * r])
        out.update(r=dr, z=dz, n=dn, rhn=dpre_n, gx=dgx, gh=dgh, one_minus_z=dh * n, zn=dh, zh=dh)
    out["x"] = out["gx"] @ lp.W_ih
    return out
