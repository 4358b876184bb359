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
        if not np.all(np.equal(np.mod(x, 1), 0)):
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
            return np.where(c >= (1 << (self.bits - 1)), c - (1 << self.bits), c).astype(np.int64)
        return c

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
