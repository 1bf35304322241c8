"""A progress bar in the spirit of Keras's (seed 004 prints
``50000/50000 [======] - 7s 142us/sample - loss: 1.1004 - ...``): redrawn in place on a
terminal at most ten times a second, one plain line per epoch otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO


def fmt_seconds(s: float) -> str:
    return f"{s:.0f}s" if s >= 10 else f"{s:.1f}s"


class Progress:
    def __init__(self, epoch: int, epochs: int, steps: int, stream: TextIO | None = None,
                 enabled: bool = True) -> None:
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty()
        self.enabled = enabled
        self.epoch, self.epochs, self.steps = epoch, epochs, steps
        self.start = time.perf_counter()
        self.last_draw = 0.0
        if enabled and self.tty:
            self.stream.write(f"Epoch {epoch}/{epochs}\n")

    def metrics_text(self, metrics: dict[str, float]) -> str:
        return "".join(f" - {k}: {v:.4f}" for k, v in metrics.items())

    def update(self, step: int, metrics: dict[str, float]) -> None:
        if not (self.enabled and self.tty):
            return
        now = time.perf_counter()
        if step < self.steps and now - self.last_draw < 0.1:
            return
        self.last_draw = now
        done = int(30 * step / self.steps)
        bar = "=" * done + (">" if done < 30 else "") + "." * max(0, 29 - done)
        elapsed = now - self.start
        per = elapsed / max(step, 1) * 1000
        self.stream.write(f"\r{step:>{len(str(self.steps))}}/{self.steps} [{bar}] - "
                          f"{fmt_seconds(elapsed)} {per:.0f}ms/step"
                          f"{self.metrics_text(metrics)}\x1b[K")
        self.stream.flush()

    def end(self, metrics: dict[str, float]) -> None:
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.start
        per = elapsed / max(self.steps, 1) * 1000
        if self.tty:
            bar = "=" * 30
            self.stream.write(f"\r{self.steps}/{self.steps} [{bar}] - {fmt_seconds(elapsed)} "
                              f"{per:.0f}ms/step{self.metrics_text(metrics)}\x1b[K\n")
        else:
            self.stream.write(f"epoch {self.epoch}/{self.epochs} - {self.steps} steps - "
                              f"{fmt_seconds(elapsed)} {per:.0f}ms/step"
                              f"{self.metrics_text(metrics)}\n")
        self.stream.flush()
