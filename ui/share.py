"""Page settings <-> URL query parameters, so that a copied link reproduces the view.

Every setting the app can put in a URL is declared once in ``SETTINGS`` with its type,
default and range, and, where a page shows it as a widget, the widget's kind, label, step,
help and the labels of its choices (ui/controls.py builds the widgets from them).
``parse_query`` turns untrusted query strings into valid settings: an out-of-range number
is clamped, anything malformed is ignored, and each such change is reported as a notice
the page shows. Nothing here raises on user input.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from rnnviz.engine.cells import CELL_CHOICES, CELL_LABELS
from rnnviz.engine.presets import PRESETS
from rnnviz.engine.signals import CUSTOM_GRAMMAR, SIGNALS
from rnnviz.learning.architectures import FEEDS, MAX_STEPS, WIRING_LABELS, WIRINGS
from rnnviz.learning.examples import EXAMPLE_LABELS, EXAMPLES
from rnnviz.learning.tasks import TASKS, task_options
from rnnviz.lessons import APPLICATION_LABELS, LESSONS

MAX_TEXT = 500  # characters kept from a text parameter
USUAL_WIDGET = {"int": "slider", "float": "slider", "choice": "select", "bool": "toggle", "text": "text"}


@dataclass(frozen=True)
class Setting:
    name: str
    kind: str  # "int" | "float" | "bool" | "choice" | "text"
    default: object
    low: float | None = None
    high: float | None = None  # a text's most characters
    choices: tuple[str, ...] = ()
    widget: str = ""  # "slider" | "number" | "select" | "radio" | "toggle" | "text"; "": the kind's usual one
    label: str = ""
    step: float | None = None  # None: Streamlit's default step
    help: str | None = None
    format: str | None = None  # a number's printf format; None: Streamlit's
    labels: dict[str, str] = field(default_factory=dict, hash=False)  # choice -> what the widget shows

    def label_of(self, choice: str) -> str:
        return self.labels.get(choice, choice)

    @property
    def control(self) -> str:
        """The widget's kind: a slider for a number, a select box, a toggle or a text input unless told."""
        return self.widget or USUAL_WIDGET[self.kind]


CUSTOM_HELP = f"Type {CUSTOM_GRAMMAR}. Anything else (1;2, 1 2, 1_000, an empty entry) is refused with a message."
TYPED = "Type any value from -5 to 5 (0.75, -1.25), or step by 0.1 with + and -."


def _choice(
    name: str, default: str, labels: dict[str, str], label: str, widget: str = "select", choices=None
) -> Setting:
    """A choice among ``choices`` (the core's names; the keys of ``labels`` if None), each shown as its label."""
    return Setting(name, "choice", default, choices=tuple(choices or labels), widget=widget, label=label, labels=labels)


def _typed(name: str, default: float, label: str) -> Setting:
    """A weight of the neuron in -5..5, typed exactly (0.75) in a number box that also steps by 0.1."""
    return Setting(name, "float", default, -5.0, 5.0, widget="number", label=label, step=0.1, help=TYPED, format="%g")


GATES_VIEWS = ("heatmaps", "units", "compare")  # the tabs of the Gates and states page
BPTT_VIEWS = ("norms", "graph", "cells", "jacobian")  # the tabs of the Backprop through time page
NEURON_VIEWS = ("unfolded", "io", "gradient")  # the tabs of the Recurrent neuron page
ACTIVATIONS = ("tanh", "sigmoid", "relu", "linear")
SIGNAL_LABELS = {
    "impulse": "impulse (1, 0, 0, ...)",
    "step": "step (1, 1, 1, ...)",
    "sine": "sine (period 8)",
    "random": "seeded random",
    "custom": "custom list",
}
PRESET_LABELS = {  # the lesson presets, each with the cell it is made for
    "random": "none (seeded random weights)",
    "latch": "memory latch (LSTM)",
    "reset": "reset every step (LSTM)",
    "shut": "input gate held shut (LSTM)",
    "leaky": "leaky integrator (GRU)",
}
TASK_LABELS = {
    "sine": "sine: next value of a signal",
    "stock": "stock: tomorrow's price move",
    "prices": "prices: real weekly stock prices",
    "chars": "chars: next character of a text",
    "pydocs": "pydocs: next character of Python's own docs",
    "adding": "adding: remember a number over a long lag",
    "csv": "csv: your own CSV file",
}
FEED_LABELS = {"every": "at every step", "first": "at step 1 only"}
PRESENT_HELP = (
    "For a projector: larger type in plots and drawings, darker captions, the sidebar collapsed "
    "(open it again with the arrow at the top left). The link keeps it: present=1."
)
PATIENCE_HELP = "Stop after this many epochs without a better validation loss, and keep the best epoch."
# the Train page's task options, named "<task>_<option>" in the URL, with the task's own ranges
TASK_CONTROLS = {
    "sine": ("freq", "noise"),
    "stock": ("drift", "volatility", "seasonal", "period", "mean_reversion"),
    "prices": ("holdout", "length"),
    "chars": ("length",),
    "pydocs": ("length",),
    "adding": ("lag",),
    "csv": ("length",),
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
    "holdout": "Company to validate on (1-6: GOOG AAPL AMZN FB NFLX MSFT)",
    "prices_length": "Window length (weeks)",
    "csv_length": "Window length (rows)",  # a task's own label for an option, where the words differ
    "lag": "Lag (steps to remember)",
}
OPTION_STEPS = {"freq": 0.005, "noise": 0.01, "drift": 0.0005, "volatility": 0.001, "seasonal": 0.01}


