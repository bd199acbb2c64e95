"""load_weights / dump_weights: exact round trips, torch's np.savez layout, and hostile files.

Every hostile file is generated here. Each must raise ValueError with a message naming the
problem, never another exception, and never inflate anything big into memory. Random bytes,
damaged archives and random JSON: the property tests in test_hardening_parsers.py.
"""

import io
import json
import struct
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

from rnnviz import LayerParams, Params, dump_weights, from_state_dict, init_params, load_weights, to_state_dict
from rnnviz.engine.cells import NONLINEARITIES
from rnnviz.engine.weights import MAX_FILE_BYTES, MAX_PARAMETERS

D, H = 3, 4  # all sizes differ, so a transposed matrix fails loudly
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "torch"


def state_dict(cell: str = "rnn", num_layers: int = 1, bidirectional: bool = False, **changes) -> dict:
    """A valid state_dict with some entries replaced (None deletes the key)."""
    sd = to_state_dict(init_params(cell, D, H, num_layers, seed=1, bidirectional=bidirectional))
    sd.update(changes)
    return {k: v for k, v in sd.items() if v is not None}


def npz(arrays: dict) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # savez pickles object arrays, which is what a hostile file would do
    return buffer.getvalue()


def js(doc) -> bytes:
    return json.dumps(doc).encode()


def json_doc(cell: str = "rnn", **changes) -> dict:
    return {"cell": cell, "state_dict": {k: v.tolist() for k, v in state_dict(cell, **changes).items()}}


def npy(header: str, data: bytes = b"", version: int = 1) -> bytes:
    """A .npy member written by hand, so its header can say anything."""
    text = header.encode("latin1") + b"\n"
    length = struct.pack("<H" if version == 1 else "<I", len(text))
    return b"\x93NUMPY" + bytes([version, 0]) + length + text + data


def f8_header(shape: tuple) -> str:
    return f"{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}"


def zip_entry(name: str, data: bytes, *, deflate=False, size=None, crc=None, flags=0) -> tuple:
    """(name, stored bytes, declared size, crc, method, flags): size and crc may lie."""
    stored = zlib.compress(data)[2:-4] if deflate else data  # raw deflate stream
    declared = len(data) if size is None else size
    return (name, stored, declared, zlib.crc32(data) if crc is None else crc, 8 if deflate else 0, flags)


def build_zip(entries: list[tuple]) -> bytes:
    """A zip archive assembled byte by byte (zipfile would refuse to write the lies)."""
    body, directory = b"", b""
    for name, stored, size, crc, method, flags in entries:
        n = name.encode()
        fields = (flags, method, 0, 0, crc, len(stored), size, len(n))  # time and date 0
        local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, *fields, 0)
        directory += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, *fields, 0, 0, 0, 0, 0, len(body)) + n
        body += local + n + stored
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(directory), len(body), 0)
    return body + directory + end


def one_member(payload: bytes, name: str = "weight_hh_l0.npy", **lies) -> bytes:
    return build_zip([zip_entry(name, payload, **lies)])


def sd_npz(*args, **changes) -> bytes:
    return npz(state_dict(*args, **changes))


def sd_json(state_dict: dict) -> bytes:
    return js({"state_dict": state_dict})


def with_member(data: bytes, name: str, payload: bytes) -> bytes:
    """A valid rnn .npz plus one extra member."""
    buffer = io.BytesIO(data)
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr(name, payload)
    return buffer.getvalue()


def flip_byte(data: bytes, offset: int) -> bytes:
    return data[:offset] + bytes([data[offset] ^ 0xFF]) + data[offset + 1 :]


