"""Families recognised but refused: hybrids whose layers need physics the spec does not have, and shapes one
`ModelSpec` cannot represent. Each reason is one line and names the missing feature."""

from __future__ import annotations
