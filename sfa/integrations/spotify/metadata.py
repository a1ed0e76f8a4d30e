"""Spotify's JSON objects reduced to what SFA keeps: one shape per type, the same whichever call gave it."""

from __future__ import annotations

from typing import Any


def artwork(images: list[dict[str, Any]] | None) -> str | None:
    """The largest image (Spotify lists them widest first, but do not rely on it)."""
    if not images:
        return None
    return max(images, key=lambda image: image.get("width") or 0).get("url")


def track(item: dict[str, Any], album: dict[str, Any] | None = None) -> dict[str, Any]:
    """A full or simplified track object; ``album`` supplies what a simplified one (from an album) lacks."""
    album = item.get("album") or album or {}
    return {
        "spotify_id": item["id"], "title": item.get("name", ""),
        "artists": [artist.get("name", "") for artist in item.get("artists", [])],
        "album": album.get("name"), "duration_ms": item.get("duration_ms"),
        "isrc": (item.get("external_ids") or {}).get("isrc"), "artwork_url": artwork(album.get("images")),
        "url": f"https://open.spotify.com/track/{item['id']}", "explicit": item.get("explicit", False),
        "track_number": item.get("track_number"),
    }


def album(item: dict[str, Any]) -> dict[str, Any]:
    return {"spotify_id": item["id"], "name": item.get("name", ""),
            "artists": [artist.get("name", "") for artist in item.get("artists", [])],
            "release_date": item.get("release_date"), "total_tracks": item.get("total_tracks"),
            "artwork_url": artwork(item.get("images")), "url": f"https://open.spotify.com/album/{item['id']}"}


def playlist(item: dict[str, Any]) -> dict[str, Any]:
    tracks = item.get("tracks") or item.get("items") or {}
    return {"spotify_id": item["id"], "name": item.get("name", ""),
            "owner": (item.get("owner") or {}).get("display_name"), "total_tracks": tracks.get("total"),
            "artwork_url": artwork(item.get("images")), "url": f"https://open.spotify.com/playlist/{item['id']}"}


def artist(item: dict[str, Any]) -> dict[str, Any]:
    return {"spotify_id": item["id"], "name": item.get("name", ""), "genres": item.get("genres", []),
            "artwork_url": artwork(item.get("images")), "url": f"https://open.spotify.com/artist/{item['id']}"}


SEARCH_TYPES = {"track": track, "album": album, "playlist": playlist, "artist": artist}
