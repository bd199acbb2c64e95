"""rnnviz.bptt against oracles: hand-computed losses and clipping, and finite differences."""

import numpy as np
import pytest

import rnnviz
from rnnviz.engine import bptt
from rnnviz.engine.presets import network_params
from rnnviz.learning import optim


def _setup(choice="lstm", D=3, H=4, L=2, T=6, seed=1):
    params = network_params(choice, D, H, L, seed=seed)
    x = np.random.default_rng(seed).normal(size=(T, D))
    return params, x, rnnviz.forward(params, x)


def test_loss_seed_and_value_by_hand():
    params, x, trace = _setup()
    last, every = bptt.loss_seed(trace, "last"), bptt.loss_seed(trace, "every")
    assert last.shape == trace.output.shape == every.shape
    assert last[:-1].sum() == 0 and np.all(last[-1] == 1) and np.all(every == 1)
    assert bptt.loss_value(trace, "last") == pytest.approx(trace.output[-1].sum())  # summation order
    assert bptt.loss_value(trace, "every") == pytest.approx(trace.output.sum())  # summation order
    with pytest.raises(ValueError, match="unknown loss"):
        bptt.loss_seed(trace, "mse")


def test_global_norm_and_clipping_by_hand():
    layer = rnnviz.LayerParams(np.array([[3.0]]), np.array([[0.0]]), np.array([4.0]), np.array([0.0]))
    grads = rnnviz.Params("rnn", (layer,))
    assert optim.global_norm(grads) == pytest.approx(5.0)  # sqrt rounding
    clipped, before = optim.clip_by_global_norm(grads, 1.0)
    assert before == pytest.approx(5.0)  # sqrt rounding
    assert optim.global_norm(clipped) == pytest.approx(1.0, rel=1e-6)  # torch's 1e-6 guard in the clip
    assert clipped.layers[0].W_ih[0, 0] == pytest.approx(0.6, rel=1e-6)  # torch's 1e-6 guard; direction kept: 3/5
    same, _ = optim.clip_by_global_norm(grads, 10.0)
    assert same == grads  # below the threshold nothing changes
    with pytest.raises(ValueError):
        optim.clip_by_global_norm(grads, 0.0)


@pytest.mark.parametrize("choice", ["rnn_tanh", "rnn_relu", "lstm", "gru"])
@pytest.mark.parametrize("kind", ["last", "every"])
def test_analytic_matches_finite_difference(choice, kind):
    params, x, trace = _setup(choice)
    grads = bptt.loss_backward(params, trace, kind).params
    for key, shape in {k: v.shape for k, v in rnnviz.to_state_dict(params).items()}.items():
        index = tuple(s - 1 for s in shape)  # the last entry: a transposed index would fail
        analytic = bptt.entry_gradient(grads, key, index)
        numeric = bptt.finite_difference(params, x, key, index, kind)
        assert bptt.relative_error(analytic, numeric) < 1e-6 or abs(analytic - numeric) < 1e-9, key


def test_finite_difference_of_a_linear_neuron_by_hand():
    # h_t = w_x x_t + w_y h_{t-1}, x = (1, 0, 0): h_3 = w_x w_y^2, so dh_3/dw_y = 2 w_x w_y
    layer = rnnviz.LayerParams(np.array([[1.5]]), np.array([[0.5]]), np.zeros(1), np.zeros(1))
    params = rnnviz.Params("rnn", (layer,), "linear")
    x = np.array([[1.0], [0.0], [0.0]])
    fd = bptt.finite_difference(params, x, "weight_hh_l0", (0, 0), "last")
    assert fd == pytest.approx(1.5, rel=1e-8)  # finite difference, exact but for rounding on a quadratic
    grads = bptt.loss_backward(params, rnnviz.forward(params, x), "last").params
    assert bptt.entry_gradient(grads, "weight_hh_l0", (0, 0)) == pytest.approx(1.5)  # rounding


def test_truncation_changes_the_gradient_and_fd_checks_the_full_one():
    params, x, trace = _setup("rnn_tanh", L=1, T=8)
    full = bptt.loss_backward(params, trace, "last").params
    cut = bptt.loss_backward(params, trace, "last", truncate=2).params
    numeric = bptt.finite_difference(params, x, "weight_hh_l0", (0, 0), "last")
    assert bptt.entry_gradient(full, "weight_hh_l0", (0, 0)) == pytest.approx(numeric, rel=1e-6)  # finite difference
    assert bptt.entry_gradient(cut, "weight_hh_l0", (0, 0)) != pytest.approx(numeric, rel=1e-3)  # truncation: >0.1% off


def test_relative_error_and_bad_entries():
    assert bptt.relative_error(0.0, 0.0) == 0.0  # exact: 0/0 is defined as 0
    assert bptt.relative_error(1.0, 1.1) == pytest.approx(0.1 / 1.1)  # rounding
    params, _, _ = _setup()
    for key, index in [
        ("weight_xx_l0", (0, 0)),
        ("weight_ih_l5", (0, 0)),
        ("weight_ih_l0", (16, 0)),
        ("bias_ih_l0", 0),
    ]:
        if key == "bias_ih_l0":
            assert bptt.nudge(params, key, index, 1.0).layers[0].b_ih[0] == params.layers[0].b_ih[0] + 1.0
            continue
        with pytest.raises(ValueError):
            bptt.nudge(params, key, index, 1.0)


def test_entry_label_names_gate_and_source():
    params, _, _ = _setup("lstm", D=3, H=4, L=2)
    assert bptt.entry_label(params, "weight_hh_l0", (5, 2)) == "gate f, unit 2, from h_(t-1) unit 3"
    assert bptt.entry_label(params, "weight_ih_l0", (0, 1)) == "gate i, unit 1, from input feature 2"
    assert bptt.entry_label(params, "weight_ih_l1", (15, 0)) == "gate o, unit 4, from layer 1's h_t unit 1"
    assert bptt.entry_label(params, "bias_hh_l1", (9,)) == "gate g, unit 2"


def test_gradient_check_flags_gradients_below_the_rounding_floor():
    params, x, _ = _setup("rnn_tanh", D=1, H=4, L=1, T=6)
    check = bptt.gradient_check(params, x, "weight_hh_l0", (1, 2), "every")
    assert check.resolvable and check.relative_error < 1e-6
    # an impulse forgotten over 60 steps at spectral radius 0.2: dL/dW_ih is ~0.2^59, far below rounding
    from rnnviz.engine.presets import rescale_recurrent

    small = rescale_recurrent(params, 0.2)
    x = np.zeros((60, 1))
    x[0] = 1.0
    check = bptt.gradient_check(small, x, "weight_ih_l0", (0, 0), "last")
    assert abs(check.analytic) < 1e-30 and not check.resolvable
