"""The footer, with Help and Quit first: a narrow terminal cuts keys off the right, never these two."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

#: Keys the footer always shows, leftmost.
ALWAYS_SHOWN = ("question_mark", "q")


class KeyFooter(Footer):
    """Textual's footer (the focused pane's keys, then the screen's), Help and Quit moved to the front."""

    def compose(self) -> ComposeResult:
        widgets = list(super().compose())
        first = [w for w in widgets if isinstance(w, FooterKey) and w.key in ALWAYS_SHOWN]
        first.sort(key=lambda w: ALWAYS_SHOWN.index(w.key))
        yield from first
        yield from (w for w in widgets if w not in first)
