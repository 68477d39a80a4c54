"""How run records leave a process.

Every process that runs flows has one record sink (`current`): the store's
batching writer when a flow is called from plain Python, a stream of record
lines to the daemon (`stream`) in a worker, or nothing (`ORC_RECORD=0`). A
worker appends each line to its attempt's journal (`journal`) before it sends
it, so the daemon can replay what a killed worker did.
"""

from orchestrate.recording.current import KeptSink, NullSink, get_sink, set_sink

__all__ = ["KeptSink", "NullSink", "get_sink", "set_sink"]
