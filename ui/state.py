"""One set of settings per browser session, shared by every page and mirrored in the URL.

Settings live in ``st.session_state["settings"]``; each widget gets a page-specific key
seeded from them, so values carry from page to page. A query string that the app did not
write itself (a shared link, a lesson preset) is parsed once, clamped, and reported.
"""

from __future__ import annotations

import streamlit as st

from ui import share, use_app_navigation
from ui.markup import literal


def settings() -> dict[str, object]:
    if "settings" not in st.session_state:
        st.session_state["settings"] = share.defaults()
    return st.session_state["settings"]


def load_url(page: str) -> bool:
    """Apply query parameters that came from outside (a link), then show what was refused.

    Returns whether a link was applied. A rerun from this page's own widgets is never a link:
    it carries the URL as the browser last heard it, which can lag the app's latest write.
    """
    use_app_navigation()
    # the session's first run in this process: a link opened, or a browser whose process died (one of
    # several behind a balancer) reconnected here; its rerun then carries its widgets' values, newer
    # than its URL if a change was in flight, so widget() lets them win (see there)
    st.session_state["_first_run"] = "settings" not in st.session_state
    query = st.query_params.to_dict()
    on_page = any(f"{page}:{name}" in st.session_state for name in settings())  # widgets drawn last run
    from_link = bool(query) and not on_page and query != st.session_state.get("_written_query")
    if from_link:
        values, notices = share.parse_query(query)
        settings().update(values)
        for name in values:
            st.session_state.pop(f"{page}:{name}", None)
        st.session_state["_written_query"] = query
        st.session_state["_notices"] = notices
    notices = st.session_state.pop("_notices", [])
    if notices:
        st.warning("Some link parameters were adjusted:\n\n" + "\n".join(f"- {literal(n)}" for n in notices))
    return from_link


def widget(page: str, name: str, fn, label: str, **kwargs):
    """Create a widget whose value is the shared setting ``name``; returns the value."""
    key = f"{page}:{name}"
    if key not in st.session_state:
        default = _as_default(fn, settings()[name], kwargs) if st.session_state.get("_first_run") else None
        if default is None:
            st.session_state[key] = settings()[name]  # wins over the browser's value: a link, a preset, a page switch
        else:
            kwargs |= default  # the browser's value, if it sent one, wins: the change it made before a failover
    value = fn(label, key=key, **kwargs)
    settings()[name] = value
    return value


def _as_default(fn, value, kwargs) -> dict[str, object] | None:
    """``value`` as the widget's own default argument (index for a choice); None if it is not an option."""
    if fn in (st.selectbox, st.radio):
        options = list(kwargs["options"])
        return {"index": options.index(value)} if value in options else None
    return {"value": value}


def set_value(page: str, name: str, value) -> None:
    """Change a setting from code (a button, a preset); takes effect on the next run."""
    settings()[name] = value
    st.session_state.pop(f"{page}:{name}", None)


def write_url(names) -> None:
    """Mirror this page's settings into the URL, so a copied link reproduces the view (presentation mode
    too, when it is on)."""
    query = share.to_query(settings(), (*names, "present") if settings()["present"] else names)
    # the browser may hold our last write rather than the URL this run came with
    if query != st.query_params.to_dict() or query != st.session_state.get("_written_query"):
        st.query_params.from_dict(query)
    st.session_state["_written_query"] = query


def tabs(page: str, name: str, labels: dict[str, str]) -> dict[str, object]:
    """Tabs whose open one is the shared setting ``name`` (so a link reopens it); returns the
    tab containers by setting value.

    Only the open tab reruns its content (``on_change="rerun"``; a tab's ``.open`` says which):
    a hidden tab's figures are neither built on the server nor drawn in the browser.
    """
    key = f"{page}:{name}"
    if key not in st.session_state:
        st.session_state[key] = labels[settings()[name]]
    containers = st.tabs(list(labels.values()), key=key, on_change="rerun")
    chosen = st.session_state[key]
    settings()[name] = next((value for value, label in labels.items() if label == chosen), settings()[name])
    return dict(zip(labels, containers, strict=True))
