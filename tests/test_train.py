"""rnnviz.tasks and rnnviz.train: finite differences of the training loss, determinism,
learning on every task, stopping from the callback, and bad arguments.

The learning tests train with the default budgets and take a few seconds each (marked
"slow" in their names' docstrings); together the file runs in well under a minute.
"""

import math

import numpy as np
import pytest

import rnnviz
from rnnviz.learning import optim, train
from rnnviz.learning.models import Readout
from rnnviz.learning.train import loss_and_grads


def _model(cell, D, H, L, O, seed):
    name = {"rnn_relu": "rnn"}.get(cell, cell)
    nonlinearity = "relu" if cell == "rnn_relu" else "tanh"
    params = rnnviz.init_params(name, D, H, L, nonlinearity=nonlinearity, seed=seed, scale=1.5)
    rng = np.random.default_rng(seed + 100)
    return params, Readout(rng.normal(size=(O, H)), rng.normal(size=O))


def _batch(kind, T, B, D, O, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(T, B, D))
    if kind == "mse":
        return x, rng.normal(size=(T, B, O))
    if kind == "xent":
        return x, rng.integers(0, O, size=(T, B))
    return x, rng.normal(size=(B, O))  # last_mse


def _entries(params, readout):
    """(array, index) for every entry of every weight: perturbing the array in place perturbs the model."""
    arrays = [a for lp in params.layers for a in (lp.W_ih, lp.W_hh, lp.b_ih, lp.b_hh)]
    arrays += [readout.W_out, readout.b_out]
    return [(k, a, idx) for k, a in enumerate(arrays) for idx in np.ndindex(a.shape)]


@pytest.mark.parametrize(
    "kind, cell, L, warmup",
    [
        ("mse", "rnn", 1, 0),
        ("mse", "lstm", 2, 2),
        ("mse", "gru", 1, 1),
        ("xent", "rnn_relu", 1, 0),
        ("xent", "lstm", 1, 1),
        ("xent", "gru", 2, 0),
        ("last_mse", "rnn", 2, 0),
        ("last_mse", "lstm", 1, 0),
        ("last_mse", "gru", 1, 0),
    ],
)
def test_training_gradient_matches_finite_differences(kind, cell, L, warmup):
    T, B, D, H, O = 5, 3, 2, 3, 4  # all different, so a transposed matrix fails loudly
    params, readout = _model(cell, D, H, L, O, seed=7)
    x, y = _batch(kind, T, B, D, O, seed=3)
    loss, d_params, d_readout = loss_and_grads(params, readout, kind, x, y, warmup=warmup)
    grads = [g for lp in d_params.layers for g in (lp.W_ih, lp.W_hh, lp.b_ih, lp.b_hh)]
    grads += [d_readout.W_out, d_readout.b_out]
    eps = 1e-6
    worst = 0.0
    for k, a, idx in _entries(params, readout):
        old = a[idx]
        a[idx] = old + eps
        up = loss_and_grads(params, readout, kind, x, y, warmup=warmup)[0]
        a[idx] = old - eps
        down = loss_and_grads(params, readout, kind, x, y, warmup=warmup)[0]
        a[idx] = old
        numeric = (up - down) / (2 * eps)
        worst = max(worst, abs(numeric - grads[k][idx]) / max(1e-4, abs(numeric), abs(grads[k][idx])))
    assert worst < 1e-5  # finite difference
    assert loss == loss_and_grads(params, readout, kind, x, y, warmup=warmup)[0]  # exact: nothing left perturbed


def test_losses_by_hand():
    y = np.array([[[1.0]], [[3.0]]])  # (T=2, B=1, O=1)
    target = np.zeros_like(y)
    assert train.loss_and_dy("mse", y, target)[0] == pytest.approx(5.0)  # rounding
    assert train.loss_and_dy("mse", y, target, warmup=1)[0] == pytest.approx(9.0)  # rounding
    assert train.loss_and_dy("mse", y, target, warmup=1)[1][0, 0, 0] == 0  # the warm-up is not scored
    logits = np.zeros((1, 1, 8))  # uniform over 8 classes: 3 bits
    assert train.loss_and_dy("xent", logits, np.zeros((1, 1), int))[0] == pytest.approx(3.0)  # log rounding


