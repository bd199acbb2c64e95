"""The Train page's task cache, training run with a Stop that keeps the model so far, and result views.

Here, imported once, rather than in pages/train.py, which Streamlit runs on every rerun.
"""

from __future__ import annotations

import hashlib
import time

import numpy as np
import streamlit as st

import rnnviz
from rnnviz.drawing import figures, scores
from rnnviz.learning import experiment, tabular, tasks
from rnnviz.learning import train as rtrain
from ui import controls, presentation, share, state
from ui.markup import literal

PAGE = "train"
COMPARED = {"RNN": "rnn_tanh", "LSTM": "lstm", "GRU": "gru"}
MAX_RESULTS = 8  # trained settings kept per session
LOSS_WORDS = {"mse": "mean squared error", "last_mse": "mean squared error of the answer", "xent": "bits per character"}
RESULTS, RUNNING, SHOWN_STOP = f"{PAGE}:results", f"{PAGE}:running", f"{PAGE}:stopped"
GO, GOTO = f"{PAGE}:go", f"{PAGE}:goto"
TRAINED = "trained_model"  # read by the Unfolded graph and Gates pages: the model to show there


RELOADED, CSV_RELOADED = f"{PAGE}:reloaded", f"{PAGE}:csv-reloaded"  # an experiment file's results; its CSV
CSV_FILES = f"{PAGE}:csv-files"  # digest -> (file name, bytes): the CSVs this session uploaded, the last two


@st.cache_data(max_entries=8, show_spinner=False)
def built_task(name: str, seed: int, options: tuple) -> rnnviz.Task:
    return rnnviz.make_task(name, seed=seed, **dict(options))


@st.cache_data(max_entries=4, show_spinner=False)
def csv_task(data: bytes, columns: tuple, length: int, seed: int, filename: str) -> rnnviz.Task:
    return rnnviz.make_csv_task(data, list(columns), length, seed, filename)


def make_task(name: str, seed: int, options: tuple) -> rnnviz.Task:
    """The task of a task key; a CSV's options name the uploaded file by its digest."""
    if name != "csv":
        return built_task(name, seed, options)
    opts = dict(options)
    if opts.get("file") not in st.session_state.get(CSV_FILES, {}):
        raise ValueError("upload a CSV file first (sidebar, under Task)")
    filename, data = st.session_state[CSV_FILES][opts["file"]]
    return csv_task(data, opts["columns"], opts["length"], seed, filename)


@st.cache_data(max_entries=4, show_spinner=False)
def csv_columns(data: bytes) -> tuple[list[str], list[str], list[str]]:
    """The CSV's numeric columns, its other columns, and the numeric ones that do not only rise (not a row
    number or a time stamp: the first of them is offered first)."""
    numeric, other = tabular.parse_csv(data)
    moving = [name for name, v in numeric.items() if not np.all(np.diff(v) > 0)]
    return list(numeric), other, moving


def csv_choice() -> tuple[dict, str, str]:
    """The CSV upload and its columns, in the sidebar: (the task options naming them, what is missing or
    wrong, and whether that is an "info" or an "error"; "" while the file and its columns can be used)."""
    upload = st.file_uploader(
        "Your CSV (up to 2 MB)",
        type=["csv", "tsv", "txt"],
        key=f"{PAGE}:csv",
        help="A header row naming the columns, then one row per time step, oldest first. Columns of numbers can "
        "be chosen; text columns (dates, names) are left out.",
    )
    reloaded = st.session_state.get(CSV_RELOADED)  # the CSV of a reloaded experiment
    if upload is None and reloaded not in st.session_state.get(CSV_FILES, {}):
        return {}, "Upload a CSV file (sidebar, under Task): a header row, then one row per step, oldest first.", "info"
    if upload is None:
        name, data = st.session_state[CSV_FILES][reloaded]
        st.caption(f"{name}, from the reloaded experiment.")
    else:
        st.session_state.pop(CSV_RELOADED, None)
        name, data = upload.name, upload.getvalue()
    try:
        numeric, other, moving = csv_columns(data)
    except ValueError as err:
        return {}, f"{name} cannot be used: {err}", "error"
    if not numeric:
        return {}, f"{name} has no column of numbers only (its columns: {', '.join(other[:8])})", "error"
    digest = hashlib.sha256(data).hexdigest()[:16]
    files = st.session_state.setdefault(CSV_FILES, {})
    files.pop(digest, None)
    files[digest] = (name, data)
    while len(files) > 2:
        files.pop(next(iter(files)))
    columns = st.multiselect(
        "Columns (the sequence)",
        numeric,
        default=(moving or numeric)[:1],
        max_selections=tasks.MAX_CSV_COLUMNS,
        key=f"{PAGE}:csv-columns:{digest}",
        help="Each row of these columns is one step's input; the network predicts the next row of all of them.",
    )
    if other:
        st.caption(f"Not numbers, left out: {', '.join(other[:6])}{' …' if len(other) > 6 else ''}")
    if not columns:
        return {}, "Choose at least one column of numbers (sidebar).", "info"
    return {"columns": tuple(columns), "file": digest}, "", ""


