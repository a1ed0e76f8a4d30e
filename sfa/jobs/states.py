"""Job states, named once, and how each reads to a client.

The queue's own states are ``queued`` (waiting, maybe until a retry's ``run_at``), ``running``,
``completed``, ``failed`` and ``cancelled``. Clients see a running job by what it does, as its kind
declares (:attr:`~sfa.jobs.kinds.JobKind.running_status`): a download is ``downloading``, everything else
``processing`` (the contract's statuses). The job row carries that word from its enqueue on, as it
carries its queue.
"""

from __future__ import annotations

QUEUED = "queued"
RUNNING = "running"
COMPLETED = "completed"
FAILED = "failed"
CANCELLED = "cancelled"

STATES = (QUEUED, RUNNING, COMPLETED, FAILED, CANCELLED)
FINISHED = (COMPLETED, FAILED, CANCELLED)

RUNNING_STATUSES = ("downloading", "processing")
CLIENT_STATUSES = (QUEUED, *RUNNING_STATUSES, COMPLETED, FAILED, CANCELLED)
