"""rnnviz: the Streamlit entry point. It only sets up the page and the navigation."""

import streamlit as st

st.set_page_config(page_title="rnnviz: recurrent networks, unfolded", page_icon="🔁", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon="🏠", default=True),
    st.Page("pages/neuron.py", title="Recurrent neuron", icon="🔁", url_path="neuron"),
    st.Page("pages/unfolded.py", title="Unfolded graph", icon="🕸️", url_path="unfolded"),
    st.Page("pages/gates.py", title="Gates and states", icon="🚪", url_path="gates"),
    st.Page("pages/bptt.py", title="Backprop through time", icon="⏪", url_path="bptt"),
]

st.navigation(PAGES).run()
