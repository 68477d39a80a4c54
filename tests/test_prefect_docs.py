"""docs/prefect.md cannot lie: every name it says orc provides imports, and nothing public is left out.

The page lists, per Prefect module, `Provided:` names (a dotted `Task.on_commit`
is an attribute), `orc's own:` names, and `Flow options:`/`Task options:`
keywords. Each is checked against the code here.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import fields
from pathlib import Path

import pytest

from orchestrate.flows import FlowOptions
from orchestrate.tasks import TaskOptions
from tests.test_layers import PUBLIC_MODULES

DOC = Path(__file__).resolve().parent.parent / "docs" / "prefect.md"
_HEADING = re.compile(r"^## `prefect(?:\.[\w.]+)?` → `(orchestrate(?:\.[\w.]+)?)`$")
_LABELS = ("Provided:", "orc's own:", "Flow options:", "Task options:")


def _sections() -> dict[str, dict[str, list[str]]]:
    """{orc module: {label: [names]}} as the page lists them."""
    sections: dict[str, dict[str, list[str]]] = {}
    module: str | None = None
    for line in DOC.read_text().splitlines():
        heading = _HEADING.match(line)
        if heading:
            module = heading.group(1)
            sections[module] = {}
            continue
        label = next((label for label in _LABELS if line.startswith(label)), None)
        if module is not None and label is not None:
            listed = _without_remarks(line[len(label) :])
            sections[module].setdefault(label, []).extend(re.findall(r"`([\w.]+)`", listed))
    return sections


def _without_remarks(text: str) -> str:
    """The text outside parentheses (remarks may hold backticked calls such as `read()`)."""
    kept, depth = [], 0
    for char in text:
        depth += (char == "(") - (char == ")")
        if depth == 0 and char != ")":
            kept.append(char)
    return "".join(kept)


SECTIONS = _sections()
PROVIDED = [
    (module, name)
    for module, labels in SECTIONS.items()
    for label in ("Provided:", "orc's own:")
    for name in labels.get(label, [])
]


def _import(module: str) -> object:
    return importlib.import_module(module)


def test_the_page_lists_the_modules_users_import() -> None:
    """Every module at a Prefect path has its section, so a new one cannot go unlisted."""
    public = {f"orchestrate.{name}" for name in PUBLIC_MODULES - {"__init__", "_version"}}
    assert {"orchestrate", *public} <= SECTIONS.keys()
    assert len(PROVIDED) > 150


@pytest.mark.parametrize(("module", "name"), PROVIDED, ids=[f"{m}:{n}" for m, n in PROVIDED])
def test_every_listed_name_exists_in_orc(module: str, name: str) -> None:
    value = _import(module)
    for part in name.split("."):
        assert hasattr(value, part), f"docs/prefect.md lists {module}.{name}, which orc lacks"
        value = getattr(value, part)


@pytest.mark.parametrize("module", sorted(SECTIONS))
def test_every_public_name_of_a_module_is_listed(module: str) -> None:
    exported = set(getattr(_import(module), "__all__", ()))
    listed = {
        name.split(".")[0]
        for label in ("Provided:", "orc's own:")
        for name in SECTIONS[module].get(label, [])
    }
    assert exported - listed == set(), f"add these to the `{module}` section of docs/prefect.md"


@pytest.mark.parametrize(
    ("label", "options"), [("Flow options:", FlowOptions), ("Task options:", TaskOptions)]
)
def test_listed_options_are_exactly_the_decorators_keywords(label: str, options: type) -> None:
    listed = [name for labels in SECTIONS.values() for name in labels.get(label, [])]
    assert sorted(listed) == sorted(f.name for f in fields(options))
