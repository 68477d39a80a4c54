"""The `:` command line: what it understands, how a line parses, and what it offers to complete.

`:run hello x=3` runs a deployment with parameters (values read as JSON when
they parse, else as text), `:deploy NAME` selects a deployment, and
`:cancel`, `:retry`, `:pause`, `:logs`, `:help`, `:quit` act on the selection
as their keys do. Pure functions of the text and the deployments' names.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from textual.suggester import Suggester

#: Every command, with what `:help`-like messages say of it.
COMMANDS = {
    "run": "run NAME [key=value …]: run a deployment now",
    "deploy": "deploy NAME: select a deployment",
    "cancel": "cancel the selected run",
    "retry": "retry the selected run",
    "pause": "pause or resume the selected deployment or automation, or resume a paused run",
    "logs": "show the selected run's logs",
    "help": "every key",
    "quit": "leave orc tui",
}
NAMED = frozenset({"run", "deploy"})


@dataclass(frozen=True)
class Command:
    verb: str
    name: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)


def parse(line: str) -> Command:
    """The command `line` asks for; ValueError says what is wrong and what would be right."""
    words = line.strip().removeprefix(":").split()
    if not words:
        raise ValueError(f"type a command: {', '.join(COMMANDS)}")
    verb, rest = words[0].lower(), words[1:]
    if verb not in COMMANDS:
        raise ValueError(f"no command {verb!r}; the commands are {', '.join(COMMANDS)}")
    if verb not in NAMED:
        if rest:
            raise ValueError(f"{verb} takes nothing after it: {COMMANDS[verb]}")
        return Command(verb)
    if not rest:
        raise ValueError(f"{verb} needs a deployment's name: {COMMANDS[verb]}")
    name, pairs = rest[0], rest[1:]
    if verb == "deploy" and pairs:
        raise ValueError(f"deploy takes one name: {COMMANDS['deploy']}")
    return Command(verb, name, dict(_pair(pair) for pair in pairs))


def _pair(text: str) -> tuple[str, Any]:
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise ValueError(f"{text!r} is not key=value (e.g. days=3)")
    try:
        return key, json.loads(raw)
    except json.JSONDecodeError:
        return key, raw


def candidates(deployments: Iterable[str]) -> list[str]:
    """What the line may complete to: each command, and the named ones with each deployment."""
    names = sorted(deployments)
    return [
        *(f"{verb} {name}" for verb in sorted(NAMED) for name in names),
        *(verb if verb not in NAMED else f"{verb} " for verb in COMMANDS),
    ]


class CommandSuggester(Suggester):
    """Suggests the first candidate the typed text begins (deployments read when asked)."""

    def __init__(self, deployments: Callable[[], Iterable[str]]) -> None:
        super().__init__(use_cache=False, case_sensitive=False)
        self.deployments = deployments

    async def get_suggestion(self, value: str) -> str | None:
        typed = value.removeprefix(":")
        if not typed:
            return None
        for candidate in candidates(self.deployments()):
            if candidate.casefold().startswith(typed) and len(candidate) > len(typed):
                return value[: len(value) - len(typed)] + candidate
        return None
