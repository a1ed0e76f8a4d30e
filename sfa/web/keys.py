"""Typed keys for what the application holds (``app[CONFIG]``), shared by every route module."""

from aiohttp import web

from sfa.actors import ActorTree
from sfa.config import Config
from sfa.db.database import Database

CONFIG = web.AppKey("config", Config)
DATABASE = web.AppKey("database", Database)
ACTOR_TREE = web.AppKey("actor_tree", ActorTree)
SOCKET_TOKEN_KEY = web.AppKey("socket_token_key", bytes)
