"""Widgets built from the settings table (ui/share.py), and the sidebar sections several pages share.

A setting's range, step, label, help and choice labels are written once, in ``share.SETTINGS``;
``widget`` turns them into the Streamlit call, and a page passes only what is its own (a callback,
``disabled``, a bound that follows another widget, a label of its own).
"""

from __future__ import annotations

import streamlit as st

import rnnviz
from rnnviz.engine.cells import CELL_LABELS, cell_kind
from rnnviz.engine.presets import PRESET_CELL, PRESETS
from ui import share, state, text
from ui.markup import literal

WIDGETS = {
    "slider": st.slider,
    "number": st.number_input,
    "select": st.selectbox,
    "radio": st.radio,
    "toggle": st.toggle,
    "text": st.text_input,
}
# every weights file rnnviz.load_weights reads, and the pickles it refuses with the line that converts them
# (offered, so the user reads that line instead of the uploader's generic "file type not allowed")
WEIGHT_TYPES = ("npz", "json", "safetensors", "onnx", "keras", "h5", "hdf5", "pt", "pth", "ckpt")
WEIGHT_FORMATS = ("npz", "json", "safetensors", "onnx")  # what rnnviz.dump_weights writes
CUSTOM_NOTE = "Shorter lists are padded with zeros; longer ones are cut at the sequence length."


def options(setting: share.Setting) -> dict[str, object]:
    """The keyword arguments the settings table gives the setting's widget."""
    out: dict[str, object] = {}
    if setting.control in ("slider", "number"):
        out = {"min_value": setting.low, "max_value": setting.high}
        if setting.step is not None:
            out["step"] = setting.step
        if setting.format is not None:
            out["format"] = setting.format
    elif setting.control in ("select", "radio"):
        out = {"options": list(setting.choices)}
        if setting.labels:
            out["format_func"] = setting.label_of
    if setting.help:
        out["help"] = setting.help
    return out


def widget(page: str, name: str, *, label: str | None = None, **kwargs):
    """The widget of the shared setting ``name`` on ``page``; returns its value.

    ``kwargs`` go to the Streamlit call and override the table's (``max_value=T``, ``disabled=...``).
    """
    setting = share.SETTINGS[name]
    return state.widget(page, name, WIDGETS[setting.control], label or setting.label, **(options(setting) | kwargs))


def network(
    page: str, *, disabled: bool = False, note: str = "", on_cell_change=None, shown: rnnviz.Params | None = None
) -> tuple[str, int, int, int]:
    """The Network section: cell, input size, hidden size and layers; ``note`` says what set them when disabled.

    ``shown``: weights from elsewhere (a trained model, a file) are on the page; the section names their
    network instead of offering widgets that would show the settings' (another network), and leaves the
    settings as they are."""
    with st.container():  # one slot in the sidebar, whatever it holds: see ``weights``
        st.header("Network")
        if note:
            st.caption(note)
        if shown:
            cell = shown.cell if shown.cell != "rnn" else f"rnn_{shown.nonlinearity}"
            D, H, L = shown.input_size, shown.hidden_size, shown.num_layers
            st.markdown(f"**{CELL_LABELS.get(cell, cell)}**, input size D = {D}, hidden size H = {H}, layers L = {L}")
            return cell, D, H, L
        cell = widget(page, "cell", on_change=on_cell_change or cell_changed, args=(page,), disabled=disabled)
        D = widget(page, "D", disabled=disabled)
        H = widget(page, "H", disabled=disabled)
        L = widget(page, "L", disabled=disabled)
    return cell, D, H, L


def cell_changed(page: str) -> None:
    """A cell the lesson preset is not made for turns the preset off (a preset names its cell)."""
    preset = state.settings()["preset"]
    if preset != "random" and PRESET_CELL[preset] != cell_kind(st.session_state[f"{page}:cell"])[0]:
        state.set_value(page, "preset", "random")


def preset_cell(page: str) -> None:
    """A preset names its cell: settings with a preset and another cell (a link, ``preset=latch&cell=gru``)
    switch to the preset's cell, with the same note on every page. Call it right after ``state.load_url``."""
    settings = state.settings()
    preset, cell = settings["preset"], settings["cell"]
    if preset != "random" and cell_kind(cell)[0] != PRESET_CELL[preset]:
        label = share.SETTINGS["preset"].label_of(preset)
        st.info(f"The lesson preset *{label}* is made for the {PRESET_CELL[preset].upper()}: switched the cell to it.")
        state.set_value(page, "cell", PRESET_CELL[preset])


