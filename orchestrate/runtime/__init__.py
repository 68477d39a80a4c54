"""What the current run knows about itself (Prefect's `prefect.runtime`).

`from orchestrate.runtime import flow_run` then `flow_run.id`, `flow_run.name`,
`flow_run.parameters`, `flow_run.scheduled_start_time`; `task_run.id`,
`task_run.name`. Outside of a run, the attributes are None (or empty).
"""

from orchestrate.runtime import flow_run, task_run

__all__ = ["flow_run", "task_run"]
