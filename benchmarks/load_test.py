"""Concurrent classroom sessions against one Streamlit server: isolation, errors and memory.

Starts ``streamlit run app.py`` on a free loopback port, opens N browser contexts at once
(Playwright driving Debian's chromium), each on its own page with its own link parameters,
some of them uploading their own weights file (made with ``rnnviz.dump_weights``), and
makes M changes in each (the Sequence length slider by keyboard, the input-signal
selectbox). After every change it checks, in every session:

- no exception box (``[data-testid="stException"]``);
- the URL and the slider hold this session's own T, the drawn graph's last step is T;
- an uploaded file's name and hidden size are this session's own.

The server's resident memory (RSS) is sampled throughout: at start (after one warm-up
visit), the peak while the sessions run, and ``--settle`` seconds after they closed.

    python benchmarks/load_test.py                       # 8 sessions x 25 changes
    python benchmarks/load_test.py --sessions 3 --changes 5 --settle 5   # the CI smoke size

Loopback only; bounded by --timeout (seconds, default 900).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pathlib
import re
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import rnnviz  # noqa: E402
from rnnviz import presets  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))
from common import CHROMIUM, CHROMIUM_ARGS, Server  # noqa: E402

PAGES = ("unfolded", "neuron", "bptt", "gates")
CELLS = ("lstm", "gru", "rnn_tanh", "rnn_relu")
SIGNALS = ("impulse (1, 0, 0, ...)", "step (1, 1, 1, ...)", "sine (period 8)")
STEPS_JS = """() => [...document.querySelectorAll('.rnnviz-graph svg [class*="step-"]')]
  .flatMap(e => [...e.classList]).filter(c => /^step-\\d+$/.test(c)).map(c => +c.slice(5))"""
SHOTS = pathlib.Path(os.environ["LOAD_TEST_SHOTS"]) if os.environ.get("LOAD_TEST_SHOTS") else None
IDLE_JS = """() => !document.querySelector('[data-testid="stStatusWidget"]')"""


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children, in MB (psutil if installed, else /proc)."""
    try:
        import psutil

        proc = psutil.Process(pid)
        return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)]) / 2**20
    except ImportError:
        pass
    total = 0
    pids = [pid]
    children = pathlib.Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(c) for c in children.read_text().split()]
    for p in pids:
        try:
            status = pathlib.Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        match = re.search(r"VmRSS:\s+(\d+) kB", status)
        total += int(match.group(1)) * 1024 if match else 0
    return total / 2**20


class Sampler(threading.Thread):
    """Polls the server's RSS every 0.25 s and keeps the peak."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self.running = pid, 0.0, True

    def run(self):
        while self.running:
            self.peak = max(self.peak, rss_mb(self.pid))
            time.sleep(0.25)


@dataclass
class Session:
    index: int
    page: str
    T: int
    cell: str
    H: int
    upload: pathlib.Path | None = None
    upload_H: int | None = None
    changes: int = 0
    retries: int = 0  # arrow keys pressed twice because the first was lost (a harness matter, not the app's)
    errors: list[str] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    @property
    def query(self) -> str:
        query = f"?T={self.T}&seed={100 + self.index}"
        if self.page != "neuron":
            query += f"&cell={self.cell}&H={self.H}"
        return query


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


async def idle(pg, timeout: float) -> None:
    """The script has run: the page's title is there and no run is in progress (checked twice)."""
    await pg.wait_for_selector('[data-testid="stMain"] h1', timeout=timeout)
    for _ in range(2):
        await pg.wait_for_function(IDLE_JS, timeout=timeout, polling=250)
        await pg.wait_for_timeout(300)


