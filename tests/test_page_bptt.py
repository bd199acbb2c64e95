"""AppTest of the Backprop through time page: defaults, the largest settings, what the controls
change, the finite-difference check, the URL and bad input.

The number widgets at both ends of their ranges: test_pages.py.
"""

from __future__ import annotations

import pathlib

import numpy as np
import pytest
from conftest import assert_clean, charts, dot_steps, drawings, open_tab, plotly_array, run_page
from streamlit.testing.v1 import AppTest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PAGE = "pages/bptt.py"


def series(at: AppTest, key: str) -> dict[str, np.ndarray]:
    """The y values of every line of the chart with this widget key, by name."""
    return {d["name"]: plotly_array(d["y"]) for d in charts(at)[f"bptt:{key}"]["data"]}


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_defaults():
    at = run_page(PAGE)
    assert_clean(at)
    assert at.title[0].value == "Backprop through time"
    tabs = ["||dL/dh_t|| at every step", "On the unfolded graph", "RNN vs LSTM vs GRU", "||∂h_T/∂h_t||"]
    assert [t.label for t in at.tabs] == tabs
    assert list(charts(at)) == ["bptt:norms"] and not drawings(at)  # the hidden tabs compute nothing
    assert list(series(at, "norms")) == ["layer 1"]
    assert list(series(open_tab(at, "bptt:bview", "RNN vs LSTM vs GRU"), "cells")) == ["RNN", "LSTM", "GRU"]
    assert list(charts(at)) == ["bptt:cells"] and at.query_params["bview"] == "cells"
    assert list(series(open_tab(at, "bptt:bview", "||∂h_T/∂h_t||"), "jacobian")) == ["layer 1"]
    assert list(charts(at)) == ["bptt:jacobian"] and at.query_params["bview"] == "jacobian"
    open_tab(at, "bptt:bview", "On the unfolded graph")
    assert not charts(at) and at.query_params["bview"] == "graph"
    [drawing] = drawings(at)
    assert dot_steps(drawing) == [1, 2, 3, 4, 5]
    open_tab(at, "bptt:bview", "||dL/dh_t|| at every step")
    # the last step's gradient is the loss's own: dL/dh_T = (1, 1) for H = 2
    assert series(at, "norms")["layer 1"][-1] == pytest.approx(np.sqrt(2))  # sqrt rounding


@pytest.mark.parametrize("cell", ["rnn_tanh", "rnn_relu", "lstm", "gru"])
@pytest.mark.parametrize("loss", ["last", "every"])
def test_every_cell_and_loss_at_the_largest_size(cell, loss):
    query = {"cell": cell, "loss": loss, "T": "100", "H": "32", "L": "3", "D": "8", "scale": "5", "radius": "3"}
    at = run_page(PAGE, {**query, "trunc": "7", "clip": "0.5", "signal": "random"})
    assert not at.exception, [e.value for e in at.exception]
    lines = [name for name in series(at, "norms") if ":" not in name]  # "name: 0 (vanished)" are markers
    assert lines == ["layer 1", "layer 2", "layer 3", "layer 3, full BPTT"]
    assert len(series(open_tab(at, "bptt:bview", "RNN vs LSTM vs GRU"), "cells")["GRU"]) == 100
    assert not at.exception, [e.value for e in at.exception]
    assert len(series(open_tab(at, "bptt:bview", "||∂h_T/∂h_t||"), "jacobian")["layer 3"]) == 100
    assert not at.exception, [e.value for e in at.exception]


def test_spectral_radius_moves_the_first_step_by_orders_of_magnitude():
    at = run_page(PAGE, {"cell": "rnn_tanh", "T": "20"})
    at.slider(key="bptt:radius").set_value(0.5).run()
    small = series(at, "norms")["layer 1"][0]
    at.slider(key="bptt:radius").set_value(1.5).run()
    large = series(at, "norms")["layer 1"][0]
    assert_clean(at)
    assert abs(np.log10(small) - np.log10(large)) > 3


def test_loss_on_every_step_puts_gradient_on_every_step():
    at = run_page(PAGE, {"cell": "rnn_tanh", "T": "30", "radius": "0.3"})
    last = series(at, "norms")["layer 1"]
    at.radio(key="bptt:loss").set_value("every").run()
    every = series(at, "norms")["layer 1"]
    assert last[0] < 1e-6 and every[0] > 0.5  # vanished from the last step; direct from its own


def test_truncation_cuts_the_gradient_and_adds_the_full_line():
    at = run_page(PAGE, {"cell": "lstm", "T": "12"})
    at.slider(key="bptt:trunc").set_value(4).run()
    assert_clean(at)
    lines = series(at, "norms")
    assert "layer 1, full BPTT" in lines
    assert np.all(np.isnan(lines["layer 1"][:8]))  # exact zeros: drawn as 'vanished' markers, not on the line
    assert np.all(lines["layer 1, full BPTT"] > 0)


