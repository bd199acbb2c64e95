"""Numerical extremes: huge weights, exploding ReLU networks, the largest sizes the app offers.

Everything a page calls runs with every numpy warning turned into an error: no overflow
warning escapes the core, no NaN or inf reaches a figure's JSON or a graph label, and an
overflow is reported in words by ``rnnviz.numerics.describe_overflow``.
"""

import json
import pathlib
import re
import subprocess
import sys
import warnings
from dataclasses import replace

import numpy as np
import pytest
from conftest import json_numbers

import rnnviz
from rnnviz import drawing as rgraph
from rnnviz.drawing import figures, kernel
from rnnviz.engine import bptt, neuron, numerics, presets, signals
from rnnviz.learning import optim

CHOICES = ("rnn_tanh", "rnn_relu", "lstm", "gru")
T_MAX, D_MAX, H_MAX, L_MAX, SCALE_MAX = 100, 8, 32, 3, 5.0  # the app's widget limits


@pytest.fixture(autouse=True)
def strict_floats():
    """Any RuntimeWarning (overflow, invalid value, divide by zero) fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            yield


def assert_clean_figure(fig):
    numbers = json_numbers(fig)
    assert np.all(np.isfinite(numbers)), "a non-finite number reached plotly"


def assert_clean_dot(dot: str):
    assert not re.search(r"\bnan\b", dot, re.I), "a NaN reached a graph label"


def with_weights(params: rnnviz.Params, w_ih: float, w_hh: float) -> rnnviz.Params:
    """Every input weight set to w_ih and every recurrent weight to w_hh / H (row sums w_hh)."""
    H = params.hidden_size
    layers = tuple(
        replace(lp, W_ih=np.full_like(lp.W_ih, w_ih), W_hh=np.full_like(lp.W_hh, w_hh / H)) for lp in params.layers
    )
    return replace(params, layers=layers)


def everything_a_page_shows(params: rnnviz.Params, x: np.ndarray) -> tuple[rnnviz.Trace, rnnviz.Grads]:
    """Run what the neuron, unfolded, gates and BPTT pages run, and check every output."""
    trace = rnnviz.forward(params, x)
    grads = bptt.loss_backward(params, trace, "every")
    cut = bptt.loss_backward(params, trace, "last", truncate=7)
    for g in (grads, cut):
        assert_clean_figure(figures.grad_norm_figure({f"layer {k + 1}": n for k, n in enumerate(g.dh_norm)}))
    assert_clean_figure(figures.grad_norm_figure({"J": grads.jacobian_norms[-1]}, y_title="spectral norm"))
    for layer in range(params.num_layers):
        assert_clean_figure(figures.gates_figure(trace, layer))
        assert_clean_figure(figures.units_figure(trace, layer, (0, params.hidden_size - 1)))
    assert_clean_figure(figures.compare_figure({params.cell: trace}, "h", 0, layer=0))
    assert_clean_figure(figures.signal_figure(x[:, 0], trace.output[:, 0]))
    for level in ("cell", "operations"):
        assert_clean_dot(rgraph.unfolded_graph(trace, grads=grads, level=level, values=True).source)
    assert_clean_dot(rgraph.folded_graph(params).source)
    norm = optim.global_norm(grads.params)
    clipped, before = optim.clip_by_global_norm(grads.params, 1.0)
    assert before == norm or (np.isnan(before) and np.isnan(norm))
    if np.isfinite(norm):
        assert optim.global_norm(clipped) <= 1.0 + 1e-9
    bptt.gradient_check(params, x, "weight_hh_l0", (0, 0), "last")
    return trace, grads


@pytest.mark.parametrize("choice", CHOICES)
@pytest.mark.parametrize("w", [1e6, -1e6])
def test_weights_of_a_million_at_the_largest_sizes(choice, w):
    params = with_weights(presets.network_params(choice, D_MAX, H_MAX, L_MAX, seed=2), w, w)
    x = signals.make_signal("sine", T_MAX, D_MAX)
    trace, grads = everything_a_page_shows(params, x)
    if choice != "rnn_relu":
        assert np.all(np.abs(trace.output) <= 1.0), "a squashing cell's h stays within [-1, 1]"
        assert numerics.describe_overflow(trace) is None


@pytest.mark.parametrize("choice", CHOICES)
@pytest.mark.parametrize("seed", [3])
def test_largest_widget_values(choice, seed):
    """scale 5, H 32, three layers, 100 steps, the BPTT page's largest spectral radius: all finite."""
    params = presets.network_params(choice, D_MAX, H_MAX, L_MAX, seed=seed, scale=SCALE_MAX)
    params = presets.rescale_recurrent(params, 3.0)
    for kind in ("step", "random"):
        x = signals.make_signal(kind, T_MAX, D_MAX, seed=seed)
        trace, grads = everything_a_page_shows(params, x)
        assert np.all(np.isfinite(trace.output))


