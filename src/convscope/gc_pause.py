"""The cyclic garbage collector paused while one large structure is built.

Reading a description, analysing it and rendering it allocate many small objects that
stay alive until the end (nodes, layers, per-layer numbers). Each full collection walks
all of them again, so with the collector running the time of a 20,000-layer chain grows
faster than its size; these passes make little cyclic garbage, and what they make is
collected when the pass ends. (The PyTorch importer does the same for its capture.)
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    """Run the body with the cyclic collector off; it is on again afterwards if it was."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()
