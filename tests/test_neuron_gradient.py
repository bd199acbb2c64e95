"""The Neuron page's own gradient (rnnviz.engine.neuron.neuron_gradient) against rnnviz.backward, finite
differences and the hand-computed product W_y^(T-t) of a linear neuron."""

from __future__ import annotations

import numpy as np
import pytest

import rnnviz
from rnnviz.engine import neuron

X = np.array([[1.0], [0.0], [0.5], [-1.0], [2.0], [0.3]])  # (T, 1)


def last_output(w_x, w_y, b, act, y0=0.3, x=X) -> float:
    return float(rnnviz.forward(neuron.neuron_params(w_x, w_y, b, act), x, h0=[[y0]]).output[-1, 0])


@pytest.mark.parametrize("act", ["tanh", "sigmoid", "relu", "linear"])
@pytest.mark.parametrize("w_y", [0.5, -1.5])
def test_the_neuron_gradient_is_backward_of_the_last_output(act, w_y):
    params = neuron.neuron_params(0.8, w_y, 0.1, act)
    trace = rnnviz.forward(params, X, h0=[[0.3]])
    grad = neuron.neuron_gradient(trace)
    d_output = np.zeros_like(X)
    d_output[-1] = 1.0  # L = y_T
    ref = rnnviz.backward(params, trace, d_output)
    sd = rnnviz.to_state_dict(ref.params)
    got = [grad.d_wx, grad.d_wy, grad.d_b, grad.d_y0]
    want = [sd["weight_ih_l0"][0, 0], sd["weight_hh_l0"][0, 0], sd["bias_ih_l0"][0], ref.h0[0, 0]]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)  # summation order; atol: relu's exact zeros
    # dy_T/dy_t is dy_T/dy_0 of the same neuron started at y_t on the remaining inputs
    y = trace.output[:, 0]
    for t in range(1, len(X)):
        tail = rnnviz.forward(params, X[t:], h0=[[y[t - 1]]])
        d_tail = np.zeros_like(X[t:])
        d_tail[-1] = 1.0
        np.testing.assert_allclose(grad.dy_T[t - 1], rnnviz.backward(params, tail, d_tail).h0[0, 0], rtol=1e-12)
    assert grad.dy_T[-1] == 1.0


@pytest.mark.parametrize("act", ["tanh", "sigmoid", "linear"])  # smooth: relu's kink breaks a finite difference
def test_the_weight_gradients_match_finite_differences(act):
    grad = neuron.neuron_gradient(rnnviz.forward(neuron.neuron_params(0.8, 0.9, 0.1, act), X, h0=[[0.3]]))
    eps = 1e-6
    numeric = [
        (last_output(0.8 + eps, 0.9, 0.1, act) - last_output(0.8 - eps, 0.9, 0.1, act)) / (2 * eps),
        (last_output(0.8, 0.9 + eps, 0.1, act) - last_output(0.8, 0.9 - eps, 0.1, act)) / (2 * eps),
        (last_output(0.8, 0.9, 0.1 + eps, act) - last_output(0.8, 0.9, 0.1 - eps, act)) / (2 * eps),
        (last_output(0.8, 0.9, 0.1, act, 0.3 + eps) - last_output(0.8, 0.9, 0.1, act, 0.3 - eps)) / (2 * eps),
    ]
    # central difference: O(eps^2) truncation plus about 1e-16 / eps rounding
    np.testing.assert_allclose([grad.d_wx, grad.d_wy, grad.d_b, grad.d_y0], numeric, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("w_y", [0.5, 1.5, -1.5])
def test_a_linear_neuron_multiplies_by_w_y_once_a_step(w_y):
    """phi' = 1: dy_T/dy_t = W_y^(T-t), which vanishes for |W_y| < 1 and explodes for |W_y| > 1."""
    grad = neuron.neuron_gradient(rnnviz.forward(neuron.neuron_params(1.0, w_y, 0.0, "linear"), X))
    T = len(X)
    np.testing.assert_allclose(grad.dy_T, [w_y ** (T - t) for t in range(1, T + 1)], rtol=1e-15)  # products of 5
    latex = neuron.chain_latex(grad, w_y, 1)
    factor = f"({w_y:g})" if w_y < 0 else f"{w_y:g}"
    assert latex.count(rf"({factor} \cdot 1)") == 4 and r"\cdots" in latex  # 3 written, the rest elided, the last
    assert latex.endswith(rf"&= {w_y ** (T - 1):.3g} \end{{aligned}}")
    assert neuron.chain_latex(grad, w_y, T) == r"\frac{\partial y_{6}}{\partial y_{6}} = 1"
    with pytest.raises(ValueError):
        neuron.chain_latex(grad, w_y, T + 1)


def test_the_neuron_page_shows_the_gradient_of_the_neuron_on_screen():
    from conftest import assert_clean, charts, plotly_array, run_page

    at = run_page(
        "pages/neuron.py", {"wx": "0.75", "wy": "-1.25", "b": "0.1", "T": "6", "signal": "step", "nview": "gradient"}
    )
    assert_clean(at)
    params = neuron.neuron_params(0.75, -1.25, 0.1, "tanh")
    x = np.ones((6, 1))
    trace = rnnviz.forward(params, x, h0=[[0.0]])
    d_output = np.zeros_like(x)
    d_output[-1] = 1.0
    ref = rnnviz.backward(params, trace, d_output)
    sd = rnnviz.to_state_dict(ref.params)
    shown = {m.label: float(m.value) for m in at.metric}
    want = {"∂y_T/∂W_x": sd["weight_ih_l0"][0, 0], "∂y_T/∂W_y": sd["weight_hh_l0"][0, 0], "∂y_T/∂y_0": ref.h0[0, 0]}
    for label, value in want.items():
        assert shown[label] == pytest.approx(value, rel=1e-3)  # shown with 4 significant digits
    assert any(r"\prod_{k=2}^{6} W_y\,\phi'(a_k)" in e.value and "((-1.25) \\cdot" in e.value for e in at.latex)
    line = plotly_array(charts(at)["neuron:dy_T"]["data"][0]["y"])
    # |dy_6/dy_1| from backward: the same neuron started at y_1 on the last five inputs
    tail = rnnviz.forward(params, x[1:], h0=[[trace.output[0, 0]]])
    assert line[0] == pytest.approx(abs(rnnviz.backward(params, tail, d_output[1:]).h0[0, 0]), rel=1e-12)


def test_only_the_open_tab_is_built():
    """The Neuron page's tabs build only the open one (its figures cost a round trip), and the link keeps it."""
    from conftest import assert_clean, charts, graph_views, run_page

    def unfolded(at) -> list[dict]:  # the unfolded graph's view (the folded drawing above the tabs is always there)
        return [v for v in graph_views(at) if "step-2" in v["svg"]]

    at = run_page("pages/neuron.py", {"T": "6"})
    assert_clean(at)
    assert at.query_params["nview"] == "unfolded" and unfolded(at)  # the default tab
    assert not charts(at)  # neither the plot over time nor the gradient's
    assert not [m for m in at.metric if m.label.startswith("∂y_T")]
    at = run_page("pages/neuron.py", {"T": "6", "nview": "io"})
    assert_clean(at)
    assert list(charts(at)) == ["neuron:io"] and at.query_params["nview"] == "io"
    assert not unfolded(at)
    at = run_page("pages/neuron.py", {"T": "6", "nview": "gradient"})
    assert_clean(at)
    assert list(charts(at)) == ["neuron:dy_T"] and at.query_params["nview"] == "gradient"
    assert not unfolded(at)
