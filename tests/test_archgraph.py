"""The unfolded graph of each wiring: structure, classes, numbers, layout and real ``dot`` renders.

Which steps are drawn is predicted by hand (all of them up to 8, else the first 4 and the
last 4 around an ellipsis that names how many it hides); the numbers on the nodes are parsed
back from the DOT text and compared with values recomputed here from the weights (rnnviz's
forward, checked against PyTorch elsewhere, and numpy for the output layer and softmax); the
layout is read from the SVG coordinates that ``dot`` wrote.
"""

from __future__ import annotations

import functools
import html
import re
import shutil
import subprocess

import numpy as np
import pytest

import rnnviz
from rnnviz import drawing
from rnnviz.drawing import kernel
from rnnviz.drawing import wirings as ag
from rnnviz.learning import architectures as A
from rnnviz.learning import examples as E
from rnnviz.learning import train_examples as TE

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz dot is not installed")

LENGTHS = (1, 2, 3, 8, 9, 25, 60)
ENC_DEC = ((1, 1), (2, 5), (8, 3), (9, 9), (25, 1), (60, 60))


def visible(T: int) -> set[int]:
    """Up to 8 steps all drawn; beyond, the first 4 and the last 4 (the default max_steps is 8)."""
    return set(range(1, T + 1)) if T <= 8 else {1, 2, 3, 4, T - 3, T - 2, T - 1, T}


def cases():
    """(wiring, steps_in, steps_out, options): every wiring at several lengths, bidirectional
    where allowed, one and two layers."""
    for L in (1, 2):
        for T in LENGTHS:
            for bi in (False, True):
                yield "many_to_one", T, None, {"bidirectional": bi, "num_layers": L}
                yield "many_to_many", T, None, {"bidirectional": bi, "num_layers": L}
            for feed in A.FEEDS:
                yield "one_to_many", None, T, {"feed": feed, "num_layers": L}
        for T_in, T_out in ENC_DEC:
            yield "encoder_decoder", T_in, T_out, {"num_layers": L}


CASES = list(cases())


def case_id(case) -> str:
    w, a, b, kw = case
    return f"{w}-{a}-{b}-" + "-".join(f"{k}={v}" for k, v in kw.items())


# reading the DOT text back


_ATTR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|<.*?>(?=\s\w+=|\]$)|[^\s\]]+)')


def attrs_of(text: str) -> dict[str, str]:
    out = {}
    for key, value in _ATTR.findall(text):
        out[key] = value[1:-1] if value.startswith('"') else value
    return out


def parse(dot: str):
    """Visible nodes {id: (label lines, classes)} and visible edges [(tail, head, classes, attrs)],
    each edge in the direction its arrow points (dir=back swapped)."""
    nodes, edges = {}, []
    for m in re.finditer(r"^\t(\w+) \[(.*)\]$", dot, re.M):
        a = attrs_of(m.group(2))
        if a.get("style") == "invis":
            continue
        nodes[m.group(1)] = (a.get("label", "").split("\\n"), a.get("class", "").split())
    for m in re.finditer(r"^\t(\w+) -> (\w+)(?: \[(.*)\])?$", dot, re.M):
        a = attrs_of(m.group(3) or "")
        if a.get("style") == "invis":
            continue
        tail, head = m.group(1), m.group(2)
        if a.get("dir") == "back":
            tail, head = head, tail
        edges.append((tail, head, a.get("class", "").split(), a))
    return nodes, edges


def step(classes: list[str]) -> int | None:
    found = [int(c[5:]) for c in classes if c.startswith("step-")]
    assert len(found) <= 1, classes
    return found[0] if found else None


def of_kind(nodes, kind: str, *also: str) -> dict[str, tuple]:
    return {i: v for i, v in nodes.items() if kind in v[1] and all(c in v[1] for c in also)}


def steps_of(nodes, kind: str, *also: str) -> list[int]:
    return sorted(step(cls) for _, cls in of_kind(nodes, kind, *also).values())


