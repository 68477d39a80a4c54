"""Prefect 3's transactions: groups of task runs that commit or roll back together.

A transaction stages values (a task run stages its result with its
`on_commit`/`on_rollback` hooks) and, when it ends, commits them (the hooks run
and results are written to the result store under their keys) or rolls them
back (the rollback hooks run, newest first, and nothing is written). A child
hands its staged work to its parent; the outermost decides. With a `key`, a
committed transaction leaves a record in the result store, so a later run with
the same key finds it committed and can skip the work.

Locally, `SERIALIZABLE` isolation is a lock file per key under the result
folder, so it needs no lock manager and holds across threads and processes.
"""

from __future__ import annotations

import copy
import enum
import hashlib
import inspect
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, NoReturn

from orchestrate.core.records import EventRecord, TaskRunRecord
from orchestrate.core.runs import new_id
from orchestrate.engine.context import flow_run_context, task_run_context
from orchestrate.engine.logs import hook_name
from orchestrate.engine.results import ResultStore
from orchestrate.engine.thread_loops import await_from_sync

if TYPE_CHECKING:
    from orchestrate.engine.definitions import TaskOptions

Hook = Callable[["Transaction"], Any]
Logger = logging.Logger | logging.LoggerAdapter[Any]
Writer = Callable[[str, Any], object]

_fallback_logger = logging.getLogger("orc.transactions")


class IsolationLevel(enum.Enum):
    """What a transaction with a key sees of others with the same key."""

    READ_COMMITTED = "READ_COMMITTED"
    SERIALIZABLE = "SERIALIZABLE"


class CommitMode(enum.Enum):
    """When a transaction commits: at its own end, with the outermost one, or never."""

    EAGER = "EAGER"
    LAZY = "LAZY"
    OFF = "OFF"


class TransactionState(enum.Enum):
    PENDING = "PENDING"
    ACTIVE = "ACTIVE"
    STAGED = "STAGED"
    COMMITTED = "COMMITTED"
    ROLLED_BACK = "ROLLED_BACK"


@dataclass(frozen=True, slots=True)
class ResultRecord:
    """A committed transaction's record, as `Transaction.read()` returns it (Prefect's name)."""

    result: Any
    created: float


_ENDED = (TransactionState.ROLLED_BACK, TransactionState.COMMITTED)


