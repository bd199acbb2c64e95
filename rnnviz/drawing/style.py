"""The look of every Graphviz drawing, in one place: fonts, one fill per kind of node, one colour
per shared weight (the same in the unfolded graphs and the wirings), the highlight, and the
stops of the gradient-magnitude scale."""

from __future__ import annotations

FONT = "Helvetica,Arial,sans-serif"  # Graphviz font family
FONTSIZE = "14"  # Graphviz points
PEN = "#444444"  # node outlines
LINE = "#555555"  # edges, and muted text (an ellipsis, a cluster's title)
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
