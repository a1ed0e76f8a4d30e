"""Job states, named once, and how each reads to a client.

The queue's own states are ``queued`` (waiting, maybe until a retry's ``run_at``), ``running``,
``completed``, ``failed`` and ``cancelled``. Clients see a running job by what it does: a download is
``downloading``, everything else ``processing`` (the contract's statuses).
"""

from __future__ import annotations

QUEUED = "queued"
RUNNING = "running"
COMPLETED = "completed"
FAILED = "failed"
CANCELLED = "cancelled"

STATES = (QUEUED, RUNNING, COMPLETED, FAILED, CANCELLED)
FINISHED = (COMPLETED, FAILED, CANCELLED)

# Job kind -> the queue that runs it (each queue has its own worker pool and concurrency).
QUEUES = {"download": "download", "processing": "processing", "analysis": "analysis"}
RUNNING_STATUS = {"download": "downloading"}


def client_status(state: str, kind: str) -> str:
    if state == RUNNING:
        return RUNNING_STATUS.get(kind, "processing")
    return state
