"""A run forked from a warm zygote behaves as a cold one, and a broken zygote costs only speed.

The `project` fixture here is warm: its supervisor forks every worker from a
zygote (it waits for the zygote first, and checks the worker is its child), so
the supervisor's own stop, crash and cancel tests imported below run forked.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrate.daemon import zygotes as zygotes_module
from orchestrate.daemon.supervisor import Supervisor, WorkerHandle
from orchestrate.daemon.zygotes import Zygotes
from orchestrate.worker.spec import RunSpec
from tests.worker.conftest import FLOW_RUN_ID, Project, Recorder
from tests.worker.test_supervisor import (  # noqa: F401  (collected here again, forked)
    test_a_hanging_flow_is_stopped_at_its_timeout_as_timed_out,
    test_a_project_file_named_like_a_standard_module_does_not_shadow_it,
    test_a_run_cancelled_while_its_module_imports_ends_cancelled,
    test_a_worker_killed_from_outside_crashes_the_run,
    test_a_worker_that_exits_without_a_final_state_crashes_the_run,
    test_a_worker_that_ignores_sigterm_is_killed_after_the_grace,
    test_an_async_flow_is_cancelled_by_the_worker_itself,
    test_cancel_kills_the_worker_and_what_the_flow_started,
    test_shutdown_cancels_every_running_worker,
)

SHOW = """
import os, sys
from orchestrate import flow
from orchestrate.runtime import flow_run

@flow
def show():
    print("cwd", os.getcwd(), flush=True)
    print("late", os.environ.get("ORC_TEST_LATE"), flush=True)
    print("token", os.environ.get("ORC_TEST_TOKEN"), flush=True)
    print("run", flow_run.id, flow_run.name, flush=True)
    import sysconfig
    stdlib = os.path.realpath(sysconfig.get_path("stdlib"))
    last_stdlib = max(i for i, p in enumerate(sys.path) if p and os.path.realpath(p).startswith(stdlib))
    print("after stdlib", sys.path[last_stdlib + 1], flush=True)
"""


@pytest.fixture(autouse=True)
def zygote_log_in_caplog(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """The daemon's zygote and supervisor logs reach caplog even after a flow run in this process
    has set orc's loggers not to propagate (as it does for every run)."""
    loggers = [logging.getLogger(f"orc.daemon.{name}") for name in ("zygotes", "supervisor")]
    for logger in loggers:
        logger.addHandler(caplog.handler)
    yield
    for logger in loggers:
        logger.removeHandler(caplog.handler)


def parent_of(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rfind(")") + 2 :].split()[1])


class WarmProject(Project):
    """A project whose runs must be forked from its zygote."""

    async def start(self, entrypoint: str, **fields: object) -> WorkerHandle:
        zygotes = self.supervisor.zygotes
        assert zygotes is not None and await zygotes.warm(str(self.root))
        zygote = zygotes.zygote(str(self.root))
        assert zygote is not None
        handle = await self.supervisor.start(self.spec(entrypoint, **fields))
        # the zygote forked this very worker, now or as a spare (a quick one may already be
        # gone from /proc)
        assert handle.pid is not None and handle.pid in zygote.children, "not forked"
        return handle


@pytest.fixture
async def project(tmp_path: Path) -> WarmProject:  # type: ignore[override]
    recorder = Recorder()
    supervisor = Supervisor(recorder, kill_grace=1.0, warm=True)
    yield WarmProject(tmp_path, recorder, supervisor)  # type: ignore[misc]
    await supervisor.shutdown()


def lines(project: Project, prefix: str) -> list[str]:
    return [
        m[len(prefix) + 1 :] for m in project.recorder.messages("stdout") if m.startswith(prefix)
    ]


