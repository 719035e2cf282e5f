"""Progress meters for long runs (after diffrax's): an abstract meter, a silent default, a text bar on stderr
and an optional tqdm one. `sweep(progress=...)` takes True (text), False (none) or any meter object.

>>> with NoProgress().start(3, "sweep") as p:
...     p.update()
"""

from __future__ import annotations

import sys
import time

from infereco.errors import SpecError


class ProgressMeter:
    """The meter protocol: `start(total, label)` returns a context manager with `update(n)`."""

    def start(self, total: int, label: str = "") -> ProgressMeter:
        self.total, self.label, self.done = max(int(total), 1), label, 0
        return self

    def update(self, n: int = 1) -> None:
        self.done += n

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class NoProgress(ProgressMeter):
    """Shows nothing."""


class TextProgress(ProgressMeter):
    """A dependency-free bar on stderr, shown only for work that runs longer than `delay_s`."""

    def __init__(self, stream=None, delay_s: float = 1.0):
        self.stream = stream or sys.stderr
        self.delay_s = delay_s

    def start(self, total: int, label: str = "") -> TextProgress:
        super().start(total, label)
        self._start = time.perf_counter()
        self._last = 0.0
        self._shown = False
        return self

    def update(self, n: int = 1) -> None:
        self.done += n
        if not getattr(self.stream, "isatty", lambda: False)():
            return  # a log file or pipe gets no carriage-return bar
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

    def close(self) -> None:
        if self._shown:
            self.stream.write("\n")
            self.stream.flush()


class TqdmProgress(ProgressMeter):
    """A tqdm bar (tqdm is optional: `pip install tqdm`)."""

    def start(self, total: int, label: str = "") -> TqdmProgress:
        try:
            import tqdm
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("TqdmProgress needs tqdm: pip install tqdm") from exc
        super().start(total, label)
        self._bar = tqdm.tqdm(total=self.total, desc=label)
        return self

    def update(self, n: int = 1) -> None:
        super().update(n)
        self._bar.update(n)

    def close(self) -> None:
        self._bar.close()


def as_meter(progress) -> ProgressMeter:
    """A meter from True (text), False/None (none) or a meter."""
    if isinstance(progress, ProgressMeter):
        return progress
    if progress is True:
        return TextProgress()
    if progress in (False, None):
        return NoProgress()
    raise SpecError(
        f"progress={progress!r}: expected True, False or a ProgressMeter (NoProgress, TextProgress, "
        "TqdmProgress)"
    )
