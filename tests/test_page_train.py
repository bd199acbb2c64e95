"""AppTest of the Train page: defaults, training from the page, every task, comparison mode, a stop
that keeps the model so far, the trained model in the graph and gates pages, the URL, bad input."""

from __future__ import annotations

import pathlib
import re

import pytest
import streamlit as st
from conftest import assert_clean, charts, drawings, plotly_array, run_page
from streamlit.testing.v1 import AppTest

import rnnviz

ROOT = pathlib.Path(__file__).resolve().parent.parent
PAGE = "pages/train.py"


def train_button(at: AppTest):
    return next(b for b in at.button if b.label.startswith("Train"))


def points(trace: dict) -> int:
    """How many y values a plotly trace holds."""
    return plotly_array(trace["y"]).size


def results(at: AppTest) -> dict:
    store = at.session_state["train:results"]
    assert len(store) >= 1
    return list(store.values())[-1]


def test_defaults_ask_for_training():
    at = run_page(PAGE)
    assert_clean(at)
    assert at.title[0].value == "Train a model"
    assert train_button(at).label == "Train the LSTM"
    assert any("Press" in i.value for i in at.info)
    assert not at.metric and not at.get("plotly_chart")


def test_training_from_the_page_fills_plots_and_metrics():
    at = run_page(PAGE)
    at.slider(key="train:epochs").set_value(3).run()
    train_button(at).click().run()
    assert_clean(at)
    result = results(at)["LSTM"]
    assert result.epochs_run == 3 and result.stopped == "completed"
    figs = charts(at)
    assert set(figs) == {"train:loss", "train:prediction"}, "the live chart is gone, the final ones are drawn"
    assert [points(d) for d in figs["train:loss"]["data"]] == [3, 3]
    assert {d["name"] for d in figs["train:prediction"]["data"]} == {"target", "prediction", "baseline"}
    labels = [m.label for m in at.metric]
    assert labels[:2] == ["Validation MSE", "Naive: next = current"]
    assert float(at.metric[0].value) == pytest.approx(result.metrics["val_mse"], rel=1e-3)  # display rounding: 4 digits
    # a rerun (or coming back to the page) shows the kept result without training again
    at.run()
    assert_clean(at)
    assert results(at)["LSTM"] is result
    assert any("Trained already" in c.value for c in at.caption)


@pytest.mark.parametrize("task", ["stock", "chars", "adding"])
def test_every_task_trains_and_shows_its_baseline(task):
    at = run_page(PAGE, {"task": task, "epochs": "1"})
    assert_clean(at)
    train_button(at).click().run()
    assert_clean(at)
    labels = [m.label for m in at.metric]
    if task == "stock":
        assert "Naive: tomorrow = today" in labels
        assert "pure random walk" in at.warning[0].value.lower()
    if task == "chars":
        assert labels[0] == "Bits per character" and "Uniform guess" in labels
        sample = at.get("code")[0].value
        assert sample.startswith("the ") and len(sample) == 304
        at.slider(key="train:temperature").set_value(0.0).run()
        assert_clean(at)
    if task == "adding":
        assert "Naive: always answer 1" in labels and "Answers within 0.04" in labels


def test_stock_with_mean_reversion_is_not_called_a_random_walk():
    at = run_page(PAGE, {"task": "stock", "stock_mean_reversion": "0.3"})
    assert_clean(at)
    assert not at.warning
    assert any("predictable" in i.value for i in at.info)


def test_comparison_mode_trains_three_cells():
    at = run_page(PAGE, {"task": "adding", "adding_lag": "5", "compare": "1", "epochs": "2", "hidden": "4"})
    assert train_button(at).label == "Train RNN, LSTM and GRU"
    train_button(at).click().run()
    assert_clean(at)
    assert list(results(at)) == ["RNN", "LSTM", "GRU"]
    names = [d["name"] for d in charts(at)["train:curves"]["data"]]
    assert names == ["RNN", "LSTM", "GRU"]
    table = at.dataframe[0].value
    assert list(table["cell"]) == ["RNN", "LSTM", "GRU"] and list(table["epochs"]) == [2, 2, 2]
    at.radio[0].set_value("GRU").run()
    assert_clean(at)
    assert at.subheader[-4].value.startswith("GRU")


