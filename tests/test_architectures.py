"""Wirings (rnnviz.architectures): gradients by central finite differences, a hand-computed
output layer, the wirings' structural properties, and input validation."""

from __future__ import annotations

import math

import numpy as np
import pytest

import rnnviz
from rnnviz.learning import architectures as arch
from rnnviz.learning import examples as ex
from rnnviz.learning import train_examples as te

D, H, O = 3, 2, 4  # all different, so a transposed matrix fails loudly
T_IN, T_OUT, B = 3, 4, 2


def _inputs(wiring, batched, rng):
    if wiring == "one_to_many":
        return rng.normal(size=(B, D) if batched else (D,))
    return rng.normal(size=(T_IN, B, D) if batched else (T_IN, D))


def _target(model, wtrace, rng, one_hot=False):
    lead = wtrace.logits.shape[:-1]
    if not model.softmax:
        return rng.normal(size=wtrace.logits.shape)
    ids = rng.integers(0, model.output_size, size=lead)
    return np.eye(model.output_size)[ids] if one_hot else ids


def _states(model, batched, rng):
    rows = model.num_layers * (2 if model.bidirectional else 1)
    shape = (rows, B, H) if batched else (rows, H)
    h0 = rng.normal(size=shape)
    c0 = rng.normal(size=shape) if model.cell == "lstm" else None
    return h0, c0


def _check_gradients(model, x, target, *, steps_out=None, h0=None, c0=None, teacher=None, eps=1e-6):
    """Compare backprop with central differences of loss, element by element, for every
    parameter array of the model and for x, h0 and c0."""

    def f():
        wt = arch.run(model, x, steps_out=steps_out, h0=h0, c0=c0, teacher=teacher)
        return arch.loss(wt, target)

    wtrace = arch.run(model, x, steps_out=steps_out, h0=h0, c0=c0, teacher=teacher)
    grads = arch.backprop(model, wtrace, target)
    pairs = [
        (name, a, g) for (name, a), (_, g) in zip(arch.named_arrays(model), arch.named_arrays(grads.model), strict=True)
    ]
    pairs.append(("x", x, grads.x))
    if h0 is not None:
        pairs.append(("h0", h0, grads.h0))
    if c0 is not None:
        pairs.append(("c0", c0, grads.c0))
    for name, a, g in pairs:
        assert g.shape == a.shape, name
        numeric = np.empty_like(a)
        for idx in np.ndindex(a.shape):
            old = a[idx]
            a[idx] = old + eps
            up = f()
            a[idx] = old - eps
            down = f()
            a[idx] = old
            numeric[idx] = (up - down) / (2 * eps)
        np.testing.assert_allclose(g, numeric, rtol=1e-5, atol=1e-8, err_msg=name)  # finite difference
    return grads


@pytest.mark.parametrize("batched", [False, True], ids=["single", "batched"])
@pytest.mark.parametrize("softmax", [False, True], ids=["values", "softmax"])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("wiring", arch.WIRINGS)
def test_gradients_match_finite_differences(wiring, cell, softmax, batched):
    rng = np.random.default_rng([len(wiring), len(cell), softmax, batched])
    model = arch.init_model(wiring, cell, D, H, O, softmax=softmax, seed=3)
    x = _inputs(wiring, batched, rng)
    h0, c0 = _states(model, batched, rng)
    steps_out = T_OUT if wiring in ("one_to_many", "encoder_decoder") else None
    wtrace = arch.run(model, x, steps_out=steps_out)
    target = _target(model, wtrace, rng)
    _check_gradients(model, x, target, steps_out=steps_out, h0=h0, c0=c0)


