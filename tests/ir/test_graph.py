"""The IR graph container: edits keep it sorted, pruned and independent of copies."""

from __future__ import annotations

import numpy as np
import pytest

from hwgen.ir import Graph, Node


def _chain():
    g = Graph(inputs=["x"], outputs=["z"], consts={"w": np.ones(2), "unused": np.zeros(1)})
    g.nodes = [Node("Mul", ["y", "w"], ["z"], name="b"), Node("Add", ["x", "w"], ["y"], name="a")]
    return g


def test_sort_and_prune():
    g = _chain()
    g.sort()
    assert [n.name for n in g.nodes] == ["a", "b"]
    g.prune()
    assert set(g.consts) == {"w"}
    assert g.producer("y").name == "a" and [n.name for n in g.consumers("w")] == ["a", "b"]
    assert g.single_consumer("y").name == "b" and g.single_consumer("w") is None


def test_replace_and_fresh_names():
    g = _chain()
    g.sort()
    t = g.fresh("y")
    assert t != "y" and t not in g.consts
    g.replace([g.nodes[1]], [Node("Sub", ["y", "w"], ["z"], name="c")])
    assert [n.name for n in g.nodes] == ["a", "c"]


def test_cycle_is_reported():
    g = Graph(inputs=["x"], outputs=["b"])
    g.nodes = [Node("Add", ["a", "x"], ["b"]), Node("Add", ["b", "x"], ["a"])]
    with pytest.raises(ValueError, match="cycle"):
        g.sort()


def test_copy_is_independent():
    g = _chain()
    h = g.copy()
    h.nodes[0].attrs["k"] = 1
    h.consts["new"] = np.ones(1)
    assert "k" not in g.nodes[0].attrs and "new" not in g.consts


def test_describe_is_json_and_complete():
    import json

    from helpers.models import tiny_cnn

    from hwgen.ir import describe
    from hwgen.passes import streamline

    d = json.loads(json.dumps(describe(streamline(tiny_cnn()))))
    assert d["input"] == {"dtype": "INT8", "shape": [8, 8, 2]}
    assert [lay["kind"] for lay in d["layers"]][:3] == ["SlidingWindow", "MVTU", "StreamingMaxPool"]
    mv = d["layers"][1]
    assert len(mv["weights"]) == mv["mh"] == 4 and len(mv["weights"][0]) == mv["mw"] == 18
    assert d["output"]["shape"] == [3]
