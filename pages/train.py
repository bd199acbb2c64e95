"""Train a model: a recurrent network trained in the page on a toy task, with live loss curves,
a stop that keeps the model so far, predictions against the targets, and RNN vs LSTM vs GRU."""

import streamlit as st

from rnnviz.engine.cells import CELL_LABELS
from ui import controls, share, state
from ui.markup import literal
from ui.training import (
    COMPARED,
    CSV_FILES,
    GO,
    GOTO,
    PAGE,
    RESULTS,
    SHOWN_STOP,
    apply_reloaded,
    comparison,
    csv_choice,
    experiment_box,
    finish_interrupted,
    loss_curves,
    make_task,
    metric_row,
    open_buttons,
    open_link,
    request_training,
    show_predictions,
    task_changed,
    train_with_stop,
)

URL_NAMES = ("task", *(f"{t}_{o}" for t, names in share.TASK_CONTROLS.items() for o in names))
URL_NAMES += ("cell", "hidden", "layers", "epochs", "lr", "opt", "tclip", "bptt", "patience", "seed", "compare")

open_link()  # the settings from a link; one that names a task but not its budget gets the task's own
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
    task_name = controls.widget(PAGE, "task", on_change=task_changed)
    options = {name: controls.widget(PAGE, f"{task_name}_{name}") for name in share.TASK_CONTROLS[task_name]}
    if task_name == "csv":
        picked, csv_problem, csv_kind = csv_choice()
        options |= picked
    seed = controls.widget(PAGE, "seed", label="Seed (data and weights)")
    st.header("Network")
    compare = controls.widget(PAGE, "compare")
    cell = controls.widget(PAGE, "cell", disabled=compare)
    hidden = controls.widget(PAGE, "hidden")
    layers = controls.widget(PAGE, "layers")
    st.header("Training")
    epochs = controls.widget(PAGE, "epochs")
    opt = controls.widget(PAGE, "opt", horizontal=True, on_change=task_changed)
    lr = controls.widget(PAGE, "lr")
    clip = controls.widget(PAGE, "tclip")
    bptt = controls.widget(PAGE, "bptt")
    patience = controls.widget(PAGE, "patience")

if task_name == "csv" and csv_problem:  # no file yet, a file that cannot be used, or no column chosen
    (st.error if csv_kind == "error" else st.info)(literal(csv_problem), icon=":material/upload_file:")
    apply_reloaded(None, None)
    experiment_box(None, URL_NAMES, None, ())
    state.write_url(URL_NAMES)
    st.stop()
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
apply_reloaded(key, task)

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
    results = train_with_stop(key, task_key, cells, fit_args, live, stop_slot, hint_slot)
elif results and st.session_state.get(SHOWN_STOP) != key:
    hint_slot.caption("Trained already with these settings: the results below are kept from that run.")

csv = st.session_state[CSV_FILES][options["file"]] if task_name == "csv" else None
if not results:
    st.info(f"Press **{label}** to start. The default budget trains in a few seconds.", icon=":material/school:")
    experiment_box(None, URL_NAMES, csv, options.get("columns", ()))
    state.write_url(URL_NAMES)
    st.stop()

if st.session_state.get(SHOWN_STOP) == key:
    epochs_run = {lab: r.epochs_run for lab, r in results.items()}
    done = ", ".join(f"{lab} {k} of {epochs}" for lab, k in epochs_run.items())
    st.warning(f"Training was stopped (epochs run: {done}). The model so far is kept and shown below.")

if len(results) > 1 or compare:
    chosen = comparison(results, task, options.get("lag"))
else:
    chosen = next(iter(results))
result = results[chosen]

st.subheader(f"{chosen}: how well it does")
metric_row(result, task)
if random_walk:
    st.caption("As it must be on a random walk: the model does no better than 'tomorrow = today'.")
st.subheader("Loss over the epochs")
loss_curves(result, task)

st.subheader("Generated text" if task.loss == "xent" else "Predictions against the targets")
show_predictions(result, task, chosen)

st.subheader("Look inside the trained model")
open_buttons(result, task, chosen)
experiment_box(results, URL_NAMES, csv, options.get("columns", ()))

state.write_url(URL_NAMES)
