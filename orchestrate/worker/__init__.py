"""The worker: one subprocess per flow run, `python -m orchestrate.worker --fd N`, or forked
by a warm zygote (`orchestrate.worker.zygote`) that has it imported already.

It reads its `RunSpec` from the socket the supervisor passed as fd N, runs
the flow with the daemon's ids, ships every record back over that socket in
batches, and exits 0 when the run Completed, 1 otherwise (2 when it could not
even read its spec). stdin, stdout and stderr are the user code's. It never
imports duckdb, textual or typer, and imports as little as it can, since its
start time is part of every run's latency.
"""
