"""Choosing a task runner from flows.toml, and orc without `distributed` installed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from orchestrate.integrations.dask.runner import KEEP_RESULTS_OVER
from orchestrate.task_runners import ThreadPoolTaskRunner
from orchestrate.worker.runners import InvalidTaskRunnerSpec, task_runner_from_spec

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (None, {"type": "ThreadPoolTaskRunner"}),
        ("thread", {"type": "ThreadPoolTaskRunner"}),
        ({"type": "thread", "max_workers": 8}, {"type": "ThreadPoolTaskRunner", "max_workers": 8}),
        ("dask", {"type": "DaskTaskRunner", "address": None}),
        (
            {
                "type": "dask",
                "address": "tcp://10.0.0.5:8786",
                "client_kwargs": {"timeout": "5s"},
                "keep_results_over": None,  # as a full dump sends it: not set
            },
            {
                "type": "DaskTaskRunner",
                "address": "tcp://10.0.0.5:8786",
                "client_kwargs": {"timeout": "5s"},
                "keep_results_over": KEEP_RESULTS_OVER,
            },
        ),
        (
            {"type": "dask", "cluster_kwargs": {"n_workers": 4}, "adapt_kwargs": {"maximum": 6}},
            {
                "type": "DaskTaskRunner",
                "cluster_kwargs": {"n_workers": 4},
                "adapt_kwargs": {"maximum": 6},
            },
        ),
        (
            {"type": "dask", "cluster_class": "distributed.LocalCluster"},
            {"type": "DaskTaskRunner", "cluster_class": "distributed.LocalCluster"},
        ),
    ],
)
def test_flows_toml_task_runner_settings_become_runners(
    spec: Any, expected: dict[str, Any]
) -> None:
    runner = task_runner_from_spec(spec)
    assert type(runner).__name__ == expected.pop("type")
    for attribute, value in expected.items():
        assert getattr(runner, attribute) == value


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("spark", 'task_runner type \'spark\' is not known; use "thread" or "dask"'),
        ({"address": "tcp://x:8786"}, "task_runner type None is not known"),
        (
            {"type": "dask", "adress": "tcp://x:8786"},
            "does not take adress; it takes adapt_kwargs, address,",
        ),
        (
            {"type": "thread", "address": "tcp://x:8786"},
            "does not take address; it takes max_workers",
        ),
        ({"type": "dask", "address": 8786}, "address must be a string, not 8786"),
        ({"type": "thread", "max_workers": 0}, "max_workers must be 1 or more"),
        ({"type": "thread", "max_workers": True}, "max_workers must be an integer, not True"),
        (["dask"], 'task_runner must be "thread", "dask" or a table'),
        (
            {"type": "dask", "address": "tcp://x:8786", "cluster_kwargs": {"n_workers": 4}},
            "Cannot specify `address` and `cluster`/`cluster_class`/`cluster_kwargs`",
        ),
    ],
)
def test_a_task_runner_setting_that_is_wrong_says_what_to_write(spec: Any, message: str) -> None:
    with pytest.raises(InvalidTaskRunnerSpec) as raised:
        task_runner_from_spec(spec)
    assert message in str(raised.value)
    assert isinstance(raised.value, ValueError)


def test_a_thread_runner_spec_keeps_its_pool_size() -> None:
    runner = task_runner_from_spec({"type": "thread", "max_workers": 3})
    assert isinstance(runner, ThreadPoolTaskRunner) and runner.max_workers == 3


def run_python(*args: str, extra_path: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ORC_RECORD": "0", "ORC_LOGGING_TO_CONSOLE": "0"}
    if extra_path is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(extra_path), str(ROOT)])
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120
    )


def test_importing_the_runners_or_naming_the_dask_one_never_loads_distributed() -> None:
    out = run_python(
        "-c",
        "import sys, json\n"
        "import orchestrate.task_runners as runners\n"
        "from orchestrate import flow, task\n"
        "before = 'distributed' in sys.modules\n"
        "runner = runners.DaskTaskRunner('tcp://127.0.0.1:8786')\n"
        "print(json.dumps([before, 'distributed' in sys.modules, type(runner).__name__]))",
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.splitlines()[-1]) == [False, False, "DaskTaskRunner"]


def test_the_integration_path_and_prefects_path_give_one_runner_class() -> None:
    # Flows written against either path, and a "dask" task_runner in flows.toml, share one
    # class, and naming it by the integration's path loads `distributed` no sooner either.
    out = run_python(
        "-c",
        "import sys, json\n"
        "from orchestrate.integrations.dask import DaskTaskRunner\n"
        "loaded = 'distributed' in sys.modules\n"
        "from orchestrate.task_runners import DaskTaskRunner as by_prefect_path\n"
        "from orchestrate.worker.runners import task_runner_from_spec\n"
        "from_toml = type(task_runner_from_spec('dask'))\n"
        "print(json.dumps([loaded, by_prefect_path is DaskTaskRunner, from_toml is DaskTaskRunner,"
        " DaskTaskRunner.__module__]))",
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.splitlines()[-1]) == [
        False,
        True,
        True,
        "orchestrate.integrations.dask.runner",
    ]


def test_the_integration_exports_its_runner_and_errors() -> None:
    import orchestrate.integrations.dask as dask_integration

    exported = {name: getattr(dask_integration, name) for name in dask_integration.__all__}
    assert issubclass(exported["WorkerLost"], exported["DaskError"])
    assert all(value.__name__ == name for name, value in exported.items())
    with pytest.raises(AttributeError, match="has no attribute 'LocalCluster'"):
        _ = dask_integration.LocalCluster


def test_a_dask_worker_running_an_attempt_loads_no_store_tui_or_cli() -> None:
    out = run_python(
        "-c",
        "import sys, json, cloudpickle\n"
        "from orchestrate import get_run_logger, task\n"
        "from orchestrate.integrations.dask.remote import Attempt, TaskCode, run_attempt\n"
        "from orchestrate.core.records import TaskRunRecord\n"
        "from orchestrate.states import Running\n"
        "@task\n"
        "def body(x):\n"
        "    get_run_logger().info('got %s', x)\n"
        "    return x * 2\n"
        "run = TaskRunRecord('r', 'f', 'body-0', 'body', 0, Running(), 0.0)\n"
        "attempt = Attempt('k', TaskCode.of(body), run, {'x': 21}, False, 20)\n"
        "envelope = run_attempt(cloudpickle.dumps(attempt))\n"
        "heavy = sorted({'duckdb', 'textual', 'typer'} & {m.split('.')[0] for m in sys.modules})\n"
        "print(json.dumps([envelope.value, [r.message for r in envelope.records], heavy]))",
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.splitlines()[-1]) == [42, ["got 21"], []]


@pytest.fixture
def without_distributed(tmp_path: Path) -> Path:
    """A folder for PYTHONPATH whose sitecustomize makes `distributed` impossible to import."""
    (tmp_path / "sitecustomize.py").write_text(
        "import sys\n"
        "class _NoDistributed:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'distributed' or name.startswith('distributed.'):\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, _NoDistributed())\n"
    )
    return tmp_path


def test_without_distributed_a_dask_flow_says_what_to_install(without_distributed: Path) -> None:
    out = run_python(
        "-c",
        "from orchestrate import flow\n"
        "from orchestrate.task_runners import DaskTaskRunner\n"
        "@flow(task_runner=DaskTaskRunner())\n"
        "def pipeline():\n"
        "    return 1\n"
        "state = pipeline(return_state=True)\n"
        "print(state.name, '|', state.message)",
        extra_path=without_distributed,
    )
    assert out.returncode == 0, out.stderr
    assert "Failed | DaskNotInstalled: DaskTaskRunner needs the `distributed` package" in out.stdout
    assert "pip install distributed" in out.stdout  # "orc" on PyPI is another project


def test_without_distributed_the_cluster_tests_skip_with_the_reason(
    without_distributed: Path,
) -> None:
    out = run_python(
        "-m", "pytest", "-o", "addopts=", "-q", "-rs", "-p", "no:cacheprovider",
        "-k", "not without_distributed", "tests/dask",
        extra_path=without_distributed,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    cluster_modules = [
        path for path in (ROOT / "tests" / "dask").glob("test_*.py")
        if "\nneeds_distributed()\n" in path.read_text()
    ]  # fmt: skip
    assert len(cluster_modules) >= 4
    reason = "the Dask task runner needs `distributed` (pip install -e '.[dask]')"
    assert f"SKIPPED [{len(cluster_modules)}] tests/dask/conftest.py" in out.stdout
    assert reason in out.stdout
