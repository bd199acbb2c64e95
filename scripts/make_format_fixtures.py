"""Generate the weights-file fixtures in tests/fixtures/formats/: files written by PyTorch and Keras.

Runs only in a separate venv with the frameworks (none of them is a dependency of rnnviz or
its tests)::

    python3 -m venv /tmp/torchenv && /tmp/torchenv/bin/pip install torch==2.13.0 numpy
    /tmp/torchenv/bin/pip install keras onnx onnxruntime safetensors h5py
    KERAS_BACKEND=torch /tmp/torchenv/bin/python scripts/make_format_fixtures.py

Each case is a float32 network from a fixed seed, saved the way its framework's users save it:

- torch: ``safetensors.torch.save_file(model.state_dict(), "<case>.safetensors")`` and
  ``torch.onnx.export(model, args, "<case>.onnx", dynamo=False)``; a model with a linear head
  around its ``nn.LSTM`` too (keys ``rnn.weight_ih_l0``, ..., ``fc.weight``; extra ONNX nodes);
- Keras 3 (torch backend): ``model.save("<case>.keras")`` and ``model.save("<case>.h5")`` of a
  Sequential (or Functional) model of SimpleRNN, LSTM, GRU or Bidirectional layers, every
  weight (biases too) drawn from a normal distribution.

Beside each weights file, ``<case>.npz`` (``np.savez_compressed``, no pickles) holds the
input ``x`` (T, B, D), the initial states ``h0``/``c0`` when given, and the framework's own
results, in PyTorch's time-major layout: ``output`` (T, B, directions*H) and, for torch,
``h_n``/``c_n``; ``ort.output``, ... what onnxruntime computes from the .onnx file; ``sd.<key>``
the torch state_dict (torch cases). Files rnnviz must refuse (a GRU with reset_after=False,
a hard_sigmoid LSTM, a Bidirectional merged by sum, a weights-only .weights.h5, ...) are
written by Keras too and listed with the words their message must hold.

``cases.json`` lists everything. Rerunning rewrites the same networks and results (the
bytes of .keras/.h5 files hold a save date and differ).
"""

from __future__ import annotations

import json
import os
import sys
import zlib
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402
import torch  # noqa: E402
from safetensors.torch import save_file  # noqa: E402
from torch import nn  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "formats"
T, B = 6, 2


def seed_of(name: str) -> int:
    return zlib.crc32(name.encode())


# PyTorch: .safetensors and .onnx


class WithHead(nn.Module):
    """An nn.LSTM inside a bigger model: its state_dict keys are prefixed, its export has more nodes."""

    def __init__(self, D: int, H: int):
        super().__init__()
        self.rnn = nn.LSTM(D, H, num_layers=2, batch_first=True)
        self.fc = nn.Linear(H, 2)

    def forward(self, x):
        y, (h, c) = self.rnn(x)
        return self.fc(y), y, h, c


def torch_cases() -> list[dict]:
    cases = []
    for kind in ("rnn_tanh", "rnn_relu", "lstm", "gru"):
        for L, bidirectional, D, H in ((1, False, 3, 4), (2, False, 5, 3), (2, True, 3, 4)):
            name = f"torch_{kind}_L{L}{'bi' if bidirectional else ''}_D{D}H{H}"
            cases.append({"name": name, "kind": kind, "num_layers": L, "bidirectional": bidirectional, "D": D, "H": H})
    cases.append({"name": "torch_lstm_with_head_L2_D3H4", "kind": "lstm", "num_layers": 2, "bidirectional": False})
    cases[-1] |= {"D": 3, "H": 4, "head": True}
    return cases


def torch_module(c: dict) -> nn.Module:
    cell, _, nonlinearity = c["kind"].partition("_")
    kwargs = {"num_layers": c["num_layers"], "bidirectional": c["bidirectional"]}
    if cell == "rnn":
        return nn.RNN(c["D"], c["H"], nonlinearity=nonlinearity, **kwargs)
    return (nn.LSTM if cell == "lstm" else nn.GRU)(c["D"], c["H"], **kwargs)


