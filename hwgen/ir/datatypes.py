"""Integer datatypes of stream tensors.

Every tensor that flows between hardware layers holds integer *values* of one of these types.
On a stream each element occupies ``bits`` bits, element 0 in the least significant bits of a beat:

- ``BIPOLAR``: values -1/+1, one bit, bit 1 = +1, bit 0 = -1.
- ``BINARY``: values 0/1, one bit.
- ``INT(n)``: two's complement, ``n`` bits, ``-2**(n-1) .. 2**(n-1)-1``.
- ``UINT(n)``: unsigned, ``n`` bits, ``0 .. 2**n-1``.

Pure Python + NumPy: no onnx, no amaranth here.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass

import numpy as np

__all__ = ["BIPOLAR", "BINARY", "DataType", "INT", "UINT", "smallest_type_for"]


@dataclass(frozen=True)
class DataType:
    """An integer datatype. Build with :data:`BIPOLAR`, :data:`BINARY`, :func:`INT`, :func:`UINT`."""

    kind: str  # "bipolar" | "binary" | "int" | "uint"
    bits: int

    def __post_init__(self):
        if self.kind not in ("bipolar", "binary", "int", "uint"):
            raise ValueError(f"unknown datatype kind {self.kind!r}")
        if not isinstance(self.bits, int) or self.bits < 1:
            raise ValueError(f"datatype bit width must be a positive int, not {self.bits!r}")
        if self.kind in ("bipolar", "binary") and self.bits != 1:
            raise ValueError(f"{self.kind} is 1 bit wide, not {self.bits}")
        if self.kind == "int" and self.bits < 2:
            raise ValueError("INT needs at least 2 bits (use BIPOLAR or BINARY for 1 bit)")

    # -- value range -------------------------------------------------------------------------
    @property
    def signed(self) -> bool:
        return self.kind in ("bipolar", "int")

    @property
    def min(self) -> int:
        return {"bipolar": -1, "binary": 0, "int": -(1 << (self.bits - 1)), "uint": 0}[self.kind]

    @property
    def max(self) -> int:
        return {"bipolar": 1, "binary": 1, "int": (1 << (self.bits - 1)) - 1, "uint": (1 << self.bits) - 1}[
            self.kind
        ]

    def values(self) -> np.ndarray:
        """All representable values, ascending."""
        if self.kind == "bipolar":
            return np.array([-1, 1], dtype=np.int64)
        return np.arange(self.min, self.max + 1, dtype=np.int64)

    def allowed(self, x) -> bool:
        """True if every element of ``x`` is a representable value."""
        x = np.asarray(x)
        if x.size == 0:
            return True
        if x.dtype.kind not in "biu" and not np.all(np.equal(np.mod(x, 1), 0)):
            return False
        if self.kind == "bipolar":
            return bool(np.all((x == 1) | (x == -1)))
        return bool(np.all((x >= self.min) & (x <= self.max)))

    # -- bit encoding -------------------------------------------------------------------------
    def encode(self, x) -> np.ndarray:
        """Values -> unsigned bit codes (uint64) as they travel on a stream."""
        x = np.asarray(x, dtype=np.int64)
        if not self.allowed(x):
            raise ValueError(f"value out of range for {self}")
        if self.kind == "bipolar":
            return (x > 0).astype(np.uint64)
        return (x & ((1 << self.bits) - 1)).astype(np.uint64)

    def decode(self, code) -> np.ndarray:
        """Unsigned bit codes -> values (int64)."""
        c = np.asarray(code).astype(np.int64) & ((1 << self.bits) - 1)
        if self.kind == "bipolar":
            return np.where(c == 1, 1, -1).astype(np.int64)
        if self.kind == "int":
            half = 1 << (self.bits - 1)  # c - 2*half in two steps: 1 << 63 does not fit an int64
            return np.where(c >= half, c - half - half, c).astype(np.int64)
        return c

    # -- packing into words ----------------------------------------------------------------------
    def pack(self, values, lanes: int) -> list[int]:
        """Pack values of this type into words of ``lanes`` elements, element 0 in the LSBs.

        The one bit packer of the project: stream beats, weight ROM words and threshold ROM words
        are all built with it.

        Parameters
        ----------
        values : array_like of int
            Values of this datatype, any shape; flattened in C order (the last axis fastest).
            Each is checked and encoded as :meth:`encode` does.
        lanes : int
            Elements per word. Element ``k`` of a word sits at bits ``[k*bits, (k+1)*bits)``, so a
            word is ``lanes * bits`` bits wide.

        Returns
        -------
        list of int
            ``values.size // lanes`` non-negative Python ints, one per word, of any width.

        Raises
        ------
        ValueError
            If a value is not representable in this type, or the element count is not a multiple
            of ``lanes``.

        Examples
        --------
        >>> INT(4).pack([-1, 2], 2) == [0x2F]
        True

        A weight matrix ``w`` of shape (``nf*pe``, ``sf*simd``) becomes one ROM word per (nf, sf)
        fold, lane ``p*simd + s`` holding ``w[nf*pe + p, sf*simd + s]``:
        ``wdt.pack(w.reshape(nf, pe, sf, simd).transpose(0, 2, 1, 3), pe * simd)``.
        """
        lanes = _check_lanes(lanes)
        x = np.asarray(values)
        if x.dtype.kind not in "biu" and x.size and not np.all(np.mod(x, 1) == 0):
            raise ValueError(f"value out of range for {self}: not an integer")
        codes = self.encode(x.reshape(-1))
        if codes.size % lanes:
            raise ValueError(f"{codes.size} {self} values do not fill words of {lanes} lanes")
        codes = codes.reshape(-1, lanes)
        if lanes * self.bits <= 64:  # each word fits a uint64: fully vectorised, tolist() makes the ints
            shifts = np.arange(lanes, dtype=np.uint64) * np.uint64(self.bits)
            return np.bitwise_or.reduce(codes << shifts, axis=1).tolist()
        raw = self._word_bytes(codes)
        nbytes = raw.shape[1]
        data = raw.tobytes()
        from_bytes = int.from_bytes
        return [from_bytes(data[k : k + nbytes], "little") for k in range(0, len(data), nbytes)]

    def unpack(self, words, lanes: int) -> np.ndarray:
        """Unpack words of ``lanes`` elements into values; the inverse of :meth:`pack`.

        Parameters
        ----------
        words : sequence of int
            Non-negative ints of at most ``lanes * bits`` bits, element 0 in the LSBs.
        lanes : int
            Elements per word.

        Returns
        -------
        numpy.ndarray
            int64 values, shape ``(len(words), lanes)``.

        Raises
        ------
        ValueError
            If a word is negative or wider than ``lanes * bits`` bits.

        Examples
        --------
        >>> INT(4).unpack([0x2F], 2).tolist()
        [[-1, 2]]
        """
        lanes = _check_lanes(lanes)
        width = lanes * self.bits
        words = list(words)
        n = len(words)
        if width <= 64:
            w = np.asarray(words)
            if w.dtype.kind in "iu" and w.ndim == 1:  # ints that fit an int64 or uint64: no Python loop
                if w.dtype.kind == "i" and n and w.min() < 0:
                    raise ValueError(f"a word is negative ({lanes} x {self})")
                w = w.astype(np.uint64)
            else:
                try:
                    w = np.fromiter((operator.index(v) for v in words), dtype=np.uint64, count=n)
                except OverflowError:
                    raise ValueError(
                        f"a word is negative or wider than {width} bits ({lanes} x {self})"
                    ) from None
            if width < 64 and np.any(w >> np.uint64(width)):
                raise ValueError(f"a word is wider than {width} bits ({lanes} x {self})")
            shifts = np.arange(lanes, dtype=np.uint64) * np.uint64(self.bits)
            codes = (w[:, None] >> shifts) & np.uint64((1 << self.bits) - 1)
        else:
            nbytes = (width + 7) // 8
            try:
                data = b"".join([operator.index(v).to_bytes(nbytes, "little") for v in words])
            except OverflowError:
                raise ValueError(
                    f"a word is negative or wider than {width} bits ({lanes} x {self})"
                ) from None
            raw = np.frombuffer(data, dtype=np.uint8).reshape(n, nbytes)
            if width % 8 and np.any(raw[:, -1] >> (width % 8)):
                raise ValueError(f"a word is wider than {width} bits ({lanes} x {self})")
            codes = self._word_codes(raw, lanes)
        return self.decode(codes).reshape(n, lanes)

    def _word_bytes(self, codes: np.ndarray) -> np.ndarray:
        """Codes (words, lanes) -> little-endian bytes (words, ceil(lanes*bits/8)) uint8."""
        nw, lanes = codes.shape
        bits = self.bits
        nbytes = (lanes * bits + 7) // 8
        if bits in (8, 16, 32, 64):
            return codes.astype(f"<u{bits // 8}").view(np.uint8).reshape(nw, nbytes)
        if bits == 1:
            return np.packbits(codes.astype(np.uint8), axis=1, bitorder="little")
        g, cb = _byte_groups(bits)
        if g:  # groups of g lanes fill cb whole bytes: OR them into a uint64, keep its low cb bytes
            nch = -(-lanes // g)
            if nch * g != lanes:  # zero lanes at the top of the word, cut off below
                codes = np.pad(codes, ((0, 0), (0, nch * g - lanes)))
            shifts = np.arange(g, dtype=np.uint64) * np.uint64(bits)
            chunks = np.bitwise_or.reduce(codes.reshape(nw, nch, g) << shifts, axis=2)
            raw = chunks.astype("<u8").view(np.uint8).reshape(nw, nch, 8)[:, :, :cb]
            return raw.reshape(nw, nch * cb)[:, :nbytes]
        # Otherwise through one byte per bit, a block of words at a time to bound the memory.
        size = _code_bytes(bits)
        out = np.empty((nw, nbytes), dtype=np.uint8)
        step = max(1, _BLOCK // lanes)
        for a in range(0, nw, step):
            c = codes[a : a + step].astype(f"<u{size}").view(np.uint8).reshape(-1, lanes, size)
            bitarr = np.unpackbits(c, axis=2, count=bits, bitorder="little")
            out[a : a + step] = np.packbits(bitarr.reshape(-1, lanes * bits), axis=1, bitorder="little")
        return out

    def _word_codes(self, raw: np.ndarray, lanes: int) -> np.ndarray:
        """Little-endian bytes (words, ceil(lanes*bits/8)) uint8 -> codes (words, lanes) uint64."""
        nw = raw.shape[0]
        bits = self.bits
        if bits in (8, 16, 32, 64):
            return np.ascontiguousarray(raw).view(f"<u{bits // 8}").reshape(nw, lanes).astype(np.uint64)
        if bits == 1:
            return np.unpackbits(raw, axis=1, count=lanes, bitorder="little").astype(np.uint64)
        g, cb = _byte_groups(bits)
        if g:  # the inverse of the grouping in _word_bytes
            nch = -(-lanes // g)
            buf = np.zeros((nw, nch, 8), dtype=np.uint8)
            flat = np.zeros((nw, nch * cb), dtype=np.uint8)
            flat[:, : raw.shape[1]] = raw
            buf[:, :, :cb] = flat.reshape(nw, nch, cb)
            shifts = np.arange(g, dtype=np.uint64) * np.uint64(bits)
            codes = (buf.view("<u8").reshape(nw, nch, 1) >> shifts) & np.uint64((1 << bits) - 1)
            return codes.reshape(nw, nch * g)[:, :lanes]
        size = _code_bytes(bits)
        codes = np.empty((nw, lanes), dtype=np.uint64)
        step = max(1, _BLOCK // lanes)
        for a in range(0, nw, step):
            bitarr = np.unpackbits(raw[a : a + step], axis=1, count=lanes * bits, bitorder="little")
            by = np.packbits(bitarr.reshape(-1, lanes, bits), axis=2, bitorder="little")
            full = np.zeros((by.shape[0], lanes, size), dtype=np.uint8)
            full[:, :, : by.shape[2]] = by
            codes[a : a + step] = full.view(f"<u{size}").reshape(-1, lanes)
        return codes

    @property
    def name(self) -> str:
        return {"bipolar": "BIPOLAR", "binary": "BINARY"}.get(self.kind) or f"{self.kind.upper()}{self.bits}"

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return self.name

    @classmethod
    def from_name(cls, name: str) -> DataType:
        """Parse ``BIPOLAR``, ``BINARY``, ``INT4``, ``UINT8`` (case-insensitive)."""
        n = name.strip().upper()
        if n == "BIPOLAR":
            return BIPOLAR
        if n == "BINARY":
            return BINARY
        for prefix, ctor in (("UINT", UINT), ("INT", INT)):
            if n.startswith(prefix) and n[len(prefix) :].isdigit():
                return ctor(int(n[len(prefix) :]))
        raise ValueError(f"unknown datatype {name!r} (expected BIPOLAR, BINARY, INTn or UINTn)")


_BLOCK = 1 << 18  # elements per block where packing goes through one byte per bit


def _byte_groups(bits: int) -> tuple[int, int]:
    """(g, cb): g lanes of ``bits`` bits fill cb whole bytes and fit a uint64; (0, 0) if no such g."""
    g = math.lcm(bits, 8) // bits
    return (g, g * bits // 8) if g * bits <= 64 else (0, 0)


def _code_bytes(bits: int) -> int:
    """Bytes of the smallest unsigned NumPy integer holding ``bits`` bits."""
    return next(n for n in (1, 2, 4, 8) if bits <= 8 * n)


def _check_lanes(lanes) -> int:
    if isinstance(lanes, bool) or not isinstance(lanes, (int, np.integer)) or lanes < 1:
        raise ValueError(f"lanes must be a positive int, not {lanes!r}")
    return int(lanes)


BIPOLAR = DataType("bipolar", 1)
BINARY = DataType("binary", 1)


def INT(bits: int) -> DataType:  # noqa: N802 - reads like the type name
    return DataType("int", bits)


def UINT(bits: int) -> DataType:  # noqa: N802
    return DataType("uint", bits)


def smallest_type_for(lo: int, hi: int) -> DataType:
    """The narrowest INTn / UINTn holding every integer in ``[lo, hi]``."""
    lo, hi = int(lo), int(hi)
    if lo > hi:
        raise ValueError(f"empty range [{lo}, {hi}]")
    if lo >= 0:
        return UINT(max(1, hi.bit_length()))
    bits = 2
    while not (-(1 << (bits - 1)) <= lo and hi <= (1 << (bits - 1)) - 1):
        bits += 1
    return INT(bits)
