"""The package map of docs/ARCHITECTURE.md holds: no import cycle, one entry to the engine,
a root that shows the public API, and a line in the map for every package."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "orchestrate"

#: The modules at Prefect's paths, the only modules allowed at the root of the package.
PUBLIC_MODULES = {
    "__init__",
    "_version",
    "cache_policies",
    "context",
    "events",
    "exceptions",
    "flow_runs",
    "flows",
    "futures",
    "input",
    "logging",
    "states",
    "task_runners",
    "tasks",
    "transactions",
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import that runs: at module level and inside functions, not under TYPE_CHECKING."""
    for child in ast.iter_child_nodes(tree):
        if isinstance(child, ast.If) and _type_checking(child):
            for node in child.orelse:
                yield from _imported(node)
        elif isinstance(child, ast.Import | ast.ImportFrom):
            yield child
        else:
            yield from _imported(child)


def _resolve(name: str) -> str | None:
    """The module of ours that `name` (a module, or a name inside one) lives in."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str) -> set[str]:
    """The modules of `orchestrate` that `module` imports when it runs."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in _imported(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            targets = [f"{base}.{alias.name}" for alias in node.names]
        found.update(t for t in map(_resolve, targets) if t and t != module)
    return found


GRAPH = {module: imports_of(module) for module in MODULES}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle in `graph` as a path that ends where it starts, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_find_cycle_finds_a_cycle_through_an_import_inside_a_function() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_imports_inside_functions_count_and_type_checking_ones_do_not(tmp_path: Path) -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from orchestrate.flows import Flow\n"
        "def f():\n    from orchestrate.core import states\n"
    )
    names = {
        alias.name
        for node in _imported(ast.parse(source))
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert names == {"TYPE_CHECKING", "states"}


def test_orchestrate_has_no_import_cycle() -> None:
    cycle = find_cycle(GRAPH)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


ENGINE = "orchestrate.engine"


PUBLIC = sorted(
    m
    for m in MODULES
    if m.removeprefix("orchestrate.") in PUBLIC_MODULES
    or m.startswith(("orchestrate.runtime", "orchestrate.utilities"))
)


@pytest.mark.parametrize("module", PUBLIC)
def test_public_modules_reach_the_engine_only_through_its_entry(module: str) -> None:
    inner = sorted(m for m in GRAPH[module] if m.startswith(ENGINE + "."))
    assert not inner, f"{module} imports {inner}; import these names from {ENGINE} instead"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith(ENGINE)))
def test_the_engine_imports_no_public_module(module: str) -> None:
    public = {f"orchestrate.{name}" for name in PUBLIC_MODULES - {"__init__", "_version"}}
    above = sorted(
        m
        for m in GRAPH[module]
        if m in public or m.startswith(("orchestrate.runtime", "orchestrate.utilities"))
    )
    assert not above, f"{module} imports {above}: the public modules are built on the engine"


def test_the_root_holds_only_the_public_modules_and_packages() -> None:
    loose = {p.stem for p in PACKAGE.glob("*.py")}
    assert loose == PUBLIC_MODULES, f"move {sorted(loose - PUBLIC_MODULES)} into a package"


def packages() -> list[str]:
    inside = (module_name(p) for p in PACKAGE.rglob("__init__.py") if p.parent != PACKAGE)
    return [*sorted(inside), "tui"]


def test_every_package_has_its_paragraph_in_architecture_md() -> None:
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    described = set(re.findall(r"^#+ `([\w.]+)`", text, flags=re.M))
    missing = [name for name in packages() if name not in described]
    assert not missing, f"docs/ARCHITECTURE.md has no section for {missing}"
    gone = sorted(described - set(packages()) - {f"orchestrate.{m}" for m in PUBLIC_MODULES})
    assert not gone, f"docs/ARCHITECTURE.md describes {gone}, which no longer exist"
