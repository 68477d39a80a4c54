"""The source map: from a field path to the line and column of its key or value in TOML text."""

from __future__ import annotations

import textwrap
import tomllib

import pytest

from orchestrate.config import Position, SourceMap, format_path

TEXT = textwrap.dedent(
    '''
    # a comment with [brackets] and "quotes" and = signs
    [project]
    name = "demo # not a comment"
    watch = [
      "src",   # first
      'lib]',
    ]

    [defaults]
    env.MODE = "prod"
    "quoted key" = 1

    [[deployments]]
    name = "a"
    schedules = [{ cron = "0 2 * * *" }, { interval = "15m", parameters = { n = [1, { x = 2 }] } }]
    description = """
    many lines with ] and } and "quotes"
    """

    [deployments.task_runner]
    type = "dask"

    [[deployments]]
    name = "b"

    [[deployments.schedules]]
    cron = "61 * * * *"

    [[deployments.schedules]]
      rrule = 'FREQ=DAILY'
    '''
).lstrip("\n")


@pytest.fixture(scope="module")
def source_map() -> SourceMap:
    tomllib.loads(TEXT)  # the text is valid TOML, as the locator assumes
    return SourceMap.from_text(TEXT)


@pytest.mark.parametrize(
    ("path", "line", "column"),
    [
        (("project",), 2, 1),
        (("project", "name"), 3, 8),
        (("project", "watch"), 4, 9),
        (("project", "watch", 0), 5, 3),
        (("project", "watch", 1), 6, 3),
        (("defaults", "env", "MODE"), 10, 12),
        (("defaults", "quoted key"), 11, 16),
        (("deployments", 0), 13, 1),
        (("deployments", 0, "schedules", 0, "cron"), 15, 23),
        (("deployments", 0, "schedules", 1), 15, 38),
        (("deployments", 0, "schedules", 1, "parameters", "n", 1, "x"), 15, 87),
        (("deployments", 0, "description"), 16, 15),
        (("deployments", 0, "task_runner"), 20, 1),
        (("deployments", 0, "task_runner", "type"), 21, 8),
        (("deployments", 1, "name"), 24, 8),
        (("deployments", 1, "schedules", 0, "cron"), 27, 8),
        (("deployments", 1, "schedules", 1, "rrule"), 30, 11),
    ],
)
def test_values_are_located(source_map: SourceMap, path: tuple, line: int, column: int) -> None:
    assert source_map.locate(path) == Position(line, column)


def test_keys_are_located_on_request(source_map: SourceMap) -> None:
    assert source_map.locate(("project", "name"), key=True) == Position(3, 1)
    assert source_map.locate(("deployments", 0, "schedules", 0, "cron"), key=True) == Position(
        15, 16
    )
    assert source_map.locate(("defaults", "env", "MODE"), key=True) == Position(10, 5)


def test_an_unknown_path_falls_back_to_its_nearest_known_ancestor(source_map: SourceMap) -> None:
    assert source_map.locate(("deployments", 1, "entrypoint")) == Position(23, 1)
    assert source_map.locate(("deployments", 0, "schedules", 0, "timezone")) == Position(15, 14)
    assert source_map.locate(("nothing", "here")) == Position(1, 1)


def test_text_the_scanner_cannot_follow_keeps_what_it_found() -> None:
    source_map = SourceMap.from_text('[project]\nname = "demo"\nbroken = "no end\n')
    assert source_map.locate(("project", "name")) == Position(2, 8)


@pytest.mark.parametrize(
    ("path", "text"),
    [
        (("deployments", 1, "schedules", 0, "cron"), "deployments[1].schedules[0].cron"),
        (("env", "MY VAR"), 'env."MY VAR"'),
        (("automations", 0, "trigger", "within"), "automations[0].trigger.within"),
        ((), ""),
    ],
)
def test_format_path(path: tuple, text: str) -> None:
    assert format_path(path) == text
