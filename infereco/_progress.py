"""A dependency-free progress bar on stderr, shown only for work that runs longer than a second."""

from __future__ import annotations

import sys
import time


class Progress:
    """`with Progress(total, "sweep") as p: ... p.update()`; silent when disabled or when done within 1 s."""

    def __init__(self, total: int, label: str = "", enabled: bool = True, stream=None, delay_s: float = 1.0):
        self.total = max(int(total), 1)
        self.label = label
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.delay_s = delay_s
        self.done = 0
        self._start = time.perf_counter()
        self._last = 0.0
        self._shown = False

    def __enter__(self):
        return self

    def update(self, n: int = 1) -> None:
        self.done += n
        if not self.enabled:
            return
        now = time.perf_counter()
        elapsed = now - self._start
        if elapsed < self.delay_s or (now - self._last < 0.2 and self.done < self.total):
            return
        self._last = now
        self._shown = True
        frac = self.done / self.total
        width = 30
        bar = "█" * int(frac * width) + "░" * (width - int(frac * width))
        eta = elapsed / frac - elapsed if frac > 0 else 0.0
        self.stream.write(f"\r{self.label} {bar} {self.done}/{self.total} ({elapsed:.0f}s, ~{eta:.0f}s left)")
        self.stream.flush()

    def __exit__(self, *exc):
        if self._shown:
            self.stream.write("\n")
            self.stream.flush()
        return False