def deflated_zeros(prefix: bytes, n_zeros: int) -> tuple[bytes, int]:
    """Raw deflate of prefix + n_zeros zero bytes, and its crc, without ever holding the zeros."""
    compressor, chunk = zlib.compressobj(9, zlib.DEFLATED, -15), bytes(2**20)
    parts, crc = [compressor.compress(prefix)], zlib.crc32(prefix)
    for _ in range(n_zeros // len(chunk)):
        parts.append(compressor.compress(chunk))
        crc = zlib.crc32(chunk, crc)
    return b"".join(parts) + compressor.flush(), crc


GOOD_NPZ = npz(state_dict("rnn"))
GOOD_JSON = js(json_doc("rnn"))
RNN_ARRAYS = state_dict("rnn")
LSTM_ARRAYS = state_dict("lstm")
BOMB_HEADER = npy(f8_header((10,)), bytes(80))
BIDI_ARRAYS = state_dict("rnn", 2, bidirectional=True)
BIDI_DOC = {"cell": "rnn", "state_dict": {k: v.tolist() for k, v in BIDI_ARRAYS.items()}}
REVERSE_L0_ONLY = npz({k: v for k, v in BIDI_ARRAYS.items() if not k.endswith("_l1_reverse")})
ONLY_REVERSE_L1 = npz({k: v for k, v in BIDI_ARRAYS.items() if not k.endswith("_l1")})


# (id, file name, bytes, a substring the message must hold)
Z = np.zeros
F8 = f8_header
JSON_SD = json_doc()["state_dict"]

# (id, file name, bytes (or a function making big ones), a regex the message must match)
HOSTILE = [
    # the file as a whole
    ("empty npz", "w.npz", b"", "empty"),
    ("empty json", "w.json", b"", "empty"),
    ("text as npz", "w.npz", b"hello, this is not a zip", "damaged"),
    ("truncated npz", "w.npz", GOOD_NPZ[: len(GOOD_NPZ) // 2], "damaged"),
    ("npz cut before directory end", "w.npz", GOOD_NPZ[:-5], "damaged"),
    ("npz byte flipped in data", "w.npz", flip_byte(GOOD_NPZ, 200), "damaged"),
    ("too big", "w.npz", lambda: bytes(MAX_FILE_BYTES + 1), "bytes"),
    ("pickle renamed npz", "w.npz", b"\x80\x04\x95" + bytes(40), "damaged"),
    ("torch.save zip", "w.npz", one_member(b"\x80\x02}q\x00.", "archive/data.pkl"), "torch.save"),
    ("zip without entries", "w.npz", build_zip([]), "empty"),
    ("too many directory signatures", "w.npz", b"PK\x01\x02" * 600, "too many entries"),
    ("too many members", "w.npz", npz({f"x{i}": Z(1) for i in range(140)}), "140 entries"),
    ("member not .npy", "w.npz", with_member(GOOD_NPZ, "notes.txt", b"hi"), "not a .npy"),
    ("member twice", "w.npz", build_zip([zip_entry("weight_hh_l0.npy", b"x")] * 2), "twice"),
    ("encrypted member", "w.npz", one_member(b"x", flags=1), "encrypted"),
    ("bzip2 member", "w.npz", build_zip([zip_entry("weight_hh_l0.npy", b"x")[:4] + (12, 0)]), "compression"),
    ("member not npy inside", "w.npz", one_member(b"not an array"), "damaged"),
    ("npy format 3.0", "w.npz", one_member(npy(F8((4, 4)), version=3)), "version"),
    ("oversized npy header", "w.npz", one_member(b"\x93NUMPY\x02\x00\xff\xff\xff\x7f"), "-byte header"),
    ("npy header gibberish", "w.npz", one_member(npy("{{'descr': ((), (2,3))}}")), "damaged .npy header"),
    ("npy header deeply nested", "w.npz", one_member(npy("-" * 9000 + "1")), "damaged .npy header"),
    ("negative shape", "w.npz", one_member(npy(F8((-4, 4)))), "negative"),
    ("member shorter than header", "w.npz", one_member(npy(F8((4, 4)), bytes(8))), "truncated"),
    ("member longer than header", "w.npz", one_member(npy(F8((1,)), bytes(16))), "more bytes"),
    ("wrong crc", "w.npz", one_member(npy(F8((1,)), bytes(8)), crc=1), "damaged"),
    ("declared huge array", "w.npz", one_member(npy(F8((10**12,)))), "4,000,000 parameters"),
    ("declared huge matrix", "w.npz", one_member(npy(F8((10**6, 10**6)))), "4,000,000 parameters"),
    # dtypes and values
    ("pickled object array", "w.npz", sd_npz(weight_hh_l0=np.array([{"a": 1}], dtype=object)), "pickled"),
    ("string array", "w.npz", sd_npz(bias_ih_l0=np.array(["1", "2", "3", "4"])), "text"),
    ("complex array", "w.npz", sd_npz(bias_ih_l0=np.ones(H, complex)), "complex"),
    ("bool array", "w.npz", sd_npz(bias_ih_l0=np.ones(H, bool)), "bool"),
    ("datetime array", "w.npz", sd_npz(bias_ih_l0=Z(H, "M8[s]")), "type"),
    ("structured array", "w.npz", sd_npz(bias_ih_l0=Z(H, "f8,f8")), "real numbers"),
    ("NaN", "w.npz", sd_npz(bias_ih_l0=np.full(H, np.nan)), "NaN"),
    ("inf", "w.npz", sd_npz(weight_hh_l0=np.full((H, H), np.inf)), "infinite"),
    ("float16 inf", "w.npz", sd_npz(bias_hh_l0=np.full(H, np.inf, np.float16)), "infinite"),
    # keys, layers and shapes
    ("missing weight_ih_l0", "w.npz", sd_npz(weight_ih_l0=None), "missing key weight_ih_l0"),
    ("missing weight_hh_l0", "w.npz", sd_npz(weight_hh_l0=None), "weight_hh_l0"),
    ("unknown key", "w.npz", sd_npz(foo=Z(1)), "unexpected key 'foo'"),
    ("reverse key without its pair", "w.npz", sd_npz(weight_hh_l0_reverse=Z((H, H))), "missing key weight_ih_l0_rev"),
    ("reverse keys for layer 0 only", "w.npz", REVERSE_L0_ONLY, "'_reverse' keys for every layer.*not for layer 1"),
    ("only reverse keys in layer 1", "w.npz", ONLY_REVERSE_L1, "layer 1 has only '_reverse' keys"),
    ("reverse key of a missing layer", "w.npz", sd_npz(weight_hh_l2_reverse=Z((H, H))), "layer 1 is missing"),
    ("reverse layer 1 reads H inputs", "w.npz", npz(BIDI_ARRAYS | {"weight_ih_l1": Z((H, H))}), "must have 8 columns"),
    ("reverse weight_hh shape", "w.npz", npz(BIDI_ARRAYS | {"weight_hh_l0_reverse": Z((H, D))}), "hh_l0_reverse"),
    ("17 bidirectional layers", "w.npz", npz(state_dict("rnn", 17, bidirectional=True)), "at most 130"),
    ("misspelt reverse suffix", "w.npz", sd_npz(weight_hh_l0_backward=Z((H, H))), "unexpected key"),
    ("gate multiple 2", "w.npz", sd_npz(weight_hh_l0=Z((2 * H, H))), "gate multiple of 2"),
    ("rows not a multiple", "w.npz", sd_npz(weight_hh_l0=Z((H + 1, H))), "cannot tell the cell"),
    ("cell contradicts shapes", "w.npz", npz({**RNN_ARRAYS, "cell": np.array("lstm")}), "says the cell is 'lstm'"),
    ("unknown cell", "w.npz", npz({**RNN_ARRAYS, "cell": np.array("transformer")}), '"cell" must be one of'),
    ("numeric cell entry", "w.npz", npz({**RNN_ARRAYS, "cell": np.array(4)}), '"cell" must be a short string'),
    ("huge cell string", "w.npz", npz({**RNN_ARRAYS, "cell": np.array("x" * 1000)}), '"cell" must be a short'),
    ("unknown nonlinearity", "w.npz", npz({**RNN_ARRAYS, "nonlinearity": np.array("softmax")}), '"nonlinearity"'),
    ("relu lstm", "w.npz", npz({**LSTM_ARRAYS, "nonlinearity": np.array("relu")}), "only be chosen for the 'rnn'"),
    ("hidden size 0", "w.npz", sd_npz(weight_hh_l0=Z((0, 0))), "weight_hh_l0"),
    ("input size 0", "w.npz", sd_npz(weight_ih_l0=Z((H, 0))), "D >= 1"),
    ("1-d weight_ih", "w.npz", sd_npz(weight_ih_l0=Z(H)), r"weight_ih_l0 must be a \(1\*H, D\) matrix"),
    ("3-d weight", "w.npz", sd_npz(weight_ih_l0=Z((H, D, 2))), "3 dimensions"),
    ("0-d weight_hh", "w.npz", sd_npz(weight_hh_l0=np.float64(1.0)), "weight_hh_l0"),
    ("bias of wrong length", "w.npz", sd_npz(bias_ih_l0=Z(H + 1)), "bias_ih_l0"),
    ("weight_ih rows wrong", "w.npz", sd_npz(weight_ih_l0=Z((H + 1, D))), "weight_ih_l0"),
    ("17 layers", "w.npz", sd_npz(weight_ih_l16=Z((H, H)), weight_hh_l16=Z((H, H))), "more than the 16"),
    ("layer 1 missing", "w.npz", sd_npz(weight_ih_l2=Z((H, H)), weight_hh_l2=Z((H, H))), "layer 1 is missing"),
    ("layer 1 weight_ih columns", "w.npz", sd_npz("gru", 2, weight_ih_l1=Z((3 * H, D))), "weight_ih_l1 must have 4"),
    ("layer 1 other hidden size", "w.npz", sd_npz("rnn", 2, weight_hh_l1=Z((H + 1, H + 1))), "weight_hh_l1"),
    # .json
    ("not utf-8", "w.json", b'{"cell": "\xff\xfe"}', "UTF-8"),
    ("not json", "w.json", b"hello", "not valid JSON"),
    ("json truncated", "w.json", GOOD_JSON[:-20], "not valid JSON"),
    ("json top-level list", "w.json", b"[1, 2, 3]", "expected a JSON object"),
    ("json top-level null", "w.json", b"null", "got null"),
    ("json bare state_dict", "w.json", js(JSON_SD), 'under a "state_dict" key'),
    ("json unknown top key", "w.json", js({**json_doc(), "meta": 1}), "unexpected key 'meta'"),
    ("json state_dict a list", "w.json", js({"state_dict": [1, 2]}), '"state_dict" must be an object'),
    ("json empty state_dict", "w.json", sd_json({}), "weight_hh_l0"),
    (
        "json string value",
        "w.json",
        sd_json({"bias_ih_l0": "1,2"}),
        "bias_ih_l0 must be a list of numbers, got a string",
    ),
    ("json null value", "w.json", sd_json({"bias_ih_l0": None}), "got null"),
    ("json dict value", "w.json", sd_json({"bias_ih_l0": {"a": 1}}), "got an object"),
    ("json null in list", "w.json", sd_json({"bias_ih_l0": [1, None]}), "holds null"),
    ("json bool in list", "w.json", sd_json({"bias_ih_l0": [True, 1.0]}), "true/false"),
    ("json ragged rows", "w.json", sd_json({"weight_hh_l0": [[1, 2], [3]]}), "row 1 has 1 numbers"),
    ("json 3-d list", "w.json", sd_json({"weight_hh_l0": [[[1]]]}), "row 0 must be a list of numbers"),
    ("json mixed rows", "w.json", sd_json({"weight_hh_l0": [[1], 2]}), "row 1 must be a list"),
    ("json 1e400", "w.json", sd_json({**JSON_SD, "bias_hh_l0": [7.5] * H}).replace(b"7.5", b"1e400"), "infinite"),
    ("json Infinity literal", "w.json", sd_json({**JSON_SD, "bias_ih_l0": [float("inf")] * H}), "infinite"),
    ("json NaN literal", "w.json", sd_json({**JSON_SD, "bias_ih_l0": [float("nan")] * H}), "NaN"),
    ("json huge integer", "w.json", b'{"state_dict": {"bias_ih_l0": [1' + b"0" * 400 + b"]}}", "too large"),
    ("json 5000 digits", "w.json", b'{"state_dict": {"bias_ih_l0": [' + b"9" * 5000 + b"]}}", "too many digits"),
    ("json nested 5000 lists", "w.json", b"[" * 5000 + b"]" * 5000, "nested too deeply"),
    ("json nested 5000 objects", "w.json", b'{"a":' * 5000 + b"1" + b"}" * 5000, "'{' characters"),
    ("json too many numbers", "w.json", lambda: b"[" + b"0," * (MAX_PARAMETERS + 200_001) + b"0]", "',' characters"),
    ("json too many strings", "w.json", b"[" + b'"a",' * 2000 + b"0]", "characters"),
    ("json duplicate key", "w.json", b'{"state_dict": {}, "state_dict": {}}', "appears twice"),
    ("json cell contradicts", "w.json", js({**json_doc("gru"), "cell": "lstm"}), "says the cell is 'lstm'"),
    ("json cell a number", "w.json", js({**json_doc(), "cell": 1}), '"cell" must be one of'),
    ("json says bidirectional", "w.json", js({**json_doc(), "bidirectional": True}), "has no '_reverse' keys"),
    ("json denies bidirectional", "w.json", js({**BIDI_DOC, "bidirectional": False}), "has '_reverse' keys"),
    ("json bidirectional a string", "w.json", js({**json_doc(), "bidirectional": "yes"}), "true or false"),
    ("json empty lists", "w.json", sd_json({"weight_ih_l0": [], "weight_hh_l0": []}), "weight_hh_l0"),
    ("json missing layer 0", "w.json", sd_json({"weight_ih_l1": [[1]], "weight_hh_l1": [[1]]}), "weight_hh_l0"),
    # file names
    ("torch .pt", "model.pt", GOOD_NPZ, r"save_file\(torch.load\('model.pt'\), 'model.safetensors'\)"),
    ("lightning .ckpt", "m.ckpt", GOOD_NPZ, r"save_file\(torch.load\('model.ckpt'\)\['state_dict'\], "),
    ("torch .pth", "C:\\models\\model.pth", GOOD_NPZ, "^model.pth: unsupported file type"),
    ("pickle", "w.pkl", b"\x80\x04.", "pickle"),
    ("single .npy", "w.npy", b"\x93NUMPY", "single array"),
    ("text file", "w.txt", b"1 2 3", ".npz, .json, .safetensors, .onnx, .keras or .h5"),
    ("no extension", "weights", GOOD_NPZ, ".npz, .json, .safetensors, .onnx, .keras or .h5"),
]

BAD_ARGUMENTS = [
    ("filename None", GOOD_NPZ, None, "file name"),
    ("filename a number", GOOD_NPZ, 123, "file name"),
    ("filename empty", GOOD_NPZ, "", "file name"),
    ("data a str", "not bytes", "w.npz", "bytes"),
    ("data None", None, "w.json", "bytes"),
]


@pytest.mark.parametrize("name, data, match", [c[1:] for c in HOSTILE], ids=[c[0] for c in HOSTILE])
def test_hostile_file_is_refused_with_a_clear_message(name, data, match):
    with pytest.raises(ValueError, match=match) as info:
        load_weights(data() if callable(data) else data, name)
    assert "Traceback" not in str(info.value)
    assert info.value.__cause__ is None  # raised "from None": the page shows one clean message


@pytest.mark.parametrize("data, filename, match", [c[1:] for c in BAD_ARGUMENTS], ids=[c[0] for c in BAD_ARGUMENTS])
def test_bad_arguments_are_refused(data, filename, match):
    with pytest.raises(ValueError, match=match):
        load_weights(data, filename)


def test_there_are_many_distinct_hostile_cases():
    assert len({c[0] for c in HOSTILE}) == len(HOSTILE) >= 35


def test_message_names_the_file():
    with pytest.raises(ValueError, match=r"^weights\.npz: .*damaged"):
        load_weights(GOOD_NPZ[:100], "uploads/weights.npz")


# Round trips


CONFIGS = [("rnn", nonlinearity) for nonlinearity in NONLINEARITIES] + [("lstm", "tanh"), ("gru", "tanh")]


@pytest.mark.parametrize("fmt", ["npz", "json"])
@pytest.mark.parametrize("num_layers", [1, 2, 3])
@pytest.mark.parametrize("cell, nonlinearity", CONFIGS)
def test_round_trip_is_exact(cell, nonlinearity, num_layers, fmt):
    params = init_params(cell, D, H, num_layers, nonlinearity=nonlinearity, seed=num_layers)
    loaded = load_weights(dump_weights(params, fmt), f"w.{fmt}")
    assert loaded == params
    assert (loaded.cell, loaded.nonlinearity, loaded.num_layers) == (cell, nonlinearity, num_layers)


@pytest.mark.parametrize("fmt", ["npz", "json"])
@pytest.mark.parametrize("num_layers", [1, 2, 3])
@pytest.mark.parametrize("cell, nonlinearity", CONFIGS)
def test_bidirectional_round_trip_is_exact(cell, nonlinearity, num_layers, fmt):
    params = init_params(cell, D, H, num_layers, nonlinearity=nonlinearity, seed=num_layers, bidirectional=True)
    data = dump_weights(params, fmt)
    loaded = load_weights(data, f"w.{fmt}")
    assert loaded == params and loaded.bidirectional
    assert (loaded.cell, loaded.nonlinearity, loaded.num_layers, len(loaded.layers)) == (
        cell,
        nonlinearity,
        num_layers,
        2 * num_layers,
    )
    if fmt == "json":
        doc = json.loads(data)
        assert doc["bidirectional"] is True
        del doc["bidirectional"]  # the keys alone tell it
        assert load_weights(js(doc), "w.json") == params


def test_bidirectional_keys_come_in_torchs_order():
    params = init_params("lstm", D, H, 2, seed=4, bidirectional=True)
    names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    torch_order = [f"{n}_l{k}{s}" for k in range(2) for s in ("", "_reverse") for n in names]
    assert list(to_state_dict(params)) == torch_order
    assert list(json.loads(dump_weights(params, "json"))["state_dict"]) == torch_order
    assert to_state_dict(params)["weight_ih_l1_reverse"].shape == (4 * H, 2 * H)
    assert "bidirectional" not in json.loads(dump_weights(init_params("lstm", D, H), "json"))  # as before


def test_the_largest_bidirectional_network_fits_the_member_cap():
    params = init_params("rnn", 1, 1, 16, bidirectional=True)  # 16 layers x 2 directions x 4 arrays + 2 entries
    assert load_weights(dump_weights(params, "npz"), "w.npz") == params
    with pytest.raises(ValueError, match="17 layers"):
        dump_weights(init_params("rnn", 1, 1, 17, bidirectional=True), "npz")


@pytest.mark.parametrize("fmt", ["npz", "json"])
def test_round_trip_keeps_extreme_floats_bit_for_bit(fmt):
    extremes = np.array([5e-324, -2.2250738585072014e-308, 1.7976931348623157e308, 0.1, 1 / 3, -0.0, 1e-300])
    W_hh = np.resize(extremes, (H, H))
    layer = LayerParams(np.resize(extremes[::-1], (H, 1)), W_hh, extremes[:H].copy(), extremes[-H:].copy())
    params = Params("rnn", (layer,))
    loaded = load_weights(dump_weights(params, fmt), f"w.{fmt}")
    assert loaded == params  # exact: both formats keep every bit (JSON writes shortest round-trip reprs)
    assert loaded.layers[0].W_hh.tobytes() == W_hh.tobytes()  # even the sign of -0.0


def test_json_dump_is_the_documented_layout():
    params = init_params("gru", D, H, 2, seed=3)
    doc = json.loads(dump_weights(params, "json"))
    assert doc["cell"] == "gru" and doc["nonlinearity"] == "tanh"
    assert doc["state_dict"]["weight_ih_l1"] == params.layers[1].W_ih.tolist()


def test_npz_dump_holds_torch_keys_and_string_entries():
    params = init_params("lstm", D, H, 2, seed=3)
    with np.load(io.BytesIO(dump_weights(params, "npz")), allow_pickle=False) as archive:
        assert archive["cell"].shape == () and archive["cell"].dtype.kind == "U" and str(archive["cell"]) == "lstm"
        assert str(archive["nonlinearity"]) == "tanh"
        np.testing.assert_array_equal(archive["bias_hh_l1"], params.layers[1].b_hh)  # exact: stored as float64
        assert set(archive.files) == set(to_state_dict(params)) | {"cell", "nonlinearity"}


@pytest.mark.parametrize("fmt", ["pt", "NPZ", "", None, ".npz"])
def test_dump_refuses_unknown_formats(fmt):
    with pytest.raises(ValueError, match="unknown weights format"):
        dump_weights(init_params("rnn", 1, 1), fmt)


def test_dump_refuses_what_load_would_refuse():
    params = init_params("rnn", D, H)
    params.layers[0].W_hh[0, 0] = np.nan  # Params does not check values, only shapes
    with pytest.raises(ValueError, match="NaN"):
        dump_weights(params, "json")
    with pytest.raises(ValueError, match="layers"):
        dump_weights(init_params("rnn", 1, 1, 17), "npz")
    with pytest.raises(ValueError, match="Params"):
        dump_weights({"weight_hh_l0": np.zeros((1, 1))}, "npz")


# Files as PyTorch users write them


def torch_layout(cell: str, num_layers: int, bias: bool = True) -> dict:
    """What np.savez(f, **{k: v.numpy() for k, v in model.state_dict().items()}) writes: float32, torch's key order."""
    G = {"rnn": 1, "gru": 3, "lstm": 4}[cell]
    rng = np.random.default_rng(7)
    sd = {}
    for k in range(num_layers):
        sd[f"weight_ih_l{k}"] = rng.standard_normal((G * H, D if k == 0 else H)).astype(np.float32)
        sd[f"weight_hh_l{k}"] = rng.standard_normal((G * H, H)).astype(np.float32)
        if bias:
            sd[f"bias_ih_l{k}"] = rng.standard_normal(G * H).astype(np.float32)
            sd[f"bias_hh_l{k}"] = rng.standard_normal(G * H).astype(np.float32)
    return sd


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_torch_savez_layout_loads_with_the_inferred_cell(cell):
    sd = torch_layout(cell, num_layers=2)
    params = load_weights(npz(sd), "my_model.npz")
    assert (params.cell, params.nonlinearity, params.num_layers, params.hidden_size) == (cell, "tanh", 2, H)
    assert params == from_state_dict({k: v.astype(np.float64) for k, v in sd.items()}, cell)
    assert params.layers[0].W_ih.dtype == np.float64 and params.layers[0].W_ih.flags.writeable


def test_torch_bidirectional_fixture_loads_from_its_savez_layout():
    """A real torch bidirectional state_dict (from the fixtures), saved the way a torch user would."""
    with np.load(FIXTURES / "gru_L2bi_T5_unb_D2H3_h0_nobias_up-all.npz", allow_pickle=False) as f:
        sd = {k[3:]: f[k].astype(np.float32) for k in f.files if k.startswith("sd.")}
    assert list(sd)[4:6] == ["weight_ih_l1", "weight_hh_l1"] and len(sd) == 8  # no biases: bias=False
    params = load_weights(npz(sd), "bigru.npz")
    assert params.bidirectional and (params.cell, params.num_layers, params.hidden_size) == ("gru", 2, 3)
    assert params == from_state_dict({k: v.astype(np.float64) for k, v in sd.items()})
    assert not params.layers[3].b_ih.any()


def test_torch_layout_without_biases_means_zero_biases():
    params = load_weights(npz(torch_layout("lstm", 1, bias=False)), "w.npz")
    assert params.cell == "lstm" and not params.layers[0].b_ih.any() and not params.layers[0].b_hh.any()


def test_compressed_fortran_big_endian_integer_arrays_load():
    sd = {k: np.asfortranarray(v.astype(">f4")) for k, v in torch_layout("gru", 1).items()}
    sd["bias_hh_l0"] = np.arange(3 * H, dtype=np.int16)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **sd)
    params = load_weights(buffer.getvalue(), "w.NPZ")
    # exact: float32 and int16 values widen to float64 without rounding
    np.testing.assert_array_equal(params.layers[0].W_hh, sd["weight_hh_l0"].astype(np.float64))
    np.testing.assert_array_equal(params.layers[0].b_hh, np.arange(3 * H))


def test_json_without_cell_infers_it_and_accepts_a_byte_order_mark():
    doc = json_doc("lstm")
    del doc["cell"]
    params = load_weights(b"\xef\xbb\xbf" + js(doc), "w.json")
    assert params == from_state_dict(state_dict("lstm"), "lstm")


# Zip bombs: refused before anything big is inflated


def peak_bytes_while_loading(data: bytes, match: str) -> int:
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=match):
            load_weights(data, "bomb.npz")
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_member_declaring_a_huge_array_is_refused_without_allocating():
    data = build_zip([zip_entry("weight_hh_l0.npy", npy(f8_header((2**40, 2**20))))])
    assert len(data) < 300
    assert peak_bytes_while_loading(data, "parameters") < 2**20


def test_member_inflating_to_100_mb_is_refused_without_inflating():
    n_zeros = 100 * 2**20  # past the 65 MB an .npz may unpack to
    stored, crc = deflated_zeros(BOMB_HEADER, n_zeros)
    honest = build_zip([("weight_hh_l0.npy", stored, len(BOMB_HEADER) + n_zeros, crc, 8, 0)])
    lying = build_zip([("weight_hh_l0.npy", stored, len(BOMB_HEADER), crc, 8, 0)])  # size understated
    assert len(honest) < 2**20
    assert peak_bytes_while_loading(honest, "unpacks to") < 2**20
    assert peak_bytes_while_loading(lying, "damaged") < 2**20


def test_declared_array_past_the_end_of_a_deflated_member_is_refused():
    stored, crc = deflated_zeros(npy(f8_header((MAX_PARAMETERS + 1,))), 2**20)
    data = build_zip([("weight_hh_l0.npy", stored, 2**20, crc, 8, 0)])
    assert peak_bytes_while_loading(data, "parameters") < 2**20