def test_saturated_tanh_shows_as_plus_or_minus_one():
    params = with_weights(presets.network_params("rnn_tanh", 1, 2, 1, seed=0), 1e6, 1e6)
    trace = rnnviz.forward(params, signals.make_signal("step", 4, 1))
    np.testing.assert_array_equal(trace.output, 1.0)  # exact: tanh of 1e6 rounds to 1
    dot = rgraph.unfolded_graph(trace, values=True).source
    assert "[1, 1]" in dot, "saturated units are labelled 1"


def exploding_relu(T: int = T_MAX, L: int = 1) -> tuple[rnnviz.Params, np.ndarray]:
    """A ReLU RNN whose state grows a million times per step: float64 overflows after ~50 steps."""
    params = with_weights(presets.network_params("rnn_relu", 8, H_MAX, L, seed=1), 1e6, 1e6)
    return params, signals.make_signal("step", T, 8)


def test_exploding_relu_overflows_quietly_and_says_so():
    params, x = exploding_relu()
    trace, grads = everything_a_page_shows(params, x)
    assert np.isinf(trace.output[-1]).all()
    layer, t = numerics.first_overflow(trace)
    assert layer == 1 and 40 < t < 60
    text = numerics.describe_overflow(trace, grads)
    assert f"step t = {t}" in text and "inf" in text and "gradients overflowed" in text


def test_overflow_then_inf_minus_inf_is_labelled_overflow_not_nan():
    """Mixed-sign recurrent weights: inf - inf leaves nan; labels say overflow, plots leave gaps."""
    params, x = exploding_relu(T=80, L=2)
    lp = params.layers[1]
    W_hh = lp.W_hh.copy()
    W_hh[:, ::2] *= -1  # half the recurrent inputs negative: inf - inf once h overflows
    params = replace(params, layers=(params.layers[0], replace(lp, W_hh=W_hh)))
    trace, grads = everything_a_page_shows(params, x)
    assert np.isnan(trace.layers[1].pre["a"]).any()
    dot = rgraph.unfolded_graph(trace, grads=grads, values=True, max_steps=200).source
    assert "overflow" in dot
    assert numerics.describe_overflow(trace).startswith("The values in layer 1 grew beyond")


def test_uploaded_weights_near_the_float64_limit():
    """A .json file may hold any finite float: 1e304 times an input of 1e6 overflows in the first step."""
    sd = rnnviz.to_state_dict(presets.network_params("lstm", 2, 3, 1, seed=0))
    sd["weight_ih_l0"][:, 0] = 1e304
    sd["weight_ih_l0"][:, 1] = -1e304  # x_1 W - x_2 W: inf - inf
    data = json.dumps({"cell": "lstm", "state_dict": {k: v.tolist() for k, v in sd.items()}}).encode()
    params = rnnviz.load_weights(data, "huge.json")
    x = signals.make_signal("custom", 10, 2, custom="1e6, -1e6, 1e6")
    trace, grads = everything_a_page_shows(params, x)
    assert numerics.first_overflow(trace) is not None
    assert "step t = 1" in numerics.describe_overflow(trace)


