"""Shared pydantic base: frozen, no unknown keys, errors that name field, value and expectation."""

from __future__ import annotations

import difflib
import typing
from typing import Any, Mapping

import pydantic
from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

from infereco.errors import SpecError


class FrozenSpec(BaseModel):
    """Frozen pydantic model that rejects unknown fields; build with `validated()` for friendly errors."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_for_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        # pydantic's lax mode reads True as 1 for int and float fields; in YAML `yes`, `on` and `true` are
        # booleans, so `n_layers: yes` would silently become one layer.
        if isinstance(value, bool) and info.field_name in cls.model_fields:
            ann = cls.model_fields[info.field_name].annotation
            kinds = set(typing.get_args(ann)) | {ann}
            if bool not in kinds and kinds & {int, float}:
                raise ValueError(f"expected a number, got the boolean {value} "
                                 "(YAML reads yes/no/on/off/true/false as booleans)")
        return value

    @classmethod
    def validated(cls, data: Mapping[str, Any], *, where: str | None = None):
        """Validate `data`, turning pydantic's report into one `SpecError` line per problem."""
        try:
            return cls.model_validate(dict(data))
        except pydantic.ValidationError as exc:
            raise SpecError(format_validation_error(exc, cls, where)) from None

    def replace(self, **changes: Any):
        """A copy with `changes` applied and validated again."""
        return type(self).validated({**self.model_dump(), **changes})


def format_validation_error(exc: pydantic.ValidationError, cls: type[BaseModel], where: str | None = None) -> str:
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
