"""Train a model: a recurrent network trained in the page on a toy task, with live loss curves,
a stop that keeps the model so far, predictions against the targets, and RNN vs LSTM vs GRU."""

import time

import streamlit as st

import rnnviz
from rnnviz.drawing import figures, scores
from rnnviz.engine.cells import CELL_LABELS
from rnnviz.learning import tasks
from rnnviz.learning import train as rtrain
from ui import share, state
from ui.markup import literal

PAGE = "train"
TASK_NAMES = share.TASK_CONTROLS
URL_NAMES = ("task", *(f"{t}_{o}" for t, names in TASK_NAMES.items() for o in names))
URL_NAMES += ("cell", "hidden", "layers", "epochs", "lr", "opt", "tclip", "bptt", "patience", "seed", "compare")
TASK_LABELS = {
    "sine": "sine: next value of a signal",
    "stock": "stock: tomorrow's price move",
    "chars": "chars: next character of a text",
    "adding": "adding: remember a number over a long lag",
}
OPTION_LABELS = {
    "freq": "Frequency (cycles per step)",
    "noise": "Noise (std)",
    "drift": "Daily drift",
    "volatility": "Daily volatility",
    "seasonal": "Seasonal swing (0 = none)",
    "period": "Season length (days)",
    "mean_reversion": "Mean reversion (0 = none)",
    "length": "Window length (characters)",
    "lag": "Lag (steps to remember)",
}
OPTION_STEPS = {"freq": 0.005, "noise": 0.01, "drift": 0.0005, "volatility": 0.001, "seasonal": 0.01}
OPTION_STEPS |= {"mean_reversion": 0.01}
COMPARED = {"RNN": "rnn_tanh", "LSTM": "lstm", "GRU": "gru"}
LOSS_WORDS = {"mse": "mean squared error", "last_mse": "mean squared error of the answer", "xent": "bits per character"}
MAX_RESULTS = 8  # trained settings kept per session
RESULTS, RUNNING, SHOWN_STOP = f"{PAGE}:results", f"{PAGE}:running", f"{PAGE}:stopped"
GO, GOTO = f"{PAGE}:go", f"{PAGE}:goto"
TRAINED = "trained_model"  # read by the Unfolded graph and Gates pages: the model to show there


@st.cache_data(max_entries=8, show_spinner=False)
def make_task(name: str, seed: int, options: tuple) -> rnnviz.Task:
    return rnnviz.make_task(name, seed=seed, **dict(options))


def task_changed() -> None:
    """A new task (or optimizer) starts from that task's own budget of epochs and learning rate."""
    budget = make_task(st.session_state[f"{PAGE}:task"], 0, ()).budget
    sgd = st.session_state.get(f"{PAGE}:opt", state.settings()["opt"]) == "sgd"
    state.set_value(PAGE, "epochs", budget.epochs)
    state.set_value(PAGE, "lr", budget.sgd_lr if sgd else budget.lr)


def open_model(model: dict, page: str, steps: int) -> None:
    """Hand the model to another page (it reads session state) and go there."""
    st.session_state[TRAINED] = model
    state.set_value(page, "T", steps)
    st.session_state[GOTO] = f"pages/{page}.py"


def request_training() -> None:
    st.session_state[GO] = True


def partial_result(run: dict, label: str) -> rnnviz.FitResult | None:
    """The model as it was after the last finished epoch of an interrupted run."""
    if label not in run["partial"]:
        return None
    return rtrain.stopped_result(run["partial"][label], make_task(*run["task"]))


def keep(key: tuple, results: dict) -> None:
    store = st.session_state.setdefault(RESULTS, {})
    store.pop(key, None)
    store[key] = results
    while len(store) > MAX_RESULTS:
        store.pop(next(iter(store)))


def finish_interrupted() -> None:
    """A run stopped by the Stop button (or any click) mid-training: keep what it had."""
    run = st.session_state.pop(RUNNING, None)
    if run is None:
        return
    results = dict(run["done"])
    for label in run["labels"]:
        if label not in results:
            result = partial_result(run, label)
            if result is not None:
                results[label] = result
    if results:
        keep(run["key"], results)
        st.session_state[SHOWN_STOP] = run["key"]


