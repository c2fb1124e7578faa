"""JSON Schemas sent to models, derived from pydantic models.

Vendors accept different subsets of JSON Schema; ``$ref`` and pydantic's extras are the
usual trouble. ``model_schema`` inlines references and drops titles (tokens the model does
not need). For structured output, ``shape_schema`` also drops value constraints (patterns,
lengths, bounds): the vendor only enforces the shape, and our own pydantic validation,
with one repair try, enforces the rules. The schema is never the last word: the model is.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

_CONSTRAINT_KEYWORDS = frozenset(
    {
        "pattern",
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minItems",
        "maxItems",
        "uniqueItems",
        "format",
        "default",
    }
)


class SchemaError(ValueError):
    pass


def model_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON Schema with every ``$ref`` inlined and no titles."""
    raw = model.model_json_schema()
    definitions = raw.pop("$defs", {})
    return _inline(raw, definitions, seen=())


def shape_schema(model: type[BaseModel]) -> dict[str, Any]:
    """A schema of the shape only, for vendors' structured-output modes."""
    return _strip_constraints(model_schema(model))


def _inline(node: Any, definitions: dict[str, Any], *, seen: tuple[str, ...]) -> Any:
    if isinstance(node, list):
        return [_inline(item, definitions, seen=seen) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            raise SchemaError(f"Schema {name} refers to itself; recursive schemas are not sent.")
        target = dict(definitions[name])
        extra = {key: value for key, value in node.items() if key != "$ref"}
        return _inline({**target, **extra}, definitions, seen=(*seen, name))
    result: dict[str, Any] = {}
    for key, value in node.items():
        if key == "title" and isinstance(value, str):
            continue
        if key == "discriminator":
            continue
        if key == "default" and value in (None, False, "", [], {}):
            continue  # optional already says it; these defaults only cost tokens
        if key == "properties":
            result[key] = {
                name: _inline(schema, definitions, seen=seen) for name, schema in value.items()
            }
            continue
        result["anyOf" if key == "oneOf" else key] = _inline(value, definitions, seen=seen)
    return result


def _strip_constraints(node: Any) -> Any:
    if isinstance(node, list):
        return [_strip_constraints(item) for item in node]
    if not isinstance(node, dict):
        return node
    result: dict[str, Any] = {}
    for key, value in node.items():
        if key in _CONSTRAINT_KEYWORDS:
            continue
        if key == "properties":
            result[key] = {name: _strip_constraints(schema) for name, schema in value.items()}
            continue
        result[key] = _strip_constraints(value)
    if result.get("type") == "object" and "properties" in result:
        result.setdefault("additionalProperties", False)
    return result
