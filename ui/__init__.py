"""Streamlit helpers shared by the pages: settings in session state and the URL, drawing, errors.

Only the app imports this package; the computing core is ``rnnviz`` (no Streamlit there).
"""

import gc

import pandas  # noqa: F401  (the pages import these anyway; imported here so that _freeze_imports covers them)
import plotly.graph_objects  # noqa: F401
import pyarrow  # noqa: F401
import streamlit as st

import rnnviz  # noqa: F401
from rnnviz.drawing import figures  # noqa: F401


def _freeze_imports() -> None:
    """Keep the objects that exist once the app's modules are imported out of every later full collection.

    Streamlit runs ``gc.collect(2)`` after each script run (``runner.postScriptGC``). It walks
    every object: over 100 000 made by importing plotly, pandas, pyarrow and numpy, none of
    which ever becomes garbage. The walk took 50-90 ms a rerun on a 2-core machine, holding the
    GIL while the "script finished" message waited to be sent. Frozen (``gc.freeze``), they are
    skipped; whatever a run creates is still collected as before.
    """
    gc.collect()
    gc.freeze()


_freeze_imports()


def use_app_navigation() -> None:
    """Make a deep link (``/neuron?...``) on a fresh server show app.py's navigation.

    Streamlit runs the first script of a server that has a ``pages/`` folder in its old
    folder-based mode, which bypasses app.py's st.navigation until app.py runs once. Switch
    that mode off and rerun, so the page is reached through app.py like every other time.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if getattr(PagesManager, "uses_pages_directory", False):
        PagesManager.uses_pages_directory = False
        st.rerun()
