"""The registry of job kinds: which function performs each kind, inside a worker process.

A performer is registered where it is defined, with ``@performer("kind")``; the registry keeps its import
path (``module:qualname``), which travels to each worker when it starts and is imported there, so the
function runs in the worker's process and never in the event loop. The registry freezes when an actor
system starts (workers already running would not learn a later kind), and registering after that raises.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sfa.actors.messages import RunJob

F = TypeVar("F", bound=Callable[..., Any])

# An absolute path not inside a URL: its directories go, its last part stays.
ABSOLUTE_PATH = re.compile(r"(?<![\w.:/])/(?:[^/\s'\"]+/)+([^/\s'\"]*)")


class PermanentError(Exception):
    """Raised by a performer when retrying cannot help (bad input): the job fails with ``retryable=False``."""


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


class PerformerRegistry:
    def __init__(self) -> None:
        self._paths: dict[str, str] = {}
        self._frozen = False

    def register(self, kind: str) -> Callable[[F], F]:
        """Decorator: ``fn(ctx: JobContext) -> result`` performs jobs of ``kind``; the result must pickle."""

        def add(fn: F) -> F:
            if self._frozen:
                raise RuntimeError(f"performer {kind!r} registered after the actor system started")
            if kind in self._paths:
                raise ValueError(f"job kind {kind!r} already performed by {self._paths[kind]}")
            self._paths[kind] = f"{fn.__module__}:{fn.__qualname__}"
            return fn

        return add

    def freeze(self) -> Mapping[str, str]:
        self._frozen = True
        return dict(self._paths)

    @property
    def frozen(self) -> bool:
        return self._frozen


def resolve(path: str) -> Callable[[JobContext], Any]:
    """Import ``module:qualname`` (in the worker process)."""
    module_name, _, qualname = path.partition(":")
    target: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        target = getattr(target, part)
    return target


PERFORMERS = PerformerRegistry()
performer = PERFORMERS.register
