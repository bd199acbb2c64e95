"""An HDF5 file as plain data: its groups, its float arrays and its string attributes.

The HDF5 library is C and a damaged file can crash it (a segmentation fault, found by
fuzzing Keras files), which would end the app for every user of the process. So the file is
read by ``hdf5_reader.py`` in a child process, under an address-space limit and a timeout;
what comes back is checked like any other input (a JSON header with bounded size and the
values it announces, exactly). The child never follows a link, nor reads a dataset kept in
other files, filtered or compressed, or past the parameter budget: such paths come back as
"problems", which the caller reports only if it needs that path.
"""

from __future__ import annotations

import contextlib
import math
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..weights import MAX_PARAMETERS, _read_json, _Refused

_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_READER = Path(__file__).with_name("hdf5_reader.py")
TIMEOUT_SECONDS = 30  # a Keras weights file reads in well under a second
MEMORY_LIMIT_BYTES = 1 << 30  # the child's address space: numpy and h5py take about 120 MB of it
MAX_OBJECTS = 20_000  # groups, datasets and attributes: about ten a Keras layer
MAX_TEXT_BYTES = 2_000_000  # one attribute's strings (a model config is a few kB a layer)
_MAX_HEADER_BYTES = 16_000_000
_MAX_HEADER_TOKENS = {b"[": 500_000, b"{": 100_000, b'"': 2_000_000, b",": 2_000_000}


@dataclass(frozen=True)
class Tree:
    """What the child read: paths are relative to the root, "a/b/c"; attributes are lists of strings."""

    groups: frozenset[str]
    arrays: dict[str, np.ndarray]
    attributes: dict[str, dict[str, list[str]]]
    problems: dict[str, str]  # path (or "path@attribute") -> why it was not read

    def has(self, path: str) -> bool:
        return path in self.groups or path in self.arrays or path in self.problems

    def array(self, path: str, what: str) -> np.ndarray:
        if path in self.arrays:
            return self.arrays[path]
        raise _Refused(f"{what}: {path!r:.80} {self.problems.get(path, 'is not in the file')}")

    def strings(self, path: str, name: str, what: str) -> list[str] | None:
        """An attribute's strings, None when absent; refused when present but not strings."""
        if f"{path}@{name}" in self.problems:
            raise _Refused(f"{what}: the attribute {name!r} of {path or '/'!r:.60} is not a short string")
        return self.attributes.get(path, {}).get(name)


def read_tree(data: bytes, what: str) -> Tree:
    """Read the file in a child process; ValueError for anything but an HDF5 file it read to the end."""
    if not data.startswith(_SIGNATURE):
        raise _Refused(f"{what} is not an HDF5 file (it does not start with the HDF5 signature)")
    output, status = _run_reader(data, what)
    if status != 0:
        raise _Refused(f"{what} is damaged: the HDF5 library stopped on it ({_status(status)})")
    header, values = _split(output, what)
    if "error" in header:
        raise _Refused(f"{what} {str(header['error'])[:200]}")
    return _tree(header, values, what)


def _run_reader(data: bytes, what: str) -> tuple[bytes, int]:
    """The child's stdout (at most what a full budget of values needs) and its exit status."""
    limit = _MAX_HEADER_BYTES + 8 * MAX_PARAMETERS + 64
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", HDF5_PLUGIN_PATH="/nonexistent")
    limits = (MAX_PARAMETERS, MAX_OBJECTS, MAX_TEXT_BYTES, MEMORY_LIMIT_BYTES)
    command = [sys.executable, "-P", str(_READER), *map(str, limits)]
    process = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
    )
    timed_out = threading.Event()
    timer = threading.Timer(TIMEOUT_SECONDS, lambda: (timed_out.set(), process.kill()))
    timer.start()
    try:
        with contextlib.suppress(BrokenPipeError):  # a child that ended early: its status tells
            process.stdin.write(data)  # the child reads all of it before it writes anything
        with contextlib.suppress(BrokenPipeError):
            process.stdin.close()
        output = process.stdout.read(limit + 1)
        if len(output) > limit:
            process.kill()
        status = process.wait()
    finally:
        timer.cancel()
        process.stdout.close()
    if timed_out.is_set():
        raise _Refused(f"{what} took more than {TIMEOUT_SECONDS} s to read")
    if len(output) > limit:
        raise _Refused(f"{what}: reading it gave more data than a weights file holds")
    return output, status


def _status(status: int) -> str:
    if status < 0:
        return f"it crashed with signal {-status}"
    return f"exit status {status}; is h5py installed?" if status == 1 else f"exit status {status}"


def _split(output: bytes, what: str) -> tuple[dict, bytes]:
    """The JSON header and the raw values after it."""
    line, _, rest = output.partition(b"\n")
    if not line.isdigit() or len(line) > 9 or int(line) > min(len(rest), _MAX_HEADER_BYTES):
        raise _Refused(f"{what}: the HDF5 reader gave no answer")
    length = int(line)
    try:
        header = _read_json(rest[:length], _MAX_HEADER_TOKENS)
    except ValueError:
        header = None
    if not isinstance(header, dict):
        raise _Refused(f"{what}: the HDF5 reader gave no answer")
    return header, rest[length:]


def _tree(header: dict, values: bytes, what: str) -> Tree:
    """The arrays cut from the values, each exactly as long as its shape says."""
    try:
        groups = frozenset(str(g) for g in header["groups"])
        attributes = {
            str(p): {str(n): [str(s) for s in v] for n, v in a.items()} for p, a in header["attributes"].items()
        }
        problems = {str(p): str(m)[:200] for p, m in header["problems"].items()}
        shapes = [(str(path), tuple(int(n) for n in shape)) for path, shape in header["arrays"]]
    except (KeyError, TypeError, ValueError, AttributeError):
        raise _Refused(f"{what}: the HDF5 reader's answer is damaged") from None
    sizes = [math.prod(shape) for _, shape in shapes]
    if any(n < 0 for _, shape in shapes for n in shape) or 8 * sum(sizes) != len(values):
        raise _Refused(f"{what}: the HDF5 reader's answer is damaged")
    flat, arrays, start = np.frombuffer(values, "<f8"), {}, 0
    for (path, shape), size in zip(shapes, sizes, strict=True):
        arrays[path] = flat[start : start + size].reshape(shape).copy()
        start += size
    return Tree(groups, arrays, attributes, problems)
