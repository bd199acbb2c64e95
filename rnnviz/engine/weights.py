"""Weights in and out: PyTorch state_dicts and weights files.

``from_state_dict`` accepts exactly what ``torch.nn.RNN/LSTM/GRU.state_dict()`` holds
(converted to numpy), so a trained model copies over one to one. ``load_weights`` reads
.npz and .json here, and .safetensors, .onnx, .keras and .h5 through ``formats/`` (one
module per format, imported only when such a file comes in); every reader ends in
``from_state_dict``, so every format is checked the same way.
"""

from __future__ import annotations

import importlib
import io
import json
import math
import re
import struct
import zipfile
import zlib
from contextlib import contextmanager

import numpy as np

from .cells import CELLS, GATE_COUNT, NONLINEARITIES, LayerParams, Params, layer_suffix

MAX_PARAMETERS = 4_000_000  # a sane cap for a teaching tool (about 32 MB of float64)
MAX_LAYERS = 16
_KEY = re.compile(r"^(weight_ih|weight_hh|bias_ih|bias_hh)_l(\d+)(_reverse)?$")
_FIELDS = {"weight_ih": "W_ih", "weight_hh": "W_hh", "bias_ih": "b_ih", "bias_hh": "b_hh"}

# Limits for uploaded files, all checked before anything big is read or inflated.
MAX_FILE_BYTES = 50_000_000  # the raw upload
_MAX_MEMBERS = 2 * 4 * MAX_LAYERS + 2  # four arrays per layer and direction, plus "cell" and "nonlinearity"
_MAX_UNPACKED_BYTES = 16 * MAX_PARAMETERS + 2**20  # declared size of all .npz members (zip bomb guard)
_MAX_HEADER_BYTES = 10_000  # numpy's own cap on a .npy header
_MAX_TEXT_BYTES = 64  # a "cell" or "nonlinearity" entry holds one short word
_MAX_JSON_TOKENS = {b"[": 200_000, b"{": 100, b'"': 1_000, b",": MAX_PARAMETERS + 200_000}
_TEXT_KEYS = ("cell", "nonlinearity")
_JSON_KEYS = ("cell", "nonlinearity", "bidirectional", "state_dict")
_SAVEZ = "save with np.savez(f, **{k: v.numpy() for k, v in model.state_dict().items()})"
_FORMATS = ".npz, .json, .safetensors, .onnx, .keras or .h5"
_TO_SAFETENSORS = (
    "convert it once where torch is installed: import torch; from safetensors.torch import save_file; "
    "save_file({state_dict}, 'model.safetensors') (for a whole model saved with torch.save(model), "
    "torch.load('{path}', weights_only=False).state_dict() in place of {state_dict})"
)


def _pickle_hint(what: str, path: str, state_dict: str) -> str:
    convert = _TO_SAFETENSORS.format(state_dict=state_dict, path=path)
    return f"{what} is a pickle, which can run code when loaded, so rnnviz never opens one; {convert}"


_PICKLE_HINT = _pickle_hint("it", "model.pt", "torch.load('model.pt')")
_EXTENSION_HINTS = {
    "pt": _pickle_hint("a PyTorch file (.pt)", "model.pt", "torch.load('model.pt')"),
    "pth": _pickle_hint("a PyTorch file (.pth)", "model.pth", "torch.load('model.pth')"),
    "ckpt": _pickle_hint("a checkpoint (.ckpt)", "model.ckpt", "torch.load('model.ckpt')['state_dict']"),
    "pkl": f"a .pkl file is a pickle, which can run code when loaded, so rnnviz never opens one; {_SAVEZ}",
    "pickle": f"a .pickle file is a pickle, which can run code when loaded, so rnnviz never opens one; {_SAVEZ}",
    "npy": f"a .npy file holds a single array, but a network needs all of them; {_SAVEZ}",
}
# Readers of the other formats: extension -> (module under formats/, function); each returns
# what _parse_npz does, (state_dict, cell, nonlinearity, bidirectional).
_READERS = {
    "safetensors": ("safetensors_file", "read_safetensors"),
    "onnx": ("onnx_file", "read_onnx"),
    "keras": ("keras_file", "read_keras"),
    "h5": ("keras_file", "read_h5"),
    "hdf5": ("keras_file", "read_h5"),
}
_WRITERS = {"safetensors": ("safetensors_file", "write_safetensors"), "onnx": ("onnx_file", "write_onnx")}


