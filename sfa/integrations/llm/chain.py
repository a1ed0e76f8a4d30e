"""The configured providers in fallback order, and what is known of each one's health.

A completion goes to each provider in turn until one answers; every failure is remembered as that
provider's last error. The health report probes each configured provider with a minimal call, at most once
per ``ttl_s``, and says for every known provider whether it is configured, reachable, its model, the probe's
latency and its last error.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sfa.config import Config
from sfa.integrations.llm.anthropic import AnthropicProvider
from sfa.integrations.llm.base import Completion, CompletionRequest, Provider, ProviderError, TextSink
from sfa.integrations.llm.openai import OpenAIProvider

log = logging.getLogger(__name__)


class NoProviderAnswered(Exception):
    """Every configured provider failed; ``str()`` lists their errors (safe to show)."""

    def __init__(self, errors: Sequence[ProviderError]) -> None:
        super().__init__("; ".join(map(str, errors)) or "no provider is configured")


@dataclass
class CountingSink:
    """Passes text on, counting the pieces: whether a failed provider had started its reply."""

    sink: TextSink
    count: int = 0

    async def __call__(self, text: str) -> None:
        self.count += 1
        await self.sink(text)


@dataclass
class Health:
    name: str
    model: str
    configured: bool
    reachable: bool | None = None
    latency_ms: float | None = None
    checked_at: float | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None

    def failed(self, error: ProviderError) -> None:
        self.last_error, self.last_error_at = str(error), datetime.now(UTC)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "configured": self.configured, "reachable": self.reachable, "model": self.model,
                "latency_ms": self.latency_ms, "last_error": self.last_error,
                "last_error_at": None if self.last_error_at is None else self.last_error_at.isoformat()}


def providers_from(config: Config) -> list[Provider | Health]:
    """Each provider the fallback order names: a client when configured, else only its health entry."""
    made: list[Provider | Health] = []
    for name in config.llm_providers:
        common = {"timeout_s": config.llm_timeout_s, "max_retries": config.llm_max_retries}
        if name == "anthropic":
            made.append(AnthropicProvider(api_key=config.anthropic_api_key, model=config.anthropic_model,
                                          base_url=config.anthropic_base_url, **common)
                        if config.anthropic_api_key else Health(name, config.anthropic_model, configured=False))
        elif config.openai_api_key or config.openai_base_url:
            made.append(OpenAIProvider(api_key=config.openai_api_key, model=config.openai_model,
                                       base_url=config.openai_base_url, **common))
        else:
            made.append(Health(name, config.openai_model, configured=False))
    return made


class Providers:
    def __init__(self, entries: Sequence[Provider | Health], *, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._providers = [entry for entry in entries if not isinstance(entry, Health)]
        self._health = {entry.name: entry if isinstance(entry, Health) else Health(entry.name, entry.model, True)
                        for entry in entries}

    @classmethod
    def from_config(cls, config: Config) -> Providers:
        return cls(providers_from(config), ttl_s=config.llm_health_ttl_s)

    @property
    def configured(self) -> bool:
        return bool(self._providers)

    async def complete(self, request: CompletionRequest, on_text: TextSink,
                       on_cut_off: TextSink | None = None) -> Completion:
        """The first answer in fallback order; :class:`NoProviderAnswered` when none answers. When a provider
        fails after some of its text went to ``on_text``, ``on_cut_off`` hears its error before the next
        provider starts over."""
        errors = []
        for provider in self._providers:
            sink = CountingSink(on_text)
            try:
                return await provider.complete(request, sink)
            except ProviderError as error:
                log.warning("LLM provider failed, trying the next: %s", error)
                self._health[provider.name].failed(error)
                errors.append(error)
                if sink.count and on_cut_off is not None:
                    await on_cut_off(str(error))
        raise NoProviderAnswered(errors)

    async def health(self) -> list[dict[str, Any]]:
        await asyncio.gather(*(self._probe(provider) for provider in self._providers))
        return [health.to_json() for health in self._health.values()]

    async def _probe(self, provider: Provider) -> None:
        health = self._health[provider.name]
        if health.checked_at is not None and time.monotonic() - health.checked_at < self.ttl_s:
            return
        started = time.monotonic()
        try:
            await provider.probe()
        except ProviderError as error:
            health.failed(error)
            health.reachable, health.latency_ms = False, None
        else:
            health.reachable, health.latency_ms = True, round((time.monotonic() - started) * 1000, 1)
        health.checked_at = time.monotonic()

    async def close(self) -> None:
        await asyncio.gather(*(provider.close() for provider in self._providers))
