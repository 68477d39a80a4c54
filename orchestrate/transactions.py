"""Transactions (Prefect's `prefect.transactions`): task runs that commit or roll back together.

    from orchestrate.transactions import transaction

    with transaction(key="load-2026-01-01") as txn:
        if txn.is_committed():
            return  # done by an earlier run
        rows = extract()
        load(rows)  # a failure here runs extract's `on_rollback` hooks

A task's `on_commit` and `on_rollback` hooks receive its transaction; results of
tasks that persist them are written to `.orc/results` only when the transaction commits.
"""

from __future__ import annotations

from orchestrate.engine import (
    CommitMode,
    IsolationLevel,
    ResultRecord,
    Transaction,
    TransactionState,
    get_transaction,
    transaction,
)

__all__ = [
    "CommitMode",
    "IsolationLevel",
    "ResultRecord",
    "Transaction",
    "TransactionState",
    "get_transaction",
    "transaction",
]
