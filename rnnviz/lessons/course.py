"""What a lesson is, and the student's answers as a short text (for a bookmark).

A lesson is data: its title, the settings its figure uses (``settings``, in the app's setting
names), which one or two of them the student may change (``free``, with the values allowed),
a ``build`` function that makes the model on screen from the settings, its questions and a
``figure``. A question's right answer is not written down: ``ask(model, settings)`` computes it
from the model, with an explanation that quotes the model's numbers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Asked:
    """A question put to the model on screen: what is asked, the options, the right one and why."""

    prompt: str  # markdown
    options: tuple[str, ...]
    right: int  # index into options
    why: str  # markdown: the explanation, with the model's numbers

    def __post_init__(self):
        if not 0 <= self.right < len(self.options):
            raise ValueError(f"the right answer {self.right} is not one of {len(self.options)} options")


@dataclass(frozen=True)
class Question:
    key: str
    ask: Callable[[object, dict], Asked]  # (the lesson's model, its settings) -> Asked


@dataclass(frozen=True)
class Lesson:
    key: str
    title: str
    settings: dict[str, object]  # every setting the lesson uses, free ones at their starting value
    free: dict[str, tuple | None]  # setting -> the choices (or (low, high)) allowed; None: the app's whole range
    build: Callable[[dict], object]  # settings -> the model on screen (a trace, gradients, a training run...)
    questions: tuple[Question, ...]
    figure: Callable[[object, dict], object]  # (model, settings) -> a Plotly figure or a graphviz.Digraph
    explorer: str  # the page that continues the lesson: "neuron", "unfolded", "gates", "bptt", "train", ...
    explore: Callable[[dict], dict] = field(default=lambda s: s)  # settings -> the explorer page's settings

    def with_free(self, values: dict) -> dict:
        """The lesson's settings with the free ones taken from ``values`` where allowed."""
        out = dict(self.settings)
        for name, allowed in self.free.items():
            if name in values and allows(allowed, values[name]):
                out[name] = values[name]
        return out


def allows(allowed: tuple | None, value) -> bool:
    """Whether a free setting may take ``value``: one of the choices, or a number in (low, high)."""
    if allowed is None:
        return True
    if len(allowed) == 2 and all(isinstance(a, int | float) and not isinstance(a, bool) for a in allowed):
        return isinstance(value, int | float) and allowed[0] <= value <= allowed[1]
    return value in allowed


# -- answers: "lesson<question><r|w><option>" joined by ".", e.g. "neuron1r2.neuron2w0"
_TOKEN = re.compile(r"^([a-z]+)([1-9])([rw])([0-9])$")


def parse_answers(text: str) -> dict[tuple[str, int], tuple[int, bool]]:
    """(lesson, question) -> (option chosen, whether it was right); tokens that do not parse are skipped."""
    out = {}
    for token in str(text).split("."):
        m = _TOKEN.match(token.strip())
        if m:
            out[(m.group(1), int(m.group(2)))] = (int(m.group(4)), m.group(3) == "r")
    return out


def format_answers(answers: dict[tuple[str, int], tuple[int, bool]]) -> str:
    return ".".join(f"{k}{q}{'r' if right else 'w'}{option}" for (k, q), (option, right) in answers.items())


def score(answers: dict[tuple[str, int], tuple[int, bool]], lesson: Lesson) -> tuple[int, int]:
    """(right, answered) among the lesson's questions."""
    mine = [answers[(lesson.key, q)] for q in range(1, len(lesson.questions) + 1) if (lesson.key, q) in answers]
    return sum(right for _, right in mine), len(mine)
