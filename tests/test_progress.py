"""Progress meters (after diffrax): sweep reports every frontier to the meter it is given; the text bar draws
only on a terminal."""

from __future__ import annotations

import io

import pytest

from infereco import sweep
from infereco._progress import NoProgress, ProgressMeter, TextProgress, as_meter
from infereco.errors import SpecError


class Counting(ProgressMeter):
    def start(self, total, label=""):
        self.updates, self.closed = 0, False
        return super().start(total, label)

    def update(self, n=1):
        super().update(n)
        self.updates += n

    def close(self):
        self.closed = True


def test_sweep_reports_each_frontier_to_the_meter():
    meter = Counting()
    r = sweep(
        ["llama-3-8b"],
        ["h100-sxm", "h200"],
        [1000],
        [2.0, 3.0],
        space={"max_gpus_per_instance": 2},
        progress=meter,
    )
    assert len(r) == 4 and meter.total == 4 and meter.updates == 4 and meter.closed


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_text_bar_draws_on_a_terminal_only():
    pipe, tty = io.StringIO(), FakeTerminal()
    for stream in (pipe, tty):
        with TextProgress(stream=stream, delay_s=0.0).start(3, "sweep") as bar:
            for _ in range(3):
                bar.update()
    assert pipe.getvalue() == ""
    assert "3/3" in tty.getvalue() and tty.getvalue().endswith("\n")


def test_meter_choices():
    assert isinstance(as_meter(False), NoProgress) and isinstance(as_meter(True), TextProgress)
    with pytest.raises(SpecError, match="progress"):
        as_meter("yes")
