"""The gradient at every operation inside a step (``step_grads``), against finite differences.

The oracle is a hand-stepped cell: step t computed here from the weights with every
intermediate named, one of them nudged, the remaining steps run by ``rnnviz.forward``, and
the loss differenced; plus the sums over the steps that must give ``backward``'s weight
gradients.
"""

import numpy as np
import pytest

import rnnviz
from rnnviz.engine.local_grads import step_grads

CELLS = [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("gru", "tanh")]
T, D, H = 5, 3, 4  # all different, so a transposed matrix fails loudly
NAMES = {
    "rnn": ("x", "gx", "gh", "a", "h"),
    "lstm": ("x", "gx", "gh", "z", "i", "f", "g", "o", "fc", "ig", "c", "tanh_c", "h"),
    "gru": ("x", "gx", "gh", "r", "z", "n", "rhn", "one_minus_z", "zn", "zh", "h"),
}


def run(cell, nonlinearity, layers, steps, H=3, D=2, seed=0):
    params = rnnviz.init_params(cell, D, H, layers, nonlinearity=nonlinearity, seed=seed, scale=1.5)
    x = np.random.default_rng(seed).normal(size=(steps, D))
    trace = rnnviz.forward(params, x)
    d_output = np.zeros_like(trace.output)
    d_output[-1] = 1.0  # loss at step T
    return trace, rnnviz.backward(params, trace, d_output)


def test_operation_gradients_match_backward():
    """The per-step gradients drawn at operation level sum to backward's weight gradients."""
    for cell, nl in CELLS:
        trace, grads = run(cell, nl, 1, 4)
        params, lt = trace.params, trace.layers[0]
        dW_ih = sum(np.outer(step_grads(params, trace, grads, 0, t)["gx"], lt.x[t - 1]) for t in range(1, 5))
        np.testing.assert_allclose(dW_ih, grads.params.layers[0].W_ih, rtol=1e-10, atol=1e-12)  # summation order
        dx = np.stack([step_grads(params, trace, grads, 0, t)["x"] for t in range(1, 5)])
        np.testing.assert_allclose(dx, grads.x, rtol=1e-10, atol=1e-12)  # BLAS order: a step vs a block


@pytest.mark.parametrize("cell,nl", CELLS)
def test_every_layers_step_gradients_sum_to_its_weight_gradients(cell, nl):
    trace, grads = run(cell, nl, 3, 6, H=4, D=3)
    for k, (lt, g) in enumerate(zip(trace.layers, grads.params.layers, strict=True)):
        local = [step_grads(trace.params, trace, grads, k, t) for t in range(1, 7)]
        tol = dict(rtol=1e-10, atol=1e-12)  # summation order: backward sums blocks of steps in one product
        gx, gh = np.stack([s["gx"] for s in local]), np.stack([s["gh"] for s in local])  # (T, G*H)
        np.testing.assert_allclose(gx.T @ lt.x, g.W_ih, **tol)
        np.testing.assert_allclose(gh.T @ lt.h_prev, g.W_hh, **tol)
        np.testing.assert_allclose(gx.sum(axis=0), g.b_ih, **tol)
        np.testing.assert_allclose(gh.sum(axis=0), g.b_hh, **tol)


def hand_step(cell, nl, lp, x, h_prev, c_prev, nudge):
    """One step with every intermediate named; ``nudge`` adds to the named ones as they are made."""
    v = {}

    def put(name, value):
        v[name] = value + nudge.get(name, 0.0)
        return v[name]

    def sig(a):
        return 1 / (1 + np.exp(-a))

    x = put("x", x)
    gx = put("gx", lp.W_ih @ x + lp.b_ih)
    gh = put("gh", lp.W_hh @ h_prev + lp.b_hh)
    if cell == "rnn":
        a = put("a", gx + gh)
        return put("h", np.tanh(a) if nl == "tanh" else np.maximum(a, 0.0)), None
    if cell == "lstm":
        z = put("z", gx + gh)
        i, f, g, o = (put(n, fn(q)) for n, fn, q in zip("ifgo", (sig, sig, np.tanh, sig), np.split(z, 4), strict=True))
        c = put("c", put("fc", f * c_prev) + put("ig", i * g))
        return put("h", o * put("tanh_c", np.tanh(c))), c
    (xr, xz, xn), (hr, hz, hn) = np.split(gx, 3), np.split(gh, 3)
    r, z = put("r", sig(xr + hr)), put("z", sig(xz + hz))
    n = put("n", np.tanh(xn + put("rhn", r * hn)))
    return put("h", put("zn", put("one_minus_z", 1 - z) * n) + put("zh", z * h_prev)), None