def build(case):
    w, a, b, kw = case
    return ag.wiring_graph(w, a, b, **kw)


# structure of every case


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_the_step_classes_match_the_input_and_output_lengths(case):
    w, a, b, kw = case
    nodes, _ = parse(build(case).source)
    shape = ag.wiring_shape(w, a, b, **kw)
    T_in, T_out = shape.steps_in, shape.steps_out
    if w == "encoder_decoder":
        assert steps_of(nodes, "input", "encoder") == sorted(visible(T_in))
        assert steps_of(nodes, "input", "decoder") == sorted(visible(T_out))
        assert steps_of(nodes, "output", "decoder") == sorted(visible(T_out))
        assert not of_kind(nodes, "output", "encoder")
    elif w == "one_to_many":
        assert steps_of(nodes, "input") == [1], "one input vector, drawn once"
        assert steps_of(nodes, "output") == sorted(visible(T_out))
    elif w == "many_to_one":
        assert steps_of(nodes, "input") == sorted(visible(T_in))
        assert steps_of(nodes, "output") == [T_in], "one output, read after the last step"
    else:
        assert steps_of(nodes, "input") == sorted(visible(T_in))
        assert steps_of(nodes, "output") == sorted(visible(T_in))
    if max(T_in, T_out) <= 8:  # nothing collapsed: exactly T_in inputs, T_out outputs
        inputs = of_kind(nodes, "input", *(["encoder"] if w == "encoder_decoder" else []))
        assert len({step(c) for _, c in inputs.values()}) == T_in
        assert len({step(c) for _, c in of_kind(nodes, "output").values()}) == T_out


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_every_state_row_covers_its_sequence(case):
    """Each layer and direction draws its visible steps, its initial state, and ellipses for the rest."""
    w, a, b, kw = case
    nodes, _ = parse(build(case).source)
    shape = ag.wiring_shape(w, a, b, **kw)
    dirs = 2 if shape.bidirectional else 1
    parts = [("encoder", shape.steps_out if w == "one_to_many" else shape.steps_in)]
    if w == "encoder_decoder":
        parts.append(("decoder", shape.steps_out))
    for part, T in parts:
        for k in range(shape.num_layers):
            for r in range(dirs):
                prefix = f"{'s' if part == 'decoder' else 'h'}_{k}_{r}_"
                row = {i: v for i, v in nodes.items() if i.startswith(prefix) and "initial" not in v[1]}
                assert {step(c) for _, c in row.values()} == visible(T)
                assert all("reverse" in c for _, c in row.values()) == (r == 1)
                gaps = {i: v for i, v in nodes.items() if i.startswith(f"gap_{prefix}")}
                hidden = sum(int(lines[1].split()[0]) for lines, _ in gaps.values())
                assert hidden + len(row) == T, "the ellipses name the steps they hide"
                assert all("ellipsis" in c and step(c) is None for _, c in gaps.values())
    initial = [i for i, (_, c) in nodes.items() if "initial" in c]
    assert len(initial) == shape.num_layers * dirs, "h_0 per layer and direction; the decoder starts from the context"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_edges_run_forward_in_time_backward_in_the_reverse_rows(case):
    w, a, b, kw = case
    nodes, edges = parse(build(case).source)
    shape = ag.wiring_shape(w, a, b, **kw)

    def time_of(i):
        if "initial" in nodes[i][1]:
            return 0 if "reverse" not in nodes[i][1] else 10**6
        if "ellipsis" in nodes[i][1]:
            return int(nodes[i][0][2].strip("()").split("–")[0])
        return step(nodes[i][1])

    def row_of(i):  # (letter, layer, direction) of a state or an ellipsis
        m = re.fullmatch(r"(?:gap_)?([hs])_(\d+)_(\d+)_\d+", i)
        return m and m.groups()

    recurrent = [(t, h, c) for t, h, c, _ in edges if row_of(t) and row_of(t) == row_of(h)]
    assert recurrent or max(shape.steps_in, shape.steps_out) == 1
    for tail, head, _ in recurrent:
        forward = time_of(head) > time_of(tail)
        assert forward == ("reverse" not in nodes[head][1]), (tail, head)
    context = [e for e in edges if "context" in e[2]]
    feedback = [e for e in edges if "feedback" in e[2]]
    if w != "encoder_decoder":
        assert not context and not feedback
        return
    assert len(context) == shape.num_layers
    for tail, head, _, attrs in context:
        assert "encoder" in nodes[tail][1] and step(nodes[tail][1]) == shape.steps_in
        assert "decoder" in nodes[head][1] and step(nodes[head][1]) == 1
        assert attrs["xlabel"].startswith("context")
    pairs = sorted((step(nodes[t][1]), step(nodes[h][1])) for t, h, _, _ in feedback)
    shown = visible(shape.steps_out)
    assert pairs == [(t - 1, t) for t in sorted(shown) if t - 1 in shown]
    for tail, head, cls, attrs in feedback:
        assert "output" in nodes[tail][1] and "input" in nodes[head][1] and "decoder" in nodes[head][1]
        assert attrs["style"] == "dashed" and "feedback" in cls and "decoder" in cls


