"""A bounded walk over an .onnx file's protobuf wire format, before protobuf parses it.

protobuf builds one object per message and one slot per repeated value: 10 MB of empty
``NodeProto`` entries take about 770 MB once parsed, and a packed list of one-byte varints
takes 8 bytes a value. This walk counts both, following the ``onnx`` package's own message
descriptors (so it sees what protobuf will build), and refuses a file past the caps before
anything is built. It allocates nothing but a few integers.
"""

from __future__ import annotations

from ..weights import _Refused

MAX_MESSAGES = 100_000  # nodes, attributes, tensors, ...: a torch export of a stack of RNNs has a few hundred
MAX_VALUES = 4_000_000  # fields and packed varints; raw tensor bytes are one field whatever their size
MAX_DEPTH = 32  # messages inside messages (a graph in an attribute in a node in a graph, ...)
_TYPE_MESSAGE = 11  # google.protobuf.descriptor.FieldDescriptor.TYPE_MESSAGE
_VARINT_TYPES = {3, 4, 5, 8, 13, 14, 17, 18}  # int64, uint64, int32, bool, uint32, enum, sint32, sint64


def check_wire(data: bytes) -> None:
    """Raise ValueError if the bytes are not a protobuf ModelProto within the caps."""
    from onnx import ModelProto

    counts = [0, 0]  # messages, values
    _walk(memoryview(data), 0, len(data), ModelProto.DESCRIPTOR, 0, counts)


def _walk(data: memoryview, pos: int, end: int, descriptor, depth: int, counts: list[int]) -> None:
    if depth > MAX_DEPTH:
        raise _Refused(f"the model nests messages more than {MAX_DEPTH} deep")
    fields = descriptor.fields_by_number
    while pos < end:
        key, pos = _varint(data, pos, end)
        number, wire_type = key >> 3, key & 7
        counts[1] += 1
        if wire_type == 0:
            _, pos = _varint(data, pos, end)
        elif wire_type == 1 or wire_type == 5:
            pos += 8 if wire_type == 1 else 4
        elif wire_type == 2:
            length, pos = _varint(data, pos, end)
            start, pos = pos, pos + length
            field = fields.get(number)
            if pos <= end and field is not None and field.type == _TYPE_MESSAGE:
                counts[0] += 1
                _walk(data, start, pos, field.message_type, depth + 1, counts)
            elif field is not None and field.type in _VARINT_TYPES:
                counts[1] += length  # a packed list: at most one value a byte
        else:
            raise _Refused("the .onnx file is damaged (not an ONNX model: a protobuf field of an unknown wire type)")
        if pos > end:
            raise _Refused("the .onnx file is damaged (truncated or corrupt)")
        if counts[0] > MAX_MESSAGES or counts[1] > MAX_VALUES:
            raise _Refused(
                f"the model holds more than {MAX_MESSAGES:,} messages or {MAX_VALUES:,} values "
                "(nodes, attributes, numbers): far more than a stack of recurrent layers needs"
            )


def _varint(data: memoryview, pos: int, end: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if pos >= end or shift > 63:
            raise _Refused("the .onnx file is damaged (truncated or corrupt)")
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos, shift = pos + 1, shift + 7
        if byte < 0x80:
            return value, pos
