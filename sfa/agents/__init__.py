"""AI agents over the user's own library: an Orchestrator routing each message to specialists whose tools
act through SFA's services, conversations stored per user, replies streamed on ``agents:<id>``."""
