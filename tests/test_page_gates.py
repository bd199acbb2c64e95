"""AppTest of the Gates and states page: defaults, the largest settings, presets, the URL, bad input.

The number widgets at both ends of their ranges: test_pages.py.
"""

from __future__ import annotations

import pathlib

import numpy as np
import pytest
from conftest import assert_clean, charts, open_tab, plotly_array, run_page
from streamlit.testing.v1 import AppTest

from rnnviz.engine import presets

ROOT = pathlib.Path(__file__).resolve().parent.parent
PAGE = "pages/gates.py"


def heatmap(at: AppTest, name: str) -> np.ndarray:
    traces = [d for d in charts(at)["gates:heatmaps"]["data"] if d.get("name") == name]
    assert len(traces) == 1, name
    return plotly_array(traces[0]["z"])  # (H, T)


def test_defaults_render_the_heatmaps_and_each_tab_only_its_own_chart():
    at = run_page(PAGE)
    assert_clean(at)
    assert at.title[0].value == "Gates and states"
    assert [t.label for t in at.tabs] == ["Every gate and state", "Chosen units over time", "RNN vs LSTM vs GRU"]
    assert list(charts(at)) == ["gates:heatmaps"]  # the hidden tabs build nothing
    names = [d["name"] for d in charts(at)["gates:heatmaps"]["data"]]
    assert names == ["input gate i", "forget gate f", "candidate g", "output gate o", "cell state c", "hidden state h"]
    open_tab(at, "gates:view", "Chosen units over time")
    assert_clean(at)
    assert list(charts(at)) == ["gates:units"] and at.query_params["view"] == "units"
    assert charts(at)["gates:units"]["data"][0]["name"] == "h unit 1"
    open_tab(at, "gates:view", "RNN vs LSTM vs GRU")
    assert_clean(at)
    assert list(charts(at)) == ["gates:compare"] and at.query_params["view"] == "compare"
    assert {d["name"] for d in charts(at)["gates:compare"]["data"]} == {"RNN", "LSTM", "GRU"}


def test_a_link_opens_its_tab_and_a_preset_brings_back_the_heatmaps():
    at = run_page(PAGE, {"view": "compare", "H": "3"})
    assert_clean(at)
    assert list(charts(at)) == ["gates:compare"]
    at.selectbox(key="gates:preset").set_value("latch").run()
    assert_clean(at)
    assert list(charts(at)) == ["gates:heatmaps"]  # the lesson's text is about the heatmaps


@pytest.mark.parametrize("cell", ["rnn_tanh", "rnn_relu", "lstm", "gru"])
@pytest.mark.parametrize("signal", ["impulse", "step", "sine", "random", "custom"])
def test_every_cell_and_signal_at_the_largest_size(cell, signal):
    at = run_page(PAGE, {"cell": cell, "signal": signal, "T": "100", "H": "32", "L": "3", "D": "8", "scale": "5"})
    assert_clean(at)
    at.radio(key="gates:layer:3").set_value(2).run()
    assert_clean(at)
    assert plotly_array(charts(at)["gates:heatmaps"]["data"][0]["z"]).shape == (32, 100)
    open_tab(at, "gates:view", "Chosen units over time").multiselect(key="gates:units:32").set_value([0, 31]).run()
    assert_clean(at)
    assert len(charts(at)["gates:units"]["data"]) == 2 * len(charts(at)["gates:units"]["layout"]["annotations"])
    open_tab(at, "gates:view", "RNN vs LSTM vs GRU").selectbox(key="gates:compare-unit:32").set_value(31).run()
    assert_clean(at)
    assert charts(at)["gates:compare"]["layout"]["title"]["text"].endswith("unit 32")


def test_latch_preset_switches_to_lstm_and_holds_the_forget_gate_open():
    at = run_page(PAGE, {"cell": "gru", "preset": "latch"})  # a link: the preset names its cell
    assert_clean(at)
    assert at.selectbox(key="gates:cell").value == "lstm"
    assert heatmap(at, "forget gate f").min() > 0.99
    assert "memory latch" in at.info[0].value


@pytest.mark.parametrize(
    ("preset", "gate", "low", "high"),
    [("reset", "forget gate f", 0, 0.01), ("shut", "input gate i", 0, 0.01), ("leaky", "update gate z", 0.75, 0.85)],
)
def test_presets_pin_their_gate(preset, gate, low, high):
    at = run_page(PAGE, {"cell": presets.PRESET_CELL[preset]})  # a cell offers its own presets
    at.selectbox(key="gates:preset").set_value(preset).run()
    assert_clean(at)
    z = heatmap(at, gate)
    assert low <= z.min() and z.max() <= high


def test_changing_the_cell_turns_an_unfitting_preset_off():
    at = run_page(PAGE, {"preset": "latch"})
    at.selectbox(key="gates:cell").set_value("gru").run()
    assert_clean(at)
    assert at.selectbox(key="gates:preset").value == "random"
    assert "update gate z" in [d["name"] for d in charts(at)["gates:heatmaps"]["data"]]


def test_no_units_chosen_says_so():
    at = run_page(PAGE, {"view": "units"})
    at.multiselect(key="gates:units:2").set_value([]).run()
    assert_clean(at)
    assert any("at least one unit" in i.value for i in at.info)


def test_url_round_trip():
    query = {"cell": "gru", "D": "3", "H": "5", "L": "2", "T": "12", "seed": "7", "scale": "0.5", "signal": "sine"}
    query["view"] = "heatmaps"
    at = run_page(PAGE, query)
    assert_clean(at)
    assert not at.warning
    assert at.slider(key="gates:H").value == 5 and at.selectbox(key="gates:cell").value == "gru"
    written = at.query_params
    assert {k: written[k] for k in query} == query
    assert plotly_array(charts(at)["gates:heatmaps"]["data"][0]["x"]).tolist() == list(range(1, 13))


def test_bad_url_parameters_get_a_notice():
    at = run_page(PAGE, {"H": "999", "cell": "elman", "bogus": "1"})
    assert_clean(at)
    notice = at.warning[0].value
    assert "'H=999' is outside" in notice and "elman" in notice and "bogus" in notice
    assert at.slider(key="gates:H").value == 32


def test_a_link_with_a_preset_and_another_cell_follows_the_preset():
    at = run_page(PAGE, {"preset": "leaky", "cell": "lstm"})
    assert_clean(at)
    assert at.selectbox(key="gates:cell").value == "gru"
    assert any("is made for the GRU: switched the cell to it" in i.value for i in at.info)


def test_bad_custom_signal_shows_an_error_and_keeps_the_last_good_input():
    at = run_page(PAGE, {"signal": "custom", "custom": "1, 0, 3"})
    assert_clean(at)
    before = heatmap(at, "hidden state h")
    at.text_input(key="gates:custom").set_value("1, zwei, 3").run()
    assert not at.exception
    assert "entry 2" in at.error[0].value and "zwei" in at.error[0].value
    np.testing.assert_array_equal(heatmap(at, "hidden state h"), before)  # exact: the same input, the same calls
