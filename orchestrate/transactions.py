"""Transactions (Prefect's `prefect.transactions`): task runs that commit or roll back together.

    from orchestrate.transactions import transaction

    with transaction(key="load-2026-01-01") as txn:
        if txn.is_committed():
            return  # done by an earlier run
        rows = extract()
        load(rows)  # a failure here runs extract's `on_rollback` hooks

A task's `on_commit` and `on_rollback` hooks receive its transaction; results of
tasks that persist them are written to `.orc/results` only when the transaction commits.
Async code may use `async with atransaction()` (an `AsyncTransaction`) or the same `with`.
"""

from __future__ import annotations

from orchestrate.engine import (
    AsyncTransaction,
    CommitMode,
    IsolationLevel,
    ResultRecord,
    Transaction,
    TransactionState,
    atransaction,
    get_transaction,
    transaction,
)

__all__ = [
    "AsyncTransaction",
    "CommitMode",
    "IsolationLevel",
    "ResultRecord",
    "Transaction",
    "TransactionState",
    "atransaction",
    "get_transaction",
    "transaction",
]
