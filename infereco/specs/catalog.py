"""The catalog: hardware from `hardware_specs/*.yaml`, models from `infereco/data/models/*.yaml`.

Every number in a catalog file is either a plain value or `{value: ..., source: "..."}`; sources are kept on
the spec (`spec.sources` for hardware, `spec.source` for models).
"""

from __future__ import annotations

import difflib
import functools
import os
from pathlib import Path
from typing import Any, Mapping

from infereco.errors import CatalogError, SpecError
from infereco.specs.hardware import HardwareSpec
from infereco.specs.hf_config import load_hf_config
from infereco.specs.model import ModelSpec
from infereco.specs.yaml_io import load_yaml_mapping

_PKG = Path(__file__).resolve().parent.parent


def hardware_dir() -> Path:
    """Folder of hardware YAML files: inside the installed package, or the repository's top level."""
    for candidate in (_PKG / "hardware_specs", _PKG.parent / "hardware_specs"):
        if candidate.is_dir():
            return candidate
    raise CatalogError(f"hardware_specs folder not found next to {_PKG}")


def models_dir() -> Path:
    return _PKG / "data" / "models"


def normalise_id(name: str) -> str:
    """Catalog ids are lower case with dashes: 'H100_SXM' -> 'h100-sxm'."""
    return str(name).strip().lower().replace("_", "-").replace(" ", "-")


def _strip_sources(data: Mapping[str, Any], sources: dict[str, str], prefix: str = "") -> dict[str, Any]:
    """Turn `{key: {value: v, source: s}}` into `{key: v}`, collecting sources by dotted key."""
    out: dict[str, Any] = {}
    for key, val in data.items():
        path = f"{prefix}{key}"
        if isinstance(val, Mapping) and "value" in val and set(val) <= {"value", "source", "note"}:
            out[key] = val["value"]
            if "source" in val:
                sources[path] = str(val["source"]) + (f" ({val['note']})" if "note" in val else "")
        elif isinstance(val, Mapping) and key == "flop_per_s":
            out[key] = _strip_sources(val, sources, prefix=f"{path}.")
        else:
            out[key] = val
    return out


@functools.lru_cache(maxsize=None)
def _index(kind: str) -> dict[str, tuple[Path, tuple[str, ...]]]:
    folder = hardware_dir() if kind == "hardware" else models_dir()
    index: dict[str, tuple[Path, tuple[str, ...]]] = {}
    for path in sorted(folder.glob("*.yaml")):
        try:
            raw = load_yaml_mapping(path)
        except SpecError:
            # One broken file must not hide the rest of the catalog; loading this id reports the error.
            raw = {}
        cid = normalise_id(raw.get("id", path.stem))
        aliases = raw.get("aliases") or []
        # A malformed `aliases` must not break the whole catalog; loading this id reports it (_spec_fields).
        aliases = tuple(normalise_id(a) for a in aliases) if isinstance(aliases, list) else ()
        for name in (cid, *aliases):
            index[name] = (path, (cid,))
    return index


def model_id_by_repo_name(repo_name: str) -> str | None:
    """The catalog model whose Hugging Face alias `ORG/NAME` has this NAME under any organisation (a
    re-published checkpoint, e.g. nvidia/Llama-3.1-8B-Instruct of meta-llama's), when exactly one does.

    >>> model_id_by_repo_name("Llama-3.1-70B-Instruct")
    'llama-3.1-70b'
    """
    key = normalise_id(repo_name)
    found = {cid for name, (_, (cid,)) in _index("models").items() if name.rsplit("/", 1)[-1] == key}
    return found.pop() if len(found) == 1 else None


def _canonical_ids(kind: str) -> list[str]:
    return sorted({v[1][0] for v in _index(kind).values()})


def _lookup(kind: str, name: str) -> Path:
    idx = _index(kind)
    key = normalise_id(name)
    if key not in idx:
        known = _canonical_ids(kind)
        close = list(dict.fromkeys(idx[c][1][0] for c in difflib.get_close_matches(key, list(idx), n=5)))[:3]
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise CatalogError(f"unknown {kind} id {name!r}.{hint} Known {kind} ids: {', '.join(known)}")
    return idx[key][0]


def _spec_fields(path: Path) -> tuple[dict[str, Any], dict[str, str]]:
    raw = dict(load_yaml_mapping(path))
    aliases = raw.get("aliases")
    if aliases is not None and not (isinstance(aliases, list) and all(isinstance(a, str) for a in aliases)):
        raise SpecError(
            f"{path}: aliases = {aliases!r}: expected a list of id strings, e.g. [h100, h100-sxm5]"
        )
    for meta in ("id", "aliases", "description", "notes"):
        raw.pop(meta, None)
    sources: dict[str, str] = {}
    fields = _strip_sources(raw, sources)
    return fields, sources


