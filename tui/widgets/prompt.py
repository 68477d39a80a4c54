"""An input that takes keys only while open: `/` opens it, Enter or Esc leave it.

Closed, it cannot be focused (Tab, Enter and clicks pass it by), so a key
meant for a list is never typed into it: the modal model of lazygit and k9s.
"""

from __future__ import annotations

from textual.suggester import Suggester
from textual.widget import Widget
from textual.widgets import Input


class Prompt(Input):
    """An `Input` that is focusable only between `open()` and `close()`."""

    def __init__(
        self, *, placeholder: str = "", id: str | None = None, suggester: Suggester | None = None
    ) -> None:
        super().__init__(placeholder=placeholder, id=id, suggester=suggester)
        self.can_focus = False
        self.opener: Widget | None = None

    def open(self, opener: Widget | None) -> None:
        """Show it and give it the keys; `opener` gets them back when it closes."""
        self.opener = opener
        self.can_focus = True
        self.add_class("open")
        self.focus()

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
            opener.focus()
        else:
            self.blur()
