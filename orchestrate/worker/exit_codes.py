"""How a worker process says how its flow run ended, for a supervisor that reads only its exit."""

from __future__ import annotations

COMPLETED = 0
NOT_COMPLETED = 1
NO_SPEC = 2
#: The run failed in a way no retry can fix (its flow did not load, its parameters do not
#: fit): the daemon ends it Failed with the reason and does not retry it. sysexits' EX_CONFIG,
#: which a flow calling `os._exit(3)` or `sys.exit(1)` does not take by chance.
NEEDS_A_FIX = 78
#: The daemon went away; the worker journalled what it had and stopped with all it started
#: (sysexits' EX_TEMPFAIL).
ORPHANED = 75
