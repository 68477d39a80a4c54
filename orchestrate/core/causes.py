"""What caused what: the automations a run or an event comes from, so none reacts to its own.

An event or run names each automation of its causal chain as a related
resource (role `automation`), and an automation never reacts to an event
naming it. A `run-command` gets the chain in `ORC_CAUSED_BY` (automation
resource ids, comma-separated): `orc run` and `orc emit` started by it send
the chain on, so that what they make names those automations too.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

#: The environment variable a command started by an automation finds its chain in.
CAUSED_BY_ENV = "ORC_CAUSED_BY"
#: Resource ids of automations start with this.
AUTOMATION_PREFIX = "orc.automation."


def chain_related(chain: Iterable[str]) -> list[dict[str, str]]:
    """Related resources naming each automation of a causal chain."""
    return [{"orc.resource.id": a, "orc.resource.role": "automation"} for a in chain]


def chain_in_env(chain: Iterable[str]) -> str:
    """The value of `ORC_CAUSED_BY` for `chain`."""
    return ",".join(chain)


def chain_from_env(environ: Mapping[str, str] = os.environ) -> tuple[str, ...]:
    """The chain a command was started with (none outside an automation's command)."""
    given = environ.get(CAUSED_BY_ENV, "")
    return tuple(part for part in given.split(",") if part.startswith(AUTOMATION_PREFIX))


def automations_only(given: object) -> tuple[str, ...]:
    """A chain as a client sent it: automation resource ids only, at most 100."""
    if not isinstance(given, list | tuple):
        return ()
    return tuple(str(a) for a in given if str(a).startswith(AUTOMATION_PREFIX))[:100]
