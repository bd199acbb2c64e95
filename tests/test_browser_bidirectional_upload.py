"""The Unfolded page draws one direction only: bidirectional weights are refused with a message."""

from __future__ import annotations

from conftest import screenshot, wait_for_app

import rnnviz

GRAPH = ".rnnviz-graph svg"


def test_bidirectional_upload_is_refused_and_the_graph_stays(page, app_url, tmp_path):
    weights = tmp_path / "bilstm.npz"
    weights.write_bytes(rnnviz.dump_weights(rnnviz.init_params("lstm", 3, 4, 2, bidirectional=True), "npz"))
    page.goto(app_url)  # the entry page first, so that the server runs in st.navigation mode
    wait_for_app(page)
    page.goto(f"{app_url}/unfolded")
    wait_for_app(page)
    page.wait_for_selector(GRAPH, timeout=30_000)
    page.get_by_text("Load weights from a file").click()
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(weights))
    error = page.locator('[data-testid="stAlertContentError"]')
    error.first.wait_for(timeout=30_000)
    text = error.first.inner_text()
    assert "bidirectional weights: the Unfolded page" in text and "Architectures page" in text
    wait_for_app(page)
    assert page.locator(GRAPH).count() == 1
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator('[data-testid="stAlertContentInfo"]').filter(has_text="Using the weights").count() == 0
    page.wait_for_timeout(1000)
    screenshot(page, "unfolded-bidirectional-refused")
