"""Every message that crosses between the event loop and the Thespian actors, in one place.

The job protocol is what a queue sees: :class:`RunJob` goes to a worker, which answers with any number of
:class:`JobProgress` and then exactly one :class:`JobDone` or :class:`JobFailed`. The control messages
below it are the plumbing between :class:`~sfa.actors.system.ActorSystemBridge` and the ``Nursery`` actor
that parents every worker. All are frozen, slotted and picklable: Thespian pickles them between processes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from thespian.actors import ActorAddress


@dataclass(frozen=True, slots=True)
class RunJob:
    """Perform job ``job_id`` of ``kind``; ``attempt`` counts from 1 and grows with every retry."""

    job_id: int
    kind: str
    attempt: int
    args: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class JobProgress:
    job_id: int
    progress: float
    message: str = ""


@dataclass(frozen=True, slots=True)
class JobDone:
    job_id: int
    result: Any


@dataclass(frozen=True, slots=True)
class JobFailed:
    """The performer raised; ``retryable`` is false for a :class:`~sfa.actors.performers.PermanentError`.
    ``exiting``: the failure was a bug, and the worker exits once this is sent (its supervisor restarts it)."""

    job_id: int
    error: str
    retryable: bool
    exiting: bool = False


JOB_OUTCOMES = (JobDone, JobFailed)


@dataclass(frozen=True, slots=True)
class CancelJob:
    """Stop job ``job_id`` at its next check (``JobContext.cancelled``), sent to a worker running several
    jobs at once instead of killing the others with it."""

    job_id: int


@dataclass(frozen=True, slots=True)
class Subscribe:
    """From the bridge's listening endpoint to the nursery: report here; stop everything once ``owner_pid`` dies."""

    owner_pid: int


@dataclass(frozen=True, slots=True)
class Subscribed:
    nursery_pid: int
    sid: int


@dataclass(frozen=True, slots=True)
class Spawn:
    """Start an actor of ``actor_class`` (a ``module.Class`` path) and call it ``ref`` in every report."""

    ref: int
    actor_class: str
    device: str
    performers: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Start:
    """The nursery's first message to a new worker: who it is, where to report, what it can perform."""

    ref: int
    reply_to: ActorAddress
    device: str
    performers: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Ready:
    pid: int
    address: ActorAddress


@dataclass(frozen=True, slots=True)
class SpawnFailed:
    error: str


@dataclass(frozen=True, slots=True)
class Exited:
    """The nursery saw ``ChildActorExited`` for this actor: it stopped or its process died."""


@dataclass(frozen=True, slots=True)
class Envelope:
    """What an actor sends the bridge: ``message`` from actor ``ref`` (Thespian's ``listen()`` has no sender)."""

    ref: int
    message: Any
