"""The daemon's check of a resume's input against the schema of the model the flow waits for.

Schemas are pydantic's own (`model_json_schema()`), as a paused worker sends them.
"""

from __future__ import annotations

from typing import Literal

import pytest
from pydantic import BaseModel, Field

from orchestrate.daemon.run_input import problems


class Address(BaseModel):
    city: str


class Order(BaseModel):
    approved: bool
    count: int = Field(ge=1, le=10)
    kind: Literal["rush", "normal"] = "normal"
    note: str | None = None
    tags: list[str] = []
    ship_to: Address | None = None


SCHEMA = Order.model_json_schema()


@pytest.mark.parametrize(
    "value",
    [
        {"approved": True, "count": 3},
        {"approved": "true", "count": "3"},  # as lax as pydantic: `-i count=3` sends text
        {"approved": False, "count": 10, "kind": "rush", "note": None, "tags": ["a"]},
        {"approved": True, "count": 1, "ship_to": {"city": "Oslo"}},
    ],
)
def test_input_that_pydantic_accepts_fits(value: dict[str, object]) -> None:
    assert problems(value, SCHEMA) == []
    Order.model_validate(value)  # and pydantic agrees


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ({"count": 3}, "input lacks the required field 'approved'"),
        ({"approved": "perhaps", "count": 3}, "'approved' must be a boolean, not 'perhaps'"),
        ({"approved": True, "count": 0}, "'count' must be at least 1, not 0"),
        ({"approved": True, "count": "many"}, "'count' must be an integer, not 'many'"),
        ({"approved": True, "count": 2, "kind": "slow"}, "'kind' must be one of 'rush', 'normal'"),
        ({"approved": True, "count": 2, "tags": [1]}, "'tags'[0] must be a string, not 1"),
        ({"approved": True, "count": 2, "ship_to": {}}, "'ship_to' fits none of Address or null"),
    ],
)
def test_input_that_does_not_fit_says_which_field_and_why(
    value: dict[str, object], said: str
) -> None:
    found = problems(value, SCHEMA)
    assert any(said in p for p in found), found


def test_a_model_that_forbids_extra_fields_names_the_ones_it_has() -> None:
    class Strict(BaseModel, extra="forbid"):
        ok: bool

    found = problems({"ok": True, "oops": 1}, Strict.model_json_schema())
    assert found == ["input has no field 'oops' (it has: ok)"]
