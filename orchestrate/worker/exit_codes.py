"""How a worker process says how its flow run ended, for a supervisor that reads only its exit."""

from __future__ import annotations

COMPLETED = 0
NOT_COMPLETED = 1
NO_SPEC = 2
#: The run failed in a way no retry can fix (its flow did not load, its parameters do not
#: fit): the daemon ends it Failed with the reason and does not retry it.
NEEDS_A_FIX = 3
#: The daemon went away; the worker journalled what it had and stopped with all it started.
ORPHANED = 4
