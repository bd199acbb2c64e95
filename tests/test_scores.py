"""rnnviz.drawing.scores.task_cards: a trained network's numbers beside its task's baselines, by hand."""

import rnnviz
from rnnviz.drawing import scores


def test_task_cards_put_the_model_beside_the_naive_forecast():
    sine = rnnviz.make_task("sine", length=20, train_size=16, val_size=8)
    metrics = {"val_mse": 0.002, "baseline_val_mse": 0.04, "val_skill": 0.95, "noise_floor_mse": 0.0004}
    cards = scores.task_cards(metrics, sine)
    assert [c.label for c in cards] == [
        "Validation MSE",
        "Naive: next = current",
        "Skill vs naive",
        "Noise floor (no model can beat)",
    ]
    assert [c.value for c in cards] == ["0.002", "0.04", "95.0%", "0.0004"]
    assert cards[0].delta == "-0.038 vs naive" and cards[0].better_when_lower and cards[2].help
    adding = rnnviz.make_task("adding", lag=5, train_size=16, val_size=8)
    cards = scores.task_cards({"val_mse": 0.5, "baseline_val_mse": 0.25, "val_accuracy": 0.125}, adding)
    assert [(c.label, c.value) for c in cards] == [
        ("Validation MSE", "0.5"),
        ("Naive: always answer 1", "0.25"),
        ("Answers within 0.04", "12.5%"),
    ]
    assert cards[0].delta == "+0.25 vs naive"


def test_task_cards_of_a_language_model_in_bits():
    chars = rnnviz.make_task("chars")
    metrics = {"val_bits_per_char": 3.25, "uniform_bits_per_char": 5.0, "unigram_bits_per_char": 4.0}
    cards = scores.task_cards(metrics | {"val_accuracy": 0.5}, chars)
    assert [(c.label, c.value) for c in cards] == [
        ("Bits per character", "3.250"),
        ("Uniform guess", "5.000"),
        ("Character frequencies only", "4.000"),
        ("Next character right", "50.0%"),
    ]
    assert cards[0].delta == "-0.750 vs frequencies only" and cards[0].better_when_lower