@dataclass(eq=False)
class Transaction:
    """A unit of work that commits or rolls back as a whole (Prefect's `Transaction`).

    Use it through `transaction()`; it is also a context manager itself.
    """

    store: ResultStore | None = None
    key: str | None = None
    children: list[Transaction] = field(default_factory=list)
    commit_mode: CommitMode | None = None
    isolation_level: IsolationLevel | None = IsolationLevel.READ_COMMITTED
    state: TransactionState = TransactionState.PENDING
    on_commit_hooks: list[Hook] = field(default_factory=list)
    on_rollback_hooks: list[Hook] = field(default_factory=list)
    overwrite: bool = False
    logger: Logger = _fallback_logger
    write_on_commit: bool = True
    _stored_values: dict[str, Any] = field(default_factory=dict, repr=False)
    _staged_value: Any = field(default=None, repr=False)
    _writer: Writer | None = field(default=None, repr=False)
    _record: ResultRecord | None = field(default=None, repr=False)
    _token: Token[Transaction | None] | None = field(default=None, repr=False)
    _lock: _KeyLock | None = field(default=None, repr=False)
    #: The transaction this one was opened in, fixed when it opens (None: outermost).
    _parent: Transaction | None = field(default=None, repr=False)
    _opened: bool = field(default=False, repr=False)
    #: Makes `logger` when first needed (a task run's logger costs more than the rest of this).
    _make_logger: Callable[[], Logger] | None = field(default=None, repr=False)

    # --- values shared within a transaction --------------------------------------

    def set(self, name: str, value: Any) -> None:
        """Keep a value for later in this transaction (and its children, and its hooks)."""
        self._stored_values[name] = value

    def get(self, name: str, default: Any = ...) -> Any:
        """A copy of a value set here or in a parent; `default` (or ValueError) when unknown."""
        if name in self._stored_values:
            return copy.deepcopy(self._stored_values[name])
        parent = self.get_parent()
        if parent is not None:
            return parent.get(name, default)
        if default is not ...:
            return default
        raise ValueError(f"Could not retrieve value for unknown key: {name}")

    # --- state -------------------------------------------------------------------

    def is_committed(self) -> bool:
        return self.state is TransactionState.COMMITTED

    def is_rolled_back(self) -> bool:
        return self.state is TransactionState.ROLLED_BACK

    def is_staged(self) -> bool:
        return self.state is TransactionState.STAGED

    def is_pending(self) -> bool:
        return self.state is TransactionState.PENDING

    def is_active(self) -> bool:
        return self.state is TransactionState.ACTIVE

    def get_parent(self) -> Transaction | None:
        """The transaction this one was opened in (the active one, if it was never opened)."""
        return self._parent if self._opened else _active.get()

    def add_child(self, transaction: Transaction) -> None:
        self.children.append(transaction)

    def stage(
        self,
        value: Any,
        on_rollback_hooks: list[Hook] | None = None,
        on_commit_hooks: list[Hook] | None = None,
    ) -> None:
        """Hold `value` (and these hooks) until the transaction commits or rolls back."""
        if self.state is TransactionState.COMMITTED:
            return
        self._staged_value = value
        self.on_rollback_hooks += on_rollback_hooks or []
        self.on_commit_hooks += on_commit_hooks or []
        self.state = TransactionState.STAGED

    def read(self) -> ResultRecord | None:
        """The committed record under this transaction's key, or None."""
        if self._record is not None:
            return self._record
        if self.store is None or self.key is None:
            return None
        found = self.store.read(self.key)
        return None if found is None else ResultRecord(found.value, found.created)

    # --- lifecycle -----------------------------------------------------------------

    def __enter__(self) -> Transaction:
        if self._token is not None:
            raise RuntimeError("Context already entered. Context enter calls cannot be nested.")
        self._prepare(_active.get())
        self._token = _active.set(self)
        self._opened = True
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, traceback: Any) -> None:
        if self._token is None:
            raise RuntimeError("Asymmetric use of context. Context exit called without an enter.")
        self._settle(failed=exc_type is not None)
        self._reset()  # an exception carries on

    def _settle(self, failed: bool) -> None:
        """At the end of the block: roll back on error, else commit now or leave it to the parent."""
        if failed:
            _rollback(self)
            return
        if self.commit_mode is CommitMode.EAGER:
            _commit(self)
        if self.get_parent() is not None:
            return  # the parent takes responsibility
        if self.commit_mode is CommitMode.OFF:
            _rollback(self)  # nobody committed it
        else:
            _commit(self)

    def _prepare(self, parent: Transaction | None) -> None:
        """Inherit the mode from the parent, lock the key if asked, and see whether it is done."""
        self._parent = parent
        if self.commit_mode is None:
            self.commit_mode = parent.commit_mode if parent else CommitMode.LAZY
        if self.isolation_level is None:
            self.isolation_level = (
                parent.isolation_level if parent else IsolationLevel.READ_COMMITTED
            )
        self.state = TransactionState.ACTIVE
        if self.store is None or self.key is None:
            return
        if self.isolation_level is IsolationLevel.SERIALIZABLE:
            self._lock = _KeyLock.acquire(self.store, self.key)
        if not self.overwrite:
            found = self.store.read(self.key)
            if found is not None:
                self._record = ResultRecord(found.value, found.created)
                self.state = TransactionState.COMMITTED

    def _reset(self) -> None:
        parent = self.get_parent()
        if parent is not None:
            parent.add_child(self)
        if self._token is not None:
            _active.reset(self._token)
            self._token = None
        if parent is not None and self.state is TransactionState.ROLLED_BACK:
            _rollback(parent)

    def commit(self) -> bool:
        """Commit children, run the commit hooks, write the staged value; False if not done now."""
        if self.state in _ENDED:
            self._release()
            return False
        try:
            for child in self.children:
                _commit(child)
            for hook in self.on_commit_hooks:
                self._run_hook(hook, "commit")
            if self.key is not None and self.write_on_commit:
                self._write(self.key, self._staged_value)
            self.state = TransactionState.COMMITTED
            self._release()
            return True
        except Exception:
            self._logger().exception(
                "An error was encountered while committing transaction %r", self.key
            )
            _rollback(self)
            return False

    def rollback(self) -> bool:
        """Run the rollback hooks (newest first), then roll back the children; False if ended."""
        if self.state in _ENDED:
            return False
        try:
            for hook in reversed(self.on_rollback_hooks):
                self._run_hook(hook, "rollback")
            self.state = TransactionState.ROLLED_BACK
            for child in reversed(self.children):
                _rollback(child)
            return True
        except Exception:
            self._logger().exception(
                "An error was encountered while rolling back transaction %r", self.key
            )
            return False
        finally:
            self._release()

    def _write(self, key: str, value: Any) -> None:
        if self._writer is not None:
            self._writer(key, value)
        elif self.store is not None:
            self.store.write(key, value)

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def _logger(self) -> Logger:
        if self._make_logger is not None:
            self.logger, self._make_logger = self._make_logger(), None
        return self.logger

    def _run_hook(self, hook: Hook, kind: str) -> None:
        name = hook_name(hook)
        logs = getattr(hook, "log_on_run", True)
        if logs:
            self._logger().info("Running %s hook %r", kind, name)
        try:
            result = hook(self)
            if inspect.isawaitable(result):
                await_from_sync(result)
        except Exception:
            if logs:
                self._logger().error(
                    "An error was encountered while running %s hook %r", kind, name
                )
            raise
        if logs:
            self._logger().info("%s hook %r finished running successfully", kind.capitalize(), name)


