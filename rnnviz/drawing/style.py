"""The look of every drawing, in one place: the Graphviz graphs' colours and fonts, and the Plotly figures'.

Graphviz: one fill per kind of node, one colour per shared weight (the same in the unfolded
graphs and the wirings), the highlight, and the stops of the gradient-magnitude scale.
Plotly: one colour per quantity (Okabe-Ito and Tol, readable by the colour-blind), and the
text sizes. The greys are shared.
"""

from __future__ import annotations

FONT = "Helvetica,Arial,sans-serif"  # Graphviz font family
FONTSIZE = "14"  # Graphviz points
PEN = "#444444"  # dark grey: node outlines, the note under a figure
LINE = "#555555"  # grey: edges, and muted text (an ellipsis, a cluster's title)
FILL = {  # one colour per kind, the same in every view
    "input": "#fff2cc",
    "state": "#dae8fc",
    "cell": "#d5e8d4",
    "output": "#f8cecc",
    "gate": "#e1d5e7",
    "op": "#ffffff",
    "weight": "#eeeeee",
    "ellipsis": "#ffffff",
}
# Every step uses the same weights: one colour each. The reverse direction and the decoder of
# a wiring have weights of their own (a second colour pair; no wiring has both).
WEIGHT_COLOR = {
    "W_ih": "#b85450",
    "W_hh": "#6c8ebf",
    "b": "#82b366",
    "W_hy": "#4d8a2a",
    "W_ih2": "#d79b00",
    "W_hh2": "#9673a6",
}
HIGHLIGHT = "#ff7f00"
DECODER_FILL = "#e1d5e7"  # a wiring's decoder states, apart from its encoder's
CONTEXT_COLOR = "#222222"  # the encoder's last state handed to the decoder
FEEDBACK_COLOR = "#777777"  # a decoder's output fed back as its next input
# gradient magnitude -> colour: (log10 |g|, colour) stops from vanishing to exploding
GRAD_STOPS = (
    (-6.0, "#cccccc"),
    (-4.0, "#9ecae1"),
    (-2.0, "#4292c6"),
    (0.0, "#08519c"),
    (1.0, "#756bb1"),
    (2.0, "#de2d26"),
)

# One colour per quantity in the figures. Candidates share orange, the "keep the old state"
# gates (forget f, update z) share purple.
COLORS: dict[str, str] = {
    "x": "#555555",  # input x_t
    "y": "#0072B2",  # the single neuron's output y_t (= h_t)
    "h": "#0072B2",
    "c": "#D55E00",
    "a": "#56B4E9",  # rnn pre-activation
    "i": "#009E73",
    "f": "#CC79A7",
    "g": "#E69F00",
    "o": "#882255",
    "r": "#44AA99",
    "z": "#CC79A7",
    "n": "#E69F00",
    "rnn": "#0072B2",
    "lstm": "#D55E00",
    "gru": "#009E73",
    "train_loss": "#0072B2",
    "val_loss": "#D55E00",
    "target": "#000000",
    "prediction": "#D55E00",
    "baseline": "#999999",
}
# For series whose name has no colour of its own, in order of appearance.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#882255", "#555555")
FONT_SIZE = 16  # Plotly pixels: text a projector shows
TITLE_SIZE = FONT_SIZE + 4
FAINT = "#bbbbbb"  # what is drawn under its summary (each minibatch's loss under their running mean)
