"""The chapter as nine lessons, in its order: the recurrent neuron, its two weights, unfolding, the
unfolded graph with shared weights, vanishing and exploding gradients, the LSTM, the GRU, sequence
wirings with the chapter's applications, and training.

Every answer is computed here from the model the lesson's settings make (``rnnviz.forward``,
``rnnviz.backward``, the drawings, ``rnnviz.fit``): change a free setting and the right answer
follows.
"""

from __future__ import annotations

import re

import numpy as np

from ..drawing import count_nodes, figures, unfolded_graph
from ..drawing.wirings import wiring_graph, wiring_shape
from ..engine import bptt, neuron, presets, signals
from ..engine.forward import forward
from ..learning.tasks import make_task
from ..learning.train import fit
from .course import Asked, Lesson, Question


def _n(v: float) -> str:
    return f"{float(v):.3g}"


def _seq(values) -> str:
    return ", ".join(f"{_n(v)}" for v in values[:6]) + (", ..." if len(values) > 6 else "")


# -- the single neuron (lessons 1 to 4)


def neuron_run(s: dict):
    """The neuron's forward trace for the settings wx, wy, b, act, y0, signal, T."""
    params = neuron.neuron_params(s["wx"], s["wy"], s["b"], s["act"])
    x = signals.make_signal(s["signal"], s["T"], 1)  # (T, 1)
    return forward(params, x, h0=[[s["y0"]]])


def behaviour(y: np.ndarray) -> str:
    """How y_1..y_T moves: "oscillate" if its sign flips, else "grow", "decay" or "stay" (|y_T| vs |y_1|, 10 %)."""
    signs = np.sign(y[np.abs(y) > 1e-9])
    if np.any(signs[1:] != signs[:-1]):
        return "oscillate"
    ratio = abs(y[-1]) / max(abs(y[0]), 1e-300)
    return "grow" if ratio > 1.1 else "decay" if ratio < 0.9 else "stay"


BEHAVIOURS = ("grow", "decay", "oscillate", "stay")


def _ask_behaviour(trace, s) -> Asked:
    y = trace.output[:, 0]  # (T,)
    kind = behaviour(y)
    flips = int(np.sum(np.diff(np.sign(y[np.abs(y) > 1e-9])) != 0))
    why = (
        f"With W_y = {_n(s['wy'])} the neuron gives y_1..y_{s['T']} = {_seq(y)}, and y_{s['T']} = {_n(y[-1])}. "
        f"The sign flips {flips} times; |y_{s['T']}| / |y_1| = {_n(abs(y[-1]) / max(abs(y[0]), 1e-300))}. "
        "After the impulse only the feedback W_y y_{t-1} drives the neuron: a negative W_y flips the sign every step, "
        "|W_y| below about 1 lets y die away, and a larger one holds or grows it until tanh saturates."
    )
    prompt = f"W_y = {_n(s['wy'])} and an impulse (x_1 = 1, then 0): does y_t grow, decay, oscillate or stay?"
    return Asked(prompt, BEHAVIOURS, BEHAVIOURS.index(kind), why)


SIGNS = ("positive", "negative", "zero")


def _ask_sign(trace, s) -> Asked:
    y = trace.output[:, 0]
    last = y[-1]
    answer = 2 if abs(last) < 1e-6 else 0 if last > 0 else 1
    why = (
        f"y_{s['T']} = {_n(last)}. Each step multiplies the fed-back output by W_y = {_n(s['wy'])} before tanh, "
        f"and tanh keeps the sign, so after the impulse y_t has the sign of W_y^(t-1) · y_1 (y_1 = {_n(y[0])})."
    )
    return Asked(f"Is y_{s['T']}, the last output, positive, negative or zero?", SIGNS, answer, why)


TERMS = ("W_x · x_2 (the input)", "W_y · y_1 (the memory)", "equal (within 1 %)")


