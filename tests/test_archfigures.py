"""The Architectures page's tables, figures and score cards, against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rnnviz.drawing import archfigures as F
from rnnviz.drawing import scores as S
from rnnviz.learning import architectures as A
from rnnviz.learning import examples as E
from rnnviz.learning import train_examples as TE


def test_reference_answers_by_rule():
    info = E.make_example("wave", 1).info
    v = E.wave_vector(0.5, 0.7, 1.2)
    t = np.arange(1, 7)
    assert np.allclose(F.reference(info, v, 6)[:, 0], 0.5 * np.sin(0.7 * t + 1.2))  # rounding
    info = E.make_example("reverse", 1).info
    x = E.encode(info, "abcde")
    assert F.reference(info, x).tolist() == [4, 3, 2, 1, 0]
    assert (
        F.reference(E.make_example("sentiment", 1).info, E.encode(E.make_example("sentiment", 1).info, "a good movie"))
        is None
    )


def test_output_rows_of_tagging_name_each_word_and_skip_padding():
    example = E.make_example("tagging", 4, 6, seed=2)
    info = example.info
    x, target = E.item(example, 0)
    model = TE.example_model(info, "gru", 4)
    wt = F.run_one(model, info, x, target)
    rows = F.output_rows(info, wt, target)
    words = E.input_text(info, x).split()
    assert [r["word"] for r in rows] == words
    for r, y, t in zip(rows, wt.y, target, strict=True):
        assert r["predicted"] == info.output_vocab[int(np.argmax(y))]
        assert r["probability"] == pytest.approx(float(np.max(y)))  # rounding
        assert r["target"] == info.output_vocab[int(t)]
        assert r["right"] == (r["predicted"] == r["target"])
    right = sum(r["right"] for r in rows)
    assert F.agreement(info, wt, target) == f"{right} of {len(rows)} right"
    padded = np.concatenate([[E.PAD], target[1:]])
    assert len(F.output_rows(info, wt, padded)) == len(words) - 1, "a padded step has no row"


def test_probability_rows_and_the_wave_figure():
    info = E.make_example("sentiment", 1).info
    model = TE.example_model(info, "rnn", 3)
    wt = F.run_one(model, info, E.encode(info, "not a good movie"))
    rows = F.probability_rows(info, wt)
    assert [r["probability"] for r in rows] == sorted((float(p) for p in wt.y[0]), reverse=True)  # exact: same numbers
    assert sum(r["probability"] for r in rows) == pytest.approx(1.0)  # rounding: softmax sums to 1 to an ulp
    label = int(np.argmax(wt.y[0]))
    assert F.agreement(info, wt, np.array([label])) == "right"
    assert F.agreement(info, wt, np.array([1 - label])) == "wrong"
    wave = E.make_example("wave", 1, 9).info
    wt = F.run_one(TE.example_model(wave, "gru", 3), wave, E.wave_vector(0.3, 0.4, 0.0))
    assert wt.steps_out == 9
    fig = F.wave_figure(wt, F.reference(wave, wt.x, 9))
    assert [tr.name for tr in fig.data] == ["the wave the vector describes", "generated y_t"]
    assert np.allclose(fig.data[1].y, wt.y[:, 0])  # rounding


def test_the_encoder_decoder_writes_as_many_steps_as_its_target_or_its_input():
    example = E.make_example("translate", 3, 6, seed=0)
    info = example.info
    model = TE.example_model(info, "gru", 4)
    x, target = E.item(example, 1)
    assert F.run_one(model, info, x, target[:2]).steps_out == 2
    assert F.run_one(model, info, x).steps_out == x.shape[0]
    assert isinstance(F.run_one(model, info, x), A.WiringTrace)


def test_running_mean_by_hand():
    # weight 0.5: m1 = 0.5 / (1 - 0.5) = 1; m2 = (0.25 + 0) / (1 - 0.25) = 1/3
    assert np.allclose(F.running_mean([1.0, 0.0], 0.5), [1.0, 1 / 3])  # rounding
    fig = F.training_figure({"loss": [3.0, 2.0, 1.0]})
    assert list(fig.data[0].y) == [3.0, 2.0, 1.0] and len(fig.data[1].y) == 3
    with pytest.raises(ValueError):
        F.training_figure({"loss": []})


def test_score_cards_put_the_model_beside_its_baseline():
    info = E.make_example("tagging", 1).info
    metrics = {"accuracy": 0.9, "baseline_accuracy": 0.35, "unigram_accuracy": 0.8, "sequence_accuracy": 0.5}
    cards = S.score_cards(info, metrics | {"loss": 0.3})
    assert [c.value for c in cards] == ["90.0%", "35.0%", "80.0%", "50.0%"]
    assert cards[0].delta == "+55.0% vs the baseline"
    wave = E.make_example("wave", 1).info
    cards = S.score_cards(wave, {"mse": 0.01, "baseline_mse": 0.2})
    assert cards[0].delta == "-0.1900 vs always 0" and cards[0].better_when_lower
    assert cards[2].value == f"{1 - 0.01 / 0.2:.1%}" == "95.0%"
    assert math.isclose(float(cards[1].value), 0.2)  # decimal text


def test_item_labels_read_input_and_answer():
    example = E.make_example("reverse", 5, 4, seed=3)
    labels = F.item_labels(example, 3)
    assert len(labels) == 3
    for k, label in enumerate(labels):
        x, target = E.item(example, k)
        letters = E.input_text(example.info, x)
        assert label == f"{letters} → {' '.join(reversed(letters.split()))}"


@pytest.mark.parametrize("name", E.EXAMPLES)
def test_the_typed_form_of_an_input_reads_back_as_that_input(name):
    example = E.make_example(name, 5, seed=4)
    for k in range(5):
        x, _ = E.item(example, k)
        back = E.encode(example.info, F.typed_form(example.info, x))
        # display rounding: two decimals for the wave's numbers, exact for words
        assert np.allclose(back, x, atol=0.006)
