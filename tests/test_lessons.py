"""The lessons' answers are computed from the model: change a free setting and the right answer changes,
and each answer agrees with an oracle (a hand computation, a finite difference, the drawing's own count)."""

from __future__ import annotations

import numpy as np
import pytest

import rnnviz
from rnnviz.engine import bptt
from rnnviz.lessons import LESSONS, allows, format_answers, parse_answers, score
from rnnviz.lessons.chapter import APPLICATIONS, behaviour, wy_contributions


def answer(lesson: str, question: int, **free) -> str:
    """The right option, in words, for the lesson with ``free`` settings changed."""
    L = LESSONS[lesson]
    assert set(free) <= set(L.free), f"{set(free) - set(L.free)} are not free in {lesson}"
    s = L.with_free(free)
    assert all(s[k] == v for k, v in free.items()), "with_free refused an allowed value"
    asked = L.questions[question - 1].ask(L.build(s), s)
    return asked.options[asked.right]


# (lesson, question, free settings, the right answer) - pairs per question with different answers
CHANGES = [
    ("neuron", 1, {"wy": -0.9}, "oscillate"),
    ("neuron", 1, {"wy": 0.5}, "decay"),
    ("neuron", 1, {"wy": 3.0}, "grow"),
    ("neuron", 1, {"wy": 1.3}, "stay"),
    ("neuron", 2, {"wy": -0.9}, "negative"),  # y_12 = W_y^11 · y_1 in sign
    ("neuron", 2, {"wy": 0.9}, "positive"),
    ("neuron", 2, {"wy": 0.0}, "zero"),
    ("weights", 1, {"wx": 1.0, "wy": 0.5}, "W_x · x_2 (the input)"),
    ("weights", 1, {"wx": 0.2, "wy": 2.0}, "W_y · y_1 (the memory)"),
    ("weights", 2, {"wy": 0.5}, "yes"),
    ("weights", 2, {"wy": -3.0}, "no"),
    ("unfold", 1, {"T": 5}, "5"),
    ("unfold", 1, {"T": 7}, "7"),
    ("unfold", 2, {"T": 5}, "16"),  # x_t, the neuron and y_t per step, and y_0
    ("unfold", 2, {"T": 2}, "7"),
    ("shared", 1, {"y0": 0.0, "wy": 0.5}, "4: all but step 1"),
    ("shared", 1, {"y0": 0.5, "wy": 0.5}, "all 5"),
    ("shared", 1, {"y0": 0.5, "wy": 0.0}, "only the last step"),
    ("shared", 2, {"wy": 0.5, "y0": 0.0}, "positive"),
    ("shared", 2, {"wy": -1.0, "y0": 0.0}, "negative"),  # the copies alternate in sign
    ("gradients", 1, {"radius": 0.5}, "below 1e-6"),
    ("gradients", 1, {"radius": 1.0}, "above 1e-6"),
    ("gradients", 2, {"radius": 0.5, "cell": "rnn_relu"}, "it shrinks (vanishes)"),
    ("gradients", 2, {"radius": 2.0, "cell": "rnn_relu"}, "it grows (explodes)"),
    ("lstm", 1, {"preset": "latch"}, "the memory f ⊙ c_(t−1)"),
    ("lstm", 1, {"preset": "reset"}, "the new write i ⊙ g"),
    ("lstm", 2, {"preset": "latch"}, "input gate i"),
    ("lstm", 2, {"preset": "reset"}, "forget gate f"),
    ("gru", 1, {"preset": "leaky"}, "about 20 %"),
    ("gru", 1, {"preset": "random"}, "about 50 %"),
    ("gru", 2, {"preset": "leaky"}, "still growing"),
    ("gru", 2, {"preset": "random"}, "settled (changes below 0.001)"),
    ("wirings", 1, {"app": "classification"}, "many to one"),
    ("wirings", 1, {"app": "captioning"}, "one to many"),
    ("wirings", 1, {"app": "modelling"}, "many to many"),
    ("wirings", 1, {"app": "translation"}, "encoder-decoder"),
    ("wirings", 2, {"app": "classification"}, "5"),
    ("wirings", 2, {"app": "translation"}, "9"),  # 5 encoder steps and 4 decoder steps
    ("training", 1, {"lr": 0.001}, "no"),
    ("training", 1, {"lr": 0.01}, "yes"),
    ("training", 2, {"lr": 0.01}, "yes"),
    ("training", 2, {"lr": 1.0}, "no"),
]


@pytest.mark.parametrize(("lesson", "question", "free", "right"), CHANGES)
def test_the_right_answer_follows_the_model(lesson, question, free, right):
    assert answer(lesson, question, **free) == right