def _task_settings() -> list[Setting]:
    out = []
    for task, names in TASK_CONTROLS.items():
        for name in names:
            default, low, high = task_options(task)[name]
            kind = "int" if isinstance(default, int) else "float"
            step, fmt = (1, None) if kind == "int" else (OPTION_STEPS.get(name, 0.01), "%g")
            label = OPTION_LABELS.get(f"{task}_{name}", OPTION_LABELS[name])
            out.append(Setting(f"{task}_{name}", kind, default, low, high, label=label, step=step, format=fmt))
    return out


SETTINGS = {
    s.name: s
    for s in [
        # every page
        Setting("present", "bool", False, label="Presentation mode", help=PRESENT_HELP),
        # the single recurrent neuron
        _typed("wx", 1.0, "W_x (input weight)"),
        _typed("wy", 0.5, "W_y (feedback weight)"),
        _typed("b", 0.0, "b (bias)"),
        Setting("act", "choice", "tanh", choices=ACTIVATIONS, label="Activation φ"),
        _typed("y0", 0.0, "Initial output y_0"),
        Setting("step", "int", 1, 1, 100, label="Step to look at"),
        Setting("nview", "choice", "unfolded", choices=NEURON_VIEWS),  # the Neuron page's open tab
        # shared by every page
        Setting("T", "int", 5, 1, 100, label="Sequence length"),
        _choice("signal", "impulse", SIGNAL_LABELS, "Input signal x_t", choices=SIGNALS),
        Setting("custom", "text", "1, 0, 0, 2", label="Values of x_1, x_2, ... (comma separated)", help=CUSTOM_HELP),
        Setting("seed", "int", 0, 0, 9999, widget="number", label="Seed", step=1),
        # networks
        _choice("cell", "lstm", CELL_LABELS, "Cell", choices=CELL_CHOICES),
        Setting("D", "int", 1, 1, 8, widget="number", label="Input size D", step=1),
        Setting("H", "int", 2, 1, 32, label="Hidden size H"),
        Setting("L", "int", 1, 1, 3, widget="number", label="Layers L", step=1),
        Setting("scale", "float", 1.0, 0.0, 5.0, label="Weight scale", step=0.1),
        _choice("preset", "random", PRESET_LABELS, "Lesson preset", choices=PRESETS),
        Setting("view", "choice", "heatmaps", choices=GATES_VIEWS),  # the Gates page's open tab
        _choice("level", "cell", {"cell": "cells", "operations": "operations"}, "Level of detail", "radio"),
        _choice("flow", "down", {"down": "downwards", "across": "left to right"}, "Time runs", "radio"),
        Setting("values", "bool", True, label="Show values"),
        Setting("grads", "bool", False, label="Show gradients"),
        Setting("shared", "bool", True, label="Show weight sharing"),
        Setting("hl", "int", 0, 0, 100, label="Highlighted step (0 = none)"),
        Setting("sel", "text", ""),  # the node selected in the page's drawing (its id); checked against the drawing
        # backprop through time
        _choice("loss", "last", {"last": "on the last step", "every": "on every step"}, "Loss", "radio"),
        Setting("radius", "float", 1.0, 0.0, 3.0, label="Spectral radius ρ of W_hh", step=0.05),
        Setting("clip", "float", 0.0, 0.0, 100.0, label="Clip the gradient's global norm at (0 = off)", step=0.5),
        Setting("trunc", "int", 0, 0, 100, label="Truncated BPTT: chunk length k (0 = off)"),
        Setting("bview", "choice", "norms", choices=BPTT_VIEWS),  # the BPTT page's open tab
        # training (the Train page); epochs and lr default to the sine task's budget
        _choice("task", "sine", TASK_LABELS, "Task", choices=(*TASKS, "csv")),
        *_task_settings(),
        Setting("hidden", "int", 16, 1, 64, label="Hidden size H"),
        Setting("layers", "int", 1, 1, 3, widget="number", label="Layers", step=1),
        Setting("epochs", "int", 20, 1, 100, label="Epochs"),
        Setting("lr", "float", 0.01, 0.0001, 1.0, widget="number", label="Learning rate", step=0.001, format="%.4f"),
        Setting("opt", "choice", "adam", choices=("adam", "sgd"), widget="radio", label="Optimizer"),
        Setting("tclip", "float", 1.0, 0.0, 10.0, label="Gradient clipping (0 = off)"),
        Setting("bptt", "int", 0, 0, 200, label="BPTT length (0 = full sequence)"),
        Setting("patience", "int", 0, 0, 50, label="Early stopping patience (0 = off)", help=PATIENCE_HELP),
        Setting("compare", "bool", False, label="Compare RNN, LSTM and GRU"),
        # wirings (the Architectures page); also cell, hidden, seed, values and grads
        _choice("wiring", "many_to_one", WIRING_LABELS, "Wiring", choices=WIRINGS),
        _choice("example", "sentiment", EXAMPLE_LABELS, "Application", choices=EXAMPLES),
        Setting("bidir", "bool", False, label="Bidirectional"),
        _choice("feed", "every", FEED_LABELS, "Feed the vector", "radio", choices=FEEDS),
        Setting("length", "int", 8, 1, MAX_STEPS),  # the example's longest sequence, clamped to its own range
        Setting("item", "int", 1, 0, 50),  # the input: a sequence of the data set, 0 = the typed text
        Setting("text", "text", "", high=300, label="Your input", help="At most 300 characters (typed or in a link)."),
        Setting("tsteps", "int", 600, 10, 3000, label="Training steps", step=10),
        # the Lessons page: where the student is, the answers given (rnnviz.lessons.parse_answers), the application
        _choice("lesson", "neuron", {k: L.title for k, L in LESSONS.items()}, "Lesson", "radio"),
        Setting("q", "int", 1, 1, 9),  # the question within the lesson, clamped to its questions on the page
        Setting("ans", "text", ""),
        _choice("app", "classification", APPLICATION_LABELS, "Application"),
    ]
}


