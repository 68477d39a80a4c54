"""The daemon's garbage collector: start-up's objects frozen, young collections rarer.

Checked in a fresh interpreter, so the test process keeps its own collector as it was.
"""

from __future__ import annotations

import json
import subprocess
import sys

from orchestrate.daemon.collector import YOUNG_THRESHOLD

_PROBE = """
import gc, json
from orchestrate.daemon import collector
before = (gc.get_threshold(), gc.get_freeze_count())
collector.tune()
print(json.dumps([before, (gc.get_threshold(), gc.get_freeze_count())]))
"""


def test_tuning_freezes_what_is_loaded_and_raises_only_the_young_threshold() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=60, check=True
    )
    (threshold_before, frozen_before), (threshold_after, frozen_after) = json.loads(done.stdout)
    assert frozen_before == 0
    assert frozen_after > 1000  # orchestrate's modules, and what they loaded
    assert threshold_after == [YOUNG_THRESHOLD, *threshold_before[1:]]
    assert threshold_before[0] < YOUNG_THRESHOLD
