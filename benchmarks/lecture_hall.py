"""A lecture hall without a browser per student: simulated students that speak Streamlit's protocol.

Each student is what a browser tab is to the server: it loads its page through the balancer
(which pins it to a process by cookie), opens the websocket ``/_stcore/stream``, asks for a run
of its own link (a ``BackMsg`` rerun_script with the query string and page name, as the
frontend does), and keeps what the server sends back (``ForwardMsg`` deltas: elements and
widgets, the URL the app writes, cached-message references, the run's end). Every PERIOD s it
changes a control: a rerun with the page's widget states, the Sequence length slider moved by
one (every fifth change the input signal switched too), the URL as the browser holds it and the
page's script hash; it waits for that run's ``script_finished``. Students are spread over the
neuron, unfolded, gates and bptt pages, each with its own seed (and W_x, W_y on the neuron page).

After every run a student checks that what it sees is its own: the URL and the widgets hold its
T, signal and seed (and W_x, W_y); the unfolded graph's last step is its T; the gates heatmaps
and the BPTT norms have T columns; on the neuron page (its link opens the "Input and output over
time" tab) the drawn output curve equals the recurrence y_t = tanh(W_x x_t + W_y y_{t-1})
computed here by hand for its own W_x and W_y. An exception box or an st.error is an error too.

When a student's websocket closes (its process died), it does what the frontend does: asks the
balancer for /_stcore/health until it answers (HAProxy sends it to a live process) and opens a
new websocket; the page stays as it was drawn, and only a run that was under way is asked for
again. The next change is the new process's first run of that student: it builds the view from
the URL and the widgets' values the student sends. The student checks the result as always, and
that every setting it did not change is as before the failover. A change the new process undid
(the URL it holds is from before it) is made again and counted as "redone"; ui/state.py lets
the widgets' values win in a session's first run, so there should be none.

    python benchmarks/lecture_hall.py capacity            # 1, 2, 4 processes x 50, 100, 200 students
    python benchmarks/lecture_hall.py failover            # 2 processes, 100 students, one killed at 30 s
    python benchmarks/lecture_hall.py gc                  # CPU per change against the sessions a process holds
    python benchmarks/lecture_hall.py run --port 8500 --students 50   # against scripts/serve_class.py start

``capacity``, ``failover`` and ``gc`` start their own classes (scripts/serve_class.py) and write
their tables into benchmarks/LECTURE_HALL.md. Bounded: at most 400 students and 900 s a run, loopback
addresses only.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import ipaddress
import json
import os
import pathlib
import platform
import random
import re
import socket
import sys
import time
import urllib.parse
from dataclasses import dataclass, field

import numpy as np
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "benchmarks"))
from common import percentile, rss_mb  # noqa: E402
from serve_class import Hall, group  # noqa: E402

MAX_STUDENTS = 400
MAX_SECONDS = 900.0
PAGES = ("neuron", "unfolded", "gates", "bptt")
SIGNAL_LABELS = {"impulse": "impulse (1, 0, 0, ...)", "step": "step (1, 1, 1, ...)"}
T_RANGE = (2, 30)  # the students walk the Sequence length between these
REPORT = ROOT / "benchmarks" / "LECTURE_HALL.md"
FINISHED_EARLY = 2  # ForwardMsg.ScriptFinishedStatus.FINISHED_EARLY_FOR_RERUN: another run follows
KINDS = {
    "exception": "exception boxes or st.error",
    "isolation": "values not the student's own",
    "failover": "views changed by a failover",
    "timeout": "runs that did not end in time",
    "connection": "reconnections that failed",
}


class ConnectionLost(Exception):
    """The student's websocket closed (its process died, or the balancer closed it)."""


def loopback_only(url: str) -> None:
    host = urllib.parse.urlsplit(url).hostname or ""
    if not ipaddress.ip_address(socket.gethostbyname(host)).is_loopback:
        raise SystemExit(f"lecture_hall.py only loads loopback addresses, not {host}")


async def http_get(url: str, cookie: str, timeout: float) -> tuple[int, str]:
    """GET through the balancer as the browser does; returns the status and the new cookie (or the old)."""
    parts = urllib.parse.urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    reader, writer = await asyncio.wait_for(asyncio.open_connection(parts.hostname, parts.port), timeout)
    try:
        headers = f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n"
        headers += f"Cookie: {cookie}\r\n" if cookie else ""
        writer.write((headers + "\r\n").encode())
        head = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)).decode("latin-1")
        await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
    status = int(head.split()[1])
    found = re.search(r"(?im)^set-cookie: *(RNNVIZ_PROCESS=[^;\r\n]*)", head)
    return status, found.group(1) if found else cookie


# what a browser keeps of a page


def _user_key(widget_id: str) -> str:
    return re.sub(r"^\$\$ID-[0-9a-f]+-", "", widget_id)


def _array(value) -> np.ndarray:
    """A Plotly trace's numbers: a list, or a typed array ({"dtype", "bdata", "shape"})."""
    if isinstance(value, dict) and "bdata" in value:
        out = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"]).astype(float)
        return out.reshape([int(n) for n in str(value["shape"]).split(",")]) if "shape" in value else out
    return np.asarray(value, dtype=float)


WIDGETS = ("slider", "selectbox", "radio", "number_input", "checkbox")  # the kinds the students' pages use