def test_one_to_many_feeds_its_vector_at_every_step_or_the_first():
    for feed, expected in (("every", [1, 2, 3, 4, 5]), ("first", [1])):
        nodes, edges = parse(ag.wiring_graph("one_to_many", steps_out=5, feed=feed).source)
        into = sorted(step(nodes[h][1]) for t, h, _, _ in edges if t == "x_1")
        assert into == expected


def test_bidirectional_outputs_read_both_directions():
    nodes, edges = parse(ag.wiring_graph("many_to_many", 5, bidirectional=True).source)
    for t in range(1, 6):
        sources = sorted(tail for tail, head, _, _ in edges if head == f"y_{t}")
        assert sources == [f"h_0_0_{t}", f"h_0_1_{t}"]
    nodes, edges = parse(ag.wiring_graph("many_to_one", 5, bidirectional=True).source)
    assert sorted(t for t, h, _, _ in edges if h == "concat") == ["h_0_0_5", "h_0_1_1"]
    assert [t for t, h, _, _ in edges if h == "y_5"] == ["concat"]
    assert "op" in nodes["concat"][1] and "→h₅" in nodes["concat"][0][0] and "←h₁" in nodes["concat"][0][0]


def test_collapse_keeps_the_node_count_below_the_bound():
    for w, a, b in (("many_to_one", 60, None), ("many_to_many", 60, None), ("one_to_many", None, 60)):
        for bi in (False, True) if w != "one_to_many" else (False,):
            g = ag.wiring_graph(w, a, b, bidirectional=bi, num_layers=A.MAX_LAYERS, max_steps=10_000)
            assert drawing.count_nodes(g) < drawing.MAX_NODES
    g = ag.wiring_graph("encoder_decoder", 60, 60, num_layers=A.MAX_LAYERS, max_steps=10_000)
    assert drawing.count_nodes(g) < drawing.MAX_NODES
    nodes, _ = parse(g.source)
    assert len(of_kind(nodes, "input", "encoder")) < 60, "the bound collapses the longest sequences"
    assert len(parse(ag.wiring_graph("many_to_many", 60, max_steps=60).source)[0]) > len(
        parse(ag.wiring_graph("many_to_many", 60).source)[0]
    ), "max_steps shows more steps where the bound allows"


def test_dot_is_deterministic():
    model, x, wt, target = run_model("encoder_decoder", "lstm")
    grads = A.backprop(model, wt, target)
    one = ag.wiring_graph("encoder_decoder", trace=wt, grads=grads).source
    assert one == ag.wiring_graph("encoder_decoder", trace=wt, grads=grads).source
    assert ag.wiring_graph("many_to_many", 7).source == ag.wiring_graph("many_to_many", 7).source


