"""``--pipeline auto``: the fewest stages rated for the clock on the family."""

import pytest

from hwgen.dataflow.stages import FAMILIES, choose_pipeline, stage_fmax_mhz
from hwgen.errors import HwgenError


@pytest.mark.parametrize("family", FAMILIES)
def test_deeper_settings_are_rated_faster_and_chosen_only_when_needed(family):
    rated = [stage_fmax_mhz(family, p) for p in (0, 1, 2, 3)]
    assert rated == sorted(rated) and rated[0] < rated[2]
    assert choose_pipeline(rated[0] * 0.99, family) == 0
    assert choose_pipeline(rated[0] * 1.01, family) == 1
    assert choose_pipeline(rated[2] * 0.99, family) == 2
    assert choose_pipeline(rated[3] * 2, family) == 3  # nothing meets it: the deepest


def test_goals_and_an_open_family():
    assert choose_pipeline(150, "ecp5") == 3 and choose_pipeline(100, "ecp5") == 3
    assert choose_pipeline(90, "ecp5") == 2 and choose_pipeline(80, "ecp5") == 1
    assert choose_pipeline(70, "ecp5") == 0
    assert choose_pipeline(75, "ice40") == 3 and choose_pipeline(55, "ice40") == 2
    assert choose_pipeline(30, "ice40") == 0
    assert choose_pipeline(100, None) == max(choose_pipeline(100, f) for f in FAMILIES)
    with pytest.raises(HwgenError, match="unknown FPGA family 'stratix'"):
        stage_fmax_mhz("stratix", 0)
