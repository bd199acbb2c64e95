"""Toy sequence tasks to train a recurrent network on: generated or built in, seeded, small.

Six tasks, one per classic use of a recurrent network, two of them on real data:

- ``sine``: predict the next value of a noisy sum of two sines;
- ``stock``: predict tomorrow's return of a synthetic price (geometric Brownian motion,
  optionally with a seasonal or a mean-reverting part), beside the naive "tomorrow = today";
- ``prices``: the same on real weekly prices of six companies (plotly's data set, 2018-2019): train on
  five, validate on the sixth, beside the naive "next week = this week";
- ``chars``: a character-level language model of a short built-in text, in bits per character;
- ``pydocs``: the same on a real text, the Python Language Reference's compound statements as every
  Python install keeps them for pydoc (read at run time, not copied here);
- ``adding``: the adding problem of Hochreiter and Schmidhuber (1997): add the two marked
  numbers of a sequence, the first of them at least ``lag`` steps before the end.

Every array is time-major, as ``rnnviz.forward`` wants it: inputs ``(T, N, D)`` for N
sequences of T steps. Targets depend on the loss kind (``task.loss``):

- ``"mse"``: ``(T, N, O)`` floats, the target at every step (squared error, averaged);
- ``"xent"``: ``(T, N)`` class indices, the next character (cross-entropy, in bits);
- ``"last_mse"``: ``(N, O)`` floats, one target per sequence, read at its last step.

The loss skips the first ``task.warmup`` steps of every sequence, where no model can know
yet what it is looking at (the phase of a sine, say).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import tabular
from .fit import Budget
from .texts import TEXT

TASKS = ("sine", "stock", "prices", "chars", "pydocs", "adding")
LOSSES = ("mse", "xent", "last_mse")
MAX_LAG = 100
CSV_LENGTH = (30, 5, 200)  # a CSV task's window: default, low, high (rows)
MAX_CSV_COLUMNS = 8  # columns read as one sequence
MAX_CSV_WINDOWS = 2048  # training windows taken from a long file (evenly spaced)
CSV_BUDGET = Budget(epochs=20, lr=0.01, batch_size=32, sgd_lr=0.1)


@dataclass(frozen=True, eq=False)
class Task:
    """A data set of sequences with its loss, its baselines and the words to explain it."""

    name: str  # "sine" | "stock" | "chars" | "adding"
    title: str  # one line for a heading
    description: str  # what is predicted from what, in a sentence or two
    loss: str  # "mse" | "xent" | "last_mse"
    x_train: np.ndarray  # (T, N_train, D)
    y_train: np.ndarray  # (T, N_train, O) | (T, N_train) int | (N_train, O): see the module docstring
    x_val: np.ndarray  # (T, N_val, D)
    y_val: np.ndarray
    output_size: int  # O: outputs of the readout (the vocabulary size for chars)
    options: dict[str, float]  # every option, defaults filled in
    seed: int
    budget: Budget
    warmup: int = 0  # first steps of each sequence the loss ignores
    baselines: dict[str, float] = field(default_factory=dict)  # naive predictors, on the validation set
    baseline_labels: dict[str, str] = field(default_factory=dict)  # each baseline in words, in the order to show them
    note: str = ""  # the honest caveat, if there is one (e.g. a random walk cannot be predicted)
    random_walk: bool = False  # stock without a seasonal or mean-reverting part: nothing to predict
    vocab: tuple[str, ...] = ()  # chars: the character of each class index
    text: str = ""  # chars: the whole built-in text

    @property
    def input_size(self) -> int:
        return self.x_train.shape[2]

    @property
    def length(self) -> int:
        """T, the number of steps of every sequence."""
        return self.x_train.shape[0]

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(inputs, targets) of the "train" or "val" split."""
        if name == "train":
            return self.x_train, self.y_train
        if name == "val":
            return self.x_val, self.y_val
        raise ValueError(f"unknown split {name!r}; expected 'train' or 'val'")