def _ask_terms(trace, s) -> Asked:
    lt = trace.layers[0]
    w_x, w_y = trace.params.layers[0].W_ih[0, 0], trace.params.layers[0].W_hh[0, 0]
    given, kept = w_x * lt.x[1, 0], w_y * lt.h_prev[1, 0]
    big = max(abs(given), abs(kept))
    answer = 2 if abs(abs(given) - abs(kept)) <= 0.01 * big else 0 if abs(given) > abs(kept) else 1
    why = (
        f"W_x · x_2 = {_n(w_x)} × {_n(lt.x[1, 0])} = {_n(given)} and W_y · y_1 = {_n(w_y)} × {_n(lt.h_prev[1, 0])} "
        f"= {_n(kept)}; their sum a_2 = {_n(lt.pre['a'][1, 0])} gives y_2 = tanh(a_2) = {_n(lt.h[1, 0])}. "
        "W_x weighs what comes in now, W_y what the neuron said one step ago."
    )
    return Asked(
        "With a step input (x_t = 1 at every step), at step 2 which term is larger in size?", TERMS, answer, why
    )


YES_NO = ("yes", "no")


def _ask_settled(trace, s) -> Asked:
    y = trace.output[:, 0]
    T = s["T"]
    change = abs(y[-1] - y[-2])
    why = (
        f"y_{T - 1} = {_n(y[-2])} and y_{T} = {_n(y[-1])}: they differ by {_n(change)}. The outputs were {_seq(y)}. "
        "With a constant input the neuron settles where y = tanh(W_x + W_y y), if that fixed point attracts: "
        "a strongly negative W_y overshoots it every step instead."
    )
    prompt = f"With the step input, has y_t settled by step {T} (|y_{T} − y_{T - 1}| below 0.01)?"
    return Asked(prompt, YES_NO, 0 if change < 0.01 else 1, why)


def unfold_model(s: dict):
    trace = neuron_run(s)
    return trace, unfolded_graph(trace, neuron=True, values=True)


_WY_EDGE = re.compile(r"label=<W<SUB>y</SUB>>")


def _options(values: list[int], right: int) -> tuple[tuple[str, ...], int]:
    choices = sorted(set(v for v in values if v >= 0))
    return tuple(str(v) for v in choices), choices.index(right)


def _ask_wy_uses(model, s) -> Asked:
    _, graph = model
    T = s["T"]
    uses = len(_WY_EDGE.findall(graph.source))
    options, right = _options([1, T - 1, T, T + 1, uses], uses)
    why = (
        f"The drawing has {uses} edges labelled W_y: y_0 → step 1, y_1 → step 2, ..., y_{T - 1} → step {T}. "
        "Unfolding draws the one neuron once per step, and every copy uses the same W_y on the output before it."
    )
    return Asked(f"Unfolded over T = {T} steps, how many times is W_y used?", options, right, why)


def _ask_boxes(model, s) -> Asked:
    _, graph = model
    T = s["T"]
    boxes = count_nodes(graph)
    options, right = _options([2 * T + 1, 3 * T, 3 * T + 1, 4 * T, boxes], boxes)
    why = (
        f"The unfolded graph has {boxes} boxes: for each of the {T} steps an input x_t, the neuron Σ, tanh and its "
        "output y_t, and once the initial output y_0. Unfolding turns the loop into a chain as long as the sequence."
    )
    return Asked(f"How many boxes (nodes) does the graph unfolded over T = {T} steps have?", options, right, why)


def shared_model(s: dict):
    trace = neuron_run(s)
    grads = bptt.loss_backward(trace.params, trace, "last")  # L = y_T
    return trace, grads


def wy_contributions(trace, grads) -> np.ndarray:
    """dL/dW_y step by step: copy t of W_y adds dL/da_t · y_{t-1}, with dL/da_t = dL/dy_t · tanh'(a_t)."""
    lt = trace.layers[0]
    da = grads.dh[0][:, 0] * (1.0 - lt.h[:, 0] ** 2)  # (T,)  tanh'(a) = 1 - y^2
    return da * lt.h_prev[:, 0]  # (T,)


