"""Serve a whole class: N ``streamlit run app.py`` processes behind one HAProxy.

One Streamlit process is one Python process (one core at most), and a session lives in the
process that opened it. So a large class gets several processes on loopback ports and Debian's
HAProxy in front of them: a cookie pins each browser to its process, the websocket upgrade
passes through, every process is checked on ``/_stcore/health`` once a second, and a browser
whose process dies is sent to another one, where the URL (which holds every setting) rebuilds
the same view.

    python scripts/serve_class.py start --processes 4 --port 8500   # students open http://<host>:8500
    python scripts/serve_class.py check --port 8500                  # every process and the balancer
    python scripts/serve_class.py stop --port 8500                   # everything it started, nothing else

``start`` on a running class starts again only the processes that died. On several machines:
``start --apps-only --address 0.0.0.0 --port 8500`` on each app machine (processes on ports
8501...), then ``start --processes 0 --backend HOST:PORT ...`` on the balancer's machine.
The HAProxy configuration is written from ``scripts/haproxy.cfg.in`` into the run folder
(default /tmp/rnnviz-class-PORT), beside each process's log.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import pathlib
import shutil
import signal
import socket
import string
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass

ROOT = pathlib.Path(__file__).resolve().parent.parent
TEMPLATE = pathlib.Path(__file__).resolve().parent / "haproxy.cfg.in"
START_TIMEOUT = 180.0  # s for every process to answer its health check (a busy 2-core machine needs 20-60 s)


@dataclass
class Backend:
    name: str  # the server's name in HAProxy and the value of the RNNVIZ_PROCESS cookie
    host: str
    port: int
    local: bool = True  # started here; False: on another machine, by its own `start --apps-only`
    pid: int | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Streamlit runs a full gc.collect() after every script run, which walks every object of every open
# session in the process: with 100 other sessions open a change cost 120 ms of CPU instead of 60, with
# 200 146 ms (benchmarks/LECTURE_HALL.md). A class's processes hold many sessions, so they leave cycles
# to Python's own generational collector, which runs as objects are allocated.
CLASS_OPTIONS = ("--runner.postScriptGC=false",)


def streamlit_command(
    port: int, address: str = "127.0.0.1", script: pathlib.Path = ROOT / "app.py", options: tuple[str, ...] = ()
) -> list[str]:
    """The command line of one app process (the tests' and benchmarks' servers use it too)."""
    cmd = [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless=true"]
    cmd += [f"--server.port={port}", f"--server.address={address}", "--server.fileWatcherType=none"]
    return cmd + list(options)


def healthy(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url + "/_stcore/health", timeout=timeout) as r:
            return r.status == 200
    except OSError:
        return False


def _stat(pid: int) -> list[str] | None:
    """/proc/PID/stat's fields after the command name (state is [0], process group [2]); None if gone."""
    try:
        text = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def alive(pid: int | None, name: str = "") -> bool:
    """The process runs (a zombie does not) and its command line holds ``name`` (a reused pid's may not)."""
    if not pid:
        return False
    fields = _stat(pid)
    if fields is None or fields[0] == "Z":
        return False
    try:
        return name.encode() in pathlib.Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def group(pgid: int) -> list[int]:
    """Live processes in process group ``pgid``: an app process and the dot processes it started."""
    found = []
    for entry in pathlib.Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) and fields[0] != "Z" and int(fields[2]) == pgid:
            found.append(int(entry.name))
    return found


