"""The config fuzzer: every flows.toml input ends in a loaded config or a located ConfigError.

Short by default (about a thousand inputs, seconds). The long run:

    ORC_FUZZ_LONG=1 .venv/bin/pytest tests/fuzz -q

tries tens of thousands and writes its figures to `$ORC_FUZZ_OUT` (default
`<tmp>/orc-fuzz/config.json`): inputs tried per generator, loads, refusals,
failures with the input that caused each. A failure is any other exception,
more than 2 s of CPU for one input, a refusal without a place, or a loaded
file that breaks planning or `orc validate`'s summary; for `orc validate`
itself, an exit other than 0 or 2, or a traceback in its output.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz import config_inputs as inputs
from tests.fuzz.config_runner import Tally, make_project, run_one

LONG = os.environ.get("ORC_FUZZ_LONG") == "1"
SCALE = 25 if LONG else 1
RESULTS = Path(
    os.environ.get("ORC_FUZZ_OUT") or Path(tempfile.gettempdir()) / "orc-fuzz" / "config.json"
)


@pytest.fixture(scope="module")
def results() -> Iterator[dict[str, Any]]:
    """Each test's figures; the long run writes them all to `RESULTS` at the end."""
    figures: dict[str, Any] = {}
    yield figures
    if LONG:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        totals = {"inputs_tried": sum(f.get("inputs_tried", 0) for f in figures.values()),
                  "failures": sum(f.get("failures", 0) for f in figures.values())}  # fmt: skip
        RESULTS.write_text(json.dumps({"long": LONG, **totals, "tests": figures}, indent=2))


@pytest.fixture
def flows_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return make_project(tmp_path)


def _generated(rng: random.Random) -> Iterator[tuple[str, str, bytes]]:
    swaps = list(inputs.type_swaps())
    sampled = swaps if LONG else rng.sample(swaps, 200)
    yield from (("type_swaps", label, raw) for label, raw in sampled)
    yield from (("deep", label, raw) for label, raw in inputs.deep_nesting())
    yield from (("numbers", label, raw) for label, raw in inputs.numbers())
    yield from (("schedules", label, raw) for label, raw in inputs.schedule_texts())
    yield from (("files", label, raw) for label, raw in inputs.special_files())
    yield from (("structural", label, raw) for label, raw in inputs.structural(rng, 150 * SCALE))
    yield from (("bytes", label, raw) for label, raw in inputs.text_mutations(rng, 150 * SCALE))


def _record(results: dict[str, Any], name: str, tally: Tally) -> None:
    results[name] = tally.to_dict()
    shown = "\n".join(f"{f['generator']} {f['input']}: {f['error']}" for f in tally.failures[:10])
    assert not tally.failures, f"{len(tally.failures)} inputs failed:\n{shown}"


def test_every_generated_input_loads_or_is_refused_with_a_place(
    flows_file: Path, results: dict[str, Any]
) -> None:
    tally = Tally()
    for seed in range(4 if LONG else 1):
        for generator, label, raw in _generated(random.Random(seed)):
            run_one(flows_file, label, raw, tally, generator)
    assert tally.loaded and tally.refused, tally.to_dict()  # both outcomes were exercised
    _record(results, "generated", tally)


_SCALARS = (st.booleans() | st.integers() | st.floats() | st.text(max_size=40)
            | st.datetimes() | st.dates() | st.times() | st.sampled_from(inputs.nasty_values()))  # fmt: skip
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
_SEEDS = {name: tomllib.loads(text) for name, text in inputs.seeds().items()}
_PLACES = [(name, path) for name, data in _SEEDS.items() for path in list(inputs.paths(data))[1:]]
_HYPOTHESIS_TALLY = Tally()


@settings(max_examples=3000 if LONG else 150, deadline=None, database=None, derandomize=not LONG,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])  # fmt: skip
@given(place=st.sampled_from(_PLACES), value=_VALUES)
def test_any_value_anywhere_loads_or_is_refused(
    flows_file: Path, results: dict[str, Any], place: tuple[str, tuple[Any, ...]], value: Any
) -> None:
    name, path = place
    raw = inputs.to_toml(inputs.replaced(_SEEDS[name], path, value)).encode()
    tally = _HYPOTHESIS_TALLY
    before = len(tally.failures)
    run_one(flows_file, f"{name} set {path} = {value!r:.200}", raw, tally, "hypothesis")
    results["hypothesis"] = tally.to_dict()
    assert len(tally.failures) == before, tally.failures[-1]


#: Inputs that crashed `orc validate` with a traceback before, and a valid one.
_CLI_CASES = {
    "deep": b"x = " + b"[" * 500 + b"]" * 500 + b"\n",
    "interval": b'[[deployments]]\nname = "a"\nentrypoint = "examples/etl.py:nightly"\n'
    b'schedules = [{ interval = "99999999999d" }]\n',
    "anchor": b'[[deployments]]\nname = "a"\nentrypoint = "examples/etl.py:nightly"\n'
    b'schedules = [{ interval = "1h", anchor = "0001-01-01T00:00:00" }]\n',
    "retention": b'[project]\nevent_retention = "99999999999d"\n',
    "digits": b"[project]\nmax_concurrent_runs = " + b"9" * 4400 + b"\n",
    "utf-16": "[project]\n".encode("utf-16"),
    "bad utf-8": b'[project]\nname = "\xff"\n',
    "automation name": b'[[automations]]\nname = [1]\ntrigger = { event = "x" }\nactions = []\n',
    "parameter": b'[[deployments]]\nname = "a"\nentrypoint = "examples/etl.py:nightly"\n'
    b'parameters = { days = "abc" }\n',
    "valid": inputs.DESIGN_EXAMPLE.encode(),
}
_LOCATED = re.compile(r"^(warning: )?flows\.toml:\d+:\d+ ")


def _orc_validate(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(inputs.REPO), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "orchestrate.cli", "validate"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=60)  # fmt: skip


def test_orc_validate_exits_0_or_2_and_never_prints_a_traceback(
    flows_file: Path, results: dict[str, Any]
) -> None:
    cases = list(_CLI_CASES.items())
    if LONG:
        rng = random.Random(7)
        pool = [(label, raw) for _, label, raw in _generated(rng)]
        cases += rng.sample(pool, 150)
    tally = Tally()
    for label, raw in cases:
        tally.tried["cli"] = tally.tried.get("cli", 0) + 1
        flows_file.write_bytes(raw)
        result = _orc_validate(flows_file.parent)
        tally.loaded += result.returncode == 0
        tally.refused += result.returncode == 2
        problem = _cli_problem(result)
        if problem:
            tally.failures.append({"generator": "cli", "input": label, "error": problem,
                                   "stderr": result.stderr[-1000:]})  # fmt: skip
    _record(results, "cli", tally)


def _cli_problem(result: subprocess.CompletedProcess[str]) -> str | None:
    output = result.stdout + result.stderr
    if "Traceback" in output:
        return "printed a traceback"
    if result.returncode not in (0, 2):
        return f"exit {result.returncode}"
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    if result.returncode == 2 and not all(_LOCATED.match(line) for line in lines[:-1]):
        return "an error line without flows.toml:LINE:COLUMN"
    return None
