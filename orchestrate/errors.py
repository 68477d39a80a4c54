"""Every error orc raises on purpose, rooted at one class.

User-facing messages say what was attempted, on what (file:line, field, run
id), and what to do next. The CLI renders them in one place.

    OrcError
    ├── EntrypointError          a "path.py:function" that cannot be loaded
    ├── ParameterError           a flow parameter or `-p` value that is not valid
    │   ├── ParameterTypeError   (Prefect's name) a value of the wrong type
    │   └── MappingError         `.map()` arguments that cannot be mapped
    │       ├── MappingMissingIterable
    │       └── MappingLengthMismatch
    ├── InvalidStateTransition   a state move the transition table forbids
    ├── RunNotFound              an unknown or ambiguous run id
    ├── StoreError               the DuckDB store cannot be opened or written
    ├── MissingResult            a result that was not kept or cannot be read
    └── RunError                 raised by `State.result()` for a run that did not complete
        ├── FailedRun
        ├── CrashedRun
        ├── CancelledRun
        └── UnfinishedRun
            └── UpstreamTaskError   a task did not run (NotReady) because an upstream one failed
"""

from __future__ import annotations


class OrcError(Exception):
    """Root of every error orc raises on purpose."""


class EntrypointError(OrcError):
    """A flow entrypoint (`path.py:function`) could not be loaded."""


class ParameterError(OrcError):
    """A parameter value is not valid for the flow that receives it."""


class ParameterTypeError(ParameterError):
    """A parameter value has the wrong type (Prefect's name for it)."""


class MappingError(ParameterError, ValueError):
    """`.map()` was given arguments it cannot map over."""


class MappingMissingIterable(MappingError):
    """`.map()` got no iterable argument."""


class MappingLengthMismatch(MappingError):
    """`.map()` got iterables of different lengths."""


class InvalidStateTransition(OrcError):
    """A run was asked to move between two states the rules forbid."""


class RunNotFound(OrcError):
    """No run, or more than one run, matches the id or prefix given."""


class StoreError(OrcError):
    """The embedded store could not be opened, migrated or written."""


class MissingResult(OrcError):
    """A result was asked for that was not kept or cannot be read back."""


class RunError(OrcError):
    """A run did not complete, so it has no result to give."""


class FailedRun(RunError):
    """The run ended Failed."""


class CrashedRun(RunError):
    """The run ended Crashed: its process died or was interrupted."""


class CancelledRun(RunError):
    """The run was cancelled."""


class UnfinishedRun(RunError):
    """The run has not reached a final state yet."""


class UpstreamTaskError(UnfinishedRun):
    """A task was not run because a task it depends on did not complete."""
