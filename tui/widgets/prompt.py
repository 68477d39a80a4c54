"""An input that takes keys only while open: `/` opens it, Enter or Esc leave it.

Closed, it cannot be focused (Tab, Enter and clicks pass it by), so a key
meant for a list is never typed into it: the modal model of lazygit and k9s.

Textual hands each key to the widget focused when the app takes it off its
queue, and a binding's action runs later, once the key has reached the
widget and bubbled up: the rest of a burst (`/fail` typed fast) is handed to
the list behind before the input opens. A key that opens a prompt is bound
with `opening_key`, a priority binding: its action runs as the app takes the
key, the prompt takes the focus then (`open`), and every later key reaches
it. Typed into an input, the key is the input's (`typing_into`).

Closing has the same race the other way: Enter and Esc are the input's own
keys, and by the time a binding acted on them the keys typed after them
(`/fail<Enter>j`) were handed to the input too. So the prompt closes on them
as it reads them, in the order typed, and a key that reaches it once closed
goes back to the app, after what the prompt had still to say (its last
`Changed` and `Submitted`), and on to whoever has the focus now.
"""

from __future__ import annotations

from textual import events
from textual.actions import SkipAction
from textual.binding import Binding
from textual.suggester import Suggester
from textual.widget import Widget
from textual.widgets import Input


def opening_key(key: str, action: str, description: str) -> Binding:
    """The binding of a key that opens a prompt: handled before the keys typed after it."""
    return Binding(key, action, description, priority=True)


def typing_into(focused: Widget | None) -> None:
    """In an opening key's action: let an input that has the keys have this one (`/` in a filter)."""
    if isinstance(focused, Input):
        raise SkipAction


class Prompt(Input):
    """An `Input` that is focusable only between `open()` and `close()`."""

    def __init__(
        self, *, placeholder: str = "", id: str | None = None, suggester: Suggester | None = None
    ) -> None:
        super().__init__(placeholder=placeholder, id=id, suggester=suggester)
        self.can_focus = False
        self.opener: Widget | None = None

    def open(self, opener: Widget | None) -> None:
        """Show it and give it the keys; `opener` gets them back when it closes.

        Focused here and now: `focus()` only asks for it after the messages
        already queued, and the keys typed right after the one that opened it
        would go to the widget behind (see `opening_key`).
        """
        self.opener = opener
        self.can_focus = True
        self.add_class("open")
        self.screen.set_focus(self)

    def complete(self) -> None:
        """Tab: take the suggestion shown, if any (Tab never leaves an open input)."""
        self.action_end()
        self.action_cursor_right()  # at the end, this accepts the suggestion

    def close(self, clear: bool) -> None:
        """Give the keys back to whoever opened it (hidden too, if `clear` empties it)."""
        self.can_focus = False
        if clear:
            self.value = ""
        if not self.value:
            self.remove_class("open")
        opener, self.opener = self.opener, None
        if opener is not None and opener.is_attached:
            self.screen.set_focus(opener)  # now: the next key the app takes is the opener's
        else:
            self.blur()

    async def _on_key(self, event: events.Key) -> None:
        """Enter and Esc close it as they come; keys after them go where the focus went."""
        if self.can_focus and event.key not in ("enter", "escape"):
            return  # typed into it (`Input` inserts it)
        event.stop()
        event.prevent_default()
        if not self.can_focus:
            self.call_later(self.app.post_message, events.Key(event.key, event.character))
        elif event.key == "enter":
            self.close(clear=False)  # its owner's handler may still clear it
            await self.action_submit()
        else:
            self.close(clear=True)