# name -> (default, low, high); integers where the default is an int
_OPTIONS = {
    "sine": {
        "freq": (0.04, 0.005, 0.2),  # cycles per step of the slower sine; the other is 2.5 times faster
        "noise": (0.02, 0.0, 0.5),  # std of Gaussian noise on every observed value
        "length": (60, 15, 200),
        "train_size": (256, 16, 4096),
        "val_size": (64, 8, 1024),
    },
    "stock": {
        "drift": (0.0005, -0.01, 0.01),  # mean daily log-return
        "volatility": (0.01, 0.001, 0.1),  # std of the daily log-return's noise
        "seasonal": (0.0, 0.0, 0.2),  # amplitude of a periodic swing of the log price
        "period": (20, 4, 100),  # days per seasonal cycle
        "mean_reversion": (0.0, 0.0, 1.0),  # fraction of the deviation from the trend undone each day
        "length": (60, 15, 200),
        "train_size": (256, 16, 4096),
        "val_size": (64, 8, 1024),
    },
    "prices": {
        "holdout": (5, 1, 6),  # the company validated on (1-based, in tabular.STOCK_COMPANIES); the others train
        "length": (20, 5, 60),  # weeks per window
    },
    "chars": {
        "length": (40, 8, 200),
        "stride": (7, 1, 200),  # steps between the starts of two training windows
    },
    "pydocs": {
        "length": (40, 8, 200),
        "stride": (7, 1, 200),
    },
    "csv": {"length": CSV_LENGTH},  # make_csv_task's; make_task cannot make it (it needs a file)
    "adding": {
        "lag": (30, 2, MAX_LAG),  # the first marked number is at least this many steps before the end
        "train_size": (2048, 16, 8192),
        "val_size": (256, 8, 2048),
    },
}

_BUDGETS = {
    "sine": Budget(epochs=20, lr=0.01, batch_size=32, sgd_lr=0.1),
    "stock": Budget(epochs=15, lr=0.005, batch_size=32, sgd_lr=0.05),
    "prices": Budget(epochs=30, lr=0.005, batch_size=16, sgd_lr=0.05),
    "chars": Budget(epochs=15, lr=0.02, batch_size=32, sgd_lr=0.5),
    "pydocs": Budget(epochs=10, lr=0.02, batch_size=32, sgd_lr=0.5),
    "adding": Budget(epochs=20, lr=0.01, batch_size=64, sgd_lr=0.1),
}


def make_task(name: str, seed: int = 0, **options) -> Task:
    """Build a task's training and validation sets.

    Args:
        name: "sine", "stock", "chars" or "adding".
        seed: the data's seed; the same seed gives the same arrays.
        **options: the task's settings (see ``task_options(name)``), e.g. ``lag=40`` for
            adding, ``noise=0.1`` for sine, ``mean_reversion=0.2`` for stock.
    Raises:
        ValueError: for an unknown task or option, or an option outside its range.
    """
    if name not in _OPTIONS or name == "csv":
        raise ValueError(f"unknown task {name!r}; expected one of {', '.join(TASKS)} (a CSV: make_csv_task)")
    opts = _check_options(name, options)
    rng = np.random.default_rng(_seed(seed))
    makers = {"sine": _sine, "stock": _stock, "prices": _prices, "chars": _chars, "pydocs": _pydocs, "adding": _adding}
    return makers[name](opts, rng, int(seed))


def task_budget(name: str) -> Budget:
    """A task's default epochs, learning rates and batch size ("csv": ``make_csv_task``'s)."""
    if name == "csv":
        return CSV_BUDGET
    if name not in _BUDGETS:
        raise ValueError(f"unknown task {name!r}; expected one of {', '.join(TASKS)}")
    return _BUDGETS[name]


