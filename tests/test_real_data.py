"""Real data, offline: plotly's weekly stock prices and Python's own documentation as tasks, and the CSV reader
a user's own file goes through (tests/test_hardening_parsers.py fuzzes it)."""

from __future__ import annotations

import numpy as np
import pytest

import rnnviz
from rnnviz.learning import tabular


def test_stock_prices_are_plotlys_data_set():
    import plotly.data

    frame = plotly.data.stocks()  # plotly's own reader (pandas), independent of rnnviz's CSV parser
    prices = tabular.stock_prices()
    assert list(prices) == list(frame.columns[1:])
    for company, values in prices.items():
        np.testing.assert_array_equal(values, frame[company].to_numpy())  # the same decimal text, parsed twice
    assert all(len(v) == 105 and v[0] == 1.0 for v in prices.values())


def test_prices_task_validates_on_the_held_out_company_with_the_naive_baseline():
    task = rnnviz.make_task("prices", holdout=2, length=10)  # AAPL
    log = np.log(tabular.stock_prices()["AAPL"])
    returns = np.diff(log)
    scale = task.x_val[0, 0, 0] / returns[0]  # one unit: the training companies' typical weekly move
    assert scale > 0
    np.testing.assert_allclose(task.x_val[:, 0, 0], returns[:10] * scale, rtol=1e-12)  # division rounding
    np.testing.assert_allclose(task.y_val[:, 0, 0], returns[1:11] * scale, rtol=1e-12)
    assert task.x_val.shape[1] == len(returns) - 10  # every window of AAPL
    assert task.x_train.shape[1] == 5 * (len(returns) - 10)  # every window of the five others
    naive = np.mean(task.y_val[task.warmup :] ** 2)  # 'next week = this week': a return of zero
    assert task.baselines["baseline_val_mse"] == pytest.approx(naive, rel=1e-12)
    assert "AAPL" in task.title and "hard to beat" in task.note


def test_a_network_on_real_prices_is_scored_against_the_naive_forecast():
    task = rnnviz.make_task("prices")
    result = rnnviz.fit(task, "gru", hidden_size=4, epochs=3, seed=0)
    assert result.metrics["baseline_val_mse"] == task.baselines["baseline_val_mse"]
    skill = 1 - result.metrics["val_mse"] / task.baselines["baseline_val_mse"]
    assert result.metrics["val_skill"] == pytest.approx(skill, rel=1e-12)


def test_pydocs_reads_pythons_own_documentation():
    from pydoc_data.topics import topics

    task = rnnviz.make_task("pydocs")
    assert task.text.startswith('the "if" statement')
    words = " ".join(" ".join(topics[k] for k in tabular.PYTHON_TOPICS).lower().split())
    assert task.text == "".join(c for c in words if c.isascii() and c.isprintable())[:6000]  # ’ and the like go
    assert task.vocab == tuple(sorted(set(task.text)))
    assert task.baselines["uniform_bits_per_char"] == pytest.approx(np.log2(len(task.vocab)), rel=1e-12)


CSV = b"date,price,volume,note\n2024-01-01,10.5,100,a\n2024-01-02,11,120,b\n\n2024-01-03,-2e1,90,c\n"


def test_parse_csv_keeps_the_numeric_columns():
    numeric, other = tabular.parse_csv(CSV)
    assert list(numeric) == ["price", "volume"] and other == ["date", "note"]
    np.testing.assert_array_equal(numeric["price"], [10.5, 11.0, -20.0])
    semicolons, _ = tabular.parse_csv("\ufeffa;b\n1;2\n3;4\n".encode())  # Excel's UTF-8 mark and separator
    np.testing.assert_array_equal(semicolons["b"], [2.0, 4.0])


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"", "empty"),
        (b"a,b\n", "no rows"),
        (b"a,b\n1,2\n3\n", "row 3 has 1 fields but the header 2"),
        (b"a,a\n1,2\n", "names 'a' twice"),
        (b"a,b\n1,nan\n", "column 'b', row 2"),
        (b"a,b\n1,1e300\n", "at most 1e\\+12"),
        (b"a\n\xff\xfe\n", "not UTF-8"),
        (b"a,b\n1,\x002\n", "NUL"),
        (b'a,b\n1,"2\n', "not a readable CSV"),
        (b"a\n" + b"1\n" * 1_000_000, "at most 2,000,000"),
    ],
)
def test_parse_csv_refuses_with_a_message(data, match):
    with pytest.raises(ValueError, match=match):
        tabular.parse_csv(data)


def test_an_experiment_file_round_trips_and_refuses_damage():
    import io
    import json
    import zipfile

    from rnnviz.learning import experiment

    task = rnnviz.make_task("sine", train_size=16, val_size=8)
    result = rnnviz.fit(task, "rnn_relu", hidden_size=3, epochs=2)
    saved = experiment.save_experiment({"task": "sine"}, {"RNN": result})
    again = experiment.read_experiment(saved).results(task)["RNN"]
    assert again.params == result.params and again.metrics == result.metrics and again.history == result.history
    np.testing.assert_array_equal(rnnviz.predict(again, task).outputs, rnnviz.predict(result, task).outputs)
    with pytest.raises(ValueError, match="not on the 'adding' task"):
        experiment.read_experiment(saved).results(rnnviz.make_task("adding", train_size=16, val_size=8))

    def edited(change) -> bytes:
        source = zipfile.ZipFile(io.BytesIO(saved))
        doc = json.loads(source.read("experiment.json"))
        change(doc)
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as z:
            z.writestr("experiment.json", json.dumps(doc))
            z.writestr("weights/0.safetensors", source.read("weights/0.safetensors"))
        return out.getvalue()

    damaged = {
        "readout": lambda d: d["results"][0]["readout"].update(W_hy=[[1.0, 2.0]]),
        "best epoch": lambda d: d["results"][0].update(best_epoch=9),
        "history": lambda d: d["results"][0]["history"].update(val_loss=[1.0]),
        "hidden_size": lambda d: d["results"][0]["config"].update(hidden_size=10**9),
        "version": lambda d: d.update(version=99),
        "weights are not the network": lambda d: d["results"][0]["config"].update(hidden_size=4),
    }
    for words, change in damaged.items():
        with pytest.raises(ValueError, match=words):
            experiment.read_experiment(edited(change)).results(task)