def _to_float_array(key: str, value) -> np.ndarray:
    if isinstance(value, np.ndarray) and value.dtype.kind not in "iuf":  # bool and complex are refused too
        raise ValueError(f"{key} must hold numbers, got dtype {value.dtype}")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{key} must be an array of numbers") from None
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{key} contains NaN or infinite values")
    return arr


def infer_cell(state_dict: dict) -> str:
    """Guess the cell kind from the gate multiple: rows of weight_hh_l0 / its columns."""
    W = state_dict.get("weight_hh_l0")
    shape = getattr(W, "shape", None)
    if shape is None or len(shape) != 2 or shape[1] < 1 or shape[0] % shape[1]:
        raise ValueError("cannot tell the cell kind: weight_hh_l0 must be a (G*H, H) matrix")
    kinds = {g: c for c, g in GATE_COUNT.items()}
    G = shape[0] // shape[1]
    if G not in kinds:
        raise ValueError(
            f"weight_hh_l0 has {shape[0]} rows for hidden size {shape[1]}: a gate multiple of {G}, "
            "but rnn has 1, gru 3 and lstm 4"
        )
    return kinds[G]


def from_state_dict(state_dict: dict, cell: str | None = None, nonlinearity: str = "tanh") -> Params:
    """Build Params from a PyTorch state_dict ({key: array}); layers and sizes come from the keys.

    Keys ending in ``_reverse`` (``weight_ih_l0_reverse``, ...) make a bidirectional network,
    as torch's ``bidirectional=True``; then every layer needs them. Missing bias keys mean
    zero biases (torch's ``bias=False``). Raises ValueError naming the key and the expected
    shape when something does not fit.
    """
    if not isinstance(state_dict, dict):
        raise ValueError("a state_dict must be a mapping from PyTorch parameter names to arrays")
    if cell is None:
        cell = infer_cell(state_dict)
    if cell not in CELLS:
        raise ValueError(f"unknown cell {cell!r}; expected one of {', '.join(CELLS)}")
    L, bidirectional = _layer_count(state_dict)
    total = sum(int(np.prod(getattr(v, "shape", ()) or (1,))) for v in state_dict.values())
    if total > MAX_PARAMETERS:
        raise ValueError(f"{total:,} parameters is more than the {MAX_PARAMETERS:,} rnnviz accepts")
    G = GATE_COUNT[cell]
    nd = 2 if bidirectional else 1
    layers = []
    for j in range(nd * L):
        sfx = layer_suffix(j, nd)
        for name in ("weight_ih", "weight_hh"):
            if f"{name}{sfx}" not in state_dict:
                raise ValueError(f"missing key {name}{sfx}")
        W_hh = _to_float_array(f"weight_hh{sfx}", state_dict[f"weight_hh{sfx}"])
        if W_hh.ndim != 2 or W_hh.shape[1] < 1 or W_hh.shape[0] != G * W_hh.shape[1]:
            raise ValueError(f"weight_hh{sfx} of a {cell} must have shape ({G}*H, H) = ({G}H, H), got {W_hh.shape}")
        H = W_hh.shape[1]
        W_ih = _to_float_array(f"weight_ih{sfx}", state_dict[f"weight_ih{sfx}"])
        if W_ih.ndim != 2 or W_ih.shape[1] < 1:
            raise ValueError(f"weight_ih{sfx} must be a ({G}*H, D) matrix with D >= 1 inputs, got shape {W_ih.shape}")
        arrays = {"weight_hh": W_hh, "weight_ih": W_ih}
        for name in ("bias_ih", "bias_hh"):
            key = f"{name}{sfx}"
            arrays[name] = _to_float_array(key, state_dict[key]) if key in state_dict else np.zeros(G * H)
        layers.append(LayerParams(**{_FIELDS[n]: a for n, a in arrays.items()}))
    return Params(cell, tuple(layers), nonlinearity, bidirectional)


