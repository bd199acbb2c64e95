"""Readers and writers of the weights files people have, one module per format.

Each reader takes the file's bytes and returns ``(state_dict, cell, nonlinearity,
bidirectional)`` in PyTorch's layout and gate order (``cell`` and the rest may be None: then
the shapes tell), for ``weights.load_weights`` to check with ``from_state_dict`` as it does
a .npz. Each writer takes Params and returns bytes. Every limit is checked on what a file
declares (sizes, shapes, counts) before anything big is read, and every problem is a
ValueError with a message; the libraries (safetensors, onnx, h5py) are imported inside the
functions, so ``import rnnviz`` does not load them.
"""