def task_options(name: str) -> dict[str, tuple[float, float, float]]:
    """The options a task takes: name -> (default, low, high), both ends allowed."""
    if name not in _OPTIONS:
        raise ValueError(f"unknown task {name!r}; expected one of {', '.join(TASKS)}")
    return dict(_OPTIONS[name])


def _seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"the seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def _check_options(name: str, options: dict) -> dict[str, float]:
    spec = _OPTIONS[name]
    unknown = sorted(set(options) - set(spec))
    if unknown:
        raise ValueError(f"unknown option(s) {', '.join(unknown)} for task {name!r}; it takes {', '.join(spec)}")
    opts = {}
    for key, (default, low, high) in spec.items():
        value = options.get(key, default)
        try:
            value = float(value)
        except (TypeError, ValueError, OverflowError):  # OverflowError: an int beyond float64
            raise ValueError(f"{key} must be a number, got {value!r:.60}") from None
        if not np.isfinite(value) or not low <= value <= high:
            raise ValueError(f"{key} must be between {low} and {high}, got {value}")
        if isinstance(default, int):
            if value != int(value):
                raise ValueError(f"{key} must be a whole number, got {value}")
            value = int(value)
        opts[key] = value
    return opts


def naive_forecast(name: str, x: np.ndarray) -> np.ndarray | None:
    """A naive predictor's answers for a task's inputs x (T, N, D), shaped like its targets.

    sine and csv: the next value is the current one; stock and prices: a return of zero ("tomorrow = today");
    adding: always 1, the average sum; chars: None (its baselines are character frequencies).
    """
    if name in ("sine", "csv"):
        return x.copy()
    if name in ("stock", "prices"):
        return np.zeros(x.shape[:-1] + (1,))
    if name == "adding":
        return np.ones((x.shape[1], 1))
    return None


def _naive_mse(name: str, x: np.ndarray, y: np.ndarray, warmup: int = 0) -> float:
    """The mean squared error of the task's naive forecast on inputs x and targets y."""
    return float(np.mean((y[warmup:] - naive_forecast(name, x)[warmup:]) ** 2))


def _task(name: str, opts: dict, seed: int, train: tuple, val: tuple, **fields) -> Task:
    """A Task with the name's budget, from its (inputs, targets) training and validation splits."""
    (x_train, y_train), (x_val, y_val) = train, val
    splits = dict(x_train=x_train, y_train=y_train, x_val=x_val, y_val=y_val)
    return Task(name=name, options=opts, seed=seed, budget=_BUDGETS[name], **splits, **fields)


def _sine(opts, rng, seed) -> Task:
    r"""s(t) = (sin(2 pi f t + phi_1) + 0.5 sin(2 pi 2.5 f t + phi_2)) / 1.5 plus noise; predict s(t+1)."""
    T, f, noise = opts["length"], opts["freq"], opts["noise"]
    warmup = 10

    def windows(n):
        t = np.arange(T + 1)[:, None]  # (T+1, 1)
        phase = rng.uniform(0, 2 * np.pi, size=(2, n))
        s = (np.sin(2 * np.pi * f * t + phase[0]) + 0.5 * np.sin(2 * np.pi * 2.5 * f * t + phase[1])) / 1.5
        s = s + noise * rng.normal(size=s.shape)  # (T+1, n)
        return s[:-1, :, None], s[1:, :, None]  # (T, n, 1) each

    train = windows(opts["train_size"])
    x_val, y_val = val = windows(opts["val_size"])
    return _task(
        "sine",
        opts,
        seed,
        train,
        val,
        title="Next value of a sum of sines",
        description=(
            f"Each sequence is a sum of two sines (frequencies {f:g} and {2.5 * f:g} cycles per step, random "
            f"phases) plus noise of std {noise:g}. At every step the network reads the current value and "
            f"predicts the next one. The first {warmup} steps are not scored: the network needs them to "
            "find out the phases."
        ),
        loss="mse",
        output_size=1,
        warmup=warmup,
        baselines={
            "baseline_val_mse": _naive_mse("sine", x_val, y_val, warmup),  # next value = current value
            "noise_floor_mse": noise**2,  # the noise of the target itself cannot be predicted
        },
        baseline_labels={
            "baseline_val_mse": "Naive: next = current",
            "noise_floor_mse": "Noise floor (no model can beat)",
        },
        note=f"No model can get below the noise floor: an MSE of {noise**2:.2g} (the noise variance).",
    )


