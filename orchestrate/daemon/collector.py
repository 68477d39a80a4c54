"""How the daemon's garbage collector runs: start-up's objects frozen, young collections rarer.

CPython collects its youngest generation every 700 container allocations,
and the oldest whenever a quarter more objects have survived into it. A
daemon taking batches of events allocates a few containers per event, and the
events still waiting for the store's writer survive each young collection, so
they kept starting full collections: under 4 clients sending 200,000 events in
batches of 1,000, 17 full collections (~35 ms each) and ~2,000 young ones took
0.9 s of the 4.7 s of CPU the daemon spent (bench/results/daemon_rates.md);
with the settings below, 0.24 s and no full collection. What start-up
loaded (modules, the config, the deployments) lives as long as the daemon, so
it is frozen out of every collection, as `orc` itself and the zygote do.
"""

from __future__ import annotations

import gc

#: Container allocations between young collections (CPython's default is 700): a young
#: collection of this many costs ~1 ms, and garbage cycles wait at most this many allocations.
YOUNG_THRESHOLD = 10_000


def tune() -> None:
    """Freeze what is loaded now and collect the young generation less often."""
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
