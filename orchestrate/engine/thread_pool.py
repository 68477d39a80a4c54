"""The threads a flow run's submitted task runs execute on.

Like `ThreadPoolExecutor` with no worker limit, a job never waits behind
threads that are blocked: while jobs are queued, one thread is always on its
way to the queue (being started, or woken from idle), and when it takes a job
and leaves others queued it sends for the next. Unlike it, a thread that
finishes a job takes the next queued one itself, and only one thread is sent
for at a time, so a burst of short jobs runs on a few threads instead of one
new thread per job submitted while the others were busy.
"""

from __future__ import annotations

import sys
import threading
from collections import deque
from collections.abc import Callable
from itertools import count

Job = Callable[[], object]
_pool_numbers = count()


class ThreadPool:
    """Runs zero-argument jobs on up to `max_workers` threads, started as needed."""

    def __init__(
        self, max_workers: int, name: str = "orc-task", on_exit: Job | None = None
    ) -> None:
        self.max_workers = max_workers
        self._on_exit = on_exit  # called by each thread as it ends
        self._name = f"{name}-{next(_pool_numbers)}"
        self._jobs: deque[Job] = deque()
        self._lock = threading.Lock()
        self._wakeup = threading.Condition(self._lock)
        self._threads: list[threading.Thread] = []
        self._started = 0  # threads started, counted under the lock
        self._idle = 0  # waiting for a job
        self._coming = 0  # started or woken, not yet at the queue
        self._closing = False
        self._abandoned = False

    def submit(self, job: Job) -> None:
        """Queue `job`; it starts on a free thread, or a new one if none is free."""
        with self._lock:
            if self._abandoned:
                return  # the process is ending: nothing new starts, and nobody needs telling
            if self._closing:
                raise RuntimeError("The thread pool is shut down.")
            self._jobs.append(job)
            start = self._coming == 0 and self._send_for_a_thread()
        if start:
            self._start_thread()

    def shutdown(self) -> None:
        """Let the threads go once the queue is empty, and wait for them."""
        with self._lock:
            self._closing = True
            self._coming += self._idle  # each wakes and counts itself off
            self._idle = 0
            self._wakeup.notify_all()
        for thread in self._threads:
            thread.join()

    def abandon(self) -> None:
        """Drop the queued jobs and let idle threads go, without waiting for the busy ones.

        Their threads cannot be stopped: they end with the process, which is ending.
        """
        with self._lock:
            self._closing = self._abandoned = True
            self._jobs.clear()
            self._coming += self._idle
            self._idle = 0
            self._wakeup.notify_all()

    def _send_for_a_thread(self) -> bool:
        """Wake an idle thread (lock held); True if a new one must be started instead."""
        if self._idle:
            self._idle -= 1
            self._coming += 1
            self._wakeup.notify()
            return False
        if self._started >= self.max_workers:
            return False  # at the limit: queued jobs wait for a busy thread
        self._started += 1
        self._coming += 1
        return True

    def _start_thread(self) -> None:
        thread = threading.Thread(
            target=self._work, name=f"{self._name}_{len(self._threads)}", daemon=True
        )
        self._threads.append(thread)
        thread.start()

    def _work(self) -> None:
        try:
            self._take_jobs()
        finally:
            if self._on_exit is not None:
                self._on_exit()

    def _take_jobs(self) -> None:
        jobs = self._jobs
        arrived = False
        while True:
            job = self._next_job(arrived)
            arrived = True
            if job is None:
                return
            while job is not None:
                try:
                    job()
                except BaseException:
                    # Jobs report their own failures as states: this is a bug, and it
                    # must not cost the pool a thread (nor strand the queued jobs).
                    sys.excepthook(*sys.exc_info())
                try:  # a busy thread takes the next job itself; nobody is sent for it
                    job = jobs.popleft()
                except IndexError:
                    job = None

    def _next_job(self, arrived: bool) -> Job | None:
        """Take a job (sending for another thread if more wait), or idle until there is one."""
        start = False
        with self._lock:
            if not arrived:
                self._coming -= 1  # just started
            while True:
                while not self._jobs:
                    if self._closing:
                        return None
                    self._idle += 1
                    self._wakeup.wait()
                    self._coming -= 1  # whoever woke us counted us as coming
                try:
                    job = self._jobs.popleft()
                    break
                except IndexError:  # a busy thread took it without the lock: wait again
                    continue
            if self._jobs and self._coming == 0:
                start = self._send_for_a_thread()
        if start:
            self._start_thread()
        return job
