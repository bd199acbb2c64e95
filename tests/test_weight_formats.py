"""Weights files from other frameworks: .safetensors, .onnx, .keras and .h5 (rnnviz/engine/formats/).

Correct means equal to the framework that wrote the file: scripts/make_format_fixtures.py saved
networks with torch 2.13 (safetensors, ``torch.onnx.export``) and Keras 3 (torch backend,
``model.save`` as .keras and .h5), and the frameworks' own float32 outputs beside them (and
onnxruntime's, for the .onnx files). Here ``rnnviz.forward`` on the loaded weights must give
those outputs. Every hostile file is generated here; each must raise ValueError with a message
naming the problem, never another exception, and never read anything big into memory.
"""

from __future__ import annotations

import io
import json
import struct
import sys
import tracemalloc
import warnings
import zipfile
from pathlib import Path

import h5py
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import rnnviz
from rnnviz import dump_weights, from_state_dict, init_params, load_weights, to_state_dict
from rnnviz.engine.cells import NONLINEARITIES
from rnnviz.engine.formats import hdf5_file, onnx_wire

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "formats"
HOSTILE_FIXTURES = FIXTURES.parent / "hostile"  # files found by fuzzing that break the HDF5 library
MANIFEST = json.loads((FIXTURES / "cases.json").read_text())
CASES = [(c, name) for c in MANIFEST["cases"] for name in c["files"]]
REFUSED = [(c, name) for c in MANIFEST["refused"] for name in c["files"]]
# The frameworks compute in float32 (relative precision 6e-8) and rnnviz in float64 on the same
# float32 weights: their difference adds up over 6 steps and 2 layers, relative to the values' size.
FLOAT32_RTOL = 1e-6  # float32 fixtures: the frameworks ran in float32, rnnviz in float64
D, H = 3, 4


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def relative_error(got: np.ndarray, ref: np.ndarray) -> float:
    assert got.shape == ref.shape, f"shape {got.shape} != the framework's {ref.shape}"
    return float(np.max(np.abs(got - ref) / np.maximum(1.0, np.abs(ref))))


def rounded_to_float32(params: rnnviz.Params) -> rnnviz.Params:
    sd = {k: v.astype(np.float32).astype(np.float64) for k, v in to_state_dict(params).items()}
    return from_state_dict(sd, params.cell, params.nonlinearity)


# Files written by the frameworks


@pytest.mark.parametrize("case, name", CASES, ids=[name for _, name in CASES])
def test_loaded_weights_give_the_frameworks_outputs(case, name):
    with np.load(FIXTURES / f"{case['name']}.npz", allow_pickle=False) as f:
        a = {k: f[k] for k in f.files}
    params = load_weights(fixture(name), name)
    cell, _, nonlinearity = case["kind"].partition("_")
    assert (params.cell, params.nonlinearity) == (cell, nonlinearity or "tanh")
    assert (params.num_layers, params.bidirectional, params.hidden_size) == (
        case["num_layers"],
        case["bidirectional"],
        case["H"],
    )
    trace = rnnviz.forward(params, a["x"].astype(np.float64), a.get("h0"), a.get("c0"))
    errors = {"output": relative_error(trace.output, a["output"])}
    for key, got in (("h_n", trace.h_n), ("c_n", trace.c_n)):
        if key in a:
            errors[key] = relative_error(got, a[key])
        if f"ort.{key}" in a:
            errors[f"ort.{key}"] = relative_error(got, a[f"ort.{key}"])
    if "ort.output" in a:
        errors["ort.output"] = relative_error(trace.output, a["ort.output"])
    assert max(errors.values()) <= FLOAT32_RTOL, errors
    sd = {k[3:]: v.astype(np.float64) for k, v in a.items() if k.startswith("sd.")}
    if sd:  # torch's own state_dict, float32 values: the file gives exactly those
        assert params == from_state_dict(sd, cell, nonlinearity or "tanh")


@pytest.mark.parametrize("case, name", REFUSED, ids=[name for _, name in REFUSED])
def test_files_rnnviz_cannot_show_are_refused_with_a_reason(case, name):
    with pytest.raises(ValueError, match=case["match"]) as info:
        load_weights(fixture(name), name)
    assert str(info.value).startswith(f"{name}: ") and info.value.__cause__ is None


