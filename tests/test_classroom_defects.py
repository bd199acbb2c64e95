"""Defects a new user tripped over (issue 14, section 4), each with the check that failed before its fix."""

from __future__ import annotations

import numpy as np
from conftest import assert_clean, charts, plotly_array, run_page

import rnnviz
from rnnviz.drawing import figures

VANISHING_LESSON = {"cell": "rnn_tanh", "T": "40", "radius": "0.5", "H": "8", "bview": "norms"}  # Home's link


def test_8_the_neuron_plot_does_not_repeat_its_heading():
    at = run_page("pages/neuron.py", {"nview": "io"})
    assert_clean(at)
    assert "Input and output over time" in [t.label for t in at.tabs]  # the plot's heading is its tab
    assert charts(at)["neuron:io"]["layout"]["title"]["text"] == ""


def test_8_chosen_units_over_time_have_y_axis_titles():
    trace = rnnviz.forward(rnnviz.init_params("lstm", 1, 2, 1, seed=0), np.ones((4, 1)))
    layout = figures.units_figure(trace, 0, (0, 1)).layout
    titles = [layout[k].title.text for k in sorted(layout.to_plotly_json()) if k.startswith("yaxis")]
    assert titles == ["h", "c", "i", "f", "g", "o"]  # one row per quantity, in order


def test_8_the_vanishing_gradients_lesson_opens_without_a_warning():
    at = run_page("pages/bptt.py", VANISHING_LESSON)
    assert_clean(at)
    assert not at.warning, [w.value for w in at.warning]
    assert any("has vanished" in i.value for i in at.info)


def trained_page(path: str) -> AppTest:  # noqa: F821
    """The page showing an LSTM with H = 16 trained on the Train page (as its 'Open in ...' button leaves it)."""
    from conftest import ROOT
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    params = rnnviz.init_params("lstm", 1, 16, 1, seed=3)
    x = np.sin(np.arange(40.0))[:, None]  # (T, 1)
    at.session_state["trained_model"] = {"params": params, "x": x, "label": "LSTM, H = 16"}
    at.switch_page(path)
    return at.run()


def test_2_the_sidebar_and_the_link_say_what_the_trained_model_is():
    for page in ("gates", "unfolded"):
        at = trained_page(f"pages/{page}.py")
        assert_clean(at)
        sidebar = " ".join(m.value for m in at.sidebar.markdown)
        assert "**LSTM**, input size D = 1, hidden size H = 16, layers L = 1" in sidebar, page
        assert not [w for w in at.sidebar.slider if w.key == f"{page}:H"], "no slider showing the settings' H = 2"
        assert not [w for w in at.sidebar.number_input if w.key == f"{page}:seed"], "nor the seed of other weights"
        assert dict(at.query_params) == {}, "a link cannot reproduce trained weights, so it holds no settings"
        assert any("address bar holds no settings" in i.value for i in at.info)
    heatmaps = charts(trained_page("pages/gates.py"))["gates:heatmaps"]
    assert plotly_array(heatmaps["data"][0]["z"]).shape[0] == 16  # the plot is of the trained model: 16 units


def test_3_a_preset_names_its_cell_the_same_way_on_every_page():
    notes, labels = set(), set()
    for page in ("gates", "unfolded"):
        at = run_page(f"pages/{page}.py", {"preset": "latch", "cell": "gru"})
        assert_clean(at)  # before: an error on the Unfolded page, which kept the GRU
        assert at.selectbox(key=f"{page}:cell").value == "lstm", page
        assert at.selectbox(key=f"{page}:preset").value == "latch", page
        notes |= {i.value for i in at.info if "made for the LSTM" in i.value}
        preset = at.selectbox(key=f"{page}:preset")
        labels.add((preset.label, tuple(preset.options)))  # as shown
        at.selectbox(key=f"{page}:cell").set_value("gru").run()  # a cell the preset is not made for turns it off
        assert at.selectbox(key=f"{page}:preset").value == "random", page
        gru_presets = ["none (seeded random weights)", "leaky integrator (GRU)"]
        assert at.selectbox(key=f"{page}:preset").options == gru_presets, "only the GRU's"
        assert_clean(at)
    assert notes == {"The lesson preset *memory latch (LSTM)* is made for the LSTM: switched the cell to it."}
    label = ("Lesson preset", ("none (seeded random weights)", "memory latch (LSTM)", "reset every step (LSTM)"))
    assert labels == {(label[0], (*label[1], "input gate held shut (LSTM)"))}  # one vocabulary