@pytest.mark.parametrize("cell,nl", CELLS)
@pytest.mark.parametrize("t", [1, 3, T])
def test_step_gradients_are_finite_differences_of_the_loss(cell, nl, t):
    """dL/dv for every intermediate v of step t, against a central difference of a loss on
    every output and on the final states, along random directions."""
    rng = np.random.default_rng(7)
    params = rnnviz.init_params(cell, D, H, nonlinearity=nl, seed=2, scale=1.5)
    x = rng.normal(size=(T, D))
    trace = rnnviz.forward(params, x)
    w_out, w_h = rng.normal(size=(T, H)), rng.normal(size=(1, H))
    w_c = rng.normal(size=(1, H)) if cell == "lstm" else None
    grads = rnnviz.backward(params, trace, w_out, d_h_n=w_h, d_c_n=w_c)
    lt, lp = trace.layers[0], params.layers[0]
    c_prev = lt.c_prev[t - 1] if cell == "lstm" else None

    def loss(nudge):
        h, c = hand_step(cell, nl, lp, x[t - 1], lt.h_prev[t - 1], c_prev, nudge)
        rest = rnnviz.forward(params, x[t:], h0=h[None], c0=None if c is None else c[None]) if t < T else None
        outputs = np.concatenate([trace.output[: t - 1], h[None]] + ([rest.output] if rest else []))
        h_n, c_n = (rest.h_n, rest.c_n) if rest else (h[None], None if c is None else c[None])
        return np.sum(w_out * outputs) + np.sum(w_h * h_n) + (0.0 if c is None else np.sum(w_c * c_n))

    h, _ = hand_step(cell, nl, lp, x[t - 1], lt.h_prev[t - 1], c_prev, {})
    np.testing.assert_allclose(h, lt.h[t - 1], rtol=1e-12, atol=1e-14)  # the hand step is the cell's step
    local = step_grads(params, trace, grads, 0, t)
    assert set(local) == set(NAMES[cell])
    eps = 1e-6
    for name in NAMES[cell]:
        for _ in range(3):
            u = rng.normal(size=local[name].shape)
            numeric = (loss({name: eps * u}) - loss({name: -eps * u})) / (2 * eps)
            # central difference: O(eps^2) truncation and ~1e-16/eps rounding on a loss of order 1
            assert numeric == pytest.approx(local[name] @ u, rel=1e-6, abs=1e-8), name


@pytest.mark.parametrize("cell,nl", CELLS)
def test_a_batch_elements_step_gradients_are_its_own_runs(cell, nl):
    params = rnnviz.init_params(cell, D, H, 2, nonlinearity=nl, seed=4)
    x = np.random.default_rng(3).normal(size=(T, 2, D))
    d_out = np.random.default_rng(4).normal(size=(T, 2, H))
    trace = rnnviz.forward(params, x)
    grads = rnnviz.backward(params, trace, d_out)
    for b in (0, 1):
        one = rnnviz.forward(params, x[:, b])
        one_grads = rnnviz.backward(params, one, d_out[:, b])
        for k, t in ((0, 2), (1, T)):
            batched, alone = step_grads(params, trace, grads, k, t, b), step_grads(params, one, one_grads, k, t)
            for name, value in alone.items():
                np.testing.assert_allclose(batched[name], value, rtol=1e-10, atol=1e-13)  # BLAS: batched products
