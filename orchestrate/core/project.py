"""Where a project lives on disk: its root folder and the `.orc/` state folder in it.

The root is `$ORC_HOME` if set, else the nearest folder up from the current
one that holds a `flows.toml`, else the current folder.
"""

from __future__ import annotations

import os
from pathlib import Path

CONFIG_FILE = "flows.toml"
STATE_DIR = ".orc"


def project_root(start: Path | None = None) -> Path:
    """The project folder that commands and plain-Python flow runs record into."""
    home = os.environ.get("ORC_HOME")
    if home:
        return Path(home).expanduser().resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    return here


def given_project(given: str | Path, named_by: str = "--project ") -> Path:
    """The folder `--project` (or `named_by`, such as `ORC_HOME=`) names, resolved;
    `NoSuchProject` if it is missing or a file (a mistyped path must not read as a project
    with no runs, nor get a `.orc/` made in it)."""
    from orchestrate.core.errors import NoSuchProject

    folder = Path(given).expanduser().resolve()
    if folder.is_dir():
        return folder
    if folder.exists():
        raise NoSuchProject(
            f"{named_by}{given}: that is a file, not a folder; give the folder that holds "
            f"{CONFIG_FILE} ({named_by}{folder.parent})."
        )
    raise NoSuchProject(f"{named_by}{given}: no such folder.")


def command_project(given: str | Path | None) -> Path:
    """The project a command works on: `--project`, else `$ORC_HOME` (checked alike), else
    the nearest folder with a flows.toml. A plain-Python run still makes `$ORC_HOME`."""
    if given:
        return given_project(given)
    home = os.environ.get("ORC_HOME")
    if home:
        return given_project(home, "ORC_HOME=")
    return project_root()


def state_dir(root: Path, create: bool = True) -> Path:
    """The project's `.orc/` folder, user-only (0700)."""
    path = root / STATE_DIR
    if create and not path.is_dir():
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def store_path(root: Path) -> Path:
    return root / STATE_DIR / "orc.duckdb"


def socket_path(root: Path) -> Path:
    """The daemon's control socket, where clients connect."""
    return root / STATE_DIR / "orc.sock"


def results_dir(root: Path) -> Path:
    return root / STATE_DIR / "results"


def log_path(root: Path) -> Path:
    """Where `orc up --detach` writes the daemon's log (rotated beside it)."""
    return root / STATE_DIR / "orc.log"
