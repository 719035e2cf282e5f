"""House plot style: readable in grayscale (line styles and markers vary with colour), units on every axis."""

from __future__ import annotations

import itertools

import matplotlib.pyplot as plt

COLORS = ("#1b4f72", "#c0392b", "#1e8449", "#7d3c98", "#b9770e", "#2e4053", "#a04000", "#117a65")
LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)))
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def series_styles():
    """Endless (color, linestyle, marker) triples, distinct in colour and in grayscale."""
    return zip(itertools.cycle(COLORS), itertools.cycle(LINESTYLES), itertools.cycle(MARKERS))


def new_axes(ax=None, figsize=(7.0, 4.6)):

    if ax is not None:
        return ax
    _, ax = plt.subplots(figsize=figsize, dpi=110)
    return ax


def finish(ax, title: str | None = None, legend_loc: str = "best"):
    ax.grid(True, which="major", alpha=0.35)
    ax.grid(True, which="minor", alpha=0.12)
    if title:
        ax.set_title(title, fontsize=11)
    handles = ax.get_legend_handles_labels()[0]
    if handles and legend_loc == "outside":
        # Many series: the legend goes right of the axes instead of over the curves.
        ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    elif handles:
        ax.legend(fontsize=8, frameon=False, loc=legend_loc)
    ax.figure.tight_layout()
    return ax


def save(ax, path) -> str:
    ax.figure.savefig(path, dpi=130, bbox_inches="tight")
    return str(path)
