"""rnnviz: the Streamlit entry point. It only sets up the page and the navigation."""

import pathlib

import streamlit as st

ICON = pathlib.Path(__file__).parent / "ui" / "static" / "favicon.png"  # shipped: a Material icon is fetched online
st.set_page_config(page_title="rnnviz: recurrent networks, unfolded", page_icon=str(ICON), layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/lessons.py", title="Lessons", icon=":material/school:", url_path="lessons"),
    st.Page("pages/neuron.py", title="Recurrent neuron", icon=":material/loop:", url_path="neuron"),
    st.Page("pages/unfolded.py", title="Unfolded graph", icon=":material/account_tree:", url_path="unfolded"),
    st.Page("pages/gates.py", title="Gates and states", icon=":material/tune:", url_path="gates"),
    st.Page("pages/bptt.py", title="Backprop through time", icon=":material/fast_rewind:", url_path="bptt"),
    st.Page("pages/train.py", title="Train a model", icon=":material/model_training:", url_path="train"),
    st.Page("pages/architectures.py", title="Architectures", icon=":material/hub:", url_path="architectures"),
]

st.navigation(PAGES).run()
