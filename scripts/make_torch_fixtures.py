"""Generate the PyTorch oracle fixtures in tests/fixtures/torch/.

Runs only in the separate torch venv (torch is never a dependency of rnnviz or its tests)::

    /tmp/torchenv/bin/python scripts/make_torch_fixtures.py

For every case it builds ``torch.nn.RNN`` (tanh or relu), ``nn.LSTM`` or ``nn.GRU`` in
float64 from a fixed seed, runs it, backpropagates

    loss = sum(output * d_output) + sum(h_n * d_h_n) [+ sum(c_n * d_c_n)]

(only the upstream terms the case lists) and saves, as plain float64 arrays in
``<case>.npz`` (``np.savez_compressed``, no pickles):

- ``sd.<key>``: the state_dict; ``x``, ``h0``, ``c0`` (when given);
- ``d_output``, ``d_h_n``, ``d_c_n`` (when used);
- ``output``, ``h_n``, ``c_n``: torch's results;
- ``hidden.<k>``, ``cell.<k>`` (LSTM): layer k's h_t (and c_t) over time, from running torch
  layer by layer and step by step with single-layer modules holding layer k's weights;
- ``gates.<k>.<name>``: LSTM i, f, g, o / GRU r, z, n, recomputed with torch ops from layer
  k's input and torch's own h_{t-1} (and c_{t-1});
- bidirectional cases (``bidirectional=True``): k counts direction-layers in torch's order
  (layer 0 forward, layer 0 reverse, layer 1 forward, ...), every per-step array is in real
  time order (a reverse direction's h_t at index t is the state after reading x_T ... x_t),
  and ``output``, ``d_output`` are (T, [B,] 2H), the states (2L, [B,] H);
- ``grad.<key>`` for every parameter, ``grad.x``, ``grad.h0``, ``grad.c0`` (when given).

Truncated-BPTT cases (``truncate=k``) run torch over chunks of k steps, detaching the state
between chunks, and sum the loss over every chunk's output (``d_h_n``/``d_c_n`` act on the
last chunk's final state). Per-step layouts follow torch: (T, H) unbatched, (T, B, H) batched.

``cases.json`` lists every case. The output is deterministic: rerunning rewrites identical files.
"""

from __future__ import annotations

import json
import sys
import zlib
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "torch"
GATES = {"rnn": (), "lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n")}
ALL_UPSTREAM = {"rnn": ("d_output", "d_h_n"), "lstm": ("d_output", "d_h_n", "d_c_n"), "gru": ("d_output", "d_h_n")}


def case(
    kind, L, T, B, *, D=3, H=4, h0=False, bias=True, upstream="all", truncate=None, scale=1.0, tag="", bidir=False
):
    """One case spec. kind: rnn_tanh, rnn_relu, lstm, gru. B=None means unbatched."""
    cell, _, nl = kind.partition("_")
    nl = nl or "tanh"
    if upstream == "all":
        ups = ALL_UPSTREAM[cell]
    elif upstream == "output":
        ups = ("d_output",)
    elif upstream == "state":  # only the final states
        ups = tuple(u for u in ALL_UPSTREAM[cell] if u != "d_output")
    else:
        raise ValueError(upstream)
    parts = [kind, f"L{L}" + ("bi" if bidir else ""), f"T{T}", f"B{B}" if B else "unb", f"D{D}H{H}"]
    parts += ["h0" if h0 else "noh0", "bias" if bias else "nobias", f"up-{upstream}"]
    if truncate:
        parts.append(f"trunc{truncate}")
    if scale != 1.0:
        parts.append(f"scale{scale:g}")
    if tag:
        parts.append(tag)
    return {
        "name": "_".join(parts),
        "cell": cell,
        "nonlinearity": nl,
        "num_layers": L,
        "bidirectional": bidir,
        "input_size": D,
        "hidden_size": H,
        "T": T,
        "B": B,
        "bias": bias,
        "has_h0": h0,
        "has_c0": h0 and cell == "lstm",  # nn.LSTM takes (h0, c0) together or neither
        "upstream": list(ups),
        "truncate": truncate,
        "weight_scale": scale,
    }