def _layer_count(state_dict: dict) -> tuple[int, bool]:
    """(L, bidirectional) from the keys alone; ValueError for unknown keys or a gap in the layers."""
    forward_ids, reverse_ids = set(), set()
    for key in state_dict:
        m = _KEY.match(str(key))
        if m is None:
            raise ValueError(
                f"unexpected key {key!r:.60}; expected weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, ... "
                "(and weight_ih_l0_reverse, ... for a bidirectional network)"
            )
        (reverse_ids if m.group(3) else forward_ids).add(int(m.group(2)))
    layer_ids = forward_ids | reverse_ids
    if not layer_ids:
        raise ValueError("the state_dict is empty: expected weight_ih_l0, weight_hh_l0, ...")
    L = max(layer_ids) + 1
    if L > MAX_LAYERS:
        raise ValueError(f"{L} layers is more than the {MAX_LAYERS} rnnviz supports")
    if layer_ids != set(range(L)):
        missing = sorted(set(range(L)) - layer_ids)
        raise ValueError(f"layer {missing[0]} is missing: expected keys for layers 0..{L - 1}")
    if reverse_ids and reverse_ids != layer_ids:
        k = min(layer_ids - reverse_ids)
        have = ", ".join(f"l{i}" for i in sorted(reverse_ids))
        raise ValueError(
            f"bidirectional weights need '_reverse' keys for every layer, but they are there for {have} "
            f"and not for layer {k} (weight_ih_l{k}_reverse, ...)"
        )
    if forward_ids != layer_ids:
        k = min(layer_ids - forward_ids)
        raise ValueError(f"layer {k} has only '_reverse' keys: missing key weight_ih_l{k}, weight_hh_l{k}")
    return L, bool(reverse_ids)


def to_state_dict(params: Params) -> dict[str, np.ndarray]:
    """PyTorch keys to copies of the arrays, in torch's key order (a layer's reverse keys after its forward ones)."""
    sd = {}
    for sfx, lp in zip(params.layer_suffixes, params.layers, strict=True):
        for name, attr in _FIELDS.items():
            sd[f"{name}{sfx}"] = getattr(lp, attr).copy()
    return sd


def gate_rows(order: list[int], H: int) -> np.ndarray:
    """Row indices taking gate block order[0], then order[1], ... (blocks of H rows): reorders a file's gates."""
    return np.concatenate([np.arange(g * H, (g + 1) * H) for g in order])


class _Refused(ValueError):
    """A problem this module found and described itself; passes through ``_damaged`` unchanged."""


@contextmanager
def _damaged(what: str, hint: str = _SAVEZ, errors: tuple[type[Exception], ...] = ()):
    """Report what zipfile, zlib and numpy (and a format's own library: ``errors``) raise on a
    truncated or corrupt file as one ValueError."""
    try:
        yield
    except _Refused:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, zlib.error, struct.error, OverflowError, ValueError, *errors) as e:
        raise _Refused(f"{what} is damaged (truncated or corrupt)") from e
    except (NotImplementedError, RuntimeError) as e:  # zipfile: a compression or encryption it cannot read
        raise _Refused(f"{what} uses a zip feature rnnviz cannot read; {hint}") from e


