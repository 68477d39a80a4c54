"""`load_flow`: every way an entrypoint can be wrong names the file (and line) and the fix."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from orchestrate.core.errors import EntrypointError
from orchestrate.worker.entrypoints import load_flow


def _write(folder: Path, name: str, source: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    return path


def test_loads_a_function_relative_to_the_root_with_sibling_imports(tmp_path: Path) -> None:
    _write(tmp_path, "pipelines/helpers_for_entrypoint_test.py", "FACTOR = 7\n")
    _write(tmp_path, "pipelines/etl.py", """
        from helpers_for_entrypoint_test import FACTOR

        def nightly(days: int = 1) -> int:
            return days * FACTOR
    """)  # fmt: skip
    loaded = load_flow("pipelines/etl.py:nightly", root=tmp_path)
    assert loaded(2) == 14


def test_two_files_with_the_same_name_load_as_different_modules(tmp_path: Path) -> None:
    _write(tmp_path, "a/flows.py", "def f():\n    return 'a'\n")
    _write(tmp_path, "b/flows.py", "def f():\n    return 'b'\n")
    assert load_flow("a/flows.py:f", tmp_path)() == "a"
    assert load_flow("b/flows.py:f", tmp_path)() == "b"


def test_an_entrypoint_without_a_colon(tmp_path: Path) -> None:
    with pytest.raises(EntrypointError, match=r"PATH\.py:FUNCTION"):
        load_flow("examples/etl.py", tmp_path)


def test_a_missing_file_names_the_path_and_the_root(tmp_path: Path) -> None:
    with pytest.raises(EntrypointError) as caught:
        load_flow("examples/etl.py:nightly", tmp_path)
    message = str(caught.value)
    assert message.startswith("examples/etl.py: no such file")
    assert '(entrypoint "examples/etl.py:nightly")' in message
    assert str(tmp_path.resolve()) in message


def test_a_syntax_error_names_file_line_and_column(tmp_path: Path) -> None:
    _write(tmp_path, "bad.py", "def nightly(:\n    pass\n")
    with pytest.raises(
        EntrypointError, match=r"^bad\.py:1:\d+: SyntaxError: .*fix the file"
    ) as caught:
        load_flow("bad.py:nightly", tmp_path)
    assert isinstance(caught.value.__cause__, SyntaxError)


def test_an_import_time_exception_is_named_and_chained(tmp_path: Path) -> None:
    _write(tmp_path, "boom.py", "raise RuntimeError('no database configured')\n")
    with pytest.raises(
        EntrypointError, match=r"boom\.py.*RuntimeError: no database configured"
    ) as caught:
        load_flow("boom.py:nightly", tmp_path)
    assert isinstance(caught.value.__cause__, RuntimeError)


def test_a_missing_function_lists_what_the_file_defines(tmp_path: Path) -> None:
    _write(tmp_path, "etl.py", """
        import os

        def nightly(): ...
        def cleanup(): ...
        def _private(): ...
    """)  # fmt: skip
    with pytest.raises(
        EntrypointError, match=r"etl\.py has no 'weekly'; it defines cleanup, nightly"
    ):
        load_flow("etl.py:weekly", tmp_path)


def test_a_name_that_is_not_callable(tmp_path: Path) -> None:
    _write(tmp_path, "etl.py", "nightly = 3\n")
    with pytest.raises(EntrypointError, match="not a flow or function"):
        load_flow("etl.py:nightly", tmp_path)


def test_a_flow_file_named_like_a_stdlib_module_does_not_shadow_it(tmp_path: Path) -> None:
    # Processes spawned later (Dask's workers) inherit sys.path: `numbers` must stay the stdlib's.
    from importlib.machinery import PathFinder

    _write(tmp_path, "flows/numbers.py", "def count() -> int:\n    return 3\n")
    _write(tmp_path, "flows/helpers_beside_numbers.py", "def f() -> int:\n    return 1\n")
    loaded = load_flow("flows/numbers.py:count", tmp_path)
    assert loaded() == 3
    spec = PathFinder.find_spec("numbers")
    assert spec is not None and spec.origin is not None
    assert not spec.origin.startswith(str(tmp_path)), spec.origin
    sibling = PathFinder.find_spec("helpers_beside_numbers")  # sibling imports still work
    assert sibling is not None
    assert sibling.origin == str(tmp_path / "flows" / "helpers_beside_numbers.py")
