"""The product's channels and the topics that reach them, declared in one place as a Phoenix app's
``UserSocket`` declares its ``channel`` routes; :func:`sfa.web.app.make_app` adds them to the endpoint."""

from sfa.web.channels.agents import AgentsChannel
from sfa.web.channels.jobs import JobsChannel, job_owner
from sfa.web.channels.user import UserChannel
from sfa.web.phoenix import ChannelRouter


def add_channels(router: ChannelRouter) -> None:
    router.add("jobs:*", JobsChannel)
    router.add("user:*", UserChannel)
    router.add("agents:*", AgentsChannel)


__all__ = ["AgentsChannel", "JobsChannel", "UserChannel", "add_channels", "job_owner"]