def train(key: tuple, task_key: tuple, cells: dict[str, str], fit_args: dict, live) -> None:
    """Fit every cell in turn, drawing progress and the loss curves after each epoch.

    The model after each epoch goes into session state *before* anything is drawn: a click on
    Stop makes Streamlit end this run at the next drawing call, and the next run keeps it.
    """
    task = make_task(*task_key)
    run = {"key": key, "task": task_key, "labels": list(cells), "done": {}, "partial": {}}
    st.session_state[RUNNING] = run
    box = live.container()
    bar = box.progress(0.0, text="Starting…")
    chart = box.empty()
    epochs, n = fit_args["epochs"], len(cells)
    start = time.perf_counter()
    for k, (label, cell) in enumerate(cells.items()):

        def progress(info: rnnviz.EpochInfo, label=label, k=k) -> None:
            run["partial"][label] = info
            history = info.history
            done = k * epochs + info.epoch
            left = (time.perf_counter() - start) / done * (n * epochs - done)
            who = f"{label}: " if n > 1 else ""
            bar.progress(
                done / (n * epochs),
                text=f"{who}epoch {info.epoch} of {epochs} · training loss {info.train_loss:.4g} · "
                f"validation loss {info.val_loss:.4g} · about {left:.0f} s left",
            )
            curves = {f"{lab} validation": r.history["val_loss"] for lab, r in run["done"].items()}
            if n > 1:
                curves[f"{label} validation"] = history["val_loss"]
            else:
                curves = history
            chart.plotly_chart(figures.loss_figure(curves), width="stretch", key=f"{PAGE}:live:{label}:{info.epoch}")

        run["done"][label] = rnnviz.fit(task, cell, callback=progress, **fit_args)
    st.session_state.pop(RUNNING, None)
    keep(key, run["done"])
    live.empty()


def metric_row(result: rnnviz.FitResult, task: rnnviz.Task) -> None:
    for column, card in zip(st.columns(4), scores.task_cards(result.metrics, task), strict=False):
        delta_color = "inverse" if card.better_when_lower else "normal"
        column.metric(card.label, card.value, card.delta, delta_color=delta_color, help=card.help or None)


def show_predictions(result: rnnviz.FitResult, task: rnnviz.Task, label: str) -> None:
    prediction = rnnviz.predict(result, task)
    if task.loss == "xent":
        temperature = st.slider(
            "Temperature",
            0.0,
            2.0,
            0.7,
            0.1,
            key=f"{PAGE}:temperature",
            help="0: always the most likely character; 1: as the model says; above 1: wilder.",
        )
        prompt = st.text_input("Start the text with", "the ", key=f"{PAGE}:prompt", max_chars=60)
        try:
            text = rnnviz.sample(result, task, 300, temperature, seed=0, prompt=prompt)
        except ValueError as err:
            st.error(f"This prompt cannot be used: {literal(err)}.")
            return
        st.code(text, language=None, wrap_lines=True)
        st.caption("300 characters generated one at a time, each fed back as the next input.")
        return
    if task.loss == "last_mse":
        series = prediction.series()
        n = 40
        fig = figures.prediction_figure(
            series["target"][:n], series["prediction"][:n], title=f"{label}: answers for the first {n} sequences"
        )
        fig.update_xaxes(title="validation sequence")
        fig.update_yaxes(title="sum of the two marked numbers")
        fig.update_traces(mode="markers")
        st.plotly_chart(fig, width="stretch", key=f"{PAGE}:prediction")
        st.caption("One answer per sequence, given after its last step. Right answers sit on the target.")
        return
    n = task.x_val.shape[1]
    index = st.number_input("Validation sequence", 1, n, 1, key=f"{PAGE}:sequence") - 1
    series = prediction.series(index)
    title = f"{label}: {'next value' if task.name == 'sine' else 'tomorrow’s return (typical daily moves)'}"
    fig = figures.prediction_figure(series["target"], series["prediction"], baseline=series["baseline"], title=title)
    if task.warmup:
        fig.add_vrect(x0=0.5, x1=task.warmup + 0.5, fillcolor="#888888", opacity=0.12, line_width=0)
    st.plotly_chart(fig, width="stretch", key=f"{PAGE}:prediction")
    naive = "the current value" if task.name == "sine" else "a return of 0 (tomorrow's price = today's)"
    st.caption(f"Dotted: the naive forecast, {naive}. The grey band is the first {task.warmup} steps, not scored.")


