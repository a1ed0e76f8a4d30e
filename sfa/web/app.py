"""The aiohttp application: middleware in order, every route table, and what the app holds."""

from __future__ import annotations

from aiohttp import web

from sfa.config import Config
from sfa.db.database import Database
from sfa.web import health
from sfa.web.envelope import envelope_middleware
from sfa.web.keys import CONFIG, DATABASE
from sfa.web.request_id import add_request_id_header, request_id_middleware

ACCESS_LOG_FORMAT = '%a "%r" %s %b %Tfs'


def make_app(config: Config, database: Database) -> web.Application:
    app = web.Application(middlewares=[request_id_middleware, envelope_middleware])
    app[CONFIG] = config
    app[DATABASE] = database
    app.on_response_prepare.append(add_request_id_header)
    app.add_routes(health.routes)
    return app