def _ask_copies(model, s) -> Asked:
    trace, grads = model
    c = wy_contributions(trace, grads)
    T = s["T"]
    nonzero = int(np.sum(np.abs(c) > 1e-12))
    labels = (f"all {T}", f"{T - 1}: all but step 1", "only the last step")
    answer = 0 if nonzero == T else 2 if nonzero == 1 and abs(c[-1]) > 1e-12 else 1
    why = (
        f"L = y_{T}. The copies of W_y contribute dL/da_t · y_(t−1) = {_seq(c)} (t = 1..{T}); "
        f"{nonzero} of them are not zero. Copy 1 multiplies y_0 = {_n(s['y0'])}, so it adds nothing when y_0 = 0, "
        "and with W_y = 0 no gradient reaches the earlier steps."
    )
    return Asked(f"L = y_{T}. How many of the {T} copies of W_y add something to dL/dW_y?", labels, answer, why)


def _ask_gradient_sign(model, s) -> Asked:
    trace, grads = model
    c = wy_contributions(trace, grads)
    total = float(grads.params.layers[0].W_hh[0, 0])
    answer = 2 if abs(total) < 1e-12 else 0 if total > 0 else 1
    why = (
        f"Backprop through time gives dL/dW_y = {_n(total)}: the sum of the copies' terms {_seq(c)} "
        f"(their sum: {_n(float(np.sum(c)))}). A shared weight's gradient is the sum over every place it is used."
    )
    return Asked(
        f"W_y = {_n(s['wy'])}, y_0 = {_n(s['y0'])}: is dL/dW_y positive, negative or zero?", SIGNS, answer, why
    )


def shared_figure(model, s):
    trace, grads = model
    return unfolded_graph(trace, neuron=True, values=True, grads=grads)


# -- vanishing and exploding gradients


def gradients_model(s: dict):
    params = presets.network_params(s["cell"], s["D"], s["H"], s["L"], seed=s["seed"], scale=s["scale"])
    params = presets.rescale_recurrent(params, s["radius"])
    trace = forward(params, signals.make_signal(s["signal"], s["T"], s["D"], seed=s["seed"]))
    return bptt.loss_backward(params, trace, "last")


ABOVE_BELOW = ("above 1e-6", "below 1e-6")


def _ask_jacobian(grads, s) -> Asked:
    norms = grads.jacobian_norms[0]  # (T,)
    first = float(norms[0])
    why = (
        f"||∂h_{s['T']}/∂h_1|| = {first:.3g}; ||∂h_{s['T']}/∂h_t|| for t = {s['T']}, {s['T'] - 10}, {s['T'] - 20}, "
        f"{s['T'] - 30}: {_n(norms[-1])}, {_n(norms[-11])}, {_n(norms[-21])}, {_n(norms[-31])}. Each step back "
        f"multiplies by W_hh (spectral radius ρ = {_n(s['radius'])}) and the activation's slope: "
        "ρ below 1 shrinks the product geometrically; above 1 it can grow unless the activation saturates."
    )
    prompt = f"Spectral radius ρ = {_n(s['radius'])}: is ||∂h_{s['T']}/∂h_1|| above or below 1e-6?"
    return Asked(prompt, ABOVE_BELOW, 0 if first > 1e-6 else 1, why)


GROW_SHRINK = ("it shrinks (vanishes)", "it grows (explodes)")


def _ask_direction(grads, s) -> Asked:
    dh = grads.dh_norm[0]  # (T,)
    ratio = float(dh[0] / dh[-1]) if dh[-1] > 0 else float("inf")
    why = (
        f"||dL/dh_{s['T']}|| = {_n(dh[-1])} where the loss looks, and ||dL/dh_1|| = {dh[0]:.3g}: "
        f"a factor {ratio:.3g} over {s['T'] - 1} steps back."
    )
    prompt = f"L looks at step {s['T']} only. Going back to step 1, does ||dL/dh_t|| shrink or grow?"
    return Asked(prompt, GROW_SHRINK, 0 if ratio < 1 else 1, why)


def gradients_figure(grads, s):
    series = {"||∂h_T/∂h_t||": grads.jacobian_norms[0], "||dL/dh_t||": grads.dh_norm[0]}
    return figures.grad_norm_figure(series, title=f"ρ = {_n(s['radius'])}: gradients back through time")


# -- LSTM and GRU