@pytest.mark.parametrize("batched", [False, True], ids=["single", "batched"])
@pytest.mark.parametrize("softmax", [False, True], ids=["values", "softmax"])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_teacher_forcing_gradients(cell, softmax, batched):
    rng = np.random.default_rng([len(cell), softmax, batched, 7])
    model = arch.init_model("encoder_decoder", cell, D, H, O, softmax=softmax, seed=5)
    x = _inputs("encoder_decoder", batched, rng)
    wtrace = arch.run(model, x, steps_out=T_OUT)
    target = _target(model, wtrace, rng, one_hot=softmax and batched)
    teacher = target if softmax else target.copy()  # ids or one-hot rows, or values
    h0 = _states(model, batched, rng)[0]
    grads = _check_gradients(model, x, target, teacher=teacher, h0=h0)
    # teacher forcing has no feedback path: the decoder's logits gradient is the loss's own
    wt = arch.run(model, x, teacher=teacher, h0=h0)
    np.testing.assert_array_equal(grads.d_logits, arch.loss_and_grad(wt, target)[1])  # exact: same calls, same arrays


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_one_to_many_feed_first_gradients(cell):
    rng = np.random.default_rng(11)
    model = arch.init_model("one_to_many", cell, D, H, O, feed="first", seed=2)
    x = rng.normal(size=(B, D))
    wtrace = arch.run(model, x, steps_out=T_OUT)
    assert np.all(wtrace.encoder.x[1:] == 0) and np.array_equal(wtrace.encoder.x[0], x)  # exact: zeros and a copy
    _check_gradients(model, x, _target(model, wtrace, rng), steps_out=T_OUT)


@pytest.mark.parametrize("wiring", arch.WIRINGS)
def test_two_layer_gradients(wiring):
    """The state carried between layers and (encoder_decoder) from encoder to decoder, per layer."""
    rng = np.random.default_rng(13)
    model = arch.init_model(wiring, "lstm", D, H, O, num_layers=2, softmax=True, seed=4)
    x = _inputs(wiring, True, rng)
    h0, c0 = _states(model, True, rng)
    steps_out = 2 if wiring in ("one_to_many", "encoder_decoder") else None
    wtrace = arch.run(model, x, steps_out=steps_out)
    _check_gradients(model, x, _target(model, wtrace, rng), steps_out=steps_out, h0=h0, c0=c0)


def test_relu_rnn_gradients():
    rng = np.random.default_rng(17)
    model = arch.init_model("many_to_many", "rnn", D, H, O, nonlinearity="relu", seed=1)
    x = rng.normal(size=(T_IN, D))
    _check_gradients(model, x, rng.normal(size=(T_IN, O)))


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("wiring", arch.BIDIRECTIONAL_WIRINGS)
def test_bidirectional_gradients(wiring, cell):
    rng = np.random.default_rng([len(wiring), len(cell), 19])
    model = arch.init_model(wiring, cell, D, H, O, num_layers=2, bidirectional=True, softmax=True, seed=6)
    assert model.output.W_hy.shape == (O, 2 * H)
    x = _inputs(wiring, True, rng)
    h0, c0 = _states(model, True, rng)
    wtrace = arch.run(model, x)
    _check_gradients(model, x, _target(model, wtrace, rng), h0=h0, c0=c0)


def test_bidirectional_many_to_one_reads_both_ends():
    """The forward direction's h_T and the reverse direction's state after reading x_1."""
    rng = np.random.default_rng(23)
    model = arch.init_model("many_to_one", "gru", D, H, O, bidirectional=True, seed=8)
    x = rng.normal(size=(T_IN, D))
    wt = arch.run(model, x)
    out = wt.encoder.output  # (T, 2H)
    np.testing.assert_array_equal(wt.features[0], np.concatenate([out[-1, :H], out[0, H:]]))  # exact: a copy


def _neuron_model(wiring="many_to_one", softmax=False, O=1):  # noqa: N803
    layer = rnnviz.LayerParams(np.array([[0.5]]), np.array([[-0.3]]), np.array([0.1]), np.array([0.2]))
    W_hy = np.array([[2.0], [-1.5]])[:O]
    b_y = np.array([-1.0, 0.25])[:O]
    return arch.Model(wiring, rnnviz.Params("rnn", (layer,)), arch.OutputLayer(W_hy, b_y), softmax=softmax)