def open_buttons(result: rnnviz.FitResult, task: rnnviz.Task, label: str) -> None:
    words = f"{label}, H = {result.config.hidden_size}, trained on {task.name} for {result.epochs_run} epochs"
    model = {"params": result.params, "x": task.x_val[:, 0], "label": words}
    cols = st.columns(3)
    for col, page, words, icon, steps in [
        (cols[0], "unfolded", "Open in the unfolded graph", ":material/account_tree:", 8),
        (cols[1], "gates", "Open in gates and states", ":material/tune:", 100),
    ]:
        args = (model, page, min(task.length, steps))
        col.button(words, icon=icon, width="stretch", on_click=open_model, args=args)
    cols[2].download_button(
        "Download the weights (.npz)",
        rnnviz.dump_weights(result.params, "npz"),
        f"{task.name}-{label.lower().split()[0]}.npz",
        icon=":material/download:",
        width="stretch",
        on_click="ignore",
    )
    st.caption(
        "The graph and gates pages show this model on the first validation sequence. The file holds the "
        "recurrent weights with PyTorch's names (load it into `nn.LSTM` etc.); the linear readout is not in it."
    )


query = st.query_params.to_dict()
from_link = bool(query) and query != st.session_state.get("_written_query")
state.load_url(PAGE)
s = state.settings()
if from_link and "task" in query:  # a link that names a task but not its budget gets the task's own
    budget = make_task(s["task"], 0, ()).budget
    if "epochs" not in query:
        state.set_value(PAGE, "epochs", budget.epochs)
    if "lr" not in query:
        state.set_value(PAGE, "lr", budget.sgd_lr if s["opt"] == "sgd" else budget.lr)
finish_interrupted()
if GOTO in st.session_state:  # st.switch_page cannot run in a button's callback
    st.switch_page(st.session_state.pop(GOTO))

st.title("Train a model")
st.caption(
    "A recurrent network with a linear readout, trained right here in numpy by backpropagation through "
    "time. Pick a task, press Train, and watch the loss fall; then see what the model predicts and open it "
    "in the graph and gates pages."
)

with st.sidebar:
    st.header("Task")
    task_name = state.widget(
        PAGE,
        "task",
        st.selectbox,
        "Task",
        options=list(TASK_LABELS),
        format_func=TASK_LABELS.get,
        on_change=task_changed,
    )
    options = {}
    for name in TASK_NAMES[task_name]:
        default, low, high = tasks.task_options(task_name)[name]
        kind = {"step": 1} if isinstance(default, int) else {"step": OPTION_STEPS.get(name, 0.01), "format": "%g"}
        options[name] = state.widget(
            PAGE, f"{task_name}_{name}", st.slider, OPTION_LABELS[name], min_value=low, max_value=high, **kind
        )
    seed = state.widget(PAGE, "seed", st.number_input, "Seed (data and weights)", min_value=0, max_value=9999, step=1)
    st.header("Network")
    compare = state.widget(PAGE, "compare", st.toggle, "Compare RNN, LSTM and GRU")
    cell = state.widget(
        PAGE, "cell", st.selectbox, "Cell", options=list(CELL_LABELS), format_func=CELL_LABELS.get, disabled=compare
    )
    hidden = state.widget(PAGE, "hidden", st.slider, "Hidden size H", min_value=1, max_value=64)
    layers = state.widget(PAGE, "layers", st.number_input, "Layers", min_value=1, max_value=3, step=1)
    st.header("Training")
    epochs = state.widget(PAGE, "epochs", st.slider, "Epochs", min_value=1, max_value=100)
    opt = state.widget(
        PAGE, "opt", st.radio, "Optimizer", options=["adam", "sgd"], horizontal=True, on_change=task_changed
    )
    lr = state.widget(
        PAGE, "lr", st.number_input, "Learning rate", min_value=0.0001, max_value=1.0, step=0.001, format="%.4f"
    )
    clip = state.widget(PAGE, "tclip", st.slider, "Gradient clipping (0 = off)", min_value=0.0, max_value=10.0)
    bptt = state.widget(PAGE, "bptt", st.slider, "BPTT length (0 = full sequence)", min_value=0, max_value=200)
    patience = state.widget(
        PAGE,
        "patience",
        st.slider,
        "Early stopping patience (0 = off)",
        min_value=0,
        max_value=50,
        help="Stop after this many epochs without a better validation loss, and keep the best epoch.",
    )

task_key = (task_name, seed, tuple(sorted(options.items())))
try:
    task = make_task(*task_key)
except ValueError as err:
    st.error(f"This task cannot be made: {literal(err)}.")
    st.stop()

cells = COMPARED if compare else {CELL_LABELS[cell]: cell}
fit_args = dict(
    hidden_size=hidden,
    num_layers=layers,
    epochs=epochs,
    lr=lr,
    optimizer=opt,
    clip=clip or None,
    truncate=bptt or None,
    patience=patience or None,
    seed=seed,
)
key = (task_key, tuple(cells.values()), tuple(sorted(fit_args.items())))

