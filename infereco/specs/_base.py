"""Shared pydantic base: frozen, no unknown keys, errors that name field, value and expectation."""

from __future__ import annotations

import difflib
import typing
from typing import Any, ClassVar, Mapping

import pydantic
from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

from infereco.errors import SpecError

try:  # pydantic's metaclass; `type(BaseModel)` is the same class, spelled without the private module
    from pydantic._internal._model_construction import ModelMetaclass as _ModelMeta
except ImportError:  # pragma: no cover
    _ModelMeta = type(BaseModel)


class _SpecMeta(_ModelMeta):
    """Direct construction (`OwnershipCost(purchase_price=-1)`) reports like `validated()`: the library's
    `SpecError` on one line, never pydantic's multi-line ValidationError. (A metaclass `__call__` rather than
    an `__init__` override: pydantic calls a custom `__init__` for nested models too, which would wrap errors
    twice.)
    """

    def __call__(cls, *args: Any, **kwargs: Any):
        try:
            return super().__call__(*args, **kwargs)
        except pydantic.ValidationError as exc:
            raise SpecError(format_validation_error(exc, cls)) from None


class FrozenSpec(BaseModel, metaclass=_SpecMeta):
    """Frozen pydantic model that rejects unknown fields; build with `validated()` for friendly errors."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)
    # How users name this spec (the scenario key / argument), used when the whole value has the wrong type.
    edge_name: ClassVar[str] = ""

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_for_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        # pydantic's lax mode reads True as 1 for int and float fields; in YAML `yes`, `on` and `true` are
        # booleans, so `n_layers: yes` would silently become one layer.
        if isinstance(value, bool) and info.field_name in cls.model_fields:
            ann = cls.model_fields[info.field_name].annotation
            kinds = set(typing.get_args(ann)) | {ann}
            if bool not in kinds and kinds & {int, float}:
                raise ValueError(
                    f"expected a number, got the boolean {value} "
                    "(YAML reads yes/no/on/off/true/false as booleans)"
                )
        return value

    @classmethod
    def validated(cls, data: Mapping[str, Any], *, where: str | None = None):
        """Validate `data`, turning pydantic's report into one `SpecError` line per problem."""
        if not isinstance(data, Mapping):
            # dict([]) would silently give the defaults; dict("ab") a confusing error.
            name = cls.edge_name or cls.__name__
            prefix = f"{where}: " if where and where != name else ""
            shown = repr(data)
            shown = shown if len(shown) <= 60 else shown[:57] + "..."
            raise SpecError(
                f"{prefix}{name} = {shown}: expected a mapping of {cls.__name__} fields "
                f"({', '.join(list(cls.model_fields)[:4])}, ...), got {type(data).__name__}"
            )
        try:
            return cls.model_validate(dict(data))
        except pydantic.ValidationError as exc:
            raise SpecError(format_validation_error(exc, cls, where)) from None

    def replace(self, **changes: Any):
        """A copy with `changes` applied and validated again."""
        return type(self).validated({**self.model_dump(), **changes})


def format_validation_error(
    exc: pydantic.ValidationError, cls: type[BaseModel], where: str | None = None
) -> str:
    """One readable line per pydantic error: `where: Spec.field = value: message`."""
    what = cls.__name__
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) if str(p).isprintable() else repr(p) for p in err["loc"]) or "(root)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            known = sorted(cls.model_fields)
            close = difflib.get_close_matches(str(err["loc"][-1]), known, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            msg = f"unknown key; {hint}known keys: {', '.join(known)}"
        value = err.get("input")
        shown = repr(value)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        prefix = f"{where}: " if where else ""
        if err["type"] in ("missing",):
            lines.append(f"{prefix}{what}.{loc}: missing required field")
        elif loc == "(root)":
            lines.append(f"{prefix}{what}: {msg.removeprefix('Value error, ')}")
        else:
            lines.append(f"{prefix}{what}.{loc} = {shown}: {msg.removeprefix('Value error, ')}")
    return "; ".join(lines).replace("\n", "\\n")  # always one line, whatever the keys contain