class AsyncTransaction(Transaction):
    """A transaction for `async with` (Prefect's): its blocking work runs off the event loop."""

    async def __aenter__(self) -> AsyncTransaction:
        import asyncio

        if self._token is not None:
            raise RuntimeError("Context already entered. Context enter calls cannot be nested.")
        await asyncio.to_thread(self._prepare, _active.get())  # may wait for a lock
        self._token = _active.set(self)
        self._opened = True
        return self

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, traceback: Any) -> None:
        import asyncio

        if self._token is None:
            raise RuntimeError("Asymmetric use of context. Context exit called without an enter.")
        await asyncio.to_thread(self._settle, exc_type is not None)
        self._reset()

    def __enter__(self) -> NoReturn:
        raise NotImplementedError(
            "AsyncTransaction does not support the `with` statement. "
            "Use the `async with` statement instead."
        )

    async def commit(self) -> bool:  # type: ignore[override]
        import asyncio

        return await asyncio.to_thread(Transaction.commit, self)

    async def rollback(self) -> bool:  # type: ignore[override]
        import asyncio

        return await asyncio.to_thread(Transaction.rollback, self)

    async def read(self) -> ResultRecord | None:  # type: ignore[override]
        import asyncio

        return await asyncio.to_thread(Transaction.read, self)


def _commit(txn: Transaction) -> bool:
    """Commit now, in this thread, whichever kind of transaction it is."""
    return Transaction.commit(txn) if isinstance(txn, AsyncTransaction) else txn.commit()


def _rollback(txn: Transaction) -> bool:
    return Transaction.rollback(txn) if isinstance(txn, AsyncTransaction) else txn.rollback()


_active: ContextVar[Transaction | None] = ContextVar("orc_transaction", default=None)
#: The open transaction; the task engine sets it to a run's own around its body.
active_transaction = _active


def get_transaction() -> Transaction | None:
    """The transaction open in this thread or task (a task run's own inside its body), or None."""
    return _active.get()


@contextmanager
def transaction(
    key: str | None = None,
    store: ResultStore | None = None,
    commit_mode: CommitMode | None = None,
    isolation_level: IsolationLevel | None = None,
    overwrite: bool = False,
    write_on_commit: bool = True,
    logger: logging.Logger | logging.LoggerAdapter[Any] | None = None,
) -> Iterator[Transaction]:
    """Open a transaction: task runs inside it commit, or roll back, together.

    Args:
        key: where its record is kept once committed; a later transaction with
            the same key starts committed (`txn.is_committed()`), so work can be skipped.
        store: the result store for that record (the run's, `.orc/results`, by default).
        commit_mode: `LAZY` (with the outermost transaction; the default at the top),
            `EAGER` (when this block ends) or `OFF` (never: it rolls back at the end).
            Nested transactions inherit their parent's.
        isolation_level: `SERIALIZABLE` holds a lock on `key` from start to commit.
        overwrite: ignore an existing record and run as new.
        write_on_commit: write the record when committing.
        logger: where hook lines go (the current run's logger by default).
    """
    if key is not None and store is None:
        store = current_result_store()
    with Transaction(
        key=key,
        store=store,
        commit_mode=commit_mode,
        isolation_level=isolation_level,
        overwrite=overwrite,
        write_on_commit=write_on_commit,
        logger=logger or _run_logger(),
    ) as txn:
        yield txn


@asynccontextmanager
async def atransaction(
    key: str | None = None,
    store: ResultStore | None = None,
    commit_mode: CommitMode | None = None,
    isolation_level: IsolationLevel | None = None,
    overwrite: bool = False,
    write_on_commit: bool = True,
    logger: Logger | None = None,
) -> AsyncIterator[AsyncTransaction]:
    """`transaction()` for `async with`: the same arguments, an `AsyncTransaction`."""
    if key is not None and store is None:
        store = current_result_store()
    async with AsyncTransaction(
        key=key,
        store=store,
        commit_mode=commit_mode,
        isolation_level=isolation_level,
        overwrite=overwrite,
        write_on_commit=write_on_commit,
        logger=logger or _run_logger(),
    ) as txn:
        yield txn


