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


# -- pack / unpack: the one bit packer ------------------------------------------------------------
def _pack_by_hand(dt, values, lanes):
    """Reference packer: one Python shift per element."""
    codes = [int(c) for c in dt.encode(np.asarray(values).reshape(-1))]
    return [
        sum(c << (k * dt.bits) for k, c in enumerate(codes[w : w + lanes]))
        for w in range(0, len(codes), lanes)
    ]


@pytest.mark.parametrize(
    "dt",
    [BIPOLAR, BINARY, INT(2), INT(3), INT(4), INT(5), INT(8), INT(12), INT(17), INT(63)]
    + [UINT(1), UINT(2), UINT(4), UINT(7), UINT(8), UINT(16), UINT(20), UINT(32), UINT(33), UINT(63)],
    ids=str,
)
@pytest.mark.parametrize("lanes", [1, 2, 3, 7, 8, 16, 49, 130])
def test_pack_round_trip_every_kind(dt, lanes):
    rng = np.random.default_rng(lanes * 131 + dt.bits)
    if dt.kind == "bipolar":
        v = rng.choice([-1, 1], size=(5, 2 * lanes))
    else:
        v = rng.integers(dt.min, dt.max, size=(5, 2 * lanes), endpoint=True)
    v[0, :] = dt.min  # extremes: sign bits and all-ones codes
    v[1, :] = dt.max
    words = dt.pack(v, lanes)
    assert len(words) == 10 and all(type(w) is int and 0 <= w < 1 << (lanes * dt.bits) for w in words)
    assert words == _pack_by_hand(dt, v, lanes)
    back = dt.unpack(words, lanes)
    assert back.dtype == np.int64 and back.shape == (10, lanes)
    np.testing.assert_array_equal(back.reshape(v.shape), v)


def test_pack_words_by_hand():
    assert INT(4).pack([-1, 2], 2) == [0x2F]  # -1 = 0xF in the low nibble
    assert INT(4).unpack([0x2F], 2).tolist() == [[-1, 2]]
    assert BIPOLAR.pack([1, -1, -1, 1, 1, 1, -1, 1], 4) == [0b1001, 0b1011]
    assert BINARY.pack([[1, 0, 1]], 3) == [0b101]
    assert INT(3).pack([-1, 2], 2) == [0b010_111]
    assert UINT(8).pack([0x12, 0x34, 0x56, 0x78], 2) == [0x3412, 0x7856]
    assert INT(17).pack([-1, 1], 2) == [(1 << 17) | 0x1FFFF]
    assert UINT(32).pack([0xDEADBEEF, 0x01234567], 2) == [0x01234567_DEADBEEF]
    assert INT(5).pack(np.zeros((0, 4), dtype=int), 4) == []
    assert INT(5).unpack([], 4).shape == (0, 4)


def test_pack_word_wider_than_64_bits():
    v = np.array([1, -1] * 50)  # 100 bipolar lanes: a 100-bit word
    (word,) = BIPOLAR.pack(v, 100)
    assert word == sum(1 << k for k in range(0, 100, 2)) and word.bit_length() == 99
    (word,) = UINT(32).pack([0xFFFFFFFF, 0, 7], 3)  # 96 bits, one element across the 64-bit line
    assert word == 0xFFFFFFFF | (7 << 64)
    (word,) = INT(17).pack([-1] * 9, 9)  # 153 bits, all ones
    assert word == (1 << 153) - 1
    np.testing.assert_array_equal(INT(17).unpack([word], 9), [[-1] * 9])
    assert UINT(5).unpack([1 << 99], 20).tolist() == [[0] * 19 + [16]]


def test_pack_weight_blocks_and_thresholds():
    """ROM words: a (nf, sf, pe, simd) block per word; thresholds as signed or unsigned values."""
    rng = np.random.default_rng(0)
    nf, sf, pe, simd = 2, 3, 4, 5
    w = rng.integers(-4, 4, size=(nf * pe, sf * simd))
    blocks = w.reshape(nf, pe, sf, simd).transpose(0, 2, 1, 3)
    words = INT(3).pack(blocks, pe * simd)
    assert len(words) == nf * sf
    for f, word in enumerate(words):
        blk = w[(f // sf) * pe : (f // sf + 1) * pe, (f % sf) * simd : (f % sf + 1) * simd]
        assert word == _pack_by_hand(INT(3), blk, pe * simd)[0]
    thr = np.array([[-3, 0, 5], [7, -8, 1]])
    assert INT(4).pack(thr, 6) == [0xD | 0x0 << 4 | 0x5 << 8 | 0x7 << 12 | 0x8 << 16 | 0x1 << 20]
    assert UINT(4).pack([[3, 15], [0, 9]], 2) == [0xF3, 0x90]


def test_pack_lanes_must_divide():
    with pytest.raises(ValueError, match="3 INT4 values do not fill words of 2 lanes"):
        INT(4).pack([1, 2, 3], 2)
    with pytest.raises(ValueError, match="lanes must be a positive int"):
        INT(4).pack([1, 2], 0)


@pytest.mark.parametrize(
    "dt, values",
    [
        (INT(4), [0, 8]),
        (INT(4), [-9, 0]),
        (UINT(3), [-1, 0]),
        (BIPOLAR, [0, 1]),
        (BINARY, [2, 0]),
        (UINT(8), [0.5, 1]),
    ],
    ids=["INT4 8", "INT4 -9", "UINT3 -1", "BIPOLAR 0", "BINARY 2", "UINT8 0.5"],
)
def test_pack_out_of_range(dt, values):
    with pytest.raises(ValueError, match=f"out of range for {dt}"):
        dt.pack(values, 2)


@pytest.mark.parametrize("words, lanes", [([-1], 2), ([1 << 8], 2), ([1 << 80], 20), ([-5], 20)])
def test_unpack_refuses_bad_words(words, lanes):
    with pytest.raises(ValueError, match="a word is"):
        INT(4).unpack(words, lanes)


def test_pack_large_block_matches_by_hand():
    """Past the block size of the byte-per-bit path (INT17 with 16 lanes: 272-bit words)."""
    rng = np.random.default_rng(3)
    v = rng.integers(-(1 << 16), 1 << 16, size=(20000, 16))
    words = INT(17).pack(v, 16)
    assert words[::997] == _pack_by_hand(INT(17), v[::997], 16)
    np.testing.assert_array_equal(INT(17).unpack(words, 16), v)
