"""Fixtures for the automations tests."""

from __future__ import annotations

import pytest

from tests.automations.helpers import Clock


@pytest.fixture
def clock() -> Clock:
    return Clock()
