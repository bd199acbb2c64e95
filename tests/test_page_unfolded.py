"""AppTest of the Unfolded graph page: defaults, the largest settings, the URL, bad input.

The number widgets at both ends of their ranges: test_pages.py.
"""

from __future__ import annotations

import pathlib

import pytest
from conftest import assert_clean, dot_steps, drawings, run_page
from streamlit.testing.v1 import AppTest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PAGE = "pages/unfolded.py"


def drawing(at: AppTest) -> str:
    """The one graph the page shows."""
    [graph] = drawings(at)
    return graph


def by_label(elements, label: str):
    matches = [e for e in elements if e.label == label]
    assert len(matches) == 1, f"expected one widget labelled {label!r}, found {len(matches)}"
    return matches[0]


def test_defaults_render_without_exception():
    at = run_page(PAGE)
    assert_clean(at)
    assert at.title[0].value == "The unfolded graph"
    assert dot_steps(drawing(at)) == [1, 2, 3, 4, 5]


def test_largest_network_at_operation_level_collapses():
    at = run_page(PAGE)
    by_label(at.slider, "Sequence length").set_value(100)
    by_label(at.slider, "Hidden size H").set_value(32)
    by_label(at.number_input, "Layers L").set_value(3)
    by_label(at.number_input, "Input size D").set_value(8)
    by_label(at.radio, "Level of detail").set_value("operations")
    by_label(at.toggle, "Show gradients").set_value(True)
    at.run()
    assert_clean(at)
    drawn = dot_steps(drawing(at))
    assert drawn[0] == 1 and drawn[-1] == 100 and len(drawn) < 100
    assert "ellipsis" in drawing(at)


@pytest.mark.parametrize("cell", ["rnn_tanh", "rnn_relu", "lstm", "gru"])
@pytest.mark.parametrize("level", ["cell", "operations"])
def test_every_cell_and_level(cell, level):
    at = run_page(PAGE)
    by_label(at.selectbox, "Cell").set_value(cell)
    by_label(at.radio, "Level of detail").set_value(level)
    by_label(at.toggle, "Show gradients").set_value(True)
    at.run()
    assert_clean(at)
    drawn = dot_steps(drawing(at))
    if level == "cell":
        assert drawn == [1, 2, 3, 4, 5]
    else:  # four steps of operations fit; the rest collapse behind an ellipsis
        assert drawn[0] == 1 and drawn[-1] == 5


@pytest.mark.parametrize("signal", ["impulse", "step", "sine", "random", "custom"])
def test_every_signal(signal):
    at = run_page(PAGE)
    by_label(at.selectbox, "Input signal x_t").set_value(signal).run()
    assert_clean(at)


@pytest.mark.parametrize("label", ["Show values", "Show gradients", "Show weight sharing"])
def test_toggles_both_ways(label):
    at = run_page(PAGE)
    for value in (True, False):
        by_label(at.toggle, label).set_value(value).run()
        assert_clean(at)


def test_sequence_length_5_draws_steps_1_to_5():
    at = run_page(PAGE)
    by_label(at.slider, "Sequence length").set_value(9).run()
    assert dot_steps(drawing(at)) == list(range(1, 10))
    by_label(at.slider, "Sequence length").set_value(5).run()
    assert dot_steps(drawing(at)) == [1, 2, 3, 4, 5]


def test_lesson_presets_and_the_cell_they_are_made_for():
    at = run_page(PAGE)
    for preset in ("latch", "reset", "shut"):
        by_label(at.selectbox, "Lesson preset").set_value(preset).run()
        assert_clean(at)
    by_label(at.selectbox, "Cell").set_value("gru").run()  # latch... presets only fit the LSTM: turned off
    assert_clean(at)
    assert by_label(at.selectbox, "Lesson preset").value == "random"
    by_label(at.selectbox, "Lesson preset").set_value("leaky").run()
    assert_clean(at)


