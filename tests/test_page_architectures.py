"""AppTest of the Architectures page: the side-by-side drawings, every wiring and application,
training from the page, bidirectional layers, typed input, the extremes of every control, the
URL and bad link parameters."""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import assert_clean, charts, dot_steps, drawings, node_classes, plotly_array, run_page
from streamlit.testing.v1 import AppTest

from rnnviz.learning import architectures as A
from rnnviz.learning import examples as E

PAGE = "pages/architectures.py"


def drawn(at: AppTest) -> str:
    """The explored wiring's drawing: the last graph on the page (the four schematics come first)."""
    return drawings(at)[-1]


def train_button(at: AppTest):
    return next(b for b in at.button if b.label == "Train")


def trained(at: AppTest) -> dict:
    store = at.session_state["architectures:trained"]
    return list(store.values())[-1]


def side_by_side_svgs(at: AppTest) -> list[str]:
    return drawings(at)[:4]


def test_defaults_draw_the_four_wirings_and_an_untrained_sentiment_model():
    at = run_page(PAGE)
    assert_clean(at)
    assert at.title[0].value.startswith("Architectures")
    svgs = side_by_side_svgs(at)
    assert len(svgs) == 4
    # the inline SVG has no <title>s (ui.show strips them): tell the wirings by their inputs and outputs
    for svg, (inputs, outputs, decoder) in zip(svgs, ((4, 1, 0), (1, 4, 0), (4, 4, 0), (4, 3, 3)), strict=True):
        assert svg.count('class="node input') == inputs + decoder  # the decoder reads start, y_1, y_2
        assert svg.count('class="node output') == outputs
        assert ("decoder" in svg) == bool(decoder)
        assert 'class="node input step-1' in svg and 'class="node output' in svg
    assert 'class="edge state decoder context"' in svgs[3] and "feedback" in svgs[3]
    assert at.selectbox(key="architectures:wiring").value == "many_to_one"
    assert at.selectbox(key="architectures:example").value == "sentiment"
    assert any("Untrained" in i.value for i in at.info)
    dot = drawn(at)
    x, _ = E.item(E.make_example("sentiment", 256, 8, seed=1), 0)  # the first held-out sentence
    assert dot_steps(dot, "input") == list(range(1, x.shape[0] + 1))
    assert dot_steps(dot, "output") == [x.shape[0]]
    sentence = E.input_text(E.make_example("sentiment", 1).info, x)
    assert any(f"**Input:** {sentence}" in m.value for m in at.markdown)


@pytest.mark.parametrize("example", E.EXAMPLES)
def test_every_application_runs_trains_and_shows_its_outputs(example):
    wiring = E.EXAMPLE_WIRING[example]
    at = run_page(PAGE)
    at.selectbox(key="architectures:wiring").set_value(wiring).run()
    assert (
        at.selectbox(key="architectures:example").value
        == E.EXAMPLES[[E.EXAMPLE_WIRING[e] for e in E.EXAMPLES].index(wiring)]
    ), "a wiring starts with its first application"
    at.selectbox(key="architectures:example").set_value(example).run()
    assert_clean(at)
    low, default, high = E.LENGTHS[example]
    assert at.slider(key="architectures:length").value == default
    dot = drawn(at)
    if wiring == "encoder_decoder":
        assert dot_steps(dot, "input", "encoder") and dot_steps(dot, "output", "decoder")
        assert "context" in dot and "feedback" in dot
    if wiring == "one_to_many":
        assert dot_steps(dot, "input") == [1]
        assert dot_steps(dot, "output") == sorted({1, 2, 3, 4} | set(range(default - 3, default + 1))), (
            "first and last 4"
        )
    at.slider(key="architectures:tsteps").set_value(10).run()
    train_button(at).click().run()
    assert_clean(at)
    result = trained(at)
    assert len(result["history"]["loss"]) == 10
    labels = [m.label for m in at.metric]
    if example == "wave":
        assert labels[:2] == ["Mean squared error", "Always predicting 0"]
        figure = charts(at)["architectures:wave"]
        assert len(figure["data"]) == 2
    else:
        assert labels[0].startswith("Accuracy") and labels[1].startswith("Baseline")
        shown = float(at.metric[0].value.rstrip("%"))
        assert shown == pytest.approx(100 * result["metrics"]["accuracy"], abs=0.06)  # display rounding: 0.1%
        assert at.dataframe
    assert "architectures:loss" in charts(at)
    assert any("Trained for 10 steps" in s.value for s in at.success)


