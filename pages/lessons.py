"""Lessons: the chapter one lesson at a time. Predict first; the live figure and the model's numbers follow."""

from urllib.parse import urlencode

import graphviz
import streamlit as st

from rnnviz.lessons import LESSONS, score
from ui import controls, presentation, share, show, state, text
from ui import lessons as ul
from ui.markup import literal

PAGE = ul.PAGE

from_link = state.load_url(PAGE)
presentation.apply(PAGE)
lesson, q = ul.current()
ul.start(lesson, from_link)
given = ul.answers()

with st.sidebar:
    st.header("The chapter")
    controls.widget(PAGE, "lesson", format_func=lambda k: f"{ul.KEYS.index(k) + 1}. {LESSONS[k].title}")
    right = sum(ok for _, ok in given.values())
    total = sum(len(L.questions) for L in LESSONS.values())
    per_lesson = " · ".join(f"{n}: {score(given, L)[0]}/{len(L.questions)}" for n, L in enumerate(LESSONS.values(), 1))
    st.caption(f"{len(given)} of {total} questions answered, {right} right ({per_lesson}).")
    st.caption("The address bar keeps your progress: bookmark it to come back.")

number = ul.KEYS.index(lesson.key) + 1
st.title(f"{number} · {lesson.title}")
text.show(f"lessons/{lesson.key}")

settings = ul.free_controls(lesson)
items = ul.items(settings)
try:
    asked = ul.asked(lesson.key, q, items)
except ValueError as err:
    st.error(f"These settings cannot be used: {literal(err)}.")
    st.stop()

st.subheader(f"Question {q} of {len(lesson.questions)}")
st.markdown(asked.prompt)
done = given.get((lesson.key, q))
pick = st.radio(
    "Your prediction",
    range(len(asked.options)),
    format_func=asked.options.__getitem__,
    index=done[0] if done and done[0] < len(asked.options) else None,
    key=ul.pick_key(lesson.key, q),
    disabled=done is not None,
    horizontal=True,
)
if done is None:
    st.button(
        "Reveal",
        type="primary",
        disabled=pick is None,
        on_click=ul.reveal,
        args=(lesson.key, q),
        key=f"{PAGE}:reveal",
        shortcut="Enter",
    )
    st.caption("Predict first: the figure and the model's numbers appear once you have answered.")
else:
    chosen, ok = done
    if ok:
        st.success(f"Right: **{ul.shown(asked, chosen)}**.", icon=":material/check_circle:")
    else:
        st.error(f"Not this time: you said {ul.shown(asked, chosen)}.", icon=":material/cancel:")
    st.markdown(f"With the settings above the answer is **{asked.options[asked.right]}**. {asked.why}")
    fig = ul.figure(lesson.key, items)
    if isinstance(fig, graphviz.Digraph):
        show.graph(fig, max_height=360, min_scale=0.7)
    else:
        presentation.chart(fig, key=f"{PAGE}:figure")
    st.caption("Change the setting above: the figure, the numbers and the answer follow the model.")

got, answered = score(given, lesson)
st.caption(f"Score in this lesson: {got} right of {answered} answered ({len(lesson.questions)} questions).")
back, forward, explore = st.columns([1, 1, 2])
first, last = number == 1 and q == 1, number == len(LESSONS) and q == len(lesson.questions)
back.button("Previous", icon=":material/arrow_back:", on_click=ul.go, args=(-1,), disabled=first, shortcut="Left")
forward.button("Next", icon=":material/arrow_forward:", on_click=ul.go, args=(1,), disabled=last, shortcut="Right")
query = ul.explorer_query(lesson, settings)
explore.page_link(
    f"pages/{lesson.explorer}.py", label="Continue in the explorer", icon=":material/explore:", query_params=query
)

with st.expander("For the teacher"):
    here = {"lesson": lesson.key, "q": q} | {name: settings[name] for name in lesson.free}
    base = (st.context.url or "/lessons").split("?")[0]  # None outside a browser session (AppTest)
    st.markdown("A link that opens this lesson at this question, with no answers given, for the class:")
    st.code(base + "?" + urlencode(share.to_query(here, here)), language=None)
    st.markdown("The same for the projector, in presentation mode:")
    st.code(base + "?" + urlencode(share.to_query(here, here) | {presentation.NAME: "1"}), language=None)
    st.caption("Keyboard: ← previous, → next, Enter reveals the chosen answer.")

state.write_url(("lesson", "q", "ans", *lesson.free))
