"""Numbers from text tables, bounded: a CSV a user uploads, and the real data sets read from installed packages.

``parse_csv`` reads a CSV (a header row, then rows of fields) into its numeric columns; it refuses
with a ValueError that says what is wrong (the row, the column, the value) and reads nothing past
its limits. ``stock_prices`` reads the weekly prices of six companies that ship with plotly
(``plotly.data.stocks()``: 2018-2019, each divided by its first week's price) from the package's own
file, with no network. ``python_text`` is a real English text that ships with every Python: the
compound-statements chapter of the Python Language Reference, as ``pydoc`` keeps it.
"""

from __future__ import annotations

import csv
import gzip
import importlib.resources
import io
import re

import numpy as np

MAX_CSV_BYTES = 2_000_000
MAX_COLUMNS = 100
MAX_ROWS = 200_000
MAX_MAGNITUDE = 1e12  # larger values are refused: their squares and sums would lose every digit
STOCK_COMPANIES = ("GOOG", "AAPL", "AMZN", "FB", "NFLX", "MSFT")
# pydoc's topics, in the Language Reference's order: the same keys in every Python since 3.0
PYTHON_TOPICS = ("if", "while", "for", "try", "with", "function", "class")
PYTHON_TEXT_CHARS = 6_000


def parse_csv(data: bytes, limit: int = MAX_CSV_BYTES) -> tuple[dict[str, np.ndarray], list[str]]:
    """The numeric columns of a CSV: ({name: float64 values}, names of the columns that are not numbers).

    The first row names the columns; every row has one field per column. A column is numeric when
    every field parses as a finite float of at most ``MAX_MAGNITUDE``; columns with text (dates,
    names) are listed apart. Raises ValueError for a file that is not such a table.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ValueError(f"a CSV file's bytes are needed, got {type(data).__name__}")
    if len(data) > limit:
        raise ValueError(f"the file has {len(data):,} bytes; at most {limit:,} are read")
    try:
        text = bytes(data).decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ValueError(f"the file is not UTF-8 text (byte {err.start}); save it as CSV UTF-8") from None
    if "\x00" in text:
        raise ValueError("the file holds NUL bytes: it is not a text table")
    first = text[: text.find("\n")] if "\n" in text else text
    delimiter = max(",;\t", key=first.count)  # the header's separator; a comma when it has none
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(rows, None)
        if not header or not any(h.strip() for h in header):
            raise ValueError("the file is empty: a header row naming the columns is needed")
        header = [h.strip() for h in header]
        if len(header) > MAX_COLUMNS:
            raise ValueError(f"the header has {len(header)} columns; at most {MAX_COLUMNS} are read")
        for k, name in enumerate(header):
            if not name:
                header[k] = f"column {k + 1}"
        if len(set(header)) != len(header):
            twice = sorted({h for h in header if header.count(h) > 1})
            raise ValueError(f"the header names {_quote(twice[0])} twice: every column needs its own name")
        fields: list[list[str]] = []
        for row in rows:
            if not row or not any(f.strip() for f in row):
                continue  # blank lines
            if len(row) != len(header):
                raise ValueError(f"row {rows.line_num} has {len(row)} fields but the header {len(header)}")
            fields.append(row)
            if len(fields) > MAX_ROWS:
                raise ValueError(f"the file has more than {MAX_ROWS:,} rows")
    except csv.Error as err:
        raise ValueError(f"the file is not a readable CSV (line {rows.line_num}): {err}") from None
    if not fields:
        raise ValueError("the file has a header but no rows of values")
    numeric, other = {}, []
    for k, name in enumerate(header):
        values = _numbers(name, [row[k] for row in fields])
        if values is None:
            other.append(name)
        else:
            numeric[name] = values
    return numeric, other


def _numbers(name: str, fields: list[str]) -> np.ndarray | None:
    """The column as floats; None if any field is not a number (text); ValueError for NaN, inf or huge values."""
    out = np.empty(len(fields))
    for row, field in enumerate(fields):
        try:
            value = float(field.strip().replace("_", "x"))  # float() takes 1_000; a table means text by it
        except ValueError:
            return None
        if not np.isfinite(value) or abs(value) > MAX_MAGNITUDE:
            raise ValueError(
                f"column {_quote(name)}, row {row + 2}: {field.strip()[:20]!r} is not a finite number of at most "
                f"{MAX_MAGNITUDE:.0e}"
            )
        out[row] = value
    return out


def _quote(name: str) -> str:
    shown = "".join(c if c.isprintable() else "?" for c in name)
    return repr(shown if len(shown) <= 40 else shown[:37] + "...")


def stock_prices() -> dict[str, np.ndarray]:
    """Weekly closing prices of six companies, 2018-2019 (105 weeks, each divided by its first), as plotly ships
    them (``plotly.data.stocks()``), read from the installed package's file: {company: prices}."""
    try:
        packed = importlib.resources.files("plotly").joinpath("package_data", "datasets", "stocks.csv.gz").read_bytes()
    except (ModuleNotFoundError, FileNotFoundError, OSError) as err:
        raise ValueError(f"plotly's stock prices cannot be read ({err}); install plotly") from None
    numeric, _ = parse_csv(gzip.decompress(packed))
    missing = [c for c in STOCK_COMPANIES if c not in numeric]
    if missing:
        raise ValueError(f"plotly's stock prices lack {', '.join(missing)}")
    return {c: numeric[c] for c in STOCK_COMPANIES}


def python_text(chars: int = PYTHON_TEXT_CHARS) -> str:
    """The Python Language Reference's compound statements (if, while, for, try, with, def, class) as pydoc keeps
    them in every Python install (``pydoc_data.topics``): lower case, one space for each run of blanks, the
    first ``chars`` characters."""
    try:
        from pydoc_data.topics import topics
    except ImportError as err:
        raise ValueError(f"Python's own documentation (pydoc_data) is not installed: {err}") from None
    parts = [topics[k] for k in PYTHON_TOPICS if k in topics]
    text = re.sub(r"\s+", " ", " ".join(parts).lower())
    text = "".join(c for c in text if " " <= c <= "~")  # printable ASCII: the few others are rare symbols
    if len(text) < 2000:
        raise ValueError("Python's own documentation is too short here to learn from")
    return text[:chars]
