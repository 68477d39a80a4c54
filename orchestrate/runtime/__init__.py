"""What the current run knows about itself (Prefect's `prefect.runtime`).

`from orchestrate.runtime import flow_run` then `flow_run.id`, `flow_run.name`,
`flow_run.parameters`, `flow_run.scheduled_start_time`; `task_run.id`,
`task_run.name`, … (`dir()` lists them). Outside of a run the values are
Prefect's empty ones (None, `[]`, `{}`, `run_count` 0, `scheduled_start_time`
now); `ORC__RUNTIME__FLOW_RUN__NAME=...` (or Prefect's `PREFECT__RUNTIME__...`)
overrides one, for tests.
"""

from orchestrate.runtime import flow_run, task_run

__all__ = ["flow_run", "task_run"]
