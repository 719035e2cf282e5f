"""The library's exception hierarchy: every error a user can hit derives from `InferecoError`."""

from __future__ import annotations


class InferecoError(Exception):
    """Base class of every error infereco raises on purpose."""


class SpecError(InferecoError, ValueError):
    """A model, hardware or workload spec is invalid (names the field, the value and what was expected)."""


class CatalogError(InferecoError, KeyError):
    """An unknown catalog id; the message lists the known ids."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain.
        return str(self.args[0]) if self.args else ""


class ScenarioError(InferecoError, ValueError):
    """A scenario file or mapping is invalid (names the file, the key and the fix)."""


class InfeasibleError(InferecoError):
    """No configuration can serve the request (for APIs that must return one point)."""