def cases() -> list[dict]:
    out = []
    for kind in ("rnn_tanh", "rnn_relu", "lstm", "gru"):
        # A covering sample of layers x batched x initial state x bias x upstream, with all-different
        # small sizes (D != H != T != B) so that a transposed matrix cannot pass.
        out += [
            case(kind, 1, 5, 2, h0=True, bias=True, upstream="all"),
            case(kind, 1, 6, None, h0=False, bias=True, upstream="output"),
            case(kind, 1, 7, 2, h0=False, bias=False, upstream="output"),
            case(kind, 2, 6, 2, h0=False, bias=False, upstream="all"),
            case(kind, 2, 5, None, h0=True, bias=True, upstream="all", D=5, H=3),
            case(kind, 3, 7, 2, h0=True, bias=False, upstream="output"),
            case(kind, 3, 6, None, h0=False, bias=False, upstream="all"),
            case(kind, 2, 40, 2, h0=True, bias=True, upstream="all", D=5, H=8),  # bigger and longer
            case(kind, 2, 7, 2, h0=True, bias=True, upstream="all", truncate=3),  # T not a multiple of k
            case(kind, 1, 6, None, h0=False, bias=True, upstream="output", truncate=2),  # T a multiple of k
        ]
    # Edge cases and extra coverage.
    out += [
        case("rnn_tanh", 1, 1, 3, h0=True, upstream="all", D=2, H=5),  # a single step
        case("lstm", 1, 1, None, h0=True, upstream="all", D=2, H=5),
        case("gru", 2, 5, 1, h0=True, upstream="all"),  # batched with B = 1
        case("lstm", 3, 5, 3, h0=True, bias=True, upstream="state", D=2, H=3),  # only d_h_n, d_c_n
        case("gru", 3, 6, None, h0=True, bias=True, upstream="state", D=2, H=5),
        case("rnn_relu", 2, 40, 2, h0=False, bias=True, upstream="all", D=3, H=8, scale=1.5, tag="long"),
        case("lstm", 2, 6, 2, h0=True, bias=True, upstream="all", scale=3.0),  # saturated gates
        case("gru", 1, 6, 2, h0=True, bias=False, upstream="all", scale=3.0),
        case("lstm", 3, 40, 2, h0=True, bias=True, upstream="all", D=4, H=8, truncate=8),  # long truncated
        case("gru", 2, 40, None, h0=False, bias=True, upstream="output", D=3, H=8, truncate=5),
        case("rnn_tanh", 3, 7, 2, h0=True, bias=False, upstream="all", truncate=1),  # k = 1: no recurrence
        case("rnn_relu", 2, 7, None, h0=True, bias=True, upstream="all", truncate=7),  # k = T: no cut
    ]
    for kind in ("rnn_tanh", "rnn_relu", "lstm", "gru"):
        # bidirectional=True: layers x batched x initial state x bias x upstream again, all sizes different.
        out += [
            case(kind, 1, 5, 2, h0=True, bias=True, upstream="all", bidir=True),
            case(kind, 1, 6, None, h0=False, bias=False, upstream="all", bidir=True),
            case(kind, 2, 6, 3, h0=False, bias=True, upstream="output", D=5, bidir=True),
            case(kind, 2, 5, None, h0=True, bias=False, upstream="all", D=2, H=3, bidir=True),
            case(kind, 2, 7, 2, h0=True, bias=True, upstream="state", bidir=True),
        ]
    out += [
        case("lstm", 3, 30, 2, h0=True, bias=True, upstream="all", D=5, H=8, bidir=True),  # deeper and longer
        case("gru", 3, 30, None, h0=True, bias=True, upstream="all", D=5, H=8, bidir=True),
        case("rnn_tanh", 2, 1, 3, h0=True, bias=True, upstream="all", D=2, H=5, bidir=True),  # a single step
    ]
    names = [c["name"] for c in out]
    assert len(names) == len(set(names)), "duplicate case names"
    return out


def build(c: dict) -> nn.Module:
    kwargs = {"num_layers": c["num_layers"], "bias": c["bias"], "dtype": torch.float64}
    if c.get("bidirectional"):
        kwargs["bidirectional"] = True
    if c["cell"] == "rnn":
        m = nn.RNN(c["input_size"], c["hidden_size"], nonlinearity=c["nonlinearity"], **kwargs)
    elif c["cell"] == "lstm":
        m = nn.LSTM(c["input_size"], c["hidden_size"], **kwargs)
    else:
        m = nn.GRU(c["input_size"], c["hidden_size"], **kwargs)
    if c["weight_scale"] != 1.0:
        with torch.no_grad():
            for p in m.parameters():
                p.mul_(c["weight_scale"])
    return m


def run(m: nn.Module, c: dict, x, h0, c0, truncate):
    """Forward over the whole sequence, or chunk by chunk with the state detached in between."""
    state = None
    if h0 is not None:
        state = (h0, c0) if c["cell"] == "lstm" else h0
    T = x.shape[0]
    k = truncate or T
    outs = []
    for s in range(0, T, k):
        if s > 0 and state is not None:
            state = tuple(a.detach() for a in state) if isinstance(state, tuple) else state.detach()
        out, state = m(x[s : s + k], state)
        outs.append(out)
    output = torch.cat(outs, dim=0)
    if c["cell"] == "lstm":
        return output, state[0], state[1]
    return output, state, None