def weights(
    page: str,
    *,
    disabled: bool = False,
    cell: str | None = None,
    describe: bool = False,
    on_preset=None,
    shown: bool = False,
):
    """The Weights section: the lesson presets made for ``cell`` (when given), the seed and the scale;
    ``describe`` shows what the chosen preset does under it. Returns (preset, seed, scale).

    ``shown``: weights from elsewhere (a file, a trained model) are on the page; the section is left out
    and the settings' seed and scale returned. Drawn or not, the section is one slot in the sidebar, as is
    the Network section: when a file comes or goes, the Input section's widgets keep their places (a
    slider whose place changes in the middle of a run's updates was once seen showing another value).
    """
    with st.container():
        if shown:
            return "random", state.settings()["seed"], state.settings()["scale"]
        st.header("Weights")
        chosen = "random"
        if cell is not None:
            kind = cell_kind(cell)[0]
            offered = ["random", *(p for p in PRESETS if PRESET_CELL.get(p) == kind)]
            chosen = widget(page, "preset", options=offered, disabled=disabled, on_change=on_preset)
            if describe:
                st.caption(PRESETS[chosen])
        seed = widget(page, "seed", disabled=disabled)
        scale = widget(page, "scale", disabled=disabled)
    return chosen, seed, scale


def input_signal(
    page: str, *, disabled: bool = False, note: str = CUSTOM_NOTE, given: str = ""
) -> tuple[int, str, str]:
    """The Input section: sequence length, signal and, for a custom signal, its values (with ``note`` under
    them). The sequence length stays free when the rest is ``disabled``; ``given`` says where the input
    comes from instead of a signal (a trained model's own data). Returns (T, signal, custom)."""
    st.header("Input")
    T = widget(page, "T")
    if given:
        st.caption(given)
        return T, state.settings()["signal"], state.settings()["custom"]
    kind = widget(page, "signal", disabled=disabled)
    custom = state.settings()["custom"]
    if kind == "custom":
        custom = widget(page, "custom", disabled=disabled)
        st.caption(note)
    return T, kind, custom


@st.cache_data(max_entries=8, show_spinner=False)
def uploaded_params(data: bytes, filename: str, where: str = "") -> rnnviz.Params:
    """The weights in an uploaded file; ``where`` (a page that draws one direction) refuses bidirectional ones."""
    params = rnnviz.load_weights(data, filename)
    return rnnviz.require_unidirectional(params, where) if where else params


def weights_upload(page: str, alerts, *, where: str = "", label: str = "Load weights from a file"):
    """The expander that loads weights from a file, the same on every page; returns (file name, weights)
    while a usable file is loaded. ``where`` names a page that draws one direction only.

    A file that cannot be used is reported in ``alerts`` and the previous file's weights are kept.
    """
    with st.expander(label):
        text.show("weights_files")
        upload = st.file_uploader("Weights file", type=list(WEIGHT_TYPES), key=f"{page}:upload")
    if upload is None:
        st.session_state.pop(f"{page}:file_params", None)
    else:
        try:
            params = uploaded_params(upload.getvalue(), upload.name, where)
            st.session_state[f"{page}:file_params"] = (upload.name, params)
        except ValueError as err:
            alerts.error(f"This file cannot be used: {literal(err)}. Keeping the previous weights.")
    return st.session_state.get(f"{page}:file_params")


def loaded_note(name: str, params: rnnviz.Params) -> str:
    """What a loaded file set, for the page's st.info."""
    return (
        f"Using the weights from **{literal(name)}**: {params.cell.upper()}, D = {params.input_size}, "
        f"H = {params.hidden_size}, L = {params.num_layers}. Remove the file to go back to seeded weights."
    )


@st.cache_data(max_entries=16, show_spinner=False)
def weights_bytes(params: rnnviz.Params, fmt: str) -> bytes:
    return rnnviz.dump_weights(params, fmt)


def weights_downloads(params: rnnviz.Params, stem: str, columns=None) -> None:
    """One download button per format rnnviz.dump_weights writes (each reads back with load_weights);
    a format that cannot hold these weights says why instead."""
    for col, fmt in zip(columns or st.columns(len(WEIGHT_FORMATS)), WEIGHT_FORMATS, strict=False):
        try:
            data = weights_bytes(params, fmt)
        except ValueError as err:
            col.caption(f"Weights as .{fmt}: {literal(err)}")
            continue
        col.download_button(
            f"Weights (.{fmt})", data, f"{stem}.{fmt}", icon=":material/download:", width="stretch", on_click="ignore"
        )
