"""Helpers the benchmarks share: a Streamlit server on a free loopback port, Chromium, RSS."""

from __future__ import annotations

import os
import pathlib
import socket
import subprocess
import sys
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from serve_class import streamlit_command  # noqa: E402

APP = ROOT / "app.py"
BARE = ROOT / "benchmarks" / "bare_app.py"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# which pages app.py offers: (url path, title); "" is the home page
PAGES = [("neuron", "neuron"), ("unfolded", "unfolded"), ("gates", "gates"), ("bptt", "bptt"), ("train", "train")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def app_pages() -> list[str]:
    """The url paths of the pages app.py registers (train only once it exists)."""
    text = APP.read_text()
    return [p for p, _ in PAGES if f'url_path="{p}"' in text and (ROOT / "pages" / f"{p}.py").exists()]


class Server:
    """`python -m streamlit run script` headless on 127.0.0.1, until stop()."""

    def __init__(self, script: pathlib.Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
        cmd = streamlit_command(self.port, script=script)
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"streamlit run {script} did not become healthy within 60 s")

    def rss_mb(self) -> float:
        return rss_mb(self.proc.pid)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _children(pid: int) -> list[int]:
    try:
        text = pathlib.Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    kids = [int(k) for k in text.split()]
    return kids + [g for k in kids for g in _children(k)]


def rss_mb(pid: int) -> float:
    """VmRSS of a process and all its descendants, in MB (10^6 bytes)."""
    total = 0
    for p in [pid, *_children(pid)]:
        try:
            for line in pathlib.Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total / 1e6


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolation percentile (q in 0..100) of a non-empty list."""
    s = sorted(values)
    k = (len(s) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


SETTLED = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  return !!app && app.getAttribute('data-test-script-state') === 'notRunning'
    && !document.querySelector('[data-testid="stStatusWidget"]');
}"""


def wait_settled(page, timeout: float = 60_000) -> None:
    page.wait_for_function(SETTLED, timeout=timeout, polling="raf")
