"""Connecting a flow run to Dask: an existing scheduler, or a local cluster started for the run.

What can go wrong here is found before any task runs: `distributed` not
installed, a scheduler address that cannot be reached. A cluster started here
runs its scheduler with `allowed-failures=0`, so a worker that dies mid-task
fails that attempt at once (orc then retries it under the task's policy)
instead of Dask quietly running the body a second time; for a scheduler started
elsewhere, a setting that allows such re-runs is reported in the run's logs.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from orchestrate.core.errors import OrcError

if TYPE_CHECKING:
    from distributed import Client

#: What a cluster started for a run gets unless `cluster_kwargs` says otherwise: worker
#: processes, and every port (the scheduler's HTTP one too, which Dask always opens) on
#: the loopback interface and chosen free, so nothing is reachable from other hosts.
LOCAL_CLUSTER_DEFAULTS: dict[str, Any] = {
    "processes": True,
    "host": "127.0.0.1",
    "dashboard_address": ":0",
}
CONNECT_TIMEOUT = "10s"

_log = logging.getLogger("orc.dask")


class DaskError(OrcError):
    """Dask could not be used for a flow run's task runs."""


class DaskNotInstalled(DaskError):
    """`DaskTaskRunner` was used where the `distributed` package is not installed."""


class SchedulerUnreachable(DaskError):
    """The Dask scheduler at the given address did not answer."""


class WorkerLost(DaskError):
    """The Dask worker running an attempt died (or the attempt was lost with it)."""


@dataclass(slots=True)
class DaskConnection:
    """A client for one flow run, and the cluster it started (closed with it), if any.

    `what` names the cluster for people ("the LocalCluster started for this run"), and
    `dashboard` is the link to its Dask dashboard, when it serves one.
    """

    client: Client
    cluster: Any | None
    what: str = "the Dask cluster"
    dashboard: str | None = None

    @property
    def scheduler(self) -> str:
        return str(getattr(self.client.scheduler, "address", None) or "?")

    def close(self) -> None:
        try:
            self.client.close()
        finally:
            if self.cluster is not None:
                self.cluster.close()


@dataclass(frozen=True, slots=True)
class ClusterChoice:
    """Where a flow run's task runs go: the settings of `DaskTaskRunner`, checked together."""

    address: str | None = None
    cluster: Any | None = None
    cluster_class: type | str | None = None
    cluster_kwargs: dict[str, Any] = field(default_factory=dict)
    adapt_kwargs: dict[str, Any] = field(default_factory=dict)
    client_kwargs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """The combinations Prefect's `DaskTaskRunner` refuses, refused the same way."""
        if self.address and (
            self.cluster is not None
            or self.cluster_class
            or self.cluster_kwargs
            or self.adapt_kwargs
        ):
            raise ValueError(
                "Cannot specify `address` and `cluster`/`cluster_class`/`cluster_kwargs`/"
                "`adapt_kwargs`: an address names a running scheduler, the others a cluster."
            )
        if self.cluster is not None and (self.cluster_class or self.cluster_kwargs):
            raise ValueError(
                "Cannot specify `cluster` and `cluster_class`/`cluster_kwargs`: "
                "the cluster given is used as it is."
            )


def connect(choice: ClusterChoice, warn: Callable[[str], None] = _log.warning) -> DaskConnection:
    """A client on the chosen scheduler or cluster, starting a cluster when none is given."""
    try:
        from distributed import Client
    except ImportError as exc:
        raise DaskNotInstalled(
            "DaskTaskRunner needs the `distributed` package, which is not installed here: "
            "pip install distributed (or orc's dask extra: pip install '/path/to/orc[dask]'), then run the flow again."
        ) from exc
    options = {"set_as_default": False, **choice.client_kwargs}
    if choice.address is not None:
        client = _client_at(Client, choice.address, {"timeout": CONNECT_TIMEOUT, **options})
        _check_scheduler(client, choice.address, warn)
        return DaskConnection(client, None, "the Dask scheduler", _dashboard_link(client))
    started = choice.cluster is None
    cluster: Any = (
        start_cluster(choice.cluster_class, choice.cluster_kwargs) if started else choice.cluster
    )
    try:
        if choice.adapt_kwargs:
            cluster.adapt(**choice.adapt_kwargs)
        client = Client(cluster, **options)
    except BaseException:
        if started:
            cluster.close()
        raise
    if not _is_local_cluster(cluster):
        _check_allowed_failures(client, f"the {type(cluster).__name__}", warn)
    what = f"the {type(cluster).__name__} " + ("started for this run" if started else "given")
    return DaskConnection(client, cluster if started else None, what, _dashboard_link(client))


