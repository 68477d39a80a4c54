"""The long fault suite, by one command: `python -m tests.fault --daemon-kills 200 --worker-kills 50`.

Rounds of faults (five daemon kills each, worker kills and SIGSTOPs spread
over them) run until the asked-for numbers of kills landed or the time
budget is spent, whichever comes first. After each round the results go to
bench/results/fault.json and a summary to bench/results/fault.md, so an
interrupted run still leaves what it found. Projects of rounds with
violations are kept for a look; the others are deleted.
"""

from __future__ import annotations

import argparse
import math
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.fault.faults import DAEMON_KILLS, Round, default_seed, run_round, write_results
from tests.fault.invariants import INVARIANTS

RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results"


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fault", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--daemon-kills", type=int, default=200, help="daemon SIGKILLs to land")
    parser.add_argument("--worker-kills", type=int, default=50, help="worker SIGKILLs to land")
    parser.add_argument("--sigstops", type=int, default=10, help="daemon SIGSTOP/SIGCONT pauses")
    parser.add_argument("--disk-full", type=int, default=2, help="disk-full rounds (need root)")
    parser.add_argument(
        "--kinds",
        type=_kinds,
        default=DAEMON_KILLS,
        help=f"daemon kills to draw from, comma-separated (default: {','.join(DAEMON_KILLS)})",
    )
    parser.add_argument("--per-round", type=int, default=5, help="daemon kills per project")
    parser.add_argument(
        "--max-minutes", type=float, default=45, help="stop starting rounds after this"
    )
    parser.add_argument(
        "--seed", default=None, help="replay a run (default: ORC_FAULT_SEED or random)"
    )
    parser.add_argument("--results", type=Path, default=RESULTS / "fault.json")
    parser.add_argument("--workdir", type=Path, default=None, help="where round projects go")
    return parser.parse_args(argv)


def _kinds(text: str) -> tuple[str, ...]:
    kinds = tuple(k.strip() for k in text.split(",") if k.strip())
    unknown = [k for k in kinds if k not in DAEMON_KILLS]
    if unknown or not kinds:
        raise argparse.ArgumentTypeError(
            f"{', '.join(unknown) or text!r}: kinds are {', '.join(DAEMON_KILLS)}"
        )
    return kinds


def landed(rounds: list[Round], prefix: str) -> int:
    return sum(1 for r in rounds for t in r.trials if t.kind.startswith(prefix))


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    # a stop asked for by SIGTERM still kills the round's processes and unmounts its tmpfs
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    seed = args.seed or default_seed()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="orc-fault-"))
    deadline = time.monotonic() + args.max_minutes * 60
    started = time.monotonic()
    rounds: list[Round] = []
    disk_rounds = 0
    print(f"seed {seed}; projects under {workdir}", flush=True)
    while time.monotonic() < deadline:
        faults = _next_faults(args, rounds, disk_rounds)
        if faults is None:
            break
        disk_rounds += "faults" in faults
        number = len(rounds) + 1
        result = run_round(workdir, number, seed, **faults)
        rounds.append(result)
        _report(result)
        if result.total_violations == 0 and not result.error:
            shutil.rmtree(workdir / f"round-{number}", ignore_errors=True)
        extra = {
            "minutes": round((time.monotonic() - started) / 60, 1),
            "asked": vars(args) | {"seed": seed},
        }
        document = write_results(args.results, seed, rounds, extra)
        args.results.with_suffix(".md").write_text(summary(document))
    violations = sum(r.total_violations for r in rounds)
    print(f"{len(rounds)} rounds, {violations} violation(s); {args.results}", flush=True)
    return 1 if violations or any(r.error for r in rounds) else 0


def _next_faults(
    args: argparse.Namespace, rounds: list[Round], disk_rounds: int
) -> dict[str, Any] | None:
    """The next round's faults: kill rounds first, then the disk-full ones; None when all done."""
    counts = _next_counts(args, rounds)
    if counts is not None:
        return {"counts": counts, "kinds": args.kinds}
    if disk_rounds < args.disk_full and not any(r.skipped for r in rounds):
        return {"faults": ["disk-full"]}
    return None


def _next_counts(args: argparse.Namespace, rounds: list[Round]) -> tuple[int, int, int] | None:
    """(daemon kills, worker kills, SIGSTOPs) for the next round; None when every target landed."""
    daemon_left = args.daemon_kills - landed(rounds, "daemon-kill")
    worker_left = args.worker_kills - landed(rounds, "worker-kill")
    stops_left = args.sigstops - landed(rounds, "daemon-sigstop")
    if daemon_left <= 0 and worker_left <= 0 and stops_left <= 0:
        return None
    rounds_left = max(1, math.ceil(max(daemon_left, 0) / args.per_round))
    return (
        max(0, min(args.per_round, daemon_left)),
        max(0, math.ceil(worker_left / rounds_left)),
        max(0, math.ceil(stops_left / rounds_left)),
    )


def _report(result: Round) -> None:
    kinds = ", ".join(t.kind for t in result.trials)
    status = f"{result.total_violations} violation(s)" + (
        f", error: {result.error}" if result.error else ""
    )
    print(f"round {result.round} ({result.seconds:.0f} s): {kinds}: {status}", flush=True)


def summary(document: dict[str, Any]) -> str:
    """The markdown page: what ran, on which commit, and violations per invariant."""
    lines = [
        "# Fault-injection suite: long form",
        "",
        f"Commit under test: `{document['commit']}`; seed `{document['seed']}`; "
        f"{document['rounds']} rounds in {document.get('minutes', '?')} min; finished {document['finished']}.",
        "",
        "| fault | trials |",
        "|---|---:|",
        *[f"| {kind} | {n} |" for kind, n in sorted(document["trials"].items())],
        "",
        "| invariant | violations |",
        "|---|---:|",
        *[f"| {key}: {INVARIANTS[key]} | {document['violations'][key]} |" for key in INVARIANTS],
        "",
        f"Rounds that ended in an error: {len(document['errors'])}.",
        *[f"- {e}" for e in document["errors"][:20]],
        "",
        "Replay: `python -m tests.fault --seed <seed> ...` with the same arguments; "
        "every trial and violation is in fault.json.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
