"""`orc up`: take the project's lock, open the store, and run the daemon until a signal.

The order matters: the lock first (a second daemon must fail before it
touches anything), then the config (a broken file refuses to start, with
every error), then the store, recovery and the first plan, and only then the
socket, so a client never sees a daemon that has not caught up.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrate._version import __version__
from orchestrate.core.project import CONFIG_FILE, state_dir, store_path
from orchestrate.daemon import collector, sd_notify
from orchestrate.daemon.lock import DaemonLock
from orchestrate.daemon.logs import configure_logging
from orchestrate.daemon.supervised import DaemonFailed, Supervised
from orchestrate.daemon.thread_names import name_threads

if TYPE_CHECKING:
    from orchestrate.daemon.watch import Signature

log = logging.getLogger("orc.daemon")


def run_daemon(
    root: Path,
    log_format: str = "human",
    shutdown_grace: float = 10.0,
    log_file: Path | None = None,
) -> None:
    """Run `orc up` for the project at `root` until SIGINT/SIGTERM or `orc down`."""
    from orchestrate.config import load_config
    from orchestrate.daemon.watch import signature

    configure_logging(log_format, log_file=log_file)
    lock = DaemonLock(root)
    lock.acquire()
    try:
        loaded = signature(root / CONFIG_FILE)  # before the read: a save meanwhile is seen
        config = load_config(root / CONFIG_FILE)
        use_secrets(config)
        log_warnings(config)
        asyncio.run(_main(root, config, shutdown_grace, loaded, log_file))
    finally:
        lock.release()


async def _main(
    root: Path,
    config: Any,
    shutdown_grace: float,
    loaded: Signature | None = None,
    log_file: Path | None = None,
) -> None:
    from orchestrate.daemon.automations import Automations
    from orchestrate.daemon.deployments import DeploymentTable
    from orchestrate.daemon.handlers import Handlers
    from orchestrate.daemon.read_pause import ReadPause
    from orchestrate.daemon.recovery import recover
    from orchestrate.daemon.retention import Retention
    from orchestrate.daemon.run_retention import RunRetention
    from orchestrate.daemon.scope import RunScopes
    from orchestrate.daemon.server import RpcServer
    from orchestrate.daemon.service import Daemon
    from orchestrate.daemon.shutdown import shutdown_handlers
    from orchestrate.daemon.state_push import StatePush
    from orchestrate.daemon.supervisor import Supervisor
    from orchestrate.store import connection
    from orchestrate.store.notices import report_through_logging
    from orchestrate.store.queries import Store
    from orchestrate.store.writer import StoreWriter

    started = time.monotonic()
    name_threads()
    path = store_path(root)
    state_dir(root)
    conn = connection.open_owned(path)
    report_through_logging()
    writer = StoreWriter(path, connection=conn)
    scopes = RunScopes(root)
    pause = ReadPause(lambda: writer.health.waiting)
    daemon = Daemon(
        root,
        DeploymentTable(config, state_dir(root)),
        writer,
        lambda on_records: Supervisor(
            on_records, scopes=scopes, warm=_warm_starts(), read_pause=pause
        ),
    )
    daemon.scopes = scopes
    daemon.log_file = log_file
    daemon.config_seen = loaded
    automations_state = state_dir(root) / "automations.json"
    daemon.automations = Automations(daemon, config.automations, automations_state)
    retention = Retention(daemon)
    handlers = Handlers(daemon, conn, __version__)
    stop = _stop_on_signals()
    server = RpcServer(handlers.table() | shutdown_handlers(stop, shutdown_grace), handlers.hello)
    daemon.publish = server.publish
    pushes = StatePush(handlers, server)
    daemon.event_listeners.append(pushes)
    daemon.status_moved = pause.on_change = pushes.status_changed
    loop = asyncio.get_running_loop()

    def health_changed(health: Any) -> None:  # on the writer's thread
        loop.call_soon_threadsafe(daemon.store_health_changed, health)

    writer.on_health(health_changed)

    def reopen_store() -> None:
        """DuckDB invalidated the database (a full disk in a checkpoint): open it again."""
        try:
            fresh = connection.open_owned(path)
        except Exception:
            log.exception("opening the store again failed; trying again in 5 s")
            loop.call_later(5.0, reopen_store)
            return
        writer.use_connection(fresh)
        handlers.connection = fresh
        log.warning("the store was opened again after DuckDB gave it up")

    daemon.reopen_store = reopen_store
    cursor = conn.cursor()
    try:
        recover(daemon, Store.over(cursor, path), cursor)
        daemon.pauses.restore(Store.over(cursor, path))
        daemon.automations.account_for_cut_off(Store.over(cursor, path))
    finally:
        cursor.close()  # a cursor's last result holds a transaction, which holds off checkpoints
    daemon.plan()
    if daemon.supervisor.zygotes is not None:
        for deployment in config.deployments:
            daemon.supervisor.zygotes.prewarm(str(root), deployment.preload, deployment.python)
    collector.tune()  # once loaded and recovered, before the first client is served
    await server.start(state_dir(root) / "orc.sock")
    parts = Supervised(stop)
    parts.start("watcher", lambda: _watch(daemon, root, config))
    parts.start("scheduler", daemon.serve)
    parts.start("automation deadlines", daemon.automations.watch_deadlines)
    parts.start("retention", retention.run)
    parts.start("watchdog", sd_notify.watchdog)
    parts.start("run retention", RunRetention(daemon, lambda: handlers.connection).run)
    log.info(
        "orc up: project %s, %d deployment(s), pid %d, ready in %.0f ms; processes of a run: %s",
        daemon.table.project_name,
        len(daemon.table),
        _pid(),
        (time.monotonic() - started) * 1000,
        scopes.mechanism,
    )
    sd_notify.notify(f"READY=1\nMAINPID={_pid()}\nSTATUS=ready")
    await stop.wait()
    sd_notify.notify("STOPPING=1")
    if parts.failed:
        log.error("stopping: %s failed for good", parts.failed)
    else:
        log.info("stopping: no new runs; waiting for running ones")
    await daemon.stop(shutdown_grace)
    if daemon.supervisor.zygotes is not None:  # and their spares, before their cgroups go
        await daemon.supervisor.zygotes.close()
    scopes.close()
    await parts.cancel()
    pushes.close()
    await server.close()
    writer.close()
    conn.close()
    log.info("stopped")
    if parts.failed:
        raise DaemonFailed(
            f"orc up stopped because its {parts.failed} kept failing; see the log above."
        )


def use_secrets(config: Any) -> None:
    """Mask the config's secrets, as set in the daemon's environment, in its log and pipes."""
    import os

    from orchestrate.core import secrets

    secrets.use(secrets.Masker(config.secret_values(os.environ)))


def log_warnings(config: Any) -> None:
    """What `orc validate` warns about (an unset `from_env` blocking a deployment), in the log."""
    for issue in getattr(config, "warnings", ()):
        log.warning("flows.toml: %s", issue)


def _warm_starts() -> bool:
    """Runs are forked from warm zygotes unless ORC_COLD_WORKERS=1 (to compare, or to debug)."""
    return os.environ.get("ORC_COLD_WORKERS", "") in ("", "0")


def _pid() -> int:
    import os

    return os.getpid()


def _stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT, SIGTERM or SIGHUP, each a clean stop that says which it was.

    SIGHUP is what a foreground `orc up` gets when its terminal or SSH session closes:
    by default it would end the daemon at once, with nothing in its log and its runs
    cut off. There is nothing to reload on it: flows.toml is read on every save.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, _stop_for, sig, stop)
    return stop


def _stop_for(sig: signal.Signals, stop: asyncio.Event) -> None:
    if not stop.is_set():
        why = " (its terminal or session closed)" if sig is signal.SIGHUP else ""
        log.info("stopping on %s%s", sig.name, why)
    stop.set()


async def _watch(daemon: Any, root: Path, config: Any) -> None:
    from orchestrate.config import ConfigError, load_config
    from orchestrate.config.reading import is_blank
    from orchestrate.core.errors import OrcError
    from orchestrate.daemon.watch import signature, watch

    config_path = root / CONFIG_FILE

    def seen() -> Signature | None:
        return daemon.config_seen

    async def reload() -> None:
        daemon.config_seen = signature(config_path)  # before the read: a save meanwhile is new
        if (len(daemon.table) or len(daemon.automations)) and is_blank(config_path):
            daemon.config_invalid(OrcError(_EMPTY_SAVE.format(path=config_path)))
            return
        try:
            new = load_config(config_path)
        except ConfigError as exc:
            daemon.config_invalid(exc)
            return
        except Exception as exc:  # one bad save must never end live reload
            log.exception("reading %s failed", config_path)
            daemon.config_invalid(
                OrcError(f"{config_path}: cannot be read ({type(exc).__name__}: {exc})")
            )
            return
        try:
            use_secrets(new)
            log_warnings(new)
            daemon.reload(new)
        except Exception as exc:
            log.exception("applying %s failed; keeping the last good config", config_path)
            daemon.config_invalid(
                OrcError(f"{config_path}: cannot be applied ({type(exc).__name__}: {exc})")
            )

    folders = [root / f for f in (getattr(config.project, "watch", None) or [])]
    await watch(root, config_path, folders, reload, lambda: daemon.stopping, seen)


_EMPTY_SAVE = (
    "{path}: the file is empty, as a save still being written leaves it; keeping the last "
    "good config. To remove every deployment and automation, keep the [project] table."
)