st.subheader(task.title)
st.markdown(task.description)
random_walk = task.random_walk
if random_walk:
    st.warning(f"**A pure random walk.** {task.note}", icon=":material/casino:")
else:
    st.info(task.note, icon=":material/lightbulb:")

buttons = st.columns([3, 2, 4], vertical_alignment="center")
label = "Train RNN, LSTM and GRU" if compare else f"Train the {CELL_LABELS[cell]}"
# a flag set by a callback, not the button's value: the value would not survive a rerun
buttons[0].button(label, type="primary", icon=":material/play_arrow:", width="stretch", on_click=request_training)
clicked = st.session_state.pop(GO, False)
stop_slot, hint_slot = buttons[1].empty(), buttons[2].empty()
live = st.empty()  # the progress bar and the live loss curves while training
results = st.session_state.get(RESULTS, {}).get(key)

if clicked:
    stop_slot.button("Stop", icon=":material/stop:", width="stretch", key=f"{PAGE}:stop")
    hint_slot.caption("Stop keeps the model after the last finished epoch.")
    try:
        train(key, task_key, cells, fit_args, live)
    except ValueError as err:  # a setting fit refuses
        st.session_state.pop(RUNNING, None)
        live.empty()
        st.error(f"Training cannot start: {literal(err)}.")
    st.session_state.pop(SHOWN_STOP, None)
    stop_slot.empty()
    hint_slot.empty()
    results = st.session_state.get(RESULTS, {}).get(key)
elif results and st.session_state.get(SHOWN_STOP) != key:
    hint_slot.caption("Trained already with these settings: the results below are kept from that run.")

if not results:
    st.info(f"Press **{label}** to start. The default budget trains in a few seconds.", icon=":material/school:")
    state.write_url(URL_NAMES)
    st.stop()

if st.session_state.get(SHOWN_STOP) == key:
    epochs_run = {lab: r.epochs_run for lab, r in results.items()}
    done = ", ".join(f"{lab} {k} of {epochs}" for lab, k in epochs_run.items())
    st.warning(f"Training was stopped (epochs run: {done}). The model so far is kept and shown below.")

loss_words = LOSS_WORDS[task.loss]
if len(results) > 1 or compare:
    st.subheader("RNN vs LSTM vs GRU: validation loss")
    curves = {f"{lab}": r.history["val_loss"] for lab, r in results.items()}
    fig = figures.loss_figure(curves, log_y=True)
    fig.update_layout(title_text="validation loss, same task and budget")
    st.plotly_chart(fig, width="stretch", key=f"{PAGE}:curves")
    main = "val_bits_per_char" if task.loss == "xent" else "val_mse"
    table = [
        {
            "cell": lab,
            main.replace("val_", "validation "): r.metrics[main],
            **({"answers within 0.04": r.metrics["val_accuracy"]} if task.name == "adding" else {}),
            "epochs": r.epochs_run,
            "seconds": round(r.seconds, 1),
        }
        for lab, r in results.items()
    ]
    st.dataframe(table, hide_index=True, width="stretch")
    if task.name == "adding":
        st.caption(
            f"Always answering 1 scores an MSE of {task.baselines['baseline_val_mse']:.4g} on these validation "
            "sequences: a cell near it has not carried the first number "
            f"across the lag of {options['lag']} steps."
        )
    best = min(results, key=lambda lab: results[lab].metrics[main])
    chosen = st.radio("Look closer at", list(results), index=list(results).index(best), horizontal=True)
else:
    chosen = next(iter(results))
result = results[chosen]

st.subheader(f"{chosen}: how well it does")
metric_row(result, task)
if random_walk:
    st.caption("As it must be on a random walk: the model does no better than 'tomorrow = today'.")
st.subheader("Loss over the epochs")
st.plotly_chart(figures.loss_figure(result.history), width="stretch", key=f"{PAGE}:loss")
how = {"completed": "every epoch ran", "early_stopping": "stopped early", "callback": "stopped by you"}
st.caption(
    f"Loss: {loss_words}, on the training batches and on the validation set. {result.epochs_run} epochs in "
    f"{result.seconds:.1f} s ({how.get(result.stopped, result.stopped)}); the weights are those of epoch "
    f"{result.best_epoch}."
)
if result.stopped == "diverged":
    st.error("The loss became infinite or NaN: lower the learning rate or turn clipping on.")

st.subheader("Generated text" if task.loss == "xent" else "Predictions against the targets")
show_predictions(result, task, chosen)

st.subheader("Look inside the trained model")
open_buttons(result, task, chosen)

state.write_url(URL_NAMES)
