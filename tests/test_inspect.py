"""The inspector (rnnviz.drawing.inspect): every node of every unfolded graph explained, with the
numbers of rnnviz.forward and the gradients of rnnviz.backward, and the operations' results
checked against the cell's own equations on the operands it names."""

import re

import numpy as np
import pytest

import rnnviz
from rnnviz import drawing as rgraph
from rnnviz.drawing import inspect
from rnnviz.engine import bptt, presets, signals

EXACT = dict(rtol=0, atol=1e-15)  # the same float64 operations in the same order, on the same arrays


def network(cell: str, H: int = 2, L: int = 2, T: int = 4):
    params = presets.network_params(cell, 2, H, L, seed=3)
    trace = rnnviz.forward(params, signals.make_signal("random", T, 2, seed=1))
    return trace, bptt.loss_backward(params, trace, "last")


def ids(dot: str) -> list[str]:
    return re.findall(r"^\t+(\w+) \[.*class=\"", dot, re.M)


@pytest.mark.parametrize("cell", ["rnn_tanh", "lstm", "gru"])
@pytest.mark.parametrize("level", ["cell", "operations"])
def test_every_drawn_node_is_explained(cell, level):
    trace, grads = network(cell)
    dot = rgraph.unfolded_graph(trace, grads=grads, level=level, shared_weights="nodes").source
    for node in ids(dot):
        found = inspect.inspect(trace, node, grads=grads)
        assert found.title and found.meaning.endswith(".") and found.equation and "=" in found.numbers, node
        assert found.value is not None and np.all(np.isfinite(found.value)), node


@pytest.mark.parametrize("cell", ["rnn_tanh", "lstm", "gru"])
def test_states_have_the_forward_values_and_the_backward_gradients(cell):
    trace, grads = network(cell)
    for k, lt in enumerate(trace.layers):
        for t in range(1, trace.steps + 1):
            h = inspect.inspect(trace, f"h_{k}_{t}", grads=grads)
            np.testing.assert_allclose(h.value, trace.hidden[k][t - 1], **EXACT)
            np.testing.assert_allclose(h.grad, grads.dh[k][t - 1], **EXACT)
            if lt.c is not None:
                c = inspect.inspect(trace, f"c_{k}_{t}", grads=grads)
                np.testing.assert_allclose(c.value, lt.c[t - 1], **EXACT)
                np.testing.assert_allclose(c.grad, grads.dc[k][t - 1], **EXACT)
    x = inspect.inspect(trace, "x_2", grads=grads)
    np.testing.assert_allclose(x.value, trace.x[1], **EXACT)
    np.testing.assert_allclose(x.grad, grads.x[1], **EXACT)
    w = inspect.inspect(trace, "w_W_hh_1", grads=grads)
    np.testing.assert_allclose(w.grad, grads.params.layers[1].W_hh, **EXACT)
    assert w.uses == tuple(range(1, trace.steps + 1))


def test_lstm_operations_agree_with_the_cell_equations():
    trace, _ = network("lstm", L=1)
    val = {n: inspect.inspect(trace, f"op_{n}_0_3").value for n in ("i", "f", "g", "o", "fc", "ig", "c", "tanh_c", "h")}
    c_prev = inspect.inspect(trace, "c_0_2").value
    np.testing.assert_allclose(val["fc"], val["f"] * c_prev, **EXACT)
    np.testing.assert_allclose(val["ig"], val["i"] * val["g"], **EXACT)
    np.testing.assert_allclose(val["c"], val["fc"] + val["ig"], rtol=0, atol=1e-15)  # one addition
    np.testing.assert_allclose(val["h"], val["o"] * np.tanh(val["c"]), rtol=0, atol=1e-15)  # forward's own tanh(c)
    z = inspect.inspect(trace, "op_z_0_3").value
    np.testing.assert_allclose(val["f"], 1 / (1 + np.exp(-z[2:4])), rtol=1e-15, atol=0)  # σ's own rounding


def test_gru_operations_agree_with_the_cell_equations():
    trace, _ = network("gru", L=1)
    get = lambda n: inspect.inspect(trace, f"op_{n}_0_2").value  # noqa: E731
    h_prev = inspect.inspect(trace, "h_0_1").value
    np.testing.assert_allclose(get("one_minus_z"), 1 - get("z"), **EXACT)
    np.testing.assert_allclose(get("zh"), get("z") * h_prev, **EXACT)
    np.testing.assert_allclose(get("h"), get("zn") + get("zh"), rtol=0, atol=1e-15)  # one addition
    np.testing.assert_allclose(get("h"), inspect.inspect(trace, "h_0_2").value, rtol=0, atol=1e-15)  # same sum


def test_numbers_show_the_equation_with_the_operands_values():
    trace, _ = network("lstm", L=1, T=3)
    found = inspect.inspect(trace, "op_fc_0_2")
    f, c1 = trace.layers[0].gates["f"][1], trace.layers[0].c[0]
    expected = [rgraph.format_number(v) for v in (*f, *c1, *(f * c1))]
    assert re.findall(r"-?[\d.]+(?:\\mathrm\{e\}-?\d+)?", found.numbers) == expected
    assert found.title == "f ⊙ c₁" and "\\odot" in found.numbers


def test_a_wide_network_shows_the_chosen_units_row():
    trace, _ = network("rnn_tanh", H=6, L=1)
    found = inspect.inspect(trace, "h_0_2", unit=4)
    assert found.unit == 4 and found.units == 6
    assert found.numbers.endswith(rgraph.format_number(trace.hidden[0][1][4]))
    with pytest.raises(ValueError, match="unit"):
        inspect.inspect(trace, "h_0_2", unit=6)


@pytest.mark.parametrize("node", ["h_0_9", "h_3_1", "c_0_1", "op_nope_0_1", "x_0", "ellipsis_0_3", "<b>", "h_a_b", ""])
def test_nodes_that_are_not_there_are_refused_with_a_message(node):
    trace, _ = network("gru", L=1)
    with pytest.raises(ValueError):
        inspect.inspect(trace, node)
    assert inspect.title_of(trace, node) == node