async def test_a_forked_run_has_its_own_env_folder_import_path_and_run_context(
    project: WarmProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.write("show.py", SHOW)
    (project.root / "sub").mkdir()
    assert project.supervisor.zygotes is not None
    await project.supervisor.zygotes.warm(str(project.root))
    monkeypatch.setenv("ORC_TEST_LATE", "set after the zygote started")
    exit_ = await project.run(
        "show.py:show", working_dir="sub", env={"ORC_TEST_TOKEN": "from the deployment"}
    )
    assert exit_.returncode == 0 and exit_.final_state.name == "Completed"
    assert lines(project, "cwd") == [str(project.root / "sub")]
    assert lines(project, "late") == ["set after the zygote started"]
    assert lines(project, "token") == ["from the deployment"]
    assert lines(project, "run") == [f"{FLOW_RUN_ID} test-run"]
    assert lines(project, "after stdlib") == [str(project.root)]
    assert "ORC_TEST_TOKEN" not in os.environ  # the daemon's own environment is untouched


async def test_a_source_edit_is_seen_by_the_next_forked_run(project: WarmProject) -> None:
    source = (
        'from orchestrate import flow\n\n@flow\ndef v():\n    print("version {}", flush=True)\n'
    )
    project.write("edited.py", source.format(1))
    await project.run("edited.py:v")
    project.write("edited.py", source.format(2))
    await project.run("edited.py:v", flow_run_id="7f0c1d2e-0000-4000-8000-000000000002")
    assert project.recorder.messages("stdout") == ["version 1", "version 2"]


async def test_a_run_outlives_its_zygote_and_the_next_run_starts_cold(
    project: WarmProject, caplog: pytest.LogCaptureFixture
) -> None:
    project.write(
        "gate.py",
        """
        import os, time
        from orchestrate import flow

        @flow
        def gate():
            print("waiting", flush=True)
            while not os.path.exists("go"):
                time.sleep(0.01)
            print("through", flush=True)
        """,
    )
    handle = await project.start("gate.py:gate")
    await project.recorder.wait_for(lambda rec: "waiting" in rec.messages("stdout"))
    zygotes = project.supervisor.zygotes
    assert zygotes is not None
    zygote = zygotes.zygote(str(project.root))
    assert zygote is not None
    os.kill(zygote.pid, signal.SIGKILL)
    await asyncio.wait_for(zygote.proc.wait(), 10)
    (project.root / "go").touch()
    first = await asyncio.wait_for(handle.wait(), 30)
    assert first.final_state.name == "Completed" and "through" in project.recorder.messages(
        "stdout"
    )

    with caplog.at_level(logging.WARNING, "orc.daemon.zygotes"):
        second = await project.supervisor.start(
            project.spec("gate.py:gate", flow_run_id="7f0c1d2e-0000-4000-8000-000000000002")
        )
        assert second.pid is not None and parent_of(second.pid) == os.getpid()  # cold
        assert (await asyncio.wait_for(second.wait(), 30)).final_state.name == "Completed"
    assert any("exited" in r.getMessage() and "cold" in r.getMessage() for r in caplog.records)
    assert await zygotes.warm(str(project.root))  # and a new one takes its place
    assert zygotes.zygote(str(project.root)) is not zygote


async def test_a_zygote_that_does_not_answer_is_replaced_and_the_run_starts_cold(
    project: WarmProject, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    project.write("show.py", SHOW)
    zygotes = project.supervisor.zygotes
    assert zygotes is not None and await zygotes.warm(str(project.root))
    zygote = zygotes.zygote(str(project.root))
    assert zygote is not None
    os.kill(zygote.pid, signal.SIGSTOP)
    monkeypatch.setattr(zygotes_module, "HEALTH_IDLE", 0.0)
    monkeypatch.setattr(zygotes_module, "PING_TIMEOUT", 0.2)
    with caplog.at_level(logging.WARNING, "orc.daemon.zygotes"):
        handle = await project.supervisor.start(project.spec("show.py:show"))
        exit_ = await asyncio.wait_for(handle.wait(), 30)
    assert exit_.final_state.name == "Completed"
    assert any("ping" in r.getMessage() for r in caplog.records)
    await asyncio.wait_for(zygote.proc.wait(), 10)  # it was stopped for good


async def test_a_preloaded_module_is_shared_and_its_edit_restarts_the_zygote(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "helper.py").write_text("VALUE = 'first'\n")
    (tmp_path / "uses.py").write_text(
        "import sys\nfrom orchestrate import flow\n\n@flow\ndef uses():\n"
        "    print('preloaded', 'helper' in sys.modules, flush=True)\n"
        "    import helper\n    print('value', helper.VALUE, flush=True)\n"
    )
    recorder = Recorder()
    supervisor = Supervisor(recorder, warm=True)
    zygotes = supervisor.zygotes
    assert zygotes is not None
    root, preload = str(tmp_path), ["helper"]
    spec = RunSpec(
        flow_run_id=FLOW_RUN_ID,
        deployment="d",
        entrypoint="uses.py:uses",
        project_root=root,
        preload=preload,
    )
    try:
        assert await zygotes.warm(root, preload)
        first = zygotes.zygote(root, preload)
        await (await supervisor.start(spec)).wait()
        (tmp_path / "helper.py").write_text("VALUE = 'second'\n")
        stat = os.stat(tmp_path / "helper.py")
        os.utime(tmp_path / "helper.py", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
        with caplog.at_level(logging.WARNING, "orc.daemon.zygotes"):
            await (await supervisor.start(spec)).wait()  # cold, while a new zygote warms
        assert await zygotes.warm(root, preload)
        assert zygotes.zygote(root, preload) is not first
        await (await supervisor.start(spec)).wait()
    finally:
        await supervisor.shutdown()
    out = recorder.messages("stdout")
    assert out[0::2] == ["preloaded True", "preloaded False", "preloaded True"]
    assert out[1::2] == ["value first", "value second", "value second"]
    assert any("helper.py changed" in r.getMessage() for r in caplog.records)


async def test_a_preload_that_does_not_import_leaves_runs_cold(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "ok.py").write_text(
        "from orchestrate import flow\n\n@flow\ndef ok():\n    return 1\n"
    )
    recorder = Recorder()
    supervisor = Supervisor(recorder, warm=True)
    spec = RunSpec(
        flow_run_id=FLOW_RUN_ID,
        deployment="d",
        entrypoint="ok.py:ok",
        project_root=str(tmp_path),
        preload=["no_such_module_for_orc"],
    )
    assert supervisor.zygotes is not None
    try:
        with caplog.at_level(logging.WARNING, "orc.daemon.zygotes"):
            assert not await supervisor.zygotes.warm(str(tmp_path), spec.preload)
            exit_ = await (await supervisor.start(spec)).wait()
    finally:
        await supervisor.shutdown()
    assert exit_.final_state.name == "Completed"
    assert any("no_such_module_for_orc" in r.getMessage() for r in caplog.records)


async def test_the_zygote_exits_when_the_daemon_closes_its_end(tmp_path: Path) -> None:
    zygotes = Zygotes()
    assert await zygotes.warm(str(tmp_path))
    zygote = zygotes.zygote(str(tmp_path))
    assert zygote is not None and await zygote.ping()
    zygote.control.close()
    assert await asyncio.wait_for(zygote.proc.wait(), 10) == 0
    await zygotes.close()


def test_the_zygote_is_single_threaded_and_lean_after_preloading() -> None:
    code = (
        "import sys, threading\n"
        "from orchestrate.worker import zygote\n"
        "assert zygote._preload(['json']) is None\n"
        "print(threading.active_count(), sorted({'duckdb', 'textual', 'typer'} & set(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split(maxsplit=1) == ["1", "[]\n"]


async def test_a_zygote_that_dies_taking_a_fork_falls_back_to_cold_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "dies_forking.py").write_text("import os\n\nos.fork = lambda: os._exit(3)\n")
    (tmp_path / "ok.py").write_text(
        "from orchestrate import flow\n\n@flow\ndef ok():\n    return 1\n"
    )
    monkeypatch.setattr(zygotes_module, "FORK_TIMEOUT", 60.0)  # the fallback must not wait on it
    recorder = Recorder()
    supervisor = Supervisor(recorder, warm=True)
    assert supervisor.zygotes is not None
    spec = RunSpec(
        flow_run_id=FLOW_RUN_ID,
        deployment="d",
        entrypoint="ok.py:ok",
        project_root=str(tmp_path),
        preload=["dies_forking"],
    )
    try:
        assert await supervisor.zygotes.warm(str(tmp_path), spec.preload)
        with caplog.at_level(logging.WARNING, "orc.daemon.zygotes"):
            async with asyncio.timeout(15):
                handle = await supervisor.start(spec)
                exit_ = await handle.wait()
    finally:
        await supervisor.shutdown()
    assert exit_.final_state.name == "Completed" and exit_.returncode == 0
    assert any("failed to fork" in r.getMessage() for r in caplog.records)


DETACHING = """
import subprocess, time
from orchestrate import flow

@flow
def detach():
    child = subprocess.Popen(["sleep", "600"], start_new_session=True)
    print(f"child {child.pid}", flush=True)
    time.sleep(600)
"""


@pytest.mark.parametrize("mode", ["cgroup", "subreaper"])
@pytest.mark.parametrize("stop", ["cancel", "timeout"])
async def test_cancel_and_timeout_of_a_forked_run_take_its_detached_children(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str, stop: str
) -> None:
    from orchestrate.daemon.scope import RunScopes
    from tests.worker.test_supervisor import process_gone, wait_until_gone

    if mode == "subreaper":
        monkeypatch.setenv("ORC_NO_CGROUP", "1")
    scopes = RunScopes(tmp_path)
    assert mode == "cgroup" or not scopes.uses_cgroup
    recorder = Recorder()
    project = WarmProject(
        tmp_path, recorder, Supervisor(recorder, kill_grace=1.0, scopes=scopes, warm=True)
    )
    project.write("detaching.py", DETACHING)
    try:
        timeout = 2.0 if stop == "timeout" else None
        handle = await project.start("detaching.py:detach", timeout_seconds=timeout)
        line = await recorder.wait_for(
            lambda rec: next((m for m in rec.messages("stdout") if m.startswith("child ")), None)
        )
        child = int(line.split()[1])
        exit_ = await (handle.cancel("enough") if stop == "cancel" else handle.wait())
        await wait_until_gone(child, timeout=10.0)
        assert process_gone(handle.pid or 0)
        assert exit_.final_state.name == ("Cancelled" if stop == "cancel" else "TimedOut")
    finally:
        await project.supervisor.shutdown()
        scopes.close()


async def _spare_waiting(zygotes: Zygotes, root: Path) -> int:
    """The pid of the spare waiting for the next run of `root` (waits up to 10 s for one)."""
    async with asyncio.timeout(10):
        while True:
            rows = [r for r in zygotes.report() if r["folder"] == str(root) and r["spare"]]
            if rows:
                spare = zygotes._spares[(zygotes.python, str(root), ())][0]  # the next taken
                return spare.proc.pid
            await asyncio.sleep(0.01)  # polling a condition with a deadline, not a race


async def test_a_run_given_to_a_spare_has_its_own_env_folder_context_and_sees_edits(
    project: WarmProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.write("show.py", SHOW)
    (project.root / "sub").mkdir()
    zygotes = project.supervisor.zygotes
    assert zygotes is not None and await zygotes.warm(str(project.root))
    spare = await _spare_waiting(zygotes, project.root)
    monkeypatch.setenv("ORC_TEST_LATE", "set after the spare was forked")
    handle = await project.start(
        "show.py:show", working_dir="sub", env={"ORC_TEST_TOKEN": "from the deployment"}
    )
    assert handle.pid == spare  # the spare took it
    exit_ = await asyncio.wait_for(handle.wait(), 30)
    assert exit_.returncode == 0 and exit_.final_state.name == "Completed"
    assert lines(project, "cwd") == [str(project.root / "sub")]
    assert lines(project, "late") == ["set after the spare was forked"]
    assert lines(project, "token") == ["from the deployment"]
    assert lines(project, "run") == [f"{FLOW_RUN_ID} test-run"]
    assert lines(project, "after stdlib") == [str(project.root)]

    project.write("show.py", SHOW.replace('"cwd"', '"edited cwd"'))
    next_spare = await _spare_waiting(zygotes, project.root)  # forked before the edit
    second = await project.start("show.py:show", flow_run_id="7f0c1d2e-0000-4000-8000-000000000002")
    assert second.pid == next_spare
    assert (await asyncio.wait_for(second.wait(), 30)).final_state.name == "Completed"
    assert lines(project, "edited cwd") == [str(project.root)]


async def test_a_spare_of_a_replaced_zygote_is_killed_not_used(project: WarmProject) -> None:
    project.write("show.py", SHOW)
    zygotes = project.supervisor.zygotes
    assert zygotes is not None and await zygotes.warm(str(project.root))
    spare = await _spare_waiting(zygotes, project.root)
    zygote = zygotes.zygote(str(project.root))
    assert zygote is not None
    os.kill(zygote.pid, signal.SIGKILL)
    await asyncio.wait_for(zygote.proc.wait(), 10)
    handle = await project.supervisor.start(project.spec("show.py:show"))
    assert handle.pid is not None and handle.pid != spare and handle.pid not in zygote.children
    assert (await asyncio.wait_for(handle.wait(), 30)).final_state.name == "Completed"
    async with asyncio.timeout(10):
        while _alive(spare):
            await asyncio.sleep(0.01)  # polling a condition with a deadline


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return False


def _threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


async def test_a_spare_has_started_its_record_sinks_thread_before_its_run(
    project: WarmProject,
) -> None:
    """Starting a thread waits for it to be scheduled (milliseconds on a loaded machine):
    a spare pays that while it waits, not after its run arrives."""
    project.write("show.py", SHOW)
    zygotes = project.supervisor.zygotes
    assert zygotes is not None and await zygotes.warm(str(project.root))
    spare = await _spare_waiting(zygotes, project.root)
    async with asyncio.timeout(10):
        while _threads(spare) < 2:  # its main thread and the record sink's (which also watches)
            await asyncio.sleep(0.01)  # polling a condition with a deadline
    handle = await project.start("show.py:show")
    assert handle.pid == spare
    exit_ = await asyncio.wait_for(handle.wait(), 30)
    assert exit_.final_state.name == "Completed"
    assert lines(project, "run") == [f"{FLOW_RUN_ID} test-run"]


THREADS = """
import os
from orchestrate import flow


@flow
def threads() -> None:
    print("threads", len(os.listdir("/proc/self/task")))
"""


async def test_a_forked_worker_runs_its_flow_beside_one_thread_of_its_own(
    project: WarmProject,
) -> None:
    """The record sink's thread also watches for the daemon hanging up: a second thread cost
    every forked run ~0.1 ms of CPU and ~15 copied pages of its zygote."""
    project.write("threads.py", THREADS)
    exit_ = await project.run("threads.py:threads")
    assert exit_.final_state.name == "Completed"
    assert lines(project, "threads") == ["2"]  # the flow's (the main one) and the sink's


async def test_runs_started_back_to_back_each_take_a_spare_that_was_waiting(
    project: WarmProject,
) -> None:
    """A burst of runs waits for no fork and no cgroup move: each takes a spare made before."""
    project.write("show.py", SHOW)
    zygotes = project.supervisor.zygotes
    assert zygotes is not None and await zygotes.warm(str(project.root))
    key = (zygotes.python, str(project.root), ())
    async with asyncio.timeout(10):
        while len(zygotes._spares.get(key, [])) < zygotes_module.SPARES:
            await asyncio.sleep(0.01)  # polling a condition with a deadline
    waiting = [spare.proc.pid for spare in zygotes._spares[key]]
    handles = [
        await project.start("show.py:show", flow_run_id=f"7f0c1d2e-0000-4000-8000-00000000010{i}")
        for i in range(len(waiting))
    ]
    assert [handle.pid for handle in handles] == waiting
    for handle in handles:
        assert (await asyncio.wait_for(handle.wait(), 30)).final_state.name == "Completed"


def test_a_flow_with_tasks_imports_no_orc_module_after_the_fork() -> None:
    """What a run of a flow with tasks loads on its first task (the task engine and what it
    imports: ~10 ms of CPU in every forked worker) is loaded once, in the zygote."""
    code = (
        "import sys\n"
        "from orchestrate.worker import zygote\n"
        "assert zygote._preload([]) is None\n"
        "before = set(sys.modules)\n"
        "from orchestrate import flow, task, get_run_logger\n"
        "from orchestrate.recording import set_sink\n"
        "class Null:\n"
        "    def put(self, record): pass\n"
        "set_sink(Null())\n"
        "@task\n"
        "def one(i): return i\n"
        "@flow\n"
        "def run(i: int = 1):\n"
        "    get_run_logger().info('x')\n"
        "    return one(i) + one.submit(i).result() + sum(f.result() for f in one.map([1, 2]))\n"
        "assert run() == 5\n"
        "print(sorted(m for m in set(sys.modules) - before if m.startswith('orchestrate')))\n"
    )
    env = {**os.environ, "ORC_LOGGING_TO_CONSOLE": "0"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "[]\n"


async def test_a_spare_killed_just_before_it_takes_its_run_is_replaced_not_crashed(
    project: WarmProject, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Killed from outside between the daemon's liveness check and the hand-over of its run
    (~1 ms), the spare never ran anything of it: another worker takes the run."""
    from orchestrate.daemon import spares as spares_module

    project.write("show.py", SHOW)
    zygotes = project.supervisor.zygotes
    assert zygotes is not None and await zygotes.warm(str(project.root))
    spare = await _spare_waiting(zygotes, project.root)
    give = spares_module.Spare.give
    killed: list[int] = []

    def give_to_a_dead_spare(self: spares_module.Spare, env: dict[str, str], cwd: str) -> None:
        if not killed:  # the first hand-over only: the kill lands right before it
            killed.append(self.proc.pid)
            os.kill(self.proc.pid, signal.SIGKILL)
            # Until the zygote has reaped it: its threads, and so its ends of its pipes, are
            # gone (polled, with a deadline).
            deadline = time.monotonic() + 10
            while os.path.exists(f"/proc/{self.proc.pid}") and time.monotonic() < deadline:
                time.sleep(0.005)
        give(self, env, cwd)

    monkeypatch.setattr(spares_module.Spare, "give", give_to_a_dead_spare)
    handle = await project.start("show.py:show")
    exit_ = await asyncio.wait_for(handle.wait(), 30)
    assert killed == [spare]
    assert exit_.final_state.name == "Completed" and exit_.returncode == 0, (
        exit_.final_state.message,
        project.recorder.messages("stderr"),
    )
    assert handle.pid is not None and handle.pid != spare
    assert lines(project, "run") == [f"{FLOW_RUN_ID} test-run"]
    started = [
        e.payload["pid"] for e in project.recorder.events() if e.event == "orc.worker.started"
    ]
    assert started == [handle.pid]  # the dead spare is not announced as the run's worker
    assert any(
        f"spare worker {spare}" in r.getMessage() and "another worker" in r.getMessage()
        for r in caplog.records
    )


COMPILED = """
from orchestrate import flow
from orchestrate.worker import code_cache

@flow
def v():
    code = code_cache.cached(__file__)
    ours = code is not None and any(c is v.fn.__code__ for c in code.co_consts)
    print("version {}", "compiled by the zygote" if ours else "compiled here", flush=True)
"""


async def test_a_forked_run_execs_its_flow_file_as_the_zygote_compiled_it_until_edited(
    project: WarmProject,
) -> None:
    zygotes = project.supervisor.zygotes
    assert zygotes is not None
    zygotes.spares = False  # each run forked on request, with its file named in the request
    project.write("compiled.py", COMPILED.format(1))
    await project.run("compiled.py:v")
    project.write("compiled.py", COMPILED.format(2) + "# longer\n")
    await project.run("compiled.py:v", flow_run_id="7f0c1d2e-0000-4000-8000-000000000002")
    assert project.recorder.messages("stdout") == [
        "version 1 compiled by the zygote",
        "version 2 compiled by the zygote",  # compiled again by the zygote before the fork
    ]


async def test_spares_forked_after_a_run_exec_its_flow_file_as_the_zygote_compiled_it(
    project: WarmProject,
) -> None:
    project.write("compiled.py", COMPILED.format(1))
    for n in range(6):
        await project.run("compiled.py:v", flow_run_id=f"7f0c1d2e-0000-4000-8000-00000000001{n}")
    said = project.recorder.messages("stdout")
    # the spares forked before the first run compile the file themselves; later ones do not
    assert said[0] == "version 1 compiled here"
    assert said[-1] == "version 1 compiled by the zygote"


async def test_a_run_waiting_for_a_spare_takes_the_first_one_made_not_the_whole_refill(
    project: WarmProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no spare ready, a run waits for the one being forked, alone. The refill then
    forks the rest together; the run used to wait for those too (a second fork, cgroup
    moves: ~20-50 ms on a loaded machine, every time runs came faster than spares)."""
    first_round, later_rounds = asyncio.Event(), asyncio.Event()
    real_fork_spares = zygotes_module.fork_spares

    async def fork_spares(zygote: object, scopes: object, count: int) -> object:
        await (first_round if count == 1 else later_rounds).wait()
        return await real_fork_spares(zygote, scopes, count)  # type: ignore[arg-type]

    monkeypatch.setattr(zygotes_module, "fork_spares", fork_spares)
    zygotes = project.supervisor.zygotes
    assert zygotes is not None and await zygotes.warm(str(project.root))
    waiting = asyncio.create_task(zygotes.spare(zygotes.python, str(project.root), ()))
    first_round.set()
    try:
        spare = await asyncio.wait_for(waiting, 3.0)  # the refill's rest waits until released
        assert spare is not None
        await spare.drop(zygotes.scopes)
    finally:
        later_rounds.set()


async def test_a_zygote_replaced_while_a_round_was_forking_still_gets_a_full_pool(
    project: WarmProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A round of the old zygote still under way when the new one starts is counted as
    coming; when it ends (its spares dropped), the new zygote's pool is filled the rest of
    the way, with no run needed to set that off."""
    held, rounds = asyncio.Event(), []
    real_fork_spares = zygotes_module.fork_spares

    async def fork_spares(zygote: object, scopes: object, count: int) -> object:
        rounds.append(zygote)
        spares = await real_fork_spares(zygote, scopes, count)  # type: ignore[arg-type]
        if len(rounds) == 1:
            await held.wait()  # forked, and not back yet when the zygote is replaced
        return spares

    monkeypatch.setattr(zygotes_module, "fork_spares", fork_spares)
    zygotes = project.supervisor.zygotes
    assert zygotes is not None and await zygotes.warm(str(project.root))
    key = (zygotes.python, str(project.root), ())
    async with asyncio.timeout(10):
        while not rounds:
            await asyncio.sleep(0.01)  # polling a condition with a deadline
    await zygotes._retire(key, zygotes._ready[key])
    assert await zygotes.warm(str(project.root))
    async with asyncio.timeout(10):  # the new zygote's own rounds are over; the old one's is not
        while len(zygotes._spares.get(key, [])) < zygotes_module.SPARES - 1:
            await asyncio.sleep(0.01)  # polling a condition with a deadline
    assert zygotes._forking.get(key) == 1
    held.set()
    async with asyncio.timeout(10):
        while len(zygotes._spares.get(key, [])) < zygotes_module.SPARES:
            await asyncio.sleep(0.01)  # polling a condition with a deadline
    assert all(spare.zygote is zygotes._ready[key] for spare in zygotes._spares[key])
