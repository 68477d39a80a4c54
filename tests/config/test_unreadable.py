"""Files that used to crash the loader: each is now a ConfigError that says where and what to do.

The daemon reloads on every save, so any other exception from `load_config`
ended live reload; `orc validate` printed a Python traceback.
"""

from __future__ import annotations

import codecs

import pytest

from orchestrate.config import ConfigError, load_config
from tests.config.conftest import Project

DEPLOYMENT = '[[deployments]]\nname = "a"\nentrypoint = "examples/etl.py:nightly"\n'


def refusal(project: Project, raw: bytes) -> str:
    project.file.write_bytes(raw)
    with pytest.raises(ConfigError) as caught:
        load_config(project.file, environ={})
    return str(caught.value)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(
            b"x = " + b"[" * 500 + b"]" * 500 + b"\n",
            "flows.toml:1:504 arrays and tables nest more than 32 levels deep here; "
            "flatten this value (orc reads at most that many)",
            id="500 nested arrays (RecursionError)",
        ),
        pytest.param(
            b"[[deployments]]\nparameters = { days = " + b"[" * 40 + b"]" * 40 + b" }\n",
            "flows.toml:2:62 deployments[0].parameters.days...: arrays and tables nest more than 32",
            id="40 nested arrays in a parameter",
        ),
        pytest.param(
            (DEPLOYMENT + 'schedules = [{ interval = "99999999999d" }]\n').encode(),
            'flows.toml:4:27 deployments[0].schedules[0].interval: "99999999999d" is too long; '
            "a duration is at most 36525d (about 100 years)",
            id="huge interval (OverflowError)",
        ),
        pytest.param(
            (
                DEPLOYMENT + 'schedules = [{ interval = "1h", anchor = "0001-01-01T00:00:00" }]\n'
            ).encode(),
            'flows.toml:4:42 deployments[0].schedules[0].anchor: "0001-01-01T00:00:00" is out of range; '
            'give an anchor between the years 1900 and 9000, like "2026-01-01T00:00:00"',
            id="anchor in the year 1",
        ),
        pytest.param(
            b"[project]\nevent_retention = 1e300\n",
            "flows.toml:2:19 project.event_retention: 1e+300 is too long; "
            "a duration is at most 36525d (about 100 years)",
            id="huge retention (OverflowError)",
        ),
        pytest.param(
            (DEPLOYMENT + "retries = 99999999999999999999\n").encode(),
            "flows.toml:4:11 deployments[0].retries: 99999999999999999999 is too large; use at most 10000",
            id="huge retries",
        ),
        pytest.param(
            (DEPLOYMENT + "timeout_seconds = 1e308\n").encode(),
            "flows.toml:4:19 deployments[0].timeout_seconds: 1e+308 is too large; use at most 3155760000",
            id="huge timeout",
        ),
        pytest.param(
            (DEPLOYMENT + "retry_delay_seconds = inf\n").encode(),
            "flows.toml:4:23 deployments[0].retry_delay_seconds: inf is not a finite number; "
            "write a number like 30",
            id="infinite retry delay",
        ),
        pytest.param(
            b"[project]\nmax_concurrent_runs = " + b"9" * 4400 + b"\n",
            "flows.toml:2:23 a number has more than 4300 digits; shorten it",
            id="4400-digit number (ValueError)",
        ),
        pytest.param(
            b'[project]\nname = "caf\xe9"\n',
            "flows.toml:2:12 is not UTF-8 text: byte 0xe9 (invalid continuation byte); save it as UTF-8",
            id="Latin-1 text",
        ),
        pytest.param(
            codecs.BOM_UTF16_LE + "[project]\n".encode("utf-16-le"),
            "flows.toml:1:1 is saved as UTF-16; save it as UTF-8 (no BOM)",
            id="UTF-16",
        ),
        pytest.param(
            b'[project]\nname = "x\x00"\n',
            "flows.toml:2:10 not valid TOML: Illegal character '\\x00'",
            id="NUL byte",
        ),
        pytest.param(
            b'[defaults]\ntimezone = "' + b"x" * 5000 + b'"\n',
            'flows.toml:2:12 defaults.timezone: unknown timezone "' + b"x".decode() * 60 + '..."; '
            'use an IANA name like "Europe/Berlin" or "UTC"',
            id="timezone too long for a path (OSError)",
        ),
        pytest.param(
            b'[[automations]]\nname = [1]\ntrigger = { event = "x" }\nactions = []\n',
            "flows.toml:2:8 automations[0].name: expected text in quotes, not an array",
            id="array as automation name (TypeError)",
        ),
    ],
)
def test_unreadable_input_is_a_located_config_error(
    project: Project, raw: bytes, expected: str
) -> None:
    assert refusal(project, raw).splitlines()[0].startswith(expected)


def test_a_utf8_byte_order_mark_is_skipped(project: Project) -> None:
    project.file.write_bytes(codecs.BOM_UTF8 + b'[project]\nname = "bom"\n')
    assert load_config(project.file, environ={}).project.name == "bom"


def test_a_folder_named_flows_toml_is_refused(project: Project) -> None:
    project.file.mkdir()
    with pytest.raises(ConfigError) as caught:
        load_config(project.file, environ={})
    assert (
        str(caught.value)
        == "flows.toml:1:1 cannot be read: it is a folder; flows.toml must be a file"
    )


def test_any_other_exception_becomes_a_config_error_naming_the_file(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last line of defence: a bug in a check still leaves the daemon with its last good config."""

    def broken(*args: object) -> list[object]:
        raise KeyError("boom")

    monkeypatch.setattr("orchestrate.config.loader.disk_issues", broken)
    message = refusal(project, DEPLOYMENT.encode())
    assert message == (
        "flows.toml:1:1 could not be checked (KeyError: 'boom'); this is a bug in orc, please "
        "report it with the file. The last good configuration stays in use"
    )


@pytest.mark.parametrize("depth", [29, 32])
def test_nesting_up_to_the_limit_still_loads(project: Project, depth: int) -> None:
    """32 levels counted from the top of the file: deployments, [0], parameters, days, then arrays."""
    arrays = depth - 4
    text = DEPLOYMENT + f"parameters = {{ x = {'[' * arrays}{']' * arrays} }}\n"
    project.write(text.replace("etl.py:nightly", "kwargs.py:f"))
    (project.root / "examples" / "kwargs.py").write_text("def f(**kwargs): ...\n")
    assert load_config(project.file, environ={}).deployments[0].parameters
