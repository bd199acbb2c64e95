"""AppTest: every page runs at defaults; the home and recurrent-neuron pages behave."""

import pathlib

import pytest
from conftest import assert_clean, dot_steps, drawings, run_page
from streamlit.testing.v1 import AppTest

from ui import share

ROOT = pathlib.Path(__file__).resolve().parent.parent
PAGES = sorted(f"pages/{p.name}" for p in (ROOT / "pages").glob("*.py"))  # every page, new ones included


def unfolded_neuron(at: AppTest) -> str:
    """The neuron page's unfolded drawing (the last one; the folded one comes first)."""
    return drawings(at)[-1]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_runs_at_defaults(path):
    at = run_page(path)
    assert not at.exception, at.exception
    assert at.title, "every page has a title"


def test_neuron_sequence_length_draws_exactly_those_steps():
    at = run_page("pages/neuron.py")
    at.slider(key="neuron:T").set_value(5).run()
    assert not at.exception
    assert dot_steps(unfolded_neuron(at)) == [1, 2, 3, 4, 5]
    at.slider(key="neuron:T").set_value(2).run()
    assert dot_steps(unfolded_neuron(at)) == [1, 2]


SHARED_NUMBERS = [("number_input", "D", 1, 8), ("slider", "H", 1, 32), ("number_input", "L", 1, 3)]
SHARED_NUMBERS += [("number_input", "seed", 0, 9999), ("slider", "scale", 0.0, 5.0), ("slider", "T", 1, 100)]
BPTT_NUMBERS = [("slider", "radius", 0.0, 3.0), ("slider", "clip", 0.0, 100.0), ("slider", "trunc", 0, 100)]
NUMBER_WIDGETS = [(page, *w) for page in ("unfolded", "gates", "bptt") for w in SHARED_NUMBERS]
NUMBER_WIDGETS += [("bptt", *w) for w in BPTT_NUMBERS]


@pytest.mark.parametrize(("page", "kind", "name", "low", "high"), NUMBER_WIDGETS)
def test_number_widgets_at_min_and_max(page, kind, name, low, high):
    """A page's number widget offers exactly the setting's range, and both ends draw without an error."""
    at = run_page(f"pages/{page}.py")
    widget = getattr(at, kind)(key=f"{page}:{name}")
    assert (widget.min, widget.max) == (low, high) == (share.SETTINGS[name].low, share.SETTINGS[name].high)
    for value in (low, high):
        getattr(at, kind)(key=f"{page}:{name}").set_value(value).run()
        assert_clean(at)


@pytest.mark.parametrize(
    "key,values",
    [
        ("neuron:wx", [-5.0, 5.0]),
        ("neuron:wy", [-5.0, 5.0]),
        ("neuron:b", [-5.0, 5.0]),
        ("neuron:y0", [-5.0, 5.0]),
        ("neuron:T", [1, 100]),
    ],
)
def test_neuron_sliders_at_their_extremes(key, values):
    at = run_page("pages/neuron.py")
    for value in values:
        for act in ["tanh", "sigmoid", "relu", "linear"]:
            at.selectbox(key="neuron:act").set_value(act)
            (at.slider(key=key) if key == "neuron:T" else at.number_input(key=key)).set_value(value).run()
            assert not at.exception, (key, value, act)
            assert not at.error


def test_neuron_every_signal_and_a_bad_custom_list():
    at = run_page("pages/neuron.py")
    for kind in ["impulse", "step", "sine", "random", "custom"]:
        at.selectbox(key="neuron:signal").set_value(kind).run()
        assert not at.exception and not at.error, kind
    at.text_input(key="neuron:custom").input("1, 2, banana").run()
    assert not at.exception
    assert "banana" in at.error[0].value and "entry 3" in at.error[0].value
    assert len(drawings(at)) == 2, "the page still draws with the last good signal"
    assert dot_steps(unfolded_neuron(at)) == [1, 2, 3, 4, 5]


def test_neuron_url_round_trip_and_bad_parameters():
    at = run_page("pages/neuron.py", {"wx": "-1.5", "T": "7", "act": "relu", "signal": "step"})
    assert not at.exception and not at.warning
    assert at.number_input(key="neuron:wx").value == -1.5
    assert at.slider(key="neuron:T").value == 7
    assert at.selectbox(key="neuron:act").value == "relu"
    assert dot_steps(unfolded_neuron(at)) == list(range(1, 8))
    assert at.query_params["wx"] in ("-1.5", ["-1.5"]) and at.query_params["T"] in ("7", ["7"])

    at = run_page("pages/neuron.py", {"T": "100000", "wx": "banana", "act": "<script>"})
    assert not at.exception
    assert at.slider(key="neuron:T").value == 100
    assert at.number_input(key="neuron:wx").value == 1.0
    notice = at.warning[0].value
    assert "T=100000" in notice and "wx=banana" in notice and "act=" in notice


def test_settings_carry_from_page_to_page():
    at = run_page("pages/neuron.py")
    at.slider(key="neuron:T").set_value(9).run()
    at.switch_page("pages/unfolded.py").run()
    assert not at.exception
    assert at.session_state["settings"]["T"] == 9


def test_unfolded_page_reports_overflow_in_words():
    """Weights that make a ReLU network's states pass float64's range give a warning, not NaN or a crash."""
    import numpy as np

    import rnnviz
    from rnnviz.engine import presets

    params = presets.rescale_recurrent(rnnviz.init_params("rnn", 1, 3, nonlinearity="relu", seed=1), 1e6)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["trained_model"] = {"params": params, "x": np.ones((60, 1)), "label": "overflow test"}
    at.query_params["T"] = "60"
    at.switch_page("pages/unfolded.py")
    at.run()
    assert not at.exception
    assert any("largest number" in w.value for w in at.warning), [w.value for w in at.warning]
    [drawing] = drawings(at)
    assert "nan" not in drawing.lower()
