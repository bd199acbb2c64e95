"""Command line: ``python -m rnnviz graph ...`` draws the textbook figures for slides.

    python -m rnnviz graph --cell lstm --steps 4 --level operations -o lstm.svg
    python -m rnnviz graph --neuron --steps 5 -o neuron.png
    python -m rnnviz graph --neuron --folded            # DOT on stdout

The output format follows the extension of ``-o`` (.svg, .png, .pdf, .dot, .gv); without
``-o`` the DOT text goes to stdout. Weights and inputs are seeded, so a figure is
reproducible from its command line.
"""

from __future__ import annotations

import argparse
import pathlib
import sys

import numpy as np

from .drawing.graph import LEVELS, GraphvizUnavailable, dot_source, folded_graph, render, unfolded_graph
from .engine.backward import backward
from .engine.cells import CELLS, NONLINEARITIES, init_params
from .engine.forward import forward

RENDERED = {".svg": "svg", ".png": "png", ".pdf": "pdf"}
TEXT = (".dot", ".gv")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m rnnviz", description="rnnviz from the command line.")
    commands = parser.add_subparsers(dest="command", required=True)
    g = commands.add_parser(
        "graph",
        help="draw a recurrent network's computational graph",
        description="Draw the folded or unfolded graph of a seeded network on a seeded input sequence.",
    )
    g.add_argument("--cell", choices=CELLS, default="rnn", help="recurrent cell (default rnn)")
    g.add_argument("--nonlinearity", choices=NONLINEARITIES, default="tanh", help="rnn activation (default tanh)")
    g.add_argument("--steps", type=_positive, default=5, help="sequence length T (default 5)")
    g.add_argument("--level", choices=LEVELS, default="cell", help="detail inside each step (default cell)")
    g.add_argument("--input-size", type=_positive, default=1, help="features per step D (default 1)")
    g.add_argument("--hidden-size", type=_positive, default=1, help="hidden units H (default 1)")
    g.add_argument("--layers", type=_positive, default=1, help="stacked layers (default 1)")
    g.add_argument("--seed", type=int, default=0, help="seed of the weights and the input (default 0)")
    g.add_argument("--values", action=argparse.BooleanOptionalAction, default=True, help="numbers on the nodes")
    g.add_argument("--grads", action="store_true", help="gradient flow of the loss L = sum(h_T) of the top layer")
    g.add_argument("--neuron", action="store_true", help="the single recurrent neuron (rnn, D = H = 1)")
    g.add_argument("--folded", action="store_true", help="the rolled-up cell with its feedback loop")
    g.add_argument(
        "--weights", choices=("labels", "nodes", "off"), default="labels", help="how shared weights are drawn"
    )
    g.add_argument("--highlight", type=_positive, metavar="STEP", help="make one step stand out")
    g.add_argument("--path", action="store_true", help="highlight the backward path from step T to --highlight")
    g.add_argument("--max-steps", type=_positive, help="steps drawn before the middle collapses")
    g.add_argument("-o", "--output", type=pathlib.Path, help="output file: .svg, .png, .pdf, .dot or .gv")
    return parser


def graph_from_args(args: argparse.Namespace):
    """The Digraph the options describe; raises ValueError for combinations that do not fit."""
    if args.neuron:
        args.cell, args.input_size, args.hidden_size, args.layers = "rnn", 1, 1, 1
    params = init_params(
        args.cell, args.input_size, args.hidden_size, args.layers, nonlinearity=args.nonlinearity, seed=args.seed
    )
    if args.folded:
        return folded_graph(params, neuron=args.neuron, values=args.values)
    x = np.random.default_rng(args.seed).normal(size=(args.steps, args.input_size))  # (T, D)
    trace = forward(params, x)
    grads = None
    if args.grads:
        d_output = np.zeros_like(trace.output)  # (T, H)
        d_output[-1] = 1.0
        grads = backward(params, trace, d_output)
    if args.highlight is not None and args.highlight > args.steps:
        raise ValueError(f"--highlight {args.highlight} is beyond the last step {args.steps}")
    return unfolded_graph(
        trace,
        grads=grads,
        level=args.level,
        values=args.values,
        shared_weights=args.weights,
        highlight_step=args.highlight,
        highlight_path=args.path,
        max_steps=args.max_steps,
        neuron=args.neuron,
    )


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    out = args.output
    suffix = out.suffix.lower() if out else ".dot"
    if suffix not in RENDERED and suffix not in TEXT:
        parser.error(f"cannot tell the format of {str(out)!r}: use .svg, .png, .pdf, .dot or .gv")
    try:
        graph = graph_from_args(args)
    except ValueError as err:
        parser.error(str(err))
    if out is None:
        sys.stdout.write(dot_source(graph))
        return 0
    try:
        data = render(graph, RENDERED[suffix]) if suffix in RENDERED else dot_source(graph).encode()
    except GraphvizUnavailable as err:
        parser.error(str(err))
    try:
        out.write_bytes(data)
    except OSError as err:
        parser.error(f"cannot write {str(out)!r}: {err.strerror}")
    return 0
