"""Beat-level timing of the first frame through an empty accelerator, for its ``latency_cycles``.

Each stage's spec maps the cycles at which its input beats of frame 0 become valid to the cycles at which
its output beats become valid (:meth:`hwgen.layers.spec.LayerSpec.output_times`, the layer's documented
pipeline with the output side never stalling). The input stream offers beat ``j`` at cycle ``j`` (the
first beat is accepted at cycle 0).
"""

from __future__ import annotations

__all__ = ["first_output_cycle"]


def first_output_cycle(specs) -> int:
    """Cycle of the first output beat of a chain of layer specs fed one frame at one beat per cycle."""
    times = list(range(specs[0].in_beats))
    for spec in specs:
        times = spec.output_times(times)
    return times[0]
