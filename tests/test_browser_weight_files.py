"""Weights files in a real browser: every page's one upload box takes a file of each format (written by torch,
Keras or rnnviz) and refuses a pickle with its conversion line; every weights download (Unfolded's Export, the
Train page's trained model) loads back with rnnviz.load_weights, and its .onnx runs in onnxruntime to rnnviz's
outputs."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest
from conftest import open_page, screenshot, wait_for_app
from playwright.sync_api import expect

import rnnviz
from rnnviz.engine import presets

FORMATS = pathlib.Path(__file__).resolve().parent / "fixtures" / "formats"
EXCEPTION = '[data-testid="stException"]'
INFO = '[data-testid="stAlertContentInfo"]'
ERROR = '[data-testid="stAlertContentError"]'
FILE_INPUT = '[data-testid="stFileUploader"] input[type="file"]'
FLOAT32_RTOL = 1e-6  # the .onnx holds float32 weights and onnxruntime computes in float32


def upload(pg, path: pathlib.Path, expander: str = "Load weights from a file") -> None:
    pg.get_by_text(expander).click()
    pg.locator(FILE_INPUT).set_input_files(str(path))


@pytest.mark.parametrize(
    ("where", "name", "shown"),
    [
        ("unfolded", "keras_lstm_L2_D5H3.keras", "LSTM, D = 5, H = 3, L = 2"),
        ("gates", "torch_gru_L2_D5H3.onnx", "GRU, D = 5, H = 3, L = 2"),
        ("bptt", "torch_rnn_relu_L2_D5H3.safetensors", "RNN, D = 5, H = 3, L = 2"),
        ("gates", "keras_rnn_tanh_L1_D3H4.h5", "RNN, D = 3, H = 4, L = 1"),
    ],
)
def test_a_frameworks_file_opens_in_the_upload_box(page, app_url, where, name, shown):
    open_page(page, app_url, where)
    upload(page, FORMATS / name)
    expect(page.locator(INFO).filter(has_text="Using the weights from").first).to_contain_text(shown)
    wait_for_app(page)
    assert page.locator(EXCEPTION).count() == 0
    assert page.locator(ERROR).count() == 0
    screenshot(page, f"upload-{where}-{name.rsplit('.', 1)[-1]}")


def test_architectures_reads_a_bidirectional_file(page, app_url, tmp_path):
    weights = tmp_path / "sentiment.safetensors"
    params = rnnviz.init_params("gru", 25, 5, 1, bidirectional=True, seed=1)  # the sentiment example's 25 words
    weights.write_bytes(rnnviz.dump_weights(params, "safetensors"))
    open_page(page, app_url, "architectures")
    upload(page, weights, "Load the recurrent weights from a file")
    expect(page.locator(INFO).filter(has_text="The recurrent network is").first).to_contain_text("GRU, H = 5")
    wait_for_app(page)
    assert page.locator(EXCEPTION).count() == 0
    screenshot(page, "upload-architectures-bidirectional")


def test_a_pickle_is_refused_with_the_line_that_converts_it(page, app_url, tmp_path):
    pickle = tmp_path / "model.pth"
    pickle.write_bytes(b"\x80\x04\x95\x00 a pickle")
    page.set_viewport_size({"width": 1024, "height": 768})
    open_page(page, app_url, "gates")
    upload(page, pickle)
    error = page.locator(ERROR).first
    expect(error).to_contain_text("model.pth")
    expect(error).to_contain_text("save_file(torch.load('model.pth'), 'model.safetensors')")
    wait_for_app(page)
    assert page.locator(EXCEPTION).count() == 0
    assert page.locator('[data-testid="stPlotlyChart"]').count() == 1, "the seeded network's heatmaps stay"
    screenshot(page, "upload-gates-pickle-refused-1024")


def downloads(pg, names: list[str]) -> dict[str, bytes]:
    """Click each button and read the file the browser saves."""
    out = {}
    for name in names:
        with pg.expect_download() as info:
            pg.get_by_role("button", name=name).click()
        out[name] = pathlib.Path(info.value.path()).read_bytes()
    return out


def check_loads_back(files: dict[str, bytes], params: rnnviz.Params) -> None:
    """Each file reads back as ``params`` (the .onnx as them rounded to float32) and the .onnx runs in
    onnxruntime to rnnviz's outputs."""
    import onnxruntime

    for fmt in ("npz", "json", "safetensors"):
        assert rnnviz.load_weights(files[f"Weights (.{fmt})"], f"w.{fmt}") == params, fmt
    onnx_bytes = files["Weights (.onnx)"]
    from_onnx = rnnviz.load_weights(onnx_bytes, "w.onnx")
    sd = {k: v.astype(np.float32).astype(np.float64) for k, v in rnnviz.to_state_dict(params).items()}
    assert from_onnx == rnnviz.from_state_dict(sd, params.cell, params.nonlinearity)
    session = onnxruntime.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal((6, 2, params.input_size)).astype(np.float32)
    feeds = {"input": x, "h0": np.zeros((params.num_layers * (1 + params.bidirectional), 2, params.hidden_size))}
    if params.cell == "lstm":
        feeds["c0"] = feeds["h0"]
    got = session.run(None, {k: v.astype(np.float32) for k, v in feeds.items()})[0]
    want = rnnviz.forward(from_onnx, x.astype(np.float64)).output
    np.testing.assert_allclose(got, want, rtol=FLOAT32_RTOL, atol=FLOAT32_RTOL)


