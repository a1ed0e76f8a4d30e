"""``JobWorker`` and ``GpuWorker``: Thespian actors, each in its own process, that perform jobs.

A JobWorker's pool sends it one job at a time; a GpuWorker's sends it up to its slots at once, whose
chunks batch on the device. Each job runs in a thread of the worker process, not in ``receiveMessage``:
Thespian transmits what an actor sends only once its handler returns, so progress sent from a handler
busy with the job would all arrive at the end. The actor keeps handling messages and, every ``PUMP`` while
a job runs, forwards what the job threads queued (progress, then the outcome) to the bridge.

A performer fails a job for good by raising :class:`PermanentError` (bad input), and fails one attempt by
raising :class:`TransientError` (a timeout, a 5xx): the worker goes on after either. Any other exception is a
bug: the job fails with it (retryably, as a fresh process may fare better), and the worker then exits, so
its supervisor restarts it and counts the crash, as OTP lets a process crash rather than carry on in a
state nobody planned for. The failure says the worker is exiting, so its pool never hands it another job.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from datetime import timedelta
from typing import Any

from thespian.actors import ActorAddress, ActorExitRequest, ActorSystemMessage, ActorTypeDispatcher, WakeupMessage

from sfa.actors.messages import (
    JOB_OUTCOMES,
    CancelJob,
    Envelope,
    JobDone,
    JobFailed,
    JobProgress,
    Ready,
    RunJob,
    Start,
)
from sfa.actors.performers import JobContext, PermanentError, TransientError, failure_message, resolve

log = logging.getLogger(__name__)

PUMP = timedelta(milliseconds=20)


class JobWorker(ActorTypeDispatcher):
    def __init__(self) -> None:
        super().__init__()
        self.start: Start | None = None
        self.outbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.state: dict[str, Any] = {}
        self.running: dict[int, RunJob] = {}
        self.cancelled: set[int] = set()

    def receiveMsg_Start(self, message: Start, sender: ActorAddress) -> None:
        self.start = message
        self.send(message.reply_to, Envelope(message.ref, Ready(os.getpid(), self.myAddress)))

    def receiveMsg_RunJob(self, job: RunJob, sender: ActorAddress) -> None:
        if job.job_id in self.running:
            log.error("worker %d got job %s while already running it; dropped", os.getpid(), job.job_id)
            return
        pumping = bool(self.running)
        self.running[job.job_id] = job
        threading.Thread(target=self.perform, args=(job,), name=f"job-{job.job_id}", daemon=True).start()
        if not pumping:
            self.wakeupAfter(PUMP)

    def receiveMsg_CancelJob(self, message: CancelJob, sender: ActorAddress) -> None:
        if message.job_id in self.running:
            self.cancelled.add(message.job_id)

    def receiveMsg_WakeupMessage(self, message: WakeupMessage, sender: ActorAddress) -> None:
        while not self.outbox.empty():
            update = self.outbox.get()
            self.send(self.start.reply_to, Envelope(self.start.ref, update))
            if isinstance(update, JOB_OUTCOMES):
                self.running.pop(update.job_id, None)
                self.cancelled.discard(update.job_id)
            if isinstance(update, JobFailed) and update.exiting:
                self.send(self.myAddress, ActorExitRequest())
                return
        if self.running:
            self.wakeupAfter(PUMP)

    def receiveMsg_ActorSystemMessage(self, message: ActorSystemMessage, sender: ActorAddress) -> None:
        """Thespian acts on its own messages (an exit request, for one) after this returns."""

    def receiveUnrecognizedMessage(self, message: object, sender: ActorAddress) -> None:
        log.warning("%s dropped an unknown message %r", type(self).__name__, message)

    def perform(self, job: RunJob) -> None:
        """The job thread. Its catch-all is the job's outcome and, for a bug, the worker's exit (see the module)."""
        def report(progress: float, message: str = "") -> None:
            self.outbox.put(JobProgress(job.job_id, progress, message))

        path = self.start.performers.get(job.kind)
        if path is None:
            self.outbox.put(JobFailed(job.job_id, f"no performer for job kind {job.kind!r}", retryable=False))
            return
        try:
            result = resolve(path)(JobContext(job, self.start.device, report, self.state,
                                              cancelled=lambda: job.job_id in self.cancelled))
        except PermanentError as exc:
            self.outbox.put(JobFailed(job.job_id, str(exc), retryable=False))
        except TransientError as exc:
            log.warning("job %s (%s, attempt %d) failed: %s", job.job_id, job.kind, job.attempt, exc)
            self.outbox.put(JobFailed(job.job_id, str(exc), retryable=True))
        except Exception as exc:  # a bug: the job's outcome, then the worker's crash
            log.exception("job %s (%s, attempt %d) failed on a bug; worker %d exits", job.job_id, job.kind,
                          job.attempt, os.getpid())
            self.outbox.put(JobFailed(job.job_id, failure_message(exc), retryable=True, exiting=True))
        else:
            self.outbox.put(JobDone(job.job_id, result))


class GpuWorker(JobWorker):
    """A JobWorker bound to one device (``cuda:N``, or ``cpu`` on a host without GPUs); its ``state`` holds
    the models it has loaded there, so they stay loaded between jobs, and the jobs it runs at once share
    them (see :mod:`sfa.separation.engine`)."""
