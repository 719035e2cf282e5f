"""Safe YAML reading with size limits and errors that name the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from infereco.errors import SpecError

MAX_YAML_BYTES = 2_000_000


class _NoAliasSafeLoader(yaml.SafeLoader):
    """Safe loader that refuses aliases, so 'billion laughs' YAML bombs cannot expand."""

    def compose_node(self, parent, index):  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "YAML aliases (*name) are not allowed in infereco files", event.start_mark
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):  # type: ignore[override]
        # PyYAML keeps the last of two equal keys; a repeated key is almost always a typo that would silently
        # drop the first value, so refuse it.
        seen = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                key = self.construct_object(key_node, deep=deep)
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping",
                        node.start_mark,
                        f"found duplicate key {key!r}",
                        key_node.start_mark,
                    )
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


def parse_yaml_text(text: str, where: str) -> Any:
    if len(text) > MAX_YAML_BYTES:
        raise SpecError(f"{where}: file is {len(text)} bytes; the limit is {MAX_YAML_BYTES}")
    try:
        return yaml.load(text, Loader=_NoAliasSafeLoader)  # noqa: S506 - safe loader subclass
    except yaml.YAMLError as exc:
        raise SpecError(f"{where}: not valid YAML: {_one_line(exc)}") from None
    except RecursionError:
        raise SpecError(f"{where}: not valid YAML: nested too deeply") from None


def _one_line(exc: yaml.YAMLError) -> str:
    """`problem (line L, column C)` of a PyYAML error, on one line."""
    problem = getattr(exc, "problem", None)
    mark = getattr(exc, "problem_mark", None)
    if problem:
        context = getattr(exc, "context", None)
        text = f"{context}: {problem}" if context else problem
        return f"{text} (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else text
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def load_yaml_mapping(path: str | Path) -> dict[str, Any]:
    """Read a YAML file whose top level must be a mapping."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"{p}: file not found") from None
    except IsADirectoryError:
        raise SpecError(f"{p}: is a folder; expected a YAML file") from None
    except OSError as exc:  # permission denied, a device, ...
        raise SpecError(f"{p}: cannot be read: {exc.strerror or type(exc).__name__}") from None
    except UnicodeDecodeError:
        raise SpecError(f"{p}: not a UTF-8 text file") from None
    data = parse_yaml_text(text, str(p))
    if data is None:
        raise SpecError(f"{p}: file is empty; expected a YAML mapping of keys to values")
    if not isinstance(data, dict):
        raise SpecError(f"{p}: expected a YAML mapping at top level, got {type(data).__name__}")
    return data