def test_output_layer_by_hand_regression():
    h1 = math.tanh(0.5 * 1.0 + 0.3)
    h2 = math.tanh(0.5 * 2.0 - 0.3 * h1 + 0.3)
    y = 2.0 * h2 - 1.0
    model = _neuron_model()
    wt = arch.run(model, [[1.0], [2.0]])
    assert wt.logits.shape == (1, 1) and wt.output_steps == (2,)
    assert wt.y[0, 0] == pytest.approx(y, abs=1e-15)  # rounding
    target = 0.7
    assert arch.loss(wt, [target]) == pytest.approx((y - target) ** 2, abs=1e-15)  # rounding
    g = arch.backprop(model, wt, [target])
    assert g.model.output.W_hy[0, 0] == pytest.approx(2 * (y - target) * h2, abs=1e-15)  # rounding
    assert g.model.output.b_y[0] == pytest.approx(2 * (y - target), abs=1e-15)  # rounding
    # and dL/dh_2 = 2 (y - t) W_hy reaches the recurrent weight's last step as 2 (y - t) W_hy (1 - h2^2) h1 + ...
    d_a2 = 2 * (y - target) * 2.0 * (1 - h2**2)
    d_a1 = d_a2 * -0.3 * (1 - h1**2)
    assert g.model.encoder.layers[0].W_hh[0, 0] == pytest.approx(d_a2 * h1, abs=1e-14)  # rounding
    assert g.model.encoder.layers[0].W_ih[0, 0] == pytest.approx(d_a2 * 2.0 + d_a1 * 1.0, abs=1e-14)  # rounding


def test_output_layer_by_hand_softmax():
    h1 = math.tanh(0.8)
    z = [2.0 * h1 - 1.0, -1.5 * h1 + 0.25]
    p1 = math.exp(z[1]) / (math.exp(z[0]) + math.exp(z[1]))
    model = _neuron_model("many_to_many", softmax=True, O=2)
    wt = arch.run(model, [[1.0]])
    np.testing.assert_allclose(wt.y[0], [1 - p1, p1], rtol=1e-14)  # rounding
    assert arch.loss(wt, [1]) == pytest.approx(-math.log(p1), rel=1e-14)  # rounding
    g = arch.backprop(model, wt, [1])
    np.testing.assert_allclose(g.d_logits[0], [1 - p1, p1 - 1], rtol=1e-13)  # rounding
    np.testing.assert_allclose(g.model.output.W_hy[:, 0], [(1 - p1) * h1, (p1 - 1) * h1], rtol=1e-13)  # rounding


def test_many_to_one_is_the_last_output_of_many_to_many():
    rng = np.random.default_rng(29)
    m2m = arch.init_model("many_to_many", "lstm", D, H, O, seed=9)
    m2o = arch.Model("many_to_one", m2m.encoder, m2m.output)
    x = rng.normal(size=(5, B, D))
    last = arch.run(m2m, x).logits[-1]
    np.testing.assert_allclose(arch.run(m2o, x).logits[0], last, rtol=1e-14)  # BLAS order: one step vs all steps
    trace = rnnviz.forward(m2m.encoder, x)
    np.testing.assert_allclose(arch.run(m2m, x).logits, trace.output @ m2m.output.W_hy.T + m2m.output.b_y)  # BLAS order


def test_one_to_many_feeds_the_vector_at_every_step():
    model = arch.init_model("one_to_many", "gru", D, H, O, seed=1)
    v = np.array([0.3, -1.0, 2.0])
    wt = arch.run(model, v, steps_out=6)
    assert wt.encoder.x.shape == (6, D) and np.all(wt.encoder.x == v)
    assert wt.logits.shape == (6, O) and wt.steps_in == 1 and wt.output_steps == (1, 2, 3, 4, 5, 6)


@pytest.mark.parametrize("softmax", [False, True])
def test_encoder_decoder_feeds_back_its_output(softmax):
    rng = np.random.default_rng(31)
    model = arch.init_model("encoder_decoder", "lstm", D, H, O, num_layers=2, softmax=softmax, seed=2)
    x = rng.normal(size=(T_IN, B, D))
    wt = arch.run(model, x, steps_out=5)
    np.testing.assert_array_equal(wt.decoder.h0, wt.encoder.h_n)  # exact: the same array handed on
    np.testing.assert_array_equal(wt.decoder.c0, wt.encoder.c_n)  # exact: the same array handed on
    assert np.all(wt.decoder_inputs[0] == 0)  # the start vector
    np.testing.assert_allclose(wt.decoder_inputs[1:], wt.y[:-1], rtol=1e-12, atol=1e-15)  # rounding
    if softmax:
        np.testing.assert_allclose(wt.y.sum(axis=-1), 1.0, rtol=1e-14)  # rounding: softmax sums to 1 to an ulp
    assert wt.output_steps == (1, 2, 3, 4, 5) and wt.steps_in == T_IN and wt.steps_out == 5
    assert arch.run(model, x).steps_out == T_IN  # default: as many outputs as inputs


