"""Latency of ``convscope serve`` (issue 12): a small request while a slow one runs.

Starts ``convscope serve`` as its own process on a free loopback port (the command a user
runs: its event loop and its worker processes, none of them sharing this process's
interpreter with the clients), then:

1. the median of 20 sequential ``/api/analyze`` requests for resnet50 and for lenet5 (each
   with another model name, so none is answered from a worker's recent answers);
2. live editing of the largest zoo model (issue 16): 8 clients at once, each posting
   resnet152's description 25 times, with the server's default two workers; the median and
   95th percentile of the answers' latencies (target: p95 under 100 ms), for keystrokes in
   a comment (each text differs from the one before, the description does not: a worker
   answers from its recent answers, web/jobs.py) and keystrokes that change the
   description (the classifier's units, a new value for every request: analysed every
   time). Each is timed twice: as the page sends its requests (web/static/app.js posts
   250 ms after the last keystroke, so a person typing sends one at most every 250 ms:
   each client waits that long after an answer), and back to back (a stress test: each
   client posts again the moment it has its answer, a load no page makes);
3. a description of almost 200,000 layers (the layer budget) posted in the background (it
   runs into the time limit) and, meanwhile, 10 small requests: their latencies, and the
   slow one's status and time.

    python benchmarks/web_latency.py [--time-limit 10] [--clients 8]

Only 127.0.0.1 is contacted; every loop is bounded; the server process is stopped at the
end.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx2 as httpx

import convscope.zoo

DEBOUNCE = 0.25  # seconds: web/static/app.js's schedule()

SMALL = "8x8x1 | conv3-4 | fc10"


def timed_post(client: httpx.Client, url: str, text: str) -> tuple[float, int]:
    start = time.perf_counter()
    reply = client.post(url, json={"text": text}, timeout=120)
    return (time.perf_counter() - start) * 1000, reply.status_code


def in_a_comment(text: str, n: int, k: int) -> str:
    return f"{text}\n# client {n} keystroke {k}\n"


def in_the_description(text: str, n: int, k: int) -> str:
    assert "units: 1000" in text
    return text.replace("units: 1000", f"units: {2000 + 100 * n + k}")


@contextmanager
def serving(time_limit: float) -> Iterator[str]:
    """``convscope serve`` on a free loopback port, as its own process, until the block
    ends; yields the base URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "convscope", "serve", "--port",
                               str(port), "--time-limit", str(time_limit)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/api/zoo", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        else:
            raise RuntimeError("convscope serve did not start")
        yield base
    finally:
        server.terminate()
        server.wait(30)


def live_editing(url: str, text: str, clients: int, edit: Any, pause: float,
                 keystrokes: int = 25) -> None:
    """``clients`` threads, each posting ``text`` changed by ``edit`` ``keystrokes`` times,
    ``pause`` seconds after each answer; prints the median and the 95th percentile
    latency."""
    times: list[float] = []
    statuses: set[int] = set()

    def typist(n: int) -> None:
        with httpx.Client() as own:
            for k in range(keystrokes):
                ms, status = timed_post(own, url, edit(text, n, k))
                times.append(ms)
                statuses.add(status)
                time.sleep(pause)

    threads = [threading.Thread(target=typist, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    times.sort()
    p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
    where = edit.__name__.replace("_", " ")
    how = f"as the page sends them, {pause * 1000:.0f} ms apart" if pause else "back to back"
    print(f"resnet152  /api/analyze with {clients} clients typing {where} ({how}): median "
          f"{statistics.median(times):.1f} ms, p95 {p95:.1f} ms ({len(times)} requests, "
          f"statuses {sorted(statuses)}; target p95 < 100 ms)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-limit", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    big = "8x8x3 | conv1-3 | relu *199990"  # 29 bytes that expand to 199,992 layers
    with serving(args.time_limit) as base, httpx.Client() as client:
        url = f"{base}/api/analyze"
        for name in ("resnet50", "lenet5"):
            text = convscope.zoo.text(name)
            timed_post(client, url, text)  # warm-up
            # each request names the model differently: a new description, analysed
            times = [timed_post(client, url, text.replace(f"name: {name}", f"name: {name}_{i}",
                                                          1))[0] for i in range(20)]
            print(f"{name:10s} /api/analyze median {statistics.median(times):7.1f} ms "
                  f"(20 requests, one at a time, each a new description)")
        for pause in (DEBOUNCE, 0.0):
            for edit in (in_a_comment, in_the_description):
                live_editing(url, convscope.zoo.text("resnet152"), args.clients, edit, pause)
        slow: dict[str, float | int] = {}

        def post_slow() -> None:
            with httpx.Client() as own:
                slow["ms"], slow["status"] = timed_post(own, url, big)

        thread = threading.Thread(target=post_slow)
        thread.start()
        time.sleep(0.5)  # the slow request is in a worker by now
        small = [timed_post(client, url, SMALL)[0] for _ in range(10)]
        thread.join(args.time_limit + 60)
        print(f"small requests during a 199,992-layer one: median {statistics.median(small):.1f} "
              f"ms, max {max(small):.1f} ms (10 requests)")
        print(f"the 199,992-layer request: status {slow.get('status')} after "
              f"{float(slow.get('ms', 0)) / 1000:.1f} s (time limit {args.time_limit:g} s)")


if __name__ == "__main__":
    main()
