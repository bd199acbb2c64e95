"""The inspector on the pages (AppTest): a selection in the link (sel) opens the page with the node
explained, its numbers those of rnnviz.forward / rnnviz.backward computed here; an input of the
node is a button that selects it; a node that is not in the drawing falls back to no selection."""

import re

import numpy as np
from conftest import assert_clean, graph_views, run_page

import rnnviz
from rnnviz.engine import bptt, neuron, presets, signals

SIX = dict(rtol=5e-6, atol=1e-12)  # the inspector writes 6 significant digits


def inspector_text(at) -> str:
    return "\n".join(m.value for m in at.markdown)


def numbers(text: str, label: str) -> np.ndarray:
    found = re.search(label + r"[^`]*`\[?([^`\]]*)\]?`", text)
    assert found, f"no {label!r} in {text[:400]!r}"
    return np.array([float(v) for v in found.group(1).split(",")])


def test_a_link_with_a_selected_output_explains_it_with_the_forwards_numbers():
    at = run_page("pages/neuron.py", {"T": "5", "wx": "1.5", "wy": "-0.75", "sel": "h_0_3"})
    assert_clean(at)
    trace = rnnviz.forward(neuron.neuron_params(1.5, -0.75, 0.0, "tanh"), signals.make_signal("impulse", 5, 1))
    text = inspector_text(at)
    assert "y₃" in text
    np.testing.assert_allclose(numbers(text, "Value"), trace.hidden[0][2], **SIX)
    [code] = [c.value for c in at.code if "torch.nn.RNN(" in c.value]  # Reproduce in PyTorch
    assert "H0 = [[0.0]]" in code and "print(h_n[0].tolist())  # layer 1, step 3" in code
    [view] = [v for v in graph_views(at) if v["selectable"]]
    assert view["selected"] == "h_0_3" and view["nav"]["h_0_3"] == {"left": "h_0_2", "right": "h_0_4"}
    assert [b.key for b in at.button if b.key and b.key.startswith("neuron:input:")] == ["neuron:input:cell_0_3"]


def test_an_lstm_cell_state_at_operation_level_with_its_gradient_and_its_inputs():
    query = {"cell": "lstm", "H": "2", "T": "4", "level": "operations", "grads": "1", "sel": "c_0_2"}
    at = run_page("pages/unfolded.py", query)
    assert_clean(at)
    params = presets.network_params("lstm", 1, 2, 1, seed=0)
    trace = rnnviz.forward(params, signals.make_signal("impulse", 4, 1))
    grads = bptt.loss_backward(params, trace, "last")
    text = inspector_text(at)
    np.testing.assert_allclose(numbers(text, "Value"), trace.layers[0].c[1], **SIX)
    np.testing.assert_allclose(numbers(text, "Gradient"), grads.dc[0][1], **SIX)
    # its input is the sum f ⊙ c + i ⊙ g; a click on it selects it
    [button] = [b for b in at.button if b.key == "unfolded:input:op_c_0_2"]
    button.click().run()
    assert at.session_state["settings"]["sel"] == "op_c_0_2"
    assert "f ⊙ c + i ⊙ g, step 2" in inspector_text(at)


def test_an_elementwise_product_shows_its_operands():
    query = {"cell": "lstm", "H": "2", "T": "3", "level": "operations", "sel": "op_fc_0_3"}
    at = run_page("pages/unfolded.py", query)
    assert_clean(at)
    trace = rnnviz.forward(presets.network_params("lstm", 1, 2, 1, seed=0), signals.make_signal("impulse", 3, 1))
    lt = trace.layers[0]
    np.testing.assert_allclose(numbers(inspector_text(at), "Value"), lt.gates["f"][2] * lt.c[1], **SIX)
    latex = [e.value for e in at.get("latex") if "\\odot" in e.value]
    assert latex and "f_{3} \\odot c_{2}" in latex[0]


def test_a_node_that_is_not_in_the_drawing_is_no_selection():
    at = run_page("pages/neuron.py", {"T": "3", "sel": "h_0_9"})
    assert_clean(at)
    assert at.session_state["settings"]["sel"] == ""
    assert any("not in this drawing any more" in i.value for i in at.info)
    assert not [b for b in at.button if b.key and b.key.startswith("neuron:input:")]


def test_a_wiring_node_is_described_by_its_values_and_inputs():
    at = run_page("pages/architectures.py", {"wiring": "many_to_one", "length": "4"})
    [view] = [v for v in graph_views(at) if v["selectable"]]
    state = re.search(r'<g id="([^"]+)" class="node state [^"]*step-2', view["svg"]).group(1)
    at = run_page("pages/architectures.py", {"wiring": "many_to_one", "length": "4", "sel": state})
    assert_clean(at)
    [view] = [v for v in graph_views(at) if v["selectable"]]
    assert view["selected"] == state
    inputs = [b for b in at.button if b.key and b.key.startswith("architectures:input:")]
    assert len(inputs) == 2  # the step's input and the state before
    inputs[0].click().run()
    assert at.session_state["settings"]["sel"] == inputs[0].key.split(":", 2)[2]