FILES = [f"Weights (.{fmt})" for fmt in ("npz", "json", "safetensors", "onnx")]


def test_unfolded_export_loads_back_in_every_format(page, app_url):
    open_page(page, app_url, "unfolded", "?cell=gru&D=2&H=3&L=2&seed=5")
    page.get_by_text("Export", exact=True).click()
    expect(page.get_by_role("button", name="Weights (.onnx)")).to_be_visible()
    wait_for_app(page)
    check_loads_back(downloads(page, FILES), presets.network_params("gru", 2, 3, 2, seed=5, scale=1.0))
    screenshot(page, "unfolded-export-every-format")


def test_a_csv_trains_in_the_page_and_its_model_downloads_in_every_format(page, app_url, tmp_path):
    rows = ["week,visitors,temperature"] + [f"{k},{np.sin(k / 5):.6f},{np.cos(k / 8):.6f}" for k in range(240)]
    table = tmp_path / "shop.csv"
    table.write_text("\n".join(rows))
    open_page(page, app_url, "train", "?task=csv&epochs=3&hidden=4")
    expect(page.get_by_text("Upload a CSV file")).to_be_visible()
    page.locator('[data-testid="stSidebar"] ' + FILE_INPUT).set_input_files(str(table))
    expect(page.get_by_role("button", name="Train the LSTM")).to_be_visible()
    wait_for_app(page)
    page.get_by_role("button", name="Train the LSTM").click()
    page.get_by_text("how well it does").wait_for(timeout=300_000)  # 3 epochs; minutes only on a loaded machine
    wait_for_app(page)
    assert page.locator(EXCEPTION).count() == 0
    expect(page.get_by_text("Naive: next row = this row")).to_be_visible()
    screenshot(page, "train-csv", height=2400)
    page.get_by_role("button", name="Weights (.onnx)").scroll_into_view_if_needed()
    files = downloads(page, FILES)
    expect(page.get_by_text("Next row of shop.csv: visitors")).to_be_visible()  # the first column not a counter
    task = rnnviz.make_csv_task(table.read_bytes(), ["visitors"], 30, 0, "shop.csv")
    params = rnnviz.load_weights(files["Weights (.safetensors)"], "w.safetensors")
    assert params.input_size == task.input_size == 1 and params.hidden_size == 4
    check_loads_back(files, params)


def test_a_bad_csv_gets_a_message(page, app_url, tmp_path):
    table = tmp_path / "ragged.csv"
    table.write_text("a,b\n1,2\n3\n")
    page.set_viewport_size({"width": 1024, "height": 768})
    open_page(page, app_url, "train", "?task=csv")
    page.locator('[data-testid="stSidebar"] ' + FILE_INPUT).set_input_files(str(table))
    expect(page.locator(ERROR).first).to_contain_text("row 3 has 1 fields but the header 2")
    wait_for_app(page)
    assert page.locator(EXCEPTION).count() == 0
    screenshot(page, "train-csv-refused-1024")


@pytest.mark.parametrize("size", [(1280, 800), (1024, 768)])
def test_real_prices_train_with_a_progress_bar_beside_the_naive_forecast(page, app_url, size):
    page.set_viewport_size({"width": size[0], "height": size[1]})
    open_page(page, app_url, "train", "?task=prices")
    expect(page.get_by_text("hard to beat")).to_be_visible()
    page.get_by_role("button", name="Train the LSTM").click()
    page.wait_for_selector('[data-testid="stProgress"]')
    page.get_by_text("how well it does").wait_for(timeout=300_000)  # 30 epochs: seconds, minutes on a loaded machine
    wait_for_app(page)
    assert page.locator(EXCEPTION).count() == 0
    expect(page.locator('[data-testid="stMetric"]').filter(has_text="Naive: next week = this week")).to_have_count(1)
    screenshot(page, f"train-prices-{size[0]}", height=2400 if size[0] == 1280 else None)
