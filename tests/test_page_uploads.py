"""One upload control on every page that takes weights (Unfolded, Gates, BPTT, Architectures): it offers every
format rnnviz.load_weights reads (and the pickles it refuses, so their conversion line is read), and a file of
each format sets the page's network. Files: the committed fixtures (written by torch and Keras) and exports of
rnnviz.dump_weights."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest
from conftest import assert_clean, charts, plotly_array, run_page

import rnnviz
from rnnviz.engine import signals
from ui import controls
from ui.markup import literal

FORMATS = pathlib.Path(__file__).resolve().parent / "fixtures" / "formats"
PAGES = ("unfolded", "gates", "bptt", "architectures")
SAMPLES = {  # file name -> its bytes; one of each format
    "lstm.safetensors": (FORMATS / "torch_lstm_L2_D5H3.safetensors").read_bytes(),
    "lstm.onnx": (FORMATS / "torch_lstm_L2_D5H3.onnx").read_bytes(),
    "gru.keras": (FORMATS / "keras_gru_L2_D5H3.keras").read_bytes(),
    "gru.h5": (FORMATS / "keras_gru_L2_D5H3.h5").read_bytes(),
    "gru.hdf5": (FORMATS / "keras_gru_L2_D5H3.h5").read_bytes(),  # the same HDF5 file under its other extension
    "relu.npz": rnnviz.dump_weights(rnnviz.init_params("rnn", 5, 3, 2, nonlinearity="relu", seed=3), "npz"),
    "relu.json": rnnviz.dump_weights(rnnviz.init_params("rnn", 5, 3, 2, nonlinearity="relu", seed=3), "json"),
}


def upload(at, page: str, name: str, data: bytes):
    at.file_uploader(key=f"{page}:upload").set_value((name, data, "application/octet-stream"))
    return at.run()


def infos(at) -> str:
    return " ".join(i.value for i in at.info)


@pytest.mark.parametrize("where", PAGES)
def test_every_page_has_the_one_upload_control_with_every_format(where):
    at = run_page(f"pages/{where}.py")
    uploader = at.file_uploader(key=f"{where}:upload")
    assert {t.lstrip(".") for t in uploader.allowed_type} == set(controls.WEIGHT_TYPES)
    every = {"safetensors", "onnx", "keras", "h5", "hdf5", "npz", "json", "pt", "pth", "ckpt"}
    assert every <= set(controls.WEIGHT_TYPES)
    assert len(at.get("file_uploader")) == 1, "one upload box a page"


@pytest.mark.parametrize("name", list(SAMPLES))
@pytest.mark.parametrize("where", ["unfolded", "gates", "bptt"])
def test_a_file_of_each_format_sets_the_network(where, name):
    at = upload(run_page(f"pages/{where}.py"), where, name, SAMPLES[name])
    assert_clean(at)
    params = rnnviz.load_weights(SAMPLES[name], name)
    assert f"Using the weights from **{literal(name)}**: {params.cell.upper()}, D = 5, H = 3, L = 2" in infos(at)


@pytest.mark.parametrize("name", ["lstm.onnx", "gru.keras"])
def test_the_gates_heatmap_is_the_forward_pass_of_the_files_weights(name):
    at = upload(run_page("pages/gates.py", {"T": "7", "signal": "sine"}), "gates", name, SAMPLES[name])
    assert_clean(at)
    params = rnnviz.load_weights(SAMPLES[name], name)
    h = rnnviz.forward(params, signals.make_signal("sine", 7, 5, seed=0)).layers[0].h  # (T, H)
    shown = [d for d in charts(at)["gates:heatmaps"]["data"] if d.get("name") == "hidden state h"]
    np.testing.assert_allclose(plotly_array(shown[0]["z"]), h.T, rtol=1e-6, atol=1e-9)  # the figure's float32


@pytest.mark.parametrize("where", PAGES)
@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        ("model.pt", b"\x80\x04\x95 pickled", ["pickle", "save_file"]),
        ("model.ckpt", b"PK\x03\x04 zipped pickle", ["pickle", "['state_dict']"]),
        ("broken.onnx", b"\x08\x07\x12\xff\xff\xff\xff", ["broken.onnx"]),
        ("broken.safetensors", b"\xff" * 16, ["broken.safetensors"]),
        ("broken.keras", b"PK\x05\x06" + bytes(18), ["broken.keras"]),
    ],
)
def test_a_bad_file_gets_a_message_and_the_page_keeps_working(where, name, data, words):
    at = upload(run_page(f"pages/{where}.py"), where, name, data)
    assert not at.exception, [e.value for e in at.exception]
    errors = " ".join(e.value for e in at.error)
    assert all(literal(w) in errors for w in words), errors  # shown escaped, as markdown
    assert "Using the weights" not in infos(at)


def test_bidirectional_weights_are_refused_where_one_direction_is_drawn():
    data = rnnviz.dump_weights(rnnviz.init_params("gru", 3, 4, 1, bidirectional=True), "safetensors")
    at = upload(run_page("pages/gates.py"), "gates", "bi.safetensors", data)
    assert not at.exception
    assert "the Gates page draws one direction only" in " ".join(e.value for e in at.error)


def test_architectures_reads_a_bidirectional_file_of_the_applications_input_size():
    params = rnnviz.init_params("lstm", 25, 6, 1, bidirectional=True, seed=4)  # sentiment: 25 words in
    at = upload(run_page("pages/architectures.py"), "architectures", "bi.onnx", rnnviz.dump_weights(params, "onnx"))
    assert_clean(at)
    assert f"**{literal('bi.onnx')}**'s (LSTM, H = 6, L = 1, bidirectional)" in infos(at)
    assert at.toggle(key="architectures:bidir").disabled and at.selectbox(key="architectures:cell").disabled


def test_architectures_says_why_a_file_of_another_input_size_cannot_be_used():
    at = upload(run_page("pages/architectures.py"), "architectures", "lstm.onnx", SAMPLES["lstm.onnx"])
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    assert "reads D = 5 inputs, but sentiment feeds 25" in errors
    assert at.info, "the untrained seeded model is still shown"


def test_architectures_trains_from_the_files_weights_and_offers_every_format():
    params = rnnviz.init_params("gru", 25, 4, 1, seed=2)
    at = run_page("pages/architectures.py", {"tsteps": "10"})
    at = upload(at, "architectures", "g.npz", rnnviz.dump_weights(params, "npz"))
    next(b for b in at.button if b.label == "Train").click().run()
    assert_clean(at)
    trained = next(iter(at.session_state["architectures:trained"].values()))["model"]
    assert trained.encoder.hidden_size == 4 and trained.encoder != params, "trained on, from the file's weights"
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == [f"Weights (.{fmt})" for fmt in controls.WEIGHT_FORMATS]
