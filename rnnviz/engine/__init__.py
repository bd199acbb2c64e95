"""The numeric engine: cells, forward and backward through time, weights and their files, numerics.

``cells`` holds the readable one-step equations (the reference), ``forward`` and ``backward``
the fast whole-sequence paths checked against them and against PyTorch; ``weights`` reads and
writes state_dicts and weight files (``formats/``: .safetensors, .onnx, .keras, .h5); ``presets``
and ``signals`` make the explorer's weights and inputs; ``bptt`` the toy losses and gradient
checks; ``neuron`` the single recurrent neuron.
"""
