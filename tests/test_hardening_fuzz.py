"""AppTest fuzzing: random widget changes and random link parameters on every page.

Each test is seeded (so a failure replays), walks the page's widgets generically (sliders,
number inputs, selectboxes, radios, toggles, checkboxes, text inputs, multiselects, buttons)
and sets values anywhere within each widget's own limits, including both ends. After every
rerun: no exception, the page still has its title, and where the page draws a graph it is
on the page. ``RNNVIZ_FUZZ_SCALE=10`` makes every sequence ten times longer.
"""

import os
import pathlib
import random
import re

import pytest
from conftest import drawings, run_page
from streamlit.testing.v1 import AppTest

from ui import share

ROOT = pathlib.Path(__file__).resolve().parent.parent
PAGES = sorted(f"pages/{p.name}" for p in (ROOT / "pages").glob("*.py"))
GRAPH_PAGES = {"pages/neuron.py", "pages/unfolded.py", "pages/bptt.py"}
SCALE = int(os.environ.get("RNNVIZ_FUZZ_SCALE", "1"))
CHANGES = 16 * SCALE  # widget changes per sequence
SEQUENCES = 3  # seeded sequences per page
LINKS = 5 * SCALE  # random link parameter sets per page
TEXTS = [
    "1, 0, 0, 2",
    "",
    "   ",
    "nan",
    "1e400",
    "-1e6, 1e6",
    "1; 2 3,4",
    "two",
    "0.5 " * 600,
    "<script>alert(1)</script>",
    "![x](//example.invalid/p.png)",
    "the ",
    "zzz é ☃",
    "x" * 60,
]
SLOW_BUTTONS = ("Train", "Compare")  # trained only at the smallest budget, see _click
STATS = {"runs": 0, "changes": 0, "errors_shown": 0}


@pytest.fixture(scope="module", autouse=True)
def report_counts(request):
    """After this file's tests, one line in pytest's output says what was tried."""
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(
            f"\nfuzz: {STATS['runs']} page runs, {STATS['changes']} widget changes, {STATS['errors_shown']} st.error"
        )


def assert_draws(at: AppTest, page: str, what: str) -> None:
    STATS["runs"] += 1
    assert not at.exception, f"{page} after {what}: {[e.value for e in at.exception]}"
    assert at.title, f"{page} after {what}: no title, the page did not draw"
    current = page
    try:
        current = at._tree.script_path or page  # a button may have switched the page
    except AttributeError:
        pass
    draws = page in GRAPH_PAGES
    if page == "pages/bptt.py" and at.session_state["settings"]["bview"] != "graph":
        draws = False  # the BPTT page draws its graph in a tab of its own, only while that tab is open
    if draws and str(current).endswith(page):
        assert drawings(at), f"{page} after {what}: no graph drawn"
    STATS["errors_shown"] += len(at.error)


def _choices(widget) -> list:
    """Raw option values a selectbox, radio or multiselect accepts: those its format_func turns into an option label."""
    name = str(widget.key or "").rsplit(":", 1)[-1]
    setting = share.SETTINGS.get(name)
    candidates = list(widget.options) + list(range(len(widget.options) + 1)) + [None]
    candidates += list(setting.choices) if setting is not None else []
    found = []
    for c in candidates:
        try:
            if widget.format_func(c) in widget.options and c not in found:
                found.append(c)
        except Exception:  # noqa: BLE001 - a format_func that does not take this type
            continue
    return found


def _number(rng: random.Random, low, high, step, current, integer: bool):
    if low is None or high is None:
        low = current - 100 * (step or 1) if low is None else low
        high = current + 100 * (step or 1) if high is None else high
    pick = rng.random()
    if pick < 0.25:
        return low
    if pick < 0.5:
        return high
    if integer:
        return rng.randint(int(low), int(high))
    if step:
        return min(high, low + step * rng.randint(0, int(round((high - low) / step))))
    return rng.uniform(low, high)


def _click(at: AppTest, button) -> bool:
    """Buttons that train a model run only with one epoch on the smallest network."""
    if any(word in str(button.label) for word in SLOW_BUTTONS):
        for key, value in (("train:epochs", 1), ("train:hidden", 2)):
            try:
                at.slider(key=key).set_value(value)
            except (KeyError, AttributeError, ValueError):
                return False
    button.click()
    return True


