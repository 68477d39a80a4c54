"""`call-webhook`: one HTTP request with retries, using the standard library in a worker thread.

urllib in `asyncio.to_thread` keeps orc free of an HTTP client dependency,
and the daemon's loop never blocks on a slow endpoint. Secrets (a URL or
header values `from_env`) are read when the request is made and never appear
in errors, logs or outcome events.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orchestrate._version import __version__
from orchestrate.automations.action_models import CallWebhook
from orchestrate.automations.fields import FromEnv, reveal
from orchestrate.automations.templating import render_value
from orchestrate.errors import ActionFailed

#: Answers worth asking again: the server may be restarting or shedding load.
_RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int | None  # None: no answer at all (refused, timed out)
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def retryable(self) -> bool:
        return self.status is None or self.status in _RETRYABLE


async def call_webhook(
    action: CallWebhook, scope: Mapping[str, Any], default_body: Any, environ: Mapping[str, str]
) -> dict[str, Any]:
    """Sends the request; returns what the outcome event records, or raises ActionFailed."""
    url = reveal(action.url, environ, "call-webhook url")
    shown = f"${action.url.from_env}" if isinstance(action.url, FromEnv) else action.url
    if not url.startswith(("http://", "https://")):
        raise ActionFailed(f"call-webhook: {shown} does not hold an http:// or https:// URL")
    headers = _headers(action, scope, environ)
    payload = (
        default_body if action.payload is None else render_value(action.compiled("payload"), scope)
    )
    body = None if action.method == "GET" else json.dumps(payload, default=str).encode()
    attempts = action.retries + 1
    answer = _Answer(None)
    for attempt in range(attempts):
        answer = await asyncio.to_thread(
            _send, action.method, url, headers, body, action.timeout.total_seconds()
        )
        if answer.ok:
            return {"url": shown, "status": answer.status, "attempts": attempt + 1}
        if not answer.retryable:
            break
        if attempt + 1 < attempts:
            await asyncio.sleep(action.retry_backoff.total_seconds() * 2**attempt)
    raise _failure(action.method, shown, answer, attempt + 1)


def _headers(
    action: CallWebhook, scope: Mapping[str, Any], environ: Mapping[str, str]
) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "User-Agent": f"orc/{__version__}"}
    for name, value in render_value(action.compiled("headers"), scope).items():
        revealed = reveal(value, environ, f"call-webhook header {name}")
        headers[name] = revealed if isinstance(revealed, str) else json.dumps(revealed)
    return headers


def _send(
    method: str, url: str, headers: dict[str, str], body: bytes | None, timeout: float
) -> _Answer:
    request = urllib.request.Request(url, data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(
            request, timeout=timeout
        ) as response:  # http(s) only, checked above
            response.read()
            return _Answer(response.status)
    except urllib.error.HTTPError as e:
        e.close()
        return _Answer(e.code, f"answered {e.code} {e.reason}")
    except urllib.error.URLError as e:
        return _Answer(None, f"could not connect ({e.reason})")
    except (TimeoutError, OSError) as e:
        return _Answer(
            None, f"no answer within {timeout:g}s" if isinstance(e, TimeoutError) else str(e)
        )


def _failure(method: str, shown: str, answer: _Answer, attempts: int) -> ActionFailed:
    tries = "1 attempt" if attempts == 1 else f"{attempts} attempts"
    hint = "" if answer.retryable else " (not retried: the server refused the request itself)"
    details: dict[str, object] = {"url": shown, "status": answer.status, "attempts": attempts}
    return ActionFailed(f"{method} {shown} {answer.problem} after {tries}{hint}", details)