def test_bad_arguments_raise_value_errors():
    model, x, wt, target = run_model("many_to_many", "gru")
    bad = [
        lambda: ag.wiring_graph("one_to_one", 3),
        lambda: ag.wiring_graph("encoder_decoder", 3, 3, bidirectional=True),
        lambda: ag.wiring_graph("one_to_many", None, 3, bidirectional=True),
        lambda: ag.wiring_graph("many_to_one", 3, 2),
        lambda: ag.wiring_graph("many_to_many", 3, 4),
        lambda: ag.wiring_graph("one_to_many", 2, 3),
        lambda: ag.wiring_graph("encoder_decoder", 3),
        lambda: ag.wiring_graph("many_to_one", 0),
        lambda: ag.wiring_graph("many_to_one", 3, num_layers=0),
        lambda: ag.wiring_graph("many_to_one", 3, num_layers=A.MAX_LAYERS + 1),
        lambda: ag.wiring_graph("one_to_many", None, 3, feed="sometimes"),
        lambda: ag.wiring_graph("many_to_one", 3, cell="transformer"),
        lambda: ag.wiring_graph("many_to_one", 9, max_steps=1),
        lambda: ag.wiring_graph("many_to_many", trace=wt, grads=None, batch_index=1),
        lambda: ag.wiring_graph("many_to_one", trace=wt),
        lambda: ag.wiring_graph("many_to_many", 99, trace=wt),
    ]
    for make in bad:
        with pytest.raises(ValueError):
            make()
    with pytest.raises(ValueError, match="trace"):
        ag.wiring_graph("many_to_many", 4, grads=A.backprop(model, wt, target))


# the numbers on the nodes


@functools.cache
def run_model(wiring: str, cell: str, bidirectional: bool = False, batched: bool = False, L: int = 1):
    """A small model of every wiring, with vocabulary-sized one-hot inputs (D = 5, H = 3, O = 4)."""
    softmax = wiring != "one_to_many"
    model = A.init_model(wiring, cell, 5, 3, 4, num_layers=L, bidirectional=bidirectional, softmax=softmax, seed=3)
    rng = np.random.default_rng(0)
    words = [[0, 3, 2, 1, 4, 4], [1, 1, 0, 2, 3, 0]]
    if wiring == "one_to_many":
        x = rng.normal(size=(2, 5)) if batched else rng.normal(size=5)
        wt = A.run(model, x, steps_out=6)
    else:
        x = np.eye(5)[np.array(words).T] if batched else np.eye(5)[words[0]]  # (T, [B,] 5)
        wt = A.run(model, x, steps_out=6 if wiring == "encoder_decoder" else None)
    lead = wt.logits.shape[:-1]
    target = rng.integers(0, 4, size=lead) if softmax else rng.normal(size=wt.logits.shape)
    return model, x, wt, target


WORDS = ("alpha", "beta", "gamma", "delta", "eps")
CLASSES = ("neg", "pos", "odd", "even")


def softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize(
    "wiring,bidirectional",
    [("many_to_one", False), ("many_to_one", True), ("one_to_many", False), ("many_to_many", False)]
    + [("many_to_many", True), ("encoder_decoder", False)],
)
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_numbers_on_the_nodes_are_the_runs_numbers(wiring, bidirectional, cell):
    model, x, wt, target = run_model(wiring, cell, bidirectional)
    grads = A.backprop(model, wt, target)
    g = ag.wiring_graph(wiring, trace=wt, grads=grads, input_names=WORDS, output_names=CLASSES)
    nodes, edges = parse(g.source)
    # the states, from the cell's own forward pass over what the stack read
    enc_x = x if wiring != "one_to_many" else np.tile(x, (6, 1))
    enc = rnnviz.forward(model.encoder, enc_x)
    dirs = 2 if bidirectional else 1
    for r in range(dirs):
        for t in range(1, enc.steps + 1):
            lines, _ = nodes[f"h_0_{r}_{t}"]
            assert lines[1] == kernel.format_vector(enc.hidden[r][t - 1])
            assert lines[2] == "‖∇‖ " + kernel.label_number(kernel.norm(grads.encoder.dh[r][t - 1]))
    # the outputs: the output layer and softmax, by numpy
    if wiring == "many_to_one":
        top = np.concatenate([enc.hidden[0][-1]] + ([enc.hidden[1][0]] if bidirectional else []))[None]
    elif wiring == "encoder_decoder":
        dec = rnnviz.forward(model.decoder, wt.decoder_inputs, enc.h_n, enc.c_n)
        top = dec.output
        for t in range(1, 7):
            assert nodes[f"s_0_0_{t}"][0][1] == kernel.format_vector(dec.hidden[0][t - 1])
    else:
        top = enc.output
    logits = top @ model.output.W_hy.T + model.output.b_y
    steps = [enc.steps] if wiring == "many_to_one" else range(1, logits.shape[0] + 1)
    for i, t in enumerate(steps):
        lines, _ = nodes[f"y_{t}"]
        if model.softmax:
            p = softmax(logits[i])
            assert lines[1] == f"{CLASSES[int(p.argmax())]} {p.max():.2f}"
        else:
            assert lines[1] == kernel.format_vector(logits[i])
        assert lines[2] == "‖∇‖ " + kernel.label_number(kernel.norm(grads.d_logits[i]))
    # the inputs: the word each one-hot vector stands for; one_to_many's vector as numbers
    if wiring == "one_to_many":
        assert nodes["x_1"][0][1] == kernel.format_vector(x)
        assert nodes["x_1"][0][2] == "‖∇‖ " + kernel.label_number(kernel.norm(grads.x))
    else:
        first = "x_1" if wiring != "encoder_decoder" else "x_1"
        assert nodes[first][0][1] == f"“{WORDS[int(np.argmax(x[0]))]}”"
    # recurrent edges carry the gradient of their tail state, coloured on rnnviz.graph's scale
    for tail, head, _, attrs in edges:
        if tail == "h_0_0_1" and head == "h_0_0_2":
            assert attrs["color"] == kernel.grad_color(kernel.norm(grads.encoder.dh[0][0]))
            # exact: the drawing's gradients come from the same backprop call on the same arrays
            assert float(attrs["penwidth"]) == kernel.grad_width(kernel.norm(grads.encoder.dh[0][0]))


def test_the_decoder_shows_what_it_read_and_teacher_forcing_has_no_feedback():
    model, x, wt, target = run_model("encoder_decoder", "gru")
    nodes, edges = parse(ag.wiring_graph("encoder_decoder", trace=wt, output_names=CLASSES).source)
    assert nodes["din_1"][0][0] == "start"
    for t in range(2, 7):
        p = wt.y[t - 2]
        assert nodes[f"din_{t}"][0] == [f"y{kernel.sub(t - 1)}", f"{CLASSES[int(p.argmax())]} {p.max():.2f}"]
    assert sum("feedback" in c for _, _, c, _ in edges) == 5
    taught = A.run(model, x, teacher=target)
    nodes, edges = parse(ag.wiring_graph("encoder_decoder", trace=taught, output_names=CLASSES).source)
    assert not any("feedback" in c for _, _, c, _ in edges)
    assert nodes["din_3"][0][0] == "target₂" and nodes["din_3"][0][1].startswith(CLASSES[target[1]])


def test_a_batched_run_shows_the_chosen_sequence():
    model, x, wt, target = run_model("many_to_many", "lstm", batched=True)
    for b in (0, 1):
        nodes, _ = parse(ag.wiring_graph("many_to_many", trace=wt, batch_index=b, input_names=WORDS).source)
        words = [nodes[f"x_{t}"][0][1] for t in range(1, 7)]
        assert words == [f"“{WORDS[int(k)]}”" for k in x[:, b].argmax(axis=-1)]
        assert nodes["h_0_0_3"][0][1] == kernel.format_vector(wt.encoder.hidden[0][2, b])


