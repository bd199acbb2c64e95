"""Weights that show a behaviour (lesson presets), and rescaling W_hh to a spectral radius.

Presets start from the seeded PyTorch-style initialisation and move the biases so that one
gate is driven into saturation; what stays random keeps the picture honest.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .cells import LayerParams, Params, cell_kind, init_params

PRESETS = {
    "random": "seeded random weights, uniform in ±scale/√H as PyTorch initialises them",
    "latch": "LSTM memory latch: forget gate ≈ 1; the input gate opens only for a large input (try the impulse)",
    "reset": "LSTM that forgets every step: forget gate ≈ 0, so c_t depends on x_t alone",
    "shut": "LSTM with its input gate held shut (i ≈ 0): the cell state only decays from c_0",
    "leaky": "GRU as a leaky integrator: update gate z ≈ 0.8, so h_t moves 20 % of the way each step",
}
PRESET_CELL = {"latch": "lstm", "reset": "lstm", "shut": "lstm", "leaky": "gru"}


def network_params(
    choice: str,
    input_size: int,
    hidden_size: int,
    num_layers: int = 1,
    *,
    seed: int = 0,
    scale: float = 1.0,
    preset: str = "random",
) -> Params:
    """Seeded weights for the app's cell choice, with a preset's biases applied when it fits the cell."""
    cell, nonlinearity = cell_kind(choice)
    params = init_params(cell, input_size, hidden_size, num_layers, nonlinearity=nonlinearity, seed=seed, scale=scale)
    if preset == "random":
        return params
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; expected one of {', '.join(PRESETS)}")
    if PRESET_CELL[preset] != cell:
        raise ValueError(f"the {preset!r} preset is for the {PRESET_CELL[preset].upper()} cell")
    return _apply_preset(params, preset)


def _with_gate(lp: LayerParams, gate: int, bias: float, input_weight: float | None = None) -> LayerParams:
    """Set one gate block's total bias (b_ih + b_hh) and shrink its recurrent weights so the bias
    rules; with ``input_weight`` every input weight of the block is set to it, else shrunk too."""
    H = lp.W_hh.shape[1]
    rows = slice(gate * H, (gate + 1) * H)
    b_ih, b_hh, W_ih, W_hh = lp.b_ih.copy(), lp.b_hh.copy(), lp.W_ih.copy(), lp.W_hh.copy()
    b_ih[rows], b_hh[rows] = bias, 0.0
    W_hh[rows] *= 0.1
    if input_weight is None:
        W_ih[rows] *= 0.1
    else:
        W_ih[rows] = input_weight
    return LayerParams(W_ih, W_hh, b_ih, b_hh)


# (gate block, total bias, input weight or None); blocks: LSTM (i, f, g, o) = 0..3, GRU (r, z, n) = 0..2
_PRESET_GATES = {
    "latch": [(1, 6.0, None), (0, -5.0, 10.0), (2, 0.0, 2.0), (3, 2.0, None)],  # f = σ(6) ≈ 1, i = σ(10x − 5)
    "reset": [(1, -6.0, None)],  # f = σ(−6) ≈ 0.002
    "shut": [(0, -6.0, None)],  # i = σ(−6) ≈ 0.002
    "leaky": [(1, float(np.log(4.0)), None)],  # z = σ(ln 4) = 0.8
}


def _apply_preset(params: Params, preset: str) -> Params:
    layers = []
    for lp in params.layers:
        for gate, bias, input_weight in _PRESET_GATES[preset]:
            lp = _with_gate(lp, gate, bias, input_weight)
        layers.append(lp)
    return replace(params, layers=tuple(layers))


def spectral_radius(W: np.ndarray) -> float:
    """Largest |eigenvalue| of a square matrix."""
    return float(np.max(np.abs(np.linalg.eigvals(W)))) if W.size else 0.0


def rescale_recurrent(params: Params, radius: float) -> Params:
    """Scale each gate block of every W_hh so its spectral radius is ``radius`` (0 <= radius).

    For the RNN that is the whole W_hh: below 1 gradients through time shrink, above 1 they can grow.
    """
    if not np.isfinite(radius) or radius < 0:
        raise ValueError("the spectral radius must be a finite number >= 0")
    layers = []
    for lp in params.layers:
        H = lp.W_hh.shape[1]
        W_hh = lp.W_hh.copy()
        for g in range(W_hh.shape[0] // H):
            block = W_hh[g * H : (g + 1) * H]
            rho = spectral_radius(block)
            if rho > 0:
                W_hh[g * H : (g + 1) * H] = block * (radius / rho)
        layers.append(replace(lp, W_hh=W_hh))
    return replace(params, layers=tuple(layers))
