"""AppTest of the Gates and states page: defaults, every widget at its extremes, presets, the URL, bad input."""

from __future__ import annotations

import base64
import json
import pathlib

import numpy as np
import pytest
from conftest import assert_clean, run_page
from streamlit.testing.v1 import AppTest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PAGE = "pages/gates.py"


def open_page(query: dict[str, str] | None = None) -> AppTest:
    return run_page(PAGE, query, timeout=120)


def figure(at: AppTest, key: str) -> dict:
    """The plotly figure (data and layout) of the chart with this widget key."""
    charts = [c for c in at.get("plotly_chart") if c.proto.id.endswith(f"-gates:{key}")]
    assert len(charts) == 1, f"expected one chart {key!r}"
    return json.loads(charts[0].proto.spec)


def array(value) -> np.ndarray:
    """A plotly data array: a plain list, or plotly's typed-array encoding {bdata, dtype, shape}."""
    if isinstance(value, dict) and "bdata" in value:
        a = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        return a.reshape([int(n) for n in str(value.get("shape", a.size)).split(",")])
    return np.array(value, dtype=float)


def heatmap(at: AppTest, name: str) -> np.ndarray:
    traces = [d for d in figure(at, "heatmaps")["data"] if d.get("name") == name]
    assert len(traces) == 1, name
    return array(traces[0]["z"])  # (H, T)


def charts(at: AppTest) -> list[str]:
    return [c.proto.id.rsplit("-gates:", 1)[-1] for c in at.get("plotly_chart")]


def open_tab(at: AppTest, label: str) -> AppTest:
    """Switch tabs as a click does: the tabs' state is the open tab's label."""
    at.session_state["gates:view"] = label
    return at.run()


def test_defaults_render_the_heatmaps_and_each_tab_only_its_own_chart():
    at = open_page()
    assert_clean(at)
    assert at.title[0].value == "Gates and states"
    assert [t.label for t in at.tabs] == ["Every gate and state", "Chosen units over time", "RNN vs LSTM vs GRU"]
    assert charts(at) == ["heatmaps"]  # the hidden tabs build nothing
    names = [d["name"] for d in figure(at, "heatmaps")["data"]]
    assert names == ["input gate i", "forget gate f", "candidate g", "output gate o", "cell state c", "hidden state h"]
    open_tab(at, "Chosen units over time")
    assert_clean(at)
    assert charts(at) == ["units"] and at.query_params["view"] == "units"
    assert figure(at, "units")["data"][0]["name"] == "h unit 1"
    open_tab(at, "RNN vs LSTM vs GRU")
    assert_clean(at)
    assert charts(at) == ["compare"] and at.query_params["view"] == "compare"
    assert {d["name"] for d in figure(at, "compare")["data"]} == {"RNN", "LSTM", "GRU"}


def test_a_link_opens_its_tab_and_a_preset_brings_back_the_heatmaps():
    at = open_page({"view": "compare", "H": "3"})
    assert_clean(at)
    assert charts(at) == ["compare"]
    at.selectbox(key="gates:preset").set_value("latch").run()
    assert_clean(at)
    assert charts(at) == ["heatmaps"]  # the lesson's text is about the heatmaps


@pytest.mark.parametrize(
    ("kind", "key", "low", "high"),
    [
        ("number_input", "D", 1, 8),
        ("slider", "H", 1, 32),
        ("number_input", "L", 1, 3),
        ("number_input", "seed", 0, 9999),
        ("slider", "scale", 0.0, 5.0),
        ("slider", "T", 1, 100),
    ],
)
def test_number_widgets_at_min_and_max(kind, key, low, high):
    at = open_page()
    for value in (low, high):
        getattr(at, kind)(key=f"gates:{key}").set_value(value).run()
        assert_clean(at)


