"""What can go wrong talking to Spotify, as exceptions the routes turn into the contract's envelope."""

from __future__ import annotations


class SpotifyError(Exception):
    """Spotify refused a call or could not be reached; ``status`` is its HTTP status (0: no answer)."""

    def __init__(self, message: str, *, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class SpotifyNotFound(SpotifyError):
    """Spotify has nothing under that id."""


class SpotifyUnauthorized(SpotifyError):
    """Spotify will not accept our token, even a fresh one; for a user: the link is gone, reconnect."""


class SpotifyGrantRejected(SpotifyError):
    """The accounts service refused a code or refresh token (``invalid_grant``): it will not work again."""


class InvalidSpotifyUrl(ValueError):
    """Not a Spotify track, album or playlist link; ``str()`` says what is accepted."""
