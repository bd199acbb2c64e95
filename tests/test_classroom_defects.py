"""Defects a new user tripped over (issue 14, section 4), each with the check that failed before its fix."""

from __future__ import annotations

import numpy as np
from conftest import assert_clean, charts, run_page

import rnnviz
from rnnviz.drawing import figures

VANISHING_LESSON = {"cell": "rnn_tanh", "T": "40", "radius": "0.5", "H": "8", "bview": "norms"}  # Home's link


def test_8_the_neuron_plot_does_not_repeat_its_heading():
    at = run_page("pages/neuron.py")
    assert_clean(at)
    assert [h.value for h in at.subheader][1] == "Input and output over time"
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
