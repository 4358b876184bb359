"""popcount / popcount_ge in amaranth.sim against NumPy: exhaustive for small widths, random for large."""

import numpy as np
import pytest
from amaranth.hdl import Cat, Const, Module, Signal, signed, unsigned
from amaranth.sim import Simulator

from hwgen.layers.popcount import (
    compress_columns,
    lut_function,
    popcount,
    popcount_ge,
    popcount_thresholds,
    sum_values,
)


def _run(m, inputs, outputs, vectors):
    """Drive each tuple of ``vectors`` onto ``inputs`` and collect the settled ``outputs`` values."""
    got = []

    async def bench(ctx):
        for vec in vectors:
            for sig, v in zip(inputs, vec, strict=True):
                ctx.set(sig, int(v))
            got.append([ctx.get(o) for o in outputs])

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
    return np.array(got, dtype=np.int64)


def _ones(values, n):
    return np.array([bin(int(v) & ((1 << n) - 1)).count("1") for v in values], dtype=np.int64)


def _random_words(rng, n, count):
    # Mix of uniform words and words of a given density so that counts near 0 and n are hit too.
    words = []
    for i in range(count):
        density = [0.5, 0.05, 0.95, rng.random()][i % 4]
        bits = rng.random(n) < density
        words.append(sum(1 << j for j in np.flatnonzero(bits)))
    return words


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6, 7, 9, 11])
def test_popcount_exhaustive(n):
    m = Module()
    bits = Signal(n)
    count = popcount(m, bits, "pc")
    assert len(count) == n.bit_length()
    vectors = list(range(1 << n))
    got = _run(m, [bits], [count], [(v,) for v in vectors])[:, 0]
    np.testing.assert_array_equal(got, _ones(vectors, n))


@pytest.mark.parametrize("n", [16, 64, 100, 288])
def test_popcount_random(n):
    rng = np.random.default_rng(n)
    m = Module()
    bits = Signal(n)
    count = popcount(m, bits, "pc")
    vectors = _random_words(rng, n, 120) + [0, (1 << n) - 1]
    got = _run(m, [bits], [count], [(v,) for v in vectors])[:, 0]
    np.testing.assert_array_equal(got, _ones(vectors, n))


@pytest.mark.parametrize("n", [1, 3, 6, 8, 10])
def test_popcount_ge_exhaustive_every_threshold(n):
    m = Module()
    bits = Signal(n)
    thresholds = list(range(-1, n + 3))
    outs = [popcount_ge(m, bits, t, f"t{i}") for i, t in enumerate(thresholds)]
    vectors = list(range(1 << n))
    got = _run(m, [bits], outs, [(v,) for v in vectors])
    expect = _ones(vectors, n)[:, None] >= np.array(thresholds)[None, :]
    np.testing.assert_array_equal(got, expect.astype(np.int64))