def test_a_stop_mid_training_keeps_the_model_so_far(monkeypatch):
    """A click on Stop makes Streamlit end the run at the next drawing call (a rerun request):
    simulate it with st.rerun() from inside the epoch callback after epoch 2 of 5."""
    fit = rnnviz.fit

    def interrupted_fit(task, cell, *, callback, **kwargs):
        def stop_after_two(info):
            callback(info)
            if info.epoch == 2:
                st.rerun()

        return fit(task, cell, callback=stop_after_two, **kwargs)

    at = run_page(PAGE, {"epochs": "5"})
    monkeypatch.setattr(rnnviz, "fit", interrupted_fit)
    train_button(at).click().run()
    assert_clean(at)
    assert "train:running" not in at.session_state
    result = results(at)["LSTM"]
    assert result.epochs_run == 2 and result.stopped == "callback"
    assert "stopped" in at.warning[0].value and "LSTM 2 of 5" in at.warning[0].value
    assert [m.label for m in at.metric][0] == "Validation MSE"
    assert [points(d) for d in charts(at)["train:loss"]["data"]] == [2, 2]
    trace = rnnviz.forward(result.params, rnnviz.make_task("sine").x_val[:, :2])  # a usable model
    assert trace.output.shape == (60, 2, 16)


@pytest.mark.parametrize("target,title", [("unfolded", "The unfolded graph"), ("gates", "Gates and states")])
def test_the_trained_model_opens_in_the_graph_and_gates_pages(target, title):
    at = run_page(PAGE, {"epochs": "1", "hidden": "3"})
    train_button(at).click().run()
    label = "Open in the unfolded graph" if target == "unfolded" else "Open in gates and states"
    next(b for b in at.button if b.label == label).click().run()
    assert_clean(at)
    assert at.title[0].value == title
    assert "trained on the Train page" in at.info[0].value
    assert at.session_state["trained_model"]["params"].hidden_size == 3
    if target == "unfolded":
        assert "step-" in drawings(at)[0]
    next(b for b in at.button if b.label == "Back to random weights").click().run()
    assert_clean(at)
    assert "trained_model" not in at.session_state
    assert not any("trained on the Train page" in i.value for i in at.info)


def test_url_round_trip():
    query = {"task": "stock", "stock_volatility": "0.02", "stock_seasonal": "0.05", "cell": "gru", "hidden": "8"}
    query |= {"layers": "2", "epochs": "7", "lr": "0.003", "opt": "sgd", "tclip": "2.5", "bptt": "10", "seed": "3"}
    at = run_page(PAGE, query)
    assert_clean(at)
    assert not at.warning
    assert at.selectbox(key="train:task").value == "stock"
    assert at.slider(key="train:stock_volatility").value == 0.02  # exact: the link's "0.02" parses to this double
    assert at.selectbox(key="train:cell").value == "gru"
    assert at.number_input(key="train:lr").value == 0.003  # exact: parsed from the link's text
    assert at.radio(key="train:opt").value == "sgd"
    for key, value in query.items():
        assert at.query_params[key] in (value, [value]), key


def test_a_link_with_only_a_task_gets_that_tasks_budget():
    at = run_page(PAGE, {"task": "chars"})
    assert_clean(at)
    budget = rnnviz.make_task("chars").budget
    assert at.slider(key="train:epochs").value == budget.epochs
    assert at.number_input(key="train:lr").value == budget.lr  # exact: the budget's own number


def test_changing_the_task_resets_the_budget():
    at = run_page(PAGE)
    at.selectbox(key="train:task").set_value("adding").run()
    assert_clean(at)
    assert at.slider(key="train:epochs").value == rnnviz.make_task("adding").budget.epochs
    assert at.slider(key="train:adding_lag").value == 30


def test_bad_settings_are_refused_without_an_exception():
    at = run_page(PAGE, {"task": "banana", "epochs": "100000", "lr": "-1", "hidden": "x", "adding_lag": "1e9"})
    assert not at.exception
    notice = re.sub(r"\\(.)", r"\1", at.warning[0].value)  # the notice is escaped markdown: read it as shown
    assert "task=banana" in notice and "epochs=100000" in notice and "lr=-1" in notice and "hidden=x" in notice
    assert at.slider(key="train:epochs").value == 100
    assert at.number_input(key="train:lr").value == 0.0001  # exact: clamped to the setting's low end


@pytest.mark.parametrize("task", ["sine", "stock", "chars", "adding"])
def test_task_options_at_their_extremes(task):
    at = run_page(PAGE, {"task": task})
    for name in [k for k in at.session_state["settings"] if k.startswith(f"{task}_")]:
        slider = at.slider(key=f"train:{name}")
        for value in (slider.min, slider.max):
            slider.set_value(value).run()
            assert_clean(at)


def wave_csv(rows: int = 300) -> bytes:
    import numpy as np

    t = np.arange(rows)
    lines = ["day,level,flow,weekday"] + [f"{k},{np.sin(k / 6):.6f},{np.cos(k / 9):.6f},d{k % 7}" for k in t]
    return "\n".join(lines).encode()


