"""A small pool of worker processes that do the web server's analyses off its event loop.

Why processes: a description can ask for work that Python cannot interrupt (a block
expression like ``${10**10**10}`` runs inside one C call and never returns to the
interpreter), so the only dependable stop is to kill the process doing it.

How it works:

* ``size`` workers are started as fresh interpreters (``python -c``, talking through a
  socket pair: no threads, sockets or main script of the server inherited). Each
  imports the analysis code, sends "ready", and then caps its own address space
  (``RLIMIT_AS``) at its idle size plus ``memory_limit``; a ``MemoryError`` becomes a
  400 answer and the worker is replaced.
* A request takes a slot (at most ``size`` analyses run at once; at most ``max_waiting``
  more wait, up to ``time_limit`` seconds, else 503), sends its job through the socket and
  waits ``time_limit`` seconds for the answer. Past that, the worker is killed (SIGKILL),
  a new one is started in its place and the request gets 504.
* The waiting happens in a thread of a small thread pool, so the event loop keeps serving
  pages and other requests meanwhile.
* A worker whose server died exits when its socket closes; one stuck in a long C call is
  stopped by the kernel through ``RLIMIT_CPU`` (set before each job to the CPU time used
  so far plus the time limit plus a margin, so the server's own kill always comes first).
* ``close()`` (server shutdown, the end of a test client, or interpreter exit) kills every
  worker and waits for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from .jobs import Reply, error_reply
from .memory_watch import wait_for_reply

DEFAULT_WORKERS = 2
DEFAULT_TIME_LIMIT = 10.0
DEFAULT_MEMORY_LIMIT = 2 * 1024**3
MAX_WAITING = 8
PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])  # the folder holding convscope/
START_TIMEOUT = 60.0  # seconds a new worker may take to import convscope (not billed)
CPU_MARGIN = 5  # seconds of CPU beyond the time limit before the kernel stops a worker

_budget: int | None = None  # this worker's memory budget (set in the worker process)


def _vm_size() -> int:
    """Bytes of address space this process uses now (Linux); 0 when unknown."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _cap_memory() -> None:
    if _budget is None:
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    soft = _vm_size() + _budget
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@contextlib.contextmanager
def raise_memory_limit_for(what: str) -> Iterator[None]:
    """Lift the address-space cap while importing a large library (PyTorch maps about
    3 GB of address space), then cap again at the new idle size plus the budget."""
    if _budget is None:
        yield
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
    try:
        yield
    finally:
        _cap_memory()


def _cap_cpu(time_limit: float) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = math.ceil(usage.ru_utime + usage.ru_stime)
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = used + math.ceil(time_limit) + CPU_MARGIN
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def worker_main(conn: Any, memory_limit: int, time_limit: float) -> None:
    """The loop of one worker process: a job in, a (Reply, retire) pair out."""
    global _budget
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the server's to handle
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core files, ever
    from .jobs import run_job

    run_job({"kind": "analyze", "text": "8x8x1 | conv3-2 | fc2"})  # import and warm up
    _budget = memory_limit
    _cap_memory()
    conn.send("ready")
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return  # the server is gone
        _cap_cpu(time_limit)
        retire = False
        try:
            reply = run_job(job)
        except MemoryError:
            # nothing is built here: the exception's traceback still holds the job's frames
            # and their memory until this block ends
            retire = True
        except Exception as err:  # noqa: BLE001 - any bug must still answer, not hang
            reply = error_reply(f"internal error: {type(err).__name__}: {str(err)[:200]}",
                                500)
        if retire:  # the job's memory is free again
            reply = memory_reply(memory_limit)
        try:
            conn.send((reply, retire))
        except (OSError, ValueError):
            return
        if retire:
            return


def memory_reply(memory_limit: int) -> Reply:
    return error_reply("the description needs more memory than the server allows "
                       f"({memory_limit // 1024**2:,} MB per analysis)", 400)


def child_main(fd: int, memory_limit: int, time_limit: float) -> None:
    """Entry point of a worker process (``python -c``): ``fd`` is its end of the socket."""
    worker_main(Connection(fd), memory_limit, time_limit)