def test_neuron_page_extremes_are_finite():
    """The neuron page's widest settings (|W| <= 5, 100 steps, input up to 1e6) stay in range."""
    for act in ("relu", "linear"):
        params = neuron.neuron_params(5.0, 5.0, 5.0, act)
        x = signals.make_signal("custom", T_MAX, 1, custom="1e6")
        trace = rnnviz.forward(params, x, h0=[[5.0]])
        assert numerics.describe_overflow(trace) is None
        assert_clean_figure(figures.signal_figure(x[:, 0], trace.output[:, 0], y0=5.0))
        assert_clean_dot(rgraph.unfolded_graph(trace, neuron=True, values=True, highlight_step=T_MAX).source)
        assert "nan" not in neuron.neuron_latex(trace, T_MAX)


def test_log_plots_cope_with_zeros_and_infinities():
    """Vanished (exact 0) and exploded (inf) gradient norms in one figure: finite JSON, both named."""
    vanishing = presets.rescale_recurrent(presets.network_params("rnn_relu", 1, 4, 1, seed=0), 0.0)
    trace = rnnviz.forward(vanishing, signals.make_signal("impulse", 30, 1))
    zeros = bptt.loss_backward(vanishing, trace, "last").dh_norm[0]
    assert (zeros[:-1] == 0).all()
    params, x = exploding_relu()
    exploding = bptt.loss_backward(params, rnnviz.forward(params, x), "every").dh_norm[0]
    assert np.isinf(exploding).any()
    fig = figures.grad_norm_figure({"vanishing": zeros, "exploding": exploding, "empty": np.zeros(0)})
    assert_clean_figure(fig)
    text = fig.to_json()
    assert "0 (vanished)" in text and "inf (exploded)" in text


def test_norms_of_huge_finite_values_are_exact():
    v = np.array([3e200, 4e200])
    assert numerics.norm(v) == pytest.approx(5e200)  # rounding: scaled by the largest entry
    assert kernel.norm(v) == pytest.approx(5e200)  # rounding
    np.testing.assert_allclose(numerics.row_norms(np.array([[3e200, 4e200], [0, 0]])), [5e200, 0])  # rounding
    assert np.isinf(numerics.norm([np.inf, 1.0])) and np.isnan(numerics.norm([np.nan, 1.0]))


@pytest.mark.parametrize("size", [1, 2, 7, 256, 257, 1000])  # norm's math.hypot path up to 256 entries
def test_norm_agrees_with_row_norms_at_every_magnitude(size):
    rng = np.random.default_rng(size)
    for exponent in (-320, -300, -160, -1, 0, 1, 160, 300, 307):
        v = rng.normal(size=size) * 10.0**exponent
        assert numerics.norm(v) == pytest.approx(numerics.row_norms(v[None])[0], rel=1e-14, abs=0)  # summation order
    tiny = np.full(size, 5e-324)  # subnormals: no underflow to 0
    assert numerics.norm(tiny) == pytest.approx(numerics.row_norms(tiny[None])[0], rel=1e-14)  # summation order
    for bad in ([np.inf], [np.nan], [np.inf, np.nan], [-np.inf, np.nan, 1.0]):
        v = np.concatenate([rng.normal(size=size), bad])
        expected = numerics.row_norms(v[None])[0]  # nan if any nan, else inf
        assert (np.isnan(numerics.norm(v)) and np.isnan(expected)) or numerics.norm(v) == expected


def test_describe_overflow_is_silent_for_finite_traces():
    params = presets.network_params("gru", 3, 4, 2, seed=0)
    trace = rnnviz.forward(params, signals.make_signal("random", 12, 3))
    assert numerics.first_overflow(trace) is None
    assert numerics.describe_overflow(trace, bptt.loss_backward(params, trace, "every")) is None


def test_figures_import_pandas_whole_before_plotly_looks_it_up():
    """Concurrent first page views on a fresh server raised "partially initialized module 'pandas'"
    (benchmarks/load_test.py): plotly takes pandas from sys.modules while another thread imports it."""
    code = "import sys, rnnviz.drawing.figures; assert hasattr(sys.modules['pandas'], 'Series')"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=pathlib.Path(__file__).resolve().parent.parent)
