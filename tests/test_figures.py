"""Figures: the plotted data is the trace's data, steps are 1-based, nothing non-finite reaches plotly.

The plotted numbers are compared bit for bit: a figure holds copies of the arrays it is given
(no arithmetic on them), so they are exact on any machine.
"""

import json

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest
from conftest import json_numbers

import rnnviz
from rnnviz.drawing.figures import (
    COLORS,
    compare_figure,
    gates_figure,
    grad_norm_figure,
    heatmap_figure,
    loss_figure,
    prediction_figure,
    signal_figure,
    units_figure,
)

T, B, D, H = 5, 3, 2, 4  # all different, so a transposed array fails loudly
TITLES = {
    "rnn": ["pre-activation a", "hidden state h"],
    "lstm": ["input gate i", "forget gate f", "candidate g", "output gate o", "cell state c", "hidden state h"],
    "gru": ["reset gate r", "update gate z", "candidate n", "hidden state h"],
}


def make_trace(cell: str, batched: bool = False, num_layers: int = 1):
    params = rnnviz.init_params(cell, D, H, num_layers, seed=3)
    shape = (T, B, D) if batched else (T, D)
    return rnnviz.forward(params, np.random.default_rng(1).normal(size=shape))


def assert_serialisable(fig) -> None:
    assert np.all(np.isfinite(json_numbers(fig)))


def annotation_texts(fig) -> list[str]:
    return [a.text for a in fig.layout.annotations]


def note(fig) -> str:
    return " ".join(a.text for a in fig.layout.annotations if a.name == "note")


def as_float(values) -> np.ndarray:
    """Plotted values as floats; None (a gap) becomes NaN."""
    return np.array(values, dtype=float)


def test_heatmap_is_time_by_unit_with_one_based_ticks():
    values = np.random.default_rng(0).normal(size=(T, H))  # (T, H)
    fig = heatmap_figure(values, title="h")
    heatmap = fig.data[0]
    np.testing.assert_array_equal(heatmap.z, values.T)
    np.testing.assert_array_equal(heatmap.x, np.arange(1, T + 1))
    np.testing.assert_array_equal(heatmap.y, np.arange(1, H + 1))
    assert fig.layout.xaxis.dtick == 1 and fig.layout.xaxis.range == (0.5, T + 0.5)
    assert "t = %{x}" in heatmap.hovertemplate and "unit %{y}" in heatmap.hovertemplate
    assert fig.layout.xaxis.title.text == "time step t" and fig.layout.yaxis.title.text == "unit"
    assert_serialisable(fig)


def test_heatmap_rejects_a_vector():
    with pytest.raises(ValueError, match="T, H"):
        heatmap_figure(np.zeros(T), title="h")


def test_heatmap_with_nan_inf_and_huge_values_is_finite_and_says_so():
    values = np.array([[1.0, np.inf], [np.nan, -1e305], [0.5, -np.inf]])  # (T=3, H=2)
    fig = heatmap_figure(values, title="bad")
    assert_serialisable(fig)
    z = as_float(fig.data[0].z)
    np.testing.assert_array_equal(z, [[1.0, np.nan, 0.5], [1e300, -1e300, -1e300]])
    assert "infinite" in note(fig) and "NaN" in note(fig) and "clipped" in note(fig)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_gates_figure_shows_every_gate_and_state_with_its_name(cell):
    trace = make_trace(cell)
    fig = gates_figure(trace)
    assert annotation_texts(fig) == TITLES[cell]
    expected = {**trace.gates[0], "h": trace.hidden[0]}
    if cell == "lstm":
        expected["c"] = trace.cell[0]
    if cell == "rnn":
        expected["a"] = trace.layers[0].pre["a"]
    shown = {heatmap.name: heatmap for heatmap in fig.data}
    assert list(shown) == TITLES[cell]
    for title, name in zip(TITLES[cell], [t.split()[-1] for t in TITLES[cell]], strict=True):
        np.testing.assert_array_equal(shown[title].z, expected[name].T)
        np.testing.assert_array_equal(shown[title].x, np.arange(1, T + 1))
    for title in TITLES[cell]:
        if "gate" in title:
            assert (shown[title].zmin, shown[title].zmax) == (0.0, 1.0)
        if title in ("candidate g", "candidate n", "hidden state h"):
            assert (shown[title].zmin, shown[title].zmax) == (-1.0, 1.0)
    assert_serialisable(fig)


def test_gates_figure_cell_state_range_is_symmetric():
    trace = make_trace("lstm")
    c = next(heatmap for heatmap in gates_figure(trace).data if heatmap.name == "cell state c")
    assert c.zmin == -c.zmax == -np.abs(trace.cell[0]).max()


def test_gates_figure_picks_the_layer_and_the_batch_element():
    trace = make_trace("gru", batched=True, num_layers=2)
    fig = gates_figure(trace, layer=1, batch_index=2)
    np.testing.assert_array_equal(fig.data[1].z, trace.gates[1]["z"][:, 2].T)
    np.testing.assert_array_equal(fig.data[-1].z, trace.hidden[1][:, 2].T)
    assert "layer 2" in fig.layout.title.text
    with pytest.raises(ValueError, match="batch_index"):
        gates_figure(trace, batch_index=B)
    with pytest.raises(ValueError, match="layer"):
        gates_figure(trace, layer=2)