def load_weights(data: bytes, filename: str) -> Params:
    """Parse the bytes of an uploaded weights file; the extension tells the format.

    .npz and .json (a torch state_dict, see the module docstring), .safetensors (a torch
    state_dict), .onnx (the RNN/LSTM/GRU nodes of an exported model), .keras and .h5 (the
    LSTM, GRU and SimpleRNN layers of a Keras model, read without loading the model).
    Raises ValueError, prefixed with the file's name, for anything that is not a network
    rnnviz can use: the message names the key and the shape or type that was expected.
    """
    name = _display_name(filename)
    try:
        parse = _parser_for(name)
        state_dict, cell, nonlinearity, bidirectional = parse(_file_bytes(data))
        _check_declared_cell(state_dict, cell)
        params = from_state_dict(state_dict, cell, nonlinearity or "tanh")
        if bidirectional is not None and bidirectional != params.bidirectional:
            has = "has no '_reverse' keys" if bidirectional else "has '_reverse' keys (weight_ih_l0_reverse, ...)"
            raise ValueError(f'the file says "bidirectional": {json.dumps(bidirectional)}, but its state_dict {has}')
        return params
    except ValueError as e:
        raise ValueError(f"{name}: {e}") from None


def dump_weights(params: Params, fmt: str = "npz") -> bytes:
    """Serialise params as .npz (a torch state_dict saved with np.savez), .json, .safetensors
    (loads with ``safetensors.torch.load_file`` into ``nn.LSTM.load_state_dict``) or .onnx
    (one RNN/LSTM/GRU node per layer, float32, which onnxruntime runs).

    npz, json and safetensors hold "cell" and "nonlinearity" entries, and ``load_weights``
    reads them back exactly; an .onnx reads back as the weights rounded to float32.
    Bidirectional weights are told by their ``_reverse`` keys (a .json also says
    ``"bidirectional": true``).
    """
    if not isinstance(fmt, str) or fmt not in ("npz", "json", *_WRITERS):
        raise ValueError(f"unknown weights format {fmt!r}; expected 'npz', 'json', 'safetensors' or 'onnx'")
    if not isinstance(params, Params):
        raise ValueError(f"dump_weights needs a Params, got {type(params).__name__}")
    state_dict = to_state_dict(params)
    _check_loadable(params, state_dict)
    if fmt in _WRITERS:
        return _format_function(*_WRITERS[fmt])(params)
    if fmt == "json":
        doc = {"cell": params.cell, "nonlinearity": params.nonlinearity}
        if params.bidirectional:
            doc["bidirectional"] = True
        doc["state_dict"] = {key: a.tolist() for key, a in state_dict.items()}  # repr of a float round-trips
        data = json.dumps(doc).encode()
        if len(data) > MAX_FILE_BYTES:
            raise ValueError(f"these weights make a .json of {len(data):,} bytes, too big to load again; use .npz")
        return data
    buffer = io.BytesIO()
    np.savez(buffer, cell=np.array(params.cell), nonlinearity=np.array(params.nonlinearity), **state_dict)
    return buffer.getvalue()


def _check_loadable(params: Params, state_dict: dict[str, np.ndarray]) -> None:
    """Refuse to write a file that load_weights would refuse to read."""
    if params.num_layers > MAX_LAYERS:
        raise ValueError(f"{params.num_layers} layers is more than the {MAX_LAYERS} rnnviz can load")
    total = sum(a.size for a in state_dict.values())
    if total > MAX_PARAMETERS:
        raise ValueError(f"{total:,} parameters is more than the {MAX_PARAMETERS:,} rnnviz can load")
    for key, a in state_dict.items():
        if not np.all(np.isfinite(a)):
            raise ValueError(f"cannot save {key}: it contains NaN or infinite values")


def _display_name(filename) -> str:
    """The file's base name, printable and short enough for an error message."""
    if not isinstance(filename, str) or not filename.strip():
        raise ValueError(f"a file name such as 'weights.npz' is needed to tell the format, got {filename!r:.60}")
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c if c.isprintable() else "?" for c in name)
    return name if len(name) <= 60 else f"{name[:40]}...{name[-17:]}"


def _parser_for(name: str):
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension == "npz":
        return _parse_npz
    if extension == "json":
        return _parse_json
    if extension in _READERS:
        return _format_function(*_READERS[extension])
    hint = _EXTENSION_HINTS.get(extension, f"rnnviz reads weights from {_FORMATS} files")
    raise ValueError(f"unsupported file type: {hint}")


