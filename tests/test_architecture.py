"""The import rules from DESIGN.md and the public surface, checked in clean interpreters."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "orchestrate"


def modules_loaded_by(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
        env={"ORC_RECORD": "0", "PATH": ""},
    )
    return set(json.loads(out.stdout.splitlines()[-1]))


HEAVY = {"duckdb", "textual", "typer", "rich", "pydantic"}


def test_import_orchestrate_loads_no_heavy_dependency() -> None:
    loaded = modules_loaded_by(
        "import orchestrate\nfrom orchestrate import flow, task, get_run_logger, tags, unmapped, allow_failure, State, emit_event"
    )
    assert not (HEAVY & {m.split(".")[0] for m in loaded})


def test_running_a_flow_with_parameters_loads_no_duckdb_textual_or_typer() -> None:
    loaded = modules_loaded_by(
        "from orchestrate import flow, task\n"
        "@task\ndef t(x): return x\n"
        "@flow\ndef f(n: int): return t(n)\n"
        "assert f('2') == 2"
    )
    assert not ({"duckdb", "textual", "typer"} & {m.split(".")[0] for m in loaded})


def test_a_flow_given_values_of_its_annotated_types_does_not_load_pydantic() -> None:
    # pydantic's first model costs a worker ~100 ms of cold start; it only loads to coerce or refuse.
    flow_code = (
        "from orchestrate import flow\n@flow\ndef f(n: int, s: str | None = None): return n\n"
    )
    assert "pydantic" not in modules_loaded_by(flow_code + "assert f(2, 'x') == 2")
    assert "pydantic" in modules_loaded_by(flow_code + "assert f('2') == 2")


def inside(module: str, packages: tuple[str, ...]) -> bool:
    """Whether `module` is one of `packages` or in one (`orchestrate.client` is not in `orchestrate.cli`)."""
    return any(module == p or module.startswith(p + ".") for p in packages)


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted((PACKAGE / "engine").glob("*.py")), ids=lambda p: p.name)
def test_the_engine_never_imports_daemon_store_cli_or_tui(path: Path) -> None:
    forbidden = (
        "orchestrate.daemon",
        "orchestrate.store",
        "orchestrate.cli",
        "tui",
        "duckdb",
        "textual",
        "typer",
    )
    bad = {name for name in imports_of(path) if inside(name, forbidden)}
    assert not bad, f"{path.name} imports {bad}"


def test_the_engine_names_no_dask_and_loads_no_dask_module() -> None:
    # Dask is an integration built on the engine: the engine runs the same without it.
    files = sorted((PACKAGE / "engine").rglob("*.py"))
    engine = [
        ".".join(("orchestrate", *p.relative_to(PACKAGE).with_suffix("").parts)) for p in files
    ]
    engine = [name.removesuffix(".__init__") for name in engine]
    loaded = modules_loaded_by("\n".join(f"import {name}" for name in engine))
    assert set(engine) <= loaded
    dask_like = ("dask", "distributed", "orchestrate.integrations")
    assert not sorted(m for m in loaded if any(word in m for word in dask_like))
    named = [p.name for p in files if "dask" in p.read_text().lower()]
    assert not named, f"{named} name Dask"


def test_the_store_never_imports_the_engine() -> None:
    for path in (PACKAGE / "store").glob("*.py"):
        bad = {name for name in imports_of(path) if name.startswith("orchestrate.engine")}
        assert not bad, f"{path.name} imports {bad}"


def test_only_the_store_imports_duckdb() -> None:
    for path in PACKAGE.rglob("*.py"):
        if "store" in path.relative_to(PACKAGE).parts:
            continue
        assert "duckdb" not in imports_of(path), f"{path} imports duckdb"


def test_the_public_api_is_pinned() -> None:
    import orchestrate

    assert orchestrate.__all__ == [
        "Flow",
        "PrefectFuture",
        "State",
        "Task",
        "Transaction",
        "__version__",
        "allow_failure",
        "apause_flow_run",
        "aresume_flow_run",
        "asuspend_flow_run",
        "emit_event",
        "flow",
        "get_run_logger",
        "pause_flow_run",
        "resume_flow_run",
        "suspend_flow_run",
        "tags",
        "task",
        "unmapped",
    ]
    for name in orchestrate.__all__:
        assert getattr(orchestrate, name) is not None


@pytest.mark.parametrize(
    ("module", "names"),
    [
        ("orchestrate.tasks", ["exponential_backoff", "task_input_hash", "task", "Task"]),
        (
            "orchestrate.cache_policies",
            ["INPUTS", "TASK_SOURCE", "FLOW_PARAMETERS", "RUN_ID", "NONE", "DEFAULT"],
        ),
        (
            "orchestrate.states",
            [
                "Completed",
                "Failed",
                "Cancelled",
                "Pending",
                "Running",
                "Scheduled",
                "State",
                "StateType",
            ],
        ),
        ("orchestrate.futures", ["wait", "as_completed", "PrefectFuture"]),
        ("orchestrate.task_runners", ["ThreadPoolTaskRunner"]),
        ("orchestrate.logging", ["get_run_logger"]),
        ("orchestrate.runtime", ["flow_run", "task_run"]),
        ("orchestrate.utilities.annotations", ["unmapped", "allow_failure", "quote"]),
        ("orchestrate.exceptions", ["UpstreamTaskError", "FailedRun"]),
    ],
)
def test_prefect_module_paths_exist(module: str, names: list[str]) -> None:
    imported = __import__(module, fromlist=names)
    for name in names:
        assert hasattr(imported, name), f"{module}.{name}"
