"""Exact integer matrix products on float32 BLAS, with two output channels packed into one GEMM column.

Every partial sum of an integer product whose magnitude stays below 2**24 is an exact float32 integer, in
whatever order BLAS adds. For a weight matrix ``w`` and inputs with ``|x| <= x_bound``, every partial sum of
one output channel is bounded by ``L = x_bound * max_m sum_k |w[m, k]|``. When ``L * (B + 1) < 2**24`` for
``B = 2**bitlen(2L)``, the columns ``w[j] + B * w[h + j]`` give ``lo + B * hi`` with ``|lo| < B / 2``: ``hi``
is ``rint(acc / B)`` and ``lo = acc - B * hi``, both exact. That halves the GEMM (bipolar: K <= 2047).

The GEMM runs on blocks of rows (im2col of a few frames built straight into a float32 buffer, so the full
window tensor never exists) with OpenBLAS limited to one thread: under load, BLAS
worker threads spin and multiply the CPU time. Large inputs are split over two Python threads instead
(NumPy releases the GIL in the copy, the GEMM and the comparisons) when a core is idle: on a loaded machine
the second thread only adds CPU time (measured: +10 % CPU, no wall-clock gain at load 7 on 2 cores).
"""

from __future__ import annotations

import contextlib
import os
import threading

import numpy as np
from threadpoolctl import ThreadpoolController

from .ops import pad_image

__all__ = ["OneThreshold", "blas_one_thread", "conv_gemm", "gemm_plan", "rows_gemm"]

EXACT_F32 = 1 << 24
BLOCK_ROWS = 1024  # rows per GEMM block at K = 576: the float32 block stays in L2 (best of 512..4096)
BLOCK_ELEMS = 1 << 19  # elements per block: short rows (small K) get more rows, less per-block overhead


