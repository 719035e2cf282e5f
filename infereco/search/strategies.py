"""The search strategies by name: `get_search('discrete' | 'erdil-grid' | 'continuous')`."""

from __future__ import annotations

from infereco.errors import SpecError
from infereco.search.base import SearchStrategy
from infereco.search.discrete import DiscreteSearch
from infereco.search.erdil_grid import CONTINUOUS, ERDIL_GRID

STRATEGIES: dict[str, SearchStrategy] = {
    "discrete": DiscreteSearch(),
    "erdil-grid": ERDIL_GRID,
    "continuous": CONTINUOUS,
}


def get_search(search: str | SearchStrategy) -> SearchStrategy:
    """The strategy of a name, or `search` itself when it already is one.

    >>> get_search("erdil-grid").threshold_scan
    True
    """
    if isinstance(search, str):
        if search not in STRATEGIES:
            raise SpecError(f"search={search!r}: unknown search; known searches: {', '.join(STRATEGIES)}")
        return STRATEGIES[search]
    if isinstance(search, SearchStrategy):
        return search
    raise SpecError(
        f"search={search!r}: expected a search name ({', '.join(STRATEGIES)}) or a strategy object"
    )