def test_clipping_scales_to_the_global_norm():
    grads = [np.array([3.0]), np.array([[4.0]])]
    optim.clip_grad_norm_(grads, 1.0)
    assert math.hypot(grads[0][0], grads[1][0, 0]) == pytest.approx(1.0, rel=1e-5)  # torch's 1e-6 guard
    assert grads[0][0] / grads[1][0, 0] == pytest.approx(0.75)  # rounding; the direction is kept
    same = [np.array([0.3])]
    optim.clip_grad_norm_(same, 1.0)
    assert same[0][0] == 0.3  # exact: left alone


@pytest.mark.parametrize("name", rnnviz.TASKS)
def test_tasks_are_seeded_and_shaped(name):
    task = rnnviz.make_task(name, seed=1)
    again = rnnviz.make_task(name, seed=1)
    assert np.array_equal(task.x_train, again.x_train) and np.array_equal(task.y_val, again.y_val)  # same call, seed
    T, N, D = task.x_train.shape
    assert task.input_size == D and task.length == T and task.x_val.shape[0] == T
    assert np.all(np.isfinite(task.x_train)) and task.title and task.description
    if task.loss == "mse":
        assert task.y_train.shape == (T, N, task.output_size)
    elif task.loss == "xent":
        assert task.y_train.shape == (T, N) and task.output_size == len(task.vocab)
        assert 2000 <= len(task.text) <= (4500 if name == "chars" else 6000)
    else:
        assert task.y_train.shape == (N, task.output_size)
    if name not in ("chars", "pydocs"):  # a fixed text: the seed has nothing to draw
        assert not np.array_equal(rnnviz.make_task(name, seed=2).x_train, task.x_train)


def test_adding_targets_are_the_two_marked_numbers_lag_steps_apart():
    task = rnnviz.make_task("adding", lag=12, train_size=64, val_size=1024)
    values, marks = task.x_train[..., 0], task.x_train[..., 1]  # (T, N)
    assert np.all(marks.sum(axis=0) == 2)
    first = marks.argmax(axis=0)
    second = task.length - 1 - marks[::-1].argmax(axis=0)
    assert np.all(task.length - 1 - first >= 12)  # at least `lag` steps to carry the first number
    assert np.allclose(task.y_train[:, 0], (values * marks).sum(axis=0))  # summation order
    assert task.baselines["baseline_val_mse"] == pytest.approx(1 / 6, abs=0.06)  # sampling: 2 * var(U[0, 1])
    assert np.all(second > first)


def test_stock_says_when_it_is_a_random_walk():
    walk = rnnviz.make_task("stock")
    assert "random walk" in walk.note and "No model can beat" in walk.note
    assert walk.baselines["baseline_val_mse"] == pytest.approx(1.0, abs=0.1)  # sampling: returns in units of their std
    seasonal = rnnviz.make_task("stock", seasonal=0.05)
    assert "random walk" not in seasonal.note


def test_chars_baselines():
    task = rnnviz.make_task("chars")
    assert task.baselines["uniform_bits_per_char"] == pytest.approx(math.log2(len(task.vocab)))  # log rounding
    assert task.baselines["unigram_bits_per_char"] < task.baselines["uniform_bits_per_char"]
    assert "".join(task.vocab[i] for i in task.y_train[:5, 0]) == task.text[1:6]


def _tiny_sine():
    return rnnviz.make_task("sine", length=20, train_size=32, val_size=8)


def test_same_seed_same_history_and_weights():
    task = _tiny_sine()
    a = rnnviz.fit(task, cell="gru", hidden_size=4, epochs=3, seed=5)
    b = rnnviz.fit(task, cell="gru", hidden_size=4, epochs=3, seed=5)
    c = rnnviz.fit(task, cell="gru", hidden_size=4, epochs=3, seed=6)
    # exact: the same calls on the same shapes, so the same roundings
    assert a.history == b.history and a.params == b.params
    assert np.array_equal(a.readout.W_out, b.readout.W_out)
    assert a.history != c.history
    assert len(a.history["train_loss"]) == len(a.history["val_loss"]) == 3 == a.epochs_run
    assert all(isinstance(v, float) for v in a.history["val_loss"])