def _stock(opts, rng, seed) -> Task:
    """Log price p_t = drift t + seasonal sin(2 pi t / period + phase) + d_t, with the deviation
    d_{t+1} = (1 - mean_reversion) d_t + volatility eps_t: with no seasonal and no mean reversion
    that is a geometric Brownian motion (a random walk of the log price)."""
    T, n_train, n_val = opts["length"], opts["train_size"], opts["val_size"]
    mu, sigma, amp, period, theta = (opts[k] for k in ("drift", "volatility", "seasonal", "period", "mean_reversion"))
    warmup = 5

    def windows(n):
        steps = T + 2  # T+2 prices give T+1 returns: T inputs and T next-step targets
        start = rng.integers(0, 10 * period, size=n)  # a random day of the calendar
        t = start + np.arange(steps)[:, None]  # (T+2, n)
        phase = 2 * np.pi * t / period
        eps = rng.normal(size=(steps, n))
        d = np.empty((steps, n))
        d[0] = sigma * eps[0] / np.sqrt(max(1 - (1 - theta) ** 2, 1e-12)) if theta > 0 else 0.0
        for k in range(1, steps):  # (stationary start when mean-reverting)
            d[k] = (1 - theta) * d[k - 1] + sigma * eps[k]
        log_price = mu * t + amp * np.sin(phase) + d  # (T+2, n)
        returns = np.diff(log_price, axis=0)  # (T+1, n)
        level = log_price[1:] - log_price[1]  # (T+1, n): log price relative to the window's first day
        return returns, level

    r_train, lvl_train = windows(n_train)
    r_val, lvl_val = windows(n_val)
    scale = float(np.std(r_train))  # one unit = a typical daily move

    def features(returns, level):
        x = np.stack([returns[:-1] / scale, level[:-1] / (scale * np.sqrt(T))], axis=-1)  # (T, n, 2)
        return x, returns[1:, :, None] / scale  # targets (T, n, 1): tomorrow's return

    x_val, y_val = val = features(r_val, lvl_val)
    random_walk = amp == 0 and theta == 0
    note = (
        "This series is a pure random walk: tomorrow's move is fresh noise, independent of the past. "
        "No model can beat the naive forecast 'tomorrow = today' (apart from learning the small average "
        "drift); a model that seems to is fitting noise."
        if random_walk
        else "The seasonal or mean-reverting part makes some of tomorrow's move predictable; the rest is "
        "noise that no model can forecast. Compare the model with the naive 'tomorrow = today'."
    )
    return _task(
        "stock",
        opts,
        seed,
        features(r_train, lvl_train),
        val,
        title="Tomorrow's move of a synthetic stock price",
        description=(
            f"A synthetic price: geometric Brownian motion with daily drift {mu:g} and volatility {sigma:g}"
            + (f", a seasonal swing of amplitude {amp:g} every {period} days" if amp else "")
            + (f", pulled back towards its trend by {theta:g} of the gap each day" if theta else "")
            + ". At every day the network reads today's return and today's price (relative to the window's "
            "first day, in units of a typical move) and predicts tomorrow's return. The naive forecast "
            "'tomorrow = today' predicts a return of zero."
        ),
        loss="mse",
        output_size=1,
        warmup=warmup,
        baselines={"baseline_val_mse": _naive_mse("stock", x_val, y_val, warmup)},  # a return of zero
        baseline_labels={"baseline_val_mse": "Naive: tomorrow = today"},
        note=note,
        random_walk=random_walk,
    )


