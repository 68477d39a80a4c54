"""flows.toml inputs for the config fuzzer: mutated seeds, nasty values, deep nesting, raw bytes.

Every generator yields `(label, bytes)`; labels say what was done, so a
failure can be reproduced by hand. Generators take a `random.Random`, so a
run is repeatable from its seed.
"""

from __future__ import annotations

import codecs
import json
import math
import random
import tomllib
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from tests.config.test_load import DESIGN_EXAMPLE

REPO = Path(__file__).resolve().parents[2]

#: Every part of flows.toml at least once: what the mutations start from.
RICH_EXAMPLE = """
[project]
name = "rich"
max_concurrent_runs = 3
watch = ["examples"]
tag_limits = { etl = 2 }
event_retention = "7d"

[defaults]
retries = 1
retry_delay_seconds = 2.5
timezone = "Europe/Berlin"
parameters = { weight = 2.0 }

[[deployments]]
name = "fan"
entrypoint = "examples/fanout.py:fan_out"
parameters = { n = 5 }
schedules = [
  { cron = "*/5 * * * *", day_or = false, timezone = "UTC" },
  { interval = "90s", anchor = "2026-01-01T00:00:00+02:00", parameters = { n = 7 } },
  { rrule = "DTSTART;TZID=Europe/Berlin:20260101T090000\\nRRULE:FREQ=WEEKLY;BYDAY=MO,FR;INTERVAL=2", active = false },
]
paused = true
concurrency_limit = 2
collision_strategy = "skip"
catchup = "all"
timeout_seconds = 60.5
tags = ["etl", "fan"]
env = { MODE = "prod", COUNT = 3, TOKEN = { from_env = "TOKEN" } }
working_dir = "examples"
task_runner = { type = "thread", max_workers = 4 }
triggers = [{ event = "shop.order.*", parameters = { n = "{{ event.payload.n }}" }, cooldown = "1m" }]

[[deployments]]
name = "etl"
entrypoint = "examples/etl.py:nightly"
description = "nightly"
parameters = { days = 3 }

[[automations]]
name = "after-fan"
description = "d"
cooldown = "5m"
trigger = { event = "orc.flow-run.Completed", match = { deployment = "fan" }, threshold = 2, within = "1h" }
actions = [
  { type = "run-deployment", deployment = "etl", parameters = { days = 1 } },
  { type = "pause-deployment", deployment = "fan" },
  { type = "emit-event", event = "shop.etl.alert", payload = { run = "{{ event.resource.id }}" } },
  { type = "run-command", command = ["echo", "{{ event.id }}"], timeout = "30s" },
]
"""


def seeds() -> dict[str, str]:
    """The texts mutations start from: the shipped flows.toml, DESIGN.md's example, a rich one."""
    return {
        "shipped": (REPO / "flows.toml").read_text(),
        "design": DESIGN_EXAMPLE,
        "rich": RICH_EXAMPLE,
    }


_BIG = [0, -1, 1, 2**31, 2**63, 2**64, 10**20, -(10**20), 10**300]
_FLOATS = [0.0, -0.0, 0.5, 1e308, -1e308, 5e-324, math.nan, math.inf, -math.inf]
_TEXTS = ["", " ", "abc", "0", "-5s", "99999999999d", "1e309", "P99999999999W", "PT0S", "\x00",
          "{{ event.id }}", "{{", "x" * 5000, "é\u202e", "\ud7ff", "* * * * * *", "0 0 31 2 *",
          "FREQ=SECONDLY;INTERVAL=0", "FREQ=DAILY;INTERVAL=99999999999", "Mars/Olympus",
          "0001-01-01T00:00:00", "9999-12-31T23:59:59", "2026-02-30T00:00:00", "../../etc/passwd:x",
          "a.py:b", "examples/etl.py:nope"]  # fmt: skip
_DATES: list[Any] = [datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59), date(1, 1, 1),
                     time(23, 59, 59), datetime(2026, 1, 1)]  # fmt: skip


def nasty_values() -> list[Any]:
    """Values of every TOML type that have broken a reader somewhere."""
    return [*_BIG, *_FLOATS, *_TEXTS, *_DATES, True, False, [], [1, "a"], {}, {"a": {"b": []}}]


def to_toml(data: dict[str, Any]) -> str:
    """`data` as TOML: one `key = inline value` line per top-level key (valid for any table)."""
    return "".join(f"{_key(key)} = {_value(value)}\n" for key, value in data.items())


