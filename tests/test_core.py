"""Core checks that need no PyTorch: hand-stepped cells, finite differences, Jacobian norms."""

import ast
import pathlib
import sys

import numpy as np
import pytest
from conftest import assert_ulps

import rnnviz
from rnnviz.engine.cells import sigmoid

CASES = [("rnn", "tanh"), ("rnn", "relu"), ("rnn", "sigmoid"), ("rnn", "linear"), ("lstm", "tanh"), ("gru", "tanh")]
D, H, T, B = 3, 4, 5, 2  # all different, so a transposed matrix fails loudly


def _setup(cell, nonlinearity, layers=2, batched=True, seed=0):
    rng = np.random.default_rng(seed)
    params = rnnviz.init_params(cell, D, H, layers, nonlinearity=nonlinearity, seed=seed, scale=1.5)
    shape = (T, B, D) if batched else (T, D)
    state = (layers, B, H) if batched else (layers, H)
    x = rng.normal(size=shape)
    h0 = rng.normal(size=state)
    c0 = rng.normal(size=state) if cell == "lstm" else None
    return params, x, h0, c0, rng


def _loss(params, x, h0, c0, w_out, w_h, w_c):
    tr = rnnviz.forward(params, x, h0, c0)
    loss = np.sum(tr.output * w_out) + np.sum(tr.h_n * w_h)
    if c0 is not None:
        loss += np.sum(tr.c_n * w_c)
    return loss


@pytest.mark.parametrize("cell,nonlinearity", CASES)
@pytest.mark.parametrize("batched", [True, False])
def test_hand_stepped_cell_equals_forward(cell, nonlinearity, batched):
    params, x, h0, c0, _ = _setup(cell, nonlinearity, layers=1, batched=batched)
    tr = rnnviz.forward(params, x, h0, c0)
    lp = params.layers[0]
    xb = x if batched else x[:, None]
    h = h0[0] if batched else h0[0][None]
    c = None if c0 is None else (c0[0] if batched else c0[0][None])
    out = tr.output if batched else tr.output[:, None]
    for t in range(T):
        if cell == "rnn":
            # written out from the textbook equation, not via rnn_step
            a = xb[t] @ lp.W_ih.T + lp.b_ih + h @ lp.W_hh.T + lp.b_hh
            phi = {"tanh": np.tanh, "relu": lambda v: np.maximum(v, 0), "sigmoid": sigmoid, "linear": lambda v: v}
            h_ref = phi[nonlinearity](a)
            _, h = rnnviz.rnn_step(lp, xb[t], h, nonlinearity)
        elif cell == "lstm":
            W_ii, W_if, W_ig, W_io = np.split(lp.W_ih, 4)
            W_hi, W_hf, W_hg, W_ho = np.split(lp.W_hh, 4)
            b = lp.b_ih + lp.b_hh
            i = sigmoid(xb[t] @ W_ii.T + h @ W_hi.T + b[:H])
            f = sigmoid(xb[t] @ W_if.T + h @ W_hf.T + b[H : 2 * H])
            g = np.tanh(xb[t] @ W_ig.T + h @ W_hg.T + b[2 * H : 3 * H])
            o = sigmoid(xb[t] @ W_io.T + h @ W_ho.T + b[3 * H :])
            c_ref = f * c + i * g
            h_ref = o * np.tanh(c_ref)
            gates = tr.gates[0] if batched else {k: v[:, None] for k, v in tr.gates[0].items()}
            np.testing.assert_allclose(gates["f"][t], f, atol=1e-13)  # BLAS order: blocks vs fused
            _, _, c, h = rnnviz.lstm_step(lp, xb[t], h, c)
            np.testing.assert_allclose(c, c_ref, atol=1e-13)  # BLAS order
        else:
            W_ir, W_iz, W_in = np.split(lp.W_ih, 3)
            W_hr, W_hz, W_hn = np.split(lp.W_hh, 3)
            b_ir, b_iz, b_in = np.split(lp.b_ih, 3)
            b_hr, b_hz, b_hn = np.split(lp.b_hh, 3)
            r = sigmoid(xb[t] @ W_ir.T + b_ir + h @ W_hr.T + b_hr)
            z = sigmoid(xb[t] @ W_iz.T + b_iz + h @ W_hz.T + b_hz)
            n = np.tanh(xb[t] @ W_in.T + b_in + r * (h @ W_hn.T + b_hn))
            h_ref = (1 - z) * n + z * h
            _, _, _, h = rnnviz.gru_step(lp, xb[t], h)
        np.testing.assert_allclose(h, h_ref, atol=1e-13)  # BLAS order: the textbook's sums vs the step's
        np.testing.assert_allclose(out[t], h_ref, atol=1e-13)  # BLAS order


