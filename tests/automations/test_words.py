"""Triggers and actions in words, as `orc automations ls` shows them."""

from __future__ import annotations

import pytest

from orchestrate.automations.words import trigger_text
from tests.automations.helpers import specs_from_toml


@pytest.mark.parametrize(
    ("trigger", "words"),
    [
        (
            '{ event = "orc.flow-run.Failed", match = { tags = ["etl", "!dev"] } }',
            "orc.flow-run.Failed for tagged etl or not dev",
        ),
        ('{ match = { "orc.resource.id" = "shop.*" } }', "any event for orc.resource.id is shop.*"),
        (
            '{ posture = "proactive", event = "orc.flow-run.Completed", match = { deployment = "nightly-etl" }, within = "26h" }',
            "no orc.flow-run.Completed for deployment nightly-etl within 1d2h",
        ),
        (
            '{ posture = "proactive", after = "orc.flow-run.Running", event = "orc.flow-run.Completed", within = "1h", for_each = ["orc.resource.id"] }',
            "no orc.flow-run.Completed within 1h after orc.flow-run.Running, per orc.resource.id",
        ),
        (
            '{ event = "a", after = "b", threshold = 2, within = 90 }',
            "after b, then a, 2 times within 1m30s",
        ),
        (
            '{ all = [{ event = "a" }, { event = "b" }], within = "1h" }',
            "all of (a); (b) within 1h",
        ),
        (
            '{ require = 2, triggers = [{ event = "a" }, { event = "b" }, { event = "c" }] }',
            "2 of (a); (b); (c)",
        ),
        (
            '{ sequence = [{ event = "a" }, { event = "b" }], within = "10m" }',
            "in order: (a); then (b) within 10m",
        ),
    ],
)
def test_triggers_read_as_a_sentence(trigger: str, words: str) -> None:
    [spec] = specs_from_toml(
        f'[[automations]]\nname = "a"\ntrigger = {trigger}\nactions = [{{ type = "emit-event", event = "x" }}]'
    )
    assert trigger_text(spec.trigger) == words
