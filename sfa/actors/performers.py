"""What a performer (the function that does one kind of job, in a worker process) gets and may raise.

Workers learn their performers when they start, as import paths (``module:qualname``, from the server's
:class:`~sfa.jobs.kinds.JobKinds`), and import each with :func:`resolve` in their own process, so the work
never runs in the event loop.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sfa.actors.messages import RunJob

# An absolute path not inside a URL: its directories go, its last part stays.
ABSOLUTE_PATH = re.compile(r"(?<![\w.:/])/(?:[^/\s'\"]+/)+([^/\s'\"]*)")


class PermanentError(Exception):
    """Raised by a performer when retrying cannot help (bad input): the job fails with ``retryable=False``."""


class TransientError(Exception):
    """Raised by a performer for trouble that may pass (a timeout, a 5xx, a busy service): the attempt fails,
    retryably, and the worker goes on. Any exception that is neither this nor a :class:`PermanentError` is a
    bug, and crashes the worker (see :mod:`sfa.actors.workers`)."""


def failure_message(exc: BaseException) -> str:
    """How an unexpected exception reads in a job's error history, which the job's owner sees: its type and
    message, with the server's paths cut to their last part (the traceback is in the log)."""
    return ABSOLUTE_PATH.sub(r"\1", f"{type(exc).__name__}: {exc}")


def _never() -> bool:
    return False


@dataclass(frozen=True, slots=True)
class JobContext:
    """What a performer gets: the job, the device its worker owns, a way to report progress, and
    ``state``, a dict that lives as long as the worker process (loaded models, open handles).
    ``cancelled()`` turns true when the job was cancelled while its worker runs other jobs too; a
    performer that can stop cleanly checks it between steps (and raises)."""

    job: RunJob
    device: str
    report: Callable[[float, str], None]
    state: dict[str, Any] = field(default_factory=dict)
    cancelled: Callable[[], bool] = _never


def resolve(path: str) -> Callable[[JobContext], Any]:
    """Import ``module:qualname`` (in the worker process)."""
    module_name, _, qualname = path.partition(":")
    target: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        target = getattr(target, part)
    return target