@functools.lru_cache(maxsize=None)
def load_hardware(name: str) -> HardwareSpec:
    """The catalog accelerator `name` (e.g. 'h100-sxm'), with every number's source in `.sources`.

    >>> load_hardware("h100-sxm").hbm_capacity_bytes
    80000000000.0
    """
    path = _lookup("hardware", name)
    fields, sources = _spec_fields(path)
    fields["sources"] = {**sources, **(fields.get("sources") or {})}
    return HardwareSpec.validated(fields, where=str(path))


@functools.lru_cache(maxsize=None)
def load_model(name: str) -> ModelSpec:
    """The catalog model `name` (e.g. 'llama-3-70b').

    >>> load_model("llama-3-70b").n_layers
    80
    """
    path = _lookup("model", name)
    fields, sources = _spec_fields(path)
    if sources and "source" not in fields:
        fields["source"] = "; ".join(f"{k}: {v}" for k, v in sources.items())
    return ModelSpec.validated(fields, where=str(path))


HARDWARE_FILE_SUFFIXES = (".yaml", ".yml")


def is_hardware_file(value: Any) -> bool:
    """Whether `value` names a hardware YAML file rather than a catalog id: a `Path`, or a string ending in
    .yaml / .yml (catalog ids never do)."""
    if isinstance(value, os.PathLike):
        return True
    return isinstance(value, str) and value.strip().lower().endswith(HARDWARE_FILE_SUFFIXES)


def load_hardware_file(path: str | os.PathLike) -> HardwareSpec:
    """A `HardwareSpec` from a hardware YAML file in the catalog's format, e.g. a calibrated profile written
    by `infereco calibrate --out PROFILE.yaml` (`CalibrationResult.save_yaml`): `{value, source}` numbers with
    their sources kept in `.sources`; `id`, `aliases`, `description` and `notes` (the calibration record) are
    ignored. The same reading as `infereco.calibration.load_calibrated_hardware`, without importing
    calibration.

    >>> path = _lookup("hardware", "h100-sxm")   # the catalog's own file is in the same format
    >>> load_hardware_file(path) == load_hardware("h100-sxm")
    True
    """
    p = Path(os.fspath(path)).expanduser()
    if p.suffix.lower() not in HARDWARE_FILE_SUFFIXES:
        raise SpecError(
            f"{p}: expected a hardware YAML file (.yaml or .yml) or a catalog id (see list_hardware())"
        )
    if p.is_dir():
        raise SpecError(f"{p}: is a folder; expected a hardware YAML file")
    if not p.exists():
        raise SpecError(
            f"{p}: file not found (a hardware YAML file; catalog ids have no .yaml suffix, "
            f"see list_hardware())"
        )
    fields, sources = _spec_fields(p)
    given = fields.get("sources") or {}
    if not isinstance(given, Mapping):
        raise SpecError(
            f"{p}: sources = {given!r}: expected a mapping of field name to where the number comes from"
        )
    fields["sources"] = {**sources, **given}
    return HardwareSpec.validated(fields, where=str(p))


def list_hardware() -> list[str]:
    """Canonical ids of every catalog accelerator."""
    return _canonical_ids("hardware")


def list_models() -> list[str]:
    """Canonical ids of every catalog model."""
    return _canonical_ids("model")


def _check_base(base: Any, where: str) -> None:
    if base is not None and not isinstance(base, (str, os.PathLike)):
        raise SpecError(
            f"{where}.base = {base!r}: expected a catalog id string (see list_models() / list_hardware())"
        )


MODEL_FILE_SUFFIXES = (".yaml", ".yml")


def load_model_file(path: str | os.PathLike) -> ModelSpec:
    """A `ModelSpec` from a model YAML file in the catalog's format (`{value, source}` numbers; `id`,
    `aliases`, `description`, `notes` ignored; the sources folded into `source`).

    >>> load_model_file(_lookup("model", "llama-3-8b")) == load_model("llama-3-8b")
    True
    """
    p = Path(os.fspath(path)).expanduser()
    if p.is_dir() or not p.exists():
        raise SpecError(
            f"{p}: {'is a folder' if p.is_dir() else 'file not found'}; expected a model YAML file"
        )
    fields, sources = _spec_fields(p)
    if sources and "source" not in fields:
        fields["source"] = "; ".join(f"{k}: {v}" for k, v in sources.items())
    return ModelSpec.validated(fields, where=str(p))


