"""The Architectures page's data and model caches, callbacks, training run, drawings side by side at one scale,
and training scores. Here, imported once, rather than in pages/architectures.py, which runs on every rerun."""

from __future__ import annotations

import dataclasses
import hashlib

import graphviz
import streamlit as st

import rnnviz
from rnnviz import drawing as rgraph
from rnnviz.drawing import archfigures, scores, wirings
from rnnviz.engine.cells import cell_kind
from rnnviz.learning import architectures as A
from rnnviz.learning import examples as E
from rnnviz.learning import train_examples as TE
from ui import controls, graph_view, presentation, share, show, state
from ui.markup import literal

PAGE = "architectures"
SIDE_BY_SIDE = (  # wiring, T_in, T_out, title, application
    ("many_to_one", 4, None, "Many to one · sentiment", "a whole review → positive or negative"),
    ("one_to_many", None, 4, "One to many · captioning", "one image's features → a sentence"),
    ("many_to_many", 4, None, "Many to many · tagging", "a tag (or the next word) per word"),
    ("encoder_decoder", 4, 3, "Encoder-decoder · translation", "read a sentence, then write another"),
)
ITEMS = 50  # data-set sequences offered as inputs
TRAIN_SIZE, TEST_SIZE = 256, 256
MAX_TRAINED = 8  # trained models kept per session
TRAINED, GO = f"{PAGE}:trained", f"{PAGE}:go"


@st.cache_data(max_entries=2, show_spinner=False)
def schematic_dots() -> list[str]:
    return [wirings.wiring_graph(w, a, b, legend=False, weight_names=False).source for w, a, b, _, _ in SIDE_BY_SIDE]


@st.cache_resource(max_entries=16, ttl=3600, show_spinner=False)
def data(example: str, length: int, seed: int, n: int) -> E.Example:
    """A seeded data set; shared between sessions and never changed."""
    return E.make_example(example, n, length, seed)


@st.cache_data(max_entries=16, show_spinner=False)
def item_labels(example: str, length: int, seed: int) -> tuple[list[str], list[str]]:
    """The offered inputs as "input → answer", and as a user would type them."""
    test_set = data(example, length, seed + 1, TEST_SIZE)
    typed = [archfigures.typed_form(test_set.info, E.item(test_set, k)[0]) for k in range(ITEMS)]
    return archfigures.item_labels(test_set, ITEMS), typed


def fresh_model(example: str, cell: str, hidden: int, bidir: bool, feed: str, seed: int) -> A.Model:
    info = data(example, E.LENGTHS[example][1], 0, 1).info
    kind, nonlinearity = cell_kind(cell)
    return A.init_model(
        info.wiring,
        kind,
        info.input_size,
        hidden,
        info.output_size,
        nonlinearity=nonlinearity,
        bidirectional=bidir,
        softmax=info.softmax,
        feed=feed,
        seed=seed,
    )


def file_model(params: rnnviz.Params, example: str, feed: str, seed: int) -> A.Model:
    """The application's model with a loaded file's recurrent weights as its encoder; the output layer (and
    an encoder-decoder's decoder), which the file does not hold, seeded. ValueError if the file cannot fit."""
    info = data(example, E.LENGTHS[example][1], 0, 1).info
    if params.input_size != info.input_size:
        raise ValueError(
            f"its network reads D = {params.input_size} inputs, but {example} feeds {info.input_size} at every step "
            "(one per word of its vocabulary, or its features): train a network of that input size, or pick "
            "another application"
        )
    if params.bidirectional and info.wiring not in A.BIDIRECTIONAL_WIRINGS:
        raise ValueError("its network is bidirectional, which only many to one and many to many can read")
    model = A.init_model(
        info.wiring,
        params.cell,
        params.input_size,
        params.hidden_size,
        info.output_size,
        num_layers=params.num_layers,
        nonlinearity=params.nonlinearity,
        bidirectional=params.bidirectional,
        softmax=info.softmax,
        feed=feed,
        seed=seed,
    )
    return dataclasses.replace(model, encoder=params)


def weights_digest(params: rnnviz.Params) -> str:
    """A short fingerprint of a network's weights: trained results are kept per file content."""
    digest = hashlib.sha256(params.cell.encode())
    for a in rnnviz.to_state_dict(params).values():
        digest.update(a.tobytes())
    return digest.hexdigest()[:16]


def first_example(wiring: str) -> str:
    return next(e for e in E.EXAMPLES if E.EXAMPLE_WIRING[e] == wiring)


def budget_steps(example: str) -> int:
    return data(example, E.LENGTHS[example][1], 0, 1).info.budget.steps


def example_defaults(example: str) -> None:
    """A new application starts from its own default length and training budget, and its first sequence."""
    state.set_value(PAGE, "length", E.LENGTHS[example][1])
    state.set_value(PAGE, "tsteps", budget_steps(example))
    state.set_value(PAGE, "item", 1)
    state.set_value(PAGE, "text", "")