def change_one(at: AppTest, rng: random.Random) -> str | None:
    """Change one random enabled widget to a random valid value; returns what was done."""
    widgets = []
    for kind in ("slider", "number_input", "selectbox", "radio", "toggle", "checkbox", "text_input", "multiselect"):
        widgets += [(kind, w) for w in getattr(at, kind) if not getattr(w, "disabled", False)]
    widgets += [("button", b) for b in at.button if not b.disabled]
    if not widgets:
        return None
    kind, w = rng.choice(widgets)
    what = f"{kind} {w.label!r}"
    if kind == "slider":
        if isinstance(w.value, tuple | list):
            a, b = sorted(_number(rng, w.min, w.max, w.step, w.min, isinstance(w.min, int)) for _ in range(2))
            w.set_range(a, b)
            return f"{what} = ({a}, {b})"
        integer = isinstance(w.value, int) and not isinstance(w.value, bool)
        if not isinstance(w.value, int | float):
            return None  # a date or time slider: none in this app
        value = _number(rng, w.min, w.max, w.step, w.value, integer)
    elif kind == "number_input":
        integer = isinstance(w.value, int)
        value = _number(rng, w.min, w.max, w.step, w.value if w.value is not None else 0, integer)
    elif kind in ("selectbox", "radio"):  # select_index would store the label, not the option
        choices = _choices(w)
        if not choices:
            return None
        value = rng.choice(choices)
    elif kind in ("toggle", "checkbox"):
        value = not w.value
    elif kind == "text_input":
        value = rng.choice(TEXTS)
        if getattr(w, "max_chars", None):
            value = value[: w.max_chars]
    elif kind == "multiselect":
        choices = _choices(w)
        value = rng.sample(choices, rng.randint(0, min(len(choices), 4)))
    else:
        return f"{what} clicked" if _click(at, w) else None
    w.set_value(value)
    return f"{what} = {value!r:.60}"


@pytest.mark.parametrize("seed", range(SEQUENCES))
@pytest.mark.parametrize("page", PAGES)
def test_random_widget_changes(page, seed):
    rng = random.Random(f"{page}:{seed}")
    at = run_page(page)
    assert_draws(at, page, "opening")
    history = []
    for _ in range(CHANGES):
        what = change_one(at, rng)
        if what is None:
            continue
        history.append(what)
        at.run()
        STATS["changes"] += 1
        assert_draws(at, page, " -> ".join(history[-4:]))


def random_link(rng: random.Random) -> dict[str, str]:
    names = rng.sample(sorted(share.SETTINGS), rng.randint(1, 10))
    query = {}
    for name in names:
        s = share.SETTINGS[name]
        if s.kind in ("int", "float"):
            options = [s.low, s.high, s.low - 1, s.high * 10 + 1, rng.uniform(s.low, s.high), "nan", "inf", "1e999"]
            value = rng.choice(options)
            query[name] = str(int(value) if s.kind == "int" and isinstance(value, float) else value)
        elif s.kind == "choice":
            query[name] = rng.choice([*s.choices, "bogus", ""])
        elif s.kind == "bool":
            query[name] = rng.choice(["1", "0", "true", "maybe"])
        else:
            query[name] = rng.choice(TEXTS)
    if rng.random() < 0.3:
        query[rng.choice(["zzz", "page", "T ", "<b>"])] = rng.choice(["1", "x"])
    return query


@pytest.mark.parametrize("page", PAGES)
def test_random_links(page):
    rng = random.Random(f"{page}:links")
    for _ in range(LINKS):
        query = random_link(rng)
        at = run_page(page, query)
        assert_draws(at, page, f"opening with {query}")
        what = change_one(at, rng)  # and the page keeps working after the first change
        if what is not None:
            at.run()
            STATS["changes"] += 1
            assert_draws(at, page, f"{query} then {what}")


SELECTING = {
    "pages/neuron.py": {"T": "6"},
    "pages/unfolded.py": {"T": "6"},
    "pages/bptt.py": {"T": "6", "bview": "graph"},
}


@pytest.mark.parametrize("page", sorted(SELECTING))
def test_selections_of_nodes_that_no_longer_exist(page):
    """A node selected (by a link, or a click: the setting sel) and then taken away as T shrinks: a note, no error."""
    rng = random.Random(f"{page}:selection")
    at = run_page(page, SELECTING[page])
    nodes = re.findall(r'<g id="([^"]+)" class="node [^"]*step-(\d+)', drawings(at)[-1])
    late = [n for n, t in nodes if int(t) >= 4]
    for node in rng.sample(late, min(3, len(late))):
        at = run_page(page, SELECTING[page] | {"sel": node})
        assert_draws(at, page, f"selecting {node}")
        assert at.session_state["settings"]["sel"] == node and not at.info
        at.slider(key=f"{page[6:-3]}:T").set_value(3).run()
        assert_draws(at, page, f"selecting {node}, then T = 3")
        assert at.session_state["settings"]["sel"] == ""
        assert any("not in this drawing any more" in i.value for i in at.info), [i.value for i in at.info]
