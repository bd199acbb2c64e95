"""Every widget of a shared setting offers exactly what a link may set: the settings table's range and choices."""

import pytest
from conftest import assert_clean, run_page

from rnnviz.engine import cells, presets, signals
from ui import share

SIGNAL = {"T", "signal", "custom"}
PAGES = {  # page: settings it must show (a link with signal=custom shows the values too)
    "neuron": SIGNAL,
    "unfolded": SIGNAL | {"hl", "level"},
    "gates": SIGNAL | {"preset"},
    "bptt": SIGNAL | {"loss", "radius"},
    "train": {"task", "sine_freq", "lr", "opt", "patience"},
}


def shared_widgets(at):
    for kind in ("slider", "number_input", "selectbox", "radio", "toggle", "text_input"):
        for w in getattr(at, kind):
            page, _, name = str(w.key).partition(":")
            if name in share.SETTINGS:
                yield kind, name, w


@pytest.mark.parametrize("page", PAGES)
def test_widgets_cover_exactly_the_settings_range(page):
    at = run_page(f"pages/{page}.py", {"T": "100", "signal": "custom"})  # hl and step reach T: 100 is their top
    assert_clean(at)
    seen = set()
    for kind, name, w in shared_widgets(at):
        setting = share.SETTINGS[name]
        seen.add(name)
        if kind in ("slider", "number_input"):
            assert (w.min, w.max) == (setting.low, setting.high), name
        elif name == "preset":  # the presets made for the cell shown (a link naming another switches the cell)
            lstm = ["random", "latch", "reset", "shut"]  # the default cell: an LSTM
            assert w.options == [setting.label_of(p) for p in lstm]
        elif kind in ("selectbox", "radio"):
            assert len(w.options) == len(setting.choices), name  # each choice a link can name is offered
        else:
            assert setting.kind == ("bool" if kind == "toggle" else "text"), name
    assert PAGES[page] <= seen


def test_choice_labels_name_exactly_the_cores_choices():
    assert list(share.CELL_LABELS) == list(cells.CELL_CHOICES)
    assert list(share.PRESET_LABELS) == list(presets.PRESETS)
    assert list(share.SIGNAL_LABELS) == list(signals.SIGNALS)
    for name, setting in share.SETTINGS.items():
        assert set(setting.labels) <= set(setting.choices), name  # no label for a choice that does not exist