def start_cluster(cluster_class: type | str | None, cluster_kwargs: dict[str, Any]) -> Any:
    """A new cluster of `cluster_class` (a `LocalCluster` by default) with orc's defaults."""
    from distributed import LocalCluster

    cls = _resolve_class(cluster_class) if cluster_class is not None else LocalCluster
    kwargs = dict(cluster_kwargs)
    if issubclass(cls, LocalCluster):
        kwargs = {**LOCAL_CLUSTER_DEFAULTS, **kwargs}
        kwargs["scheduler_kwargs"] = {"allowed_failures": 0, **kwargs.get("scheduler_kwargs", {})}
    return cls(**kwargs)


def _client_at(client_class: type[Client], address: str, options: dict[str, Any]) -> Client:
    try:
        return client_class(address, **options)
    except Exception as exc:
        timeout = options["timeout"]
        within = f"{timeout:g}s" if isinstance(timeout, int | float) else timeout
        raise SchedulerUnreachable(
            f"Could not connect to the Dask scheduler at {address} (within {within}): "
            f"{type(exc).__name__}: {exc}. Check that a scheduler runs there (`dask scheduler`), "
            "that this host can reach its port (and uses the same TLS settings), or leave out "
            "the address to start a local cluster for the run."
        ) from exc


def _check_scheduler(client: Client, address: str, warn: Callable[[str], None]) -> None:
    """Say in the run's logs what would make task runs wait forever or run twice."""
    try:
        workers = client.scheduler_info().get("workers", {})
    except Exception:  # a scheduler that answers but cannot tell us: tasks will show it
        return
    if not workers:
        warn(f"The Dask scheduler at {address} has no workers yet; task runs wait until one joins.")
    _check_allowed_failures(client, f"the Dask scheduler at {address}", warn)


def _check_allowed_failures(client: Client, where: str, warn: Callable[[str], None]) -> None:
    try:
        allowed = client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.allowed_failures)
    except Exception:
        return
    if allowed:
        warn(
            f"{where} re-runs a task itself up to {allowed} times when the worker running it dies, "
            "so a task body may run twice without orc knowing. Start the scheduler with "
            "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=0 to have orc retry such task runs instead."
        )


def _dashboard_link(client: Client) -> str | None:
    """The link to the Dask dashboard of the client's scheduler: where to watch task runs."""
    try:
        link = client.dashboard_link
    except Exception:  # the scheduler serves no dashboard (turned off): nothing to show
        return None
    return str(link) if link else None


def _is_local_cluster(cluster: Any) -> bool:
    from distributed import LocalCluster

    return isinstance(cluster, LocalCluster)


def _resolve_class(cluster_class: type | str) -> type:
    """A class, or a dotted path to one (`"dask_jobqueue.SLURMCluster"`, `"pkg.mod:Cluster"`)."""
    if isinstance(cluster_class, type):
        return cluster_class
    module_name, _, attribute = cluster_class.replace(":", ".").rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), attribute) if module_name else None
    except (ImportError, AttributeError) as exc:
        raise DaskError(
            f"cluster_class {cluster_class!r} could not be imported ({type(exc).__name__}: {exc}); "
            "give a class or its dotted path, e.g. 'dask_jobqueue.SLURMCluster', and install its package."
        ) from exc
    if not isinstance(cls, type):
        raise DaskError(
            f"cluster_class {cluster_class!r} does not name a class; give a dotted path like "
            "'distributed.LocalCluster'."
        )
    return cls
