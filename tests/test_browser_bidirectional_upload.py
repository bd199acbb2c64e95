"""The Unfolded page draws one direction only: bidirectional weights are refused with a message."""

from __future__ import annotations

from conftest import open_page, screenshot, wait_for_app
from playwright.sync_api import expect

import rnnviz

GRAPH = ".rnnviz-graph svg"


def test_bidirectional_upload_is_refused_and_the_graph_stays(page, app_url, tmp_path):
    weights = tmp_path / "bilstm.npz"
    weights.write_bytes(rnnviz.dump_weights(rnnviz.init_params("lstm", 3, 4, 2, bidirectional=True), "npz"))
    open_page(page, app_url, "unfolded", selector=GRAPH)
    page.get_by_text("Load weights from a file").click()
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(weights))
    error = page.locator('[data-testid="stAlertContentError"]').first
    expect(error).to_contain_text("bidirectional weights: the Unfolded page")
    expect(error).to_contain_text("Architectures page")
    wait_for_app(page)
    assert page.locator(GRAPH).count() == 1
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator('[data-testid="stAlertContentInfo"]').filter(has_text="Using the weights").count() == 0
    screenshot(page, "unfolded-bidirectional-refused")
