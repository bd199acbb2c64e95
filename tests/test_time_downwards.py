"""Time running downwards on the Unfolded and Architectures pages (issue 14: the default view fits a
projector): the default drawing runs top to bottom, "left to right" is one switch away and in the link,
the legend breaks its line in a narrow drawing, and the arrow keys follow the drawing (up and down along
time, sideways between layers)."""

import re

from conftest import assert_clean, graph_views, run_page

import rnnviz
from rnnviz import drawing as rgraph
from rnnviz.engine import signals


def rankdir(dot: str) -> str:
    return re.search(r"rankdir=(\w+)", dot).group(1)


def test_the_default_drawing_runs_downwards_and_a_link_can_turn_it():
    at = run_page("pages/unfolded.py")
    assert_clean(at)
    [view] = [v for v in graph_views(at) if v["selectable"]]
    assert at.query_params["flow"] == "down"
    assert 'class="node' in view["svg"] and view["maxHeight"] > 640  # the page scrolls, not the box
    at = run_page("pages/unfolded.py", {"flow": "across", "sel": "h_0_2"})
    assert_clean(at)
    [view] = [v for v in graph_views(at) if v["selectable"]]
    assert at.query_params["flow"] == "across" and view["maxHeight"] == 640
    assert view["nav"]["h_0_2"] == {"left": "h_0_1", "right": "h_0_3"}  # along time, sideways


def test_arrow_keys_follow_time_downwards_and_layers_sideways():
    at = run_page("pages/unfolded.py", {"cell": "gru", "L": "2", "T": "3", "sel": "h_0_2"})
    assert_clean(at)
    [view] = [v for v in graph_views(at) if v["selectable"]]
    # h_0_2 is layer 1's state at step 2: up is step 1, down step 3, left layer 2 (dot puts it on the left)
    assert view["nav"]["h_0_2"] == {"up": "h_0_1", "down": "h_0_3", "left": "h_1_2"}
    assert view["nav"]["h_1_2"] == {"up": "h_1_1", "down": "h_1_3", "right": "h_0_2"}


def test_a_downwards_drawing_breaks_the_legend_and_keeps_every_node():
    params = rnnviz.init_params("lstm", 1, 2, 1, seed=0)
    trace = rnnviz.forward(params, signals.make_signal("impulse", 5, 1))
    across = rgraph.unfolded_graph(trace).source
    down = rgraph.unfolded_graph(trace, rankdir="TB").source
    assert (rankdir(across), rankdir(down)) == ("LR", "TB")
    strip = re.compile(r"rankdir=\w+|one copy per layer, used at every step|<TR>|</TR>|<TD[^>]*>|</TD>|,\s*")
    assert strip.sub("", across) == strip.sub("", down)  # the same nodes, edges and words; only the lines differ
    assert down.count("one copy per layer") == 1 and '<FONT COLOR="#82b366">b</FONT> (8),</TD>' in down


def test_the_wiring_drawing_runs_downwards_and_its_arrow_keys_follow_each_row():
    query = {"wiring": "many_to_many", "example": "tagging", "bidir": "1", "sel": "h_0_0_2"}
    at = run_page("pages/architectures.py", query)
    assert_clean(at)
    [view] = [v for v in graph_views(at) if v["selectable"]]
    assert at.query_params["flow"] == "down" and view["maxHeight"] > 640
    # forward states in one column, backward states in the next (on the right): up and down along time,
    # each in its own direction (before, the keys jumped between the two rows)
    assert view["nav"]["h_0_0_2"] == {"up": "h_0_0_1", "down": "h_0_0_3"}
    assert view["nav"]["h_0_1_2"] == {"up": "h_0_1_1", "down": "h_0_1_3"}
    at = run_page("pages/architectures.py", query | {"flow": "across"})
    assert_clean(at)
    [view] = [v for v in graph_views(at) if v["selectable"]]
    assert view["nav"]["h_0_0_2"] == {"left": "h_0_0_1", "right": "h_0_0_3"} and view["maxHeight"] == 640
