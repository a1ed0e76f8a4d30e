"""Building JSON Schema (2020-12, the dialect of OpenAPI 3.1) from small pieces.

Objects are closed by default (``additionalProperties: false``) so a field a handler starts sending
without declaring it breaks the schemathesis run instead of drifting silently from the document.
Named shapes are registered once with :func:`component` and referenced everywhere else by ``$ref``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

Schema = Mapping[str, Any]

_components: dict[str, Schema] = {}
COMPONENTS: Mapping[str, Schema] = MappingProxyType(_components)

STRING: Schema = {"type": "string"}
INTEGER: Schema = {"type": "integer"}
NUMBER: Schema = {"type": "number"}
BOOLEAN: Schema = {"type": "boolean"}
TIMESTAMP: Schema = {"type": "string", "format": "date-time"}
ANY: Schema = {}


def component(name: str, schema: Schema) -> Schema:
    """Register ``schema`` under ``#/components/schemas/<name>`` and return a reference to it."""
    if name in _components:
        raise ValueError(f"schema component {name!r} is already defined")
    _components[name] = schema
    return {"$ref": f"#/components/schemas/{name}"}


def obj(required: Mapping[str, Schema], optional: Mapping[str, Schema] | None = None, *,
        closed: bool = True, **keywords: Any) -> Schema:
    """An object with ``required`` and ``optional`` properties; ``closed`` forbids any other."""
    properties = {**required, **(optional or {})}
    schema: dict[str, Any] = {"type": "object", "properties": properties, **keywords}
    if required:
        schema["required"] = list(required)
    if closed:
        schema["additionalProperties"] = False
    return schema


def nullable(schema: Schema) -> Schema:
    """``schema`` or ``null``; a ``$ref`` or a combinator is wrapped in ``anyOf``."""
    if "type" in schema and "$ref" not in schema and "enum" not in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        return {**schema, "type": [*types, "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


def array(items: Schema, **keywords: Any) -> Schema:
    return {"type": "array", "items": items, **keywords}


def enum(values: Any) -> Schema:
    return {"enum": list(values)}


def integer(minimum: int | None = None, maximum: int | None = None) -> Schema:
    bounds = {"minimum": minimum, "maximum": maximum}
    return {"type": "integer", **{k: v for k, v in bounds.items() if v is not None}}


def string(min_length: int | None = None, max_length: int | None = None, **keywords: Any) -> Schema:
    bounds = {"minLength": min_length, "maxLength": max_length}
    return {"type": "string", **{k: v for k, v in bounds.items() if v is not None}, **keywords}
