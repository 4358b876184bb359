"""Host side of a bulk harness run: beats to and from the harness files, and the comparison with the golden
model. Packing and unpacking are :meth:`hwgen.ir.datatypes.DataType.pack` / ``unpack``; this module only
turns their integers into fixed-size little-endian byte rows and back."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hwgen.dataflow.io import pack_frames, unpack_frames

__all__ = ["BulkResult", "beats_to_bytes", "bytes_to_beats", "check_shards"]


def beats_to_bytes(beats: list[int], nbytes: int) -> np.ndarray:
    """Beat integers -> uint8 rows (beats, nbytes), little endian."""
    if nbytes <= 8:
        raw = np.asarray(beats, dtype=np.uint64).astype("<u8").view(np.uint8).reshape(-1, 8)
        return np.ascontiguousarray(raw[:, :nbytes])
    data = b"".join([b.to_bytes(nbytes, "little") for b in beats])
    return np.frombuffer(data, dtype=np.uint8).reshape(-1, nbytes)


def bytes_to_beats(rows: np.ndarray, bits: int):
    """uint8 rows (beats, nbytes) -> beat integers of ``bits`` bits (bits above are dropped): a uint64 array
    when ``bits`` <= 64, else a list of ints."""
    n, nbytes = rows.shape
    if bits <= 64:
        buf = np.zeros((n, 8), dtype=np.uint8)
        buf[:, : min(nbytes, 8)] = rows[:, :8]
        w = buf.view("<u8").reshape(n).astype(np.uint64)
        return w & np.uint64((1 << bits) - 1) if bits < 64 else w
    mask = (1 << bits) - 1
    data = rows.tobytes()
    return [int.from_bytes(data[k : k + nbytes], "little") & mask for k in range(0, len(data), nbytes)]


@dataclass
class BulkResult:
    """All shards of a harness run compared with the golden model (frames in input order)."""

    frames: int
    hardware: np.ndarray  # (frames, elements) int64; rows of frames not received are 0
    received: np.ndarray  # bool per frame: all its beats arrived
    bad_frames: np.ndarray  # frames that differ from the golden model or did not arrive
    first_bad: tuple | None  # (frame, element, hardware value or None, golden value)
    lost_beats: int
    extra_beats: int
    tlast_errors: int
    unstable: int  # cycles an output beat changed while stalled
    timeouts: int  # shards that gave up waiting
    cycles: int  # simulated cycles, all shards
    cycles_per_frame: int | None  # steady state: max interval over the last half of the frames, per shard
    mean_cycles_per_frame: float | None
    first_out_latency: int | None  # first input beat taken -> first output beat taken (shard 0)
    problems: list[str] = field(default_factory=list)
    fifo_peak: dict[str, int] = field(default_factory=dict)  # FIFO instance -> most beats held (all shards)

    @property
    def passed(self) -> bool:
        return not len(self.bad_frames) and not self.problems


def input_rows(codes: np.ndarray, dtype, lanes: int, tdata_bits: int) -> np.ndarray:
    """Input codes (frames, elements) -> uint8 beat rows for the harness."""
    return beats_to_bytes(pack_frames(codes, dtype, lanes), (tdata_bits + 7) // 8)


def check_shards(shards, ref: np.ndarray, dtype, lanes: int, bits_per_beat: int, bpf_out: int) -> BulkResult:
    """Compare the shards' output beats with the golden outputs ``ref`` (frames, elements)."""
    n, elems = ref.shape
    hw = np.zeros_like(ref, dtype=np.int64)
    received = np.zeros(n, dtype=bool)
    lost = extra = tlast = unstable = timeouts = cycles = 0
    steady, means = [], []
    for s in shards:
        got = min(s.beats_out, s.expected_beats)
        whole = got // bpf_out
        if whole:
            words = bytes_to_beats(s.out_beats[: whole * bpf_out], bits_per_beat)
            hw[s.first : s.first + whole] = unpack_frames(words, dtype, lanes, whole)
            received[s.first : s.first + whole] = True
        lost += max(0, s.expected_beats - s.beats_out)
        extra += max(0, s.beats_out - s.expected_beats)
        tlast += s.tlast_errors
        unstable += s.unstable
        timeouts += s.timeout
        cycles += s.cycles
        ends = s.frame_end_cycles.astype(np.int64)[: s.frames]
        if len(ends) >= 2:
            iv = np.diff(ends)
            steady.append(int(iv[len(iv) // 2 :].max()))
            means.append((float(ends[-1] - ends[0]), len(ends) - 1))
    diff = (hw != ref).any(axis=1) | ~received
    bad = np.flatnonzero(diff)
    first_bad = None
    if len(bad):
        k = int(bad[0])
        if received[k]:
            e = int(np.flatnonzero(hw[k] != ref[k])[0])
            first_bad = (k, e, int(hw[k, e]), int(ref[k, e]))
        else:
            first_bad = (k, 0, None, int(ref[k, 0]))
    problems = [
        p
        for p, cond in (
            (f"{lost} output beats lost", lost),
            (f"{extra} extra output beats", extra),
            (f"{tlast} output beats with a wrong tlast", tlast),
            (f"{unstable} cycles where m_axis changed while stalled", unstable),
            (f"{timeouts} shards timed out", timeouts),
        )
        if cond
    ]
    s0 = shards[0]
    latency = None if s0.first_out is None or s0.first_in is None else s0.first_out - s0.first_in
    mean = sum(a for a, _ in means) / sum(b for _, b in means) if means else None
    return BulkResult(
        frames=n,
        hardware=hw,
        received=received,
        bad_frames=bad,
        first_bad=first_bad,
        lost_beats=lost,
        extra_beats=extra,
        tlast_errors=tlast,
        unstable=unstable,
        timeouts=timeouts,
        cycles=cycles,
        cycles_per_frame=max(steady) if steady else None,
        mean_cycles_per_frame=mean,
        first_out_latency=latency,
        problems=problems,
        fifo_peak=fifo_peaks(shards),
    )


def fifo_peaks(shards) -> dict[str, int]:
    """FIFO instance -> the most beats it held in any shard (the harness's ``fifo_peak.<instance>``)."""
    peak: dict[str, int] = {}
    for s in shards:
        for key, value in s.stats.items():
            if key.startswith("fifo_peak."):
                name = key.removeprefix("fifo_peak.")
                peak[name] = max(peak.get(name, 0), int(value))
    return peak