def task_changed() -> None:
    """A new task (or optimizer) starts from that task's own budget of epochs and learning rate."""
    budget = rnnviz.task_budget(st.session_state[f"{PAGE}:task"])
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
            fig = presentation.figure(figures.loss_figure(curves))
            chart.plotly_chart(fig, width="stretch", key=f"{PAGE}:live:{label}:{info.epoch}")

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
        presentation.chart(fig, key=f"{PAGE}:prediction")
        st.caption("One answer per sequence, given after its last step. Right answers sit on the target.")
        return
    n = task.x_val.shape[1]
    index = st.number_input("Validation sequence", 1, n, 1, key=f"{PAGE}:sequence") - 1
    series = prediction.series(index)
    what = {"sine": "next value", "csv": "next value (standardised)"}
    what["stock"] = "tomorrow’s return (typical daily moves)"
    title = f"{label}: {what.get(task.name, 'next week’s return (typical weekly moves)')}"
    fig = figures.prediction_figure(series["target"], series["prediction"], baseline=series["baseline"], title=title)
    if task.warmup:
        fig.add_vrect(x0=0.5, x1=task.warmup + 0.5, fillcolor="#888888", opacity=0.12, line_width=0)
    presentation.chart(fig, key=f"{PAGE}:prediction")
    naive = {"sine": "the current value", "csv": "the current row"}
    naive["stock"] = "a return of 0 (tomorrow's price = today's)"
    naive = naive.get(task.name, "a return of 0 (next week's price = this week's)")
    st.caption(f"Dotted: the naive forecast, {naive}. The grey band is the first {task.warmup} steps, not scored.")


def open_buttons(result: rnnviz.FitResult, task: rnnviz.Task, label: str) -> None:
    words = f"{label}, H = {result.config.hidden_size}, trained on {task.name} for {result.epochs_run} epochs"
    model = {"params": result.params, "x": task.x_val[:, 0], "label": words}
    cols = st.columns(2)
    for col, page, words, icon, steps in [
        (cols[0], "unfolded", "Open in the unfolded graph", ":material/account_tree:", 8),
        (cols[1], "gates", "Open in gates and states", ":material/tune:", 100),
    ]:
        args = (model, page, min(task.length, steps))
        col.button(words, icon=icon, width="stretch", on_click=open_model, args=args)
    st.caption("The graph and gates pages show this model on the first validation sequence.")
    controls.weights_downloads(result.params, f"{task.name}-{label.lower().split()[0]}")
    st.caption(
        "The recurrent weights with PyTorch's names: `safetensors.torch.load_file` into `nn.LSTM` etc., the "
        ".onnx in onnxruntime, any of them back into every page's upload box. The linear readout is not in them."
    )


def comparison(results: dict[str, rnnviz.FitResult], task: rnnviz.Task, lag: int | None) -> str:
    """The cells' validation curves and scores side by side; returns the cell chosen to look closer at."""
    st.subheader("RNN vs LSTM vs GRU: validation loss")
    curves = {f"{lab}": r.history["val_loss"] for lab, r in results.items()}
    fig = figures.loss_figure(curves, log_y=True)
    fig.update_layout(title_text="validation loss, same task and budget")
    presentation.chart(fig, key=f"{PAGE}:curves")
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
            f"across the lag of {lag} steps."
        )
    best = min(results, key=lambda lab: results[lab].metrics[main])
    return st.radio("Look closer at", list(results), index=list(results).index(best), horizontal=True)


def reload_experiment(names: tuple[str, ...]) -> None:
    """The experiment uploader's callback: its settings set the widgets (before they are drawn), and its
    results wait in RELOADED for the run that makes their task; a bad file's message waits there too."""
    upload = st.session_state.get(f"{PAGE}:experiment")
    if upload is None:
        return
    try:
        found = experiment.read_experiment(upload.getvalue())
    except ValueError as err:
        st.session_state[RELOADED] = f"{upload.name} cannot be reloaded: {err}"
        return
    values, _ = share.parse_query({k: v for k, v in found.settings.items() if k in names})  # checked as a link is
    for name, value in values.items():
        state.set_value(PAGE, name, value)
    if found.data is not None:
        digest = hashlib.sha256(found.data).hexdigest()[:16]
        st.session_state.setdefault(CSV_FILES, {})[digest] = (found.settings.get("csv_file", "data.csv"), found.data)
        st.session_state[CSV_RELOADED] = digest
        columns = tuple(c for c in found.settings.get("csv_columns", "").split("\t") if c)
        st.session_state[f"{PAGE}:csv-columns:{digest}"] = list(columns)
    st.session_state[RELOADED] = (upload.name, found)


