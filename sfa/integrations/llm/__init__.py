"""Language model providers (Anthropic's Messages API, OpenAI-compatible Chat Completions) behind one
behaviour, tried in a configured fallback order."""

from sfa.integrations.llm.base import Completion, CompletionRequest, Provider, ProviderError, ToolSpec
from sfa.integrations.llm.chain import NoProviderAnswered, Providers

__all__ = ["Completion", "CompletionRequest", "NoProviderAnswered", "Provider", "ProviderError", "Providers",
           "ToolSpec"]
