"""Toy applications of the sequence wirings, built in and seeded: the data, its words, its baselines.

One example per wiring of ``rnnviz.architectures`` (and a second encoder-decoder):

- ``sentiment`` (many_to_one): a short movie review in a 25-word vocabulary -> positive or
  negative. Negation flips the adjective after it, "but" hands the verdict to the last clause,
  so word order matters ("good but boring" is negative, "boring but good" positive).
- ``wave`` (one_to_many): a vector (amplitude, frequency, phase) -> the T samples
  ``a sin(w t + phi)``, t = 1..T, of the wave it describes.
- ``tagging`` (many_to_many): a part-of-speech tag for every word of tiny sentences in which
  most nouns are also verbs ("we fish", "the fish"): the previous word decides.
- ``reverse`` (encoder_decoder): a string of letters a-e -> the same letters reversed.
- ``translate`` (encoder_decoder): a toy English -> French where adjectives follow their noun
  and "the"/"a" take the noun's gender ("the red car" -> "la voiture rouge"): the first word
  out depends on a word read later.

Sequences in one data set have different lengths. Arrays are time-major and left-padded with
zeros to the longest (``info.lengths`` says how long each one really is); ``item`` and
``batch`` cut the padding off, and a minibatch holds sequences of one length, so no model
ever reads padding. Training and scoring a model on them is ``rnnviz.learning.train_examples``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from .checks import check_int
from .fit import Budget
from .models import MAX_STEPS

if TYPE_CHECKING:
    from .architectures import WiringTrace

EXAMPLES = ("sentiment", "wave", "tagging", "reverse", "translate")
EXAMPLE_WIRING = {
    "sentiment": "many_to_one",
    "wave": "one_to_many",
    "tagging": "many_to_many",
    "reverse": "encoder_decoder",
    "translate": "encoder_decoder",
}
EXAMPLE_LABELS = {
    "sentiment": "Sentence -> sentiment",
    "wave": "Vector -> a wave",
    "tagging": "Sentence -> a tag per word",
    "reverse": "Letters -> reversed",
    "translate": "English -> toy French",
}
LENGTHS = {  # name -> (shortest, default, longest) of the ``length`` argument
    "sentiment": (3, 8, 20),
    "wave": (1, 12, MAX_STEPS),
    "tagging": (3, 8, 20),
    "reverse": (2, 5, 20),
    "translate": (2, 4, 9),
}
MAX_EXAMPLES = 10_000
PAD = -1  # class id on padded target steps


_BUDGETS = {
    "sentiment": Budget(epochs=600, lr=0.02, batch_size=32, hidden_size=16, cell="gru"),
    "wave": Budget(epochs=600, lr=0.02, batch_size=32, hidden_size=16, cell="gru"),
    "tagging": Budget(epochs=400, lr=0.02, batch_size=32, hidden_size=16, cell="gru"),
    "reverse": Budget(epochs=800, lr=0.02, batch_size=32, hidden_size=16, cell="gru"),
    "translate": Budget(epochs=800, lr=0.02, batch_size=32, hidden_size=16, cell="gru"),
}


@dataclass(frozen=True, eq=False)
class ExampleInfo:
    """What the arrays of an example mean, and how to turn them back into words."""

    name: str
    title: str
    description: str
    wiring: str
    softmax: bool  # outputs are classes (cross-entropy) rather than values (MSE)
    input_vocab: tuple[str, ...]  # the word of each one-hot input; the vector's parts for ``wave``
    output_vocab: tuple[str, ...]  # the class names; ("value",) for ``wave``
    lengths: np.ndarray  # (n,) real length of each sequence (``wave``: its T outputs)
    max_length: int  # T of the padded arrays
    budget: Budget
    joiner: str = " "  # between tokens when written out
    feed: str = "every"  # one_to_many: how the model reads the vector

    @property
    def input_size(self) -> int:
        return len(self.input_vocab)

    @property
    def output_size(self) -> int:
        return len(self.output_vocab)

    @property
    def steps_out(self) -> int | None:
        """Outputs per sequence, where the wiring needs to be told (``wave``)."""
        return self.max_length if self.wiring == "one_to_many" else None


class Example(NamedTuple):
    """``x`` (T, n, D) one-hot rows, left-padded with zeros (``wave``: (n, D) vectors);
    ``target``: class ids (n,) for ``sentiment``, (T, n) ids left-padded with PAD for the
    sequence outputs, (T, n, 1) values for ``wave``."""

    x: np.ndarray
    target: np.ndarray
    info: ExampleInfo


def make_example(name: str, n: int = 256, length: int | None = None, seed: int = 0) -> Example:
    """A seeded data set of ``n`` sequences of one example.

    Args:
        name: one of EXAMPLES.
        n: how many sequences.
        length: the longest sequence (lengths vary from the example's shortest up to it);
            ``wave``: the number of samples generated. None: the example's default (``LENGTHS``).
        seed: the same seed gives the same arrays.
    Returns:
        ``Example(x, target, info)``; raises ValueError for a bad argument.
    """
    if name not in EXAMPLES:
        raise ValueError(f"unknown example {name!r}; expected one of {', '.join(EXAMPLES)}")
    lo, default, hi = LENGTHS[name]
    n = check_int("n", n, 1, MAX_EXAMPLES)
    length = check_int("length", default if length is None else length, lo, hi)
    rng = np.random.default_rng([check_int("seed", seed, 0, 2**63 - 1), EXAMPLES.index(name)])
    if name == "wave":
        return _wave(n, length, rng)
    make = {"sentiment": _sentiment_sentence, "tagging": _tagged_sentence, "translate": _translation}
    lengths = rng.integers(lo, length + 1, size=n)
    if name == "reverse":
        pairs = [_reversal(rng, int(k)) for k in lengths]
    else:
        pairs = [make[name](rng, int(k)) for k in lengths]
    return _pack(name, pairs, lengths, length)


_DETS = ("the", "a", "this")
_NOUNS = ("movie", "film", "plot", "story", "acting")
_VERBS = ("was", "is")
_INTENSIFIERS = ("very", "really")
_POSITIVE = ("good", "great", "fun", "brilliant", "moving")
_NEGATIVE = ("bad", "awful", "boring", "dull", "weak")
SENTIMENT_VOCAB = _DETS + _NOUNS + _VERBS + ("not",) + _INTENSIFIERS + _POSITIVE + _NEGATIVE + ("and", "but")
SENTIMENT_CLASSES = ("negative", "positive")


def _pick(rng, words):
    return words[int(rng.integers(len(words)))]


def _adjective_phrase(rng, size: int, positive: bool) -> list[str]:
    """[not] [very] adjective, ``size`` words, whose meaning is ``positive``."""
    negated = size == 3 or (size == 2 and rng.random() < 0.5)
    words = ["not"] if negated else []
    if size - len(words) == 2:
        words.append(_pick(rng, _INTENSIFIERS))
    words.append(_pick(rng, _POSITIVE if positive != negated else _NEGATIVE))
    return words


def _sentiment_sentence(rng, length: int) -> tuple[list[str], int]:
    """A review of exactly ``length`` words and its label (1 positive): the last clause's meaning."""
    positive = bool(rng.random() < 0.5)
    if length <= 5 and (length == 3 or rng.random() < 0.5):  # "[not] a [very] good movie"
        negated = length - 3 == 2 or (length == 4 and rng.random() < 0.5)
        words = ["not"] if negated else []
        words.append(_pick(rng, _DETS[1:]) if negated else _pick(rng, _DETS))
        if length - 3 - negated == 1:
            words.append(_pick(rng, _INTENSIFIERS))
        words += [_pick(rng, _POSITIVE if positive != negated else _NEGATIVE), _pick(rng, _NOUNS)]
        return words, int(positive)
    # "the plot was [not] [very] adj {and|but [not] [very] adj}", the last clause decides
    left = length - 3
    sizes = []
    while left:
        options = [s for s in (1, 2, 3) if s <= left and (left - s == 0 or left - s >= 2)]
        s = options[int(rng.integers(len(options)))]
        sizes.append(s)
        left -= s
        if left:
            left -= 1  # the conjunction
    meanings = [positive]
    for _ in sizes[1:]:
        meanings.insert(0, bool(rng.random() < 0.5))
    words = [_pick(rng, _DETS), _pick(rng, _NOUNS), _pick(rng, _VERBS)]
    for k, (s, meaning) in enumerate(zip(sizes, meanings, strict=True)):
        if k:
            words.append("and" if meaning == meanings[k - 1] else "but")
        words += _adjective_phrase(rng, s, meaning)
    return words, int(positive)


_PRONOUNS = ("i", "you", "we", "they")
_OBJECT_PRONOUNS = ("me", "us", "them")
_ARTICLES = ("the", "a")
_ADJECTIVES = ("big", "small", "red")
_NOUN_OR_VERB = ("fish", "duck", "watch", "walk", "book", "cook", "train")
_ONLY_NOUNS = ("dog", "cat")
_ONLY_VERBS = ("like", "see")
TAGGING_VOCAB = _PRONOUNS + _OBJECT_PRONOUNS + _ARTICLES + _ADJECTIVES + _NOUN_OR_VERB + _ONLY_NOUNS + _ONLY_VERBS
TAGGING_VOCAB += ("and",)
TAGS = ("PRON", "VERB", "DET", "ADJ", "NOUN", "CONJ")


def _clause(rng, size: int) -> list[tuple[str, str]]:
    """pronoun verb object, ``size`` words (3 to 6): "we fish", "the old duck", "them"."""
    words = [(_pick(rng, _PRONOUNS), "PRON"), (_pick(rng, _NOUN_OR_VERB + _ONLY_VERBS), "VERB")]
    if size == 3:
        return words + [(_pick(rng, _OBJECT_PRONOUNS), "PRON")]
    words.append((_pick(rng, _ARTICLES), "DET"))
    words += [(_pick(rng, _ADJECTIVES), "ADJ") for _ in range(size - 4)]
    return words + [(_pick(rng, _NOUN_OR_VERB + _ONLY_NOUNS), "NOUN")]


def _tagged_sentence(rng, length: int) -> tuple[list[str], list[str]]:
    """Clauses joined by "and", exactly ``length`` words, each with its tag."""
    pairs: list[tuple[str, str]] = []
    left = length
    while left:
        options = [s for s in (3, 4, 5, 6) if s <= left and (left - s == 0 or left - s >= 4)]
        s = options[int(rng.integers(len(options)))]
        pairs += _clause(rng, s)
        left -= s
        if left:
            pairs.append(("and", "CONJ"))
            left -= 1
    return [w for w, _ in pairs], [t for _, t in pairs]


LETTERS = ("a", "b", "c", "d", "e")


def _reversal(rng, length: int) -> tuple[list[str], list[str]]:
    letters = [_pick(rng, LETTERS) for _ in range(length)]
    return letters, letters[::-1]


_EN_NOUNS = {"cat": ("chat", "m"), "dog": ("chien", "m"), "bird": ("oiseau", "m"), "car": ("voiture", "f")}
_EN_NOUNS |= {"house": ("maison", "f"), "lamp": ("lampe", "f")}
_EN_ADJECTIVES = {"red": "rouge", "yellow": "jaune", "fast": "rapide", "calm": "calme", "sad": "triste"}
_EN_VERBS = {"sees": "voit", "likes": "aime", "eats": "mange"}
_EN_ARTICLES = {"the": {"m": "le", "f": "la"}, "a": {"m": "un", "f": "une"}}
ENGLISH_VOCAB = tuple(_EN_ARTICLES) + tuple(_EN_NOUNS) + tuple(_EN_ADJECTIVES) + tuple(_EN_VERBS)
FRENCH_VOCAB = ("le", "la", "un", "une") + tuple(f for f, _ in _EN_NOUNS.values())
FRENCH_VOCAB += tuple(_EN_ADJECTIVES.values()) + tuple(_EN_VERBS.values())


def _noun_phrase(rng, size: int) -> tuple[list[str], list[str]]:
    """article, size - 2 adjectives, noun -> article of the noun's gender, noun, adjectives."""
    article, noun = _pick(rng, tuple(_EN_ARTICLES)), _pick(rng, tuple(_EN_NOUNS))
    adjectives = [str(a) for a in rng.choice(list(_EN_ADJECTIVES), size=size - 2, replace=False)]
    french, gender = _EN_NOUNS[noun]
    english = [article, *adjectives, noun]
    return english, [_EN_ARTICLES[article][gender], french, *(_EN_ADJECTIVES[a] for a in adjectives)]


def _translation(rng, length: int) -> tuple[list[str], list[str]]:
    """A noun phrase (2 to 4 words), or noun phrase, verb, noun phrase (5 to 9 words)."""
    if length <= 4:
        return _noun_phrase(rng, length)
    first = int(rng.integers(max(2, length - 5), min(4, length - 3) + 1))
    en1, fr1 = _noun_phrase(rng, first)
    en2, fr2 = _noun_phrase(rng, length - 1 - first)
    verb = _pick(rng, tuple(_EN_VERBS))
    return en1 + [verb] + en2, fr1 + [_EN_VERBS[verb]] + fr2


_TEXTS = {
    "sentiment": (
        "Sentence -> sentiment (many to one)",
        "A short movie review -> positive or negative. 'not' flips the adjective after it and 'but' "
        "hands the verdict to the last clause, so the order of the words matters.",
        SENTIMENT_VOCAB,
        SENTIMENT_CLASSES,
        " ",
    ),
    "tagging": (
        "Sentence -> a part-of-speech tag per word (many to many)",
        "Most nouns here are verbs too ('we fish', 'the fish'): the word before decides the tag.",
        TAGGING_VOCAB,
        TAGS,
        " ",
    ),
    "reverse": (
        "Letters -> the same letters reversed (encoder-decoder)",
        "The encoder reads the letters; the decoder writes them back in reverse order, one per step, "
        "reading its own previous letter.",
        LETTERS,
        LETTERS,
        " ",
    ),
    "translate": (
        "English -> toy French (encoder-decoder)",
        "Adjectives follow their noun and 'the'/'a' take its gender (le/la, un/une): the first French "
        "word depends on an English word read later.",
        ENGLISH_VOCAB,
        FRENCH_VOCAB,
        " ",
    ),
}


def _pack(name: str, pairs, lengths: np.ndarray, T: int) -> Example:
    title, description, in_vocab, out_vocab, joiner = _TEXTS[name]
    n = len(pairs)
    x = np.zeros((T, n, len(in_vocab)))
    index_in = {w: k for k, w in enumerate(in_vocab)}
    index_out = {w: k for k, w in enumerate(out_vocab)}
    if name == "sentiment":
        target = np.array([label for _, label in pairs], dtype=np.int64)  # (n,)
    else:
        target = np.full((T, n), PAD, dtype=np.int64)
    for i, (words, out) in enumerate(pairs):
        k = len(words)
        x[T - k + np.arange(k), i, [index_in[w] for w in words]] = 1.0
        if name != "sentiment":
            target[T - k :, i] = [index_out[w] for w in out]
    info = ExampleInfo(
        name=name,
        title=title,
        description=description,
        wiring=EXAMPLE_WIRING[name],
        softmax=True,
        input_vocab=in_vocab,
        output_vocab=out_vocab,
        lengths=lengths.astype(np.int64),
        max_length=T,
        budget=_BUDGETS[name],
        joiner=joiner,
    )
    return Example(x, target, info)


WAVE_INPUTS = ("amplitude", "frequency", "sin(phase)", "cos(phase)")
WAVE_RANGES = {"amplitude": (0.2, 1.0), "frequency": (0.3, 1.0)}  # frequency in radians per step


def wave_vector(amplitude: float, frequency: float, phase: float) -> np.ndarray:
    """The ``wave`` example's input vector (D = 4) for a * sin(w t + phase), w = frequency."""
    values = {"amplitude": amplitude, "frequency": frequency, "phase": phase}
    for key, v in values.items():
        if isinstance(v, bool) or not isinstance(v, int | float | np.floating | np.integer) or not math.isfinite(v):
            raise ValueError(f"{key} must be a finite number, got {v!r:.40}")
    for key, (lo, hi) in WAVE_RANGES.items():
        if not lo <= values[key] <= hi:
            raise ValueError(f"{key} must be from {lo} to {hi}, got {values[key]}")
    return np.array([amplitude, frequency, math.sin(phase), math.cos(phase)], dtype=np.float64)


def wave_samples(vector: np.ndarray, steps: int) -> np.ndarray:
    """(steps,) the wave a vector describes, at t = 1..steps."""
    a, w, s, c = vector
    t = np.arange(1, steps + 1)
    return a * (np.sin(w * t) * c + np.cos(w * t) * s)  # a sin(w t + phase)


def _wave(n: int, T: int, rng) -> Example:
    (a_lo, a_hi), (w_lo, w_hi) = WAVE_RANGES["amplitude"], WAVE_RANGES["frequency"]
    a, w, phase = rng.uniform(a_lo, a_hi, n), rng.uniform(w_lo, w_hi, n), rng.uniform(0, 2 * np.pi, n)
    x = np.stack([a, w, np.sin(phase), np.cos(phase)], axis=1)  # (n, 4)
    target = np.stack([wave_samples(v, T) for v in x], axis=1)[:, :, None]  # (T, n, 1)
    info = ExampleInfo(
        name="wave",
        title="Vector -> a wave (one to many)",
        description="A vector (amplitude a, frequency w in radians per step, phase phi as its sine and "
        "cosine) -> the samples a sin(w t + phi) at t = 1..T: a sequence generated from one description.",
        wiring="one_to_many",
        softmax=False,
        input_vocab=WAVE_INPUTS,
        output_vocab=("value",),
        lengths=np.full(n, T, dtype=np.int64),
        max_length=T,
        budget=_BUDGETS["wave"],
        joiner=", ",
    )
    return Example(x, target, info)


def batch(example: Example, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sequences ``idx``, all of one length, without padding: (x, target) for ``run`` and ``loss``."""
    x, target, info = example
    if info.name == "wave":
        return x[idx], target[:, idx]
    start = info.max_length - int(info.lengths[idx[0]])
    if info.wiring == "many_to_one":
        return x[start:, idx], target[idx]
    return x[start:, idx], target[start:, idx]


def item(example: Example, i: int) -> tuple[np.ndarray, np.ndarray]:
    """Sequence ``i`` without its padding: (x, target) as ``run`` and ``loss`` take them unbatched."""
    i = check_int("i", i, 0, len(example.info.lengths) - 1)
    x, target = batch(example, np.array([i]))
    return (x[0] if x.ndim == 2 else x[:, 0]), (target if target.ndim == 1 else target[:, 0])


def length_buckets(info: ExampleInfo) -> list[np.ndarray]:
    """Indices of the sequences of each length."""
    return [np.flatnonzero(info.lengths == k) for k in np.unique(info.lengths)]


def baselines(example: Example) -> dict[str, float]:
    """What trivial answers score on an example's sequences.

    Softmax examples: "baseline_accuracy", always the most frequent class; tagging also
    "unigram_accuracy", each word's most frequent tag. ``wave``: "baseline_mse", always 0.
    """
    x, target, info = example
    if not info.softmax:
        return {"baseline_mse": float(np.mean(target**2))}
    labels = target[target != PAD]
    out = {"baseline_accuracy": float(np.bincount(labels).max() / labels.size)}
    if info.name == "tagging":
        out["unigram_accuracy"] = _unigram_accuracy(x, target)
    return out


def _unigram_accuracy(x: np.ndarray, target: np.ndarray) -> float:
    """Accuracy of tagging every word with its most frequent tag (counted on the same data)."""
    real = target != PAD
    words = x.argmax(axis=-1)[real]
    tags = target[real]
    counts = np.zeros((x.shape[-1], int(tags.max()) + 1))
    np.add.at(counts, (words, tags), 1)
    return float(counts.max(axis=1).sum() / tags.size)


def encode(info: ExampleInfo, text: str) -> np.ndarray:
    """A typed input as the model's x: words -> (T, V) one-hot rows (``reverse``: letters,
    spaces optional); ``wave``: "amplitude, frequency, phase" -> the (4,) vector."""
    if not isinstance(text, str):
        raise ValueError(f"the input must be text, got {type(text).__name__}")
    if info.name == "wave":
        parts = [p for p in text.replace(",", " ").split() if p]
        if len(parts) != 3:
            raise ValueError("type three numbers: amplitude, frequency (radians per step), phase (radians)")
        try:
            values = [float(p) for p in parts]
        except ValueError:
            raise ValueError(f"not a number among {text!r:.80}") from None
        return wave_vector(*values)
    words = list(text.lower().replace(" ", "")) if info.name == "reverse" else text.lower().split()
    if not words:
        raise ValueError("type at least one word")
    if len(words) > MAX_STEPS:
        raise ValueError(f"at most {MAX_STEPS} words, got {len(words)}")
    unknown = sorted({w for w in words if w not in info.input_vocab})
    if unknown:
        shown = ", ".join(repr(w) for w in unknown[:5])
        raise ValueError(f"not in the vocabulary: {shown:.200}; the words are: {' '.join(info.input_vocab)}")
    return np.eye(info.input_size)[[info.input_vocab.index(w) for w in words]]


def input_text(info: ExampleInfo, x: np.ndarray) -> str:
    """One input as text: (T, V) one-hot rows -> the words (padding rows skipped); ``wave``: the vector."""
    x = np.asarray(x, dtype=np.float64)
    if info.name == "wave":
        a, w, s, c = x
        return f"amplitude {a:.2f}, frequency {w:.2f} rad/step, phase {math.atan2(s, c) % (2 * math.pi):.2f} rad"
    return info.joiner.join(info.input_vocab[int(k)] for k in x.argmax(axis=-1)[x.any(axis=-1)])


def target_text(info: ExampleInfo, target: np.ndarray) -> str:
    """One target as text: a class, the tokens (padding skipped), or the values."""
    target = np.asarray(target)
    if not info.softmax:
        return info.joiner.join(f"{v:.2f}" for v in target.reshape(-1))
    return info.joiner.join(info.output_vocab[int(k)] for k in target.reshape(-1) if k != PAD)


def prediction_text(info: ExampleInfo, y: np.ndarray) -> str:
    """One output sequence (T_out, O) as text: "negative (p = 0.93)" for a single class, the most
    likely token per step for sequences, the values for ``wave``."""
    y = np.asarray(y, dtype=np.float64)
    if not info.softmax:
        return info.joiner.join(f"{v:.2f}" for v in y.reshape(-1))
    if info.wiring == "many_to_one":
        k = int(y[-1].argmax())
        return f"{info.output_vocab[k]} (p = {y[-1, k]:.2f})"
    return info.joiner.join(info.output_vocab[int(k)] for k in y.argmax(axis=-1))


def describe(info: ExampleInfo, wtrace: WiringTrace, target=None) -> str:
    """ "input: 'not a good movie' -> predicted: negative (p = 0.93)" for an unbatched run."""
    if wtrace.batched:
        raise ValueError("describe takes the run of one sequence (unbatched)")
    text = f"input: '{input_text(info, wtrace.x)}' -> predicted: {prediction_text(info, wtrace.y)}"
    if target is not None:
        text += f" (target: {target_text(info, target)})"
    return text
