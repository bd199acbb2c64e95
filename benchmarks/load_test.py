"""Concurrent classroom sessions against one Streamlit server: isolation, errors and memory.

Starts ``streamlit run app.py`` on a free loopback port, opens N browser contexts at once
(Playwright driving Debian's chromium), each on its own page with its own link parameters,
some of them uploading their own weights file (made with ``rnnviz.dump_weights``), and
makes M changes in each: the Sequence length slider by keyboard and, every fifth change,
the input-signal selectbox, followed at once by the next key press (a quick student: the
press goes out before the browser has heard the server's answer to the choice). Each change
waits for its own effect (the URL holds the session's T and signal, no run in progress);
then every session checks:

- no exception box (``[data-testid="stException"]``);
- the URL holds this session's own T, seed and signal (none of them once its weights file is in use:
  a link cannot carry a file's weights), the slider its T, the graph's last step is T;
- an uploaded file's name and hidden size are this session's own, and no other file shows.

A wait longer than LOAD_TEST_WAIT_MS (default 90 000 ms) ends that session with a "timeout"
problem and the last websocket messages it sent and received; --timeout bounds the whole
batch. --rounds repeats the batch with new sessions on the same server, to show where
memory settles. The server's RSS (VmRSS of it and its children) is sampled every 0.25 s;
Streamlit's /_stcore/metrics gives its open sessions and the bytes its caches and session
states hold, at the start, after every round and every 30 s of --settle.

    python benchmarks/load_test.py                       # 8 sessions x 25 changes, 150 s settle
    python benchmarks/load_test.py --sessions 3 --changes 5 --settle 1   # the CI smoke size

Loopback only. Figures and the diagnosis of the old stalls: benchmarks/LOAD_TEST.md.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import pathlib
import re
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import rnnviz  # noqa: E402
from rnnviz.engine import presets  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))
from common import CHROMIUM, CHROMIUM_ARGS, SETTLED, Server, rss_mb  # noqa: E402

PAGES = ("unfolded", "neuron", "bptt", "gates")
CELLS = ("lstm", "gru", "rnn_tanh", "rnn_relu")
SIGNALS = {"impulse": "impulse (1, 0, 0, ...)", "step": "step (1, 1, 1, ...)", "sine": "sine (period 8)"}
STEPS_JS = """() => [...document.querySelectorAll('.rnnviz-graph svg [class*="step-"]')]
  .flatMap(e => [...e.classList]).filter(c => /^step-\\d+$/.test(c)).map(c => +c.slice(5))"""
OWN_URL_JS = "want => Object.entries(want).every(([k, v]) => new URLSearchParams(location.search).get(k) === v)"
SHOTS = pathlib.Path(os.environ["LOAD_TEST_SHOTS"]) if os.environ.get("LOAD_TEST_SHOTS") else None
WAIT_MS = float(os.environ.get("LOAD_TEST_WAIT_MS", "90000"))
KIND_LABELS = {
    "exception": "exception boxes",
    "isolation": "isolation errors",
    "timeout": "timeouts",
    "harness": "other harness errors",
}
KINDS = tuple(KIND_LABELS)


class Sampler(threading.Thread):
    """Polls the server's RSS every 0.25 s and its metrics every 10 s; keeps the peaks."""

    def __init__(self, server: Server):
        super().__init__(daemon=True)
        self.server, self.peak, self.running = server, 0.0, True
        self.most: dict[str, float] = {}  # the highest open sessions and session-state bytes seen

    def run(self):
        polled = 0.0
        while self.running:
            self.peak = max(self.peak, rss_mb(self.server.proc.pid))
            if time.monotonic() - polled > 10:
                polled = time.monotonic()
                for name, value in metrics(self.server.url).items():
                    if name in ("active_sessions", "st_session_state"):
                        self.most[name] = max(self.most.get(name, 0), value)
            time.sleep(0.25)


def metrics(url: str) -> dict[str, float]:
    """Open sessions, session events and cache bytes by kind, from Streamlit's /_stcore/metrics."""
    with urllib.request.urlopen(url + "/_stcore/metrics", timeout=30) as r:
        text = r.read().decode()
    out: dict[str, float] = collections.defaultdict(float)
    for name, labels, value in re.findall(r"^(\w+)(?:\{(.*)\})? (\S+)$", text, re.M):
        tags = dict(re.findall(r'(\w+)="([^"]*)"', labels))
        if name == "active_sessions":
            out["active_sessions"] = float(value)
        elif name == "session_events_total":
            out[tags["type"] + "s"] = float(value)
        elif name == "cache_memory_bytes":
            out[tags["cache_type"]] += float(value)
    return dict(out)