async def check(pg, s: Session, timeout: float) -> None:
    """Everything this session should see, and nothing of the others'."""
    exceptions = await pg.locator('[data-testid="stException"]').count()
    if exceptions:
        text = await pg.locator('[data-testid="stException"]').first.inner_text()
        s.errors.append(f"change {s.changes}: exception box: {text[:400]}")
    if f"T={s.T}" not in re.split(r"[?&]", pg.url) and not re.search(rf"[?&]T={s.T}(&|$)", pg.url):
        s.errors.append(f"change {s.changes}: URL {pg.url} does not hold T={s.T}")
    value = await pg.get_by_role("slider", name="Sequence length").get_attribute("aria-valuetext")
    if value != str(s.T):
        s.errors.append(f"change {s.changes}: slider shows {value}, expected {s.T}")
    if s.page in ("unfolded", "neuron"):
        try:
            await pg.wait_for_function(
                f"() => document.querySelectorAll('.rnnviz-graph svg .step-{s.T}').length > 0",
                timeout=timeout,
                polling=500,
            )
            steps = await pg.evaluate(STEPS_JS)
            if max(steps, default=0) != s.T:
                s.errors.append(f"change {s.changes}: the graph's last step is {max(steps, default=0)}, not {s.T}")
        except Exception as err:  # noqa: BLE001 - a timeout is recorded as this session's error
            steps = sorted(set(await pg.evaluate(STEPS_JS)))
            s.errors.append(
                f"change {s.changes}: the graph never showed step {s.T} (drawn: {steps}): {type(err).__name__}"
            )
    if s.upload is not None:
        body = await pg.locator('[data-testid="stMain"]').inner_text()
        own = f"Using the weights from {s.upload.name}: GRU, D = 2, H = {s.upload_H}"
        if own not in body:
            s.errors.append(f"change {s.changes}: the page does not say it uses {s.upload.name} with H = {s.upload_H}")
        others = set(re.findall(r"weights-\d+\.npz", body)) - {s.upload.name}
        if others:
            s.errors.append(f"change {s.changes}: another session's file shows: {sorted(others)}")


async def choose(pg, label: str, option: str, timeout: float) -> None:
    box = pg.get_by_role("combobox", name=label)
    for _ in range(3):  # a rerun still in flight can close the list right after it opens
        await box.click(timeout=timeout)
        try:
            await pg.get_by_role("option", name=option).click(timeout=5_000)
            return
        except Exception:  # noqa: BLE001 - Playwright's timeout: close the list and try again
            await pg.keyboard.press("Escape")
            await idle(pg, timeout)
    raise RuntimeError(f"could not choose {option!r} in {label!r}")


async def press(pg, slider, key: str, s: Session, timeout: float) -> None:
    """One arrow key on the slider; pressed again if it was lost (focus taken by a closing dropdown)."""
    want = min(100, s.T + 1) if key == "ArrowRight" else max(1, s.T - 1)
    for attempt in range(2):
        await slider.press(key)
        try:
            await pg.wait_for_function(
                f"() => new URLSearchParams(location.search).get('T') === '{want}'",
                timeout=timeout / 3 if attempt == 0 else timeout,
                polling=500,
            )
            break
        except Exception:  # noqa: BLE001 - Playwright's timeout: retry once if the slider did not move
            if attempt or await slider.get_attribute("aria-valuetext") != str(s.T):
                raise
            s.retries += 1
    s.T = want