def test_training_makes_a_model_that_works():
    """The default budget: the held-out accuracy is far above always answering the frequent class."""
    at = run_page(PAGE, {"cell": "gru"})
    train_button(at).click().run()
    assert_clean(at)
    metrics = trained(at)["metrics"]
    assert metrics["accuracy"] > 0.9 and metrics["accuracy"] > metrics["baseline_accuracy"] + 0.3
    table = at.dataframe[0].value
    assert list(table.columns) == ["class", "probability"]
    assert table["probability"].sum() == pytest.approx(1.0)  # rounding: softmax sums to 1 to an ulp
    # the same model is kept: coming back to these settings shows it without training again
    at.slider(key="architectures:hidden").set_value(8).run()
    assert any("Untrained" in i.value for i in at.info)
    at.slider(key="architectures:hidden").set_value(16).run()
    assert any("Trained for" in s.value for s in at.success)


@pytest.mark.parametrize("wiring", A.BIDIRECTIONAL_WIRINGS)
def test_bidirectional_layers_draw_a_reverse_row(wiring):
    at = run_page(PAGE, {"wiring": wiring, "bidir": "1", "hidden": "4"})
    assert_clean(at)
    dot = drawn(at)
    reverse = [c for c in node_classes(dot) if "reverse" in c and "state" in c]
    assert reverse, "a right-to-left row of states"
    assert dot_steps(dot, "state", "reverse") == dot_steps(dot, "input")
    at.slider(key="architectures:tsteps").set_value(10).run()
    train_button(at).click().run()
    assert_clean(at)
    assert trained(at)["model"].bidirectional


def test_bidirectional_is_off_where_a_wiring_cannot_have_it():
    at = run_page(PAGE, {"wiring": "encoder_decoder", "bidir": "1"})
    assert_clean(at)
    assert at.toggle(key="architectures:bidir").disabled
    assert not any("reverse" in c for c in node_classes(drawn(at)))
    assert any("Bidirectional only for" in c.value for c in at.caption)


def test_one_to_many_feeds_its_vector_every_step_or_once():
    at = run_page(PAGE, {"wiring": "one_to_many", "length": "5"})
    for feed, fed in (("every", 5), ("first", 1)):
        at.radio(key="architectures:feed").set_value(feed).run()
        assert_clean(at)
        svg = drawn(at)
        assert len([c for c in node_classes(svg) if "input" in c]) == 1  # one vector, x_1
        fed_steps = [int(t) for t in re.findall(r'<g id="[^"]*" class="edge input step-(\d+)"', svg)]
        assert sorted(fed_steps) == list(range(1, fed + 1))  # x_1 -> the state of each step it feeds


def test_typed_input_and_unknown_words():
    at = run_page(PAGE)
    at.selectbox(key="architectures:item").set_value(0).run()
    assert_clean(at)
    text = at.text_input(key="architectures:text")
    assert text.value, "typing starts from the sentence that was shown"
    text.input("not a good movie").run()
    assert_clean(at)
    dot = drawn(at)
    assert "“not”" in dot and "“movie”" in dot and dot_steps(dot, "input") == [1, 2, 3, 4]
    at.text_input(key="architectures:text").input("not a good zebra").run()
    assert not at.exception
    assert "zebra" in at.error[0].value and "vocabulary" in at.error[0].value
    assert drawn(at) == dot, "the last input that worked stays on screen"
    at.text_input(key="architectures:text").input('<script>alert("x")</script>').run()
    assert not at.exception and at.error
    assert "<script>" not in drawn(at)


def test_typing_starts_from_the_shown_input_in_every_application():
    for example in E.EXAMPLES:
        at = run_page(PAGE, {"wiring": E.EXAMPLE_WIRING[example], "example": example, "item": "2"})
        at.selectbox(key="architectures:item").set_value(0).run()
        assert_clean(at)
        assert at.text_input(key="architectures:text").value, example
    at = run_page(PAGE, {"item": "0", "text": ""})
    assert_clean(at)
    assert any("Type an input" in i.value for i in at.info)