@dataclass
class Problem:
    kind: str  # one of KINDS
    change: int
    text: str

    def __str__(self) -> str:
        return f"{self.kind} at change {self.change}: {self.text}"


@dataclass
class Session:
    index: int
    page: str
    T: int
    cell: str
    H: int
    signal: str = "impulse"
    upload: pathlib.Path | None = None
    upload_H: int | None = None
    loaded: bool = False  # its weights file is in use
    changes: int = 0
    errors: list[Problem] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    trail: collections.deque = field(default_factory=lambda: collections.deque(maxlen=14))

    @property
    def seed(self) -> int:
        return 100 + self.index

    @property
    def query(self) -> str:
        query = f"?T={self.T}&seed={self.seed}"
        if self.page != "neuron":
            query += f"&cell={self.cell}&H={self.H}"
        return query

    @property
    def own(self) -> dict[str, str | None]:
        """What the URL must hold after every change: this session's T, seed and signal; none of them while
        its weights file is in use (a link cannot carry a file's weights, so the page writes no settings)."""
        if self.loaded:
            return {"T": None, "seed": None, "signal": None}
        return {"T": str(self.T), "seed": str(self.seed), "signal": self.signal}

    def problem(self, kind: str, text: str) -> None:
        self.errors.append(Problem(kind, self.changes, text))

    def note(self, text: str) -> None:
        self.trail.append(f"{time.monotonic() % 1000:7.2f} {text}")


def make_sessions(n: int, folder: pathlib.Path) -> list[Session]:
    sessions = []
    for i in range(n):
        page = PAGES[i % len(PAGES)]
        s = Session(i, page, T=3 + 2 * i, cell=CELLS[i % len(CELLS)], H=1 + i % 4)
        if page == "unfolded" and i % 8 == 0 or page == "unfolded" and i % 8 == 4 and n > 4:
            s.upload_H = 5 + i % 3  # not a size any link sets
            params = presets.network_params("gru", 2, s.upload_H, 1, seed=1000 + i)
            s.upload = folder / f"weights-{i}.npz"
            s.upload.write_bytes(rnnviz.dump_weights(params, "npz"))
        sessions.append(s)
    return sessions


def watch(pg, s: Session) -> None:
    """Keep the session's last websocket messages (reruns asked for, URLs written, runs ended)."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    def short(query: str) -> str:
        q = dict(urllib.parse.parse_qsl(query))
        return f"T={q.get('T')} signal={q.get('signal')}"

    def sent(payload) -> None:
        msg = BackMsg.FromString(payload if isinstance(payload, bytes) else payload.encode())
        if msg.WhichOneof("type") == "rerun_script":
            rerun = msg.rerun_script
            widgets = {w.id.rsplit(":", 1)[-1]: w for w in rerun.widget_states.widgets if ":" in w.id}
            t = widgets["T"].double_array_value.data[:] if "T" in widgets else "?"
            s.note(f"-> rerun with URL {short(rerun.query_string)}, slider {t}")

    def received(payload) -> None:
        if len(payload) > 2000:  # element deltas; the messages that matter here are small
            return
        msg = ForwardMsg.FromString(payload)
        kind = msg.WhichOneof("type")
        if kind == "page_info_changed":
            s.note(f"<- URL written: {short(msg.page_info_changed.query_string)}")
        elif kind == "script_finished":
            s.note(f"<- run ended: {ForwardMsg.ScriptFinishedStatus.Name(msg.script_finished)}")

    def safely(handler):
        def call(payload) -> None:
            try:
                handler(payload)
            except Exception as err:  # noqa: BLE001 - an error in a Playwright event handler would end the run
                s.note(f"!! could not read a websocket message: {err!r}")

        return call

    def on_websocket(ws) -> None:
        ws.on("framesent", safely(sent))
        ws.on("framereceived", safely(received))

    pg.on("websocket", on_websocket)


async def settled(pg, timeout: float) -> None:
    """The page's title is there and no script run is in progress."""
    await pg.wait_for_selector('[data-testid="stMain"] h1', timeout=timeout)
    await pg.wait_for_function(SETTLED, timeout=timeout, polling=250)


