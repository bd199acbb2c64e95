"""A whole Train-page experiment in one file: the settings, and for every trained cell its weights, readout,
history and scores, so that reloading it shows the same screen without training again.

The file is a zip: ``experiment.json`` (the settings as the page's link parameters, and each result's
training settings, loss history, metrics and linear readout), ``weights/<k>.safetensors`` (the recurrent
weights, PyTorch's names: the same file the page's download gives), and for a CSV task ``data.csv``.
``read_experiment`` refuses anything else with a ValueError that says what is wrong, reading nothing
larger than its limits.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import zipfile
import zlib
from dataclasses import dataclass

import numpy as np

from ..engine.cells import Params
from ..engine.weights import dump_weights, load_weights
from .fit import FitResult
from .models import OutputLayer
from .tabular import MAX_CSV_BYTES
from .tasks import Task
from .train import make_config, task_model

FORMAT = "rnnviz-experiment"
VERSION = 1
MAX_FILE_BYTES = 60_000_000
MAX_JSON_BYTES = 4_000_000
MAX_WEIGHTS_BYTES = 40_000_000  # a weights member, as load_weights reads it
MAX_RESULTS = 3  # RNN, LSTM, GRU
MAX_EPOCHS = 10_000
STOPPED = ("completed", "early_stopping", "callback", "diverged")
DATA = "data.csv"


@dataclass(frozen=True, eq=False)
class Experiment:
    """What a file holds: the page's settings (link parameters), a CSV task's data, and the raw results."""

    settings: dict[str, str]
    data: bytes | None
    entries: dict[str, tuple[dict, Params]]  # label -> (the result's JSON entry, its recurrent weights)

    def results(self, task: Task) -> dict[str, FitResult]:
        """The FitResults on ``task`` (made from ``settings``); ValueError if they do not fit it."""
        return {label: _result(label, entry, params, task) for label, (entry, params) in self.entries.items()}


def save_experiment(settings: dict[str, str], results: dict[str, FitResult], data: bytes | None = None) -> bytes:
    """The experiment as a zip's bytes; ``settings`` are the page's link parameters, ``data`` a CSV task's file."""
    if not results or len(results) > MAX_RESULTS:
        raise ValueError(f"an experiment holds 1 to {MAX_RESULTS} trained models, got {len(results)}")
    doc = {"format": FORMAT, "version": VERSION, "settings": {str(k): str(v) for k, v in settings.items()}}
    doc["results"] = []
    members = {}
    for k, (label, r) in enumerate(results.items()):
        name = f"weights/{k}.safetensors"
        members[name] = dump_weights(r.params, "safetensors")
        doc["results"].append(
            {
                "label": label,
                "weights": name,
                "task": r.task_name,
                "config": dataclasses.asdict(r.config),
                "history": r.history,
                "metrics": r.metrics,
                "best_epoch": r.best_epoch,
                "stopped": r.stopped,
                "seconds": r.seconds,
                "epoch_seconds": r.epoch_seconds,
                "readout": {"W_hy": r.readout.W_hy.tolist(), "b_y": r.readout.b_y.tolist()},
            }
        )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("experiment.json", json.dumps(doc))
        for name, blob in members.items():
            z.writestr(name, blob)
        if data is not None:
            z.writestr(DATA, data)
    return buffer.getvalue()


def read_experiment(data: bytes) -> Experiment:
    """Parse an experiment file (see the module docstring); raises ValueError saying what is wrong."""
    if not isinstance(data, bytes | bytearray):
        raise ValueError(f"an experiment file's bytes are needed, got {type(data).__name__}")
    if len(data) > MAX_FILE_BYTES:
        raise ValueError(f"the file has {len(data):,} bytes; an experiment has at most {MAX_FILE_BYTES:,}")
    try:
        z = zipfile.ZipFile(io.BytesIO(bytes(data)))
        infos = {i.filename: i for i in z.infolist()}
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as err:
        raise ValueError(f"it is not an experiment saved by rnnviz (not a zip file: {err})") from None
    if "experiment.json" not in infos:
        raise ValueError("it is not an experiment saved by rnnviz (no experiment.json inside)")
    if len(infos) > MAX_RESULTS + 2:
        raise ValueError(f"it holds {len(infos)} files; an experiment has at most {MAX_RESULTS + 2}")
    doc = _json(_member(z, infos, "experiment.json", MAX_JSON_BYTES))
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ValueError("it is not an experiment saved by rnnviz (experiment.json lacks its format line)")
    if doc.get("version") != VERSION:
        raise ValueError(f"experiment version {doc.get('version')!r:.20} is not one this rnnviz reads ({VERSION})")
    settings = doc.get("settings")
    if not isinstance(settings, dict) or not all(isinstance(v, str) for v in settings.values()):
        raise ValueError("its settings must be an object of text values")
    results = doc.get("results")
    if not isinstance(results, list) or not 1 <= len(results) <= MAX_RESULTS:
        raise ValueError(f"it must hold 1 to {MAX_RESULTS} results")
    entries = {}
    for entry in results:
        if not isinstance(entry, dict) or not isinstance(entry.get("label"), str) or entry["label"] in entries:
            raise ValueError("every result needs a label of its own")
        name = entry.get("weights")
        if name not in infos or not isinstance(name, str) or not name.endswith(".safetensors"):
            raise ValueError(f"result {entry['label']!r:.30} names weights the file does not hold")
        params = load_weights(_member(z, infos, name, MAX_WEIGHTS_BYTES), name)
        entries[entry["label"]] = (entry, params)
    csv = _member(z, infos, DATA, MAX_CSV_BYTES) if DATA in infos else None
    return Experiment(settings={str(k): v for k, v in settings.items()}, data=csv, entries=entries)