@pytest.mark.parametrize("n", [64, 147])
def test_popcount_ge_random_near_threshold(n):
    rng = np.random.default_rng(7 * n)
    m = Module()
    bits = Signal(n)
    thresholds = [1, n // 2, n // 2 + 1, 37, n]
    outs = [popcount_ge(m, bits, t, f"t{i}") for i, t in enumerate(thresholds)]
    # Words whose count lies right around n/2 exercise the comparison edge.
    vectors = []
    for _ in range(150):
        k = int(np.clip(rng.normal(n / 2, 3), 0, n))
        vectors.append(sum(1 << int(j) for j in rng.choice(n, size=k, replace=False)))
    vectors += _random_words(rng, n, 40)
    got = _run(m, [bits], outs, [(v,) for v in vectors])
    expect = _ones(vectors, n)[:, None] >= np.array(thresholds)[None, :]
    np.testing.assert_array_equal(got, expect.astype(np.int64))


@pytest.mark.parametrize("thresholds", [[3], [-2, 0, 4, 4, 9, 12], [1, 5, 7]])
def test_popcount_thresholds_counts_reached_thresholds(thresholds):
    n = 9
    m = Module()
    bits = Signal(n)
    level = popcount_thresholds(m, bits, thresholds, "mt")
    vectors = list(range(1 << n))
    got = _run(m, [bits], [level], [(v,) for v in vectors])[:, 0]
    expect = (_ones(vectors, n)[:, None] >= np.array(thresholds)[None, :]).sum(axis=1)
    np.testing.assert_array_equal(got, expect)


def test_popcount_thresholds_rejects_unsorted():
    with pytest.raises(ValueError, match="ascending"):
        popcount_thresholds(None, Signal(4), [3, 1], "mt")  # rejected before any logic is built


@pytest.mark.parametrize("max_counter", [3, 6])
def test_compress_columns_weighted_sum(max_counter):
    # Columns of weight 1, 2 and 4 with six, five and two bits: value = c0 + 2*c1 + 4*c2.
    widths = (6, 5, 2)
    m = Module()
    sigs = [Signal(w) for w in widths]
    a, b = compress_columns(m, [[s[i] for i in range(len(s))] for s in sigs], "cc", max_counter)
    total = Signal(8)
    m.d.comb += total.eq(a + b)
    vectors = [(x, y, z) for x in range(64) for y in range(32) for z in range(4)]
    got = _run(m, sigs, [total], vectors)[:, 0]
    expect = [
        sum(2**k * _ones([v], w)[0] for k, (v, w) in enumerate(zip(vec, widths, strict=True)))
        for vec in vectors
    ]
    np.testing.assert_array_equal(got, expect)


def test_empty_vector_counts_zero():
    m = Module()
    count = popcount(m, Signal(0), "pc")
    assert len(count) == 1
    assert _run(m, [], [count], [()])[0, 0] == 0


@pytest.mark.parametrize(
    "shapes",
    [
        [signed(2), signed(2), signed(3)],
        [unsigned(3), signed(2), unsigned(1), signed(1)],
        [unsigned(2), unsigned(2), unsigned(3)],
    ],
)
def test_sum_values_exhaustive(shapes):
    m = Module()
    sigs = [Signal(s) for s in shapes]
    total = sum_values(m, sigs, "sv")
    ranges = [range(s.signed and -(1 << (s.width - 1)) or 0, 1 << (s.width - s.signed)) for s in shapes]
    vectors = [()]
    for r in ranges:
        vectors = [v + (x,) for v in vectors for x in r]
    got = _run(m, sigs, [total], vectors)[:, 0]
    np.testing.assert_array_equal(got, [sum(v) for v in vectors])
    assert total.shape().signed == any(s.signed for s in shapes)


def test_sum_values_of_lut_products_is_a_2bit_dot_product():
    # Four INT2 x INT2 products from tables, summed: the integer-MAC lane group of an MVTU.
    m = Module()
    x, w = Signal(8), Signal(8)

    def prod(i):
        a, b = i & 3, i >> 2
        return (a - 4 * (a >> 1)) * (b - 4 * (b >> 1))

    terms = [
        lut_function(m, Cat(x[2 * j : 2 * j + 2], w[2 * j : 2 * j + 2]), prod, signed(4), f"p{j}")
        for j in range(4)
    ]
    total = sum_values(m, terms, "dot")
    rng = np.random.default_rng(3)
    vectors = [(int(a), int(b)) for a, b in rng.integers(0, 256, size=(300, 2))] + [
        (0xAA, 0xAA),
        (0x55, 0xAA),
    ]
    got = _run(m, [x, w], [total], vectors)[:, 0]

    def dec(v):
        return [((v >> (2 * j)) & 3) - 4 * ((v >> (2 * j + 1)) & 1) for j in range(4)]

    expect = [int(np.dot(dec(a), dec(b))) for a, b in vectors]
    np.testing.assert_array_equal(got, expect)


def test_sum_values_of_signed_expressions_and_carry_bits():
    # ±x as (x XOR s) + s, x unsigned 3-bit: the bipolar x integer lane of an MVTU. The XOR terms are
    # signed expressions (not signals), so their sign must survive the trip through the tree.
    m = Module()
    x, s = Signal(6), Signal(2)
    terms = []
    for j in range(2):
        neg = s[j]
        terms += [Cat(x[3 * j : 3 * j + 3], Const(0, 1)).as_signed() ^ neg.replicate(4).as_signed(), neg]
    total = sum_values(m, terms, "pm")
    vectors = [(a, b) for a in range(64) for b in range(4)]
    got = _run(m, [x, s], [total], vectors)[:, 0]
    expect = [sum((-1 if (b >> j) & 1 else 1) * ((a >> (3 * j)) & 7) for j in range(2)) for a, b in vectors]
    np.testing.assert_array_equal(got, expect)


def test_sum_values_and_lut_function_reject_bad_input():
    with pytest.raises(ValueError, match="at least one term"):
        sum_values(None, [], "sv")
    with pytest.raises(ValueError, match="too big"):
        lut_function(None, Signal(13), lambda i: i, unsigned(13), "f")