def _is_model_path(value: Any) -> bool:
    if isinstance(value, os.PathLike):
        return True
    if not isinstance(value, str):
        return False
    low = value.strip().lower()
    return low.endswith((".json", *MODEL_FILE_SUFFIXES)) or ("/" in value and Path(value).is_dir())


def resolve_model(
    value: str | os.PathLike | Mapping[str, Any] | ModelSpec, *, where: str | None = None, base_override=None
) -> ModelSpec:
    """A model from a catalog id, a `ModelSpec`, a mapping `{base: id, field: override, ...}`, a model YAML
    file, a Hugging Face `config.json` (or its folder), or `{config: path, field: override, ...}`.

    `base_override(spec, id) -> spec` lets a preset replace catalog numbers before user overrides apply.

    >>> resolve_model({"base": "llama-3-8b", "weight_bits": 8}).weight_bits
    8
    """
    if isinstance(value, ModelSpec):
        return value
    load = (lambda i: base_override(load_model(i), i)) if base_override else load_model
    if _is_model_path(value):
        p = Path(os.fspath(value)).expanduser()
        return load_model_file(p) if p.suffix.lower() in MODEL_FILE_SUFFIXES else load_hf_config(p)
    if isinstance(value, str):
        return load(value)
    if isinstance(value, Mapping):
        data = dict(value)
        if "config" in data:  # {config: path/to/config.json, weight_bits: 4, ...}
            if "base" in data:
                raise SpecError(f"{where or 'model'}: give base or config, not both")
            path = data.pop("config")
            bits = data.pop("weight_bits", None)
            spec = load_hf_config(path, weight_bits=bits)
            return spec.replace(**data) if data else spec
        base = data.pop("base", None)
        _check_base(base, where or "model")
        start = load(base).model_dump() if base is not None else {}
        if base is not None and "name" not in data and data:
            start["name"] = f"{start['name']} ({', '.join(f'{k}={v}' for k, v in data.items())})"
        return ModelSpec.validated({**start, **data}, where=where)
    raise SpecError(
        f"{where + ': ' if where else ''}model must be a catalog id, a mapping, a model YAML or a "
        f"config.json, got {type(value).__name__}"
    )


def resolve_hardware(
    value: str | Mapping[str, Any] | HardwareSpec, *, where: str | None = None, base_override=None
) -> HardwareSpec:
    """A hardware spec from a catalog id, a hardware YAML file (a path ending in .yaml / .yml, e.g. a
    calibrated profile from `infereco calibrate --out`), a `HardwareSpec`, or
    `{base: id or file, field: override, ...}`.

    `base_override(spec) -> spec` lets a preset replace the catalog numbers before user overrides apply; it is
    not applied to a file, whose numbers are the user's own (as for a `HardwareSpec`).
    """
    if isinstance(value, HardwareSpec):
        return value
    if is_hardware_file(value):
        return load_hardware_file(value)
    if isinstance(value, str):
        spec = load_hardware(value)
        return base_override(spec, value) if base_override else spec
    if isinstance(value, Mapping):
        data = dict(value)
        base = data.pop("base", None)
        _check_base(base, where or "hardware")
        start: dict[str, Any] = {}
        if base is not None and is_hardware_file(base):
            start = load_hardware_file(base).model_dump()
        elif base is not None:
            spec = load_hardware(base)
            if base_override:
                spec = base_override(spec, base)
            start = spec.model_dump()
        if "hbm_capacity_bytes" in data and "hbm_visible_bytes" not in data:
            # The base's driver-reported memory belongs to the base's capacity: another capacity without a
            # visible memory of its own is what the engines see.
            start.pop("hbm_visible_bytes", None)
        return HardwareSpec.validated({**start, **data}, where=where)
    raise SpecError(
        f"{where + ': ' if where else ''}hardware must be a catalog id or a mapping, "
        f"got {type(value).__name__}"
    )


def check_catalog_ids(scenario, where: str) -> None:
    """Unknown catalog ids of a scenario (model, hardware, speculative.draft), reported with the file and the
    key."""
    draft = (scenario.speculative or {}).get("draft")
    for key, kind, value in (
        ("model", "model", scenario.model),
        ("hardware", "hardware", scenario.hardware),
        ("speculative.draft", "model", draft),
    ):
        cid = value.get("base") if isinstance(value, Mapping) else value
        if kind == "hardware" and is_hardware_file(cid):
            continue  # a hardware YAML file, read (and its errors reported) when the frontier is built
        if isinstance(cid, str):
            try:
                _lookup(kind, cid)
            except CatalogError as exc:
                raise CatalogError(f"{where}: {key}: {exc}") from None