def _member(z: zipfile.ZipFile, infos: dict, name: str, limit: int) -> bytes:
    info = infos[name]
    if info.file_size > limit:
        raise ValueError(f"{name} declares {info.file_size:,} bytes; at most {limit:,} are read")
    try:
        with z.open(info) as f:
            blob = f.read(limit + 1)
    except (zipfile.BadZipFile, zlib.error, OSError, ValueError, EOFError, NotImplementedError, RuntimeError) as err:
        raise ValueError(f"{name} cannot be read from the zip: {err}") from None
    if len(blob) > limit:
        raise ValueError(f"{name} is larger than it declares")
    return blob


def _json(blob: bytes):
    try:
        return json.loads(blob.decode("utf-8"), parse_constant=lambda c: math.nan)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise ValueError(f"experiment.json is not valid JSON: {err}") from None


def _floats(what: str, values, most: int) -> list[float]:
    if not isinstance(values, list) or len(values) > most:
        raise ValueError(f"{what} must be a list of at most {most} numbers")
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ValueError(f"{what} must hold numbers only")
        out.append(float(v))
    return out


def _result(label: str, entry: dict, params: Params, task: Task) -> FitResult:
    """One result rebuilt on ``task``: its config checked as fit checks it, the readout's shapes by the model's."""
    where = f"result {label!r:.30}"
    if entry.get("task") != task.name:
        raise ValueError(f"{where} was trained on {entry.get('task')!r:.20}, not on the {task.name!r} task")
    config = entry.get("config")
    if not isinstance(config, dict):
        raise ValueError(f"{where} lacks its training settings")
    try:
        cell = "rnn_" + config["nonlinearity"] if config.get("cell") == "rnn" else config.get("cell")
        checked = make_config(
            task,
            cell,
            config["hidden_size"],
            config["num_layers"],
            **{k: config[k] for k in ("epochs", "lr", "optimizer", "clip", "truncate", "batch_size", "patience")},
            seed=config["seed"],
        )
    except (KeyError, TypeError) as err:
        raise ValueError(f"{where}'s training settings lack or mistype {err}") from None
    if (checked.cell, checked.nonlinearity, checked.hidden_size, checked.num_layers) != (
        params.cell,
        params.nonlinearity,
        params.hidden_size,
        params.num_layers,
    ) or params.bidirectional:
        raise ValueError(f"{where}'s weights are not the network its settings describe")
    readout = entry.get("readout")
    if not isinstance(readout, dict):
        raise ValueError(f"{where} lacks its readout")
    try:
        W = np.array(readout.get("W_hy"), dtype=np.float64)
        b = np.array(readout.get("b_y"), dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{where}'s readout must be arrays of numbers") from None
    if not (np.all(np.isfinite(W)) and np.all(np.isfinite(b))):
        raise ValueError(f"{where}'s readout holds NaN or infinite values")
    model = task_model(task, checked)
    if W.shape != model.output.W_hy.shape or b.shape != model.output.b_y.shape:
        raise ValueError(f"{where}'s readout is {W.shape} and {b.shape}, but this task needs {model.output.W_hy.shape}")
    model = dataclasses.replace(model, encoder=params, output=OutputLayer(W, b))
    raw = entry.get("history") if isinstance(entry.get("history"), dict) else {}
    history = {k: _floats(f"{where}'s {k}", raw.get(k), MAX_EPOCHS) for k in ("train_loss", "val_loss")}
    if not history["train_loss"] or len(history["val_loss"]) != len(history["train_loss"]):
        raise ValueError(f"{where}'s history must have one training and one validation loss per epoch")
    metrics = entry.get("metrics")
    if not isinstance(metrics, dict) or len(metrics) > 20:
        raise ValueError(f"{where} lacks its metrics")
    values = _floats(f"{where}'s metrics", list(metrics.values()), 20)
    best, stopped = entry.get("best_epoch"), entry.get("stopped")
    if isinstance(best, bool) or not isinstance(best, int) or not 1 <= best <= len(history["train_loss"]):
        raise ValueError(f"{where}'s best epoch must be one of the epochs run")
    if stopped not in STOPPED:
        raise ValueError(f"{where}'s 'stopped' must be one of {', '.join(STOPPED)}")
    seconds = _floats(f"{where}'s seconds", [entry.get("seconds")], 1)[0]
    return FitResult(
        task_name=task.name,
        loss=task.loss,
        model=model,
        history=history,
        metrics=dict(zip(map(str, metrics), values, strict=True)),
        config=checked,
        best_epoch=best,
        stopped=stopped,
        seconds=seconds,
        epoch_seconds=_floats(f"{where}'s epoch seconds", entry.get("epoch_seconds", []), MAX_EPOCHS),
    )