@pytest.mark.parametrize("cell", ["rnn", "rnn_relu", "lstm", "gru"])
@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_every_cell_and_optimizer_lowers_the_loss(cell, optimizer):
    task = _tiny_sine()
    result = rnnviz.fit(task, cell=cell, hidden_size=6, epochs=6, optimizer=optimizer, seed=0, truncate=5)
    assert result.history["train_loss"][-1] < result.history["train_loss"][0]
    assert result.params.cell == cell.split("_")[0] and result.config.optimizer == optimizer
    assert result.config.nonlinearity == ("relu" if cell == "rnn_relu" else "tanh")


def test_callback_stops_training_and_leaves_a_usable_model():
    task = _tiny_sine()
    seen = []

    def callback(info):
        seen.append(info)
        return info.epoch < 2  # False after the second epoch: stop

    result = rnnviz.fit(task, cell="lstm", hidden_size=5, epochs=10, callback=callback)
    assert [i.epoch for i in seen] == [1, 2] and seen[0].epochs == 10
    assert result.stopped == "callback" and result.epochs_run == 2
    assert seen[1].val_loss == result.history["val_loss"][1] and seen[1].seconds_left >= 0
    assert seen[1].params == result.params  # the callback saw the model it gets
    trace = rnnviz.forward(result.params, task.x_val)
    assert trace.output.shape == (task.length, task.x_val.shape[1], 5)
    assert math.isfinite(result.metrics["val_mse"]) and "baseline_val_mse" in result.metrics
    prediction = rnnviz.predict(result, task)
    assert set(prediction.series(0)) == {"target", "prediction", "baseline"}

    def stop_now(info):
        raise rnnviz.StopTraining

    early = rnnviz.fit(task, cell="gru", hidden_size=5, epochs=10, callback=stop_now)
    assert early.stopped == "callback" and early.epochs_run == 1 and "val_mse" in early.metrics


def test_early_stopping_keeps_the_best_weights():
    task = rnnviz.make_task("chars", length=20, stride=20)
    result = rnnviz.fit(task, cell="gru", hidden_size=24, epochs=60, lr=0.05, patience=2, seed=0)
    val = result.history["val_loss"]
    assert result.stopped == "early_stopping" and result.epochs_run < 60
    assert result.best_epoch == int(np.argmin(val)) + 1 == result.epochs_run - 2
    assert train.evaluate(result.params, result.readout, task) == pytest.approx(min(val))  # BLAS order
    assert result.metrics["val_bits_per_char"] == pytest.approx(min(val))  # BLAS order


def test_sine_lstm_reaches_small_error():
    """Slow-ish (a few seconds): the default budget on the default sine task."""
    result = rnnviz.fit(rnnviz.make_task("sine", seed=0), cell="lstm", hidden_size=16, seed=0)
    assert result.metrics["val_mse"] <= 0.01  # measured: 0.0012 (baseline "next = current" 0.036)
    assert result.metrics["val_mse"] < 0.1 * result.metrics["baseline_val_mse"]


def test_chars_falls_well_below_the_uniform_baseline_and_samples():
    """Slow-ish (a few seconds): the default budget on the chars task."""
    task = rnnviz.make_task("chars", seed=0)
    result = rnnviz.fit(task, cell="lstm", hidden_size=16, seed=0)
    bits = result.metrics["val_bits_per_char"]
    assert bits < result.metrics["uniform_bits_per_char"] - 1.0  # measured: 3.30 against 5.04
    assert bits < result.metrics["unigram_bits_per_char"]  # it has learned context: 4.23
    text = rnnviz.sample(result, task, length=50, temperature=0.8, seed=1, prompt="The ")
    assert text.startswith("the ") and len(text) == 54 and set(text) <= set(task.vocab)
    assert text == rnnviz.sample(result, task, length=50, temperature=0.8, seed=1, prompt="The ")
    greedy = rnnviz.sample(result, task, length=20, temperature=0)
    assert len(greedy) == 20
    with pytest.raises(ValueError, match="never seen"):
        rnnviz.sample(result, task, prompt="#")


