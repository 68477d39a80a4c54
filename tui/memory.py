"""Keeping Python's full garbage collections off the dashboard's long-lived objects.

A full collection walks every object the process holds. Once the dashboard
has loaded, most of them (styles, widgets, a thousand runs) live as long as
the app, and a full pass over them takes some 100 ms on a small server: a
freeze the user sees, at moments nobody chose. Freezing what exists once the
dashboard has loaded (`gc.freeze`) keeps later passes to what was made since;
the app thaws it all when it ends, so nothing stays for good.
"""

from __future__ import annotations

import gc

_frozen = False


def freeze_long_lived() -> None:
    """Move every object alive now out of the collector's sight (once per app)."""
    global _frozen
    if not _frozen:
        gc.freeze()
        _frozen = True


def thaw() -> None:
    """Give the frozen objects back to the collector (the app is ending)."""
    global _frozen
    if _frozen:
        gc.unfreeze()
        _frozen = False
