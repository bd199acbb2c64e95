""".safetensors: a torch state_dict saved with ``safetensors.torch.save_file(model.state_dict(), path)``.

The file is an 8-byte little-endian header length, a JSON header naming each tensor's dtype,
shape and byte range (and an optional ``"__metadata__"`` of strings: rnnviz reads "cell" and
"nonlinearity" there), then the raw values. The header is read and checked here first, with
the same bounds as a .json weights file; the values are then read by the safetensors
package's numpy API. A whole model's state_dict (``"rnn.weight_ih_l0"``, ``"fc.weight"``, ...)
gives its one recurrent module: the keys with the common prefix, the rest left aside.
"""

from __future__ import annotations

import json
import math
import re

import numpy as np

from ..cells import CELLS, NONLINEARITIES, Params
from ..weights import MAX_PARAMETERS, _choice, _damaged, _read_json, _Refused, to_state_dict

_HINT = "save with safetensors.torch.save_file(model.state_dict(), 'model.safetensors')"
_MAX_TENSORS = 1_000  # a whole model's state_dict may hold more than its recurrent layers
_MAX_HEADER_TOKENS = {b"[": 3 * _MAX_TENSORS, b"{": _MAX_TENSORS + 2, b'"': 30 * _MAX_TENSORS, b",": 20 * _MAX_TENSORS}
_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16}
_NUMPY_DTYPES = {"BOOL": 1, "U8": 1, "I8": 1, "I16": 2, "U16": 2, "F16": 2, "I32": 4, "U32": 4, "F32": 4}
_NUMPY_DTYPES |= {"I64": 8, "U64": 8, "F64": 8, "C64": 8}  # what safetensors.numpy reads: dtype -> item size
_ITEMSIZE = _NUMPY_DTYPES | {"F8_E5M2": 1, "F8_E4M3": 1, "BF16": 2}
_RECURRENT_KEY = re.compile(r"^(.*?)((?:weight|bias)_(?:ih|hh)_l\d+(?:_reverse)?)$")


def read_safetensors(data: bytes) -> tuple[dict[str, np.ndarray], str | None, str | None, None]:
    """(state_dict, cell, nonlinearity, None): bidirectional or not is told by the keys."""
    header, metadata = _read_header(data)
    keys = _recurrent_stack(list(header))
    _check_tensors(header, keys.values())
    tensors = _load_tensors(data)
    state_dict = {key: tensors[name].astype(np.float64) for key, name in keys.items()}  # a copy: writeable
    cell = _choice(metadata.get("cell"), "cell", CELLS)
    nonlinearity = _choice(metadata.get("nonlinearity"), "nonlinearity", NONLINEARITIES)
    return state_dict, cell, nonlinearity, None


def write_safetensors(params: Params) -> bytes:
    """The state_dict in float64 with "cell" and "nonlinearity" metadata (torch's "format": "pt" too)."""
    from safetensors.numpy import save

    metadata = {"format": "pt", "cell": params.cell, "nonlinearity": params.nonlinearity}
    return save({key: np.ascontiguousarray(a) for key, a in to_state_dict(params).items()}, metadata=metadata)


def _read_header(data: bytes) -> tuple[dict[str, dict], dict[str, str]]:
    """The tensors' entries and the metadata, from the JSON header alone."""
    if data.startswith(b"PK\x03\x04"):
        raise _Refused(f"this is a zip archive (torch.save writes those), not a .safetensors file; {_HINT}")
    if len(data) < 8:
        raise _Refused("the file is too short for a .safetensors header (truncated)")
    length = int.from_bytes(data[:8], "little")
    if length > len(data) - 8:
        raise _Refused(f"the header says it has {length:,} bytes, but the file has {len(data) - 8:,} after it")
    raw = data[8 : 8 + length]
    if not raw.lstrip().startswith(b"{"):
        raise _Refused(f"the file does not start with a .safetensors header; {_HINT}")
    try:
        header = _read_json(raw, _MAX_HEADER_TOKENS)
    except _Refused:
        raise
    except ValueError as e:
        raise _Refused(f"the .safetensors header is damaged: {e}") from None
    if not isinstance(header, dict):
        raise _Refused("the .safetensors header must be a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise _Refused('"__metadata__" must map names to strings')
    if len(header) > _MAX_TENSORS:
        raise _Refused(f"the file holds {len(header):,} tensors; rnnviz reads files of up to {_MAX_TENSORS:,}")
    for name, entry in header.items():
        _check_entry(name, entry)
    return header, metadata


def _check_entry(name: str, entry) -> None:
    """One header entry: {"dtype": "F32", "shape": [rows, cols], "data_offsets": [begin, end]}, consistent."""
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        raise _Refused(f'the header entry of {name!r:.60} must hold "dtype", "shape" and "data_offsets"')
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if dtype not in _ITEMSIZE:
        raise _Refused(f"{name!r:.60} has an unknown dtype {dtype!r:.20}")
    if not isinstance(shape, list) or len(shape) > 8 or not all(type(n) is int and n >= 0 for n in shape):
        raise _Refused(f"{name!r:.60} has a damaged shape {shape!r:.60}")
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(type(n) is int and n >= 0 for n in offsets):
        raise _Refused(f"{name!r:.60} has damaged data offsets {offsets!r:.60}")
    if offsets[1] - offsets[0] != math.prod(shape) * _ITEMSIZE[dtype]:
        raise _Refused(f"{name!r:.60}: its shape {shape} and dtype {dtype} do not fit its {offsets} byte range")


def _recurrent_stack(names: list[str]) -> dict[str, str]:
    """torch key -> name in the file: all the names for a bare nn.LSTM, else the one recurrent submodule's."""
    prefixes = {}
    for name in names:
        m = _RECURRENT_KEY.match(name)
        if m:
            prefixes.setdefault(m.group(1), {})[m.group(2)] = name
    if "" in prefixes or not prefixes:
        return {name: name for name in names}  # a bare module: from_state_dict names any unexpected key
    if len(prefixes) > 1:
        found = ", ".join(repr(p.rstrip(".")) for p in sorted(prefixes)[:4])
        raise _Refused(
            f"the file holds several recurrent modules ({found}); rnnviz shows one: "
            f"save that module's state_dict, e.g. save_file(model.{sorted(prefixes)[0].rstrip('.')}.state_dict(), ...)"
        )
    return next(iter(prefixes.values()))


def _check_tensors(header: dict[str, dict], names) -> None:
    """Every tensor numpy can hold; those rnnviz uses are real numbers, no more than MAX_PARAMETERS of them."""
    for name, entry in header.items():
        if entry["dtype"] not in _NUMPY_DTYPES:
            raise _Refused(f"{name!r:.60} holds {entry['dtype']} values; save model.float().state_dict() instead")
    total = 0
    for name in names:
        entry = header[name]
        if entry["dtype"] not in _DTYPES:
            raise _Refused(f"{name} holds {entry['dtype']} values; rnnviz reads F16, F32 and F64")
        total += math.prod(entry["shape"])
        if total > MAX_PARAMETERS:
            raise _Refused(f"the tensors hold more than the {MAX_PARAMETERS:,} parameters rnnviz accepts")


def _load_tensors(data: bytes) -> dict[str, np.ndarray]:
    """Every tensor, by the safetensors package, which checks the byte ranges cover the file exactly."""
    from safetensors import SafetensorError
    from safetensors.numpy import load

    with _damaged("the .safetensors file", _HINT, (SafetensorError, json.JSONDecodeError)):
        return load(data)
