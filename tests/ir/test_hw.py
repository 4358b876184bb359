"""The hardware-IR schema: typed attributes, checked once, serialised in one place."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers.models import MODELS

from hwgen.ir.datatypes import BIPOLAR, INT, DataType
from hwgen.ir.graph import Node
from hwgen.ir.hw import SCHEMA, check, describe, plain
from hwgen.passes import streamline


def _label_select(**attrs):
    base = {"k": 2, "in_dtype": INT(5), "out_dtype": DataType.from_name("UINT3"), "in_shape": (6,)}
    return Node("LabelSelect", ["a"], ["b"], {**base, "out_shape": (2,), **attrs}, "top")


def test_check_fills_defaults_and_refuses_wrong_types():
    sw = Node("SlidingWindow", ["a"], ["b"], {"k": 3, "ifm_dim": (4, 4), "ofm_dim": (2, 2), "channels": 2,
              "dtype": BIPOLAR, "in_shape": (4, 4, 2), "out_shape": (2, 2, 18)}, "sw")  # fmt: skip
    check(sw)
    assert (sw.attrs["stride"], sw.attrs["pad"], sw.attrs["pad_value"]) == (1, 0, 0)
    check(_label_select())
    with pytest.raises(
        TypeError, match=r"node 'top' \(LabelSelect\): attribute 'in_dtype' must be DataType, not str"
    ):
        check(_label_select(in_dtype="INT5"))  # names are not datatypes: typed once, in the passes
    with pytest.raises(TypeError, match=r"attribute 'k' missing"):
        check(Node("LabelSelect", ["a"], ["b"], {"in_dtype": INT(5)}, "top"))
    with pytest.raises(TypeError, match=r"unknown attribute 'lanes'"):
        check(_label_select(lanes=4))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_streamlined_graphs_are_typed(name):
    hw = streamline(MODELS[name]())
    for node in hw.hw_nodes():
        assert set(node.attrs) <= set(SCHEMA[node.op])
        for key, value in node.attrs.items():
            if key.endswith("dtype"):
                assert isinstance(value, DataType), (node.name, key)
    json.dumps(describe(hw))  # serialisable


def test_plain():
    assert plain(BIPOLAR) == "BIPOLAR"
    assert plain(np.arange(3).reshape(1, 3)) == [[0, 1, 2]]
    assert plain((np.int64(2), INT(4))) == [2, "INT4"]
