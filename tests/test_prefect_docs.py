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


ROOT = DOC.parent.parent
_MARKERS = re.compile(
    r"unlike prefect|differences from prefect|deliberate difference|prefect fails|prefect opens",
    re.IGNORECASE,
)

#: Each difference another page states, as it words it there, and as the one list words it.
ELSEWHERE: list[tuple[str, str, str]] = [
    (
        "README.md",
        "a cache key computed by a policy",
        "A cache key from a policy belongs to its task",
    ),
    ("README.md", "Prefect fails an async generator", "Where Prefect fails an async generator"),
    (
        "README.md",
        "a timeout counts from the run's start",
        "a timeout cuts only the generator's own code",
    ),
    ("README.md", "`s3://…` is refused", "a URL such as `s3://…` is refused"),
    (
        "docs/operating.md",
        "Differences from Prefect: only a flow run a deployment started",
        "Only a flow run a deployment started under `orc up` can pause",
    ),
    ("docs/operating.md", "subflows do not pause", "subflows do not pause"),
    (
        "docs/operating.md",
        "`suspend_flow_run(flow_run_id=...)` of another run is refused",
        "`suspend_flow_run(flow_run_id=...)` of another run is refused",
    ),
    (
        "docs/operating.md",
        "A *paused* run's worker stops with the daemon",
        "A paused run's worker stops with `orc up`",
    ),
    ("docs/dask.md", "Prefect opens a plain `Client` there", "Prefect opens a plain `Client`"),
    (
        "docs/dask.md",
        "unlike Prefect, a synchronous cluster",
        "a synchronous cluster object is accepted",
    ),
]


def _flat(text: str) -> str:
    return " ".join(text.split())


def _differences() -> str:
    return _flat(DOC.read_text().split("## Deliberate differences, and why", 1)[1])


@pytest.mark.parametrize(("page", "there", "here"), ELSEWHERE, ids=[e[1] for e in ELSEWHERE])
def test_a_difference_stated_elsewhere_is_in_the_one_list(page: str, there: str, here: str) -> None:
    assert there in _flat((ROOT / page).read_text()), f"{page} no longer says {there!r}: update"
    assert here in _differences(), f"docs/prefect.md's differences lack what {page} says: {there!r}"


def test_every_page_that_states_a_difference_is_followed() -> None:
    """A page that says orc differs from Prefect has its wording above, so the list cannot miss it."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    stating = {
        str(p.relative_to(ROOT))
        for p in pages
        if p != DOC and _MARKERS.search(_flat(p.read_text()))
    }
    assert stating <= {page for page, _, _ in ELSEWHERE}