def test_encoder_decoder_teacher_forcing_feeds_the_targets():
    rng = np.random.default_rng(37)
    model = arch.init_model("encoder_decoder", "gru", D, H, O, softmax=True, seed=2)
    x = rng.normal(size=(T_IN, D))
    ids = np.array([3, 0, 2, 1, 1])
    wt = arch.run(model, x, teacher=ids)
    np.testing.assert_array_equal(wt.decoder_inputs[1:], np.eye(O)[ids[:-1]])  # exact: one-hot rows
    assert wt.steps_out == 5
    # a teacher equal to the free-running model's own outputs reproduces the free run
    free = arch.run(model, x, steps_out=5)
    forced = arch.run(model, x, teacher=free.y)
    np.testing.assert_allclose(forced.logits, free.logits, rtol=1e-12)  # BLAS order: teacher forcing, all steps at once


def test_parameter_count_and_names():
    model = arch.init_model("encoder_decoder", "gru", D, H, O, seed=0)
    names = [n for n, _ in arch.named_arrays(model)]
    assert names[:5] == [f"encoder.layers[0].{k}" for k in ("W_ih", "W_hh", "b_ih", "b_hh")] + ["output.W_hy"]
    assert names[5:] == ["output.b_y"] + [f"decoder.layers[0].{k}" for k in ("W_ih", "W_hh", "b_ih", "b_hh")]
    assert [id(a) for a in arch.parameters(model)] == [id(a) for _, a in arch.named_arrays(model)]  # same order
    enc = 3 * H * (D + H + 2)
    dec = 3 * H * (O + H + 2)
    assert arch.parameter_count(model) == enc + dec + O * H + O


def test_everything_is_float64():
    model = arch.init_model("many_to_many", "gru", D, H, O, softmax=True)
    wt = arch.run(model, np.ones((2, D), dtype=np.float32))
    g = arch.backprop(model, wt, [0, 1])
    for a in (wt.logits, wt.y, g.x, g.d_logits, *(a for _, a in arch.named_arrays(g.model))):
        assert a.dtype == np.float64


