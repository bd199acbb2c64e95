"""What a wiring's run means, for people: output tables and Plotly figures.

The pieces the Architectures page shows beside the graph, built from a ``WiringTrace`` and
an example's ``ExampleInfo`` (``rnnviz.examples``): a row per output with the predicted
class and its probability against the target, the generated wave against the wave its
vector describes, and the training loss per step (the model's score beside the trivial
baseline is ``scores.score_cards``). Pure: arrays in, rows and ``go.Figure`` out, no Streamlit.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from ..learning.architectures import Model, WiringTrace, run
from ..learning.examples import PAD, Example, ExampleInfo, input_text, item, target_text, wave_samples
from .figures import prediction_figure
from .plotting import TEMPLATE
from .style import COLORS, FAINT, FONT_SIZE, TITLE_SIZE

SMOOTHING = 0.9  # the running mean of the training loss: weight of the past


def _steps_of(info: ExampleInfo, wtrace: WiringTrace) -> int:
    if wtrace.batched:
        raise ValueError("a table or figure shows the run of one sequence (unbatched)")
    return wtrace.steps_out


def reference(info: ExampleInfo, x: np.ndarray, steps_out: int | None = None) -> np.ndarray | None:
    """The right answer for an input the example can work out by rule, else None.

    ``wave``: the ``steps_out`` samples its vector describes, (T, 1); ``reverse``: the
    letters reversed, class ids (T,). The other examples' answers follow a grammar that only
    the data set knows, so a typed sentence has no reference there.
    """
    x = np.asarray(x, dtype=np.float64)
    if info.name == "wave":
        if steps_out is None:
            raise ValueError("the wave needs the number of samples")
        return wave_samples(x, int(steps_out))[:, None]
    if info.name == "reverse":
        return x.argmax(axis=-1)[::-1].astype(np.int64)
    return None


def run_one(model: Model, info: ExampleInfo, x, target=None) -> WiringTrace:
    """Run one input as the example is scored: the wave for its number of samples, the
    encoder-decoder free-running for as many steps as its target (or, with none, its input)."""
    if info.wiring == "one_to_many":
        return run(model, x, steps_out=info.steps_out)
    if info.wiring == "encoder_decoder":
        steps = np.shape(target)[0] if target is not None else np.shape(x)[0]
        return run(model, x, steps_out=steps)
    return run(model, x)


def typed_form(info: ExampleInfo, x) -> str:
    """An input as a user types it, which ``examples.encode`` reads back: the words, or for the
    wave "amplitude, frequency, phase"."""
    x = np.asarray(x, dtype=np.float64)
    if info.name == "wave":
        a, w, s, c = x
        return f"{a:.2f}, {w:.2f}, {math.atan2(s, c) % (2 * math.pi):.2f}"
    return input_text(info, x)


def item_labels(example: Example, count: int) -> list[str]:
    """ "input → target" for the first ``count`` sequences of a data set."""
    info = example.info
    labels = []
    for i in range(min(count, len(info.lengths))):
        x, target = item(example, i)
        answer = "the wave it describes" if info.name == "wave" else target_text(info, target)
        labels.append(f"{input_text(info, x)} → {answer}")
    return labels


def output_rows(info: ExampleInfo, wtrace: WiringTrace, target=None) -> list[dict[str, object]]:
    """One row per output: what the model says (the likeliest class and its probability, or the
    value) beside the target, if given (class ids as the example stores them, or values).

    Tagging also shows the word each tag belongs to. Padded target steps (``PAD``) are left out.
    """
    T = _steps_of(info, wtrace)
    y = np.asarray(wtrace.y).reshape(T, -1)  # (T_out, O)
    t = None if target is None else np.asarray(target).reshape(T, -1)
    words = None
    if info.wiring == "many_to_many":
        x = np.asarray(wtrace.x)
        words = [info.input_vocab[int(k)] for k in x.argmax(axis=-1)]
    rows = []
    for i in range(T):
        row: dict[str, object] = {"output": "y" if info.wiring == "many_to_one" else f"y{i + 1}"}
        if words is not None:
            row["word"] = words[i]
        if info.softmax:
            k = int(np.argmax(y[i]))
            row["predicted"] = info.output_vocab[k]
            row["probability"] = float(y[i, k])
            if t is not None:
                truth = int(t[i, 0]) if t.shape[1] == 1 else int(np.argmax(t[i]))
                if truth == PAD:
                    continue
                row["target"] = info.output_vocab[truth]
                row["right"] = truth == k
        else:
            row["predicted"] = float(y[i, 0]) if y.shape[1] == 1 else y[i].tolist()
            if t is not None:
                row["target"] = float(t[i, 0]) if t.shape[1] == 1 else t[i].tolist()
        rows.append(row)
    return rows


def agreement(info: ExampleInfo, wtrace: WiringTrace, target) -> str:
    """How many outputs match the target, in words: "right", "wrong", or "4 of 6 right"."""
    if not info.softmax:
        raise ValueError("right and wrong are for class outputs")
    rows = output_rows(info, wtrace, target)
    right = sum(bool(r["right"]) for r in rows)
    if len(rows) == 1:
        return "right" if right else "wrong"
    return f"{right} of {len(rows)} right"


def probability_rows(info: ExampleInfo, wtrace: WiringTrace) -> list[dict[str, object]]:
    """many_to_one: every class with its probability, likeliest first."""
    if info.wiring != "many_to_one" or not info.softmax:
        raise ValueError("class probabilities are for a one-output softmax example")
    _steps_of(info, wtrace)
    p = np.asarray(wtrace.y).reshape(-1)
    order = np.argsort(-p, kind="stable")
    return [{"class": info.output_vocab[int(k)], "probability": float(p[k])} for k in order]


def wave_figure(wtrace: WiringTrace, target) -> go.Figure:
    """The generated sequence over t = 1..T against the wave the vector describes."""
    prediction = np.asarray(wtrace.y, dtype=np.float64).reshape(-1)
    fig = prediction_figure(
        np.asarray(target, dtype=np.float64).reshape(-1),
        prediction,
        title="the sequence the network generates from one vector",
    )
    fig.for_each_trace(lambda tr: tr.update(name={"target": "the wave the vector describes"}.get(tr.name, tr.name)))
    fig.for_each_trace(lambda tr: tr.update(name={"prediction": "generated y_t"}.get(tr.name, tr.name)))
    return fig


def running_mean(values, weight: float = SMOOTHING) -> np.ndarray:
    """Exponential running mean, bias-corrected as Adam's (the first value is the first mean)."""
    v = np.asarray(values, dtype=np.float64)
    out = np.empty_like(v)
    m = 0.0
    for i, a in enumerate(v):
        m = weight * m + (1 - weight) * a
        out[i] = m / (1 - weight ** (i + 1))
    return out


def training_figure(history: dict[str, list[float]], *, loss_name: str = "loss") -> go.Figure:
    """The minibatch loss of every training step, and its running mean."""
    loss = np.asarray(history["loss"], dtype=np.float64)
    if loss.ndim != 1 or not loss.size:
        raise ValueError("the history holds no training step")
    steps = np.arange(1, loss.size + 1)
    fig = go.Figure(
        [
            go.Scatter(x=steps, y=loss, name="each minibatch", mode="lines", line=dict(color=FAINT, width=1)),
            go.Scatter(
                x=steps,
                y=running_mean(loss),
                name="running mean",
                mode="lines",
                line=dict(color=COLORS["train_loss"], width=3),
            ),
        ]
    )
    fig.update_layout(
        template=TEMPLATE,
        font=dict(size=FONT_SIZE),
        title=dict(text="training loss", font=dict(size=TITLE_SIZE), x=0, xanchor="left"),
        height=360,
        margin=dict(l=80, r=30, t=60, b=60),
        legend=dict(orientation="h", y=1.02, yanchor="bottom", x=1, xanchor="right"),
    )
    fig.update_xaxes(title="training step", range=[0.5, loss.size + 0.5])
    fig.update_yaxes(title=loss_name, rangemode="tozero")
    return fig
