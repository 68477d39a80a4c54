"""A full disk under the store: orc keeps answering, loses nothing, and schedules again once freed.

The project's `.orc` folder sits on a small tmpfs; a filler file takes the
last byte for a few seconds while `orc status` is asked, then is deleted.
Skipped, with the reason, where mounting is not permitted.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fault.faults import default_seed, run_round


def test_a_full_disk_stops_nothing_for_good(tmp_path: Path) -> None:
    seed = default_seed()
    result = run_round(tmp_path, 1, seed, faults=["disk-full"], settle_for=20)
    if result.skipped:
        pytest.skip(f"a disk-full trial needs a small tmpfs: {result.skipped}")
    details = [f"{k}: {d}" for k, ds in result.violations.get("details", {}).items() for d in ds]
    assert result.total_violations == 0 and not result.error, (
        f"seed {seed}; error: {result.error}\n" + "\n".join(details)
    )
