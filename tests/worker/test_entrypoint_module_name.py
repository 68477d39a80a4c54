"""A flow file's module name stays what it was: results pickled by reference name it."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from orchestrate.worker.entrypoints import load_flow


def test_a_flow_file_imports_under_the_name_its_real_path_gives(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "my.flows.py").write_text("def f():\n    return 1\n")
    (tmp_path / "link").symlink_to(real)
    loaded = load_flow("link/my.flows.py:f", tmp_path)
    path = os.path.realpath(real / "my.flows.py")
    digest = hashlib.sha1(path.encode()).hexdigest()[:12]
    assert loaded.__module__ == f"orc_entrypoint_my.flows_{digest}"
    assert loaded.__code__.co_filename == path
