"""The pages' cached computations: a network's weights from the settings, the input, the forward trace,
the BPTT gradients and a finite-difference check.

They live here, imported once, rather than in the page scripts, which Streamlit runs on every rerun
(each st.cache_data wrap there reads the function's source again: about 0.4 ms a function a rerun).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import streamlit as st

import rnnviz
from rnnviz.engine import bptt, presets, signals
from ui.markup import literal


class Run(NamedTuple):
    params: rnnviz.Params
    x: np.ndarray  # (T, D)
    trace: rnnviz.Trace


@st.cache_data(max_entries=32, show_spinner=False)
def network_params(
    cell: str, D: int, H: int, L: int, seed: int, scale: float, preset: str = "random", radius: float | None = None
) -> rnnviz.Params:
    """Seeded weights (or a lesson preset's), with W_hh rescaled to the spectral radius ``radius`` if given."""
    params = presets.network_params(cell, D, H, L, seed=seed, scale=scale, preset=preset)
    return params if radius is None else presets.rescale_recurrent(params, radius)


@st.cache_data(max_entries=96, show_spinner=False)
def run(
    cell: str,
    D: int,
    H: int,
    L: int,
    T: int,
    seed: int,
    scale: float,
    preset: str = "random",
    signal: str = "impulse",
    custom: str = "",
    radius: float | None = None,
    trained: tuple[rnnviz.Params, np.ndarray] | None = None,
    loaded: rnnviz.Params | None = None,
) -> Run:
    """The weights, the input and the forward trace for a page's settings; ``trained`` (params, x), a model
    from the Train page on its own data, replaces the weights and the input; ``loaded``, the weights of an
    uploaded file, replaces the weights (the signal is made for their input size)."""
    if trained is not None:
        params, x = trained[0], trained[1][:T]
    elif loaded is not None:
        params = loaded if radius is None else presets.rescale_recurrent(loaded, radius)
        x = signals.make_signal(signal, T, loaded.input_size, seed=seed, custom=custom)
    else:
        params = network_params(cell, D, H, L, seed, scale, preset, radius)
        x = signals.make_signal(signal, T, D, seed=seed, custom=custom)  # (T, D)
    return Run(params, x, rnnviz.forward(params, x))


def usable(page: str, args: dict) -> dict:
    """``args`` if ``run`` can use them; else the error shown and the page's last ``args`` that worked
    (at first the same with the impulse input)."""
    try:
        run(**args)
    except ValueError as err:
        st.error(f"The input cannot be used: {literal(err)}. Showing the last input that worked.")
        return st.session_state.get(f"{page}:good", {**args, "signal": "impulse"})
    st.session_state[f"{page}:good"] = args
    return args


@st.cache_data(max_entries=48, show_spinner=False)
def gradients(args: dict, loss: str, trunc: int) -> rnnviz.Grads:
    """BPTT through ``run(**args)`` for one of bptt.LOSSES, truncated to chunks of ``trunc`` steps (0: full)."""
    params, _, trace = run(**args)
    return bptt.loss_backward(params, trace, loss, truncate=trunc or None)


@st.cache_data(max_entries=64, show_spinner=False)
def gradient_check(args: dict, key: str, index: tuple[int, ...], loss: str) -> bptt.GradientCheck:
    """BPTT's derivative of the loss against a central finite difference, for one weight entry."""
    params, x, _ = run(**args)
    return bptt.gradient_check(params, x, key, index, loss)


def file_args(args: dict, params: rnnviz.Params) -> dict:
    """A page's ``run`` arguments with the weights of a loaded file: its cell and sizes, no preset."""
    cell = f"rnn_{params.nonlinearity}" if params.cell == "rnn" else params.cell
    sizes = dict(cell=cell, D=params.input_size, H=params.hidden_size, L=params.num_layers)
    return args | sizes | dict(preset="random", trained=None, loaded=params)
