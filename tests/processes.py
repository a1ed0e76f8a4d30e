"""Helpers for tests that start the real thing as a separate process: `python3 run.py ...`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psutil

from sfa.config import BOOTSTRAP_VARIABLES

ROOT = Path(__file__).resolve().parents[1]


def run_py_environment(var_dir: Path, **env: str) -> dict[str, str]:
    """This process's environment without any server setting or DATABASE_URL, plus ``env``. The bootstrap's
    own variables (``SFA_VENV_CACHE``) stay, so the child's ``run.py`` reuses the environment running us."""
    environ = {k: v for k, v in os.environ.items()
               if k in BOOTSTRAP_VARIABLES or (k != "DATABASE_URL" and not k.startswith("SFA_"))}
    # SFA_DATA_DIR defaults to ./var/data of the checkout (run.py works from there), which a node writes its
    # cluster marker into at start: each test's server keeps its files beside its own var dir instead.
    environ.update({"SFA_VAR_DIR": str(var_dir), "SFA_DATA_DIR": str(var_dir / "data"), "SFA_SHUTDOWN_S": "5",
                    **env})
    return environ


def launch(tmp_path: Path, *args: str, **env: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(ROOT / "run.py"), *args], cwd=tmp_path,
                            env=run_py_environment(tmp_path / "var", **env),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def run_command(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *args], cwd=tmp_path,
                          env=run_py_environment(tmp_path / "var", **env), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=120)


def read_until(proc: subprocess.Popen, prefix: str) -> list[str]:
    """Lines of the process's output up to and including the first that starts with ``prefix``."""
    lines = []
    for line in proc.stdout:
        lines.append(line.rstrip("\n"))
        if line.startswith(prefix):
            return lines
    raise AssertionError(f"the process exited before printing {prefix!r}:\n" + "\n".join(lines))


def postgres_processes(pgdata: Path) -> list[psutil.Process]:
    return [p for p in psutil.process_iter(["name", "cmdline"])
            if p.info["name"] == "postgres" and str(pgdata) in " ".join(p.info["cmdline"] or [])]