def _m(wiring="many_to_many", **kw):
    return arch.init_model(wiring, "gru", D, H, O, **kw)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: _m("sideways"), "unknown wiring"),
        (lambda: arch.init_model("many_to_one", "cnn", D, H, O), "unknown cell"),
        (lambda: _m(hidden_size=0) if False else arch.init_model("many_to_one", "gru", D, 0, O), "hidden_size"),
        (lambda: _m("encoder_decoder", bidirectional=True), "bidirectional"),
        (lambda: _m("one_to_many", bidirectional=True), "bidirectional"),
        (lambda: _m("one_to_many", feed="sometimes"), "unknown feed"),
        (lambda: arch.run(_m(), np.full((2, D), np.nan)), "NaN"),
        (lambda: arch.run(_m(), np.ones((2, D + 1))), "input size"),
        (lambda: arch.run(_m(), np.ones((arch.MAX_STEPS + 1, D))), "from 1 to 60 steps"),
        (lambda: arch.run(_m(), np.ones((0, D))), "from 1 to 60 steps"),
        (lambda: arch.run(_m(), np.ones(D)), "dimensions"),
        (lambda: arch.run(_m(), [["a"] * D]), "numeric"),
        (lambda: arch.run(_m(), np.ones((2, D)), steps_out=3), "steps_out"),
        (lambda: arch.run(_m("one_to_many"), np.ones(D)), "needs steps_out"),
        (lambda: arch.run(_m("one_to_many"), np.ones(D), steps_out=0), "steps_out"),
        (lambda: arch.run(_m("one_to_many"), np.ones(D), steps_out=61), "steps_out"),
        (lambda: arch.run(_m("one_to_many"), np.ones(D + 1), steps_out=2), "input size"),
        (lambda: arch.run(_m("one_to_many"), np.ones((0, D)), steps_out=2), "batch is empty"),
        (lambda: arch.run(_m(), np.ones((2, 0, D))), "batch is empty"),
        (lambda: arch.run(_m("encoder_decoder"), np.ones((2, D)), steps_out=99), "steps_out"),
        (lambda: arch.run(_m(), np.ones((2, D)), teacher=np.ones((2, O))), "teacher forcing is only"),
        (lambda: arch.run(_m("encoder_decoder"), np.ones((2, D)), teacher=np.ones((2, O + 1))), "teacher must"),
        (lambda: arch.run(_m("encoder_decoder"), np.ones((2, D)), teacher=np.ones((3, O)), steps_out=2), "differs"),
        (lambda: arch.run(_m(), np.ones((2, D)), h0=np.ones((2, H))), "h0"),
        (lambda: arch.loss(arch.run(_m(), np.ones((2, D))), np.ones((3, O))), "target must have shape"),
        (lambda: arch.loss(arch.run(_m(softmax=True), np.ones((2, D))), [0, O]), "outside"),
        (lambda: arch.loss(arch.run(_m(softmax=True), np.ones((2, D))), np.ones((2, O))), "sum"),
        (lambda: arch.backprop(_m(seed=1), arch.run(_m(seed=2), np.ones((2, D))), np.ones((2, O))), "differs"),
        (lambda: arch.run("model", np.ones((2, D))), "must be a Model"),
    ],
)
def test_bad_input_raises_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_mismatched_parts_are_rejected():
    gru = rnnviz.init_params("gru", D, H)
    out = arch.OutputLayer(np.zeros((O, H)), np.zeros(O))
    with pytest.raises(ValueError, match="needs a decoder"):
        arch.Model("encoder_decoder", gru, out)
    with pytest.raises(ValueError, match="decoder must have the encoder's cell"):
        arch.Model("encoder_decoder", gru, out, decoder=rnnviz.init_params("lstm", O, H))
    with pytest.raises(ValueError, match="input size must be 4"):
        arch.Model("encoder_decoder", gru, out, decoder=rnnviz.init_params("gru", D, H))
    with pytest.raises(ValueError, match="only the encoder_decoder"):
        arch.Model("many_to_one", gru, out, decoder=gru)
    with pytest.raises(ValueError, match="columns"):
        arch.Model("many_to_one", gru, arch.OutputLayer(np.zeros((O, H + 1)), np.zeros(O)))
    with pytest.raises(ValueError, match="same number of outputs"):
        arch.OutputLayer(np.zeros((O, H)), np.zeros(O + 1))
    with pytest.raises(ValueError, match="float64"):
        arch.OutputLayer(np.zeros((O, H), dtype=np.float32), np.zeros(O))


def _sentiment_oracle(words):
    """The label by the rules, read off the words: the last clause decides; 'not' flips its adjective."""
    clause = words
    for k in range(len(words) - 1, -1, -1):
        if words[k] in ("and", "but"):
            clause = words[k + 1 :]
            break
    positive = any(w in ("good", "great", "fun", "brilliant", "moving") for w in clause)
    return int(positive != ("not" in clause))


def test_sentiment_sentences_follow_their_rules():
    example = ex.make_example("sentiment", n=300, length=12, seed=4)
    info = example.info
    assert set(info.lengths) == set(range(3, 13)) and example.x.shape == (12, 300, info.input_size)
    assert 20 <= info.input_size <= 30 and info.output_vocab == ("negative", "positive")
    for i in range(300):
        x, target = ex.item(example, i)
        words = ex.input_text(info, x).split()
        assert len(words) == info.lengths[i] and target.shape == (1,)
        assert target[0] == _sentiment_oracle(words), words
    texts = [ex.input_text(info, ex.item(example, i)[0]) for i in range(300)]
    assert any("not" in t for t in texts) and any(" but " in t for t in texts)