def element_value(kind: str, w) -> object | None:
    """The value a widget element tells the browser to show: the one the app set, else its default."""
    if kind == "slider":
        values = tuple(w.value if w.set_value else w.default)
        return values[0] if len(values) == 1 else values
    if kind in ("selectbox", "radio"):
        if w.set_value:
            return w.raw_value
        return w.options[w.default] if w.HasField("default") and w.options else None
    if kind == "number_input":
        if not (w.set_value or w.HasField("default")):
            return None
        value = w.value if w.set_value else w.default
        return int(value) if w.data_type == w.INT else value
    if kind == "checkbox":
        return w.value if w.set_value else w.default
    return None  # buttons, uploaders, charts: the browser sends them only when used


def fill(kind: str, w, value: object, state) -> None:
    """Put ``value`` into the WidgetState ``state`` as the frontend encodes it for this kind of widget."""
    if kind == "slider":
        state.double_array_value.data.extend(value if isinstance(value, tuple) else [value])
    elif kind in ("selectbox", "radio"):
        state.string_value = value  # the option's label, as shown
    elif kind == "number_input" and w.data_type == w.INT:
        state.int_value = value
    elif kind == "number_input":
        state.double_value = value
    else:
        state.bool_value = value


@dataclass
class View:
    """What the student sees after a run: the URL, its widgets' values, and the drawn numbers."""

    url: dict[str, str]
    widgets: dict[str, object]
    steps: list[int]  # the last step of each graph drawing
    traces: dict[str, np.ndarray]  # Plotly traces by name: y (or z) values
    problems: list[str]  # exception boxes and st.error texts


class Page:
    """A page as the frontend holds it: the last run's elements, its widgets' values, the URL, the cache."""

    MAX_AGE = 2  # runs a cached message is kept unused (the server's max_cached_message_age)

    def __init__(self, name: str, query: str):
        self.name, self.url, self.script_hash = name, query, ""
        self.elements: dict[tuple[int, ...], tuple[str, object]] = {}  # what the page shows
        self.drawn: dict[tuple[int, ...], tuple[str, object]] = {}  # what the run under way has drawn so far
        self.values: dict[str, object] = {}  # widget id -> value, as the frontend's widget manager keeps them
        self.cache: dict[str, tuple[object, int]] = {}  # hash -> (ForwardMsg, run when last used)
        self.runs = 0

    def receive(self, msg) -> int | None:
        """Take one ForwardMsg; returns the script_finished status at a run's end, else None."""
        kind = msg.WhichOneof("type")
        if kind == "ref_hash":  # the browser has this element already: the server sent only its hash
            cached, _ = self.cache[msg.ref_hash]
            self.cache[msg.ref_hash] = (cached, self.runs)
            self._element(list(msg.metadata.delta_path), cached)
        elif kind == "delta":
            if msg.metadata.cacheable:
                self.cache[msg.hash] = (msg, self.runs)
            self._element(list(msg.metadata.delta_path), msg)
        elif kind == "new_session":  # a run begins: its elements replace the last run's as they come
            self.drawn = {}
        elif kind == "navigation":
            self.script_hash = msg.navigation.page_script_hash
        elif kind == "page_info_changed":
            self.url = msg.page_info_changed.query_string
        elif kind == "script_finished":
            if msg.script_finished != FINISHED_EARLY:
                self.elements = self.drawn  # the frontend drops what the finished run did not draw again
                self.runs += 1
                self.cache = {h: (m, r) for h, (m, r) in self.cache.items() if self.runs - r <= self.MAX_AGE}
                shown = {w.id for _, w in self.widgets()}
                self.values = {i: v for i, v in self.values.items() if i in shown}  # gone widgets are forgotten
            return msg.script_finished
        return None

    def _element(self, path: list[int], msg) -> None:
        if msg.delta.WhichOneof("type") != "new_element":
            return
        element = msg.delta.new_element
        kind = element.WhichOneof("type")
        w = getattr(element, kind)
        self.elements[tuple(path)] = self.drawn[tuple(path)] = (kind, w)
        # the frontend keeps a widget's value across runs unless the app sets it (or it is new)
        if kind in WIDGETS and (w.set_value or w.id not in self.values):
            value = element_value(kind, w)
            if value is not None:
                self.values[w.id] = value

    def widgets(self):
        return [(kind, w) for kind, w in self.elements.values() if kind in WIDGETS]

    def rerun(self, changes: dict[str, object] | None = None, first: bool = False, context_url: str = ""):
        """The BackMsg the browser sends: every widget's value, ``changes`` (by user key) made first."""
        for _, w in self.widgets():
            if changes and _user_key(w.id) in changes:
                self.values[w.id] = changes[_user_key(w.id)]  # the widget shows the student's move at once
        msg = BackMsg()
        rerun = msg.rerun_script
        rerun.query_string = self.url
        rerun.widget_states.SetInParent()
        if first:
            rerun.page_name = self.name
        else:
            rerun.page_script_hash = self.script_hash
        for kind, w in self.widgets():
            if w.id in self.values:
                state = rerun.widget_states.widgets.add()
                state.id = w.id
                fill(kind, w, self.values[w.id], state)
        rerun.cached_message_hashes.extend(self.cache)
        info = rerun.context_info
        info.timezone, info.timezone_offset, info.locale = "UTC", 0, "en-US"
        info.url, info.is_embedded, info.color_scheme = context_url, False, "light"
        return msg

    def view(self) -> View:
        widgets = {_user_key(w.id): self.values[w.id] for _, w in self.widgets() if w.id in self.values}
        steps, traces, problems = [], {}, []
        for path in sorted(self.elements):
            kind, w = self.elements[path]
            if kind == "exception":
                problems.append(f"exception: {w.type}: {w.message}"[:300])
            elif kind == "alert" and w.format == w.ERROR:
                problems.append(f"st.error: {w.body}"[:300])
            elif kind == "bidi_component" and w.component_name == "rnnviz_graph" and w.json:
                svg = json.loads(w.json).get("svg", "")  # a drawing, in the graph view (ui/graph_view.py)
                found = [int(n) for n in re.findall(r"step-(\d+)", svg)]
                if found:  # the folded drawing has no steps
                    steps.append(max(found))
            elif kind == "plotly_chart":
                for trace in json.loads(w.spec)["data"]:
                    values = trace.get("z", trace.get("y"))
                    if values is not None and trace.get("name"):
                        traces[trace["name"]] = _array(values)
        url = dict(urllib.parse.parse_qsl(self.url))
        return View(url, widgets, steps, traces, problems)