def make_torch(c: dict) -> None:
    torch.manual_seed(seed_of(c["name"]))
    rng = np.random.default_rng(seed_of(c["name"]))
    nd = 2 if c["bidirectional"] else 1
    x = rng.standard_normal((T, B, c["D"])).astype(np.float32)
    arrays = {"x": x}
    if c.get("head"):
        model = WithHead(c["D"], c["H"]).eval()
        args = (torch.from_numpy(x).transpose(0, 1),)  # batch_first: (B, T, D)
        with torch.no_grad():
            _, y, h_n, c_n = model(*args)
        arrays |= {"output": y.transpose(0, 1).numpy(), "h_n": h_n.numpy(), "c_n": c_n.numpy()}
        sd = {k[len("rnn.") :]: v for k, v in model.state_dict().items() if k.startswith("rnn.")}
        output_names = ["head", "output", "h_n", "c_n"]
    else:
        model = torch_module(c).eval()
        state_shape = (nd * c["num_layers"], B, c["H"])
        h0 = rng.standard_normal(state_shape).astype(np.float32)
        arrays["h0"] = h0
        state = torch.from_numpy(h0)
        if isinstance(model, nn.LSTM):
            arrays["c0"] = rng.standard_normal(state_shape).astype(np.float32)
            state = (state, torch.from_numpy(arrays["c0"]))
        args = (torch.from_numpy(x), state)
        with torch.no_grad():
            y, final = model(*args)
        arrays["output"] = y.numpy()
        if isinstance(model, nn.LSTM):
            arrays |= {"h_n": final[0].numpy(), "c_n": final[1].numpy()}
        else:
            arrays["h_n"] = final.numpy()
        sd = model.state_dict()
        output_names = ["output", "h_n", "c_n"] if isinstance(model, nn.LSTM) else ["output", "h_n"]
    arrays |= {f"sd.{k}": v.numpy() for k, v in sd.items()}
    # A state_dict does not say an nn.RNN's nonlinearity: relu goes in the metadata (tanh is the default).
    metadata = {"nonlinearity": "relu"} if c["kind"] == "rnn_relu" else None
    save_file(model.state_dict(), OUT / f"{c['name']}.safetensors", metadata=metadata)
    onnx_path = OUT / f"{c['name']}.onnx"
    torch.onnx.export(model, args, str(onnx_path), dynamo=False, output_names=output_names)
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    feeds = dict(zip([i.name for i in session.get_inputs()], [a.numpy() for a in _flat(args)], strict=True))
    for name, value in zip(output_names, session.run(None, feeds), strict=True):
        if name != "head":
            arrays[f"ort.{name}"] = value.transpose(1, 0, 2) if c.get("head") and name == "output" else value
    np.savez_compressed(OUT / f"{c['name']}.npz", **arrays)
    c |= {"files": [f"{c['name']}.safetensors", f"{c['name']}.onnx"], "framework": f"torch {torch.__version__}"}


def _flat(args) -> list:
    out = []
    for a in args:
        out += _flat(a) if isinstance(a, tuple) else [a]
    return out


# Keras 3: .keras and .h5


def keras_cases() -> list[dict]:
    """Fewer than torch's: an HDF5 file costs 10 to 40 KB whatever the network."""
    cases = []
    for kind, L, bidirectional, D, H in (
        ("rnn_tanh", 1, False, 3, 4),
        ("rnn_relu", 2, False, 5, 3),
        ("rnn_tanh", 1, True, 3, 4),
        ("lstm", 1, False, 3, 4),
        ("lstm", 2, False, 5, 3),
        ("lstm", 1, True, 3, 4),
        ("gru", 1, False, 3, 4),
        ("gru", 2, False, 5, 3),
        ("gru", 2, True, 3, 4),
    ):
        name = f"keras_{kind}_L{L}{'bi' if bidirectional else ''}_D{D}H{H}"
        cases.append({"name": name, "kind": kind, "num_layers": L, "bidirectional": bidirectional, "D": D, "H": H})
    cases.append({"name": "keras_lstm_functional_dropout_head_L2_D3H4", "kind": "lstm", "num_layers": 2})
    cases[-1] |= {"bidirectional": False, "D": 3, "H": 4, "functional": True}
    cases.append({"name": "keras_gru_nobias_L1_D3H4", "kind": "gru", "num_layers": 1, "bidirectional": False})
    cases[-1] |= {"D": 3, "H": 4, "use_bias": False}
    return cases


def keras_layer(kind: str, H: int, bidirectional: bool, **options):
    cell, _, activation = kind.partition("_")
    if cell == "rnn":
        layer = keras.layers.SimpleRNN(H, activation=activation, return_sequences=True, **options)
    else:
        layer = (keras.layers.LSTM if cell == "lstm" else keras.layers.GRU)(H, return_sequences=True, **options)
    return keras.layers.Bidirectional(layer) if bidirectional else layer