class Hall:
    """The app processes and the balancer of one class, and the run folder that remembers them.

    ``port`` is the balancer's (the app processes take the next ones); 0 picks free ports.
    ``remote`` lists ``HOST:PORT`` of app processes started on other machines.
    """

    def __init__(
        self,
        processes: int = 2,
        port: int = 0,
        address: str = "127.0.0.1",
        remote: tuple[str, ...] = (),
        run_dir: pathlib.Path | None = None,
        apps_only: bool = False,
        options: tuple[str, ...] = CLASS_OPTIONS,
    ):
        self.port = port or free_port()
        self.options = options  # Streamlit options of the app processes started here
        self.address = address
        self.apps_only = apps_only
        self.run_dir = pathlib.Path(run_dir or f"/tmp/rnnviz-class-{self.port}")
        self.temporary = run_dir is None and not port  # a class of free ports (tests, benchmarks): its folder goes
        app_host = address if apps_only else "127.0.0.1"  # behind a local balancer, apps listen on loopback only
        ports = [self.port + k for k in range(1, processes + 1)] if port else [free_port() for _ in range(processes)]
        self.backends = [Backend(f"p{k + 1}", app_host, p) for k, p in enumerate(ports)]
        for k, hostport in enumerate(remote):
            host, _, p = hostport.rpartition(":")
            self.backends.append(Backend(f"r{k + 1}", host, int(p), local=False))
        self.haproxy_pid: int | None = None
        self._children: dict[int, subprocess.Popen] = {}  # reaped on stop when started by this Python process

    # ----- state kept in the run folder, so check and stop work from another command
    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.address in ("0.0.0.0", "") else self.address
        return f"http://{host}:{self.port}"

    def save(self) -> None:
        state = {
            "port": self.port,
            "address": self.address,
            "apps_only": self.apps_only,
            "haproxy_pid": self.haproxy_pid,
            "backends": [asdict(b) for b in self.backends],
        }
        (self.run_dir / "hall.json").write_text(json.dumps(state, indent=1))

    @classmethod
    def load(cls, port: int, run_dir: pathlib.Path | None = None) -> Hall | None:
        run_dir = pathlib.Path(run_dir or f"/tmp/rnnviz-class-{port}")
        try:
            state = json.loads((run_dir / "hall.json").read_text())
        except (OSError, ValueError):
            return None
        hall = cls(0, state["port"], state["address"], run_dir=run_dir, apps_only=state["apps_only"])
        hall.backends = [Backend(**b) for b in state["backends"]]
        hall.haproxy_pid = state["haproxy_pid"]
        return hall

    # ----- starting
    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Start every app process that is not running and, unless apps only, the balancer; wait for health."""
        if not self.apps_only and not shutil.which("haproxy"):
            raise RuntimeError("HAProxy is not installed: apt-get install haproxy (Debian's package)")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        for b in self.backends:
            if b.local and not alive(b.pid, "streamlit"):
                self._launch(b)
        if not self.apps_only and not alive(self.haproxy_pid, "haproxy"):
            self._launch_haproxy()
        self.save()
        try:
            self.wait_healthy(timeout)
        except RuntimeError:
            self.stop()
            raise

    def _launch(self, b: Backend) -> None:
        # one BLAS thread per process: several processes share the cores, and the core's matrices are small
        env = dict(os.environ, STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
        env.setdefault("OPENBLAS_NUM_THREADS", "1")
        with open(self.run_dir / f"{b.name}.log", "ab") as log:
            proc = subprocess.Popen(
                streamlit_command(b.port, b.host, options=self.options),
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group (its dot processes too), out of the terminal's
            )
        b.pid = proc.pid
        self._children[proc.pid] = proc

    def config(self) -> str:
        servers = "\n".join(f"    server {b.name} {b.host}:{b.port} cookie {b.name}" for b in self.backends)
        return string.Template(TEMPLATE.read_text()).substitute(
            run_dir=self.run_dir, address=self.address, port=self.port, servers=servers
        )

    def _launch_haproxy(self) -> None:
        cfg = self.run_dir / "haproxy.cfg"
        cfg.write_text(self.config())
        checked = subprocess.run(["haproxy", "-c", "-q", "-f", str(cfg)], capture_output=True, text=True)
        if checked.returncode:
            raise RuntimeError(f"HAProxy refuses {cfg}: {checked.stdout}{checked.stderr}")
        with open(self.run_dir / "haproxy.log", "ab") as log:
            proc = subprocess.Popen(
                ["haproxy", "-db", "-f", str(cfg)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.haproxy_pid = proc.pid
        self._children[proc.pid] = proc

    def wait_healthy(self, timeout: float = START_TIMEOUT) -> None:
        """Wait until every app process answers, the balancer counts them all UP and answers itself."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.healthy():
                return
            for b in self.backends:
                if b.pid and not alive(b.pid, "streamlit"):
                    log = (self.run_dir / f"{b.name}.log").read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"app process {b.name} exited while starting; its log ends:\n{log}")
            time.sleep(0.5)
        raise RuntimeError(f"the class at {self.url} was not healthy within {timeout:.0f} s: {self.check()}")

    def healthy(self) -> bool:
        rows = self.check()
        return all(r["ok"] for r in rows)

    # ----- checking
    def haproxy_states(self) -> dict[str, dict[str, str]]:
        """HAProxy's view of each server (``status`` UP/DOWN/..., ``scur`` open connections), by name."""
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(5)
                s.connect(str(self.run_dir / "haproxy.sock"))
                s.sendall(b"show stat\n")
                data = b"".join(iter(lambda: s.recv(65536), b""))
        except OSError:
            return {}
        rows = csv.DictReader(io.StringIO(data.decode().lstrip("# ")))
        return {r["svname"]: r for r in rows if r["pxname"] == "streamlit"}

    def check(self) -> list[dict[str, object]]:
        """One row per app process and one for the balancer: running, healthy, and HAProxy's status."""
        states = {} if self.apps_only else self.haproxy_states()
        rows = []
        for b in self.backends:
            state = states.get(b.name, {})
            running = alive(b.pid, "streamlit") if b.local else None
            health = healthy(b.url)
            status = state.get("status", "-")
            ok = health and (self.apps_only or status == "UP") and running is not False
            rows.append(
                {"name": b.name, "address": f"{b.host}:{b.port}", "pid": b.pid, "running": running, "health": health}
                | {"balancer": status, "connections": state.get("scur", "-"), "ok": ok}
            )
        if not self.apps_only:
            running = alive(self.haproxy_pid, "haproxy")
            health = running and healthy(self.url)
            rows.append(
                {"name": "haproxy", "address": f"{self.address}:{self.port}", "pid": self.haproxy_pid}
                | {"running": running, "health": health, "balancer": "-", "connections": "-", "ok": health}
            )
        return rows

    # ----- stopping
    def kill(self, name: str, sig: int = signal.SIGKILL) -> int:
        """Signal one app process (SIGKILL: a crash in the middle of a lesson); returns its pid."""
        b = next(b for b in self.backends if b.name == name)
        if not alive(b.pid, "streamlit"):
            raise RuntimeError(f"{name} is not running")
        os.kill(b.pid, sig)
        if b.pid in self._children:
            self._children[b.pid].wait(timeout=30)
        return b.pid

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the balancer, then every local app process and everything in its process group."""
        if alive(self.haproxy_pid, "haproxy"):
            os.kill(self.haproxy_pid, signal.SIGTERM)
            self._wait_gone([self.haproxy_pid], timeout)
        for b in self.backends:
            if not b.pid:
                continue
            members = group(b.pid)  # the app process (its group's leader) and its dot processes
            if alive(b.pid, "streamlit"):
                os.kill(b.pid, signal.SIGTERM)
                self._wait_gone([b.pid], timeout)
            for pid in group(b.pid) or members:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL if pid == b.pid else signal.SIGTERM)
            self._wait_gone(group(b.pid), timeout)
        for proc in self._children.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=timeout)
        stray = [pid for b in self.backends if b.pid for pid in group(b.pid)]
        if self.haproxy_pid and alive(self.haproxy_pid, "haproxy"):
            stray.append(self.haproxy_pid)
        if stray:
            raise RuntimeError(f"processes still running after stop: {stray}")
        (self.run_dir / "hall.json").unlink(missing_ok=True)
        if self.temporary:
            shutil.rmtree(self.run_dir, ignore_errors=True)

    def _wait_gone(self, pids: list[int], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for pid, proc in list(self._children.items()):
                if pid in pids:
                    proc.poll()  # reap our own child, so it is not left a zombie
            if not any(_stat(p) and _stat(p)[0] != "Z" for p in pids):
                return
            time.sleep(0.1)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def __enter__(self) -> Hall:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def table(rows: list[dict[str, object]]) -> str:
    def word(value: object) -> str:
        return (
            {True: "yes", False: "NO", None: "-"}.get(value, str(value))
            if isinstance(value, bool | None)
            else str(value)
        )

    names = ["name", "address", "pid", "running", "health", "balancer", "connections"]
    lines = [names] + [[word(r[n]) for n in names] for r in rows]
    widths = [max(len(line[k]) for line in lines) for k in range(len(names))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)) for line in lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["start", "check", "stop"])
    parser.add_argument(
        "--port", type=int, default=8500, help="the balancer's; app processes take the next ones (0: free ports)"
    )
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 2, help="app processes on this machine")
    parser.add_argument("--address", default="0.0.0.0", help="where the balancer (or, with --apps-only, apps) listen")
    parser.add_argument("--backend", action="append", default=[], help="HOST:PORT of an app process elsewhere")
    parser.add_argument("--apps-only", action="store_true", help="app processes only, for a separate balancer")
    parser.add_argument("--run-dir", type=pathlib.Path, help="default /tmp/rnnviz-class-PORT")
    args = parser.parse_args(argv)
    if args.port == 0 and not args.run_dir:
        parser.error("--port 0 (free ports) needs --run-dir, where check and stop find the class")
    hall = Hall.load(args.port, args.run_dir)
    if args.command == "start":
        if hall is None:
            hall = Hall(args.processes, args.port, args.address, tuple(args.backend), args.run_dir, args.apps_only)
        hall.start()
        print(f"serving {len(hall.backends)} app processes" + ("" if hall.apps_only else f" at {hall.url}"))
        print(table(hall.check()))
        return 0
    if hall is None:
        print(
            f"no class is running on port {args.port} (no hall.json in {args.run_dir or 'its run folder'})",
            file=sys.stderr,
        )
        return 1
    if args.command == "check":
        rows = hall.check()
        print(table(rows))
        return 0 if all(r["ok"] for r in rows) else 1
    hall.stop()
    print(f"stopped the class on port {hall.port}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
