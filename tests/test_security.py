"""Security rules, each checked mechanically over the app's own Python sources (tests excluded).

- nothing a user sends is evaluated or unpickled: no eval/exec/compile, no pickle-like
  modules, every np.load has allow_pickle=False;
- raw HTML reaches the browser only where reviewed: ui/graph_view.py's component, which puts
  the SVG dot rendered into the page (its script and styles are constant files in ui/static,
  no eval, nothing fetched); DOT labels escape any text a user could set;
- uploads are capped in .streamlit/config.toml and in rnnviz.weights;
- nothing is written to the server's disk per user (only the command-line tool writes files);
- every Streamlit cache is bounded (max_entries), so no user can grow server memory forever.
"""

import ast
import pathlib
import re
import tomllib

import numpy as np
import pytest

import rnnviz
from rnnviz import drawing as rgraph
from rnnviz.engine import presets, signals, weights

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCES = sorted(
    p for p in ROOT.rglob("*.py") if not {"tests", ".venv", "node_modules"} & set(p.relative_to(ROOT).parts)
)
APP_SOURCES = [p for p in SOURCES if p.relative_to(ROOT).parts[0] in ("app.py", "pages", "ui", "rnnviz")]
CLI = {"rnnviz/cli.py"}  # writes the files its user names on the command line
HTML_SINKS = {  # (file, call): reviewed places where raw HTML reaches the browser
    ("ui/graph_view.py", "components.v2.component"),  # the SVG dot rendered from our own DOT (labels escaped)
    ("ui/presentation.py", "html"),  # presentation mode's <style>: a constant, no user text
}
RAW = ("st.html", "components.html", "html", "st.components.v1.html", "components.iframe", "st.components.v2.component")


def rel(path: pathlib.Path) -> str:
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.name


def calls(path: pathlib.Path):
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Call):
            yield node, ast.unparse(node.func)


def test_the_sources_are_found():
    assert {"app.py", "ui/show.py", "rnnviz/engine/weights.py", "pages/unfolded.py"} <= {rel(p) for p in SOURCES}


@pytest.mark.parametrize("path", SOURCES, ids=rel)
def test_no_eval_exec_or_pickle(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = ast.unparse(node.func)
            assert name not in ("eval", "exec", "compile", "__import__", "builtins.eval"), f"{rel(path)}: {name}()"
            assert not re.search(r"(^|\.)(pickle|marshal|shelve|dill|joblib|cloudpickle)\.", name), rel(path)
            assert not name.endswith(("torch.load", "yaml.load", "yaml.unsafe_load")), f"{rel(path)}: {name}()"
            if name in ("np.load", "numpy.load"):
                kwargs = {k.arg: k.value for k in node.keywords}
                flag = kwargs.get("allow_pickle")
                assert isinstance(flag, ast.Constant) and flag.value is False, (
                    f"{rel(path)}: np.load needs allow_pickle=False"
                )
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) else [])
            assert not {"pickle", "marshal", "shelve", "dill", "joblib", "cloudpickle"} & set(names), rel(path)


def test_raw_html_only_where_reviewed():
    found = set()
    for path in APP_SOURCES:
        for node, name in calls(path):
            unsafe = any(
                k.arg == "unsafe_allow_html" and not (isinstance(k.value, ast.Constant) and k.value.value is False)
                for k in node.keywords
            )
            if unsafe or name in RAW:
                found.add((rel(path), name.removeprefix("st.")))
    assert found <= HTML_SINKS, f"new raw-HTML output needs a review: {found - HTML_SINKS}"
    assert ("ui/graph_view.py", "components.v2.component") in found


def test_the_graph_view_script_evaluates_and_fetches_nothing():
    """Its script and styles are files read at import; it puts only dot's SVG into the page as HTML."""
    script = (ROOT / "ui/static/graph_view.js").read_text()
    styles = (ROOT / "ui/static/graph_view.css").read_text()
    assert not re.search(r"\beval\(|new Function|setTimeout\(\s*['\"`]|fetch\(|XMLHttpRequest|import\(", script)
    assert "http" not in script and "http" not in styles and "@import" not in styles and "url(" not in styles
    assert re.findall(r"\.innerHTML\s*=\s*([^;]+);", script) == ["data.svg"]
    source = (ROOT / "ui/graph_view.py").read_text()
    assert re.search(r'js=\(STATIC / "graph_view.js"\)\.read_text', source)


