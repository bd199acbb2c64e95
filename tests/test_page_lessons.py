"""AppTest of the Lessons page: predict then reveal, the answer recorded as the core judges it, the free
control changing the question, a lesson's own start, and hostile links."""

from __future__ import annotations

from conftest import assert_clean, charts, run_page

from rnnviz.lessons import LESSONS, parse_answers

PAGE = "pages/lessons.py"


def core_answer(key: str, q: int, **free) -> int:
    L = LESSONS[key]
    s = L.with_free(free)
    return L.questions[q - 1].ask(L.build(s), s).right


def test_the_figure_shows_only_after_the_answer_and_the_answer_is_judged_by_the_core():
    at = run_page(PAGE, {"lesson": "neuron"})
    assert_clean(at)
    assert not charts(at)
    assert any("W_y = -0.9 and an impulse" in m.value for m in at.markdown)
    right = core_answer("neuron", 1, wy=-0.9)
    at.radio(key="lessons:pick:neuron:1").set_value((right + 1) % 4).run()
    at.button(key="lessons:reveal").click().run()
    assert not at.exception  # and one st.error: the verdict on the wrong answer
    assert parse_answers(at.query_params["ans"]) == {("neuron", 1): ((right + 1) % 4, False)}
    assert list(charts(at)) == ["lessons:figure"]
    assert at.error[0].value.startswith("Not this time")


def test_the_free_control_changes_the_question_and_its_answer():
    at = run_page(PAGE, {"lesson": "neuron"})
    at.number_input(key="lessons:wy").set_value(0.5).run()
    assert any("W_y = 0.5 and an impulse" in m.value for m in at.markdown)
    right = core_answer("neuron", 1, wy=0.5)
    assert right != core_answer("neuron", 1, wy=-0.9)
    at.radio(key="lessons:pick:neuron:1").set_value(right).run()
    at.button(key="lessons:reveal").click().run()
    assert_clean(at)
    assert parse_answers(at.query_params["ans"]) == {("neuron", 1): (right, True)}
    assert at.success[0].value.startswith("Right")


def test_a_new_lesson_starts_from_its_own_settings():
    at = run_page(PAGE, {"lesson": "neuron", "wy": "2.5"})
    assert at.number_input(key="lessons:wy").value == 2.5  # a link's value is kept
    at.radio(key="lessons:lesson").set_value("weights").run()
    assert_clean(at)
    assert at.number_input(key="lessons:wy").value == LESSONS["weights"].settings["wy"]
    assert at.query_params["lesson"] == "weights" and at.query_params["q"] == "1"


def test_hostile_links_are_clamped_with_a_notice():
    at = run_page(PAGE, {"lesson": "nope", "q": "99", "ans": "![x](http://e/p.png).neuron9r9", "wy": "1e308"})
    assert not at.exception
    assert at.warning and "lesson=nope" in at.warning[0].value
    assert at.title[0].value.endswith(LESSONS["neuron"].title)
    assert any("Question 2 of 2" in h.value for h in at.subheader)  # q clamped to the lesson's questions
    assert at.number_input(key="lessons:wy").value == LESSONS["neuron"].settings["wy"]  # outside -3..3


def test_a_lesson_outside_a_range_it_allows_returns_to_its_start():
    at = run_page(PAGE, {"lesson": "gradients", "cell": "lstm", "radius": "2"})
    assert_clean(at)
    assert at.selectbox(key="lessons:cell").value == "rnn_tanh"  # the LSTM is not this lesson's
    assert at.slider(key="lessons:radius").value == 2.0


def test_an_answer_the_settings_no_longer_offer_shows_without_a_traceback():
    at = run_page(PAGE, {"lesson": "unfold", "T": "5", "ans": "unfold1w9"})  # option 9 of a link: there are 4
    assert not at.exception
    assert "do not offer" in at.error[0].value and at.radio(key="lessons:pick:unfold:1").value is None
    at = run_page(PAGE, {"lesson": "unfold", "T": "5"})
    at.radio(key="lessons:pick:unfold:1").set_value(3).run()  # "10", the last of 4 options
    at.button(key="lessons:reveal").click().run()
    at.slider(key="lessons:T").set_value(1).run()  # 3 options now
    assert not at.exception
    assert "do not offer" in at.error[0].value


def test_reveal_judges_the_controls_as_they_are_at_the_click():
    """W_y moved and Reveal clicked in one go (a number typed, then Enter): judged with the new W_y."""
    at = run_page(PAGE, {"lesson": "neuron"})
    right_now = core_answer("neuron", 1, wy=0.5)
    assert right_now != core_answer("neuron", 1, wy=-0.9)
    at.radio(key="lessons:pick:neuron:1").set_value(right_now).run()
    at.number_input(key="lessons:wy").set_value(0.5)
    at.button(key="lessons:reveal").click().run()
    assert not at.exception
    assert parse_answers(at.query_params["ans"]) == {("neuron", 1): (right_now, True)}
