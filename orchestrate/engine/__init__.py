"""Runs one flow in-process: task runs, futures, retries, timeouts, caching, results, logs.

The engine never imports the store, the daemon, the CLI or the TUI: it hands
what happens to a `RecordSink` and lets the process decide where that goes.
"""