# a student


@dataclass
class Problem:
    kind: str  # one of KINDS
    text: str
    at: float  # s since the start


@dataclass
class Student:
    index: int
    page: str
    T: int
    seed: int
    wx: float = 0.0
    wy: float = 0.0
    signal: str = "impulse"
    direction: int = 1  # which way the student moves the Sequence length
    changes: int = 0
    redone: int = 0  # changes the new process undid after a failover, made again
    reconnects: int = 0
    latencies: list[tuple[float, float, bool]] = field(default_factory=list)  # (sent at, s, crossed a failover)
    first_view: float | None = None  # s from the first request to the first drawn page
    first_at: float = 0.0  # s since the start, when that first page was drawn
    recovered: list[float] = field(default_factory=list)  # s from a closed websocket to a live one again
    errors: list[Problem] = field(default_factory=list)
    process: str = ""  # the cookie's process name
    trail: collections.deque = field(default_factory=lambda: collections.deque(maxlen=24))  # shown with errors

    @property
    def link(self) -> str:
        query = {"T": self.T, "seed": self.seed, "signal": self.signal}
        if self.page == "neuron":  # the tab with the output curve, which the check recomputes
            query |= {"wx": self.wx, "wy": self.wy, "nview": "io"}
        return urllib.parse.urlencode(query)

    def expected_y(self) -> np.ndarray:
        """The neuron's drawn output y_0 ... y_T for this student's settings, by the recurrence (b = y_0 = 0)."""
        x = np.zeros(self.T) if self.signal == "impulse" else np.ones(self.T)
        x[0] = 1.0
        y, out = 0.0, [0.0]
        for x_t in x:
            y = np.tanh(self.wx * x_t + self.wy * y)
            out.append(y)
        return np.array(out)

    def check(self, view: View) -> list[str]:
        """What is not this student's own in the view."""
        wrong = list(view.problems)
        own = {"T": str(self.T), "seed": str(self.seed), "signal": self.signal}
        if self.page == "neuron":
            own |= {"wx": f"{self.wx:g}", "wy": f"{self.wy:g}"}
        for name, value in own.items():
            held = view.url.get(name)
            if held is None or (held != value and not (name in ("wx", "wy") and float(held) == float(value))):
                wrong.append(f"URL {name}={held}, not {value}")
        shown = {"T": view.widgets.get(f"{self.page}:T"), "signal": view.widgets.get(f"{self.page}:signal")}
        if shown["T"] != self.T or shown["signal"] != SIGNAL_LABELS[self.signal]:
            wrong.append(f"widgets show {shown}, not T={self.T}, {SIGNAL_LABELS[self.signal]}")
        if self.page == "neuron":
            if (view.widgets.get("neuron:wx"), view.widgets.get("neuron:wy")) != (self.wx, self.wy):
                wrong.append(f"W_x, W_y sliders show {view.widgets.get('neuron:wx')}, {view.widgets.get('neuron:wy')}")
            y = view.traces.get("output y_t")
            # the server's forward pass multiplies through BLAS: the same numbers up to rounding
            if y is None or y.shape != (self.T + 1,) or not np.allclose(y, self.expected_y(), rtol=1e-12, atol=1e-15):
                wrong.append(f"the output curve is not tanh(W_x x_t + W_y y_t-1) for {self.wx}, {self.wy}: {y}")
        elif view.widgets.get(f"{self.page}:seed") != self.seed:
            wrong.append(f"the seed box shows {view.widgets.get(f'{self.page}:seed')}, not {self.seed}")
        if self.page == "unfolded" and (not view.steps or view.steps[-1] != self.T):
            wrong.append(f"the graph's last step is {view.steps[-1:]}, not {self.T}")
        columns = {"gates": "input gate i", "bptt": "layer 1"}.get(self.page)
        if columns and (columns not in view.traces or view.traces[columns].shape[-1] != self.T):
            wrong.append(f"the {columns} plot does not have {self.T} steps")
        return wrong