def test_4_the_adding_task_states_the_baseline_it_computes():
    at = run_page("pages/train.py", {"task": "adding", "adding_lag": "30"})
    assert_clean(at)
    task = rnnviz.make_task("adding", seed=0, lag=30)
    _, y_val = task.x_val, task.y_val
    always_one = float(np.mean((np.asarray(y_val)[..., 0] - 1.0) ** 2))  # answering 1 for every sequence
    shown = " ".join(i.value for i in at.info)
    assert f"gives an MSE of {always_one:.4g}" in shown
    assert "0.167" not in shown  # the old text's hand-waved 1/6


def test_5_the_custom_signal_says_its_grammar_and_refuses_the_rest():
    from conftest import drawings

    from rnnviz.engine.signals import CUSTOM_GRAMMAR
    from ui.markup import literal

    for page in ("neuron", "unfolded", "gates", "bptt"):
        at = run_page(f"pages/{page}.py", {"signal": "custom", "custom": "1, -0.5, 2"})
        assert_clean(at)
        box = at.text_input(key=f"{page}:custom")
        assert CUSTOM_GRAMMAR in box.help, page
        shown = (drawings(at), {k: c["data"] for k, c in charts(at).items()})
        for bad in ("1;2;3", "1 2 3", "1,,2", "1_000"):
            at.text_input(key=f"{page}:custom").input(bad).run()
            assert not at.exception, (page, bad)
            assert [e.value for e in at.error if literal(CUSTOM_GRAMMAR) in e.value], (page, bad)  # as typed
            assert (drawings(at), {k: c["data"] for k, c in charts(at).items()}) == shown, "the last good signal"


def test_6_your_input_has_one_limit_in_the_box_and_the_link():
    from ui import share

    setting = share.SETTINGS["text"]
    limit = share.text_limit(setting)
    assert str(limit) in setting.help
    query = {"wiring": "many_to_one", "example": "sentiment", "item": "0"}
    at = run_page("pages/architectures.py", {**query, "text": "good " * 100})  # 500 characters in a link
    assert any(f"longer than {limit} characters and was cut" in w.value for w in at.warning)
    assert len(at.text_input(key="architectures:text").value) <= limit
    at = run_page("pages/architectures.py", {**query, "text": "good movie"})
    assert_clean(at)
    box = at.text_input(key="architectures:text")
    assert not box.max_chars  # a paste is not cut short in silence (0: no limit in the box)
    box.input("good " * 70).run()  # 350 characters pasted
    assert not at.exception
    assert [e.value for e in at.error if f"350 characters long; at most {limit} are read" in e.value]


def test_7_one_bad_weight_entry_keeps_the_good_edits_and_is_named():
    from ui.unfolded import bad_entries

    base = np.array([[0.1, 0.2], [0.3, 0.4]])
    edited = np.array([[5.0, np.nan], [0.3, 7.0]])  # two good edits, one entry emptied
    kept, named = bad_entries("W_hh", edited, base, ["i1", "i2"], ["h1", "h2"])
    np.testing.assert_array_equal(kept, [[5.0, 0.2], [0.3, 7.0]])  # exact: values copied, not computed
    assert named == "W_hh: i1, h2"
    bias, named = bad_entries("b_ih", np.array([np.nan, 2.0]), np.array([0.5, 0.6]), ["i1", "i2"], None)
    np.testing.assert_array_equal(bias, [0.5, 2.0])
    assert named == "b_ih: i1"
    same, named = bad_entries("b_hh", base[0], base[1], ["i1", "i2"], None)
    np.testing.assert_array_equal(same, base[0])  # exact: nothing to change
    assert named == ""