class Worker:
    """One worker process and the server's end of its socket.

    Started as ``python -c 'from convscope.web.workers import child_main; ...'`` rather
    than by multiprocessing, so that it never re-imports the server's main script."""

    def __init__(self, memory_limit: int, time_limit: float) -> None:
        ours, theirs = socket.socketpair()
        # '-c' puts the current folder first on sys.path: a user's difflib.py or yaml.py
        # there would be imported. The worker drops that entry and runs in the folder that
        # holds the package, which holds nothing else of the user's.
        code = (f"import sys; sys.path[:] = [p for p in sys.path if p]; "
                f"from convscope.web.workers import child_main; "
                f"child_main({theirs.fileno()}, {int(memory_limit)}, {float(time_limit)!r})")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [PACKAGE_ROOT,
                                                          env.get("PYTHONPATH")]))
        try:
            self.process = subprocess.Popen([sys.executable, "-c", code], env=env,
                                            pass_fds=(theirs.fileno(),), cwd=PACKAGE_ROOT,
                                            stdin=subprocess.DEVNULL)
        finally:
            theirs.close()
        self.conn = Connection(ours.detach())
        self.ready = False
        self.memory_limit = memory_limit

    def call(self, job: dict[str, Any], time_limit: float) -> tuple[Reply, bool]:
        """The reply to a job and whether this worker may be used again."""
        try:
            if not self.ready:
                if not self.conn.poll(START_TIMEOUT) or self.conn.recv() != "ready":
                    return error_reply("the analysis worker did not start", 503), False
                self.ready = True
            self.conn.send(job)
            waited = wait_for_reply(self.conn, self.process.pid, time_limit)
            if waited == "memory":
                return memory_reply(self.memory_limit), False
            if waited == "time":
                return error_reply(f"the analysis took longer than {time_limit:g} s (the "
                                   "server's limit per request) and was stopped", 504), False
            reply, retire = self.conn.recv()
            return reply, not retire
        except (EOFError, OSError):
            return error_reply("the analysis worker ended unexpectedly (a crash or the "
                               "server shutting down)", 500), False

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            if self.process.poll() is None:
                self.process.kill()
            self.process.wait(5)
        with contextlib.suppress(Exception):
            self.conn.close()


class Pool:
    """``size`` workers, a time limit and a memory budget per request (see the module)."""

    def __init__(self, size: int = DEFAULT_WORKERS, time_limit: float = DEFAULT_TIME_LIMIT,
                 memory_limit: int = DEFAULT_MEMORY_LIMIT, max_waiting: int = MAX_WAITING):
        self.size, self.time_limit, self.memory_limit = size, time_limit, memory_limit
        self.max_waiting = max_waiting
        self._lock = threading.Lock()
        self._idle: list[Worker] = []
        self._live: set[Worker] = set()
        self._slots = threading.Semaphore(size)
        self._executor: ThreadPoolExecutor | None = None
        self._pending = 0
        self._closed = False
        self.replaced = 0  # workers killed and replaced (time limit, memory, crash)

    def start(self) -> None:
        """Start the workers (so that they are warm before the first request)."""
        with self._lock:
            self._closed = False
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.size + self.max_waiting,
                                                    thread_name_prefix="convscope-web")
            while len(self._live) < self.size:
                self._idle.append(self._spawn())

    def _spawn(self) -> Worker:
        worker = Worker(self.memory_limit, self.time_limit)
        self._live.add(worker)
        return worker

    def close(self) -> None:
        """Kill every worker and wait for it; the pool can be started again."""
        with self._lock:
            self._closed = True
            workers, self._idle, self._live = list(self._live), [], set()
            executor, self._executor = self._executor, None
        for worker in workers:
            worker.kill()
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)

    def pids(self) -> list[int]:
        with self._lock:
            return [w.process.pid for w in self._live]

    async def run(self, job: dict[str, Any]) -> Reply:
        """The reply to a job; never raises for anything the job does."""
        if self._executor is None and not self._closed:
            self.start()  # lazily, when no lifespan started the pool
        with self._lock:
            if self._pending >= self.size + self.max_waiting or self._executor is None:
                return error_reply("the server is busy with other analyses; try again in a "
                                   "moment", 503)
            self._pending += 1
            future: Future[Reply] = self._executor.submit(self._run_blocking, job)
        future.add_done_callback(self._done)
        return await asyncio.wrap_future(future)

    def _done(self, _: Future[Reply]) -> None:
        with self._lock:
            self._pending -= 1

    def _run_blocking(self, job: dict[str, Any]) -> Reply:
        if not self._slots.acquire(timeout=self.time_limit):
            return error_reply("the server is busy with other analyses; try again in a "
                               "moment", 503)
        try:
            with self._lock:
                if self._closed:
                    return error_reply("the server is shutting down", 503)
                worker = self._idle.pop() if self._idle else self._spawn()
            reply, keep = worker.call(job, self.time_limit)
            with self._lock:
                if keep and worker in self._live:
                    self._idle.append(worker)
                    return reply
                closed = worker not in self._live
                self._live.discard(worker)
            worker.kill()
            if not closed:
                with self._lock:
                    self.replaced += 1
                    if self._executor is not None:
                        self._idle.append(self._spawn())
            return reply
        finally:
            self._slots.release()
