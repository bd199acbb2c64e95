"""Streamlit helpers shared by the pages: settings in session state and the URL, drawing, errors.

Only the app imports this package; the computing core is ``rnnviz`` (no Streamlit there).
"""
