"""What an API handler declares next to its route: summary, parameters, request body, success responses,
the errors it can answer with, and who may call it. :func:`operation` attaches the declaration to the
handler; the document (``sfa.web.openapi.document``) reads it back while walking the router.

Errors are derived from the declaration, so they cannot be forgotten: an authenticated route can answer
401 and 403, a path parameter 404, a query parameter or a body 400, a body 422, a rate-limited route 429.
Anything else a handler raises is listed in ``errors``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sfa.web.envelope import MAX_PAGE, MAX_PAGE_SIZE
from sfa.web.openapi.components import ERROR, PAGE_META, RATE_LIMITED, VALIDATION_ERROR
from sfa.web.openapi.schema import Schema, array, integer, obj

F = TypeVar("F", bound=Callable[..., Any])

ATTRIBUTE = "__openapi__"
JSON = "application/json"
AUTHENTICATED = ({"bearerAuth": []}, {"cookieAuth": []})
ERROR_DESCRIPTIONS = {
    400: "malformed JSON (text with NUL characters or unpaired surrogates included), body or query parameters",
    401: "no credentials, or a bad or revoked token",
    403: "account suspended, or role too low",
    404: "absent, or owned by someone else",
    413: "body larger than the server takes",
    422: "validation failed; details name each field at fault",
    429: "rate limit exceeded",
    502: "the outside service answered with an error",
    503: "the service this route needs is not available on this server",
}
ERROR_SCHEMAS = {422: VALIDATION_ERROR, 429: RATE_LIMITED}
RATE_LIMIT_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After")


@dataclass(frozen=True, slots=True)
class Param:
    """A query parameter."""

    name: str
    schema: Schema
    description: str
    required: bool = False

    def render(self) -> dict[str, Any]:
        return {"name": self.name, "in": "query", "required": self.required, "description": self.description,
                "schema": dict(self.schema)}


@dataclass(frozen=True, slots=True)
class Link:
    """An OpenAPI link: ``parameters`` of ``operation_id`` filled from this response (runtime expressions)."""

    operation_id: str
    parameters: Mapping[str, str]

    def render(self) -> dict[str, Any]:
        return {"operationId": self.operation_id, "parameters": dict(self.parameters)}


@dataclass(frozen=True, slots=True)
class Reply:
    """A success response: status, body schema per media type (none for 204), links to follow."""

    status: int
    description: str
    content: Mapping[str, Schema] = field(default_factory=dict)
    links: Mapping[str, Link] = field(default_factory=dict)

    def render(self) -> dict[str, Any]:
        rendered: dict[str, Any] = {"description": self.description}
        if self.content:
            rendered["content"] = {media: {"schema": dict(schema)} for media, schema in self.content.items()}
        if self.links:
            rendered["links"] = {name: link.render() for name, link in self.links.items()}
        return rendered


def data_reply(schema: Schema, description: str, *, status: int = 200,
               links: Mapping[str, Link] | None = None) -> Reply:
    """``{"data": <schema>}``, the contract's success envelope."""
    return Reply(status, description, {JSON: obj({"data": schema})}, links or {})


def page_reply(item: Schema, description: str) -> Reply:
    """``{"data": [<item>...], "meta": PageMeta}``, a paginated list."""
    return Reply(200, description, {JSON: obj({"data": array(item), "meta": PAGE_META})})


def file_reply(description: str, *media_types: str) -> Reply:
    return Reply(200, description, {media: {"type": "string", "contentMediaType": media} for media in media_types})


def no_content(description: str) -> Reply:
    return Reply(204, description)


@dataclass(frozen=True, slots=True)
class Operation:
    summary: str
    tag: str
    replies: tuple[Reply, ...]
    query: tuple[Param, ...] = ()
    path: Mapping[str, Schema] = field(default_factory=dict)
    body: Schema | None = None
    body_media_type: str = JSON
    errors: tuple[int, ...] = ()
    authenticated: bool = True
    description: str | None = None

    def error_statuses(self, has_path_params: bool, rate_limited: bool) -> list[int]:
        derived = {
            400: bool(self.query) or self.body is not None,
            401: self.authenticated,
            403: self.authenticated,
            404: has_path_params,
            422: self.body is not None,
            429: rate_limited,
        }
        statuses = {status for status, applies in derived.items() if applies} | set(self.errors)
        return sorted(statuses)

    def render(self, operation_id: str, path_params: Mapping[str, Schema], *, rate_limited: bool) -> dict[str, Any]:
        rendered: dict[str, Any] = {"operationId": operation_id, "summary": self.summary, "tags": [self.tag]}
        if self.description:
            rendered["description"] = self.description
        parameters = [{"name": name, "in": "path", "required": True, "schema": dict(self.path.get(name, schema))}
                      for name, schema in path_params.items()]
        parameters += [param.render() for param in self.query]
        if parameters:
            rendered["parameters"] = parameters
        if self.body is not None:
            rendered["requestBody"] = {"required": True, "content": {self.body_media_type: {"schema": dict(self.body)}}}
        responses = {str(reply.status): reply.render() for reply in self.replies}
        for status in self.error_statuses(bool(path_params), rate_limited):
            responses[str(status)] = error_response(status)
        rendered["responses"] = responses
        rendered["security"] = [dict(requirement) for requirement in AUTHENTICATED] if self.authenticated else []
        return rendered


def error_response(status: int) -> dict[str, Any]:
    rendered: dict[str, Any] = {"description": ERROR_DESCRIPTIONS[status],
                                "content": {JSON: {"schema": dict(ERROR_SCHEMAS.get(status, ERROR))}}}
    if status == 429:
        rendered["headers"] = {name: {"required": True, "schema": {"type": "string", "pattern": "^[0-9]+$"}}
                               for name in RATE_LIMIT_HEADERS}
    return rendered


def operation(summary: str, *, tag: str, replies: Reply | tuple[Reply, ...], query: tuple[Param, ...] = (),
              path: Mapping[str, Schema] | None = None, body: Schema | None = None, body_media_type: str = JSON,
              errors: tuple[int, ...] = (), authenticated: bool = True,
              description: str | None = None) -> Callable[[F], F]:
    """Declare the handler's operation for the OpenAPI document (see the module docstring). ``path`` gives
    the schema of a path parameter that is not a positive integer id (the default for ``id`` and ``*_id``)."""
    declared = Operation(summary, tag, replies if isinstance(replies, tuple) else (replies,), query, path or {},
                         body, body_media_type, errors, authenticated, description)

    def attach(handler: F) -> F:
        setattr(handler, ATTRIBUTE, declared)
        return handler

    return attach


def declaration(handler: Callable[..., Any]) -> Operation | None:
    return getattr(handler, ATTRIBUTE, None)


PAGINATION = (
    Param("page", integer(1, MAX_PAGE), "page number, from 1"),
    Param("page_size", integer(1, MAX_PAGE_SIZE), f"items per page, 1..{MAX_PAGE_SIZE} (default 20)"),
)


def track_links(id_expression: str) -> dict[str, Link]:
    """Links from a response naming a track to reading, changing and deleting it."""
    return {f"{verb.title()}Track": Link(f"tracks_{verb}", {"id": id_expression})
            for verb in ("show", "update", "delete")}