async def until_own(pg, s: Session, timeout: float) -> None:
    """Wait for the change's effect: the URL holds this session's settings (with a file in use, the slider
    its T), and the run is over."""
    await pg.wait_for_function(OWN_URL_JS, arg=s.own, timeout=timeout, polling=250)
    if s.loaded:
        from playwright.async_api import expect

        slider = pg.get_by_role("slider", name="Sequence length")
        await expect(slider).to_have_attribute("aria-valuetext", str(s.T), timeout=timeout)
    await settled(pg, timeout)


async def check(pg, s: Session, timeout: float) -> None:
    """Everything this session should see, and nothing of the others'."""
    exceptions = pg.locator('[data-testid="stException"]')
    if await exceptions.count():
        s.problem("exception", f"exception box: {(await exceptions.first.inner_text())[:400]}")
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(pg.url).query))
    wrong = {k: query.get(k) for k, v in s.own.items() if query.get(k) != v}
    if wrong:
        s.problem("isolation", f"URL holds {wrong}, not its own {s.own}")
    value = await pg.get_by_role("slider", name="Sequence length").get_attribute("aria-valuetext")
    if value != str(s.T):
        await asyncio.sleep(2)
        later = await pg.get_by_role("slider", name="Sequence length").get_attribute("aria-valuetext")
        s.problem("isolation", f"slider shows {value}, expected {s.T} (2 s later: {later})")
    if s.page in ("unfolded", "neuron"):
        # wait for the last step to be T (the thing checked): after T shrinks, the old drawing
        # still has step-T nodes, so "a step-T node exists" can hold before the new drawing lands
        try:
            await pg.wait_for_function(f"() => Math.max(0, ...({STEPS_JS})()) === {s.T}", timeout=timeout, polling=500)
        except Exception:  # noqa: BLE001 - Playwright's TimeoutError; what the graph shows says why
            steps = sorted(set(await pg.evaluate(STEPS_JS)))
            kind = "timeout" if s.T not in steps else "isolation"
            s.problem(kind, f"the graph's last step never became {s.T} (drawn: {steps})")
    if s.upload is not None:
        body = await pg.locator('[data-testid="stMain"]').inner_text()
        own = f"Using the weights from {s.upload.name}: GRU, D = 2, H = {s.upload_H}"
        if own not in body:
            s.problem("isolation", f"the page does not say it uses {s.upload.name} with H = {s.upload_H}")
        others = set(re.findall(r"weights-\d+\.npz", body)) - {s.upload.name}
        if others:
            s.problem("isolation", f"another session's file shows: {sorted(others)}")


async def choose(pg, s: Session, signal: str, timeout: float) -> None:
    box = pg.get_by_role("combobox", name="Input signal x_t")
    for _ in range(3):  # a rerun still in flight can close the list right after it opens
        await box.click(timeout=timeout)
        try:
            await pg.get_by_role("option", name=SIGNALS[signal]).click(timeout=5_000)
            s.signal = signal
            s.note(f"chose {signal}")
            return
        except Exception:  # noqa: BLE001 - Playwright's TimeoutError: close the list and try again
            await pg.keyboard.press("Escape")
            await settled(pg, timeout)
    raise RuntimeError(f"could not choose {SIGNALS[signal]!r}")


async def press(pg, s: Session, key: str) -> None:
    """One arrow key on the Sequence length slider; the caller waits for its effect."""
    await pg.get_by_role("slider", name="Sequence length").press(key)
    s.T = min(100, s.T + 1) if key == "ArrowRight" else max(1, s.T - 1)
    s.note(f"pressed {key}: T={s.T}")


