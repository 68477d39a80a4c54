"""A project folder in `tmp_path` with a flow file, and helpers to write and load its flows.toml."""

from __future__ import annotations

import shutil
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from orchestrate.config import ConfigError, ProjectConfig, load_config

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Project:
    root: Path

    @property
    def file(self) -> Path:
        return self.root / "flows.toml"

    def write(self, text: str) -> Path:
        self.file.write_text(textwrap.dedent(text).lstrip("\n"))
        return self.file

    def load(self, text: str, environ: dict[str, str] | None = None) -> ProjectConfig:
        self.write(text)
        return load_config(self.file, environ={} if environ is None else environ)

    def errors(self, text: str) -> list[str]:
        """Every error line `load_config` reports for `text`."""
        self.write(text)
        with pytest.raises(ConfigError) as caught:
            load_config(self.file, environ={})
        assert str(caught.value) == "\n".join(str(issue) for issue in caught.value.issues)
        return str(caught.value).splitlines()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """`examples/etl.py` (flows `nightly` and `cleanup`) in a fresh folder, which is the cwd."""
    (tmp_path / "examples").mkdir()
    shutil.copy(REPO / "examples" / "etl.py", tmp_path / "examples" / "etl.py")
    monkeypatch.chdir(tmp_path)
    return Project(tmp_path)
