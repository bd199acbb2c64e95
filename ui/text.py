"""Long explanations kept as markdown files beside the pages (pages/text/NAME.md), shown in order.

A block between two lines of ``$$`` is shown with st.latex, everything else with st.markdown,
so a file reads as the explanation itself.
"""

from __future__ import annotations

import functools
import pathlib

import streamlit as st

FOLDER = pathlib.Path(__file__).resolve().parent.parent / "pages" / "text"


@functools.cache
def blocks(name: str) -> tuple[tuple[str, str], ...]:
    """The file's ("markdown" | "latex", body) blocks, in order."""
    out, kind, lines = [], "markdown", []
    for line in (FOLDER / f"{name}.md").read_text(encoding="utf-8").splitlines():
        if line.strip() == "$$":
            if "".join(lines).strip():
                out.append((kind, "\n".join(lines).strip("\n")))
            kind, lines = ("latex" if kind == "markdown" else "markdown"), []
        else:
            lines.append(line)
    if "".join(lines).strip():
        out.append((kind, "\n".join(lines).strip("\n")))
    return tuple(out)


def show(name: str) -> None:
    """Show pages/text/NAME.md."""
    for kind, body in blocks(name):
        (st.latex if kind == "latex" else st.markdown)(body)
