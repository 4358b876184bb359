"""Host-side packing: float frames -> input beats -> values, output beats -> integers (round trips)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hwgen.dataflow.io import host_codes, pack_frames, unpack_frames
from hwgen.frontend import load
from hwgen.ir.datatypes import BIPOLAR, INT, UINT
from hwgen.passes import streamline

MODELS = Path(__file__).resolve().parents[2] / "examples" / "models"


@pytest.mark.parametrize("dt", [BIPOLAR, INT(2), UINT(3), INT(11)], ids=str)
@pytest.mark.parametrize("lanes", [1, 5, 49])
def test_pack_round_trip(dt, lanes):
    rng = np.random.default_rng(lanes)
    vals = rng.choice(dt.values(), size=(3, lanes * 4))
    beats = pack_frames(vals, dt, lanes)
    assert len(beats) == 12 and all(0 <= b < 1 << (lanes * dt.bits) for b in beats)
    np.testing.assert_array_equal(unpack_frames(beats, dt, lanes, 3), vals)


def test_pack_layout_by_hand():
    # element 0 in the least significant bits; INT2 -1 = 0b11, bipolar +1 = bit 1
    assert pack_frames([[1, -1, 0, -2]], INT(2), 2) == [0b11_01, 0b10_00]
    assert pack_frames([[1, -1, -1, 1, 1]], BIPOLAR, 5) == [0b11001]
    with pytest.raises(ValueError, match="does not fill beats of 3 lanes"):
        pack_frames([[1, 1]], BIPOLAR, 3)


def test_host_codes_tfc_w1a1():
    """TFC-W1A1's host part is 2x - 1 then BipolarQuant (sign, 0 -> +1): computed here by hand."""
    g = streamline(load(MODELS / "tfc_w1a1" / "tfc_w1a1.qonnx.onnx"))
    x = np.load(MODELS / "tfc_w1a1" / "inputs.npy")[:8]
    want = np.where(2 * x.reshape(8, -1).astype(np.float32) - 1 >= 0, 1, -1)
    np.testing.assert_array_equal(host_codes(g, x), want)


def test_host_codes_cnv_are_nhwc():
    g = streamline(load(MODELS / "cnv_w1a1" / "cnv_w1a1.qonnx.onnx"))
    x = np.load(MODELS / "cnv_w1a1" / "inputs.npy")[:2]
    codes = host_codes(g, x)
    assert codes.shape == (2, 32 * 32 * 3)
    # 8-bit signed quantizer of 2x - 1 with scale 2**-7, round half to even, clipped
    ref = np.clip(np.rint((2 * x.astype(np.float32) - 1) * 128), -128, 127).astype(np.int64)
    np.testing.assert_array_equal(codes, ref.transpose(0, 2, 3, 1).reshape(2, -1))