def defaults() -> dict[str, object]:
    return {name: s.default for name, s in SETTINGS.items()}


def text_limit(setting: Setting) -> int:
    """The most characters a text setting keeps: its ``high`` if given (the same in its box and in a link)."""
    return int(setting.high) if setting.high is not None else MAX_TEXT


def parse_value(setting: Setting, raw: str) -> tuple[object, str | None]:
    """Return (value, notice); notice is None when the raw text was valid and in range."""
    name, text = setting.name, str(raw).strip()[: MAX_TEXT + 1]
    if setting.kind == "text":
        limit = text_limit(setting)
        if len(text) > limit:
            return text[:limit].rstrip(), f"'{name}' was longer than {limit} characters and was cut"
        return text, None
    if setting.kind == "bool":
        if text.lower() in ("1", "true", "yes", "on"):
            return True, None
        if text.lower() in ("0", "false", "no", "off"):
            return False, None
        return setting.default, f"'{name}={text[:40]}' is not on/off; using the default"
    if setting.kind == "choice":
        if text in setting.choices:
            return text, None
        return setting.default, f"'{name}={text[:40]}' is not one of {', '.join(setting.choices)}; using the default"
    try:
        number = float(text)
    except ValueError:
        return setting.default, f"'{name}={text[:40]}' is not a number; using the default"
    if not math.isfinite(number):
        return setting.default, f"'{name}={text[:40]}' is not a finite number; using the default"
    clamped = min(max(number, setting.low), setting.high)
    value = int(round(clamped)) if setting.kind == "int" else clamped
    if clamped != number:
        return value, f"'{name}={text[:40]}' is outside {setting.low:g} to {setting.high:g}; using {value}"
    if setting.kind == "int" and value != number:
        return value, f"'{name}={text[:40]}' is not a whole number; using {value}"
    return value, None


def parse_query(query: dict[str, str]) -> tuple[dict[str, object], list[str]]:
    """Valid settings from URL query parameters, and a notice for each one that was changed.

    Unknown parameters are ignored with a notice; missing ones are left out of the result.
    """
    values: dict[str, object] = {}
    notices: list[str] = []
    for key, raw in list(query.items())[:100]:
        if key == "page":
            continue
        setting = SETTINGS.get(key)
        if setting is None:
            notices.append(f"ignored the unknown link parameter '{str(key)[:40]}'")
            continue
        value, notice = parse_value(setting, raw)
        values[key] = value
        if notice:
            notices.append(notice)
    return values, notices


def format_value(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:g}" if float(f"{value:g}") == value else repr(value)
    return str(value)


def to_query(settings: dict[str, object], names) -> dict[str, str]:
    """Query parameters for the named settings (the ones a page uses)."""
    return {name: format_value(settings[name]) for name in names if name in settings}