def test_adding_gated_cell_beats_plain_rnn_at_a_long_lag():
    """Slow (about 10 s): lag 40, default budget. Measured (seed 0): GRU val MSE 0.0007,
    LSTM 0.0013, RNN 0.095 (it learns the recent number only: 1/12); answering 1 gives 0.17."""
    task = rnnviz.make_task("adding", lag=40, seed=0)
    rnn = rnnviz.fit(task, cell="rnn", hidden_size=16, seed=0)
    gru = rnnviz.fit(task, cell="gru", hidden_size=16, seed=0)
    assert gru.metrics["val_mse"] < 0.02 < 0.07 < rnn.metrics["val_mse"]
    assert gru.metrics["val_accuracy"] > 0.5 > 0.2 > rnn.metrics["val_accuracy"]


def test_stock_random_walk_cannot_be_beaten_but_a_seasonal_price_can():
    walk = rnnviz.make_task("stock", seed=0)
    result = rnnviz.fit(walk, cell="gru", hidden_size=8, epochs=5, seed=0)
    assert abs(result.metrics["val_skill"]) < 0.05  # within noise of "tomorrow = today"
    seasonal = rnnviz.make_task("stock", seasonal=0.05, seed=0)
    result = rnnviz.fit(seasonal, cell="gru", hidden_size=8, epochs=5, seed=0)
    assert result.metrics["val_skill"] > 0.2


def test_predict_shapes():
    task = rnnviz.make_task("adding", lag=5, train_size=64, val_size=16)
    result = rnnviz.fit(task, cell="rnn", hidden_size=4, epochs=1)
    pred = rnnviz.predict(result, task, "val")
    assert pred.outputs.shape == pred.targets.shape == (16, 1) and pred.baseline is None
    assert pred.series()["target"].shape == (16,)
    with pytest.raises(ValueError, match="trained on"):
        rnnviz.predict(result, _tiny_sine())


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: rnnviz.make_task("weather"), "unknown task"),
        (lambda: rnnviz.make_task("adding", lag=10_000), "lag must be between"),
        (lambda: rnnviz.make_task("adding", lag=2.5), "whole number"),
        (lambda: rnnviz.make_task("sine", noise=float("nan")), "noise"),
        (lambda: rnnviz.make_task("sine", lag=3), "unknown option"),
        (lambda: rnnviz.make_task("sine", seed=-1), "seed"),
    ],
)
def test_bad_task_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"cell": "transformer"}, "unknown cell"),
        ({"hidden_size": 0}, "hidden_size"),
        ({"lr": float("nan")}, "lr"),
        ({"lr": -1.0}, "lr"),
        ({"optimizer": "rmsprop"}, "unknown optimizer"),
        ({"epochs": 0}, "epochs"),
        ({"truncate": 0}, "truncate"),
        ({"clip": float("inf")}, "clip"),
        ({"batch_size": 2.5}, "batch_size"),
        ({"num_layers": 0}, "num_layers"),
    ],
)
def test_bad_fit_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        rnnviz.fit(_tiny_sine(), **kwargs)


def test_fit_needs_a_task():
    with pytest.raises(ValueError, match="make_task"):
        rnnviz.fit("sine")


def test_clip_zero_or_none_turns_clipping_off():
    task = _tiny_sine()
    assert rnnviz.fit(task, hidden_size=3, epochs=1, clip=0).config.clip is None
    assert rnnviz.fit(task, hidden_size=3, epochs=1, clip=None).config.clip is None


def test_task_baselines_are_the_naive_forecasts_scored_and_said_with_one_number():
    sine = rnnviz.make_task("sine", seed=3)
    w = sine.warmup
    by_hand = np.mean((sine.y_val[w:] - sine.x_val[w:]) ** 2)  # next value = current value
    assert sine.baselines["baseline_val_mse"] == pytest.approx(by_hand, rel=1e-12)  # summation order
    adding = rnnviz.make_task("adding", lag=7, seed=1)
    baseline = adding.baselines["baseline_val_mse"]
    assert baseline == pytest.approx(np.mean((adding.y_val - 1.0) ** 2), rel=1e-12)  # always 1; summation order
    assert f"{baseline:.4g}" in adding.note and "0.167" not in adding.note
    assert list(adding.baseline_labels) == list(adding.baselines)  # every baseline has its words, in order
    assert rnnviz.make_task("stock").random_walk and not rnnviz.make_task("stock", mean_reversion=0.1).random_walk