def wiring_changed() -> None:
    example = first_example(st.session_state[f"{PAGE}:wiring"])
    state.set_value(PAGE, "example", example)
    example_defaults(example)


def example_changed() -> None:
    example_defaults(st.session_state[f"{PAGE}:example"])


def item_changed(typed: list[str]) -> None:
    """Typing starts from the sequence that was shown."""
    s = state.settings()
    if st.session_state[f"{PAGE}:item"] == 0 and not s["text"] and 1 <= s["item"] <= len(typed):
        state.set_value(PAGE, "text", typed[s["item"] - 1])


def request_training() -> None:
    st.session_state[GO] = True


def keep_trained(key: tuple, result: dict) -> None:
    store = st.session_state.setdefault(TRAINED, {})
    store.pop(key, None)
    store[key] = result
    while len(store) > MAX_TRAINED:
        store.pop(next(iter(store)))


def train(key: tuple, model: A.Model, train_set: E.Example, test_set: E.Example, steps: int, seed: int, slot) -> None:
    """Train with a live progress bar; the result is kept per setting in session state."""
    bar = slot.progress(0.0, text="Starting…")
    every = max(1, steps // 40)

    def progress(step: int, loss: float) -> None:
        if step % every == 0 or step == steps:
            bar.progress(step / steps, text=f"step {step} of {steps} · loss {loss:.3g}")

    trained, history = TE.train(model, train_set, steps=steps, seed=seed, callback=progress)
    keep_trained(key, {"model": trained, "history": history, "metrics": TE.evaluate(trained, test_set)})
    slot.empty()


PROJECTOR_COLUMN_PX = 640  # the main column at 1024x768 with the sidebar open (measured: 672 px less margins)


def grid(panels: list[tuple[str, graphviz.Digraph, str]], gap: float = 36.0) -> None:
    """Drawings in rows, each under its title and over its caption, all at one scale, labels readable.

    Rows take panels in order while the row, drawn with its smallest type at 12 px, fits a projector's
    main column (``PROJECTOR_COLUMN_PX``). Columns are as wide as their drawings, with a blank column of
    ``gap`` points between two drawings and one that brings every row to the widest row's width, and no
    other gap: a drawing fills its column, so every drawing shrinks by the same factor and the same
    node has the same size in every panel.
    """
    natural = [show.natural_width(g.source) for _, g, _ in panels]
    laid_out = rgraph.graphviz_available()  # else the browser lays them out, one to a row
    scale = max(graph_view.readable_scale(show.page_svg(g.source)) for _, g, _ in panels) if laid_out else 1.0
    budget = PROJECTOR_COLUMN_PX / graph_view.PX_PER_PT / scale if laid_out else 0.0  # points a row may be wide
    rows: list[list[int]] = []
    for k, width in enumerate(natural):
        if rows and sum(natural[i] + gap for i in rows[-1]) + width <= budget:
            rows[-1].append(k)
        else:
            rows.append([k])
    widths = [[natural[i] for i in row] for row in rows]
    total = max(sum(w) + gap * (len(w) - 1) for w in widths)
    for row, w in zip(rows, widths, strict=True):
        spec = [x for width in w for x in (gap, width)][1:]  # drawing, gap, drawing, ...
        spare = total - sum(spec)
        columns = st.columns(spec + ([spare] if spare > 0.5 else []), gap=None)
        for column, k in zip(columns[::2], row, strict=False):
            title, g, caption = panels[k]
            with column:
                st.markdown(f"**{title}**")
                show.graph(g, key=f"architectures:overview:{title}", max_height=420)
                st.caption(caption)


def drawing(dot: str, flow: str, grads: bool, has_target: bool, *, linked: bool) -> None:
    """The explored wiring's drawing, its nodes selectable (a selected one described under it), and what it shows."""
    down = "right" if flow == "down" else None  # time downwards: the backward row (a higher layer) on the right
    sel = graph_view.selected_node(PAGE, dot, key=f"{PAGE}:graph", linked=linked, down=down)
    if sel:
        graph_view.described(PAGE, dot, sel)
    notes = ["Hover over a node for what it depends on; click it for its full vector."]
    if flow == "down":
        notes.insert(0, "Time runs downwards here: inputs on the left, outputs on the right (Drawing, in the sidebar).")
    if grads and not has_target:
        notes.append("Gradients need a target: a typed sentence has none here.")
    elif grads:
        notes.append("‖∇‖: the gradient of the loss on this input; darker and thicker edges carry more.")
    st.caption(" ".join(notes))


def training_scores(result: dict, info, wiring: str) -> None:
    """The trained model's scores on the held-out set and its loss over the training steps."""
    st.subheader("Training")
    cards = scores.score_cards(info, result["metrics"])
    for column, card in zip(st.columns(len(cards)), cards, strict=True):
        column.metric(
            card.label,
            card.value,
            card.delta,
            delta_color="inverse" if card.better_when_lower else "normal",
            help=card.help or None,
        )
    free = (
        " The decoder writes freely, reading its own outputs (it trained on the targets)."
        if wiring == "encoder_decoder"
        else ""
    )
    st.caption(f"Scored on {TEST_SIZE} held-out sequences.{free}")
    presentation.chart(archfigures.training_figure(result["history"]), key=f"{PAGE}:loss")


def open_link() -> bool:
    """The page's settings from its link, and presentation mode; a link to an application gets that
    application's own defaults (its first example, length and training steps) where it names none.
    Whether a link opened the page."""
    query = st.query_params.to_dict()
    from_link = state.load_url(PAGE)
    presentation.apply(PAGE)
    s = state.settings()
    if from_link and ("wiring" in query or "example" in query):
        if "example" not in query:
            state.set_value(PAGE, "example", first_example(s["wiring"]))
        for name, value in (("length", E.LENGTHS[s["example"]][1]), ("tsteps", budget_steps(s["example"]))):
            if name not in query:
                state.set_value(PAGE, name, value)
    return from_link


def settle(s: dict) -> None:
    """Settings a link can get wrong together put right, with a warning that says what changed: an
    application of another wiring, a length outside the application's range."""
    notices = []
    if E.EXAMPLE_WIRING[s["example"]] != s["wiring"]:
        wrong = s["example"]
        state.set_value(PAGE, "example", first_example(s["wiring"]))
        notices.append(
            f"'{wrong}' is not an application of {A.WIRING_LABELS[s['wiring']].lower()}; showing {s['example']}"
        )
    low, _, high = E.LENGTHS[s["example"]]
    if not low <= s["length"] <= high:
        clamped = min(max(s["length"], low), high)
        notices.append(f"'length={s['length']}' is outside {low} to {high} for {s['example']}; using {clamped}")
        state.set_value(PAGE, "length", clamped)
    if notices:
        st.warning("Some settings were adjusted:\n\n" + "\n".join(f"- {literal(n)}" for n in notices))


def chosen_input(example: str, info, item: int, test_set: E.Example):
    """The input and its target: sequence ``item`` of the held-out set, or (item 0) the typed one with its
    reference target; while the typed text cannot be used, the last that could, else the first sequence."""
    x = target = None
    if item == 0:
        hint = "amplitude, frequency, phase" if example == "wave" else "words from the vocabulary below"
        text = controls.widget(PAGE, "text", placeholder=hint)  # no max_chars: a paste cut short would say nothing
        if example == "wave":
            st.caption("Three numbers: amplitude (0.2 to 1), frequency (0.3 to 1 radians per step), phase (radians).")
        else:
            st.caption("Vocabulary: " + literal(" ".join(info.input_vocab)))
        try:
            if len(text) > (limit := share.text_limit(share.SETTINGS["text"])):
                raise ValueError(f"it is {len(text)} characters long; at most {limit} are read")
            if text.strip():
                x = E.encode(info, text)
                st.session_state[f"{PAGE}:good_text:{example}"] = text
            else:
                st.info("Type an input above; until then the first sequence of the list is shown.")
        except ValueError as err:
            st.error(f"This input cannot be used: {literal(err)}.")
            good = st.session_state.get(f"{PAGE}:good_text:{example}")
            x = E.encode(info, good) if good else None
        if x is not None:
            target = archfigures.reference(info, x, info.steps_out)
    if x is None:
        x, target = E.item(test_set, max(item, 1) - 1)
    return x, target


def with_file(model: A.Model, key: tuple, alerts, example: str, feed: str, seed: int) -> tuple[A.Model, tuple]:
    """The upload box; a loaded file's recurrent stack replaces ``model``'s (and the training key names the
    file), said in ``alerts``; a file that cannot be used is said there and changes nothing."""
    loaded = controls.weights_upload(PAGE, alerts, label="Load the recurrent weights from a file")
    if loaded is None:
        return model, key
    try:
        model = file_model(loaded[1], example, feed, seed)
    except ValueError as err:
        alerts.error(f"{literal(loaded[0])} cannot be used here: {literal(err)}.")
        return model, key
    alerts.info(
        f"The recurrent network is **{literal(loaded[0])}**'s ({model.cell.upper()}, H = {model.hidden_size}, "
        f"L = {model.encoder.num_layers}{', bidirectional' if model.encoder.bidirectional else ''}); the output "
        "layer is not in the file: seeded, until you train."
    )
    return model, (key[0], "file", weights_digest(loaded[1]), *key[4:])