def test_fixtures_cover_every_cell_format_and_layout():
    kinds = {"rnn_tanh", "rnn_relu", "lstm", "gru"}
    for extension in ("safetensors", "onnx", "keras", "h5"):
        cases = [c for c, name in CASES if name.endswith(f".{extension}")]
        assert {c["kind"] for c in cases} == kinds, extension
        assert {c["num_layers"] for c in cases} >= {1, 2}, extension
        assert any(c["bidirectional"] for c in cases), extension
    assert any(c.get("head") for c, _ in CASES) and any(c.get("functional") for c, _ in CASES)
    assert {name.rsplit(".", 1)[1] for _, name in REFUSED} == {"keras", "h5"}
    on_disk = {p.name for p in FIXTURES.iterdir() if p.name != "cases.json"}
    listed = {name for _, name in CASES + REFUSED} | {f"{c['name']}.npz" for c in MANIFEST["cases"]}
    assert on_disk == listed


def test_a_relu_rnn_state_dict_needs_its_nonlinearity_in_the_metadata():
    """A torch state_dict does not say relu or tanh: without metadata a relu RNN loads as tanh (torch's default)."""
    data = fixture("torch_rnn_relu_L1_D3H4.safetensors")
    assert load_weights(data, "w.safetensors").nonlinearity == "relu"
    from safetensors.numpy import load, save

    assert load_weights(save(load(data)), "w.safetensors").nonlinearity == "tanh"


# Round trips


CONFIGS = [("rnn", nl) for nl in NONLINEARITIES] + [("lstm", "tanh"), ("gru", "tanh")]


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("cell, nonlinearity", CONFIGS)
def test_safetensors_round_trip_is_exact(cell, nonlinearity, num_layers, bidirectional):
    params = init_params(cell, D, H, num_layers, nonlinearity=nonlinearity, seed=5, bidirectional=bidirectional)
    assert load_weights(dump_weights(params, "safetensors"), "w.safetensors") == params


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("cell, nonlinearity", CONFIGS)
def test_onnx_round_trip_is_exact_in_float32(cell, nonlinearity, num_layers, bidirectional):
    params = init_params(cell, D, H, num_layers, nonlinearity=nonlinearity, seed=5, bidirectional=bidirectional)
    data = dump_weights(params, "onnx")
    onnx.checker.check_model(onnx.load_from_string(data), full_check=True)
    loaded = load_weights(data, "w.onnx")
    assert loaded == rounded_to_float32(params)  # .onnx is float32: what onnxruntime runs
    assert load_weights(dump_weights(loaded, "onnx"), "w.onnx") == loaded


def test_safetensors_export_has_torchs_keys_and_shapes():
    """What nn.GRU.load_state_dict(strict=True) checks: the keys and shapes of torch's own file."""
    from safetensors.numpy import load

    torch_file = load(fixture("torch_gru_L2bi_D3H4.safetensors"))
    ours = load(dump_weights(load_weights(fixture("torch_gru_L2bi_D3H4.safetensors"), "w.safetensors"), "safetensors"))
    assert {k: v.shape for k, v in ours.items()} == {k: v.shape for k, v in torch_file.items()}
    assert all(np.array_equal(ours[k], torch_file[k]) for k in ours)  # exact: float32 values, widened and back


ORT_CASES = [
    ("rnn", "relu", 2, True),
    ("rnn", "linear", 1, False),
    ("lstm", "tanh", 2, True),
    ("gru", "tanh", 2, False),
]


