"""Architectures: one recurrent cell wired four ways, side by side, and one wiring explored on a
toy application (a sentence -> its sentiment, a vector -> a wave, tags, a reversed or translated
sentence) with its numbers, a Train button, and the outputs in words."""

import graphviz
import streamlit as st

from rnnviz.drawing import archfigures, scores, wirings
from rnnviz.engine.cells import CELL_LABELS, cell_kind
from rnnviz.learning import architectures as A
from rnnviz.learning import examples as E
from rnnviz.learning import train_examples as TE
from ui import arch, show, state
from ui.markup import literal

PAGE = "architectures"
URL_NAMES = ("wiring", "example", "cell", "hidden", "bidir", "feed", "length", "item", "text", "seed", "tsteps")
URL_NAMES += ("values", "grads")
FEED_LABELS = {"every": "at every step", "first": "at step 1 only"}
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


query = st.query_params.to_dict()
from_link = state.load_url(PAGE)
s = state.settings()
if from_link and ("wiring" in query or "example" in query):  # a link to an application gets its own defaults
    if "example" not in query:
        state.set_value(PAGE, "example", first_example(s["wiring"]))
    for name, value in (("length", E.LENGTHS[s["example"]][1]), ("tsteps", budget_steps(s["example"]))):
        if name not in query:
            state.set_value(PAGE, name, value)
st.title("Architectures: one cell, four wirings")
st.markdown(
    "One recurrent cell, wired four ways to its inputs and outputs, fits four kinds of task. Inputs at the "
    "bottom, states in the middle (the same weights at every step), outputs on top; time runs left to right."
)
st.subheader("The four wirings side by side")
dots = schematic_dots()
panels = [(title, graphviz.Source(dot), caption) for (*_, title, caption), dot in zip(SIDE_BY_SIDE, dots, strict=True)]
arch.grid(panels)
st.caption(
    "Every step of a row uses the same weights, one colour each: red W_ih on the inputs, blue W_hh from "
    "one state to the next, green W_hy to the outputs; the decoder (purple states) has its own W_ih "
    "(orange) and W_hh (purple). The encoder's last state starts the decoder: the context. Dashed: each "
    "output fed back as the decoder's next input."
)

st.header("Explore one wiring")
notices = []
if E.EXAMPLE_WIRING[s["example"]] != s["wiring"]:  # a link may name an application of another wiring
    wrong = s["example"]
    state.set_value(PAGE, "example", first_example(s["wiring"]))
    notices.append(f"'{wrong}' is not an application of {A.WIRING_LABELS[s['wiring']].lower()}; showing {s['example']}")
low, _, high = E.LENGTHS[s["example"]]
if not low <= s["length"] <= high:
    clamped = min(max(s["length"], low), high)
    notices.append(f"'length={s['length']}' is outside {low} to {high} for {s['example']}; using {clamped}")
    state.set_value(PAGE, "length", clamped)
if notices:
    st.warning("Some settings were adjusted:\n\n" + "\n".join(f"- {literal(n)}" for n in notices))

with st.sidebar:
    st.header("Wiring and application")
    wiring = state.widget(
        PAGE,
        "wiring",
        st.selectbox,
        "Wiring",
        options=list(A.WIRINGS),
        format_func=A.WIRING_LABELS.get,
        on_change=wiring_changed,
    )
    example = state.widget(
        PAGE,
        "example",
        st.selectbox,
        "Application",
        options=[e for e in E.EXAMPLES if E.EXAMPLE_WIRING[e] == wiring],
        format_func=E.EXAMPLE_LABELS.get,
        on_change=example_changed,
    )
    st.header("Network")
    cell = state.widget(PAGE, "cell", st.selectbox, "Cell", options=list(CELL_LABELS), format_func=CELL_LABELS.get)
    hidden = state.widget(PAGE, "hidden", st.slider, "Hidden size H", min_value=1, max_value=64)
    can_bidir = wiring in A.BIDIRECTIONAL_WIRINGS
    bidir = state.widget(PAGE, "bidir", st.toggle, "Bidirectional", disabled=not can_bidir)
    if can_bidir:
        st.caption(
            "A second row of cells reads the sequence backwards; the output layer reads both (torch's "
            "`bidirectional=True`)."
        )
    else:
        st.caption(
            "Bidirectional only for many to one and many to many: here each output is made before the "
            "rest of the sequence exists, so nothing can read it backwards."
        )
    bidir = bidir and can_bidir
    feed = s["feed"]
    if wiring == "one_to_many":
        feed = state.widget(
            PAGE, "feed", st.radio, "Feed the vector", options=list(FEED_LABELS), format_func=FEED_LABELS.get
        )
    st.header("Data and training")
    low, default, high = E.LENGTHS[example]
    length = state.widget(
        PAGE,
        "length",
        st.slider,
        "Samples to generate" if example == "wave" else "Longest sequence",
        min_value=low,
        max_value=high,
    )
    seed = state.widget(PAGE, "seed", st.number_input, "Seed (data and weights)", min_value=0, max_value=9999, step=1)
    tsteps = state.widget(PAGE, "tsteps", st.slider, "Training steps", min_value=10, max_value=3000, step=10)
    st.header("Drawing")
    values = state.widget(PAGE, "values", st.toggle, "Show values")
    grads = state.widget(PAGE, "grads", st.toggle, "Show gradients")

