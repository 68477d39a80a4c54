"""`python -m orchestrate.worker --fd N`: run the flow run the supervisor sends over fd N."""

from __future__ import annotations

import gc
import os
import signal
import sys

# orc's own modules load with the collector off and are then frozen: they live as
# long as the process, and collecting while they load is ~10% of a worker's start.
gc.disable()
try:
    from orchestrate.engine.outcomes import RunAborted
    from orchestrate.recording import set_sink
    from orchestrate.worker.channel import Channel, ChannelError
    from orchestrate.worker.run import Stopper, run
    from orchestrate.worker.sink import StreamSink
    from orchestrate.worker.spec import RunSpec, SpecError
finally:
    gc.freeze()
    gc.enable()

EXIT_COMPLETED = 0
EXIT_NOT_COMPLETED = 1
EXIT_NO_SPEC = 2
USAGE = "usage: python -m orchestrate.worker --fd N  (N: a socket from the orc supervisor)"


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "--fd" or not argv[1].isdigit():
        print(USAGE, file=sys.stderr)
        return EXIT_NO_SPEC
    try:
        channel = Channel.from_fd(int(argv[1]))
    except OSError as exc:
        print(f"orc worker: fd {argv[1]} is not a usable socket ({exc}).\n{USAGE}", file=sys.stderr)
        return EXIT_NO_SPEC
    stopper = Stopper(channel)
    stopper.install()
    try:
        spec = RunSpec.from_dict(channel.read_spec())
    except (ChannelError, SpecError, OSError) as exc:
        print(f"orc worker: cannot start: {exc}", file=sys.stderr)
        return EXIT_NO_SPEC
    except RunAborted:  # stopped before it knew its run; the supervisor records the end
        return EXIT_NOT_COMPLETED
    sink = StreamSink(channel.writer())
    set_sink(sink)
    channel.watch_for_hangup(_orphaned)
    try:
        state = run(spec, stopper)
    finally:
        stopper.ignore()
        sink.close()
    return EXIT_COMPLETED if state.is_completed() else EXIT_NOT_COMPLETED


def _orphaned() -> None:
    """The daemon is gone: stop this worker and everything the flow started (its process group)."""
    if os.getpgrp() == os.getpid():  # as the supervisor starts it: a group of its own
        os.killpg(os.getpid(), signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
