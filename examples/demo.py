"""Runs each example flow once, so a fresh checkout has runs to look at with `orc runs ls`."""

from __future__ import annotations

import asyncio

from async_flow import poll_endpoints
from etl import cleanup, nightly
from fanout import fan_out
from hello import say_hello

if __name__ == "__main__":
    say_hello()
    nightly(days=3)
    fan_out(n=20)
    asyncio.run(poll_endpoints())
    cleanup()
