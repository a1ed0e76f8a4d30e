"""The OpenAPI 3.1 document, generated from the app's router: every route under the API prefixes must carry
an :func:`~sfa.web.openapi.operation.operation` declaration, so none can escape the document."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sfa.web.auth import SESSION_COOKIE
from sfa.web.envelope import API_PREFIXES
from sfa.web.openapi.components import ID
from sfa.web.openapi.operation import declaration
from sfa.web.openapi.schema import COMPONENTS, Schema, string

OPENAPI_VERSION = "3.1.0"
DOCUMENTED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
SECURITY_SCHEMES = {
    "bearerAuth": {"type": "http", "scheme": "bearer", "description": "an API token (`sfa_...`) from settings"},
    "cookieAuth": {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE,
                   "description": "the browser session after `POST /users/log_in`; writes under `/api` also need "
                                  "the session's CSRF token in `X-CSRF-Token`"},
}
INFO = {
    "title": "Sound Forge Alchemy",
    "version": "1",
    "description": "REST API of Sound Forge Alchemy. Success bodies are `{\"data\": ...}` (lists add `meta`); "
                   "errors are `{\"error\", \"code\"}`, and 422 adds `details` per field.",
}


class UndeclaredRoutes(TypeError):
    """API routes whose handler has no ``@operation`` declaration."""


def is_documented(path: str) -> bool:
    return path.startswith(API_PREFIXES)


def path_parameter(name: str) -> Schema:
    """Ids are positive integers; any other path parameter (the ``/files/`` path) is a string."""
    return ID if name == "id" or name.endswith("_id") else string(1)


def operation_id(route: web.AbstractRoute) -> str:
    handler = route.handler
    return f"{handler.__module__.rpartition('.')[2]}_{handler.__name__}"


def build_document(app: web.Application) -> dict[str, Any]:
    """The document for every declared route of ``app``; :class:`UndeclaredRoutes` names any API route
    that has no declaration."""
    paths: dict[str, dict[str, Any]] = {}
    undeclared = []
    for route in app.router.routes():
        if route.method not in DOCUMENTED_METHODS or route.resource is None:
            continue
        path, info = route.resource.canonical, route.resource.get_info()
        declared = declaration(route.handler)
        if declared is None:
            if is_documented(path):
                undeclared.append(f"{route.method} {path}")
            continue
        names = list(info["pattern"].groupindex) if "pattern" in info else []
        paths.setdefault(path, {})[route.method.lower()] = declared.render(
            operation_id(route), {name: path_parameter(name) for name in names}, rate_limited=is_documented(path))
    if undeclared:
        raise UndeclaredRoutes("declare these routes with @operation (sfa.web.openapi): " + ", ".join(undeclared))
    return {
        "openapi": OPENAPI_VERSION,
        "info": INFO,
        "paths": paths,
        "components": {"schemas": {name: dict(schema) for name, schema in COMPONENTS.items()},
                       "securitySchemes": SECURITY_SCHEMES},
    }