def test_an_example_sentence_reads_as_words():
    example = E.make_example("sentiment", 4, 6, seed=1)
    xi, ti = E.item(example, 0)
    model = TE.example_model(example.info, "gru", 4)
    wt = A.run(model, xi)
    info = example.info
    nodes, _ = parse(
        ag.wiring_graph("many_to_one", trace=wt, input_names=info.input_vocab, output_names=info.output_vocab).source
    )
    words = [nodes[f"x_{t}"][0][1].strip("“”") for t in range(1, wt.steps_in + 1)]
    assert " ".join(words) == E.input_text(info, xi)
    assert nodes[f"y_{wt.steps_in}"][0][1].split()[0] in info.output_vocab


HOSTILE = '<script>alert("x")</script> \\N "]; evil [label="injected"]'


@needs_dot
def test_hostile_names_stay_text():
    model, x, wt, target = run_model("many_to_many", "rnn")
    names = (HOSTILE,) + WORDS[1:]
    g = ag.wiring_graph("many_to_many", trace=wt, input_names=names, output_names=(HOSTILE,) * 4)
    plain = ag.wiring_graph("many_to_many", trace=wt, input_names=WORDS, output_names=CLASSES)
    assert drawing.count_nodes(g) == drawing.count_nodes(plain)
    svg = drawing.render_svg(g)
    assert "<script" not in svg and "&lt;script&gt;" in svg


# real renders and the layout


