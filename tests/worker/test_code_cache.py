"""The zygote's compiled flow files: used only while the file is the one compiled."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrate.worker import code_cache


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    code_cache._code.clear()
    yield
    code_cache._code.clear()


def _run(code: object) -> dict[str, object]:
    namespace: dict[str, object] = {}
    exec(code, namespace)  # type: ignore[arg-type]
    return namespace


def test_a_warmed_file_is_served_compiled_until_it_is_edited(tmp_path: Path) -> None:
    path = tmp_path / "flow.py"
    path.write_text("VALUE = 1\n")
    code_cache.warm([str(path)])
    code = code_cache.cached(str(path))
    assert code is not None and _run(code)["VALUE"] == 1
    assert code_cache.cached(str(path)) is code  # the same object: compiled once

    path.write_text("VALUE = 2\n")  # same size; a new modification time
    assert code_cache.cached(str(path)) is None
    code_cache.warm([str(path)])
    assert _run(code_cache.cached(str(path)))["VALUE"] == 2


def test_an_edit_within_the_same_timestamp_is_still_seen_by_its_size(tmp_path: Path) -> None:
    path = tmp_path / "flow.py"
    path.write_text("VALUE = 1\n")
    stamp = path.stat().st_mtime_ns
    code_cache.warm([str(path)])
    path.write_text("VALUE = 10\n")
    os.utime(path, ns=(stamp, stamp))
    assert code_cache.cached(str(path)) is None


def test_a_file_replaced_by_another_is_not_served_from_the_old_one(tmp_path: Path) -> None:
    path, new = tmp_path / "flow.py", tmp_path / "new.py"
    path.write_text("VALUE = 1\n")
    code_cache.warm([str(path)])
    stamp = path.stat().st_mtime_ns
    new.write_text("VALUE = 2\n")
    os.utime(new, ns=(stamp, stamp))
    new.replace(path)  # as editors save: same name, size and time, another file
    assert code_cache.cached(str(path)) is None


def test_files_that_do_not_compile_or_exist_are_left_to_the_run(tmp_path: Path) -> None:
    broken, gone = tmp_path / "broken.py", tmp_path / "gone.py"
    broken.write_text("def f(:\n")
    code_cache.warm([str(broken), str(gone)])
    assert code_cache.cached(str(broken)) is None
    assert code_cache.cached(str(gone)) is None
    assert code_cache._code == {}


def test_the_cache_keeps_at_most_max_files(tmp_path: Path) -> None:
    paths = []
    for n in range(code_cache.MAX_FILES + 3):
        path = tmp_path / f"f{n}.py"
        path.write_text(f"VALUE = {n}\n")
        paths.append(str(path))
    code_cache.warm(paths)
    assert len(code_cache._code) == code_cache.MAX_FILES
    assert code_cache.cached(paths[-1]) is None  # compiled by its run instead


def test_a_file_too_deep_to_compile_does_not_stop_the_zygote(tmp_path: Path) -> None:
    deep = tmp_path / "deep.py"
    deep.write_text("x = " + "(" * 300 + ")" * 300 + "\n")  # the parser refuses it
    code_cache.warm([str(deep), str(tmp_path / "nul\0.py")])
    assert code_cache.cached(str(deep)) is None
