"""`python -m orchestrate.worker --fd N`: run the flow run the supervisor sends over fd N."""

from __future__ import annotations

import gc
import os
import signal
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

# orc's own modules load with the collector off and are then frozen: they live as
# long as the process, and collecting while they load is ~10% of a worker's start.
gc.disable()
try:
    from orchestrate.core import secrets
    from orchestrate.engine.outcomes import RunAborted
    from orchestrate.engine.pauses import install_resume_gate
    from orchestrate.recording import set_sink
    from orchestrate.recording.journal import JournalWriter
    from orchestrate.recording.stream import StreamSink
    from orchestrate.worker import exit_codes, start_trace
    from orchestrate.worker.channel import Channel, ChannelError
    from orchestrate.worker.resume_gate import ChannelGate
    from orchestrate.worker.run import Stopper, needs_a_fix, run
    from orchestrate.worker.spec import RunSpec, SpecError

    if TYPE_CHECKING:
        from orchestrate.core.states import State
finally:
    gc.freeze()
    gc.enable()

EXIT_COMPLETED = exit_codes.COMPLETED
EXIT_NOT_COMPLETED = exit_codes.NOT_COMPLETED
EXIT_NO_SPEC = exit_codes.NO_SPEC
EXIT_NEEDS_A_FIX = exit_codes.NEEDS_A_FIX
EXIT_ORPHANED = exit_codes.ORPHANED
#: How long an orphaned worker waits for its run's final state before it stops itself.
ORPHAN_GRACE = 0.5
USAGE = "usage: python -m orchestrate.worker --fd N  (N: a socket from the orc supervisor)"


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "--fd" or not argv[1].isdigit():
        print(USAGE, file=sys.stderr)
        return EXIT_NO_SPEC
    try:
        ready = prepare(int(argv[1]))
    except OSError as exc:
        print(f"orc worker: fd {argv[1]} is not a usable socket ({exc}).\n{USAGE}", file=sys.stderr)
        return EXIT_NO_SPEC
    return serve(ready)


@dataclass(frozen=True, slots=True)
class Ready:
    """What a worker sets up before it knows its run: its channel, and its record sink with
    its thread started (a spare does this while it waits)."""

    channel: Channel
    sink: StreamSink


def prepare(fd: int) -> Ready:
    """The worker's channel on socket `fd` and its sink, whose thread also watches the channel
    once the run is known; `OSError` if `fd` is no socket."""
    channel = Channel.from_fd(fd)
    return Ready(channel, StreamSink(channel.writer(), wake=channel.wake))


def serve(ready: Ready) -> int:
    """Greet the supervisor, read the spec, run it; the worker's exit code."""
    channel, sink = ready.channel, ready.sink
    stopper = Stopper(channel)
    stopper.install()
    try:
        channel.greet()
        start_trace.mark("worker: hello")
        spec = RunSpec.from_dict(channel.read_spec())
        start_trace.mark("worker: spec")
    except (ChannelError, SpecError, OSError) as exc:
        sink.close()
        print(f"orc worker: cannot start: {exc}", file=sys.stderr)
        return EXIT_NO_SPEC
    except RunAborted:  # stopped before it knew its run; the supervisor records the end
        sink.close()
        return EXIT_NOT_COMPLETED
    journal = _open_journal(spec.journal)
    masker = secrets.Masker(spec.secrets)
    secrets.use(masker)
    # Set before the first record is put; the sink's thread reads them only for records.
    sink.journal, sink.masker = journal, masker or None
    set_sink(sink)
    channel.watch_for_hangup(lambda: _orphaned(sink, journal))
    install_resume_gate(ChannelGate(channel, spec))
    start_trace.mark("worker: journal, sink, watch")
    code = EXIT_NOT_COMPLETED
    try:
        state = run(spec, stopper)
        code = _exit_code(state)
        start_trace.mark("worker: run returned")
    finally:
        stopper.ignore()
        # However long it takes: a daemon that stopped reading while its store cannot be
        # written reads again once it can (or once it stops this run), and a worker that left
        # with records unsent, on an orderly exit, would lose them (its final state among them).
        sink.close(timeout=None)
        if journal is not None:
            journal.exit(code)
            journal.close(sync=sink.broken is not None)
        start_trace.mark("worker: records sent")
    return code


def _exit_code(state: State) -> int:
    if state.is_completed():
        return EXIT_COMPLETED
    return EXIT_NEEDS_A_FIX if needs_a_fix(state) else EXIT_NOT_COMPLETED


def _open_journal(path: str | None) -> JournalWriter | None:
    if path is None:
        return None
    try:
        return JournalWriter(path)
    except OSError as exc:  # the records still go to the daemon; only a kill of it can lose them
        print(f"orc worker: the run's journal {path} cannot be opened ({exc})", file=sys.stderr)
        return None


def _orphaned(sink: StreamSink, journal: JournalWriter | None) -> None:
    """The daemon is gone: journal what is queued, then stop this worker and all the flow started.

    The next `orc up` reads the journal, so the run's records up to here are kept.
    """
    try:
        # A body that returned as the daemon went puts its final state a moment later; the
        # journal stays open for it, else the next `orc up` stores a finished run Crashed.
        sink.ended.wait(ORPHAN_GRACE)
        sink.flush(timeout=2.0)
        if journal is not None:
            journal.exit(EXIT_ORPHANED)
            journal.close()
    finally:
        if os.getpgrp() == os.getpid():  # as the supervisor starts it: a group of its own
            os.killpg(os.getpid(), signal.SIGKILL)
        os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
