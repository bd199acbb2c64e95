"""Drawings: Graphviz computational graphs of the cells and wirings, and Plotly figures."""