def make_students(n: int, pages: tuple[str, ...] = PAGES, seed: int = 0) -> list[Student]:
    rng = random.Random(seed)
    students = []
    for i in range(n):
        # W_x, W_y distinct for every neuron student (41 x 21 pairs), so another's curve cannot pass
        wx, wy = round(-2.0 + 0.1 * (i % 41), 1), round(-1.0 + 0.1 * ((i // 41) % 21), 1)
        students.append(Student(i, pages[i % len(pages)], T=rng.randint(*T_RANGE), seed=100 + i, wx=wx, wy=wy))
    return students


class Session:
    """One student's browser tab: the page, the websocket, and the task that reads it."""

    def __init__(self, base: str, student: Student, wait: float, t0: float):
        self.base, self.s, self.wait, self.t0 = base, student, wait, t0
        self.page = Page(student.page, student.link)
        self.cookie, self.session_id = "", ""
        self.ws = None
        self.reader: asyncio.Task | None = None
        self.finished: asyncio.Future | None = None
        self.closed = asyncio.Event()
        self.view: View | None = None
        self.moved = False  # reconnected since the last run: the next one is in a new session
        self.context_url = f"{base}/{student.page}"

    async def open(self) -> None:
        """Load the page (the balancer sets its cookie), open the websocket, draw the link."""
        started = time.monotonic()
        status, self.cookie = await http_get(f"{self.base}/{self.s.page}?{self.s.link}", self.cookie, self.wait)
        if status != 200:
            raise ConnectionLost(f"GET /{self.s.page} answered {status}")
        await self._connect()
        await self._run(self.page.rerun(first=True, context_url=self.context_url))
        self.s.first_view = time.monotonic() - started
        self.s.first_at = self.now()
        self._checked("first view")

    async def _connect(self) -> None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import WebSocketException

        url = self.base.replace("http://", "ws://") + "/_stcore/stream"
        # the frontend's subprotocols: "streamlit", its XSRF token (checked only for requests with an
        # Origin, which a browser sends and this client does not), and the session to resume, if any
        protocols = ["streamlit", "no-xsrf-token", self.session_id] if self.session_id else ["streamlit"]
        try:
            self.ws = await connect(
                url,
                subprotocols=protocols,
                additional_headers={"Cookie": self.cookie} if self.cookie else None,
                max_size=None,
                ping_interval=None,  # a browser does not ping; the server pings every 30 s and is answered
                compression=None,
                open_timeout=self.wait,
            )
        except (OSError, TimeoutError, WebSocketException) as err:  # refused, or HAProxy's 503: no live process
            raise ConnectionLost(f"websocket: {err!r}") from err
        self.s.process = self.cookie.partition("=")[2]
        self.note(f"websocket open on {self.s.process}")
        self.closed.clear()
        self.reader = asyncio.create_task(self._read())

    def now(self) -> float:
        return time.monotonic() - self.t0

    def note(self, text: str) -> None:
        self.s.trail.append(f"{self.now():7.2f} {text}")

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                msg = ForwardMsg.FromString(raw)
                kind = msg.WhichOneof("type")
                if kind == "new_session":
                    self.session_id = msg.new_session.initialize.session_id
                elif kind in ("page_info_changed", "script_finished"):
                    self.note(f"<- {kind} {str(getattr(msg, kind)).strip()[:90]}")
                status = self.page.receive(msg)
                if status is not None and status != FINISHED_EARLY and self.finished and not self.finished.done():
                    self.finished.set_result(status)
        except Exception as err:  # noqa: BLE001 - any read failure means the connection is gone
            if self.finished and not self.finished.done():
                self.finished.set_exception(ConnectionLost(repr(err)))
        else:
            if self.finished and not self.finished.done():
                self.finished.set_exception(ConnectionLost("the server closed the websocket"))
        finally:
            self.closed.set()

    async def _run(self, backmsg) -> None:
        """Send a rerun and wait for its end; ConnectionLost if the websocket closes first."""
        self.finished = asyncio.get_running_loop().create_future()
        sent = {_user_key(w.id): w.WhichOneof("value") for w in backmsg.rerun_script.widget_states.widgets}
        T = next((w for w in backmsg.rerun_script.widget_states.widgets if _user_key(w.id).endswith(":T")), None)
        self.note(
            f"-> rerun URL {backmsg.rerun_script.query_string[:60]} session {self.session_id[:8]} "
            f"T widget {list(T.double_array_value.data) if T else None} ({len(sent)} widgets)"
        )
        try:
            await self.ws.send(backmsg.SerializeToString())
        except Exception as err:  # noqa: BLE001 - the websocket library's ConnectionClosed and OSError alike
            self.finished.cancel()
            raise ConnectionLost(repr(err)) from err
        try:
            await asyncio.wait_for(asyncio.shield(self.finished), self.wait)
        except TimeoutError:
            self.finished.cancel()  # nobody waits for it any more
            self.s.errors.append(Problem("timeout", f"no end of run within {self.wait:.0f} s", self.now()))
            raise

    def _checked(self, what: str) -> View:
        view = self.page.view()
        for text in self.s.check(view):
            kind = "exception" if text.startswith(("exception", "st.error")) else "isolation"
            self.s.errors.append(Problem(kind, f"{what}: {text}", self.now()))
        self.view = view
        return view

    async def change(self) -> None:
        """Move the Sequence length by one (every fifth change also switch the signal); wait for the run."""
        before, shown = (self.s.T, self.s.signal), self.view
        if not T_RANGE[0] <= self.s.T + self.s.direction <= T_RANGE[1]:
            self.s.direction = -self.s.direction
        self.s.T += self.s.direction
        changes: dict[str, object] = {f"{self.s.page}:T": float(self.s.T)}
        if self.s.changes % 5 == 4:
            self.s.signal = "step" if self.s.signal == "impulse" else "impulse"
            changes[f"{self.s.page}:signal"] = SIGNAL_LABELS[self.s.signal]
        sent, crossed = self.now(), self.moved
        msg = self.page.rerun(changes, context_url=self.context_url)
        while True:
            try:
                await self._run(msg)
            except ConnectionLost:
                crossed = True
                await self.reconnect()
                # a run was under way when the websocket closed: the frontend reruns with its widgets' values
                msg = self.page.rerun(context_url=self.context_url)
                continue
            if crossed and self.page.view().widgets.get(f"{self.s.page}:T") == before[0]:
                self.s.redone += 1  # the new process applied the URL the browser held, from before the change
                msg = self.page.rerun(changes, context_url=self.context_url)  # the student moves it again
                crossed = False
                continue
            break
        self.s.changes += 1
        self.s.latencies.append((sent, self.now() - sent, crossed or self.moved))
        view = self._checked(f"change {self.s.changes}")
        if self.moved and shown is not None:  # the first run in the new process: every other setting is kept
            kept = {"T", "signal"}
            lost = {k: (v, view.url.get(k)) for k, v in shown.url.items() if k not in kept and view.url.get(k) != v}
            lost |= {
                k: (v, view.widgets.get(k))
                for k, v in shown.widgets.items()
                if k.rsplit(":", 1)[-1] not in kept and view.widgets.get(k) != v
            }
            if lost:
                self.s.errors.append(Problem("failover", f"settings changed by the failover: {lost}", self.now()))
        self.moved = False

    async def reconnect(self) -> None:
        """What the frontend does when its websocket closes: ask /_stcore/health until it answers, reconnect.

        Nothing is redrawn: the page keeps showing what it showed, and the next run is in a new session.
        """
        closed_at = time.monotonic()
        self.s.reconnects += 1
        deadline = closed_at + self.wait
        delay = 0.1
        while True:  # the frontend pings /_stcore/health with a growing pause until it answers
            try:
                status, self.cookie = await http_get(f"{self.base}/_stcore/health", self.cookie, self.wait)
                if status == 200:
                    await self._connect()
                    break
            except (OSError, TimeoutError, ConnectionLost) as err:
                status = repr(err)
            if time.monotonic() > deadline:
                self.s.errors.append(
                    Problem("connection", f"no live process in {self.wait:.0f} s: {status}", self.now())
                )
                raise ConnectionLost(f"reconnection failed: {status}")
            await asyncio.sleep(delay)
            delay = min(2 * delay, 1.0)
        self.moved = True
        self.s.recovered.append(time.monotonic() - closed_at)


# a class


@dataclass
class Result:
    students: list[Student]
    window: tuple[float, float]  # s since the start: the steady part the figures describe
    period: float  # s between a student's changes
    runs: int  # runs that ended inside the window: changes, and first views of students still arriving
    cpu: float  # CPU s of every app process (and its dot processes) inside the window
    rss_idle: float  # MB, every app process before the students came
    rss_open: float  # MB, with every student's session open
    client_cpu: float  # CPU s of this load generator inside the window
    loop_lag: float  # s, the worst delay of this generator's event loop (high: the figures are its own)
    load: tuple[float, float]  # load average (1 min) at the start and the end
    killed: str = ""
    killed_at: float = 0.0


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of the processes, their children's reaped ones included (dot runs as a child)."""
    total = 0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    return total / tick


def app_pids(hall: Hall) -> list[int]:
    return [pid for b in hall.backends if b.pid for pid in group(b.pid)]


async def warm_up(hall: Hall, pages: tuple[str, ...], wait: float) -> None:
    """Visit each page once on each process, straight to the process: imports and caches are paid here."""
    for b in hall.backends:
        for page in pages:
            session = Session(b.url, Student(0, page, 5, 1), wait, time.monotonic())
            await session.open()
            await session.ws.close()


async def simulate(
    hall: Hall,
    n: int,
    period: float = 5.0,
    duration: float = 60.0,
    ramp: float = 20.0,
    wait: float = 60.0,
    pages: tuple[str, ...] = PAGES,
    kill_at: float | None = None,
) -> Result:
    """``n`` students arrive over ``ramp`` s, then each changes a control every ``period`` s for ``duration`` s.

    With ``kill_at``, the process holding the most students is killed (SIGKILL) that many seconds
    into the steady part. The figures cover the steady part only.
    """
    if n > MAX_STUDENTS or ramp + duration > MAX_SECONDS:
        raise ValueError(f"at most {MAX_STUDENTS} students and {MAX_SECONDS:.0f} s")
    loopback_only(hall.url)
    await warm_up(hall, pages, wait)
    students = make_students(n, pages)
    rss_idle = sum(rss_mb(b.pid) for b in hall.backends if b.pid)
    t0 = time.monotonic()

    def clock() -> float:
        return time.monotonic() - t0

    steady, end = ramp, ramp + duration
    sessions = [Session(hall.url, s, wait, t0) for s in students]
    marks: dict[str, float] = {}
    lag = [0.0]

    async def watch_loop() -> None:
        while clock() < end:
            before = time.monotonic()
            await asyncio.sleep(0.1)
            lag[0] = max(lag[0], time.monotonic() - before - 0.1)

    async def take_marks() -> None:
        await asyncio.sleep(max(0.0, steady - clock()))
        marks["cpu0"], marks["client0"] = cpu_seconds(app_pids(hall)), time.process_time()
        await asyncio.sleep(max(0.0, end - clock()))
        marks["cpu1"], marks["client1"] = cpu_seconds(app_pids(hall)), time.process_time()
        marks["rss"] = sum(rss_mb(b.pid) for b in hall.backends if b.pid)

    async def kill() -> None:
        await asyncio.sleep(max(0.0, steady + kill_at - clock()))
        counts = {b.name: 0 for b in hall.backends}
        for s in students:
            counts[s.process] = counts.get(s.process, 0) + 1
        marks["killed"] = max(counts, key=counts.get)
        marks["killed_at"] = clock()
        hall.kill(marks["killed"])

    async def attend(session: Session, k: int) -> None:
        s = session.s
        await asyncio.sleep(ramp * k / n)  # arrivals spread over the ramp
        try:
            await session.open()
        except (ConnectionLost, OSError, TimeoutError) as err:
            s.errors.append(Problem("connection", f"could not open the page: {err!r}", clock()))
            return
        # each student's changes keep their own phase within the period, as a class does
        due = steady + period * random.Random(s.index).random()
        try:
            while due < end:
                idle = asyncio.ensure_future(asyncio.sleep(max(0.0, due - clock())))
                closed = asyncio.ensure_future(session.closed.wait())
                await asyncio.wait([idle, closed], return_when=asyncio.FIRST_COMPLETED)
                idle.cancel()
                closed.cancel()
                if session.closed.is_set():  # between changes: the tab reconnects at once
                    await session.reconnect()
                    continue
                await session.change()
                due = max(due + period, clock())
        except (ConnectionLost, TimeoutError, OSError):
            pass  # recorded as the student's error; it leaves
        finally:
            await session.ws.close()

    tasks = [attend(session, k) for k, session in enumerate(sessions)]
    tasks += [watch_loop(), take_marks()] + ([kill()] if kill_at is not None else [])
    load0 = os.getloadavg()[0]
    await asyncio.wait_for(asyncio.gather(*tasks), ramp + duration + 4 * wait)
    in_window = sum(1 for s in students for sent, dt, _ in s.latencies if steady <= sent + dt <= end)
    in_window += sum(1 for s in students if s.first_view and steady <= s.first_at <= end)
    return Result(
        students,
        (steady, end),
        period,
        in_window,
        marks["cpu1"] - marks["cpu0"],
        rss_idle,
        marks["rss"],
        marks["client1"] - marks["client0"],
        lag[0],
        (load0, os.getloadavg()[0]),
        marks.get("killed", ""),
        marks.get("killed_at", 0.0),
    )


# figures


def summary(r: Result) -> dict[str, float]:
    steady, end = r.window
    lat = [dt for s in r.students for sent, dt, _ in s.latencies if steady <= sent <= end]
    n = len(r.students)
    errors = {kind: sum(e.kind == kind for s in r.students for e in s.errors) for kind in KINDS}
    return {
        "students": n,
        "changes": len(lat),
        "rate": sum(1 for s in r.students for sent, dt, _ in s.latencies if steady <= sent + dt <= end)
        / (end - steady),
        "offered": n / r.period,
        "p50": percentile(lat, 50) * 1000 if lat else float("nan"),
        "p95": percentile(lat, 95) * 1000 if lat else float("nan"),
        "max": max(lat) * 1000 if lat else float("nan"),
        "errors": sum(errors.values()),
        **errors,
        "cpu_ms": 1000 * r.cpu / r.runs if r.runs else float("nan"),
        "cpu_cores": r.cpu / (end - steady),
        "mb_session": (r.rss_open - r.rss_idle) / n,
        "client": r.client_cpu / (end - steady),
        "lag": r.loop_lag * 1000,
        "first_p50": percentile([s.first_view for s in r.students if s.first_view] or [float("nan")], 50),
    }


def problems_text(r: Result, limit: int = 12) -> str:
    lines = [f"student {s.index} ({s.page}): {e.kind} at {e.at:.1f} s: {e.text}" for s in r.students for e in s.errors]
    lines = lines[:limit] + ([f"... {len(lines) - limit} more"] if len(lines) > limit else [])
    for s in [s for s in r.students if any(e.kind in ("isolation", "failover") for e in s.errors)][:3]:
        lines += [f"student {s.index}'s last messages:", *(f"    {line}" for line in s.trail)]
    return "\n".join(lines)


def machine(load: tuple[float, float]) -> str:
    import streamlit

    return (
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} cores "
        f"({platform.processor() or platform.machine()}); Python {platform.python_version()}, "
        f"Streamlit {streamlit.__version__}; load average (1 min) {load[0]:.1f} at the start, {load[1]:.1f} at the end"
    )


def capacity_table(rows: list[tuple[int, dict[str, float]]]) -> str:
    head = (
        "| processes | students | changes/s (offered) | p50 ms | p95 ms | max ms | errors | first view p50 s "
        "| server CPU/run ms | server cores busy | MB/session | generator cores |\n" + "|---" * 12 + "|"
    )
    lines = [head]
    for p, f in rows:
        lines.append(
            f"| {p} | {f['students']} | {f['rate']:.1f} ({f['offered']:.0f}) | {f['p50']:.0f} | {f['p95']:.0f} "
            f"| {f['max']:.0f} | {f['errors']} | {f['first_p50']:.1f} | {f['cpu_ms']:.0f} | {f['cpu_cores']:.2f} "
            f"| {f['mb_session']:.2f} "
            f"| {f['client']:.2f} |"
        )
    return "\n".join(lines)


def write_section(name: str, text: str) -> None:
    """Replace the part of LECTURE_HALL.md between this section's markers."""
    start, stop = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    body = REPORT.read_text() if REPORT.exists() else ""
    if start in body:
        before, rest = body.split(start, 1)
        body = before + start + "\n" + text.strip() + "\n" + stop + rest.split(stop, 1)[1]
    else:
        body += f"\n{start}\n{text.strip()}\n{stop}\n"
    REPORT.write_text(body)


def capacity_model(rows: list[tuple[int, dict[str, float]]], period: float, target: float = 0.5) -> str:
    """The capacity model's numbers from a capacity table: see LECTURE_HALL.md, "The capacity model"."""
    cores = os.cpu_count() or 1
    # CPU a run costs, where the class was not overloaded (it ran what it was asked): less queueing noise in it
    served = [f for _, f in rows if f["rate"] >= 0.9 * f["offered"]] or [f for _, f in rows]
    c = float(np.median([f["cpu_ms"] for f in served])) / 1000
    u = 1 - np.log(20) * c / target  # M/M/1: a run's time in the system is exponential, p95 = ln 20 S / (1 - u)
    lines = [
        f"- server CPU per run, median where the class kept up with its students: c = {1000 * c:.0f} ms",
        f"- one core, busy u = 1 - ln(20) c / {target:g} s = {u:.2f} of the time, keeps p95 under "
        f"{1000 * target:.0f} ms (M/M/1): **{u * period / c:.0f} students per core** changing a control every "
        f"{period:g} s (fully busy: {period / c:.0f})",
    ]
    for p in sorted({p for p, _ in rows}):
        mine = [f for q, f in rows if q == p]
        ok = [f["students"] for f in mine if f["p95"] < 1000 * target and not f["errors"]]
        best = f"{max(ok)} students with p95 under {1000 * target:.0f} ms" if ok else "p95 over 500 ms at every load"
        busiest = max(f["cpu_cores"] for f in mine)
        lines.append(
            f"- measured, {p} process{'es' if p > 1 else ''}: {best}; app processes at most {busiest:.2f} cores busy"
        )
    one, two = ([f for q, f in rows if q == p] for p in (1, 2))
    if one and two:
        top = max(f["students"] for f in one if f["students"] in {g["students"] for g in two})
        a, b = next(f for f in one if f["students"] == top), next(f for f in two if f["students"] == top)
        lines.append(
            f"- 1 -> 2 processes at {top} students: changes/s {a['rate']:.1f} -> {b['rate']:.1f} "
            f"({b['rate'] / a['rate']:.2f}x), app CPU {a['cpu_cores']:.2f} -> {b['cpu_cores']:.2f} cores "
            f"({b['cpu_cores'] / a['cpu_cores']:.2f}x) on {cores} cores"
        )
    return "\n".join(lines)


def run_capacity(args) -> int:
    rows, broken, loads = [], 0, []
    for p in args.processes:
        for n in args.students:
            with Hall(processes=p) as hall:
                r = asyncio.run(simulate(hall, n, args.period, args.duration, args.ramp, args.wait))
            f = summary(r)
            rows.append((p, f))
            loads += list(r.load)
            broken += f["exception"] + f["isolation"]  # timeouts are what an overloaded class does; these are bugs
            print(capacity_table(rows[-1:]).splitlines()[-1], flush=True)
            if f["errors"]:
                print(problems_text(r))
    command = "python benchmarks/lecture_hall.py capacity " + " ".join(sys.argv[2:])
    text = f"`{command.strip()}`: {machine((loads[0], max(loads)))}\n\n{capacity_table(rows)}\n\n"
    text += capacity_model(rows, args.period)
    print(text)
    if args.write:
        write_section("capacity", text)
    return 1 if broken else 0


def failover_text(r: Result, p: int) -> str:
    f = summary(r)
    hit = [s for s in r.students if s.reconnects]
    crossed = [dt for s in r.students for _, dt, c in s.latencies if c]
    recovered = [t for s in hit for t in s.recovered]

    def spread(values: list[float]) -> str:
        if not values:
            return "-"
        return f"{percentile(values, 50):.2f} / {percentile(values, 95):.2f} / {max(values):.2f} s"

    lines = [
        f"{p} processes, {f['students']} students each changing a control every {r.period:g} s; process "
        f"{r.killed} killed (SIGKILL) {r.killed_at - r.window[0]:.0f} s into the {r.window[1] - r.window[0]:.0f} s "
        "measured",
        "",
        "| figure | value |",
        "|---|---|",
        f"| students on the killed process, reconnected to another | {len(hit)} |",
        f"| from the closed websocket to a live one: p50 / p95 / max | {spread(recovered)} |",
        f"| their first change on the new process (a new session): p50 / p95 / max | {spread(crossed)} |",
        f"| changes the new process undid (made again) | {sum(s.redone for s in r.students)} |",
        f"| every change in the measured part: p50 / p95 | {f['p50']:.0f} / {f['p95']:.0f} ms |",
        "| errors: " + ", ".join(KINDS.values()) + " | " + " / ".join(str(f[k]) for k in KINDS) + " |",
    ]
    return "\n".join(lines)


def run_failover(args) -> int:
    p = args.processes[0]
    with Hall(processes=p) as hall:
        r = asyncio.run(
            simulate(hall, args.students[0], args.period, args.duration, args.ramp, args.wait, kill_at=args.kill_at)
        )
    command = "python benchmarks/lecture_hall.py failover " + " ".join(sys.argv[2:])
    text = f"`{command.strip()}`: {machine(r.load)}\n\n{failover_text(r, p)}"
    print(text)
    print(problems_text(r))
    if args.write:
        write_section("failover", text)
    return 1 if summary(r)["errors"] or not any(s.reconnects for s in r.students) else 0


async def cost_of_open_sessions(hall: Hall, others: int, changes: int, wait: float) -> float:
    """Server CPU (ms) of one student's change while ``others`` sessions sit open on the same process."""
    t0, b = time.monotonic(), hall.backends[0]
    idle = [Session(b.url, s, wait, t0) for s in make_students(others + 1)[1:]]
    for k in range(0, others, 10):  # ten at a time: their first views are not what is measured
        await asyncio.gather(*(s.open() for s in idle[k : k + 10]))
    active = Session(b.url, make_students(1, ("neuron",))[0], wait, t0)
    await active.open()
    cpu = cpu_seconds(group(b.pid))
    for _ in range(changes):
        await active.change()
    cpu = cpu_seconds(group(b.pid)) - cpu
    for s in [*idle, active]:
        await s.ws.close()
    problems = [f"student {s.s.index}: {e}" for s in [*idle, active] for e in s.s.errors]
    if problems:
        raise RuntimeError("\n".join(problems[:10]))
    return 1000 * cpu / changes


def run_gc(args) -> int:
    """Server CPU per change against the sessions open in the process, Streamlit's post-run gc.collect() on and off."""
    rows, loads = [], [os.getloadavg()[0]]
    for others in args.students:
        row = [others]
        for options in ((), ("--runner.postScriptGC=false",)):
            with Hall(processes=1, options=options) as hall:
                asyncio.run(warm_up(hall, PAGES, args.wait))
                row.append(asyncio.run(cost_of_open_sessions(hall, others, 20, args.wait)))
            loads.append(os.getloadavg()[0])
        rows.append(row)
        print(f"| {row[0]} | {row[1]:.0f} | {row[2]:.0f} |", flush=True)
    command = "python benchmarks/lecture_hall.py gc " + " ".join(sys.argv[2:])
    text = f"`{command.strip()}`: {machine((loads[0], max(loads)))}\n\n"
    text += "| other sessions open in the process | server CPU per change, with gc.collect() after each run (ms) "
    text += "| without (ms) |\n"
    text += "|---|---|---|\n" + "\n".join(f"| {n} | {on:.0f} | {off:.0f} |" for n, on, off in rows)
    print(text)
    if args.write:
        write_section("gc", text)
    return 0


def run_against(args) -> int:
    hall = Hall.load(args.port)
    if hall is None:
        raise SystemExit(f"no class on port {args.port}: python scripts/serve_class.py start --port {args.port}")
    r = asyncio.run(simulate(hall, args.students[0], args.period, args.duration, args.ramp, args.wait))
    print(f"{machine(r.load)}\n\n{capacity_table([(len(hall.backends), summary(r))])}")
    print(problems_text(r))
    return 1 if summary(r)["errors"] else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=["capacity", "failover", "gc", "run"])
    parser.add_argument("--processes", type=int, nargs="+", help="capacity: 1 2 4; failover: 2")
    parser.add_argument("--students", type=int, nargs="+", help="capacity: 50 100 200; gc: 0 100 200; others: 100")
    parser.add_argument("--period", type=float, default=5.0, help="s between a student's changes")
    parser.add_argument("--duration", type=float, default=60.0, help="s of steady load measured")
    parser.add_argument("--ramp", type=float, default=20.0, help="s over which the students arrive")
    parser.add_argument("--wait", type=float, default=60.0, help="s a run may take before it counts as a timeout")
    parser.add_argument("--kill-at", type=float, default=30.0, help="failover: s into the steady part")
    parser.add_argument("--port", type=int, default=8500, help="run: the balancer of scripts/serve_class.py start")
    parser.add_argument("--no-write", dest="write", action="store_false", help="do not update LECTURE_HALL.md")
    args = parser.parse_args()
    if args.mode == "capacity":
        args.processes, args.students = args.processes or [1, 2, 4], args.students or [50, 100, 200]
        return run_capacity(args)
    if args.mode == "gc":
        args.students = args.students or [0, 100, 200]
        return run_gc(args)
    args.processes, args.students = args.processes or [2], args.students or [100]
    return run_failover(args) if args.mode == "failover" else run_against(args)


if __name__ == "__main__":
    sys.exit(main())
