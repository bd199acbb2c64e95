"""Run every benchmark and write the tables into benchmarks/README.md (between the markers).

One command: python benchmarks/run_all.py [--quick]. It records the machine (nproc, CPU,
memory, Python, numpy and its BLAS, Streamlit, Plotly, Graphviz, Chromium, torch) and the
date, runs each benchmark as its own process with a time limit, and puts a summary of every
figure beside its target (from issue 6) with PASS/MISS above the detailed tables. The torch
comparisons run under /tmp/torchenv/bin/python (or $TORCH_PYTHON) when that exists, else
under this Python, where they say torch is absent. --quick runs fewer repetitions (a smoke
test; the README then says so).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import platform
import re
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
README = HERE / "README.md"
START, END = "<!-- run_all:start -->", "<!-- run_all:end -->"
TORCH_PYTHON = os.environ.get("TORCH_PYTHON", "/tmp/torchenv/bin/python")

TARGETS = {
    "roundtrip": 1.5,  # p50 ratio to the bare app (goal 1.25)
    "load": 1.3,
    "rerun_defaults": 100.0,
    "rerun_maximum": 500.0,
    "core": 0.8,
    "train": 2.0,
    "layout": 1000.0,
    "memory": 600.0,
}


def sh(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine() -> list[str]:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    mem = next((line.split()[1] for line in open("/proc/meminfo") if line.startswith("MemTotal")), "0")
    import graphviz
    import numpy as np
    import plotly
    import streamlit

    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas = f"{blas.get('name')} {blas.get('version')} ({blas.get('openblas configuration', '').strip()})"
    except Exception:  # noqa: BLE001 - older numpy
        blas = "unknown"
    torch = sh([TORCH_PYTHON, "-c", "import torch; print(torch.__version__)"]) if os.path.exists(TORCH_PYTHON) else ""
    dot = subprocess.run(["dot", "-V"], capture_output=True, text=True).stderr.strip() if sh(["which", "dot"]) else ""
    commit = sh(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    return [
        f"- Date: {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, commit {commit}",
        f"- CPU: {os.cpu_count()} (nproc {sh(['nproc'])}) x {cpu}; memory {int(mem) / 1e6:.1f} GB; "
        f"load average at start {os.getloadavg()[0]:.1f}",
        f"- {platform.platform()}; Python {platform.python_version()}",
        f"- numpy {np.__version__} (BLAS: {blas}); one BLAS thread in the core and training comparisons",
        f"- Streamlit {streamlit.__version__}, Plotly {plotly.__version__}, graphviz (Python) {graphviz.__version__}, "
        f"{dot or 'no dot'}",
        f"- {sh(['/usr/bin/chromium', '--version']) or 'no chromium'} through Playwright",
        f"- torch {torch or 'absent'} (CPU, one thread) in {TORCH_PYTHON if torch else '-'}",
    ]


def run(name: str, args: list[str], timeout: float, python: str = sys.executable) -> tuple[str, dict | list | None]:
    """Run one benchmark; return its stdout (the tables) and its --json results if any."""
    out = pathlib.Path(tempfile.mkdtemp()) / f"{name}.json"
    cmd = [python, str(HERE / f"{name}.py"), *args]
    if "--json" in args:
        cmd[cmd.index("--json") + 1] = str(out)
    start = time.perf_counter()
    print(f"== {name}: {' '.join(cmd[1:])}", file=sys.stderr, flush=True)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
        text = proc.stdout.strip()
        text = re.sub(r"^([^|\n][^\n]*)\n(?=\|)", r"\1\n\n", text, flags=re.M)  # a blank line before a table
        if proc.returncode:
            text += f"\n\n(exited with {proc.returncode}: {proc.stderr.strip()[-600:]})"
    except subprocess.TimeoutExpired as err:
        text = f"(stopped after {timeout:.0f} s) " + (err.stdout or b"").decode(errors="replace")
    print(f"   {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    data = json.loads(out.read_text()) if out.exists() else None
    return text, data


def table_rows(text: str) -> list[list[str]]:
    """The body rows of the markdown tables in a benchmark's output."""
    rows = []
    for line in text.splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            rows.append(cells)
    return rows


def verdict(ok: bool | None) -> str:
    return "-" if ok is None else ("PASS" if ok else "**MISS**")


