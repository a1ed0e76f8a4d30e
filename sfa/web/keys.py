"""Typed keys for what the application holds (``app[CONFIG]``), shared by every route module."""

from typing import TYPE_CHECKING

from aiohttp import web

from sfa.actors import ActorTree
from sfa.config import Config
from sfa.db.database import Database
from sfa.integrations.llm import Providers
from sfa.integrations.spotify import SpotifyService
from sfa.pubsub import PubSub
from sfa.tracks.decoders import DecoderPool
from sfa.web.listing_cache import ListingCache
from sfa.web.token_cache import TokenCache

if TYPE_CHECKING:
    from sfa.web.phoenix.endpoint import PhoenixEndpoint

CONFIG = web.AppKey("config", Config)
DATABASE = web.AppKey("database", Database)
ACTOR_TREE = web.AppKey("actor_tree", ActorTree)
SOCKET_TOKEN_KEY = web.AppKey("socket_token_key", bytes)
PUBSUB = web.AppKey("pubsub", PubSub)
SPOTIFY = web.AppKey("spotify", SpotifyService)
DECODERS = web.AppKey("decoders", DecoderPool)
LLM = web.AppKey("llm_providers", Providers)
TOKEN_CACHE = web.AppKey("token_cache", TokenCache)
LISTING_CACHE = web.AppKey("listing_cache", ListingCache)
# Typed by annotation only: importing the endpoint here would make a cycle through the phoenix package.
PHOENIX: "web.AppKey[PhoenixEndpoint]" = web.AppKey("phoenix")
