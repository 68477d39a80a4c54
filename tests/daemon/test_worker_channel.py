"""A worker's socket as the daemon writes it: what it does not take at once still arrives whole."""

from __future__ import annotations

import pytest

from tests.worker.test_zygote import WarmProject, lines, project

__all__ = ["project"]  # the warm project fixture, used here

pytestmark = pytest.mark.timeout(60)

BIG = """
from orchestrate import flow

@flow
def big(text: str) -> int:
    print("got", len(text), text[:3], text[-3:], flush=True)
    return len(text)
"""


async def test_a_spec_larger_than_the_socket_takes_at_once_reaches_the_worker_whole(
    project: WarmProject,
) -> None:
    project.write("big.py", BIG)
    text = "abc" + "x" * (8 * 1024 * 1024) + "xyz"  # a socket pair's buffer holds ~200 KB
    exit_ = await project.run("big.py:big", parameters={"text": text})
    assert exit_.final_state.name == "Completed"
    assert lines(project, "got") == [f"{len(text)} abc xyz"]