def apply_reloaded(key: tuple | None, task: rnnviz.Task | None) -> None:
    """Keep a reloaded experiment's results under this run's key, or show why they cannot be (with no key and
    task, only why a file cannot be)."""
    pending = st.session_state.get(RELOADED)
    if isinstance(pending, str):
        st.session_state.pop(RELOADED)
        st.error(literal(pending))
        return
    if pending is not None and key is not None:
        st.session_state.pop(RELOADED)
        name, found = pending
        try:
            keep(key, found.results(task))
            st.success(f"Reloaded {literal(name)}: the settings and the trained models, without training again.")
        except ValueError as err:
            st.error(f"{literal(name)} cannot be reloaded: {literal(err)}.")


def experiment_box(results: dict | None, names: tuple[str, ...], csv: tuple[str, bytes] | None, columns) -> None:
    """Save the experiment (settings and trained models) as one file, or reload one."""
    with st.expander("Save or reload the whole experiment"):
        if results:
            settings = share.to_query(state.settings(), names)
            if csv is not None:
                settings |= {"csv_file": csv[0], "csv_columns": "\t".join(columns)}
            data = experiment.save_experiment(settings, results, csv[1] if csv else None)
            st.download_button(
                "Save the experiment (.zip)",
                data,
                f"rnnviz-{state.settings()['task']}-experiment.zip",
                icon=":material/save:",
                on_click="ignore",
            )
            st.caption(
                "The settings, and each trained model's weights (.safetensors), readout, loss history and scores"
                + (", and your CSV" if csv else "")
                + ". Reloaded, the page shows these results again without training."
            )
        st.file_uploader(
            "Reload an experiment (.zip)",
            type=["zip"],
            key=f"{PAGE}:experiment",
            on_change=reload_experiment,
            args=(names,),
        )


def open_link() -> None:
    """The page's settings from its link, and presentation mode; a link that names a task but not its
    budget (epochs, learning rate) gets the task's own."""
    query = st.query_params.to_dict()
    from_link = bool(query) and query != st.session_state.get("_written_query")
    state.load_url(PAGE)
    presentation.apply(PAGE)
    s = state.settings()
    if from_link and "task" in query:
        budget = rnnviz.task_budget(s["task"])
        if "epochs" not in query:
            state.set_value(PAGE, "epochs", budget.epochs)
        if "lr" not in query:
            state.set_value(PAGE, "lr", budget.sgd_lr if s["opt"] == "sgd" else budget.lr)


def train_with_stop(key: tuple, task_key: tuple, cells: dict[str, str], fit_args: dict, live, stop_slot, hint_slot):
    """``train`` with a Stop button in ``stop_slot`` while it runs; a setting fit refuses is said. The results
    kept for ``key`` (None if none)."""
    stop_slot.button("Stop", icon=":material/stop:", width="stretch", key=f"{PAGE}:stop")
    hint_slot.caption("Stop keeps the model after the last finished epoch.")
    try:
        train(key, task_key, cells, fit_args, live)
    except ValueError as err:
        st.session_state.pop(RUNNING, None)
        live.empty()
        st.error(f"Training cannot start: {literal(err)}.")
    st.session_state.pop(SHOWN_STOP, None)
    stop_slot.empty()
    hint_slot.empty()
    return st.session_state.get(RESULTS, {}).get(key)


def loss_curves(result: rnnviz.FitResult, task: rnnviz.Task) -> None:
    """The training and validation loss over the epochs, and how the run ended."""
    presentation.chart(figures.loss_figure(result.history), key=f"{PAGE}:loss")
    how = {"completed": "every epoch ran", "early_stopping": "stopped early", "callback": "stopped by you"}
    st.caption(
        f"Loss: {LOSS_WORDS[task.loss]}, on the training batches and on the validation set. {result.epochs_run} "
        f"epochs in {result.seconds:.1f} s ({how.get(result.stopped, result.stopped)}); the weights are those of "
        f"epoch {result.best_epoch}."
    )
    if result.stopped == "diverged":
        st.error("The loss became infinite or NaN: lower the learning rate or turn clipping on.")
