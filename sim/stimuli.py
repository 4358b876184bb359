"""Random frames over the whole input code range of an accelerator (``hwgen verify --random N``).

The accelerator reads integer codes; the golden model and the host take float inputs. Frames are drawn in
the code domain (every code of the input type the model can produce, uniformly, each at least once) and
turned into float inputs that the host's quantizer maps back to exactly those codes:

- raw-input builds (``--input-dtype``, a ``Grid`` on-chip input): the value ``k / (1/scale)`` (or ``k *
  scale``) in float32 that :func:`hwgen.golden.fast.activation_raw` demands;
- otherwise, per code, a float found by bisection over float32 of the host part (the float ops up to
  ``ToCodes``): the midpoint of the interval of inputs that give the code, or for the lowest and highest
  code the end next to its neighbour (which lands on the quantizer's rounding tie).

Every value is then checked through :func:`hwgen.dataflow.io.host_codes` on every element position; a
model whose host part is not the same monotone function at every element is refused (HwgenError).
"""

from __future__ import annotations

import numpy as np

from hwgen.dataflow.io import host_codes
from hwgen.errors import HwgenError

__all__ = ["code_values", "random_frames"]

_LIMIT = np.float32(1e30)  # bisection range of the float input: [-_LIMIT, _LIMIT]


def _to_key(t: np.ndarray) -> np.ndarray:
    """float32 -> int64 keys in the same order (for bisection over every float32 value)."""
    b = np.asarray(t, np.float32).view(np.int32).astype(np.int64)
    return np.where(b < 0, -(b & 0x7FFFFFFF), b)


def _from_key(k: np.ndarray) -> np.ndarray:
    k = np.asarray(k, np.int64)
    b = np.where(k < 0, (-k) | np.int64(-(1 << 31)), k).astype(np.int32)  # sign bit set for negatives
    return b.view(np.float32)


def _codes_of(graph, values: np.ndarray, shape) -> np.ndarray:
    """Codes (len(values), elements) of frames filled with one value each."""
    x = np.broadcast_to(values.astype(np.float32).reshape(-1, *([1] * len(shape))), (len(values), *shape))
    return host_codes(graph, np.ascontiguousarray(x))


def _bisect(graph, shape, targets: np.ndarray, sign: int) -> np.ndarray:
    """Per target, the smallest float32 input whose code (times ``sign``) is >= the target (times sign)."""
    lo = np.full(len(targets), _to_key(_LIMIT * -1))
    hi = np.full(len(targets), _to_key(_LIMIT))
    for _ in range(40):
        mid = (lo + hi) // 2
        up = sign * _codes_of(graph, _from_key(mid), shape)[:, 0] >= sign * targets
        hi, lo = np.where(up, mid, hi), np.where(up, lo, mid + 1)
    return lo


def code_values(graph, input_shape) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, floats)``: every input code the model's host part can produce and a float input for each."""
    shape = tuple(input_shape[1:])
    to_codes = next((n for n in graph.nodes if n.op == "ToCodes"), None)
    if to_codes is None:
        raise HwgenError("--random: the model has no host quantizer (ToCodes) to generate codes for")
    a = to_codes.attrs
    act, dt = a["act"], a["dtype"]
    mul, add = int(a.get("a_mul", 1)), int(a.get("a_add", 0))
    codes = dt.values()
    try:
        if act["op"] == "Grid":  # raw integer input: the float32 value the chip rebuilds from the code
            _, how, c = act["consts"]
            raw = (codes - add) // mul
            keep = raw * mul + add == codes
            codes, raw = codes[keep], raw[keep].astype(np.float32)
            floats = (raw / np.float32(c)) if how == "Div" else (raw * np.float32(c))
        else:
            ends = _codes_of(graph, np.array([-_LIMIT, _LIMIT], np.float32), shape)[:, 0]
            sign = 1 if ends[1] >= ends[0] else -1
            lo_code, hi_code = sorted(ends.tolist())
            codes = codes[(codes >= lo_code) & (codes <= hi_code)]
            order = codes if sign > 0 else codes[::-1]  # codes in the order of increasing input
            start = _bisect(graph, shape, order, sign)  # first input giving each code (or beyond it)
            end = np.append(start[1:] - 1, _to_key(_LIMIT))  # last input before the next code
            real = start <= end  # codes no input produces (an empty interval) are left out
            order, start, end = order[real], start[real], end[real]
            t_start, t_end = _from_key(start).astype(np.float64), _from_key(end).astype(np.float64)
            mid = _from_key(_to_key(((t_start + t_end) / 2).astype(np.float32)))
            pick = mid.copy()
            pick[0], pick[-1] = _from_key(end[:1])[0], _from_key(start[-1:])[0]
            if len(pick) == 1:
                pick[0] = mid[0]
            floats = pick if sign > 0 else pick[::-1]
            codes = order if sign > 0 else order[::-1]
        got = _codes_of(graph, floats, shape)
    except HwgenError as e:
        raise HwgenError(f"--random: cannot generate inputs for this model ({e})") from None
    ok = (got == codes[:, None]).all(axis=1)
    if not ok.any():
        raise HwgenError(
            "--random: no float input gives the same code at every element (the host part is not one "
            "elementwise function); use --inputs"
        )
    if not ok.all():
        bad = codes[~ok]
        raise HwgenError(
            f"--random: input codes {bad[:4].tolist()} cannot be produced exactly at every element; "
            "use --inputs"
        )
    return codes, floats.astype(np.float32)


def random_frames(graph, input_shape, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` float32 frames of shape ``input_shape[1:]`` whose codes are uniform over every producible input
    code (each code at least once when the frames have room); returns ``(frames, codes)``."""
    if n < 1:
        raise HwgenError(f"--random must be at least 1, not {n}")
    codes, floats = code_values(graph, input_shape)
    shape = tuple(input_shape[1:])
    size = int(np.prod(shape))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(codes), size=n * size)
    k = min(len(codes), idx.size)  # every code at least once, at random places
    idx[rng.choice(min(idx.size, 1 << 20), size=k, replace=False)] = rng.permutation(len(codes))[:k]
    return floats[idx].reshape(n, *shape), codes
