"""`call-webhook`: one HTTP request with retries, on the daemon's event loop.

Requests go through one `httpx.AsyncClient` per `Webhooks` sender, never a
thread: the daemon's thread pool serves store reads, and six slow endpoints
once filled it so `orc runs ls` timed out. Each attempt has a total deadline
(the action's `timeout`), and at most `limit` requests are in flight at
once; the rest wait their turn on an asyncio semaphore, which costs the loop
nothing. Secrets (a URL or header values `from_env`) are read when the
request is made and never appear in errors, logs or outcome events.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from orchestrate._version import __version__
from orchestrate.automations.action_models import CallWebhook
from orchestrate.automations.fields import FromEnv, reveal
from orchestrate.automations.templating import render_value
from orchestrate.core.errors import ActionFailed

#: Requests in flight at once across every automation; more wait their turn.
DEFAULT_LIMIT = 8

#: Answers worth asking again: the server may be restarting or shedding load.
_RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})

if TYPE_CHECKING:
    import httpx


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


@dataclass(frozen=True, slots=True)
class _Request:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None
    timeout: float


class Webhooks:
    """Sends webhook requests on the running loop: one connection pool, `limit` in flight at once."""

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self.limit = limit
        self._slots = asyncio.Semaphore(limit)
        self._pool: httpx.AsyncClient | None = None

    def _client(self) -> httpx.AsyncClient:
        """The connection pool, made at the first request: a daemon without webhooks never
        loads httpx (about 10 MB of memory it would hold for months)."""
        if self._pool is None:
            import httpx

            # httpx logs each request's URL at INFO; a URL may be a secret read `from_env`.
            logging.getLogger("httpx").setLevel(logging.WARNING)
            logging.getLogger("httpcore").setLevel(logging.WARNING)
            self._pool = httpx.AsyncClient(
                follow_redirects=True,  # as urllib did; httpx drops Authorization on a cross-origin hop
                limits=httpx.Limits(
                    max_connections=self.limit, max_keepalive_connections=self.limit
                ),
            )
        return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()

    async def __aenter__(self) -> Webhooks:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def send(self, request: _Request) -> _Answer:
        """One attempt; waits for a free slot first (the wait does not count toward the timeout)."""
        import httpx

        async with self._slots:
            try:
                async with asyncio.timeout(request.timeout):
                    response = await self._client().request(
                        request.method,
                        request.url,
                        headers=request.headers,
                        content=request.body,
                        timeout=request.timeout,
                    )
            except (TimeoutError, httpx.TimeoutException):
                return _Answer(None, f"no answer within {request.timeout:g}s")
            except (httpx.HTTPError, httpx.InvalidURL, ValueError) as e:
                # The message of a transport error may quote the URL, which may be a secret.
                return _Answer(None, f"could not connect ({type(e).__name__})")
        if response.is_success:
            return _Answer(response.status_code)
        return _Answer(
            response.status_code, f"answered {response.status_code} {response.reason_phrase}"
        )


async def call_webhook(
    action: CallWebhook,
    scope: Mapping[str, Any],
    default_body: Any,
    environ: Mapping[str, str],
    sender: Webhooks,
) -> dict[str, Any]:
    """Sends the request; returns what the outcome event records, or raises ActionFailed."""
    url = reveal(action.url, environ, "call-webhook url")
    shown = f"${action.url.from_env}" if isinstance(action.url, FromEnv) else action.url
    if not url.startswith(("http://", "https://")):
        raise ActionFailed(f"call-webhook: {shown} does not hold an http:// or https:// URL")
    payload = (
        default_body if action.payload is None else render_value(action.compiled("payload"), scope)
    )
    body = None if action.method == "GET" else json.dumps(payload, default=str).encode()
    request = _Request(
        action.method, url, _headers(action, scope, environ), body, action.timeout.total_seconds()
    )
    attempts = action.retries + 1
    answer = _Answer(None)
    for attempt in range(attempts):
        answer = await sender.send(request)
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
        _check_header(name, headers[name])
    return headers


def _check_header(name: str, value: str) -> None:
    """Refuse, before any attempt, a header value HTTP cannot carry; it is never quoted (it
    may be a secret). Sent, it failed every retry as 'could not connect'."""
    where = f"call-webhook header {name!r}"  # its name was checked with the config
    if any(c in value for c in "\r\n\0"):
        raise ActionFailed(
            f"{where}: its value holds a line break or NUL (from the event or the environment?), "
            "which a header cannot carry; put such text in the payload instead"
        )
    if not value.isascii():
        raise ActionFailed(
            f"{where}: its value holds a character HTTP headers cannot carry (only ASCII is "
            "sent); put such text in the payload instead"
        )


def _failure(method: str, shown: str, answer: _Answer, attempts: int) -> ActionFailed:
    tries = "1 attempt" if attempts == 1 else f"{attempts} attempts"
    hint = "" if answer.retryable else " (not retried: the server refused the request itself)"
    details: dict[str, object] = {"url": shown, "status": answer.status, "attempts": attempts}
    return ActionFailed(f"{method} {shown} {answer.problem} after {tries}{hint}", details)
