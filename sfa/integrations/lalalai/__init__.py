"""lalal.ai: the HTTP client and the ``lalalai`` engine of stem separation."""

from sfa.integrations.lalalai.client import LalalaiClient, LalalaiError

__all__ = ["LalalaiClient", "LalalaiError"]