def test_tags_follow_the_previous_word():
    example = ex.make_example("tagging", n=200, seed=5)
    info = example.info
    for i in range(200):
        x, target = ex.item(example, i)
        words, tags = ex.input_text(info, x).split(), ex.target_text(info, target).split()
        assert len(words) == len(tags) == info.lengths[i]
        for prev, word, tag in zip(["and", *words[:-1]], words, tags, strict=True):
            if word in ("fish", "duck", "watch", "walk", "book", "cook", "train"):
                assert tag == ("VERB" if prev in ("i", "you", "we", "they") else "NOUN"), (words, tags)


def test_reverse_and_translate_targets():
    example = ex.make_example("reverse", n=50, length=7, seed=6)
    for i in range(50):
        x, target = ex.item(example, i)
        assert ex.target_text(example.info, target) == " ".join(reversed(ex.input_text(example.info, x).split()))
    example = ex.make_example("translate", n=200, length=9, seed=7)
    feminine = {"car": "voiture", "house": "maison", "lamp": "lampe"}
    for i in range(200):
        x, target = ex.item(example, i)
        english, french = ex.input_text(example.info, x).split(), ex.target_text(example.info, target).split()
        assert len(english) == len(french)
        for k, word in enumerate(english):
            if word in ("the", "a"):  # the article takes the gender of the noun that ends its phrase
                noun = next(w for w in english[k:] if w in ("cat", "dog", "bird", "car", "house", "lamp"))
                want = {("the", True): "la", ("the", False): "le", ("a", True): "une", ("a", False): "un"}
                assert french[k] == want[word, noun in feminine], (english, french)


def test_wave_targets_are_the_described_sines():
    example = ex.make_example("wave", n=20, length=9, seed=8)
    for i in range(20):
        v, target = ex.item(example, i)
        a, w, s, c = v
        phase = math.atan2(s, c)
        expected = [a * math.sin(w * t + phase) for t in range(1, 10)]
        np.testing.assert_allclose(target[:, 0], expected, atol=1e-12)  # rounding: atan2 and sin
    encoded = ex.encode(example.info, "0.5, 0.3, 1.0")
    np.testing.assert_allclose(encoded, [0.5, 0.3, math.sin(1), math.cos(1)])  # rounding


def test_make_example_is_deterministic_and_padded_with_zeros():
    a, b = ex.make_example("tagging", n=30, seed=3), ex.make_example("tagging", n=30, seed=3)
    np.testing.assert_array_equal(a.x, b.x)  # exact: the same call and seed
    np.testing.assert_array_equal(a.target, b.target)  # exact: the same call and seed
    assert not np.array_equal(a.x, ex.make_example("tagging", n=30, seed=4).x)  # another seed
    for i in range(30):
        pad = a.info.max_length - a.info.lengths[i]
        assert not a.x[:pad, i].any() and np.all(a.target[:pad, i] == ex.PAD)
        assert np.all(a.x[pad:, i].sum(axis=-1) == 1)


def test_encode_and_describe():
    info = ex.make_example("sentiment", n=4).info
    x = ex.encode(info, "Not a good movie")
    assert x.shape == (4, info.input_size) and ex.input_text(info, x) == "not a good movie"
    model = te.example_model(info, seed=1)
    wt = arch.run(model, x)
    p = wt.y[0]
    k = int(p.argmax())
    expected = f"input: 'not a good movie' -> predicted: {info.output_vocab[k]} (p = {p[k]:.2f})"
    assert ex.describe(info, wt) == expected
    assert ex.describe(info, wt, [0]).endswith("(target: negative)")
    assert ex.prediction_text(info, np.array([[0.07, 0.93]])) == "positive (p = 0.93)"
    rev = ex.make_example("reverse", n=4).info
    assert ex.input_text(rev, ex.encode(rev, "abc")) == "a b c"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: ex.make_example("poetry"), "unknown example"),
        (lambda: ex.make_example("sentiment", n=0), "n must be"),
        (lambda: ex.make_example("sentiment", length=2), "length must be"),
        (lambda: ex.make_example("translate", length=10), "length must be"),
        (lambda: ex.make_example("wave", seed=-1), "seed"),
        (lambda: ex.encode(ex.make_example("sentiment", n=2).info, "a splendid movie"), "'splendid'"),
        (lambda: ex.encode(ex.make_example("sentiment", n=2).info, "   "), "at least one word"),
        (lambda: ex.encode(ex.make_example("wave", n=2).info, "1, 2"), "three numbers"),
        (lambda: ex.encode(ex.make_example("wave", n=2).info, "0.5, 9, 0"), "frequency must be"),
        (lambda: te.train(_m(), ex.make_example("tagging", n=4)), "does not fit"),
        (
            lambda: te.train(
                te.example_model(ex.make_example("reverse", n=4).info), ex.make_example("reverse", n=4), lr=0
            ),
            "lr",
        ),
        (
            lambda: te.train(
                te.example_model(ex.make_example("reverse", n=4).info), ex.make_example("reverse", n=4), steps=0
            ),
            "steps",
        ),
    ],
)
def test_example_bad_input_raises_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


