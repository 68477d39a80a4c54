"""The verbs on the selection (r, R, c, x, p): each asks the daemon in a worker and reports the outcome.

Each has a CLI twin (`orc run`, `orc runs cancel`, `orc runs retry`, `orc
deployments pause|resume`, `orc automations pause|resume`, `orc runs resume`
for `p` on a paused run); here the outcome shows as a notification. With
`--readonly` they are switched off.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from textual import work
from textual.screen import Screen

from orchestrate.client.protocol import AutomationInfo, DeploymentInfo, FlowRunInfo, PauseInfo
from tui.client import CLIENT_ERRORS, DashboardClient, describe
from tui.format import TERMINAL_TYPES, short_id
from tui.messages import (
    ActionFailed,
    ActionSucceeded,
    AutomationsChanged,
    DeploymentsChanged,
    RunsChanged,
)
from tui.screens.confirm import ConfirmScreen
from tui.screens.run_form import FormSpec, RunForm
from tui.state import Dashboard

VERBS = frozenset({"run_now", "run_with_parameters", "cancel_run", "retry_run", "pause_resume"})


@dataclass(frozen=True)
class Selection:
    """What the verbs act on: a deployment, a run or an automation, by name or id."""

    kind: Literal["deployment", "run", "automation"]
    key: str


class Verbs(Screen[None]):
    """The verbs, for a screen that knows the client, the dashboard and the selection."""

    client: DashboardClient
    dashboard: Dashboard
    selection: Selection | None
    readonly: bool

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action in VERBS and self.readonly)

    # ---- what the selection points at ---------------------------------------

    def selected_deployment(self) -> DeploymentInfo | None:
        """The selected deployment, or the deployment of the selected run."""
        if self.selection is None:
            return None
        if self.selection.kind == "deployment":
            return self.dashboard.deployments.get(self.selection.key)
        if self.selection.kind == "run":
            run = self.dashboard.runs.get(self.selection.key)
            if run is not None and run.deployment:
                return self.dashboard.deployments.get(run.deployment)
        return None

    def selected_run(self) -> FlowRunInfo | None:
        if self.selection is None or self.selection.kind != "run":
            return None
        return self.dashboard.runs.get(self.selection.key)

    # ---- the verbs ------------------------------------------------------------

    def action_run_now(self) -> None:
        deployment = self.selected_deployment()
        if deployment is None:
            self.notify("Select a deployment (or a run of one) to run it.", severity="warning")
            return
        self.run_deployment(deployment.name)

    def run_deployment(self, name: str, parameters: dict[str, Any] | None = None) -> None:
        """Ask the daemon to run `name` now (the daemon checks the parameters)."""
        if self.readonly:
            self.notify("read-only: runs are not started from here", severity="warning")
            return
        self._call(f"run {name}", self.client.create_run(name, parameters))

    def action_run_with_parameters(self) -> None:
        deployment = self.selected_deployment()
        if deployment is None:
            self.notify("Select a deployment (or a run of one) to run it.", severity="warning")
            return

        async def submit(parameters: dict[str, Any]) -> FlowRunInfo:
            return await self.client.create_run(deployment.name, parameters)

        def done(run: FlowRunInfo | None) -> None:
            if run is not None:
                self.post_message(RunsChanged([run]))
                self.notify(f"Started {run.name} ({short_id(run.id)}) of {deployment.name}.")

        self.app.push_screen(RunForm(deployment, submit), done)

    def action_cancel_run(self) -> None:
        run = self.selected_run()
        if run is None:
            self.notify("Select a run to cancel it.", severity="warning")
            return
        if run.state.type in TERMINAL_TYPES:
            self.notify(
                f"{run.name} already finished ({run.state.name}); nothing to cancel.",
                severity="warning",
            )
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._call(f"cancel {run.name}", self.client.cancel_run(run.id))

        self.app.push_screen(
            ConfirmScreen(f"Cancel run [b]{run.name}[/b] ({run.state.name})?"), answered
        )

    def action_retry_run(self) -> None:
        run = self.selected_run()
        if run is None:
            self.notify("Select a run to retry it.", severity="warning")
            return
        self._call(f"retry {run.name}", self.client.retry_run(run.id))

    def action_pause_resume(self) -> None:
        run = self.selected_run()
        if run is not None and run.state.type == "PAUSED":
            self._ask_resume_input(run)
            return
        if self.selection is None or self.selection.kind == "run":
            self.notify(
                "Select a deployment, an automation or a paused run to pause or resume it.",
                severity="warning",
            )
            return
        name = self.selection.key
        call: Awaitable[object]
        if self.selection.kind == "deployment":
            paused = self.dashboard.deployments[name].paused
            call = (
                self.client.resume_deployment(name)
                if paused
                else self.client.pause_deployment(name)
            )
        else:
            enabled = self.dashboard.automations[name].enabled
            call = (
                self.client.pause_automation(name)
                if enabled
                else self.client.resume_automation(name)
            )
            paused = not enabled
        self._call(f"{'resume' if paused else 'pause'} {name}", call)

    @work(group="verbs")
    async def _ask_resume_input(self, run: FlowRunInfo) -> None:
        """Ask the daemon what the paused `run` waits for, then the person, in the run form."""
        try:
            pause = await self.client.run_pause(run.id)
        except CLIENT_ERRORS as error:
            self.post_message(ActionFailed(f"resume {run.name}", describe(error)))
            return
        self.app.push_screen(RunForm(FormSpec.for_pause(run, pause), self._resume(run, pause)))

    def _resume(self, run: FlowRunInfo, pause: PauseInfo) -> Callable[..., Awaitable[FlowRunInfo]]:
        async def submit(values: dict[str, Any]) -> FlowRunInfo:
            resumed = await self.client.resume_run(run.id, values if pause.input_schema else None)
            self.post_message(RunsChanged([resumed]))
            self.post_message(ActionSucceeded(f"resume {run.name}: {resumed.state.name}"))
            return resumed

        return submit

    @work(group="verbs")
    async def _call(self, summary: str, call: Awaitable[Any]) -> None:
        """Send one verb; the daemon's answer (or refusal) becomes a message."""
        try:
            result = await call
        except CLIENT_ERRORS as error:
            self.post_message(ActionFailed(summary, describe(error)))
            return
        if isinstance(result, FlowRunInfo):
            self.post_message(RunsChanged([result]))
            summary = f"{summary}: {result.name} ({short_id(result.id)}) is {result.state.name}"
        elif isinstance(result, DeploymentInfo):  # paused or resumed: the mark shows at once
            self.post_message(DeploymentsChanged([result]))
        elif isinstance(result, AutomationInfo):
            self.post_message(AutomationsChanged([result]))
        self.post_message(ActionSucceeded(summary))