def single_layer(m: nn.Module, c: dict, k: int, reverse: bool = False) -> nn.Module:
    """A one-layer, one-direction torch module holding layer k's weights (its reverse direction's if reverse)."""
    nd = 2 if c.get("bidirectional") else 1
    D = c["input_size"] if k == 0 else nd * c["hidden_size"]
    one = build({**c, "num_layers": 1, "input_size": D, "weight_scale": 1.0, "bidirectional": False})
    suffix = f"_l{k}_reverse" if reverse else f"_l{k}"
    sd = m.state_dict()
    with torch.no_grad():
        one.load_state_dict({key[: -len(suffix)] + "_l0": v for key, v in sd.items() if key.endswith(suffix)})
    return one


def one_direction(one: nn.Module, c: dict, inp, h0, c0):
    """One layer's direction over inp (T, B, D) step by step: h_t, c_t (LSTM) and the gates, checked."""
    cell = c["cell"]
    T = inp.shape[0]
    hs, cs = [], []
    h, cc = h0, c0
    for t in range(T):
        if cell == "lstm":
            _, (h, cc) = one(inp[t : t + 1], (h, cc))
            cs.append(cc[0])
        else:
            _, h = one(inp[t : t + 1], h)
        hs.append(h[0])
    hseq = torch.stack(hs)  # (T, B, H)
    # The same layer over the whole sequence at once must agree with the step-by-step run.
    full, _ = one(inp, (h0, c0) if cell == "lstm" else h0)
    assert torch.allclose(full, hseq, rtol=0, atol=1e-13), "step-by-step run differs from full run"
    h_prev = torch.cat([h0, hseq[:-1]])
    W_ih, W_hh = one.weight_ih_l0, one.weight_hh_l0
    b_ih, b_hh = (one.bias_ih_l0, one.bias_hh_l0) if c["bias"] else (None, None)
    gx = F.linear(inp, W_ih, b_ih)  # (T, B, G*H)
    gh = F.linear(h_prev, W_hh, b_hh)
    g, cseq = {}, None
    if cell == "lstm":
        cseq = torch.stack(cs)
        c_prev = torch.cat([c0, cseq[:-1]])
        zi, zf, zg, zo = (gx + gh).chunk(4, dim=-1)
        g = {"i": torch.sigmoid(zi), "f": torch.sigmoid(zf), "g": torch.tanh(zg), "o": torch.sigmoid(zo)}
        c_chk = g["f"] * c_prev + g["i"] * g["g"]
        assert torch.allclose(c_chk, cseq, rtol=0, atol=1e-13)
        assert torch.allclose(g["o"] * torch.tanh(c_chk), hseq, rtol=0, atol=1e-13)
    elif cell == "gru":
        xr, xz, xn = gx.chunk(3, dim=-1)
        hr, hz, hn = gh.chunk(3, dim=-1)
        r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
        n = torch.tanh(xn + r * hn)
        g = {"r": r, "z": z, "n": n}
        assert torch.allclose((1 - z) * n + z * h_prev, hseq, rtol=0, atol=1e-13)
    return hseq, cseq, g


def layer_by_layer(m: nn.Module, c: dict, x, h0, c0):
    """Per direction-layer: h_t, c_t over time (torch's own, step by step) and the gates recomputed
    from them, all in real time order (a reverse direction runs on the flipped input, then flips back)."""
    H = c["hidden_size"]
    xb = x if x.dim() == 3 else x.unsqueeze(1)  # (T, B, D)
    T, B, _ = xb.shape
    L = c["num_layers"]
    nd = 2 if c.get("bidirectional") else 1
    h0b = torch.zeros(L * nd, B, H, dtype=torch.float64) if h0 is None else (h0 if h0.dim() == 3 else h0.unsqueeze(1))
    c0b = torch.zeros(L * nd, B, H, dtype=torch.float64) if c0 is None else (c0 if c0.dim() == 3 else c0.unsqueeze(1))
    hidden, cells, gates = [], [], []
    inp = xb
    with torch.no_grad():
        for k in range(L):
            for d in range(nd):
                j = k * nd + d
                one = single_layer(m, c, k, reverse=d == 1)
                seq = inp.flip(0) if d else inp
                hseq, cseq, g = one_direction(one, c, seq, h0b[j : j + 1], c0b[j : j + 1])
                if d:
                    hseq = hseq.flip(0)
                    cseq = None if cseq is None else cseq.flip(0)
                    g = {name: a.flip(0) for name, a in g.items()}
                hidden.append(hseq)
                if cseq is not None:
                    cells.append(cseq)
                gates.append(g)
            inp = torch.cat(hidden[-nd:], dim=-1)
    unb = (lambda a: a) if x.dim() == 3 else (lambda a: a[:, 0])
    return (
        [unb(a) for a in hidden],
        [unb(a) for a in cells],
        [{n: unb(a) for n, a in g.items()} for g in gates],
    )


