"""What the unfolded graphs share, by cells and by operations: their options, which steps fit
in ``MAX_NODES``, a trace's numbers at one step, and the edges from the shared weights."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..engine.backward import Grads
from ..engine.cells import Params
from ..engine.forward import Trace
from .kernel import MAX_NODES, Drawing, Node, format_vector, node_id, node_lines, norm, step_window, tooltip
from .style import WEIGHT_COLOR

LEVELS = ("cell", "operations")
WEIGHT_MODES = ("labels", "nodes", "off")  # how weight sharing is drawn
DEFAULT_MAX_STEPS = {"cell": 12, "operations": 4}  # readable on a slide
MAX_STEPS_WEIGHT_NODES = 6  # shared weight nodes: an edge into every step, so keep few steps
# operation-level nodes per layer and step, besides the states (h, and c for the LSTM)
OPS_PER_STEP = {"rnn": 4, "lstm": 12, "gru": 10}


def nodes_per_step(params: Params, level: str) -> int:
    """Nodes one visible step adds: the input x_t plus, per layer, the cell or its operations and states."""
    states = 2 if params.cell == "lstm" else 1
    inner = 1 if level == "cell" else OPS_PER_STEP[params.cell]
    return 1 + params.num_layers * (inner + states)


def weights_mode(shared_weights: bool | str) -> str:
    """``True`` -> "labels", ``False`` -> "off"; "labels", "nodes" and "off" pass through."""
    mode = {True: "labels", False: "off"}.get(shared_weights, shared_weights)
    if mode not in WEIGHT_MODES:
        raise ValueError(f"shared_weights must be True, False, 'labels', 'nodes' or 'off', got {shared_weights!r}")
    return mode


def fixed_nodes(params: Params, *, shared_weights: bool | str, neuron: bool = False) -> int:
    """Nodes that do not depend on T: initial states and shared weights (the legend is the graph's label)."""
    L = params.num_layers
    initial = L * (2 if params.cell == "lstm" else 1)
    weights = 3 * L if weights_mode(shared_weights) == "nodes" and not neuron else 0
    return initial + weights


def visible_limit(params: Params, level: str, max_steps: int | None, *, fixed: int, weights: str = "labels") -> int:
    """``max_steps`` (default per level), lowered until the graph fits in ``MAX_NODES``.

    Up to two gaps (around a highlighted step) cost one ellipsis node per layer each. With
    shared weight nodes at most ``MAX_STEPS_WEIGHT_NODES`` steps: their long edges into
    every step make dot's layout slow (minutes for 24 steps).
    """
    wanted = DEFAULT_MAX_STEPS[level] if max_steps is None else int(max_steps)
    if weights == "nodes":
        wanted = min(wanted, MAX_STEPS_WEIGHT_NODES)
    room = MAX_NODES - fixed - 2 * params.num_layers
    return max(2, min(wanted, room // nodes_per_step(params, level)))


def expected_node_count(trace: Trace, *, level: str = "cell", **options) -> int:
    """What ``unfolded_graph(trace, level=level, **options)`` will draw, from the structure alone."""
    opts = Options.make(trace, level=level, **options)
    visible, gaps = step_window(trace.steps, opts.limit, opts.keep)
    return opts.fixed + len(visible) * nodes_per_step(trace.params, level) + len(gaps) * trace.params.num_layers


@dataclass(frozen=True)
class Options:
    level: str
    values: bool
    grads: Grads | None
    weights: str  # one of WEIGHT_MODES
    highlight_step: int | None
    highlight_path: bool
    batch_index: int
    neuron: bool
    activation_label: str
    limit: int
    fixed: int

    @property
    def keep(self) -> int | None:
        return self.highlight_step

    @staticmethod
    def make(
        trace: Trace,
        *,
        level: str = "cell",
        grads: Grads | None = None,
        values: bool = True,
        shared_weights: bool | str = True,
        highlight_step: int | None = None,
        highlight_path: bool = False,
        max_steps: int | None = None,
        batch_index: int = 0,
        neuron: bool = False,
        activation_label: str | None = None,
    ) -> Options:
        params = trace.params
        if level not in LEVELS:
            raise ValueError(f"unknown level {level!r}; expected 'cell' or 'operations'")
        if neuron and (params.cell != "rnn" or params.hidden_size != 1 or params.input_size != 1):
            raise ValueError("the single neuron view needs an rnn cell with input size 1 and hidden size 1")
        if neuron and params.num_layers != 1:
            raise ValueError("the single neuron view has one layer")
        if max_steps is not None and int(max_steps) < 2:
            raise ValueError("max_steps must be at least 2 (the first and the last step)")
        if highlight_step is not None and not 1 <= highlight_step <= trace.steps:
            raise ValueError(f"highlight_step must be between 1 and {trace.steps}, got {highlight_step}")
        if highlight_path and highlight_step is None:
            highlight_step = 1
        if grads is not None and len(grads.dh) != params.num_layers:
            raise ValueError("the gradients belong to a different network")
        B = trace.x.shape[1] if trace.batched else 1
        if not 0 <= batch_index < B:
            raise ValueError(f"batch_index must be between 0 and {B - 1}, got {batch_index}")
        fixed = fixed_nodes(params, shared_weights=shared_weights, neuron=neuron)
        return Options(
            level=level,
            values=values,
            grads=grads,
            weights=weights_mode(shared_weights),
            highlight_step=highlight_step,
            highlight_path=highlight_path,
            batch_index=batch_index,
            neuron=neuron,
            activation_label=activation_label or params.nonlinearity,
            limit=visible_limit(params, level, max_steps, fixed=fixed, weights=weights_mode(shared_weights)),
            fixed=fixed,
        )

    def highlighted(self, T: int) -> set[int]:
        """Steps that stand out: the highlighted one, or every step on the path back from T."""
        t = self.highlight_step
        if t is None:
            return set()
        return set(range(t, T + 1)) if self.highlight_path else {t}


class Steps:
    """Values at step t (1-based) for the chosen batch element, and their labels."""

    def __init__(self, trace: Trace, opts: Options):
        self.trace, self.opts = trace, opts

    def at(self, a: np.ndarray, t: int) -> np.ndarray:
        """Row t (1-based) of a (T, [B,] .) array."""
        return a[t - 1, self.opts.batch_index] if self.trace.batched else a[t - 1]

    def initial(self, a: np.ndarray, k: int) -> np.ndarray:
        """Layer k of an (L, [B,] H) initial state."""
        return a[k, self.opts.batch_index] if self.trace.batched else a[k]

    def lines(self, name: str, value: np.ndarray | None, grad: np.ndarray | None) -> list[str]:
        shown = self.opts.values and value is not None
        return node_lines(name, format_vector(value) if shown else None, grad)

    def tooltip(self, name: str, value: np.ndarray | None, grad: np.ndarray | None) -> str:
        return tooltip(name, value, grad)


def node(
    id: str, kind: str, step: int | None, lines: list[str], tip: str, layer: int, grad=None, *, initial=False, **attrs
) -> Node:
    """A node of an unfolded graph; its classes after kind and step: ``initial`` (h_0, c_0), ``layer-k``."""
    return Node(id, kind, step, lines, tip, layer, grad, (["initial"] if initial else []) + [f"layer-{layer}"], attrs)


@dataclass
class Row:
    """What the next step of a layer connects to: h_{t-1} (and c_{t-1}) node ids."""

    h: str
    c: str | None = None


def weight_edges(d: Drawing, s: Steps, k: int, t: int, heads: dict[str, str | None], local: dict) -> None:
    """Dashed edges from layer k's shared weights into the nodes that use them at step t."""
    lt = s.trace.layers[k]
    contrib = _weight_grads(local, s.at(lt.x, t), s.at(lt.h_prev, t)) if local else {}
    for name, head in heads.items():
        if head is None:
            continue
        d.edge(
            node_id("w", name, k),
            head,
            "weight",
            grad=contrib.get(name),
            style="dashed",
            color=WEIGHT_COLOR[name],
            weight="0",
        )


def _weight_grads(local: dict, x: np.ndarray, h_prev: np.ndarray) -> dict[str, float]:
    """Frobenius norms of step t's contribution to each shared weight's gradient."""
    gx, gh = norm(local["gx"]), norm(local["gh"])
    return {"W_ih": gx * norm(x), "W_hh": gh * norm(h_prev), "b": math.hypot(gx, gh)}
