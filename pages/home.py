"""Home: what rnnviz is, one picture, how to use it, the pages, and one-click lessons."""

import streamlit as st

import rnnviz
from rnnviz import drawing as rgraph
from rnnviz.engine import neuron, signals
from rnnviz.lessons import LESSONS
from ui import presentation, show, state, text

PAGE = "home"
state.load_url(PAGE)
presentation.apply(PAGE)

st.title("rnnviz: recurrent neural networks, unfolded")
st.markdown(
    "An interactive explorer of recurrent networks: the single recurrent neuron, the Elman RNN, "
    "the LSTM and the GRU. Set the weights and the sequence length and see the network **folded** "
    "(one cell with its feedback loop) and **unfolded** over time, with the live numbers on the drawing, "
    "every gate and state over time, and how gradients flow back through time. "
    "The numbers agree with PyTorch's `nn.RNN`, `nn.LSTM` and `nn.GRU` to the last digits."
)
st.latex(r"y_t = \phi\left(W_x\, x_t + W_y\, y_{t-1} + b\right)")
st.caption(
    "The recurrent neuron: its output at step t depends on the input x_t and, through the feedback "
    "weight W_y, on its own previous output. Unfolding the loop over time gives the picture below."
)

params = neuron.neuron_params(0.8, 0.5, 0.0, "tanh")
trace = rnnviz.forward(params, signals.make_signal("impulse", 3), h0=[[0.0]])
folded = rgraph.folded_graph(params, neuron=True, activation_label="tanh")
unfolded = rgraph.unfolded_graph(trace, neuron=True, values=True)
# columns as wide as the drawings: both shrink alike, and at 1024x768 their 14 pt labels stay >= 12 px
left, right = st.columns([show.natural_width(folded.source), show.natural_width(unfolded.source)])
with left:
    show.graph(folded, max_height=360)
with right:
    show.graph(unfolded, max_height=360)

st.header("The pages")
PAGES = [
    ("pages/lessons.py", "Lessons", "the chapter step by step: predict, then reveal."),
    ("pages/neuron.py", "Recurrent neuron", "one neuron: set W_x, W_y, b and the input; see y_t step by step."),
    (
        "pages/unfolded.py",
        "Unfolded graph",
        "an RNN, LSTM or GRU unfolded over time, down to every operation.",
    ),
    ("pages/gates.py", "Gates and states", "heatmaps of every gate and state; latch, reset and leaky behaviours."),
    ("pages/bptt.py", "Backprop through time", "why gradients vanish or explode, and how LSTM and GRU cope."),
    ("pages/train.py", "Train a model", "train an RNN, LSTM or GRU on a toy task in the page and look inside it."),
    (
        "pages/architectures.py",
        "Architectures",
        "one cell wired four ways (many to one, encoder-decoder, ...).",
    ),
]
for path, label, what in PAGES:
    st.page_link(path, label=f"**{label}**: {what}")

st.header("Lessons in one click")
st.caption("The chapter as nine short lessons: predict first, then see the live figure and the model's numbers.")
for k, (key, lesson) in enumerate(LESSONS.items()):  # one column: a long title is not cut at 1024 px
    st.page_link(
        "pages/lessons.py", label=f"{k + 1}. {lesson.title}", icon=":material/school:", query_params={"lesson": key}
    )

with st.expander("How to use rnnviz"):
    text.show("home")

state.write_url(())