def keras_model(c: dict) -> keras.Model:
    options = {} if c.get("use_bias", True) else {"use_bias": False}
    if c.get("functional"):
        x = inputs = keras.Input((None, c["D"]))
        x = keras_layer(c["kind"], c["H"], False)(x)
        x = keras.layers.Dropout(0.5)(x)
        y = keras_layer(c["kind"], c["H"], False)(x)
        head = keras.layers.Dense(2)(y)
        return keras.Model(inputs, [head, y])
    layers = [keras.Input((None, c["D"]))]
    layers += [keras_layer(c["kind"], c["H"], c["bidirectional"], **options) for _ in range(c["num_layers"])]
    return keras.Sequential(layers)


def randomize(model: keras.Model, seed: int) -> None:
    """Every weight from a normal distribution (Keras starts biases at zero, which would test less)."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        layer.set_weights([rng.standard_normal(w.shape).astype(np.float32) * 0.6 for w in layer.get_weights()])


def make_keras(c: dict) -> None:
    keras.utils.set_random_seed(seed_of(c["name"]) % 2**31)
    model = keras_model(c)
    randomize(model, seed_of(c["name"]))
    x = np.random.default_rng(seed_of(c["name"])).standard_normal((T, B, c["D"])).astype(np.float32)
    result = model(np.ascontiguousarray(x.transpose(1, 0, 2)))  # Keras is batch-major: (B, T, D)
    y = result[1] if isinstance(result, (list, tuple)) else result
    arrays = {"x": x, "output": keras.ops.convert_to_numpy(y).transpose(1, 0, 2)}
    np.savez_compressed(OUT / f"{c['name']}.npz", **arrays)
    model.save(OUT / f"{c['name']}.keras")
    model.save(OUT / f"{c['name']}.h5")
    c |= {"files": [f"{c['name']}.keras", f"{c['name']}.h5"], "framework": f"keras {keras.__version__}"}


def refused_cases() -> list[dict]:
    """Real Keras files rnnviz cannot show, and a word their message must hold."""
    D, H = 3, 4

    def sequential(*layers):
        return keras.Sequential([keras.Input((None, D)), *layers])

    LSTM, GRU, RNN = keras.layers.LSTM, keras.layers.GRU, keras.layers.SimpleRNN
    return [  # (name, model, what the message says); the config checks are the same for .keras and .h5
        ("keras_refused_gru_reset_before", sequential(GRU(H, reset_after=False)), "reset_after=False"),
        ("keras_refused_hard_sigmoid", sequential(LSTM(H, recurrent_activation="hard_sigmoid")), "hard_sigmoid"),
        ("keras_refused_go_backwards", sequential(GRU(H, go_backwards=True)), "go_backwards"),
        ("keras_refused_bidirectional_sum", sequential(keras.layers.Bidirectional(RNN(H), merge_mode="sum")), "sum"),
        (
            "keras_refused_dense_between",
            sequential(RNN(H, return_sequences=True), keras.layers.Dense(H), RNN(H)),
            "between",
        ),
        ("keras_refused_mixed_cells", sequential(LSTM(H, return_sequences=True), GRU(H)), "differ in cell"),
        ("keras_refused_elu", sequential(RNN(H, activation="elu")), "elu"),
        ("keras_refused_no_rnn", sequential(keras.layers.Dense(H)), "no LSTM, GRU or SimpleRNN"),
    ]


def make_refused() -> list[dict]:
    cases = []
    for name, model, match in refused_cases():
        randomize(model, seed_of(name))
        files = [f"{name}.keras"] + ([f"{name}.h5"] if "reset" in name else [])
        for file in files:
            model.save(OUT / file)
        cases.append({"name": name, "files": files, "match": match})
    model = keras.Sequential([keras.Input((None, 3)), keras.layers.LSTM(4)])
    model.save_weights(OUT / "keras_refused_weights_only.weights.h5")
    cases.append({"name": "keras_refused_weights_only", "files": ["keras_refused_weights_only.weights.h5"]})
    cases[-1]["match"] = "weights-only"
    for c in cases:
        c["framework"] = f"keras {keras.__version__}"
    return cases


def main() -> int:
    torch.set_num_threads(1)
    OUT.mkdir(parents=True, exist_ok=True)
    for stale in OUT.iterdir():
        stale.unlink()
    torch_specs, keras_specs = torch_cases(), keras_cases()
    for c in torch_specs:
        make_torch(c)
    for c in keras_specs:
        make_keras(c)
    refused = make_refused()
    manifest = {"torch": torch.__version__, "keras": keras.__version__, "onnxruntime": ort.__version__}
    manifest |= {"cases": torch_specs + keras_specs, "refused": refused}
    (OUT / "cases.json").write_text(json.dumps(manifest, indent=1) + "\n")
    total = sum(p.stat().st_size for p in OUT.iterdir())
    count = len(torch_specs) + len(keras_specs)
    print(f"wrote {count} cases and {len(refused)} refusals to {OUT} ({total / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
