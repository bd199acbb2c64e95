"""Bidirectional networks (torch's ``bidirectional=True``) without torch: finite differences,
hand-assembled unidirectional runs, and the conventions of the trace and the gradients.

The PyTorch fixtures (tests/test_torch_fixtures.py) check the same code against torch itself.
"""

import numpy as np
import pytest

import rnnviz

D, H, T, B = 2, 3, 5, 4  # all different, so a transposed matrix fails loudly


def _setup(cell, layers=2, batched=True, seed=0, nonlinearity="tanh"):
    rng = np.random.default_rng(seed)
    params = rnnviz.init_params(cell, D, H, layers, nonlinearity=nonlinearity, seed=seed, scale=1.5, bidirectional=True)
    lead = (T, B) if batched else (T,)
    state = (2 * layers, B, H) if batched else (2 * layers, H)
    x = rng.normal(size=lead + (D,))
    h0 = rng.normal(size=state)
    c0 = rng.normal(size=state) if cell == "lstm" else None
    return params, x, h0, c0, rng


def _unidirectional(params, j):
    """Direction-layer j of params as a one-layer unidirectional network."""
    return rnnviz.Params(params.cell, (params.layers[j],), params.nonlinearity)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("batched", [True, False])
def test_backward_matches_finite_differences_everywhere(cell, batched):
    """Every parameter entry, every entry of x, h0 and c0, for a random loss on output, h_n and c_n."""
    params, x, h0, c0, rng = _setup(cell, layers=2, batched=batched, seed=1)
    tr = rnnviz.forward(params, x, h0, c0)
    w_out, w_h = rng.normal(size=tr.output.shape), rng.normal(size=tr.h_n.shape)
    w_c = rng.normal(size=tr.h_n.shape) if cell == "lstm" else None
    grads = rnnviz.backward(params, tr, w_out, w_h, w_c)
    assert grads.params.bidirectional and grads.h0.shape == h0.shape

    def loss(p, x, h0, c0):
        t = rnnviz.forward(p, x, h0, c0)
        value = np.sum(t.output * w_out) + np.sum(t.h_n * w_h)
        return value + (np.sum(t.c_n * w_c) if c0 is not None else 0.0)

    eps = 1e-6
    sd, gsd = rnnviz.to_state_dict(params), rnnviz.to_state_dict(grads.params)
    assert list(sd) == list(gsd) and any(k.endswith("_l1_reverse") for k in gsd)
    for key, value in sd.items():
        fd = np.empty_like(value)
        for idx in np.ndindex(value.shape):
            diffs = []
            for e in (eps, -eps):
                sd2 = dict(sd)
                sd2[key] = value.copy()
                sd2[key][idx] += e
                diffs.append(loss(rnnviz.from_state_dict(sd2, cell), x, h0, c0))
            fd[idx] = (diffs[0] - diffs[1]) / (2 * eps)
        np.testing.assert_allclose(gsd[key], fd, rtol=1e-5, atol=1e-7, err_msg=key)  # finite difference
    inputs = {"x": x, "h0": h0} | ({"c0": c0} if c0 is not None else {})
    for name, value in inputs.items():
        fd = np.empty_like(value)
        for idx in np.ndindex(value.shape):
            diffs = []
            for e in (eps, -eps):
                args = dict(inputs)
                args[name] = value.copy()
                args[name][idx] += e
                diffs.append(loss(params, args["x"], args["h0"], args.get("c0")))
            fd[idx] = (diffs[0] - diffs[1]) / (2 * eps)
        np.testing.assert_allclose(getattr(grads, name), fd, rtol=1e-5, atol=1e-7, err_msg=name)  # finite difference


