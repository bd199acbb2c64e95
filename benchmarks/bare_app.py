"""The bare Streamlit app the browser benchmarks compare against: one slider, one graph, one plot.

It does what every rnnviz page does at the least (a slider labelled "Sequence length", an
st.graphviz_chart and an st.plotly_chart that both follow it) and nothing else, so its round
trip is the floor that Streamlit, the browser and the machine set.
Run: python -m streamlit run benchmarks/bare_app.py
"""

import graphviz
import numpy as np
import plotly.graph_objects as go
import streamlit as st

T = st.slider("Sequence length", min_value=1, max_value=100, value=5)

g = graphviz.Digraph(graph_attr={"rankdir": "LR"})
shown = list(range(1, T + 1)) if T <= 12 else [*range(1, 7), *range(T - 5, T + 1)]
for t in shown:
    g.node(f"h{t}", f"h{t}", _attributes={"class": f"step-{t} state"})
for a, b in zip(shown, shown[1:], strict=False):
    g.edge(f"h{a}", f"h{b}")
st.graphviz_chart(g)

t = np.arange(1, T + 1)
st.plotly_chart(go.Figure(go.Scatter(x=t, y=np.tanh(np.sin(t / 3)), mode="lines+markers")), width="stretch")
