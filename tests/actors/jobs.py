"""Performers the actor tests run in real worker processes, by job kind (``PERFORMERS``, which also holds
the server's own).

Each leaves evidence in files under ``args["dir"]`` (the test's tmp_path): ``<id>.started`` gets one
line per attempt, ``<id>.result`` one line per completed attempt, so a test can prove a job completed
exactly once.
"""

import os
import signal
import time
from pathlib import Path

from sfa.actors import ActorTree
from sfa.actors.performers import JobContext, PermanentError, TransientError
from sfa.config import Config
from sfa.job_kinds import JOB_KINDS


def _append(path: Path, line: str) -> None:
    with path.open("a") as handle:
        handle.write(line + "\n")


def sleep_then_return(ctx: JobContext) -> dict:
    job, folder = ctx.job, Path(ctx.job.args["dir"])
    _append(folder / f"{job.job_id}.started", f"{job.attempt} {os.getpid()}")
    ctx.report(0.5, "slept half")
    time.sleep(float(job.args.get("s", 0)))
    ctx.report(1.0, "done sleeping")
    _append(folder / f"{job.job_id}.result", f"{job.attempt} {os.getpid()}")
    return {"job_id": job.job_id, "attempt": job.attempt, "pid": os.getpid(), "device": ctx.device}


def crash(ctx: JobContext) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def fail(ctx: JobContext) -> None:
    raise ValueError(f"failing on purpose ({ctx.job.args.get('why', 'no reason')})")


def stumble(ctx: JobContext) -> None:
    raise TransientError(f"the service is busy ({ctx.job.args.get('why', 'no reason')})")


def reject(ctx: JobContext) -> None:
    raise PermanentError("this input can never work")


def count_loads(ctx: JobContext) -> int:
    """Stands for a model loaded once per worker: ``state`` survives between jobs on one worker."""
    ctx.state["jobs"] = ctx.state.get("jobs", 0) + 1
    return ctx.state["jobs"]


def path(perform) -> str:
    return f"{perform.__module__}:{perform.__qualname__}"


# The server's performers and the test kinds above, by job kind.
PERFORMERS = {**JOB_KINDS.performers(), "test.sleep-then-return": path(sleep_then_return),
              "test.crash": path(crash), "test.fail": path(fail), "test.stumble": path(stumble),
              "test.reject": path(reject),
              "test.count-loads": path(count_loads)}


def application_tree(config: Config) -> ActorTree:
    """The server's supervision tree for ``config``, whose workers also perform the test kinds above."""
    return ActorTree(config, JOB_KINDS.queues(config), PERFORMERS)
