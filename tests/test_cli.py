"""``python -m rnnviz graph``: files it writes are valid, and mistakes exit with code 2."""

import os
import pathlib
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