@pytest.mark.parametrize("cell, nonlinearity, num_layers, bidirectional", ORT_CASES)
def test_onnxruntime_runs_the_export_to_rnnvizs_outputs(cell, nonlinearity, num_layers, bidirectional):
    import onnxruntime

    params = init_params(cell, D, H, num_layers, nonlinearity=nonlinearity, seed=2, bidirectional=bidirectional)
    session = onnxruntime.InferenceSession(dump_weights(params, "onnx"), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    states = (num_layers * (2 if bidirectional else 1), 2, H)
    feeds = {"input": rng.standard_normal((7, 2, D)), "h0": rng.standard_normal(states)}
    if cell == "lstm":
        feeds["c0"] = rng.standard_normal(states)
    feeds = {k: v.astype(np.float32) for k, v in feeds.items()}
    outputs = dict(zip([o.name for o in session.get_outputs()], session.run(None, feeds), strict=True))
    trace = rnnviz.forward(rounded_to_float32(params), *(feeds[k].astype(np.float64) for k in feeds))
    assert relative_error(trace.output, outputs["output"]) <= FLOAT32_RTOL
    assert relative_error(trace.h_n, outputs["h_n"]) <= FLOAT32_RTOL
    if cell == "lstm":
        assert relative_error(trace.c_n, outputs["c_n"]) <= FLOAT32_RTOL


def test_onnxruntime_runs_an_export_of_torch_weights_to_torchs_outputs():
    with np.load(FIXTURES / "torch_lstm_L2bi_D3H4.npz", allow_pickle=False) as f:
        a = {k: f[k] for k in f.files}
    import onnxruntime

    params = load_weights(fixture("torch_lstm_L2bi_D3H4.safetensors"), "w.safetensors")
    session = onnxruntime.InferenceSession(dump_weights(params, "onnx"), providers=["CPUExecutionProvider"])
    output, h_n, c_n = session.run(None, {"input": a["x"], "h0": a["h0"], "c0": a["c0"]})
    assert max(relative_error(output, a["output"]), relative_error(h_n, a["h_n"])) <= FLOAT32_RTOL
    assert relative_error(c_n, a["c_n"]) <= FLOAT32_RTOL


def test_onnx_export_refuses_weights_beyond_float32():
    params = init_params("rnn", D, H)
    params.layers[0].W_hh[0, 0] = 1e300
    with pytest.raises(ValueError, match="float32"):
        dump_weights(params, "onnx")
    assert load_weights(dump_weights(params, "safetensors"), "w.safetensors") == params  # float64 there


def test_import_rnnviz_loads_no_format_library():
    import subprocess

    code = "import sys, rnnviz; print(sorted({m.split('.')[0] for m in sys.modules} & {'onnx', 'h5py', 'safetensors'}))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=FIXTURES.parents[2]
    )
    assert out.stdout.strip() == "[]"


# Hostile .safetensors files


def st_file(header, payload: bytes = b"", length: int | None = None) -> bytes:
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(text) if length is None else length) + text + payload


def st_entry(dtype="F32", shape=(H, H), begin=0, end=None) -> dict:
    itemsize = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "U8": 1}.get(dtype, 4)
    end = begin + itemsize * int(np.prod(shape)) if end is None else end
    return {"dtype": dtype, "shape": list(shape), "data_offsets": [begin, end]}


GOOD_ST = dump_weights(init_params("lstm", D, H, seed=1), "safetensors")
RNN_SD = {k: v.astype(np.float32) for k, v in to_state_dict(init_params("rnn", D, H, seed=1)).items()}


def st_save(arrays: dict, metadata: dict | None = None) -> bytes:
    from safetensors.numpy import save

    return save(arrays, metadata=metadata)