@pytest.mark.parametrize("cell,nonlinearity", [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("gru", "tanh")])
@pytest.mark.parametrize("batched", [True, False])
def test_equals_unidirectional_runs_assembled_by_hand(cell, nonlinearity, batched):
    """Layer by layer: the forward direction runs on the input, the reverse one on the input
    flipped in time; the next layer reads both outputs side by side (the reverse one flipped back)."""
    params, x, h0, c0, rng = _setup(cell, layers=2, batched=batched, seed=2, nonlinearity=nonlinearity)
    tr = rnnviz.forward(params, x, h0, c0)
    d_out, d_hn = rng.normal(size=tr.output.shape), rng.normal(size=tr.h_n.shape)
    d_cn = rng.normal(size=tr.h_n.shape) if cell == "lstm" else None
    grads = rnnviz.backward(params, tr, d_out, d_hn, d_cn)

    runs, inp = [], x  # runs[j]: the unidirectional trace of direction-layer j (processing order)
    for k in range(2):
        for d in range(2):
            j = 2 * k + d
            c_init = None if c0 is None else c0[j : j + 1]
            runs.append(rnnviz.forward(_unidirectional(params, j), inp[::-1] if d else inp, h0[j : j + 1], c_init))
        inp = np.concatenate([runs[-2].output, runs[-1].output[::-1]], axis=-1)
    # exact: forward runs each direction-layer through the same layer function on the same arrays as here
    np.testing.assert_array_equal(tr.output, inp)
    np.testing.assert_array_equal(tr.h_n, np.concatenate([r.h_n for r in runs]))
    if cell == "lstm":
        np.testing.assert_array_equal(tr.c_n, np.concatenate([r.c_n for r in runs]))
    for j, r in enumerate(runs):
        flip = (lambda a: a[::-1]) if j % 2 else (lambda a: a)
        np.testing.assert_array_equal(tr.layers[j].h, r.layers[0].h)  # processing order
        np.testing.assert_array_equal(tr.hidden[j], flip(r.hidden[0]))  # real time order
        for name, g in r.gates[0].items():
            np.testing.assert_array_equal(tr.gates[j][name], flip(g))
        if cell == "lstm":
            np.testing.assert_array_equal(tr.cell[j], flip(r.cell[0]))

    # Backward, top layer first: each direction gets its half of d(output), the reverse one flipped.
    d_above = d_out
    expected_params, expected_dh, expected_jac = {}, {}, {}
    for k in (1, 0):
        d_below = 0.0
        for d in range(2):
            j = 2 * k + d
            half = d_above[..., d * H : (d + 1) * H]
            g = rnnviz.backward(
                _unidirectional(params, j),
                runs[j],
                half[::-1] if d else half,
                d_hn[j : j + 1],
                None if d_cn is None else d_cn[j : j + 1],
            )
            flip = (lambda a: a[::-1]) if d else (lambda a: a)
            d_below = d_below + flip(g.x)
            np.testing.assert_allclose(grads.h0[j], g.h0[0], rtol=1e-12, atol=1e-14)  # summation order
            if cell == "lstm":
                np.testing.assert_allclose(grads.c0[j], g.c0[0], rtol=1e-12, atol=1e-14)  # summation order
            suffix = params.layer_suffixes[j]
            for key, v in rnnviz.to_state_dict(g.params).items():
                expected_params[key.replace("_l0", suffix)] = v
            expected_dh[j] = flip(g.dh[0])
            expected_jac[j] = flip(g.jacobian_norms[0])
        d_above = d_below
    np.testing.assert_allclose(grads.x, d_above, rtol=1e-12, atol=1e-14)  # summation order: two directions added
    got = rnnviz.to_state_dict(grads.params)
    assert list(got) == [k for k in rnnviz.to_state_dict(params)] and set(got) == set(expected_params)
    for key, v in expected_params.items():
        np.testing.assert_allclose(got[key], v, rtol=1e-12, atol=1e-14, err_msg=key)  # summation order
    for j in range(4):
        np.testing.assert_allclose(grads.dh[j], expected_dh[j], rtol=1e-12, atol=1e-14)  # summation order
        norms = np.linalg.norm(expected_dh[j].reshape(T, -1), axis=1)
        np.testing.assert_allclose(grads.dh_norm[j], norms)  # summation order: another norm routine
        np.testing.assert_allclose(grads.jacobian_norms[j], expected_jac[j], rtol=1e-12)  # BLAS order