def _format_function(module: str, function: str):
    """A reader or writer from formats/, imported on first use so that ``import rnnviz`` stays quick."""
    return getattr(importlib.import_module(f".formats.{module}", __package__), function)


def _file_bytes(data) -> bytes:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ValueError(f"expected the file's contents as bytes, got {type(data).__name__}")
    size = memoryview(data).nbytes
    if size == 0:
        raise ValueError("the file is empty")
    if size > MAX_FILE_BYTES:
        raise ValueError(f"the file has {size:,} bytes; weights files of up to {MAX_FILE_BYTES:,} bytes are accepted")
    return bytes(data)


def _choice(value, key: str, allowed: tuple[str, ...]) -> str | None:
    """A "cell" or "nonlinearity" entry: absent (None) or one of the allowed words."""
    if value is not None and (not isinstance(value, str) or value not in allowed):
        raise ValueError(f'"{key}" must be one of {", ".join(allowed)}, got {value!r:.40}')
    return value


def _check_declared_cell(state_dict: dict, cell: str | None) -> None:
    """A "cell" entry must agree with the gate multiple of weight_hh_l0."""
    try:
        inferred = infer_cell(state_dict)
    except ValueError:
        return  # from_state_dict names the key whose shape is wrong
    if cell is not None and cell != inferred:
        rows, H = state_dict["weight_hh_l0"].shape
        raise ValueError(
            f"the file says the cell is {cell!r}, but weight_hh_l0 has shape ({rows}, {H}): "
            f"{GATE_COUNT[inferred]} gate block(s) of hidden size {H}, which is a {inferred}; "
            f"a {cell} needs shape ({GATE_COUNT[cell] * H}, {H})"
        )


# .npz: a zip of .npy members, read one header at a time so nothing big is inflated unchecked


def _parse_npz(data: bytes) -> tuple[dict[str, np.ndarray], str | None, str | None, None]:
    arrays = _read_npz(data)
    cell = _choice(arrays.pop("cell", None), "cell", CELLS)
    nonlinearity = _choice(arrays.pop("nonlinearity", None), "nonlinearity", NONLINEARITIES)
    return arrays, cell, nonlinearity, None  # bidirectional or not: told by the keys


def _read_npz(data: bytes) -> dict:
    """Key to array (or to str, for the "cell" and "nonlinearity" entries)."""
    if data.count(b"PK\x01\x02") > 4 * _MAX_MEMBERS:  # each zip directory entry starts so: count before listing
        raise ValueError(f"the archive holds too many entries; a state_dict has at most {_MAX_MEMBERS}")
    with _damaged("the .npz archive"):
        archive = zipfile.ZipFile(io.BytesIO(data))
    with archive:
        _check_members(archive.infolist())
        arrays, budget = {}, MAX_PARAMETERS
        for info in archive.infolist():
            key = info.filename[: -len(".npy")]
            with _damaged(f"the array {key!r}"), archive.open(info) as stream:
                arrays[key] = _read_member(stream, key, budget)
            budget -= getattr(arrays[key], "size", 1)
    return arrays


def _check_members(members: list[zipfile.ZipInfo]) -> None:
    """Names, count, compression and declared sizes, all from the zip directory alone."""
    if not members:
        raise ValueError(f"the archive is empty; {_SAVEZ}")
    if len(members) > _MAX_MEMBERS:
        raise ValueError(f"the archive holds {len(members)} entries; a state_dict has at most {_MAX_MEMBERS}")
    names = [info.filename for info in members]
    if any(name.endswith("data.pkl") for name in names):
        raise ValueError(f"this is a PyTorch checkpoint saved with torch.save: {_PICKLE_HINT}")
    for info in members:
        if not info.filename.endswith(".npy"):
            raise ValueError(f"the archive holds {info.filename!r:.60}, which is not a .npy array; {_SAVEZ}")
        if names.count(info.filename) > 1:
            raise ValueError(f"the archive holds {info.filename!r:.60} twice")
        if info.flag_bits & 0x1:
            raise ValueError(f"{info.filename!r:.60} is encrypted; {_SAVEZ}")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ValueError(f"{info.filename!r:.60} uses a compression rnnviz does not read; {_SAVEZ}")
    unpacked = sum(info.file_size for info in members)
    if unpacked > _MAX_UNPACKED_BYTES:
        raise ValueError(
            f"the archive unpacks to {unpacked:,} bytes, more than a state_dict of {MAX_PARAMETERS:,} parameters needs"
        )


