"""A whole class behind HAProxy: the deployment script, simulated students, and failover in a browser.

One class of two app processes, started, checked and stopped through scripts/serve_class.py's
command line, serves the tests below in order: simulated students (benchmarks/lecture_hall.py,
Streamlit's own protocol) across the kill of a process, the script starting the dead process
again, and a browser whose process is killed under it. The full measurements:
``python benchmarks/lecture_hall.py capacity`` and ``... failover`` (benchmarks/LECTURE_HALL.md).
"""

import asyncio
import os
import pathlib
import shutil
import subprocess
import sys
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import _require_browser

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "scripts"))

import lecture_hall  # noqa: E402
from common import SETTLED  # noqa: E402
from serve_class import Hall, alive, group  # noqa: E402

SERVE = [sys.executable, str(ROOT / "scripts" / "serve_class.py")]
SNAPSHOT = """() => ({
  query: Object.fromEntries(new URLSearchParams(location.search)),
  sliders: [...document.querySelectorAll('[data-testid="stSlider"]')].map(
    e => [e.querySelector('label')?.innerText, e.querySelector('input[type="range"]')?.getAttribute('aria-valuetext')]),
  choices: [...document.querySelectorAll('[data-testid="stSelectbox"]')].map(
    e => [e.querySelector('label')?.innerText, e.querySelector('input')?.value]),
  drawn: [...document.querySelectorAll('.rnnviz-graph svg')].map(e => e.textContent),
  formulas: [...document.querySelectorAll('.katex-mathml annotation')].map(e => e.textContent),
})"""


def _require_haproxy():
    if not shutil.which("haproxy"):
        message = "the class tests need Debian's haproxy (apt-get install haproxy)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def serve(*args, run_dir) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*SERVE, *args, "--run-dir", str(run_dir)], capture_output=True, text=True, timeout=300, cwd=ROOT
    )


@pytest.fixture(scope="module")
def hall(tmp_path_factory):
    _require_haproxy()
    run_dir = tmp_path_factory.mktemp("class")
    started = serve("start", "--processes", "2", "--port", "0", "--address", "127.0.0.1", run_dir=run_dir)
    assert started.returncode == 0, started.stdout + started.stderr
    hall = Hall.load(0, run_dir)
    pids = {b.pid for b in hall.backends} | {hall.haproxy_pid}
    try:
        yield hall
    finally:
        last = Hall.load(0, run_dir)  # the processes started again since are in the run folder too
        stopped = serve("stop", run_dir=run_dir)
    pids |= {b.pid for b in last.backends}
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert not [pid for pid in pids if alive(pid)], "an app process or HAProxy outlived stop"
    assert not [pid for pid in pids for pid in group(pid)], "a dot process outlived stop"


def _process(url: str) -> str:
    """The app process the balancer pins a new visitor to (its cookie)."""
    with urllib.request.urlopen(url + "/neuron") as r:
        cookie = r.headers["Set-Cookie"]
    return cookie.split(";")[0].split("=")[1]


def test_the_script_checks_every_process_and_the_balancer_pins_visitors(hall):
    checked = serve("check", run_dir=hall.run_dir)
    assert checked.returncode == 0, checked.stdout
    for name in ("p1", "p2", "haproxy"):
        assert name in checked.stdout
    assert checked.stdout.count(" UP ") == 2, checked.stdout
    # leastconn with no open connection: new visitors' cookies name both processes
    assert {_process(hall.url) for _ in range(6)} == {"p1", "p2"}
    assert "/_stcore/health" in (hall.run_dir / "haproxy.cfg").read_text()


def test_simulated_students_see_only_their_own_views_across_the_kill_of_a_process(hall):
    # 20 students on 2 processes, each changing a control every 5 s; the busier process is killed 8 s in
    with ThreadPoolExecutor(max_workers=1) as pool:  # its own event loop: the browser fixtures may run one here
        run = pool.submit(asyncio.run, lecture_hall.simulate(hall, 20, 5.0, 20.0, 4.0, 90.0, kill_at=8.0))
        result = run.result()
    print(lecture_hall.capacity_table([(2, lecture_hall.summary(result))]))
    print(lecture_hall.failover_text(result, 2))
    problems = lecture_hall.problems_text(result)
    assert not any(s.errors for s in result.students), problems
    assert all(s.changes >= 3 for s in result.students), [s.changes for s in result.students]
    moved = [s for s in result.students if s.reconnects]
    assert moved and all(s.process != result.killed for s in moved), "the killed process's students moved"
    assert sum(s.redone for s in result.students) == 0, "a change made right after the failover was undone"
    assert {s.page for s in result.students} == set(lecture_hall.PAGES)
    # the script starts the dead process again; the balancer counts it UP
    started = serve("start", run_dir=hall.run_dir)
    assert started.returncode == 0, started.stdout + started.stderr
    assert started.stdout.count(" UP ") == 2, started.stdout
    hall.backends = Hall.load(0, hall.run_dir).backends