def _reference_run(params, x, h0, c0):
    """The stack stepped with the readable cells.*_step, layer by layer: (per-layer records, output, h_n, c_n)."""
    step = {"rnn": rnnviz.rnn_step, "lstm": rnnviz.lstm_step, "gru": rnnviz.gru_step}[params.cell]
    records, inp, h_n, c_n = [], x, [], []
    for k, lp in enumerate(params.layers):
        h, c, rows = h0[k], None if c0 is None else c0[k], []
        for t in range(len(inp)):
            if params.cell == "rnn":
                a, h = step(lp, inp[t], h, params.nonlinearity)
                rows.append({"pre": {"a": a}, "gates": {}, "h": h})
            elif params.cell == "lstm":
                pre, gates, c, h = step(lp, inp[t], h, c)
                rows.append({"pre": pre, "gates": gates, "h": h, "c": c})
            else:
                pre, gates, hn, h = step(lp, inp[t], h)
                rows.append({"pre": pre, "gates": gates, "h": h, "hn": hn})
        records.append(rows)
        inp = np.stack([r["h"] for r in rows])
        h_n.append(h)
        c_n.append(c)
    return records, inp, np.stack(h_n), None if c0 is None else np.stack(c_n)


@pytest.mark.parametrize("cell,nonlinearity", CASES)
def test_fast_forward_follows_the_reference_steps(cell, nonlinearity):
    """forward's per-layer loops (one input product for all steps, sigmoid through tanh, gate-major GRU
    storage) give every pre-activation, gate and state that stepping cells.*_step gives."""
    params, x, h0, c0, _ = _setup(cell, nonlinearity, layers=2, batched=True, seed=3)
    tr = rnnviz.forward(params, x, h0, c0)
    records, _, _, _ = _reference_run(params, x, h0, c0)
    for lt, rows in zip(tr.layers, records, strict=True):
        for t, row in enumerate(rows):
            close = {"atol": 1e-13, "rtol": 0}  # BLAS order and sigmoid-through-tanh: a few ulps of O(1) values
            np.testing.assert_allclose(lt.h[t], row["h"], **close)
            for name in row["pre"]:
                np.testing.assert_allclose(lt.pre[name][t], row["pre"][name], **close, err_msg=name)
            for name in row["gates"]:
                np.testing.assert_allclose(lt.gates[name][t], row["gates"][name], **close, err_msg=name)
            if cell == "lstm":
                np.testing.assert_allclose(lt.c[t], row["c"], **close)
            if cell == "gru":
                np.testing.assert_allclose(lt.hn[t], row["hn"], **close)


@pytest.mark.parametrize("cell,nonlinearity", CASES)
def test_fast_backward_is_the_derivative_of_the_reference_steps(cell, nonlinearity):
    """backward's named gate blocks (d_input, d_forget, ...) give, for every weight entry, the central
    difference of a loss computed with cells.*_step alone (not with the fast forward)."""
    params, x, h0, c0, rng = _setup(cell, nonlinearity, layers=2, batched=True, seed=4)
    tr = rnnviz.forward(params, x, h0, c0)
    w_out, w_h = rng.normal(size=tr.output.shape), rng.normal(size=tr.h_n.shape)
    w_c = rng.normal(size=tr.h_n.shape) if cell == "lstm" else None
    gsd = rnnviz.to_state_dict(rnnviz.backward(params, tr, w_out, w_h, w_c).params)
    sd, eps = rnnviz.to_state_dict(params), 1e-6

    def loss(state_dict):
        _, out, h_n, c_n = _reference_run(rnnviz.from_state_dict(state_dict, cell, nonlinearity), x, h0, c0)
        return np.sum(out * w_out) + np.sum(h_n * w_h) + (0.0 if c_n is None else np.sum(c_n * w_c))

    for key, value in sd.items():
        for idx in np.ndindex(value.shape):
            plus, minus = ({k: v.copy() for k, v in sd.items()} for _ in range(2))
            plus[key][idx] += eps
            minus[key][idx] -= eps
            fd = (loss(plus) - loss(minus)) / (2 * eps)
            # central difference: truncation O(eps^2) and rounding O(1e-16 / eps) of an O(1) loss
            assert gsd[key][idx] == pytest.approx(fd, rel=1e-5, abs=1e-7), (key, idx)


