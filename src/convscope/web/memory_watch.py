"""Waiting for a worker's answer while watching its memory.

A worker caps its address space (``RLIMIT_AS``, workers.py) so that a description that
needs too much memory raises ``MemoryError``. Usually the worker catches it and answers
400. But CPython itself can get stuck once every allocation fails: seen here with
Python 3.11, a worker spinning at 100 % CPU inside exception handling, its address space
at the cap, never answering (a 50,000-layer chain under a 32 MB budget: 0.8 s one run,
stuck the next). Killing it at the time limit is safe but slow and says the wrong thing
(504, "took too long"). So the server reads the worker's ``/proc`` files while it waits:
a worker whose address space stays within ``NEAR_CAP`` bytes of its cap for
``STALL_SECONDS`` is out of memory; the caller kills and replaces it and answers 400.
"""

from __future__ import annotations

import time
from multiprocessing.connection import Connection

NEAR_CAP = 8 * 1024**2  # this close to the cap counts as at the cap
STALL_SECONDS = 2.0  # at the cap this long, without answering: out of memory
POLL_SECONDS = 0.25


def address_space(pid: int) -> tuple[int, int] | None:
    """(current size, soft cap) of a process's address space in bytes, from /proc; None
    when unknown (no /proc, no cap, the process gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            size = next(int(line.split()[1]) * 1024 for line in status
                        if line.startswith("VmSize:"))
        with open(f"/proc/{pid}/limits", encoding="ascii") as limits:
            cap = next(line.split()[3] for line in limits
                       if line.startswith("Max address space"))
    except (OSError, StopIteration, ValueError, IndexError):
        return None
    return (size, int(cap)) if cap.isdigit() else None


def wait_for_reply(conn: Connection, pid: int, time_limit: float) -> str:
    """'reply' when the worker answered, 'memory' when it stalled at its memory cap,
    'time' when ``time_limit`` seconds passed."""
    deadline = time.monotonic() + time_limit
    at_cap_since: float | None = None
    while not conn.poll(max(0.0, min(POLL_SECONDS, deadline - time.monotonic()))):
        now = time.monotonic()
        if now >= deadline:
            return "time"
        space = address_space(pid)
        if space is not None and space[0] >= space[1] - NEAR_CAP:
            at_cap_since = at_cap_since or now
            if now - at_cap_since >= STALL_SECONDS:
                return "memory"
        else:
            at_cap_since = None
    return "reply"
