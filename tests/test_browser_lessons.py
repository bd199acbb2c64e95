"""The Lessons page in Chromium at 1024x768: in every lesson a right and a wrong prediction (the right one
computed here from rnnviz.lessons), the figure only after the answer, progress in the URL, the keyboard's
next and previous, the explorer link with the lesson's settings, and the teacher's link."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest
from conftest import open_page, screenshot, wait_for_app

from rnnviz.lessons import LESSONS

FIGURE = '[data-testid="stPlotlyChart"], .rnnviz-graph svg, [data-testid="stGraphVizChart"]'  # a plot or a drawing


def right_option(key: str, question: int) -> tuple[int, tuple[str, ...]]:
    L = LESSONS[key]
    asked = L.questions[question - 1].ask(L.build(L.settings), L.settings)
    return asked.right, asked.options


def query(pg) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(pg.url).query).items()}


def predict(pg, label: str) -> None:
    from playwright.sync_api import expect

    group = pg.get_by_role("radiogroup", name="Your prediction")
    group.get_by_text(label, exact=True).click()
    expect(pg.get_by_role("button", name=re.compile("Reveal"))).to_be_enabled()
    pg.get_by_role("button", name=re.compile("Reveal")).click()


@pytest.mark.parametrize("key", list(LESSONS))
def test_a_right_and_a_wrong_answer_in_every_lesson(projector, app_url, key):
    from playwright.sync_api import expect

    pg = projector
    open_page(pg, app_url, "lessons", f"?lesson={key}")
    expect(pg.locator("h1")).to_contain_text(LESSONS[key].title)
    expect(pg.locator(FIGURE)).to_have_count(0)  # predict first: no figure before the answer

    right, options = right_option(key, 1)
    predict(pg, options[right])
    expect(pg.get_by_text("Right:")).to_be_visible()
    expect(pg).to_have_url(re.compile(rf"ans={key}1r{right}\b"))
    expect(pg.locator(FIGURE).first).to_be_visible()
    wait_for_app(pg)
    if key == "neuron":
        screenshot(pg, "lessons-1024-neuron-revealed")

    pg.locator("h1").click()  # the keyboard's focus off the radio, whose own arrow keys change the choice
    pg.keyboard.press("ArrowRight")
    expect(pg.get_by_role("heading", name="Question 2 of 2")).to_be_visible()
    expect(pg).to_have_url(re.compile(r"[?&]q=2\b"))
    right, options = right_option(key, 2)
    wrong = (right + 1) % len(options)
    predict(pg, options[wrong])
    expect(pg.get_by_text("Not this time")).to_be_visible()
    expect(pg).to_have_url(re.compile(rf"ans={key}1r\d\.{key}2w{wrong}\b"))
    expect(pg.get_by_text("Score in this lesson: 1 right of 2 answered")).to_be_visible()

    pg.locator("h1").click()
    pg.keyboard.press("ArrowLeft")
    expect(pg.get_by_role("heading", name="Question 1 of 2")).to_be_visible()
    expect(pg.get_by_text("Right:")).to_be_visible()  # the answer given is kept


def test_progress_is_in_the_url_and_a_bookmark_restores_it(projector, app_url):
    from playwright.sync_api import expect

    pg = projector
    right, options = right_option("gru", 1)
    wrong = (right + 1) % len(options)
    open_page(pg, app_url, "lessons", f"?lesson=gru&q=1&ans=neuron1r2.gru1w{wrong}")
    expect(pg.get_by_text("Not this time")).to_be_visible()
    expect(pg.get_by_role("radiogroup", name="Your prediction").get_by_role("radio").first).to_be_disabled()
    expect(pg.locator(FIGURE).first).to_be_visible()
    expect(pg.get_by_text("2 of 18 questions answered, 1 right")).to_be_visible()
    screenshot(pg, "lessons-1024-gru-bookmark")


def test_next_goes_on_to_the_next_lesson_and_sets_its_own_start(projector, app_url):
    from playwright.sync_api import expect

    pg = projector
    open_page(pg, app_url, "lessons", "?lesson=neuron&q=2&wy=2.5")
    expect(pg.get_by_text("Is y_12, the last output")).to_be_visible()
    pg.get_by_role("button", name=re.compile("Next")).click()
    expect(pg.locator("h1")).to_contain_text(LESSONS["weights"].title)
    expect(pg).to_have_url(re.compile(r"lesson=weights"))
    q = query(pg)
    assert q["q"] == "1" and float(q["wy"]) == LESSONS["weights"].settings["wy"]  # the lesson's own start


def test_the_explorer_and_teacher_links_carry_the_lesson(projector, app_url):
    from playwright.sync_api import expect

    pg = projector
    open_page(pg, app_url, "lessons", "?lesson=gradients&q=2&radius=2&cell=rnn_relu")
    link = pg.get_by_role("link", name=re.compile("Continue in the explorer"))
    href = link.get_attribute("href")
    params = {k: v[0] for k, v in parse_qs(urlparse(href).query).items()}
    assert urlparse(href).path.split("/")[-1] == "bptt"
    assert params["radius"] == "2" and params["cell"] == "rnn_relu" and params["T"] == "40"

    pg.get_by_text("For the teacher").click()
    # two links: the class's, then the projector's (present=1)
    code = pg.locator('[data-testid="stCode"]').filter(has_text="lesson=gradients").first
    expect(code).to_be_visible()
    teacher = code.inner_text().strip()
    assert "q=2" in teacher and "radius=2" in teacher and "ans=" not in teacher
    pg.goto(teacher)
    expect(pg.get_by_role("heading", name="Question 2 of 2")).to_be_visible()
    expect(pg.get_by_text("Spectral radius", exact=False).first).to_be_visible()

    link = pg.get_by_role("link", name=re.compile("Continue in the explorer"))
    link.click()
    expect(pg).to_have_url(re.compile(r"/bptt\?.*radius=2"))
    expect(pg.locator("h1")).to_be_visible()


@pytest.mark.parametrize("size", [(1280, 800), (1024, 768)])
def test_screenshots(window, app_url, size):
    from playwright.sync_api import expect

    pg = window(*size)
    open_page(pg, app_url, "lessons", "?lesson=lstm")
    screenshot(pg, f"lessons-{size[0]}-lstm-question")
    right, options = right_option("lstm", 1)
    predict(pg, options[right])
    expect(pg.locator('[data-testid="stPlotlyChart"]')).to_be_visible()
    screenshot(pg, f"lessons-{size[0]}-lstm-revealed", height=1400)
    width = pg.evaluate("document.documentElement.scrollWidth")
    assert width <= size[0], f"the page is {width} px wide in a {size[0]} px window"


def test_a_lesson_in_presentation_mode_with_the_keyboard(projector, app_url):
    """A teacher's projector link (present=1, issue 14's presentation mode): the sidebar collapsed, the
    question on screen, the keyboard's next and previous."""
    from playwright.sync_api import expect

    from ui import presentation

    pg = projector
    open_page(pg, app_url, "lessons", f"?lesson=gradients&q=1&{presentation.NAME}=1")
    expect(pg.locator('[data-testid="stSidebar"]')).to_have_attribute("data-collapsed", "true")
    expect(pg.get_by_role("heading", name="Question 1 of 2")).to_be_visible()
    screenshot(pg, "lessons-1024-present-question")
    right, options = right_option("gradients", 1)
    predict(pg, options[right])
    expect(pg.locator('[data-testid="stPlotlyChart"]')).to_be_visible()
    screenshot(pg, "lessons-1024-present-revealed", height=1300)
    pg.locator("h1").click()
    pg.keyboard.press("ArrowRight")
    expect(pg.get_by_role("heading", name="Question 2 of 2")).to_be_visible()
    expect(pg).to_have_url(re.compile(rf"[?&]{presentation.NAME}=1\b"))
    pg.locator("h1").click()
    pg.keyboard.press("ArrowLeft")
    expect(pg.get_by_role("heading", name="Question 1 of 2")).to_be_visible()


def test_home_links_every_lesson_whole_at_1024(projector, app_url):
    from playwright.sync_api import expect

    pg = projector
    open_page(pg, app_url, "")
    links = pg.locator('[data-testid="stPageLink"] a[href*="lessons?lesson="]')
    expect(links).to_have_count(len(LESSONS))
    texts = pg.evaluate(
        """() => [...document.querySelectorAll('[data-testid="stPageLink"] a[href*="lessons?lesson="] p')]
                 .map(p => [p.textContent, p.scrollWidth <= p.clientWidth + 1])"""
    )
    assert len(texts) == len(LESSONS) and all(whole for _, whole in texts), f"lesson links cut short: {texts}"
    links.nth(6).click()
    expect(pg.locator("h1")).to_contain_text(LESSONS["gru"].title)
