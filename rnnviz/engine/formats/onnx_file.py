""".onnx: the RNN / LSTM / GRU nodes of a model exported with ``torch.onnx.export``, in and out.

An ONNX recurrent node is one layer, both directions of it: ``W`` is ``[directions, G*H, D]``,
``R`` is ``[directions, G*H, H]`` and ``B`` is ``[directions, 2*G*H]`` (input biases, then
recurrent biases). Stacked layers are consecutive nodes, each reading the one before through
reshapes only. The gate blocks come in another order than PyTorch's::

    LSTM  ONNX i, o, f, c  ->  PyTorch i, f, g, o
    GRU   ONNX z, r, h     ->  PyTorch r, z, n   (linear_before_reset=1 is PyTorch's GRU)

What rnnviz cannot show (peepholes, ``clip``, other activations, ``linear_before_reset=0``,
``input_forget``, a reverse-only layer) is refused with a message that says so, and so is a
tensor stored in an external file (path traversal: CVE-2022-25882, CVE-2024-27318): the file
is parsed from its bytes, never from a path. Nodes before the first recurrent node and after
the last (an embedding, a linear head) are left aside.

``write_onnx`` writes the same layout: inputs ``input`` (T, B, D), ``h0`` (and ``c0``)
(L*directions, B, H); outputs ``output``, ``h_n`` (and ``c_n``), as ``nn.LSTM(x, (h0, c0))``;
float32, the type onnxruntime's recurrent kernels run.
"""

from __future__ import annotations

import math

import numpy as np

from ..cells import GATE_COUNT, Params, layer_suffix
from ..weights import MAX_LAYERS, MAX_PARAMETERS, _Refused, gate_rows, to_state_dict
from .onnx_wire import check_wire

_HINT = "export with torch.onnx.export(model, args, 'model.onnx', dynamo=False)"
_OPS = {"RNN": "rnn", "LSTM": "lstm", "GRU": "gru"}
_TORCH_GATES = {"rnn": [0], "lstm": [0, 2, 3, 1], "gru": [1, 0, 2]}  # ONNX block of each PyTorch gate
_ONNX_GATES = {"rnn": [0], "lstm": [0, 3, 1, 2], "gru": [1, 0, 2]}  # PyTorch block of each ONNX gate
_ACTIVATIONS = {"lstm": ("sigmoid", "tanh", "tanh"), "gru": ("sigmoid", "tanh")}
_RNN_ACTIVATIONS = {"tanh": "Tanh", "relu": "Relu", "sigmoid": "Sigmoid", "linear": "Affine"}
_ATTRIBUTES = {"hidden_size", "direction", "activations", "activation_alpha", "activation_beta", "clip", "layout"}
_CELL_ATTRIBUTES = {"lstm": {"input_forget"}, "gru": {"linear_before_reset"}, "rnn": set()}
_PASS_THROUGH = {"Squeeze", "Unsqueeze", "Transpose", "Reshape", "Identity", "Dropout", "Cast", "Flatten"}
_FLOAT_TYPES = {1: np.dtype("<f4"), 10: np.dtype("<f2"), 11: np.dtype("<f8")}  # TensorProto FLOAT, FLOAT16, DOUBLE
_OPSET = 17  # onnxruntime runs it; the recurrent operators last changed in opset 14
_IR_VERSION = 8  # the IR version of opset 17


def read_onnx(data: bytes) -> tuple[dict[str, np.ndarray], str, str, bool]:
    """(state_dict in PyTorch's layout, cell, nonlinearity, bidirectional) from the recurrent nodes."""
    graph = _parse(data).graph
    nodes = _recurrent_nodes(graph)
    cell = _OPS[nodes[0].op_type]
    constants = _constants(graph)
    directions = {_direction(node) for node in nodes}
    if len(directions) > 1:
        raise _Refused("some recurrent nodes are bidirectional and some are not; rnnviz shows one kind of stack")
    (bidirectional,) = directions
    nonlinearities = {_check_attributes(node, cell, bidirectional) for node in nodes}
    if len(nonlinearities) > 1:
        raise _Refused(f"the RNN nodes use different activations ({', '.join(sorted(nonlinearities))})")
    _check_chain(graph, nodes)
    state_dict, budget = {}, MAX_PARAMETERS
    for k, node in enumerate(nodes):
        arrays = _node_weights(node, cell, constants, budget)
        budget -= sum(a.size for a in arrays.values())
        state_dict |= _torch_layer(arrays, cell, k, 2 if bidirectional else 1)
    return state_dict, cell, nonlinearities.pop(), bidirectional


