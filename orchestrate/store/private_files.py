"""Files orc writes for users (exports, backups): complete or absent, and readable by the owner only."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def private_file(path: Path) -> Iterator[Path]:
    """A path in a private folder beside `path`; moved to `path` with mode 0600 when done."""
    path.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=".orc-export-", dir=path.parent))  # mode 0700
    partial = folder / path.name
    try:
        yield partial
        os.chmod(partial, 0o600)
        os.replace(partial, path)
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # with any file DuckDB left beside it
