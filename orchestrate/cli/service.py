"""`orc service install/uninstall/status`: `orc up` as a systemd service.

The unit is `Type=notify`: the daemon says READY=1 once its socket answers
and pets the watchdog while its loop runs (`orchestrate.daemon.sd_notify`).
`KillMode=mixed` sends SIGTERM to the daemon alone, which stops its runs
itself within its grace, and the stop timeout is longer than that grace, so
systemd only kills what is left after. Secrets go in the `EnvironmentFile=`
(optional, user-only), never in the unit or flows.toml.
"""

from __future__ import annotations

import getpass
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from orchestrate.cli.options import ProjectOption, project_folder
from orchestrate.core.errors import DaemonError

app = typer.Typer(help="Run orc up as a systemd service.", no_args_is_help=True)

#: Seconds running runs get when systemd stops the service (`orc up --grace`).
GRACE = 30.0
#: systemd waits this much longer than the grace before it kills what is left.
STOP_MARGIN = 30.0
WATCHDOG_SECONDS = 60

UserOption = Annotated[
    bool, typer.Option("--user/--system", help="A user service (default) or a system one.")
]


class NoSystemd(DaemonError):
    """This machine does not run systemd, so no service can be installed."""


@dataclass(frozen=True)
class Unit:
    """Where one project's unit lives and what it says."""

    name: str
    path: Path
    user: bool
    text: str

    def systemctl(self, *args: str) -> list[str]:
        return ["systemctl", *(["--user"] if self.user else []), *args]


def unit_for(root: Path, user: bool) -> Unit:
    """The unit that runs `orc up` for the project at `root`."""
    name = f"orc-{_slug(root)}.service"
    home = Path.home()
    folder = home / ".config/systemd/user" if user else Path("/etc/systemd/system")
    env_file = (
        home / ".config/orc" / f"{_slug(root)}.env" if user else Path(f"/etc/orc/{_slug(root)}.env")
    )
    lines = [
        "[Unit]",
        f"Description=orc daemon for {root}",
        "After=network-online.target",
        "Wants=network-online.target",
        "",
        "[Service]",
        "Type=notify",
        "NotifyAccess=main",
        f"ExecStart={_command(root)}",
        f"WorkingDirectory={root}",
        f"EnvironmentFile=-{env_file}",
        *([] if user else [f"User={getpass.getuser()}"]),
        "Restart=on-failure",
        "RestartSec=5",
        "KillMode=mixed",
        f"TimeoutStopSec={GRACE + STOP_MARGIN:g}",
        f"WatchdogSec={WATCHDOG_SECONDS}",
        "",
        "[Install]",
        f"WantedBy={'default.target' if user else 'multi-user.target'}",
    ]
    return Unit(name, folder / name, user, "\n".join(lines) + "\n")


def _slug(root: Path) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", root.name).strip("-") or "project"


def _command(root: Path) -> str:
    """`…/bin/orc up --project ROOT --grace G`, with the orc of this environment."""
    orc = Path(sys.executable).parent / "orc"
    start = [str(orc)] if orc.exists() else [sys.executable, "-m", "orchestrate.cli"]
    return shlex.join([*start, "up", "--project", str(root), "--grace", f"{GRACE:g}"])


def _require_systemd() -> None:
    if not Path("/run/systemd/system").is_dir() or shutil.which("systemctl") is None:
        raise NoSystemd(
            "this machine does not run systemd (no /run/systemd/system), so orc cannot install "
            "a service here; run `orc up --detach` instead, or see the unit with "
            "`orc service install --dry-run`"
        )


def _systemctl(unit: Unit, *args: str) -> None:
    done = subprocess.run(unit.systemctl(*args), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise DaemonError(
            f"`{shlex.join(unit.systemctl(*args))}` failed: {done.stderr.strip() or done.stdout}"
        )


@app.command("install")
def install(
    project: ProjectOption = None,
    user: UserOption = True,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the unit; change nothing.")
    ] = False,
) -> None:
    """Install and start a systemd unit that runs `orc up` for this project."""
    unit = unit_for(project_folder(project), user)
    if dry_run:
        print(f"# {unit.path}")
        print(unit.text, end="")
        return
    _require_systemd()
    unit.path.parent.mkdir(parents=True, exist_ok=True)
    unit.path.write_text(unit.text)
    _systemctl(unit, "daemon-reload")
    _systemctl(unit, "enable", "--now", unit.name)
    print(f"Installed and started {unit.name} ({unit.path}).")
    print(f"  logs: journalctl {'--user ' if user else ''}-u {unit.name}")
    if user and not os.environ.get("XDG_RUNTIME_DIR"):
        print("  note: to keep it running after you log out: loginctl enable-linger")


@app.command("uninstall")
def uninstall(project: ProjectOption = None, user: UserOption = True) -> None:
    """Stop and remove this project's unit."""
    _require_systemd()
    unit = unit_for(project_folder(project), user)
    if not unit.path.exists():
        print(f"{unit.name} is not installed ({unit.path} does not exist).")
        return
    _systemctl(unit, "disable", "--now", unit.name)
    unit.path.unlink()
    _systemctl(unit, "daemon-reload")
    print(f"Stopped and removed {unit.name}.")


@app.command("status")
def status(project: ProjectOption = None, user: UserOption = True) -> None:
    """Whether this project's unit is installed, enabled and active."""
    _require_systemd()
    unit = unit_for(project_folder(project), user)
    if not unit.path.exists():
        print(f"{unit.name} is not installed; `orc service install` installs it.")
        raise typer.Exit(3)
    shown = subprocess.run(
        unit.systemctl("show", unit.name, "--property=ActiveState,SubState,UnitFileState"),
        capture_output=True,
        text=True,
        check=False,
    )
    print(f"{unit.name} ({unit.path})")
    for line in shown.stdout.splitlines():
        print(f"  {line.replace('=', ': ', 1)}")
