"""Discovery of reference models (helpers.models.discover) for the golden-model tests."""

from helpers.models import discover


def test_discover_finds_forms(tmp_path):
    d = tmp_path / "m1"
    d.mkdir()
    (d / "info.json").write_text("{}")
    (d / "m1.qonnx.onnx").write_bytes(b"")
    (d / "m1.finn.onnx").write_bytes(b"")
    (d / "m1.other.onnx").write_bytes(b"")
    assert [(c[1], c[2].name) for c in discover(tmp_path)] == [
        ("qonnx", "m1.qonnx.onnx"),
        ("finn", "m1.finn.onnx"),
    ]
    assert discover(tmp_path / "absent") == []