async def run_session(browser, url: str, s: Session, changes: int, wait: float) -> None:
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(wait)  # every click, press and read, not only the waits below
    pg = await context.new_page()
    watch(pg, s)
    try:
        await pg.goto(url)  # a fresh server serves url paths only after app.py has run once
        await settled(pg, wait)
        await pg.goto(f"{url}/{s.page}{s.query}")
        await until_own(pg, s, wait)
        if s.upload is not None:
            await pg.get_by_text("Load weights from a file").click()
            await pg.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(s.upload))
            await pg.wait_for_function(
                f"() => document.body.innerText.includes('Using the weights from {s.upload.name}')",
                timeout=wait,
                polling=500,
            )
            s.loaded = True
            await settled(pg, wait)
        await check(pg, s, wait)
        start = time.monotonic()
        for k in range(changes):
            if k % 5 == 4:
                await choose(pg, s, list(SIGNALS)[(k // 5) % len(SIGNALS)], wait)
            else:
                # right at the top of the range an ArrowRight would change nothing
                right = (k % 5 in (0, 1) or s.T <= 2) and s.T < 100
                await press(pg, s, "ArrowRight" if right else "ArrowLeft")
            s.changes += 1
            if k % 5 == 4 and k + 1 < changes:
                continue  # the next key press follows at once
            await until_own(pg, s, wait)
            s.seconds.append(time.monotonic() - start)
            await check(pg, s, wait)
            start = time.monotonic()
    except Exception as err:  # noqa: BLE001 - reported per session, the others keep running
        kind = "timeout" if type(err).__name__ == "TimeoutError" else "harness"
        s.problem(kind, f"{type(err).__name__}: {str(err).splitlines()[0][:200]}")
        if SHOTS:
            SHOTS.mkdir(exist_ok=True)
            await pg.screenshot(path=str(SHOTS / f"load-session-{s.index}.png"), full_page=True)
    finally:
        await context.close()


async def drive(url: str, sessions: list[Session], changes: int, wait: float, timeout: float) -> None:
    """All sessions at once; a session still running after ``timeout`` seconds is a timeout."""
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            tasks = {asyncio.create_task(run_session(browser, url, s, changes, wait)): s for s in sessions}
            done, late = await asyncio.wait(tasks, timeout=timeout)
            for task in done:
                if task.exception():  # run_session reports its own errors; this is one it could not
                    tasks[task].problem("harness", repr(task.exception())[:200])
            for task in late:
                tasks[task].problem("timeout", f"still running when the {timeout:.0f} s for the batch ran out")
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        finally:
            await browser.close()


async def warm_up(url: str, wait: float, pages: tuple[str, ...] = ()) -> None:
    """One visit of the home page and then of ``pages``, by one short-lived session."""
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        pg = await browser.new_page()
        pg.set_default_timeout(wait)
        for path in ("", *pages):
            await pg.goto(f"{url}/{path}")
            await settled(pg, wait)
        await browser.close()


def figures(server: Server) -> dict[str, float]:
    return {"rss": server.rss_mb(), **metrics(server.url)}


def load_test(sessions: int, changes: int, settle: float, timeout: float = 900, rounds: int = 1) -> dict:
    """Run the test; returns the figures and every session's problems."""
    # byte sizes of session states and cache_resource entries in /_stcore/metrics, not entry counts
    saved = os.environ.get("STREAMLIT_SERVER_ENABLE_EXPENSIVE_MEMORY_STATS")
    os.environ["STREAMLIT_SERVER_ENABLE_EXPENSIVE_MEMORY_STATS"] = "true"
    try:
        server = Server(ROOT / "app.py")
    finally:
        if saved is None:
            os.environ.pop("STREAMLIT_SERVER_ENABLE_EXPENSIVE_MEMORY_STATS")
        else:
            os.environ["STREAMLIT_SERVER_ENABLE_EXPENSIVE_MEMORY_STATS"] = saved
    url = server.url
    try:
        with tempfile.TemporaryDirectory() as folder:
            asyncio.run(warm_up(url, WAIT_MS))
            home = figures(server)  # the server after its first page: Streamlit and numpy imported
            asyncio.run(warm_up(url, WAIT_MS, PAGES))
            time.sleep(1)
            start = figures(server)  # every page seen once: plotly, pandas and graphviz imported too
            sampler = Sampler(server)
            sampler.start()
            done, elapsed, after_round = [], 0.0, []
            for _ in range(rounds):
                runs = make_sessions(sessions, pathlib.Path(folder))
                began = time.monotonic()
                asyncio.run(drive(url, runs, changes, WAIT_MS, timeout))
                elapsed += time.monotonic() - began
                done += runs
                time.sleep(6)  # the server notices the closed websockets; metrics' byte counts live 5 s
                after_round.append(figures(server))
            trail, waited = [], 6.0  # (s after close, figures): Streamlit keeps a closed session 120 s
            for t in range(30, int(settle), 30):
                time.sleep(t - waited)
                waited = t
                trail.append((t, figures(server)))
            time.sleep(max(0.0, settle - waited))
            sampler.running = False
            sampler.join()
            after = figures(server)
            # expired sessions are dropped only when the session store is next written to: one more visit
            asyncio.run(warm_up(url, WAIT_MS))
            time.sleep(6)
            nudged = figures(server)
            return {
                "sessions": done,
                "rounds": rounds,
                "elapsed": elapsed,
                "start": start["rss"],
                "peak": max(sampler.peak, *(a["rss"] for a in after_round)),
                "closed": after_round[-1]["rss"],
                "after": after["rss"],
                "after_round": after_round,
                "settle": settle,
                "trail": trail,
                "busiest": sampler.most,
                "metrics": {"home": home, "start": start, "closed": after_round[-1], "after": after, "next": nudged},
            }
    finally:
        server.stop()


def _figures(m: dict) -> str:
    kb = {k: m.get(k, 0) / 1e3 for k in ("st_session_state", "UploadedFileManager", "st_memory_media_file_storage")}
    return (
        f"RSS {m['rss']:.0f} MB; open sessions {m.get('active_sessions', 0):.0f}; held by Streamlit: "
        f"session states {kb['st_session_state']:.0f} kB, uploads {kb['UploadedFileManager']:.0f} kB, "
        f"media {kb['st_memory_media_file_storage']:.0f} kB, st.cache_data {m.get('st_cache_data', 0) / 1e6:.1f} MB, "
        f"st.cache_resource {m.get('st_cache_resource', 0) / 1e6:.1f} MB"
    )


def report(result: dict) -> str:
    sessions = result["sessions"]
    per_round = len(sessions) // result["rounds"]
    rows = ["| round | session | page | upload | T at the end | changes | median s/change | problems |"]
    rows.append("|---|---|---|---|---|---|---|---|")
    for k, s in enumerate(sessions):
        median = sorted(s.seconds)[len(s.seconds) // 2] if s.seconds else float("nan")
        upload = f"{s.upload.name} (H={s.upload_H})" if s.upload else ""
        rows.append(
            f"| {k // per_round + 1} | {s.index} | {s.page} | {upload} | {s.T} | {s.changes} | {median:.2f} "
            f"| {len(s.errors)} |"
        )
    counts = {kind: sum(e.kind == kind for s in sessions for e in s.errors) for kind in KINDS}
    total = sum(s.changes for s in sessions)
    m = result["metrics"]
    rows += [
        "",
        f"{result['rounds']} round(s) x {per_round} sessions, {total} changes in {result['elapsed']:.0f} s; "
        + ", ".join(f"{KIND_LABELS[kind]}: {n}" for kind, n in counts.items()),
        f"server RSS: start {result['start']:.0f} MB, peak {result['peak']:.0f} MB, just after close "
        f"{result['closed']:.0f} MB, {result['settle']:.0f} s later {result['after']:.0f} MB",
        f"busiest (polled every 10 s): {result['busiest'].get('active_sessions', 0):.0f} open sessions holding "
        f"{result['busiest'].get('st_session_state', 0) / 1e3:.0f} kB of session state",
        f"after the home page: {_figures(m['home'])}",
        f"start (every page seen once): {_figures(m['start'])}",
        *(f"after round {r + 1}: {_figures(a)}" for r, a in enumerate(result["after_round"])),
        *(f"{t} s after close: {_figures(f)}" for t, f in result["trail"]),
        f"{result['settle']:.0f} s after close: {_figures(m['after'])}",
        f"after one more visit: {_figures(m['next'])}",
        f"sessions connected {m['next'].get('connects', 0):.0f}, disconnected {m['next'].get('disconnects', 0):.0f}",
    ]
    for s in sessions:
        for e in s.errors[:5]:
            rows.append(f"  session {s.index} ({s.page}): {e}")
        if s.errors:
            rows += [f"    {line}" for line in s.trail]
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--changes", type=int, default=25)
    parser.add_argument("--rounds", type=int, default=1, help="run the batch this many times, one after another")
    parser.add_argument("--settle", type=float, default=150.0, help="seconds to watch memory after the sessions close")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds for one batch of sessions")
    args = parser.parse_args()
    result = load_test(args.sessions, args.changes, args.settle, args.timeout, args.rounds)
    print(report(result))
    return 1 if any(s.errors for s in result["sessions"]) else 0


if __name__ == "__main__":
    sys.exit(main())
