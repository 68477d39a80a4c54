"""A deployed generator flow has no caller to stream to: its worker drains it, as Prefect's does."""

from __future__ import annotations

from tests.worker.conftest import Project


async def test_sync_and_async_generator_flows_complete_in_a_real_worker(project: Project) -> None:
    project.write(
        "gen.py",
        """
        import asyncio
        from orchestrate import flow, task

        @task
        def double(x: int) -> int:
            return 2 * x

        @flow
        def numbers():
            for i in range(3):
                yield double(i)

        @flow
        async def ticks():
            for i in range(2):
                await asyncio.sleep(0)
                yield i
        """,
    )
    exit_ = await project.run("gen.py:numbers")
    assert exit_.returncode == 0 and project.recorder.flow_run().state.name == "Completed"
    assert sorted(project.recorder.task_runs()) == ["double-0", "double-1", "double-2"]
    assert {r.state.name for r in project.recorder.task_runs().values()} == {"Completed"}

    project.recorder.records.clear()
    exit_ = await project.run("gen.py:ticks")
    assert exit_.returncode == 0 and project.recorder.flow_run().state.name == "Completed"
