"""The numpy core against PyTorch: fixtures made by scripts/make_torch_fixtures.py.

torch is not imported here: the fixtures hold torch's weights, inputs, upstream gradients,
outputs, per-layer states, gates and .grad values as plain arrays. Regenerate them with
``/tmp/torchenv/bin/python scripts/make_torch_fixtures.py`` (any venv with torch works).

Run this file directly (``PYTHONPATH=. python tests/test_torch_fixtures.py``) for the worst errors seen.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

import rnnviz

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "torch"
MANIFEST = json.loads((FIXTURES / "cases.json").read_text())
CASES = MANIFEST["cases"]
# torch's order: both float64, but torch sums its products in other orders and through other kernels
FORWARD_ATOL = 1e-10  # absolute, on outputs, states and gates
GRAD_RTOL = 1e-8  # relative to max(1, |torch's value|), elementwise: BPTT sums over every step


def _load(case: dict) -> dict[str, np.ndarray]:
    path = FIXTURES / f"{case['name']}.npz"
    assert path.exists(), f"fixture {path.name} listed in cases.json is missing"
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def _forward_err(got, ref) -> float:
    got = np.asarray(got)
    assert got.shape == ref.shape, f"shape {got.shape} != torch's {ref.shape}"
    return float(np.max(np.abs(got - ref), initial=0.0))


def _grad_err(got, ref) -> float:
    got = np.asarray(got)
    assert got.shape == ref.shape, f"shape {got.shape} != torch's {ref.shape}"
    return float(np.max(np.abs(got - ref) / np.maximum(1.0, np.abs(ref)), initial=0.0))


def compare(case: dict) -> tuple[dict[str, float], dict[str, float]]:
    """Run the core on one case; return {what: error} for the forward values and the gradients."""
    a = _load(case)
    sd = {k[3:]: v for k, v in a.items() if k.startswith("sd.")}
    params = rnnviz.from_state_dict(sd, cell=case["cell"], nonlinearity=case["nonlinearity"])
    assert params.bidirectional == case["bidirectional"] and params.num_layers == case["num_layers"]
    assert [k for k in rnnviz.to_state_dict(params) if k in sd] == list(sd), "torch's key order"
    trace = rnnviz.forward(params, a["x"], a.get("h0"), a.get("c0"))
    grads = rnnviz.backward(params, trace, a.get("d_output"), a.get("d_h_n"), a.get("d_c_n"), truncate=case["truncate"])
    assert trace.num_directions == grads.params.num_directions == (2 if case["bidirectional"] else 1)

    fwd = {"output": _forward_err(trace.output, a["output"]), "h_n": _forward_err(trace.h_n, a["h_n"])}
    if case["cell"] == "lstm":
        fwd["c_n"] = _forward_err(trace.c_n, a["c_n"])
    for k in range(case["num_layers"] * (2 if case["bidirectional"] else 1)):  # direction-layers, torch's order
        fwd[f"hidden.{k}"] = _forward_err(trace.hidden[k], a[f"hidden.{k}"])
        if case["cell"] == "lstm":
            fwd[f"cell.{k}"] = _forward_err(trace.cell[k], a[f"cell.{k}"])
        names = rnnviz.GATE_NAMES[case["cell"]]
        assert sorted(trace.gates[k]) == sorted(names)
        for name in names:
            fwd[f"gates.{k}.{name}"] = _forward_err(trace.gates[k][name], a[f"gates.{k}.{name}"])

    bwd = {}
    gsd = rnnviz.to_state_dict(grads.params)
    assert set(sd) <= set(gsd), f"torch keys missing from the core's gradients: {set(sd) - set(gsd)}"
    for key in sd:  # with bias=False torch has no bias keys: compare only what torch has
        bwd[f"grad.{key}"] = _grad_err(gsd[key], a[f"grad.{key}"])
    bwd["grad.x"] = _grad_err(grads.x, a["grad.x"])
    if case["has_h0"]:
        bwd["grad.h0"] = _grad_err(grads.h0, a["grad.h0"])
    if case["has_c0"]:
        bwd["grad.c0"] = _grad_err(grads.c0, a["grad.c0"])
    return fwd, bwd


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_matches_torch(case):
    fwd, bwd = compare(case)
    bad_fwd = {k: v for k, v in fwd.items() if not v <= FORWARD_ATOL}
    bad_bwd = {k: v for k, v in bwd.items() if not v <= GRAD_RTOL}
    assert not bad_fwd, f"forward differs from torch (max abs error): {bad_fwd}"
    assert not bad_bwd, f"gradients differ from torch (max relative error): {bad_bwd}"


LONG = [c for c in CASES if c["T"] >= 7]


@pytest.mark.parametrize("block_values", [1, 200])
@pytest.mark.parametrize("case", LONG, ids=[c["name"] for c in LONG])
def test_matches_torch_in_small_backward_blocks(case, block_values, monkeypatch):
    """backward works through time in blocks of steps; blocks of 1 step, and blocks that do not line
    up with truncation chunks, must give torch's gradients too (the default block holds every step
    of these small cases)."""
    monkeypatch.setattr(sys.modules["rnnviz.engine.backward"], "_BLOCK_VALUES", block_values)
    _, bwd = compare(case)
    bad_bwd = {k: v for k, v in bwd.items() if not v <= GRAD_RTOL}
    assert not bad_bwd, f"gradients differ from torch (max relative error): {bad_bwd}"


def test_fixture_files_match_manifest():
    on_disk = {p.name for p in FIXTURES.glob("*.npz")}
    listed = {f"{c['name']}.npz" for c in CASES}
    assert listed == on_disk, f"missing: {sorted(listed - on_disk)}; unlisted: {sorted(on_disk - listed)}"
    assert len({c["name"] for c in CASES}) == len(CASES)


def test_manifest_coverage():
    """Deleting fixtures (or weakening the generator) must fail here."""
    assert len(CASES) >= 40
    assert MANIFEST["torch"] and all(c["torch"] for c in CASES)
    kinds = {"rnn": [c for c in CASES if c["cell"] == "rnn"]}
    kinds["lstm"] = [c for c in CASES if c["cell"] == "lstm"]
    kinds["gru"] = [c for c in CASES if c["cell"] == "gru"]
    kinds["rnn-relu"] = [c for c in kinds["rnn"] if c["nonlinearity"] == "relu"]
    kinds["rnn-tanh"] = [c for c in kinds["rnn"] if c["nonlinearity"] == "tanh"]
    assert all(c["nonlinearity"] == "tanh" for c in kinds["lstm"] + kinds["gru"])
    for kind, cs in kinds.items():
        if kind == "rnn":
            continue
        assert len(cs) >= 8, kind
        assert {c["num_layers"] for c in cs} >= {1, 2, 3}, kind
        assert {c["B"] is None for c in cs} == {True, False}, f"{kind}: batched and unbatched"
        assert {c["has_h0"] for c in cs} == {True, False}, f"{kind}: with and without h0"
        assert {c["bias"] for c in cs} == {True, False}, f"{kind}: with and without biases"
        assert any(c["truncate"] for c in cs), f"{kind}: truncated BPTT"
        assert any(c["truncate"] is None for c in cs), f"{kind}: full BPTT"
        assert any(c["upstream"] == ["d_output"] for c in cs), f"{kind}: only d_output"
        assert any("d_h_n" in c["upstream"] for c in cs), f"{kind}: with d_h_n"
        assert any(c["T"] >= 40 and c["hidden_size"] >= 8 for c in cs), f"{kind}: a long, wider case"
        assert any(c["num_layers"] > 1 and c["B"] is None for c in cs), f"{kind}: unbatched multi-layer"
        assert any(c["num_layers"] > 1 and c["truncate"] for c in cs), f"{kind}: multi-layer truncated"
        small = [c for c in cs if c["T"] < 40]
        assert any(len({c["input_size"], c["hidden_size"], c["T"], c["B"]}) == 4 for c in small), (
            f"{kind}: all-different sizes"
        )
    lstm = kinds["lstm"]
    assert any(c["has_c0"] for c in lstm) and any("d_c_n" in c["upstream"] for c in lstm)
    assert any(c["upstream"] == ["d_h_n", "d_c_n"] for c in lstm), "lstm: final states only"
    assert any(c["truncate"] and c["T"] % c["truncate"] for c in CASES), "truncation with a partial last chunk"
    assert any(c["T"] == 1 for c in CASES) and any(c["B"] == 1 for c in CASES)


def test_manifest_covers_bidirectional():
    """bidirectional=True for every cell: 1 and 2 layers, batched or not, with and without h0 and biases."""
    bidi = [c for c in CASES if c["bidirectional"]]
    for kind in ("rnn-tanh", "rnn-relu", "lstm", "gru"):
        cell, _, nl = kind.partition("-")
        cs = [c for c in bidi if c["cell"] == cell and c["nonlinearity"] == (nl or "tanh")]
        assert {c["num_layers"] for c in cs} >= {1, 2}, kind
        assert {c["B"] is None for c in cs} == {True, False}, f"{kind}: batched and unbatched"
        assert {c["has_h0"] for c in cs} == {True, False}, f"{kind}: with and without h0"
        assert {c["bias"] for c in cs} == {True, False}, f"{kind}: with and without biases"
        assert any("d_output" in c["upstream"] and "d_h_n" in c["upstream"] for c in cs), f"{kind}: all upstream"
        assert not any(c["truncate"] for c in cs), "torch has no truncated BPTT for a bidirectional layer"
    assert any(c["has_c0"] and "d_c_n" in c["upstream"] for c in bidi if c["cell"] == "lstm")
    assert any(c["num_layers"] == 3 for c in bidi) and any(c["T"] == 1 for c in bidi)


def worst_errors() -> tuple[tuple[float, str], tuple[float, str]]:
    """(error, where) of the worst forward error and the worst gradient error over all cases."""
    wf, wb = (0.0, ""), (0.0, "")
    for case in CASES:
        fwd, bwd = compare(case)
        k = max(fwd, key=fwd.get)
        wf = max(wf, (fwd[k], f"{case['name']}: {k}"))
        k = max(bwd, key=bwd.get)
        wb = max(wb, (bwd[k], f"{case['name']}: {k}"))
    return wf, wb


def test_worst_errors_summary(capsys):
    (ef, wf), (eb, wb) = worst_errors()
    with capsys.disabled():
        print(f"\nworst forward error {ef:.3g} ({wf}); worst gradient error {eb:.3g} ({wb})")
    assert ef <= FORWARD_ATOL and eb <= GRAD_RTOL


if __name__ == "__main__":
    (ef, wf), (eb, wb) = worst_errors()
    print(f"{len(CASES)} cases (torch {MANIFEST['torch']})")
    print(f"worst forward error (absolute): {ef:.3g} at {wf}")
    print(f"worst gradient error (relative to max(1, |ref|)): {eb:.3g} at {wb}")