def test_single_neuron_by_hand():
    # y_t = tanh(W_x x_t + W_y y_{t-1} + b), with W_x = 0.5, W_y = -2, b = 0.1, y_0 = 0.3
    sd = {
        "weight_ih_l0": np.array([[0.5]]),
        "weight_hh_l0": np.array([[-2.0]]),
        "bias_ih_l0": np.array([0.1]),
        "bias_hh_l0": np.array([0.0]),
    }
    params = rnnviz.from_state_dict(sd, cell="rnn")
    tr = rnnviz.forward(params, [[1.0], [0.0]], h0=[[0.3]])
    y1 = np.tanh(0.5 * 1.0 - 2.0 * 0.3 + 0.1)  # tanh(0) = 0
    y2 = np.tanh(0.5 * 0.0 - 2.0 * y1 + 0.1)
    assert y1 == pytest.approx(0.0, abs=1e-15)  # rounding: 0.5 - 0.6 + 0.1 is not 0 in binary
    np.testing.assert_allclose(tr.output[:, 0], [y1, y2], atol=1e-15)  # rounding


@pytest.mark.parametrize("cell,nonlinearity", CASES)
@pytest.mark.parametrize("batched", [True, False])
def test_backward_matches_finite_differences(cell, nonlinearity, batched):
    params, x, h0, c0, rng = _setup(cell, nonlinearity, layers=2, batched=batched, seed=1)
    tr = rnnviz.forward(params, x, h0, c0)
    w_out, w_h = rng.normal(size=tr.output.shape), rng.normal(size=tr.h_n.shape)
    w_c = rng.normal(size=tr.h_n.shape) if cell == "lstm" else None
    grads = rnnviz.backward(params, tr, w_out, w_h, w_c)
    eps = 1e-6

    def fd(perturb):
        return (_loss(*perturb(eps), w_out, w_h, w_c) - _loss(*perturb(-eps), w_out, w_h, w_c)) / (2 * eps)

    sd = rnnviz.to_state_dict(params)
    gsd = rnnviz.to_state_dict(grads.params)
    for key, value in sd.items():
        for idx in [(0,) * value.ndim, tuple(s - 1 for s in value.shape)]:

            def perturb(e, key=key, idx=idx):
                sd2 = {k: v.copy() for k, v in sd.items()}
                sd2[key][idx] += e
                return rnnviz.from_state_dict(sd2, cell, nonlinearity), x, h0, c0

            assert gsd[key][idx] == pytest.approx(fd(perturb), rel=1e-5, abs=1e-7), (key, idx)  # finite difference
    for name, arr in [("x", x), ("h0", h0)] + ([("c0", c0)] if c0 is not None else []):
        idx = tuple(s - 1 for s in arr.shape)

        def perturb(e, name=name, idx=idx):
            args = {"x": x.copy(), "h0": h0.copy(), "c0": None if c0 is None else c0.copy()}
            args[name][idx] += e
            return params, args["x"], args["h0"], args["c0"]

        assert getattr(grads, name)[idx] == pytest.approx(fd(perturb), rel=1e-5, abs=1e-7), name  # finite difference


