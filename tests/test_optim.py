"""rnnviz.learning.optim: Adam, SGD and global-norm clipping against hand-computed steps."""

import math

import numpy as np
import pytest

from rnnviz.learning import optim


def test_adam_steps_by_hand():
    w = np.array([1.0, -2.0])
    opt = optim.Adam([w], lr=0.1)
    g = np.array([0.5, -4.0])
    opt.step([g])
    # step 1: m / (1 - b1) = g and v / (1 - b2) = g^2, so w moves by lr * g / (|g| + eps)
    first = [1.0 - 0.1 * 0.5 / (0.5 + 1e-8), -2.0 + 0.1 * 4.0 / (4.0 + 1e-8)]
    np.testing.assert_allclose(w, first, rtol=1e-15)  # rounding: the same operations in another order
    before = w.copy()
    opt.step([np.array([0.0, 0.0])])
    m = 0.9 * 0.1 * g  # (1 - b1) g, decayed once
    v = 0.999 * 0.001 * g * g
    expected = before - 0.1 * (m / (1 - 0.9**2)) / (np.sqrt(v / (1 - 0.999**2)) + 1e-8)
    np.testing.assert_allclose(w, expected, rtol=1e-14)  # rtol: rounding of a few operations


def test_sgd_steps_by_hand():
    w = np.array([[1.0, 2.0]])
    optim.make_optimizer("sgd", [w], 0.5).step([np.array([[2.0, -2.0]])])
    assert w.tolist() == [[0.0, 3.0]]
    with pytest.raises(ValueError, match="unknown optimizer"):
        optim.make_optimizer("rmsprop", [w], 0.1)


def test_clipping_caps_the_norm_and_keeps_the_direction():
    grads = [np.array([3.0]), np.array([[4.0]])]
    assert optim.clip_grad_norm_(grads, 10.0) == 5.0 and grads[0][0] == 3.0  # short enough: untouched
    assert optim.clip_grad_norm_(grads, 1.0) == 5.0
    assert grads[0][0] == pytest.approx(0.6, rel=1e-6)  # torch's 1e-6 guard in the clip
    assert grads[1][0, 0] == pytest.approx(0.8, rel=1e-6)  # torch's 1e-6 guard
    assert optim.clip_coefficient(0.0, 1.0) == 1.0 and optim.clip_coefficient(math.inf, 1.0) == 0.0
    for bad in (0.0, -1.0, math.inf, math.nan, "1"):
        with pytest.raises(ValueError, match="clipping threshold"):
            optim.clip_grad_norm_(grads, bad)


def test_a_huge_finite_gradient_has_a_finite_norm():
    grads = [np.full(3, 1e200), np.full(1, -1e200)]  # the squares overflow float64
    assert optim.global_norm(grads) == pytest.approx(2e200, rel=1e-15)  # rounding: scaled by the largest entry
    optim.clip_grad_norm_(grads, 1.0)
    assert optim.global_norm(grads) == pytest.approx(1.0, rel=1e-6)  # torch's 1e-6 guard
    assert math.isnan(optim.global_norm([np.array([np.nan, 1.0])]))
    assert optim.global_norm([np.array([np.inf, 1.0])]) == math.inf


def test_clipping_says_the_norm_before_and_after_and_the_scale():
    report = optim.clipping([np.array([3.0]), np.array([[4.0]])], 1.0)  # 5 -> 1: a fifth
    assert (report.before, report.after, report.scale) == pytest.approx((5.0, 1.0, 0.2), rel=1e-6)  # torch's 1e-6
    assert optim.clipping([np.zeros(3)], 1.0) == optim.Clipping(0.0, 0.0, 1.0)
