"""`R`: a form of the deployment's parameters, checked before sending; the daemon's refusal shows in it too."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from orchestrate.client.protocol import DeploymentInfo, FlowRunInfo
from tui.client import CLIENT_ERRORS, describe
from tui.schema import FormField, check_form, form_fields

Submit = Callable[[dict[str, Any]], Awaitable[FlowRunInfo]]


class RunForm(ModalScreen[FlowRunInfo | None]):
    """Asks for each parameter; enter or ctrl+s runs, esc closes without running."""

    DEFAULT_CSS = """
    RunForm { align: center middle; }
    RunForm > VerticalScroll { width: 80%; max-width: 100; height: auto; max-height: 90%;
        border: round $accent; padding: 0 1; background: $surface; }
    RunForm Label.name { margin-top: 1; text-style: bold; }
    RunForm Static.error { color: $error; }
    RunForm Static#refusal { color: $error; margin-top: 1; }
    RunForm Horizontal { height: auto; margin-top: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss_form", "Cancel"),
        Binding("ctrl+s", "submit", "Run"),
    ]

    def __init__(self, deployment: DeploymentInfo, submit: Submit) -> None:
        super().__init__()
        self.deployment = deployment
        self.fields: list[FormField] = form_fields(
            deployment.parameter_schema, deployment.parameters
        )
        self._submit = submit

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(f"[b]Run {self.deployment.name}[/b] with parameters")
            if not self.fields:
                yield Static("This flow takes no parameters.", classes="dim")
            for form_field in self.fields:
                kind = form_field.kind or "any JSON value"
                need = "required" if form_field.required else "optional"
                yield Label(f"{form_field.name}  ({kind}, {need})", classes="name")
                if form_field.description:
                    yield Static(form_field.description, classes="dim")
                yield Input(
                    value=form_field.default_text,
                    placeholder=", ".join(form_field.choices) or kind,
                    id=f"field-{form_field.name}",
                )
                yield Static("", classes="error", id=f"error-{form_field.name}")
            yield Static("", id="refusal")
            with Horizontal():
                yield Button("Run", variant="primary", id="run")
                yield Button("Cancel", id="cancel")

    def typed(self) -> dict[str, str]:
        return {f.name: self.query_one(f"#field-{f.name}", Input).value for f in self.fields}

    @on(Input.Submitted)
    @on(Button.Pressed, "#run")
    def action_submit(self) -> None:
        result = check_form(self.fields, self.typed(), self.deployment.parameter_schema)
        for form_field in self.fields:
            self.query_one(f"#error-{form_field.name}", Static).update(
                result.errors.get(form_field.name, "")
            )
        if not result.ok:
            self.query_one("#refusal", Static).update(
                "Fix the fields marked above; nothing was sent."
            )
            return
        self.query_one("#refusal", Static).update("sending…")
        self._send(result.values)

    @on(Button.Pressed, "#cancel")
    def action_dismiss_form(self) -> None:
        self.dismiss(None)

    @work(exclusive=True, group="run-form")
    async def _send(self, values: dict[str, Any]) -> None:
        try:
            run = await self._submit(values)
        except CLIENT_ERRORS as error:
            self.query_one("#refusal", Static).update(f"The daemon refused: {describe(error)}")
            return
        self.dismiss(run)
