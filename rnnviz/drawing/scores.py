"""A trained model's scores beside its data's baselines, as cards to show with ``st.metric``.

``score_cards`` for a wiring trained on a toy example (``rnnviz.learning.train_examples.evaluate``'s
numbers), ``task_cards`` for a network trained on a task (``FitResult.metrics``, the model's
validation scores with the task's own baselines, named by ``Task.baseline_labels``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..learning.examples import ExampleInfo
from ..learning.tasks import Task


@dataclass(frozen=True)
class Card:
    """One number to show with ``st.metric``."""

    label: str
    value: str
    delta: str | None = None
    better_when_lower: bool = False
    help: str = ""


def score_cards(info: ExampleInfo, metrics: dict[str, float]) -> list[Card]:
    """The trained model's score on held-out sequences beside the trivial baseline's."""
    if not info.softmax:
        mse, base = metrics["mse"], metrics["baseline_mse"]
        return [
            Card("Mean squared error", f"{mse:.4f}", f"{mse - base:+.4f} vs always 0", True),
            Card("Always predicting 0", f"{base:.4f}", help="The trivial baseline: a flat line at zero."),
            Card(
                "Error explained",
                f"{1 - mse / base:.1%}" if base > 0 else "n/a",
                help="1 − model MSE / baseline MSE: 100 % is a perfect wave.",
            ),
        ]
    acc, base = metrics["accuracy"], metrics["baseline_accuracy"]
    per = "sentence" if info.wiring == "many_to_one" else "output"
    cards = [
        Card(f"Accuracy per {per}", f"{acc:.1%}", f"{acc - base:+.1%} vs the baseline"),
        Card(
            "Baseline: most frequent class",
            f"{base:.1%}",
            help="Always answering the class seen most often in the data: what guessing gets.",
        ),
    ]
    if "unigram_accuracy" in metrics:
        cards.append(
            Card(
                "Each word's usual tag",
                f"{metrics['unigram_accuracy']:.1%}",
                help="Tagging every word with its most frequent tag, ignoring the word before: "
                "what a model without memory can reach.",
            )
        )
    if "sequence_accuracy" in metrics:
        cards.append(Card("Whole sequences right", f"{metrics['sequence_accuracy']:.1%}"))
    return cards


def task_cards(metrics: dict[str, float], task: Task) -> list[Card]:
    """A trained network's validation score with its change against the task's naive baseline,
    then the task's baselines (in the task's words) and what else the task measures."""
    labels = task.baseline_labels
    if task.loss == "xent":
        bits, unigram = metrics["val_bits_per_char"], metrics["unigram_bits_per_char"]
        cards = [Card("Bits per character", f"{bits:.3f}", f"{bits - unigram:+.3f} vs frequencies only", True)]
        cards += [Card(label, f"{metrics[name]:.3f}") for name, label in labels.items()]
        return cards + [Card("Next character right", f"{metrics['val_accuracy']:.1%}")]
    mse, naive = metrics["val_mse"], metrics["baseline_val_mse"]
    cards = [
        Card("Validation MSE", f"{mse:.4g}", f"{mse - naive:+.3g} vs naive", True),
        Card(labels["baseline_val_mse"], f"{naive:.4g}"),
    ]
    if "val_skill" in metrics:
        cards.append(
            Card(
                "Skill vs naive",
                f"{metrics['val_skill']:.1%}",
                help="1 − model MSE / naive MSE: above 0 the model beats the naive forecast, 100 % is perfect.",
            )
        )
    if task.loss == "last_mse":
        cards.append(Card("Answers within 0.04", f"{metrics['val_accuracy']:.1%}"))
    return cards + [Card(label, f"{metrics[name]:.4g}") for name, label in labels.items() if name != "baseline_val_mse"]
