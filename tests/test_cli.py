"""``python -m rnnviz graph``: files it writes are valid, and mistakes exit with code 2."""

import math
import os
import pathlib
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz dot is not installed")


def cli(*args, env=None):
    cmd = [sys.executable, "-m", "rnnviz", *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)


@needs_dot
def test_writes_a_valid_svg(tmp_path):
    out = tmp_path / "lstm.svg"
    proc = cli("graph", "--cell", "lstm", "--steps", "4", "--level", "operations", "--grads", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    root = ET.fromstring(out.read_text())  # well-formed XML
    assert root.tag.endswith("svg")
    assert 'class="node state step-4 layer-0"' in out.read_text()


@needs_dot
def test_dot_to_stdout_and_to_a_file_is_valid_dot(tmp_path):
    proc = cli("graph", "--neuron", "--steps", "5")
    assert proc.returncode == 0 and proc.stdout.startswith("digraph")
    out = tmp_path / "neuron.gv"
    assert cli("graph", "--neuron", "--folded", "-o", str(out)).returncode == 0
    for text in (proc.stdout, out.read_text()):
        check = subprocess.run(["dot", "-Tsvg"], input=text, capture_output=True, text=True)
        assert check.returncode == 0 and check.stderr == ""


def test_help_and_bad_arguments():
    assert cli("graph", "--help").returncode == 0
    for args in (["graph", "--steps", "0"], ["graph", "--cell", "elman"], ["graph", "-o", "x.txt"]):
        proc = cli(*args)
        assert proc.returncode == 2 and "error" in proc.stderr
    proc = cli("graph", "--steps", "3", "--highlight", "4")
    assert proc.returncode == 2 and "beyond the last step" in proc.stderr


def test_missing_dot_is_a_clear_error(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    env = {**os.environ, "PATH": str(bin_dir)}  # no dot on this PATH
    proc = cli("graph", "-o", str(tmp_path / "x.svg"), env=env)
    assert proc.returncode == 2
    assert "Graphviz 'dot' program is not installed" in proc.stderr
    assert cli("graph", "-o", str(tmp_path / "x.dot"), env=env).returncode == 0  # DOT needs no dot


def test_the_neuron_takes_its_weights_and_input_from_the_command_line():
    # y_t = tanh(0.5 x_t - 0.9 y_{t-1} + 0.1), y_0 = 0.2, x = (1, 0, 2): by hand
    y, ys = 0.2, []
    for x in (1.0, 0.0, 2.0):
        y = math.tanh(0.5 * x - 0.9 * y + 0.1)
        ys.append(y)
    args = ["--wx", "0.5", "--wy", "-0.9", "--bias", "0.1", "--y0", "0.2", "--input", "1, 0, 2", "--steps", "3"]
    proc = cli("graph", "--neuron", *args)
    assert proc.returncode == 0, proc.stderr
    labels = re.findall(r'h_0_([1-9]) \[label="y.\\n([-\d.e]+)"', proc.stdout)  # h_0_0 is y_0, the initial output
    assert [int(t) for t, _ in labels] == [1, 2, 3]
    for (_, shown), exact in zip(labels, ys, strict=True):
        assert float(shown) == pytest.approx(exact, abs=5e-4)  # labels round to 3 significant digits
    impulse = cli("graph", "--neuron", "--wx", "1", "--wy", "0", "--bias", "0", "--signal", "impulse", "--steps", "2")
    assert re.findall(r'h_0_[1-9] \[label="y.\\n([-\d.e]+)"', impulse.stdout) == ["0.762", "0"]  # tanh(1), tanh(0)


def test_neuron_options_and_inputs_that_do_not_fit_exit_with_a_message():
    for args, message in [
        (["--wx", "2"], "add --neuron"),
        (["--neuron", "--wy", "nan"], "finite number"),
        (["--neuron", "--input", "1,,2"], "entry 2 of the custom signal is empty"),
        (["--neuron", "--input", "1", "--signal", "sine"], "not both"),
        (["--input-size", "2", "--input", "1, 2"], "--input-size 1"),
        (["--signal", "custom"], "use --input"),
    ]:
        proc = cli("graph", *args)
        assert proc.returncode == 2 and message in proc.stderr, (args, proc.stderr)
