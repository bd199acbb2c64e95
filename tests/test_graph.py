"""The computational graph: structure, numbers, classes, escaping, and real ``dot`` renders.

The node counts are predicted from the structure (formula in ``predicted_nodes``), the
numbers on the nodes are parsed back from the DOT text and compared with the trace.
"""

import functools
import html
import itertools
import re
import shutil
import subprocess

import numpy as np
import pytest
from conftest import dot_steps

import rnnviz
from rnnviz import drawing
from rnnviz.drawing import kernel, unfolding

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz dot is not installed")

CELLS = [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("gru", "tanh")]
LONG = 200
# nodes per layer and visible step: (cell level, operations level), states included
PER_LAYER = {"rnn": (2, 5), "lstm": (3, 14), "gru": (2, 11)}


@functools.cache
def run(cell, nonlinearity, layers, T, H=3, D=2, batched=False, seed=0):
    params = rnnviz.init_params(cell, D, H, layers, nonlinearity=nonlinearity, seed=seed, scale=1.5)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(T, 2, D) if batched else (T, D))
    trace = rnnviz.forward(params, x)
    d_output = np.zeros_like(trace.output)
    d_output[-1] = 1.0  # loss at step T
    return trace, rnnviz.backward(params, trace, d_output)


def predicted_nodes(cell, level, L, n_visible, n_gaps, weights="labels"):
    """x_t per step, per layer and step the cell (or its operations) and its states,
    initial states, one ellipsis per layer and gap, 3 weight nodes per layer in "nodes" mode."""
    per_layer = PER_LAYER[cell][0 if level == "cell" else 1]
    initial = L * (2 if cell == "lstm" else 1)
    weight_nodes = 3 * L if weights == "nodes" else 0
    return n_visible * (1 + L * per_layer) + initial + n_gaps * L + weight_nodes


def nodes(dot):
    """Node id -> (label lines, class) from DOT text written by graphviz."""
    out = {}
    for m in re.finditer(r"^\t+(\w+) \[(.*)\]$", dot, re.M):
        attrs = m.group(2)
        label = re.search(r'(?<![\w])label="((?:[^"\\]|\\.)*)"', attrs)
        cls = re.search(r'class="([^"]*)"', attrs)
        lines = label.group(1).split("\\n") if label else []
        out[m.group(1)] = (lines, cls.group(1) if cls else "")
    return out


def limit(trace, level):
    fixed = unfolding.fixed_nodes(trace.params, shared_weights=True)
    return unfolding.visible_limit(trace.params, level, None, fixed=fixed)