def test_units_figure_plots_the_chosen_units_in_the_quantity_colour():
    trace = make_trace("lstm")
    fig = units_figure(trace, units=(0, 3))
    assert annotation_texts(fig) == ["hidden state h", "cell state c"] + TITLES["lstm"][:4]
    lines = {line.name: line for line in fig.data}
    np.testing.assert_array_equal(lines["h unit 4"].y, trace.hidden[0][:, 3])
    np.testing.assert_array_equal(lines["f unit 1"].y, trace.gates[0]["f"][:, 0])
    np.testing.assert_array_equal(lines["c unit 1"].x, np.arange(1, T + 1))
    assert lines["h unit 1"].line.color == lines["h unit 4"].line.color == COLORS["h"]
    assert lines["h unit 1"].line.dash != lines["h unit 4"].line.dash
    assert_serialisable(fig)


def test_units_figure_batched_and_bad_choices():
    trace = make_trace("rnn", batched=True)
    fig = units_figure(trace, units=(1,), batch_index=1, quantities=["h", "a"])
    np.testing.assert_array_equal(fig.data[0].y, trace.hidden[0][:, 1, 1])
    np.testing.assert_array_equal(fig.data[1].y, trace.layers[0].pre["a"][:, 1, 1])
    with pytest.raises(ValueError, match="units"):
        units_figure(trace, units=(H,))
    with pytest.raises(ValueError, match="no quantity 'c'"):
        units_figure(trace, quantities=["c"])


def test_compare_figure_puts_each_cell_on_one_plot():
    traces = {cell.upper(): make_trace(cell) for cell in ("rnn", "lstm", "gru")}
    fig = compare_figure(traces, "h", unit=2)
    assert [line.name for line in fig.data] == ["RNN", "LSTM", "GRU"]
    for line, trace in zip(fig.data, traces.values(), strict=True):
        np.testing.assert_array_equal(line.y, trace.hidden[0][:, 2])
        np.testing.assert_array_equal(line.x, np.arange(1, T + 1))
    assert [line.line.color for line in fig.data] == [COLORS["rnn"], COLORS["lstm"], COLORS["gru"]]
    with pytest.raises(ValueError, match="unit"):
        compare_figure(traces, unit=H)


def test_grad_norm_figure_plots_backward_norms_on_a_log_axis():
    trace = make_trace("lstm")
    params = trace.params
    grads = rnnviz.backward(params, trace, np.ones_like(trace.output))
    fig = grad_norm_figure({"dh": grads.dh_norm[0], "dc": grads.dc_norm[0]})
    assert fig.layout.yaxis.type == "log"
    np.testing.assert_array_equal(as_float(fig.data[0].y), grads.dh_norm[0])
    np.testing.assert_array_equal(fig.data[1].x, np.arange(1, T + 1))
    assert note(fig) == ""
    assert_serialisable(fig)


def test_grad_norm_figure_copes_with_zero_inf_and_nan():
    norms = np.array([0.0, 0.0, 1e-8, 1e-3, np.inf, np.nan, 2.0])
    fig = grad_norm_figure({"layer 1": norms})
    assert_serialisable(fig)
    line = as_float(fig.data[0].y)
    np.testing.assert_array_equal(line, [np.nan, np.nan, 1e-8, 1e-3, np.nan, np.nan, 2.0])
    zeros, infinite = fig.data[1], fig.data[2]
    np.testing.assert_array_equal(zeros.x, [1, 2])
    assert np.all(as_float(zeros.y) < 1e-8)  # below everything plotted, above 0
    np.testing.assert_array_equal(infinite.x, [5])
    assert np.all(as_float(infinite.y) > 2.0)
    text = note(fig)
    assert "0 (vanished) at t = 1-2" in text and "inf (exploded) at t = 5" in text and "NaN at t = 6" in text


def test_grad_norm_figure_all_zero_still_serialises():
    fig = grad_norm_figure({"dh": np.zeros(T)})
    assert_serialisable(fig)
    assert "vanished" in note(fig)


def test_loss_figure_epochs_are_one_based():
    history = {"train_loss": [1.0, 0.5, 0.25], "val_loss": [1.2, 0.7, 0.6]}
    fig = loss_figure(history)
    for line, values in zip(fig.data, history.values(), strict=True):
        np.testing.assert_array_equal(line.x, [1, 2, 3])
        np.testing.assert_array_equal(line.y, values)
    assert [line.line.color for line in fig.data] == [COLORS["train_loss"], COLORS["val_loss"]]
    assert fig.layout.xaxis.title.text == "epoch"


def test_loss_figure_log_axis_with_a_zero_loss():
    fig = loss_figure({"train_loss": [1.0, 0.1, 0.0]}, log_y=True)
    assert fig.layout.yaxis.type == "log"
    assert_serialisable(fig)
    assert "epoch = 3" in note(fig)


