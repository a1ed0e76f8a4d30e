"""How long `python3 run.py` takes to answer /health: a first start on an empty var dir, then a second.

The second start reuses the cached environment and the initialised cluster; its target is under 10 s.
Run: python3 -m bench.startup
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 10.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def time_to_health(var_dir: Path) -> float:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SFA_") and k != "DATABASE_URL"}
    env.update(SFA_VAR_DIR=str(var_dir), SFA_PORT=str(port))
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, str(ROOT / "run.py")], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as response:
                    if response.status == 200:
                        return time.perf_counter() - started
            except OSError:
                if proc.poll() is not None:
                    raise SystemExit(f"run.py exited with {proc.returncode} before answering /health") from None
                time.sleep(0.05)
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        first = time_to_health(Path(tmp) / "var")
        second = time_to_health(Path(tmp) / "var")
    print(f"first start (new cluster, migrations): {first:6.2f} s")
    print(f"second start (everything reused):      {second:6.2f} s   target < {TARGET_S:g} s -> "
          f"{'met' if second < TARGET_S else 'MISSED'} ({TARGET_S / second:.1f}x under)")


if __name__ == "__main__":
    main()
