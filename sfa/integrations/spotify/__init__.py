"""Spotify: OAuth (authorization code with PKCE) against the accounts service, and a thin Web API client."""

from sfa.integrations.spotify.accounts import SpotifyAccounts, TokenSet, pkce_pair
from sfa.integrations.spotify.api import SpotifyApi
from sfa.integrations.spotify.errors import (
    InvalidSpotifyUrl,
    SpotifyError,
    SpotifyGrantRejected,
    SpotifyNotFound,
    SpotifyUnauthorized,
)
from sfa.integrations.spotify.service import SpotifyLinkGone, SpotifyService
from sfa.integrations.spotify.urls import SpotifyRef, is_spotify_url, parse_spotify_url

__all__ = ["InvalidSpotifyUrl", "SpotifyAccounts", "SpotifyApi", "SpotifyError", "SpotifyGrantRejected",
           "SpotifyLinkGone", "SpotifyNotFound", "SpotifyRef", "SpotifyService", "SpotifyUnauthorized", "TokenSet",
           "is_spotify_url", "parse_spotify_url", "pkce_pair"]
