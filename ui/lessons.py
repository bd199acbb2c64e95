"""The Lessons page's helpers: the lesson's free settings, the cached model, questions and figure, the
answers kept in the settings (and so in the URL), and moving from question to question.

The lesson itself, its questions and their computed answers are ``rnnviz.lessons``; this module only
keeps the page's state and caches.
"""

from __future__ import annotations

import streamlit as st

from rnnviz.lessons import LESSONS, Asked, Lesson, allows, format_answers, parse_answers
from ui import controls, share, state

PAGE = "lessons"
KEYS = tuple(LESSONS)
AT = f"{PAGE}:at"  # the lesson whose free settings were last set to its start


def current() -> tuple[Lesson, int]:
    """The lesson and question (1-based, clamped to the lesson's questions) the settings point at."""
    s = state.settings()
    chosen = st.session_state.get(f"{PAGE}:lesson", s["lesson"])  # the sidebar's choice, before its widget runs
    if chosen != s["lesson"]:
        s["lesson"], s["q"] = chosen, 1
    lesson = LESSONS[s["lesson"]]
    s["q"] = min(max(int(s["q"]), 1), len(lesson.questions))
    return lesson, s["q"]


def start(lesson: Lesson, from_link: bool) -> None:
    """Free settings to the lesson's starting values when the student arrives at another lesson (a link
    keeps the values it names), and to them whenever they are outside what the lesson allows."""
    s, query = state.settings(), st.query_params.to_dict()
    arrived = st.session_state.get(AT) != lesson.key
    for name, allowed in lesson.free.items():
        keep = from_link and name in query
        if (arrived and not keep) or not allows(allowed, s[name]):
            state.set_value(PAGE, name, lesson.settings[name])
    st.session_state[AT] = lesson.key


def free_controls(lesson: Lesson) -> dict:
    """The lesson's free settings as widgets (limited to what it allows); returns the lesson's settings."""
    columns = st.columns(len(lesson.free))
    for column, (name, allowed) in zip(columns, lesson.free.items(), strict=True):
        limits = {}
        if allowed is not None and share.SETTINGS[name].kind in ("int", "float"):
            limits = {"min_value": allowed[0], "max_value": allowed[1]}
        elif allowed is not None:
            limits = {"options": list(allowed)}
        with column:
            controls.widget(PAGE, name, **limits)
    return lesson.with_free(state.settings())


def items(settings: dict) -> tuple:
    """The settings as a cache key."""
    return tuple(sorted(settings.items()))


@st.cache_resource(max_entries=64, ttl=3600, show_spinner="Computing the lesson's model...")
def model(key: str, items: tuple):
    """The model on screen (shared, never changed): a trace, gradients, a drawing or a training run."""
    return LESSONS[key].build(dict(items))


@st.cache_data(max_entries=256, show_spinner=False)
def asked(key: str, question: int, items: tuple) -> Asked:
    return LESSONS[key].questions[question - 1].ask(model(key, items), dict(items))


@st.cache_resource(max_entries=64, ttl=3600, show_spinner=False)
def figure(key: str, items: tuple):
    return LESSONS[key].figure(model(key, items), dict(items))


def answers() -> dict[tuple[str, int], tuple[int, bool]]:
    return parse_answers(state.settings()["ans"])


def reveal(key: str, question: int) -> None:
    """Record the prediction in the radio (a callback of the Reveal button); the first answer counts.

    It is judged against the free controls as they are now: a control changed together with the click
    (a number typed, then Enter) has reached the session state but not yet the settings.
    """
    pick = st.session_state.get(pick_key(key, question))
    given = answers()
    if pick is None or (key, question) in given:
        return
    lesson = LESSONS[key]
    now = {name: st.session_state.get(f"{PAGE}:{name}", state.settings()[name]) for name in lesson.free}
    right = asked(key, question, items(lesson.with_free(state.settings() | now))).right
    given[(key, question)] = (int(pick), int(pick) == right)
    state.settings()["ans"] = format_answers(given)


def shown(asked: Asked, option: int) -> str:
    """An answer given as it reads now; the settings may since offer fewer options (or a link made it up)."""
    return asked.options[option] if option < len(asked.options) else "an option these settings do not offer"


def pick_key(key: str, question: int) -> str:
    return f"{PAGE}:pick:{key}:{question}"


def go(step: int) -> None:
    """Next (+1) or previous (-1) question, on into the next lesson or back to the last question of the one before."""
    s = state.settings()
    k = KEYS.index(s["lesson"])
    q = s["q"] + step
    if q > len(LESSONS[KEYS[k]].questions) and k + 1 < len(KEYS):
        k, q = k + 1, 1
    elif q < 1 and k > 0:
        k, q = k - 1, len(LESSONS[KEYS[k - 1]].questions)
    s["q"] = min(max(q, 1), len(LESSONS[KEYS[k]].questions))
    if KEYS[k] != s["lesson"]:
        state.set_value(PAGE, "lesson", KEYS[k])


def explorer_query(lesson: Lesson, settings: dict) -> dict[str, str]:
    """The explorer page's link parameters: the lesson's settings under the app's names."""
    return {k: share.format_value(v) for k, v in lesson.explore(settings).items() if k in share.SETTINGS}
