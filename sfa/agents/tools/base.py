"""The tool behaviour: a name, what it does, a JSON schema of its arguments, and the coroutine that acts.

Tools act through SFA's own services on behalf of the user in their :class:`ToolContext` only: the model
chooses the arguments, never the user. A tool answers a client's kind of mistake (an unknown track, a role
too low, a rate limit) as data in the contract's error shape, which the model reads like any result.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from sfa.accounts import User
from sfa.web.errors import APIError, ValidationFailed

JSON_TYPES: Mapping[str, tuple[type, ...]] = {"integer": (int,), "number": (int, float), "string": (str,),
                                               "boolean": (bool,)}
Result = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ToolContext:
    """Whose data a tool works on, and the application whose services it uses."""

    app: web.Application
    user: User


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    description: str
    parameters: Mapping[str, Mapping[str, Any]]
    required: tuple[str, ...]
    run: Callable[..., Awaitable[Result]]

    def schema(self) -> dict[str, Any]:
        """The arguments as a JSON schema object, the form both providers take."""
        return {"type": "object", "properties": dict(self.parameters), "required": list(self.required),
                "additionalProperties": False}

    async def __call__(self, context: ToolContext, arguments: Mapping[str, Any]) -> Result:
        try:
            return await self.run(context, **self._checked(arguments))
        except APIError as error:
            return error.body()

    def _checked(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        errors: dict[str, list[str]] = {}
        if not isinstance(arguments, Mapping):
            raise ValidationFailed({"arguments": ["must be an object"]})
        for name in self.required:
            if name not in arguments:
                errors[name] = ["is required"]
        for name, value in arguments.items():
            spec = self.parameters.get(name)
            if spec is None:
                errors[name] = ["is not an argument of this tool"]
            elif not _fits(spec, value):
                errors[name] = [f"must be {_describe(spec)}"]
        if errors:
            raise ValidationFailed(errors)
        return dict(arguments)


def _fits(spec: Mapping[str, Any], value: Any) -> bool:
    if isinstance(value, bool) and spec["type"] != "boolean":
        return False
    if not isinstance(value, JSON_TYPES[spec["type"]]):
        return False
    if "enum" in spec and value not in spec["enum"]:
        return False
    return spec.get("minimum", value) <= value <= spec.get("maximum", value) if spec["type"] != "string" else True


def _describe(spec: Mapping[str, Any]) -> str:
    if "enum" in spec:
        return "one of " + ", ".join(map(str, spec["enum"]))
    bounds = f" in {spec['minimum']}..{spec['maximum']}" if "minimum" in spec else ""
    return f"a{'n' if spec['type'][0] in 'ai' else ''} {spec['type']}{bounds}"


def track_id_parameter() -> dict[str, Any]:
    return {"type": "integer", "minimum": 1, "maximum": 2**63 - 1, "description": "id of one of the user's tracks"}
