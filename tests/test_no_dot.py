"""Without Graphviz's dot (issue 14, section 3): every page that draws says plainly what to install, the
browser lays out the drawings, and nothing breaks."""

import pytest
from conftest import assert_clean, run_page

from rnnviz import drawing


@pytest.mark.parametrize("page", ["home", "neuron", "unfolded", "architectures"])
def test_a_page_without_dot_says_what_to_install(monkeypatch, page):
    monkeypatch.setattr(drawing, "graphviz_available", lambda: False)
    at = run_page(f"pages/{page}.py")
    assert_clean(at)
    warnings = [w.value for w in at.warning if "apt-get install graphviz" in w.value]
    charts = at.get("graphviz_chart")
    assert warnings and len(warnings) == len(charts) >= 1  # one note per drawing the browser lays out
    assert all("brew install graphviz" in w and "conda install graphviz" in w for w in warnings)
