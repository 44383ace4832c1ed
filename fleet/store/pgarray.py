"""PostgreSQL array literals, for sending a whole column of rows as one parameter.

psycopg builds binary arrays element by element in Python: for a group of 1,000 fixes
(12 columns) that took the server 16 ms, three times what PostgreSQL spends storing
them. The text form of an array is a join over ``repr`` and ``isoformat``, done at C
speed: 3 ms. PostgreSQL parses it with ``CAST(%s AS float8[])`` and the like.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

__all__ = ["array_literal"]

#: The element types this module writes, by PostgreSQL array type.
KINDS = ("bigint", "float8", "timestamptz", "text")


def array_literal(values: Sequence[object], kind: str) -> str:
    """``values`` as the text of a PostgreSQL ``kind[]``; None is NULL.

    Numbers are written as Python's ``int`` and ``float`` write them (exact for
    floats, whatever NumPy scalar type they come as), times with their UTC offset
    (naive times are refused: they would be read in the session's time zone), and text
    quoted, so that commas, braces, quotes or the word NULL are data.
    """
    if kind == "bigint":
        items = ["NULL" if v is None else str(int(v)) for v in values]  # type: ignore[call-overload]
    elif kind == "float8":
        items = ["NULL" if v is None else repr(float(v)) for v in values]  # type: ignore[arg-type]
    elif kind == "timestamptz":
        items = ["NULL" if v is None else _time(v) for v in values]
    elif kind == "text":
        items = ["NULL" if v is None else _quoted(v) for v in values]
    else:
        raise ValueError(f"no array literal for {kind!r}; expected one of {', '.join(KINDS)}")
    return "{" + ",".join(items) + "}"


def _time(value: object) -> str:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise ValueError(f"timestamptz needs an aware datetime, got {value!r}")
    return value.isoformat()


def _quoted(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"text needs a str, got {type(value).__name__}")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
