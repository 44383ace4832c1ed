"""Lon/lat <-> UTM 51S: distances measured in metres where Kupang is."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from fleet.geo import to_lonlat, to_metric


def test_one_degree_of_latitude_is_about_110_km_in_kupang():
    _, y = to_metric([123.6, 123.6], [-10.0, -11.0])
    assert abs((y[0] - y[1]) - 110_600) < 500


@given(
    lon=st.floats(123.4, 123.8),
    lat=st.floats(-10.3, -10.0),
)
def test_round_trip_is_below_a_millimetre(lon, lat):
    x, y = to_metric(lon, lat)
    back_lon, back_lat = to_lonlat(x, y)
    assert np.hypot((back_lon - lon) * 109_000, (back_lat - lat) * 110_600) < 1e-3


def test_arrays_in_arrays_out():
    x, y = to_metric(np.full(5, 123.6), np.full(5, -10.17))
    assert x.shape == y.shape == (5,)
