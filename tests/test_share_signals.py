"""URL parameters, input signals, presets and the neuron helpers: the parsers of user input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rnnviz
from rnnviz.engine import neuron, presets, signals
from ui import share


def test_query_round_trip_reproduces_every_setting():
    values = share.defaults()
    values.update({"T": 37, "cell": "gru", "wx": -1.3, "values": False, "custom": "1, 2, 3", "radius": 0.25})
    parsed, notices = share.parse_query(share.to_query(values, values))
    assert notices == []
    assert parsed == values


@pytest.mark.parametrize(
    "query,expected,fragment",
    [
        ({"T": "1000"}, {"T": 100}, "outside"),
        ({"T": "-4"}, {"T": 1}, "outside"),
        ({"T": "2.5"}, {"T": 2}, "whole number"),
        ({"H": "abc"}, {"H": 2}, "not a number"),
        ({"wx": "nan"}, {"wx": 1.0}, "finite"),
        ({"wx": "inf"}, {"wx": 1.0}, "finite"),
        ({"cell": "transformer"}, {"cell": "lstm"}, "not one of"),
        ({"values": "maybe"}, {"values": True}, "on/off"),
        ({"custom": "9" * 600}, {"custom": "9" * 500}, "cut"),
        ({"nonsense": "1"}, {}, "unknown"),
    ],
)
def test_bad_query_values_are_clamped_or_ignored_with_a_notice(query, expected, fragment):
    parsed, notices = share.parse_query(query)
    assert parsed == expected
    assert len(notices) == 1 and fragment in notices[0]


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=12), st.text(max_size=60), max_size=12))
def test_any_query_gives_valid_settings(query):
    parsed, notices = share.parse_query(query)
    for name, value in parsed.items():
        spec = share.SETTINGS[name]
        if spec.kind in ("int", "float"):
            assert spec.low <= value <= spec.high
        elif spec.kind == "choice":
            assert value in spec.choices
    assert all(isinstance(n, str) for n in notices)


def test_custom_signal_parsing():
    # exact: parsing "0.2" gives the double nearest 0.2, as the literal does
    np.testing.assert_array_equal(signals.parse_custom("1, 0, 0, 2"), [1, 0, 0, 2])
    np.testing.assert_array_equal(signals.parse_custom(" -1.5 ,2e-1,  +3, .5, 4. "), [-1.5, 0.2, 3, 0.5, 4])
    for bad, fragment in [
        ("", "empty"),
        ("1,,2", "entry 2 .* empty"),  # an empty entry is a typo, not a separator
        ("1, 2,", "entry 3 .* empty"),
        ("1_000", "entry 1 .* not a number"),  # Python's float() reads 1000
        ("1;2;3", "entry 1 .* not a number"),  # the grammar is commas
        ("1 2 3", "entry 1 .* not a number"),
        ("1, inf", "entry 2 .* not a number"),
        ("1, two", "entry 2"),
        ("1e400", "entry 1"),
        ("nan", "entry 1"),
        ("1" * 3000, "characters"),
        (", ".join(["1"] * 600), "values"),
    ]:
        with pytest.raises(ValueError, match=fragment):
            signals.parse_custom(bad)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_custom_signal_parser_never_raises_anything_else(text):
    try:
        values = signals.parse_custom(text)
    except ValueError as err:
        assert str(err)
    else:
        assert values.ndim == 1 and np.all(np.isfinite(values))


def test_signals_have_the_right_shape_and_values():
    # exact: the values are written out (unit k gets x / k: 1 / 2 = 0.5 exactly)
    np.testing.assert_array_equal(signals.make_signal("impulse", 4)[:, 0], [1, 0, 0, 0])
    np.testing.assert_array_equal(signals.make_signal("step", 3, 2), [[1, 0.5]] * 3)
    np.testing.assert_array_equal(signals.make_signal("custom", 6, custom="1, 2")[:, 0], [1, 2, 0, 0, 0, 0])
    np.testing.assert_array_equal(signals.make_signal("custom", 2, custom="1, 2, 3")[:, 0], [1, 2])
    assert signals.make_signal("sine", 9)[8, 0] == pytest.approx(0.0, abs=1e-12)  # rounding: sin(2 pi); period 8
    r = signals.make_signal("random", 5, 3, seed=4)
    np.testing.assert_array_equal(r, signals.make_signal("random", 5, 3, seed=4))  # exact: the same call and seed
    assert r.shape == (5, 3)


def test_fit_steps_cuts_or_pads_with_zeros():
    x = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    np.testing.assert_array_equal(signals.fit_steps(x, 2), [[1, 2], [3, 4]])
    np.testing.assert_array_equal(signals.fit_steps(x, 5), [[1, 2], [3, 4], [5, 6], [0, 0], [0, 0]])
    np.testing.assert_array_equal(signals.fit_steps(x, 3), x)


def test_presets_saturate_the_named_gate():
    x = signals.make_signal("impulse", 10)
    latch = rnnviz.forward(presets.network_params("lstm", 1, 3, preset="latch"), x)
    assert latch.gates[0]["f"].min() > 0.99
    assert np.abs(latch.cell[0][-1] - latch.cell[0][0]).max() < 0.05  # remembered for 10 steps
    assert rnnviz.forward(presets.network_params("lstm", 1, 3, preset="reset"), x).gates[0]["f"].max() < 0.01
    assert rnnviz.forward(presets.network_params("lstm", 1, 3, preset="shut"), x).gates[0]["i"].max() < 0.01
    z = rnnviz.forward(presets.network_params("gru", 1, 3, preset="leaky"), x).gates[0]["z"]
    assert np.abs(z - 0.8).max() < 0.02
    with pytest.raises(ValueError, match="LSTM"):
        presets.network_params("gru", 1, 3, preset="latch")


def test_rescale_recurrent_sets_the_spectral_radius():
    p = presets.rescale_recurrent(rnnviz.init_params("gru", 2, 5, 2, seed=1), 1.7)
    for lp in p.layers:
        for g in range(3):
            assert presets.spectral_radius(lp.W_hh[g * 5 : (g + 1) * 5]) == pytest.approx(1.7)  # eigenvalue rounding


def test_neuron_is_the_rnn_cell_with_one_unit():
    p = neuron.neuron_params(0.5, -2.0, 0.1, "tanh")
    sd = rnnviz.to_state_dict(p)
    assert sd["weight_ih_l0"][0, 0] == 0.5 and sd["weight_hh_l0"][0, 0] == -2.0 and sd["bias_ih_l0"][0] == 0.1
    trace = rnnviz.forward(p, [[1.0], [0.0]], h0=[[0.3]])
    latex = neuron.neuron_latex(trace, 2)
    y1 = np.tanh(0.5 * 1 - 2 * 0.3 + 0.1)
    y2 = np.tanh(0.5 * 0 - 2 * y1 + 0.1)
    assert latex.startswith(r"\begin{aligned} y_{2} &= \tanh(W_x\,x_{2} + W_y\,y_{1} + b) \\")
    assert latex.endswith(f"= {y2:.3g} \\end{{aligned}}")
    with pytest.raises(ValueError):
        neuron.neuron_params(float("nan"), 0, 0)


def test_one_cell_vocabulary_for_widgets_links_and_training():
    from rnnviz.engine import cells

    assert list(cells.CELL_LABELS) == list(cells.CELL_CHOICES) == list(share.SETTINGS["cell"].choices)
    assert [cells.cell_kind(c) for c in cells.CELL_CHOICES] == [
        ("rnn", "tanh"),
        ("rnn", "relu"),
        ("lstm", "tanh"),
        ("gru", "tanh"),
    ]
    assert cells.cell_kind("rnn") == ("rnn", "tanh")  # torch's default nonlinearity
    task = rnnviz.make_task("adding", lag=3, train_size=16, val_size=8)
    for choice in cells.CELL_CHOICES:  # training takes every choice the widgets offer
        config = rnnviz.fit(task, choice, hidden_size=2, epochs=1).config
        assert (config.cell, config.nonlinearity) == cells.cell_kind(choice)
    for bad in ("rnn_sigmoid", "transformer", None, "RNN"):
        with pytest.raises(ValueError, match="unknown cell"):
            cells.cell_kind(bad)
