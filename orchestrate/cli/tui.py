"""`orc tui`: the live dashboard, for this project's daemon or one reached over ssh.

Textual and the `tui` package are imported only when this command runs, so
no other `orc` command pays for them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from orchestrate.cli.options import ProjectOption

if TYPE_CHECKING:
    from tui.app import OrcApp

HostOption = Annotated[
    str | None,
    typer.Option(
        "--host",
        help="A daemon on another machine: ssh://user@server or ssh://user@server/path/to/project "
        "(runs `orc dial-stdio` there over ssh; your ssh config, agent and jump hosts apply).",
        show_default=False,
    ),
]
ReadonlyOption = Annotated[
    bool,
    typer.Option(
        "--readonly",
        help="Look only: no run, cancel, retry, pause or resume. With no daemon running, "
        "show the project's store at once (read-only) instead of after a few seconds; "
        "with --host, the store on that server (`orc store-stdio` there, over ssh).",
    ),
]


def tui(
    project: ProjectOption = None, host: HostOption = None, readonly: ReadonlyOption = False
) -> None:
    """Open the dashboard: deployments, live runs and their graphs, logs, automations."""
    dashboard(project, host, readonly).run()


def dashboard(project: Path | None, host: str | None, readonly: bool) -> OrcApp:
    """The app `orc tui` runs: the daemon here or over ssh, and the store's view beside it.

    Over ssh the store's read-only view is read on the far side too (`orc
    store-stdio` through the same ssh), for `--readonly` or a daemon there
    that stays down.
    """
    from orchestrate.cli.options import project_folder
    from tui.app import STORE_AFTER, OrcApp
    from tui.client import Target, daemon_connector, store_connector

    if host is not None and not host.startswith("ssh://"):
        raise typer.BadParameter(
            "give it as ssh://user@server/path/to/project", param_hint="--host"
        )
    root = None if host else project_folder(project)
    target = Target(project=root, host=host)
    hint = start_hint(host) if host else f"orc up --project {root}"
    return OrcApp(
        daemon_connector(target),
        target.label,
        start_hint=hint,
        readonly=readonly,
        store=store_connector(target),
        store_after=0.0 if readonly else STORE_AFTER,
    )


def start_hint(host: str) -> str:
    """The command that starts the daemon a `--host` dashboard asks for: one ssh understands
    (a port as `-p`, not `host:port`), for that project, detached so it outlives the ssh."""
    import shlex

    from orchestrate.client.address import parse_ssh

    address = parse_ssh(host)
    remote = ["orc", "up", "--detach", *(["--project", address.project] if address.project else [])]
    port = ["-p", str(address.port)] if address.port else []
    return shlex.join(["ssh", *port, address.destination, shlex.join(remote)])
