"""What the terminal can show: colour, or none (`NO_COLOR`, `TERM=dumb`).

Textual honours `NO_COLOR` by painting in greys (still colour codes) and,
when Rich finds no colour system (`TERM=dumb` or `unknown`), falls back to
24-bit colour. Neither is what the person asked for: no-color.org asks for
no ANSI colour at all, and a dumb terminal cannot be assumed to take any.
Such terminals get the screen without colour codes; states still read by
their glyphs (✔ ✘ ⟳ ◷) and the cursor by reverse video.
"""

from __future__ import annotations

from collections.abc import Mapping

DUMB_TERMS = frozenset({"dumb", "unknown"})


def wants_no_colour(environ: Mapping[str, str]) -> bool:
    """`NO_COLOR` set (to anything, as no-color.org says), or a terminal that claims no abilities."""
    return "NO_COLOR" in environ or environ.get("TERM", "").strip().lower() in DUMB_TERMS