@pytest.mark.parametrize("cell,nonlinearity", CASES)
def test_dh_norm_is_the_gradient_reaching_each_state(cell, nonlinearity):
    # dL/dh_t at an inner step equals the FD derivative w.r.t. a perturbation injected into h_t,
    # which for t = 1 we can do through h0 of a sequence shortened by one step.
    params, x, h0, c0, rng = _setup(cell, nonlinearity, layers=1, batched=False, seed=2)
    tr = rnnviz.forward(params, x, h0, c0)
    w_out = rng.normal(size=tr.output.shape)
    grads = rnnviz.backward(params, tr, w_out)
    h1 = tr.output[0]
    c1 = None if c0 is None else tr.cell[0][0][None]
    dh1 = rnnviz.backward(params, rnnviz.forward(params, x[1:], h1[None], c1), w_out[1:]).h0[0]
    np.testing.assert_allclose(grads.dh[0][0] - w_out[0], dh1, atol=1e-12)  # BLAS order: another sequence length
    np.testing.assert_allclose(grads.dh_norm[0], np.linalg.norm(grads.dh[0], axis=1), atol=1e-14)  # summation order


@pytest.mark.parametrize("cell,nonlinearity", CASES)
@pytest.mark.parametrize("batched", [True, False])
def test_jacobian_norms_match_finite_differences(cell, nonlinearity, batched):
    params, x, h0, c0, _ = _setup(cell, nonlinearity, layers=2, batched=batched, seed=3)
    tr = rnnviz.forward(params, x, h0, c0)
    grads = rnnviz.backward(params, tr, np.zeros(tr.output.shape))
    eps = 1e-6
    for layer in range(2):
        norms = grads.jacobian_norms[layer]
        assert norms.shape == ((T, B) if batched else (T,))
        lt = tr.layers[layer]
        for t in [0, 2, T - 1]:
            # restart the layer at step t+1 from a perturbed h_t, keeping its input and c_t
            xs = lt.x[t + 1 :]
            cols = []
            for j in range(H):
                outs = []
                for e in (eps, -eps):
                    h_t = lt.h[t].copy()
                    h_t[..., j] += e
                    if t == T - 1:
                        outs.append(h_t)
                        continue
                    single = rnnviz.Params(params.cell, (params.layers[layer],), params.nonlinearity)
                    c_t = None if lt.c is None else lt.c[t][None]
                    outs.append(rnnviz.forward(single, xs, h_t[None], c_t).output[-1])
                cols.append((outs[0] - outs[1]) / (2 * eps))
            jac = np.stack(cols, axis=-1)  # ([B,] H, H): d h_T / d h_t
            ref = np.linalg.norm(jac, ord=2, axis=(-2, -1))
            np.testing.assert_allclose(norms[t], ref, rtol=1e-6, atol=1e-9)  # finite difference


@pytest.mark.parametrize("cell,nonlinearity", CASES)
def test_truncated_bptt_equals_sum_of_chunks(cell, nonlinearity):
    # Truncation with k = 2 over T = 5 steps: chunks [0, 2), [2, 4), [4, 5), each started from the
    # previous chunk's final state held constant. The parameter gradient is the sum over chunks.
    params, x, h0, c0, rng = _setup(cell, nonlinearity, layers=2, batched=True, seed=4)
    tr = rnnviz.forward(params, x, h0, c0)
    w_out = rng.normal(size=tr.output.shape)
    truncated = rnnviz.backward(params, tr, w_out, truncate=2)
    total = {k: np.zeros_like(v) for k, v in rnnviz.to_state_dict(params).items()}
    for start in range(0, T, 2):
        stop = min(start + 2, T)
        if start == 0:
            hs, cs = h0, c0
        else:
            hs = np.stack([lt.h[start - 1] for lt in tr.layers])
            cs = None if c0 is None else np.stack([lt.c[start - 1] for lt in tr.layers])
        chunk = rnnviz.forward(params, x[start:stop], hs, cs)
        g = rnnviz.backward(params, chunk, w_out[start:stop])
        for k, v in rnnviz.to_state_dict(g.params).items():
            total[k] += v
        np.testing.assert_allclose(truncated.x[start:stop], g.x, atol=1e-12)  # BLAS order: chunk vs whole
    for k, v in rnnviz.to_state_dict(truncated.params).items():
        np.testing.assert_allclose(v, total[k], atol=1e-12)  # BLAS order, and a sum over chunks