def current_result_store() -> ResultStore:
    """The result store of the flow run in progress, else the project's (found when first used)."""
    flow_ctx = flow_run_context.get()
    return flow_ctx.results if flow_ctx is not None else ResultStore()


def _run_logger() -> logging.Logger | logging.LoggerAdapter[Any]:
    from orchestrate.engine.logs import configure, flow_run_logger, task_run_logger

    task_ctx = task_run_context.get()
    if task_ctx is not None:
        configure()
        run = task_ctx.run
        return task_run_logger(run.flow_run_id, run.id, run.name)
    flow_ctx = flow_run_context.get()
    if flow_ctx is not None:
        configure()
        return flow_run_logger(flow_ctx.run.id, flow_ctx.run.name)
    return _fallback_logger


# --- a task run's own transaction ----------------------------------------------------


def task_transaction(
    parent: Transaction | None,
    options: TaskOptions,
    key: str | None,
    store: ResultStore,
    logger: Callable[[], Logger],
) -> Transaction | None:
    """The transaction a task run's attempt joins, or None when nothing can observe one.

    Prefect gives every task run one; here a run gets one only inside a
    transaction or when the task has commit or rollback hooks, so a plain
    task run costs nothing more.
    """
    if parent is None and not options.on_commit and not options.on_rollback:
        return None
    return Transaction(
        key=key,
        store=store,
        commit_mode=parent.commit_mode if parent else CommitMode.LAZY,
        isolation_level=parent.isolation_level if parent else IsolationLevel.READ_COMMITTED,
        state=TransactionState.ACTIVE,
        _make_logger=logger,
        _parent=parent,
        _opened=True,
    )


def settle_task_transaction(
    txn: Transaction,
    value: Any,
    options: TaskOptions,
    write: Writer | None,
    announce: Hook | None = None,
) -> None:
    """A task run completed: stage its result and hooks, then commit now or leave it to the parent.

    `write` persists the result under the key (the task's own writer, with its
    serializer and expiry); without one nothing is written on commit.
    """
    txn._writer = write
    txn.write_on_commit = write is not None
    undo = [announce, *options.on_rollback] if announce is not None else list(options.on_rollback)
    txn.stage(value, undo, list(options.on_commit))
    parent = txn._parent
    if parent is None:
        txn.commit()  # a task's own transaction outside any other commits as it ends (LAZY)
        return
    if txn.commit_mode is CommitMode.EAGER:
        txn.commit()
    parent.add_child(txn)


def rolled_back_event(run: TaskRunRecord) -> EventRecord:
    """`orc.task-run.RolledBack`: Prefect's event for a completed task run undone by its transaction.

    Only an event: the run keeps its Completed state, as in Prefect.
    """
    resource = {
        "orc.resource.id": f"orc.task-run.{run.id}",
        "orc.resource.name": run.name,
        "orc.state-type": "COMPLETED",
        "orc.state-name": "RolledBack",
    }
    related = [
        {"orc.resource.id": f"orc.flow-run.{run.flow_run_id}", "orc.resource.role": "flow-run"}
    ]
    payload = {"message": "Task rolled back as part of transaction", "task_key": run.task_key}
    return EventRecord(new_id(), time.time(), "orc.task-run.RolledBack", resource, payload, related)


# --- locks for SERIALIZABLE ----------------------------------------------------------


class _KeyLock:
    """An exclusive lock on one key: a lock file, so other threads and processes wait."""

    def __init__(self, file: IO[bytes]) -> None:
        self._file = file

    @classmethod
    def acquire(cls, store: ResultStore, key: str) -> _KeyLock:
        import fcntl

        folder = store.folder / ".locks"
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        name = hashlib.sha256(key.encode()).hexdigest()
        file = open(folder / f"{name}.lock", "wb")  # noqa: SIM115 - held until release
        fcntl.flock(file.fileno(), fcntl.LOCK_EX)
        return cls(file)

    def release(self) -> None:
        import fcntl

        fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
        self._file.close()


__all__ = [
    "AsyncTransaction",
    "CommitMode",
    "IsolationLevel",
    "ResultRecord",
    "Transaction",
    "TransactionState",
    "active_transaction",
    "atransaction",
    "current_result_store",
    "get_transaction",
    "rolled_back_event",
    "settle_task_transaction",
    "task_transaction",
    "transaction",
]
