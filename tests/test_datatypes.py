"""Datatypes: ranges and the bit encoding on streams, checked against hand-written tables."""

import numpy as np
import pytest

from hwgen.ir.datatypes import BINARY, BIPOLAR, INT, UINT, DataType, smallest_type_for


@pytest.mark.parametrize(
    "dt, lo, hi",
    [(BIPOLAR, -1, 1), (BINARY, 0, 1), (INT(2), -2, 1), (INT(4), -8, 7), (UINT(8), 0, 255), (UINT(1), 0, 1)],
)
def test_ranges(dt, lo, hi):
    assert (dt.min, dt.max) == (lo, hi)


def test_bipolar_bit_one_is_plus_one():
    assert BIPOLAR.encode([-1, 1, 1, -1]).tolist() == [0, 1, 1, 0]
    assert BIPOLAR.decode([0, 1]).tolist() == [-1, 1]
    assert BIPOLAR.values().tolist() == [-1, 1]


def test_twos_complement_table():
    assert INT(2).encode([-2, -1, 0, 1]).tolist() == [2, 3, 0, 1]
    assert INT(4).decode([15, 8, 7, 0]).tolist() == [-1, -8, 7, 0]


@pytest.mark.parametrize("dt", [BIPOLAR, BINARY, INT(2), INT(3), INT(8), UINT(2), UINT(8)])
def test_roundtrip_every_value(dt):
    v = dt.values()
    assert np.array_equal(dt.decode(dt.encode(v)), v)


def test_out_of_range_refused():
    with pytest.raises(ValueError, match="out of range for INT2"):
        INT(2).encode([2])
    assert not BIPOLAR.allowed([0])
    assert not UINT(2).allowed([0.5])


@pytest.mark.parametrize("bad", [lambda: INT(1), lambda: DataType("bipolar", 2), lambda: UINT(0)])
def test_constructor_validation(bad):
    with pytest.raises(ValueError):
        bad()


@pytest.mark.parametrize(
    "name, dt", [("bipolar", BIPOLAR), ("INT4", INT(4)), ("uint8", UINT(8)), ("BINARY", BINARY)]
)
def test_from_name(name, dt):
    assert DataType.from_name(name) == dt
    assert DataType.from_name(dt.name) == dt


def test_from_name_rejects():
    with pytest.raises(ValueError, match="unknown datatype 'FLOAT32'"):
        DataType.from_name("FLOAT32")


@pytest.mark.parametrize(
    "lo, hi, name",
    [
        (0, 1, "UINT1"),
        (0, 255, "UINT8"),
        (-1, 1, "INT2"),
        (-129, 0, "INT9"),
        (-128, 127, "INT8"),
        (-64, 128, "INT9"),
    ],
)
def test_smallest_type_for(lo, hi, name):
    assert smallest_type_for(lo, hi).name == name
