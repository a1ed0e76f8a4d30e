"""Job kinds the actor tests register: real performers that run in real worker processes.

Each leaves evidence in files under ``args["dir"]`` (the test's tmp_path): ``<id>.started`` gets one
line per attempt, ``<id>.result`` one line per completed attempt, so a test can prove a job completed
exactly once.
"""

import os
import signal
import time
from pathlib import Path

from sfa.actors.performers import JobContext, PermanentError, performer


def _append(path: Path, line: str) -> None:
    with path.open("a") as handle:
        handle.write(line + "\n")


@performer("test.sleep-then-return")
def sleep_then_return(ctx: JobContext) -> dict:
    job, folder = ctx.job, Path(ctx.job.args["dir"])
    _append(folder / f"{job.job_id}.started", f"{job.attempt} {os.getpid()}")
    ctx.report(0.5, "slept half")
    time.sleep(float(job.args.get("s", 0)))
    ctx.report(1.0, "done sleeping")
    _append(folder / f"{job.job_id}.result", f"{job.attempt} {os.getpid()}")
    return {"job_id": job.job_id, "attempt": job.attempt, "pid": os.getpid(), "device": ctx.device}


@performer("test.crash")
def crash(ctx: JobContext) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


@performer("test.fail")
def fail(ctx: JobContext) -> None:
    raise ValueError(f"failing on purpose ({ctx.job.args.get('why', 'no reason')})")


@performer("test.reject")
def reject(ctx: JobContext) -> None:
    raise PermanentError("this input can never work")


@performer("test.count-loads")
def count_loads(ctx: JobContext) -> int:
    """Stands for a model loaded once per worker: ``state`` survives between jobs on one worker."""
    ctx.state["jobs"] = ctx.state.get("jobs", 0) + 1
    return ctx.state["jobs"]
