"""Streamlit helpers shared by the pages: settings in session state and the URL, drawing, errors.

Only the app imports this package; the computing core is ``rnnviz`` (no Streamlit there).
"""

import streamlit as st


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
