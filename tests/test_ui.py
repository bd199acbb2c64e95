"""ui's import-time freeze: the imported modules' objects leave the collector's walk, new garbage does not."""

import gc
import weakref

import ui


def test_importing_ui_freezes_the_imported_objects():
    assert ui is not None
    assert gc.get_freeze_count() > 50_000  # plotly, pandas, pyarrow, numpy and rnnviz, from before any rerun


def test_cycles_made_after_the_freeze_are_still_collected():
    class Node:
        pass

    a, b = Node(), Node()
    a.other, b.other = b, a  # a reference cycle: only the cyclic collector frees it
    gone = weakref.ref(a)
    del a, b
    gc.collect()
    assert gone() is None