HOSTILE = [
    '<script>alert("x")</script>',
    '"]; evil [label="injected"]; x [label="',
    "<img src=x onerror=alert(1)>",
    "\\N \\G & &amp; <B>bold</B> }}} {{{",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_dot_labels_escape_user_text(text):
    """The only free text a graph can show is the activation label: it stays text, in DOT and in SVG."""
    params = presets.network_params("rnn_tanh", 1, 1, 1, seed=0)
    trace = rnnviz.forward(params, signals.make_signal("impulse", 3, 1))
    builders = [
        lambda label: rgraph.unfolded_graph(trace, neuron=True, activation_label=label),
        lambda label: rgraph.folded_graph(params, neuron=True, activation_label=label),
        lambda label: rgraph.folded_graph(params, activation_label=label),
    ]
    for build in builders:
        g = build(text)
        assert rgraph.count_nodes(g) == rgraph.count_nodes(build("tanh")), "a label cannot add nodes"
        if rgraph.graphviz_available():
            svg = rgraph.render_svg(g).lower()
            assert "<script" not in svg and "<img" not in svg and "<b>" not in svg


def test_upload_size_is_capped_in_config_and_in_code():
    config = tomllib.loads((ROOT / ".streamlit/config.toml").read_text())
    cap_mb = config["server"]["maxUploadSize"]
    assert 0 < cap_mb <= 10, "a weights file is a few kB to a few MB"
    assert weights.MAX_FILE_BYTES >= cap_mb * 2**20, "the core accepts what the upload widget lets through"
    assert weights.MAX_FILE_BYTES <= 64 * 2**20
    with pytest.raises(ValueError, match="bytes"):
        rnnviz.load_weights(b"0" * (weights.MAX_FILE_BYTES + 1), "big.json")


def test_weights_loader_never_unpickles():
    """An object array saved with np.savez (a pickle inside the .npz) is refused, not loaded."""
    import io

    buffer = io.BytesIO()
    np.savez(buffer, weight_hh_l0=np.array([object()], dtype=object))
    with pytest.raises(ValueError, match="pickle|Python objects"):
        rnnviz.load_weights(buffer.getvalue(), "w.npz")


WRITERS = ("write_text", "write_bytes", "to_csv", "to_parquet", "to_pickle", "to_json", "to_excel", "savefig")
FS_CALLS = ("os.mkdir", "os.makedirs", "os.remove", "os.rename", "shutil.copy", "shutil.move", "Path.touch")


def disk_writes(path: pathlib.Path) -> list[str]:
    """Calls that create or change files: open(..., "w"), tempfile, np.save to a path, Graphviz render, ..."""
    found = []
    for node, name in calls(path):
        args = node.args
        mode = args[1] if len(args) > 1 else next((k.value for k in node.keywords if k.arg == "mode"), None)
        to_path = args and not (isinstance(args[0], ast.Name) and "buf" in args[0].id.lower())
        bad = (
            (name.endswith("open") and isinstance(mode, ast.Constant) and set(str(mode.value)) & set("wax+"))
            or name.startswith("tempfile.")
            or name.split(".")[-1] in WRITERS
            and bool(args)  # to_csv() without a path returns text
            or name in ("np.save", "np.savez", "np.savez_compressed")
            and to_path
            or name.endswith(".render")  # graphviz's render() writes files; pipe() does not
            or name.startswith(FS_CALLS)
            or any(k.arg == "persist" for k in node.keywords)  # st.cache_data(persist="disk")
        )
        if bad:
            found.append(f"{rel(path)}:{node.lineno}: {ast.unparse(node)[:80]}")
    return found


@pytest.mark.parametrize("path", [p for p in APP_SOURCES if rel(p) not in CLI], ids=rel)
def test_nothing_is_written_to_the_server_disk(path):
    assert disk_writes(path) == []


def test_the_disk_write_check_catches_writes(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text(
        'open("x", "w")\nopen(p, mode="ab")\nimport tempfile\ntempfile.mkdtemp()\nnp.savez("a.npz")\n'
        'df.to_csv("a.csv")\ng.render("out")\n@st.cache_data(persist="disk")\ndef f(): pass\n'
        'open("x")\nnp.savez(buffer)\ndf.to_csv(index=False)\ng.pipe(format="svg")\n'
    )
    assert len(disk_writes(probe)) == 7


def test_every_streamlit_cache_is_bounded():
    unbounded = []
    for path in APP_SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for dec in node.decorator_list:
                    name = ast.unparse(dec.func if isinstance(dec, ast.Call) else dec)
                    if name.endswith(("cache_data", "cache_resource", "st.cache")):
                        keys = {k.arg for k in dec.keywords} if isinstance(dec, ast.Call) else set()
                        if "max_entries" not in keys:
                            unbounded.append(f"{rel(path)}:{node.lineno} {node.name}")
    assert not unbounded, f"caches without max_entries: {unbounded}"


LINK_IMAGE = "![t](http://127.0.0.1:9/track.png)"


def test_markup_literal_keeps_untrusted_text_inert():
    """Escaped, no markdown construct survives; the text reads the same once the escapes are dropped."""
    from ui.markup import literal

    for text in [LINK_IMAGE, "[click](https://evil.example)", ":red[x] $x^2$ <b>b</b> **s** `c` # h", "a\nb"]:
        escaped = literal(text)
        assert not re.search(r"(?<!\\)[\[\]()!*`$<>:#]", escaped), escaped
        assert re.sub(r"\\(.)", r"\1", escaped) == text.replace("\n", " ")


def test_link_notices_do_not_render_markdown_from_the_link():
    """A shared link with an image in a parameter must not make the viewer's browser fetch it.

    Before ui/state.py escaped the notices, /neuron?wx=![t](http://127.0.0.1:9/track.png) rendered
    an <img> in the warning and chromium requested the image.
    """
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["wx"] = LINK_IMAGE
    at.switch_page("pages/neuron.py")
    at.run()
    shown = " ".join(w.value for w in at.warning)
    assert "wx=" in shown
    assert "![t](" not in shown, "the link's text reaches st.warning as live markdown"
