"""Command line: ``python -m rnnviz graph ...`` draws the textbook figures for slides.

    python -m rnnviz graph --cell lstm --steps 4 --level operations -o lstm.svg
    python -m rnnviz graph --neuron --steps 5 -o neuron.png
    python -m rnnviz graph --neuron --wx 0.5 --wy -0.9 --signal impulse -o neuron.svg
    python -m rnnviz graph --neuron --folded            # DOT on stdout

The output format follows the extension of ``-o`` (.svg, .png, .pdf, .dot, .gv); without
``-o`` the DOT text goes to stdout. Weights and inputs are seeded unless given (the neuron's
``--wx --wy --bias --y0``, any network's ``--signal``/``--input``), so a figure is reproducible
from its command line.
"""

from __future__ import annotations

import argparse
import pathlib
import sys

import numpy as np

from .drawing import LEVELS, GraphvizUnavailable, dot_source, folded_graph, render, unfolded_graph
from .engine.backward import backward
from .engine.cells import CELLS, NONLINEARITIES, init_params
from .engine.forward import forward
from .engine.neuron import neuron_params
from .engine.signals import CUSTOM_GRAMMAR, SIGNALS, make_signal

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


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not abs(value) <= 1e6:
        raise argparse.ArgumentTypeError(f"expected a finite number between ±1e6, got {text!r}")
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
    for flag, name in (("--wx", "input weight W_x"), ("--wy", "feedback weight W_y"), ("--bias", "bias b")):
        g.add_argument(flag, type=_number, help=f"the neuron's {name} (with --neuron; default: seeded)")
    g.add_argument("--y0", type=_number, default=0.0, help="the neuron's initial output y_0 (default 0)")
    g.add_argument("--signal", choices=SIGNALS, help="input sequence as on the pages (default: seeded normal numbers)")
    g.add_argument("--input", metavar="VALUES", help=f"the input x_1, x_2, ...: {CUSTOM_GRAMMAR} (D = 1)")
    g.add_argument(
        "--weights", choices=("labels", "nodes", "off"), default="labels", help="how shared weights are drawn"
    )
    g.add_argument("--highlight", type=_positive, metavar="STEP", help="make one step stand out")
    g.add_argument("--path", action="store_true", help="highlight the backward path from step T to --highlight")
    g.add_argument("--max-steps", type=_positive, help="steps drawn before the middle collapses")
    g.add_argument("-o", "--output", type=pathlib.Path, help="output file: .svg, .png, .pdf, .dot or .gv")
    return parser


def _network(args: argparse.Namespace):
    """The seeded network, or the neuron with the weights given on the command line."""
    given = {name: getattr(args, name) for name in ("wx", "wy", "bias")}
    if not args.neuron:
        if any(v is not None for v in given.values()) or args.y0:
            raise ValueError("--wx, --wy, --bias and --y0 set the single neuron: add --neuron")
        return init_params(
            args.cell, args.input_size, args.hidden_size, args.layers, nonlinearity=args.nonlinearity, seed=args.seed
        )
    args.cell, args.input_size, args.hidden_size, args.layers = "rnn", 1, 1, 1
    seeded = init_params("rnn", 1, 1, 1, nonlinearity=args.nonlinearity, seed=args.seed).layers[0]
    w_x = seeded.W_ih[0, 0] if given["wx"] is None else given["wx"]
    w_y = seeded.W_hh[0, 0] if given["wy"] is None else given["wy"]
    b = seeded.b_ih[0] + seeded.b_hh[0] if given["bias"] is None else given["bias"]
    return neuron_params(w_x, w_y, b, args.nonlinearity)


def _input(args: argparse.Namespace) -> np.ndarray:
    """The input sequence (T, D): typed values, a named signal, or seeded normal numbers."""
    if args.input is not None:
        if args.signal not in (None, "custom"):
            raise ValueError("give either --signal or --input, not both")
        if args.input_size != 1:
            raise ValueError("--input types one number per step: it needs --input-size 1")
        return make_signal("custom", args.steps, 1, custom=args.input)
    if args.signal == "custom":
        raise ValueError("--signal custom needs the values: use --input instead")
    if args.signal is not None:
        return make_signal(args.signal, args.steps, args.input_size, seed=args.seed)
    return np.random.default_rng(args.seed).normal(size=(args.steps, args.input_size))  # (T, D)


def graph_from_args(args: argparse.Namespace):
    """The Digraph the options describe; raises ValueError for combinations that do not fit."""
    params = _network(args)
    if args.folded:
        return folded_graph(params, neuron=args.neuron, values=args.values)
    h0 = [[args.y0]] if args.neuron else None
    trace = forward(params, _input(args), h0=h0)
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