@pytest.mark.parametrize("cell", ["rnn_tanh", "rnn_relu", "lstm", "gru"])
@pytest.mark.parametrize("signal", ["impulse", "step", "sine", "random", "custom"])
def test_every_cell_and_signal_at_the_largest_size(cell, signal):
    at = open_page({"cell": cell, "signal": signal, "T": "100", "H": "32", "L": "3", "D": "8", "scale": "5"})
    assert_clean(at)
    at.radio(key="gates:layer:3").set_value(2).run()
    assert_clean(at)
    assert array(figure(at, "heatmaps")["data"][0]["z"]).shape == (32, 100)
    open_tab(at, "Chosen units over time").multiselect(key="gates:units:32").set_value([0, 31]).run()
    assert_clean(at)
    assert len(figure(at, "units")["data"]) == 2 * len(figure(at, "units")["layout"]["annotations"])
    open_tab(at, "RNN vs LSTM vs GRU").selectbox(key="gates:compare-unit:32").set_value(31).run()
    assert_clean(at)
    assert figure(at, "compare")["layout"]["title"]["text"].endswith("unit 32")


def test_latch_preset_switches_to_lstm_and_holds_the_forget_gate_open():
    at = open_page({"cell": "gru"})
    at.selectbox(key="gates:preset").set_value("latch").run()
    assert_clean(at)
    assert at.selectbox(key="gates:cell").value == "lstm"
    assert heatmap(at, "forget gate f").min() > 0.99
    assert "memory latch" in at.info[0].value


@pytest.mark.parametrize(
    ("preset", "gate", "low", "high"),
    [("reset", "forget gate f", 0, 0.01), ("shut", "input gate i", 0, 0.01), ("leaky", "update gate z", 0.75, 0.85)],
)
def test_presets_pin_their_gate(preset, gate, low, high):
    at = open_page()
    at.selectbox(key="gates:preset").set_value(preset).run()
    assert_clean(at)
    z = heatmap(at, gate)
    assert low <= z.min() and z.max() <= high


def test_changing_the_cell_turns_an_unfitting_preset_off():
    at = open_page({"preset": "latch"})
    at.selectbox(key="gates:cell").set_value("gru").run()
    assert_clean(at)
    assert at.selectbox(key="gates:preset").value == "random"
    assert "update gate z" in [d["name"] for d in figure(at, "heatmaps")["data"]]


def test_no_units_chosen_says_so():
    at = open_page({"view": "units"})
    at.multiselect(key="gates:units:2").set_value([]).run()
    assert_clean(at)
    assert any("at least one unit" in i.value for i in at.info)


def test_url_round_trip():
    query = {"cell": "gru", "D": "3", "H": "5", "L": "2", "T": "12", "seed": "7", "scale": "0.5", "signal": "sine"}
    query["view"] = "heatmaps"
    at = open_page(query)
    assert_clean(at)
    assert not at.warning
    assert at.slider(key="gates:H").value == 5 and at.selectbox(key="gates:cell").value == "gru"
    written = at.query_params
    assert {k: written[k] for k in query} == query
    assert array(figure(at, "heatmaps")["data"][0]["x"]).tolist() == list(range(1, 13))


def test_bad_url_parameters_get_a_notice():
    at = open_page({"H": "999", "cell": "elman", "bogus": "1"})
    assert_clean(at)
    notice = at.warning[0].value
    assert "'H=999' is outside" in notice and "elman" in notice and "bogus" in notice
    assert at.slider(key="gates:H").value == 32


def test_a_link_with_a_preset_and_another_cell_follows_the_preset():
    at = open_page({"preset": "leaky", "cell": "lstm"})
    assert_clean(at)
    assert at.selectbox(key="gates:cell").value == "gru"
    assert any("needs the GRU" in i.value for i in at.info)


def test_bad_custom_signal_shows_an_error_and_keeps_the_last_good_input():
    at = open_page({"signal": "custom", "custom": "1, 0, 3"})
    assert_clean(at)
    before = heatmap(at, "hidden state h")
    at.text_input(key="gates:custom").set_value("1, zwei, 3").run()
    assert not at.exception
    assert "entry 2" in at.error[0].value and "zwei" in at.error[0].value
    np.testing.assert_array_equal(heatmap(at, "hidden state h"), before)
