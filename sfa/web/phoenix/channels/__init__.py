"""The product's channels, and the routes that send topics to them."""

from sfa.web.phoenix.channels.agents import AgentsChannel
from sfa.web.phoenix.channels.jobs import JobsChannel, job_owner
from sfa.web.phoenix.channels.user import UserChannel
from sfa.web.phoenix.router import ChannelRouter


def product_router() -> ChannelRouter:
    router = ChannelRouter()
    router.add("jobs:*", JobsChannel)
    router.add("user:*", UserChannel)
    router.add("agents:*", AgentsChannel)
    return router


__all__ = ["AgentsChannel", "JobsChannel", "UserChannel", "job_owner", "product_router"]