def test_every_question_has_two_settings_with_different_answers():
    answers: dict[tuple[str, int], set[str]] = {}
    for lesson, question, _, right in CHANGES:
        answers.setdefault((lesson, question), set()).add(right)
    every = {(k, q) for k, L in LESSONS.items() for q in range(1, len(L.questions) + 1)}
    assert set(answers) == every
    assert all(len(v) >= 2 for v in answers.values()), {k: v for k, v in answers.items() if len(v) < 2}


@pytest.mark.parametrize("key", list(LESSONS))
def test_every_lesson_builds_asks_and_draws_at_its_start(key):
    L = LESSONS[key]
    model = L.build(L.settings)
    for q in L.questions:
        asked = q.ask(model, L.settings)
        assert asked.prompt and asked.why and len(asked.options) >= 2
        assert any(ch.isdigit() for ch in asked.why), "the explanation quotes the model's numbers"
    assert L.figure(model, L.settings) is not None
    assert all(allows(allowed, L.settings[name]) for name, allowed in L.free.items())
    assert L.explorer in {"neuron", "unfolded", "gates", "bptt", "train", "architectures"}


def test_behaviour_by_hand():
    assert behaviour(np.array([0.76, -0.6, 0.5])) == "oscillate"
    assert behaviour(np.array([0.76, 0.4, 0.2])) == "decay"
    assert behaviour(np.array([0.76, 0.9, 0.99])) == "grow"
    assert behaviour(np.array([0.76, 0.75, 0.74])) == "stay"
    assert behaviour(np.array([0.76, 0.0, 0.0])) == "decay"  # W_y = 0: gone after the impulse


def test_neuron_numbers_by_hand():
    """y_1 = tanh(1), y_2 = tanh(-0.9 y_1): the lesson's trace is the neuron's equation."""
    L = LESSONS["neuron"]
    y = L.build(L.settings).output[:, 0]
    y1 = np.tanh(1.0)
    np.testing.assert_allclose(y[:2], [y1, np.tanh(-0.9 * y1)], rtol=1e-14)  # rtol: one tanh's rounding


def test_shared_weight_contributions_sum_to_bptt_and_a_finite_difference():
    L = LESSONS["shared"]
    s = L.with_free({"wy": -0.7, "y0": 0.3})
    trace, grads = L.build(s)
    c = wy_contributions(trace, grads)
    total = grads.params.layers[0].W_hh[0, 0]
    np.testing.assert_allclose(np.sum(c), total, rtol=1e-12)  # rtol: five products summed in another order
    fd = bptt.finite_difference(trace.params, trace.layers[0].x, "weight_hh_l0", (0, 0), "last", h0=[[0.3]])
    np.testing.assert_allclose(total, fd, rtol=1e-6)  # rtol: a central difference with eps 1e-6


def test_jacobian_answer_quotes_the_core():
    L = LESSONS["gradients"]
    s = L.with_free({"radius": 0.5})
    grads = L.build(s)
    asked = L.questions[0].ask(grads, s)
    assert f"{grads.jacobian_norms[0][0]:.3g}" in asked.why
    assert grads.jacobian_norms[0][0] < 0.5 ** (s["T"] - 1)  # tanh' <= 1, ||W_hh||_2 >= ρ only bounds; ρ^39 here


def test_training_answer_is_the_fit_result():
    L = LESSONS["training"]
    s = L.with_free({"lr": 0.01})
    result = L.build(s)
    expected = rnnviz.fit(rnnviz.make_task("sine"), "rnn_tanh", 8, epochs=10, lr=0.01, clip=0.0, seed=0)
    assert result.metrics["val_mse"] == pytest.approx(expected.metrics["val_mse"], rel=1e-9)  # same run, same BLAS


def test_wiring_table_matches_the_architectures_examples():
    from rnnviz.learning.examples import EXAMPLE_WIRING

    for app, (wiring, _, _, example) in APPLICATIONS.items():
        assert EXAMPLE_WIRING[example] == wiring, app


def test_with_free_keeps_fixed_settings_and_refuses_values_outside():
    L = LESSONS["gradients"]
    s = L.with_free({"radius": 9.0, "cell": "lstm", "T": 3})
    assert s["radius"] == L.settings["radius"] and s["cell"] == "rnn_tanh" and s["T"] == 40


def test_answers_round_trip_and_score():
    answers = {("neuron", 1): (2, True), ("neuron", 2): (0, False), ("gru", 1): (1, True)}
    text = format_answers(answers)
    assert text == "neuron1r2.neuron2w0.gru1r1"
    assert parse_answers(text) == answers
    assert parse_answers("neuron1r2.<script>.x9q.gru1r1") == {("neuron", 1): (2, True), ("gru", 1): (1, True)}
    assert score(answers, LESSONS["neuron"]) == (1, 2)
    assert score(answers, LESSONS["lstm"]) == (0, 0)
