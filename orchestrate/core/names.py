"""Readable run names (`crimson-otter`), and user templates like `"etl-{day}"`."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import Any

_ADJECTIVES = (
    "amber",
    "brave",
    "calm",
    "crimson",
    "daring",
    "eager",
    "fuzzy",
    "gentle",
    "golden",
    "hidden",
    "jolly",
    "keen",
    "lively",
    "merry",
    "nimble",
    "olive",
    "proud",
    "quick",
    "rapid",
    "silver",
    "steady",
    "swift",
    "tidy",
    "urban",
    "vivid",
    "witty",
    "young",
    "zesty",
)
_ANIMALS = (
    "badger",
    "bison",
    "crane",
    "dingo",
    "eagle",
    "ferret",
    "gecko",
    "heron",
    "ibis",
    "jackal",
    "koala",
    "lemur",
    "lynx",
    "marten",
    "newt",
    "ocelot",
    "otter",
    "panda",
    "quail",
    "raven",
    "salmon",
    "tapir",
    "urchin",
    "viper",
    "walrus",
    "yak",
    "zebra",
)


def random_name() -> str:
    return f"{random.choice(_ADJECTIVES)}-{random.choice(_ANIMALS)}"


def render_name(
    template: str | Callable[[], str] | None, parameters: Mapping[str, Any], default: str
) -> str:
    """A run name from the user's template or callable, or the default.

    A bad template is not worth failing a run for: it falls back to the
    default and says so in the name.
    """
    if template is None:
        return default
    try:
        name = template() if callable(template) else template.format(**parameters)
    except Exception as exc:
        return f"{default} (name template failed: {type(exc).__name__})"
    return str(name)