@pytest.mark.parametrize("cell,nonlinearity", CELLS)
@pytest.mark.parametrize("level", drawing.LEVELS)
@pytest.mark.parametrize("layers", [1, 2, 3])
def test_structure_every_combination(cell, nonlinearity, level, layers):
    base, _ = run(cell, nonlinearity, layers, 1)
    max_visible = limit(base, level)
    for T in sorted({1, 2, 5, max_visible, LONG}):
        trace, grads = run(cell, nonlinearity, layers, T)
        flags = ((True, True), (True, False), (False, False))  # (values, grads); enough for the nodes
        for (values, with_grads), highlight in itertools.product(flags, (None, (T + 1) // 2)):
            g = drawing.unfolded_graph(
                trace, level=level, values=values, grads=grads if with_grads else None, highlight_step=highlight
            )
            dot = drawing.dot_source(g)
            visible, gaps = kernel.step_window(T, max_visible, highlight)
            assert drawing.count_nodes(g) == predicted_nodes(cell, level, layers, len(visible), len(gaps))
            assert drawing.count_nodes(g) <= drawing.MAX_NODES
            if T <= max_visible:
                assert dot_steps(dot) == list(range(1, T + 1))
            else:
                assert {1, T} <= set(dot_steps(dot)) and len(dot_steps(dot)) == len(visible)
                hidden = T - len(visible)
                assert sum(re.findall(r"… (\d+) steps? hidden …", dot).count(str(b - a + 1)) for a, b in gaps)
                assert sum(b - a + 1 for a, b in gaps) == hidden


@pytest.mark.parametrize("cell,nonlinearity", CELLS)
@pytest.mark.parametrize("level", drawing.LEVELS)
def test_largest_graphs_stay_below_the_bound(cell, nonlinearity, level):
    trace, grads = run(cell, nonlinearity, 3, LONG, H=32, D=8)
    for weights in ("labels", "nodes"):
        for highlight in (None, 100):
            g = drawing.unfolded_graph(
                trace, level=level, grads=grads, shared_weights=weights, highlight_step=highlight
            )
            assert drawing.count_nodes(g) <= drawing.MAX_NODES
            assert drawing.count_nodes(g) == drawing.expected_node_count(
                trace, level=level, grads=grads, shared_weights=weights, highlight_step=highlight
            )


def test_explicit_max_steps_and_one_gap_says_how_many_are_hidden():
    trace, _ = run("gru", "tanh", 1, 50)
    dot = drawing.dot_source(drawing.unfolded_graph(trace, max_steps=6))
    assert dot_steps(dot) == [1, 2, 3, 48, 49, 50]
    assert "… 44 steps hidden …" in dot and "(steps 4–47)" in dot


def test_highlighted_step_is_kept_visible_between_two_gaps():
    trace, _ = run("rnn", "tanh", 2, LONG)
    g = drawing.unfolded_graph(trace, highlight_step=100, max_steps=6)
    dot = drawing.dot_source(g)
    assert dot_steps(dot) == [1, 2, 3, 100, 199, 200]
    assert "… 96 steps hidden …" in dot and "… 98 steps hidden …" in dot
    assert 'class="cell step-100 layer-0"' in dot and "#ff7f00" in dot


def parse_values(line):
    """'0.123' -> [0.123]; '[0.1, -2, …]' -> [0.1, -2.0]."""
    return [float(v) for v in line.strip("[]").split(", ") if v != "…"]


def close(shown, actual):
    shown, actual = np.asarray(shown), np.asarray(actual)
    assert np.allclose(shown, actual, rtol=5e-3, atol=1e-12), (shown, actual)  # display rounding: 3 digits


@pytest.mark.parametrize("cell,nonlinearity", CELLS)
@pytest.mark.parametrize("H", [1, 4])
@pytest.mark.parametrize("level", drawing.LEVELS)
def test_numbers_on_nodes_are_the_trace_numbers(cell, nonlinearity, H, level):
    trace, grads = run(cell, nonlinearity, 2, 3, H=H, D=1, batched=True)
    b = 1
    dot = drawing.dot_source(drawing.unfolded_graph(trace, level=level, grads=grads, batch_index=b))
    found = nodes(dot)
    n = 1 if H == 1 else 2  # a scalar, or the first two entries of the preview
    for t in range(1, 4):
        lines, _ = found[f"x_{t}"]
        close(parse_values(lines[1]), trace.x[t - 1, b])
        close(float(lines[2].split()[-1]), np.linalg.norm(grads.x[t - 1, b]))
        for k in range(2):
            lt = trace.layers[k]
            lines, cls = found[f"h_{k}_{t}"]
            assert cls.split()[:2] == ["state", f"step-{t}"]
            close(parse_values(lines[1]), lt.h[t - 1, b, :n])
            close(float(lines[2].split()[-1]), np.linalg.norm(grads.dh[k][t - 1, b]))
            if cell == "lstm":
                close(parse_values(found[f"c_{k}_{t}"][0][1]), lt.c[t - 1, b, :n])
                close(float(found[f"c_{k}_{t}"][0][2].split()[-1]), np.linalg.norm(grads.dc[k][t - 1, b]))
            if level == "operations":
                for name, value in lt.gates.items():
                    close(parse_values(found[f"op_{name}_{k}_{t}"][0][1]), value[t - 1, b, :n])
                if cell == "rnn":
                    close(parse_values(found[f"op_a_{k}_{t}"][0][1]), lt.pre["a"][t - 1, b, :n])


@pytest.mark.parametrize(
    "v,text",
    [(0, "0"), (-0.0, "0"), (-0.12345, "-0.123"), (12.34, "12.3"), (1.234e-5, "1.23e-05"), (123456, "1.23e+05")]
    + [(float("inf"), "inf"), (float("-inf"), "-inf"), (float("nan"), "nan"), (0.001, "0.001"), (999.4, "999")],
)
def test_format_number(v, text):
    assert drawing.format_number(v) == text


def test_gradient_colours_run_from_grey_to_red():
    assert kernel.grad_color(0.0) == kernel.grad_color(1e-9) == "#cccccc"
    assert kernel.grad_color(1e5) == "#de2d26"
    assert kernel.grad_width(1e-9) < kernel.grad_width(1e-2) < kernel.grad_width(1e3)


def test_neuron_views_name_the_weights():
    trace, _ = run("rnn", "tanh", 1, 5, H=1, D=1)
    dot = drawing.dot_source(drawing.unfolded_graph(trace, neuron=True, activation_label="sigmoid"))
    assert dot.count("W<SUB>x</SUB>") >= 5 and dot.count("W<SUB>y</SUB>") >= 5
    assert "y₅" in dot and "Σ, sigmoid" in dot
    folded = drawing.dot_source(drawing.folded_graph(trace.params, neuron=True))
    assert "W<SUB>x</SUB>" in folded and "W<SUB>y</SUB>" in folded and "neuron -> neuron" in folded
    with pytest.raises(ValueError, match="neuron"):
        drawing.unfolded_graph(run("rnn", "tanh", 1, 5)[0], neuron=True)


def test_dot_is_deterministic():
    trace, grads = run("lstm", "tanh", 2, 7)
    a = drawing.dot_source(drawing.unfolded_graph(trace, grads=grads, level="operations", highlight_step=3))
    b = drawing.dot_source(drawing.unfolded_graph(trace, grads=grads, level="operations", highlight_step=3))
    assert a == b


def test_bad_options_raise_value_errors():
    trace, _ = run("gru", "tanh", 1, 5)
    for kwargs in ({"level": "gates"}, {"highlight_step": 6}, {"max_steps": 1}, {"batch_index": 1}):
        with pytest.raises(ValueError):
            drawing.unfolded_graph(trace, **kwargs)
    with pytest.raises(ValueError):
        drawing.unfolded_graph(trace, shared_weights="sometimes")


HOSTILE = 'a"b\\c\\"d<e>&f\\n{g} [h] ;\\'


def test_render_without_dot_raises_a_clear_error(monkeypatch):
    monkeypatch.setattr(kernel.shutil, "which", lambda name: None)
    assert not drawing.graphviz_available()
    trace, _ = run("rnn", "tanh", 1, 2)
    with pytest.raises(drawing.GraphvizUnavailable, match="dot"):
        drawing.render_svg(drawing.unfolded_graph(trace))
    assert issubclass(drawing.GraphvizUnavailable, RuntimeError)


def dot_batch(sources):
    """Render many graphs with one dot process; returns the SVG text and dot's stderr."""
    proc = subprocess.run(["dot", "-Tsvg"], input="\n".join(sources), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return html.unescape(proc.stdout), proc.stderr  # dot writes '-' as '&#45;'


@needs_dot
def test_dot_renders_a_representative_set_without_warnings():
    sources = []
    for cell, nl in CELLS:
        for level in drawing.LEVELS:
            for layers, T in ((1, 1), (2, 5), (3, LONG)):
                trace, grads = run(cell, nl, layers, T)
                for kw in (
                    {},
                    {"grads": grads, "highlight_step": T, "highlight_path": True, "shared_weights": "nodes"},
                ):
                    sources.append(drawing.dot_source(drawing.unfolded_graph(trace, level=level, **kw)))
            sources.append(drawing.dot_source(drawing.folded_graph(trace.params)))
    trace, grads = run("rnn", "tanh", 1, 5, H=1, D=1)
    sources.append(
        drawing.dot_source(drawing.unfolded_graph(trace, neuron=True, grads=grads, activation_label=HOSTILE))
    )
    sources.append(drawing.dot_source(drawing.folded_graph(trace.params, neuron=True, activation_label=HOSTILE)))
    svg, stderr = dot_batch(sources)
    assert stderr == ""
    assert svg.count("</svg>") == len(sources)
    assert re.search(r'class="node cell step-3 layer-0"', svg)
    assert re.search(r'class="edge state step-3"', svg)
    assert re.search(r'class="cluster cell step-1 layer-0"', svg)


@needs_dot
def test_hostile_labels_yield_valid_dot_and_reach_the_svg_literally():
    trace, _ = run("rnn", "relu", 1, 3)
    g = drawing.unfolded_graph(trace, activation_label=HOSTILE)
    svg = drawing.render_svg(g)
    assert 'class="node cell step-2 layer-0"' in svg
    assert "a&quot;b\\c\\&quot;d&lt;e&gt;&amp;f\\n{g} [h] ;\\" in svg
    assert kernel.escape('x"y\\') == 'x\\"y\\\\'