train_set, test_set = data(example, length, seed, TRAIN_SIZE), data(example, length, seed + 1, TEST_SIZE)
info = train_set.info
st.subheader(info.title)
st.markdown(info.description)

# the input: a sequence of the held-out set, or typed
labels, typed = item_labels(example, length, seed)
item = state.widget(
    PAGE,
    "item",
    st.selectbox,
    "Input",
    options=[*range(1, len(labels) + 1), 0],
    format_func=lambda k: "Type your own…" if k == 0 else f"{k}: {labels[k - 1]}",
    on_change=item_changed,
    args=(typed,),
)
x = target = None
if item == 0:
    hint = "amplitude, frequency, phase" if example == "wave" else "words from the vocabulary below"
    text = state.widget(PAGE, "text", st.text_input, "Your input", placeholder=hint, max_chars=300)
    if example == "wave":
        st.caption("Three numbers: amplitude (0.2 to 1), frequency (0.3 to 1 radians per step), phase (radians).")
    else:
        st.caption("Vocabulary: " + literal(" ".join(info.input_vocab)))
    try:
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
if x is None:  # a data-set sequence, or the first one while nothing typed works
    x, target = E.item(test_set, max(item, 1) - 1)

# the model: trained for exactly these settings, else fresh from the seed
key = (example, cell, hidden, bidir, feed, length, seed, tsteps)
model = fresh_model(example, cell, hidden, bidir, feed, seed)
buttons = st.columns([2, 5], vertical_alignment="center")
buttons[0].button("Train", type="primary", icon=":material/model_training:", width="stretch", on_click=request_training)
status = buttons[1].empty()
if st.session_state.pop(GO, False):
    try:
        train(key, model, train_set, test_set, tsteps, seed, status)
    except ValueError as err:
        st.error(f"Training cannot run: {literal(err)}.")
result = st.session_state.get(TRAINED, {}).get(key)
if result is None:
    status.info("Untrained: random weights from the seed, so the outputs are guesses. Press **Train**.")
else:
    model = result["model"]
    status.success(f"Trained for {len(result['history']['loss'])} steps on {TRAIN_SIZE} sequences.")

try:
    wtrace = archfigures.run_one(model, info, x, target)
    gradients = A.backprop(model, wtrace, target) if grads and target is not None else None
    g = wirings.wiring_graph(
        wiring,
        trace=wtrace,
        grads=gradients,
        values=values,
        input_names=info.input_vocab,
        output_names=info.output_vocab,
    )
except ValueError as err:
    st.error(f"This input cannot be run: {literal(err)}.")
    st.stop()

said = E.prediction_text(info, wtrace.y)
line = f"**Input:** {literal(E.input_text(info, wtrace.x))}  \n**Output:** {literal(said)}"
if target is not None and example != "wave":
    line += f"  \n**Target:** {literal(E.target_text(info, target))} ({archfigures.agreement(info, wtrace, target)})"
st.markdown(line)
show.graph(g, min_scale=0.6)
notes = ["Hover over a node for its full vector."]
if grads and target is None:
    notes.append("Gradients need a target: a typed sentence has none here.")
elif grads:
    notes.append("‖∇‖: the gradient of the loss on this input; darker and thicker edges carry more.")
st.caption(" ".join(notes))

st.subheader("The outputs")
if example == "wave":
    st.plotly_chart(archfigures.wave_figure(wtrace, target), width="stretch", key=f"{PAGE}:wave")
elif wiring == "many_to_one":
    st.dataframe(archfigures.probability_rows(info, wtrace), hide_index=True, width="content")
else:
    st.dataframe(archfigures.output_rows(info, wtrace, target), hide_index=True, width="stretch")

if result is not None:
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
    st.plotly_chart(archfigures.training_figure(result["history"]), width="stretch", key=f"{PAGE}:loss")

state.write_url(URL_NAMES)