def cell_model(s: dict):
    params = presets.network_params(s["cell"], s["D"], s["H"], s["L"], seed=s["seed"], preset=s["preset"])
    return forward(params, signals.make_signal(s["signal"], s["T"], s["D"], seed=s["seed"]))


MEMORY_WRITE = ("the memory f ⊙ c_(t−1)", "the new write i ⊙ g")


def _ask_memory(trace, s) -> Asked:
    g, c = trace.gates[0], trace.cell[0]  # (T, H) each
    kept = float(np.linalg.norm(g["f"][-1] * c[-2]))
    written = float(np.linalg.norm(g["i"][-1] * g["g"][-1]))
    T = s["T"]
    why = (
        f"At step {T}: f = {_seq(g['f'][-1])}, i = {_seq(g['i'][-1])}; ||f ⊙ c_{T - 1}|| = {_n(kept)} and "
        f"||i ⊙ g|| = {_n(written)}, so c_{T} = {_seq(c[-1])} (c_1 was {_seq(c[0])}). "
        "For c_t to keep its value the forget gate must stay open (f ≈ 1) while the input gate stays shut (i ≈ 0)."
    )
    prompt = f"c_t = f ⊙ c_(t−1) + i ⊙ g. At step {T}, which term holds more of c_{T}?"
    return Asked(prompt, MEMORY_WRITE, 0 if kept >= written else 1, why)


LSTM_GATES = ("input gate i", "forget gate f", "output gate o")


def _ask_closed(trace, s) -> Asked:
    g = trace.gates[0]
    means = [float(np.mean(g[name][-1])) for name in "ifo"]
    T = s["T"]
    why = (
        f"At step {T} the gates average i = {_n(means[0])}, f = {_n(means[1])}, o = {_n(means[2])} over the units. "
        "A gate near 0 blocks: i shuts out the new candidate, f wipes the memory, o hides the cell from h_t."
    )
    return Asked(f"Which gate is the most closed (lowest) at step {T}?", LSTM_GATES, int(np.argmin(means)), why)


SHARES = ("about 20 %", "about 50 %", "about 80 %")


def _ask_share(trace, s) -> Asked:
    z = trace.gates[0]["z"]  # (T, H)
    move = float(np.mean(1.0 - z))
    answer = int(np.argmin([abs(move - v) for v in (0.2, 0.5, 0.8)]))
    why = (
        f"h_t = (1 − z) ⊙ n + z ⊙ h_(t−1): the update gate z averages {_n(float(np.mean(z)))} over the steps and "
        f"units, so h moves {100 * move:.0f} % of the way to the candidate n each step and keeps the rest."
    )
    prompt = "h_t = (1 − z) ⊙ n + z ⊙ h_(t−1). How far does h move toward the candidate n at each step, on average?"
    return Asked(prompt, SHARES, answer, why)


TRENDS = ("still growing", "falling", "settled (changes below 0.001)")


def _ask_trend(trace, s) -> Asked:
    norms = np.linalg.norm(trace.hidden[0], axis=-1)  # (T,)
    change = float(norms[-1] - norms[-2])
    answer = 2 if abs(change) < 1e-3 else 0 if change > 0 else 1
    T = s["T"]
    why = (
        f"||h_t|| for t = 1..{T}: {_seq(norms)}, ending with ||h_{T - 1}|| = {_n(norms[-2])} and "
        f"||h_{T}|| = {_n(norms[-1])} (a change of {change:.2g}). A leaky integrator keeps most of its state every "
        "step, so it approaches where it is going slowly."
    )
    return Asked(f"After the impulse, is ||h_t|| at step {T} still growing, falling, or settled?", TRENDS, answer, why)


def cell_figure(trace, s):
    return figures.gates_figure(trace)


# -- wirings and the chapter's applications