def summary(res: dict) -> list[str]:
    lines = ["| what | figure | target | result |", "|---|---|---|---|"]

    def add(what, figure, target, ok):
        lines.append(f"| {what} | {figure} | {target} | {verdict(ok)} |")

    rt = res.get("roundtrip") or {}
    for page, r in (rt.get("roundtrip") or {}).items():
        ratio = r["ours"]["p50"] / r["bare"]["p50"]
        fig = (
            f"p50 {r['ours']['p50']:.0f} ms (p95 {r['ours']['p95']:.0f}) vs bare {r['bare']['p50']:.0f} "
            f"(p95 {r['bare']['p95']:.0f}): **{ratio:.2f}x**"
        )
        add(f"Round trip, {page}: Sequence length", fig, "≤ 1.5x bare (goal 1.25x)", ratio <= TARGETS["roundtrip"])
    for page, r in (rt.get("load") or {}).items():
        ratio = r["ours"] / r["bare"]
        fig = f"{r['ours']:.0f} ms vs bare {r['bare']:.0f} ms: **{ratio:.2f}x**"
        add(f"Cold load, {page}", fig, "≤ 1.3x bare", ratio <= TARGETS["load"])
    for key, r in (res.get("rerun") or {}).items():
        page, setting = key.split("@")
        limit = TARGETS[f"rerun_{setting}"]
        fig = f"cold caches **{r['cold']:.0f} ms**, warm {r['warm']:.0f} ms" + (" (errors!)" if r["problems"] else "")
        add(f"Rerun (AppTest), {page} at {setting}", fig, f"< {limit:.0f} ms", r["cold"] < limit and not r["problems"])
    for cells in table_rows(res.get("core_text", "")):
        if cells[0] == "cell" or len(cells) < 7 or cells[4] == "-":
            continue
        ratio = float(cells[4])
        fig = f"{cells[2]} ms vs torch f64 {cells[3]} ms: **{ratio:.2f}x** (vs torch f32: {cells[6]}x)"
        add(f"Core fwd+bwd, {cells[0]} {cells[1]}", fig, "≤ 0.8x torch f64", ratio <= TARGETS["core"])
    for cells in table_rows(res.get("train_text", "")):
        if cells[0] == "task" or len(cells) < 6 or cells[5] == "-":
            continue
        ratio = float(cells[5].split()[0])
        fig = f"{cells[3]} vs torch f32 {cells[4]} ms/epoch (CPU): **{cells[5]}x**"
        if len(cells) >= 8 and cells[7] != "-":
            fig += f" (vs torch f64: {cells[7]}x)"
        add(f"Training epoch, {cells[0]} {cells[1]}", fig, "≤ 2x torch f32", ratio <= TARGETS["train"])
    layout = res.get("layout")
    if layout:
        ui = [r for r in layout if r["max_steps"] is None]
        worst = max(ui, key=lambda r: r["dot_ms"])
        nodes = max(r["nodes"] for r in ui)
        fig = f"slowest **{worst['dot_ms']:.0f} ms** ({worst['nodes']} nodes); largest UI graph {nodes} nodes"
        add("Graph layout (dot), any UI graph", fig, "< 1000 ms", worst["dot_ms"] < TARGETS["layout"])
        bound = max(layout, key=lambda r: r["nodes"])
        add(
            "Graph layout at the collapse bound",
            f"{bound['nodes']} nodes: {bound['dot_ms']:.0f} ms",
            "< 1000 ms",
            bound["dot_ms"] < TARGETS["layout"],
        )
    for r in res.get("memory") or []:
        fig = f"settled **{r['settled']:.0f} MB**, peak {r['peak']:.0f} MB (idle server {r['idle']:.0f} MB)"
        ok = r["peak"] < TARGETS["memory"] if r["sessions"] >= 10 else None
        target = "< 600 MB" if r["sessions"] >= 10 else "-"
        add(f"Server RSS, {r['sessions']} session{'s' if r['sessions'] > 1 else ''}", fig, target, ok)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (smoke test)")
    parser.add_argument("--only", nargs="*", help="run only these (roundtrip rerun core train layout memory)")
    args = parser.parse_args()
    q = args.quick
    torch_py = TORCH_PYTHON if os.path.exists(TORCH_PYTHON) else sys.executable
    plan = {
        "rerun": ("rerun", ["--repeats", "2" if q else "7", "--json", "-"], 300, sys.executable),
        "roundtrip": (
            "roundtrip",
            ["--changes", "3" if q else "11", "--loads", "1" if q else "4", "--json", "-"],
            900,
            sys.executable,
        ),
        "core": ("core_vs_torch", ["--repeats", "2" if q else "7"], 300, torch_py),
        "train": ("train_vs_torch", ["--epochs", "2" if q else "3"], 300, torch_py),
        "layout": ("graph_layout", ["--repeats", "1" if q else "3", "--json", "-"], 300, sys.executable),
        "memory": ("memory", ["--json", "-"], 420, sys.executable),
    }
    began = time.perf_counter()
    info = machine()
    res, texts = {}, {}
    for key, (script, script_args, timeout, python) in plan.items():
        if args.only and key not in args.only:
            continue
        text, data = run(script, script_args, timeout, python)
        texts[key] = text
        res[key] = data
        res[f"{key}_text"] = text
    minutes = (time.perf_counter() - began) / 60
    sections = [
        ("Browser round trip and cold load (roundtrip.py)", "roundtrip"),
        ("Server-side rerun with AppTest (rerun.py)", "rerun"),
        ("Core forward + backward against PyTorch (core_vs_torch.py)", "core"),
        ("Training epoch against PyTorch (train_vs_torch.py)", "train"),
        ("Graph layout with dot (graph_layout.py)", "layout"),
        ("Server memory (memory.py)", "memory"),
    ]
    body = [
        START,
        "",
        "Written by `python benchmarks/run_all.py`" + (" --quick (a smoke test)" if q else "") + f"; "
        f"the run took {minutes:.0f} minutes.",
        "",
        "### Machine",
        "",
        *info,
        "",
        "### Figures against targets",
        "",
    ]
    body += summary(res)
    for title, key in sections:
        if key in texts:
            body += ["", f"### {title}", "", texts[key]]
    body += ["", END]
    write_readme("\n".join(body))
    print("\n".join(summary(res)))


def write_readme(block: str) -> None:
    text = README.read_text() if README.exists() else ""
    if START in text and END in text:
        text = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S)
    else:
        text = (text.rstrip() + "\n\n" if text else "# Benchmarks\n\n") + "## Results\n\n" + block + "\n"
    README.write_text(text)


if __name__ == "__main__":
    main()