def _block_rows(kdim: int) -> int:
    return max(BLOCK_ROWS, BLOCK_ELEMS // max(kdim, 1))


TWO_THREADS_MACS = 1 << 26  # below this many multiply-accumulates one thread is as fast
TWO_THREADS = None  # None: two threads for large products when a core is idle; True/False: always/never


_BLAS = {"controller": None, "limiter": None, "depth": 0}
_BLAS_LOCK = threading.Lock()


@contextlib.contextmanager
def blas_one_thread():
    """BLAS runs its GEMMs on one thread inside the block (threadpoolctl; no-op where it finds no BLAS).

    The limit is process-wide, so nested and concurrent blocks share it: the first entry sets one thread,
    the last exit restores the previous count.
    """
    with _BLAS_LOCK:
        if _BLAS["depth"] == 0:
            if _BLAS["controller"] is None:  # scanning the loaded libraries costs ~0.2 ms: once
                _BLAS["controller"] = ThreadpoolController()
            _BLAS["limiter"] = _BLAS["controller"].limit(limits=1, user_api="blas")
        _BLAS["depth"] += 1
    try:
        yield
    finally:
        with _BLAS_LOCK:
            _BLAS["depth"] -= 1
            if _BLAS["depth"] == 0:
                _BLAS["limiter"].restore_original_limits()
                _BLAS["limiter"] = None


def gemm_plan(w, x_bound: int):
    """Float32 GEMM operand for ``x @ w.T``: ``(wT, half, B)``, ``B = 0`` when not packed; None if not exact.

    ``wT`` is (K, half) packed (columns ``w[j] + B*w[half+j]``) or (K, MH) with ``half = MH``.
    """
    w = np.asarray(w)
    bound = int(x_bound) * int(np.abs(w.astype(np.int64)).sum(axis=1).max(initial=0))
    mh = w.shape[0]
    if bound >= EXACT_F32:
        return None
    wf = w.astype(np.float32)
    big = 1 << max(1, 2 * bound).bit_length()
    if mh >= 2 and bound * (big + 1) < EXACT_F32:
        half = (mh + 1) // 2
        wp = wf[:half].copy()
        wp[: mh - half] += np.float32(big) * wf[half:]
        return np.ascontiguousarray(wp.T), half, big
    return np.ascontiguousarray(wf.T), mh, 0


def _unpack(acc: np.ndarray, mh: int, half: int, big: int) -> np.ndarray:
    """(R, half) packed accumulators -> (R, MH) float32 dot products."""
    if not big:
        return acc
    nhi = mh - half
    out = np.empty((acc.shape[0], mh), np.float32)
    hi = out[:, half:]
    np.multiply(acc[:, :nhi], np.float32(1.0 / big), out=hi)
    np.rint(hi, out=hi)
    out[:, :half] = acc
    lo = out[:, :nhi]
    lo -= np.float32(big) * hi
    return out


class OneThreshold:
    """Output ``+1/-1`` (bipolar) or ``offset + (dot >= t)`` of one threshold per channel, as a ``post``.

    On packed accumulators it skips most of the unpacking: ``hi >= t`` iff ``acc >= B*t - B/2`` (as
    ``|lo| < B/2``), only ``lo`` is extracted. Thresholds beyond 2**24 round to values still beyond every
    accumulator, so the float32 comparisons stay exact.
    """

    def __init__(self, thresholds, bipolar: bool, offset: int = 0):
        self.t = np.asarray(thresholds, np.int64).reshape(-1)
        self.bipolar, self.offset = bipolar, int(offset)
        self._packed: dict = {}

    def _out(self, hit: np.ndarray) -> np.ndarray:
        h = hit.view(np.int8)
        if self.bipolar:
            return h * np.int8(2) - np.int8(1)
        if -128 <= self.offset and self.offset + 1 <= 127:
            return h + np.int8(self.offset)
        return h.astype(np.int64) + self.offset

    def __call__(self, dots: np.ndarray) -> np.ndarray:
        return self._out(dots >= np.broadcast_to(self.t, dots.shape[-1:]).astype(dots.dtype))

    def packed(self, acc: np.ndarray, mh: int, half: int, big: int) -> np.ndarray:
        """The output from (R, half) packed float32 accumulators."""
        key = (mh, half, big)
        if key not in self._packed:
            t = np.broadcast_to(self.t, (mh,)).astype(np.float64)
            self._packed[key] = (t[:half].astype(np.float32), (big * t[half:] - big / 2).astype(np.float32))
        t_lo, t_hi = self._packed[key]
        nhi = mh - half
        hit = np.empty((acc.shape[0], mh), np.bool_)
        np.greater_equal(acc[:, :nhi], t_hi, out=hit[:, half:])
        lo = np.multiply(acc, np.float32(1.0 / big))
        np.rint(lo[:, :nhi], out=lo[:, :nhi])
        lo[:, :nhi] *= np.float32(big)
        np.subtract(acc[:, :nhi], lo[:, :nhi], out=lo[:, :nhi])
        lo[:, nhi:] = acc[:, nhi:]
        np.greater_equal(lo, t_lo, out=hit[:, :half])
        return self._out(hit)


def _spare_core() -> bool:
    """True if the machine has an idle core for a second thread (1-minute load average)."""
    try:
        return (os.cpu_count() or 1) >= 2 and os.getloadavg()[0] < (os.cpu_count() or 1) - 0.5
    except OSError:
        return False


def _drive(blocks, fill, plan, mh: int, post, out_shape, macs: int) -> np.ndarray:
    """Run the GEMM block by block: ``blocks`` are ``(row0, nrows, key)`` (rows of the flattened output),
    ``fill(key, buf)`` writes the block's float32 input rows into ``buf``, ``post(dots)`` maps the float32
    dot products to the output rows."""
    wt, half, big = plan
    cap = max(b[1] for b in blocks)

    def one(b, buf):
        rows = buf[: b[1]]
        fill(b[2], rows)
        if big and isinstance(post, OneThreshold):
            return post.packed(rows @ wt, mh, half, big)
        return post(_unpack(rows @ wt, mh, half, big))

    with blas_one_thread():
        first = one(blocks[0], np.empty((cap, wt.shape[0]), np.float32))
    out = np.empty((*out_shape, mh), first.dtype)
    flat = out.reshape(-1, mh)
    flat[blocks[0][0] : blocks[0][0] + blocks[0][1]] = first
    errors = []

    def run(part):
        try:
            buf = np.empty((cap, wt.shape[0]), np.float32)
            with blas_one_thread():
                for b in part:
                    flat[b[0] : b[0] + b[1]] = one(b, buf)
        except BaseException as e:  # noqa: BLE001 - re-raised in the calling thread
            errors.append(e)

    rest = blocks[1:]
    if len(rest) >= 4 and (
        TWO_THREADS if TWO_THREADS is not None else macs >= TWO_THREADS_MACS and _spare_core()
    ):
        t = threading.Thread(target=run, args=(rest[1::2],))
        t.start()
        run(rest[::2])
        t.join()
    else:
        run(rest)
    if errors:
        raise errors[0]
    return out


def rows_gemm(x, w, x_bound: int, post, plan=None):
    """``post(x @ w.T)`` (exact float32 dot products) computed in row blocks; None if float32 is not exact."""
    plan = plan or gemm_plan(w, x_bound)
    if plan is None:
        return None
    x = np.asarray(x)
    x2 = x.reshape(-1, x.shape[-1])
    r, mh = x2.shape[0], np.shape(w)[0]
    step = _block_rows(x2.shape[1])
    blocks = [(s, min(step, r - s), s) for s in range(0, r, step)] or [(0, 0, 0)]

    def fill(s, buf):
        np.copyto(buf, x2[s : s + len(buf)], casting="unsafe")

    return _drive(blocks, fill, plan, mh, post, x.shape[:-1], r * x2.shape[1] * mh)


def conv_gemm(x, sw: dict, w, x_bound: int, post, plan=None):
    """SlidingWindow (``sw`` attributes) then ``post(window @ w.T)``, the window built block by block.

    Returns (N, OH, OW, MH), or None if float32 is not exact for these weights and ``x_bound``.
    """
    k, s, p = sw["k"], sw["stride"], sw.get("pad", 0)
    kh, kw = (k, k) if np.isscalar(k) else k
    x = np.ascontiguousarray(x)  # e.g. a transposed (NCHW -> NHWC) input: windows then copy in runs
    if np.any(p):
        x = pad_image(x, p, sw.get("pad_value", 0))
        x_bound = max(int(x_bound), abs(int(sw.get("pad_value", 0))))
    plan = plan or gemm_plan(w, x_bound)
    if plan is None:
        return None
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))[:, ::s, ::s]
    win = win.transpose(0, 1, 2, 4, 5, 3)  # (N, OH, OW, kh, kw, C): vector order (ky, kx, c)
    n, oh, ow = win.shape[:3]
    per = oh * ow
    rows = _block_rows(kh * kw * x.shape[-1])
    if per <= rows:
        step = rows // per
        keys = [(f, min(n, f + step), 0, oh) for f in range(0, n, step)]
    else:
        step = max(1, rows // ow)
        keys = [(f, f + 1, y, min(oh, y + step)) for f in range(n) for y in range(0, oh, step)]
    blocks = [((f0 * oh + y0) * ow, (f1 - f0) * (y1 - y0) * ow, (f0, f1, y0, y1)) for f0, f1, y0, y1 in keys]

    def fill(key, buf):
        f0, f1, y0, y1 = key
        np.copyto(buf.reshape(f1 - f0, y1 - y0, *win.shape[2:]), win[f0:f1, y0:y1], casting="unsafe")

    mh = np.shape(w)[0]
    return _drive(
        blocks or [(0, 0, (0, 0, 0, 0))],
        fill,
        plan,
        mh,
        post,
        (n, oh, ow),
        n * per * kh * kw * x.shape[-1] * mh,
    )