def test_step_through_and_highlight():
    at = run_page(PAGE)
    next_button = [b for b in at.button if b.label == "Next ▶"][0]
    next_button.click().run()
    next_button = [b for b in at.button if b.label == "Next ▶"][0]
    next_button.click().run()
    assert by_label(at.slider, "Highlighted step (0 = none)").value == 2
    [b for b in at.button if b.label == "◀ Back"][0].click().run()
    assert by_label(at.slider, "Highlighted step (0 = none)").value == 1
    by_label(at.slider, "Highlighted step (0 = none)").set_value(5).run()
    by_label(at.slider, "Sequence length").set_value(3).run()  # the highlight follows a shorter sequence
    assert_clean(at)
    assert by_label(at.slider, "Highlighted step (0 = none)").value == 3
    [b for b in at.button if b.label == "▶ Play"][0].click().run()
    assert_clean(at)
    assert [b for b in at.button if b.label == "■ Stop"]


def test_url_parameters_round_trip():
    query = {"cell": "gru", "D": "3", "H": "4", "L": "2", "T": "7", "seed": "42", "scale": "0.5"}
    query |= {"signal": "sine", "level": "operations", "values": "0", "grads": "1", "shared": "0", "hl": "3"}
    at = run_page(PAGE, query)
    assert_clean(at)
    assert not at.warning
    assert by_label(at.selectbox, "Cell").value == "gru"
    assert by_label(at.number_input, "Input size D").value == 3
    assert by_label(at.slider, "Hidden size H").value == 4
    assert by_label(at.number_input, "Layers L").value == 2
    assert by_label(at.slider, "Sequence length").value == 7
    assert by_label(at.number_input, "Seed").value == 42
    assert by_label(at.slider, "Weight scale").value == 0.5  # exact: parsed from the link's text
    assert by_label(at.selectbox, "Input signal x_t").value == "sine"
    assert by_label(at.radio, "Level of detail").value == "operations"
    assert by_label(at.toggle, "Show values").value is False
    assert by_label(at.toggle, "Show gradients").value is True
    assert by_label(at.toggle, "Show weight sharing").value is False
    assert by_label(at.slider, "Highlighted step (0 = none)").value == 3
    for key, value in query.items():
        assert at.query_params[key] == [value] or at.query_params[key] == value


@pytest.mark.parametrize(
    "query",
    [{"T": "banana"}, {"H": "1000"}, {"cell": "transformer"}, {"hl": "-4"}, {"grads": "maybe"}, {"bogus": "1"}],
)
def test_bad_url_parameter_gives_a_notice(query):
    at = run_page(PAGE, query)
    assert not at.exception
    assert at.warning, "a refused URL parameter must be reported"


def test_bad_custom_signal_gives_an_error_and_keeps_drawing():
    at = run_page(PAGE, {"signal": "custom"})
    by_label(at.text_input, "Values of x_1, x_2, ... (comma separated)").set_value("1, 2, oops").run()
    assert not at.exception
    assert any("oops" in e.value for e in at.error)
    assert dot_steps(drawing(at)) == [1, 2, 3, 4, 5]


def test_weight_editor_is_built_only_while_open():
    """Closed, the expander holds no editors; open, it shows layer 1's seeded weights; the drawing never changes."""
    import numpy as np

    from rnnviz.engine import presets
    from ui import share

    at = run_page(PAGE)
    dot = drawing(at)
    assert not at.dataframe
    at.session_state["unfolded:editor"] = True  # what clicking the expander sends
    at.run()
    assert_clean(at)
    s = share.defaults()
    layer = presets.network_params(s["cell"], s["D"], s["H"], s["L"], seed=s["seed"], scale=s["scale"]).layers[0]
    shown = [f.value.to_numpy(dtype=float) for f in at.dataframe]
    assert len(shown) == 4  # left column W_ih, b_ih; right column W_hh, b_hh
    for frame, weights in zip(shown, (layer.W_ih, layer.b_ih[:, None], layer.W_hh, layer.b_hh[:, None]), strict=True):
        np.testing.assert_array_equal(frame, weights)  # exact: the editor holds the weights themselves
    assert drawing(at) == dot
    at.session_state["unfolded:editor"] = False
    at.run()
    assert_clean(at)
    assert not at.dataframe
    assert drawing(at) == dot