def dot_batch(sources: list[str]) -> tuple[str, str]:
    proc = subprocess.run(["dot", "-Tsvg"], input="\n".join(sources), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return html.unescape(proc.stdout), proc.stderr


@needs_dot
def test_dot_renders_every_case_without_warnings_and_the_classes_reach_the_svg():
    sources = [build(case).source for case in CASES]
    for wiring, bi in (("many_to_one", True), ("many_to_many", False), ("encoder_decoder", False)):
        model, x, wt, target = run_model(wiring, "lstm", bi)
        sources.append(ag.wiring_graph(wiring, trace=wt, grads=A.backprop(model, wt, target)).source)
    svg, stderr = dot_batch(sources)
    assert stderr == ""
    assert svg.count("</svg>") == len(sources)
    for cls in (
        "node input step-1",
        "node state step-3",
        "node output step-2",
        "node input step-1 encoder",
        "node input step-2 decoder",
        "node state step-1 decoder",
        "node state step-2 reverse",
        "node state initial",
        "edge state decoder context",
        "edge output step-2 decoder feedback",
        "node ellipsis",
    ):
        assert f'class="{cls}' in svg, cls


def positions(svg: str) -> dict[str, tuple[float, float]]:
    """Node id -> (x, y) of its first text line, in the SVG's coordinates (y grows downwards)."""
    out = {}
    for m in re.finditer(r'<g id="[^"]+" class="node[^"]*">\s*<title>(\w+)</title>(.*?)</g>', svg, re.S):
        text = re.search(r'<text [^>]*x="([-\d.]+)" y="([-\d.]+)"', m.group(2))
        if text:
            out[m.group(1)] = (float(text.group(1)), float(text.group(2)))
    return out


SIDE_BY_SIDE = [
    ("many_to_one", 4, None),
    ("one_to_many", None, 3),
    ("many_to_many", 4, None),
    ("encoder_decoder", 4, 3),
]


@needs_dot
def test_the_four_wirings_line_up_inputs_below_states_below_outputs():
    rows = []
    for wiring, a, b in SIDE_BY_SIDE:
        pos = positions(drawing.render_svg(ag.wiring_graph(wiring, a, b, legend=False)))
        ys = {
            kind: {round(y, 1) for i, (x, y) in pos.items() if re.match(pattern, i)}
            for kind, pattern in (("input", r"x_|din_"), ("state", r"[hs]_0_0_"), ("output", r"y_"))
        }
        assert all(len(v) == 1 for v in ys.values()), f"{wiring}: each kind on one row: {ys}"
        y_in, y_state, y_out = (ys[k].pop() for k in ("input", "state", "output"))
        assert y_in > y_state > y_out, f"{wiring}: inputs at the bottom, outputs on top"
        rows.append((y_in - y_state, y_state - y_out))
        states = sorted((int(i.rsplit("_", 1)[1]), x) for i, (x, _) in pos.items() if i.startswith("h_0_0_"))
        assert [x for _, x in states] == sorted(x for _, x in states), f"{wiring}: time runs left to right"
        for t in range(1, 5):  # one column per step
            column = [pos[i][0] for i in (f"x_{t}", f"h_0_0_{t}", f"y_{t}") if i in pos]
            if column and wiring != "encoder_decoder":
                assert max(column) - min(column) < 1.0, f"{wiring}: step {t} is not one column"
    assert len(set(rows)) == 1, f"the rows are the same distance apart in every wiring: {rows}"


@needs_dot
def test_the_reverse_row_sits_above_the_forward_row_in_the_same_columns():
    pos = positions(drawing.render_svg(ag.wiring_graph("many_to_many", 5, bidirectional=True)))
    for t in range(1, 6):
        (xf, yf), (xr, yr) = pos[f"h_0_0_{t}"], pos[f"h_0_1_{t}"]
        assert yr < yf and abs(xr - xf) < 1.0
        assert abs(pos[f"x_{t}"][0] - xf) < 1.0 and abs(pos[f"y_{t}"][0] - xf) < 1.0
    assert pos["h_0_1_0"][0] > pos["h_0_1_5"][0], "the reverse direction starts at the right"
    assert pos["h_0_0_0"][0] < pos["h_0_0_1"][0]


def numbers_in(text: str) -> np.ndarray:
    return np.array([float(v) for v in re.findall(r"-?\d+(?:\.\d+)?(?:e[-+]\d+)?", text)])


@pytest.mark.parametrize("cell", ["gru", "lstm"])
@pytest.mark.parametrize("wiring", A.BIDIRECTIONAL_WIRINGS)
def test_bidirectional_numbers_agree_with_pytorch(wiring, cell):
    """A bidirectional stack from a torch fixture: the numbers on both rows are torch's output,
    forward half then reverse half, and the output reads both directions as torch's h_n."""
    d = np.load(f"tests/fixtures/torch/{cell}_L1bi_T6_unb_D3H4_noh0_nobias_up-all.npz", allow_pickle=False)
    sd = {k[3:]: d[k] for k in d.files if k.startswith("sd.")}
    encoder = rnnviz.from_state_dict(sd, cell=cell)
    rng = np.random.default_rng(5)
    output = A.OutputLayer(rng.normal(size=(3, 8)), rng.normal(size=3))
    model = A.Model(wiring, encoder, output, softmax=True)
    wt = A.run(model, d["x"])
    dot = ag.wiring_graph(wiring, trace=wt, output_names=("a", "b", "c")).source
    nodes, _ = parse(dot)
    tooltips = {m.group(1): m.group(2) for m in re.finditer(r'^\t(\w+) \[.*tooltip="([^"]*)"', dot, re.M)}
    for t in range(1, 7):
        forward = numbers_in(tooltips[f"h_0_0_{t}"].split("\\n")[1])  # "= [h values]", then the LSTM's c
        reverse = numbers_in(tooltips[f"h_0_1_{t}"].split("\\n")[1])
        assert np.allclose(forward, d["output"][t - 1, :4], rtol=5e-3, atol=1e-3)  # display rounding
        assert np.allclose(reverse, d["output"][t - 1, 4:], rtol=5e-3, atol=1e-3)  # display rounding
    top = d["output"] if wiring == "many_to_many" else np.concatenate([d["h_n"][0], d["h_n"][1]])[None]
    p = softmax(top @ output.W_hy.T + output.b_y)
    for i, node in enumerate([f"y_{t}" for t in range(1, 7)] if wiring == "many_to_many" else ["y_6"]):
        assert nodes[node][0][1] == f"{'abc'[int(p[i].argmax())]} {p[i].max():.2f}"