def _read_member(stream, key: str, budget: int):
    """One .npy member: check its header's dtype and shape, then read exactly its data."""
    shape, fortran_order, dtype = _read_npy_header(stream, key)
    count = _check_member_type(key, shape, dtype, budget)
    raw = _read_exact(stream, count * dtype.itemsize)
    if stream.read(1):
        raise _Refused(f"the array {key!r} has more bytes than its header announces (corrupt)")
    if key in _TEXT_KEYS:
        encoding = "utf-32-be" if dtype.byteorder == ">" else "utf-32-le"
        return raw.decode(encoding).rstrip("\0")  # UnicodeDecodeError is a ValueError: "damaged"
    return np.frombuffer(raw, dtype).reshape(shape, order="F" if fortran_order else "C").astype(np.float64)


def _read_npy_header(stream, key: str) -> tuple[tuple, bool, np.dtype]:
    """(shape, fortran_order, dtype), reading at most _MAX_HEADER_BYTES of the member."""
    version = np.lib.format.read_magic(stream)
    if version not in ((1, 0), (2, 0)):
        raise _Refused(f"the array {key!r} uses .npy format version {version}; {_SAVEZ}")
    length_format = "<H" if version == (1, 0) else "<I"
    length_bytes = _read_exact(stream, struct.calcsize(length_format))
    (length,) = struct.unpack(length_format, length_bytes)
    if length > _MAX_HEADER_BYTES:
        raise _Refused(f"the array {key!r} has a {length:,}-byte header; a .npy header is a few hundred bytes")
    header = io.BytesIO(length_bytes + _read_exact(stream, length))
    read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    try:
        return read_header(header)
    # A justified catch-all, on one call parsing at most 10 kB in memory: on hostile headers numpy's
    # parser (ast.literal_eval, tokenize, np.dtype) raises ValueError, SyntaxError, TypeError,
    # IndexError, tokenize.TokenError, RecursionError and MemoryError (the parser's stack limit).
    except Exception:  # noqa: BLE001
        raise _Refused(f"the array {key!r} has a damaged .npy header") from None


