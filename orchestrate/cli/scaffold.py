"""`orc init [DIR] [--example etl|fanout|hello]`: a project that validates and runs at once.

It writes `flows.toml` (with a `#:schema` line, so editors complete its keys
from `flows.schema.json`, the output of `orc schema`), one flow with a
schedule, and a `.gitignore` that keeps `.orc/` out of version control. It
never overwrites a `flows.toml`: a project that has one is already a project.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

SCHEMA_FILE = "flows.schema.json"

HELLO = '''"""A first flow: one task run per name. Try it: `orc run hello --watch`."""

from __future__ import annotations

from orchestrate import flow, get_run_logger, task


@task(retries=2)
def greet(name: str) -> str:
    get_run_logger().info("Hello, %s!", name)
    return name


@flow
def hello(names: list[str] | None = None) -> int:
    """Greets everyone in `names` (Marvin, Arthur and Ford unless told)."""
    greeted = [greet(name) for name in names or ["Marvin", "Arthur", "Ford"]]
    return len(greeted)
'''

ETL = '''"""Extract, transform, load: retries on the extract, a cached transform.

Try it: `orc run etl --watch -p days=3`.
"""

from __future__ import annotations

from datetime import timedelta

from orchestrate import flow, get_run_logger, task
from orchestrate.cache_policies import INPUTS


@task(retries=3, retry_delay_seconds=2)
def extract(day: int) -> list[dict[str, int]]:
    """One day of orders (stands in for a database or an API)."""
    return [{"day": day, "order": n, "amount": (day * 7 + n * 13) % 100} for n in range(50)]


@task(cache_policy=INPUTS, cache_expiration=timedelta(hours=12))
def transform(rows: list[dict[str, int]]) -> dict[str, int]:
    return {"orders": len(rows), "revenue": sum(r["amount"] for r in rows)}


@task
def load(totals: list[dict[str, int]]) -> int:
    revenue = sum(t["revenue"] for t in totals)
    get_run_logger().info("loaded %d day(s), revenue %d", len(totals), revenue)
    return revenue


@flow(retries=1, retry_delay_seconds=10)
def etl(days: int = 1) -> int:
    """Extracts, transforms and loads the last `days` days of orders."""
    return load([transform(extract(day)) for day in range(days)])
'''

FANOUT = '''"""A fan-out: one task run per item with .map(), then a total over their futures.

Try it: `orc run fanout --watch -p n=50`.
"""

from __future__ import annotations

from orchestrate import flow, task, unmapped


@task
def score(item: int, weight: float) -> float:
    return item * weight


@task
def total(scores: list[float]) -> float:
    return sum(scores)


@flow(log_prints=True)
def fanout(n: int = 20, weight: float = 1.5) -> float:
    result = total(score.map(range(n), unmapped(weight)))
    print(f"{n} items scored, total {result}")
    return result
'''

#: example name -> (flow source, the deployment's extra lines in flows.toml)
EXAMPLES: dict[str, tuple[str, str]] = {
    "hello": (HELLO, 'schedules = [{ cron = "0 9 * * *" }]  # every day at 09:00\n'),
    "etl": (ETL, 'parameters = { days = 1 }\nschedules = [{ cron = "0 2 * * *" }]\n'),
    "fanout": (FANOUT, 'parameters = { n = 20 }\nschedules = [{ interval = "1h" }]\n'),
}

CONFIG = """#:schema ./{schema}
# Deployments of this project; `orc validate` checks this file, `orc up` runs it.
# Keys and their meaning: `orc schema` (editors read {schema}, written by it).

[project]
name = "{project}"

[defaults]
retries = 1
retry_delay_seconds = 10

[[deployments]]
name = "{name}"
entrypoint = "flows/{name}.py:{name}"
{extra}"""


def init(
    directory: Annotated[
        Path, typer.Argument(help="The project folder (made if missing; default: here).")
    ] = Path("."),
    example: Annotated[
        str, typer.Option("--example", help="The flow to start from: hello, etl or fanout.")
    ] = "hello",
) -> None:
    """Start a project: flows.toml, one scheduled flow and a .gitignore (never overwrites)."""
    from orchestrate.cli.exits import BAD_INPUT
    from orchestrate.core.project import CONFIG_FILE

    if example not in EXAMPLES:
        raise typer.BadParameter(f"use one of {', '.join(EXAMPLES)}", param_hint="--example")
    root = directory.expanduser().resolve()
    if (root / CONFIG_FILE).exists():
        print(
            f"Error: {root / CONFIG_FILE} already exists; orc init never overwrites it. "
            "Edit it, or run orc init in an empty folder.",
            file=sys.stderr,
        )
        raise typer.Exit(BAD_INPUT)
    written = write_project(root, example)
    for path in written:
        print(f"wrote {path}")
    print(f"\nNext: cd {root} && orc validate && orc up   (then `orc run {example} --watch`)")


def write_project(root: Path, example: str) -> list[Path]:
    """The scaffold's files in `root`; an existing flow file or .gitignore line is kept."""
    from orchestrate.config import json_schema
    from orchestrate.core.project import CONFIG_FILE

    source, extra = EXAMPLES[example]
    (root / "flows").mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    flow_file = root / "flows" / f"{example}.py"
    if not flow_file.exists():
        flow_file.write_text(source)
        written.append(flow_file)
    schema = root / SCHEMA_FILE
    schema.write_text(json.dumps(json_schema(), indent=2) + "\n")
    config = CONFIG.format(schema=SCHEMA_FILE, project=root.name, name=example, extra=extra)
    (root / CONFIG_FILE).write_text(config)
    written += [root / CONFIG_FILE, schema]
    if _ignore_state(root / ".gitignore"):
        written.append(root / ".gitignore")
    return written


def _ignore_state(gitignore: Path) -> bool:
    """Add `.orc/` to the .gitignore unless it is there; whether the file changed."""
    text = gitignore.read_text() if gitignore.exists() else ""
    if ".orc/" in text.splitlines():
        return False
    gitignore.write_text(text + ("" if not text or text.endswith("\n") else "\n") + ".orc/\n")
    return True