def test_clipping_caps_the_global_norm():
    at = run_page(PAGE, {"cell": "rnn_relu", "T": "30", "radius": "1.5"})
    before = float(metrics(at)["Global norm of dL/dW"])
    assert before > 10
    at.slider(key="bptt:clip").set_value(5.0).run()
    m = metrics(at)
    assert float(m["After clipping at 5"]) == pytest.approx(5.0, rel=1e-3)  # display rounding: 4 digits
    assert float(m["Scale factor"]) == pytest.approx(5.0 / before, rel=1e-3)  # display rounding


@pytest.mark.parametrize("cell", ["rnn_tanh", "lstm", "gru"])
def test_finite_difference_agrees_with_bptt(cell):
    at = run_page(PAGE, {"cell": cell, "L": "2", "H": "3", "D": "2", "signal": "random", "T": "8"})
    weight = at.selectbox(key=f"bptt:fd-key:{cell}:2")
    weight.set_value("weight_hh_l0").run()
    m = metrics(at)
    assert float(m["Relative error"]) < 1e-6
    assert float(m["BPTT dL/dw"]) == pytest.approx(float(m["(L(w+ε) − L(w−ε)) / 2ε"]), rel=1e-5)  # finite difference


def test_a_vanished_gradient_is_not_checked_against_rounding_noise():
    at = run_page(PAGE, {"cell": "rnn_tanh", "T": "100", "radius": "0.2", "loss": "last"})
    at.selectbox(key="bptt:fd-key:rnn_tanh:1").set_value("weight_ih_l0").run()
    assert_clean(at)
    assert metrics(at)["Relative error"] == "n/a"
    assert any("below what a finite difference can resolve" in i.value for i in at.info)  # an info: no alarm colour


def test_url_round_trip():
    query = {
        "cell": "gru",
        "H": "4",
        "T": "9",
        "loss": "every",
        "radius": "2.5",
        "clip": "3",
        "trunc": "4",
        "bview": "jacobian",
    }
    at = run_page(PAGE, query)
    assert_clean(at)
    assert not at.warning
    assert at.slider(key="bptt:radius").value == 2.5  # exact: parsed from the link
    assert at.radio(key="bptt:loss").value == "every"
    written = at.query_params
    assert {k: written[k] for k in query} == query
    assert list(charts(at)) == ["bptt:jacobian"]


def test_bad_url_parameters_get_a_notice():
    at = run_page(PAGE, {"radius": "9", "loss": "sometimes", "trunc": "abc"})
    assert_clean(at)
    notice = at.warning[0].value
    assert "'radius=9' is outside" in notice and "sometimes" in notice and "'trunc=abc' is not a number" in notice
    assert at.slider(key="bptt:radius").value == 3.0  # exact: clamped to the top of the range


def test_bad_custom_signal_shows_an_error_and_keeps_the_last_good_input():
    at = run_page(PAGE, {"signal": "custom", "custom": "1, 0, 3"})
    assert_clean(at)
    before = series(at, "norms")["layer 1"]
    at.text_input(key="bptt:custom").set_value("1, inf").run()
    assert not at.exception
    assert "entry 2" in at.error[0].value
    np.testing.assert_array_equal(series(at, "norms")["layer 1"], before)  # exact: the same input, the same calls


def test_finite_difference_widgets_at_their_extremes():
    at = run_page(
        PAGE, {"cell": "lstm", "H": "32", "L": "3", "T": "100", "D": "8", "signal": "random", "loss": "every"}
    )
    at.selectbox(key="bptt:fd-key:lstm:3").set_value("weight_hh_l2").run()
    at.number_input(key="bptt:fd-row:weight_hh_l2:(128, 32)").set_value(127).run()
    at.number_input(key="bptt:fd-col:weight_hh_l2:(128, 32)").set_value(31).run()
    assert_clean(at)
    assert any("gate o, unit 32, from h_(t-1) unit 32" in c.value for c in at.caption)
    assert float(metrics(at)["Relative error"]) < 1e-5
    at.selectbox(key="bptt:fd-key:lstm:3").set_value("bias_hh_l0").run()
    at.number_input(key="bptt:fd-row:bias_hh_l0:(128,)").set_value(127).run()
    assert_clean(at)


def test_a_dead_weight_is_reported_as_exactly_zero():
    at = run_page(PAGE, {"cell": "rnn_tanh", "T": "3", "signal": "custom", "custom": "0, 0, 0"})
    at.selectbox(key="bptt:fd-key:rnn_tanh:1").set_value("weight_ih_l0").run()  # x = 0: dL/dW_ih = 0
    assert_clean(at)
    assert any("exactly 0" in i.value for i in at.info)
