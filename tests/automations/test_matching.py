"""Compiled name globs agree with `fnmatchcase` for every shape (exact, `prefix*`, other globs, `!`)."""

from __future__ import annotations

from fnmatch import fnmatchcase

from hypothesis import given
from hypothesis import strategies as st

from orchestrate.automations.matching import Pattern

_ALPHABET = "ab.*?!"
_glob = st.text(alphabet=_ALPHABET, min_size=0, max_size=6)
_name = st.text(alphabet="ab.", min_size=0, max_size=6)


def _reference(globs: list[str], value: str) -> bool:
    positive = [g for g in globs if not g.startswith("!")]
    negative = [g[1:] for g in globs if g.startswith("!")]
    if positive and not any(fnmatchcase(value, g) for g in positive):
        return False
    return not any(fnmatchcase(value, g) for g in negative)


@given(st.lists(_glob, min_size=1, max_size=4), _name)
def test_a_pattern_matches_what_fnmatch_matches(globs: list[str], value: str) -> None:
    assert Pattern.of(globs).matches(value) == _reference(globs, value)


def test_a_prefix_glob_beside_a_one_character_glob_keeps_both() -> None:
    pattern = Pattern.of(["ab*", "ab?"])
    assert pattern.matches("abc")
    assert pattern.matches("ab")
    assert not pattern.matches("a")
    assert Pattern.of(["orc.flow-run.special-0*"]).matches("orc.flow-run.special-0x")
    assert not Pattern.of(["orc.flow-run.special-0*"]).matches("orc.task-run.r1")
