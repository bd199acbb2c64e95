"""Keras 3 .keras and legacy .h5: the LSTM, GRU and SimpleRNN layers of a saved model.

A .keras file is a zip of ``config.json`` (the layers and their settings), ``metadata.json``
and ``model.weights.h5`` (``layers/<name>/cell/vars/0, 1, 2``: kernel, recurrent kernel,
bias); a legacy .h5 (``model.save("model.h5")``) keeps the same config in its
``model_config`` attribute and the weights under ``model_weights/<name>``. Both are read as
data, never by loading the model (a Lambda layer would run code). A Keras layer computes
``x @ kernel + h @ recurrent_kernel + bias``, so PyTorch's matrices are the transposes::

    W_ih = kernel.T       (G*H, D)        kernel            (D, G*H)
    W_hh = recurrent.T    (G*H, H)        recurrent_kernel  (H, G*H)

with the gate blocks reordered: Keras's LSTM i, f, c, o is already PyTorch's i, f, g, o; its
GRU z, r, h becomes r, z, n. Keras's LSTM and SimpleRNN have one bias: it goes to b_ih and
b_hh is zero. A GRU with ``reset_after=True`` (Keras 3's default, PyTorch's GRU) has a
(2, 3H) bias: input biases, then recurrent biases; ``reset_after=False`` is refused, as are
activations rnnviz does not draw and layers that read their sequence backwards. A
``Bidirectional`` wrapper with ``merge_mode="concat"`` is PyTorch's ``bidirectional=True``.
Layers before the first recurrent layer (an embedding) and after the last (a dense head) are
left aside; between recurrent layers only dropout-like layers (identities at inference) may sit.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

import numpy as np

from ..cells import GATE_COUNT, NONLINEARITIES, layer_suffix
from ..weights import MAX_FILE_BYTES, MAX_LAYERS, _damaged, _read_json, _Refused, gate_rows
from . import hdf5_file

_HINT = "save the model with model.save('model.keras')"
_CELLS = {"SimpleRNN": "rnn", "LSTM": "lstm", "GRU": "gru"}
_KEYS = {"SimpleRNN": "simple_rnn", "LSTM": "lstm", "GRU": "gru", "Bidirectional": "bidirectional"}  # snake case
_TORCH_GATES = {"rnn": [0], "lstm": [0, 1, 2, 3], "gru": [1, 0, 2]}  # Keras block of each PyTorch gate
_IDENTITIES = {"InputLayer", "Dropout", "SpatialDropout1D", "GaussianNoise", "GaussianDropout", "AlphaDropout"}
_MODELS = {"Sequential", "Functional", "Model"}
_MAX_CONFIG_BYTES = 2_000_000
_MAX_CONFIG_TOKENS = {b"[": 100_000, b"{": 50_000, b'"': 500_000, b",": 500_000}
_MAX_MEMBERS = 1_000  # a .keras zip: three files, and assets for some preprocessing layers
_MAX_LAYER_NAMES = 4 * 3  # weight names of one layer: kernel, recurrent kernel, bias, for two directions


@dataclass(frozen=True)
class _Layer:
    """A recurrent layer as its config describes it."""

    name: str
    kind: str  # the Keras class: SimpleRNN, LSTM, GRU or Bidirectional
    cell: str
    nonlinearity: str
    units: int
    bidirectional: bool
    use_bias: bool


def read_keras(data: bytes) -> tuple[dict[str, np.ndarray], str, str, bool]:
    """(state_dict in PyTorch's layout, cell, nonlinearity, bidirectional) from a Keras 3 .keras zip."""
    config_bytes, weights_bytes = _read_archive(data)
    layers = _recurrent_layers(_read_config(config_bytes))
    tree = hdf5_file.read_tree(weights_bytes, "model.weights.h5")
    arrays = _read_arrays(tree, layers, _keras3_variables)
    return _state_dict(layers, arrays)


def read_h5(data: bytes) -> tuple[dict[str, np.ndarray], str, str, bool]:
    """The same from a legacy .h5 (``model.save("model.h5")``): config in an attribute, weights by name."""
    tree = hdf5_file.read_tree(data, "the .h5 file")
    config = tree.strings("", "model_config", "the .h5 file")
    if config is None:
        raise _Refused(
            "the .h5 file holds no model config: it is a weights-only file (model.save_weights), which does "
            f"not say which activation each layer uses; {_HINT} (or model.save('model.h5'))"
        )
    if len(config) != 1:
        raise _Refused("the .h5 file's model_config attribute must be one string")
    layers = _recurrent_layers(_read_config(config[0].encode()))
    return _state_dict(layers, _read_arrays(tree, layers, _legacy_variables))


# The archive and the config


def _read_archive(data: bytes) -> tuple[bytes, bytes]:
    """config.json and model.weights.h5, each read only after its declared size is checked."""
    if data.count(b"PK\x01\x02") > 4 * _MAX_MEMBERS:  # each zip directory entry starts so: count before listing
        raise _Refused("the .keras archive holds too many entries")
    with _damaged("the .keras archive", _HINT):
        archive = zipfile.ZipFile(io.BytesIO(data))
    with archive:
        members = {info.filename: info for info in archive.infolist()}
        _check_members(archive.infolist())
        wanted = {"config.json": _MAX_CONFIG_BYTES, "model.weights.h5": MAX_FILE_BYTES}
        missing = [name for name in wanted if name not in members]
        if missing:
            raise _Refused(f"the .keras archive has no {missing[0]}; {_HINT}")
        return tuple(_read_member(archive, members[name], limit) for name, limit in wanted.items())


def _check_members(members: list[zipfile.ZipInfo]) -> None:
    if len(members) > _MAX_MEMBERS:
        raise _Refused(f"the .keras archive holds {len(members):,} entries")
    names = [info.filename for info in members]
    for info in members:
        name = info.filename
        if name.startswith(("/", "\\")) or ".." in name.replace("\\", "/").split("/") or ":" in name:
            raise _Refused(f"the .keras archive holds {name!r:.60}, a path outside the archive")
        if names.count(name) > 1:
            raise _Refused(f"the .keras archive holds {name!r:.60} twice")


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """A member's bytes: at most ``limit`` of them, and exactly as many as the archive declares."""
    if info.flag_bits & 0x1:
        raise _Refused(f"{info.filename} is encrypted; {_HINT}")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise _Refused(f"{info.filename} uses a compression rnnviz does not read; {_HINT}")
    if info.file_size > limit:
        raise _Refused(f"{info.filename} unpacks to {info.file_size:,} bytes; rnnviz reads up to {limit:,}")
    with _damaged(f"{info.filename} in the .keras archive", _HINT), archive.open(info) as stream:
        data = stream.read(info.file_size + 1)  # one byte past the declared size tells a lying header
        if len(data) != info.file_size:
            raise _Refused(f"{info.filename} is damaged: its size is not the one the archive declares")
        return data


def _read_config(data: bytes) -> list[dict]:
    """The model's layers, in order, from its JSON config."""
    if len(data) > _MAX_CONFIG_BYTES:
        raise _Refused(f"the model config has {len(data):,} bytes; rnnviz reads configs of up to {_MAX_CONFIG_BYTES:,}")
    try:
        config = _read_json(data, _MAX_CONFIG_TOKENS)
    except _Refused:
        raise
    except ValueError as e:
        raise _Refused(f"the model config is damaged: {e}") from None
    kind = config.get("class_name") if isinstance(config, dict) else None
    if kind not in _MODELS:
        raise _Refused(f"rnnviz reads Sequential and Functional Keras models; this config describes {kind!r:.40}")
    layers = config.get("config", {}).get("layers") if isinstance(config.get("config"), dict) else None
    if not isinstance(layers, list) or not all(isinstance(layer, dict) for layer in layers):
        raise _Refused("the model config has no list of layers")
    return layers


def _recurrent_layers(layers: list[dict]) -> list[_Layer]:
    """The stack of recurrent layers, checked to be one stack rnnviz can show."""
    positions = [i for i, layer in enumerate(layers) if _class(layer) in (*_CELLS, "Bidirectional")]
    if not positions:
        kinds = sorted({_class(layer) for layer in layers} - _IDENTITIES)
        raise _Refused(f"the model has no LSTM, GRU or SimpleRNN layer (it has {', '.join(kinds[:6]) or 'none'})")
    if len(positions) > MAX_LAYERS:
        raise _Refused(f"the model has {len(positions)} recurrent layers, more than the {MAX_LAYERS} rnnviz supports")
    for i in range(positions[0], positions[-1] + 1):
        if i not in positions and _class(layers[i]) not in _IDENTITIES:
            raise _Refused(
                f"the layer {_name(layers[i])!r:.40} ({_class(layers[i])}) sits between recurrent layers; "
                "rnnviz shows a stack of recurrent layers (with only dropout between them)"
            )
    stack = [_layer(layers[i], last=i == positions[-1]) for i in positions]
    _check_connections(layers, positions)
    for what in ("cell", "nonlinearity", "bidirectional"):
        values = {getattr(layer, what) for layer in stack}
        if len(values) > 1:
            found = ", ".join(map(str, sorted(values)))
            raise _Refused(f"the recurrent layers differ in {what} ({found}); rnnviz shows a stack of one kind")
    return stack


def _class(layer: dict) -> str:
    return str(layer.get("class_name"))[:40]


def _name(layer: dict) -> str:
    config = layer.get("config")
    name = config.get("name") if isinstance(config, dict) else None
    if not isinstance(name, str) or not name:
        raise _Refused(f"a {_class(layer)} layer in the config has no name")
    return name


def _layer(layer: dict, last: bool) -> _Layer:
    """One recurrent layer's settings, refusing what rnnviz cannot show."""
    config, name = layer["config"], _name(layer)
    bidirectional = _class(layer) == "Bidirectional"
    if bidirectional:
        config = _wrapped(config, name)
    cell = _CELLS.get(str(config.get("class_name") if bidirectional else _class(layer)))
    settings = config.get("config", {}) if bidirectional else config
    units = settings.get("units")
    if type(units) is not int or units < 1:
        raise _Refused(f"the layer {name!r:.40} has no valid number of units")
    if settings.get("go_backwards") is True:
        raise _Refused(f"the layer {name!r:.40} reads its sequence backwards (go_backwards=True); rnnviz reads forward")
    if not last and settings.get("return_sequences") is not True:
        raise _Refused(f"the layer {name!r:.40} returns only its last state, so the layer after it reads no sequence")
    use_bias = settings.get("use_bias", True)
    if not isinstance(use_bias, bool):
        raise _Refused(f"the layer {name!r:.40} has a damaged use_bias setting")
    nonlinearity = _activations(settings, cell, name)
    return _Layer(name, _class(layer), cell, nonlinearity, units, bidirectional, use_bias)


def _wrapped(config: dict, name: str) -> dict:
    """The layer config inside a Bidirectional wrapper, which must concatenate both directions as torch does."""
    if config.get("merge_mode", "concat") != "concat":
        raise _Refused(
            f"the Bidirectional layer {name!r:.40} merges its directions with {config.get('merge_mode')!r:.20}; "
            "rnnviz (like PyTorch) concatenates them (merge_mode='concat')"
        )
    inner = config.get("layer")
    if not isinstance(inner, dict) or inner.get("class_name") not in _CELLS:
        raise _Refused(f"the Bidirectional layer {name!r:.40} wraps no LSTM, GRU or SimpleRNN layer")
    backward = config.get("backward_layer")
    if backward is not None and (not isinstance(backward, dict) or _differs(inner, backward)):
        raise _Refused(f"the Bidirectional layer {name!r:.40} has a backward layer unlike its forward one")
    if not isinstance(inner.get("config"), dict):
        raise _Refused(f"the Bidirectional layer {name!r:.40} has a damaged config")
    return inner


def _differs(forward: dict, backward: dict) -> bool:
    settings = ("units", "activation", "recurrent_activation", "use_bias", "reset_after")
    a, b = forward.get("config"), backward.get("config")
    if not isinstance(a, dict) or not isinstance(b, dict):
        return True
    return forward.get("class_name") != backward.get("class_name") or any(a.get(s) != b.get(s) for s in settings)


def _activations(settings: dict, cell: str, name: str) -> str:
    """SimpleRNN: its activation is rnnviz's nonlinearity; LSTM and GRU: tanh and a sigmoid recurrent activation."""
    activation = _activation_name(settings.get("activation", "tanh"))
    if cell == "rnn":
        if activation not in NONLINEARITIES:
            raise _Refused(
                f"the SimpleRNN layer {name!r:.40} uses the activation {activation!r:.30}; "
                f"rnnviz draws {', '.join(NONLINEARITIES)}"
            )
        return activation
    recurrent = _activation_name(settings.get("recurrent_activation", "sigmoid"))
    if (activation, recurrent) != ("tanh", "sigmoid"):
        raise _Refused(
            f"the {cell.upper()} layer {name!r:.40} uses activation={activation!r:.30} and "
            f"recurrent_activation={recurrent!r:.30}; rnnviz's {cell.upper()}, like PyTorch's, uses tanh and sigmoid"
        )
    if cell == "gru" and settings.get("reset_after", True) is not True:
        raise _Refused(
            f"the GRU layer {name!r:.40} has reset_after=False: it applies the reset gate before the recurrent "
            "product, while PyTorch's GRU (and rnnviz's) applies it after; train with reset_after=True"
        )
    return "tanh"


def _activation_name(value) -> str:
    """'tanh', or a serialized function {"class_name": "function", "config": "tanh"}; None is linear."""
    if value is None:
        return "linear"
    if isinstance(value, dict):
        value = value.get("config")
    return value if isinstance(value, str) else repr(value)[:30]


def _check_connections(layers: list[dict], positions: list[int]) -> None:
    """In a Functional model, each recurrent layer reads the one before (through dropout only)."""
    names = {_name_or_none(layer): layer for layer in layers}
    for before, after in zip(positions, positions[1:], strict=False):
        if "inbound_nodes" not in layers[after]:
            continue  # Sequential: the order is the stack
        sources = _inbound(layers[after], names)
        while len(sources) == 1 and _class(names[next(iter(sources))]) in _IDENTITIES - {"InputLayer"}:
            sources = _inbound(names[next(iter(sources))], names)
        if sources != {_name(layers[before])}:
            raise _Refused(
                f"the layer {_name(layers[after])!r:.40} does not read only the recurrent layer before it "
                f"({_name(layers[before])!r:.40}); rnnviz shows one stack of recurrent layers"
            )


def _name_or_none(layer: dict):
    config = layer.get("config")
    return config.get("name") if isinstance(config, dict) else None


def _inbound(layer: dict, names: dict) -> set[str]:
    """Names of the layers whose outputs this layer reads: Keras 3's keras_history [name, node, tensor]
    and Keras 2's [name, node, tensor, kwargs] lists, wherever they are in its inbound nodes."""
    found, todo, steps = set(), [layer.get("inbound_nodes")], 0
    while todo and steps < 10_000:
        item, steps = todo.pop(), steps + 1
        if isinstance(item, dict):
            todo.extend(item.values())
        elif isinstance(item, list):
            if len(item) >= 3 and isinstance(item[0], str) and item[0] in names and type(item[1]) is int:
                found.add(item[0])
            else:
                todo.extend(item)
    return found


# The weights


def _read_arrays(tree, layers: list[_Layer], variables) -> list[list[list[np.ndarray]]]:
    """Per layer, per direction: [kernel, recurrent_kernel(, bias)]."""
    arrays = []
    for layer in layers:
        directions = []
        for direction in ("forward_layer", "backward_layer") if layer.bidirectional else (None,):
            paths = variables(tree, layer, direction)
            if len(paths) != 2 + layer.use_bias:
                expected = "kernel, recurrent kernel and bias" if layer.use_bias else "kernel and recurrent kernel"
                raise _Refused(f"the layer {layer.name!r:.40} has {len(paths)} weight arrays; expected its {expected}")
            directions.append([tree.array(path, f"a weight of the layer {layer.name!r:.40}") for path in paths])
        arrays.append(directions)
    return arrays


def _keras3_variables(tree, layer: _Layer, direction: str | None) -> list[str]:
    """<layer's group>[/forward_layer or /backward_layer]/cell/vars/0, 1, 2 of model.weights.h5."""
    group = _keras3_group(tree, layer) + (f"/{direction}" if direction else "") + "/cell/vars"
    return [f"{group}/{i}" for i in range(3) if tree.has(f"{group}/{i}")]


def _keras3_group(tree, layer: _Layer) -> str:
    """Keras 3 keys a layer by its class in snake case and a counter (layers/lstm, layers/lstm_1, ...),
    and names it in the "name" attribute of its vars group: the group whose name is the layer's."""
    snake = _KEYS[layer.kind]
    for key in [snake] + [f"{snake}_{i}" for i in range(1, MAX_LAYERS)] + [layer.name]:
        if tree.strings(f"layers/{key}/vars", "name", "model.weights.h5") == [layer.name]:
            return f"layers/{key}"
    raise _Refused(f"model.weights.h5 has no weights for the layer {layer.name!r:.40}")


def _legacy_variables(tree, layer: _Layer, direction: str | None) -> list[str]:
    """The datasets a layer's "weight_names" attribute lists (a Bidirectional's forward ones, then backward ones)."""
    group = f"model_weights/{layer.name}"
    names = tree.strings(group, "weight_names", f"the layer {layer.name!r:.40}") or []
    if len(names) > _MAX_LAYER_NAMES:
        raise _Refused(f"the layer {layer.name!r:.40} lists {len(names)} weights")
    if direction is not None:
        half = len(names) // 2
        names = names[:half] if direction == "forward_layer" else names[half:]
    return ["/".join([group, *(part for part in name.split("/") if part)]) for name in names]


def _state_dict(layers: list[_Layer], arrays: list) -> tuple[dict[str, np.ndarray], str, str, bool]:
    first = layers[0]
    nd = 2 if first.bidirectional else 1
    state_dict = {}
    for k, (layer, directions) in enumerate(zip(layers, arrays, strict=True)):
        for d, variables in enumerate(directions):
            sfx = layer_suffix(k * nd + d, nd)
            keys = [f"weight_ih{sfx}", f"weight_hh{sfx}", f"bias_ih{sfx}", f"bias_hh{sfx}"]
            state_dict |= dict(zip(keys, _torch_direction(layer, variables), strict=True))
    return state_dict, first.cell, first.nonlinearity, first.bidirectional


def _torch_direction(layer: _Layer, variables: list[np.ndarray]) -> tuple[np.ndarray, ...]:
    """W_ih, W_hh, b_ih, b_hh from Keras's kernel, recurrent kernel and bias (shapes checked)."""
    kernel, recurrent, bias = (variables + [None])[:3]
    H, G = layer.units, GATE_COUNT[layer.cell]
    name = repr(layer.name)[:40]
    if kernel.ndim != 2 or kernel.shape[1] != G * H or kernel.shape[0] < 1:
        raise _Refused(f"the layer {name}: kernel must have shape (D, {G * H}), got {kernel.shape}")
    if recurrent.shape != (H, G * H):
        raise _Refused(f"the layer {name}: recurrent_kernel must have shape ({H}, {G * H}), got {recurrent.shape}")
    rows = gate_rows(_TORCH_GATES[layer.cell], H)
    zeros = np.zeros(G * H)
    if bias is None:
        b_ih, b_hh = zeros, zeros
    elif layer.cell == "gru":
        if bias.shape == (G * H,):
            raise _Refused(
                f"the GRU layer {name} has one bias row, the layout of reset_after=False, which applies the "
                "reset gate before the recurrent product; rnnviz's GRU (and PyTorch's) applies it after"
            )
        if bias.shape != (2, G * H):
            raise _Refused(f"the GRU layer {name}: bias must have shape (2, {G * H}), got {bias.shape}")
        b_ih, b_hh = bias[0][rows], bias[1][rows]
    else:
        if bias.shape != (G * H,):
            raise _Refused(f"the layer {name}: bias must have shape ({G * H},), got {bias.shape}")
        b_ih, b_hh = bias[rows], zeros
    return kernel.T[rows], recurrent.T[rows], b_ih, b_hh