def _key(key: str) -> str:
    return json.dumps(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a lone surrogate comes out as \\ud800: invalid TOML, on purpose
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in `value`, containers included."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths(item, (*prefix, index))


def replaced(data: Any, path: tuple[Any, ...], new: Any, *, delete: bool = False) -> Any:
    """A copy of `data` with the value at `path` replaced by `new` (or deleted)."""
    if not path:
        return new
    head, rest = path[0], path[1:]
    copy = list(data) if isinstance(data, list) else dict(data)
    if delete and not rest:
        del copy[head]
    else:
        copy[head] = replaced(data[head], rest, new, delete=delete)
    return copy


def type_swaps() -> Iterator[tuple[str, bytes]]:
    """Each place of each seed given a value of every other type in turn."""
    swaps = [7, -3, 2.5, "text", True, [1], {"k": 1}, datetime(2026, 1, 1)]
    for name, text in seeds().items():
        data = tomllib.loads(text)
        for path in list(paths(data))[1:]:
            for value in swaps:
                yield (
                    f"{name} swap {path} -> {value!r}",
                    to_toml(replaced(data, path, value)).encode(),
                )


def structural(rng: random.Random, count: int) -> Iterator[tuple[str, bytes]]:
    """Random places of the seeds replaced by nasty values, deleted, or given unknown keys."""
    texts = seeds()
    parsed = {name: tomllib.loads(text) for name, text in texts.items()}
    pool = nasty_values()
    for _ in range(count):
        name = rng.choice(list(parsed))
        data = parsed[name]
        path = rng.choice(list(paths(data))[1:])
        action = rng.random()
        if action < 0.7:
            value = rng.choice(pool)
            label, new = f"{name} set {path} = {_value(value)[:60]}", replaced(data, path, value)
        elif action < 0.85:
            label, new = f"{name} delete {path}", replaced(data, path, None, delete=True)
        else:
            parent = path[:-1]
            target = _at(data, parent)
            if not isinstance(target, dict):
                continue
            label = f"{name} unknown key at {parent}"
            new = replaced(data, parent, {**target, "no_such_key": 1})
        yield label, to_toml(new).encode()


def _at(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


def text_mutations(rng: random.Random, count: int) -> Iterator[tuple[str, bytes]]:
    """Byte-level damage to the seeds: flips, cuts, garbage, BOMs, NULs, bad UTF-8, CRLF."""
    texts = [text.encode() for text in seeds().values()]
    inserts = [codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF32_BE, b"\x00", b"\xff",
               b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\r", b"\x1b[31m", b'"""', b"["]  # fmt: skip
    for _ in range(count):
        raw = bytearray(rng.choice(texts))
        at = rng.randrange(len(raw) + 1)
        kind = rng.randrange(7)
        if kind == 0:
            raw[min(at, len(raw) - 1)] ^= 1 << rng.randrange(8)
        elif kind == 1:
            raw[at:at] = rng.choice(inserts)
        elif kind == 2:
            del raw[at : at + rng.randrange(1, 40)]
        elif kind == 3:
            raw = raw[:at]
        elif kind == 4:
            raw = bytearray(rng.randbytes(rng.randrange(1, 400)))
        elif kind == 5:
            raw = bytearray(rng.choice(inserts[:3])) + raw
        else:
            raw = bytearray(bytes(raw).replace(b"\n", b"\r\n"))
        yield f"bytes kind={kind} at={at}", bytes(raw)


_DEPLOYMENT = '[[deployments]]\nname = "d"\nentrypoint = "examples/etl.py:nightly"\n'


def deep_nesting() -> Iterator[tuple[str, bytes]]:
    """Arrays, inline tables, dotted keys and headers nested around the limit and far past it."""
    for depth in (28, 29, 32, 33, 100, 500, 5000):
        yield f"deep array {depth}", f"x = {'[' * depth}{']' * depth}\n".encode()
        yield f"deep inline {depth}", f"x = {'{a = ' * depth}1{' }' * depth}\n".encode()
        yield f"deep dotted {depth}", f"{'.'.join(['a'] * depth)} = 1\n".encode()
        yield f"deep header {depth}", f"[{'.'.join(['a'] * depth)}]\nb = 1\n".encode()
        yield f"deep array of tables {depth}", f"[[{'.'.join(['a'] * depth)}]]\n".encode()
        nested = "[" * depth + "1" + "]" * depth
        yield (
            f"deep parameter {depth}",
            f"{_DEPLOYMENT}parameters = {{ days = {nested} }}\n".encode(),
        )
        yield f"unclosed {depth}", ("x = " + "[" * depth).encode()


_NUMERIC = [
    ("schedule interval", _DEPLOYMENT + "schedules = [{{ interval = {v} }}]\n"),
    ("schedule anchor", _DEPLOYMENT + 'schedules = [{{ interval = "1h", anchor = {v} }}]\n'),
    ("retries", _DEPLOYMENT + "retries = {v}\n"),
    ("retry delay", _DEPLOYMENT + "retry_delay_seconds = {v}\n"),
    ("timeout", _DEPLOYMENT + "timeout_seconds = {v}\n"),
    ("concurrency", _DEPLOYMENT + "concurrency_limit = {v}\n"),
    ("days", _DEPLOYMENT + "parameters = {{ days = {v} }}\n"),
    ("max runs", "[project]\nmax_concurrent_runs = {v}\n"),
    ("tag limit", "[project]\ntag_limits = {{ etl = {v} }}\n"),
    ("retention", "[project]\nevent_retention = {v}\n"),
    ("max workers", _DEPLOYMENT + 'task_runner = {{ type = "thread", max_workers = {v} }}\n'),
    ("within", '[[automations]]\nname = "a"\ntrigger = {{ event = "x", threshold = 2, within = {v} }}\n'
               'actions = [{{ type = "pause-deployment", deployment = "d" }}]\n' + _DEPLOYMENT),
    ("threshold", '[[automations]]\nname = "a"\ntrigger = {{ event = "x", threshold = {v} }}\n'
                  'actions = [{{ type = "pause-deployment", deployment = "d" }}]\n' + _DEPLOYMENT),
    ("cooldown", '[[automations]]\nname = "a"\ncooldown = {v}\ntrigger = {{ event = "x" }}\n'
                 'actions = [{{ type = "pause-deployment", deployment = "d" }}]\n' + _DEPLOYMENT),
    ("env", _DEPLOYMENT + "env = {{ X = {v} }}\n"),
]  # fmt: skip
_NUMBERS = ["0", "-1", "1", "2147483648", "9223372036854775808", "1" + "0" * 30, "9" * 4400,
            "0x7fffffffffffffff", "1e308", "-1e308", "1e309", "5e-324", "nan", "-inf", "inf", "-0.0",
            '"99999999999d"', '"36526d"', '"P99999999999W"', '"-5s"', '"1e3"', '"0s"', '"9' + "9" * 400 + 's"',
            "0001-01-01T00:00:00", "9999-12-31T23:59:59", '"0001-01-01T00:00:00"', '"9999-12-31T23:59:59-23:59"',
            '"2026-02-30T00:00:00"', "1979-05-27", "07:32:00", "true", "[]", "{}"]  # fmt: skip


def numbers() -> Iterator[tuple[str, bytes]]:
    """Every numeric, duration and date field given huge, tiny, negative, non-finite and odd values."""
    for field, template in _NUMERIC:
        for number in _NUMBERS:
            yield f"{field} = {number[:40]}", template.format(v=number).encode()


_RRULES = ["FREQ=DAILY;INTERVAL=0", "FREQ=DAILY;INTERVAL=-1", "FREQ=YEARLY;INTERVAL=99999999999999",
           "DTSTART:00010101T000000\\nRRULE:FREQ=DAILY", "DTSTART:99991231T235959\\nRRULE:FREQ=SECONDLY",
           "DTSTART;TZID=Nowhere/Else:20260101T000000\\nRRULE:FREQ=DAILY", "FREQ=DAILY;UNTIL=00010101T000000",
           "FREQ=DAILY;COUNT=99999999999999999999", "FREQ=MONTHLY;BYMONTHDAY=31;BYMONTH=2",
           "FREQ=WEEKLY;BYDAY=XX", "FREQ=DAILY;BYHOUR=25", "RRULE:", "FREQ=", "DTSTART:2026\\nRRULE:FREQ=DAILY"]  # fmt: skip
_CRONS = ["99999999999999999999 * * * *", "*/0 * * * *", "0 0 30 2 *", "@reboot", "* * * * * * *",
          "0-59/99999999999 * * * *", "L W * * *", "0 0 * * 8", "0 0 ? * *", "\t", "* * * * MON-SUN/0"]  # fmt: skip


def schedule_texts() -> Iterator[tuple[str, bytes]]:
    """Rules and crons at the edge of what their parsers read."""
    for rule in _RRULES:
        yield f"rrule {rule}", (_DEPLOYMENT + f'schedules = [{{ rrule = "{rule}" }}]\n').encode()
    for cron in _CRONS:
        yield (
            f"cron {cron!r}",
            (_DEPLOYMENT + f"schedules = [{{ cron = {json.dumps(cron)} }}]\n").encode(),
        )


def special_files() -> Iterator[tuple[str, bytes]]:
    """Whole-file oddities: empty, BOMs alone, NULs, a huge file, CRLF, lone surrogates."""
    design = DESIGN_EXAMPLE.encode()
    yield "empty", b""
    yield "utf-8 bom", codecs.BOM_UTF8 + design
    yield "utf-16", codecs.BOM_UTF16_LE + DESIGN_EXAMPLE.encode("utf-16-le")
    yield "utf-32", DESIGN_EXAMPLE.encode("utf-32")
    yield "nul", design.replace(b"demo", b"de\x00mo")
    yield "escaped nul", design.replace(b'"demo"', b'"de\\u0000mo"')
    yield "surrogate", design.replace(b'"demo"', b'"\\ud800"')
    yield "latin-1", 'name = "café"\n'.encode("latin-1")
    yield "crlf", design.replace(b"\n", b"\r\n")
    yield "cr only", design.replace(b"\n", b"\r")
    yield "huge", b"# " + b"x" * 2_000_000 + b"\n" + design
    yield (
        "many deployments",
        b"".join(_DEPLOYMENT.replace('"d"', f'"d{n}"').encode() for n in range(2000)),
    )
