"""The registry of Hugging Face architecture adapters: one entry per family, looked up by the config's
`architectures` (first registered entry wins), else by its `model_type`.

An adapter either builds `ModelSpec` fields from a `Config` (`build`) or refuses the family with a one-line
reason (`refuse`): the physics the spec lacks, or the shape it cannot represent.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from infereco.errors import SpecError
from infereco.specs.hf._config import Config


@dataclass(frozen=True)
class Adapter:
    family: str
    architectures: tuple[str, ...]
    model_types: tuple[str, ...] = ()
    build: Callable[[Config], dict[str, Any]] | None = None
    refuse: str | None = None  # why this family is not modelled (one line)
    notes: tuple[str, ...] = field(default=())


_BY_ARCH: dict[str, Adapter] = {}
_BY_TYPE: dict[str, Adapter] = {}


def register(
    family: str,
    architectures: tuple[str, ...] | list[str],
    model_types: tuple[str, ...] | list[str] = (),
    *,
    refuse: str | None = None,
) -> Callable[[Callable[[Config], dict[str, Any]]], Callable[[Config], dict[str, Any]]] | None:
    """Register a family. As a decorator: `@register("llama", ["LlamaForCausalLM"], ["llama"])` over the
    field builder. With `refuse=...` it registers a refusal at once (returns None)."""

    def add(build: Callable[[Config], dict[str, Any]] | None) -> Any:
        adapter = Adapter(family, tuple(architectures), tuple(model_types), build, refuse)
        for arch in adapter.architectures:
            if arch in _BY_ARCH:
                raise ValueError(
                    f"architecture {arch!r} registered twice ({_BY_ARCH[arch].family}, {family})"
                )
            _BY_ARCH[arch] = adapter
        for mt in adapter.model_types:
            if mt in _BY_TYPE:
                raise ValueError(f"model_type {mt!r} registered twice ({_BY_TYPE[mt].family}, {family})")
            _BY_TYPE[mt] = adapter
        return build

    if refuse is not None:
        add(None)
        return None
    return add


def supported_architectures() -> list[str]:
    """The `architectures` values the loader builds a spec for (refused families are not listed)."""
    return sorted(a for a, ad in _BY_ARCH.items() if ad.build is not None)


def refused_architectures() -> dict[str, str]:
    """Architectures recognised but refused, with the reason."""
    return {a: ad.refuse for a, ad in sorted(_BY_ARCH.items()) if ad.refuse is not None}


def by_architecture(arch: Any) -> Adapter | None:
    return _BY_ARCH.get(arch) if isinstance(arch, str) else None


def by_model_type(model_type: Any) -> Adapter | None:
    return _BY_TYPE.get(model_type) if isinstance(model_type, str) else None


def lookup(data: dict[str, Any] | Any, where: str, prefix: str = "") -> tuple[str, Adapter]:
    """(architecture name, adapter) for a config: the first registered `architectures` entry, else
    `model_type`. Raises SpecError naming the closest supported family for an unknown one."""
    archs = data.get("architectures")
    model_type = data.get("model_type")
    if archs is None:
        adapter = by_model_type(model_type)
        if adapter is not None:
            return adapter.architectures[0], adapter
        raise SpecError(
            f"{where}: missing key {prefix + 'architectures'!r} (and model_type {model_type!r} is not "
            f"recognised){_closest(model_type)}; supported architectures: "
            f"{', '.join(supported_architectures())}"
        )
    if isinstance(archs, str):
        archs = [archs]
    if not isinstance(archs, list) or not archs:
        raise SpecError(
            f"{where}: key {prefix + 'architectures'!r} = {archs!r}: expected a non-empty list of class names"
        )
    for arch in archs:
        adapter = by_architecture(arch)
        if adapter is not None:
            return arch, adapter
    first = next((a for a in archs if isinstance(a, str)), None)
    same_type = by_model_type(model_type)
    if same_type is not None and same_type.build is not None:
        # A known model_type under another class (a classification head, a renamed class): say which.
        hint = (
            f" (model_type {model_type!r} is the supported family {same_type.family}, read through "
            f"{', '.join(same_type.architectures)}; missing: an adapter registered for {first!r}, or "
            "'architectures' naming one of those if this is the same decoder)"
        )
    else:
        hint = _closest(first)
    raise SpecError(
        f"{where}: unsupported architectures {archs!r}{hint}; "
        f"supported: {', '.join(supported_architectures())}"
    )


def _closest(name: Any) -> str:
    """' (closest supported family: X, which reads ...; ...)' for a near miss, else ''."""
    if not isinstance(name, str) or not name:
        return ""
    base = name.lower().replace("forcausallm", "").replace("forconditionalgeneration", "").replace("_", "")
    candidates = {}
    for arch, ad in _BY_ARCH.items():
        if ad.build is None:
            continue
        key = arch.lower().replace("forcausallm", "").replace("forconditionalgeneration", "")
        candidates[key] = ad
    match = difflib.get_close_matches(base, list(candidates), n=1, cutoff=0.6)
    if not match:
        return ""
    ad = candidates[match[0]]
    return (
        f" (closest supported family: {ad.family}, {', '.join(ad.architectures)}; missing: an adapter for "
        f"{name!r} in infereco/specs/hf/, or 'architectures' naming a supported class if the shape is "
        "the same)"
    )
