"""Run as a script, in a process of its own: read an HDF5 file from stdin into plain data.

The HDF5 library is C and crashes on some damaged files (hypothesis found a segmentation
fault in minutes), so ``hdf5_file`` runs this script in a child process with an address-space
limit and a timeout: a crash or a bomb ends the child, never the app. It imports only numpy
and h5py (not rnnviz) and writes to stdout::

    <length of the header>\\n<JSON header><the arrays' values, float64, little-endian>

where the header is ``{"groups": [path, ...], "arrays": [[path, shape], ...],
"attributes": {path: {name: [text, ...]}}, "problems": {path: why it was not read}}``, or
``{"error": message}``. Nothing leaves the file: links are recorded, never followed (an
external link opens another file by its path), and a dataset is read only when it is a
float array kept in this file, without filters (HDF5's deflate grows its buffer until the
stream ends), in chunks no bigger than the budget. Datasets are read smallest first, up to
the budget of values in all; the others are named in "problems".

Usage: python hdf5_reader.py MAX_VALUES MAX_OBJECTS MAX_TEXT_BYTES MAX_ADDRESS_SPACE < file.h5
"""

import io
import json
import math
import sys

_ALLOWED_LAYOUTS = (0, 1, 2)  # h5py.h5d.COMPACT, CONTIGUOUS, CHUNKED (not VIRTUAL: values in other files)


def main() -> None:
    max_values, max_objects, max_text, max_memory = (int(a) for a in sys.argv[1:5])
    limit_memory(max_memory)
    data = sys.stdin.buffer.read()
    try:
        header, arrays = read(data, max_values, max_objects, max_text)
    except MemoryError:
        header, arrays = {"error": "needs more memory to read than rnnviz allows"}, []
    except Exception:  # noqa: BLE001 - whatever h5py raises on a damaged file, reported as one message
        header, arrays = {"error": "is damaged (truncated or corrupt)"}, []
    text = json.dumps(header).encode()
    out = sys.stdout.buffer
    out.write(b"%d\n" % len(text) + text)
    for a in arrays:
        out.write(a.astype("<f8").tobytes())
    out.flush()


def limit_memory(max_bytes: int) -> None:
    """Cap this process's address space, before numpy and h5py load (where the resource module exists)."""
    try:
        import resource
    except ImportError:  # Windows: the timeout still applies
        return
    resource.setrlimit(resource.RLIMIT_AS, (max_bytes, max_bytes))


def read(data: bytes, max_values: int, max_objects: int, max_text: int):
    import h5py

    header = {"groups": [], "arrays": [], "attributes": {}, "problems": {}}
    with h5py.File(io.BytesIO(data), "r") as f:
        datasets = walk(f, header, max_objects, max_text)
        arrays = read_datasets(datasets, header, max_values)
    return header, arrays


def walk(f, header: dict, max_objects: int, max_text: int) -> list:
    """Every group and dataset reached through hard links, breadth first; string attributes read."""
    import h5py

    todo, seen, datasets, count = [("", f)], set(), [], 0
    while todo:
        path, group = todo.pop(0)
        header["groups"].append(path)
        read_attributes(group, path, header, max_text)
        for name in group:
            count += 1
            if count > max_objects:
                raise OverflowError(f"more than {max_objects} objects")
            child_path = f"{path}/{name}" if path else name
            link = group.get(name, getlink=True)
            if not isinstance(link, h5py.HardLink):
                header["problems"][child_path] = "is a link to another place or file, which rnnviz does not follow"
                continue
            child = group[name]
            address = h5py.h5o.get_info(child.id).addr
            if address in seen:
                header["problems"][child_path] = "is a second name of an object already read"
                continue
            seen.add(address)
            if isinstance(child, h5py.Group):
                todo.append((child_path, child))
            elif isinstance(child, h5py.Dataset):
                read_attributes(child, child_path, header, max_text)
                datasets.append((child_path, child))
    return datasets


def read_attributes(obj, path: str, header: dict, max_text: int) -> None:
    """String attributes (one or an array of them) of declared size within max_text; others noted."""
    import h5py
    import numpy as np

    texts = {}
    for name in obj.attrs:
        attribute = h5py.h5a.open(obj.id, name.encode())
        count = math.prod(attribute.shape or ())
        if attribute.dtype.kind not in "SOU" or count > 64 or attribute.get_storage_size() > max_text:
            header["problems"][f"{path}@{name}"] = "is not a short string"
            continue
        value = obj.attrs[name]
        values = value.ravel().tolist() if isinstance(value, np.ndarray) else [value]
        strings = [v.decode("utf-8") if isinstance(v, bytes) else v for v in values]
        if not all(isinstance(s, str) and utf8(s) for s in strings) or sum(len(s) for s in strings) > max_text:
            header["problems"][f"{path}@{name}"] = "is not a short string"
            continue
        texts[name] = strings
    if texts:
        header["attributes"][path] = texts


def utf8(text: str) -> bool:
    """Whether the text is valid UTF-8 (h5py lets undecodable bytes through as lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def read_datasets(datasets: list, header: dict, max_values: int) -> list:
    """The readable float datasets, smallest first, while the budget lasts."""
    import numpy as np

    readable = []
    for path, dataset in datasets:
        problem = storage_problem(dataset, max_values)
        if problem:
            header["problems"][path] = problem
        else:
            readable.append((math.prod(dataset.shape), path, dataset))
    arrays, budget = [], max_values
    for size, path, dataset in sorted(readable, key=lambda item: (item[0], item[1])):
        if size > budget:
            header["problems"][path] = f"is beyond the {max_values:,} values rnnviz reads from one file"
            continue
        values = np.asarray(dataset[()], dtype=np.float64).reshape(dataset.shape)
        budget -= size
        header["arrays"].append([path, list(dataset.shape)])
        arrays.append(values)
    return arrays


def storage_problem(dataset, max_values: int) -> str | None:
    """Why a dataset's values are not read, or None: floats, kept here, unfiltered, of sane size."""
    if dataset.dtype.kind != "f" or dataset.dtype.itemsize not in (2, 4, 8):
        return f"holds values of type {dataset.dtype}, not floats"
    if dataset.shape is None or len(dataset.shape) > 2:
        return f"must be a matrix or a vector, got shape {dataset.shape}"
    if math.prod(dataset.shape) > max_values:
        return f"has shape {dataset.shape}: more than the {max_values:,} parameters rnnviz accepts"
    plist = dataset.id.get_create_plist()
    if plist.get_layout() not in _ALLOWED_LAYOUTS:
        return "is a virtual dataset (its values live in other files), which rnnviz does not read"
    if plist.get_external_count():
        return "keeps its values in external files, which rnnviz does not read"
    if plist.get_nfilters():
        return "is compressed or filtered; Keras writes its weights uncompressed"
    if dataset.chunks is not None and math.prod(dataset.chunks) > max_values:
        return f"is stored in chunks of {dataset.chunks}, far bigger than any weight needs"
    return None


if __name__ == "__main__":
    main()
