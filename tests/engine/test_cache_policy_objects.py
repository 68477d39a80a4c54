"""Cache policies used as plain objects, as Prefect 3 code does (compute_key called directly, algebra)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from orchestrate.cache_policies import (
    DEFAULT,
    FLOW_PARAMETERS,
    INPUTS,
    NONE,
    RUN_ID,
    TASK_SOURCE,
    CacheKeyFnPolicy,
    CachePolicy,
    CompoundCachePolicy,
    Inputs,
)


def test_compute_key_without_inputs_or_context_gives_no_key() -> None:
    for policy in (INPUTS, TASK_SOURCE, RUN_ID, FLOW_PARAMETERS, NONE, DEFAULT):
        assert policy.compute_key(task_ctx=None, inputs=None, flow_parameters=None) is None  # type: ignore[arg-type]


def test_run_id_falls_back_to_the_task_run_id_outside_a_flow_run() -> None:
    context: Any = SimpleNamespace(task_run=SimpleNamespace(flow_run_id=None, id="task-run-1"))
    assert RUN_ID.compute_key(task_ctx=context, inputs={}, flow_parameters={}) == "task-run-1"


def test_nested_compound_policies_are_flattened() -> None:
    nested = CompoundCachePolicy(
        policies=[TASK_SOURCE, CompoundCachePolicy(policies=[RUN_ID, FLOW_PARAMETERS])]
    )
    assert nested.policies == [TASK_SOURCE, RUN_ID, FLOW_PARAMETERS]


def test_inputs_policies_in_a_compound_merge_into_one_at_the_end() -> None:
    combined = CompoundCachePolicy(policies=[INPUTS - "b", TASK_SOURCE, Inputs(exclude=["a", "b"])])
    assert combined.policies == [TASK_SOURCE, Inputs(exclude=["a", "b"])]
    assert DEFAULT.policies == [TASK_SOURCE, RUN_ID, Inputs()]


def test_subtracting_from_a_compound_excludes_once() -> None:
    policy = DEFAULT - "x" - "x" - "y"
    assert isinstance(policy, CompoundCachePolicy)
    assert [p for p in policy.policies if isinstance(p, Inputs)] == [Inputs(exclude=["x", "y"])]
    assert (
        TASK_SOURCE + RUN_ID
    ) - "x" == TASK_SOURCE + RUN_ID  # nothing keyed on inputs to exclude


def test_exclude_is_a_list_and_excluded_inputs_do_not_change_the_key() -> None:
    policy = INPUTS - "client"
    assert policy == Inputs(exclude=["client"]) and policy.exclude == ["client"]
    one = policy.compute_key(task_ctx=None, inputs={"x": 1, "client": object()}, flow_parameters={})  # type: ignore[arg-type]
    two = policy.compute_key(task_ctx=None, inputs={"x": 1, "client": "other"}, flow_parameters={})  # type: ignore[arg-type]
    assert one is not None and one == two
    assert (
        Inputs(exclude=["x"]).compute_key(task_ctx=None, inputs={"x": 1}, flow_parameters={})
        is not None
    )  # type: ignore[arg-type]


def test_a_compound_calls_its_policies_with_prefects_keyword_names() -> None:
    class Fixed(CachePolicy):
        def compute_key(
            self, *, task_ctx: Any, inputs: Any, flow_parameters: Any, **kwargs: Any
        ) -> str:
            return f"fixed-{inputs['x']}"

    key = (Fixed() + TASK_SOURCE).compute_key(task_ctx=None, inputs={"x": 1}, flow_parameters={})
    assert key is not None and key != (Fixed() + TASK_SOURCE).compute_key(
        task_ctx=None, inputs={"x": 2}, flow_parameters={}
    )


def test_from_cache_key_fn_builds_a_key_fn_policy() -> None:
    policy = CachePolicy.from_cache_key_fn(lambda context, parameters: f"k{parameters['x']}")
    assert isinstance(policy, CacheKeyFnPolicy)
    assert policy.compute_key(task_ctx=None, inputs={"x": 3}, flow_parameters={}) == "k3"  # type: ignore[arg-type]


def test_subtracting_a_non_string_is_a_type_error() -> None:
    for policy in (INPUTS, DEFAULT, TASK_SOURCE):
        with pytest.raises(TypeError):
            policy - 3  # type: ignore[operator]
