"""Latency of ``convscope serve`` (issue 12): a small request while a slow one runs.

Starts the real app on a free loopback port (uvicorn in a thread, its worker processes),
then:

1. the median of 20 sequential ``/api/analyze`` requests for resnet50 and for lenet5;
2. a 100,000-layer description posted in the background (it runs into the time limit)
   and, meanwhile, 10 small requests: their latencies, and the slow one's status and time.

    python benchmarks/web_latency.py [--time-limit 10]

Only 127.0.0.1 is contacted; every loop is bounded.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

import httpx2 as httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import convscope.zoo  # noqa: E402
from convscope.web.app import create_app  # noqa: E402
from webserver import running  # noqa: E402 - the tests' loopback server helper

SMALL = "8x8x1 | conv3-4 | fc10"


def timed_post(client: httpx.Client, url: str, text: str) -> tuple[float, int]:
    start = time.perf_counter()
    reply = client.post(url, json={"text": text}, timeout=120)
    return (time.perf_counter() - start) * 1000, reply.status_code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-limit", type=float, default=10.0)
    args = parser.parse_args()
    big = "8x8x3 | conv1-3 | relu *100000"  # 21 bytes that expand to 100,001 layers
    with running(create_app(time_limit=args.time_limit)) as base, httpx.Client() as client:
        url = f"{base}/api/analyze"
        for name in ("resnet50", "lenet5"):
            text = convscope.zoo.text(name)
            timed_post(client, url, text)  # warm-up
            times = [timed_post(client, url, text)[0] for _ in range(20)]
            print(f"{name:10s} /api/analyze median {statistics.median(times):7.1f} ms "
                  f"(20 requests, one at a time)")
        slow: dict[str, float | int] = {}

        def post_slow() -> None:
            with httpx.Client() as own:
                slow["ms"], slow["status"] = timed_post(own, url, big)

        thread = threading.Thread(target=post_slow)
        thread.start()
        time.sleep(0.5)  # the slow request is in a worker by now
        small = [timed_post(client, url, SMALL)[0] for _ in range(10)]
        thread.join(args.time_limit + 60)
        print(f"small requests during a 100,000-layer one: median {statistics.median(small):.1f} "
              f"ms, max {max(small):.1f} ms (10 requests)")
        print(f"the 100,000-layer request: status {slow.get('status')} after "
              f"{float(slow.get('ms', 0)) / 1000:.1f} s (time limit {args.time_limit:g} s)")


if __name__ == "__main__":
    main()