def test_a_typed_wave_vector_draws_its_wave():
    at = run_page(PAGE, {"wiring": "one_to_many", "item": "0", "text": "0.5, 0.5, 1", "length": "20"})
    assert_clean(at)
    figure = charts(at)["architectures:wave"]
    names = [d["name"] for d in figure["data"]]
    assert names == ["the wave the vector describes", "generated y_t"]
    t = np.arange(1, 21)
    wave = plotly_array(figure["data"][0]["y"])
    assert np.allclose(wave, 0.5 * np.sin(0.5 * t + 1.0)), "a sin(w t + phase)"  # rounding
    assert plotly_array(figure["data"][1]["y"]).shape == (20,)
    at.text_input(key="architectures:text").input("0.5, banana").run()
    assert not at.exception and "three numbers" in at.error[0].value


def test_gradients_need_a_target():
    at = run_page(PAGE, {"grads": "1"})
    assert_clean(at)
    assert "‖∇‖" in drawn(at)
    at.selectbox(key="architectures:item").set_value(0).run()
    at.text_input(key="architectures:text").input("a good movie").run()
    assert_clean(at)
    assert "‖∇‖" not in drawn(at)
    assert any("need a target" in c.value for c in at.caption)


@pytest.mark.parametrize("example", E.EXAMPLES)
def test_every_control_at_its_extremes(example):
    at = run_page(PAGE, {"wiring": E.EXAMPLE_WIRING[example], "example": example})
    low, _, high = E.LENGTHS[example]
    for length, hidden, cell, seed, item in ((low, 1, "rnn_relu", 0, 50), (high, 64, "lstm", 9999, 1)):
        at.slider(key="architectures:length").set_value(length)
        at.slider(key="architectures:hidden").set_value(hidden)
        at.selectbox(key="architectures:cell").set_value(cell)
        at.number_input(key="architectures:seed").set_value(seed)
        at.run()
        at.selectbox(key="architectures:item").set_value(item).run()
        assert_clean(at)
        assert dot_steps(drawn(at), "output")
    for value in (False, True):
        at.toggle(key="architectures:values").set_value(value)
        at.toggle(key="architectures:grads").set_value(value).run()
        assert_clean(at)


def test_url_round_trip():
    query = {"wiring": "encoder_decoder", "example": "translate", "cell": "gru", "hidden": "8", "length": "5"}
    query |= {"item": "3", "seed": "7", "tsteps": "120", "values": "0", "grads": "1"}
    at = run_page(PAGE, query)
    assert_clean(at)
    assert not at.warning
    assert at.selectbox(key="architectures:example").value == "translate"
    assert at.slider(key="architectures:length").value == 5
    assert at.selectbox(key="architectures:item").value == 3
    assert at.slider(key="architectures:tsteps").value == 120
    for key, value in query.items():
        assert at.query_params[key] in (value, [value]), key


def test_a_link_to_an_application_gets_its_defaults():
    at = run_page(PAGE, {"example": "reverse", "wiring": "encoder_decoder"})
    assert_clean(at)
    assert at.slider(key="architectures:length").value == E.LENGTHS["reverse"][1]
    assert at.slider(key="architectures:tsteps").value == E.make_example("reverse", 1).info.budget.steps


def test_bad_link_parameters_are_clamped_with_a_notice():
    at = run_page(PAGE, {"wiring": "many_to_one", "example": "wave", "length": "1000", "item": "999", "hidden": "x"})
    assert not at.exception and not at.error
    notice = " ".join(w.value for w in at.warning)
    assert "wave" in notice and "length" in notice and "item" in notice
    assert at.selectbox(key="architectures:example").value == "sentiment"
    assert at.slider(key="architectures:length").value == E.LENGTHS["sentiment"][2]
    assert at.selectbox(key="architectures:item").value == 50
    at = run_page(PAGE, {"wiring": "bogus", "text": "<b>x</b>" * 100, "item": "0", "tsteps": "nan"})
    assert not at.exception
    assert at.selectbox(key="architectures:wiring").value == "many_to_one"