def test_prediction_figure():
    target, prediction, baseline = np.sin(np.arange(T)), np.cos(np.arange(T)), np.zeros(T)
    fig = prediction_figure(target, prediction, baseline=baseline)
    assert [line.name for line in fig.data] == ["target", "prediction", "baseline"]
    for line, values in zip(fig.data, (target, prediction, baseline), strict=True):
        np.testing.assert_array_equal(line.y, values)
        np.testing.assert_array_equal(line.x, np.arange(1, T + 1))
    with pytest.raises(ValueError, match="lengths differ"):
        prediction_figure(target, prediction[:-1])


def test_signal_figure_draws_y0_at_t_zero():
    x, y = np.array([1.0, 0.0, -1.0]), np.array([0.5, 0.2, -0.4])
    fig = signal_figure(x, y, y0=0.1)
    np.testing.assert_array_equal(fig.data[0].x, [1, 2, 3])
    np.testing.assert_array_equal(fig.data[0].y, x)
    np.testing.assert_array_equal(fig.data[1].x, [0, 1, 2, 3])
    np.testing.assert_array_equal(fig.data[1].y, [0.1, 0.5, 0.2, -0.4])
    assert [line.name for line in fig.data] == ["input x_t", "output y_t"]
    assert fig.layout.xaxis.dtick == 1
    without = signal_figure(x, y)
    np.testing.assert_array_equal(without.data[1].x, [1, 2, 3])


def test_long_sequences_get_integer_ticks():
    fig = heatmap_figure(np.zeros((200, 3)), title="long")
    assert fig.layout.xaxis.dtick == 20
    assert fig.layout.yaxis.dtick == 1


def all_figures():
    lstm, gru = make_trace("lstm", batched=True), make_trace("gru")
    return [
        signal_figure(np.arange(3.0), np.arange(3.0)),
        heatmap_figure(np.eye(3), title="eye"),
        gates_figure(lstm, batch_index=1),
        units_figure(gru),
        compare_figure({"gru": gru}),
        grad_norm_figure({"dh": np.array([1.0, 0.0])}),
        loss_figure({"train_loss": [1.0]}),
        prediction_figure([1.0, 2.0], [1.5, 2.5]),
    ]


def assert_white_template(fig):
    """plotly_white, cut to what the figure draws: its layout settings, and its defaults for every trace type used."""
    white = pio.templates["plotly_white"].to_plotly_json()
    used = fig.layout.template.to_plotly_json()
    for key, value in used["layout"].items():
        assert value == white["layout"][key], key
    unused_subplots = {"polar", "ternary", "scene", "geo", "mapbox", "map"}
    assert {key for key in white["layout"] if key not in used["layout"]} <= unused_subplots
    for kind in {trace.type for trace in fig.data} | {"scatter", "heatmap"}:
        assert used["data"][kind] == white["data"][kind], kind


def test_every_figure_is_projector_ready_and_deterministic():
    for fig, again in zip(all_figures(), all_figures(), strict=True):
        assert fig.to_json() == again.to_json()
        assert_white_template(fig)
        assert fig.layout.font.size >= 14 and fig.layout.height >= 300
        x_titles = [axis.title.text for axis in fig.select_xaxes()]
        assert fig.layout.title.text and set(x_titles) & {"time step t", "epoch"}
        assert_serialisable(fig)


def test_figures_are_built_as_plotly_validation_would_make_them():
    """The figures skip plotly's validation (for speed): running it over them must change nothing."""
    odd = np.array([0.0, 1e-3, np.inf, np.nan, 2.0])
    rnn = make_trace("rnn")
    extra = [
        heatmap_figure(np.array([[1.0, np.nan], [np.inf, -2.0]]), title="odd"),  # a note, None gaps, zmid
        heatmap_figure(np.eye(2), title="pairs", colorscale=[[0, "white"], [1, "black"]], zmin=0, zmax=1),
        gates_figure(rnn),
        units_figure(make_trace("lstm"), units=(0, 2)),
        grad_norm_figure({"a": odd, "b": np.ones(5)}),  # zeros and infinities as marks
        loss_figure({"train_loss": [1.0, 0.0]}, log_y=True),
        signal_figure(np.array([np.nan, 1.0]), np.array([0.5, -1e305]), y0=0.0),
    ]
    for fig in all_figures() + extra:
        validated = go.Figure(fig.to_dict())  # plotly checks and coerces every property here
        assert json.loads(validated.to_json()) == json.loads(fig.to_json())


def test_changes_to_a_returned_figure_are_validated():
    fig = gates_figure(make_trace("gru"))
    with pytest.raises(ValueError, match="Invalid property"):
        fig.update_layout(not_a_property=1)
    with pytest.raises(ValueError, match="Invalid property"):
        fig.data[0].update(not_a_property=1)
    fig.update_layout(height=500)  # a valid change still works
    assert fig.layout.height == 500