def _read_exact(stream, size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise _Refused("the archive is truncated: an array has fewer bytes than its header announces")
    return data


def _check_member_type(key: str, shape: tuple, dtype: np.dtype, budget: int) -> int:
    """The number of values in the member, once its dtype and shape are known to be sane."""
    if key in _TEXT_KEYS:
        if dtype.kind != "U" or not 0 < dtype.itemsize <= _MAX_TEXT_BYTES or math.prod(shape) != 1:
            raise _Refused(f'"{key}" must be a short string saved as np.array("...")')
        return 1
    if dtype.kind not in "iuf":
        raise _Refused(f"{key} must hold real numbers, but {_describe_dtype(dtype)}")
    if len(shape) > 2:
        raise _Refused(f"{key} must be a matrix or a vector, got {len(shape)} dimensions {shape}")
    if any(n < 0 for n in shape):
        raise _Refused(f"{key} has a negative size {shape} in its header (corrupt)")
    count = math.prod(shape)
    if count > budget:
        raise _Refused(
            f"{key} has shape {shape}: the arrays hold more than the {MAX_PARAMETERS:,} parameters rnnviz accepts"
        )
    return count


def _describe_dtype(dtype: np.dtype) -> str:
    kinds = {
        "b": "it holds true/false values (bool)",
        "c": "it holds complex numbers",
        "O": f"it holds pickled Python objects, which rnnviz never loads (they can run code); {_SAVEZ}",
        "U": "it holds text",
        "S": "it holds bytes or text",
    }
    return kinds.get(dtype.kind, f"its values have the type {dtype}")


# .json: {"cell": ..., "nonlinearity": ..., ["bidirectional": true,] "state_dict": {key: nested lists}}


def _parse_json(data: bytes) -> tuple[dict[str, np.ndarray], str | None, str | None, bool | None]:
    doc = _read_json(data)
    if not isinstance(doc, dict):
        raise ValueError(f'expected a JSON object {{"cell": ..., "state_dict": {{...}}}}, got {_json_kind(doc)}')
    if "state_dict" not in doc:
        bare = any(_KEY.match(key) for key in doc)
        hint = ': put the arrays under a "state_dict" key' if bare else ""
        raise ValueError(f'missing key "state_dict"{hint}')
    unknown = sorted(set(doc) - set(_JSON_KEYS))
    if unknown:
        raise ValueError(
            f'unexpected key {unknown[0]!r:.40}; expected "cell", "nonlinearity", "bidirectional" and "state_dict"'
        )
    bidirectional = doc.get("bidirectional")
    if bidirectional is not None and not isinstance(bidirectional, bool):
        raise ValueError(f'"bidirectional" must be true or false, got {_json_kind(bidirectional)}')
    state_dict = doc["state_dict"]
    if not isinstance(state_dict, dict):
        raise ValueError(f'"state_dict" must be an object {{key: nested lists}}, got {_json_kind(state_dict)}')
    arrays = {key: _json_array(key, value) for key, value in state_dict.items()}
    cell = _choice(doc.get("cell"), "cell", CELLS)
    nonlinearity = _choice(doc.get("nonlinearity"), "nonlinearity", NONLINEARITIES)
    return arrays, cell, nonlinearity, bidirectional


def _read_json(data: bytes, limits: dict[bytes, int] = _MAX_JSON_TOKENS):
    for token, limit in limits.items():  # bounds the objects json.loads could build
        if data.count(token) > limit:
            raise ValueError(f"the file holds more than {limit:,} {token.decode()!r} characters: too big for weights")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError("the file is not UTF-8 text, so it is not a .json file") from None
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except _Refused:
        raise
    except json.JSONDecodeError as e:
        raise ValueError(f"not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}") from None
    except RecursionError:
        raise ValueError("the JSON is nested too deeply for a weights file") from None
    except ValueError:  # the only other one: an integer of more than 4300 digits
        raise ValueError("the JSON holds a number with far too many digits") from None


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    keys = [key for key, _ in pairs]
    for key in keys:
        if keys.count(key) > 1:
            raise _Refused(f"the key {key!r:.40} appears twice in one JSON object")
    return dict(pairs)


def _json_array(key: str, value) -> np.ndarray:
    """A bias is a list of numbers; a weight is a list of rows, each a list of numbers, all equally long."""
    if isinstance(value, list) and value and isinstance(value[0], list):
        for i, row in enumerate(value):
            _check_numbers(f"{key} row {i}", row)
            if len(row) != len(value[0]):
                raise ValueError(f"{key}: row {i} has {len(row)} numbers but row 0 has {len(value[0])}")
    else:
        _check_numbers(key, value)
    try:
        return np.array(value, dtype=np.float64)
    except OverflowError:
        raise ValueError(f"{key} holds a number too large for float64") from None


def _check_numbers(what: str, value) -> None:
    if not isinstance(value, list):
        raise ValueError(f"{what} must be a list of numbers, got {_json_kind(value)}")
    bad = [x for x in value if type(x) not in (int, float)]  # bool is refused too
    if bad:
        raise ValueError(f"{what} must be a list of numbers, but holds {_json_kind(bad[0])}")


def _json_kind(value) -> str:
    if isinstance(value, bool):
        return "true/false"
    kinds = {type(None): "null", str: "a string", dict: "an object", list: "a list", int: "a number", float: "a number"}
    return kinds.get(type(value), type(value).__name__)