TRAIN_STEPS = {"sentiment": 150, "wave": 200, "tagging": 100, "reverse": 250, "translate": 200}


@pytest.mark.parametrize("name", ex.EXAMPLES)
def test_training_beats_the_trivial_baseline(name):
    """A short seeded run on 256 sequences, scored on 128 others (the encoder-decoder free-running)."""
    train_set, test_set = ex.make_example(name, n=256, seed=0), ex.make_example(name, n=128, seed=1)
    model = te.example_model(train_set.info, seed=0)
    trained, history = te.train(model, train_set, steps=TRAIN_STEPS[name], seed=0)
    assert len(history["loss"]) == TRAIN_STEPS[name]
    assert np.mean(history["loss"][-10:]) < 0.5 * np.mean(history["loss"][:10])
    score = te.evaluate(trained, test_set)
    if name == "wave":
        assert score["mse"] < 0.2 * score["baseline_mse"]
    else:
        assert score["accuracy"] > score["baseline_accuracy"] + 0.3
    if name == "tagging":
        assert score["accuracy"] > score["unigram_accuracy"] + 0.05  # the previous word matters
    # the caller's model is left untouched
    assert all(
        np.array_equal(a, b)  # exact: untouched
        for (_, a), (_, b) in zip(
            arch.named_arrays(model), arch.named_arrays(te.example_model(train_set.info, seed=0)), strict=True
        )
    )


def test_training_is_seeded_and_stoppable():
    data = ex.make_example("reverse", n=64, seed=2)
    model = te.example_model(data.info, cell="lstm", seed=3)
    _, h1 = te.train(model, data, steps=5, seed=9)
    _, h2 = te.train(model, data, steps=5, seed=9)
    assert h1["loss"] == h2["loss"]
    seen = []
    _, h3 = te.train(model, data, steps=50, callback=lambda step, value: seen.append((step, value)) or step < 3)
    assert len(h3["loss"]) == 3 and [s for s, _ in seen] == [1, 2, 3]

    def stop(step, value):
        if step == 2:
            raise rnnviz.StopTraining

    assert len(te.train(model, data, steps=50, callback=stop)[1]["loss"]) == 2


def test_bidirectional_sentiment_trains():
    data = ex.make_example("sentiment", n=128, seed=0)
    model = te.example_model(data.info, bidirectional=True, seed=0)
    trained, _ = te.train(model, data, steps=60, seed=0)
    assert te.evaluate(trained, data)["loss"] < te.evaluate(model, data)["loss"]


def test_overflow_in_the_encoder_decoder_is_reported_in_words():
    """A relu stack with huge feedback weights overflows float64: the decoder cannot start from
    (or read back) inf, so run says where it happened instead of failing inside forward."""
    model = arch.init_model("encoder_decoder", "rnn", D, H, O, nonlinearity="relu", seed=0)
    model.encoder.layers[0].W_hh[:] = 1e300
    model.encoder.layers[0].b_ih[:] = 1.0  # every state positive, so relu passes the growth on
    with pytest.raises(ValueError, match="encoder's final state overflowed"):
        arch.run(model, np.ones((4, D)))
    model = arch.init_model("encoder_decoder", "rnn", D, H, O, nonlinearity="relu", seed=0)
    model.decoder.layers[0].W_hh[:] = 1e300
    model.decoder.layers[0].b_ih[:] = 1.0
    with pytest.raises(ValueError, match=r"decoder's output at step \d overflowed"):
        arch.run(model, np.ones((2, D)), steps_out=5)
