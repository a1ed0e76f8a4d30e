"""Clients of outside services: Spotify, downloaders, LLM providers; each reachable at a configurable URL."""
