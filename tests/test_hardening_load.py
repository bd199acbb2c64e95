"""A small load test in CI: 3 concurrent browser sessions x 5 changes, each sees only its own state.

The full run (8 sessions x 25 changes, memory figures) is ``python benchmarks/load_test.py``;
its latest figures are in benchmarks/README.md.
"""

import pathlib
import sys
from concurrent.futures import ThreadPoolExecutor

from conftest import _require_browser

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "benchmarks"))


def test_three_concurrent_sessions_stay_apart():
    _require_browser()
    import load_test

    # its own thread: the load test runs asyncio, and the browser fixtures' Playwright may already
    # run an event loop in this one when the whole suite runs
    with ThreadPoolExecutor(max_workers=1) as pool:
        result = pool.submit(load_test.load_test, sessions=3, changes=5, settle=1, timeout=240).result()
    print(load_test.report(result))
    errors = [e for s in result["sessions"] for e in s.errors]
    assert not errors, errors
    assert sum(s.changes for s in result["sessions"]) == 15
    assert any(s.upload for s in result["sessions"]), "one session uploads its own weights"