def test_the_isolation_check_rejects_another_students_view():
    a, b = lecture_hall.make_students(2, ("neuron",))
    assert (a.wx, a.wy) != (b.wx, b.wy)

    def view_of(s):
        url = {"T": str(s.T), "seed": str(s.seed), "signal": s.signal, "wx": f"{s.wx:g}", "wy": f"{s.wy:g}"}
        widgets = {"neuron:T": float(s.T), "neuron:signal": lecture_hall.SIGNAL_LABELS[s.signal]}
        widgets |= {"neuron:wx": s.wx, "neuron:wy": s.wy}
        return lecture_hall.View(url, widgets, [s.T], {"output y_t": s.expected_y()}, [])

    assert a.check(view_of(a)) == []
    b.T = a.T  # even at the same length, b's weights draw another curve
    assert any("output curve" in p for p in a.check(view_of(b)))
    assert len(a.check(view_of(b))) >= 3  # URL, sliders and curve


def _snapshot(page, sliders: int = 1) -> dict:
    """The page's view once no run is under way and its sliders are drawn (a fresh browser context
    loads the slider's code on first use, after the rest of the page)."""
    page.wait_for_function(SETTLED, timeout=90_000)
    page.wait_for_function(
        "n => document.querySelectorAll('[data-testid=stSlider] input[type=range]').length >= n",
        arg=sliders,
        timeout=90_000,
    )
    return page.evaluate(SNAPSHOT)


def test_a_browser_keeps_its_view_when_its_process_dies(hall, browser):
    _require_browser()
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    def query(page) -> dict[str, str]:
        return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(page.url).query))

    def url_has(page, **want) -> None:
        page.wait_for_function(
            "want => Object.entries(want).every(([k, v]) => new URLSearchParams(location.search).get(k) === v)",
            arg=want,
            timeout=90_000,
        )

    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    runs_ended: list[str] = []
    page.on(
        "websocket",
        lambda ws: ws.on(
            "framereceived",
            lambda m: runs_ended.append(ws.url) if ForwardMsg.FromString(m).HasField("script_finished") else None,
        ),
    )
    try:
        page.goto(f"{hall.url}/neuron?T=9&wx=1.3&wy=-0.7&signal=step")
        url_has(page, act="tanh", T="9")  # the app wrote the whole view into the URL
        slider = page.get_by_role("slider", name="Sequence length")
        # the slider's code loads after the URL is written; on a machine at load 20 that took over 30 s
        slider.wait_for(timeout=120_000)
        slider.press("ArrowRight")
        url_has(page, T="10")
        # the URL is written before the browser draws the run: wait for the drawing, then for the run's end
        page.wait_for_function("() => document.querySelectorAll('.rnnviz-graph svg .step-10').length > 0")
        before = _snapshot(page)
        assert before["drawn"] and before["formulas"] and ["Sequence length", "10"] in before["sliders"]
        pinned = next(c["value"] for c in context.cookies() if c["name"] == "RNNVIZ_PROCESS")

        with page.expect_websocket(timeout=60_000):  # the frontend reconnects, through the balancer
            hall.kill(pinned)
        page.wait_for_function(SETTLED, timeout=60_000)
        moved = next(c["value"] for c in context.cookies() if c["name"] == "RNNVIZ_PROCESS")
        assert moved != pinned, "the balancer sent the browser back to the dead process"
        assert _snapshot(page) == before  # the view, its settings and its numbers, as they were
        assert page.locator('[data-testid="stException"]').count() == 0

        # the next change is the new process's first run of this page: it must keep every setting
        ended = len(runs_ended)
        slider.wait_for(timeout=120_000)
        slider.press("ArrowRight")
        url_has(page, T="11")
        page.wait_for_function("() => document.querySelectorAll('.rnnviz-graph svg .step-11').length > 0")
        after = _snapshot(page)
        assert len(runs_ended) > ended, "no run ended on the new process"
        # blank values (sel=: no node selected) mean "not set"; parse_qsl drops them, as query() reads the URL
        kept = {k: v for k, v in before["query"].items() if k != "T" and v != ""}
        assert {k: v for k, v in query(page).items() if k != "T"} == kept
        assert ["Sequence length", "11"] in after["sliders"]

        # the same link opened afresh (an undisturbed session) shows exactly that page
        fresh = context.browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        fresh.goto(page.url)
        url_has(fresh, act="tanh", T="11")
        fresh.wait_for_function("() => document.querySelectorAll('.rnnviz-graph svg .step-11').length > 0")
        assert _snapshot(fresh, sliders=len(after["sliders"])) == after
        fresh.context.close()
    finally:
        context.close()
