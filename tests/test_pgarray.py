"""Array literals (fleet/store/pgarray.py): PostgreSQL reads back exactly what was sent."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, create_engine, text

from fleet.store.pgarray import array_literal


@pytest.fixture(scope="module")
def pg(postgres_url: str) -> Iterator[Connection]:
    engine = create_engine(postgres_url)
    with engine.connect() as conn:
        yield conn
    engine.dispose()


def _back(pg: Connection, values: list[object], kind: str) -> list[object]:
    literal = array_literal(values, kind)
    return list(pg.execute(text(f"SELECT CAST(:v AS {kind}[])"), {"v": literal}).scalar_one())


TEXT = st.text(st.characters(exclude_characters="\x00", codec="utf-8"), max_size=30)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.none() | TEXT, max_size=20))
def test_any_text_comes_back_as_sent(pg: Connection, values: list[str | None]) -> None:
    """Commas, braces, quotes, backslashes, spaces and the word NULL are data."""
    assert _back(pg, list(values), "text") == values


@settings(max_examples=80, deadline=None)
@given(st.lists(st.none() | st.floats(allow_nan=False, allow_infinity=False), max_size=20))
def test_floats_come_back_to_the_bit(pg: Connection, values: list[float | None]) -> None:
    assert _back(pg, list(values), "float8") == values


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.none()
        | st.datetimes(
            min_value=datetime(1990, 1, 1),
            max_value=datetime(2100, 1, 1),
            timezones=st.sampled_from([UTC, timezone(timedelta(hours=8))]),
        ),
        max_size=20,
    )
)
def test_times_come_back_as_the_same_instant(pg: Connection, values: list[datetime | None]) -> None:
    assert _back(pg, list(values), "timestamptz") == values


def test_numpy_scalars_and_ids_are_written_as_numbers(pg: Connection) -> None:
    assert _back(pg, [np.float64(-10.17), 123.6, None], "float8") == [-10.17, 123.6, None]
    assert _back(pg, [np.int64(7), 2**40, None], "bigint") == [7, 2**40, None]


def test_a_naive_time_or_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        array_literal([datetime(2026, 12, 7, 8, 0)], "timestamptz")
    with pytest.raises(ValueError, match="no array literal"):
        array_literal([1], "int4")