async def run_session(browser, url: str, s: Session, changes: int, timeout: float) -> None:
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    pg = await context.new_page()
    try:
        await pg.goto(url)  # a fresh server serves url paths only after app.py has run once
        await idle(pg, timeout)
        await pg.goto(f"{url}/{s.page}{s.query}")
        await idle(pg, timeout)
        if s.upload is not None:
            await pg.get_by_text("Load weights from a file").click()
            await pg.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(s.upload))
            await pg.wait_for_function(
                f"() => document.body.innerText.includes('Using the weights from {s.upload.name}')",
                timeout=timeout,
                polling=500,
            )
            await idle(pg, timeout)
        await check(pg, s, timeout)
        slider = pg.get_by_role("slider", name="Sequence length")
        for k in range(changes):
            start = time.monotonic()
            if k % 5 == 4:
                await choose(pg, "Input signal x_t", SIGNALS[(k // 5) % len(SIGNALS)], timeout)
            else:
                key = "ArrowRight" if k % 5 in (0, 1) or s.T <= 2 else "ArrowLeft"
                await press(pg, slider, key, s, timeout)
            await idle(pg, timeout)
            s.changes += 1
            s.seconds.append(time.monotonic() - start)
            await check(pg, s, timeout)
    except Exception as err:  # noqa: BLE001 - reported per session, the others keep running
        s.errors.append(f"change {s.changes}: {type(err).__name__}: {str(err).splitlines()[0][:200]}")
        if SHOTS:
            SHOTS.mkdir(exist_ok=True)
            await pg.screenshot(path=str(SHOTS / f"load-session-{s.index}.png"), full_page=True)
    finally:
        await context.close()


async def drive(url: str, sessions: list[Session], changes: int, timeout: float) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            await asyncio.gather(*(run_session(browser, url, s, changes, timeout) for s in sessions))
        finally:
            await browser.close()


async def warm_up(url: str, timeout: float) -> None:
    """One visit, so 'start' memory includes the imported modules, as on a server in use."""
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        pg = await browser.new_page()
        await pg.goto(url)
        await idle(pg, timeout)
        await browser.close()


def load_test(sessions: int, changes: int, settle: float, timeout: float = 900) -> dict:
    """Run the test; returns the figures and every session's errors."""
    server = Server(ROOT / "app.py")
    proc, url = server.proc, server.url
    try:
        with tempfile.TemporaryDirectory() as folder:
            runs = make_sessions(sessions, pathlib.Path(folder))
            asyncio.run(asyncio.wait_for(warm_up(url, 60_000), 120))
            time.sleep(1)
            start_rss = rss_mb(proc.pid)
            sampler = Sampler(proc.pid)
            sampler.start()
            began = time.monotonic()
            asyncio.run(
                asyncio.wait_for(
                    drive(url, runs, changes, float(os.environ.get("LOAD_TEST_WAIT_MS", "90000"))), timeout
                )
            )
            elapsed = time.monotonic() - began
            closed_rss = rss_mb(proc.pid)
            trail = []  # (seconds after close, MB): sessions are dropped disconnectedSessionTTL (120 s) after close
            for t in range(0, int(settle) + 1, 30)[1:]:
                time.sleep(30)
                trail.append((t, rss_mb(proc.pid)))
            time.sleep(settle % 30)
            sampler.running = False
            sampler.join()
            after_rss = rss_mb(proc.pid)
            return {
                "sessions": runs,
                "elapsed": elapsed,
                "start": start_rss,
                "peak": max(sampler.peak, closed_rss),
                "closed": closed_rss,
                "after": after_rss,
                "settle": settle,
                "trail": trail,
            }
    finally:
        server.stop()


def report(result: dict) -> str:
    rows = ["| session | page | link | upload | changes | median s/change | errors |", "|---|---|---|---|---|---|---|"]
    for s in result["sessions"]:
        median = sorted(s.seconds)[len(s.seconds) // 2] if s.seconds else float("nan")
        upload = f"{s.upload.name} (H={s.upload_H})" if s.upload else ""
        rows.append(
            f"| {s.index} | {s.page} | T={s.T} at the end | {upload} | {s.changes} | {median:.2f} | {len(s.errors)} |"
        )
    total = sum(s.changes for s in result["sessions"])
    errors = sum(len(s.errors) for s in result["sessions"])
    rows += [
        "",
        f"{len(result['sessions'])} sessions x {total // max(len(result['sessions']), 1)} changes = {total} changes "
        f"in {result['elapsed']:.0f} s; errors: {errors}",
        f"server RSS: start {result['start']:.0f} MB, peak {result['peak']:.0f} MB, "
        f"just after close {result['closed']:.0f} MB, {result['settle']:.0f} s later {result['after']:.0f} MB",
        "after close: " + ", ".join(f"{t} s {mb:.0f} MB" for t, mb in result["trail"]),
        f"arrow keys pressed again after being lost: {sum(s.retries for s in result['sessions'])}",
    ]
    for s in result["sessions"]:
        rows += [f"  session {s.index}: {e}" for e in s.errors[:5]]
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--changes", type=int, default=25)
    parser.add_argument("--settle", type=float, default=150.0, help="seconds to watch memory after the sessions close")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds for all sessions together")
    args = parser.parse_args()
    result = load_test(args.sessions, args.changes, args.settle, args.timeout)
    print(report(result))
    return 1 if any(s.errors for s in result["sessions"]) else 0


if __name__ == "__main__":
    sys.exit(main())
