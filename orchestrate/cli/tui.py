"""`orc tui`: the live dashboard, for this project's daemon or one reached over ssh.

Textual and the `tui` package are imported only when this command runs, so
no other `orc` command pays for them.
"""

from __future__ import annotations

from typing import Annotated

import typer

from orchestrate.cli.options import ProjectOption

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
        "show the project's store at once (read-only) instead of after a few seconds.",
    ),
]


def tui(
    project: ProjectOption = None, host: HostOption = None, readonly: ReadonlyOption = False
) -> None:
    """Open the dashboard: deployments, live runs and their graphs, logs, automations."""
    from orchestrate.cli.options import project_folder
    from tui.app import STORE_AFTER, OrcApp
    from tui.client import Target, daemon_connector, store_connector

    if host is not None and not host.startswith("ssh://"):
        raise typer.BadParameter(
            "give it as ssh://user@server/path/to/project", param_hint="--host"
        )
    root = None if host else project_folder(project)
    target = Target(project=root, host=host)
    hint = (
        f"ssh {host.removeprefix('ssh://').split('/')[0]} orc up"
        if host
        else f"orc up --project {root}"
    )
    OrcApp(
        daemon_connector(target),
        target.label,
        start_hint=hint,
        readonly=readonly,
        store=store_connector(root) if root is not None else None,
        store_after=0.0 if readonly else STORE_AFTER,
    ).run()