APPLICATIONS = {  # the chapter's applications -> (wiring, inputs read, outputs written, the Architectures example)
    "classification": ("many_to_one", 5, None, "sentiment"),
    "stock": ("many_to_one", 5, None, "sentiment"),
    "modelling": ("many_to_many", 5, None, "tagging"),
    "captioning": ("one_to_many", None, 5, "wave"),
    "translation": ("encoder_decoder", 5, 4, "translate"),
}
APPLICATION_LABELS = {
    "classification": "text classification (a review → its sentiment)",
    "stock": "stock prediction (30 days of prices → tomorrow's)",
    "modelling": "language modelling (each word → the next word)",
    "captioning": "captioning (one image's features → a sentence)",
    "translation": "translation (an English sentence → a French one)",
}
WIRING_WORDS = {
    "many_to_one": "many to one",
    "one_to_many": "one to many",
    "many_to_many": "many to many",
    "encoder_decoder": "encoder-decoder",
}


def wiring_model(s: dict):
    wiring, steps_in, steps_out, _ = APPLICATIONS[s["app"]]
    shape = wiring_shape(wiring, steps_in, steps_out)
    return shape, wiring_graph(wiring, shape.steps_in, shape.steps_out, legend=False)


def _ask_wiring(model, s) -> Asked:
    shape, _ = model
    options = tuple(WIRING_WORDS.values())
    why = (
        f"{APPLICATION_LABELS[s['app']].capitalize()}: it reads {shape.steps_in} input(s) and writes "
        f"{shape.steps_out} output(s), so the wiring is {WIRING_WORDS[shape.name]}."
    )
    prompt = f"Which wiring does {APPLICATION_LABELS[s['app']]} need?"
    return Asked(prompt, options, list(WIRING_WORDS).index(shape.name), why)


_CELL_NODE = re.compile(r'class="state\b[^"]*step-\d+')


def _ask_cells(model, s) -> Asked:
    shape, graph = model
    cells = len({line.split()[0] for line in graph.source.splitlines() if _CELL_NODE.search(line) and "->" not in line})
    options, right = _options([1, 4, 5, 9, cells], cells)
    runs = f"{shape.steps_in} reading, {shape.steps_out} writing" if shape.name == "encoder_decoder" else "each step"
    why = (
        f"The drawing has {cells} copies of the cell: one per step the network runs ({runs}). "
        "The wiring changes where inputs enter and outputs leave, never the cell: every copy shares its weights."
    )
    return Asked(
        f"How many copies of the cell does the unfolded {WIRING_WORDS[shape.name]} graph have?", options, right, why
    )


def wiring_figure(model, s):
    return model[1]


def _wiring_explore(s: dict) -> dict:
    return {"wiring": APPLICATIONS[s["app"]][0], "example": APPLICATIONS[s["app"]][3]}


# -- training


def training_model(s: dict):
    task = make_task(s["task"], seed=s["seed"])
    return fit(
        task,
        s["cell"],
        s["hidden"],
        epochs=s["epochs"],
        lr=s["lr"],
        optimizer=s["opt"],
        clip=s["tclip"],
        seed=s["seed"],
    )


def _ask_baseline(result, s) -> Asked:
    mse, base = result.metrics["val_mse"], result.metrics["baseline_val_mse"]
    why = (
        f"After {result.epochs_run} epochs at learning rate {s['lr']:g} the validation MSE is {mse:.3g}; repeating the "
        f"last value scores {base:.3g}. Too small a step barely moves the weights in {s['epochs']} epochs; "
        "too large a one jumps past the minimum."
    )
    prompt = (
        f"An RNN (H = {s['hidden']}) learns the next value of a sine wave: {s['epochs']} epochs of Adam at learning "
        f"rate {s['lr']:g}. Does it beat 'the next value = this value' on the validation data?"
    )
    return Asked(prompt, YES_NO, 0 if mse < base else 1, why)


def _ask_monotone(result, s) -> Asked:
    val = np.asarray(result.history["val_loss"])
    falls = bool(np.all(np.diff(val) < 0))
    why = f"The validation loss, epoch by epoch: {', '.join(_n(v) for v in val)}."
    return Asked("Does the validation loss fall at every epoch?", YES_NO, 0 if falls else 1, why)


def training_figure(result, s):
    return figures.loss_figure(result.history, log_y=True)


# -- the chapter

