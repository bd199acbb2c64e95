"""Reading an HDF5 file from its bytes, never leaving it and never inflating anything.

HDF5 can point outside the file: an external link opens another file by its path, a dataset
can keep its values in external raw files or in other files' datasets (virtual datasets),
and a filter it does not know makes the library load a plugin. Its deflate filter grows its
buffer until the stream ends, so a small compressed chunk can fill memory. So here: paths are
walked one name at a time through hard links only; a dataset is read only when it is a
contiguous or chunked array of floats, kept in this file, without filters, its size (and its
chunks' size) within the parameter budget; an attribute only when its declared size is small.
"""

from __future__ import annotations

import io
import math
from contextlib import contextmanager

import numpy as np

from ..weights import MAX_PARAMETERS, _Refused

_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_ERRORS = (OSError, KeyError, ValueError, TypeError, RuntimeError, IndexError, OverflowError, AttributeError)


@contextmanager
def damaged(what: str):
    """What h5py raises on a corrupt file, as one ValueError."""
    try:
        yield
    except _Refused:
        raise
    except _ERRORS as e:
        raise _Refused(f"{what} is damaged (truncated or corrupt)") from e


@contextmanager
def open_hdf5(data: bytes, what: str):
    """The file, read-only, from memory."""
    import h5py

    if not data.startswith(_SIGNATURE):
        raise _Refused(f"{what} is not an HDF5 file (it does not start with the HDF5 signature)")
    with damaged(what), h5py.File(io.BytesIO(data), "r") as f:
        yield f


def child(group, path: str, what: str):
    """The object at ``path`` under ``group``, reached through hard links only (no external or soft link)."""
    import h5py

    node = group
    for name in [part for part in path.split("/") if part]:
        if not isinstance(node, h5py.Group):
            raise _Refused(f"{what}: {path!r:.80} is not in the file")
        link = node.get(name, getlink=True)
        if link is None:
            raise _Refused(f"{what}: {path!r:.80} is not in the file")
        if not isinstance(link, h5py.HardLink):
            raise _Refused(f"{what}: {path!r:.80} is a link to another place or file, which rnnviz does not follow")
        node = node[name]
    return node


def has(group, name: str) -> bool:
    """Whether ``group`` has a link called ``name`` (without following it)."""
    return group.get(name, getlink=True) is not None


def read_floats(dataset, what: str, budget: int) -> np.ndarray:
    """A dataset of at most ``budget`` floats, checked before it is read, as float64."""
    import h5py

    if not isinstance(dataset, h5py.Dataset):
        raise _Refused(f"{what} is not an array")
    if dataset.dtype.kind != "f" or dataset.dtype.itemsize not in (2, 4, 8):
        raise _Refused(f"{what} holds values of type {dataset.dtype}, not floats")
    shape = dataset.shape
    if shape is None or len(shape) > 2:
        raise _Refused(f"{what} must be a matrix or a vector, got shape {shape}")
    if math.prod(shape) > budget:
        raise _Refused(f"{what} has shape {shape}: more than the {MAX_PARAMETERS:,} parameters rnnviz accepts")
    _check_storage(dataset, what)
    return np.asarray(dataset[()], dtype=np.float64).reshape(shape)


def _check_storage(dataset, what: str) -> None:
    """Values kept in this file, unfiltered, in chunks no bigger than the budget."""
    import h5py

    plist = dataset.id.get_create_plist()
    if plist.get_layout() not in (h5py.h5d.COMPACT, h5py.h5d.CONTIGUOUS, h5py.h5d.CHUNKED):
        raise _Refused(f"{what} is a virtual dataset (its values live in other files), which rnnviz does not read")
    if plist.get_external_count():
        raise _Refused(f"{what} keeps its values in external files, which rnnviz does not read")
    if plist.get_nfilters():
        raise _Refused(f"{what} is compressed or filtered; Keras writes its weights uncompressed")
    if dataset.chunks is not None and math.prod(dataset.chunks) > MAX_PARAMETERS:
        raise _Refused(f"{what} is stored in chunks of {dataset.chunks}, far bigger than any weight needs")


def read_text_attribute(obj, name: str, what: str, max_bytes: int) -> str | None:
    """A string attribute (None when absent), its declared size checked before it is read."""
    strings = read_strings_attribute(obj, name, what, 1, max_bytes)
    if strings is None:
        return None
    if len(strings) != 1:
        raise _Refused(f"{what}: the attribute {name!r} must be one string")
    return strings[0]


def read_strings_attribute(obj, name: str, what: str, max_count: int, max_bytes: int) -> list[str] | None:
    """A string or an array of strings (None when absent), at most ``max_count`` of them."""
    import h5py

    if name not in obj.attrs:
        return None
    attribute = h5py.h5a.open(obj.id, name.encode())
    count = math.prod(attribute.shape or ())
    if attribute.dtype.kind not in "SOU" or count > max_count or attribute.get_storage_size() > max_bytes:
        raise _Refused(f"{what}: the attribute {name!r} must hold at most {max_count} short string(s)")
    value = obj.attrs[name]
    values = value.ravel().tolist() if isinstance(value, np.ndarray) else [value]
    texts = [v.decode("utf-8") if isinstance(v, bytes) else v for v in values]
    if not all(isinstance(t, str) for t in texts) or sum(len(t) for t in texts) > max_bytes:
        raise _Refused(f"{what}: the attribute {name!r} must hold at most {max_count} short string(s)")
    return texts