@pytest.mark.parametrize("cell,nonlinearity", CASES)
@pytest.mark.parametrize("steps", [1, 2, 3])
def test_backward_blocks_do_not_change_the_result(cell, nonlinearity, steps, monkeypatch):
    """backward runs through time a block of steps at a time; any block length gives the same gradients,
    to a few ulps: a block's products are BLAS calls on other shapes, which may sum in another order."""
    params, x, h0, c0, rng = _setup(cell, nonlinearity, layers=2, batched=True, seed=5)
    tr = rnnviz.forward(params, x, h0, c0)
    w_out, w_h = rng.normal(size=tr.output.shape), rng.normal(size=tr.h_n.shape)
    w_c = rng.normal(size=tr.h_n.shape) if cell == "lstm" else None
    whole = rnnviz.backward(params, tr, w_out, w_h, w_c, truncate=2)
    module = sys.modules["rnnviz.engine.backward"]
    monkeypatch.setattr(
        module, "_blocks", lambda T, row: [(s, min(s + steps, T)) for s in reversed(range(0, T, steps))]
    )
    blocked = rnnviz.backward(params, tr, w_out, w_h, w_c, truncate=2)
    for k, v in rnnviz.to_state_dict(blocked.params).items():
        assert_ulps(v, rnnviz.to_state_dict(whole.params)[k], err_msg=k)
    for name in ("x", "h0", "c0"):
        if getattr(whole, name) is not None:
            assert_ulps(getattr(blocked, name), getattr(whole, name), err_msg=name)
    for a, b in zip(blocked.dh, whole.dh, strict=True):
        assert_ulps(a, b)


def test_init_matches_pytorch_bounds_and_is_seeded():
    p = rnnviz.init_params("lstm", 3, 16, 2, seed=7)
    assert p == rnnviz.init_params("lstm", 3, 16, 2, seed=7)
    assert p != rnnviz.init_params("lstm", 3, 16, 2, seed=8)
    sd = rnnviz.to_state_dict(p)
    assert list(sd) == [f"{n}_l{k}" for k in range(2) for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    assert sd["weight_ih_l0"].shape == (64, 3) and sd["weight_ih_l1"].shape == (64, 16)
    for v in sd.values():
        assert np.abs(v).max() <= 1 / np.sqrt(16)
        assert np.abs(v).max() > 0.9 / np.sqrt(16)  # really spread over the whole range


def test_sigmoid_is_stable_for_huge_inputs():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        s = sigmoid(np.array([-1e308, -800.0, 0.0, 800.0, 1e308]))
    np.testing.assert_array_equal(s, [0.0, 0.0, 0.5, 1.0, 1.0])  # exact: these values round to 0, 1/2 and 1


def test_bad_inputs_raise_value_error():
    p = rnnviz.init_params("gru", 3, 4)
    for x in ([[1.0, 2.0]], np.zeros((0, 3)), [[np.nan, 0, 0]], [["a", "b", "c"]], np.zeros(3)):
        with pytest.raises(ValueError):
            rnnviz.forward(p, x)
    with pytest.raises(ValueError, match="h0"):
        rnnviz.forward(p, np.zeros((2, 3)), h0=np.zeros((2, 4)))
    with pytest.raises(ValueError, match="c0"):
        rnnviz.forward(p, np.zeros((2, 3)), c0=np.zeros((1, 4)))
    tr = rnnviz.forward(p, np.zeros((2, 3)))
    with pytest.raises(ValueError, match="d_output"):
        rnnviz.backward(p, tr, np.zeros((3, 4)))
    with pytest.raises(ValueError, match="truncate"):
        rnnviz.backward(p, tr, None, truncate=0)
    with pytest.raises(ValueError):
        rnnviz.from_state_dict({"weight_ih_l0": np.zeros((12, 3)), "weight_hh_l0": np.zeros((12, 5))})


def test_core_never_imports_streamlit():
    for path in pathlib.Path(rnnviz.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not any(n.split(".")[0] == "streamlit" for n in names), path