def st_hostile() -> list[tuple]:
    two_modules = {f"enc.{k}": v for k, v in RNN_SD.items()} | {f"dec.{k}": v for k, v in RNN_SD.items()}
    return [
        ("empty", b"", "empty"),
        ("seven bytes", b"\x01" * 7, "too short"),
        ("header longer than the file", st_file({}, length=10**12), "header says it has"),
        ("not json", st_file(b"{not json}"), "header is damaged"),
        ("a zip renamed", b"PK\x03\x04" + bytes(60), "a zip archive .torch.save writes those."),
        ("header a list", st_file(b"[1, 2]"), "does not start"),
        ("header nested deeply", st_file(b"{" + b'"a":{' * 2000 + b"}" * 2001), "'{' characters"),
        ("entry without offsets", st_file({"weight_hh_l0": {"dtype": "F32", "shape": [1]}}), "must hold"),
        ("unknown dtype", st_file({"weight_hh_l0": st_entry(dtype="F128")}), "unknown dtype"),
        ("negative shape", st_file({"weight_hh_l0": st_entry(shape=(-4, 4), end=0)}), "damaged shape"),
        ("float shape", st_file({"weight_hh_l0": {**st_entry(), "shape": [4.0, 4]}}), "damaged shape"),
        ("shape and offsets disagree", st_file({"weight_hh_l0": st_entry(end=8)}, bytes(8)), "do not fit"),
        ("offsets past the end", st_file({"weight_hh_l0": st_entry()}, bytes(8)), "damaged"),
        ("overlapping tensors", st_file({"a": st_entry(), "b": st_entry()}, bytes(64)), "damaged"),
        ("gap after the tensors", st_file({"weight_hh_l0": st_entry()}, bytes(80)), "damaged"),
        ("declared huge", st_file({"weight_hh_l0": st_entry(shape=(10**6, 10**6))}), "4,000,000 parameters"),
        ("duplicate key", st_file(b'{"a": {}, "a": {}}'), "appears twice"),
        ("bf16", st_file({"weight_hh_l0": st_entry(dtype="BF16", end=32)}, bytes(32)), r"model.float\(\)"),
        ("int weights", st_save({**RNN_SD, "weight_hh_l0": np.ones((H, H), np.int32)}), "F16, F32 and F64"),
        ("NaN", st_save({**RNN_SD, "bias_ih_l0": np.full(H, np.nan, np.float32)}), "NaN"),
        ("inf", st_save({**RNN_SD, "weight_hh_l0": np.full((H, H), np.inf, np.float16)}), "infinite"),
        ("metadata not strings", st_file({"__metadata__": {"cell": 1}}), "map names to strings"),
        ("metadata cell contradicts", st_save(RNN_SD, {"cell": "gru"}), "says the cell is 'gru'"),
        ("metadata unknown cell", st_save(RNN_SD, {"cell": "transformer"}), '"cell" must be one of'),
        ("relu lstm", st_save({k: v for k, v in load_st(GOOD_ST).items()}, {"nonlinearity": "relu"}), "only be"),
        ("two recurrent modules", st_save(two_modules), "several recurrent modules"),
        ("unknown key", st_save({**RNN_SD, "foo": np.ones(1, np.float32)}), "unexpected key 'foo'"),
        ("1001 tensors", st_file({f"t{i}": st_entry(dtype="U8", shape=(0,)) for i in range(1001)}), "1,000"),
        ("truncated", GOOD_ST[:-9], "damaged"),
    ]


def load_st(data: bytes) -> dict:
    from safetensors.numpy import load

    return load(data)


# Hostile .onnx files


GOOD_ONNX = dump_weights(init_params("lstm", D, H, 2, seed=1), "onnx")


def onnx_edit(edit, data: bytes = GOOD_ONNX) -> bytes:
    model = onnx.load_from_string(data)
    edit(model)
    return model.SerializeToString()


def recurrent(model, k: int = 0):
    return [n for n in model.graph.node if n.op_type in ("RNN", "LSTM", "GRU")][k]


def set_attribute(name: str, value, k: int = 0):
    def edit(model):
        node = recurrent(model, k)
        kept = [a for a in node.attribute if a.name != name]
        del node.attribute[:]
        node.attribute.extend(kept + [helper.make_attribute(name, value)])

    return edit


def replace_initializer(name: str, array: np.ndarray | None = None, tensor=None):
    def edit(model):
        (old,) = [t for t in model.graph.initializer if t.name == name]
        old.CopyFrom(tensor if tensor is not None else numpy_helper.from_array(array, name))

    return edit


def external_weights(model):
    tensor = [t for t in model.graph.initializer if t.name == "W_l0"][0]
    tensor.ClearField("raw_data")
    tensor.data_location = TensorProto.EXTERNAL
    tensor.external_data.add(key="location", value="../../../../etc/passwd")


def computed_weights(model):
    node = recurrent(model)
    node.input[1] = "W_l0_computed"
    model.graph.node.insert(0, helper.make_node("Identity", ["W_l0"], ["W_l0_computed"]))


def parallel_layers(model):
    recurrent(model, 1).input[0] = "input"  # both layers read the input: not a stack


def many_empty_nodes(count: int) -> bytes:
    nodes = b"\x0a\x00" * count  # GraphProto.node, each an empty NodeProto
    return b"\x3a" + varint(len(nodes)) + nodes  # ModelProto.graph


def varint(value: int) -> bytes:
    out = b""
    while value > 0x7F:
        out += bytes([value & 0x7F | 0x80])
        value >>= 7
    return out + bytes([value])