def _pydocs(opts, rng, seed) -> Task:
    text = tabular.python_text()
    return _chars(
        opts,
        rng,
        seed,
        text=text,
        name="pydocs",
        title="A character-level language model of Python's own documentation",
        source=(
            f"The first {len(text):,} characters of the Python Language Reference's chapter on compound statements "
            "(if, while, for, try, with, def, class), as every Python install keeps it for `pydoc` "
            "(`pydoc_data.topics`), lower case"
        ),
    )


def _chars(opts, rng, seed, text: str = "", name: str = "chars", title: str = "", source: str = "") -> Task:
    T, stride = opts["length"], opts["stride"]
    text = text or TEXT
    vocab = tuple(sorted(set(text)))
    ids = np.array([vocab.index(ch) for ch in text])
    cut = int(0.85 * len(ids))
    train_ids, val_ids = ids[:cut], ids[cut:]
    if len(val_ids) < T + 1:
        raise ValueError(f"length {T} is too long for the validation text ({len(val_ids)} characters)")

    def windows(a, step):
        starts = np.arange(0, len(a) - T, step)
        idx = starts[None, :] + np.arange(T + 1)[:, None]  # (T+1, n)
        seq = a[idx]
        return np.eye(len(vocab))[seq[:-1]], seq[1:]  # (T, n, V) one-hot, (T, n) next characters

    train = windows(train_ids, stride)
    x_val, y_val = val = windows(val_ids, max(T // 2, 1))
    counts = np.bincount(train_ids, minlength=len(vocab)) + 1.0  # add-one smoothing
    freq = counts / counts.sum()
    unigram = float(-np.mean(np.log2(freq[y_val])))
    source = source or "The text below"
    return _task(
        name,
        opts,
        seed,
        train,
        val,
        title=title or "A character-level language model",
        description=(
            f"{source} ({len(text):,} characters, {len(vocab)} distinct) is cut into windows of {T} "
            "characters. At every step the network reads one character (one-hot) and gives a probability "
            f"to each of the {len(vocab)} characters coming next. The first {int(0.85 * 100)}% of the text "
            "is for training, the rest for validation. The loss is the cross-entropy in bits per character."
        ),
        loss="xent",
        output_size=len(vocab),
        baselines={
            "uniform_bits_per_char": float(np.log2(len(vocab))),  # every character equally likely
            "unigram_bits_per_char": unigram,  # character frequencies, no context
        },
        baseline_labels={
            "uniform_bits_per_char": "Uniform guess",
            "unigram_bits_per_char": "Character frequencies only",
        },
        note=(
            f"Guessing uniformly costs log2({len(vocab)}) = {np.log2(len(vocab)):.2f} bits per character; "
            f"knowing only how often each character occurs, {unigram:.2f}. Anything lower is context the "
            "network has learned. "
            + (
                "The text is tiny, so the network soon memorises it: watch the validation loss."
                if name == "chars"
                else "The validation part is the text's last 15 %: a part of the chapter the network has not read."
            )
        ),
        vocab=vocab,
        text=text,
    )


def _prices(opts, rng, seed) -> Task:
    """Real weekly prices: log returns in units of the training companies' typical weekly move, and the log
    price relative to the window's first week, as the synthetic stock's features; predict next week's return."""
    prices = tabular.stock_prices()
    T, held = opts["length"], tabular.STOCK_COMPANIES[opts["holdout"] - 1]
    warmup = 4
    trained = [c for c in tabular.STOCK_COMPANIES if c != held]
    log = {c: np.log(p) for c, p in prices.items()}
    scale = float(np.std(np.concatenate([np.diff(log[c]) for c in trained])))

    def windows(company):
        returns = np.diff(log[company])  # (W,)
        starts = np.arange(0, len(returns) - T)  # T inputs and T next-week targets each
        idx = starts[None, :] + np.arange(T + 1)[:, None]  # (T+1, n)
        r = returns[idx]
        level = log[company][idx + 1] - log[company][idx[:1] + 1]  # log price against the window's first week
        x = np.stack([r[:-1] / scale, level[:-1] / (scale * np.sqrt(T))], axis=-1)  # (T, n, 2)
        return x, r[1:, :, None] / scale  # (T, n, 1)

    parts = [windows(c) for c in trained]
    x_train, y_train = (np.concatenate(a, axis=1) for a in zip(*parts, strict=True))
    order = rng.permutation(x_train.shape[1])  # the seed orders the training windows
    x_val, y_val = val = windows(held)
    return _task(
        "prices",
        opts,
        seed,
        (x_train[:, order], y_train[:, order]),
        val,
        title=f"Next week's move of real stock prices: trained on five companies, validated on {held}",
        description=(
            f"Weekly closing prices of {', '.join(tabular.STOCK_COMPANIES)} in 2018 and 2019 (105 weeks; plotly's "
            f"`plotly.data.stocks()`, read from the installed package). Windows of {T} weeks from "
            f"{', '.join(trained)} train the network; {held}'s windows validate it. At every week it reads this "
            "week's return and the price so far (in units of a typical weekly move) and predicts next week's "
            "return. The naive forecast 'next week = this week' predicts a return of zero."
        ),
        loss="mse",
        output_size=1,
        warmup=warmup,
        baselines={"baseline_val_mse": _naive_mse("prices", x_val, y_val, warmup)},
        baseline_labels={"baseline_val_mse": "Naive: next week = this week"},
        note=(
            "Real prices are close to a random walk: next week's move is mostly news nobody knew this week. "
            "The naive forecast 'next week = this week' is very hard to beat, and a network that seems to beat "
            f"it on the training companies usually loses on {held}. That is the lesson, not a failure of the network."
        ),
    )


def _adding(opts, rng, seed) -> Task:
    """Two channels: a number uniform in [0, 1] and a 0/1 marker; the target is the sum of the two
    marked numbers, the first in the first w steps, the second in the last w (w = min(5, lag)),
    so the first has to be carried over at least ``lag`` steps."""
    lag = opts["lag"]
    w = min(5, lag)
    T = lag + w

    def examples(n):
        values = rng.uniform(0, 1, size=(T, n))
        first = rng.integers(0, w, size=n)
        second = rng.integers(lag, T, size=n)
        marks = np.zeros((T, n))
        marks[first, np.arange(n)] = 1.0
        marks[second, np.arange(n)] = 1.0
        x = np.stack([values, marks], axis=-1)  # (T, n, 2)
        y = (values * marks).sum(axis=0)[:, None]  # (n, 1)
        return x, y

    train = examples(opts["train_size"])
    x_val, y_val = val = examples(opts["val_size"])
    baseline = _naive_mse("adding", x_val, y_val)  # always answer 1, the average sum
    return _task(
        "adding",
        opts,
        seed,
        train,
        val,
        title=f"The adding problem, lag {lag}",
        description=(
            f"Each sequence has {T} steps of two inputs: a random number in [0, 1] and a marker, 1 at exactly "
            f"two steps: one among the first {w} and one among the last {w}. After the last step the network "
            f"must output the sum of the two marked numbers, so it has to remember the first one for at least "
            f"{lag} steps while ignoring everything in between."
        ),
        loss="last_mse",
        output_size=1,
        baselines={"baseline_val_mse": baseline},
        baseline_labels={"baseline_val_mse": "Naive: always answer 1"},
        note=(
            f"Always answering 1 (the average sum) gives an MSE of {baseline:.4g} on these validation sequences; "
            "a network that beats that clearly has carried the first number across the lag. A plain RNN's "
            "gradient fades over long lags (the vanishing gradient), so it tends to stay near that where an "
            "LSTM or a GRU gets far below."
        ),
    )
