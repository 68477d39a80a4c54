"""`R`: a form of the deployment's parameters, checked before sending; the daemon's refusal shows in it too.

`p` on a paused run opens the same form for the input its pause waits for
(the pause's JSON schema, from `runs.pause`), and resumes the run with it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from orchestrate.client.protocol import DeploymentInfo, FlowRunInfo, PauseInfo
from tui.client import CLIENT_ERRORS, describe
from tui.schema import FormField, check_form, form_fields

Submit = Callable[[dict[str, Any]], Awaitable[FlowRunInfo]]


@dataclass(frozen=True)
class FormSpec:
    """What the form asks for: a title, the values' JSON schema and defaults, its verb."""

    title: str
    schema: dict[str, Any] | None
    defaults: dict[str, Any]
    verb: str = "Run"
    nothing_asked: str = "This flow takes no parameters."

    @classmethod
    def for_deployment(cls, deployment: DeploymentInfo) -> FormSpec:
        """A run of `deployment`, with its parameters."""
        return cls(
            f"Run {deployment.name} with parameters",
            deployment.parameter_schema,
            deployment.parameters,
        )

    @classmethod
    def for_pause(cls, run: FlowRunInfo, pause: PauseInfo) -> FormSpec:
        """Resuming the paused run `run` with the input its pause waits for."""
        schema = pause.input_schema
        asked = f" with {schema.get('title', 'its input')}" if schema else ""
        return cls(
            f"Resume {run.name} ({run.state.name}){asked}",
            schema,
            {},
            verb="Resume",
            nothing_asked="This run waits for no input.",
        )


class RunForm(ModalScreen[FlowRunInfo | None]):
    """Asks for each parameter (or input); enter or ctrl+s sends, esc closes without sending."""

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
        Binding("ctrl+s", "submit", "Send"),
    ]

    def __init__(self, spec: DeploymentInfo | FormSpec, submit: Submit) -> None:
        super().__init__()
        if isinstance(spec, DeploymentInfo):
            spec = FormSpec.for_deployment(spec)
        self.spec = spec
        self.fields: list[FormField] = form_fields(spec.schema, spec.defaults)
        self._submit = submit

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(f"[b]{self.spec.title}[/b]")
            if not self.fields:
                yield Static(self.spec.nothing_asked, classes="dim")
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
                yield Button(self.spec.verb, variant="primary", id="run")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        """Typing goes to the first field at once; with none, enter sends (the button has focus)."""
        if self.fields:
            self.query_one(f"#field-{self.fields[0].name}", Input).focus()
        else:
            self.query_one("#run", Button).focus()

    def typed(self) -> dict[str, str]:
        return {f.name: self.query_one(f"#field-{f.name}", Input).value for f in self.fields}

    @on(Input.Submitted)
    @on(Button.Pressed, "#run")
    def action_submit(self) -> None:
        result = check_form(self.fields, self.typed(), self.spec.schema)
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