def final_states(seqs: list, nd: int):
    """h_n (or c_n) from per direction-layer sequences in real time order: a reverse direction ends at t = 1."""
    return torch.stack([s[0] if j % nd else s[-1] for j, s in enumerate(seqs)])


def make(c: dict) -> dict[str, np.ndarray]:
    seed = zlib.crc32(c["name"].encode())
    torch.manual_seed(seed)
    m = build(c)
    rng = np.random.default_rng(seed)
    T, B, D, H, L = c["T"], c["B"], c["input_size"], c["hidden_size"], c["num_layers"]
    nd = 2 if c.get("bidirectional") else 1
    lead = (T, B) if B else (T,)
    state_shape = (L * nd, B, H) if B else (L * nd, H)

    def tensor(shape, grad=False):
        return torch.tensor(rng.standard_normal(shape), dtype=torch.float64, requires_grad=grad)

    x = tensor(lead + (D,), grad=True)
    h0 = tensor(state_shape, grad=True) if c["has_h0"] else None
    c0 = tensor(state_shape, grad=True) if c["has_c0"] else None
    up = {
        "d_output": tensor(lead + (nd * H,)),
        "d_h_n": tensor(state_shape),
        "d_c_n": tensor(state_shape) if c["cell"] == "lstm" else None,
    }
    up = {k: v for k, v in up.items() if k in c["upstream"]}

    output, h_n, c_n = run(m, c, x, h0, c0, c["truncate"])
    loss = torch.zeros((), dtype=torch.float64)
    for name, value in (("d_output", output), ("d_h_n", h_n), ("d_c_n", c_n)):
        if name in up:
            loss = loss + (value * up[name]).sum()
    m.zero_grad()
    loss.backward()

    hidden, cells, gates = layer_by_layer(m, c, x.detach(), None if h0 is None else h0.detach(), c0)
    with torch.no_grad():
        # torch's own layer-by-layer run must reproduce the stacked module's results.
        assert torch.allclose(torch.cat(hidden[-nd:], dim=-1), output, rtol=0, atol=1e-13)
        assert torch.allclose(final_states(hidden, nd), h_n, rtol=0, atol=1e-13)
        if c_n is not None:
            assert torch.allclose(final_states(cells, nd), c_n, rtol=0, atol=1e-13)

    def np64(t):
        return np.ascontiguousarray(t.detach().numpy().astype(np.float64))

    arrays = {f"sd.{k}": np64(v) for k, v in m.state_dict().items()}
    arrays["x"] = np64(x)
    if h0 is not None:
        arrays["h0"] = np64(h0)
    if c0 is not None:
        arrays["c0"] = np64(c0)
    arrays.update({k: np64(v) for k, v in up.items()})
    arrays["output"] = np64(output)
    arrays["h_n"] = np64(h_n)
    if c_n is not None:
        arrays["c_n"] = np64(c_n)
    for k in range(L * nd):
        arrays[f"hidden.{k}"] = np64(hidden[k])
        if cells:
            arrays[f"cell.{k}"] = np64(cells[k])
        for name, g in gates[k].items():
            arrays[f"gates.{k}.{name}"] = np64(g)
    for key, p in m.named_parameters():
        arrays[f"grad.{key}"] = np64(p.grad) if p.grad is not None else np.zeros(tuple(p.shape))
    for name, t in (("x", x), ("h0", h0), ("c0", c0)):
        if t is not None:
            arrays[f"grad.{name}"] = np64(t.grad) if t.grad is not None else np.zeros(tuple(t.shape))
    return arrays


def main() -> int:
    torch.set_num_threads(1)  # reductions in one fixed order: bit-identical reruns
    OUT.mkdir(parents=True, exist_ok=True)
    specs = cases()
    manifest = []
    for c in specs:
        arrays = make(c)
        np.savez_compressed(OUT / f"{c['name']}.npz", **arrays)
        manifest.append({**c, "torch": torch.__version__})
    keep = {f"{c['name']}.npz" for c in specs}
    for stale in OUT.glob("*.npz"):
        if stale.name not in keep:
            stale.unlink()
    (OUT / "cases.json").write_text(json.dumps({"torch": torch.__version__, "cases": manifest}, indent=1) + "\n")
    total = sum(p.stat().st_size for p in OUT.iterdir())
    print(f"wrote {len(specs)} cases to {OUT} ({total / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