def _parse(data: bytes):
    """The ModelProto, once the wire walk has bounded what protobuf will build."""
    check_wire(data)
    from google.protobuf.message import DecodeError
    from onnx import ModelProto

    model = ModelProto()
    try:
        model.ParseFromString(data)
    except (DecodeError, RecursionError, ValueError):
        raise _Refused("the .onnx file is damaged (not an ONNX model, truncated or corrupt)") from None
    return model


def _recurrent_nodes(graph) -> list:
    """The RNN/LSTM/GRU nodes in graph order (ONNX lists nodes in topological order): one per layer."""
    nodes = [node for node in graph.node if node.op_type in _OPS and node.domain in ("", "ai.onnx")]
    if not nodes:
        raise _Refused(f"the model has no RNN, LSTM or GRU node; {_HINT}")
    kinds = sorted({node.op_type for node in nodes})
    if len(kinds) > 1:
        raise _Refused(f"the model mixes {' and '.join(kinds)} nodes; rnnviz shows a stack of one cell kind")
    if len(nodes) > MAX_LAYERS:
        raise _Refused(f"the model has {len(nodes)} {kinds[0]} layers, more than the {MAX_LAYERS} rnnviz supports")
    return nodes


def _constants(graph) -> dict:
    """Tensor name -> TensorProto, for the initializers and the outputs of Constant nodes."""
    constants = {tensor.name: tensor for tensor in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant" and node.output:
            value = [a.t for a in node.attribute if a.name == "value" and a.type == 4]  # AttributeProto.TENSOR
            if value:
                constants[node.output[0]] = value[0]
    return constants


def _direction(node) -> bool:
    """True for a bidirectional node; a reverse-only layer is refused."""
    direction = _attribute(node, "direction", 3, b"forward")  # AttributeProto.STRING
    if direction == b"reverse":
        raise _Refused(f"node {node.name!r:.40} runs in reverse only; rnnviz shows forward and bidirectional layers")
    if direction not in (b"forward", b"bidirectional"):
        raise _Refused(f"node {node.name!r:.40} has an unknown direction {direction!r:.30}")
    return direction == b"bidirectional"


def _check_attributes(node, cell: str, bidirectional: bool) -> str:
    """Refuse what rnnviz cannot show; return the nonlinearity (rnn: tanh, relu, sigmoid or linear)."""
    name = repr(node.name)[:40]
    unknown = sorted({a.name for a in node.attribute} - _ATTRIBUTES - _CELL_ATTRIBUTES[cell])
    if unknown:
        raise _Refused(f"node {name} has the attribute {unknown[0]!r:.30}, which rnnviz does not know")
    if any(a.name == "clip" for a in node.attribute):
        raise _Refused(f"node {name} clips its cell input (clip); rnnviz's cells, like PyTorch's, are not clipped")
    if _attribute(node, "layout", 2, 0) not in (0, 1):  # AttributeProto.INT
        raise _Refused(f"node {name} has an unknown layout")
    if cell == "lstm" and _attribute(node, "input_forget", 2, 0):
        raise _Refused(f"node {name} couples its input and forget gates (input_forget=1); PyTorch's LSTM does not")
    linear_before_reset = _attribute(node, "linear_before_reset", 2, 0) if cell == "gru" else 1
    if linear_before_reset != 1:
        raise _Refused(
            f"node {name} has linear_before_reset={linear_before_reset}: it applies the reset gate before the "
            "recurrent product, while PyTorch's GRU (and rnnviz's) applies it after (linear_before_reset=1)"
        )
    return _nonlinearity(node, cell, 2 if bidirectional else 1)


def _nonlinearity(node, cell: str, directions: int) -> str:
    """The activations, checked: LSTM (Sigmoid, Tanh, Tanh), GRU (Sigmoid, Tanh), RNN one of four, per direction."""
    given = [s.decode("ascii", "replace")[:20] for s in _attribute(node, "activations", 8, [])]  # STRINGS
    names = [name.lower() for name in given]  # onnxruntime reads them so too
    alpha, beta = _attribute(node, "activation_alpha", 6, None), _attribute(node, "activation_beta", 6, None)
    if cell == "rnn":
        names = names or ["tanh"]
        same = len(set(names)) == 1 and len(names) in (1, directions)
        nonlinearity = {"tanh": "tanh", "relu": "relu", "sigmoid": "sigmoid", "affine": "linear"}.get(names[0])
        identity = ([1.0] * len(names), [0.0] * len(names))  # Affine(alpha=1, beta=0) is the identity
        if same and nonlinearity and (alpha, beta) == (identity if nonlinearity == "linear" else (None, None)):
            return nonlinearity
        raise _Refused(
            f"node {node.name!r:.40} uses the activations {given} {_scales(alpha, beta)}; rnnviz's RNN uses "
            "one of Tanh, Relu, Sigmoid or Affine(alpha=1, beta=0), the same in both directions"
        )
    expected = list(_ACTIVATIONS[cell]) * directions
    if (names and names != expected) or alpha is not None or beta is not None:
        raise _Refused(
            f"node {node.name!r:.40} uses the activations {given} {_scales(alpha, beta)}; "
            f"rnnviz's {cell.upper()} uses {', '.join(a.capitalize() for a in _ACTIVATIONS[cell])}"
        )
    return "tanh"


def _scales(alpha, beta) -> str:
    return "" if (alpha, beta) == (None, None) else f"with alpha {alpha} and beta {beta}"


def _attribute(node, name: str, kind: int, default):
    """An attribute's value, checked to be of the AttributeProto type ``kind``; the default when absent."""
    found = [a for a in node.attribute if a.name == name]
    if not found:
        return default
    if len(found) > 1 or found[0].type != kind:
        raise _Refused(f"node {node.name!r:.40}: the attribute {name} is damaged (repeated or of the wrong type)")
    a = found[0]
    return {2: a.i, 3: a.s, 6: list(a.floats), 8: list(a.strings)}[kind]


def _check_chain(graph, nodes: list) -> None:
    """Each recurrent node after the first reads the one before's output Y, through reshapes only."""
    producers = {output: node for node in graph.node for output in node.output if output}
    for before, node in zip(nodes, nodes[1:], strict=False):
        source = before.output[0] if before.output else ""
        name = node.input[0] if node.input else ""
        for _ in range(8):  # torch puts a Squeeze, or a Transpose and a Reshape, between layers
            if not name or name == source or name not in producers or producers[name].op_type not in _PASS_THROUGH:
                break
            name = producers[name].input[0] if producers[name].input else ""
        if not source or name != source:
            raise _Refused(
                f"the {node.op_type} nodes {before.name!r:.30} and {node.name!r:.30} are not a stack: the second "
                "does not read the first one's output; rnnviz shows one stack of recurrent layers"
            )


def _node_weights(node, cell: str, constants: dict, budget: int) -> dict[str, np.ndarray]:
    """W, R, B (zeros when absent) of one node, shapes checked, and no peepholes."""
    inputs = list(node.input) + [""] * 8
    if not inputs[1] or not inputs[2]:
        raise _Refused(f"node {node.name!r:.40} lacks its W or R input")
    arrays = {}
    for role, index in (("W", 1), ("R", 2), ("B", 3), ("P", 7)):
        if inputs[index] and (role != "P" or cell == "lstm"):
            arrays[role] = _tensor(constants, inputs[index], node, role, budget)
            budget -= arrays[role].size
    if "P" in arrays and np.any(arrays.pop("P")):
        raise _Refused(f"node {node.name!r:.40} has peepholes (P); rnnviz's LSTM, like PyTorch's, has none")
    _check_shapes(node, cell, arrays)
    if "B" not in arrays:
        nd, rows = arrays["R"].shape[:2]
        arrays["B"] = np.zeros((nd, 2 * rows))
    return arrays


def _check_shapes(node, cell: str, arrays: dict[str, np.ndarray]) -> None:
    W, R = arrays["W"], arrays["R"]
    G = GATE_COUNT[cell]
    if R.ndim != 3 or R.shape[2] < 1 or R.shape[1] != G * R.shape[2] or R.shape[0] not in (1, 2):
        raise _Refused(f"node {node.name!r:.40}: R must have shape [directions, {G}*H, H], got {list(R.shape)}")
    nd, rows, H = R.shape
    if W.ndim != 3 or W.shape[:2] != (nd, rows) or W.shape[2] < 1:
        raise _Refused(f"node {node.name!r:.40}: W must have shape [{nd}, {rows}, D], got {list(W.shape)}")
    if "B" in arrays and arrays["B"].shape != (nd, 2 * rows):
        raise _Refused(f"node {node.name!r:.40}: B must have shape [{nd}, {2 * rows}], got {list(arrays['B'].shape)}")
    hidden_size = _attribute(node, "hidden_size", 2, H)
    if hidden_size != H:
        raise _Refused(f"node {node.name!r:.40} says hidden_size={hidden_size}, but R is for {H}")
    if nd != (2 if _direction(node) else 1):
        raise _Refused(f"node {node.name!r:.40}: W, R and B hold {nd} direction(s), its direction attribute says not")


def _tensor(constants: dict, name: str, node, role: str, budget: int) -> np.ndarray:
    """A stored float tensor as float64, its size checked before any value is read."""
    tensor = constants.get(name)
    where = f"{role} of node {node.name!r:.40}"
    if tensor is None:
        raise _Refused(f"{where} is computed in the graph, not stored; export with do_constant_folding=True")
    if tensor.data_location == 1 or len(tensor.external_data):  # TensorProto.EXTERNAL
        raise _Refused(
            f"{where} is stored in an external file; rnnviz reads only self-contained .onnx files "
            "(onnx.save_model(model, path, save_as_external_data=False))"
        )
    dtype = _FLOAT_TYPES.get(tensor.data_type)
    if dtype is None or tensor.HasField("segment"):
        raise _Refused(f"{where} holds values of ONNX type {tensor.data_type}; rnnviz reads float, double and float16")
    shape = tuple(tensor.dims)
    if len(shape) > 3 or any(n < 0 for n in shape):
        raise _Refused(f"{where} has a damaged shape {list(shape)[:8]}")
    count = math.prod(shape)
    if count > budget:
        raise _Refused(f"{where} has shape {list(shape)}: more than the {MAX_PARAMETERS:,} parameters rnnviz accepts")
    return _values(tensor, dtype, count, where).reshape(shape).astype(np.float64)


def _values(tensor, dtype: np.dtype, count: int, where: str) -> np.ndarray:
    """The flat values, from raw_data or from the typed field that holds them."""
    if tensor.raw_data:
        raw = tensor.raw_data
        if len(raw) != count * dtype.itemsize:
            raise _Refused(f"{where} has {len(raw):,} bytes of data for {count:,} values of {dtype.itemsize} bytes")
        return np.frombuffer(raw, dtype)
    typed = {4: tensor.double_data, 2: tensor.float_data}.get(dtype.itemsize, tensor.int32_data)
    if len(typed) != count:
        raise _Refused(f"{where} holds {len(typed):,} values for its shape's {count:,}")
    if dtype.itemsize == 2:  # float16 values are stored as their bit patterns in int32_data
        return np.array(typed, dtype=np.int64).astype(np.uint16).view(np.float16)
    return np.array(typed, dtype=dtype)


def _torch_layer(arrays: dict[str, np.ndarray], cell: str, k: int, nd: int) -> dict[str, np.ndarray]:
    """One node's W, R, B as PyTorch's weight_ih_l{k}, ... (and ..._reverse), gate blocks reordered."""
    W, R, B = arrays["W"], arrays["R"], arrays["B"]
    rows = gate_rows(_TORCH_GATES[cell], R.shape[2])
    GH = R.shape[1]
    layer = {}
    for d in range(nd):
        sfx = layer_suffix(k * nd + d, nd)
        layer[f"weight_ih{sfx}"] = W[d][rows]
        layer[f"weight_hh{sfx}"] = R[d][rows]
        layer[f"bias_ih{sfx}"] = B[d, :GH][rows]
        layer[f"bias_hh{sfx}"] = B[d, GH:][rows]
    return layer


# Writing


def write_onnx(params: Params) -> bytes:
    """One RNN/LSTM/GRU node per layer (both directions in it), chained as torch exports them, float32."""
    from onnx import helper

    weights = _float32_state_dict(params)
    op = {cell: op for op, cell in _OPS.items()}[params.cell]
    L, nd, H, D = params.num_layers, params.num_directions, params.hidden_size, params.input_size
    states = ["h0", "c0"] if params.cell == "lstm" else ["h0"]
    nodes, initializers = [], [_int64s("row_axis", [0]), _int64s("merge_directions", [0, 0, -1])]
    x = "input"
    for k in range(L):
        W, R, B = _onnx_layer(weights, params.cell, k, nd)
        initializers += [_float32s(f"W_l{k}", W), _float32s(f"R_l{k}", R), _float32s(f"B_l{k}", B)]
        initializers += [_int64s(f"rows_from_l{k}", [k * nd]), _int64s(f"rows_to_l{k}", [(k + 1) * nd])]
        for state in states:  # this layer's rows of h0 (and c0)
            nodes.append(
                helper.make_node("Slice", [state, f"rows_from_l{k}", f"rows_to_l{k}", "row_axis"], [f"{state}_l{k}"])
            )
        outputs = [f"Y_l{k}", f"Y_h_l{k}"] + ([f"Y_c_l{k}"] if params.cell == "lstm" else [])
        inputs = [x, f"W_l{k}", f"R_l{k}", f"B_l{k}", ""] + [f"{state}_l{k}" for state in states]
        nodes.append(helper.make_node(op, inputs, outputs, name=f"{op}_l{k}", **_node_attributes(params, nd, H)))
        x = "output" if k == L - 1 else f"input_l{k + 1}"
        nodes.append(helper.make_node("Transpose", [f"Y_l{k}"], [f"Y_l{k}_by_batch"], perm=[0, 2, 1, 3]))
        nodes.append(helper.make_node("Reshape", [f"Y_l{k}_by_batch", "merge_directions"], [x]))  # (T, B, nd*H)
    nodes.append(helper.make_node("Concat", [f"Y_h_l{k}" for k in range(L)], ["h_n"], axis=0))
    if params.cell == "lstm":
        nodes.append(helper.make_node("Concat", [f"Y_c_l{k}" for k in range(L)], ["c_n"], axis=0))
    return _model(params, nodes, initializers, D, H).SerializeToString()


def _float32_state_dict(params: Params) -> dict[str, np.ndarray]:
    weights = {}
    for key, a in to_state_dict(params).items():
        with np.errstate(over="ignore"):
            weights[key] = a.astype(np.float32)
        if not np.all(np.isfinite(weights[key])):
            raise ValueError(f"cannot save {key} as .onnx (float32): it holds values beyond float32's range (3.4e38)")
    return weights


def _onnx_layer(weights: dict[str, np.ndarray], cell: str, k: int, nd: int) -> tuple[np.ndarray, ...]:
    """W [nd, G*H, D], R [nd, G*H, H], B [nd, 2*G*H] of layer k, gate blocks in ONNX's order."""
    H = weights[f"weight_hh_l{k}"].shape[1]
    rows = gate_rows(_ONNX_GATES[cell], H)
    sfxs = [layer_suffix(k * nd + d, nd) for d in range(nd)]
    W = np.stack([weights[f"weight_ih{s}"][rows] for s in sfxs])
    R = np.stack([weights[f"weight_hh{s}"][rows] for s in sfxs])
    B = np.stack([np.concatenate([weights[f"bias_ih{s}"][rows], weights[f"bias_hh{s}"][rows]]) for s in sfxs])
    return W, R, B


def _node_attributes(params: Params, nd: int, H: int) -> dict:
    attributes = {"hidden_size": H, "direction": "bidirectional" if nd == 2 else "forward"}
    if params.cell == "gru":
        attributes["linear_before_reset"] = 1
    if params.cell == "rnn":
        attributes["activations"] = [_RNN_ACTIVATIONS[params.nonlinearity]] * nd
        if params.nonlinearity == "linear":
            attributes |= {"activation_alpha": [1.0] * nd, "activation_beta": [0.0] * nd}
    return attributes


def _model(params: Params, nodes: list, initializers: list, D: int, H: int):
    from onnx import TensorProto, helper

    def value(name: str, shape: list) -> object:
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)

    states = len(params.layers)
    inputs = [value("input", ["T", "B", D]), value("h0", [states, "B", H])]
    outputs = [value("output", ["T", "B", params.num_directions * H]), value("h_n", [states, "B", H])]
    if params.cell == "lstm":
        inputs.append(value("c0", [states, "B", H]))
        outputs.append(value("c_n", [states, "B", H]))
    graph = helper.make_graph(nodes, f"rnnviz_{params.cell}", inputs, outputs, initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", _OPSET)], producer_name="rnnviz")
    model.ir_version = _IR_VERSION
    helper.set_model_props(model, {"cell": params.cell, "nonlinearity": params.nonlinearity})
    return model


def _float32s(name: str, a: np.ndarray):
    from onnx import numpy_helper

    return numpy_helper.from_array(np.ascontiguousarray(a, dtype=np.float32), name)


def _int64s(name: str, values: list[int]):
    from onnx import numpy_helper

    return numpy_helper.from_array(np.array(values, dtype=np.int64), name)