def test_your_own_csv_trains_and_opens_in_the_graph_page():
    at = run_page(PAGE, {"task": "csv"})
    assert_clean(at)
    assert any("Upload a CSV" in i.value for i in at.info)
    at.file_uploader(key="train:csv").set_value(("wave.csv", wave_csv(), "text/csv")).run()
    assert_clean(at)
    columns = next(m for m in at.multiselect if m.label.startswith("Columns"))
    assert columns.options == ["day", "level", "flow"] and columns.value == ["level"]  # not the row number
    columns.set_value(["level", "flow"]).run()
    at.slider(key="train:epochs").set_value(4).run()
    train_button(at).click().run()
    assert_clean(at)
    result = results(at)["LSTM"]
    task = rnnviz.make_csv_task(wave_csv(), ["level", "flow"], 30, 0, "wave.csv")
    assert result.params.input_size == 2 and result.epochs_run == 4
    assert at.metric[1].label == "Naive: next row = this row"
    assert float(at.metric[1].value) == pytest.approx(task.baselines["baseline_val_mse"], rel=1e-3)  # 4 digits shown
    assert {d["name"] for d in charts(at)["train:prediction"]["data"]} == {"target", "prediction", "baseline"}
    next(b for b in at.button if b.label == "Open in the unfolded graph").click().run()
    assert_clean(at)
    assert at.session_state["trained_model"]["params"].input_size == 2


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"a,b\n1,2\n3\n", "row 3 has 1 fields"),
        (b"name,city\nann,rome\n", "no column of numbers"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
    ],
)
def test_a_bad_csv_gets_a_message(data, words):
    at = run_page(PAGE, {"task": "csv"})
    at.file_uploader(key="train:csv").set_value(("bad.csv", data, "text/csv")).run()
    assert not at.exception
    assert any(words in e.value.replace("\\", "") for e in at.error), [e.value for e in at.error]


def test_too_few_rows_for_the_window_is_a_message():
    at = run_page(PAGE, {"task": "csv", "csv_length": "50"})
    at.file_uploader(key="train:csv").set_value(("short.csv", wave_csv(100), "text/csv")).run()
    assert not at.exception
    assert any("shorten the window" in e.value for e in at.error), [e.value for e in at.error]


@pytest.mark.parametrize("task", ["prices", "pydocs"])
def test_the_real_data_tasks_train_in_the_page(task):
    at = run_page(PAGE, {"task": task, "epochs": "2", "hidden": "4"})
    train_button(at).click().run()
    assert_clean(at)
    result = results(at)["LSTM"]
    assert result.epochs_run == 2
    if task == "prices":
        assert at.metric[1].label == "Naive: next week = this week"
        assert "hard to beat" in " ".join(i.value for i in at.info)


def saved_experiment(at: AppTest) -> bytes:
    """What the page's Save button holds (the same call, on the session's results and settings)."""
    from rnnviz.learning import experiment
    from ui import share

    url = at.query_params
    settings = {k: url[k] for k in url}
    csv = None
    if settings.get("task") == "csv":
        (name, data), columns = next(iter(at.session_state["train:csv-files"].values())), ["level", "flow"]
        settings |= {"csv_file": name, "csv_columns": "\t".join(columns)}
        csv = data
    assert set(settings) - {"csv_file", "csv_columns"} <= set(share.SETTINGS)
    return experiment.save_experiment(settings, results(at), csv)


def screen(at: AppTest) -> tuple:
    """What the results show: the score cards and every chart's data."""
    figs = charts(at)
    data = {k: [plotly_array(d["y"]).tolist() for d in f["data"]] for k, f in figs.items()}
    return [(m.label, m.value) for m in at.metric], data


@pytest.mark.parametrize("query", [{"task": "adding", "compare": "1"}, {"task": "csv"}])
def test_a_saved_experiment_reloads_the_same_screen(query):
    at = run_page(PAGE, query | {"epochs": "2", "hidden": "4"})
    if query["task"] == "csv":
        at.file_uploader(key="train:csv").set_value(("wave.csv", wave_csv(), "text/csv")).run()
        next(m for m in at.multiselect if m.label.startswith("Columns")).set_value(["level", "flow"]).run()
    train_button(at).click().run()
    assert_clean(at)
    before = screen(at)
    saved = saved_experiment(at)
    fresh = run_page(PAGE)  # another session: default settings, nothing trained
    fresh.file_uploader(key="train:experiment").set_value(("exp.zip", saved, "application/zip")).run()
    assert_clean(fresh)
    assert any("Reloaded exp.zip" in s.value.replace("\\", "") for s in fresh.success), [s.value for s in fresh.success]
    assert fresh.query_params["task"] == query["task"] and fresh.query_params["epochs"] == "2"
    assert screen(fresh) == before


@pytest.mark.parametrize(
    ("data", "words"),
    [(b"not a zip", "not a zip file"), (b"PK\x05\x06" + bytes(18), "no experiment.json")],
)
def test_a_bad_experiment_file_gets_a_message(data, words):
    at = run_page(PAGE)
    at.file_uploader(key="train:experiment").set_value(("bad.zip", data, "application/zip")).run()
    assert not at.exception
    assert any(words in e.value.replace("\\", "") for e in at.error), [e.value for e in at.error]