def test_reverse_direction_conventions_by_hand():
    """A one-unit bidirectional RNN with linear activation, computed on paper.

    Forward: h_t = 0.5 h_{t-1} + x_t; reverse: g_t = 2 g_{t+1} + x_t (reading x_3, x_2, x_1)."""
    one = np.ones((1, 1))
    zero = np.zeros(1)
    forward_dir = rnnviz.LayerParams(one.copy(), 0.5 * one, zero.copy(), zero.copy())
    reverse_dir = rnnviz.LayerParams(one.copy(), 2.0 * one, zero.copy(), zero.copy())
    params = rnnviz.Params("rnn", (forward_dir, reverse_dir), "linear", bidirectional=True)
    x = np.array([[1.0], [10.0], [100.0]])
    tr = rnnviz.forward(params, x, h0=[[0.0], [1.0]])
    h = [1.0, 10.5, 105.25]
    g = [1.0 + 2 * (10.0 + 2 * (100.0 + 2 * 1.0)), 10.0 + 2 * (100.0 + 2 * 1.0), 100.0 + 2 * 1.0]  # time order
    # exact, here and below: sums and products of small integers and halves, exact in any order
    np.testing.assert_array_equal(tr.output, np.array([h, g]).T)
    np.testing.assert_array_equal(tr.h_n, [[h[-1]], [g[0]]])  # the reverse direction ends at x_1
    np.testing.assert_array_equal(tr.hidden[1][:, 0], g)
    np.testing.assert_array_equal(tr.layers[1].h[:, 0], g[::-1])  # processing order: step 1 is time T
    np.testing.assert_array_equal(tr.layers[1].x[:, 0], x[::-1, 0])
    assert tr.num_directions == 2 and params.num_layers == 1 and len(tr.layers) == 2
    # L = sum(output): dL/dx_t = (forward: 1 + 0.5 + 0.25 ... to the end) + (reverse: 1 + 2 + 4 ... to the start)
    grads = rnnviz.backward(params, tr, np.ones((3, 2)))
    np.testing.assert_array_equal(grads.x[:, 0], [1.75 + 1.0, 1.5 + 3.0, 1.0 + 7.0])
    np.testing.assert_array_equal(grads.dh[1][:, 0], [1.0, 3.0, 7.0])  # real time order, like trace.hidden
    np.testing.assert_array_equal(grads.h0[:, 0], [0.5 * 1.75, 2.0 * 7.0])
    # W_hh gradient: sum_t dL/da_t * h_prev_t; reverse h_prev in time order is (g_2, g_3, 1).
    np.testing.assert_array_equal(grads.params.layers[1].W_hh[0, 0], 1.0 * g[1] + 3.0 * g[2] + 7.0 * 1.0)


def test_validation_names_the_problem():
    p = rnnviz.init_params("gru", D, H, 2, bidirectional=True)
    assert (p.num_layers, p.num_directions, len(p.layers)) == (2, 2, 4)
    assert p.layer_suffixes == ("_l0", "_l0_reverse", "_l1", "_l1_reverse")
    assert p.layers[2].W_ih.shape == (3 * H, 2 * H)
    with pytest.raises(ValueError, match="odd number"):
        rnnviz.Params("gru", p.layers[:3], bidirectional=True)
    with pytest.raises(ValueError, match=r"weight_ih_l1_reverse must have 6 columns \(both directions"):
        rnnviz.Params("gru", p.layers[:3] + (rnnviz.init_params("gru", H, H).layers[0],), bidirectional=True)
    with pytest.raises(ValueError, match="weight_ih_l1 must have 3 columns"):
        rnnviz.Params("gru", p.layers[:1] + p.layers[2:3])  # a bidirectional layer 1 under a unidirectional one
    with pytest.raises(ValueError, match="bidirectional must be True or False"):
        rnnviz.Params("gru", p.layers[:2], bidirectional="yes")
    assert rnnviz.Params("gru", p.layers[:2], bidirectional=True) != rnnviz.Params("gru", p.layers[:1])

    x = np.zeros((T, D))
    with pytest.raises(ValueError, match=r"h0 must have shape \(4, 3\) \(2 per layer"):
        rnnviz.forward(p, x, h0=np.zeros((2, H)))
    tr = rnnviz.forward(p, x)
    assert tr.output.shape == (T, 2 * H) and tr.h_n.shape == (4, H)
    with pytest.raises(ValueError, match="d_output must have shape"):
        rnnviz.backward(p, tr, np.zeros((T, H)))
    with pytest.raises(ValueError, match="d_h_n must have shape"):
        rnnviz.backward(p, tr, None, np.zeros((2, H)))
    with pytest.raises(ValueError, match="truncated BPTT is for unidirectional networks"):
        rnnviz.backward(p, tr, None, truncate=2)


def test_require_unidirectional():
    uni = rnnviz.init_params("lstm", D, H)
    assert rnnviz.require_unidirectional(uni, "the Unfolded page") is uni
    bi = rnnviz.init_params("lstm", D, H, bidirectional=True)
    with pytest.raises(ValueError, match="^bidirectional weights: the Unfolded page .*Architectures page"):
        rnnviz.require_unidirectional(bi, "the Unfolded page")


def test_init_params_draws_like_torch_and_keeps_unidirectional_draws():
    bi = rnnviz.init_params("lstm", D, 8, 2, seed=3, bidirectional=True)
    for lp in bi.layers:
        for a in (lp.W_ih, lp.W_hh, lp.b_ih, lp.b_hh):
            assert np.abs(a).max() <= 1 / np.sqrt(8)
    uni = rnnviz.init_params("lstm", D, 8, 1, seed=3)
    assert uni == rnnviz.Params("lstm", bi.layers[:1])  # the forward layer 0 is drawn first, as before
