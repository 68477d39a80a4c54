"""How long `load_config` takes on a 50-deployment flows.toml: the daemon reloads on every save.

    python bench/config_load.py [--repeat 50] [--out bench/results]

The file has 50 deployments with two schedules, parameters, tags and env each,
all pointing at one flow file (`examples/etl.py`, copied in). The first load
parses the flow file; each later one finds it cached by mtime and size. Writes
`config_load.json` and `config_load.md` with the first load and the median and
p90 of the rest.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from orchestrate.config import load_config

ROOT = Path(__file__).resolve().parent.parent


def fifty_deployments() -> str:
    blocks = ['[project]\nname = "big"\n\n[defaults]\ntimezone = "Europe/Berlin"\nretries = 1\n']
    for n in range(50):
        blocks.append(
            f'[[deployments]]\nname = "flow-{n}"\nentrypoint = "examples/etl.py:nightly"\n'
            f"parameters = {{ days = {n % 7 + 1} }}\n"
            f'schedules = [{{ cron = "{n % 60} 2 * * *" }}, {{ interval = "{n + 1}m" }}]\n'
            'tags = ["etl"]\nenv = { MODE = "prod", TOKEN = { from_env = "HOME" } }\n'
        )
    return "\n".join(blocks)


def measure(repeat: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "examples").mkdir()
        shutil.copy(ROOT / "examples" / "etl.py", root / "examples" / "etl.py")
        path = root / "flows.toml"
        path.write_text(fifty_deployments())
        started = time.perf_counter()
        load_config(path)
        first = time.perf_counter() - started
        timings = []
        for _ in range(repeat):
            started = time.perf_counter()
            load_config(path)
            timings.append(time.perf_counter() - started)
    timings.sort()
    return {
        "first_ms": first * 1e3,
        "median_ms": statistics.median(timings) * 1e3,
        "p90_ms": timings[int(len(timings) * 0.9)] * 1e3,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    figures = measure(args.repeat)
    report = {
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "load": os.getloadavg()[0],
        "repeat": args.repeat,
        **figures,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "config_load.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / "config_load.md").write_text(
        "# Loading a 50-deployment flows.toml\n\n"
        f"Machine: {report['machine']} (load {report['load']:.1f} at start)\n\n"
        "| first load | later loads, median | p90 |\n|---|---|---|\n"
        f"| {figures['first_ms']:.1f} ms | {figures['median_ms']:.1f} ms | {figures['p90_ms']:.1f} ms |\n"
    )
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
