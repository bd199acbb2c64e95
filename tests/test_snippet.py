"""The "Reproduce in PyTorch" snippet (rnnviz.engine.snippet): its literal weights, input and h_0 read
back exactly as the arrays on screen, and, where the fixture venv with torch exists
(/tmp/torchenv, see the README), running it prints the inspected value to 1e-9."""

import ast
import pathlib
import re
import subprocess

import numpy as np
import pytest

import rnnviz
from rnnviz import drawing as rgraph
from rnnviz.drawing import inspect
from rnnviz.engine import neuron, presets, signals
from rnnviz.engine.snippet import torch_snippet

TORCH_PYTHON = pathlib.Path("/tmp/torchenv/bin/python")
NETWORKS = [("rnn_tanh", 3, 2), ("lstm", 2, 2), ("gru", 2, 3), ("rnn_relu", 2, 1)]  # cell, H, L


def assignment(code: str, name: str):
    """The literal assigned to ``name`` in the snippet (parsed, never run)."""
    [value] = [a.value for a in ast.parse(code).body if isinstance(a, ast.Assign) and ast.unparse(a.targets[0]) == name]
    return ast.literal_eval(value)


def network(choice: str, H: int, L: int):
    params = presets.network_params(choice, 2, H, L, seed=5)
    x = signals.make_signal("random", 4, 2, seed=2)
    h0 = np.random.default_rng(0).normal(size=(L, H))
    return params, x, h0, rnnviz.forward(params, x, h0=h0)


@pytest.mark.parametrize("choice, H, L", NETWORKS)
def test_the_literals_read_back_exactly_as_the_weights_and_the_input(choice, H, L):
    params, x, h0, _ = network(choice, H, L)
    code = torch_snippet(params, x, f"h_{L - 1}_3", h0)
    weights = assignment(code, "W")
    expected = rnnviz.to_state_dict(params)
    assert list(weights) == list(expected)
    for name, value in expected.items():
        assert np.array_equal(np.array(weights[name]), value), name  # bit for bit: repr round-trips a float
    assert np.array_equal(np.array(assignment(code, "X")), x)
    assert np.array_equal(np.array(assignment(code, "H0")), h0)
    assert f"torch.nn.{choice[:4].rstrip('_').upper()}(" in code


def test_what_torch_cannot_build_is_refused_with_a_message():
    params = neuron.neuron_params(1.0, 0.5, 0.0, "sigmoid")
    with pytest.raises(ValueError, match="tanh and relu"):
        torch_snippet(params, np.zeros((3, 1)), "h_0_1")
    params, x, h0, _ = network("gru", 2, 1)
    for node in ("c_0_1", "op_fc_0_1", "h_0_9", "h_1_1", "nope"):
        with pytest.raises(ValueError):
            torch_snippet(params, x, node, h0)


def run_in_torch(code: str) -> list[list[float]]:
    out = subprocess.run([str(TORCH_PYTHON), "-"], input=code, capture_output=True, text=True, timeout=600, check=True)
    return [np.ravel(ast.literal_eval(line)) for line in out.stdout.splitlines()]


@pytest.mark.skipif(not TORCH_PYTHON.exists(), reason="PyTorch is an oracle, not a dependency: no /tmp/torchenv")
@pytest.mark.parametrize("choice, H, L", NETWORKS)
def test_the_snippet_prints_the_inspected_value_in_torch(choice, H, L):
    params, x, h0, trace = network(choice, H, L)
    dot = rgraph.unfolded_graph(trace, level="operations", shared_weights="nodes").source
    nodes = re.findall(r"^\t+(\w+) \[.*class=\"", dot, re.M)
    # every node of the drawing, in one torch process (each snippet stands alone, so they can follow each other)
    printed = run_in_torch("\n".join(torch_snippet(params, x, node, h0) for node in nodes))
    assert len(printed) == len(nodes)
    for node, value in zip(nodes, printed, strict=True):
        expected = np.ravel(inspect.inspect(trace, node).value)
        np.testing.assert_allclose(value, expected, rtol=0, atol=1e-9, err_msg=node)  # torch's float64 kernels
