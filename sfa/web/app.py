"""The aiohttp application: middleware in order, every route table, and what the app holds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TypeVar

from aiohttp import web
from aiohttp_session.cookie_storage import EncryptedCookieStorage

from sfa.accounts.signing import derive_key, load_secret_key
from sfa.config import Config
from sfa.db.database import Database
from sfa.integrations.llm import Providers
from sfa.integrations.spotify import SpotifyService
from sfa.pubsub import PubSub
from sfa.pubsub.postgres import NEWS_TOPIC
from sfa.tracks.decoders import DecoderPool
from sfa.web import assets, exports, health, live, phoenix, views
from sfa.web.api import (
    admin_llm,
    admin_supervisors,
    admin_users,
    agents,
    analysis,
    download,
    jobs,
    lalalai,
    openapi,
    processing,
    spotify,
    tracks,
)
from sfa.web.auth import SESSION_COOKIE, authenticate_socket
from sfa.web.channels import add_channels
from sfa.web.keys import (
    CONFIG,
    DATABASE,
    DECODERS,
    LISTING_CACHE,
    LLM,
    PUBSUB,
    SOCKET_TOKEN_KEY,
    SPOTIFY,
    TOKEN_CACHE,
)
from sfa.web.listing_cache import TOPIC as TRACKS_TOPIC
from sfa.web.listing_cache import ListingCache
from sfa.web.middleware import add_response_headers, request_middleware
from sfa.web.pages import accounts, spotify_auth
from sfa.web.rate_limit import setup_rate_limits
from sfa.web.token_cache import TOPIC as CREDENTIALS_TOPIC
from sfa.web.token_cache import TokenCache

SESSION_MAX_AGE_S = 60 * 24 * 3600


def session_storage(secret_key: bytes) -> EncryptedCookieStorage:
    return EncryptedCookieStorage(derive_key(secret_key, "session cookie"), cookie_name=SESSION_COOKIE,
                                  httponly=True, samesite="Lax", max_age=SESSION_MAX_AGE_S)


def make_app(config: Config, database: Database, pubsub: PubSub | None = None) -> web.Application:
    """The app; without ``pubsub`` it runs one of its own, started and stopped with the app."""
    secret_key = load_secret_key(config.secret_key, config.var_dir)
    app = web.Application(middlewares=[request_middleware(session_storage(secret_key))])
    app[CONFIG] = config
    app[DATABASE] = database
    app[PUBSUB] = pubsub if pubsub is not None else app_owned_pubsub(app, database)
    app[SOCKET_TOKEN_KEY] = derive_key(secret_key, "socket token")
    app[TOKEN_CACHE] = TokenCache(config.token_cache_s)
    app[LISTING_CACHE] = ListingCache(config.listing_cache_s)
    app.cleanup_ctx.append(hearing_news_of_changes)
    app[SPOTIFY] = started_with(app, SpotifyService(config, database, secret_key))
    app[DECODERS] = DecoderPool(workers=config.upload_decoders, timeout_s=config.upload_decode_timeout_s)
    app[LLM] = Providers.from_config(config)
    app.on_cleanup.append(close_providers)
    app.on_response_prepare.append(add_response_headers)
    setup_rate_limits(app)
    for module in (health, assets, accounts, admin_users, admin_supervisors, tracks, jobs, download, exports,
                   analysis, processing, lalalai, agents, admin_llm, openapi, spotify, spotify_auth):
        app.add_routes(module.routes)
    add_channels(phoenix.setup(app, authenticate=authenticate_socket).router)
    live.setup(app, views.live_routes(), token_key=derive_key(secret_key, "live view token"),
               document=views.live_document, not_found=views.not_found)
    return app


def app_owned_pubsub(app: web.Application, database: Database) -> PubSub:
    return started_with(app, PubSub(database))


S = TypeVar("S", PubSub, SpotifyService)


def started_with(app: web.Application, service: S) -> S:
    """``service``, started with the app and stopped at its cleanup."""

    async def start(app: web.Application) -> None:
        await service.start()

    async def stop(app: web.Application) -> None:
        await service.stop()

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    return service


async def hearing_news_of_changes(app: web.Application) -> AsyncIterator[None]:
    """While the app runs, the token cache hears every process's news of changed credentials, the listing
    cache news of changed tracks, and both whether the PubSub hears such news at all."""
    pubsub, tokens, listings = app[PUBSUB], app[TOKEN_CACHE], app[LISTING_CACHE]
    subscriptions = [pubsub.subscribe(CREDENTIALS_TOPIC, tokens.on_broadcast),
                     pubsub.subscribe(TRACKS_TOPIC, listings.on_broadcast)]
    for cache in (tokens, listings):
        subscriptions.append(pubsub.subscribe(NEWS_TOPIC, cache.on_broadcast))
        cache.hear(pubsub.listening)
    yield
    for subscription in subscriptions:
        subscription.cancel()


async def close_providers(app: web.Application) -> None:
    await app[LLM].close()