_NEURON = {"wx": 1.0, "wy": 0.5, "b": 0.0, "act": "tanh", "y0": 0.0, "signal": "impulse", "T": 12}
_NETWORK = {"D": 1, "L": 1, "seed": 0, "scale": 1.0, "signal": "impulse", "T": 20}

LESSONS = {
    lesson.key: lesson
    for lesson in (
        Lesson(
            "neuron",
            "The recurrent neuron",
            {**_NEURON, "wy": -0.9},
            {"wy": (-3.0, 3.0)},
            neuron_run,
            (Question("behaviour", _ask_behaviour), Question("sign", _ask_sign)),
            lambda trace, s: figures.signal_figure(trace.layers[0].x[:, 0], trace.output[:, 0], y0=s["y0"]),
            "neuron",
        ),
        Lesson(
            "weights",
            "Its two weights, W_x and W_y",
            {**_NEURON, "signal": "step", "T": 8},
            {"wx": (-3.0, 3.0), "wy": (-3.0, 3.0)},
            neuron_run,
            (Question("terms", _ask_terms), Question("settled", _ask_settled)),
            lambda trace, s: figures.signal_figure(trace.layers[0].x[:, 0], trace.output[:, 0], y0=s["y0"]),
            "neuron",
        ),
        Lesson(
            "unfold",
            "Unfolding over five steps",
            {**_NEURON, "T": 5},
            {"T": (1, 8)},
            unfold_model,
            (Question("wy", _ask_wy_uses), Question("boxes", _ask_boxes)),
            lambda model, s: model[1],
            "neuron",
        ),
        Lesson(
            "shared",
            "A computational graph with shared weights",
            {**_NEURON, "signal": "step", "T": 5},
            {"wy": (-3.0, 3.0), "y0": (-1.0, 1.0)},
            shared_model,
            (Question("copies", _ask_copies), Question("sign", _ask_gradient_sign)),
            shared_figure,
            "bptt",
            lambda s: {
                "cell": "rnn_tanh",
                "D": 1,
                "H": 1,
                "L": 1,
                "T": s["T"],
                "signal": s["signal"],
                "bview": "graph",
            },
        ),
        Lesson(
            "gradients",
            "Vanishing and exploding gradients",
            {**_NETWORK, "cell": "rnn_tanh", "H": 8, "T": 40, "signal": "sine", "radius": 0.5, "bview": "norms"},
            {"radius": (0.0, 3.0), "cell": ("rnn_tanh", "rnn_relu")},
            gradients_model,
            (Question("jacobian", _ask_jacobian), Question("direction", _ask_direction)),
            gradients_figure,
            "bptt",
        ),
        Lesson(
            "lstm",
            "The LSTM: gates and a cell state",
            {**_NETWORK, "cell": "lstm", "H": 2, "preset": "latch", "view": "heatmaps"},
            {"preset": ("latch", "reset", "shut", "random")},
            cell_model,
            (Question("memory", _ask_memory), Question("closed", _ask_closed)),
            cell_figure,
            "gates",
        ),
        Lesson(
            "gru",
            "The GRU: one update gate",
            {**_NETWORK, "cell": "gru", "H": 2, "preset": "leaky", "view": "heatmaps"},
            {"preset": ("leaky", "random")},
            cell_model,
            (Question("share", _ask_share), Question("trend", _ask_trend)),
            cell_figure,
            "gates",
        ),
        Lesson(
            "wirings",
            "Sequence wirings and the chapter's applications",
            {"app": "classification"},
            {"app": tuple(APPLICATIONS)},
            wiring_model,
            (Question("wiring", _ask_wiring), Question("cells", _ask_cells)),
            wiring_figure,
            "architectures",
            _wiring_explore,
        ),
        Lesson(
            "training",
            "Training",
            {"task": "sine", "cell": "rnn_tanh", "hidden": 8, "epochs": 10, "lr": 0.001, "opt": "adam", "tclip": 0.0}
            | {"seed": 0},
            {"lr": (0.0001, 1.0)},
            training_model,
            (Question("baseline", _ask_baseline), Question("monotone", _ask_monotone)),
            training_figure,
            "train",
        ),
    )
}
