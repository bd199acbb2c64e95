"""Untrusted text inside Streamlit markdown (st.error, st.warning, st.info, st.markdown).

A link parameter, a custom signal or a file name ends up in the messages the pages show.
Streamlit renders those as markdown, so ``![x](http://host/p.png)`` in a shared link would
make every viewer's browser fetch that image, and ``[click](http://...)`` would show a link
inside the app's own warning box. ``literal`` escapes the text so it shows as typed.
"""

from __future__ import annotations

import re

# markdown punctuation, plus Streamlit's extras: $ (LaTeX), : (emoji and :color[...] shortcodes)
_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:&])")


def literal(text: object) -> str:
    """``text`` with every markdown-active character backslash-escaped, on one line."""
    return _SPECIAL.sub(r"\\\1", " ".join(str(text).splitlines()))