def nested_graphs(depth: int) -> bytes:
    graph = helper.make_graph([], "g", [], [])
    for _ in range(depth):
        graph = helper.make_graph([helper.make_node("If", ["c"], ["y"], then_branch=graph)], "g", [], [])
    return helper.make_model(graph).SerializeToString()


def onnx_hostile() -> list[tuple]:
    gru = dump_weights(init_params("gru", D, H, seed=1), "onnx")
    rnn = dump_weights(init_params("rnn", D, H, seed=1), "onnx")
    W = numpy_helper.to_array([t for t in onnx.load_from_string(GOOD_ONNX).graph.initializer if t.name == "W_l0"][0])
    bad_raw = numpy_helper.from_array(W, "W_l0")
    bad_raw.raw_data = bad_raw.raw_data[:-4]
    huge = TensorProto(name="W_l0", data_type=TensorProto.FLOAT, dims=[1, 16, 10**7], raw_data=b"\0" * 8)
    return [
        ("random text", b"hello, not a model", "damaged"),
        ("truncated", GOOD_ONNX[: len(GOOD_ONNX) // 2], "damaged"),
        ("group wire type", b"\x3b\x3c", "wire type"),
        ("many empty nodes", many_empty_nodes(200_000), "more than 100,000 messages"),
        ("graphs nested 12 deep", nested_graphs(12), "more than 32 deep"),
        ("no recurrent node", helper.make_model(helper.make_graph([], "g", [], [])).SerializeToString(), "no RNN"),
        ("external data", onnx_edit(external_weights), "external file"),
        ("computed weights", onnx_edit(computed_weights), "computed in the graph"),
        ("not a stack", onnx_edit(parallel_layers), "not a stack"),
        ("clip", onnx_edit(set_attribute("clip", 3.0)), "clip"),
        ("input_forget", onnx_edit(set_attribute("input_forget", 1)), "input_forget"),
        ("peepholes", onnx_edit(peepholes), "peepholes"),
        ("reverse", onnx_edit(set_attribute("direction", "reverse")), "reverse only"),
        ("mixed directions", onnx_edit(set_attribute("direction", "bidirectional", 1)), "some recurrent nodes"),
        ("unknown direction", onnx_edit(set_attribute("direction", "sideways")), "unknown direction"),
        ("lstm hard sigmoid", onnx_edit(set_attribute("activations", ["HardSigmoid", "Tanh", "Tanh"])), "HardSigmoid"),
        ("rnn leaky relu", onnx_edit(set_attribute("activations", ["LeakyRelu"]), rnn), "LeakyRelu"),
        ("rnn affine scaled", onnx_edit(affine(2.0), rnn), "alpha"),
        ("rnn two activations", onnx_edit(set_attribute("activations", ["Relu", "Tanh"]), rnn), "same in both"),
        ("gru reset before", onnx_edit(set_attribute("linear_before_reset", 0), gru), "linear_before_reset=0"),
        ("unknown attribute", onnx_edit(set_attribute("peephole_mode", 1)), "does not know"),
        ("attribute of the wrong type", onnx_edit(set_attribute("hidden_size", "four")), "wrong type"),
        ("hidden size disagrees", onnx_edit(set_attribute("hidden_size", 5)), "hidden_size=5"),
        ("integer weights", onnx_edit(replace_initializer("W_l0", W.astype(np.int64))), "ONNX type 7"),
        ("weights of the wrong shape", onnx_edit(replace_initializer("W_l0", W[:, :-1])), "W must have shape"),
        ("raw data too short", onnx_edit(replace_initializer("W_l0", tensor=bad_raw)), "bytes of data"),
        ("declared huge", onnx_edit(replace_initializer("W_l0", tensor=huge)), "4,000,000 parameters"),
        ("NaN weights", onnx_edit(replace_initializer("R_l0", np.full((1, 16, H), np.nan, np.float32))), "NaN"),
        ("mixed cells", onnx_edit(lambda m: setattr(recurrent(m, 1), "op_type", "GRU")), "mixes GRU and LSTM"),
    ]


def peepholes(model):
    node = recurrent(model)
    while len(node.input) < 8:
        node.input.append("")
    node.input[7] = "P_l0"
    model.graph.initializer.append(numpy_helper.from_array(np.ones((1, 3 * H), np.float32), "P_l0"))


def affine(alpha: float):
    def edit(model):
        set_attribute("activations", ["Affine"])(model)
        set_attribute("activation_alpha", [alpha])(model)
        set_attribute("activation_beta", [0.0])(model)

    return edit


# Hostile .keras and .h5 files


KERAS = zipfile.ZipFile(io.BytesIO(fixture("keras_lstm_L1_D3H4.keras")))
KERAS_CONFIG = json.loads(KERAS.read("config.json"))
KERAS_WEIGHTS = KERAS.read("model.weights.h5")


def keras_zip(config=None, weights: bytes | None = KERAS_WEIGHTS, extra: dict | None = None) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w") as archive:
        warnings.filterwarnings("ignore", "Duplicate name")  # one hostile archive holds config.json twice
        archive.writestr("metadata.json", KERAS.read("metadata.json"))
        if isinstance(config, bytes):
            archive.writestr("config.json", config)
        elif config is not False:
            archive.writestr("config.json", json.dumps(KERAS_CONFIG if config is None else config))
        if weights is not None:
            archive.writestr("model.weights.h5", weights)
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def lstm_config(**changes) -> dict:
    config = json.loads(json.dumps(KERAS_CONFIG))
    layer = [la for la in config["config"]["layers"] if la["class_name"] == "LSTM"][0]
    layer["config"].update(changes)
    return config


def with_weights(edit, data: bytes = KERAS_WEIGHTS) -> bytes:
    """The fixture's model.weights.h5 changed by edit(f), as bytes."""
    buffer = io.BytesIO(data)
    with h5py.File(buffer, "r+") as f:
        edit(f)
    return buffer.getvalue()


def replace_kernel(**dataset_options):
    def edit(f):
        kernel = f["layers/lstm/cell/vars/0"][()]
        del f["layers/lstm/cell/vars/0"]
        options = {"data": kernel} | dataset_options
        f["layers/lstm/cell/vars"].create_dataset("0", **options)

    return edit


def soft_link(f):
    del f["layers/lstm/cell/vars/0"]
    f["layers/lstm/cell/vars/0"] = h5py.SoftLink("/layers/lstm/cell/vars/1")


def lying_zip_entry(name: str, declared: int, data: bytes) -> bytes:
    """A .keras whose member ``name`` declares ``declared`` bytes but holds ``data`` (zipfile would not write it)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("config.json", json.dumps(KERAS_CONFIG))
        info = zipfile.ZipInfo(name)
        archive.writestr(info, data)
    raw = bytearray(buffer.getvalue())
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # the size fields of both headers
        at = raw.rfind(signature)
        raw[at + offset : at + offset + 4] = struct.pack("<I", declared)
    return bytes(raw)


def keras_hostile() -> list[tuple]:
    functional_cycle = json.loads(json.dumps(KERAS_CONFIG))
    functional_cycle["class_name"] = "Custom"
    return [
        ("not a zip", "w.keras", b"hello", "damaged"),
        ("truncated zip", "w.keras", fixture("keras_lstm_L1_D3H4.keras")[:3000], "damaged"),
        ("no config", "w.keras", keras_zip(config=False), "no config.json"),
        ("no weights", "w.keras", keras_zip(weights=None), "no model.weights.h5"),
        ("path outside the archive", "w.keras", keras_zip(extra={"../../evil.txt": b"x"}), "outside the archive"),
        ("absolute path", "w.keras", keras_zip(extra={"/etc/passwd": b"x"}), "outside the archive"),
        ("config twice", "w.keras", keras_zip(extra={"config.json": b"{}"}), "twice"),
        ("weights member lies", "w.keras", lying_zip_entry("model.weights.h5", 10, bytes(64)), "damaged"),
        ("weights member declares 2 GB", "w.keras", lying_zip_entry("model.weights.h5", 2**31, b""), "unpacks"),
        ("config not json", "w.keras", keras_zip(config=b"{"), "config is damaged: not valid JSON"),
        ("config a custom class", "w.keras", keras_zip(config=functional_cycle), "Sequential and Functional"),
        ("config without layers", "w.keras", keras_zip(config={"class_name": "Sequential"}), "no list of layers"),
        ("units not a number", "w.keras", keras_zip(config=lstm_config(units="4")), "number of units"),
        ("units disagree", "w.keras", keras_zip(config=lstm_config(units=5)), r"kernel must have shape \(D, 20\)"),
        (
            "no bias in config",
            "w.keras",
            keras_zip(config=lstm_config(use_bias=False)),
            "3 weight arrays; expected its kernel and recurrent kernel",
        ),
        ("weights not hdf5", "w.keras", keras_zip(weights=b"not hdf5"), "not an HDF5 file"),
        ("weights truncated", "w.keras", keras_zip(weights=KERAS_WEIGHTS[:4000]), "damaged"),
        ("soft link", "w.keras", keras_zip(weights=with_weights(soft_link)), "link to another place"),
        ("compressed", "w.keras", keras_zip(weights=with_weights(replace_kernel(compression="gzip"))), "compressed"),
        (
            "huge chunks",
            "w.keras",
            keras_zip(weights=with_weights(replace_kernel(maxshape=(None, None), chunks=(2000, 2001)))),
            "chunks",
        ),
        ("integer kernel", "w.keras", keras_zip(weights=with_weights(replace_kernel(dtype="i4"))), "not floats"),
        (
            "NaN kernel",
            "w.keras",
            keras_zip(weights=with_weights(replace_kernel(data=np.full((D, 16), np.nan)))),
            "NaN",
        ),
        ("h5 random bytes after the signature", "w.h5", b"\x89HDF\r\n\x1a\n" + bytes(range(256)) * 4, "damaged"),
        ("h5 not hdf5", "w.h5", b"PK\x03\x04 a zip", "not an HDF5 file"),
        ("h5 weights only", "w.weights.h5", KERAS_WEIGHTS, "weights-only"),
    ]


HOSTILE = (
    [(f"safetensors {case}", "w.safetensors", data, match) for case, data, match in st_hostile()]
    + [(f"onnx {case}", "w.onnx", data, match) for case, data, match in onnx_hostile()]
    + [(f"keras {case}", name, data, match) for case, name, data, match in keras_hostile()]
)


@pytest.mark.parametrize("name, data, match", [c[1:] for c in HOSTILE], ids=[c[0] for c in HOSTILE])
def test_hostile_file_is_refused_with_a_clear_message(name, data, match):
    with pytest.raises(ValueError, match=match) as info:
        load_weights(data, name)
    assert str(info.value).startswith(f"{name}: ") and info.value.__cause__ is None


def test_there_are_many_distinct_hostile_cases():
    assert len({c[0] for c in HOSTILE}) == len(HOSTILE) >= 70


# HDF5 outside the file, and the child process that reads it


def test_external_link_to_a_file_on_the_server_is_not_followed(tmp_path):
    secret = tmp_path / "secret.h5"
    with h5py.File(secret, "w") as f:
        f["kernel"] = np.full((D, 16), 7.0, np.float32)  # a valid kernel: only the link refuses it

    def link(f):
        del f["layers/lstm/cell/vars/0"]
        f["layers/lstm/cell/vars/0"] = h5py.ExternalLink(str(secret), "/kernel")

    with pytest.raises(ValueError, match="link to another place or file"):
        load_weights(keras_zip(weights=with_weights(link)), "w.keras")


def test_datasets_kept_in_other_files_are_not_read(tmp_path):
    raw = tmp_path / "raw.bin"
    raw.write_bytes(np.ones((D, 16), np.float32).tobytes())
    external = with_weights(replace_kernel(data=None, shape=(D, 16), dtype="f4", external=[(str(raw), 0, 192)]))
    with pytest.raises(ValueError, match="external files"):
        load_weights(keras_zip(weights=external), "w.keras")
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["kernel"] = np.ones((D, 16), np.float32)
    layout = h5py.VirtualLayout(shape=(D, 16), dtype="f4")
    layout[:] = h5py.VirtualSource(str(other), "kernel", shape=(D, 16))

    def virtual(f):
        del f["layers/lstm/cell/vars/0"]
        f["layers/lstm/cell/vars"].create_virtual_dataset("0", layout)

    with pytest.raises(ValueError, match="virtual dataset"):
        load_weights(keras_zip(weights=with_weights(virtual)), "w.keras")


def fake_reader(tmp_path, code: str, monkeypatch) -> None:
    script = tmp_path / "reader.py"
    script.write_text(code)
    monkeypatch.setattr(hdf5_file, "_READER", script)


def test_a_crash_of_the_hdf5_library_is_a_value_error(tmp_path, monkeypatch):
    fake_reader(tmp_path, "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n", monkeypatch)
    with pytest.raises(ValueError, match="crashed with signal 11"):
        load_weights(fixture("keras_lstm_L1_D3H4.h5"), "w.h5")


def test_a_hung_hdf5_read_is_stopped(tmp_path, monkeypatch):
    fake_reader(tmp_path, "import time\ntime.sleep(60)\n", monkeypatch)
    monkeypatch.setattr(hdf5_file, "TIMEOUT_SECONDS", 2)
    with pytest.raises(ValueError, match="took more than 2 s"):
        load_weights(fixture("keras_lstm_L1_D3H4.h5"), "w.h5")


def test_a_file_that_crashes_the_hdf5_library_is_refused():
    """Found by fuzzing: two bytes changed in a Keras .h5 make HDF5 2.0 end with a segmentation fault."""
    with pytest.raises(ValueError, match="the HDF5 library stopped on it .it crashed with signal 11"):
        load_weights((HOSTILE_FIXTURES / "hdf5_crashes.h5").read_bytes(), "crashes.h5")


def test_a_file_that_hangs_the_hdf5_library_is_refused(monkeypatch):
    """Found by fuzzing: five bytes changed in a Keras .h5 make HDF5 loop for minutes."""
    monkeypatch.setattr(hdf5_file, "TIMEOUT_SECONDS", 8)  # the sound file reads in under a second
    with pytest.raises(ValueError, match="took more than 8 s"):
        load_weights((HOSTILE_FIXTURES / "hdf5_hangs.h5").read_bytes(), "hangs.h5")


@pytest.mark.parametrize(
    "answer",
    [
        b"",
        b"nonsense",
        b"5\n{}",
        b"2\n{}\x00",
        b'60\n{"groups": [], "arrays": [["a", [2]]], "attributes": {}, "problems": {}}',
    ],
)
def test_a_damaged_answer_from_the_reader_is_refused(tmp_path, monkeypatch, answer):
    fake_reader(tmp_path, f"import sys\nsys.stdin.buffer.read()\nsys.stdout.buffer.write({answer!r})\n", monkeypatch)
    with pytest.raises(ValueError, match="the HDF5 reader"):
        load_weights(fixture("keras_lstm_L1_D3H4.h5"), "w.h5")


# Bombs: refused before anything big is built


def peak_python_bytes(data: bytes, name: str, match: str) -> int:
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=match):
            load_weights(data, name)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_onnx_with_millions_of_empty_nodes_is_refused_before_protobuf_builds_them():
    """10 MB of empty nodes would take about 770 MB once parsed: the wire walk refuses them first."""
    data = many_empty_nodes(5_000_000)
    assert len(data) < 11 * 2**20
    assert peak_python_bytes(data, "w.onnx", "more than 100,000 messages") < 11 * 2**20 + 2**20  # the bytes, a copy


def test_onnx_packed_varints_count_one_value_a_byte():
    """A packed list of one-byte varints is 8 bytes a value once parsed: counted by bytes."""
    dims = b"\x01" * (onnx_wire.MAX_VALUES + 10)
    tensor = b"\x0a" + varint(len(dims)) + dims  # TensorProto.dims, packed
    graph = b"\x2a" + varint(len(tensor)) + tensor  # GraphProto.initializer
    with pytest.raises(ValueError, match="values"):
        load_weights(b"\x3a" + varint(len(graph)) + graph, "w.onnx")


def test_keras_member_declaring_gigabytes_is_refused_without_inflating():
    data = lying_zip_entry("model.weights.h5", 2**32 - 1, bytes(100))
    assert peak_python_bytes(data, "w.keras", "unpacks to 4,294,967,295 bytes") < 2**20


def test_safetensors_declaring_a_huge_tensor_is_refused_without_allocating():
    data = st_file({"weight_hh_l0": st_entry(dtype="F64", shape=(2**20, 2**20))}, bytes(64))
    assert peak_python_bytes(data, "w.safetensors", "parameters") < 2**20
